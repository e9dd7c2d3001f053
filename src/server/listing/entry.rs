//! One row of a listing.

/// A directory entry as listings show it.
#[derive(Debug, Clone)]
pub(crate) struct ListedEntry {
    /// The name (lossy UTF-8).
    pub(crate) name: String,
    /// A directory (after following a symlink beneath ROOT).
    pub(crate) is_dir: bool,
    /// Size in bytes (0 for directories).
    pub(crate) size: u64,
    /// Modification time, Unix seconds.
    pub(crate) modified: i64,
}

/// What the page may offer in a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageCapabilities {
    /// Show the upload UI (file picker, drop zone, new folder).
    pub(crate) upload: bool,
    /// Show delete buttons.
    pub(crate) delete: bool,
    /// A drop box: the upload UI without the listing (upload without read).
    pub(crate) drop_box: bool,
    /// Largest file an upload may store.
    pub(crate) max_file_size_bytes: u64,
}
