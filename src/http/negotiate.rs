//! Content negotiation for directory listings (RFC 9110 §12.5.1): HTML (the
//! default, with the upload page) or JSON.
//!
//! Pure: the caller passes the `Accept` value and whether the query has a
//! `json` flag. The choice, written down:
//!
//! * `?json` always gets JSON;
//! * otherwise JSON when `Accept` gives `application/json` a weight above 0
//!   and either a higher weight than `text/html`, or the same weight while
//!   naming `application/json` itself (not only through `*/*` or
//!   `application/*`). So `Accept: application/json`, `application/json,
//!   text/html` and axios' `application/json, text/plain, */*` get JSON,
//!   while a browser's `text/html,...,*/*;q=0.8`, a bare `*/*`, and
//!   `text/html, application/json;q=0.9` get HTML;
//! * each type's weight comes from the most specific range that matches it
//!   (`application/json` over `application/*` over `*/*`), the highest
//!   weight among equally specific ones; a type no range matches has
//!   weight 0;
//! * media-range parameters other than `q` are ignored, an element whose
//!   `q` is not a valid qvalue is ignored, and a missing or empty `Accept`
//!   means HTML. Nothing is ever refused with 406: a client that accepts
//!   neither type gets HTML.
#![forbid(unsafe_code)]

use crate::syntax::{list_elements, split_params, Escapes};

/// Whether a listing should be sent as JSON rather than HTML, from the
/// request's `Accept` value (`None` when absent) and whether its query
/// carries the `json` flag. See the module docs for the rules.
///
/// ```
/// use ringdrop::http::negotiate::wants_json;
/// assert!(wants_json(Some(b"application/json"), false));
/// assert!(wants_json(Some(b"application/json, text/plain, */*"), false));
/// assert!(!wants_json(Some(b"text/html,application/xhtml+xml,*/*;q=0.8"), false));
/// assert!(!wants_json(Some(b"text/html, application/json;q=0.9"), false));
/// assert!(!wants_json(None, false));
/// assert!(wants_json(None, true));
/// ```
pub fn wants_json(accept: Option<&[u8]>, query_has_json_flag: bool) -> bool {
    if query_has_json_flag {
        return true;
    }
    let Some(accept) = accept else {
        return false;
    };
    let json = preference(accept, b"application", b"json");
    let html = preference(accept, b"text", b"html");
    json.weight > 0
        && (json.weight > html.weight
            || (json.weight == html.weight && json.specificity == Specificity::Exact))
}

/// How a media range matched a type: the more specific, the more it counts
/// (RFC 9110 §12.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    /// No range matched.
    None,
    /// `*/*`.
    Any,
    /// `type/*`.
    Type,
    /// `type/subtype`.
    Exact,
}

/// The weight a client gives one media type, and through which range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Preference {
    /// The qvalue in thousandths (0..=1000).
    weight: u16,
    specificity: Specificity,
}

/// The preference `accept` expresses for `type_/subtype`.
fn preference(accept: &[u8], type_: &[u8], subtype: &[u8]) -> Preference {
    let mut best = Preference {
        weight: 0,
        specificity: Specificity::None,
    };
    for element in list_elements(accept, Escapes::QuotedPair) {
        let Some((range, weight)) = media_range(element) else {
            continue;
        };
        let specificity = match range.split_once_slash() {
            Some((b"*", b"*")) => Specificity::Any,
            Some((t, b"*")) if t.eq_ignore_ascii_case(type_) => Specificity::Type,
            Some((t, s)) if t.eq_ignore_ascii_case(type_) && s.eq_ignore_ascii_case(subtype) => {
                Specificity::Exact
            }
            Some(_) | None => continue,
        };
        if specificity > best.specificity
            || (specificity == best.specificity && weight > best.weight)
        {
            best = Preference {
                weight,
                specificity,
            };
        }
    }
    best
}

/// A media range's `type/subtype` bytes.
struct MediaRange<'a>(&'a [u8]);

impl<'a> MediaRange<'a> {
    fn split_once_slash(&self) -> Option<(&'a [u8], &'a [u8])> {
        let slash = memchr::memchr(b'/', self.0)?;
        Some((self.0.get(..slash)?, self.0.get(slash + 1..)?))
    }
}

/// One element of `Accept`: its range and weight (1000 without `q`).
/// `None` when its `q` is not a valid qvalue or a quoted parameter does
/// not end.
fn media_range(element: &[u8]) -> Option<(MediaRange<'_>, u16)> {
    let (range, params) = split_params(element, Escapes::QuotedPair);
    let mut weight = 1000;
    for param in params {
        let param = param.ok()?;
        if param.is("q") {
            weight = qvalue(param.value?.raw())?;
            // Anything after `q` is an accept-ext, not a range parameter.
            break;
        }
    }
    Some((MediaRange(range), weight))
}

/// RFC 9110 §12.4.2 `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`,
/// in thousandths.
fn qvalue(text: &[u8]) -> Option<u16> {
    let (int, frac) = match text.split_first()? {
        (b'0', rest) => (0u16, rest),
        (b'1', rest) => (1000u16, rest),
        _ => return None,
    };
    let digits = match frac {
        [] => &[][..],
        [b'.', digits @ ..] if digits.len() <= 3 => digits,
        _ => return None,
    };
    let mut thousandths = 0u16;
    let mut scale = 100u16;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        thousandths += u16::from(d - b'0') * scale;
        scale /= 10;
    }
    if int == 1000 && thousandths != 0 {
        return None;
    }
    Some(int + thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wants_json_table() {
        let table: &[(&str, Option<&str>, bool, bool)] = &[
            ("no accept", None, false, false),
            ("?json", None, true, true),
            ("?json beats html", Some("text/html"), true, true),
            ("empty accept", Some(""), false, false),
            ("json", Some("application/json"), false, true),
            ("json, case-insensitive", Some("Application/JSON"), false, true),
            ("json with charset", Some("application/json; charset=utf-8"), false, true),
            ("axios", Some("application/json, text/plain, */*"), false, true),
            ("json and html, equal", Some("application/json, text/html"), false, true),
            ("html first, json lower", Some("text/html, application/json;q=0.9"), false, false),
            ("json higher", Some("text/html;q=0.5, application/json"), false, true),
            ("json refused", Some("application/json;q=0"), false, false),
            ("json refused, all else welcome", Some("application/json;q=0, */*"), false, false),
            ("application/*", Some("application/*"), false, true),
            ("application/* vs text/html", Some("application/*, text/html"), false, false),
            ("any", Some("*/*"), false, false),
            ("text/*", Some("text/*"), false, false),
            (
                "firefox",
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                false,
                false,
            ),
            (
                "chrome",
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
                false,
                false,
            ),
            ("curl", Some("*/*"), false, false),
            ("json via any, html refused", Some("*/*, text/html;q=0"), false, true),
            ("most specific wins", Some("*/*;q=0.1, application/json;q=0.2, text/html;q=0.15"), false, true),
            ("html weighs more", Some("application/json;q=0.5, text/html;q=0.6"), false, false),
            ("invalid q ignored", Some("application/json;q=2, text/html"), false, false),
            ("invalid q alone", Some("application/json;q=abc"), false, false),
            ("q with spaces", Some("application/json ; q=0.8 , text/html ; q=0.7"), false, true),
            ("quoted comma in a parameter", Some("text/html;x=\"a,application/json\""), false, false),
            ("accept-ext after q", Some("application/json;q=1;ext=x"), false, true),
            ("json-like type", Some("application/json-patch+json"), false, false),
            ("no slash", Some("json"), false, false),
            ("duplicate, best weight", Some("application/json;q=0.1, application/json;q=0.9, text/html;q=0.5"), false, true),
        ];
        for (name, accept, flag, want) in table {
            assert_eq!(
                wants_json(accept.map(str::as_bytes), *flag),
                *want,
                "{name}: {accept:?}"
            );
        }
    }

    #[test]
    fn qvalue_table() {
        let table: &[(&str, Option<u16>)] = &[
            ("0", Some(0)),
            ("1", Some(1000)),
            ("0.", Some(0)),
            ("1.", Some(1000)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.123", Some(123)),
            ("0.999", Some(999)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            ("", None),
            (".5", None),
            ("0.5x", None),
            ("-0", None),
            ("00.5", None),
        ];
        for (text, want) in table {
            assert_eq!(qvalue(text.as_bytes()), *want, "{text:?}");
        }
    }

    /// Today's rule in `server::request` (`Request::wants_json`): a
    /// case-insensitive `application/json` substring. The new rule agrees
    /// wherever a client states no weights and does not also name HTML
    /// more specifically.
    #[test]
    fn agrees_with_the_substring_rule_on_unweighted_accepts() {
        let old = |a: &str| a.to_ascii_lowercase().contains("application/json");
        for accept in [
            "application/json",
            "application/json, text/plain, */*",
            "*/*",
            "text/html",
            "text/plain, application/json",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "",
        ] {
            assert_eq!(
                wants_json(Some(accept.as_bytes()), false),
                old(accept),
                "{accept:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(accept in "[ -~]{0,80}", flag in any::<bool>()) {
            let got = wants_json(Some(accept.as_bytes()), flag);
            if flag {
                prop_assert!(got);
            }
        }

        /// Weights decide: `json;q=a, html;q=b` is JSON iff a > 0 and a >= b.
        #[test]
        fn weights_decide(a in 0u16..=1000, b in 0u16..=1000) {
            let accept = format!("application/json;q={}.{:03}, text/html;q={}.{:03}", a / 1000, a % 1000, b / 1000, b % 1000);
            prop_assert_eq!(wants_json(Some(accept.as_bytes()), false), a > 0 && a >= b);
        }
    }
}
