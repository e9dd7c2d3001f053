//! Byte ranges (RFC 9110 §14): the `Range` and `If-Range` request headers
//! decided into "whole file", "this slice" or "416".
//!
//! Pure: the caller passes the header values, the file's validators and its
//! length; nothing here touches a file, a socket or the clock. Every number
//! in a `Range` header is attacker-controlled, so positions are parsed with
//! bounded digits and checked arithmetic, and no input can make these
//! functions panic (a proptest below feeds them arbitrary strings).
//!
//! Choices, as nginx and Caddy make them:
//!
//! * one range → 206 with `Content-Range: bytes first-last/len`;
//! * several ranges (`bytes=0-1,5-9`) → 200 with the whole file (SPEC.md:
//!   no `multipart/byteranges`);
//! * a range that starts at or past the end, or a suffix of length 0 → 416
//!   with `Content-Range: bytes */len`;
//! * anything that does not parse (another unit, `5-3`, junk) is ignored, as
//!   RFC 9110 §14.2 allows: 200 with the whole file;
//! * `If-Range` that does not match the file's ETag (strong comparison) or
//!   `Last-Modified` (exact date) → 200 with the whole file.
//!
//! Only GET has range semantics (RFC 9110 §14.2); the caller does not pass
//! the `Range` of a HEAD.
#![forbid(unsafe_code)]

use super::date::parse_http_date;
use crate::syntax::trim_ows_str;

/// Digits accepted in one position of a range-spec. More than `u64` holds
/// (20 digits) so that a huge `last-pos` is clamped to the file's end as RFC
/// 9110 §14.1.2 asks, but finite: a longer position is invalid and the
/// header is ignored (200).
pub const MAX_RANGE_POS_DIGITS: usize = 32;

/// A half-open byte range `start..end` of a file, never empty.
///
/// INVARIANT: `start < end`, and `end <=` the length it was decided against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte sent.
    pub start: u64,
    /// One past the last byte sent.
    pub end: u64,
}

impl ByteRange {
    /// Bytes in the range (the response's Content-Length).
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Never true: a decided range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// The `Content-Range` value of a 206 for a file of `total` bytes.
    ///
    /// ```
    /// use ringdrop::http::range::ByteRange;
    /// assert_eq!(ByteRange { start: 0, end: 10 }.content_range(100), "bytes 0-9/100");
    /// ```
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.end - 1, total)
    }
}

/// The `Content-Range` value of a 416 for a file of `total` bytes.
///
/// ```
/// assert_eq!(ringdrop::http::range::unsatisfied_content_range(7), "bytes */7");
/// ```
pub fn unsatisfied_content_range(total: u64) -> String {
    format!("bytes */{total}")
}

/// What to send for a GET of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    /// 200 with the whole file (no `Range`, an ignored one, several ranges,
    /// or an `If-Range` that does not match).
    Full,
    /// 206 with this slice and `Content-Range`.
    Partial(ByteRange),
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The file's validators, as the response's `ETag` and `Last-Modified` show
/// them.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// The strong entity tag, quotes included (`"abc"`).
    pub etag: &'a str,
    /// Modification time, Unix seconds.
    pub last_modified: i64,
}

/// Decides a GET with optional `Range` and `If-Range` headers for a file of
/// `len` bytes.
///
/// ```
/// use ringdrop::http::range::{decide, ByteRange, RangeDecision, Validators};
/// let v = Validators { etag: "\"x\"", last_modified: 0 };
/// assert_eq!(decide(Some("bytes=-3"), None, v, 10),
///            RangeDecision::Partial(ByteRange { start: 7, end: 10 }));
/// assert_eq!(decide(Some("bytes=0-1"), Some("\"y\""), v, 10), RangeDecision::Full);
/// ```
pub fn decide(
    range: Option<&str>,
    if_range: Option<&str>,
    validators: Validators<'_>,
    len: u64,
) -> RangeDecision {
    let Some(range) = range else {
        return RangeDecision::Full;
    };
    if let Some(condition) = if_range {
        if !if_range_holds(condition, validators) {
            return RangeDecision::Full;
        }
    }
    parse_range(range, len)
}

/// Whether an `If-Range` value still names this file (RFC 9110 §13.1.5): an
/// entity tag must equal the ETag by strong comparison (a weak tag never
/// matches); a date must equal `Last-Modified` exactly. Anything else does
/// not match.
///
/// ```
/// use ringdrop::http::range::{if_range_holds, Validators};
/// let v = Validators { etag: "\"a\"", last_modified: 784111777 };
/// assert!(if_range_holds("\"a\"", v));
/// assert!(!if_range_holds("W/\"a\"", v));
/// assert!(if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", v));
/// assert!(!if_range_holds("Sun, 06 Nov 1994 08:49:38 GMT", v));
/// ```
pub fn if_range_holds(value: &str, validators: Validators<'_>) -> bool {
    let value = trim_ows_str(value);
    if value.starts_with("W/") {
        return false;
    }
    if value.starts_with('"') {
        return value == validators.etag;
    }
    parse_http_date(value) == Some(validators.last_modified)
}

/// Parses a `Range` value against a file of `len` bytes. See the module docs
/// for what each form decides.
///
/// ```
/// use ringdrop::http::range::{parse_range, ByteRange, RangeDecision};
/// assert_eq!(parse_range("bytes=2-4", 10), RangeDecision::Partial(ByteRange { start: 2, end: 5 }));
/// assert_eq!(parse_range("bytes=5-", 10), RangeDecision::Partial(ByteRange { start: 5, end: 10 }));
/// assert_eq!(parse_range("bytes=10-", 10), RangeDecision::Unsatisfiable);
/// assert_eq!(parse_range("bytes=0-1,4-5", 10), RangeDecision::Full);
/// ```
pub fn parse_range(value: &str, len: u64) -> RangeDecision {
    let Some((unit, set)) = trim_ows_str(value).split_once('=') else {
        return RangeDecision::Full;
    };
    if !trim_ows_str(unit).eq_ignore_ascii_case("bytes") {
        return RangeDecision::Full;
    }
    // RFC 9110 §5.6.1: a list may contain empty elements; they are skipped.
    let mut specs = set.split(',').map(trim_ows_str).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        // No range at all, or several: the whole file.
        return RangeDecision::Full;
    };
    match spec.split_once('-') {
        Some(("", suffix)) => suffix_range(suffix, len),
        Some((first, last)) => int_range(first, last, len),
        None => RangeDecision::Full,
    }
}

/// `-N`: the last N bytes.
fn suffix_range(suffix: &str, len: u64) -> RangeDecision {
    let Some(n) = parse_pos(suffix) else {
        return RangeDecision::Full;
    };
    if n == 0 {
        return RangeDecision::Unsatisfiable;
    }
    if len == 0 {
        // RFC 9110 §14.1.3 calls this satisfiable, but there is no byte to
        // name in a Content-Range: send the (empty) whole file.
        return RangeDecision::Full;
    }
    RangeDecision::Partial(ByteRange {
        start: len.saturating_sub(n),
        end: len,
    })
}

/// `A-B` or `A-`.
fn int_range(first: &str, last: &str, len: u64) -> RangeDecision {
    let Some(start) = parse_pos(first) else {
        return RangeDecision::Full;
    };
    let last = if last.is_empty() {
        None
    } else {
        match parse_pos(last) {
            Some(last) if last >= start => Some(last),
            // Junk, or last < first: an invalid range-spec is ignored.
            _ => return RangeDecision::Full,
        }
    };
    if start >= len {
        return RangeDecision::Unsatisfiable;
    }
    let end = last.map_or(len, |last| last.saturating_add(1).min(len));
    RangeDecision::Partial(ByteRange { start, end })
}

/// Decimal digits, at most [`MAX_RANGE_POS_DIGITS`]; a value past `u64`
/// saturates to `u64::MAX` (beyond any file).
fn parse_pos(digits: &str) -> Option<u64> {
    if digits.is_empty()
        || digits.len() > MAX_RANGE_POS_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(digits.bytes().fold(0u64, |acc, b| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .unwrap_or(u64::MAX)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FULL: RangeDecision = RangeDecision::Full;
    const NONE: RangeDecision = RangeDecision::Unsatisfiable;

    fn part(start: u64, end: u64) -> RangeDecision {
        RangeDecision::Partial(ByteRange { start, end })
    }

    /// `(name, header, file length, decision)`.
    macro_rules! vectors {
        ($($name:literal: $header:expr, $len:expr => $want:expr;)*) => {
            &[$(($name, $header, $len, $want)),*]
        };
    }

    #[test]
    fn vector_table() {
        let table: &[(&str, &str, u64, RangeDecision)] = vectors! {
            "closed": "bytes=0-9", 100 => part(0, 10);
            "closed middle": "bytes=10-19", 100 => part(10, 20);
            "single byte": "bytes=5-5", 100 => part(5, 6);
            "last byte": "bytes=99-99", 100 => part(99, 100);
            "last clamped": "bytes=90-1000", 100 => part(90, 100);
            "last huge": "bytes=0-99999999999999999999999", 100 => part(0, 100);
            "open": "bytes=40-", 100 => part(40, 100);
            "open from zero": "bytes=0-", 100 => part(0, 100);
            "suffix": "bytes=-10", 100 => part(90, 100);
            "suffix longer than file": "bytes=-1000", 100 => part(0, 100);
            "suffix huge": "bytes=-99999999999999999999999", 100 => part(0, 100);
            "suffix zero": "bytes=-0", 100 => NONE;
            "start at end": "bytes=100-", 100 => NONE;
            "start past end": "bytes=200-300", 100 => NONE;
            "start huge": "bytes=99999999999999999999999-", 100 => NONE;
            "empty file open": "bytes=0-", 0 => NONE;
            "empty file suffix": "bytes=-5", 0 => FULL;
            "unit case": "Bytes=1-2", 100 => part(1, 3);
            "whitespace around": "  bytes= 1-2 ", 100 => part(1, 3);
            "empty list elements": "bytes=,1-2,", 100 => part(1, 3);
            "two ranges": "bytes=0-1,5-9", 100 => FULL;
            "two ranges, one bad": "bytes=0-1,x", 100 => FULL;
            "two unsatisfiable": "bytes=200-,300-", 100 => FULL;
            "reversed": "bytes=5-3", 100 => FULL;
            "other unit": "items=0-1", 100 => FULL;
            "no equals": "bytes 0-1", 100 => FULL;
            "no dash": "bytes=5", 100 => FULL;
            "empty set": "bytes=", 100 => FULL;
            "only dash": "bytes=-", 100 => FULL;
            "sign": "bytes=+1-2", 100 => FULL;
            "negative last": "bytes=1--2", 100 => FULL;
            "junk last": "bytes=1-x", 100 => FULL;
            "inner space": "bytes=1 -2", 100 => FULL;
            "too many digits": "bytes=000000000000000000000000000000001-", 100 => FULL;
            "max digits": "bytes=00000000000000000000000000000001-", 100 => part(1, 100);
            "empty": "", 100 => FULL;
        };
        for (name, header, len, want) in table {
            assert_eq!(
                parse_range(header, *len),
                *want,
                "{name}: {header:?} len {len}"
            );
        }
    }

    #[test]
    fn if_range_table() {
        let v = Validators {
            etag: "\"1-2-3\"",
            last_modified: 784_111_777,
        };
        let table: &[(&str, bool)] = &[
            ("\"1-2-3\"", true),
            (" \"1-2-3\" ", true),
            ("\"1-2-4\"", false),
            ("W/\"1-2-3\"", false),
            ("\"1-2-3", false),
            ("Sun, 06 Nov 1994 08:49:37 GMT", true),
            ("Sun, 06 Nov 1994 08:49:36 GMT", false),
            ("Sunday, 06-Nov-94 08:49:37 GMT", false),
            ("*", false),
            ("", false),
        ];
        for (value, want) in table {
            assert_eq!(if_range_holds(value, v), *want, "{value:?}");
        }
        assert_eq!(
            decide(Some("bytes=1-1"), Some("\"1-2-3\""), v, 5),
            part(1, 2)
        );
        assert_eq!(decide(Some("bytes=1-1"), Some("\"zz\""), v, 5), FULL);
        assert_eq!(decide(Some("bytes=9-"), Some("\"zz\""), v, 5), FULL);
        assert_eq!(decide(None, Some("\"1-2-3\""), v, 5), FULL);
    }

    #[test]
    fn content_range_strings() {
        assert_eq!(
            ByteRange { start: 5, end: 6 }.content_range(6),
            "bytes 5-5/6"
        );
        assert_eq!(
            ByteRange {
                start: 0,
                end: u64::MAX
            }
            .content_range(u64::MAX),
            format!("bytes 0-{}/{}", u64::MAX - 1, u64::MAX)
        );
        assert_eq!(unsatisfied_content_range(0), "bytes */0");
    }

    /// The slow twin: the same rules over `u128`, for headers built from
    /// numbers.
    fn oracle(first: Option<u128>, last: Option<u128>, len: u128) -> RangeDecision {
        let part128 = |s: u128, e: u128| part(s as u64, e as u64);
        match (first, last) {
            (None, None) => FULL,
            (None, Some(0)) => NONE,
            (None, Some(_)) if len == 0 => FULL,
            (None, Some(n)) => part128(len.saturating_sub(n), len),
            (Some(f), Some(l)) if l < f => FULL,
            (Some(f), _) if f >= len => NONE,
            (Some(f), None) => part128(f, len),
            (Some(f), Some(l)) => part128(f, (l + 1).min(len)),
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_in_bounds(header in ".{0,64}", len in any::<u64>()) {
            if let RangeDecision::Partial(r) = parse_range(&header, len) {
                prop_assert!(r.start < r.end && r.end <= len);
            }
        }

        #[test]
        fn never_panics_on_range_like_text(
            header in "[bB]ytes=[-0-9, ]{0,48}",
            len in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0u64..200],
        ) {
            if let RangeDecision::Partial(r) = parse_range(&header, len) {
                prop_assert!(r.start < r.end && r.end <= len);
                prop_assert!(!r.content_range(len).is_empty());
            }
        }

        #[test]
        fn agrees_with_the_u128_oracle(
            first in prop::option::of(prop_oneof![0u64..300, any::<u64>()]),
            last in prop::option::of(prop_oneof![0u64..300, any::<u64>()]),
            len in prop_oneof![0u64..300, any::<u64>()],
        ) {
            let header = format!(
                "bytes={}-{}",
                first.map_or(String::new(), |f| f.to_string()),
                last.map_or(String::new(), |l| l.to_string()),
            );
            prop_assert_eq!(
                parse_range(&header, len),
                oracle(first.map(u128::from), last.map(u128::from), u128::from(len)),
                "{}", header
            );
        }
    }
}
