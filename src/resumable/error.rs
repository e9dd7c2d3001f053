//! [`ResumableError`]: everything a resumable-upload request can be refused
//! for, and the one table that maps it to an HTTP status; [`RecordError`]:
//! why an on-disk upload record was not accepted.

use std::fmt;

/// A request header the resumable codecs read, named in errors so the JSON
/// body can say which field was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `Tus-Resumable`
    TusResumable,
    /// `Upload-Length`
    UploadLength,
    /// `Upload-Offset`
    UploadOffset,
    /// `Upload-Defer-Length`
    UploadDeferLength,
    /// `Upload-Metadata`
    UploadMetadata,
    /// `Upload-Checksum`
    UploadChecksum,
    /// `Upload-Complete`
    UploadComplete,
    /// `Upload-Incomplete` (draft -01, interop version 3)
    UploadIncomplete,
    /// `Upload-Draft-Interop-Version`
    UploadDraftInteropVersion,
    /// `Content-Type`
    ContentType,
    /// `X-HTTP-Method-Override`
    MethodOverride,
}

impl Field {
    /// The header name as it is written on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Field::TusResumable => "Tus-Resumable",
            Field::UploadLength => "Upload-Length",
            Field::UploadOffset => "Upload-Offset",
            Field::UploadDeferLength => "Upload-Defer-Length",
            Field::UploadMetadata => "Upload-Metadata",
            Field::UploadChecksum => "Upload-Checksum",
            Field::UploadComplete => "Upload-Complete",
            Field::UploadIncomplete => "Upload-Incomplete",
            Field::UploadDraftInteropVersion => "Upload-Draft-Interop-Version",
            Field::ContentType => "Content-Type",
            Field::MethodOverride => "X-HTTP-Method-Override",
        }
    }

    /// Every field, for tables and tests.
    pub const ALL: [Field; 11] = [
        Field::TusResumable,
        Field::UploadLength,
        Field::UploadOffset,
        Field::UploadDeferLength,
        Field::UploadMetadata,
        Field::UploadChecksum,
        Field::UploadComplete,
        Field::UploadIncomplete,
        Field::UploadDraftInteropVersion,
        Field::ContentType,
        Field::MethodOverride,
    ];
}

/// Why a resumable-upload request is refused.
///
/// Small and `Copy`; [`ResumableError::status`] is the one place that maps
/// a variant to its HTTP status, [`ResumableError::kind`] to the `error`
/// member of the JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumableError {
    /// `Tus-Resumable` is missing (on a request that needs it) or is not
    /// `1.0.0` (412, with `Tus-Version`; tus 1.0 "Tus-Resumable").
    UnsupportedTusVersion,
    /// `Upload-Draft-Interop-Version` names a draft this server does not
    /// speak, on a request that cannot fall back to a plain upload (400).
    UnsupportedInteropVersion,
    /// A header value does not parse (400).
    InvalidHeader {
        /// Which header.
        field: Field,
    },
    /// A header the operation requires is absent (400).
    MissingHeader {
        /// Which header.
        field: Field,
    },
    /// A header that must appear at most once appears again (400).
    DuplicateHeader {
        /// Which header.
        field: Field,
    },
    /// tus creation with both `Upload-Length` and `Upload-Defer-Length`
    /// (400).
    AmbiguousLength,
    /// `Upload-Metadata` is longer than `limit` bytes (431).
    MetadataTooLarge {
        /// `ResumableLimits::max_metadata_bytes`.
        limit: usize,
    },
    /// `Upload-Checksum` names an algorithm other than `sha1` / `sha256`
    /// (400, tus 1.0 checksum extension).
    UnsupportedChecksumAlgorithm,
    /// The chunk's digest differs from its `Upload-Checksum` (460 Checksum
    /// Mismatch); the chunk is not appended and the offset does not move.
    ChecksumMismatch,
    /// A tus PATCH (or creation-with-upload) whose `Content-Type` is not
    /// `application/offset+octet-stream` (415).
    WrongContentType,
    /// `Upload-Offset` differs from the upload's durable offset (409; IETF
    /// problem type `mismatching-upload-offset`). The response carries the
    /// right offset in `Upload-Offset`.
    OffsetMismatch {
        /// The upload's offset.
        expected: u64,
        /// The request's `Upload-Offset`.
        provided: u64,
    },
    /// Two length indications disagree, a length would be changed once set,
    /// is below the offset, or a completed upload's bytes differ from its
    /// declared length (400; IETF problem type `inconsistent-upload-length`).
    InconsistentLength,
    /// The upload would grow past its declared length or past `limit`, the
    /// largest upload the server stores (413).
    TooLarge {
        /// The bound that was hit, in bytes.
        limit: u64,
    },
    /// The method does not apply to an upload URL (405, with `Allow`).
    MethodNotAllowed,
    /// No such upload, or a path under the staging directory that is no
    /// upload URL (404).
    NotFound,
    /// The upload expired (410; tus expiration extension).
    Gone,
    /// Bytes sent to an upload that is already complete (400; IETF problem
    /// type `completed-upload`).
    UploadCompleted,
    /// Another request holds this upload (423 Locked, `Retry-After: 1`):
    /// one writer at a time, the second is refused at once, never queued.
    UploadBusy,
    /// `limit` unfinished uploads exist already (503, `Retry-After`).
    TooManyUploads {
        /// `ResumableLimits::max_unfinished_uploads`.
        limit: u64,
    },
    /// Unfinished uploads hold `limit` bytes of staging space already (507).
    StagingFull {
        /// `ResumableLimits::max_staged_bytes`.
        limit: u64,
    },
    /// The target directory's path is longer than `limit` bytes, more than
    /// the upload record holds (414).
    TargetPathTooLong {
        /// [`MAX_TARGET_DIR_BYTES`](super::MAX_TARGET_DIR_BYTES).
        limit: usize,
    },
    /// The filename (from metadata or the URL) is `.` or `..` after
    /// sanitizing (400).
    InvalidFilename,
    /// The request's identity is not the upload's creator (403): an upload
    /// is continued, inspected or cancelled only by whoever created it.
    NotOwner,
    /// The owner identity the server passed is longer than `limit` bytes or
    /// has control characters (500: a server bug, never client input).
    InvalidOwner {
        /// [`MAX_OWNER_BYTES`](super::MAX_OWNER_BYTES).
        limit: usize,
    },
}

impl ResumableError {
    /// The HTTP status code this error is answered with.
    ///
    /// One exhaustive match, no wildcard: a new variant cannot go unmapped.
    ///
    /// ```
    /// use ringdrop::resumable::ResumableError;
    /// assert_eq!(ResumableError::ChecksumMismatch.status(), 460);
    /// assert_eq!(ResumableError::OffsetMismatch { expected: 1, provided: 2 }.status(), 409);
    /// assert_eq!(ResumableError::UploadBusy.status(), 423);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            ResumableError::UnsupportedTusVersion => 412,
            ResumableError::UnsupportedInteropVersion => 400,
            ResumableError::InvalidHeader { .. } => 400,
            ResumableError::MissingHeader { .. } => 400,
            ResumableError::DuplicateHeader { .. } => 400,
            ResumableError::AmbiguousLength => 400,
            ResumableError::MetadataTooLarge { .. } => 431,
            ResumableError::UnsupportedChecksumAlgorithm => 400,
            ResumableError::ChecksumMismatch => 460,
            ResumableError::WrongContentType => 415,
            ResumableError::OffsetMismatch { .. } => 409,
            ResumableError::InconsistentLength => 400,
            ResumableError::TooLarge { .. } => 413,
            ResumableError::MethodNotAllowed => 405,
            ResumableError::NotFound => 404,
            ResumableError::Gone => 410,
            ResumableError::UploadCompleted => 400,
            ResumableError::UploadBusy => 423,
            ResumableError::TooManyUploads { .. } => 503,
            ResumableError::StagingFull { .. } => 507,
            ResumableError::TargetPathTooLong { .. } => 414,
            ResumableError::InvalidFilename => 400,
            ResumableError::NotOwner => 403,
            ResumableError::InvalidOwner { .. } => 500,
        }
    }

    /// The machine-readable kind for the JSON error body (`"error"`).
    pub fn kind(&self) -> &'static str {
        match self {
            ResumableError::UnsupportedTusVersion => "unsupported_tus_version",
            ResumableError::UnsupportedInteropVersion => "unsupported_interop_version",
            ResumableError::InvalidHeader { .. } => "invalid_header",
            ResumableError::MissingHeader { .. } => "missing_header",
            ResumableError::DuplicateHeader { .. } => "duplicate_header",
            ResumableError::AmbiguousLength => "ambiguous_upload_length",
            ResumableError::MetadataTooLarge { .. } => "metadata_too_large",
            ResumableError::UnsupportedChecksumAlgorithm => "unsupported_checksum_algorithm",
            ResumableError::ChecksumMismatch => "checksum_mismatch",
            ResumableError::WrongContentType => "unsupported_media_type",
            ResumableError::OffsetMismatch { .. } => "offset_mismatch",
            ResumableError::InconsistentLength => "inconsistent_upload_length",
            ResumableError::TooLarge { .. } => "too_large",
            ResumableError::MethodNotAllowed => "method_not_allowed",
            ResumableError::NotFound => "upload_not_found",
            ResumableError::Gone => "upload_expired",
            ResumableError::UploadCompleted => "upload_completed",
            ResumableError::UploadBusy => "upload_busy",
            ResumableError::TooManyUploads { .. } => "too_many_uploads",
            ResumableError::StagingFull { .. } => "staging_full",
            ResumableError::TargetPathTooLong { .. } => "target_path_too_long",
            ResumableError::InvalidFilename => "invalid_filename",
            ResumableError::NotOwner => "forbidden",
            ResumableError::InvalidOwner { .. } => "internal_error",
        }
    }

    /// The IETF draft's problem type URI (RFC 9457) for the three errors the
    /// draft defines one for; IETF responses carry them as
    /// `application/problem+json`.
    pub fn problem_type(&self) -> Option<&'static str> {
        match self {
            ResumableError::OffsetMismatch { .. } => Some(PROBLEM_MISMATCHING_OFFSET),
            ResumableError::UploadCompleted => Some(PROBLEM_COMPLETED_UPLOAD),
            ResumableError::InconsistentLength => Some(PROBLEM_INCONSISTENT_LENGTH),
            _ => None,
        }
    }
}

/// IETF problem type: `Upload-Offset` differs from the upload's offset.
pub const PROBLEM_MISMATCHING_OFFSET: &str =
    "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
/// IETF problem type: the upload is already complete.
pub const PROBLEM_COMPLETED_UPLOAD: &str =
    "https://iana.org/assignments/http-problem-types#completed-upload";
/// IETF problem type: length indications disagree.
pub const PROBLEM_INCONSISTENT_LENGTH: &str =
    "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";

impl fmt::Display for ResumableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResumableError::UnsupportedTusVersion => {
                f.write_str("this server speaks tus 1.0.0 (Tus-Resumable: 1.0.0)")
            }
            ResumableError::UnsupportedInteropVersion => {
                f.write_str("this server does not speak that Upload-Draft-Interop-Version")
            }
            ResumableError::InvalidHeader { field } => {
                write!(f, "the {} header is not valid", field.name())
            }
            ResumableError::MissingHeader { field } => {
                write!(f, "the {} header is required", field.name())
            }
            ResumableError::DuplicateHeader { field } => {
                write!(f, "the {} header must appear once", field.name())
            }
            ResumableError::AmbiguousLength => {
                f.write_str("send either Upload-Length or Upload-Defer-Length, not both")
            }
            ResumableError::MetadataTooLarge { limit } => {
                write!(f, "Upload-Metadata is longer than {limit} bytes")
            }
            ResumableError::UnsupportedChecksumAlgorithm => {
                f.write_str("Upload-Checksum supports sha1, sha256 and sha512")
            }
            ResumableError::ChecksumMismatch => {
                f.write_str("the chunk does not match its Upload-Checksum; it was not stored")
            }
            ResumableError::WrongContentType => {
                f.write_str("upload data must be sent as application/offset+octet-stream")
            }
            ResumableError::OffsetMismatch { expected, provided } => write!(
                f,
                "Upload-Offset is {provided} but the upload's offset is {expected}"
            ),
            ResumableError::InconsistentLength => {
                f.write_str("the upload length does not match what was declared before")
            }
            ResumableError::TooLarge { limit } => {
                write!(f, "the upload would be larger than {limit} bytes")
            }
            ResumableError::MethodNotAllowed => {
                f.write_str("an upload URL accepts HEAD, PATCH, DELETE and OPTIONS")
            }
            ResumableError::NotFound => f.write_str("no such upload"),
            ResumableError::Gone => f.write_str("the upload expired; start a new one"),
            ResumableError::UploadCompleted => f.write_str("the upload is already complete"),
            ResumableError::UploadBusy => {
                f.write_str("another request is writing to this upload; retry shortly")
            }
            ResumableError::TooManyUploads { limit } => {
                write!(
                    f,
                    "the server holds {limit} unfinished uploads; retry later"
                )
            }
            ResumableError::StagingFull { limit } => write!(
                f,
                "unfinished uploads hold {limit} bytes already; no room for more"
            ),
            ResumableError::TargetPathTooLong { limit } => {
                write!(
                    f,
                    "the target directory's path is longer than {limit} bytes"
                )
            }
            ResumableError::InvalidFilename => f.write_str("the filename is not usable"),
            ResumableError::NotOwner => f.write_str("this upload belongs to another identity"),
            ResumableError::InvalidOwner { limit } => write!(
                f,
                "internal error: owner identity over {limit} bytes or with control characters"
            ),
        }
    }
}

impl std::error::Error for ResumableError {}

/// Why bytes read from an upload record file are not a valid record. The
/// server treats such a record as absent (404) and logs the reason: a torn,
/// foreign or corrupted file never becomes an upload's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Shorter than the fixed part, or its length field disagrees with the
    /// bytes read.
    Truncated,
    /// Not a ringdrop upload record (wrong magic).
    BadMagic,
    /// A record format this build does not read (a newer server wrote it).
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// The SHA-256 over the record does not match: torn or corrupted.
    DigestMismatch,
    /// The digest matches but a field breaks the record's invariants.
    InvalidField {
        /// Which field, for the log line.
        field: &'static str,
    },
    /// Encoding would exceed [`RECORD_MAX_BYTES`](super::RECORD_MAX_BYTES)
    /// (only if a limit was bypassed: the record's fields are bounded).
    TooLarge,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => f.write_str("upload record is truncated"),
            RecordError::BadMagic => f.write_str("not an upload record"),
            RecordError::UnsupportedVersion { found } => {
                write!(f, "upload record version {found} is not supported")
            }
            RecordError::DigestMismatch => f.write_str("upload record digest mismatch"),
            RecordError::InvalidField { field } => {
                write!(f, "upload record field {field} is invalid")
            }
            RecordError::TooLarge => f.write_str("upload record would be too large"),
        }
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_an_error_status_and_every_kind_is_snake_case() {
        let all = [
            ResumableError::UnsupportedTusVersion,
            ResumableError::UnsupportedInteropVersion,
            ResumableError::InvalidHeader {
                field: Field::UploadOffset,
            },
            ResumableError::MissingHeader {
                field: Field::UploadOffset,
            },
            ResumableError::DuplicateHeader {
                field: Field::UploadOffset,
            },
            ResumableError::AmbiguousLength,
            ResumableError::MetadataTooLarge { limit: 1 },
            ResumableError::UnsupportedChecksumAlgorithm,
            ResumableError::ChecksumMismatch,
            ResumableError::WrongContentType,
            ResumableError::OffsetMismatch {
                expected: 1,
                provided: 2,
            },
            ResumableError::InconsistentLength,
            ResumableError::TooLarge { limit: 1 },
            ResumableError::MethodNotAllowed,
            ResumableError::NotFound,
            ResumableError::Gone,
            ResumableError::UploadCompleted,
            ResumableError::UploadBusy,
            ResumableError::TooManyUploads { limit: 1 },
            ResumableError::StagingFull { limit: 1 },
            ResumableError::TargetPathTooLong { limit: 1 },
            ResumableError::InvalidFilename,
            ResumableError::NotOwner,
            ResumableError::InvalidOwner { limit: 1 },
        ];
        for e in all {
            assert!((400..600).contains(&e.status()), "{e:?}");
            assert!(
                e.kind()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{e:?}"
            );
            assert!(!e.to_string().is_empty());
        }
        for field in Field::ALL {
            assert!(field.name().contains('-'));
        }
    }
}
