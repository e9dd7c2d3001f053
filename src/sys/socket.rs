//! Socket calls tokio-uring does not offer.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Shuts down one or both directions of a socket. A pending receive (also
/// one inside io_uring) then completes at once with end-of-file. Best
/// effort: on a socket that is already closed by the peer the error is
/// ignored.
pub fn shutdown(socket: BorrowedFd<'_>, how: libc::c_int) {
    // SAFETY: shutdown takes plain integers; the borrow keeps the
    // descriptor open (so its number cannot have been reused), and an
    // error is harmless.
    unsafe { libc::shutdown(socket.as_raw_fd(), how) };
}

/// Bytes waiting in a socket's receive queue (`FIONREAD`); 0 on error.
pub fn bytes_waiting(socket: BorrowedFd<'_>) -> usize {
    let mut available: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the valid pointer given, on
    // a descriptor the borrow keeps open.
    let ret = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            libc::FIONREAD,
            &mut available as *mut libc::c_int,
        )
    };
    if ret < 0 {
        0
    } else {
        usize::try_from(available).unwrap_or(0)
    }
}

/// Whether the socket can take more bytes now (`poll` for `POLLOUT`
/// without waiting; also true on an error or hang-up, which a write then
/// reports).
pub fn is_writable_now(socket: BorrowedFd<'_>) -> bool {
    let mut poll = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a count of 1 and no wait; the borrow keeps
    // the descriptor open.
    let ret = unsafe { libc::poll(&mut poll, 1, 0) };
    ret != 0 && (ret < 0 || poll.revents != 0)
}

/// `send(socket, bytes, MSG_DONTWAIT | MSG_NOSIGNAL)`: what the send buffer
/// takes now, or `WouldBlock` when it is full. Works on a blocking socket
/// too (the flag makes this one call non-blocking), so it can sit between
/// io_uring operations on the same socket.
pub fn send_now(socket: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `bytes` is valid for reads of its length for the duration of
    // the call; the borrow keeps the descriptor open.
    let ret = unsafe {
        libc::send(
            socket.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// About how many bytes the socket's send buffer can take now: half of
/// `SO_SNDBUF` (the kernel doubles the value it is given, for its own
/// bookkeeping) less what is queued and not yet acknowledged
/// (`SIOCOUTQ`). An estimate, for sizing a write; 0 on an error.
pub fn send_room(socket: BorrowedFd<'_>) -> usize {
    let mut sndbuf: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_SNDBUF writes one c_int through the valid pointer, whose
    // size `len` gives; the borrow keeps the descriptor open.
    let ret = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&mut sndbuf as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if ret < 0 {
        return 0;
    }
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one c_int through the valid pointer given.
    let ret = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            libc::TIOCOUTQ,
            &mut queued as *mut libc::c_int,
        )
    };
    if ret < 0 {
        return 0;
    }
    let half = usize::try_from(sndbuf).unwrap_or(0) / 2;
    half.saturating_sub(usize::try_from(queued).unwrap_or(0))
}

/// `sendfile(socket, file, &offset, count)`: copies up to `count` bytes of
/// `file` from `offset` to `socket` inside the kernel and returns how many
/// it copied (0: `offset` is at or past the end of the file). On a
/// non-blocking socket it copies what fits in the send buffer, or fails
/// with `WouldBlock`. Pages not in the page cache are read from disk first,
/// synchronously.
pub fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off64_t::try_from(offset).map_err(|_| super::einval())?;
    // SAFETY: both descriptors are kept open by their borrows; `off` is a
    // valid, initialised off64_t that the kernel reads and updates, and it
    // outlives the call. No user memory is read or written otherwise.
    let ret = unsafe { libc::sendfile64(socket.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}
