//! A part's header block → [`PartHead`]: `Content-Disposition` (RFC 7578
//! §4.2, RFC 6266 syntax, RFC 5987 `filename*`) and `Content-Type`.
//!
//! The block is parsed here, not by httparse, because what a part header
//! may carry differs from a request head:
//!
//! * Lines end with CRLF only. A bare LF or a CR not followed by LF
//!   anywhere in the block → `MalformedPartHeaders` (400). RFC 2046 §5.1.1
//!   and RFC 7578 require CRLF, and browsers, curl, Go and Python send it;
//!   a bare LF comes from a broken client, or from a raw LF inside a
//!   filename (the HTML form encoding writes `%0A`), which no reading can
//!   keep in one piece. The request head parser refuses bare LF too.
//! * A field is `name ":" OWS value OWS` with `name` a token: whitespace
//!   before the colon, a line starting with whitespace (obs-fold), or an
//!   empty name → 400, as before.
//! * A value is any bytes but CR and LF. Raw control characters, NUL
//!   included, do not fail the part: Go's `mime/multipart` (and other
//!   clients that escape only `"` and `\`) write a control character in a
//!   filename as is, and SPEC says such characters are dropped from names.
//!   In `Content-Disposition`, C0 controls other than HTAB and DEL are
//!   removed before its parameters are read (so `form-data` or a parameter
//!   name with one inside still counts); C1 controls of a UTF-8 filename go
//!   in [`sanitize_filename`]. Other values
//!   (`Content-Type`) are kept as sent, lossy UTF-8.
//! * A NUL or other control character in a field *name* is not a token
//!   character → 400 (no client writes one).

use std::borrow::Cow;

use super::error::MultipartError;
use super::filename::sanitize_filename;
use crate::syntax::{hex_value, is_control_except_tab, is_token, split_params, trim_ows, Escapes};

/// What the server needs to know about one part, taken from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHead {
    /// The form field name (`name=`), lossy UTF-8.
    pub name: Option<String>,
    /// The file name, already sanitized by
    /// [`sanitize_filename`] (`filename*` wins over
    /// `filename`). `None` when the part has no filename or an empty one: the
    /// part is then a plain field and the server discards its bytes.
    pub filename: Option<String>,
    /// The part's `Content-Type` value, lossy UTF-8, as sent.
    pub content_type: Option<String>,
}

/// The parameters of a `Content-Disposition: form-data` value that we use,
/// still raw (before lossy decoding and sanitizing).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Disposition<'a> {
    pub(crate) name: Option<Cow<'a, [u8]>>,
    pub(crate) filename: Option<Cow<'a, [u8]>>,
    pub(crate) filename_star: Option<Cow<'a, [u8]>>,
}

/// Parses a `Content-Disposition` value. The disposition type must be
/// `form-data` (case-insensitive), else `MissingContentDisposition`.
/// Parameter names are case-insensitive; the first occurrence of each wins;
/// parameters without `=` and unknown parameters are ignored. Quoted values
/// are read as browsers and curl write them: `\` escapes only `"` and `\`
/// (any other backslash is kept, so Windows paths survive).
pub(crate) fn parse_content_disposition(value: &[u8]) -> Result<Disposition<'_>, MultipartError> {
    let (kind, params) = split_params(value, Escapes::QuoteAndBackslash);
    if !kind.eq_ignore_ascii_case(b"form-data") {
        return Err(MultipartError::MissingContentDisposition);
    }
    let mut d = Disposition::default();
    for param in params {
        let param = param.map_err(|_| MultipartError::MalformedPartHeaders)?;
        let Some(value) = param.value else {
            continue;
        };
        let slot = if param.is("name") {
            &mut d.name
        } else if param.is("filename") {
            &mut d.filename
        } else if param.is("filename*") {
            &mut d.filename_star
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(value.unescape());
        }
    }
    Ok(d)
}

/// Decodes an RFC 5987 `ext-value`: `charset'[language]'pct-encoded`, with
/// charset `UTF-8` or `ISO-8859-1` (case-insensitive). `None` when invalid
/// (other charset, missing quotes, bad `%XX`, invalid UTF-8).
pub(crate) fn decode_ext_value(v: &[u8]) -> Option<String> {
    let q1 = memchr::memchr(b'\'', v)?;
    let (charset, rest) = v.split_at(q1);
    let rest = rest.get(1..)?;
    let q2 = memchr::memchr(b'\'', rest)?;
    let encoded = rest.get(q2 + 1..)?;
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while let Some(&b) = encoded.get(i) {
        if b == b'%' {
            let hi = hex_value(*encoded.get(i + 1)?)?;
            let lo = hex_value(*encoded.get(i + 2)?)?;
            bytes.push((hi << 4) | lo);
            i += 3;
        } else {
            bytes.push(b);
            i += 1;
        }
    }
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(bytes.iter().map(|&b| char::from(b)).collect())
    } else {
        None
    }
}

/// The raw (unsanitized) filename a disposition carries: `filename*` when it
/// decodes, else `filename`. `Err(InvalidFilename)` when `filename*` is
/// invalid and there is no `filename`.
pub(crate) fn raw_filename(d: &Disposition<'_>) -> Result<Option<String>, MultipartError> {
    if let Some(star) = &d.filename_star {
        if let Some(decoded) = decode_ext_value(star) {
            return Ok(Some(decoded));
        }
        if d.filename.is_none() {
            return Err(MultipartError::InvalidFilename);
        }
    }
    Ok(d.filename
        .as_deref()
        .map(|f| String::from_utf8_lossy(f).into_owned()))
}

/// Builds the [`PartHead`] from a complete part header block: `block`
/// ends with its empty line (it is `\r\n` alone for a part without
/// headers). At most `max_headers` fields (over it: `TooManyPartHeaders`,
/// 431). The first `Content-Disposition` and the first `Content-Type`
/// count. See the module docs for the syntax accepted.
pub(crate) fn parse_part_head(
    block: &[u8],
    max_headers: usize,
) -> Result<PartHead, MultipartError> {
    let mut disposition = None;
    let mut content_type = None;
    let mut fields = 0usize;
    let mut rest = block;
    loop {
        let (line, after) = split_line(rest)?;
        rest = after;
        if line.is_empty() {
            break;
        }
        fields = fields.saturating_add(1);
        if fields > max_headers {
            return Err(MultipartError::TooManyPartHeaders { limit: max_headers });
        }
        let (name, value) = split_field(line)?;
        if name.eq_ignore_ascii_case(b"content-disposition") {
            disposition.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"content-type") {
            content_type.get_or_insert(value);
        }
    }
    let disposition =
        without_controls(disposition.ok_or(MultipartError::MissingContentDisposition)?);
    let d = parse_content_disposition(&disposition)?;
    let filename = match raw_filename(&d)? {
        Some(raw) => sanitize_filename(&raw)?,
        None => None,
    };
    Ok(PartHead {
        name: d.name.map(|n| String::from_utf8_lossy(&n).into_owned()),
        filename,
        content_type: content_type.map(|v| String::from_utf8_lossy(v).into_owned()),
    })
}

/// The line at the front of `block` (without its CRLF) and the bytes after
/// it. Any other CR or LF is an error, as is a block without a final CRLF.
fn split_line(block: &[u8]) -> Result<(&[u8], &[u8]), MultipartError> {
    let at = memchr::memchr2(b'\r', b'\n', block).ok_or(MultipartError::MalformedPartHeaders)?;
    match block.get(at..at + 2) {
        Some(b"\r\n") => Ok((
            block.get(..at).unwrap_or_default(),
            block.get(at + 2..).unwrap_or_default(),
        )),
        _ => Err(MultipartError::MalformedPartHeaders),
    }
}

/// `name ":" OWS value OWS` → (name, value); the name must be a token.
fn split_field(line: &[u8]) -> Result<(&[u8], &[u8]), MultipartError> {
    let colon = memchr::memchr(b':', line).ok_or(MultipartError::MalformedPartHeaders)?;
    let (name, value) = line.split_at(colon);
    if !is_token(name) {
        return Err(MultipartError::MalformedPartHeaders);
    }
    Ok((name, trim_ows(value.get(1..).unwrap_or_default())))
}

/// `value` without C0 controls other than HTAB, and DEL (what is dropped
/// from a `Content-Disposition` before it is parsed); borrowed when it has
/// none.
fn without_controls(value: &[u8]) -> Cow<'_, [u8]> {
    if value.iter().any(|&b| is_control_except_tab(b)) {
        Cow::Owned(
            value
                .iter()
                .copied()
                .filter(|&b| !is_control_except_tab(b))
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want<'a> = Result<(Option<&'a str>, Option<&'a str>), MultipartError>;

    fn head(cd: &str) -> Result<PartHead, MultipartError> {
        parse_part_head(format!("Content-Disposition: {cd}\r\n\r\n").as_bytes(), 16)
    }

    #[test]
    fn content_disposition_table() {
        use MultipartError::*;
        let cases: &[(&str, Want)] = &[
            ("form-data; name=\"a\"", Ok((Some("a"), None))),
            ("form-data; name=a", Ok((Some("a"), None))),
            (
                "Form-Data; NAME=\"a\"; FileName=\"b.txt\"",
                Ok((Some("a"), Some("b.txt"))),
            ),
            (
                "form-data;name=\"a\";filename=\"b.txt\"",
                Ok((Some("a"), Some("b.txt"))),
            ),
            (
                "form-data ; name = \"a\" ; filename = b.txt ",
                Ok((Some("a"), Some("b.txt"))),
            ),
            (
                "form-data; name=\"f\"; filename=\"\"",
                Ok((Some("f"), None)),
            ),
            (
                "form-data; name=\"a;b\"; filename=\"c;d.txt\"",
                Ok((Some("a;b"), Some("c;d.txt"))),
            ),
            (
                "form-data; name=\"q\\\"x\"; filename=\"q\\\"x.txt\"",
                Ok((Some("q\"x"), Some("q\"x.txt"))),
            ),
            (
                "form-data; filename=\"a\\\\b.txt\"",
                Ok((None, Some("b.txt"))),
            ),
            (
                "form-data; name=\"f\"; filename=\"C:\\fakepath\\x.txt\"",
                Ok((Some("f"), Some("x.txt"))),
            ),
            (
                "form-data; filename=\"C:\\\\fakepath\\\\y.txt\"",
                Ok((None, Some("y.txt"))),
            ),
            (
                "form-data; filename=\"../../etc/passwd\"",
                Ok((None, Some("passwd"))),
            ),
            (
                "form-data; filename=\"日本語.pdf\"",
                Ok((None, Some("日本語.pdf"))),
            ),
            (
                "form-data; filename*=UTF-8''%e2%82%ac%20rates.txt",
                Ok((None, Some("€ rates.txt"))),
            ),
            (
                "form-data; filename=\"fallback.txt\"; filename*=utf-8'en'%e2%82%ac.txt",
                Ok((None, Some("€.txt"))),
            ),
            (
                "form-data; filename*=UTF-8''%e2%82%ac.txt; filename=\"fallback.txt\"",
                Ok((None, Some("€.txt"))),
            ),
            (
                "form-data; filename*=ISO-8859-1''caf%E9.txt",
                Ok((None, Some("café.txt"))),
            ),
            (
                "form-data; filename*=UTF-8''a%2Fb%2F..%2Fc.txt",
                Ok((None, Some("c.txt"))),
            ),
            (
                "form-data; filename*=KOI8-R''x.txt; filename=\"fb.txt\"",
                Ok((None, Some("fb.txt"))),
            ),
            (
                "form-data; filename*=UTF-8''%zz; filename=\"fb.txt\"",
                Ok((None, Some("fb.txt"))),
            ),
            (
                "form-data; filename*=UTF-8''%ff; filename=\"fb.txt\"",
                Ok((None, Some("fb.txt"))),
            ),
            ("form-data; filename*=UTF-8''%e2%82", Err(InvalidFilename)),
            ("form-data; filename*=noquotes", Err(InvalidFilename)),
            ("form-data; filename=\"..\"", Err(InvalidFilename)),
            ("form-data; filename=\"a/.\"", Err(InvalidFilename)),
            ("form-data; name=\"a\"; name=\"b\"", Ok((Some("a"), None))),
            ("form-data; flag; name=x", Ok((Some("x"), None))),
            (
                "form-data; other=\"z\\\"; name=y\"; name=n",
                Ok((Some("n"), None)),
            ),
            ("form-data", Ok((None, None))),
            ("form-data; name=\"unterminated", Err(MalformedPartHeaders)),
            ("attachment; filename=\"x\"", Err(MissingContentDisposition)),
            ("inline", Err(MissingContentDisposition)),
            ("", Err(MissingContentDisposition)),
            ("form-datax; name=a", Err(MissingContentDisposition)),
        ];
        for (cd, want) in cases {
            let got = head(cd).map(|h| (h.name, h.filename));
            let want = want.map(|(n, f)| (n.map(str::to_owned), f.map(str::to_owned)));
            assert_eq!(got, want, "{cd:?}");
        }
    }

    #[test]
    fn headers_are_found_case_insensitively() {
        let block = b"X-Other: 1\r\ncontent-TYPE:  text/plain \t\r\nCONTENT-disposition: form-data; name=a\r\n\
                      Content-Disposition: form-data; name=b\r\n\r\n";
        let h = parse_part_head(block, 16).unwrap();
        assert_eq!(h.name.as_deref(), Some("a"));
        assert_eq!(h.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            parse_part_head(b"\r\n", 16),
            Err(MultipartError::MissingContentDisposition)
        );
    }

    #[test]
    fn lossy_names() {
        let h = parse_part_head(
            b"Content-Disposition: form-data; name=\"\xff\"; filename=\"a\xfe.txt\"\r\n\r\n",
            16,
        )
        .unwrap();
        assert_eq!(h.name.as_deref(), Some("\u{fffd}"));
        assert_eq!(h.filename.as_deref(), Some("a\u{fffd}.txt"));
    }

    /// Block-level syntax: line endings, field names, the header count.
    #[test]
    fn block_syntax_table() {
        use MultipartError::*;
        let cd = "Content-Disposition: form-data; name=\"a\"";
        type Case = (
            &'static str,
            String,
            Result<Option<&'static str>, MultipartError>,
        );
        let cases: Vec<Case> = vec![
            ("one field", format!("{cd}\r\n\r\n"), Ok(Some("a"))),
            (
                "no space after colon",
                "Content-Disposition:form-data;name=a\r\n\r\n".into(),
                Ok(Some("a")),
            ),
            (
                "empty value of another field",
                format!("X-Empty:\r\n{cd}\r\n\r\n"),
                Ok(Some("a")),
            ),
            (
                "at the header count",
                format!("X-A: 1\r\n{cd}\r\n\r\n"),
                Ok(Some("a")),
            ),
            (
                "one over the header count",
                format!("X-A: 1\r\nX-B: 2\r\n{cd}\r\n\r\n"),
                Err(TooManyPartHeaders { limit: 2 }),
            ),
            (
                "NUL in a value",
                format!("X-A: \0\r\n{cd}\r\n\r\n"),
                Ok(Some("a")),
            ),
            (
                "bare LF ending a line",
                format!("X-A: 1\n{cd}\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "bare LF ending the block",
                format!("{cd}\r\n\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "bare CR",
                format!("X-A: 1\r2\r\n{cd}\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "no final line end",
                cd.to_owned(),
                Err(MalformedPartHeaders),
            ),
            (
                "no colon",
                format!("X-A\r\n{cd}\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "empty name",
                format!(": 1\r\n{cd}\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "space before colon",
                format!("X-A : 1\r\n{cd}\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "obs-fold",
                format!("{cd}\r\n folded\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
            (
                "control in a name",
                format!("X-\u{1}: 1\r\n{cd}\r\n\r\n"),
                Err(MalformedPartHeaders),
            ),
        ];
        for (name, block, want) in cases {
            let got = parse_part_head(block.as_bytes(), 2).map(|h| h.name);
            assert_eq!(got, want.map(|n| n.map(str::to_owned)), "{name}");
        }
    }

    /// Raw control characters in `Content-Disposition` never fail the part
    /// (HTAB is whitespace there, not a control: it is kept, and dropped
    /// from a filename by `sanitize_filename`).
    #[test]
    fn controls_in_the_disposition_are_dropped() {
        for b in (0u8..0x20)
            .chain([0x7f])
            .filter(|&b| !b"\t\r\n".contains(&b))
        {
            let c = char::from(b);
            let block = format!(
                "Content-Disposition: form{c}-data; name=\"f{c}\"; filename=\"a{c}b.txt\"\r\n\r\n"
            );
            let h = parse_part_head(block.as_bytes(), 16).unwrap_or_else(|e| panic!("{b:#x}: {e}"));
            assert_eq!(h.name.as_deref(), Some("f"), "{b:#x}");
            assert_eq!(h.filename.as_deref(), Some("ab.txt"), "{b:#x}");
        }
        let h = parse_part_head(
            b"Content-Disposition: form-data; name=\"f\t\"; filename=\"a\tb.txt\"\r\n\r\n",
            16,
        )
        .unwrap();
        assert_eq!(h.name.as_deref(), Some("f\t"));
        assert_eq!(h.filename.as_deref(), Some("ab.txt"));
    }
}
