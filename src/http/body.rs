//! One decoder for every request-body framing (Content-Length or chunked),
//! with the [`Step`] contract of [`crate::step`]. Sans-IO.
#![forbid(unsafe_code)]

use super::chunked::{BodyEvent, ChunkedDecoder};
use super::error::BodyError;
use super::framing::BodyFraming;
use super::limits::ChunkedLimits;
use crate::step::Step;

/// Decodes a request body of any framing.
///
/// Contract: call [`decode`](Self::decode) with `input[consumed..]` again
/// while a call returns an event or consumes bytes; `Step::need_more()` means
/// "append more bytes and call again". The decoder never consumes a byte past
/// the end of the body: after [`BodyEvent::End`] the rest of the input is the
/// next pipelined request, and every further call returns
/// `Step::event(0, BodyEvent::End)` again.
///
/// Length framing: each call returns `Data(0..n)` with `consumed == n`,
/// `n = min(input.len(), remaining)`. Whenever `remaining` is 0 — at the
/// start for `Content-Length: 0` or no body, or on the call after the last
/// data — the call returns `Step::event(0, End)`.
///
/// ```
/// use ringdrop::http::{BodyDecoder, BodyEvent, BodyFraming, ChunkedLimits};
/// let mut dec = BodyDecoder::new(BodyFraming::Length(3), ChunkedLimits::default());
/// let step = dec.decode(b"abcGET").unwrap();
/// assert_eq!((step.consumed, step.event), (3, Some(BodyEvent::Data(0..3))));
/// let step = dec.decode(b"GET").unwrap();
/// assert_eq!((step.consumed, step.event), (0, Some(BodyEvent::End)));
/// ```
#[derive(Debug, Clone)]
pub enum BodyDecoder {
    /// `Content-Length` (or no body: `remaining == 0`).
    Length {
        /// Body bytes still to come.
        remaining: u64,
        /// Body bytes emitted so far.
        decoded: u64,
    },
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

impl BodyDecoder {
    /// The decoder for `framing`; [`BodyFraming::None`] is an empty
    /// Length body.
    pub fn new(framing: BodyFraming, limits: ChunkedLimits) -> Self {
        match framing {
            BodyFraming::None => BodyDecoder::Length {
                remaining: 0,
                decoded: 0,
            },
            BodyFraming::Length(n) => BodyDecoder::Length {
                remaining: n,
                decoded: 0,
            },
            BodyFraming::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new(limits)),
        }
    }

    /// Consume body bytes and return at most one event (see the type docs).
    pub fn decode(&mut self, input: &[u8]) -> Result<Step<BodyEvent>, BodyError> {
        match self {
            BodyDecoder::Length { remaining, decoded } => {
                Ok(decode_length(remaining, decoded, input))
            }
            BodyDecoder::Chunked(chunked) => chunked.decode(input),
        }
    }

    /// True when no more body bytes will be consumed: the next `decode`
    /// returns `End` (Length framing) or `End` was returned (chunked).
    pub fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Length { remaining, .. } => *remaining == 0,
            BodyDecoder::Chunked(chunked) => chunked.is_done(),
        }
    }

    /// Body bytes emitted so far (decoded data, not framing bytes).
    pub fn decoded_so_far(&self) -> u64 {
        match self {
            BodyDecoder::Length { decoded, .. } => *decoded,
            BodyDecoder::Chunked(chunked) => chunked.decoded_so_far(),
        }
    }

    /// A lower bound on the raw bytes the rest of a valid body contains (see
    /// [`ChunkedDecoder::min_bytes_remaining`]); 0 once the body is complete.
    ///
    /// ```
    /// use ringdrop::http::{BodyDecoder, BodyFraming, ChunkedLimits};
    /// let dec = BodyDecoder::new(BodyFraming::Length(10), ChunkedLimits::default());
    /// assert_eq!(dec.min_bytes_remaining(), 10);
    /// ```
    pub fn min_bytes_remaining(&self) -> u64 {
        match self {
            BodyDecoder::Length { remaining, .. } => *remaining,
            BodyDecoder::Chunked(chunked) => chunked.min_bytes_remaining(),
        }
    }

    /// Call when the connection reached end of input: `Err(Truncated)`
    /// unless the whole body was received.
    pub fn finish(&self) -> Result<(), BodyError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(BodyError::Truncated)
        }
    }
}

fn decode_length(remaining: &mut u64, decoded: &mut u64, input: &[u8]) -> Step<BodyEvent> {
    if *remaining == 0 {
        return Step::event(0, BodyEvent::End);
    }
    let n = usize::try_from(*remaining)
        .unwrap_or(usize::MAX)
        .min(input.len());
    if n == 0 {
        return Step::need_more();
    }
    let n64 = u64::try_from(n).unwrap_or(*remaining);
    *remaining = remaining.saturating_sub(n64);
    *decoded = decoded.saturating_add(n64);
    Step::event(n, BodyEvent::Data(0..n))
}
