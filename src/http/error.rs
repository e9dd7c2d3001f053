//! Typed errors of the HTTP core, each mapped to its response status in one
//! exhaustive `match` (no `_ =>` arm, so a new variant cannot go unmapped).
//!
//! Every error type offers three things the server needs to answer:
//! [`status`](HeadError::status) (the HTTP status), `kind` (a stable
//! snake_case id for the JSON `"error"` field) and `Display` (one human
//! sentence for the JSON `"message"` field).
#![forbid(unsafe_code)]

use core::fmt;

use super::response::StatusCode;

/// Why a request head (request line + header section) was refused.
///
/// Produced by [`HeadParser::parse`](super::HeadParser::parse) (syntax and
/// limits) and by [`analyze`](super::analyze) (framing and smuggling rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The request line is longer than `limit` bytes (414).
    RequestLineTooLong {
        /// `HeadLimits::max_request_line_bytes`.
        limit: usize,
    },
    /// The head is longer than `limit` bytes (431).
    HeadTooLarge {
        /// `HeadLimits::max_head_bytes`.
        limit: usize,
    },
    /// The head has more than `limit` header fields (431).
    TooManyHeaders {
        /// `HeadLimits::max_header_count`.
        limit: usize,
    },
    /// The request line or a header field is not valid HTTP/1.1 syntax (400).
    Malformed,
    /// A line ends with a bare LF instead of CRLF (400).
    BareLf,
    /// More empty lines before the request line than tolerated (400).
    TooManyLeadingEmptyLines,
    /// A header line starts with SP or HTAB (obsolete line folding, 400).
    ObsFold,
    /// Whitespace between a header field name and its colon (400).
    WhitespaceBeforeColon,
    /// A well-formed `HTTP/x.y` version other than 1.0 and 1.1 (505).
    UnsupportedVersion,
    /// An HTTP/1.1 request without a Host header (400).
    MissingHost,
    /// More than one Host header (400).
    RepeatedHost,
    /// Both Content-Length and Transfer-Encoding are present (400).
    LengthWithTransferEncoding,
    /// Several Content-Length values that differ (400).
    ConflictingContentLength,
    /// A Content-Length value that is not 1 to 19 ASCII digits (400).
    InvalidContentLength,
    /// The final transfer coding is not `chunked` (400).
    TransferEncodingNotChunked,
    /// `chunked` is applied more than once (400).
    RepeatedChunked,
    /// A transfer coding other than `chunked` is applied (501).
    UnsupportedTransferEncoding,
    /// Transfer-Encoding in an HTTP/1.0 request (400).
    TransferEncodingInHttp10,
    /// An `Expect` value other than `100-continue` (417).
    UnsupportedExpectation,
}

impl HeadError {
    /// The response status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            HeadError::RequestLineTooLong { .. } => StatusCode::URI_TOO_LONG,
            HeadError::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            HeadError::TooManyHeaders { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            HeadError::Malformed => StatusCode::BAD_REQUEST,
            HeadError::BareLf => StatusCode::BAD_REQUEST,
            HeadError::TooManyLeadingEmptyLines => StatusCode::BAD_REQUEST,
            HeadError::ObsFold => StatusCode::BAD_REQUEST,
            HeadError::WhitespaceBeforeColon => StatusCode::BAD_REQUEST,
            HeadError::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            HeadError::MissingHost => StatusCode::BAD_REQUEST,
            HeadError::RepeatedHost => StatusCode::BAD_REQUEST,
            HeadError::LengthWithTransferEncoding => StatusCode::BAD_REQUEST,
            HeadError::ConflictingContentLength => StatusCode::BAD_REQUEST,
            HeadError::InvalidContentLength => StatusCode::BAD_REQUEST,
            HeadError::TransferEncodingNotChunked => StatusCode::BAD_REQUEST,
            HeadError::RepeatedChunked => StatusCode::BAD_REQUEST,
            HeadError::UnsupportedTransferEncoding => StatusCode::NOT_IMPLEMENTED,
            HeadError::TransferEncodingInHttp10 => StatusCode::BAD_REQUEST,
            HeadError::UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
        }
    }

    /// A stable snake_case id, used as the JSON `"error"` field.
    pub fn kind(&self) -> &'static str {
        match self {
            HeadError::RequestLineTooLong { .. } => "request_line_too_long",
            HeadError::HeadTooLarge { .. } => "head_too_large",
            HeadError::TooManyHeaders { .. } => "too_many_headers",
            HeadError::Malformed => "malformed_request",
            HeadError::BareLf => "bare_lf",
            HeadError::TooManyLeadingEmptyLines => "too_many_leading_empty_lines",
            HeadError::ObsFold => "obs_fold",
            HeadError::WhitespaceBeforeColon => "whitespace_before_colon",
            HeadError::UnsupportedVersion => "unsupported_version",
            HeadError::MissingHost => "missing_host",
            HeadError::RepeatedHost => "repeated_host",
            HeadError::LengthWithTransferEncoding => "length_with_transfer_encoding",
            HeadError::ConflictingContentLength => "conflicting_content_length",
            HeadError::InvalidContentLength => "invalid_content_length",
            HeadError::TransferEncodingNotChunked => "transfer_encoding_not_chunked",
            HeadError::RepeatedChunked => "repeated_chunked",
            HeadError::UnsupportedTransferEncoding => "unsupported_transfer_encoding",
            HeadError::TransferEncodingInHttp10 => "transfer_encoding_in_http10",
            HeadError::UnsupportedExpectation => "unsupported_expectation",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::RequestLineTooLong { limit } => {
                write!(f, "The request line is longer than {limit} bytes.")
            }
            HeadError::HeadTooLarge { limit } => {
                write!(
                    f,
                    "The request header section is longer than {limit} bytes."
                )
            }
            HeadError::TooManyHeaders { limit } => {
                write!(f, "The request has more than {limit} header fields.")
            }
            HeadError::Malformed => f.write_str("The request line or a header field is malformed."),
            HeadError::BareLf => {
                f.write_str("A line of the request head ends with a bare LF instead of CRLF.")
            }
            HeadError::TooManyLeadingEmptyLines => {
                f.write_str("Too many empty lines precede the request line.")
            }
            HeadError::ObsFold => f.write_str("Obsolete header line folding is not accepted."),
            HeadError::WhitespaceBeforeColon => {
                f.write_str("Whitespace between a header field name and its colon is not accepted.")
            }
            HeadError::UnsupportedVersion => {
                f.write_str("Only HTTP/1.0 and HTTP/1.1 are supported.")
            }
            HeadError::MissingHost => f.write_str("An HTTP/1.1 request must carry a Host header."),
            HeadError::RepeatedHost => {
                f.write_str("The request carries more than one Host header.")
            }
            HeadError::LengthWithTransferEncoding => {
                f.write_str("The request carries both Content-Length and Transfer-Encoding.")
            }
            HeadError::ConflictingContentLength => {
                f.write_str("The request carries differing Content-Length values.")
            }
            HeadError::InvalidContentLength => {
                f.write_str("The Content-Length value is not a valid length.")
            }
            HeadError::TransferEncodingNotChunked => {
                f.write_str("The final transfer coding of a request must be chunked.")
            }
            HeadError::RepeatedChunked => {
                f.write_str("The chunked transfer coding is applied more than once.")
            }
            HeadError::UnsupportedTransferEncoding => {
                f.write_str("Only the chunked transfer coding is supported.")
            }
            HeadError::TransferEncodingInHttp10 => {
                f.write_str("Transfer-Encoding is not allowed in an HTTP/1.0 request.")
            }
            HeadError::UnsupportedExpectation => {
                f.write_str("Only the 100-continue expectation is supported.")
            }
        }
    }
}

impl std::error::Error for HeadError {}

/// Why a request body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// A chunk-size line without hex digits, with whitespace before the
    /// size or after it but not before a `;`, or with a non-hex byte where
    /// the size is expected (400).
    InvalidChunkSize,
    /// A chunk size of more than 16 hex digits or beyond `u64` (400).
    ChunkSizeOverflow,
    /// A chunk-size line (size + extensions) longer than `limit` bytes (400).
    ChunkExtensionTooLong {
        /// `ChunkedLimits::max_chunk_extension_bytes`.
        limit: usize,
    },
    /// The chunk extensions of one body total more than `limit` bytes (400).
    ChunkExtensionsTooLarge {
        /// `ChunkedLimits::max_total_chunk_extension_bytes`.
        limit: usize,
    },
    /// A control character (other than HTAB) inside a chunk extension (400).
    InvalidChunkExtension,
    /// A CR not followed by LF, or a bare LF, in chunk framing (400).
    InvalidLineEnding,
    /// Chunk data not followed by CRLF (400).
    MissingChunkCrlf,
    /// The trailer section is longer than `limit` bytes (431, like an
    /// oversized header section).
    TrailersTooLarge {
        /// `ChunkedLimits::max_trailer_bytes`.
        limit: usize,
    },
    /// A trailer line that is not a plausible header field (400).
    InvalidTrailer,
    /// The input ended before the body was complete (400); reported only by
    /// [`BodyDecoder::finish`](super::BodyDecoder::finish).
    Truncated,
}

impl BodyError {
    /// The response status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::InvalidChunkSize => StatusCode::BAD_REQUEST,
            BodyError::ChunkSizeOverflow => StatusCode::BAD_REQUEST,
            BodyError::ChunkExtensionTooLong { .. } => StatusCode::BAD_REQUEST,
            BodyError::ChunkExtensionsTooLarge { .. } => StatusCode::BAD_REQUEST,
            BodyError::InvalidChunkExtension => StatusCode::BAD_REQUEST,
            BodyError::InvalidLineEnding => StatusCode::BAD_REQUEST,
            BodyError::MissingChunkCrlf => StatusCode::BAD_REQUEST,
            BodyError::TrailersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            BodyError::InvalidTrailer => StatusCode::BAD_REQUEST,
            BodyError::Truncated => StatusCode::BAD_REQUEST,
        }
    }

    /// A stable snake_case id, used as the JSON `"error"` field.
    pub fn kind(&self) -> &'static str {
        match self {
            BodyError::InvalidChunkSize => "invalid_chunk_size",
            BodyError::ChunkSizeOverflow => "chunk_size_overflow",
            BodyError::ChunkExtensionTooLong { .. } => "chunk_extension_too_long",
            BodyError::ChunkExtensionsTooLarge { .. } => "chunk_extensions_too_large",
            BodyError::InvalidChunkExtension => "invalid_chunk_extension",
            BodyError::InvalidLineEnding => "invalid_line_ending",
            BodyError::MissingChunkCrlf => "missing_chunk_crlf",
            BodyError::TrailersTooLarge { .. } => "trailers_too_large",
            BodyError::InvalidTrailer => "invalid_trailer",
            BodyError::Truncated => "truncated_body",
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::InvalidChunkSize => {
                f.write_str("A chunk size is not a valid hexadecimal number.")
            }
            BodyError::ChunkSizeOverflow => f.write_str("A chunk size is too large."),
            BodyError::ChunkExtensionTooLong { limit } => {
                write!(f, "A chunk-size line is longer than {limit} bytes.")
            }
            BodyError::ChunkExtensionsTooLarge { limit } => {
                write!(
                    f,
                    "The chunk extensions of the body total more than {limit} bytes."
                )
            }
            BodyError::InvalidChunkExtension => {
                f.write_str("A chunk extension contains a control character.")
            }
            BodyError::InvalidLineEnding => {
                f.write_str("A line of chunked framing does not end with CRLF.")
            }
            BodyError::MissingChunkCrlf => f.write_str("Chunk data is not followed by CRLF."),
            BodyError::TrailersTooLarge { limit } => {
                write!(
                    f,
                    "The chunked trailer section is longer than {limit} bytes."
                )
            }
            BodyError::InvalidTrailer => f.write_str("A chunked trailer field is malformed."),
            BodyError::Truncated => f.write_str("The request body ended before it was complete."),
        }
    }
}

impl std::error::Error for BodyError {}

/// Why a request-target could not be mapped to a path under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// Not origin-form (`/path`) or absolute-form (`http://host/path`) (400).
    Malformed,
    /// A `%` not followed by two hex digits (400).
    InvalidPercentEncoding,
    /// A decoded NUL byte (400).
    NulByte,
    /// A decoded control character other than NUL (C0 or DEL) (400).
    ControlChar,
    /// The decoded path (or the raw query) is not UTF-8 (400).
    NotUtf8,
    /// A `..` segment, raw or percent-encoded (403).
    Traversal,
    /// A `%2F` inside a segment (400).
    EncodedSlash,
    /// A backslash, raw or percent-encoded (400).
    Backslash,
    /// A `#fragment`, which clients must not send (400).
    Fragment,
}

impl TargetError {
    /// The response status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            TargetError::Malformed => StatusCode::BAD_REQUEST,
            TargetError::InvalidPercentEncoding => StatusCode::BAD_REQUEST,
            TargetError::NulByte => StatusCode::BAD_REQUEST,
            TargetError::ControlChar => StatusCode::BAD_REQUEST,
            TargetError::NotUtf8 => StatusCode::BAD_REQUEST,
            TargetError::Traversal => StatusCode::FORBIDDEN,
            TargetError::EncodedSlash => StatusCode::BAD_REQUEST,
            TargetError::Backslash => StatusCode::BAD_REQUEST,
            TargetError::Fragment => StatusCode::BAD_REQUEST,
        }
    }

    /// A stable snake_case id, used as the JSON `"error"` field.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetError::Malformed => "malformed_target",
            TargetError::InvalidPercentEncoding => "invalid_percent_encoding",
            TargetError::NulByte => "nul_byte",
            TargetError::ControlChar => "control_char",
            TargetError::NotUtf8 => "not_utf8",
            TargetError::Traversal => "traversal",
            TargetError::EncodedSlash => "encoded_slash",
            TargetError::Backslash => "backslash",
            TargetError::Fragment => "fragment",
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Malformed => f.write_str("The request target must be an absolute path."),
            TargetError::InvalidPercentEncoding => {
                f.write_str("The request target contains an invalid percent-encoding.")
            }
            TargetError::NulByte => f.write_str("The request target contains a NUL byte."),
            TargetError::ControlChar => {
                f.write_str("The request target contains a control character.")
            }
            TargetError::NotUtf8 => f.write_str("The request target is not valid UTF-8."),
            TargetError::Traversal => {
                f.write_str("The request target leaves the served directory.")
            }
            TargetError::EncodedSlash => {
                f.write_str("The request target contains an encoded slash.")
            }
            TargetError::Backslash => f.write_str("The request target contains a backslash."),
            TargetError::Fragment => f.write_str("The request target contains a fragment."),
        }
    }
}

impl std::error::Error for TargetError {}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[HeadError] = &[
        HeadError::RequestLineTooLong { limit: 1 },
        HeadError::HeadTooLarge { limit: 1 },
        HeadError::TooManyHeaders { limit: 1 },
        HeadError::Malformed,
        HeadError::BareLf,
        HeadError::TooManyLeadingEmptyLines,
        HeadError::ObsFold,
        HeadError::WhitespaceBeforeColon,
        HeadError::UnsupportedVersion,
        HeadError::MissingHost,
        HeadError::RepeatedHost,
        HeadError::LengthWithTransferEncoding,
        HeadError::ConflictingContentLength,
        HeadError::InvalidContentLength,
        HeadError::TransferEncodingNotChunked,
        HeadError::RepeatedChunked,
        HeadError::UnsupportedTransferEncoding,
        HeadError::TransferEncodingInHttp10,
        HeadError::UnsupportedExpectation,
    ];
    const BODY: &[BodyError] = &[
        BodyError::InvalidChunkSize,
        BodyError::ChunkSizeOverflow,
        BodyError::ChunkExtensionTooLong { limit: 1 },
        BodyError::ChunkExtensionsTooLarge { limit: 1 },
        BodyError::InvalidChunkExtension,
        BodyError::InvalidLineEnding,
        BodyError::MissingChunkCrlf,
        BodyError::TrailersTooLarge { limit: 1 },
        BodyError::InvalidTrailer,
        BodyError::Truncated,
    ];
    const TARGET: &[TargetError] = &[
        TargetError::Malformed,
        TargetError::InvalidPercentEncoding,
        TargetError::NulByte,
        TargetError::ControlChar,
        TargetError::NotUtf8,
        TargetError::Traversal,
        TargetError::EncodedSlash,
        TargetError::Backslash,
        TargetError::Fragment,
    ];

    fn check(all: &[(&'static str, String, u16)]) {
        let mut kinds: Vec<&str> = all.iter().map(|(k, _, _)| *k).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len(), "kinds must be unique");
        for (kind, message, status) in all {
            assert!(
                kind.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{kind}"
            );
            assert!(
                message.ends_with('.') && message.len() > 10,
                "{kind}: {message}"
            );
            assert!((400..=599).contains(status), "{kind}: {status}");
        }
    }

    #[test]
    fn kinds_unique_messages_sentences_statuses_errors() {
        let mut all: Vec<(&'static str, String, u16)> = Vec::new();
        all.extend(
            HEAD.iter()
                .map(|e| (e.kind(), e.to_string(), e.status().as_u16())),
        );
        all.extend(
            BODY.iter()
                .map(|e| (e.kind(), e.to_string(), e.status().as_u16())),
        );
        all.extend(
            TARGET
                .iter()
                .map(|e| (e.kind(), e.to_string(), e.status().as_u16())),
        );
        check(&all);
    }

    #[test]
    fn limits_appear_in_messages() {
        assert!(HeadError::HeadTooLarge { limit: 32768 }
            .to_string()
            .contains("32768"));
        assert!(BodyError::TrailersTooLarge { limit: 77 }
            .to_string()
            .contains("77"));
        assert_eq!(
            BodyError::TrailersTooLarge { limit: 1 }.status(),
            StatusCode(431)
        );
    }
}
