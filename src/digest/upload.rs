//! Verifying an upload's body against the digests its request announced,
//! while the body streams through.
#![forbid(unsafe_code)]

use super::algorithm::Algorithm;
use super::error::{DigestError, DigestField};
use super::fields::{parse_digest_field, DigestSet};
use super::hasher::Hasher;
use crate::http::RequestHead;

/// The digest check of one upload request: created from its head, fed
/// every decoded body byte once, finished before the commit.
///
/// What is hashed is the request's *content* (RFC 9530 §2; RFC 9110 §6.4):
/// the body after the chunked transfer coding is removed, before any
/// interpretation — for a multipart POST, the whole multipart body, not
/// the files in it. `Content-Digest` always describes it; a `Repr-Digest`
/// describes it too when the request carries the whole representation
/// (a PUT or POST, since ringdrop stores bytes as sent, content codings
/// included), but not for one chunk of a resumable upload, whose
/// `Repr-Digest` covers the whole upload.
///
/// Calling order:
///
/// 1. [`from_head`](UploadDigest::from_head) (or
///    [`from_fields`](UploadDigest::from_fields)) when the head is parsed,
///    before `100 Continue`: `Ok(None)` means no supported digest was
///    given and nothing will be hashed; `Err` answers the request (400 /
///    431) without reading the body.
/// 2. [`update`](UploadDigest::update) with each run of decoded body bytes,
///    in order, each byte exactly once (hash them where the body decoder
///    hands them out, not where a sink re-presents held-back bytes).
/// 3. [`finish`](UploadDigest::finish) after the last byte and before the
///    commit: `Err(Mismatch)` → 400 `digest_mismatch`, drop the staged
///    file; `Ok(digests)` → keep them with the file
///    (`storage::xattr::store`), then commit.
///
/// ```
/// use ringdrop::digest::{Algorithm, DigestError, UploadDigest};
/// let cd = b"sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:";
/// let mut check = UploadDigest::from_fields([&cd[..]], []).unwrap().unwrap();
/// check.update(b"hel");
/// check.update(b"lo");
/// let stored = check.finish().unwrap();
/// assert!(stored.get(Algorithm::Sha256).is_some());
///
/// let mut check = UploadDigest::from_fields([&cd[..]], []).unwrap().unwrap();
/// check.update(b"hello!");
/// assert_eq!(check.finish(), Err(DigestError::Mismatch { algorithm: Algorithm::Sha256 }));
///
/// assert!(UploadDigest::from_fields([&b"md5=:AAAA:"[..]], []).unwrap().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct UploadDigest {
    /// The digests the body must have.
    expected: DigestSet,
    /// One running hash per algorithm in `expected` (at most two).
    hashers: Vec<Hasher>,
    /// Body bytes fed so far.
    bytes: u64,
}

impl UploadDigest {
    /// Reads `Content-Digest` and, when `whole_representation`,
    /// `Repr-Digest` from a parsed request head (all lines of each).
    pub fn from_head(
        head: &RequestHead,
        buf: &[u8],
        whole_representation: bool,
    ) -> Result<Option<UploadDigest>, DigestError> {
        let repr = whole_representation
            .then(|| head.headers_named(buf, DigestField::ReprDigest.name()))
            .into_iter()
            .flatten();
        UploadDigest::from_fields(
            head.headers_named(buf, DigestField::ContentDigest.name()),
            repr,
        )
    }

    /// From the lines of `Content-Digest` and of `Repr-Digest` (pass no
    /// `Repr-Digest` lines for a resumable chunk). Both fields must agree
    /// on any algorithm they both give (else `Conflict`, 400).
    pub fn from_fields<'a>(
        content_digest: impl IntoIterator<Item = &'a [u8]>,
        repr_digest: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<UploadDigest>, DigestError> {
        let mut expected = parse_digest_field(DigestField::ContentDigest, content_digest)?;
        let repr = parse_digest_field(DigestField::ReprDigest, repr_digest)?;
        for value in repr.iter() {
            match expected.get(value.algorithm()) {
                Some(other) if other != value => {
                    return Err(DigestError::Conflict {
                        algorithm: value.algorithm(),
                    })
                }
                _ => expected.insert(*value),
            }
        }
        if expected.is_empty() {
            return Ok(None);
        }
        let hashers = expected
            .iter()
            .map(|v| Hasher::new(v.algorithm()))
            .collect();
        Ok(Some(UploadDigest {
            expected,
            hashers,
            bytes: 0,
        }))
    }

    /// The algorithms being verified.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.hashers.iter().map(Hasher::algorithm)
    }

    /// Body bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Feeds the next decoded body bytes.
    pub fn update(&mut self, body: &[u8]) {
        for hasher in &mut self.hashers {
            hasher.update(body);
        }
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(body.len()).unwrap_or(u64::MAX));
    }

    /// Compares every running hash with its announced digest. `Ok` holds
    /// the verified digests, to keep with the stored file.
    pub fn finish(self) -> Result<DigestSet, DigestError> {
        let mut verified = DigestSet::default();
        for hasher in self.hashers {
            let got = hasher.finish();
            if self.expected.get(got.algorithm()) != Some(&got) {
                return Err(DigestError::Mismatch {
                    algorithm: got.algorithm(),
                });
            }
            verified.insert(got);
        }
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::fields::encode_base64_into;
    use crate::http::{HeadLimits, HeadParser};

    fn field(algorithm: Algorithm, body: &[u8]) -> String {
        let mut h = Hasher::new(algorithm);
        h.update(body);
        let mut out = format!("{}=:", algorithm.http_key().unwrap());
        encode_base64_into(&mut out, h.finish().as_bytes());
        out.push(':');
        out
    }

    /// Every way the body may be cut gives the same verdict.
    fn verdict(check: &UploadDigest, body: &[u8]) -> Result<DigestSet, DigestError> {
        let mut whole = check.clone();
        whole.update(body);
        let expected = whole.finish();
        for split in 0..=body.len() {
            let mut c = check.clone();
            c.update(&body[..split]);
            c.update(&body[split..]);
            assert_eq!(c.bytes(), body.len() as u64);
            assert_eq!(c.finish(), expected, "split at {split}");
        }
        expected
    }

    #[test]
    fn vectors() {
        use Algorithm::{Sha256, Sha512};
        let body = b"chunked or not, the content is the same";
        let s256 = field(Sha256, body);
        let s512 = field(Sha512, body);
        let wrong = field(Sha256, b"other");
        let both = format!("{s256}, {s512}");
        let bad512 = format!("{s256}, {}", field(Sha512, b"x"));
        type Case<'a> = (
            &'a str,
            Vec<&'a str>,
            Vec<&'a str>,
            Result<Vec<Algorithm>, DigestError>,
        );
        let cases: Vec<Case> = vec![
            ("content sha-256", vec![&s256], vec![], Ok(vec![Sha256])),
            ("repr sha-512", vec![], vec![&s512], Ok(vec![Sha512])),
            (
                "both verified",
                vec![&both],
                vec![],
                Ok(vec![Sha256, Sha512]),
            ),
            (
                "content and repr agree",
                vec![&s256],
                vec![&s256, &s512],
                Ok(vec![Sha256, Sha512]),
            ),
            (
                "wrong sha-256",
                vec![&wrong],
                vec![],
                Err(DigestError::Mismatch { algorithm: Sha256 }),
            ),
            (
                "one of two wrong",
                vec![&bad512],
                vec![],
                Err(DigestError::Mismatch { algorithm: Sha512 }),
            ),
        ];
        for (name, content, repr, expected) in cases {
            let check = UploadDigest::from_fields(
                content.iter().map(|s| s.as_bytes()),
                repr.iter().map(|s| s.as_bytes()),
            )
            .unwrap()
            .unwrap();
            let got = verdict(&check, body).map(|set| set.iter().map(|d| d.algorithm()).collect());
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn nothing_hashed_without_a_supported_digest() {
        let none: [&[u8]; 0] = [];
        assert!(UploadDigest::from_fields(none, none).unwrap().is_none());
        assert!(UploadDigest::from_fields([b"md5=:AAAA:".as_slice()], none)
            .unwrap()
            .is_none());
    }

    #[test]
    fn conflicting_fields_are_refused_before_the_body() {
        let a = field(Algorithm::Sha256, b"a");
        let b = field(Algorithm::Sha256, b"b");
        assert_eq!(
            UploadDigest::from_fields([a.as_bytes()], [b.as_bytes()]).unwrap_err(),
            DigestError::Conflict {
                algorithm: Algorithm::Sha256
            }
        );
    }

    #[test]
    fn from_head_reads_every_line_and_repr_only_when_whole() {
        let s256 = field(Algorithm::Sha256, b"");
        let wrong512 = field(Algorithm::Sha512, b"x");
        let request = format!(
            "PUT /f HTTP/1.1\r\nHost: x\r\ncontent-digest: md5=:AA==:\r\nContent-Digest: {s256}\r\n\
             Repr-Digest: {wrong512}\r\nContent-Length: 0\r\n\r\n"
        );
        let buf = request.as_bytes();
        let head = HeadParser::new(HeadLimits::default())
            .parse(buf)
            .unwrap()
            .unwrap();
        let whole = UploadDigest::from_head(&head, buf, true).unwrap().unwrap();
        assert_eq!(
            whole.algorithms().collect::<Vec<_>>(),
            [Algorithm::Sha256, Algorithm::Sha512]
        );
        assert!(whole.finish().is_err(), "the Repr-Digest is wrong");
        let chunk = UploadDigest::from_head(&head, buf, false).unwrap().unwrap();
        assert_eq!(chunk.algorithms().collect::<Vec<_>>(), [Algorithm::Sha256]);
        assert!(chunk.finish().is_ok());
    }
}
