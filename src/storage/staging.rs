//! The resumable-upload staging area: `ROOT/.ringdrop-uploads/`, one
//! upload as two files named by its id.
//!
//! ```text
//! ROOT/.ringdrop-uploads/          mode 0700, created at the first upload
//!     <id>.record        the upload's state (resumable::UploadRecord::encode),
//!                        replaced atomically: <id>.record.tmp is written,
//!                        fdatasynced, renamed over it, and the directory fsynced
//!     <id>.data          the bytes received so far; its flock is the upload's lock
//! ```
//!
//! Everything an upload is lives here, on disk: a second ringdrop serving
//! the same ROOT (on this machine, or on another over a shared filesystem)
//! sees the same uploads, and `flock` keeps one writer per upload across
//! processes. Nothing here decides anything: the record's transitions are
//! in [`crate::resumable`], the order of calls in the server's resumable
//! route.
//!
//! The calls are synchronous metadata operations and reads of a record
//! (one 4 KiB file), like the rest of `sys::fs`; the data path (writes,
//! fdatasync, the directory fsync) goes through io_uring.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::root::Root;
use super::staged::sync_directory;
use crate::resumable::{StagingUsage, UploadId, RECORD_MAX_BYTES, UPLOADS_DIR};
use crate::sys::fs as sysfs;

/// Mode of the staging directory: only the server's user may look inside.
const STAGING_DIR_MODE: u32 = 0o700;

/// Mode of the record files.
const STAGING_FILE_MODE: u32 = 0o600;

/// Mode of the data files (before the umask): what a stored file gets,
/// since the data file becomes the stored file (the staging directory's
/// own mode keeps it private until then).
const DATA_FILE_MODE: u32 = 0o644;

/// The staging area of one ROOT, shared by every worker of the process.
pub struct Staging {
    root: Arc<Root>,
    /// The directory, once it exists (created by the first upload, so a
    /// server that never receives one leaves ROOT as it was); opened again
    /// if it was removed meanwhile.
    dir: Mutex<Option<Arc<OwnedFd>>>,
    /// Records in state active or committing (see [`StagingUsage`]).
    unfinished_uploads: AtomicU64,
    /// The sum of their offsets.
    staged_bytes: AtomicU64,
    /// Where `ringdrop_resumable_uploads_open` is kept.
    metrics: Arc<crate::metrics::Registry>,
}

/// One file of the staging directory, as a scan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagingEntry {
    /// `<id>.record`
    Record(UploadId),
    /// `<id>.data`
    Data(UploadId),
    /// `<id>.record.tmp`: a record being written (or left by a crash).
    RecordTmp(UploadId),
    /// Anything else (never created by ringdrop; left alone).
    Other,
}

impl StagingEntry {
    /// Classifies a directory entry's name.
    pub fn from_name(name: &[u8]) -> StagingEntry {
        let Ok(name) = std::str::from_utf8(name) else {
            return StagingEntry::Other;
        };
        let (id, kind): (&str, fn(UploadId) -> StagingEntry) =
            if let Some(id) = name.strip_suffix(".record.tmp") {
                (id, StagingEntry::RecordTmp)
            } else if let Some(id) = name.strip_suffix(".record") {
                (id, StagingEntry::Record)
            } else if let Some(id) = name.strip_suffix(".data") {
                (id, StagingEntry::Data)
            } else {
                return StagingEntry::Other;
            };
        UploadId::parse(id).map_or(StagingEntry::Other, kind)
    }
}

impl Staging {
    /// The staging area of `root` (nothing is created or opened yet); its
    /// count of unfinished uploads is exported through `metrics`.
    pub fn new(root: Arc<Root>, metrics: Arc<crate::metrics::Registry>) -> Staging {
        Staging {
            metrics,
            root,
            dir: Mutex::new(None),
            unfinished_uploads: AtomicU64::new(0),
            staged_bytes: AtomicU64::new(0),
        }
    }

    /// The directory if it exists (opened once), without creating it.
    pub fn existing_dir(&self) -> io::Result<Option<Arc<OwnedFd>>> {
        self.open_dir(false)
    }

    /// The directory, created (mode 0700) if it does not exist yet.
    pub fn dir_or_create(&self) -> io::Result<Arc<OwnedFd>> {
        self.open_dir(true)?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
    }

    fn open_dir(&self, create: bool) -> io::Result<Option<Arc<OwnedFd>>> {
        let mut cached = self.dir.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = cached.as_ref() {
            // Still linked (someone may have removed the whole directory).
            if sysfs::fstat(dir.as_fd()).is_ok_and(|st| st.st_nlink > 0) {
                return Ok(Some(dir.clone()));
            }
            *cached = None;
        }
        let root = self.root.open_dir("")?;
        let name = sysfs::c_path(UPLOADS_DIR)?;
        if create {
            match sysfs::mkdir_at(root.as_fd(), &name, STAGING_DIR_MODE) {
                Ok(()) => {}
                Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {}
                Err(err) => return Err(err),
            }
        }
        // A real directory, never a symlink to one (O_NOFOLLOW).
        let dir = match sysfs::open_in(root.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0) {
            Ok(dir) => Arc::new(dir),
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) && !create => return Ok(None),
            Err(err) => return Err(err),
        };
        *cached = Some(dir.clone());
        Ok(Some(dir))
    }

    /// What unfinished uploads hold now, as this process counts it.
    pub fn usage(&self) -> StagingUsage {
        StagingUsage {
            unfinished_uploads: self.unfinished_uploads.load(Ordering::Relaxed),
            staged_bytes: self.staged_bytes.load(Ordering::Relaxed),
        }
    }

    /// Replaces the counts with a fresh scan's (the sweeper's; it also
    /// takes in what other processes serving the same ROOT did).
    pub fn set_usage(&self, usage: StagingUsage) {
        self.unfinished_uploads
            .store(usage.unfinished_uploads, Ordering::Relaxed);
        self.staged_bytes
            .store(usage.staged_bytes, Ordering::Relaxed);
        self.metrics
            .set_resumable_uploads_open(usage.unfinished_uploads);
    }

    /// An upload was created.
    pub fn note_created(&self) {
        self.unfinished_uploads.fetch_add(1, Ordering::Relaxed);
        self.metrics.add_resumable_uploads_open(1);
    }

    /// An unfinished upload took `bytes` more.
    pub fn note_appended(&self, bytes: u64) {
        self.staged_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// An unfinished upload of `offset` bytes was committed or removed.
    pub fn note_finished(&self, offset: u64) {
        let sub = |counter: &AtomicU64, n: u64| {
            let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
        };
        sub(&self.unfinished_uploads, 1);
        sub(&self.staged_bytes, offset);
        self.metrics.add_resumable_uploads_open(-1);
    }
}

/// The files of one upload in the staging directory.
pub struct UploadFiles {
    dir: Arc<OwnedFd>,
    id: UploadId,
}

/// The upload's lock: its data file, open and `flock`ed. Released when
/// dropped (and by the kernel if the process dies).
pub struct UploadLock {
    data: OwnedFd,
}

impl UploadFiles {
    /// The files of upload `id` in the staging directory `dir`.
    pub fn new(dir: Arc<OwnedFd>, id: UploadId) -> UploadFiles {
        UploadFiles { dir, id }
    }

    /// The upload's id.
    pub fn id(&self) -> UploadId {
        self.id
    }

    fn name(&self, name: String) -> io::Result<CString> {
        sysfs::c_path(&name)
    }

    /// The record's bytes (at most one more than
    /// [`RECORD_MAX_BYTES`], so an oversized file fails to decode);
    /// `None` when there is no record.
    pub fn read_record(&self) -> io::Result<Option<Vec<u8>>> {
        let name = self.name(self.id.record_file_name())?;
        let fd = match sysfs::open_in(self.dir.as_fd(), &name, libc::O_RDONLY, 0) {
            Ok(fd) => fd,
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut buf = vec![0u8; RECORD_MAX_BYTES + 1];
        let n = sysfs::pread_full(fd.as_fd(), &mut buf, 0)?;
        buf.truncate(n);
        Ok(Some(buf))
    }

    /// Replaces the record with `bytes` atomically: written to
    /// `<id>.record.tmp`, then (when `durable`) fdatasynced, renamed over
    /// `<id>.record`, and (when `durable`) the directory fsynced — so after
    /// a crash the record is the old one or the new one, never a mix, and
    /// once this returns a durable record is the new one. Only the holder
    /// of the upload's lock (or its creator) calls it.
    pub async fn write_record(&self, bytes: &[u8], durable: bool) -> io::Result<()> {
        let record = self.stage_record(bytes)?;
        if durable {
            record.sync().await?;
        }
        record.install(durable).await
    }

    /// The first half of [`write_record`](Self::write_record): `bytes`
    /// written to `<id>.record.tmp`, not synced, not in place; so that its
    /// fdatasync can run beside the data's.
    pub fn stage_record(&self, bytes: &[u8]) -> io::Result<StagedRecord<'_>> {
        let tmp = self.name(self.id.record_tmp_file_name())?;
        let fd = sysfs::open_in(
            self.dir.as_fd(),
            &tmp,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            STAGING_FILE_MODE,
        )?;
        sysfs::pwrite_all(fd.as_fd(), bytes, 0)?;
        Ok(StagedRecord {
            files: self,
            tmp,
            file: tokio_uring::fs::File::from_std(std::fs::File::from(fd)),
        })
    }

    /// Creates the (empty) data file of a new upload and takes its lock.
    pub fn create_data(&self) -> io::Result<UploadLock> {
        let name = self.name(self.id.data_file_name())?;
        let data = sysfs::open_in(
            self.dir.as_fd(),
            &name,
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            DATA_FILE_MODE,
        )?;
        // Nobody else knows the fresh id: the lock is free.
        if !sysfs::try_lock_exclusive(data.as_fd())? {
            return Err(io::Error::from_raw_os_error(libc::EWOULDBLOCK));
        }
        Ok(UploadLock { data })
    }

    /// Opens the data file and takes the upload's lock without waiting:
    /// `Ok(None)` when another request (of this process or another) holds
    /// it; `Err(NotFound)` when there is no data file.
    pub fn lock(&self) -> io::Result<Option<UploadLock>> {
        let name = self.name(self.id.data_file_name())?;
        let data = sysfs::open_in(self.dir.as_fd(), &name, libc::O_RDWR, 0)?;
        if sysfs::try_lock_exclusive(data.as_fd())? {
            Ok(Some(UploadLock { data }))
        } else {
            Ok(None)
        }
    }

    /// Removes the record (first: without it the upload is gone), then the
    /// data file's name (`with_data`; for a completed upload the name is a
    /// second link to the committed file, and only the name goes).
    pub fn remove(&self, with_data: bool) -> io::Result<()> {
        let record = self.name(self.id.record_file_name())?;
        match sysfs::unlink_at(self.dir.as_fd(), &record, false) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {}
            Err(err) => return Err(err),
        }
        if with_data {
            self.remove_data()?;
        }
        Ok(())
    }

    /// Removes the data file's name (after a commit linked the inode under
    /// its final name, or for an orphan). A missing name is not an error.
    pub fn remove_data(&self) -> io::Result<()> {
        let data = self.name(self.id.data_file_name())?;
        match sysfs::unlink_at(self.dir.as_fd(), &data, false) {
            Ok(()) => Ok(()),
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Removes a leftover `<id>.record.tmp`.
    pub fn remove_record_tmp(&self) -> io::Result<()> {
        let tmp = self.name(self.id.record_tmp_file_name())?;
        match sysfs::unlink_at(self.dir.as_fd(), &tmp, false) {
            Ok(()) => Ok(()),
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Seconds since the entry `file_name` was last modified (0 if in the
    /// future), or `None` if it does not exist.
    pub fn age_secs(&self, file_name: &str, now: i64) -> io::Result<Option<u64>> {
        let name = sysfs::c_path(file_name)?;
        match sysfs::lstat_at(self.dir.as_fd(), &name) {
            Ok(st) => Ok(Some(
                u64::try_from(now.saturating_sub(st.st_mtime)).unwrap_or(0),
            )),
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// A new record in `<id>.record.tmp` (see [`UploadFiles::stage_record`]).
pub struct StagedRecord<'a> {
    files: &'a UploadFiles,
    tmp: CString,
    file: tokio_uring::fs::File,
}

impl StagedRecord<'_> {
    /// fdatasync of the new record, through io_uring.
    pub async fn sync(&self) -> io::Result<()> {
        self.file.sync_data().await
    }

    /// Puts the new record in place: renamed over `<id>.record`, then
    /// (when `durable`) the directory fsynced. In durable mode call it
    /// only after [`sync`](Self::sync) and after the data the record
    /// counts is synced: from the rename on, the record is what a reader
    /// (or a restart) sees.
    pub async fn install(self, durable: bool) -> io::Result<()> {
        self.file.close().await?;
        let files = self.files;
        let record = files.name(files.id.record_file_name())?;
        sysfs::rename_at(files.dir.as_fd(), &self.tmp, &record, 0)?;
        if durable {
            sync_directory(&files.dir).await?;
        }
        Ok(())
    }
}

impl UploadLock {
    /// A second descriptor of the data file (same open file description,
    /// so it holds the same lock), to hand to a writer.
    pub fn dup(&self) -> io::Result<OwnedFd> {
        crate::sys::dup_cloexec(self.data.as_fd())
    }

    /// Cuts the data file to `len` bytes: what a request wrote past the
    /// upload's offset and did not keep (a checksum mismatch, an error).
    pub fn truncate(&self, len: u64) -> io::Result<()> {
        sysfs::truncate(self.data.as_fd(), len)
    }

    /// The data file's `(st_dev, st_ino)`, to recognise it under another
    /// name (a commit that a crash interrupted).
    pub fn file_id(&self) -> io::Result<(u64, u64)> {
        let st = sysfs::fstat(self.data.as_fd())?;
        Ok((st.st_dev, st.st_ino))
    }
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        // Released when the last descriptor of the description closes
        // anyway; unlocking now frees it even while a writer's duplicate is
        // still being closed.
        let _ = sysfs::unlock(self.data.as_fd());
    }
}

/// The names in the staging directory `dir`, classified.
pub fn scan(dir: &OwnedFd) -> io::Result<Vec<StagingEntry>> {
    let mut stream = sysfs::DirStream::open(dir.as_fd())?;
    let mut name = Vec::new();
    let mut out = Vec::new();
    while stream.next_name(&mut name).is_some() {
        out.push(StagingEntry::from_name(&name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let id = "000102030405060708090a0b0c0d0e0f";
        let parsed = UploadId::parse(id).unwrap();
        let cases: &[(String, StagingEntry)] = &[
            (format!("{id}.record"), StagingEntry::Record(parsed)),
            (format!("{id}.data"), StagingEntry::Data(parsed)),
            (format!("{id}.record.tmp"), StagingEntry::RecordTmp(parsed)),
            (format!("{id}.tmp"), StagingEntry::Other),
            (format!("{}.record", &id[1..]), StagingEntry::Other),
            (format!("{}.data", id.to_uppercase()), StagingEntry::Other),
            ("x.record".to_owned(), StagingEntry::Other),
            (".record".to_owned(), StagingEntry::Other),
        ];
        for (name, want) in cases {
            assert_eq!(StagingEntry::from_name(name.as_bytes()), *want, "{name}");
        }
        assert_eq!(StagingEntry::from_name(b"\xff.data"), StagingEntry::Other);
    }
}
