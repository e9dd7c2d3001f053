//! Whether writing into the page cache is dear right now.
//!
//! Copying into page-cache pages is normally a memory copy (several GiB/s),
//! but it can be several times dearer: on a VM whose host takes back free
//! guest memory (virtio free-page reporting), the first write to each fresh
//! page faults on the host; measured here at 0.4-0.6 GiB/s instead of
//! 1.7-3 (`benches/first-touch.py`, BENCHMARKS.md). A `--no-sync` upload
//! that `--direct-io auto` sent to the page cache because it fits in the
//! dirty-page headroom is then slower than a direct write from the
//! registered buffers, and costs 3-4x its CPU.
//!
//! [`WriteRateWindow`] turns the durations of a file's page-cache writes
//! into that verdict: every [`WINDOW_BYTES`] (or [`WINDOW_WRITES`] writes,
//! whichever comes first) it compares the bytes per second of the window
//! with a floor. It is a pure accumulator: the caller times the writes.

use std::time::Duration;

/// Bytes of writes a verdict is based on: a few registered buffers, so one
/// slow write (a page fault, a preemption) does not decide alone.
pub const WINDOW_BYTES: u64 = 4 << 20;

/// ... or this many writes, for files written in small pieces (tests use
/// 64 KiB buffers; a socket read can return less than a buffer).
pub const WINDOW_WRITES: u32 = 8;

/// The verdict on a window of page-cache writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageCacheCost {
    /// Not enough writes seen since the last verdict.
    Undecided,
    /// At or above the floor: stay in the page cache.
    Cheap,
    /// Below the floor: the rest of the file should bypass it.
    Dear,
}

/// Bytes and time of the page-cache writes since the last verdict.
#[derive(Debug, Clone)]
pub struct WriteRateWindow {
    floor_bytes_per_sec: u64,
    bytes: u64,
    writes: u32,
    elapsed: Duration,
}

impl WriteRateWindow {
    /// A window judging against `floor_bytes_per_sec` (0: never dear).
    pub fn new(floor_bytes_per_sec: u64) -> Self {
        WriteRateWindow {
            floor_bytes_per_sec,
            bytes: 0,
            writes: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Adds one write of `bytes` that took `elapsed`; when the window is
    /// full, gives the verdict and starts a new window.
    pub fn record(&mut self, bytes: u64, elapsed: Duration) -> PageCacheCost {
        self.bytes = self.bytes.saturating_add(bytes);
        self.writes = self.writes.saturating_add(1);
        self.elapsed = self.elapsed.saturating_add(elapsed);
        if self.bytes < WINDOW_BYTES && self.writes < WINDOW_WRITES {
            return PageCacheCost::Undecided;
        }
        // bytes / seconds < floor  ⇔  bytes · 10⁹ < floor · nanoseconds
        // (u128; saturating, for durations beyond any real write).
        let dear = u128::from(self.bytes) * 1_000_000_000
            < u128::from(self.floor_bytes_per_sec).saturating_mul(self.elapsed.as_nanos());
        *self = WriteRateWindow::new(self.floor_bytes_per_sec);
        if dear {
            PageCacheCost::Dear
        } else {
            PageCacheCost::Cheap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;

    /// Feeds writes of `bytes` each at `bytes_per_sec` until a verdict.
    fn verdict(floor: u64, bytes: u64, bytes_per_sec: u64) -> (PageCacheCost, u32) {
        let mut window = WriteRateWindow::new(floor);
        let each = Duration::from_nanos(bytes * 1_000_000_000 / bytes_per_sec);
        for writes in 1..=WINDOW_WRITES {
            match window.record(bytes, each) {
                PageCacheCost::Undecided => continue,
                decided => return (decided, writes),
            }
        }
        (PageCacheCost::Undecided, WINDOW_WRITES)
    }

    #[test]
    fn slower_than_the_floor_is_dear_and_faster_is_cheap() {
        assert_eq!(verdict(GIB, MIB, GIB / 2).0, PageCacheCost::Dear);
        assert_eq!(verdict(GIB, MIB, 3 * GIB).0, PageCacheCost::Cheap);
        assert_eq!(verdict(GIB, 64 << 10, GIB / 3).0, PageCacheCost::Dear);
        assert_eq!(verdict(GIB, 64 << 10, 2 * GIB).0, PageCacheCost::Cheap);
    }

    #[test]
    fn a_floor_of_zero_is_never_dear() {
        assert_eq!(verdict(0, MIB, 1).0, PageCacheCost::Cheap);
    }

    #[test]
    fn a_verdict_waits_for_a_full_window_of_bytes_or_writes() {
        // 1 MiB writes: the byte window (4 MiB) fills first.
        assert_eq!(verdict(GIB, MIB, GIB / 2), (PageCacheCost::Dear, 4));
        // 4 KiB writes: the write count fills first.
        assert_eq!(
            verdict(GIB, 4096, GIB / 2),
            (PageCacheCost::Dear, WINDOW_WRITES)
        );
    }

    #[test]
    fn each_window_is_judged_on_its_own() {
        let mut window = WriteRateWindow::new(GIB);
        let slow = Duration::from_millis(4); // 1 MiB in 4 ms: 0.24 GiB/s
        let fast = Duration::from_micros(100); // 1 MiB in 0.1 ms: 9.8 GiB/s
        let verdicts: Vec<_> = (0..8)
            .map(|i| window.record(MIB, if i < 4 { slow } else { fast }))
            .collect();
        assert_eq!(verdicts[3], PageCacheCost::Dear);
        assert_eq!(verdicts[7], PageCacheCost::Cheap);
        assert!(verdicts
            .iter()
            .enumerate()
            .all(|(i, v)| (i % 4 == 3) != (*v == PageCacheCost::Undecided)));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let mut window = WriteRateWindow::new(u64::MAX);
        assert_eq!(window.record(u64::MAX, Duration::MAX), PageCacheCost::Dear);
        let mut window = WriteRateWindow::new(1);
        assert_eq!(
            window.record(u64::MAX, Duration::ZERO),
            PageCacheCost::Cheap
        );
    }
}
