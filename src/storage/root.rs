//! ROOT as a directory file descriptor, and every lookup beneath it through
//! `openat2(RESOLVE_BENEATH)`: the kernel, not a string check, guarantees that
//! no path (`..`, a symlink pointing outside) resolves outside ROOT.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use crate::sys::fs as sysfs;

/// The served directory.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    /// ROOT's canonical path, to name what a descriptor beneath it resolved
    /// to (`/proc/self/fd`).
    canonical: std::path::PathBuf,
}

/// A ROOT-relative path split into its parent directory and last component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentAndName<'a> {
    /// The parent, ROOT-relative ("" for ROOT itself).
    pub parent: &'a str,
    /// The last component (never empty, never contains '/').
    pub name: &'a str,
}

/// Splits a decoded, normalized ROOT-relative path (`a/b/c.txt`). `None` for
/// ROOT itself (the empty path).
pub fn split_parent(path: &str) -> Option<ParentAndName<'_>> {
    if path.is_empty() {
        return None;
    }
    Some(match path.rsplit_once('/') {
        Some((parent, name)) => ParentAndName { parent, name },
        None => ParentAndName {
            parent: "",
            name: path,
        },
    })
}

impl Root {
    /// Opens ROOT; it must be a directory.
    pub fn open(path: &Path) -> io::Result<Root> {
        Ok(Root {
            dir: sysfs::open_dir_path(path)?,
            canonical: std::fs::canonicalize(path)?,
        })
    }

    /// Opens a directory beneath ROOT for reading, creating files in it and
    /// fsyncing it. `""` is ROOT itself.
    pub fn open_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let c = sysfs::c_path(if rel.is_empty() { "." } else { rel })?;
        sysfs::open_beneath(self.dir.as_fd(), &c, libc::O_RDONLY | libc::O_DIRECTORY, 0)
    }

    /// Opens a file or directory beneath ROOT read-only, without blocking:
    /// `O_NONBLOCK`, so opening a FIFO does not wait for a writer (a FIFO,
    /// socket or device under ROOT must never hold a worker). The caller
    /// `fstat`s the result and uses only regular files and directories;
    /// [`Root::open_read`] callers clear `O_NONBLOCK` on a regular file
    /// before reading it through io_uring (which honours the flag).
    pub fn open_read(&self, rel: &str) -> io::Result<OwnedFd> {
        let c = sysfs::c_path(if rel.is_empty() { "." } else { rel })?;
        sysfs::open_beneath(
            self.dir.as_fd(),
            &c,
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )
    }

    /// The ROOT-relative path (normalized: no leading `/`, `""` for ROOT)
    /// that the open descriptor `fd` beneath ROOT resolved to — where a
    /// symlink led. `None` if it cannot be told.
    pub fn path_of(&self, fd: std::os::fd::BorrowedFd<'_>) -> Option<String> {
        use std::os::fd::AsRawFd;
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let rel = link.strip_prefix(&self.canonical).ok()?;
        rel.to_str().map(str::to_owned)
    }

    /// Like [`stat_beneath`](Self::stat_beneath), and also the
    /// ROOT-relative path the entry resolves to (where a symlink leads),
    /// when it can be told.
    pub fn stat_and_path_beneath(
        &self,
        dir_rel: &str,
        name: &std::ffi::CStr,
    ) -> io::Result<(libc::stat, Option<String>)> {
        let fd = self.open_path_beneath(dir_rel, name)?;
        let st = sysfs::fstat(fd.as_fd())?;
        Ok((st, self.path_of(fd.as_fd())))
    }

    fn open_path_beneath(&self, dir_rel: &str, name: &std::ffi::CStr) -> io::Result<OwnedFd> {
        let mut rel = String::with_capacity(dir_rel.len() + 1 + name.to_bytes().len());
        if !dir_rel.is_empty() {
            rel.push_str(dir_rel);
            rel.push('/');
        }
        rel.push_str(&String::from_utf8_lossy(name.to_bytes()));
        let c = CString::new(rel).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        sysfs::open_beneath(self.dir.as_fd(), &c, libc::O_PATH, 0)
    }

    /// Resolves `name` inside the open directory `dir`, staying beneath ROOT:
    /// the check that a symlink in a listing points inside.
    pub fn stat_beneath(&self, dir_rel: &str, name: &std::ffi::CStr) -> io::Result<libc::stat> {
        let fd = self.open_path_beneath(dir_rel, name)?;
        sysfs::fstat(fd.as_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(split_parent(""), None);
        assert_eq!(
            split_parent("a"),
            Some(ParentAndName {
                parent: "",
                name: "a"
            })
        );
        assert_eq!(
            split_parent("a/b/c"),
            Some(ParentAndName {
                parent: "a/b",
                name: "c"
            })
        );
    }
}
