//! `Upload-Metadata` (tus 1.0 creation): comma-separated `key base64value`
//! pairs, keys unique, values possibly empty (then the space may go too).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::error::{Field, ResumableError};
use crate::syntax::trim_ows;

/// Standard alphabet; padding optional on input (clients differ), always
/// written on output.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parsed `Upload-Metadata`: the pairs in the order sent, values decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(String, Vec<u8>)>,
}

impl Metadata {
    /// Parses an `Upload-Metadata` value of at most `max_bytes` bytes.
    ///
    /// Elements are separated by `,` with optional whitespace around each;
    /// empty elements are skipped (tuspy sends an empty header when there is
    /// no metadata). A key is 1 or more visible ASCII characters other than
    /// `,`; it is followed by nothing (empty value) or by one space and the
    /// base64 value (standard alphabet, padding optional).
    ///
    /// Errors: longer than `max_bytes` → 431 (`MetadataTooLarge`); bad key,
    /// bad base64 or a repeated key → 400 (`InvalidHeader`).
    ///
    /// ```
    /// use ringdrop::resumable::Metadata;
    /// let m = Metadata::parse(b"filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential", 2048).unwrap();
    /// assert_eq!(m.get("filename"), Some(&b"world_domination_plan.pdf"[..]));
    /// assert_eq!(m.get("is_confidential"), Some(&b""[..]));
    /// assert_eq!(m.to_header(), "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential");
    /// assert!(Metadata::parse(b"a YQ==,a Yg==", 2048).is_err());
    /// ```
    pub fn parse(value: &[u8], max_bytes: usize) -> Result<Metadata, ResumableError> {
        if value.len() > max_bytes {
            return Err(ResumableError::MetadataTooLarge { limit: max_bytes });
        }
        let invalid = ResumableError::InvalidHeader {
            field: Field::UploadMetadata,
        };
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        for element in value.split(|&b| b == b',') {
            let element = trim_ows(element);
            if element.is_empty() {
                continue;
            }
            let (key, encoded) = match memchr::memchr(b' ', element) {
                Some(at) => (&element[..at], &element[at + 1..]),
                None => (element, &b""[..]),
            };
            if !is_valid_key(key) {
                return Err(invalid);
            }
            let decoded = if encoded.is_empty() {
                Vec::new()
            } else {
                LENIENT.decode(encoded).map_err(|_| invalid)?
            };
            // Keys are visible ASCII, so this is UTF-8.
            let key = String::from_utf8_lossy(key).into_owned();
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(invalid);
            }
            entries.push((key, decoded));
        }
        Ok(Metadata { entries })
    }

    /// The decoded value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The pairs, in the order sent.
    pub fn entries(&self) -> &[(String, Vec<u8>)] {
        &self.entries
    }

    /// True without any pair.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name the client gave the file: the `filename` value, else
    /// `name` (Uppy sends both, tus-js-client users usually `filename`),
    /// as lossy UTF-8 and still unsanitized. `None` when neither is there
    /// or the value is empty.
    ///
    /// ```
    /// use ringdrop::resumable::Metadata;
    /// let m = Metadata::parse(b"name YS50eHQ=", 2048).unwrap();
    /// assert_eq!(m.filename().as_deref(), Some("a.txt"));
    /// ```
    pub fn filename(&self) -> Option<String> {
        ["filename", "name"]
            .iter()
            .filter_map(|k| self.get(k))
            .find(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The canonical header value: pairs in order, `key base64` with
    /// padding, a bare key for an empty value, joined by `,`. What HEAD
    /// echoes and the record stores; parsing it gives these pairs again.
    pub fn to_header(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.entries {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(key);
            if !value.is_empty() {
                out.push(' ');
                STANDARD.encode_string(value, &mut out);
            }
        }
        out
    }
}

/// A metadata key: visible ASCII without `,` (tus: no spaces, no commas,
/// not empty; "SHOULD be ASCII" made a must so it is safe in any header).
fn is_valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.iter().all(|&b| b.is_ascii_graphic() && b != b',')
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 2048;

    #[test]
    fn table() {
        type Want = Result<Vec<(&'static str, &'static [u8])>, ResumableError>;
        let invalid = Err(ResumableError::InvalidHeader {
            field: Field::UploadMetadata,
        });
        let table: &[(&str, &[u8], Want)] = &[
            ("empty header (tuspy)", b"", Ok(vec![])),
            ("only separators", b" , ,", Ok(vec![])),
            (
                "one pair",
                b"filename YS50eHQ=",
                Ok(vec![("filename", b"a.txt")]),
            ),
            (
                "unpadded",
                b"filename YS50eHQ",
                Ok(vec![("filename", b"a.txt")]),
            ),
            ("bare key", b"flag", Ok(vec![("flag", b"")])),
            ("key and space", b"flag ", Ok(vec![("flag", b"")])),
            (
                "several, spaces around",
                b" a YQ== ,\tb Yg==\t,c",
                Ok(vec![("a", b"a"), ("b", b"b"), ("c", b"")]),
            ),
            ("binary value", b"k AP8=", Ok(vec![("k", b"\x00\xff")])),
            ("duplicate key", b"a YQ==,a", invalid.clone()),
            ("bad base64", b"a !!!!", invalid.clone()),
            ("two spaces", b"a  YQ==", invalid.clone()),
            ("value with space", b"a YQ== Yg==", invalid.clone()),
            ("url-safe alphabet", b"a _-8=", invalid.clone()),
            ("non-ascii key", b"\xc3\xa9 YQ==", invalid.clone()),
            ("control in key", b"a\x01 YQ==", invalid.clone()),
        ];
        for (name, input, want) in table {
            let got = Metadata::parse(input, MAX).map(|m| {
                m.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>()
            });
            let want = want.clone().map(|v| {
                v.into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_vec()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn limit_is_inclusive() {
        let at = format!("k {}", "A".repeat(MAX - 2));
        assert_eq!(at.len(), MAX);
        assert!(Metadata::parse(at.as_bytes(), MAX).is_ok());
        let over = format!("{at}A");
        assert_eq!(
            Metadata::parse(over.as_bytes(), MAX),
            Err(ResumableError::MetadataTooLarge { limit: MAX })
        );
    }

    #[test]
    fn filename_prefers_filename_over_name_and_skips_empty() {
        let m = Metadata::parse(b"name Yg==,filename YQ==", MAX).unwrap();
        assert_eq!(m.filename().as_deref(), Some("a"));
        let m = Metadata::parse(b"filename,name Yg==", MAX).unwrap();
        assert_eq!(m.filename().as_deref(), Some("b"));
        assert_eq!(Metadata::parse(b"", MAX).unwrap().filename(), None);
    }

    proptest::proptest! {
        /// Oracle: any map of valid keys to byte values survives
        /// `to_header` → `parse` unchanged.
        #[test]
        fn round_trip(pairs in proptest::collection::btree_map(
            "[!-+--~]{1,8}",
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            0..6,
        )) {
            let m = Metadata { entries: pairs.into_iter().collect() };
            let text = m.to_header();
            proptest::prop_assert_eq!(Metadata::parse(text.as_bytes(), 1 << 16), Ok(m));
        }
    }
}
