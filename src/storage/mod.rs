//! The thin io_uring layer for files: the registered buffer pool, paths
//! resolved beneath ROOT by the kernel, and staged files that appear under
//! their name only when complete.
//!
//! Nothing here makes a protocol decision; `server` asks, `storage` does.

pub mod aligned;
pub mod dirty_pages;
pub mod pool;
pub mod root;
pub mod staged;
pub mod sys;

pub use pool::BufferPool;
pub use root::Root;
pub use staged::{CommitMode, StagedFile};
