//! Named, finite limits of the HTTP core, each with the status it produces.
#![forbid(unsafe_code)]

/// Limits on the request head (request line + header section).
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Longest request line, in bytes, excluding its CRLF. Over it → 414
    /// ([`HeadError::RequestLineTooLong`](super::HeadError::RequestLineTooLong)),
    /// reported as soon as the line passes the limit.
    pub max_request_line_bytes: usize,
    /// Longest head, in bytes, including leading empty lines and the final
    /// CRLFCRLF. Over it → 431
    /// ([`HeadError::HeadTooLarge`](super::HeadError::HeadTooLarge)).
    pub max_head_bytes: usize,
    /// Most header fields. Over it → 431
    /// ([`HeadError::TooManyHeaders`](super::HeadError::TooManyHeaders)).
    /// Values above [`HeadLimits::MAX_HEADER_SLOTS`] are clamped to it.
    pub max_header_count: usize,
}

impl HeadLimits {
    /// Default for [`HeadLimits::max_request_line_bytes`]: 8 KiB (SPEC; 414).
    pub const DEFAULT_MAX_REQUEST_LINE_BYTES: usize = 8 * 1024;
    /// Default for [`HeadLimits::max_head_bytes`]: 32 KiB (SPEC; 431).
    pub const DEFAULT_MAX_HEAD_BYTES: usize = 32 * 1024;
    /// Default for [`HeadLimits::max_header_count`]: 100 fields (SPEC; 431).
    pub const DEFAULT_MAX_HEADER_COUNT: usize = 100;
    /// Hard ceiling on [`HeadLimits::max_header_count`]: the header parser
    /// uses a stack array of this many slots, so larger configured values
    /// are clamped.
    pub const MAX_HEADER_SLOTS: usize = 256;
    /// Empty lines (CRLF) tolerated before a request line (RFC 9112 §2.2
    /// says a server SHOULD ignore at least one); more → 400
    /// ([`HeadError::TooManyLeadingEmptyLines`](super::HeadError::TooManyLeadingEmptyLines)).
    pub const MAX_LEADING_EMPTY_LINES: usize = 4;
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_request_line_bytes: Self::DEFAULT_MAX_REQUEST_LINE_BYTES,
            max_head_bytes: Self::DEFAULT_MAX_HEAD_BYTES,
            max_header_count: Self::DEFAULT_MAX_HEADER_COUNT,
        }
    }
}

/// Limits on the framing bytes of a chunked body (RFC 9112 §7.1). Chunk data
/// itself is never buffered, so it needs no limit here.
#[derive(Debug, Clone, Copy)]
pub struct ChunkedLimits {
    /// Longest chunk-size line (hex size + extensions), excluding its CRLF.
    /// Over it → 400
    /// ([`BodyError::ChunkExtensionTooLong`](super::BodyError::ChunkExtensionTooLong)).
    pub max_chunk_extension_bytes: usize,
    /// Most chunk-extension bytes in one body, summed over its size lines
    /// (everything after the hex digits: BWS, `;`, names, values; CRLF
    /// excluded), so extensions cannot make a body of tiny chunks costly
    /// (SPEC "Fair share"). Over it → 400
    /// ([`BodyError::ChunkExtensionsTooLarge`](super::BodyError::ChunkExtensionsTooLarge)).
    pub max_total_chunk_extension_bytes: usize,
    /// Longest trailer section, in bytes, including every CRLF. Over it → 431
    /// ([`BodyError::TrailersTooLarge`](super::BodyError::TrailersTooLarge)).
    pub max_trailer_bytes: usize,
}

impl ChunkedLimits {
    /// Default for [`ChunkedLimits::max_chunk_extension_bytes`]: 4 KiB (400).
    pub const DEFAULT_MAX_CHUNK_EXTENSION_BYTES: usize = 4 * 1024;
    /// Default for [`ChunkedLimits::max_total_chunk_extension_bytes`]:
    /// 16 KiB (400), hyper's `CHUNKED_EXTENSIONS_LIMIT`.
    pub const DEFAULT_MAX_TOTAL_CHUNK_EXTENSION_BYTES: usize = 16 * 1024;
    /// Default for [`ChunkedLimits::max_trailer_bytes`]: 16 KiB (431).
    pub const DEFAULT_MAX_TRAILER_BYTES: usize = 16 * 1024;
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        ChunkedLimits {
            max_chunk_extension_bytes: Self::DEFAULT_MAX_CHUNK_EXTENSION_BYTES,
            max_total_chunk_extension_bytes: Self::DEFAULT_MAX_TOTAL_CHUNK_EXTENSION_BYTES,
            max_trailer_bytes: Self::DEFAULT_MAX_TRAILER_BYTES,
        }
    }
}
