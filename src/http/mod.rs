//! The HTTP/1.1 request core: sans-IO parsers, decoders, encoders and
//! protocol rules.
//!
//! "Sans-IO" means every type here is a pure, synchronous state machine fed
//! byte slices by the caller: no sockets, no files, no clock, no async, no
//! `unsafe`. The io_uring layer (`server`) moves buffers and calls these
//! cores; every protocol decision is made here. Results refer to the
//! caller's buffer by offsets (`Range<usize>`), never by borrows, so the
//! buffer can be handed to the next io_uring operation.
//!
//! Order of calls for one request on a connection:
//!
//! 1. [`HeadParser::parse`] over the bytes received so far (append-only)
//!    until it returns a [`RequestHead`];
//! 2. [`analyze`] the head: [`BodyFraming`], keep-alive, `Expect`;
//! 3. [`decode_target`] the request-target into a root-relative path;
//! 4. decide from the head alone: [`conditional::evaluate`] (304, 412),
//!    [`range::decide`] (206, 416), [`negotiate::wants_json`] (listings);
//! 5. if `expect_continue`, send [`CONTINUE_RESPONSE`];
//! 6. feed `buf[head.head_len..]` and later bytes to a [`BodyDecoder`]
//!    until [`BodyEvent::End`]; what follows is the next request;
//! 7. frame the answer with [`response_framing`] (body or not,
//!    `Content-Length`, close or keep the connection) and encode its
//!    [`ResponseHead`]; errors carry `status()`, `kind()` and `Display` for
//!    [`error_json`].
//!
//! The public surface: the types and functions re-exported below, and the
//! modules of free functions used by their qualified names
//! ([`conditional`], [`date`], [`encode`], [`mime`], [`negotiate`],
//! [`range`]). The other modules are internal.
#![forbid(unsafe_code)]

pub(crate) mod body;
pub(crate) mod chunked;
pub mod conditional;
pub mod date;
pub mod encode;
pub(crate) mod error;
pub(crate) mod framing;
pub(crate) mod framing_out;
pub(crate) mod head;
pub(crate) mod limits;
pub mod mime;
pub mod negotiate;
pub mod range;
pub(crate) mod response;
pub(crate) mod target;

pub use body::BodyDecoder;
pub use chunked::{BodyEvent, ChunkedDecoder};
pub use error::{BodyError, HeadError, TargetError};
pub use framing::{analyze, BodyFraming, RequestInfo};
pub use framing_out::{response_framing, ResponseContext, ResponseFraming};
pub use head::{HeadParser, HeaderIndices, Method, RequestHead, Version};
pub use limits::{ChunkedLimits, HeadLimits};
pub use response::{error_json, json_escape_into, ResponseHead, StatusCode, CONTINUE_RESPONSE};
pub use target::{decode_target, TargetPath};
