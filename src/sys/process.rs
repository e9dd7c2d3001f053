//! Process-wide set-up: resource limits, capabilities, termination signals.

use std::io;

use super::check;

/// Raises the open-file soft limit to the hard limit and returns the new
/// soft limit (as Go and nginx do at start-up).
pub fn raise_nofile_limit() -> io::Result<u64> {
    let lim = raise_to_hard_limit(libc::RLIMIT_NOFILE)?;
    Ok(lim.rlim_cur)
}

/// The `RLIMIT_MEMLOCK` soft limit in bytes, after trying to raise it to
/// the hard one. `None` stands for unlimited.
pub fn memlock_limit() -> io::Result<Option<u64>> {
    let lim = raise_to_hard_limit(libc::RLIMIT_MEMLOCK)?;
    Ok((lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur))
}

/// Raises the soft limit of `resource` to its hard limit (best effort) and
/// returns the limits in force.
fn raise_to_hard_limit(resource: libc::__rlimit_resource_t) -> io::Result<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid for writes of one rlimit.
    check(unsafe { libc::getrlimit(resource, &mut lim) })?;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(resource, &raised) } == 0 {
            lim = raised;
        }
    }
    Ok(lim)
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

/// The set of SIGINT, SIGTERM and SIGHUP.
fn handled_signals() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset then
    // only modifies an initialised set, with valid signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGHUP);
        set.assume_init()
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every
/// thread it spawns afterwards), so that [`wait_for_signal`] receives them
/// instead of the default handlers killing the process.
pub fn block_handled_signals() -> io::Result<()> {
    let set = handled_signals();
    // SAFETY: `set` is an initialised sigset; the old mask is not requested.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(())
}

/// Waits for SIGINT, SIGTERM or SIGHUP (blocked beforehand) and returns its
/// number.
pub fn wait_for_signal() -> io::Result<libc::c_int> {
    let set = handled_signals();
    let mut signal: libc::c_int = 0;
    // SAFETY: `set` is an initialised sigset and `signal` a valid out pointer.
    let ret = unsafe { libc::sigwait(&set, &mut signal) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(signal)
}
