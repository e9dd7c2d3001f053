//! Page-aligned, zero-initialised heap buffers: the memory behind the
//! registered pool.
//!
//! `O_DIRECT` writes need the memory address, the length and the file offset
//! aligned to the device's logical block size. A `Vec<u8>` from the global
//! allocator is only 16-byte aligned, so the pool is built from these
//! instead. They are zeroed once at start-up and then count as fully
//! initialised for their whole life: a registered buffer is reused for
//! every request, so tracking a shorter "initialised" prefix would buy
//! nothing, and a write padded up to the next block boundary may read past
//! the bytes the last read filled.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use tokio_uring::buf::{IoBuf, IoBufMut};

/// Alignment of every buffer and of every direct write: 4 KiB covers the
/// logical block size of every common block device (512 B or 4 KiB).
pub const BLOCK_ALIGN_BYTES: usize = 4096;

/// `len` rounded up to a multiple of [`BLOCK_ALIGN_BYTES`].
pub const fn round_up_to_block(len: usize) -> usize {
    len.div_ceil(BLOCK_ALIGN_BYTES) * BLOCK_ALIGN_BYTES
}

/// A heap buffer of a fixed length, aligned to [`BLOCK_ALIGN_BYTES`] and
/// zeroed at allocation.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl AlignedBuf {
    /// Allocates `len` zero bytes (`len` is rounded up to a whole number of
    /// blocks; at least one block). Aborts on allocation failure, like `Vec`.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let len = round_up_to_block(len.max(1));
        let layout = Self::layout(len);
        // SAFETY: `layout` has a non-zero size (at least one block).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        AlignedBuf { ptr, len }
    }

    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len, BLOCK_ALIGN_BYTES)
            .expect("buffer sizes are bounded by the command line (at most 1 GiB)")
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc_zeroed` with exactly this layout and
        // is freed only here, once.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) }
    }
}

// SAFETY: the allocation is owned by the `AlignedBuf` and never moves or
// shrinks while it lives, so `stable_ptr` stays valid for `bytes_total`
// bytes; all of them were zeroed at allocation, so they are initialised.
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.len
    }

    fn bytes_total(&self) -> usize {
        self.len
    }
}

// SAFETY: as for `IoBuf`; the memory is exclusively owned, so handing out a
// mutable pointer to it cannot alias another reference.
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    unsafe fn set_init(&mut self, _pos: usize) {
        // Every byte is initialised from the start.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_block_aligned_zeroed_and_rounded_up() {
        for asked in [1, 4095, 4096, 65_536, 100_000] {
            let buf = AlignedBuf::zeroed(asked);
            assert_eq!(buf.stable_ptr() as usize % BLOCK_ALIGN_BYTES, 0);
            assert_eq!(buf.bytes_total() % BLOCK_ALIGN_BYTES, 0);
            assert!(buf.bytes_total() >= asked && buf.bytes_total() < asked + BLOCK_ALIGN_BYTES);
            assert_eq!(buf.bytes_init(), buf.bytes_total());
            // SAFETY: the buffer owns `len` initialised bytes at `stable_ptr`.
            let bytes = unsafe { std::slice::from_raw_parts(buf.stable_ptr(), buf.bytes_total()) };
            assert!(bytes.iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn round_up_to_block_is_the_next_multiple() {
        assert_eq!(round_up_to_block(0), 0);
        assert_eq!(round_up_to_block(1), 4096);
        assert_eq!(round_up_to_block(4096), 4096);
        assert_eq!(round_up_to_block(4097), 8192);
    }
}
