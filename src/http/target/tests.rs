//! Target decoding: named vectors and a percent-encoding round trip.

use super::*;
use proptest::prelude::*;

fn ok(path: &str, trailing_slash: bool, query: Option<&str>) -> Result<TargetPath, TargetError> {
    Ok(TargetPath {
        path: path.to_owned(),
        trailing_slash,
        query: query.map(str::to_owned),
    })
}

#[test]
fn target_vectors() {
    let vectors: &[(&str, &[u8], Result<TargetPath, TargetError>)] = &[
        ("root", b"/", ok("", true, None)),
        ("file", b"/a/b.txt", ok("a/b.txt", false, None)),
        ("dir", b"/a/b/", ok("a/b", true, None)),
        ("space", b"/a/b%20c", ok("a/b c", false, None)),
        ("plus stays plus", b"/a+b", ok("a+b", false, None)),
        ("unicode", b"/caf%C3%A9", ok("caf\u{e9}", false, None)),
        ("lowercase hex", b"/caf%c3%a9", ok("caf\u{e9}", false, None)),
        (
            "raw utf-8",
            "/caf\u{e9}".as_bytes(),
            ok("caf\u{e9}", false, None),
        ),
        ("query", b"/d/?json", ok("d", true, Some("json"))),
        (
            "query raw, not decoded",
            b"/d?a=%20&b",
            ok("d", false, Some("a=%20&b")),
        ),
        ("empty query", b"/d?", ok("d", false, Some(""))),
        (
            "dot segments dropped",
            b"/./a/./b/.",
            ok("a/b", false, None),
        ),
        ("encoded dot dropped", b"/%2e/a", ok("a", false, None)),
        ("empty segments dropped", b"//a//b//", ok("a/b", true, None)),
        ("dots in names", b"/a..b/...", ok("a..b/...", false, None)),
        (
            "absolute-form",
            b"http://h:8080/a/b?q",
            ok("a/b", false, Some("q")),
        ),
        (
            "absolute-form https upper",
            b"HTTPS://h/x%20y/",
            ok("x y", true, None),
        ),
        ("absolute-form empty path", b"http://h", ok("", true, None)),
        (
            "absolute-form query only",
            b"http://h?json",
            ok("", true, Some("json")),
        ),
        ("traversal", b"/a/../b", Err(TargetError::Traversal)),
        ("traversal at end", b"/a/..", Err(TargetError::Traversal)),
        (
            "encoded traversal",
            b"/a/%2e%2e/b",
            Err(TargetError::Traversal),
        ),
        ("mixed traversal", b"/.%2E/etc", Err(TargetError::Traversal)),
        (
            "mixed traversal 2",
            b"/%2E./etc",
            Err(TargetError::Traversal),
        ),
        (
            "absolute-form traversal",
            b"http://h/../x",
            Err(TargetError::Traversal),
        ),
        ("encoded slash", b"/a%2Fb", Err(TargetError::EncodedSlash)),
        (
            "encoded slash lower",
            b"/a%2fb",
            Err(TargetError::EncodedSlash),
        ),
        (
            "encoded slash traversal",
            b"/..%2fetc",
            Err(TargetError::EncodedSlash),
        ),
        ("nul", b"/a%00b", Err(TargetError::NulByte)),
        ("newline", b"/a%0Ab", Err(TargetError::ControlChar)),
        ("del", b"/a%7Fb", Err(TargetError::ControlChar)),
        ("invalid utf-8", b"/%ff", Err(TargetError::NotUtf8)),
        (
            "overlong utf-8",
            b"/%c0%ae%c0%ae",
            Err(TargetError::NotUtf8),
        ),
        (
            "invalid escape",
            b"/%zz",
            Err(TargetError::InvalidPercentEncoding),
        ),
        (
            "short escape",
            b"/%4",
            Err(TargetError::InvalidPercentEncoding),
        ),
        (
            "bare percent",
            b"/a%",
            Err(TargetError::InvalidPercentEncoding),
        ),
        (
            "half hex escape",
            b"/%4g",
            Err(TargetError::InvalidPercentEncoding),
        ),
        ("backslash", b"/a\\b", Err(TargetError::Backslash)),
        (
            "encoded backslash",
            b"/..%5c..%5cetc",
            Err(TargetError::Backslash),
        ),
        ("fragment", b"/a#b", Err(TargetError::Fragment)),
        ("asterisk", b"*", Err(TargetError::Malformed)),
        ("empty", b"", Err(TargetError::Malformed)),
        ("relative", b"a/b", Err(TargetError::Malformed)),
        ("other scheme", b"ftp://h/a", Err(TargetError::Malformed)),
        ("authority-form", b"h:443", Err(TargetError::Malformed)),
        (
            "absolute-form no host",
            b"http:///a",
            Err(TargetError::Malformed),
        ),
        ("query not utf-8", b"/a?\xff", Err(TargetError::NotUtf8)),
    ];
    for (name, raw, want) in vectors {
        assert_eq!(&decode_target(raw), want, "{name}");
    }
}

#[test]
fn query_flags() {
    let t = decode_target(b"/d/?json&x=1&download=").unwrap();
    assert!(t.has_query_flag("json"));
    assert!(t.has_query_flag("x"));
    assert!(t.has_query_flag("download"));
    assert!(!t.has_query_flag("js"));
    assert!(!t.has_query_flag("1"));
    assert!(!decode_target(b"/d/").unwrap().has_query_flag("json"));
}

#[test]
fn statuses() {
    use crate::http::StatusCode;
    assert_eq!(TargetError::Traversal.status(), StatusCode::FORBIDDEN);
    assert_eq!(TargetError::EncodedSlash.status(), StatusCode::BAD_REQUEST);
}

/// Encode each byte of `segment` as `%XX` where `mask` says so, and always
/// when it is not an unreserved or safe character.
fn encode_segment(segment: &str, mask: &[bool]) -> String {
    let mut out = String::new();
    for (i, b) in segment.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if safe && !mask.get(i).copied().unwrap_or(false) {
            out.push(char::from(b));
        } else if mask.get(i).copied().unwrap_or(false) && i % 2 == 0 {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

proptest! {
    #[test]
    fn percent_encoded_segments_round_trip(
        segments in prop::collection::vec("[^/\\\\\\x00-\\x1f\\x7f]{1,12}", 1..6),
        mask in prop::collection::vec(any::<bool>(), 0..64),
        trailing in any::<bool>(),
    ) {
        // `.` and `..` are normalized / refused: not round-trip material.
        prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
        let mut raw = String::new();
        for s in &segments {
            raw.push('/');
            raw.push_str(&encode_segment(s, &mask));
        }
        if trailing {
            raw.push('/');
        }
        let t = decode_target(raw.as_bytes()).unwrap();
        prop_assert_eq!(t.path, segments.join("/"));
        prop_assert_eq!(t.trailing_slash, trailing);
        prop_assert_eq!(t.query, None);
    }

    #[test]
    fn arbitrary_targets_never_panic(raw in prop::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(t) = decode_target(&raw) {
            prop_assert!(!t.path.starts_with('/'));
            prop_assert!(!t.path.split('/').any(|s| s.is_empty() || s == "." || s == ".."));
            prop_assert!(!t.path.contains(['\0', '\\']));
        }
    }
}
