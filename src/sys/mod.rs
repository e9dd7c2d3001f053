//! The few raw Linux calls that tokio-uring and the standard library do not
//! offer, one file per subsystem. Every `unsafe` block of the crate that
//! calls libc lives here, each with the reason it is sound.
//!
//! * [`fs`] — paths beneath ROOT (`openat2` with `RESOLVE_BENEATH`),
//!   `O_TMPFILE`, `linkat`, `renameat2`, `unlinkat`, `mkdirat`, `fstatat`,
//!   `fstatvfs`, `sync_file_range`, `O_DIRECT`, `ftruncate`, directory
//!   reading, `pwrite`, `pread`, `flock` (a resumable upload's lock);
//! * [`socket`] — `shutdown`, `FIONREAD`, `sendfile`;
//! * [`process`] — resource limits, capabilities, termination signals.
//!
//! Descriptors are taken as [`BorrowedFd`](std::os::fd::BorrowedFd): the
//! compiler then checks that every call is made on a descriptor its caller
//! holds open, so a number can never be reused under a call.
//!
//! All calls are synchronous. The file-system ones are metadata
//! operations that complete in microseconds on a local filesystem (the
//! data path — reads, writes, syncs, preallocation — goes through
//! io_uring); `sendfile` copies page-cache pages into a non-blocking socket
//! and reads from disk what is not cached.

pub mod fs;
pub mod process;
pub mod socket;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The file status flags of `fd` (`fcntl(F_GETFL)`), e.g. `O_NONBLOCK`.
pub fn status_flags(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no argument and only reads the flags of a
    // descriptor the borrow keeps open.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// Sets the file status flags of `fd` (`fcntl(F_SETFL)`). They belong to
/// the open file description, so every duplicate of `fd` sees them.
pub fn set_status_flags(fd: BorrowedFd<'_>, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: F_SETFL takes an int argument and changes only the flags of
    // the open file description of a descriptor the borrow keeps open.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

/// A close-on-exec duplicate of `fd`: a second descriptor for the same
/// open file description.
pub fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor or -1; `fd` is kept
    // open by the borrow.
    let dup = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: `dup` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// io_uring handles that own a descriptor but offer only `AsRawFd`.
pub trait UringFd: AsRawFd + private::Sealed {}
impl UringFd for tokio_uring::fs::File {}
impl UringFd for tokio_uring::net::TcpStream {}
impl UringFd for tokio_uring::net::TcpListener {}

mod private {
    pub trait Sealed {}
    impl Sealed for tokio_uring::fs::File {}
    impl Sealed for tokio_uring::net::TcpStream {}
    impl Sealed for tokio_uring::net::TcpListener {}
}

/// The descriptor of a tokio-uring file, stream or listener, borrowed for
/// as long as the handle is.
pub fn fd_of<T: UringFd>(handle: &T) -> BorrowedFd<'_> {
    // SAFETY: the sealed `UringFd` types close their descriptor only in
    // `close(self)` or on drop, both of which take the handle by value, so
    // the descriptor stays open (and its number is not reused) while this
    // shared borrow of the handle lives.
    unsafe { BorrowedFd::borrow_raw(handle.as_raw_fd()) }
}
