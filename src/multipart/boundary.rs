//! The boundary: taken from the request's `Content-Type`, checked against
//! RFC 2046 §5.1.1, and turned into the delimiter the scanner searches for.

use super::error::MultipartError;
use crate::syntax::{split_params, Escapes};

/// RFC 2046 §5.1.1: a boundary is 1 to 70 characters. Longer → 400.
pub const MAX_BOUNDARY_BYTES: usize = 70;

/// The media type this module parses (compared ASCII case-insensitively).
const FORM_DATA: &[u8] = b"multipart/form-data";

/// RFC 2046 `bchars`: `bcharsnospace / " "`.
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'\''
                | b'('
                | b')'
                | b'+'
                | b'_'
                | b','
                | b'-'
                | b'.'
                | b'/'
                | b':'
                | b'='
                | b'?'
                | b' '
        )
}

/// Checks a boundary against RFC 2046: 1..=70 `bchars`, not ending in a space.
///
/// ```
/// use ringdrop::multipart::validate_boundary;
/// assert!(validate_boundary(b"----WebKitFormBoundary7MA4YWxkTrZu0gW").is_ok());
/// assert!(validate_boundary(b"ends in space ").is_err());
/// assert!(validate_boundary(b"").is_err());
/// ```
pub fn validate_boundary(boundary: &[u8]) -> Result<(), MultipartError> {
    let valid = !boundary.is_empty()
        && boundary.len() <= MAX_BOUNDARY_BYTES
        && boundary.iter().all(|&b| is_bchar(b))
        && boundary.last() != Some(&b' ');
    if valid {
        Ok(())
    } else {
        Err(MultipartError::InvalidBoundary)
    }
}

/// From a `Content-Type` header value such as
/// `multipart/form-data; boundary=----abc` (type and parameter names are
/// case-insensitive, the boundary may be a quoted-string), the boundary.
///
/// Not `multipart/form-data` → [`MultipartError::UnsupportedMediaType`] (415);
/// no boundary, or one that is not 1..=70 RFC 2046 `bchars` not ending in a
/// space → [`MultipartError::InvalidBoundary`] (400). When `boundary` is
/// repeated, the first one counts.
///
/// ```
/// use ringdrop::multipart::{boundary_from_content_type, MultipartError};
/// assert_eq!(
///     boundary_from_content_type(b"Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b\"").unwrap(),
///     b"a b".to_vec()
/// );
/// assert_eq!(
///     boundary_from_content_type(b"text/plain"),
///     Err(MultipartError::UnsupportedMediaType)
/// );
/// ```
pub fn boundary_from_content_type(value: &[u8]) -> Result<Vec<u8>, MultipartError> {
    // A header field: RFC 9110 quoted-pair (`\` escapes any character).
    let (media_type, params) = split_params(value, Escapes::QuotedPair);
    if !media_type.eq_ignore_ascii_case(FORM_DATA) {
        return Err(MultipartError::UnsupportedMediaType);
    }
    for param in params {
        let param = param.map_err(|_| MultipartError::InvalidBoundary)?;
        match param.value {
            Some(value) if param.is("boundary") => {
                let value = value.unescape();
                validate_boundary(&value)?;
                return Ok(value.into_owned());
            }
            // Other parameters, and parameters without a value, are skipped.
            Some(_) | None => {}
        }
    }
    Err(MultipartError::InvalidBoundary)
}

/// `\r\n--` + boundary: what ends a part's content.
pub(crate) fn delimiter(boundary: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(boundary.len() + 4);
    d.extend_from_slice(b"\r\n--");
    d.extend_from_slice(boundary);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use MultipartError::{InvalidBoundary as IB, UnsupportedMediaType as UMT};

    #[test]
    fn content_type_table() {
        let b70 = "a".repeat(70);
        let b71 = "a".repeat(71);
        let ok70 = format!("multipart/form-data; boundary={b70}");
        let bad71 = format!("multipart/form-data; boundary={b71}");
        let cases: &[(&str, Result<&str, MultipartError>)] = &[
            ("multipart/form-data; boundary=abc", Ok("abc")),
            ("multipart/form-data;boundary=abc", Ok("abc")),
            ("MULTIPART/FORM-DATA; BoUnDaRy=abc", Ok("abc")),
            ("  multipart/form-data  ;  boundary=abc  ", Ok("abc")),
            ("multipart/form-data; boundary=\"a b:c\"", Ok("a b:c")),
            ("multipart/form-data; boundary=\"a\\\"\"", Err(IB)),
            ("multipart/form-data; boundary=\"a\\bc\"", Ok("abc")),
            ("multipart/form-data; charset=\"x;y\"; boundary=z", Ok("z")),
            ("multipart/form-data; flag; boundary=z", Ok("z")),
            ("multipart/form-data; boundary=z; boundary=y", Ok("z")),
            (
                "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                Ok("----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            ),
            (
                "multipart/form-data; boundary='()+_,-./:=?",
                Ok("'()+_,-./:=?"),
            ),
            (&ok70, Ok(&b70)),
            (&bad71, Err(IB)),
            ("multipart/form-data", Err(IB)),
            ("multipart/form-data;", Err(IB)),
            ("multipart/form-data; boundary=", Err(IB)),
            ("multipart/form-data; boundary=\"\"", Err(IB)),
            ("multipart/form-data; boundary=\"abc", Err(IB)),
            ("multipart/form-data; boundary=\"ab \"", Err(IB)),
            ("multipart/form-data; boundary=a\"b", Err(IB)),
            ("multipart/form-data; boundary=a\tb", Err(IB)),
            ("multipart/form-data; boundary=é", Err(IB)),
            ("multipart/mixed; boundary=abc", Err(UMT)),
            ("text/plain", Err(UMT)),
            ("", Err(UMT)),
            ("multipart/form-datax; boundary=abc", Err(UMT)),
        ];
        for (input, want) in cases {
            let got = boundary_from_content_type(input.as_bytes());
            let want = want.map(|s| s.as_bytes().to_vec());
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn bchar_table_matches_rfc_list() {
        let rfc = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
        for b in 0..=255u8 {
            assert_eq!(is_bchar(b), rfc.contains(&b), "byte {b}");
        }
    }
}
