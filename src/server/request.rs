//! The parts of a request head the routes use, copied out of the connection
//! buffer so the buffer can take the body's first bytes and the next
//! pipelined request.

use crate::http::{analyze, decode_target, Method, RequestHead, RequestInfo, TargetPath, Version};

use super::error::RequestError;
use crate::digest::{DownloadWants, UploadDigest};

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
    /// The digest check an upload's `Content-Digest` / `Repr-Digest` asks
    /// for (PUT, POST and resumable PATCH; only `Content-Digest` for a
    /// resumable request; `None`: nothing to check, nothing is hashed).
    pub upload_digest: Option<UploadDigest>,
    /// The digests a download asks for (`Want-Repr-Digest`,
    /// `Want-Content-Digest`; GET and HEAD).
    pub want_digest: DownloadWants,
}

/// Header values copied out of the head (lossy UTF-8: they are only
/// compared with ASCII tokens).
#[derive(Debug, Clone, Default)]
pub struct SelectedHeaders {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Accept`.
    pub accept: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// `Range`.
    pub range: Option<String>,
    /// `If-Range`.
    pub if_range: Option<String>,
    /// `Authorization`, raw (credentials are bytes; never logged).
    pub authorization: Option<Vec<u8>>,
    /// The fields the resumable-upload codecs read (tus, IETF draft), every
    /// occurrence in order, for
    /// [`RequestHeaders::from_pairs`](crate::resumable::RequestHeaders::from_pairs).
    pub resumable: Vec<(crate::resumable::Field, Vec<u8>)>,
}

/// The resumable-upload fields of a head, in one pass over its fields.
fn resumable_fields(head: &RequestHead, buf: &[u8]) -> Vec<(crate::resumable::Field, Vec<u8>)> {
    use crate::resumable::Field;
    let mut out = Vec::new();
    for h in &head.headers {
        let (Some(name), Some(value)) = (buf.get(h.name.clone()), buf.get(h.value.clone())) else {
            continue;
        };
        if let Some(field) = Field::ALL
            .iter()
            .find(|f| f.name().as_bytes().eq_ignore_ascii_case(name))
        {
            out.push((*field, value.to_vec()));
        }
    }
    out
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
        if head.header_count(buf, "authorization") > 1 {
            return Err(fail(
                RequestError::RepeatedAuthorization,
                &method_name,
                &raw_target,
            ));
        }
        let headers = SelectedHeaders {
            content_type: header_string(head, buf, "content-type"),
            accept: header_string(head, buf, "accept"),
            if_match: header_string(head, buf, "if-match"),
            if_unmodified_since: header_string(head, buf, "if-unmodified-since"),
            if_none_match: header_string(head, buf, "if-none-match"),
            if_modified_since: header_string(head, buf, "if-modified-since"),
            range: header_string(head, buf, "range"),
            if_range: header_string(head, buf, "if-range"),
            authorization: head.header(buf, "authorization").map(<[u8]>::to_vec),
            resumable: resumable_fields(head, buf),
        };
        // A resumable request (tus, IETF) carries a part of its upload: its
        // `Content-Digest` is checked, a `Repr-Digest` (of the whole) is not.
        let resumable = headers.resumable.iter().any(|(field, _)| {
            use crate::resumable::Field;
            matches!(
                field,
                Field::TusResumable
                    | Field::UploadComplete
                    | Field::UploadIncomplete
                    | Field::UploadDraftInteropVersion
            )
        });
        let upload_digest = match head.method {
            Method::Put | Method::Post => UploadDigest::from_head(head, buf, !resumable)
                .map_err(|e| fail(RequestError::Digest(e), &method_name, &raw_target))?,
            Method::Other if method_name == "PATCH" => UploadDigest::from_head(head, buf, false)
                .map_err(|e| fail(RequestError::Digest(e), &method_name, &raw_target))?,
            _ => None,
        };
        let want_digest = match head.method {
            Method::Get | Method::Head => DownloadWants::from_head(head, buf),
            _ => DownloadWants::default(),
        };
        Ok(Request {
            upload_digest,
            want_digest,
            method: head.method,
            method_name,
            raw_target,
            version: head.version,
            info,
            target,
            headers,
        })
    }

    /// A stand-in for a request whose head could not be used (for
    /// answering it): no body, no headers, the method if it was known.
    pub fn unusable(method: Method) -> Request {
        Request {
            method,
            method_name: String::new(),
            raw_target: String::new(),
            version: Version::Http11,
            info: RequestInfo {
                framing: crate::http::BodyFraming::None,
                keep_alive: false,
                expect_continue: false,
            },
            target: TargetPath {
                path: String::new(),
                trailing_slash: true,
                query: None,
            },
            headers: SelectedHeaders::default(),
            upload_digest: None,
            want_digest: DownloadWants::default(),
        }
    }

    /// The request asked for JSON (`?json`, or an `Accept` that prefers
    /// `application/json`: [`crate::http::negotiate::wants_json`]).
    pub fn wants_json(&self) -> bool {
        crate::http::negotiate::wants_json(
            self.headers.accept.as_deref().map(str::as_bytes),
            self.target.has_query_flag("json"),
        )
    }

    /// The conditional-request headers, for
    /// [`crate::http::conditional::evaluate`].
    pub fn preconditions(&self) -> crate::http::conditional::Preconditions<'_> {
        fn bytes(v: &Option<String>) -> Option<&[u8]> {
            v.as_deref().map(str::as_bytes)
        }
        crate::http::conditional::Preconditions {
            if_match: bytes(&self.headers.if_match),
            if_unmodified_since: bytes(&self.headers.if_unmodified_since),
            if_none_match: bytes(&self.headers.if_none_match),
            if_modified_since: bytes(&self.headers.if_modified_since),
        }
    }

    /// The request carries a body (declared length > 0, or chunked).
    pub fn has_body(&self) -> bool {
        !matches!(
            self.info.framing,
            crate::http::BodyFraming::None | crate::http::BodyFraming::Length(0)
        )
    }
}
