//! How a new upload writes its files: with `O_DIRECT` from the registered
//! buffers, or through the page cache (see [`DirectIo`]).

use std::cell::Cell;
use std::rc::Rc;

use super::dirty_pages::DirtyPageGauge;
use super::staged::WriteMode;
use crate::config::{Config, DirectIo};
use crate::upload::Alignment;

/// The unit of `/proc/vmstat`'s page counters.
const PAGE_BYTES: u64 = 4096;

/// One worker's write policy.
pub struct WritePolicy {
    direct_io: DirectIo,
    durable: bool,
    workers: u64,
    inline_writes: bool,
    /// Whether small buffered writes may run inline, and whether an upload
    /// fits in the dirty-page headroom.
    gauge: Rc<DirtyPageGauge>,
    /// Declared bytes of this worker's uploads that go through the page
    /// cache because they fit in the headroom.
    page_cache_claims_bytes: Rc<Cell<u64>>,
}

/// How a new upload writes its files, and its claim on the dirty-page
/// headroom while it goes through the page cache.
pub struct UploadWrites {
    /// How its files are written.
    pub mode: WriteMode,
    _headroom: Option<HeadroomClaim>,
}

impl UploadWrites {
    /// How the planner must cut writes for these files.
    pub fn alignment(&self) -> Alignment {
        if self.mode.direct {
            Alignment::BLOCK
        } else {
            Alignment::NONE
        }
    }
}

/// Declared bytes of a page-cache upload, counted against the headroom
/// until the upload ends (however it ends).
struct HeadroomClaim {
    claims: Rc<Cell<u64>>,
    bytes: u64,
}

impl Drop for HeadroomClaim {
    fn drop(&mut self) {
        self.claims
            .set(self.claims.get().saturating_sub(self.bytes));
    }
}

impl WritePolicy {
    /// The policy `config` asks for.
    pub fn new(config: &Config) -> WritePolicy {
        WritePolicy {
            direct_io: config.direct_io,
            durable: config.durable,
            workers: config.workers as u64,
            inline_writes: config.inline_writes,
            gauge: Rc::new(DirtyPageGauge::new()),
            page_cache_claims_bytes: Rc::new(Cell::new(0)),
        }
    }

    /// Decides how a new upload of `declared_len` bytes (`None`: not known,
    /// e.g. chunked) is written. With `--direct-io auto`, a `--no-sync`
    /// upload goes through the page cache when its declared length, with
    /// the page-cache uploads already claimed on this worker (counted once
    /// per worker, as the other workers' claims are not known here), keeps
    /// the system's dirty pages below the background writeback threshold:
    /// it then never meets throttling. Anything larger, of unknown length,
    /// or durable, is written direct.
    pub fn plan(&self, declared_len: Option<u64>) -> UploadWrites {
        let fits = match (self.direct_io, self.durable, declared_len) {
            (DirectIo::Auto, false, Some(len)) => {
                let claimed = self.page_cache_claims_bytes.get().saturating_add(len);
                let pages = claimed.saturating_mul(self.workers).div_ceil(PAGE_BYTES);
                self.gauge
                    .reading()
                    .is_some_and(|counts| counts.room_below_background_threshold(pages))
                    .then_some(len)
            }
            _ => None,
        };
        let direct = match self.direct_io {
            DirectIo::Auto => self.durable || fits.is_none(),
            DirectIo::Always => true,
            DirectIo::Never => false,
        };
        let headroom = fits.filter(|_| !direct).map(|bytes| {
            let claims = &self.page_cache_claims_bytes;
            claims.set(claims.get().saturating_add(bytes));
            HeadroomClaim {
                claims: claims.clone(),
                bytes,
            }
        });
        UploadWrites {
            mode: WriteMode {
                direct,
                eager_writeback: self.durable,
                inline_gauge: self.inline_writes.then(|| self.gauge.clone()),
            },
            _headroom: headroom,
        }
    }
}
