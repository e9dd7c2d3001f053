//! ringdrop: an HTTP/1.1 file server for Linux on io_uring.
//!
//! Uploads of any size stream straight to disk through a fixed pool of
//! registered buffers, so memory never grows with the file; no malformed, slow
//! or hostile input can make the server spin, balloon, or leave a half-written
//! file behind.
//!
//! # Architecture
//!
//! ```text
//!   socket ──read_fixed──▶ FixedBuf (registered pool, per worker)
//!                            │
//!                            ├─▶ http::HeadParser / http::analyze   (sans-IO)
//!                            ├─▶ http::BodyDecoder (length, chunked) (sans-IO)
//!                            ├─▶ multipart::MultipartParser          (sans-IO)
//!                            │        Data(Range) events = offsets into the FixedBuf
//!                            ▼
//!                     storage::StagedFile ──write_fixed_all_at──▶ O_TMPFILE
//!                            │ commit: fdatasync → linkat/renameat → fsync(dir)
//!                            ▼
//!                        the named file under ROOT
//! ```
//!
//! (With `--no-sync`, a `Content-Length` PUT body of at most 32 KiB skips the
//! pool: it is completed in the connection buffer and written from there,
//! see `server::small_body`.)
//!
//! The protocol lives in pure, slice-fed state machines ([`http`],
//! [`multipart`]): no I/O, no clock, no allocation per byte, no panic on any
//! input. They are what the fuzz targets and property tests drive. The
//! io_uring layer (`storage`, [`server`]) only moves buffers and calls them.
//!
//! Module map:
//! * [`step`] — the `Step` result shape every core shares.
//! * [`syntax`] — byte-level syntax the cores share (hex, whitespace).
//! * [`http`] — request head, framing rules, body decoders, target decoding,
//!   response encoding.
//! * [`multipart`] — the streaming multipart/form-data scanner and filename rules.
//! * [`upload`] — which body bytes go to which file at which offset (PUT,
//!   multipart), buffer by buffer.
//! * [`auth`] — access control: rules, the decision, credentials and their
//!   verification pool.
//! * [`resumable`] — resumable uploads (tus 1.0, IETF draft): header codecs,
//!   request classification, the upload record and its state machine.
//! * [`config`] — the command line's `Config` and every limit.
//! * [`digest`] — RFC 9530 digest fields, streaming hashes, the digest kept with a file.
//! * `storage` — registered buffer pool, staged (atomic) files, the few raw
//!   syscalls tokio-uring lacks.
//! * [`server`] — workers, connections, routes, timeouts, shutdown.
//! * [`metrics`] — per-worker Prometheus counters, the exposition, the `--metrics` listener.
//! * [`tls`] — HTTPS: rustls handshake, in-place record layer, kTLS hand-off.
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod digest;
pub mod http;
pub mod metrics;
pub mod multipart;
pub mod resumable;
pub mod server;
pub mod step;
mod storage;
pub mod syntax;
mod sys;
pub mod tls;
pub mod upload;

#[doc(hidden)]
pub mod fuzzing;
