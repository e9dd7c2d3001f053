//! Conditional requests (RFC 9110 §13): the file's entity tag, and the
//! `If-Match`, `If-Unmodified-Since`, `If-None-Match` and
//! `If-Modified-Since` preconditions decided into "go on", 304 or 412.
//! `If-Range` is part of the range decision ([`super::range`]).
//!
//! Pure: the caller passes the header values, the method, and the current
//! representation's validators (none when the target does not exist);
//! nothing here touches a file or reads the clock.
//!
//! Evaluation order, RFC 9110 §13.2.2:
//!
//! 1. `If-Match` present: unless one of its tags matches the current ETag
//!    by strong comparison (or it is `*` and the file exists) → 412;
//! 2. else `If-Unmodified-Since` (a valid date, a file that exists):
//!    modified after it → 412;
//! 3. `If-None-Match` present: if one of its tags matches by weak comparison
//!    (or it is `*` and the file exists) → 304 for GET and HEAD, 412 for
//!    any other method;
//! 4. else, for GET and HEAD, `If-Modified-Since` (a valid date, a file
//!    that exists): not modified after it → 304;
//! 5. otherwise go on (`If-Range`, then the method).
//!
//! Dates are IMF-fixdates ([`parse_http_date`]); an invalid date is ignored,
//! as RFC 9110 §13.1.3–4 ask. A malformed entity tag in a list never
//! matches; the other tags of the list still count.
#![forbid(unsafe_code)]

use super::date::parse_http_date;
use super::head::Method;
use super::range::Validators;
use crate::syntax::{is_ows, trim_ows};

/// The strong entity tag of a file, quotes included: its inode, size and
/// modification time in nanoseconds, in hexadecimal (`"ino-size-mtime"`).
/// Any write changes the size or the modification time, and a replaced
/// file has a new inode, so a tag names one content.
///
/// ```
/// use ringdrop::http::conditional::etag;
/// assert_eq!(etag(0x1f, 10, 1, 5), "\"1f-a-3b9aca05\"");
/// ```
pub fn etag(inode: u64, size: u64, mtime_secs: i64, mtime_nsec: i64) -> String {
    // Wrapping: any file time gives a tag, never a panic (two times
    // centuries apart could share one; a stat of such a file is fiction).
    let mtime_ns = mtime_secs
        .wrapping_mul(1_000_000_000)
        .wrapping_add(mtime_nsec);
    format!("\"{inode:x}-{size:x}-{mtime_ns:x}\"")
}

/// The precondition header fields of a request, as sent (`None` when
/// absent). Only the first field of each name is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preconditions<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a [u8]>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a [u8]>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a [u8]>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a [u8]>,
}

/// What the preconditions decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Every precondition holds (or none was sent): go on with the request.
    Proceed,
    /// 304 Not Modified (GET or HEAD only): send the validators, no body.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions of a `method` request against the current
/// representation (`None`: the target does not exist), in the order of
/// RFC 9110 §13.2.2 (see the module docs).
///
/// ```
/// use ringdrop::http::conditional::{evaluate, Precondition, Preconditions};
/// use ringdrop::http::range::Validators;
/// use ringdrop::http::Method;
/// let file = Some(Validators { etag: "\"a\"", last_modified: 784111777 });
/// let inm = Preconditions { if_none_match: Some(b"W/\"a\", \"b\""), ..Default::default() };
/// assert_eq!(evaluate(Method::Get, &inm, file), Precondition::NotModified);
/// let put_new = Preconditions { if_none_match: Some(b"*"), ..Default::default() };
/// assert_eq!(evaluate(Method::Put, &put_new, file), Precondition::Failed);
/// assert_eq!(evaluate(Method::Put, &put_new, None), Precondition::Proceed);
/// ```
pub fn evaluate(
    method: Method,
    preconditions: &Preconditions<'_>,
    current: Option<Validators<'_>>,
) -> Precondition {
    let safe = matches!(method, Method::Get | Method::Head);
    if let Some(if_match) = preconditions.if_match {
        if !tags_match(if_match, current, Comparison::Strong) {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(current)) = (date(preconditions.if_unmodified_since), current)
    {
        if current.last_modified > since {
            return Precondition::Failed;
        }
    }
    if let Some(if_none_match) = preconditions.if_none_match {
        if tags_match(if_none_match, current, Comparison::Weak) {
            return if safe {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if let (true, Some(since), Some(current)) =
        (safe, date(preconditions.if_modified_since), current)
    {
        if current.last_modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// A date field's value, or `None` when absent or not an IMF-fixdate.
fn date(value: Option<&[u8]>) -> Option<i64> {
    parse_http_date(core::str::from_utf8(value?).ok()?)
}

/// RFC 9110 §8.8.3.2: strong comparison needs both tags strong; weak
/// comparison ignores the `W/` prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// One element of an `If-Match` / `If-None-Match` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListTag<'a> {
    /// `*`: any current representation.
    Any,
    /// An entity tag; `opaque` is between the quotes.
    Tag { weak: bool, opaque: &'a [u8] },
    /// Not an entity tag: never matches.
    Invalid,
}

/// Whether `list` (`*` or `#entity-tag`) names the current representation.
fn tags_match(list: &[u8], current: Option<Validators<'_>>, comparison: Comparison) -> bool {
    let Some(current) = current else {
        return false;
    };
    let ListTag::Tag {
        weak: current_weak,
        opaque: current_opaque,
    } = parse_tag(current.etag.as_bytes()).0
    else {
        // The server's own tag is always valid; if not, nothing matches.
        return false;
    };
    entity_tags(list).any(|tag| match tag {
        ListTag::Any => true,
        ListTag::Tag { weak, opaque } => {
            opaque == current_opaque
                && match comparison {
                    Comparison::Weak => true,
                    Comparison::Strong => !weak && !current_weak,
                }
        }
        ListTag::Invalid => false,
    })
}

/// The elements of an entity-tag list. A comma inside the quotes of a tag
/// does not split (`etagc` allows it), and `\` is an ordinary character
/// there (entity tags have no escapes).
fn entity_tags(list: &[u8]) -> impl Iterator<Item = ListTag<'_>> {
    let mut rest = list;
    core::iter::from_fn(move || {
        let start = rest.iter().position(|&b| b != b',' && !is_ows(b))?;
        let (tag, after) = parse_tag(rest.get(start..).unwrap_or_default());
        rest = after;
        Some(tag)
    })
}

/// The element at the front of `s` (which starts with a non-separator),
/// and what follows it, from its terminating comma on.
fn parse_tag(s: &[u8]) -> (ListTag<'_>, &[u8]) {
    let (weak, quoted) = match s.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let to_comma = |from: &'_ [u8]| -> usize { memchr::memchr(b',', from).unwrap_or(from.len()) };
    if let Some(inner) = quoted.strip_prefix(b"\"") {
        if let Some(close) = memchr::memchr(b'"', inner) {
            let opaque = inner.get(..close).unwrap_or_default();
            let after = inner.get(close + 1..).unwrap_or_default();
            let end = to_comma(after);
            let (junk, rest) = after.split_at(end);
            let tag = if trim_ows(junk).is_empty() && opaque.iter().all(|&b| is_etagc(b)) {
                ListTag::Tag { weak, opaque }
            } else {
                ListTag::Invalid
            };
            return (tag, rest);
        }
    }
    let end = to_comma(s);
    let (element, rest) = s.split_at(end);
    let tag = if trim_ows(element) == b"*" {
        ListTag::Any
    } else {
        ListTag::Invalid
    };
    (tag, rest)
}

/// RFC 9110 §8.8.3 `etagc = %x21 / %x23-7E / obs-text`.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TAG: &str = "\"1f-a-3b9aca05\"";
    const MTIME: i64 = 784_111_777;
    const FILE: Option<Validators<'static>> = Some(Validators {
        etag: TAG,
        last_modified: MTIME,
    });
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    use Precondition::{Failed as F, NotModified as NM, Proceed as GO};

    fn pre<'a>(
        if_match: Option<&'a str>,
        ius: Option<&'a str>,
        inm: Option<&'a str>,
        ims: Option<&'a str>,
    ) -> Preconditions<'a> {
        Preconditions {
            if_match: if_match.map(str::as_bytes),
            if_unmodified_since: ius.map(str::as_bytes),
            if_none_match: inm.map(str::as_bytes),
            if_modified_since: ims.map(str::as_bytes),
        }
    }

    #[test]
    fn etag_format_is_what_get_sent() {
        assert_eq!(etag(0x1f, 10, 1, 5), TAG);
        assert_eq!(etag(1, 0, 0, 0), "\"1-0-0\"");
        // Before 1970: the two's complement of a negative time, as `{:x}`
        // of the i64 always printed it.
        assert_eq!(
            etag(1, 1, -1, 0),
            format!("\"1-1-{:x}\"", -1_000_000_000i64)
        );
        // Far times wrap instead of panicking.
        assert!(!etag(u64::MAX, u64::MAX, i64::MAX, i64::MAX).is_empty());
    }

    /// `(name, method, preconditions, file exists, decision)`.
    #[test]
    fn evaluation_table() {
        let table: Vec<(&str, Method, Preconditions<'_>, bool, Precondition)> = vec![
            ("none", Method::Get, pre(None, None, None, None), true, GO),
            (
                "INM match",
                Method::Get,
                pre(None, None, Some(TAG), None),
                true,
                NM,
            ),
            (
                "INM match HEAD",
                Method::Head,
                pre(None, None, Some(TAG), None),
                true,
                NM,
            ),
            (
                "INM weak match",
                Method::Get,
                pre(None, None, Some("W/\"1f-a-3b9aca05\""), None),
                true,
                NM,
            ),
            (
                "INM list",
                Method::Get,
                pre(None, None, Some("\"x\", \"1f-a-3b9aca05\""), None),
                true,
                NM,
            ),
            (
                "INM list no spaces",
                Method::Get,
                pre(None, None, Some("\"x\",W/\"1f-a-3b9aca05\""), None),
                true,
                NM,
            ),
            (
                "INM other",
                Method::Get,
                pre(None, None, Some("\"x\""), None),
                true,
                GO,
            ),
            (
                "INM star",
                Method::Get,
                pre(None, None, Some("*"), None),
                true,
                NM,
            ),
            (
                "INM star no file",
                Method::Get,
                pre(None, None, Some("*"), None),
                false,
                GO,
            ),
            (
                "INM unquoted",
                Method::Get,
                pre(None, None, Some("1f-a-3b9aca05"), None),
                true,
                GO,
            ),
            (
                "INM wins over IMS",
                Method::Get,
                pre(None, None, Some("\"x\""), Some(AFTER)),
                true,
                GO,
            ),
            (
                "INM on PUT",
                Method::Put,
                pre(None, None, Some("*"), None),
                true,
                F,
            ),
            (
                "INM on PUT, new file",
                Method::Put,
                pre(None, None, Some("*"), None),
                false,
                GO,
            ),
            (
                "INM tag on DELETE",
                Method::Delete,
                pre(None, None, Some(TAG), None),
                true,
                F,
            ),
            (
                "IMS at mtime",
                Method::Get,
                pre(None, None, None, Some(AT)),
                true,
                NM,
            ),
            (
                "IMS after",
                Method::Get,
                pre(None, None, None, Some(AFTER)),
                true,
                NM,
            ),
            (
                "IMS before",
                Method::Get,
                pre(None, None, None, Some(BEFORE)),
                true,
                GO,
            ),
            (
                "IMS invalid date",
                Method::Get,
                pre(None, None, None, Some("yesterday")),
                true,
                GO,
            ),
            (
                "IMS on PUT ignored",
                Method::Put,
                pre(None, None, None, Some(AFTER)),
                true,
                GO,
            ),
            (
                "IMS no file",
                Method::Get,
                pre(None, None, None, Some(AFTER)),
                false,
                GO,
            ),
            (
                "IM match",
                Method::Put,
                pre(Some(TAG), None, None, None),
                true,
                GO,
            ),
            (
                "IM list",
                Method::Put,
                pre(Some("\"a\", \"1f-a-3b9aca05\""), None, None, None),
                true,
                GO,
            ),
            (
                "IM weak never matches",
                Method::Put,
                pre(Some("W/\"1f-a-3b9aca05\""), None, None, None),
                true,
                F,
            ),
            (
                "IM other",
                Method::Get,
                pre(Some("\"x\""), None, None, None),
                true,
                F,
            ),
            (
                "IM star",
                Method::Put,
                pre(Some("*"), None, None, None),
                true,
                GO,
            ),
            (
                "IM star no file",
                Method::Put,
                pre(Some("*"), None, None, None),
                false,
                F,
            ),
            (
                "IM before INM",
                Method::Get,
                pre(Some("\"x\""), None, Some(TAG), None),
                true,
                F,
            ),
            (
                "IM holds, then INM",
                Method::Get,
                pre(Some(TAG), None, Some(TAG), None),
                true,
                NM,
            ),
            (
                "IUS after mtime",
                Method::Put,
                pre(None, Some(AFTER), None, None),
                true,
                GO,
            ),
            (
                "IUS at mtime",
                Method::Put,
                pre(None, Some(AT), None, None),
                true,
                GO,
            ),
            (
                "IUS before mtime",
                Method::Put,
                pre(None, Some(BEFORE), None, None),
                true,
                F,
            ),
            (
                "IUS ignored with IM",
                Method::Put,
                pre(Some(TAG), Some(BEFORE), None, None),
                true,
                GO,
            ),
            (
                "IUS invalid date",
                Method::Put,
                pre(None, Some("never"), None, None),
                true,
                GO,
            ),
            (
                "IUS no file",
                Method::Put,
                pre(None, Some(BEFORE), None, None),
                false,
                GO,
            ),
            (
                "IUS holds, then IMS",
                Method::Get,
                pre(None, Some(AFTER), None, Some(AT)),
                true,
                NM,
            ),
        ];
        for (name, method, preconditions, exists, want) in table {
            let current = if exists { FILE } else { None };
            assert_eq!(evaluate(method, &preconditions, current), want, "{name}");
        }
    }

    #[test]
    fn entity_tag_lists() {
        let tag = |weak, opaque: &'static str| ListTag::Tag {
            weak,
            opaque: opaque.as_bytes(),
        };
        let table: &[(&str, &[ListTag<'static>])] = &[
            ("", &[]),
            (" , ,", &[]),
            ("*", &[ListTag::Any]),
            ("\"a\"", &[tag(false, "a")]),
            ("W/\"a\"", &[tag(true, "a")]),
            ("\"\"", &[tag(false, "")]),
            (
                " \"a,b\" , W/\"c\\\" ",
                &[tag(false, "a,b"), tag(true, "c\\")],
            ),
            ("\"a\" junk, \"b\"", &[ListTag::Invalid, tag(false, "b")]),
            ("w/\"a\"", &[ListTag::Invalid]),
            ("\"a", &[ListTag::Invalid]),
            ("a\", \"b\"", &[ListTag::Invalid, tag(false, "b")]),
            ("\"a b\"", &[ListTag::Invalid]),
            ("W/W/\"a\"", &[ListTag::Invalid]),
        ];
        for (list, want) in table {
            let got: Vec<ListTag<'_>> = entity_tags(list.as_bytes()).collect();
            assert_eq!(got, *want, "{list:?}");
        }
    }

    /// The rules of `server::routes::get` this function replaces, written
    /// as they were there (`none_match`, then the `If-Modified-Since`
    /// comparison), agree with it on every well-formed input.
    #[test]
    fn agrees_with_the_get_rules_it_replaces() {
        fn old(inm: Option<&str>, ims: Option<&str>) -> bool {
            match (inm, ims) {
                (Some(inm), _) => inm
                    .split(',')
                    .map(str::trim)
                    .any(|t| t == "*" || t.trim_start_matches("W/") == TAG),
                (None, Some(ims)) => parse_http_date(ims).is_some_and(|since| MTIME <= since),
                (None, None) => false,
            }
        }
        let inms = [
            None,
            Some(TAG),
            Some("W/\"1f-a-3b9aca05\""),
            Some("\"x\""),
            Some("\"x\", \"1f-a-3b9aca05\""),
            Some("*"),
            Some(""),
        ];
        let imss = [None, Some(BEFORE), Some(AT), Some(AFTER), Some("junk")];
        for inm in inms {
            for ims in imss {
                for method in [Method::Get, Method::Head] {
                    let new = evaluate(method, &pre(None, None, inm, ims), FILE);
                    let want = if old(inm, ims) { NM } else { GO };
                    assert_eq!(new, want, "{inm:?} {ims:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics(
            a in prop::option::of("[ -~]{0,40}"),
            b in prop::option::of("[ -~]{0,40}"),
            c in prop::option::of("[ -~W/\",*]{0,40}"),
            d in prop::option::of("[ -~]{0,40}"),
            exists in any::<bool>(),
        ) {
            let p = pre(a.as_deref(), b.as_deref(), c.as_deref(), d.as_deref());
            let current = if exists { FILE } else { None };
            for method in [Method::Get, Method::Head, Method::Put, Method::Delete] {
                let got = evaluate(method, &p, current);
                if !matches!(method, Method::Get | Method::Head) {
                    prop_assert_ne!(got, Precondition::NotModified);
                }
            }
        }
    }
}
