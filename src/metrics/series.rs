//! The catalogue: every series ringdrop exports, its name, type, help text
//! and bounded label values. Names follow the Prometheus conventions
//! (`_total` counters, base units: `_seconds`, `_bytes`).
#![forbid(unsafe_code)]

use std::time::Duration;

use crate::http::Method;

/// A counter without labels. Index into a worker's counter array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Bytes read from client sockets (heads and bodies, as sent).
    ReceivedBytes,
    /// Bytes written to client sockets (heads and bodies, `sendfile` included).
    SentBytes,
    /// Bytes of the files uploads committed (linked under their name).
    CommittedBytes,
    /// Upload requests received (PUT, multipart POST, resumable creation
    /// and data requests), counted when the head is routed, before any
    /// check. Each ends as committed or failed: started = committed +
    /// failed + in flight.
    UploadsStarted,
    /// Upload requests answered with success (a PUT or POST stored, a
    /// resumable chunk persisted).
    UploadsCommitted,
    /// Files committed (a multipart POST may commit several).
    FilesCommitted,
    /// Times a connection waited for a registered buffer of its worker's pool.
    BufferWaits,
    /// Time spent waiting for registered buffers (stored in nanoseconds,
    /// exported in seconds).
    BufferWaitNanos,
    /// Connections accepted.
    ConnectionsAccepted,
    /// Connections refused at the connection limit (503).
    ConnectionsRefused,
    /// Idle connections closed to make room for a new one at the limit.
    ConnectionsShed,
    /// Resumable uploads removed because they expired.
    ResumableExpired,
    /// Upload bodies whose `Content-Digest` / `Repr-Digest` matched.
    DigestsVerified,
    /// Upload bodies or resumable chunks whose digest or checksum did not
    /// match (400 `digest_mismatch`, 460).
    DigestMismatches,
}

/// How a stored value is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    /// As is.
    One,
    /// Nanoseconds stored, seconds exported.
    NanosToSeconds,
}

/// Name, help, scale of each [`Counter`], in index order.
pub(crate) const COUNTERS: [(Counter, &str, &str, Scale); 14] = [
    (
        Counter::ReceivedBytes,
        "ringdrop_received_bytes_total",
        "Bytes read from client sockets, heads and bodies.",
        Scale::One,
    ),
    (
        Counter::SentBytes,
        "ringdrop_sent_bytes_total",
        "Bytes written to client sockets, heads and bodies (sendfile included).",
        Scale::One,
    ),
    (
        Counter::CommittedBytes,
        "ringdrop_committed_bytes_total",
        "Bytes of files committed by uploads.",
        Scale::One,
    ),
    (
        Counter::UploadsStarted,
        "ringdrop_uploads_started_total",
        "Upload requests received (PUT, multipart POST, resumable).",
        Scale::One,
    ),
    (
        Counter::UploadsCommitted,
        "ringdrop_uploads_committed_total",
        "Upload requests that stored their data and answered success.",
        Scale::One,
    ),
    (
        Counter::FilesCommitted,
        "ringdrop_files_committed_total",
        "Files committed under their name by uploads.",
        Scale::One,
    ),
    (
        Counter::BufferWaits,
        "ringdrop_buffer_waits_total",
        "Times a connection had to wait for a registered buffer.",
        Scale::One,
    ),
    (
        Counter::BufferWaitNanos,
        "ringdrop_buffer_wait_seconds_total",
        "Time connections spent waiting for registered buffers.",
        Scale::NanosToSeconds,
    ),
    (
        Counter::ConnectionsAccepted,
        "ringdrop_connections_accepted_total",
        "Connections accepted.",
        Scale::One,
    ),
    (
        Counter::ConnectionsRefused,
        "ringdrop_connections_refused_total",
        "Connections refused with 503 at the connection limit.",
        Scale::One,
    ),
    (
        Counter::ConnectionsShed,
        "ringdrop_connections_shed_total",
        "Idle connections closed to make room at the connection limit.",
        Scale::One,
    ),
    (
        Counter::ResumableExpired,
        "ringdrop_resumable_uploads_expired_total",
        "Unfinished resumable uploads removed on expiry.",
        Scale::One,
    ),
    (
        Counter::DigestsVerified,
        "ringdrop_digests_verified_total",
        "Upload bodies whose announced digest matched.",
        Scale::One,
    ),
    (
        Counter::DigestMismatches,
        "ringdrop_digest_mismatches_total",
        "Upload bodies or chunks refused because their digest or checksum did not match.",
        Scale::One,
    ),
];

/// A gauge without labels, summed over workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// Client connections open.
    ConnectionsOpen,
    /// Registered buffers taken from the pools.
    BuffersInUse,
    /// Registered buffers in the pools (set once per worker at start).
    Buffers,
    /// Bytes written to staged (not yet committed) upload files.
    StagedBytes,
}

/// Name and help of each [`Gauge`], in index order.
pub(crate) const GAUGES: [(Gauge, &str, &str); 4] = [
    (
        Gauge::ConnectionsOpen,
        "ringdrop_connections_open",
        "Client connections open.",
    ),
    (
        Gauge::BuffersInUse,
        "ringdrop_buffers_in_use",
        "Registered buffers taken from the worker pools.",
    ),
    (
        Gauge::Buffers,
        "ringdrop_buffers",
        "Registered buffers in the worker pools.",
    ),
    (
        Gauge::StagedBytes,
        "ringdrop_staged_bytes",
        "Bytes written to upload files not yet committed.",
    ),
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histogram {
    /// Commit of one file: `fdatasync`, link, `fsync` of the directory.
    CommitDuration,
    /// A successful upload request, from its head to its response.
    UploadDuration,
    /// From an upload's last body byte received to its response head sent:
    /// the wait a user sees after the progress bar reached 100 %.
    LastByteToResponse,
}

/// Bucket upper bounds of the fast histograms, in nanoseconds: 100 µs … 10 s.
const FAST_BOUNDS_NS: &[u64] = &[
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Bucket upper bounds of whole uploads, in nanoseconds: 10 ms … 1 h.
const UPLOAD_BOUNDS_NS: &[u64] = &[
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
    120_000_000_000,
    300_000_000_000,
    600_000_000_000,
    1_800_000_000_000,
    3_600_000_000_000,
];

/// The most finite buckets any histogram has (the `+Inf` bucket is extra).
pub(crate) const MAX_BOUNDS: usize = 16;

/// Name, help and bucket bounds of each [`Histogram`], in index order.
pub(crate) const HISTOGRAMS: [(Histogram, &str, &str, &[u64]); 3] = [
    (
        Histogram::CommitDuration,
        "ringdrop_commit_duration_seconds",
        "Commit of one uploaded file: fdatasync, link, fsync of its directory.",
        FAST_BOUNDS_NS,
    ),
    (
        Histogram::UploadDuration,
        "ringdrop_upload_duration_seconds",
        "Successful upload requests, from the request head to the response.",
        UPLOAD_BOUNDS_NS,
    ),
    (
        Histogram::LastByteToResponse,
        "ringdrop_upload_last_byte_to_response_seconds",
        "From an upload's last body byte received to its response.",
        FAST_BOUNDS_NS,
    ),
];

/// The bucket of a duration: the first bound it does not exceed, or the
/// `+Inf` bucket (`bounds.len()`).
pub(crate) fn bucket_index(bounds: &[u64], nanos: u64) -> usize {
    bounds
        .iter()
        .position(|&b| nanos <= b)
        .unwrap_or(bounds.len())
}

/// A duration in whole nanoseconds, saturating (584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The `method` label: the methods ringdrop serves, and `other`, so an
/// attacker cannot mint label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodLabel {
    /// GET
    Get,
    /// HEAD
    Head,
    /// PUT
    Put,
    /// POST
    Post,
    /// PATCH (tus, resumable uploads)
    Patch,
    /// DELETE
    Delete,
    /// MKCOL
    Mkcol,
    /// OPTIONS
    Options,
    /// Any other method.
    Other,
}

impl MethodLabel {
    /// Every value, in export order.
    pub const ALL: [MethodLabel; 9] = [
        MethodLabel::Get,
        MethodLabel::Head,
        MethodLabel::Put,
        MethodLabel::Post,
        MethodLabel::Patch,
        MethodLabel::Delete,
        MethodLabel::Mkcol,
        MethodLabel::Options,
        MethodLabel::Other,
    ];

    /// The label of a parsed method; `name` is the method as sent, which
    /// tells PATCH from the other methods the HTTP core calls `Other`.
    ///
    /// ```
    /// use ringdrop::http::Method;
    /// use ringdrop::metrics::MethodLabel;
    /// assert_eq!(MethodLabel::of(Method::Other, b"PATCH"), MethodLabel::Patch);
    /// assert_eq!(MethodLabel::of(Method::Other, b"BREW"), MethodLabel::Other);
    /// ```
    pub fn of(method: Method, name: &[u8]) -> MethodLabel {
        match method {
            Method::Get => MethodLabel::Get,
            Method::Head => MethodLabel::Head,
            Method::Put => MethodLabel::Put,
            Method::Post => MethodLabel::Post,
            Method::Delete => MethodLabel::Delete,
            Method::Mkcol => MethodLabel::Mkcol,
            Method::Options => MethodLabel::Options,
            Method::Other if name == b"PATCH" => MethodLabel::Patch,
            Method::Other => MethodLabel::Other,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodLabel::Get => "GET",
            MethodLabel::Head => "HEAD",
            MethodLabel::Put => "PUT",
            MethodLabel::Post => "POST",
            MethodLabel::Patch => "PATCH",
            MethodLabel::Delete => "DELETE",
            MethodLabel::Mkcol => "MKCOL",
            MethodLabel::Options => "OPTIONS",
            MethodLabel::Other => "other",
        }
    }
}

/// The `code` label values: status classes.
pub(crate) const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The index into [`STATUS_CLASSES`] of a status code; codes outside
/// 100–599 count as 5xx (the server never sends them).
pub(crate) fn status_class(status: u16) -> usize {
    match status {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

/// Why an upload failed: the `reason` label of
/// `ringdrop_uploads_failed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFailure {
    /// Refused from its head, before any byte of the body: access control,
    /// path, method, conflict or precondition (401, 403, 404, 405, 409,
    /// 411, 412, 415, 417).
    Refused,
    /// The body broke the protocol (chunked or multipart syntax, names,
    /// part limits): 400, 431.
    Malformed,
    /// Over the size limit: 413.
    TooLarge,
    /// The body did not match its digest or checksum: 400, 460.
    DigestMismatch,
    /// The client went away before the body ended.
    Disconnect,
    /// The client stalled past a timeout: 408.
    Timeout,
    /// The disk or quota is full (507): the declared length does not fit
    /// (refused before `100 Continue`) or a write failed with `ENOSPC` /
    /// `EDQUOT`.
    DiskFull,
    /// Any other I/O failure: 500.
    IoError,
    /// Aborted at the shutdown deadline.
    Shutdown,
}

impl UploadFailure {
    /// Every value, in export order.
    pub const ALL: [UploadFailure; 9] = [
        UploadFailure::Refused,
        UploadFailure::Malformed,
        UploadFailure::TooLarge,
        UploadFailure::DigestMismatch,
        UploadFailure::Disconnect,
        UploadFailure::Timeout,
        UploadFailure::DiskFull,
        UploadFailure::IoError,
        UploadFailure::Shutdown,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadFailure::Refused => "refused",
            UploadFailure::Malformed => "malformed",
            UploadFailure::TooLarge => "too_large",
            UploadFailure::DigestMismatch => "digest_mismatch",
            UploadFailure::Disconnect => "disconnect",
            UploadFailure::Timeout => "timeout",
            UploadFailure::DiskFull => "disk_full",
            UploadFailure::IoError => "io_error",
            UploadFailure::Shutdown => "shutdown",
        }
    }
}

/// Which timeout fired: the `kind` label of `ringdrop_timeouts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// The request head did not arrive in time (408).
    Head,
    /// The body paused too long between bytes (408).
    BodyIdle,
    /// The client did not take response bytes in time.
    Send,
    /// An idle keep-alive connection was closed.
    KeepAlive,
    /// No registered buffer came free in time (503).
    BufferWait,
    /// A request was still running at the shutdown deadline.
    Shutdown,
}

impl TimeoutKind {
    /// Every value, in export order.
    pub const ALL: [TimeoutKind; 6] = [
        TimeoutKind::Head,
        TimeoutKind::BodyIdle,
        TimeoutKind::Send,
        TimeoutKind::KeepAlive,
        TimeoutKind::BufferWait,
        TimeoutKind::Shutdown,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutKind::Head => "head",
            TimeoutKind::BodyIdle => "body_idle",
            TimeoutKind::Send => "send",
            TimeoutKind::KeepAlive => "keepalive",
            TimeoutKind::BufferWait => "buffer_wait",
            TimeoutKind::Shutdown => "shutdown",
        }
    }
}

/// Why a request was refused by access control: the `reason` label of
/// `ringdrop_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials where some were needed (401).
    Missing,
    /// Wrong or expired credentials (401).
    Invalid,
    /// Valid credentials without the permission (403).
    Forbidden,
}

impl AuthFailure {
    /// Every value, in export order.
    pub const ALL: [AuthFailure; 3] = [
        AuthFailure::Missing,
        AuthFailure::Invalid,
        AuthFailure::Forbidden,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Forbidden => "forbidden",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_index_order_and_bounded() {
        for (i, (c, ..)) in COUNTERS.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        for (i, (g, ..)) in GAUGES.iter().enumerate() {
            assert_eq!(*g as usize, i);
        }
        for (i, (h, _, _, bounds)) in HISTOGRAMS.iter().enumerate() {
            assert_eq!(*h as usize, i);
            assert!(bounds.len() <= MAX_BOUNDS);
            assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bounds increase");
        }
        for (i, m) in MethodLabel::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
        for (i, r) in UploadFailure::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        for (i, k) in TimeoutKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        for (i, a) in AuthFailure::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i);
        }
    }

    #[test]
    fn buckets_and_classes() {
        assert_eq!(bucket_index(FAST_BOUNDS_NS, 0), 0);
        assert_eq!(bucket_index(FAST_BOUNDS_NS, 100_000), 0, "le is inclusive");
        assert_eq!(bucket_index(FAST_BOUNDS_NS, 100_001), 1);
        assert_eq!(bucket_index(FAST_BOUNDS_NS, u64::MAX), FAST_BOUNDS_NS.len());
        assert_eq!(nanos(Duration::MAX), u64::MAX);
        let cases = [
            (100, 0),
            (199, 0),
            (200, 1),
            (304, 2),
            (460, 3),
            (507, 4),
            (0, 4),
            (999, 4),
        ];
        for (status, class) in cases {
            assert_eq!(status_class(status), class, "{status}");
        }
        let methods = [
            (Method::Get, &b"GET"[..], "GET"),
            (Method::Other, b"PATCH", "PATCH"),
            (Method::Other, b"patch", "other"),
            (Method::Mkcol, b"MKCOL", "MKCOL"),
        ];
        for (m, name, label) in methods {
            assert_eq!(MethodLabel::of(m, name).as_str(), label);
        }
    }
}
