//! The few raw Linux calls tokio-uring does not offer: `openat2` with
//! `RESOLVE_BENEATH`, `O_TMPFILE`, `linkat`, `renameat2`, `unlinkat`,
//! `mkdirat`, `fstatat`, `sync_file_range`, `fcntl` (`O_DIRECT`), `fallocate`,
//! `ftruncate`, `fdopendir`/`readdir`, `sendfile` with the descriptor-flag
//! and reactor-registration calls around it, and the resource-limit calls
//! used at start-up.
//!
//! Every `unsafe` block of the crate that touches libc lives here, each with
//! the reason it is sound. All functions are synchronous: they are
//! metadata operations that complete in microseconds on a local filesystem,
//! except [`sendfile`], which copies page-cache pages into a non-blocking
//! socket and reads from disk what is not cached.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Converts a path component or relative path to a C string; an interior
/// NUL is impossible here (the target decoder rejects it) but is still an
/// error rather than a panic.
pub fn c_path(path: &str) -> io::Result<CString> {
    CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
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
pub fn open_beneath(dir: RawFd, path: &CStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
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
    // exact size. The kernel only reads both.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: a non-negative return of openat2 is a new file descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a directory (not through `openat2`): used once, for ROOT itself.
pub fn open_dir_path(path: &std::path::Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` is a valid NUL-terminated path; open returns a new fd or -1.
    let fd = check(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: `fd` was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates an unnamed file in directory `dir` (`O_TMPFILE`). It has no name
/// until [`link_fd_at`]; if the process dies or the fd is closed first, the
/// kernel frees it — nothing can be left behind.
pub fn open_tmpfile(dir: RawFd, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: "." is a valid C string; openat returns a new fd or -1.
    let fd = check(unsafe {
        libc::openat(
            dir,
            c".".as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a new named file exclusively (`O_CREAT | O_EXCL`), for
/// filesystems without `O_TMPFILE`.
pub fn create_exclusive(dir: RawFd, name: &CStr, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid C string; openat returns a new fd or -1.
    let fd = check(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Gives the open file `fd` the name `name` in `dir`; fails with EEXIST if
/// the name is taken (never replaces). Tries `AT_EMPTY_PATH` first (needs
/// CAP_DAC_READ_SEARCH), then the `/proc/self/fd` form that works for
/// everyone.
pub fn link_fd_at(fd: RawFd, dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are valid C strings; linkat only reads them.
    let ret = unsafe { libc::linkat(fd, c"".as_ptr(), dir, name.as_ptr(), libc::AT_EMPTY_PATH) };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EPERM) => {}
        _ => return Err(err),
    }
    let proc_path = c_path(&format!("/proc/self/fd/{fd}"))?;
    // SAFETY: both strings are valid C strings; linkat only reads them.
    check(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            dir,
            name.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

/// `renameat2(dir, from, dir, to, flags)`; `flags` may be 0 (replace) or
/// `RENAME_NOREPLACE`.
pub fn rename_at(dir: RawFd, from: &CStr, to: &CStr, flags: libc::c_uint) -> io::Result<()> {
    // SAFETY: both names are valid C strings; the call only reads them.
    check(unsafe { libc::renameat2(dir, from.as_ptr(), dir, to.as_ptr(), flags) }).map(drop)
}

/// Removes `name` from `dir` (`AT_REMOVEDIR` for a directory).
pub fn unlink_at(dir: RawFd, name: &CStr, remove_dir: bool) -> io::Result<()> {
    let flags = if remove_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: `name` is a valid C string; unlinkat only reads it.
    check(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) }).map(drop)
}

/// Creates directory `name` in `dir`.
pub fn mkdir_at(dir: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is a valid C string; mkdirat only reads it.
    check(unsafe { libc::mkdirat(dir, name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// `fstat` of an open descriptor.
pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for writes of one `stat`; fstat fills it on success.
    check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat returned 0, so it initialised `st`.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, not its target.
pub fn lstat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is a valid C string and `st` valid for writes of one `stat`.
    check(unsafe {
        libc::fstatat(
            dir,
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat returned 0, so it initialised `st`.
    Ok(unsafe { st.assume_init() })
}

/// Starts writeback of a byte range without waiting for it
/// (`SYNC_FILE_RANGE_WRITE`), so a later fdatasync has little left to do.
pub fn start_writeback(fd: RawFd, offset: u64, len: u64) -> io::Result<()> {
    let offset = i64::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let len = i64::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: sync_file_range takes plain integers and an fd we hold open.
    check(unsafe { libc::sync_file_range(fd, offset, len, libc::SYNC_FILE_RANGE_WRITE) }).map(drop)
}

/// Turns `O_DIRECT` on or off for an open file: its writes then go from the
/// caller's memory to the device, bypassing the page cache. Filesystems
/// without direct I/O refuse (EINVAL), and the file stays as it was.
pub fn set_direct_io(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = status_flags(fd)?;
    set_status_flags(
        fd,
        if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        },
    )
}

/// Allocates disk blocks for `offset..offset + len` of an open file
/// (`fallocate` mode 0: the file grows to cover the range, reading as
/// zeros). ENOSPC/EDQUOT come now instead of mid-write; filesystems
/// without it say EOPNOTSUPP.
pub fn allocate(fd: RawFd, offset: u64, len: u64) -> io::Result<()> {
    let offset = i64::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let len = i64::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: fallocate takes plain integers and an fd we hold open.
    check(unsafe { libc::fallocate(fd, 0, offset, len) }).map(drop)
}

/// Sets the length of an open file (`ftruncate`).
pub fn truncate_fd(fd: RawFd, len: u64) -> io::Result<()> {
    let len = i64::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: ftruncate takes plain integers and an fd we hold open.
    check(unsafe { libc::ftruncate(fd, len) }).map(drop)
}

/// One directory entry: its name and what `fstatat` (not following symlinks
/// for the type, following them for size) says about it.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// The entry's name (not `.` or `..`).
    pub name: Vec<u8>,
    /// Its metadata; for a symlink, the metadata of its target when that can
    /// be read beneath ROOT, else the link itself.
    pub stat: libc::stat,
}

/// Lists a directory opened with `O_RDONLY | O_DIRECTORY`, at most
/// `max_entries` entries. `stat_entry` is called for each name and decides
/// the metadata (the caller resolves symlinks beneath ROOT).
pub fn read_dir(
    dir: &OwnedFd,
    max_entries: usize,
    mut stat_entry: impl FnMut(&CStr) -> Option<libc::stat>,
) -> io::Result<Vec<DirEntry>> {
    // fdopendir takes ownership of the descriptor it is given, so hand it a
    // duplicate and keep ours.
    // SAFETY: dup of a descriptor we own; returns a new fd or -1.
    let dup = check(unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: `dup` is a fresh directory descriptor owned by nobody else;
    // fdopendir takes it over (closedir below closes it).
    let stream = unsafe { libc::fdopendir(dup) };
    if stream.is_null() {
        let err = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `dup` is still ours to close.
        unsafe { libc::close(dup) };
        return Err(err);
    }
    // The directory stream shares the offset of `dir`; start at the top.
    // SAFETY: `stream` is a valid DIR* returned by fdopendir.
    unsafe { libc::rewinddir(stream) };
    let mut entries = Vec::new();
    loop {
        // SAFETY: `stream` is a valid DIR*; readdir returns a pointer into it
        // that stays valid until the next readdir/closedir call.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            break;
        }
        // SAFETY: `entry` is non-null and points to a dirent whose d_name is
        // a NUL-terminated string, valid until the next readdir call; it is
        // copied out before that.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        if let Some(stat) = stat_entry(name) {
            entries.push(DirEntry {
                name: bytes.to_vec(),
                stat,
            });
        }
        if entries.len() >= max_entries {
            break;
        }
    }
    // SAFETY: `stream` is a valid DIR* not used after this call.
    unsafe { libc::closedir(stream) };
    Ok(entries)
}

/// Raises the open-file soft limit to the hard limit and returns the new
/// soft limit (as Go and nginx do at start-up).
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid for writes of one rlimit.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(raised.rlim_cur);
        }
    }
    Ok(lim.rlim_cur)
}

/// The `RLIMIT_MEMLOCK` soft and hard limits in bytes, after trying to raise
/// the soft limit to the hard one. `None` stands for unlimited.
pub fn memlock_limit() -> io::Result<Option<u64>> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid for writes of one rlimit.
    check(unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) })?;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) } == 0 {
            lim = raised;
        }
    }
    Ok((lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur))
}

/// Bit number of CAP_IPC_LOCK in the capability sets (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

/// True when this process may lock memory without limit (CAP_IPC_LOCK in
/// its effective set), in which case io_uring does not charge registered
/// buffers to RLIMIT_MEMLOCK.
pub fn has_cap_ipc_lock() -> bool {
    // Read the effective capability mask from /proc: no extra crate needed.
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

/// A name as an `OsStr` (file names are bytes on Linux).
pub fn os_name(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

/// Shuts down the read side of a socket so that a pending receive (also one
/// inside io_uring) completes at once with end-of-file.
pub fn shutdown_socket(fd: RawFd, how: libc::c_int) {
    // SAFETY: shutdown takes plain integers; on a closed or non-socket fd it
    // only returns an error, which is ignored (best effort).
    unsafe { libc::shutdown(fd, how) };
}

/// The set of SIGINT and SIGTERM.
fn termination_signals() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset then
    // only modifies an initialised set, with valid signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        set.assume_init()
    }
}

/// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread
/// it spawns afterwards), so that [`wait_for_termination_signal`] receives
/// them instead of the default handler killing the process.
pub fn block_termination_signals() -> io::Result<()> {
    let set = termination_signals();
    // SAFETY: `set` is an initialised sigset; the old mask is not requested.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(())
}

/// Waits for SIGINT or SIGTERM (blocked beforehand) and returns its number.
pub fn wait_for_termination_signal() -> io::Result<libc::c_int> {
    let set = termination_signals();
    let mut signal: libc::c_int = 0;
    // SAFETY: `set` is an initialised sigset and `signal` a valid out pointer.
    let ret = unsafe { libc::sigwait(&set, &mut signal) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(signal)
}

/// Bytes waiting in a socket's receive queue (`FIONREAD`): lets the body
/// pipeline read again only when the read will not wait.
pub fn bytes_readable(fd: RawFd) -> usize {
    let mut available: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the valid pointer given.
    let ret = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut available as *mut libc::c_int) };
    if ret < 0 {
        0
    } else {
        usize::try_from(available).unwrap_or(0)
    }
}

/// The file status flags of `fd` (`fcntl(F_GETFL)`), e.g. `O_NONBLOCK`.
pub fn status_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    check(unsafe { libc::fcntl(fd, libc::F_GETFL) })
}

/// Sets the file status flags of `fd` (`fcntl(F_SETFL)`). They belong to
/// the open file description, so every duplicate of `fd` sees them.
pub fn set_status_flags(fd: RawFd, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: F_SETFL takes an int argument and changes only the flags of
    // the descriptor's open file description.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }).map(drop)
}

/// A close-on-exec duplicate of `fd`: a second descriptor for the same
/// open file description, which can be handed to something that closes it.
fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor or -1.
    let dup = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: `dup` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

/// Write readiness of socket `fd` on tokio's reactor, through a duplicate
/// of the descriptor: dropping the result deregisters and closes the
/// duplicate only, never the connection. Must be called inside a runtime
/// with the I/O driver enabled (tokio-uring's is).
pub fn write_readiness(fd: RawFd) -> io::Result<AsyncFd<OwnedFd>> {
    let dup = dup_cloexec(fd)?;
    // SAFETY: the AsyncFd takes ownership of `dup`, an OwnedFd: it stays
    // open and refers to the same open file description until the AsyncFd
    // drops it (after deregistering it), and `OwnedFd::as_raw_fd` always
    // returns that same number.
    unsafe { AsyncFd::register_with_interest(dup, Interest::WRITABLE) }.map_err(io::Error::from)
}

/// `sendfile(socket, file, &offset, count)`: copies up to `count` bytes of
/// `file` from `offset` to `socket` inside the kernel and returns how many
/// it copied (0: `offset` is at or past the end of the file). On a
/// non-blocking socket it copies what fits in the send buffer, or fails
/// with `WouldBlock`. Pages not in the page cache are read from disk first,
/// synchronously.
pub fn sendfile(socket: RawFd, file: RawFd, offset: u64, count: usize) -> io::Result<usize> {
    let mut off =
        libc::off64_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: both are plain descriptors; `off` is a valid, initialised
    // off64_t that the kernel reads and updates, and it outlives the call.
    // No user memory is read or written otherwise.
    let ret = unsafe { libc::sendfile64(socket, file, &mut off, count) };
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// `pwrite(fd, data, offset)` until all of `data` is written (short writes
/// continue; `EINTR` retries). Blocks the calling thread: only for small
/// writes that the kernel will not throttle (see `storage::dirty_pages`).
pub fn pwrite_all(fd: RawFd, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        let off = libc::off64_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: `data` is a live, initialised slice for the whole call and
        // the kernel only reads `data.len()` bytes from it.
        let ret = unsafe { libc::pwrite64(fd, data.as_ptr().cast(), data.len(), off) };
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
