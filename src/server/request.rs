//! The parts of a request head the routes use, copied out of the connection
//! buffer so the buffer can take the body's first bytes and the next
//! pipelined request.

use crate::http::{analyze, decode_target, Method, RequestHead, RequestInfo, TargetPath, Version};

use super::error::RequestError;

/// One request, owned.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The method as sent (for the access log and 405s of unknown methods).
    pub method_name: String,
    /// The raw request-target (for the access log).
    pub raw_target: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// Framing, keep-alive and `Expect`, decided by the core.
    pub info: RequestInfo,
    /// The decoded ROOT-relative path.
    pub target: TargetPath,
    /// Header values the routes look at.
    pub headers: SelectedHeaders,
}

/// Header values copied out of the head (lossy UTF-8: they are only
/// compared with ASCII tokens).
#[derive(Debug, Clone, Default)]
pub struct SelectedHeaders {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Accept`.
    pub accept: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// `Range`.
    pub range: Option<String>,
    /// `If-Range`.
    pub if_range: Option<String>,
}

fn header_string(head: &RequestHead, buf: &[u8], name: &str) -> Option<String> {
    head.header(buf, name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

impl Request {
    /// Applies the framing rules and decodes the target. The method and raw
    /// target are returned even on failure, for the access log.
    pub fn from_head(
        head: &RequestHead,
        buf: &[u8],
    ) -> Result<Request, (RequestError, String, String)> {
        let method_name = String::from_utf8_lossy(&buf[head.method_bytes.clone()]).into_owned();
        let raw_target = String::from_utf8_lossy(&buf[head.target.clone()]).into_owned();
        let fail = |e: RequestError, m: &str, t: &str| (e, m.to_owned(), t.to_owned());
        let info = analyze(head, buf).map_err(|e| fail(e.into(), &method_name, &raw_target))?;
        let target = decode_target(&buf[head.target.clone()])
            .map_err(|e| fail(e.into(), &method_name, &raw_target))?;
        let headers = SelectedHeaders {
            content_type: header_string(head, buf, "content-type"),
            accept: header_string(head, buf, "accept"),
            if_none_match: header_string(head, buf, "if-none-match"),
            if_modified_since: header_string(head, buf, "if-modified-since"),
            range: header_string(head, buf, "range"),
            if_range: header_string(head, buf, "if-range"),
        };
        Ok(Request {
            method: head.method,
            method_name,
            raw_target,
            version: head.version,
            info,
            target,
            headers,
        })
    }

    /// The request asked for JSON (`?json` or an `Accept` naming
    /// application/json).
    pub fn wants_json(&self) -> bool {
        self.target.has_query_flag("json")
            || self
                .headers
                .accept
                .as_deref()
                .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"))
    }

    /// The request carries a body (declared length > 0, or chunked).
    pub fn has_body(&self) -> bool {
        !matches!(
            self.info.framing,
            crate::http::BodyFraming::None | crate::http::BodyFraming::Length(0)
        )
    }
}
