//! The digests computed at upload, kept with the file in the extended
//! attribute [`DIGEST_XATTR`], and read back for downloads.
//!
//! The value (encoded by [`crate::digest::encode_stored`]) records the
//! file's size and mtime; [`load`] returns the digests only while both are
//! unchanged, so a file modified behind the server's back is never served a
//! stale digest. Filesystems without user extended attributes (tmpfs before
//! Linux 6.6, some network filesystems, a `nouser_xattr` mount) keep no
//! digests: [`store`] says so and the upload goes on.
//!
//! Order at upload: every write, truncate and preallocation of the staged
//! file first (each may change its mtime), then [`store`] on the staged
//! descriptor — an `O_TMPFILE` inode before its link is fine — then the
//! commit (`fdatasync`, link, `fsync` of the directory). `fdatasync` does
//! not promise to persist the attribute; after a crash it may be missing,
//! never wrong for the inode it is on.
//!
//! Both calls are one short synchronous syscall on an open descriptor
//! (plus one `fstat` in [`store`]), like the metadata calls in
//! [`crate::sys::fs`].

use std::ffi::CStr;
use std::io;
use std::os::fd::BorrowedFd;

use crate::digest::stored::MAX_STORED_BYTES;
use crate::digest::{decode_stored, encode_stored, DigestSet, FileStamp};
use crate::sys::fs as sysfs;

/// The attribute's name. The `user.` namespace is the one an unprivileged
/// file owner may write.
pub const DIGEST_XATTR: &CStr = c"user.ringdrop.digest";

/// What [`store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// The digests are on the file.
    Stored,
    /// The filesystem keeps no user extended attributes (`ENOTSUP`), or
    /// there was no digest: the file has no known digest, which is not an
    /// error.
    NotKept,
}

/// The [`FileStamp`] (size, mtime) an `fstat` reports.
pub fn stamp_of_stat(st: &libc::stat) -> FileStamp {
    FileStamp {
        size: u64::try_from(st.st_size).unwrap_or(0),
        mtime_sec: st.st_mtime,
        mtime_nsec: u32::try_from(st.st_mtime_nsec).unwrap_or(0),
    }
}

/// Writes `digests` into [`DIGEST_XATTR`] of the open file `fd`, stamped
/// with its current size and mtime (from an `fstat` made here, so the
/// stamp is the file's state after its last write). `Err` only for an
/// unexpected failure (`ENOSPC`, `EDQUOT`, `EIO`, …); the upload may go on
/// without the digest: the caller logs it.
pub fn store(fd: BorrowedFd<'_>, digests: &DigestSet) -> io::Result<Kept> {
    let stamp = stamp_of_stat(&sysfs::fstat(fd)?);
    let Some(value) = encode_stored(digests, stamp) else {
        return Ok(Kept::NotKept);
    };
    match sysfs::set_xattr(fd, DIGEST_XATTR, &value) {
        Ok(()) => Ok(Kept::Stored),
        Err(err) if is_unsupported(&err) => Ok(Kept::NotKept),
        Err(err) => Err(err),
    }
}

/// The digests kept on the open file `fd`, if there are any and they were
/// recorded for `stamp` (the size and mtime the caller's `fstat` of the
/// same descriptor returned, see [`stamp_of_stat`]). Never fails: a missing,
/// unreadable, foreign or stale attribute is "no known digest".
pub fn load(fd: BorrowedFd<'_>, stamp: FileStamp) -> Option<DigestSet> {
    // One byte more than the longest valid value, so a longer one is seen
    // as such (and refused by the decoder), not cut to a valid-looking one.
    let mut buf = [0u8; MAX_STORED_BYTES + 1];
    // An error — ENODATA (no attribute), ENOTSUP, ERANGE (a value longer
    // than `buf`, which is not ours) or another — is "no digest".
    let len = sysfs::get_xattr(fd, DIGEST_XATTR, &mut buf).ok()?;
    decode_stored(buf.get(..len)?, stamp)
}

/// `ENOTSUP` (the same value as `EOPNOTSUPP` on Linux): the filesystem or
/// mount does not keep user extended attributes.
fn is_unsupported(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ENOTSUP)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::digest::{Algorithm, Hasher};
    use crate::sys::fs as sysfs_test;

    /// A fresh directory under `parent`, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(parent: &Path, name: &str) -> TempDir {
            let path = parent.join(format!("ringdrop-xattr-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir(&path).expect("create temp dir");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn digests(body: &[u8]) -> DigestSet {
        let mut set = DigestSet::default();
        for a in [Algorithm::Sha256, Algorithm::Sha512] {
            let mut h = Hasher::new(a);
            h.update(body);
            set.insert(h.finish());
        }
        set
    }

    fn stamp(file: &std::fs::File) -> FileStamp {
        stamp_of_stat(&sysfs_test::fstat(file.as_fd()).unwrap())
    }

    /// Where the temp file lives: `std::env::temp_dir()` (ext4 here) and
    /// `/dev/shm` (tmpfs; user xattrs from Linux 6.6, else `NotKept`).
    fn filesystems() -> Vec<PathBuf> {
        let mut dirs = vec![std::env::temp_dir()];
        if Path::new("/dev/shm").is_dir() {
            dirs.push(PathBuf::from("/dev/shm"));
        }
        dirs
    }

    #[test]
    fn round_trip_then_mtime_or_size_change_invalidates() {
        for parent in filesystems() {
            let dir = TempDir::new(&parent, "named");
            let path = dir.0.join("f");
            std::fs::write(&path, b"hello").unwrap();
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            let set = digests(b"hello");
            match store(file.as_fd(), &set).unwrap() {
                Kept::NotKept => {
                    eprintln!("{}: no user xattrs, nothing to check", parent.display());
                    assert_eq!(load(file.as_fd(), stamp(&file)), None);
                    continue;
                }
                Kept::Stored => {}
            }
            // Read back through a second, read-only descriptor, as a
            // download opens the file.
            let reader = std::fs::File::open(&path).unwrap();
            assert_eq!(
                load(reader.as_fd(), stamp(&reader)),
                Some(set),
                "{}",
                parent.display()
            );

            // Same size, new mtime: stale.
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
            file.set_modified(t).unwrap();
            assert_eq!(load(reader.as_fd(), stamp(&reader)), None, "mtime change");

            // Stored again, then the size changes (and the mtime set back).
            assert_eq!(store(file.as_fd(), &set).unwrap(), Kept::Stored);
            assert!(load(reader.as_fd(), stamp(&reader)).is_some());
            file.set_len(4).unwrap();
            file.set_modified(t).unwrap();
            assert_eq!(load(reader.as_fd(), stamp(&reader)), None, "size change");
        }
    }

    #[test]
    fn o_tmpfile_keeps_the_attribute_through_its_link() {
        for parent in filesystems() {
            let dir = TempDir::new(&parent, "tmpfile");
            let dir_fd = std::fs::File::open(&dir.0).unwrap();
            let staged = match sysfs_test::open_tmpfile(dir_fd.as_fd(), 0o600, false) {
                Ok(fd) => fd,
                Err(e) => {
                    eprintln!("{}: no O_TMPFILE ({e})", parent.display());
                    continue;
                }
            };
            sysfs_test::pwrite_all(staged.as_fd(), b"staged bytes", 0).unwrap();
            let set = digests(b"staged bytes");
            let kept = store(staged.as_fd(), &set).unwrap();
            sysfs_test::link_fd_at(staged.as_fd(), dir_fd.as_fd(), c"linked").unwrap();
            let reader = std::fs::File::open(dir.0.join("linked")).unwrap();
            let expected = (kept == Kept::Stored).then_some(set);
            assert_eq!(
                load(reader.as_fd(), stamp(&reader)),
                expected,
                "{}",
                parent.display()
            );
            if parent == std::env::temp_dir() {
                assert_eq!(
                    kept,
                    Kept::Stored,
                    "ext4 keeps user xattrs on an O_TMPFILE inode"
                );
            }
        }
    }

    #[test]
    fn foreign_values_are_no_digest() {
        let dir = TempDir::new(&std::env::temp_dir(), "foreign");
        let path = dir.0.join("f");
        std::fs::write(&path, b"x").unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .unwrap();
        // No attribute at all.
        assert_eq!(load(file.as_fd(), stamp(&file)), None);
        // An attribute longer than any valid value.
        let long = [1u8; MAX_STORED_BYTES + 10];
        sysfs_test::set_xattr(file.as_fd(), DIGEST_XATTR, &long).unwrap();
        assert_eq!(load(file.as_fd(), stamp(&file)), None);
        // No digest to keep.
        assert_eq!(
            store(file.as_fd(), &DigestSet::default()).unwrap(),
            Kept::NotKept
        );
    }
}
