//! Request-target → percent-decoded, normalized, root-relative path.
//!
//! Pure string work; whether the path exists or is a symlink leaving the
//! root is the storage layer's job. Decoding is done per segment, after
//! splitting on the raw `/`, so `%2F` can never create a separator and a
//! `..` can never hide behind an escape.
#![forbid(unsafe_code)]

use super::error::TargetError;
use crate::syntax::hex_value;

/// A decoded request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPath {
    /// Percent-decoded, normalized, root-relative: no leading `/`, segments
    /// joined by `/`, `""` for the root. `.` and empty segments are dropped.
    pub path: String,
    /// The raw path ended with `/` (true for `/`).
    pub trailing_slash: bool,
    /// The raw query string after `?`, not decoded.
    pub query: Option<String>,
}

impl TargetPath {
    /// True if the query has a parameter named `key`, with or without a
    /// value: `?json`, `?json&x=1`, `?x=1&json=`.
    ///
    /// ```
    /// let t = ringdrop::http::decode_target(b"/d/?x=1&json").unwrap();
    /// assert!(t.has_query_flag("json"));
    /// assert!(!t.has_query_flag("download"));
    /// ```
    pub fn has_query_flag(&self, key: &str) -> bool {
        let Some(query) = &self.query else {
            return false;
        };
        query
            .split('&')
            .any(|param| param.split('=').next() == Some(key))
    }
}

/// Decode a raw request-target (origin-form `/a/b%20c?q` or absolute-form
/// `http://host/a?q`).
///
/// ```
/// use ringdrop::http::{decode_target, TargetError};
/// let t = decode_target(b"/dir/caf%C3%A9/?json").unwrap();
/// assert_eq!(t.path, "dir/café");
/// assert!(t.trailing_slash);
/// assert_eq!(t.query.as_deref(), Some("json"));
/// assert_eq!(decode_target(b"/a/%2e%2e/b"), Err(TargetError::Traversal));
/// ```
pub fn decode_target(raw: &[u8]) -> Result<TargetPath, TargetError> {
    if memchr::memchr(b'#', raw).is_some() {
        return Err(TargetError::Fragment);
    }
    let path_and_query = strip_absolute_form(raw)?;
    let (raw_path, raw_query) = match memchr::memchr(b'?', path_and_query) {
        Some(q) => (
            path_and_query.get(..q).unwrap_or_default(),
            path_and_query.get(q + 1..),
        ),
        None => (path_and_query, None),
    };
    let raw_path = if raw_path.is_empty() { b"/" } else { raw_path };
    if raw_path.first() != Some(&b'/') {
        return Err(TargetError::Malformed);
    }
    let query = raw_query
        .map(|q| String::from_utf8(q.to_vec()).map_err(|_| TargetError::NotUtf8))
        .transpose()?;
    Ok(TargetPath {
        path: decode_path(raw_path)?,
        trailing_slash: raw_path.last() == Some(&b'/'),
        query,
    })
}

/// Origin-form passes through; absolute-form (`http://` or `https://`,
/// RFC 9112 §3.2.2) loses its scheme and authority. The remainder starts
/// with `/` or `?`, or is empty (meaning `/`).
fn strip_absolute_form(raw: &[u8]) -> Result<&[u8], TargetError> {
    if raw.first() == Some(&b'/') {
        return Ok(raw);
    }
    let after_scheme = strip_prefix_ignore_case(raw, b"http://")
        .or_else(|| strip_prefix_ignore_case(raw, b"https://"))
        .ok_or(TargetError::Malformed)?;
    let authority_end = after_scheme
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(after_scheme.len());
    if authority_end == 0 {
        return Err(TargetError::Malformed);
    }
    Ok(after_scheme.get(authority_end..).unwrap_or_default())
}

fn strip_prefix_ignore_case<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Split on raw `/`, decode and check each segment, drop `.` and empty ones.
fn decode_path(raw_path: &[u8]) -> Result<String, TargetError> {
    let mut path = String::with_capacity(raw_path.len());
    let mut segment = Vec::with_capacity(raw_path.len());
    for raw_segment in raw_path.split(|&b| b == b'/') {
        segment.clear();
        percent_decode_into(&mut segment, raw_segment)?;
        check_segment_bytes(&segment)?;
        match segment.as_slice() {
            b"" | b"." => continue,
            b".." => return Err(TargetError::Traversal),
            _ => {}
        }
        let text = core::str::from_utf8(&segment).map_err(|_| TargetError::NotUtf8)?;
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(text);
    }
    Ok(path)
}

/// Bytes a decoded segment must not contain, checked before `..` so the
/// error is the same whichever way a byte was written.
fn check_segment_bytes(segment: &[u8]) -> Result<(), TargetError> {
    for &b in segment {
        match b {
            0 => return Err(TargetError::NulByte),
            b'/' => return Err(TargetError::EncodedSlash),
            b'\\' => return Err(TargetError::Backslash),
            b if b < 0x20 || b == 0x7f => return Err(TargetError::ControlChar),
            _ => {}
        }
    }
    Ok(())
}

/// Decode `%XX` escapes (RFC 3986 §2.1); a `%` without two hex digits is an
/// error. `+` is not a space in a path.
fn percent_decode_into(out: &mut Vec<u8>, raw: &[u8]) -> Result<(), TargetError> {
    let mut rest = raw;
    while let Some(pct) = memchr::memchr(b'%', rest) {
        out.extend_from_slice(rest.get(..pct).unwrap_or_default());
        let (hi, lo) = match rest.get(pct + 1..pct + 3) {
            Some(&[hi, lo]) => (hex_value(hi), hex_value(lo)),
            _ => (None, None),
        };
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(TargetError::InvalidPercentEncoding);
        };
        out.push(hi << 4 | lo);
        rest = rest.get(pct + 3..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Ok(())
}

#[cfg(test)]
mod tests;
