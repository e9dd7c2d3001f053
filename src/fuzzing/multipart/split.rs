//! The structure-aware multipart target: a body described by its parts
//! (`SplitCase`, which derives `Arbitrary`), rendered, then parsed whole,
//! byte by byte and at the case's split points; the parts must come back
//! exactly as rendered. Built only for tests and for the fuzz crate
//! (feature `arbitrary`).

use arbitrary::{Arbitrary, Unstructured};

use super::{drive_all, OwnedEvent};
use crate::multipart::{
    boundary_from_content_type, sanitize_filename, MultipartError, MultipartLimits,
    MultipartParser, PartHead,
};

/// RFC 2046 `bchars`, which boundary bytes are mapped onto.
const BCHARS: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

/// Most parts rendered; names and filenames are cut to `MAX_TEXT` chars.
const MAX_PARTS: usize = 16;
const MAX_TEXT: usize = 600;

/// One part of a [`SplitCase`].
#[derive(Debug, Arbitrary)]
pub struct SplitPart {
    /// `name=` (CR and LF are removed before rendering; other control
    /// characters are sent raw, and the parser drops them).
    pub name: String,
    /// `filename=`, if any (CR and LF removed, other controls sent raw).
    pub filename: Option<String>,
    /// `Content-Type` (kept: visible ASCII); empty → no header.
    pub content_type: Option<String>,
    /// The content; cut before any delimiter it contains.
    pub content: Vec<u8>,
}

/// A multipart body described by its parts, and the ways to split it.
#[derive(Debug, Arbitrary)]
pub struct SplitCase {
    /// Mapped onto `bchars`, 1..=70 of them.
    pub boundary: Vec<u8>,
    /// Bytes before the first delimiter (cut before any delimiter).
    pub preamble: Vec<u8>,
    /// Transport padding after each delimiter: `padding % 4` spaces/tabs.
    pub padding: u8,
    /// The parts, in order.
    pub parts: Vec<SplitPart>,
    /// Bytes after the close delimiter.
    pub epilogue: Vec<u8>,
    /// Where to cut the rendered body (taken modulo its length + 1).
    pub split_points: Vec<u16>,
    /// Also cut the body every `feed_size` bytes (0 → 1).
    pub feed_size: u8,
}

/// Fuzz entry point for raw bytes, decoded as libFuzzer's
/// `fuzz_target!(|case: SplitCase| ..)` does; the seed tests use it.
pub fn fuzz_multipart_split_bytes(data: &[u8]) {
    if let Ok(case) = SplitCase::arbitrary_take_rest(Unstructured::new(data)) {
        fuzz_multipart_split(&case);
    }
}

/// Renders `case` into a body and asserts that parsing it whole, one byte
/// at a time, at the case's split points and in `feed_size` pieces all
/// give exactly the parts that were rendered (sanitized filenames
/// included), or the same error when a filename is `.`/`..`.
pub fn fuzz_multipart_split(case: &SplitCase) {
    let boundary = boundary_bytes(&case.boundary);
    let limits = MultipartLimits {
        max_part_header_bytes: 64 * 1024,
        max_part_headers: 8,
        max_parts: MAX_PARTS,
        max_files: MAX_PARTS,
        max_preamble_bytes: 64 * 1024,
    };
    if MultipartParser::new(&boundary, limits).is_err() {
        // Only a boundary ending in a space is invalid here.
        assert_eq!(boundary.last(), Some(&b' '), "{boundary:?} rejected");
        return;
    }
    let content_type = [b"multipart/form-data; boundary=\"", &boundary[..], b"\""].concat();
    assert_eq!(
        boundary_from_content_type(&content_type),
        Ok(boundary.clone())
    );

    let (body, want) = render(case, &boundary);
    let run = |splits: &[usize]| {
        let mut parser = MultipartParser::new(&boundary, limits)
            .unwrap_or_else(|e| panic!("boundary rejected: {e}"));
        drive_all(&mut parser, &body, splits)
    };
    assert_eq!(run(&[]), want, "whole body");
    let len = body.len();
    let points: Vec<usize> = case
        .split_points
        .iter()
        .map(|&p| usize::from(p) % (len + 1))
        .collect();
    assert_eq!(run(&points), want, "split at {points:?}");
    let size = usize::from(case.feed_size.max(1));
    let pieces: Vec<usize> = (size..len).step_by(size).collect();
    assert_eq!(run(&pieces), want, "fed {size} bytes at a time");
    if len <= 2048 {
        let every: Vec<usize> = (1..len).collect();
        assert_eq!(run(&every), want, "byte at a time");
    }
}

fn boundary_bytes(raw: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = raw
        .iter()
        .take(70)
        .map(|&x| BCHARS[usize::from(x) % BCHARS.len()])
        .collect();
    if b.is_empty() {
        b.push(b'B');
    }
    b
}

/// `s` without what a header value cannot carry (CR, LF), at most
/// `MAX_TEXT` chars. Every other control character is kept: clients
/// such as Go's send them raw.
fn header_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| c != '\r' && c != '\n')
        .take(MAX_TEXT)
        .collect()
}

/// What the parser makes of a raw `name`: C0 controls other than HTAB,
/// and DEL, are dropped from a `Content-Disposition` value.
fn expected_name(raw: &str) -> String {
    raw.chars()
        .filter(|&c| !((c < ' ' && c != '\t') || c == '\u{7f}'))
        .collect()
}

/// A quoted-string whose `\` escapes `"` and `\` only.
fn quoted(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `bytes` cut before the first occurrence of `delimiter`.
fn cut_at(bytes: &[u8], delimiter: &[u8]) -> Vec<u8> {
    let end = memchr::memmem::find(bytes, delimiter).unwrap_or(bytes.len());
    bytes[..end].to_vec()
}

/// Part content cut before the first delimiter. The header block's
/// final CRLF counts as the CRLF of a delimiter (RFC 2046: a part may
/// have headers and no body), so `--boundary` right at the start of the
/// content ends the part too.
fn cut_content(content: &[u8], delimiter: &[u8]) -> Vec<u8> {
    let led = [b"\r\n", content].concat();
    let end =
        memchr::memmem::find(&led, delimiter).map_or(content.len(), |at| at.saturating_sub(2));
    content[..end].to_vec()
}

/// The body, and what the parser must return for it.
fn render(case: &SplitCase, boundary: &[u8]) -> (Vec<u8>, Result<Vec<OwnedEvent>, MultipartError>) {
    let dash = [b"--", boundary].concat();
    let delimiter = [b"\r\n", &dash[..]].concat();
    let padding: Vec<u8> = (0..case.padding % 4)
        .map(|i| if i % 2 == 0 { b' ' } else { b'\t' })
        .collect();
    let mut body = Vec::new();
    let preamble = cut_at(&case.preamble, &delimiter);
    if !preamble.is_empty() && !preamble.starts_with(&dash) {
        body.extend_from_slice(&preamble);
        body.extend_from_slice(b"\r\n");
    }
    let mut events = Vec::new();
    let mut error = None;
    for part in case.parts.iter().take(MAX_PARTS) {
        let name = header_safe(&part.name);
        let raw_filename = part.filename.as_deref().map(header_safe);
        let content_type: Option<String> = part
            .content_type
            .as_deref()
            .map(|t| {
                t.chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(MAX_TEXT)
                    .collect()
            })
            .filter(|t: &String| !t.is_empty());
        let content = cut_content(&part.content, &delimiter);

        body.extend_from_slice(&dash);
        body.extend_from_slice(&padding);
        body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=");
        quoted(&mut body, &name);
        if let Some(f) = &raw_filename {
            body.extend_from_slice(b"; filename=");
            quoted(&mut body, f);
        }
        if let Some(t) = &content_type {
            body.extend_from_slice(b"\r\nContent-Type: ");
            body.extend_from_slice(t.as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(&content);
        body.extend_from_slice(b"\r\n");

        if error.is_some() {
            continue;
        }
        let filename = match raw_filename.as_deref().map(sanitize_filename) {
            None => None,
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                error = Some(e);
                continue;
            }
        };
        events.push(OwnedEvent::PartStart(PartHead {
            name: Some(expected_name(&name)),
            filename,
            content_type,
        }));
        if !content.is_empty() {
            events.push(OwnedEvent::Data(content));
        }
        events.push(OwnedEvent::PartEnd);
    }
    body.extend_from_slice(&dash);
    body.extend_from_slice(b"--");
    body.extend_from_slice(&case.epilogue);
    events.push(OwnedEvent::End);
    (body, error.map_or(Ok(events), Err))
}
