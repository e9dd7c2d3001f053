//! A file being uploaded: written where nobody can see it, named only when
//! complete.
//!
//! [`StagedFile::create`] makes an unnamed `O_TMPFILE` inode in the target
//! directory. Bytes go in with `write_fixed_all_at` straight from registered
//! buffers. [`StagedFile::commit`] (consuming `self`, so a file cannot be
//! named twice or written after) syncs the data when durable, links the inode
//! under its name and syncs the directory. Dropping a `StagedFile` that was
//! not committed closes the descriptor and the kernel frees the inode: a
//! failed upload leaves nothing, even if the process dies.
//!
//! On a filesystem without `O_TMPFILE` a hidden `.ringdrop-*.part` name is
//! used instead, and `Drop` unlinks it synchronously (Drop cannot await an
//! io_uring operation).

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::{IoBuf, Slice};

use super::sys;

/// Mode bits of stored files (before the umask).
const FILE_MODE: u32 = 0o644;

/// Start kernel writeback every this many bytes written, so dirty pages do
/// not pile up and a final fdatasync has little left to flush.
const WRITEBACK_INTERVAL_BYTES: u64 = 8 << 20;

/// Distinguishes hidden names made by this process.
static HIDDEN_NAME_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How [`StagedFile::commit`] treats an existing file of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Fail with `AlreadyExists` if the name is taken (multipart naming,
    /// `If-None-Match: *`).
    NoReplace,
    /// Atomically replace an existing file (PUT).
    Replace,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// An existing file was replaced.
    pub replaced: bool,
}

/// An upload in progress. See the module docs.
pub struct StagedFile {
    file: tokio_uring::fs::File,
    raw_fd: RawFd,
    dir: Rc<OwnedFd>,
    /// Set only on filesystems without O_TMPFILE: the visible hidden name to
    /// remove unless committed.
    hidden_name: Option<CString>,
    /// Bytes written so far (the highest end offset).
    written_bytes: Cell<u64>,
    /// Offset up to which writeback has been started.
    writeback_started_bytes: Cell<u64>,
    /// Start writeback as data arrives (durable mode).
    eager_writeback: bool,
}

fn hidden_name(suffix: &str) -> io::Result<CString> {
    let n = HIDDEN_NAME_COUNTER.fetch_add(1, Ordering::Relaxed);
    sys::c_path(&format!(".ringdrop-{}-{n}.{suffix}", std::process::id()))
}

impl StagedFile {
    /// Creates an invisible file in `dir`. `eager_writeback` starts kernel
    /// writeback while data arrives (used when the upload will be synced).
    pub fn create(dir: Rc<OwnedFd>, eager_writeback: bool) -> io::Result<StagedFile> {
        let (fd, hidden_name) = match sys::open_tmpfile(dir.as_raw_fd(), FILE_MODE) {
            Ok(fd) => (fd, None),
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::EOPNOTSUPP) | Some(libc::EISDIR)
                ) =>
            {
                let name = hidden_name("part")?;
                (
                    sys::create_exclusive(dir.as_raw_fd(), &name, FILE_MODE)?,
                    Some(name),
                )
            }
            Err(err) => return Err(err),
        };
        let raw_fd = fd.as_raw_fd();
        let file = tokio_uring::fs::File::from_std(std::fs::File::from(fd));
        Ok(StagedFile {
            file,
            raw_fd,
            dir,
            hidden_name,
            written_bytes: Cell::new(0),
            writeback_started_bytes: Cell::new(0),
            eager_writeback,
        })
    }

    /// Writes all of `buf` at `offset` (a loop over short writes, as
    /// `write_fixed_at` may write only a prefix). The buffer comes back in
    /// every outcome.
    pub async fn write_all_at(
        &self,
        buf: Slice<FixedBuf>,
        offset: u64,
    ) -> (io::Result<()>, Slice<FixedBuf>) {
        let len = buf.end() - buf.begin();
        let (res, buf) = self.file.write_fixed_all_at(buf, offset).await;
        if res.is_ok() {
            let end = offset.saturating_add(len as u64);
            if end > self.written_bytes.get() {
                self.written_bytes.set(end);
            }
            self.maybe_start_writeback();
        }
        (res, buf)
    }

    /// Writes all of `buf`, an ordinary (unregistered) buffer, at `offset`:
    /// for a small body that is already in the connection buffer, where a
    /// registered buffer would only add a copy. The buffer comes back in
    /// every outcome.
    pub async fn write_all_at_unregistered<B: IoBuf>(
        &self,
        buf: Slice<B>,
        offset: u64,
    ) -> (io::Result<()>, Slice<B>) {
        let len = buf.end() - buf.begin();
        let (res, buf) = self.file.write_all_at(buf, offset).await;
        if res.is_ok() {
            let end = offset.saturating_add(len as u64);
            if end > self.written_bytes.get() {
                self.written_bytes.set(end);
            }
            self.maybe_start_writeback();
        }
        (res, buf)
    }

    fn maybe_start_writeback(&self) {
        if !self.eager_writeback {
            return;
        }
        let from = self.writeback_started_bytes.get();
        let to = self.written_bytes.get();
        if to - from >= WRITEBACK_INTERVAL_BYTES {
            // Best effort: a failure here only means fdatasync does the work.
            let _ = sys::start_writeback(self.raw_fd, from, to - from);
            self.writeback_started_bytes.set(to);
        }
    }

    /// Bytes written so far.
    pub fn written_bytes(&self) -> u64 {
        self.written_bytes.get()
    }

    /// Makes the file visible as `name` in its directory. When `durable`, the
    /// data is synced first and the directory after, so the success response
    /// can promise the file survives a crash.
    pub async fn commit(
        mut self,
        name: &str,
        mode: CommitMode,
        durable: bool,
    ) -> io::Result<Committed> {
        if durable {
            self.sync_data().await?;
        }
        let committed = self.link(name, mode)?;
        if durable {
            sync_directory(&self.dir).await?;
        }
        Ok(committed)
    }

    /// fdatasync through io_uring.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data().await
    }

    /// The directory the file will appear in.
    pub fn dir(&self) -> &Rc<OwnedFd> {
        &self.dir
    }

    /// Gives the file the name `name` (no data or directory sync: see
    /// [`commit`](Self::commit)). With [`CommitMode::NoReplace`] a taken name
    /// fails with `AlreadyExists` and the file stays staged, so the caller
    /// can try another name.
    pub fn link(&mut self, name: &str, mode: CommitMode) -> io::Result<Committed> {
        let name = sys::c_path(name)?;
        match self.hidden_name.take() {
            None => self.link_unnamed(&name, mode),
            Some(hidden) => {
                let result = self.rename_hidden(&hidden, &name, mode);
                if result.is_err() {
                    // Still staged under its hidden name.
                    self.hidden_name = Some(hidden);
                }
                result
            }
        }
    }

    fn link_unnamed(&self, name: &CString, mode: CommitMode) -> io::Result<Committed> {
        let dir = self.dir.as_raw_fd();
        match sys::link_fd_at(self.raw_fd, dir, name) {
            Ok(()) => Ok(Committed { replaced: false }),
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) && mode == CommitMode::Replace => {
                // linkat never replaces: link under a hidden name, then
                // rename over the old file (atomic replace).
                let hidden = hidden_name("tmp")?;
                sys::link_fd_at(self.raw_fd, dir, &hidden)?;
                if let Err(err) = sys::rename_at(dir, &hidden, name, 0) {
                    let _ = sys::unlink_at(dir, &hidden, false);
                    return Err(err);
                }
                Ok(Committed { replaced: true })
            }
            Err(err) => Err(err),
        }
    }

    fn rename_hidden(
        &self,
        hidden: &CString,
        name: &CString,
        mode: CommitMode,
    ) -> io::Result<Committed> {
        let dir = self.dir.as_raw_fd();
        match mode {
            CommitMode::NoReplace => {
                sys::rename_at(dir, hidden, name, libc::RENAME_NOREPLACE)?;
                Ok(Committed { replaced: false })
            }
            CommitMode::Replace => {
                let existed = sys::lstat_at(dir, name).is_ok();
                sys::rename_at(dir, hidden, name, 0)?;
                Ok(Committed { replaced: existed })
            }
        }
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(hidden) = self.hidden_name.take() {
            // Only on filesystems without O_TMPFILE: remove the partial file.
            let _ = sys::unlink_at(self.dir.as_raw_fd(), &hidden, false);
        }
    }
}

/// fsync of a directory through io_uring (on a duplicate of its descriptor),
/// so a new or renamed entry survives a crash.
pub async fn sync_directory(dir: &OwnedFd) -> io::Result<()> {
    let dup = dir.try_clone()?;
    let file = tokio_uring::fs::File::from_std(std::fs::File::from(dup));
    let res = file.sync_all().await;
    let _ = file.close().await;
    res
}

/// Removes a name that a multipart commit already linked, when a later part
/// of the same request fails (all or nothing).
pub fn unlink_committed(dir: &OwnedFd, name: &str) -> io::Result<()> {
    sys::unlink_at(dir.as_raw_fd(), &sys::c_path(name)?, false)
}
