//! Percent-encoding of ROOT-relative paths into URL paths, as links and the
//! upload results' `path` field show them.
#![forbid(unsafe_code)]

/// Bytes kept as they are in a path segment: RFC 3986 unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `segment` percent-encoded (everything but unreserved bytes).
pub fn encode_segment_into(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// The URL path of a ROOT-relative path: a leading `/`, each segment
/// encoded, and a trailing `/` when `dir`.
///
/// ```
/// use ringdrop::http::encode::url_path;
/// assert_eq!(url_path("dir/a b.txt", false), "/dir/a%20b.txt");
/// assert_eq!(url_path("", true), "/");
/// assert_eq!(url_path("d", true), "/d/");
/// ```
pub fn url_path(path: &str, dir: bool) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    out.push('/');
    for (i, segment) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_segment_into(&mut out, segment);
    }
    if dir && out.len() > 1 {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(url_path("é/100%/a?b#c", false), "/%C3%A9/100%25/a%3Fb%23c");
        assert_eq!(url_path("a (1).txt", false), "/a%20%281%29.txt");
    }
}
