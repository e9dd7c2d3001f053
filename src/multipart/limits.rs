//! [`MultipartLimits`]: every bound the multipart core enforces, in one place.

/// Bounds on a multipart/form-data body. Every field is finite; the doc of
/// each names the status code the server answers when it is exceeded.
///
/// Part content is not limited here: a file's size is the server's
/// business (it knows its `max_file_size` and counts `Data` bytes), and a
/// plain form field is read and discarded as it streams, never stored, so
/// however large it is it costs no memory.
#[derive(Debug, Clone, Copy)]
pub struct MultipartLimits {
    /// Bytes in one part's header block, including its terminating empty
    /// line (SPEC: "multipart part headers 8 KiB"). Over it: 431.
    pub max_part_header_bytes: usize,
    /// Header fields in one part. Over it: 431.
    pub max_part_headers: usize,
    /// Parts in one body (SPEC: "parts per request"). Over it: 413.
    pub max_parts: usize,
    /// Parts with a (non-empty) filename in one body. Over it: 413.
    pub max_files: usize,
    /// Bytes before the first delimiter (RFC 2046 preamble). Over it: 400.
    pub max_preamble_bytes: usize,
}

impl MultipartLimits {
    /// Default for [`MultipartLimits::max_part_header_bytes`]: 8 KiB.
    pub const DEFAULT_MAX_PART_HEADER_BYTES: usize = 8192;
    /// Default for [`MultipartLimits::max_part_headers`]: 16 fields.
    pub const DEFAULT_MAX_PART_HEADERS: usize = 16;
    /// Default for [`MultipartLimits::max_parts`]: 1000 parts.
    pub const DEFAULT_MAX_PARTS: usize = 1000;
    /// Default for [`MultipartLimits::max_files`]: 100 files.
    pub const DEFAULT_MAX_FILES: usize = 100;
    /// Default for [`MultipartLimits::max_preamble_bytes`]: 8 KiB.
    pub const DEFAULT_MAX_PREAMBLE_BYTES: usize = 8192;
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            max_part_header_bytes: Self::DEFAULT_MAX_PART_HEADER_BYTES,
            max_part_headers: Self::DEFAULT_MAX_PART_HEADERS,
            max_parts: Self::DEFAULT_MAX_PARTS,
            max_files: Self::DEFAULT_MAX_FILES,
            max_preamble_bytes: Self::DEFAULT_MAX_PREAMBLE_BYTES,
        }
    }
}
