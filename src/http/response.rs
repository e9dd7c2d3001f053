//! Response-head encoding into a caller buffer, and JSON error bodies.
//!
//! Pure: no clock (so no `Date` header), no I/O. The caller owns the output
//! buffer and writes it to the socket.
#![forbid(unsafe_code)]

use crate::syntax::is_token;

/// An HTTP status code. Construct from the named constants, or wrap any
/// three-digit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// 100 Continue.
    pub const CONTINUE: StatusCode = StatusCode(100);
    /// 200 OK.
    pub const OK: StatusCode = StatusCode(200);
    /// 201 Created.
    pub const CREATED: StatusCode = StatusCode(201);
    /// 204 No Content.
    pub const NO_CONTENT: StatusCode = StatusCode(204);
    /// 206 Partial Content.
    pub const PARTIAL_CONTENT: StatusCode = StatusCode(206);
    /// 301 Moved Permanently.
    pub const MOVED_PERMANENTLY: StatusCode = StatusCode(301);
    /// 304 Not Modified.
    pub const NOT_MODIFIED: StatusCode = StatusCode(304);
    /// 400 Bad Request.
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// 401 Unauthorized (sent with `WWW-Authenticate`).
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    /// 403 Forbidden.
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    /// 404 Not Found.
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    /// 405 Method Not Allowed.
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    /// 408 Request Timeout.
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    /// 409 Conflict.
    pub const CONFLICT: StatusCode = StatusCode(409);
    /// 411 Length Required.
    pub const LENGTH_REQUIRED: StatusCode = StatusCode(411);
    /// 412 Precondition Failed.
    pub const PRECONDITION_FAILED: StatusCode = StatusCode(412);
    /// 413 Content Too Large.
    pub const PAYLOAD_TOO_LARGE: StatusCode = StatusCode(413);
    /// 414 URI Too Long.
    pub const URI_TOO_LONG: StatusCode = StatusCode(414);
    /// 415 Unsupported Media Type.
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    /// 416 Range Not Satisfiable.
    pub const RANGE_NOT_SATISFIABLE: StatusCode = StatusCode(416);
    /// 417 Expectation Failed.
    pub const EXPECTATION_FAILED: StatusCode = StatusCode(417);
    /// 410 Gone (an expired or terminated resumable upload).
    pub const GONE: StatusCode = StatusCode(410);
    /// 429 Too Many Requests (sent with `Retry-After`).
    pub const TOO_MANY_REQUESTS: StatusCode = StatusCode(429);
    /// 431 Request Header Fields Too Large.
    pub const REQUEST_HEADER_FIELDS_TOO_LARGE: StatusCode = StatusCode(431);
    /// 500 Internal Server Error.
    pub const INTERNAL_SERVER_ERROR: StatusCode = StatusCode(500);
    /// 501 Not Implemented.
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    /// 503 Service Unavailable.
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    /// 505 HTTP Version Not Supported.
    pub const HTTP_VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    /// 507 Insufficient Storage.
    pub const INSUFFICIENT_STORAGE: StatusCode = StatusCode(507);

    /// The reason phrase for the status line; `""` for codes this server
    /// never sends (an empty reason phrase is valid, RFC 9112 §4).
    pub fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            104 => "Upload Resumption Supported",
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            206 => "Partial Content",
            301 => "Moved Permanently",
            304 => "Not Modified",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            409 => "Conflict",
            410 => "Gone",
            411 => "Length Required",
            412 => "Precondition Failed",
            413 => "Content Too Large",
            414 => "URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Range Not Satisfiable",
            417 => "Expectation Failed",
            423 => "Locked",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            460 => "Checksum Mismatch",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            507 => "Insufficient Storage",
            _ => "",
        }
    }

    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        self.0
    }
}

/// The interim response sent before reading a body announced with
/// `Expect: 100-continue`.
pub const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A response head to encode: status line, extra headers, and the two
/// framing headers the core owns (`Content-Length`, `Connection: close`).
#[derive(Debug, Clone, Copy)]
pub struct ResponseHead<'a> {
    /// The status line's code and reason.
    pub status: StatusCode,
    /// Emitted as `Content-Length: n` when `Some`.
    pub content_length: Option<u64>,
    /// Emits `Connection: close` when true.
    pub close: bool,
    /// Extra `(name, value)` header fields, emitted in order before the
    /// framing headers. A field whose name is not a token or whose value
    /// contains CR, LF or NUL is never emitted (debug builds assert).
    pub headers: &'a [(&'a str, &'a str)],
}

impl ResponseHead<'_> {
    /// Append the encoded head, ending with the empty line, to `out`.
    ///
    /// ```
    /// use ringdrop::http::{ResponseHead, StatusCode};
    /// let mut out = Vec::new();
    /// let head = ResponseHead {
    ///     status: StatusCode::CREATED,
    ///     content_length: Some(2),
    ///     close: true,
    ///     headers: &[("Content-Type", "application/json")],
    /// };
    /// head.encode(&mut out);
    /// assert_eq!(
    ///     out,
    ///     b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
    ///       Content-Length: 2\r\nConnection: close\r\n\r\n"
    /// );
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, u64::from(self.status.as_u16()));
        out.push(b' ');
        out.extend_from_slice(self.status.reason().as_bytes());
        out.extend_from_slice(b"\r\n");
        for &(name, value) in self.headers {
            let safe = is_token(name.as_bytes()) && is_safe_value(value);
            debug_assert!(safe, "unsafe response header {name:?}: {value:?}");
            if safe {
                push_field(out, name, value);
            }
        }
        if let Some(len) = self.content_length {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, len);
            out.extend_from_slice(b"\r\n");
        }
        if self.close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A value that cannot split or end the header line it is written into.
fn is_safe_value(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// Decimal digits of `n` without allocating or formatting machinery.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `n % 10` is below 10, so the narrowing cannot lose information.
        digits[start] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Append `s` to `out` as the inside of a JSON string: `"` and `\` are
/// backslash-escaped, control characters become `\u00XX`.
///
/// ```
/// let mut out = String::new();
/// ringdrop::http::json_escape_into(&mut out, "a\"b\\c\n");
/// assert_eq!(out, r#"a\"b\\c\u000a"#);
/// ```
pub fn json_escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let b = u32::from(c);
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::try_from(b >> 4).unwrap_or(0) & 0xf]));
                out.push(char::from(HEX[usize::try_from(b & 0xf).unwrap_or(0)]));
            }
            c => out.push(c),
        }
    }
}

/// The JSON error body `{"error":"<kind>","message":"<message>"}`.
///
/// ```
/// assert_eq!(
///     ringdrop::http::error_json("not_found", "No such file."),
///     r#"{"error":"not_found","message":"No such file."}"#
/// );
/// ```
pub fn error_json(kind: &str, message: &str) -> String {
    let mut out = String::with_capacity(kind.len() + message.len() + 32);
    out.push_str("{\"error\":\"");
    json_escape_into(&mut out, kind);
    out.push_str("\",\"message\":\"");
    json_escape_into(&mut out, message);
    out.push_str("\"}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(head: &ResponseHead<'_>) -> String {
        let mut out = Vec::new();
        head.encode(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_status_headers_and_framing() {
        let head = ResponseHead {
            status: StatusCode::NOT_FOUND,
            content_length: Some(0),
            close: false,
            headers: &[("Content-Type", "text/plain"), ("X-A", "b c")],
        };
        assert_eq!(
            encode(&head),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-A: b c\r\nContent-Length: 0\r\n\r\n"
        );
        let head = ResponseHead {
            status: StatusCode::NO_CONTENT,
            content_length: None,
            close: true,
            headers: &[],
        };
        assert_eq!(
            encode(&head),
            "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn large_lengths_and_unknown_codes() {
        let head = ResponseHead {
            status: StatusCode(299),
            content_length: Some(u64::MAX),
            close: false,
            headers: &[],
        };
        assert_eq!(
            encode(&head),
            "HTTP/1.1 299 \r\nContent-Length: 18446744073709551615\r\n\r\n"
        );
    }

    // Release builds skip unsafe fields silently; debug builds assert.
    #[test]
    #[cfg(not(debug_assertions))]
    fn header_injection_is_never_emitted() {
        let head = ResponseHead {
            status: StatusCode::OK,
            content_length: None,
            close: false,
            headers: &[
                ("X-A", "a\r\nSet-Cookie: x"),
                ("Bad Name", "v"),
                ("X-B", "ok"),
            ],
        };
        assert_eq!(encode(&head), "HTTP/1.1 200 OK\r\nX-B: ok\r\n\r\n");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "unsafe response header")]
    fn header_injection_asserts_in_debug() {
        let head = ResponseHead {
            status: StatusCode::OK,
            content_length: None,
            close: false,
            headers: &[("X-A", "a\r\nSet-Cookie: x")],
        };
        encode(&head);
    }

    #[test]
    fn every_named_status_has_a_reason() {
        for code in [
            StatusCode::CONTINUE,
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::NO_CONTENT,
            StatusCode::PARTIAL_CONTENT,
            StatusCode::MOVED_PERMANENTLY,
            StatusCode::NOT_MODIFIED,
            StatusCode::BAD_REQUEST,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED,
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::CONFLICT,
            StatusCode::LENGTH_REQUIRED,
            StatusCode::PRECONDITION_FAILED,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::URI_TOO_LONG,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::RANGE_NOT_SATISFIABLE,
            StatusCode::EXPECTATION_FAILED,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::NOT_IMPLEMENTED,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            StatusCode::INSUFFICIENT_STORAGE,
        ] {
            assert!(!code.reason().is_empty(), "{code:?}");
        }
        assert_eq!(CONTINUE_RESPONSE, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn json_escaping() {
        let mut out = String::new();
        json_escape_into(&mut out, "q\"b\\s/\u{1}\t\u{1f}\u{7f}é");
        assert_eq!(out, "q\\\"b\\\\s/\\u0001\\u0009\\u001f\u{7f}é");
        assert_eq!(
            error_json("bad \"kind\"", "line\nbreak"),
            r#"{"error":"bad \"kind\"","message":"line\u000abreak"}"#
        );
    }
}
