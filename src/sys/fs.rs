//! File-system calls: every path is resolved beneath a directory
//! descriptor, never from the process's working directory.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use super::{check, einval};

/// Converts a path component or relative path to a C string; an interior
/// NUL is impossible here (the target decoder rejects it) but is still an
/// error rather than a panic.
pub fn c_path(path: &str) -> io::Result<CString> {
    CString::new(path).map_err(|_| einval())
}

/// Takes ownership of a descriptor a syscall just returned.
fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: a non-negative return of open/openat/openat2 is a new file
    // descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `struct open_how` of linux/openat2.h (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `openat2(dir, path, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`:
/// the kernel refuses (EXDEV) any resolution that would leave `dir`, through
/// `..` or through a symlink, so a path can never escape ROOT.
pub fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
            u64::from(mode)
        } else {
            0
        },
        resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `path` is a valid NUL-terminated string and `how` a fully
    // initialised `open_how` that outlives the call; the size passed is its
    // exact size; `dir` is kept open by its borrow. The kernel only reads.
    owned(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })
}

/// Opens a directory by path (not beneath anything): used once, for ROOT.
pub fn open_dir_path(path: &std::path::Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| einval())?;
    // SAFETY: `c` is a valid NUL-terminated path; open returns a new fd or -1.
    owned(
        unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        }
        .into(),
    )
}

/// Creates an unnamed file in directory `dir` (`O_TMPFILE`). It has no name
/// until [`link_fd_at`]; if the process dies or the fd is closed first, the
/// kernel frees it — nothing can be left behind. `direct`: opened with
/// `O_DIRECT` (`EINVAL` where the filesystem cannot do it).
pub fn open_tmpfile(dir: BorrowedFd<'_>, mode: u32, direct: bool) -> io::Result<OwnedFd> {
    let direct_flag = if direct { libc::O_DIRECT } else { 0 };
    // SAFETY: "." is a valid C string; openat returns a new fd or -1; `dir`
    // is kept open by its borrow.
    owned(
        unsafe {
            libc::openat(
                dir.as_raw_fd(),
                c".".as_ptr(),
                libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC | direct_flag,
                mode as libc::c_uint,
            )
        }
        .into(),
    )
}

/// Creates a new named file exclusively (`O_CREAT | O_EXCL`), for
/// filesystems without `O_TMPFILE`.
pub fn create_exclusive(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid C string; openat returns a new fd or -1;
    // `dir` is kept open by its borrow.
    owned(
        unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                mode as libc::c_uint,
            )
        }
        .into(),
    )
}

/// Gives the open file `file` the name `name` in `dir`; fails with EEXIST
/// if the name is taken (never replaces). Tries `AT_EMPTY_PATH` first
/// (needs CAP_DAC_READ_SEARCH), then the `/proc/self/fd` form that works
/// for everyone.
pub fn link_fd_at(file: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are valid C strings; linkat only reads them; both
    // descriptors are kept open by their borrows.
    let ret = unsafe {
        libc::linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EPERM) => {}
        _ => return Err(err),
    }
    let proc_path = c_path(&format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    // SAFETY: both strings are valid C strings; linkat only reads them; the
    // /proc path names `file`, which the borrow keeps open.
    check(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

/// `renameat2(dir, from, dir, to, flags)`; `flags` may be 0 (replace) or
/// `RENAME_NOREPLACE`.
pub fn rename_at(
    dir: BorrowedFd<'_>,
    from: &CStr,
    to: &CStr,
    flags: libc::c_uint,
) -> io::Result<()> {
    let dir = dir.as_raw_fd();
    // SAFETY: both names are valid C strings; the call only reads them;
    // `dir` is kept open by its borrow.
    check(unsafe { libc::renameat2(dir, from.as_ptr(), dir, to.as_ptr(), flags) }).map(drop)
}

/// Removes `name` from `dir` (`AT_REMOVEDIR` for a directory).
pub fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, remove_dir: bool) -> io::Result<()> {
    let flags = if remove_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: `name` is a valid C string; unlinkat only reads it; `dir` is
    // kept open by its borrow.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// Creates directory `name` in `dir`.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is a valid C string; mkdirat only reads it; `dir` is
    // kept open by its borrow.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// `fstat` of an open descriptor.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for writes of one `stat`; fstat fills it on
    // success; `fd` is kept open by its borrow.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat returned 0, so it initialised `st`.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, not its target.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is a valid C string and `st` valid for writes of one
    // `stat`; `dir` is kept open by its borrow.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat returned 0, so it initialised `st`.
    Ok(unsafe { st.assume_init() })
}

/// Bytes an unprivileged writer may still allocate on the filesystem of
/// `fd` (`fstatvfs`: available blocks × fragment size).
pub fn available_bytes(fd: BorrowedFd<'_>) -> io::Result<u64> {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `st` is valid for writes of one `statvfs`; `fd` is kept open
    // by its borrow.
    check(unsafe { libc::fstatvfs(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstatvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Starts writeback of a byte range without waiting for it
/// (`SYNC_FILE_RANGE_WRITE`), so a later fdatasync has little left to do.
pub fn start_writeback(fd: BorrowedFd<'_>, offset: u64, len: u64) -> io::Result<()> {
    let offset = i64::try_from(offset).map_err(|_| einval())?;
    let len = i64::try_from(len).map_err(|_| einval())?;
    // SAFETY: sync_file_range takes plain integers and a descriptor the
    // borrow keeps open.
    check(unsafe {
        libc::sync_file_range(fd.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    })
    .map(drop)
}

/// Turns `O_DIRECT` on or off for an open file: its writes then go from the
/// caller's memory to the device, bypassing the page cache. Filesystems
/// without direct I/O refuse (EINVAL), and the file stays as it was.
pub fn set_direct_io(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let flags = super::status_flags(fd)?;
    super::set_status_flags(
        fd,
        if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        },
    )
}

/// Sets the length of an open file (`ftruncate`).
pub fn truncate(fd: BorrowedFd<'_>, len: u64) -> io::Result<()> {
    let len = i64::try_from(len).map_err(|_| einval())?;
    // SAFETY: ftruncate takes plain integers and a descriptor the borrow
    // keeps open.
    check(unsafe { libc::ftruncate(fd.as_raw_fd(), len) }).map(drop)
}

/// `pwrite(fd, data, offset)` until all of `data` is written (short writes
/// continue; `EINTR` retries). Blocks the calling thread: only for small
/// writes that the kernel will not throttle (see `storage::dirty_pages`).
pub fn pwrite_all(fd: BorrowedFd<'_>, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        let off = libc::off64_t::try_from(offset).map_err(|_| einval())?;
        // SAFETY: `data` is a live, initialised slice for the whole call and
        // the kernel only reads `data.len()` bytes from it; `fd` is kept
        // open by its borrow.
        let ret = unsafe { libc::pwrite64(fd.as_raw_fd(), data.as_ptr().cast(), data.len(), off) };
        match usize::try_from(ret) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                data = &data[n..];
                offset += n as u64;
            }
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
    Ok(())
}

/// An open directory stream (`fdopendir` over a duplicate of a directory
/// descriptor), read one entry at a time; closed on drop.
pub struct DirStream {
    /// INVARIANT: a valid `DIR*` from `fdopendir`, closed only in `Drop`.
    stream: std::ptr::NonNull<libc::DIR>,
}

impl DirStream {
    /// Opens a stream over the directory `dir` (opened `O_RDONLY |
    /// O_DIRECTORY`), from its first entry.
    pub fn open(dir: BorrowedFd<'_>) -> io::Result<DirStream> {
        // fdopendir takes ownership of the descriptor it is given, so hand
        // it a duplicate and keep ours.
        let dup = super::dup_cloexec(dir)?;
        let raw = dup.as_raw_fd();
        // SAFETY: `raw` is a fresh directory descriptor; on success
        // fdopendir takes it over (closedir closes it), so ownership moves
        // out of `dup` below.
        let stream = unsafe { libc::fdopendir(raw) };
        let Some(stream) = std::ptr::NonNull::new(stream) else {
            return Err(io::Error::last_os_error()); // `dup` closes itself
        };
        std::mem::forget(dup);
        // The stream shares the offset of `dir`'s description; start at the top.
        // SAFETY: `stream` is a valid DIR* returned by fdopendir.
        unsafe { libc::rewinddir(stream.as_ptr()) };
        Ok(DirStream { stream })
    }

    /// The next entry's name (never `.` or `..`), or `None` at the end.
    /// The name is copied into `name`.
    pub fn next_name(&mut self, name: &mut Vec<u8>) -> Option<()> {
        loop {
            // SAFETY: `self.stream` is a valid DIR* (type invariant); readdir
            // returns a pointer into it that stays valid until the next
            // readdir/closedir call on it.
            let entry = unsafe { libc::readdir(self.stream.as_ptr()) };
            if entry.is_null() {
                return None;
            }
            // SAFETY: `entry` is non-null and points to a dirent whose d_name
            // is a NUL-terminated string, valid until the next readdir call;
            // it is copied out before that.
            let bytes = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            name.clear();
            name.extend_from_slice(bytes);
            return Some(());
        }
    }
}

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: `self.stream` is a valid DIR* not used after this call.
        unsafe { libc::closedir(self.stream.as_ptr()) };
    }
}

/// `fsetxattr(fd, name, value, 0)`: sets an extended attribute of an open
/// file.
pub fn set_xattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `fd` is kept open by its borrow, `name` is a NUL-terminated C
    // string, and `value` is valid for reads of `value.len()` bytes; the
    // kernel only reads them.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// `fgetxattr(fd, name, buf)`: reads an extended attribute of an open file
/// into `buf` and returns its length (`ERANGE` if longer than `buf`).
pub fn get_xattr(fd: BorrowedFd<'_>, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `fd` is kept open by its borrow, `name` is a NUL-terminated C
    // string, and `buf` is valid for writes of its length; the kernel
    // writes at most that many bytes.
    let ret = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// Opens `name` directly in `dir` (`openat` with `O_NOFOLLOW`): a symlink
/// in its place is refused (ELOOP), never followed. For ringdrop's own
/// files, whose names it chose (the resumable-upload staging area).
pub fn open_in(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid C string; openat returns a new fd or -1;
    // `dir` is kept open by its borrow.
    owned(
        unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                mode as libc::c_uint,
            )
        }
        .into(),
    )
}

/// `flock(fd, LOCK_EX | LOCK_NB)`: `Ok(true)` when the lock was taken,
/// `Ok(false)` when another open file description holds it (in this
/// process or another). Never waits. The lock belongs to the open file
/// description: every duplicate of `fd` holds it, and it is released by
/// [`unlock`] or when the last of them closes.
pub fn try_lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: flock takes a descriptor the borrow keeps open and plain flags.
    match check(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(err) if err.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(err) => Err(err),
    }
}

/// `flock(fd, LOCK_UN)`: releases the lock of [`try_lock_exclusive`].
pub fn unlock(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: flock takes a descriptor the borrow keeps open and plain flags.
    check(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_UN) }).map(drop)
}

/// `pread(fd, buf, offset)` until `buf` is full or the file ends (`EINTR`
/// retries); returns the bytes read. Blocks the calling thread: only for
/// small reads of ringdrop's own small files (an upload record).
pub fn pread_full(fd: BorrowedFd<'_>, buf: &mut [u8], mut offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let off = libc::off64_t::try_from(offset).map_err(|_| einval())?;
        let rest = &mut buf[filled..];
        // SAFETY: `rest` is a live, writable slice for the whole call and the
        // kernel writes at most `rest.len()` bytes into it; `fd` is kept open
        // by its borrow.
        let ret =
            unsafe { libc::pread64(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len(), off) };
        match usize::try_from(ret) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                offset += n as u64;
            }
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
    Ok(filled)
}
