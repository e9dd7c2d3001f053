//! The thin io_uring layer for files: the registered buffer pool, paths
//! resolved beneath ROOT by the kernel, staged files that appear under
//! their name only when complete, and the resumable uploads' staging area.
//!
//! Nothing here makes a protocol decision; `server` asks, `storage` does.

pub mod aligned;
pub mod dirty_pages;
pub mod pool;
pub mod root;
pub mod staged;
pub mod staging;
pub mod write_policy;
pub mod write_queue;
pub mod xattr;

pub use pool::BufferPool;
pub use root::Root;
pub use staged::{CommitMode, StagedFile};
