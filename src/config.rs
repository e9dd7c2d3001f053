//! The server's configuration: every option of the command line and every
//! limit, each with a finite default, in one place.
//!
//! The parsers for sizes (`64K`, `1M`, `4G`, `1T`, binary units) and durations
//! (`30`, `30s`, `500ms`, `2m`) are pure functions, table-tested below.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::{ChunkedLimits, HeadLimits};
use crate::multipart::MultipartLimits;

/// Everything a worker needs to know, fixed at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory tree that is served. Every request path maps beneath it.
    pub root: PathBuf,
    /// Address to bind (default 127.0.0.1).
    pub bind: IpAddr,
    /// Port to bind; 0 lets the kernel pick one (the `listening on` line says which).
    pub port: u16,
    /// Worker threads, each an io_uring runtime with its own listener and pool.
    pub workers: usize,
    /// Largest file a PUT or a multipart part may store; larger → 413.
    /// A file of exactly this size is accepted.
    pub max_file_size_bytes: u64,
    /// Refuse every request that would change ROOT (405).
    pub read_only: bool,
    /// Enable DELETE (otherwise 405 with `Allow`).
    pub allow_delete: bool,
    /// Durable uploads: fdatasync the file and fsync its directory before the
    /// success response. On by default; `--no-sync` turns it off.
    pub durable: bool,
    /// When uploads are written with `O_DIRECT` (see [`DirectIo`]).
    pub direct_io: DirectIo,
    /// Page-cache file writes may run inline (`pwrite` on the worker) while
    /// the kernel cannot throttle them; `--no-inline-writes` turns it off.
    pub inline_writes: bool,
    /// Send file bodies with `sendfile(2)` (default); `--no-sendfile` streams
    /// them through the registered buffers instead.
    pub sendfile: bool,
    /// Time from a request's first byte (or from accept) to the end of its head → 408.
    pub head_timeout: Duration,
    /// Longest pause between two reads of a request body → 408 and close.
    pub body_idle_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub keepalive_timeout: Duration,
    /// After SIGINT/SIGTERM, in-flight requests get this long to finish.
    pub shutdown_timeout: Duration,
    /// Connections open at once across all workers. At the limit the
    /// connection that has waited longest for a request is closed to make
    /// room; with none waiting, a new one gets 503 and is closed.
    pub max_connections: usize,
    /// `--metrics ADDR:PORT`: serve Prometheus metrics there (`None`: off).
    pub metrics: Option<std::net::SocketAddr>,
    /// Connections open at once from one IP address (`None`: no cap);
    /// beyond it → 503 and close.
    pub max_connections_per_ip: Option<usize>,
    /// Size of each registered buffer.
    pub buffer_size_bytes: usize,
    /// Registered buffers per worker.
    pub buffers_per_worker: usize,
    /// Request head limits (414, 431).
    pub head_limits: HeadLimits,
    /// Chunked framing limits (400, 431).
    pub chunked_limits: ChunkedLimits,
    /// multipart/form-data limits (413, 431, 400).
    pub multipart_limits: MultipartLimits,
    /// Access control (`--user`, `--allow`, `--token-file`,
    /// `--auth-threads`); the default has no rules: everyone may do what
    /// the flags above allow.
    pub access: crate::auth::AccessConfig,
    /// `--tls-cert FILE --tls-key FILE`: serve HTTPS with these (see
    /// [`crate::tls`]); `None` serves plain HTTP.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Resumable uploads (tus, IETF draft): `--upload-expiry` (410 after
    /// it), `--max-unfinished-uploads` (503), `--max-staged-bytes` (507);
    /// the largest upload is `max_file_size_bytes` (413).
    pub resumable: crate::resumable::ResumableLimits,
}

/// Smallest registered buffer: it must hold a full multipart part-header block
/// (8 KiB) plus a delimiter with room to spare, so a parser that holds back
/// bytes can always make progress.
pub const MIN_BUFFER_SIZE_BYTES: usize = 64 * 1024;

/// Largest registered buffer the kernel accepts (io_uring caps one
/// registered buffer at 1 GiB).
pub const MAX_BUFFER_SIZE_BYTES: usize = 1 << 30;

/// Registered buffers per worker when `--buffers` is not given (fewer when
/// RLIMIT_MEMLOCK is lower and the process lacks CAP_IPC_LOCK).
pub const DEFAULT_BUFFERS_PER_WORKER: usize = 16;

/// Each upload keeps two buffers in flight (one being read from the socket,
/// one being written to the file); a worker needs at least that many.
pub const MIN_BUFFERS_PER_WORKER: usize = 2;

/// When upload bytes bypass the page cache (`O_DIRECT`, straight from the
/// registered buffers to the device). Direct writes cost almost no CPU but
/// run at the disk's speed; page-cache writes cost a copy (about 1 CPU
/// second per GiB) but run at memory speed until the disk catches up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectIo {
    /// Durable uploads always; a `--no-sync` upload only when it would not
    /// fit in the page cache's dirty-page headroom (the default). Direct
    /// writes cost a third of the CPU of page-cache writes and never wait
    /// for the kernel's dirty-page throttling, but go at the disk's speed;
    /// a `--no-sync` upload that fits below the point where background
    /// writeback starts goes at memory speed through the page cache.
    Auto,
    /// Every upload: no copy into the page cache, and uploads do not evict
    /// the cache that downloads are served from.
    Always,
    /// Never: every upload goes through the page cache.
    Never,
}

impl Config {
    /// The defaults of SPEC.md for serving `root`.
    pub fn new(root: PathBuf) -> Self {
        Config {
            root,
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_file_size_bytes: 1 << 40,
            read_only: false,
            allow_delete: false,
            durable: true,
            direct_io: DirectIo::Auto,
            inline_writes: true,
            sendfile: true,
            head_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_ip: None,
            metrics: None,
            buffer_size_bytes: 1 << 20,
            buffers_per_worker: DEFAULT_BUFFERS_PER_WORKER,
            head_limits: HeadLimits::default(),
            chunked_limits: ChunkedLimits::default(),
            multipart_limits: MultipartLimits::default(),
            access: crate::auth::AccessConfig::default(),
            tls: None,
            resumable: crate::resumable::ResumableLimits::default(),
        }
    }
}

/// The registered buffers per worker when `--buffers` is not given:
/// [`DEFAULT_BUFFERS_PER_WORKER`], or fewer if that many would not fit
/// under `RLIMIT_MEMLOCK` (the usual 8 MiB for a non-root user), but never
/// fewer than [`MIN_BUFFERS_PER_WORKER`] — if even that does not fit, the
/// server says so at start-up.
pub fn default_buffers_per_worker(workers: usize, buffer_size_bytes: usize) -> usize {
    crate::storage::pool::buffers_that_fit(
        workers,
        buffer_size_bytes,
        DEFAULT_BUFFERS_PER_WORKER,
        MIN_BUFFERS_PER_WORKER,
    )
}

/// A buffer size rounded up to whole 4 KiB blocks, so direct (`O_DIRECT`)
/// writes can use every byte of a buffer.
pub fn round_buffer_size(bytes: usize) -> usize {
    crate::storage::aligned::round_up_to_block(bytes)
}

/// Why a size or duration on the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseValueError {
    /// Empty input.
    Empty,
    /// Not digits followed by a known suffix.
    Invalid,
    /// The value does not fit in 64 bits.
    Overflow,
}

impl std::fmt::Display for ParseValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParseValueError::Empty => "empty value",
            ParseValueError::Invalid => "expected digits with an optional suffix",
            ParseValueError::Overflow => "value too large",
        })
    }
}

impl std::error::Error for ParseValueError {}

/// Splits `text` (trimmed) into its leading decimal number (at most
/// `max_digits` digits) and the suffix after it.
fn split_number(text: &str, max_digits: usize) -> Result<(u64, &str), ParseValueError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseValueError::Empty);
    }
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if digits.is_empty() || digits.len() > max_digits {
        return Err(ParseValueError::Invalid);
    }
    let value = digits.parse().map_err(|_| ParseValueError::Overflow)?;
    Ok((value, suffix))
}

/// Parses a byte size: digits with an optional binary suffix `K`, `M`, `G`,
/// `T` (case-insensitive, an optional trailing `B` or `iB` is accepted).
///
/// ```
/// use ringdrop::config::parse_size;
/// assert_eq!(parse_size("64K"), Ok(65536));
/// assert_eq!(parse_size("1g"), Ok(1 << 30));
/// assert_eq!(parse_size("123"), Ok(123));
/// ```
pub fn parse_size(text: &str) -> Result<u64, ParseValueError> {
    let (value, suffix) = split_number(text, 20)?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(ParseValueError::Invalid),
    };
    value
        .checked_mul(1u64 << shift)
        .ok_or(ParseValueError::Overflow)
}

/// Parses a duration: plain seconds (`30`), or with a unit `ms`, `s`, `m`, `h`.
///
/// ```
/// use ringdrop::config::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ParseValueError> {
    let (value, unit) = split_number(text, 12)?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(ParseValueError::Invalid),
    };
    let millis = value
        .checked_mul(millis_per_unit)
        .ok_or(ParseValueError::Overflow)?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases: &[(&str, Result<u64, ParseValueError>)] = &[
            ("0", Ok(0)),
            ("1", Ok(1)),
            ("1K", Ok(1024)),
            ("1k", Ok(1024)),
            ("1KiB", Ok(1024)),
            ("8M", Ok(8 << 20)),
            ("4G", Ok(4 << 30)),
            ("1T", Ok(1 << 40)),
            ("16777215T", Ok(16_777_215u64 << 40)),
            ("16777216T", Err(ParseValueError::Overflow)),
            ("", Err(ParseValueError::Empty)),
            ("K", Err(ParseValueError::Invalid)),
            ("1X", Err(ParseValueError::Invalid)),
            ("-1", Err(ParseValueError::Invalid)),
            ("1.5G", Err(ParseValueError::Invalid)),
            ("99999999999999999999", Err(ParseValueError::Overflow)),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse_size(text), expected, "{text:?}");
        }
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Result<Duration, ParseValueError>)] = &[
            ("0", Ok(Duration::ZERO)),
            ("30", Ok(Duration::from_secs(30))),
            ("30s", Ok(Duration::from_secs(30))),
            ("250ms", Ok(Duration::from_millis(250))),
            ("2m", Ok(Duration::from_secs(120))),
            ("1h", Ok(Duration::from_secs(3600))),
            ("", Err(ParseValueError::Empty)),
            ("s", Err(ParseValueError::Invalid)),
            ("1d", Err(ParseValueError::Invalid)),
            ("1.5s", Err(ParseValueError::Invalid)),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse_duration(text), expected, "{text:?}");
        }
    }
}
