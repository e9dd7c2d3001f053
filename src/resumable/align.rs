//! The O_DIRECT partial-block rule for appends.
//!
//! Direct writes must start at a block-aligned file offset and cover whole
//! blocks. An upload's durable offset may end mid-block (a chunk ended
//! there, or a connection dropped): the bytes of that last partial block
//! are on disk, but the next direct write has to rewrite the whole block.
//! So before an append the server reads `realign_range(offset, block)` of
//! the data file into the front of the append's first registered buffer,
//! puts the new bytes after them, and writes from `range.start`. The
//! re-read bytes are the same durable bytes, so a torn rewrite of that
//! block cannot change them, and at most `block - 1` bytes are re-read
//! per append.

use std::ops::Range;

/// The byte range of the data file to re-read into the front of the first
/// buffer of an append at `durable_offset`, so that direct writes stay
/// block-aligned: `offset - offset % block .. offset` (empty when the
/// offset is aligned, or when `block_size` is 0, meaning no alignment).
///
/// ```
/// use ringdrop::resumable::realign_range;
/// assert_eq!(realign_range(10_000, 4096), 8192..10_000);
/// assert_eq!(realign_range(8192, 4096), 8192..8192);
/// assert_eq!(realign_range(5, 0), 5..5);
/// ```
pub fn realign_range(durable_offset: u64, block_size: u64) -> Range<u64> {
    let partial = durable_offset.checked_rem(block_size).unwrap_or(0);
    durable_offset - partial..durable_offset
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Oracle: the largest aligned offset not above `offset`, by
        /// counting blocks.
        #[test]
        fn matches_block_counting(offset in 0u64..1 << 50, shift in 0u32..21) {
            let block = 1u64 << shift;
            let r = realign_range(offset, block);
            proptest::prop_assert_eq!(r.start, (offset / block) * block);
            proptest::prop_assert_eq!(r.end, offset);
            proptest::prop_assert!(r.end - r.start < block);
            proptest::prop_assert_eq!(r.start % block, 0);
        }
    }

    #[test]
    fn edges() {
        assert_eq!(realign_range(0, 4096), 0..0);
        assert_eq!(realign_range(4095, 4096), 0..4095);
        assert_eq!(realign_range(4097, 4096), 4096..4097);
        assert_eq!(realign_range(u64::MAX, 4096), u64::MAX - 4095..u64::MAX);
        assert_eq!(realign_range(7, 3), 6..7);
    }
}
