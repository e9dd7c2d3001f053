//! Codecs for the scalar resumable-upload header fields: tus version and
//! lengths, structured-field booleans and integers (RFC 9651), HTTP dates,
//! media types, and the `Upload-Limit` dictionary.
//!
//! Every parser takes the raw field value (as [`RequestHead::header`]
//! returns it) and never panics; every formatter returns what goes after
//! `Name: `.
//!
//! [`RequestHead::header`]: crate::http::RequestHead::header

use crate::http::date::{http_date, parse_http_date};
use crate::syntax::trim_ows;

/// The tus version this server speaks (`Tus-Resumable`, `Tus-Version`).
pub const TUS_VERSION: &str = "1.0.0";

/// `Tus-Extension`: every tus 1.0 extension this server implements
/// (concatenation is not one of them).
pub const TUS_EXTENSIONS: &str =
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum";

/// `Tus-Checksum-Algorithm`: the algorithms `Upload-Checksum` may name
/// (every [`Algorithm`](crate::digest::Algorithm), by its `tus_name`).
pub const TUS_CHECKSUM_ALGORITHMS: &str = "sha1,sha256,sha512";

/// The media type of a tus PATCH body.
pub const TUS_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// The media type of an IETF append body (interop 6 and later).
pub const PARTIAL_UPLOAD_CONTENT_TYPE: &str = "application/partial-upload";

/// Decimal digits accepted in a length or offset. 19 digits cover every
/// value up to 10^19 - 1; the value is then checked against the limits.
pub const MAX_DECIMAL_DIGITS: usize = 19;

/// A non-negative decimal integer: 1 to [`MAX_DECIMAL_DIGITS`] ASCII digits,
/// surrounded by optional whitespace; no sign, no other character (tus
/// `Upload-Offset` / `Upload-Length`, and the IETF sf-integer fields, whose
/// parameters this server never needs).
///
/// ```
/// use ringdrop::resumable::headers::parse_u64;
/// assert_eq!(parse_u64(b" 42 "), Some(42));
/// assert_eq!(parse_u64(b"007"), Some(7));
/// assert_eq!(parse_u64(b"-1"), None);
/// assert_eq!(parse_u64(b"1e3"), None);
/// assert_eq!(parse_u64(b"99999999999999999999"), None);
/// ```
pub fn parse_u64(value: &[u8]) -> Option<u64> {
    let digits = trim_ows(value);
    if digits.is_empty() || digits.len() > MAX_DECIMAL_DIGITS {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// `Tus-Resumable: 1.0.0` (exactly that version).
///
/// ```
/// use ringdrop::resumable::headers::is_supported_tus_version;
/// assert!(is_supported_tus_version(b"1.0.0"));
/// assert!(!is_supported_tus_version(b"0.2.2"));
/// ```
pub fn is_supported_tus_version(value: &[u8]) -> bool {
    trim_ows(value) == TUS_VERSION.as_bytes()
}

/// `Upload-Defer-Length`: the only valid value is `1`.
pub fn is_valid_defer_length(value: &[u8]) -> bool {
    trim_ows(value) == b"1"
}

/// An sf-boolean (RFC 9651 §3.3.6): `?1` or `?0`, parameters (`;a=b`)
/// ignored. `Upload-Complete`, and the older `Upload-Incomplete`.
///
/// ```
/// use ringdrop::resumable::headers::parse_sf_boolean;
/// assert_eq!(parse_sf_boolean(b"?1"), Some(true));
/// assert_eq!(parse_sf_boolean(b" ?0;x=1"), Some(false));
/// assert_eq!(parse_sf_boolean(b"1"), None);
/// assert_eq!(parse_sf_boolean(b"?1 ?0"), None);
/// ```
pub fn parse_sf_boolean(value: &[u8]) -> Option<bool> {
    let item = trim_ows(value);
    let (bare, params) = match memchr::memchr(b';', item) {
        Some(at) => item.split_at(at),
        None => (item, &b""[..]),
    };
    let b = match bare {
        b"?1" => true,
        b"?0" => false,
        _ => return None,
    };
    skip_parameters(params).filter(|rest| rest.is_empty())?;
    Some(b)
}

/// The sf-boolean form of `b`.
pub fn format_sf_boolean(b: bool) -> &'static str {
    if b {
        "?1"
    } else {
        "?0"
    }
}

/// `Upload-Expires` (tus expiration): an RFC 9110 HTTP-date, as Unix
/// seconds.
///
/// ```
/// use ringdrop::resumable::headers::{format_expires, parse_expires};
/// let text = format_expires(784111777);
/// assert_eq!(text, "Sun, 06 Nov 1994 08:49:37 GMT");
/// assert_eq!(parse_expires(text.as_bytes()), Some(784111777));
/// ```
pub fn parse_expires(value: &[u8]) -> Option<i64> {
    parse_http_date(std::str::from_utf8(value).ok()?)
}

/// Formats Unix seconds as an `Upload-Expires` HTTP-date.
pub fn format_expires(unix_secs: i64) -> String {
    http_date(unix_secs)
}

/// True if a `Content-Type` value names `media_type` (case-insensitive),
/// whatever its parameters.
///
/// ```
/// use ringdrop::resumable::headers::media_type_is;
/// assert!(media_type_is(b"Application/Offset+Octet-Stream; x=1", "application/offset+octet-stream"));
/// assert!(!media_type_is(b"application/octet-stream", "application/offset+octet-stream"));
/// ```
pub fn media_type_is(value: &[u8], media_type: &str) -> bool {
    let end = memchr::memchr(b';', value).unwrap_or(value.len());
    trim_ows(&value[..end]).eq_ignore_ascii_case(media_type.as_bytes())
}

/// Skips sf-parameters (`;key` or `;key=bare-item`, OWS before each `;`)
/// and returns what follows them.
fn skip_parameters(mut s: &[u8]) -> Option<&[u8]> {
    loop {
        let t = trim_sp_start(s);
        let Some(rest) = t.strip_prefix(b";") else {
            return Some(s);
        };
        let rest = trim_sp_start(rest);
        let (_, rest) = sf_key(rest)?;
        s = match rest.strip_prefix(b"=") {
            Some(v) => skip_bare_item(v)?.1,
            None => rest,
        };
    }
}

fn trim_sp_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

/// An sf-key: `(lcalpha / "*") *(lcalpha / DIGIT / "_" / "-" / "." / "*")`.
fn sf_key(s: &[u8]) -> Option<(&[u8], &[u8])> {
    match s.first() {
        Some(b'a'..=b'z' | b'*') => {}
        _ => return None,
    }
    let end = s
        .iter()
        .position(|&b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)))
        .unwrap_or(s.len());
    Some(s.split_at(end))
}

/// A bare item that this server only needs to recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BareItem {
    /// A non-negative sf-integer (at most 15 digits).
    Integer(u64),
    /// Anything else that is valid (negative integer, decimal, string,
    /// token, byte sequence, boolean).
    Other,
}

/// Parses one sf bare item at the start of `s`.
fn skip_bare_item(s: &[u8]) -> Option<(BareItem, &[u8])> {
    match *s.first()? {
        b'-' | b'0'..=b'9' => {
            let negative = s[0] == b'-';
            let body = if negative { &s[1..] } else { s };
            let end = body
                .iter()
                .position(|b| !b.is_ascii_digit() && *b != b'.')
                .unwrap_or(body.len());
            let (num, rest) = body.split_at(end);
            let dots = num.iter().filter(|&&b| b == b'.').count();
            let digits = num.len() - dots;
            if num.is_empty() || !num[0].is_ascii_digit() || dots > 1 || num.ends_with(b".") {
                return None;
            }
            if dots == 0 && digits <= 15 && !negative {
                return Some((BareItem::Integer(parse_u64(num)?), rest));
            }
            // A negative integer or a decimal: valid, not a size.
            (digits <= 15).then_some((BareItem::Other, rest))
        }
        b'"' => {
            let mut i = 1;
            loop {
                match *s.get(i)? {
                    b'"' => return Some((BareItem::Other, &s[i + 1..])),
                    b'\\' => {
                        if !matches!(s.get(i + 1)?, b'"' | b'\\') {
                            return None;
                        }
                        i += 2;
                    }
                    0x20..=0x7e => i += 1,
                    _ => return None,
                }
            }
        }
        b':' => {
            let rest = &s[1..];
            let end = memchr::memchr(b':', rest)?;
            let ok = rest[..end]
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
            ok.then_some((BareItem::Other, &rest[end + 1..]))
        }
        b'?' => match s.get(1)? {
            b'0' | b'1' => Some((BareItem::Other, &s[2..])),
            _ => None,
        },
        b if b.is_ascii_alphabetic() || b == b'*' => {
            let end = s
                .iter()
                .position(|&b| !(is_tchar(b) || b == b':' || b == b'/'))
                .unwrap_or(s.len());
            Some((BareItem::Other, &s[end..]))
        }
        _ => None,
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `Upload-Limit` (an sf-dictionary): the limits a server announces. The
/// lifetime is `max-age` (interop 7 and later) or `expires` (interop 6),
/// both in seconds from the response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadLimit {
    /// `max-size`: largest representation, bytes.
    pub max_size: Option<u64>,
    /// `min-size`: smallest representation, bytes.
    pub min_size: Option<u64>,
    /// `max-append-size`: largest request content, bytes.
    pub max_append_size: Option<u64>,
    /// `min-append-size`: smallest request content (except the last).
    pub min_append_size: Option<u64>,
    /// `max-age` / `expires`: remaining lifetime, seconds.
    pub max_age: Option<u64>,
}

impl UploadLimit {
    /// Parses an `Upload-Limit` value. Unknown keys are skipped; a known
    /// key whose value is not a non-negative integer, or any syntax error,
    /// makes the whole field invalid (`None`), as the draft requires.
    ///
    /// ```
    /// use ringdrop::resumable::headers::UploadLimit;
    /// let l = UploadLimit::parse(b"max-size=1000, max-age=60, x=\"y\"").unwrap();
    /// assert_eq!((l.max_size, l.max_age), (Some(1000), Some(60)));
    /// assert_eq!(UploadLimit::parse(b"expires=5").unwrap().max_age, Some(5));
    /// assert_eq!(UploadLimit::parse(b"max-size=?1"), None);
    /// ```
    pub fn parse(value: &[u8]) -> Option<UploadLimit> {
        let mut limit = UploadLimit::default();
        let mut s = trim_ows(value);
        if s.is_empty() {
            return Some(limit);
        }
        loop {
            let (key, rest) = sf_key(s)?;
            let (item, rest) = match rest.strip_prefix(b"=") {
                Some(v) => skip_bare_item(v)?,
                None => (BareItem::Other, rest),
            };
            let rest = skip_parameters(rest)?;
            let slot = match key {
                b"max-size" => Some(&mut limit.max_size),
                b"min-size" => Some(&mut limit.min_size),
                b"max-append-size" => Some(&mut limit.max_append_size),
                b"min-append-size" => Some(&mut limit.min_append_size),
                b"max-age" | b"expires" => Some(&mut limit.max_age),
                _ => None,
            };
            if let Some(slot) = slot {
                match item {
                    BareItem::Integer(n) => *slot = Some(n),
                    BareItem::Other => return None,
                }
            }
            let rest = trim_ows(rest);
            if rest.is_empty() {
                return Some(limit);
            }
            s = trim_ows(rest.strip_prefix(b",")?);
            if s.is_empty() {
                return None;
            }
        }
    }

    /// Formats the limits that are set, `lifetime_key` naming `max_age`
    /// (`"max-age"` or `"expires"`, see [`IetfDraft::lifetime_key`]).
    /// `None` when no limit is set (the field is then left out).
    ///
    /// [`IetfDraft::lifetime_key`]: super::IetfDraft::lifetime_key
    ///
    /// ```
    /// use ringdrop::resumable::headers::UploadLimit;
    /// let l = UploadLimit { max_size: Some(10), max_age: Some(60), ..Default::default() };
    /// assert_eq!(l.format("max-age").as_deref(), Some("max-size=10, max-age=60"));
    /// assert_eq!(UploadLimit::default().format("max-age"), None);
    /// ```
    pub fn format(&self, lifetime_key: &str) -> Option<String> {
        let members = [
            ("max-size", self.max_size),
            ("min-size", self.min_size),
            ("max-append-size", self.max_append_size),
            ("min-append-size", self.min_append_size),
            (lifetime_key, self.max_age),
        ];
        let mut out = String::new();
        for (key, value) in members {
            let Some(value) = value else { continue };
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(key);
            out.push('=');
            // sf-integers have at most 15 digits.
            out.push_str(&value.min(SF_INTEGER_MAX).to_string());
        }
        (!out.is_empty()).then_some(out)
    }
}

/// The largest sf-integer (RFC 9651 §3.3.1: 15 digits).
pub const SF_INTEGER_MAX: u64 = 999_999_999_999_999;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_table() {
        let table: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"\t12\t", Some(12)),
            (b"18446744073709551615", None), // 20 digits
            (b"9999999999999999999", Some(9_999_999_999_999_999_999)),
            (b"", None),
            (b" ", None),
            (b"+1", None),
            (b"1 2", None),
            (b"0x10", None),
            (b"\xef\xbc\x91", None),
        ];
        for &(input, want) in table {
            assert_eq!(
                parse_u64(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn sf_boolean_table() {
        let table: &[(&[u8], Option<bool>)] = &[
            (b"?1", Some(true)),
            (b"?0", Some(false)),
            (b"?1;a", Some(true)),
            (b"?1;a=1;b=\"x\"", Some(true)),
            (b"?1;A=1", None),
            (b"?1;", None),
            (b"?", None),
            (b"?2", None),
            (b"true", None),
            (b"?1,?0", None),
            (b"", None),
        ];
        for &(input, want) in table {
            assert_eq!(
                parse_sf_boolean(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn upload_limit_table() {
        let full = UploadLimit {
            max_size: Some(1),
            min_size: Some(2),
            max_append_size: Some(3),
            min_append_size: Some(4),
            max_age: Some(5),
        };
        let table: &[(&[u8], Option<UploadLimit>)] = &[
            (b"", Some(UploadLimit::default())),
            (
                b"max-size=1,min-size=2, max-append-size=3 ,min-append-size=4,max-age=5",
                Some(full),
            ),
            (
                b"max-size=1;p=2",
                Some(UploadLimit {
                    max_size: Some(1),
                    ..Default::default()
                }),
            ),
            (
                b"unknown, other=:aGk=:, t=tok/x, d=1.5",
                Some(UploadLimit::default()),
            ),
            (b"max-size=-1", None),
            (b"max-size=1.0", None),
            (b"max-size=1234567890123456", None),
            (b"max-size", None), // a boolean true, not an integer
            (b"max-size=1,", None),
            (b",max-size=1", None),
            (b"Max-Size=1", None),
            (b"a=\"unterminated", None),
            (b"a=(1 2)", None),
        ];
        for &(input, want) in table {
            assert_eq!(
                UploadLimit::parse(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let text = full.format("max-age").unwrap();
        assert_eq!(UploadLimit::parse(text.as_bytes()), Some(full));
        let text = full.format("expires").unwrap();
        assert!(text.ends_with("expires=5"));
        assert_eq!(UploadLimit::parse(text.as_bytes()), Some(full));
    }

    #[test]
    fn media_types_and_versions() {
        assert!(media_type_is(
            b"application/partial-upload",
            PARTIAL_UPLOAD_CONTENT_TYPE
        ));
        assert!(!media_type_is(b"", PARTIAL_UPLOAD_CONTENT_TYPE));
        assert!(is_valid_defer_length(b" 1"));
        assert!(!is_valid_defer_length(b"0"));
        assert!(!is_supported_tus_version(b"1.0.0,0.2.2"));
        assert_eq!(parse_expires(b"garbage"), None);
        assert_eq!(parse_expires(b"\xff"), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_u64_agrees_with_std(n in proptest::prelude::any::<u64>()) {
            let text = n.to_string();
            let want = (text.len() <= MAX_DECIMAL_DIGITS).then_some(n);
            proptest::prop_assert_eq!(parse_u64(text.as_bytes()), want);
        }

        #[test]
        fn upload_limit_round_trips(
            a in proptest::option::of(0..=SF_INTEGER_MAX),
            b in proptest::option::of(0..=SF_INTEGER_MAX),
            c in proptest::option::of(0..=SF_INTEGER_MAX),
        ) {
            let l = UploadLimit { max_size: a, max_append_size: b, max_age: c, ..Default::default() };
            let parsed = match l.format("max-age") {
                Some(text) => UploadLimit::parse(text.as_bytes()),
                None => Some(UploadLimit::default()),
            };
            proptest::prop_assert_eq!(parsed, Some(l));
        }
    }
}
