//! The streaming multipart/form-data core (RFC 7578, RFC 2046 §5.1).
//!
//! **Sans-IO.** Nothing here reads a socket, touches a file, reads a clock
//! or awaits: [`MultipartParser`] is a pure state machine fed byte slices
//! that the caller owns (a registered io_uring buffer, in the server). It
//! answers with a [`Step`](crate::step::Step): how many bytes it is finished
//! with, and at most one [`Event`]. File content comes out as
//! `Data(Range<usize>)` — offsets into the slice just fed — so the server can
//! hand that slice of its buffer straight to a write. The parser never
//! copies or stores body bytes; a tail that might be the start of a
//! delimiter is simply left unconsumed, in the caller's buffer.
//!
//! # Calling contract
//!
//! 1. Take the boundary from the request's `Content-Type` with
//!    [`boundary_from_content_type`] and build the parser with
//!    [`MultipartParser::new`].
//! 2. Call [`MultipartParser::feed`] with all bytes not yet consumed. While
//!    a call returns an event or `consumed > 0`, drop `consumed` bytes from
//!    the front and call again. On `Step::need_more()` (`consumed == 0`, no
//!    event) read more bytes, append them after the unconsumed ones, and
//!    call again. Every call consumes bytes, returns an event, or asks for
//!    input: it never spins.
//! 3. Events come as `(PartStart Data* PartEnd)* End`. A `PartStart` whose
//!    [`PartHead::filename`] is `Some` is a file to store (already sanitized;
//!    pick a free name with [`collision_candidate`]); a part whose filename
//!    is `None` is a field, whose bytes are discarded.
//! 4. At the end of the body call [`MultipartParser::finish`]: it is
//!    `Err(Truncated)` unless `End` was seen. After `End`, further bytes
//!    (the epilogue) are consumed and ignored.
//!
//! The first error ends the request ([`MultipartError::status`] gives the
//! answer's status); the parser keeps returning it.
//!
//! # Example
//!
//! ```
//! use ringdrop::multipart::{boundary_from_content_type, Event, MultipartLimits, MultipartParser};
//!
//! let boundary = boundary_from_content_type(b"multipart/form-data; boundary=XyZ").unwrap();
//! let mut parser = MultipartParser::new(&boundary, MultipartLimits::default()).unwrap();
//! let body = b"--XyZ\r\n\
//!     Content-Disposition: form-data; name=\"file\"; filename=\"C:\\\\fakepath\\\\a.txt\"\r\n\
//!     Content-Type: text/plain\r\n\
//!     \r\n\
//!     hello\r\n\
//!     --XyZ--\r\n";
//!
//! let mut input: &[u8] = body;
//! let mut file = Vec::new();
//! let mut events = Vec::new();
//! loop {
//!     let step = parser.feed(input).unwrap();
//!     if step.needs_more() {
//!         break; // a server would read more bytes here
//!     }
//!     match step.event {
//!         Some(Event::Data(range)) => file.extend_from_slice(&input[range]),
//!         Some(event) => events.push(event),
//!         None => {}
//!     }
//!     input = &input[step.consumed..];
//! }
//! parser.finish().unwrap();
//! assert_eq!(file, b"hello");
//! let Event::PartStart(head) = &events[0] else { panic!() };
//! assert_eq!(head.name.as_deref(), Some("file"));
//! assert_eq!(head.filename.as_deref(), Some("a.txt"));
//! assert_eq!(head.content_type.as_deref(), Some("text/plain"));
//! assert_eq!(events[1..], [Event::PartEnd, Event::End]);
//! ```
#![forbid(unsafe_code)]

mod boundary;
mod error;
mod filename;
mod limits;
mod parser;
mod part_head;

/// Test drivers, kept at this path for `tests/multipart_oracle.rs`.
#[doc(hidden)]
pub use crate::fuzzing::multipart::{drive_all, OwnedEvent};
pub use boundary::{boundary_from_content_type, validate_boundary, MAX_BOUNDARY_BYTES};
pub use error::MultipartError;
pub use filename::{collision_candidate, sanitize_filename, MAX_NAME_BYTES};
pub use limits::MultipartLimits;
pub use parser::{Event, MultipartParser, MAX_TRANSPORT_PADDING_BYTES};
pub use part_head::PartHead;

#[cfg(test)]
mod tests;
