//! Whether a buffered file write would be throttled by the kernel right now.
//!
//! A buffered write (`pwrite` into the page cache) can be paused by the
//! kernel in `balance_dirty_pages` when the system holds too many dirty
//! pages — for up to hundreds of milliseconds. On a worker thread that
//! would stall every connection of the worker, which is why buffered file
//! writes normally go through io_uring (the kernel runs them on an io-wq
//! thread: a wake-up and two context switches per write).
//!
//! Below the *background* threshold the kernel never throttles a writer
//! (throttling starts above the "freerun" point halfway between the
//! background and the hard threshold), so there a small write may run
//! inline. [`DirtyPageGauge`] reads the counters from `/proc/vmstat` at
//! most every [`SAMPLE_INTERVAL`] and answers with a margin: the dirty and
//! under-writeback pages must be below half the background threshold.
//! Anything it cannot read or parse answers "might throttle", the safe side.
//!
//! The same reading tells `--direct-io auto` whether a `--no-sync` upload
//! of a declared length fits below the background threshold (then it goes
//! through the page cache at memory speed; otherwise direct, at the disk's
//! speed and without the copy into the page cache).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How old a reading may be: short next to the time it takes writers to
/// fill the margin between half the background threshold and throttling.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// The counters of `/proc/vmstat` the decision needs (in pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyCounts {
    /// `nr_dirty`: pages dirty in the page cache.
    pub dirty: u64,
    /// `nr_writeback`: pages being written back.
    pub writeback: u64,
    /// `nr_dirty_background_threshold`: where background writeback starts.
    pub background_threshold: u64,
}

impl DirtyCounts {
    /// Parses the counters out of the text of `/proc/vmstat` (`name value`
    /// lines). `None` when one is missing or malformed.
    pub fn parse(vmstat: &[u8]) -> Option<DirtyCounts> {
        let (mut dirty, mut writeback, mut background_threshold) = (None, None, None);
        for line in vmstat.split(|&b| b == b'\n') {
            let mut fields = line.split(|&b| b == b' ');
            let (Some(name), Some(value)) = (fields.next(), fields.next()) else {
                continue;
            };
            let slot = match name {
                b"nr_dirty" => &mut dirty,
                b"nr_writeback" => &mut writeback,
                b"nr_dirty_background_threshold" => &mut background_threshold,
                _ => continue,
            };
            *slot = Some(parse_decimal(value)?);
        }
        Some(DirtyCounts {
            dirty: dirty?,
            writeback: writeback?,
            background_threshold: background_threshold?,
        })
    }

    /// Whether a buffered write is certain not to be throttled, with a
    /// margin of half the background threshold.
    pub fn far_below_throttling(&self) -> bool {
        self.dirty.saturating_add(self.writeback) < self.background_threshold / 2
    }

    /// Whether `more_pages` further dirty pages would still stay below the
    /// background threshold (no writeback started, let alone throttling).
    pub fn room_below_background_threshold(&self, more_pages: u64) -> bool {
        self.dirty
            .saturating_add(self.writeback)
            .saturating_add(more_pages)
            < self.background_threshold
    }
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A per-worker, rate-limited reading of [`DirtyCounts`].
#[derive(Debug)]
pub struct DirtyPageGauge {
    /// When the last reading was taken, and what it said.
    last: Cell<Option<(Instant, Option<DirtyCounts>)>>,
}

impl Default for DirtyPageGauge {
    fn default() -> Self {
        Self::new()
    }
}

impl DirtyPageGauge {
    /// A gauge with no reading yet.
    pub fn new() -> Self {
        DirtyPageGauge {
            last: Cell::new(None),
        }
    }

    /// The counters, read from `/proc/vmstat` when the last reading is
    /// older than [`SAMPLE_INTERVAL`]; `None` when they cannot be read.
    pub fn reading(&self) -> Option<DirtyCounts> {
        let now = Instant::now();
        if let Some((at, counts)) = self.last.get() {
            if now.duration_since(at) < SAMPLE_INTERVAL {
                return counts;
            }
        }
        let counts = std::fs::read("/proc/vmstat")
            .ok()
            .and_then(|text| DirtyCounts::parse(&text));
        self.last.set(Some((now, counts)));
        counts
    }

    /// Whether a small buffered write may run inline on the worker thread
    /// (see the module docs).
    pub fn inline_write_is_safe(&self) -> bool {
        self.reading()
            .is_some_and(|counts| counts.far_below_throttling())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"nr_free_pages 5000000\nnr_dirty 1200\nnr_writeback 30\n\
nr_writeback_temp 0\nnr_dirty_threshold 1180000\nnr_dirty_background_threshold 590000\n";

    #[test]
    fn parses_the_counters_it_needs() {
        assert_eq!(
            DirtyCounts::parse(SAMPLE),
            Some(DirtyCounts {
                dirty: 1200,
                writeback: 30,
                background_threshold: 590_000,
            })
        );
    }

    #[test]
    fn a_missing_or_malformed_counter_is_no_reading() {
        assert_eq!(DirtyCounts::parse(b"nr_dirty 1\nnr_writeback 2\n"), None);
        assert_eq!(
            DirtyCounts::parse(b"nr_dirty x\nnr_writeback 2\nnr_dirty_background_threshold 9\n"),
            None
        );
        assert_eq!(
            DirtyCounts::parse(b"nr_dirty \nnr_writeback 2\nnr_dirty_background_threshold 9\n"),
            None
        );
        assert_eq!(
            DirtyCounts::parse(
                b"nr_dirty 99999999999999999999999\nnr_writeback 2\nnr_dirty_background_threshold 9\n"
            ),
            None
        );
        assert_eq!(DirtyCounts::parse(b""), None);
    }

    #[test]
    fn inline_only_far_below_the_background_threshold() {
        let counts = |dirty, writeback| DirtyCounts {
            dirty,
            writeback,
            background_threshold: 1000,
        };
        assert!(counts(0, 0).far_below_throttling());
        assert!(counts(400, 99).far_below_throttling());
        assert!(!counts(400, 100).far_below_throttling());
        assert!(!counts(u64::MAX, 1).far_below_throttling());
        let no_threshold = DirtyCounts {
            background_threshold: 0,
            ..counts(0, 0)
        };
        assert!(!no_threshold.far_below_throttling());
        assert!(counts(400, 100).room_below_background_threshold(499));
        assert!(!counts(400, 100).room_below_background_threshold(500));
        assert!(!counts(0, 0).room_below_background_threshold(u64::MAX));
        assert!(!no_threshold.room_below_background_threshold(0));
    }

    #[test]
    fn this_machine_has_the_counters() {
        let text = std::fs::read("/proc/vmstat").expect("/proc/vmstat");
        assert!(DirtyCounts::parse(&text).is_some());
    }
}
