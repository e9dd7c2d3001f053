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
//! A staged file is written either through the page cache, or — when asked
//! and the filesystem allows it — with `O_DIRECT`, straight from the
//! registered buffers to the device: no copy into the page cache, so almost
//! no CPU, and the final fdatasync has little left to flush. Direct writes
//! must start at a block-aligned offset and address; a direct write whose
//! length is not a whole number of blocks (the last one) is padded to the
//! block boundary with whatever follows in the buffer, and the file is
//! trimmed to its real length before it is synced or named. Any write that
//! cannot be direct (misaligned, or refused with EINVAL) turns the file to
//! page-cache writes for the rest of its life: alignment is a matter of
//! speed, never of correctness.
//!
//! On a filesystem without `O_TMPFILE` a hidden `.ringdrop-*.part` name is
//! used instead, and `Drop` unlinks it synchronously (Drop cannot await an
//! io_uring operation).

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::{BoundedBuf, IoBuf, Slice};

use super::aligned::{round_up_to_block, BLOCK_ALIGN_BYTES};
use super::dirty_pages::DirtyPageGauge;
use crate::sys;
use crate::sys::fs as sysfs;

/// Mode bits of stored files (before the umask).
const FILE_MODE: u32 = 0o644;

/// Start kernel writeback every this many bytes written, so dirty pages do
/// not pile up and a final fdatasync has little left to flush.
const WRITEBACK_INTERVAL_BYTES: u64 = 8 << 20;

/// Direct writes go to blocks preallocated ahead of them, by a step that
/// grows with the bytes written — at least this ...
const MIN_PREALLOCATION_STEP_BYTES: u64 = 256 << 10;
/// ... and at most this: disk space is taken as bytes arrive, never for a
/// length a client merely declared.
const MAX_PREALLOCATION_STEP_BYTES: u64 = 64 << 20;

/// Names `a (1).txt` … `a (n).txt` tried in order before random suffixes:
/// a directory full of `a (k).txt` cannot make one upload probe thousands
/// of names.
const SEQUENTIAL_NAME_ATTEMPTS: u32 = 64;

/// Random ` (n)` suffixes tried after the sequential ones; then the upload
/// gets 409.
const RANDOM_NAME_ATTEMPTS: u32 = 16;

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

/// How a direct write went.
enum DirectWrite {
    /// Written (or failed for a reason other than direct I/O itself).
    Done(io::Result<()>, Slice<FixedBuf>),
    /// Cannot go direct: write it through the page cache.
    NotPossible(Slice<FixedBuf>),
}

/// An upload in progress. See the module docs.
pub struct StagedFile {
    writer: Rc<FileWriter>,
    dir: Rc<OwnedFd>,
    /// Set only on filesystems without O_TMPFILE: the visible hidden name to
    /// remove unless committed.
    hidden_name: Option<CString>,
}

/// The writing side of a [`StagedFile`], shared (`Rc`) so that several
/// writes to it can be in flight while the upload goes on; naming the file
/// stays with the `StagedFile`.
pub struct FileWriter {
    file: tokio_uring::fs::File,
    /// Bytes written so far (the highest end offset).
    written_bytes: Cell<u64>,
    /// The file's length on disk: above `written_bytes` after a padded
    /// direct write or a preallocation, until
    /// [`trim_padding`](Self::trim_padding).
    physical_bytes: Cell<u64>,
    /// Direct writes go to preallocated blocks (cleared where the
    /// filesystem cannot preallocate).
    preallocate: Cell<bool>,
    /// The length the client declared, if any: preallocation never runs
    /// past it.
    expected_len: Cell<Option<u64>>,
    /// Writes go with `O_DIRECT`.
    direct: Cell<bool>,
    /// Offset up to which writeback has been started.
    writeback_started_bytes: Cell<u64>,
    /// Start writeback as data arrives (durable mode).
    eager_writeback: bool,
    /// Page-cache writes run inline (`pwrite`) while this says the kernel
    /// will not throttle them.
    inline_gauge: Option<Rc<DirtyPageGauge>>,
    /// A write failed: the bytes planned for the file are not all in it
    /// (a resumed upload then keeps none of this request's bytes).
    write_failed: Cell<bool>,
}

/// How a [`StagedFile`] is to be written.
#[derive(Clone, Default)]
pub struct WriteMode {
    /// Ask for `O_DIRECT` writes (ignored where the filesystem refuses them).
    pub direct: bool,
    /// Start kernel writeback of page-cache writes while data arrives (for
    /// uploads that will be synced).
    pub eager_writeback: bool,
    /// Write through the page cache with `pwrite` on the calling thread
    /// while this gauge says the kernel cannot throttle the writer, instead
    /// of an io_uring write that the kernel hands to an io-wq thread (a
    /// wake-up, two context switches and a cold cache per write; see
    /// [`crate::storage::dirty_pages`]).
    pub inline_gauge: Option<Rc<DirtyPageGauge>>,
}

fn hidden_name(suffix: &str) -> io::Result<CString> {
    let n = HIDDEN_NAME_COUNTER.fetch_add(1, Ordering::Relaxed);
    sysfs::c_path(&format!(".ringdrop-{}-{n}.{suffix}", std::process::id()))
}

impl StagedFile {
    /// Creates an invisible file in `dir`, to be written as `mode` says.
    pub fn create(dir: Rc<OwnedFd>, mode: WriteMode) -> io::Result<StagedFile> {
        // O_DIRECT from the start where it is wanted (and the filesystem
        // takes it): the file is never seen without it.
        let mut opened_direct = mode.direct;
        let tmpfile = match sysfs::open_tmpfile(dir.as_fd(), FILE_MODE, mode.direct) {
            Err(err) if mode.direct && err.raw_os_error() == Some(libc::EINVAL) => {
                opened_direct = false;
                sysfs::open_tmpfile(dir.as_fd(), FILE_MODE, false)
            }
            other => other,
        };
        let (fd, hidden_name) = match tmpfile {
            Ok(fd) => (fd, None),
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::EOPNOTSUPP) | Some(libc::EISDIR)
                ) =>
            {
                let name = hidden_name("part")?;
                (
                    sysfs::create_exclusive(dir.as_fd(), &name, FILE_MODE)?,
                    Some(name),
                )
            }
            Err(err) => return Err(err),
        };
        opened_direct &= hidden_name.is_none();
        Ok(StagedFile {
            writer: FileWriter::new(fd, 0, 0, mode, opened_direct),
            dir,
            hidden_name,
        })
    }

    /// A staged file that continues `file`, a named file kept elsewhere
    /// whose first `len` bytes are the upload so far (a resumable upload's
    /// data file in the staging area): writes go on from there, and
    /// [`commit`](Self::commit) / [`link`](Self::link) give the same inode
    /// a name in `dir`, exactly as for a new file. Bytes past `len` (left
    /// by a request that was not acknowledged) are cut before the file is
    /// synced or named. Dropping it leaves `file` where it is.
    pub fn resume(
        dir: Rc<OwnedFd>,
        file: OwnedFd,
        len: u64,
        mode: WriteMode,
    ) -> io::Result<StagedFile> {
        let on_disk = u64::try_from(sysfs::fstat(file.as_fd())?.st_size).unwrap_or(0);
        Ok(StagedFile {
            writer: FileWriter::new(file, len, on_disk.max(len), mode, false),
            dir,
            hidden_name: None,
        })
    }

    /// The writing side, for writes that run while the upload goes on.
    pub fn writer(&self) -> &Rc<FileWriter> {
        &self.writer
    }

    /// Tells the file how long it will be (a declared Content-Length), so
    /// preallocation never runs past it. Nothing is allocated now.
    pub fn expect_len(&self, len: u64) {
        self.writer.expected_len.set(Some(len));
    }
}

impl FileWriter {
    /// The writer of `fd`, whose first `written` bytes are data and which
    /// is `physical` bytes long on disk; `opened_direct`: `fd` already has
    /// `O_DIRECT`.
    fn new(
        fd: OwnedFd,
        written: u64,
        physical: u64,
        mode: WriteMode,
        opened_direct: bool,
    ) -> Rc<FileWriter> {
        let direct =
            mode.direct && (opened_direct || sysfs::set_direct_io(fd.as_fd(), true).is_ok());
        let file = tokio_uring::fs::File::from_std(std::fs::File::from(fd));
        Rc::new(FileWriter {
            file,
            written_bytes: Cell::new(written),
            physical_bytes: Cell::new(physical),
            preallocate: Cell::new(direct),
            expected_len: Cell::new(None),
            direct: Cell::new(direct),
            writeback_started_bytes: Cell::new(written),
            eager_writeback: mode.eager_writeback,
            inline_gauge: mode.inline_gauge,
            write_failed: Cell::new(false),
        })
    }

    fn fd(&self) -> BorrowedFd<'_> {
        sys::fd_of(&self.file)
    }

    /// Whether any write to the file failed (its error was reported to
    /// whoever awaited it, or dropped when the upload had already ended).
    pub fn failed(&self) -> bool {
        self.write_failed.get()
    }

    /// Whether writes should be whole blocks at block-aligned offsets and
    /// addresses (the file writes with `O_DIRECT`). A sink that can keep
    /// them so holds back a partial block until more data or the end comes.
    pub fn wants_block_aligned_writes(&self) -> bool {
        self.direct.get()
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
        let buf = if self.direct.get() {
            match self.write_direct(buf, offset).await {
                DirectWrite::Done(res, buf) => {
                    match res {
                        Ok(()) => self.note_written(offset, len),
                        Err(_) => self.write_failed.set(true),
                    }
                    return (res, buf);
                }
                DirectWrite::NotPossible(buf) => {
                    // Page-cache writes from here on (see the module docs).
                    tracing::debug!(
                        offset,
                        len,
                        "direct write not possible; page cache from here"
                    );
                    self.leave_direct_mode();
                    buf
                }
            }
        } else {
            buf
        };
        let (res, buf) = if self.inline_write_is_safe() {
            let res = sysfs::pwrite_all(self.fd(), &buf[..], offset);
            (res, buf)
        } else {
            self.file.write_fixed_all_at(buf, offset).await
        };
        match res {
            Ok(()) => {
                self.note_written(offset, len);
                self.maybe_start_writeback();
            }
            Err(_) => self.write_failed.set(true),
        }
        (res, buf)
    }

    fn inline_write_is_safe(&self) -> bool {
        self.inline_gauge
            .as_ref()
            .is_some_and(|gauge| gauge.inline_write_is_safe())
    }

    /// One `O_DIRECT` write of `buf`, padded up to a whole block, if its
    /// offset and address are block-aligned and the padding fits in the
    /// buffer.
    async fn write_direct(&self, buf: Slice<FixedBuf>, offset: u64) -> DirectWrite {
        let (begin, len) = (buf.begin(), buf.end() - buf.begin());
        let padded = round_up_to_block(len);
        let aligned = offset % BLOCK_ALIGN_BYTES as u64 == 0
            && buf.stable_ptr() as usize % BLOCK_ALIGN_BYTES == 0
            && begin + padded <= IoBuf::bytes_total(buf.get_ref());
        if !aligned {
            return DirectWrite::NotPossible(buf);
        }
        if let Err(err) = self
            .grow_allocation(offset.saturating_add(padded as u64))
            .await
        {
            return DirectWrite::Done(Err(err), buf);
        }
        let whole_blocks = buf.into_inner().slice(begin..begin + padded);
        let (res, whole_blocks) = self.file.write_fixed_all_at(whole_blocks, offset).await;
        let buf = whole_blocks.into_inner().slice(begin..begin + len);
        match res {
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => DirectWrite::NotPossible(buf),
            Err(err) => DirectWrite::Done(Err(err), buf),
            Ok(()) => {
                let end = offset.saturating_add(padded as u64);
                if end > self.physical_bytes.get() {
                    self.physical_bytes.set(end);
                }
                DirectWrite::Done(Ok(()), buf)
            }
        }
    }

    /// Makes sure blocks up to `end` are allocated before a direct write
    /// reaches them, allocating ahead by a step that grows with the bytes
    /// written (never past a declared length): ext4 runs extending direct
    /// writes one at a time, waiting for each, while writes into allocated
    /// blocks run side by side. Through io_uring, so the worker never
    /// waits for the filesystem.
    async fn grow_allocation(&self, end: u64) -> io::Result<()> {
        let have = self.physical_bytes.get();
        if !self.preallocate.get() || end <= have {
            return Ok(());
        }
        let step = self
            .written_bytes
            .get()
            .clamp(MIN_PREALLOCATION_STEP_BYTES, MAX_PREALLOCATION_STEP_BYTES);
        let mut target = end.saturating_add(step);
        if let Some(expected) = self.expected_len.get() {
            let expected =
                round_up_to_block(usize::try_from(expected).unwrap_or(usize::MAX)) as u64;
            target = target.min(expected.max(end));
        }
        match self.file.fallocate(have, target - have, 0).await {
            Ok(()) => {
                if target > self.physical_bytes.get() {
                    self.physical_bytes.set(target);
                }
                Ok(())
            }
            Err(err) if err.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                self.preallocate.set(false);
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    fn note_written(&self, offset: u64, len: usize) {
        let end = offset.saturating_add(len as u64);
        if end > self.written_bytes.get() {
            self.written_bytes.set(end);
        }
        if end > self.physical_bytes.get() {
            self.physical_bytes.set(end);
        }
    }

    /// Cuts the padding of the last direct write, so the file's length is
    /// the bytes written. Idempotent; called before syncing and naming.
    fn trim_padding(&self) -> io::Result<()> {
        let len = self.written_bytes.get();
        if self.physical_bytes.get() > len {
            sysfs::truncate(self.fd(), len)?;
            self.physical_bytes.set(len);
        }
        Ok(())
    }

    /// Writes all of `buf`, an ordinary (unregistered) buffer, at `offset`:
    /// for a small body that is already in the connection buffer, where a
    /// registered buffer would only add a copy. Always through the page
    /// cache (inline when safe, see [`WriteMode::inline_gauge`]). The
    /// buffer comes back in every outcome.
    pub async fn write_all_at_unregistered<B: IoBuf>(
        &self,
        buf: Slice<B>,
        offset: u64,
    ) -> (io::Result<()>, Slice<B>) {
        let len = buf.end() - buf.begin();
        self.leave_direct_mode();
        let (res, buf) = if self.inline_write_is_safe() {
            (sysfs::pwrite_all(self.fd(), &buf[..], offset), buf)
        } else {
            self.file.write_all_at(buf, offset).await
        };
        match res {
            Ok(()) => {
                self.note_written(offset, len);
                self.maybe_start_writeback();
            }
            Err(_) => self.write_failed.set(true),
        }
        (res, buf)
    }

    /// Page-cache writes from here on: an ordinary buffer is not
    /// block-aligned (see the module docs).
    fn leave_direct_mode(&self) {
        if self.direct.get() {
            let _ = sysfs::set_direct_io(self.fd(), false);
            self.direct.set(false);
        }
    }

    fn maybe_start_writeback(&self) {
        if !self.eager_writeback {
            return;
        }
        let from = self.writeback_started_bytes.get();
        let to = self.written_bytes.get();
        if to - from >= WRITEBACK_INTERVAL_BYTES {
            // Best effort: a failure here only means fdatasync does the work.
            let _ = sysfs::start_writeback(self.fd(), from, to - from);
            self.writeback_started_bytes.set(to);
        }
    }

    /// fdatasync through io_uring (after trimming direct-write padding).
    pub async fn sync_data(&self) -> io::Result<()> {
        self.trim_padding()?;
        self.file.sync_data().await
    }
}

impl StagedFile {
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

    /// Keeps the digests verified for this file with it (the extended
    /// attribute of [`super::xattr`]), after its last change of size or
    /// mtime (the padding of direct writes is trimmed first). Filesystems
    /// without user extended attributes keep none, which is not an error.
    pub fn keep_digests(&self, digests: &crate::digest::DigestSet) -> io::Result<()> {
        self.writer.trim_padding()?;
        super::xattr::store(self.writer.fd(), digests).map(drop)
    }

    /// See [`FileWriter::sync_data`].
    pub async fn sync_data(&self) -> io::Result<()> {
        self.writer.sync_data().await
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
        self.writer.trim_padding()?;
        let name = sysfs::c_path(name)?;
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
        let dir = self.dir.as_fd();
        let fd = self.writer.fd();
        match sysfs::link_fd_at(fd, dir, name) {
            Ok(()) => Ok(Committed { replaced: false }),
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) && mode == CommitMode::Replace => {
                // linkat never replaces: link under a hidden name, then
                // rename over the old file (atomic replace).
                let hidden = hidden_name("tmp")?;
                sysfs::link_fd_at(fd, dir, &hidden)?;
                if let Err(err) = sysfs::rename_at(dir, &hidden, name, 0) {
                    let _ = sysfs::unlink_at(dir, &hidden, false);
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
        let dir = self.dir.as_fd();
        match mode {
            CommitMode::NoReplace => {
                sysfs::rename_at(dir, hidden, name, libc::RENAME_NOREPLACE)?;
                Ok(Committed { replaced: false })
            }
            CommitMode::Replace => {
                let existed = sysfs::lstat_at(dir, name).is_ok();
                sysfs::rename_at(dir, hidden, name, 0)?;
                Ok(Committed { replaced: existed })
            }
        }
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(hidden) = self.hidden_name.take() {
            // Only on filesystems without O_TMPFILE: remove the partial file.
            let _ = sysfs::unlink_at(self.dir.as_fd(), &hidden, false);
        }
    }
}

/// The names a [`CommitMode::NoReplace`] commit tries for `name`, in order,
/// until one is free: `name` itself, `name (1)` … `name (63)`, then a few
/// random ` (n)` (bounded work however crowded the directory; the multipart
/// POST and resumable-upload commits share it).
pub fn name_candidates(name: &str) -> impl Iterator<Item = String> + '_ {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new();
    (0..SEQUENTIAL_NAME_ATTEMPTS)
        .chain((0..RANDOM_NAME_ATTEMPTS).map(move |i| {
            let mut hasher = random.build_hasher();
            hasher.write_u32(i);
            SEQUENTIAL_NAME_ATTEMPTS + (hasher.finish() % 1_000_000_000) as u32
        }))
        .map(move |n| crate::multipart::collision_candidate(name, n))
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
    sysfs::unlink_at(dir.as_fd(), &sysfs::c_path(name)?, false)
}

/// Checks that `len` more bytes fit on the filesystem of `dir`, without
/// reserving them: a declared length that cannot fit is refused (ENOSPC,
/// answered 507) before the client sends its body, and no disk space is
/// taken for a length a client merely declared.
pub fn check_room(dir: &OwnedFd, len: u64) -> io::Result<()> {
    if len > sysfs::available_bytes(dir.as_fd())? {
        return Err(io::Error::from_raw_os_error(libc::ENOSPC));
    }
    Ok(())
}
