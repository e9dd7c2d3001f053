//! Why a digest field or an upload's digest was refused, mapped to the
//! response status in one exhaustive `match`.
#![forbid(unsafe_code)]

use core::fmt;

use super::algorithm::Algorithm;
use crate::http::StatusCode;

/// tus 1.0.0 checksum extension: "460 Checksum Mismatch".
pub const CHECKSUM_MISMATCH: StatusCode = StatusCode(460);

/// The request field a [`DigestError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestField {
    /// `Content-Digest` (RFC 9530 §2).
    ContentDigest,
    /// `Repr-Digest` (RFC 9530 §3).
    ReprDigest,
    /// `Want-Content-Digest` (RFC 9530 §4).
    WantContentDigest,
    /// `Want-Repr-Digest` (RFC 9530 §4).
    WantReprDigest,
    /// tus `Upload-Checksum`.
    UploadChecksum,
}

impl DigestField {
    /// The header field name, as sent in responses and logs.
    pub fn name(self) -> &'static str {
        match self {
            DigestField::ContentDigest => "Content-Digest",
            DigestField::ReprDigest => "Repr-Digest",
            DigestField::WantContentDigest => "Want-Content-Digest",
            DigestField::WantReprDigest => "Want-Repr-Digest",
            DigestField::UploadChecksum => "Upload-Checksum",
        }
    }
}

/// Why a request's digest fields, or the body they describe, were refused.
///
/// Field errors are found in the request head (before `100 Continue`, before
/// any buffer or file is taken); [`Mismatch`](DigestError::Mismatch) and
/// [`ChecksumMismatch`](DigestError::ChecksumMismatch) at the end of the
/// body, before the commit, so nothing is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestError {
    /// The field is not an RFC 8941 Dictionary, or a supported algorithm's
    /// value is not a Byte Sequence of that algorithm's digest length (400).
    /// A generic Structured Fields recipient would ignore such a field; a
    /// server asked to check integrity must not store unchecked bytes.
    Malformed {
        /// The field.
        field: DigestField,
    },
    /// The field's lines together are longer than `limit` bytes (431).
    FieldTooLarge {
        /// The field.
        field: DigestField,
        /// [`MAX_DIGEST_FIELD_BYTES`](super::MAX_DIGEST_FIELD_BYTES).
        limit: usize,
    },
    /// The field has more than `limit` dictionary members (431).
    TooManyMembers {
        /// The field.
        field: DigestField,
        /// [`MAX_DIGEST_FIELD_MEMBERS`](super::MAX_DIGEST_FIELD_MEMBERS).
        limit: usize,
    },
    /// `Content-Digest` and `Repr-Digest` give different values for the
    /// same algorithm of a complete upload, so no body can match (400).
    Conflict {
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// The body's digest is not the one the request announced (400).
    Mismatch {
        /// The first algorithm that did not match.
        algorithm: Algorithm,
    },
    /// A tus `Upload-Checksum` names an algorithm the server does not
    /// support (400, as the tus checksum extension asks).
    ChecksumAlgorithmUnsupported,
    /// A tus chunk's checksum is not the announced one (460).
    ChecksumMismatch {
        /// The algorithm.
        algorithm: Algorithm,
    },
}

impl DigestError {
    /// The response status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            DigestError::Malformed { .. } => StatusCode::BAD_REQUEST,
            DigestError::FieldTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            DigestError::TooManyMembers { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            DigestError::Conflict { .. } => StatusCode::BAD_REQUEST,
            DigestError::Mismatch { .. } => StatusCode::BAD_REQUEST,
            DigestError::ChecksumAlgorithmUnsupported => StatusCode::BAD_REQUEST,
            DigestError::ChecksumMismatch { .. } => CHECKSUM_MISMATCH,
        }
    }

    /// A stable snake_case id, used as the JSON `"error"` field.
    pub fn kind(&self) -> &'static str {
        match self {
            DigestError::Malformed { .. } => "malformed_digest",
            DigestError::FieldTooLarge { .. } => "digest_field_too_large",
            DigestError::TooManyMembers { .. } => "too_many_digest_members",
            DigestError::Conflict { .. } => "conflicting_digests",
            DigestError::Mismatch { .. } => "digest_mismatch",
            DigestError::ChecksumAlgorithmUnsupported => "checksum_algorithm_unsupported",
            DigestError::ChecksumMismatch { .. } => "checksum_mismatch",
        }
    }
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Malformed { field } => {
                write!(f, "The {} header is malformed.", field.name())
            }
            DigestError::FieldTooLarge { field, limit } => {
                write!(
                    f,
                    "The {} header is longer than {limit} bytes.",
                    field.name()
                )
            }
            DigestError::TooManyMembers { field, limit } => {
                write!(
                    f,
                    "The {} header has more than {limit} members.",
                    field.name()
                )
            }
            DigestError::Conflict { algorithm } => write!(
                f,
                "Content-Digest and Repr-Digest give different {} digests.",
                algorithm.tus_name()
            ),
            DigestError::Mismatch { algorithm } => write!(
                f,
                "The body does not match its {} digest; nothing was stored.",
                algorithm.tus_name()
            ),
            DigestError::ChecksumAlgorithmUnsupported => {
                f.write_str("The Upload-Checksum algorithm is not supported.")
            }
            DigestError::ChecksumMismatch { algorithm } => write!(
                f,
                "The chunk does not match its {} checksum; the offset did not move.",
                algorithm.tus_name()
            ),
        }
    }
}

impl std::error::Error for DigestError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_client_status_kind_and_sentence() {
        let f = DigestField::ContentDigest;
        let all = [
            DigestError::Malformed { field: f },
            DigestError::FieldTooLarge { field: f, limit: 1 },
            DigestError::TooManyMembers { field: f, limit: 1 },
            DigestError::Conflict {
                algorithm: Algorithm::Sha256,
            },
            DigestError::Mismatch {
                algorithm: Algorithm::Sha512,
            },
            DigestError::ChecksumAlgorithmUnsupported,
            DigestError::ChecksumMismatch {
                algorithm: Algorithm::Sha1,
            },
        ];
        let mut kinds: Vec<&str> = all.iter().map(DigestError::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len(), "kinds are unique");
        for e in all {
            assert!((400..500).contains(&e.status().as_u16()), "{e:?}");
            assert!(e.to_string().ends_with('.'), "{e}");
        }
        assert_eq!(
            DigestError::Mismatch {
                algorithm: Algorithm::Sha256
            }
            .kind(),
            "digest_mismatch"
        );
    }
}
