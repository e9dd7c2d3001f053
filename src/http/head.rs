//! Incremental request-head parser: an end-of-head scanner that looks at new
//! bytes only, then httparse over the complete head, recorded as offsets.
//!
//! Sans-IO: no I/O, no clock. The caller owns the buffer and keeps appending
//! to it; the parser keeps a cursor and never rescans a byte.
//!
//! Line endings: only CRLF is accepted. RFC 9112 §2.2 lets a recipient
//! accept a bare LF, and httparse does, but the chunked decoder must reject
//! one, and one framing rule for the whole connection leaves no room for a
//! front-end and this server to disagree (request smuggling). A bare LF
//! anywhere in the head → [`HeadError::BareLf`] (400).
#![forbid(unsafe_code)]

use core::ops::Range;

use super::error::HeadError;
use super::limits::HeadLimits;

const MAX_HEADER_SLOTS: usize = HeadLimits::MAX_HEADER_SLOTS;
const MAX_LEADING_EMPTY_LINES: usize = HeadLimits::MAX_LEADING_EMPTY_LINES;

/// The request method. Methods are case-sensitive (RFC 9110 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
    /// `MKCOL` (WebDAV)
    Mkcol,
    /// `OPTIONS`
    Options,
    /// Any other token; its bytes are at [`RequestHead::method_bytes`].
    Other,
}

impl Method {
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            "MKCOL" => Method::Mkcol,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
}

/// The protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

/// Where one header field sits in the parse buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderIndices {
    /// The field name.
    pub name: Range<usize>,
    /// The field value, without leading or trailing whitespace.
    pub value: Range<usize>,
}

/// A parsed request head. Every range is an offset into the buffer given to
/// [`HeadParser::parse`], so the buffer can move (into an io_uring op) while
/// the head is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The method token.
    pub method_bytes: Range<usize>,
    /// The raw request-target (decode it with [`decode_target`](super::decode_target)).
    pub target: Range<usize>,
    /// The version.
    pub version: Version,
    /// The header fields, in order.
    pub headers: Vec<HeaderIndices>,
    /// Bytes of the head, leading empty lines and final CRLFCRLF included;
    /// the body (or the next pipelined request) starts here.
    pub head_len: usize,
}

impl RequestHead {
    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header<'b>(&self, buf: &'b [u8], name: &str) -> Option<&'b [u8]> {
        self.headers_named(buf, name).next()
    }

    /// How many header fields are named `name` (ASCII case-insensitive).
    pub fn header_count(&self, buf: &[u8], name: &str) -> usize {
        self.headers_named(buf, name).count()
    }

    /// The values of every header named `name` (ASCII case-insensitive), in
    /// order.
    pub fn headers_named<'a, 'b: 'a>(
        &'a self,
        buf: &'b [u8],
        name: &'a str,
    ) -> impl Iterator<Item = &'b [u8]> + 'a {
        self.headers.iter().filter_map(move |h| {
            let field = buf.get(h.name.clone())?;
            if field.eq_ignore_ascii_case(name.as_bytes()) {
                buf.get(h.value.clone())
            } else {
                None
            }
        })
    }
}

/// Where the end-of-head scanner is. Each phase holds the data it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanPhase {
    /// Before the request line has ended; `empty_lines` CRLFs seen so far.
    RequestLine { empty_lines: usize },
    /// Reading header lines; `fields` complete header lines seen so far.
    HeaderLines { fields: usize },
    /// The head ends at `head_len` (exclusive).
    Complete { head_len: usize },
    /// An error was reported; it is reported again until `reset`.
    Failed { error: HeadError },
}

/// Incremental request-head parser.
///
/// Calling order: `parse(buf)` each time bytes are appended to `buf` (the
/// same buffer, starting at the request's first byte) until it returns
/// `Ok(Some(head))` or an error; then `reset()` before the next request.
/// Bytes `buf[head.head_len..]` are not part of the head.
#[derive(Debug, Clone)]
pub struct HeadParser {
    limits: HeadLimits,
    phase: ScanPhase,
    /// Bytes of `buf` already scanned. INVARIANT: `line_start <= scanned`.
    scanned: usize,
    /// Start of the line being scanned.
    line_start: usize,
}

impl HeadParser {
    /// A parser enforcing `limits` (`max_header_count` clamped to
    /// [`HeadLimits::MAX_HEADER_SLOTS`]).
    pub fn new(limits: HeadLimits) -> Self {
        let limits = HeadLimits {
            max_header_count: limits.max_header_count.min(MAX_HEADER_SLOTS),
            ..limits
        };
        HeadParser {
            limits,
            phase: ScanPhase::RequestLine { empty_lines: 0 },
            scanned: 0,
            line_start: 0,
        }
    }

    /// Forget the current request; the next `parse` starts a new one.
    pub fn reset(&mut self) {
        self.phase = ScanPhase::RequestLine { empty_lines: 0 };
        self.scanned = 0;
        self.line_start = 0;
    }

    /// Look at the bytes appended since the last call.
    ///
    /// `buf` = all bytes received for this request so far, starting at the
    /// request's first byte (the same buffer, only ever appended to, between
    /// calls until complete; call [`reset`](Self::reset) before the next
    /// request). `Ok(None)` = need more bytes. `Ok(Some(head))` = complete
    /// (`head.head_len` bytes are the head). Limits are enforced as soon as
    /// they are passed, before the head is complete. After an error, every
    /// call returns the same error until `reset`.
    ///
    /// ```
    /// use ringdrop::http::{HeadLimits, HeadParser, Method};
    /// let buf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nnext";
    /// let mut parser = HeadParser::new(HeadLimits::default());
    /// assert_eq!(parser.parse(&buf[..10]), Ok(None));
    /// let head = parser.parse(buf).unwrap().unwrap();
    /// assert_eq!(head.method, Method::Get);
    /// assert_eq!(&buf[head.target.clone()], b"/a");
    /// assert_eq!(&buf[head.head_len..], b"next");
    /// ```
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
        let result = self.parse_inner(buf);
        if let Err(error) = result {
            self.phase = ScanPhase::Failed { error };
        }
        result
    }

    fn parse_inner(&mut self, buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
        if let ScanPhase::Failed { error } = self.phase {
            return Err(error);
        }
        if buf.len() < self.scanned {
            // The caller broke the append-only contract: start over rather
            // than index out of bounds.
            self.reset();
        }
        if let ScanPhase::Complete { head_len } = self.phase {
            return parse_complete(buf, head_len, self.limits.max_header_count).map(Some);
        }
        self.scan(buf)?;
        match self.phase {
            ScanPhase::Complete { head_len } => {
                parse_complete(buf, head_len, self.limits.max_header_count).map(Some)
            }
            ScanPhase::Failed { error } => Err(error),
            ScanPhase::RequestLine { .. } | ScanPhase::HeaderLines { .. } => {
                self.check_partial(buf)?;
                Ok(None)
            }
        }
    }

    /// Scan new bytes (never past `max_head_bytes`) line by line until the
    /// head ends or the bytes run out.
    fn scan(&mut self, buf: &[u8]) -> Result<(), HeadError> {
        let window_end = buf.len().min(self.limits.max_head_bytes);
        while self.scanned < window_end {
            let Some(new) = buf.get(self.scanned..window_end) else {
                break;
            };
            let Some(found) = memchr::memchr(b'\n', new) else {
                self.scanned = window_end;
                break;
            };
            let lf = self.scanned + found;
            self.scanned = lf + 1;
            self.end_line(buf, lf)?;
            if let ScanPhase::Complete { .. } = self.phase {
                break;
            }
        }
        Ok(())
    }

    /// Handle the line ending with the LF at `lf`.
    fn end_line(&mut self, buf: &[u8], lf: usize) -> Result<(), HeadError> {
        let line_start = self.line_start;
        self.line_start = lf + 1;
        let cr = lf.checked_sub(1).filter(|&cr| cr >= line_start);
        let content_end = match cr {
            Some(cr) if buf.get(cr) == Some(&b'\r') => cr,
            Some(_) | None => {
                // A request line already over the limit before its bare LF
                // arrived was reported as too long by `check_partial` to a
                // reader fed in pieces; report the same error whole.
                if let ScanPhase::RequestLine { .. } = self.phase {
                    if lf - line_start > self.limits.max_request_line_bytes {
                        return Err(HeadError::RequestLineTooLong {
                            limit: self.limits.max_request_line_bytes,
                        });
                    }
                }
                return Err(HeadError::BareLf);
            }
        };
        let line = buf.get(line_start..content_end).unwrap_or_default();
        self.phase = match self.phase {
            ScanPhase::RequestLine { empty_lines } => self.request_line(line, empty_lines)?,
            ScanPhase::HeaderLines { fields } => self.header_line(line, fields, lf + 1)?,
            done @ (ScanPhase::Complete { .. } | ScanPhase::Failed { .. }) => done,
        };
        Ok(())
    }

    /// A complete line before or at the request line (RFC 9112 §2.2: empty
    /// lines before it are ignored, up to
    /// [`HeadLimits::MAX_LEADING_EMPTY_LINES`]).
    fn request_line(&self, line: &[u8], empty_lines: usize) -> Result<ScanPhase, HeadError> {
        if line.is_empty() {
            let empty_lines = empty_lines.saturating_add(1);
            if empty_lines > MAX_LEADING_EMPTY_LINES {
                return Err(HeadError::TooManyLeadingEmptyLines);
            }
            return Ok(ScanPhase::RequestLine { empty_lines });
        }
        if line.len() > self.limits.max_request_line_bytes {
            return Err(HeadError::RequestLineTooLong {
                limit: self.limits.max_request_line_bytes,
            });
        }
        Ok(ScanPhase::HeaderLines { fields: 0 })
    }

    /// A complete header line, or the empty line that ends the head.
    fn header_line(&self, line: &[u8], fields: usize, end: usize) -> Result<ScanPhase, HeadError> {
        let Some(&first) = line.first() else {
            if end > self.limits.max_head_bytes {
                return Err(HeadError::HeadTooLarge {
                    limit: self.limits.max_head_bytes,
                });
            }
            return Ok(ScanPhase::Complete { head_len: end });
        };
        // RFC 9112 §5.2: obs-fold is rejected (400) in requests.
        if first == b' ' || first == b'\t' {
            return Err(HeadError::ObsFold);
        }
        // RFC 9112 §5.1: no whitespace between field name and colon (400).
        let Some(colon) = memchr::memchr(b':', line) else {
            return Err(HeadError::Malformed);
        };
        match colon.checked_sub(1).and_then(|i| line.get(i)) {
            None => return Err(HeadError::Malformed),
            Some(b' ' | b'\t') => return Err(HeadError::WhitespaceBeforeColon),
            Some(_) => {}
        }
        let fields = fields.saturating_add(1);
        if fields > self.limits.max_header_count {
            return Err(HeadError::TooManyHeaders {
                limit: self.limits.max_header_count,
            });
        }
        Ok(ScanPhase::HeaderLines { fields })
    }

    /// Limits that an incomplete head has already passed.
    fn check_partial(&self, buf: &[u8]) -> Result<(), HeadError> {
        if let ScanPhase::RequestLine { .. } = self.phase {
            let partial = buf.get(self.line_start..).unwrap_or_default();
            let content = partial.strip_suffix(b"\r").unwrap_or(partial);
            if content.len() > self.limits.max_request_line_bytes {
                return Err(HeadError::RequestLineTooLong {
                    limit: self.limits.max_request_line_bytes,
                });
            }
        }
        // The scan covered `buf[..max_head_bytes]` without finding the end,
        // so the head, if it ever ends, is longer than the limit.
        if buf.len() >= self.limits.max_head_bytes {
            return Err(HeadError::HeadTooLarge {
                limit: self.limits.max_head_bytes,
            });
        }
        Ok(())
    }
}

/// Parse `buf[..head_len]`, which the scanner found to be a complete head of
/// CRLF lines without obs-fold, with httparse.
fn parse_complete(
    buf: &[u8],
    head_len: usize,
    max_headers: usize,
) -> Result<RequestHead, HeadError> {
    let head = buf.get(..head_len).ok_or(HeadError::Malformed)?;
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADER_SLOTS];
    let slots = slots.get_mut(..max_headers).unwrap_or_default();
    let mut req = httparse::Request::new(slots);
    match req.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head_len => {}
        Ok(_) => return Err(HeadError::Malformed),
        Err(httparse::Error::Version) => return Err(version_error(head)),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::TooManyHeaders { limit: max_headers })
        }
        Err(_) => return Err(HeadError::Malformed),
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed);
    };
    let version = match minor {
        0 => Version::Http10,
        1 => Version::Http11,
        _ => return Err(HeadError::UnsupportedVersion),
    };
    let method_bytes = offset_of(head, method.as_bytes()).ok_or(HeadError::Malformed)?;
    let target = offset_of(head, path.as_bytes()).ok_or(HeadError::Malformed)?;
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let name = offset_of(head, h.name.as_bytes()).ok_or(HeadError::Malformed)?;
        let value = offset_of(head, h.value).unwrap_or(name.end..name.end);
        headers.push(HeaderIndices { name, value });
    }
    Ok(RequestHead {
        method: Method::from_token(method),
        method_bytes,
        target,
        version,
        headers,
        head_len,
    })
}

/// httparse reports every version it does not accept the same way; a
/// well-formed `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3) is 505, anything else 400.
fn version_error(head: &[u8]) -> HeadError {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let rest = head.get(start..).unwrap_or_default();
    let line_end = memchr::memchr(b'\r', rest).unwrap_or(rest.len());
    let line = rest.get(..line_end).unwrap_or_default();
    // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return HeadError::Malformed;
    };
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            HeadError::UnsupportedVersion
        }
        _ => HeadError::Malformed,
    }
}

/// Where `part` (a subslice that httparse returned) sits in `buf`.
/// `None` if it is not inside `buf` — except that an empty `part` may be a
/// static empty slice, which callers handle.
fn offset_of(buf: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= buf.len() && (start < buf.len() || part.is_empty())).then_some(start..end)
}

#[cfg(test)]
mod tests;
