//! The response of every resumable operation, per protocol: status, header
//! fields and body, built from the record. The server encodes them with
//! [`ResponseHead`](crate::http::ResponseHead) (adding `Content-Length`),
//! and leaves the body out for HEAD.

use super::classify::UPLOAD_URL_ALLOW;
use super::error::ResumableError;
use super::headers::{
    format_expires, format_sf_boolean, UploadLimit, TUS_CHECKSUM_ALGORITHMS, TUS_EXTENSIONS,
    TUS_VERSION,
};
use super::limits::ResumableLimits;
use super::protocol::{IetfDraft, Protocol};
use super::record::{UploadLength, UploadRecord, UploadState};
use crate::http::encode::url_path;
use crate::http::{error_json, json_escape_into};

/// A response body and its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseBody {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub text: String,
}

/// A resumable operation's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableResponse {
    /// The status code.
    pub status: u16,
    /// Header fields, in order (no `Content-Length`, no `Content-Type`:
    /// the body carries its type).
    pub headers: Vec<(&'static str, String)>,
    /// The body, if any.
    pub body: Option<ResponseBody>,
}

impl ResumableResponse {
    fn new(status: u16) -> Self {
        ResumableResponse {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    fn push(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.push((name, value.into()));
    }

    /// The headers as `(name, value)` string pairs, with `Content-Type`
    /// appended when there is a body, for
    /// [`ResponseHead::headers`](crate::http::ResponseHead::headers).
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> =
            self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        if let Some(body) = &self.body {
            pairs.push(("Content-Type", body.content_type));
        }
        pairs
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The protocol an answer about `record` speaks: the request's, else the
/// one the upload was created with.
pub fn answer_protocol(request: Option<Protocol>, record: &UploadRecord) -> Protocol {
    request.unwrap_or(record.protocol)
}

/// Header fields to add to the server's usual `204` + `Allow` answer to
/// `OPTIONS`: tus discovery (`Tus-Version`, `Tus-Extension`,
/// `Tus-Max-Size`, `Tus-Checksum-Algorithm`) and IETF discovery
/// (`Accept-Patch`, `Upload-Limit`).
///
/// ```
/// use ringdrop::resumable::{options_headers, ResumableLimits};
/// let h = options_headers(&ResumableLimits::default());
/// assert!(h.iter().any(|(n, v)| *n == "Tus-Version" && v == "1.0.0"));
/// assert!(h.iter().any(|(n, v)| *n == "Accept-Patch" && v == "application/partial-upload"));
/// ```
pub fn options_headers(limits: &ResumableLimits) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Tus-Resumable", TUS_VERSION.to_owned()),
        ("Tus-Version", TUS_VERSION.to_owned()),
        ("Tus-Extension", TUS_EXTENSIONS.to_owned()),
        ("Tus-Max-Size", limits.max_upload_bytes.to_string()),
        ("Tus-Checksum-Algorithm", TUS_CHECKSUM_ALGORITHMS.to_owned()),
        (
            "Accept-Patch",
            super::headers::PARTIAL_UPLOAD_CONTENT_TYPE.to_owned(),
        ),
    ];
    let limit = UploadLimit {
        max_size: Some(limits.max_upload_bytes),
        ..UploadLimit::default()
    };
    if let Some(v) = limit.format("max-age") {
        h.push(("Upload-Limit", v));
    }
    h
}

/// The `Upload-Limit` value for `record` at `now` in `draft`'s dialect
/// (`None` before interop 6, where the field did not exist).
fn upload_limit(
    record: &UploadRecord,
    draft: IetfDraft,
    now: i64,
    limits: &ResumableLimits,
) -> Option<String> {
    let key = draft.lifetime_key()?;
    let max_age = match record.state {
        UploadState::Active => u64::try_from(record.expires_at.saturating_sub(now)).ok(),
        UploadState::Committing { .. } | UploadState::Completed { .. } => None,
    };
    UploadLimit {
        max_size: Some(limits.max_upload_bytes),
        max_age,
        ..UploadLimit::default()
    }
    .format(key)
}

/// The complete bytes of a `104 (Upload Resumption Supported)` interim
/// response announcing `record`'s URL, for an IETF creation whose draft
/// allows it (never for [`IetfDraft::Final`], never on HTTP/1.0: the
/// server checks the version). Send it before reading the body.
///
/// ```
/// use ringdrop::resumable::*;
/// # let meta = Metadata::default();
/// # let new = NewUpload { id: UploadId::from_random([0; 16]), protocol: Protocol::Ietf(IetfDraft::Interop8),
/// #     target_dir: "", name: Some("f"), commit_mode: CommitMode::NewName,
/// #     length: UploadLength::Deferred, owner: "anonymous", metadata: &meta };
/// let limits = ResumableLimits::default();
/// let rec = UploadRecord::create(&new, StagingUsage::default(), 0, &limits).unwrap();
/// let bytes = interim_104(&rec, IetfDraft::Interop8, 0, &limits).unwrap();
/// assert!(bytes.starts_with(b"HTTP/1.1 104 Upload Resumption Supported\r\n"));
/// assert!(bytes.ends_with(b"\r\n\r\n"));
/// assert_eq!(interim_104(&rec, IetfDraft::Final, 0, &limits), None);
/// ```
pub fn interim_104(
    record: &UploadRecord,
    draft: IetfDraft,
    now: i64,
    limits: &ResumableLimits,
) -> Option<Vec<u8>> {
    if !draft.sends_104() {
        return None;
    }
    let mut out = b"HTTP/1.1 104 Upload Resumption Supported\r\n".to_vec();
    let mut field = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    if let Some(v) = draft.interop() {
        field("Upload-Draft-Interop-Version", &v.to_string());
    }
    field("Location", &record.id.url_path());
    if let Some(limit) = upload_limit(record, draft, now, limits) {
        field("Upload-Limit", &limit);
    }
    out.extend_from_slice(b"\r\n");
    Some(out)
}

/// Fields every answer about an upload carries in `protocol`.
fn common(resp: &mut ResumableResponse, protocol: Protocol) {
    if protocol.is_tus() {
        resp.push("Tus-Resumable", TUS_VERSION);
    }
}

/// `Upload-Expires` for an unfinished tus upload.
fn tus_expires(resp: &mut ResumableResponse, record: &UploadRecord) {
    if record.state == UploadState::Active {
        resp.push("Upload-Expires", format_expires(record.expires_at));
    }
}

/// 201 for a creation (no data, or data that did not complete the
/// upload): `Location`, `Upload-Offset`, and `Upload-Expires` (tus) or
/// `Upload-Complete: ?0` and `Upload-Limit` (IETF).
pub fn created(
    record: &UploadRecord,
    protocol: Protocol,
    now: i64,
    limits: &ResumableLimits,
) -> ResumableResponse {
    let mut resp = ResumableResponse::new(201);
    common(&mut resp, protocol);
    resp.push("Location", record.id.url_path());
    resp.push("Upload-Offset", record.offset.to_string());
    match protocol {
        Protocol::Tus => tus_expires(&mut resp, record),
        Protocol::Ietf(draft) => {
            resp.push("Upload-Complete", format_sf_boolean(false));
            if let Some(limit) = upload_limit(record, draft, now, limits) {
                resp.push("Upload-Limit", limit);
            }
        }
    }
    resp
}

/// The answer to HEAD: tus 200 with `Upload-Offset`, `Upload-Length` or
/// `Upload-Defer-Length: 1`, `Upload-Metadata`, `Upload-Expires`; IETF 204
/// with `Upload-Offset`, `Upload-Complete`, `Upload-Length` (if known),
/// `Upload-Limit`. Both with `Cache-Control: no-store`.
pub fn head(
    record: &UploadRecord,
    protocol: Protocol,
    now: i64,
    limits: &ResumableLimits,
) -> ResumableResponse {
    let mut resp = ResumableResponse::new(match protocol {
        Protocol::Tus => 200,
        Protocol::Ietf(draft) => draft.head_status(),
    });
    common(&mut resp, protocol);
    resp.push("Upload-Offset", record.offset.to_string());
    match protocol {
        Protocol::Tus => {
            match record.length {
                UploadLength::Known(n) => resp.push("Upload-Length", n.to_string()),
                UploadLength::Deferred => resp.push("Upload-Defer-Length", "1"),
            }
            if !record.metadata.is_empty() {
                resp.push("Upload-Metadata", record.metadata.clone());
            }
            tus_expires(&mut resp, record);
        }
        Protocol::Ietf(draft) => {
            let complete = record.state != UploadState::Active;
            resp.push("Upload-Complete", format_sf_boolean(complete));
            if let UploadLength::Known(n) = record.length {
                resp.push("Upload-Length", n.to_string());
            }
            if let Some(limit) = upload_limit(record, draft, now, limits) {
                resp.push("Upload-Limit", limit);
            }
        }
    }
    resp.push("Cache-Control", "no-store");
    resp
}

/// 204 for an append that did not complete the upload: `Upload-Offset`
/// (every protocol: tus requires it, tus-js-client reads it in IETF mode
/// too), `Upload-Expires` (tus) or `Upload-Complete: ?0` (IETF).
pub fn appended(record: &UploadRecord, protocol: Protocol) -> ResumableResponse {
    let mut resp = ResumableResponse::new(204);
    common(&mut resp, protocol);
    resp.push("Upload-Offset", record.offset.to_string());
    match protocol {
        Protocol::Tus => tus_expires(&mut resp, record),
        Protocol::Ietf(_) => resp.push("Upload-Complete", format_sf_boolean(false)),
    }
    resp
}

/// The answer to the request that completed the upload, after the commit.
///
/// tus: 204 with `Upload-Offset` after a PATCH; after a creation that
/// carried every byte (creation-with-upload), the creation's 201 with
/// `Location` and `Upload-Offset` (tus-js-client needs the `Location`).
/// IETF: what a PUT/POST would have answered (201 created, or 200 when
/// `replaced` a file) with the JSON `{"name","path","size"}`, plus
/// `Upload-Complete: ?1` and `Upload-Offset`. All carry
/// `Content-Location` with the file's URL. `None` unless the record is
/// `Completed`.
pub fn completed(
    record: &UploadRecord,
    protocol: Protocol,
    replaced: bool,
    in_creation: bool,
) -> Option<ResumableResponse> {
    let UploadState::Completed { name } = &record.state else {
        return None;
    };
    let path = url_path(&record.final_path()?, false);
    let mut resp = ResumableResponse::new(match (protocol, replaced, in_creation) {
        (Protocol::Tus, _, true) => 201,
        (Protocol::Tus, _, false) => 204,
        (Protocol::Ietf(_), true, _) => 200,
        (Protocol::Ietf(_), false, _) => 201,
    });
    common(&mut resp, protocol);
    if protocol.is_tus() && in_creation {
        resp.push("Location", record.id.url_path());
    }
    resp.push("Upload-Offset", record.offset.to_string());
    if let Protocol::Ietf(_) = protocol {
        resp.push("Upload-Complete", format_sf_boolean(true));
        let mut text = String::from("{\"name\":\"");
        json_escape_into(&mut text, name);
        text.push_str("\",\"path\":\"");
        json_escape_into(&mut text, &path);
        text.push_str("\",\"size\":");
        text.push_str(&record.offset.to_string());
        text.push('}');
        resp.body = Some(ResponseBody {
            content_type: "application/json",
            text,
        });
    }
    resp.push("Content-Location", path);
    Some(resp)
}

/// 204 for a DELETE.
pub fn terminated(protocol: Protocol) -> ResumableResponse {
    let mut resp = ResumableResponse::new(204);
    common(&mut resp, protocol);
    resp
}

/// The answer to a refused request. `protocol` is the request's (or the
/// record's, see [`answer_protocol`]); `None` when neither is known.
///
/// Adds what each error needs: `Tus-Version` on 412, the right
/// `Upload-Offset` on 409, `Allow` on 405, `Retry-After` on 423 and 503,
/// `Upload-Limit` on an IETF 413 / 507. IETF errors with a problem type
/// get an `application/problem+json` body, all others the usual JSON
/// `{"error","message"}`.
///
/// ```
/// use ringdrop::resumable::*;
/// let e = ResumableError::OffsetMismatch { expected: 5, provided: 9 };
/// let r = error_response(&e, Some(Protocol::Tus), &ResumableLimits::default());
/// assert_eq!(r.status, 409);
/// assert_eq!(r.header("Upload-Offset"), Some("5"));
/// assert_eq!(r.header("Tus-Resumable"), Some("1.0.0"));
/// ```
pub fn error_response(
    err: &ResumableError,
    protocol: Option<Protocol>,
    limits: &ResumableLimits,
) -> ResumableResponse {
    let mut resp = ResumableResponse::new(err.status());
    if let Some(p) = protocol {
        common(&mut resp, p);
    }
    match err {
        ResumableError::UnsupportedTusVersion => resp.push("Tus-Version", TUS_VERSION),
        ResumableError::OffsetMismatch { expected, .. } => {
            resp.push("Upload-Offset", expected.to_string())
        }
        ResumableError::MethodNotAllowed => resp.push("Allow", UPLOAD_URL_ALLOW),
        ResumableError::UploadBusy => resp.push("Retry-After", "1"),
        ResumableError::TooManyUploads { .. } => resp.push("Retry-After", "60"),
        ResumableError::TooLarge { .. } | ResumableError::StagingFull { .. } => {
            // The draft: a 413 caused by upload limits MUST carry them.
            let has_limits =
                matches!(protocol, Some(Protocol::Ietf(d)) if d.lifetime_key().is_some());
            let limit = UploadLimit {
                max_size: Some(limits.max_upload_bytes),
                ..UploadLimit::default()
            };
            if let (true, Some(v)) = (has_limits, limit.format("max-age")) {
                resp.push("Upload-Limit", v);
            }
        }
        _ => {}
    }
    let problem = match (protocol, err.problem_type()) {
        (Some(Protocol::Ietf(_)), Some(problem)) => Some(problem),
        _ => None,
    };
    resp.body = Some(match problem {
        Some(problem) => {
            let mut text = String::from("{\"type\":\"");
            json_escape_into(&mut text, problem);
            text.push_str("\",\"title\":\"");
            json_escape_into(&mut text, &err.to_string());
            text.push('"');
            if let ResumableError::OffsetMismatch { expected, provided } = err {
                text.push_str(&format!(
                    ",\"expected-offset\":{expected},\"provided-offset\":{provided}"
                ));
            }
            text.push('}');
            ResponseBody {
                content_type: "application/problem+json",
                text,
            }
        }
        None => ResponseBody {
            content_type: "application/json",
            text: error_json(err.kind(), &err.to_string()),
        },
    });
    resp
}

#[cfg(test)]
mod tests;
