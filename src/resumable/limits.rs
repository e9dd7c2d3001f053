//! [`ResumableLimits`] and the fixed bounds of the upload record: every
//! bound the resumable-upload core enforces, in one place.

/// Bytes of a target directory's ROOT-relative path that an upload record
/// holds. A creation request for a deeper directory → 414
/// ([`ResumableError::TargetPathTooLong`](super::ResumableError::TargetPathTooLong)).
pub const MAX_TARGET_DIR_BYTES: usize = 1024;

/// Bytes of the owner identity string (`user:NAME`, `token:…`,
/// `anonymous`) an upload record holds. Longer → 500: the server chooses
/// the string, never the client (hash long user names).
pub const MAX_OWNER_BYTES: usize = 128;

/// The largest `Upload-Metadata` value the record holds; the default and
/// the ceiling of [`ResumableLimits::max_metadata_bytes`]. Over it → 431.
pub const MAX_METADATA_BYTES: usize = 2048;

/// The most bytes an encoded upload record takes: one 4 KiB block, so a
/// record is written and read with one small I/O. The record's fields are
/// bounded so that even the largest record fits (a test checks it).
pub const RECORD_MAX_BYTES: usize = 4096;

/// Bounds on resumable uploads. Every field is finite; the doc of each
/// names the status the server answers when it is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumableLimits {
    /// The largest upload, declared or reached (the server's
    /// `--max-file-size`; `Tus-Max-Size`, `Upload-Limit: max-size`).
    /// Over it → 413.
    pub max_upload_bytes: u64,
    /// Unfinished (not yet committed) uploads at once, all owners
    /// together. A creation beyond it → 503 `too_many_uploads`.
    pub max_unfinished_uploads: u64,
    /// Bytes held by unfinished uploads together (their offsets). A
    /// creation or append that would pass it → 507 `staging_full`.
    pub max_staged_bytes: u64,
    /// Bytes of one `Upload-Metadata` value (at most
    /// [`MAX_METADATA_BYTES`]). Over it → 431.
    pub max_metadata_bytes: usize,
    /// Seconds an unfinished upload lives after its last successful
    /// request (sent as `Upload-Expires`, and `Upload-Limit: max-age`).
    /// A request after that → 410, and the sweeper frees its bytes.
    pub expiry_secs: u64,
    /// Seconds a completed upload's record is kept, so that a client that
    /// lost the final response learns from HEAD that the upload is
    /// complete (offset = length, `Upload-Complete: ?1`) instead of
    /// starting over. After it → 404.
    pub completed_ttl_secs: u64,
}

impl ResumableLimits {
    /// Default for [`ResumableLimits::max_upload_bytes`]: 1 TiB, the
    /// server's default `--max-file-size`.
    pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 40;
    /// Default for [`ResumableLimits::max_unfinished_uploads`]: 1000.
    pub const DEFAULT_MAX_UNFINISHED_UPLOADS: u64 = 1000;
    /// Default for [`ResumableLimits::max_staged_bytes`]: 256 GiB.
    pub const DEFAULT_MAX_STAGED_BYTES: u64 = 256 << 30;
    /// Default for [`ResumableLimits::expiry_secs`]: 24 hours (SPEC).
    pub const DEFAULT_EXPIRY_SECS: u64 = 24 * 3600;
    /// Default for [`ResumableLimits::completed_ttl_secs`]: 1 hour.
    pub const DEFAULT_COMPLETED_TTL_SECS: u64 = 3600;
}

impl Default for ResumableLimits {
    fn default() -> Self {
        ResumableLimits {
            max_upload_bytes: Self::DEFAULT_MAX_UPLOAD_BYTES,
            max_unfinished_uploads: Self::DEFAULT_MAX_UNFINISHED_UPLOADS,
            max_staged_bytes: Self::DEFAULT_MAX_STAGED_BYTES,
            max_metadata_bytes: MAX_METADATA_BYTES,
            expiry_secs: Self::DEFAULT_EXPIRY_SECS,
            completed_ttl_secs: Self::DEFAULT_COMPLETED_TTL_SECS,
        }
    }
}
