//! Response framing rules (RFC 9110 §6.4.1, §8.6, §9.3.2; RFC 9112 §9.3,
//! §9.6): for one response, whether body bytes follow the head, whether a
//! `Content-Length` is sent, and whether the connection closes after it.
//!
//! Pure: the caller says what it knows about the request and the answer;
//! nothing here reads a socket or a clock. The rules, each a line of
//! [`response_framing`]:
//!
//! * 1xx, 204 and 304 have no body and no `Content-Length` (RFC 9110 §8.6
//!   forbids it for 1xx and 204; for 304 it could only repeat the GET's
//!   length, and ringdrop never sends it);
//! * a HEAD response has no body but the `Content-Length` the GET would
//!   have had (RFC 9110 §9.3.2), error responses included;
//! * every other response sends its body and its length;
//! * the connection closes after the response when the client asked
//!   (`Connection: close`), for every HTTP/1.0 request (ringdrop does no
//!   HTTP/1.0 keep-alive: a documented choice), after 408 and 503 (the
//!   server gives up on the connection), when the request body was not
//!   read to its end (its remaining bytes cannot be told from the next
//!   request), and when the server is shutting down. A 1xx response is
//!   interim: the final response decides.
#![forbid(unsafe_code)]

use super::head::{Method, Version};
use super::response::{ResponseHead, StatusCode};

/// What the server knows about the request when it answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseContext {
    /// The request method: a HEAD response carries no body.
    pub method: Method,
    /// The request's version: an HTTP/1.0 connection closes after one
    /// response.
    pub version: Version,
    /// The client's wish to keep the connection
    /// ([`RequestInfo::keep_alive`](super::RequestInfo::keep_alive)).
    pub keep_alive: bool,
    /// The request body was not read to its end when the response is sent
    /// (an error, or an answer before the body): the connection cannot be
    /// reused, since where the next request starts is unknown.
    pub body_unread: bool,
    /// The server is shutting down: this is the connection's last response.
    pub draining: bool,
}

impl ResponseContext {
    /// The context of a response to a head that could not be parsed (or
    /// whose framing is unknown): no method or version to go by, and a body
    /// of unknown length may follow, so the connection closes.
    ///
    /// ```
    /// use ringdrop::http::{response_framing, ResponseContext, StatusCode};
    /// let f = response_framing(&ResponseContext::unparsed(), StatusCode::BAD_REQUEST, 10);
    /// assert!(f.close && f.send_body);
    /// ```
    pub fn unparsed() -> Self {
        ResponseContext {
            method: Method::Other,
            version: Version::Http11,
            keep_alive: false,
            body_unread: true,
            draining: false,
        }
    }
}

/// How one response is framed: see the module docs for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFraming {
    /// The `Content-Length` to send, if any.
    pub content_length: Option<u64>,
    /// Whether the body's bytes follow the head.
    pub send_body: bool,
    /// Whether the head says `Connection: close` and the connection closes
    /// once the response is sent.
    pub close: bool,
}

impl ResponseFraming {
    /// The response head with this framing.
    ///
    /// ```
    /// use ringdrop::http::{response_framing, Method, ResponseContext, StatusCode, Version};
    /// let request = ResponseContext {
    ///     method: Method::Get,
    ///     version: Version::Http10,
    ///     keep_alive: false,
    ///     body_unread: false,
    ///     draining: false,
    /// };
    /// let mut out = Vec::new();
    /// response_framing(&request, StatusCode::OK, 2).head(StatusCode::OK, &[]).encode(&mut out);
    /// assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
    /// ```
    pub fn head<'a>(
        &self,
        status: StatusCode,
        headers: &'a [(&'a str, &'a str)],
    ) -> ResponseHead<'a> {
        ResponseHead {
            status,
            content_length: self.content_length,
            close: self.close,
            headers,
        }
    }
}

/// The framing of a response with `status` to `request`, whose body is
/// (or, for a HEAD, would be) `body_len` bytes long.
///
/// ```
/// use ringdrop::http::{response_framing, Method, ResponseContext, ResponseFraming, StatusCode, Version};
/// let head = ResponseContext {
///     method: Method::Head,
///     version: Version::Http11,
///     keep_alive: true,
///     body_unread: false,
///     draining: false,
/// };
/// assert_eq!(
///     response_framing(&head, StatusCode::OK, 1234),
///     ResponseFraming { content_length: Some(1234), send_body: false, close: false }
/// );
/// assert_eq!(
///     response_framing(&head, StatusCode::NOT_MODIFIED, 1234),
///     ResponseFraming { content_length: None, send_body: false, close: false }
/// );
/// ```
pub fn response_framing(
    request: &ResponseContext,
    status: StatusCode,
    body_len: u64,
) -> ResponseFraming {
    let code = status.as_u16();
    let interim = (100..200).contains(&code);
    let bodiless_status =
        interim || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    ResponseFraming {
        content_length: (!bodiless_status).then_some(body_len),
        send_body: !bodiless_status && request.method != Method::Head,
        close: !interim && must_close(request, status),
    }
}

/// Whether the connection closes after a final response with `status`.
fn must_close(request: &ResponseContext, status: StatusCode) -> bool {
    !request.keep_alive
        || request.version == Version::Http10
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::SERVICE_UNAVAILABLE
        || request.body_unread
        || request.draining
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ctx(method: Method, version: Version, keep_alive: bool) -> ResponseContext {
        ResponseContext {
            method,
            version,
            keep_alive,
            body_unread: false,
            draining: false,
        }
    }

    const GET11: ResponseContext = ctx(Method::Get, Version::Http11, true);
    const HEAD11: ResponseContext = ctx(Method::Head, Version::Http11, true);
    const PUT11: ResponseContext = ctx(Method::Put, Version::Http11, true);

    const fn f(content_length: Option<u64>, send_body: bool, close: bool) -> ResponseFraming {
        ResponseFraming {
            content_length,
            send_body,
            close,
        }
    }

    /// `(name, request, status, body length, framing)`.
    type Vector = (&'static str, ResponseContext, u16, u64, ResponseFraming);

    const VECTORS: &[Vector] = &[
        ("GET 200", GET11, 200, 5, f(Some(5), true, false)),
        ("GET 200 empty", GET11, 200, 0, f(Some(0), true, false)),
        ("GET 206", GET11, 206, 3, f(Some(3), true, false)),
        ("GET 301", GET11, 301, 0, f(Some(0), true, false)),
        ("GET 304", GET11, 304, 99, f(None, false, false)),
        (
            "GET 404 error body",
            GET11,
            404,
            60,
            f(Some(60), true, false),
        ),
        ("GET 416", GET11, 416, 70, f(Some(70), true, false)),
        (
            "HEAD 200: the GET's length",
            HEAD11,
            200,
            1234,
            f(Some(1234), false, false),
        ),
        ("HEAD 206", HEAD11, 206, 10, f(Some(10), false, false)),
        ("HEAD 304", HEAD11, 304, 1234, f(None, false, false)),
        ("HEAD 404 error", HEAD11, 404, 60, f(Some(60), false, false)),
        ("PUT 201", PUT11, 201, 40, f(Some(40), true, false)),
        (
            "DELETE 204",
            ctx(Method::Delete, Version::Http11, true),
            204,
            0,
            f(None, false, false),
        ),
        (
            "OPTIONS 204",
            ctx(Method::Options, Version::Http11, true),
            204,
            0,
            f(None, false, false),
        ),
        (
            "100 Continue is interim",
            PUT11,
            100,
            0,
            f(None, false, false),
        ),
        (
            "1xx never closes",
            ctx(Method::Put, Version::Http10, false),
            100,
            0,
            f(None, false, false),
        ),
        ("408 closes", GET11, 408, 50, f(Some(50), true, true)),
        ("503 closes", GET11, 503, 50, f(Some(50), true, true)),
        (
            "HEAD 408 closes, no body",
            HEAD11,
            408,
            50,
            f(Some(50), false, true),
        ),
        (
            "Connection: close",
            ctx(Method::Get, Version::Http11, false),
            200,
            1,
            f(Some(1), true, true),
        ),
        (
            "HTTP/1.0 closes",
            ctx(Method::Get, Version::Http10, false),
            200,
            1,
            f(Some(1), true, true),
        ),
        (
            "HTTP/1.0 keep-alive closes too",
            ctx(Method::Get, Version::Http10, true),
            200,
            1,
            f(Some(1), true, true),
        ),
        (
            "HTTP/1.0 204",
            ctx(Method::Delete, Version::Http10, true),
            204,
            0,
            f(None, false, true),
        ),
        (
            "unknown status code",
            GET11,
            299,
            4,
            f(Some(4), true, false),
        ),
    ];

    #[test]
    fn vector_table() {
        for (name, request, status, len, want) in VECTORS {
            assert_eq!(
                response_framing(request, StatusCode(*status), *len),
                *want,
                "{name}"
            );
        }
    }

    #[test]
    fn unread_body_and_draining_close_every_final_response() {
        for (name, request, status, len, want) in VECTORS {
            for (body_unread, draining) in [(true, false), (false, true)] {
                let request = ResponseContext {
                    body_unread,
                    draining,
                    ..*request
                };
                let got = response_framing(&request, StatusCode(*status), *len);
                let interim = (100..200).contains(status);
                assert_eq!(got.close, !interim, "{name}");
                assert_eq!(
                    (got.content_length, got.send_body),
                    (want.content_length, want.send_body),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn unparsed_heads_close() {
        let got = response_framing(&ResponseContext::unparsed(), StatusCode::BAD_REQUEST, 64);
        assert_eq!(got, f(Some(64), true, true));
    }

    /// The rules of `server::conn` this function replaces, written as they
    /// were there, agree with it wherever they applied.
    #[test]
    fn agrees_with_the_rules_it_replaces() {
        let statuses = [
            200u16, 201, 204, 206, 301, 304, 400, 404, 408, 412, 413, 500, 503,
        ];
        for status in statuses {
            for method in [Method::Get, Method::Head, Method::Put, Method::Delete] {
                for version in [Version::Http10, Version::Http11] {
                    for keep_alive in [false, true] {
                        for len in [0u64, 7] {
                            let request = ctx(method, version, keep_alive);
                            let got = response_framing(&request, StatusCode(status), len);
                            let old_length = (status != 204 && status != 304).then_some(len);
                            let old_close = !keep_alive
                                || version == Version::Http10
                                || status == 408
                                || status == 503;
                            // The old code wrote the body unless HEAD; its
                            // every 204 and 304 caller passed an empty one.
                            let old_sent = match (method, status) {
                                (Method::Head, _) | (_, 204 | 304) => 0,
                                _ => len,
                            };
                            let sent = if got.send_body { len } else { 0 };
                            assert_eq!(got.content_length, old_length);
                            assert_eq!(sent, old_sent);
                            assert_eq!(got.close, old_close);
                        }
                    }
                }
            }
        }
    }
}
