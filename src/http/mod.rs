//! The HTTP/1.1 request core: sans-IO parsers and encoders.
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
//! 4. if `expect_continue`, decide, then send [`CONTINUE_RESPONSE`];
//! 5. feed `buf[head.head_len..]` and later bytes to a [`BodyDecoder`]
//!    until [`BodyEvent::End`]; what follows is the next request;
//! 6. encode the answer with [`ResponseHead::encode`]; errors carry
//!    `status()`, `kind()` and `Display` for [`error_json`].
#![forbid(unsafe_code)]

pub mod body;
pub mod chunked;
pub mod date;
pub mod encode;
pub mod error;
pub mod framing;
pub mod head;
pub mod limits;
pub mod mime;
pub mod range;
pub mod response;
pub mod target;

pub use body::BodyDecoder;
pub use chunked::{BodyEvent, ChunkedDecoder};
pub use error::{BodyError, HeadError, TargetError};
pub use framing::{analyze, BodyFraming, RequestInfo};
pub use head::{HeadParser, HeaderIndices, Method, RequestHead, Version};
pub use limits::{ChunkedLimits, HeadLimits};
pub use response::{error_json, json_escape_into, ResponseHead, StatusCode, CONTINUE_RESPONSE};
pub use target::{decode_target, TargetPath};
