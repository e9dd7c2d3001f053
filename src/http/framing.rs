//! Message framing and connection rules for a parsed request head
//! (RFC 9112 §6.3, §9.3; RFC 9110 §7.2, §10.1.1): which body follows, whether
//! the connection stays open, whether the client waits for `100 Continue`.
//!
//! Each smuggling rule is one small function citing its RFC section. Pure:
//! reads the head and its buffer, nothing else.
#![forbid(unsafe_code)]

use super::error::HeadError;
use super::head::{RequestHead, Version};
use crate::syntax::{list_elements, trim_ows, Escapes};

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No Content-Length and no Transfer-Encoding: no body.
    None,
    /// `Content-Length: n` (possibly 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the server needs to know about a request beyond its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// HTTP/1.1: true unless `Connection: close`. HTTP/1.0: false unless
    /// `Connection: keep-alive` (and no `close`).
    pub keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request (ignored on HTTP/1.0,
    /// RFC 9110 §10.1.1).
    pub expect_continue: bool,
}

/// Apply the framing, Host, connection and expectation rules to a head.
///
/// ```
/// use ringdrop::http::{analyze, BodyFraming, HeadLimits, HeadParser};
/// let buf = b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
/// let head = HeadParser::new(HeadLimits::default()).parse(buf).unwrap().unwrap();
/// let info = analyze(&head, buf).unwrap();
/// assert_eq!(info.framing, BodyFraming::Length(5));
/// assert!(info.keep_alive);
/// ```
pub fn analyze(head: &RequestHead, buf: &[u8]) -> Result<RequestInfo, HeadError> {
    check_host(head, buf)?;
    let framing = body_framing(head, buf)?;
    let expect_continue = expect_continue(head, buf)?;
    Ok(RequestInfo {
        framing,
        keep_alive: keep_alive(head, buf),
        expect_continue,
    })
}

/// RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more
/// than one Host field, is answered 400.
fn check_host(head: &RequestHead, buf: &[u8]) -> Result<(), HeadError> {
    match (head.header_count(buf, "host"), head.version) {
        (0, Version::Http11) => Err(HeadError::MissingHost),
        (0 | 1, _) => Ok(()),
        (_, _) => Err(HeadError::RepeatedHost),
    }
}

/// RFC 9112 §6.3: Transfer-Encoding (rules 3–4) wins over Content-Length
/// (rule 5); neither means no request body (rule 7).
fn body_framing(head: &RequestHead, buf: &[u8]) -> Result<BodyFraming, HeadError> {
    let has_te = head.header(buf, "transfer-encoding").is_some();
    let has_cl = head.header(buf, "content-length").is_some();
    if has_te {
        reject_te_in_http10(head)?;
        reject_length_with_te(has_cl)?;
        check_transfer_codings(head, buf)?;
        return Ok(BodyFraming::Chunked);
    }
    if has_cl {
        return content_length(head, buf).map(BodyFraming::Length);
    }
    Ok(BodyFraming::None)
}

/// RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty
/// framing; we refuse it (400) rather than guess.
fn reject_te_in_http10(head: &RequestHead) -> Result<(), HeadError> {
    match head.version {
        Version::Http10 => Err(HeadError::TransferEncodingInHttp10),
        Version::Http11 => Ok(()),
    }
}

/// RFC 9112 §6.3 rule 3: Content-Length with Transfer-Encoding "ought to be
/// handled as an error"; it is the classic smuggling vector (400).
fn reject_length_with_te(has_cl: bool) -> Result<(), HeadError> {
    if has_cl {
        Err(HeadError::LengthWithTransferEncoding)
    } else {
        Ok(())
    }
}

/// RFC 9112 §6.3 rule 4 and §7: the final coding must be `chunked` (400),
/// `chunked` must not be applied twice (400, §6.1), and we implement no other
/// coding (501, §6.1).
fn check_transfer_codings(head: &RequestHead, buf: &[u8]) -> Result<(), HeadError> {
    let codings = || {
        head.headers_named(buf, "transfer-encoding")
            .flat_map(elements)
    };
    let last = codings().last();
    if !last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
        return Err(HeadError::TransferEncodingNotChunked);
    }
    let chunked_count = codings()
        .filter(|c| c.eq_ignore_ascii_case(b"chunked"))
        .count();
    if chunked_count > 1 {
        return Err(HeadError::RepeatedChunked);
    }
    if codings().count() > 1 {
        return Err(HeadError::UnsupportedTransferEncoding);
    }
    Ok(())
}

/// Most decimal digits accepted in a Content-Length: 19 always fit in a u64.
const MAX_CONTENT_LENGTH_DIGITS: usize = 19;

/// RFC 9112 §6.3 rule 5 and RFC 9110 §8.6: every Content-Length value (across
/// repeated fields and comma lists) must be a valid length, and all must be
/// equal (400 otherwise).
fn content_length(head: &RequestHead, buf: &[u8]) -> Result<u64, HeadError> {
    let mut length = None;
    for field in head.headers_named(buf, "content-length") {
        for element in field.split(|&b| b == b',') {
            let value = parse_length(trim_ows(element))?;
            match length {
                None => length = Some(value),
                Some(seen) if seen == value => {}
                Some(_) => return Err(HeadError::ConflictingContentLength),
            }
        }
    }
    length.ok_or(HeadError::InvalidContentLength)
}

/// `1*DIGIT`, at most [`MAX_CONTENT_LENGTH_DIGITS`], checked arithmetic.
fn parse_length(digits: &[u8]) -> Result<u64, HeadError> {
    if digits.is_empty() || digits.len() > MAX_CONTENT_LENGTH_DIGITS {
        return Err(HeadError::InvalidContentLength);
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(HeadError::InvalidContentLength);
        }
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(b - b'0')))
            .ok_or(HeadError::InvalidContentLength)
    })
}

/// RFC 9110 §10.1.1: only `100-continue` is defined; any other expectation is
/// answered 417. An HTTP/1.0 client cannot understand `100 Continue`, so the
/// expectation is ignored there.
fn expect_continue(head: &RequestHead, buf: &[u8]) -> Result<bool, HeadError> {
    let mut seen = false;
    for value in head.headers_named(buf, "expect") {
        if !trim_ows(value).eq_ignore_ascii_case(b"100-continue") {
            return Err(HeadError::UnsupportedExpectation);
        }
        seen = true;
    }
    Ok(seen && head.version == Version::Http11)
}

/// RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 persists only
/// with `keep-alive`. `close` always wins.
fn keep_alive(head: &RequestHead, buf: &[u8]) -> bool {
    let has = |option: &[u8]| {
        head.headers_named(buf, "connection")
            .flat_map(elements)
            .any(|o| o.eq_ignore_ascii_case(option))
    };
    if has(b"close") {
        return false;
    }
    match head.version {
        Version::Http11 => true,
        Version::Http10 => has(b"keep-alive"),
    }
}

/// The non-empty elements of a comma-separated field value (RFC 9110
/// §5.6.1), each without surrounding whitespace. A comma inside a
/// quoted-string (a transfer-coding parameter) does not split; the set of
/// values accepted as `chunked` is the same as with a naive split, since
/// `chunked` alone has no quote.
fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    list_elements(value, Escapes::QuotedPair)
}

#[cfg(test)]
mod tests;
