//! Fuzz entry point for request-target decoding ([`decode_target`]).

use crate::http::{decode_target, TargetPath};

/// Fuzz entry point for [`decode_target`]: never panics; a decoded path is
/// root-relative (no leading `/`), has no empty, `.` or `..` segment, and no
/// NUL, control character or backslash; percent-encoding it again and
/// decoding gives the same path.
pub fn fuzz_target_path(data: &[u8]) {
    let decoded = match decode_target(data) {
        Ok(decoded) => decoded,
        Err(e) => {
            assert!((400..500).contains(&e.status().as_u16()), "{e:?}");
            return;
        }
    };
    check_target(&decoded);
    let mut again = Vec::with_capacity(decoded.path.len() * 3 + 1);
    again.push(b'/');
    for &b in decoded.path.as_bytes() {
        if b == b'/' || b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            again.push(b);
        } else {
            again.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    match decode_target(&again) {
        Ok(t) => assert_eq!(t.path, decoded.path, "re-encoded path decodes differently"),
        Err(e) => panic!("re-encoded path {again:?} rejected: {e:?}"),
    }
}

/// The decoded-path invariants of [`fuzz_target_path`].
pub(super) fn check_target(t: &TargetPath) {
    let path = &t.path;
    assert!(!path.starts_with('/'), "leading slash: {path:?}");
    if path.is_empty() {
        return;
    }
    for segment in path.split('/') {
        assert!(
            !matches!(segment, "" | "." | ".."),
            "bad segment {segment:?} in {path:?}"
        );
    }
    assert!(
        !path.chars().any(|c| c == '\\' || c.is_ascii_control()),
        "NUL, control char or backslash in {path:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::replay;

    #[test]
    fn target_path_seeds() {
        replay(
            "target_path",
            fuzz_target_path,
            &[
                b"",
                b"/",
                b"/%2e%2e/x",
                b"/a/%2F/b",
                b"/a%00b",
                b"http://h",
                b"HTTPS://h/a/./b//c/?q#f",
                b"/%C3%A9/%ff",
            ],
        );
    }
}
