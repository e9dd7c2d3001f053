//! Which digest fields a download's response carries.
#![forbid(unsafe_code)]

use super::error::DigestField;
use super::fields::{parse_want_field, DigestSet, Preferences};
use crate::http::RequestHead;

/// What a GET or HEAD asked for with `Want-Repr-Digest` and
/// `Want-Content-Digest`, read from the head. Small and `Copy`: keep it
/// with the request after the head's buffer is reused.
///
/// A preference that does not parse is ignored (treated as absent): a
/// download is never refused over it.
///
/// Calling order: [`from_head`](DownloadWants::from_head) when the head is
/// parsed; if [`is_empty`](DownloadWants::is_empty), skip the attribute
/// read; otherwise load the file's digests (`storage::xattr::load`) and add
/// [`response_fields`](DownloadWants::response_fields) to the response head.
///
/// ```
/// use ringdrop::digest::{Algorithm, DigestSet, DownloadWants, Hasher};
/// use ringdrop::http::{HeadLimits, HeadParser};
/// let req = b"GET /f HTTP/1.1\r\nHost: x\r\nWant-Repr-Digest: sha-256=3\r\n\r\n";
/// let head = HeadParser::new(HeadLimits::default()).parse(req).unwrap().unwrap();
/// let wants = DownloadWants::from_head(&head, req);
/// let mut held = DigestSet::default();
/// held.insert(Hasher::new(Algorithm::Sha256).finish());
/// let fields = wants.response_fields(&held, false);
/// assert_eq!(fields[0].0, "Repr-Digest");
/// assert!(fields[0].1.starts_with("sha-256=:47DEQ"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DownloadWants {
    repr: Preferences,
    content: Preferences,
}

impl DownloadWants {
    /// Reads both preference fields (all their lines) from a parsed head.
    pub fn from_head(head: &RequestHead, buf: &[u8]) -> DownloadWants {
        DownloadWants::from_fields(
            head.headers_named(buf, DigestField::WantReprDigest.name()),
            head.headers_named(buf, DigestField::WantContentDigest.name()),
        )
    }

    /// From the lines of `Want-Repr-Digest` and `Want-Content-Digest`.
    pub fn from_fields<'a>(
        want_repr: impl IntoIterator<Item = &'a [u8]>,
        want_content: impl IntoIterator<Item = &'a [u8]>,
    ) -> DownloadWants {
        DownloadWants {
            repr: parse_want_field(DigestField::WantReprDigest, want_repr).unwrap_or_default(),
            content: parse_want_field(DigestField::WantContentDigest, want_content)
                .unwrap_or_default(),
        }
    }

    /// True when no supported digest is wanted: the response carries none,
    /// and the file's digests need not be read.
    pub fn is_empty(&self) -> bool {
        self.repr.is_empty() && self.content.is_empty()
    }

    /// The header fields to add for a file whose known digests are `held`
    /// (RFC 9530 §2–4):
    ///
    /// * `Repr-Digest` — the whole file's digest — on a 200, a 206 (it
    ///   describes the selected representation, not the range) and a HEAD;
    /// * `Content-Digest` only when `whole_content`: a 200 to a GET, whose
    ///   content is the whole file (ringdrop applies no content coding). A
    ///   206's content is the range, whose digest is not known; a HEAD has
    ///   no content.
    ///
    /// Each field names one digest, the held one with the highest
    /// preference (ties: SHA-256); none when no held digest is acceptable.
    /// Not for 304 or error responses.
    pub fn response_fields(
        &self,
        held: &DigestSet,
        whole_content: bool,
    ) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        let mut add = |name: &'static str, preferences: &Preferences| {
            if let Some(value) = preferences.choose(held) {
                let mut one = DigestSet::default();
                one.insert(*value);
                fields.push((name, one.to_field_value()));
            }
        };
        add(DigestField::ReprDigest.name(), &self.repr);
        if whole_content {
            add(DigestField::ContentDigest.name(), &self.content);
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Algorithm, Hasher};

    #[test]
    fn vectors() {
        let mut held = DigestSet::default();
        held.insert(Hasher::new(Algorithm::Sha256).finish());
        held.insert(Hasher::new(Algorithm::Sha512).finish());
        let only_256 = {
            let mut s = DigestSet::default();
            s.insert(Hasher::new(Algorithm::Sha256).finish());
            s
        };
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a DigestSet,
            bool,
            &'a [(&'a str, &'a str)],
        );
        let cases: &[Case] = &[
            ("nothing wanted", "", "", &held, true, &[]),
            (
                "repr on a range",
                "sha-512=1",
                "",
                &held,
                false,
                &[("Repr-Digest", "sha-512")],
            ),
            (
                "both on a 200",
                "sha-256=1",
                "sha-512=2",
                &held,
                true,
                &[("Repr-Digest", "sha-256"), ("Content-Digest", "sha-512")],
            ),
            ("content not on a 206", "", "sha-256=5", &held, false, &[]),
            ("not held", "sha-512=9", "", &only_256, true, &[]),
            ("malformed ignored", "sha-256=x", "", &held, true, &[]),
            ("zero is refusal", "sha-256=0", "", &held, true, &[]),
        ];
        let none: [&[u8]; 0] = [];
        assert!(DownloadWants::from_fields(none, none).is_empty());
        assert!(DownloadWants::from_fields([&b"md5=5, sha-256=0"[..]], none).is_empty());
        assert!(!DownloadWants::from_fields(none, [&b"sha-512=1"[..]]).is_empty());
        for (name, repr, content, held, whole, expected) in cases {
            fn line(s: &str) -> Option<&[u8]> {
                (!s.is_empty()).then_some(s.as_bytes())
            }
            let wants = DownloadWants::from_fields(line(repr), line(content));
            let got = wants.response_fields(held, *whole);
            let got: Vec<(&str, &str)> = got
                .iter()
                .map(|(n, v)| (*n, v.split_once('=').map_or("", |(k, _)| k)))
                .collect();
            assert_eq!(got, *expected, "{name}");
        }
    }
}
