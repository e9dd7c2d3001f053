//! Every way a request can fail, and the one table that maps each to a
//! status, a stable `kind` for the JSON body, and a human sentence.

use std::fmt;
use std::io;

use crate::digest::DigestError;
use crate::http::{BodyError, HeadError, StatusCode, TargetError};
use crate::metrics::UploadFailure;
use crate::multipart::MultipartError;

/// A request that cannot be served as asked.
#[derive(Debug)]
pub enum RequestError {
    /// The head broke a syntax rule or a limit.
    Head(HeadError),
    /// The request-target cannot name a path beneath ROOT.
    Target(TargetError),
    /// The body's framing is invalid.
    Body(BodyError),
    /// The multipart body is invalid or over a limit.
    Multipart(MultipartError),
    /// A digest field is malformed, or the body does not match it.
    Digest(DigestError),
    /// The method is not served for this path; `allow` lists what is.
    MethodNotAllowed {
        /// The `Allow` header value.
        allow: &'static str,
    },
    /// The server runs with `--read-only`.
    ReadOnly,
    /// A method this server does not implement.
    NotImplemented,
    /// An upload without Content-Length or chunked framing.
    LengthRequired,
    /// The body (or one file) exceeds `--max-file-size`.
    FileTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// No credentials where anonymous may not, or wrong or expired ones:
    /// 401 with `WWW-Authenticate: challenge`.
    Unauthenticated {
        /// The `WWW-Authenticate` value.
        challenge: &'static str,
    },
    /// Valid credentials that no rule lets do this here (403; with a bearer
    /// token, `WWW-Authenticate` says `insufficient_scope`).
    NotPermitted {
        /// The identity is a bearer token.
        token: bool,
    },
    /// The password-verification pool is full: 503 with `Retry-After`.
    AuthBusy {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
    },
    /// This address failed to sign in too often: 429 with `Retry-After`.
    Throttled {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
    },
    /// The `Authorization` header is repeated.
    RepeatedAuthorization,
    /// No such file or directory.
    NotFound,
    /// The path resolves outside ROOT (a symlink) or is not permitted.
    Forbidden,
    /// The parent directory of an upload target does not exist, or a path
    /// component is a file.
    ParentMissing,
    /// An upload or MKCOL target is a directory, or a directory is not empty.
    Conflict(&'static str),
    /// `If-None-Match: *` and the file exists.
    PreconditionFailed,
    /// MKCOL of something that exists; `allow` lists the methods it takes.
    AlreadyExists {
        /// The `Allow` header value.
        allow: &'static str,
    },
    /// A multipart POST to a directory that does not exist.
    DirectoryMissing,
    /// POST with a content type other than multipart/form-data.
    UnsupportedMediaType,
    /// No space left on the device, or a quota was hit.
    InsufficientStorage,
    /// The head did not arrive in time, or the body stalled.
    Timeout,
    /// No registered buffer became free in time, or descriptors ran out.
    Busy,
    /// As many files are being uploaded as the open-file limit allows.
    TooManyUploads,
    /// Too many connections.
    TooManyConnections,
    /// Too many connections from the client's address.
    TooManyPeerConnections,
    /// The shutdown deadline passed while the request was in flight.
    ShuttingDown,
    /// Any other I/O failure on the server's side.
    Io(io::Error),
}

impl RequestError {
    /// The response status. One exhaustive match: a new variant cannot go
    /// unmapped.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::Head(e) => e.status(),
            RequestError::Target(e) => e.status(),
            RequestError::Body(e) => e.status(),
            RequestError::Multipart(e) => StatusCode(e.status()),
            RequestError::Digest(e) => e.status(),
            RequestError::MethodNotAllowed { .. } | RequestError::ReadOnly => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            RequestError::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            RequestError::LengthRequired => StatusCode::LENGTH_REQUIRED,
            RequestError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            RequestError::NotPermitted { .. } => StatusCode::FORBIDDEN,
            RequestError::AuthBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RequestError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            RequestError::RepeatedAuthorization => StatusCode::BAD_REQUEST,
            RequestError::NotFound | RequestError::DirectoryMissing => StatusCode::NOT_FOUND,
            RequestError::Forbidden => StatusCode::FORBIDDEN,
            RequestError::ParentMissing | RequestError::Conflict(_) => StatusCode::CONFLICT,
            RequestError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            RequestError::AlreadyExists { .. } => StatusCode::METHOD_NOT_ALLOWED,
            RequestError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            RequestError::Timeout => StatusCode::REQUEST_TIMEOUT,
            RequestError::Busy
            | RequestError::TooManyUploads
            | RequestError::TooManyConnections
            | RequestError::TooManyPeerConnections
            | RequestError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            RequestError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case id in the JSON body's `error` field.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestError::Head(e) => e.kind(),
            RequestError::Target(e) => e.kind(),
            RequestError::Body(e) => e.kind(),
            RequestError::Multipart(e) => e.kind(),
            RequestError::Digest(e) => e.kind(),
            RequestError::MethodNotAllowed { .. } => "method_not_allowed",
            RequestError::ReadOnly => "read_only",
            RequestError::NotImplemented => "not_implemented",
            RequestError::LengthRequired => "length_required",
            RequestError::FileTooLarge { .. } => "file_too_large",
            RequestError::Unauthenticated { .. } => "unauthorized",
            RequestError::NotPermitted { .. } => "forbidden",
            RequestError::AuthBusy { .. } => "auth_busy",
            RequestError::Throttled { .. } => "too_many_failures",
            RequestError::RepeatedAuthorization => "repeated_authorization",
            RequestError::NotFound => "not_found",
            RequestError::Forbidden => "forbidden",
            RequestError::ParentMissing => "parent_missing",
            RequestError::Conflict(_) => "conflict",
            RequestError::PreconditionFailed => "precondition_failed",
            RequestError::AlreadyExists { .. } => "already_exists",
            RequestError::DirectoryMissing => "directory_missing",
            RequestError::UnsupportedMediaType => "unsupported_media_type",
            RequestError::InsufficientStorage => "insufficient_storage",
            RequestError::Timeout => "timeout",
            RequestError::Busy => "busy",
            RequestError::TooManyUploads => "too_many_uploads",
            RequestError::TooManyConnections => "too_many_connections",
            RequestError::TooManyPeerConnections => "too_many_connections_from_address",
            RequestError::ShuttingDown => "shutting_down",
            RequestError::Io(_) => "internal",
        }
    }

    /// Why an upload that ended with this error failed, for
    /// `ringdrop_uploads_failed_total{reason}`.
    pub fn upload_failure(&self) -> UploadFailure {
        match self {
            RequestError::Head(_)
            | RequestError::Target(_)
            | RequestError::MethodNotAllowed { .. }
            | RequestError::ReadOnly
            | RequestError::NotImplemented
            | RequestError::LengthRequired
            | RequestError::Unauthenticated { .. }
            | RequestError::NotPermitted { .. }
            | RequestError::AuthBusy { .. }
            | RequestError::Throttled { .. }
            | RequestError::RepeatedAuthorization
            | RequestError::NotFound
            | RequestError::Forbidden
            | RequestError::ParentMissing
            | RequestError::Conflict(_)
            | RequestError::PreconditionFailed
            | RequestError::AlreadyExists { .. }
            | RequestError::DirectoryMissing
            | RequestError::UnsupportedMediaType => UploadFailure::Refused,
            RequestError::Body(BodyError::Truncated) => UploadFailure::Disconnect,
            RequestError::Body(_) | RequestError::Multipart(_) => UploadFailure::Malformed,
            RequestError::Digest(
                DigestError::Mismatch { .. } | DigestError::ChecksumMismatch { .. },
            ) => UploadFailure::DigestMismatch,
            RequestError::Digest(_) => UploadFailure::Malformed,
            RequestError::FileTooLarge { .. } => UploadFailure::TooLarge,
            RequestError::InsufficientStorage => UploadFailure::DiskFull,
            RequestError::Timeout => UploadFailure::Timeout,
            RequestError::ShuttingDown => UploadFailure::Shutdown,
            RequestError::Busy
            | RequestError::TooManyUploads
            | RequestError::TooManyConnections
            | RequestError::TooManyPeerConnections
            | RequestError::Io(_) => UploadFailure::IoError,
        }
    }

    /// The sentence for the client's JSON body: like the log's
    /// ([`Display`](fmt::Display)), but an internal failure says nothing
    /// of the server's inner workings (the OS error goes to the log only).
    pub fn public_message(&self) -> String {
        match self {
            RequestError::Io(_) => "An internal error occurred; see the server's log.".to_owned(),
            other => other.to_string(),
        }
    }

    /// The `Allow` header to send with a 405, if any.
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            RequestError::MethodNotAllowed { allow } | RequestError::AlreadyExists { allow } => {
                Some(allow)
            }
            RequestError::ReadOnly => Some("GET, HEAD, OPTIONS"),
            _ => None,
        }
    }

    /// The `WWW-Authenticate` header to send, if any.
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            RequestError::Unauthenticated { challenge } => Some(challenge),
            RequestError::NotPermitted { token: true } => {
                Some(crate::auth::BEARER_INSUFFICIENT_SCOPE_CHALLENGE)
            }
            _ => None,
        }
    }

    /// Seconds for a `Retry-After` header, if one is due (every 503 and 429).
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            RequestError::AuthBusy { retry_after_secs }
            | RequestError::Throttled { retry_after_secs } => Some(*retry_after_secs),
            other if other.status() == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        }
    }

    /// Maps a filesystem error met while resolving or creating an upload
    /// target or its parent.
    pub fn from_parent_io(err: io::Error) -> RequestError {
        match err.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) => RequestError::ParentMissing,
            _ => RequestError::from_io(err),
        }
    }

    /// Maps a filesystem error met while reading or writing.
    pub fn from_io(err: io::Error) -> RequestError {
        match err.raw_os_error() {
            Some(libc::ENOENT) => RequestError::NotFound,
            Some(libc::ENOTDIR) => RequestError::NotFound,
            // EXDEV: openat2(RESOLVE_BENEATH) refused to leave ROOT;
            // ELOOP: a symlink loop or a magic link.
            Some(libc::EXDEV) | Some(libc::ELOOP) | Some(libc::EACCES) | Some(libc::EPERM) => {
                RequestError::Forbidden
            }
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => RequestError::InsufficientStorage,
            // Out of descriptors: the server is overloaded, not broken.
            Some(libc::EMFILE) | Some(libc::ENFILE) => RequestError::Busy,
            Some(libc::EFBIG) => RequestError::FileTooLarge { limit: 0 },
            Some(libc::EISDIR) => RequestError::Conflict("the path is a directory"),
            Some(libc::ENAMETOOLONG) => RequestError::Target(TargetError::Malformed),
            _ => RequestError::Io(err),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Head(e) => e.fmt(f),
            RequestError::Target(e) => e.fmt(f),
            RequestError::Body(e) => e.fmt(f),
            RequestError::Multipart(e) => e.fmt(f),
            RequestError::Digest(e) => e.fmt(f),
            RequestError::MethodNotAllowed { allow } => {
                write!(f, "This method is not allowed here; allowed: {allow}.")
            }
            RequestError::ReadOnly => f.write_str("The server is read-only."),
            RequestError::NotImplemented => f.write_str("This method is not implemented."),
            RequestError::LengthRequired => {
                f.write_str("An upload needs a Content-Length or a chunked body.")
            }
            RequestError::FileTooLarge { limit: 0 } => {
                f.write_str("The file is larger than the filesystem allows.")
            }
            RequestError::FileTooLarge { limit } => {
                write!(f, "The file is larger than the limit of {limit} bytes.")
            }
            RequestError::Unauthenticated { .. } => f.write_str(
                "Sign in to do this here (the credentials were missing, wrong or expired).",
            ),
            RequestError::NotPermitted { .. } => {
                f.write_str("You are not allowed to do this here.")
            }
            RequestError::AuthBusy { .. } => {
                f.write_str("Too many sign-ins are being checked; try again shortly.")
            }
            RequestError::Throttled { .. } => {
                f.write_str("Too many failed sign-ins from your address; try again later.")
            }
            RequestError::RepeatedAuthorization => {
                f.write_str("The Authorization header may be sent only once.")
            }
            RequestError::NotFound => f.write_str("No such file or directory."),
            RequestError::Forbidden => f.write_str("Access to this path is not allowed."),
            RequestError::ParentMissing => f.write_str("The parent directory does not exist."),
            RequestError::Conflict(why) => write!(f, "Conflict: {why}."),
            RequestError::PreconditionFailed => {
                f.write_str("The file exists and If-None-Match: * was given.")
            }
            RequestError::AlreadyExists { .. } => {
                f.write_str("Something already exists at this path.")
            }
            RequestError::DirectoryMissing => f.write_str("The upload directory does not exist."),
            RequestError::UnsupportedMediaType => {
                f.write_str("Uploads by POST must be multipart/form-data.")
            }
            RequestError::InsufficientStorage => {
                f.write_str("Not enough storage space to store the file.")
            }
            RequestError::Timeout => f.write_str("The request took too long to arrive."),
            RequestError::Busy => f.write_str("The server is busy; try again."),
            RequestError::TooManyUploads => {
                f.write_str("Too many uploads are in progress; try again later.")
            }
            RequestError::TooManyConnections => {
                f.write_str("Too many connections; try again later.")
            }
            RequestError::TooManyPeerConnections => {
                f.write_str("Too many connections from your address; try again later.")
            }
            RequestError::ShuttingDown => {
                f.write_str("The server is shutting down; the request was aborted.")
            }
            RequestError::Io(err) => write!(f, "Internal error: {err}."),
        }
    }
}

impl From<HeadError> for RequestError {
    fn from(e: HeadError) -> Self {
        RequestError::Head(e)
    }
}

impl From<TargetError> for RequestError {
    fn from(e: TargetError) -> Self {
        RequestError::Target(e)
    }
}

impl From<BodyError> for RequestError {
    fn from(e: BodyError) -> Self {
        RequestError::Body(e)
    }
}

impl From<MultipartError> for RequestError {
    fn from(e: MultipartError) -> Self {
        RequestError::Multipart(e)
    }
}

impl From<crate::upload::PipelineError> for RequestError {
    fn from(e: crate::upload::PipelineError) -> Self {
        use crate::upload::{PipelineError, PlanError};
        match e {
            PipelineError::Body(e) => RequestError::Body(e),
            PipelineError::Plan(PlanError::FileTooLarge { limit }) => {
                RequestError::FileTooLarge { limit }
            }
            PipelineError::Plan(PlanError::Multipart(e)) => RequestError::Multipart(e),
        }
    }
}

impl From<io::Error> for RequestError {
    fn from(e: io::Error) -> Self {
        RequestError::from_io(e)
    }
}
