//! A part's header block → [`PartHead`]: `Content-Disposition` (RFC 7578
//! §4.2, RFC 6266 syntax, RFC 5987 `filename*`) and `Content-Type`.

use super::error::MultipartError;
use super::filename::sanitize_filename;

/// What the server needs to know about one part, taken from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHead {
    /// The form field name (`name=`), lossy UTF-8.
    pub name: Option<String>,
    /// The file name, already sanitized by
    /// [`sanitize_filename`](super::sanitize_filename) (`filename*` wins over
    /// `filename`). `None` when the part has no filename or an empty one: the
    /// part is then a plain field and the server discards its bytes.
    pub filename: Option<String>,
    /// The part's `Content-Type` value, lossy UTF-8, as sent.
    pub content_type: Option<String>,
}

/// The parameters of a `Content-Disposition: form-data` value that we use,
/// still raw (before lossy decoding and sanitizing).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Disposition {
    pub(crate) name: Option<Vec<u8>>,
    pub(crate) filename: Option<Vec<u8>>,
    pub(crate) filename_star: Option<Vec<u8>>,
}

pub(super) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Strips optional whitespace (SP, HTAB) from both ends.
pub(super) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// A parameter value: a quoted-string in which `\` escapes only `"` and `\`
/// (what browsers and curl send; any other backslash is kept, so Windows
/// paths survive), or a token running to the next `;` (OWS trimmed).
/// Returns the value and the input after it, up to (not past) the next `;`.
fn param_value(s: &[u8]) -> Result<(Vec<u8>, &[u8]), MultipartError> {
    let Some(quoted) = s.strip_prefix(b"\"") else {
        let end = memchr::memchr(b';', s).unwrap_or(s.len());
        let (value, rest) = s.split_at(end);
        return Ok((trim_ows(value).to_vec(), rest));
    };
    let mut value = Vec::with_capacity(quoted.len().min(256));
    let mut i = 0;
    while let Some(&b) = quoted.get(i) {
        match (b, quoted.get(i + 1)) {
            (b'"', _) => {
                let rest = quoted.get(i + 1..).unwrap_or(&[]);
                // Ignore anything between the closing quote and the next ';'.
                let next = memchr::memchr(b';', rest).unwrap_or(rest.len());
                return Ok((value, rest.get(next..).unwrap_or(&[])));
            }
            (b'\\', Some(&escaped)) if escaped == b'"' || escaped == b'\\' => {
                value.push(escaped);
                i += 2;
            }
            _ => {
                value.push(b);
                i += 1;
            }
        }
    }
    Err(MultipartError::MalformedPartHeaders)
}

/// Parses a `Content-Disposition` value. The disposition type must be
/// `form-data` (case-insensitive), else `MissingContentDisposition`.
/// Parameter names are case-insensitive; the first occurrence of each wins;
/// parameters without `=` and unknown parameters are ignored.
pub(crate) fn parse_content_disposition(value: &[u8]) -> Result<Disposition, MultipartError> {
    let type_end = memchr::memchr(b';', value).unwrap_or(value.len());
    let (kind, mut params) = value.split_at(type_end);
    if !trim_ows(kind).eq_ignore_ascii_case(b"form-data") {
        return Err(MultipartError::MissingContentDisposition);
    }
    let mut d = Disposition::default();
    // Each iteration consumes at least the leading ';', so this terminates.
    while let Some(rest) = params.strip_prefix(b";") {
        let rest = trim_ows(rest);
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest.len());
        let (name, after_name) = rest.split_at(name_end);
        let Some(after_eq) = after_name.strip_prefix(b"=") else {
            params = after_name;
            continue;
        };
        let (value, after_value) = param_value(trim_ows(after_eq))?;
        params = after_value;
        let name = trim_ows(name);
        let slot = if name.eq_ignore_ascii_case(b"name") {
            &mut d.name
        } else if name.eq_ignore_ascii_case(b"filename") {
            &mut d.filename
        } else if name.eq_ignore_ascii_case(b"filename*") {
            &mut d.filename_star
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    Ok(d)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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
            let hi = hex(*encoded.get(i + 1)?)?;
            let lo = hex(*encoded.get(i + 2)?)?;
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
pub(crate) fn raw_filename(d: &Disposition) -> Result<Option<String>, MultipartError> {
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

/// Builds the [`PartHead`] from a parsed header block. The first
/// `Content-Disposition` and the first `Content-Type` count.
pub(crate) fn part_head(headers: &[httparse::Header<'_>]) -> Result<PartHead, MultipartError> {
    let mut disposition = None;
    let mut content_type = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-disposition") {
            disposition.get_or_insert(h.value);
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type.get_or_insert(h.value);
        }
    }
    let d =
        parse_content_disposition(disposition.ok_or(MultipartError::MissingContentDisposition)?)?;
    let filename = match raw_filename(&d)? {
        Some(raw) => sanitize_filename(&raw)?,
        None => None,
    };
    Ok(PartHead {
        name: d.name.map(|n| String::from_utf8_lossy(&n).into_owned()),
        filename,
        content_type: content_type.map(|v| String::from_utf8_lossy(trim_ows(v)).into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want<'a> = Result<(Option<&'a str>, Option<&'a str>), MultipartError>;

    fn head(cd: &str) -> Result<PartHead, MultipartError> {
        let headers = [httparse::Header {
            name: "Content-Disposition",
            value: cd.as_bytes(),
        }];
        part_head(&headers)
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
        let headers = [
            httparse::Header {
                name: "X-Other",
                value: b"1",
            },
            httparse::Header {
                name: "content-TYPE",
                value: b"text/plain",
            },
            httparse::Header {
                name: "CONTENT-disposition",
                value: b"form-data; name=a",
            },
            httparse::Header {
                name: "Content-Disposition",
                value: b"form-data; name=b",
            },
        ];
        let h = part_head(&headers).unwrap();
        assert_eq!(h.name.as_deref(), Some("a"));
        assert_eq!(h.content_type.as_deref(), Some("text/plain"));
        let none: [httparse::Header<'_>; 0] = [];
        assert_eq!(
            part_head(&none),
            Err(MultipartError::MissingContentDisposition)
        );
    }

    #[test]
    fn lossy_names() {
        let headers = [httparse::Header {
            name: "Content-Disposition",
            value: b"form-data; name=\"\xff\"; filename=\"a\xfe.txt\"",
        }];
        let h = part_head(&headers).unwrap();
        assert_eq!(h.name.as_deref(), Some("\u{fffd}"));
        assert_eq!(h.filename.as_deref(), Some("a\u{fffd}.txt"));
    }
}
