//! ROOT as a directory file descriptor, and every lookup beneath it through
//! `openat2(RESOLVE_BENEATH)`: the kernel, not a string check, guarantees that
//! no path (`..`, a symlink pointing outside) resolves outside ROOT.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::sys;

/// The served directory.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
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
            dir: sys::open_dir_path(path)?,
        })
    }

    /// Opens a directory beneath ROOT for reading, creating files in it and
    /// fsyncing it. `""` is ROOT itself.
    pub fn open_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let c = sys::c_path(if rel.is_empty() { "." } else { rel })?;
        sys::open_beneath(
            self.dir.as_raw_fd(),
            &c,
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )
    }

    /// Opens a file or directory beneath ROOT read-only (the caller `fstat`s it).
    pub fn open_read(&self, rel: &str) -> io::Result<OwnedFd> {
        let c = sys::c_path(if rel.is_empty() { "." } else { rel })?;
        sys::open_beneath(self.dir.as_raw_fd(), &c, libc::O_RDONLY, 0)
    }

    /// Resolves `name` inside the open directory `dir`, staying beneath ROOT:
    /// the check that a symlink in a listing points inside.
    pub fn stat_beneath(&self, dir_rel: &str, name: &std::ffi::CStr) -> io::Result<libc::stat> {
        let mut rel = String::with_capacity(dir_rel.len() + 1 + name.to_bytes().len());
        if !dir_rel.is_empty() {
            rel.push_str(dir_rel);
            rel.push('/');
        }
        rel.push_str(&String::from_utf8_lossy(name.to_bytes()));
        let c = CString::new(rel).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let fd = sys::open_beneath(self.dir.as_raw_fd(), &c, libc::O_PATH, 0)?;
        sys::fstat(fd.as_raw_fd())
    }

    /// The raw descriptor of ROOT.
    pub fn raw_fd(&self) -> RawFd {
        self.dir.as_raw_fd()
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
