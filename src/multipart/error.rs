//! [`MultipartError`]: everything that can be wrong with a multipart body,
//! and the one table that maps it to an HTTP status.

use std::fmt;

/// Why a multipart/form-data body (or its `Content-Type`) was rejected.
///
/// Small and `Copy`: variants carry the limit that was hit, so a log line or
/// the JSON error body can say which. [`MultipartError::status`] is the one
/// place that maps a variant to an HTTP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartError {
    /// The request's `Content-Type` is not `multipart/form-data` (415).
    UnsupportedMediaType,
    /// The `boundary` parameter is missing, or is not 1..=70 RFC 2046
    /// `bchars` that do not end in a space (400).
    InvalidBoundary,
    /// More than `limit` bytes came before the first delimiter (400).
    PreambleTooLong {
        /// `MultipartLimits::max_preamble_bytes`.
        limit: usize,
    },
    /// A delimiter was followed by something other than `--`, or transport
    /// padding and CRLF (400).
    MalformedDelimiter,
    /// A part's header block is longer than `limit` bytes (431).
    PartHeadersTooLarge {
        /// `MultipartLimits::max_part_header_bytes`.
        limit: usize,
    },
    /// A part has more than `limit` header fields (431).
    TooManyPartHeaders {
        /// `MultipartLimits::max_part_headers`.
        limit: usize,
    },
    /// A part's header block, or its `Content-Disposition`, is not valid
    /// syntax (400).
    MalformedPartHeaders,
    /// A part has no `Content-Disposition: form-data` header (400).
    MissingContentDisposition,
    /// A filename is `.` or `..` after sanitizing, or its `filename*` is
    /// invalid and there is no plain `filename` to fall back on (400).
    InvalidFilename,
    /// The body has more than `limit` parts (413).
    TooManyParts {
        /// `MultipartLimits::max_parts`.
        limit: usize,
    },
    /// The body has more than `limit` parts with a filename (413).
    TooManyFiles {
        /// `MultipartLimits::max_files`.
        limit: usize,
    },
    /// The body ended before the close delimiter (400).
    Truncated,
}

impl MultipartError {
    /// The HTTP status code this error is answered with.
    ///
    /// One exhaustive match, no wildcard: a new variant cannot go unmapped.
    ///
    /// ```
    /// use ringdrop::multipart::MultipartError;
    /// assert_eq!(MultipartError::TooManyFiles { limit: 1 }.status(), 413);
    /// assert_eq!(MultipartError::UnsupportedMediaType.status(), 415);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            MultipartError::UnsupportedMediaType => 415,
            MultipartError::InvalidBoundary => 400,
            MultipartError::PreambleTooLong { .. } => 400,
            MultipartError::MalformedDelimiter => 400,
            MultipartError::PartHeadersTooLarge { .. } => 431,
            MultipartError::TooManyPartHeaders { .. } => 431,
            MultipartError::MalformedPartHeaders => 400,
            MultipartError::MissingContentDisposition => 400,
            MultipartError::InvalidFilename => 400,
            MultipartError::TooManyParts { .. } => 413,
            MultipartError::TooManyFiles { .. } => 413,
            MultipartError::Truncated => 400,
        }
    }

    /// A stable snake_case identifier, used as `"error"` in JSON bodies.
    ///
    /// ```
    /// use ringdrop::multipart::MultipartError;
    /// assert_eq!(MultipartError::Truncated.kind(), "multipart_truncated");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            MultipartError::UnsupportedMediaType => "unsupported_media_type",
            MultipartError::InvalidBoundary => "invalid_boundary",
            MultipartError::PreambleTooLong { .. } => "preamble_too_long",
            MultipartError::MalformedDelimiter => "malformed_delimiter",
            MultipartError::PartHeadersTooLarge { .. } => "part_headers_too_large",
            MultipartError::TooManyPartHeaders { .. } => "too_many_part_headers",
            MultipartError::MalformedPartHeaders => "malformed_part_headers",
            MultipartError::MissingContentDisposition => "missing_content_disposition",
            MultipartError::InvalidFilename => "invalid_filename",
            MultipartError::TooManyParts { .. } => "too_many_parts",
            MultipartError::TooManyFiles { .. } => "too_many_files",
            MultipartError::Truncated => "multipart_truncated",
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::UnsupportedMediaType => {
                f.write_str("the request body must be multipart/form-data")
            }
            MultipartError::InvalidBoundary => {
                f.write_str("the multipart boundary is missing or is not 1 to 70 valid characters")
            }
            MultipartError::PreambleTooLong { limit } => write!(
                f,
                "more than {limit} bytes came before the first multipart boundary"
            ),
            MultipartError::MalformedDelimiter => {
                f.write_str("a multipart boundary was not followed by a line break or by \"--\"")
            }
            MultipartError::PartHeadersTooLarge { limit } => {
                write!(f, "the headers of a multipart part exceed {limit} bytes")
            }
            MultipartError::TooManyPartHeaders { limit } => {
                write!(f, "a multipart part has more than {limit} header fields")
            }
            MultipartError::MalformedPartHeaders => {
                f.write_str("the headers of a multipart part are malformed")
            }
            MultipartError::MissingContentDisposition => {
                f.write_str("a multipart part has no \"Content-Disposition: form-data\" header")
            }
            MultipartError::InvalidFilename => {
                f.write_str("a multipart part has an invalid filename")
            }
            MultipartError::TooManyParts { limit } => {
                write!(f, "the multipart body has more than {limit} parts")
            }
            MultipartError::TooManyFiles { limit } => {
                write!(f, "the multipart body has more than {limit} files")
            }
            MultipartError::Truncated => {
                f.write_str("the multipart body ended before its closing boundary")
            }
        }
    }
}

impl std::error::Error for MultipartError {}

/// Every variant once, with a representative payload (for tests and fuzzing).
#[cfg(test)]
pub(crate) const ALL_ERRORS: &[MultipartError] = &[
    MultipartError::UnsupportedMediaType,
    MultipartError::InvalidBoundary,
    MultipartError::PreambleTooLong { limit: 1 },
    MultipartError::MalformedDelimiter,
    MultipartError::PartHeadersTooLarge { limit: 1 },
    MultipartError::TooManyPartHeaders { limit: 1 },
    MultipartError::MalformedPartHeaders,
    MultipartError::MissingContentDisposition,
    MultipartError::InvalidFilename,
    MultipartError::TooManyParts { limit: 1 },
    MultipartError::TooManyFiles { limit: 1 },
    MultipartError::Truncated,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_kinds_and_messages() {
        let mut kinds = std::collections::HashSet::new();
        for e in ALL_ERRORS {
            assert!(matches!(e.status(), 400 | 413 | 415 | 431), "{e:?}");
            assert!(kinds.insert(e.kind()), "duplicate kind {}", e.kind());
            assert!(e
                .kind()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.ends_with('.'), "{msg}");
        }
        assert_eq!(
            MultipartError::PartHeadersTooLarge { limit: 9 }.status(),
            431
        );
        assert_eq!(MultipartError::TooManyParts { limit: 9 }.status(), 413);
        assert_eq!(MultipartError::InvalidBoundary.status(), 400);
    }
}
