//! Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
//!
//! Sans-IO: fed slices, answers with [`Step`]s. Chunk data is never copied or
//! buffered: it comes out as ranges of the caller's input. Framing bytes
//! (sizes, extensions, CRLFs, trailers) are consumed as they arrive, so a
//! split at any byte — inside the hex size, inside a CRLF — needs no
//! hold-back.
//!
//! Strictness (each a smuggling defence): CRLF only, no whitespace around the
//! size, at most 16 hex digits, no control characters in extensions or
//! trailers, no obs-fold in trailers. Trailer fields are checked and skipped.
#![forbid(unsafe_code)]

use core::ops::Range;

use super::error::BodyError;
use super::limits::ChunkedLimits;
use crate::step::Step;

/// Most hex digits in a chunk size: 16 always fit in a u64.
const MAX_CHUNK_SIZE_DIGITS: u8 = 16;

/// What a body decoder produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes at this range of the `input` slice of the same call.
    Data(Range<usize>),
    /// The body is complete; bytes after it belong to the next request.
    End,
}

/// Phases of the chunked decoder (hyper's `ChunkedState`, with each phase's
/// data in its variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkedState {
    /// Reading the hex chunk size; `line_len` bytes of the size line so far.
    Size {
        value: u64,
        digits: u8,
        line_len: usize,
    },
    /// Skipping `;ext` after the size.
    Extension { value: u64, line_len: usize },
    /// Saw the CR ending the size line.
    SizeLf { value: u64 },
    /// `remaining` (> 0) data bytes of the current chunk still to come.
    Data { remaining: u64 },
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart { bytes: usize },
    /// Inside a trailer field line.
    TrailerLine { bytes: usize, saw_colon: bool },
    /// Saw the CR ending a trailer field line.
    TrailerLf { bytes: usize },
    /// Saw the CR of the final empty line.
    EndLf { bytes: usize },
    /// The body is complete.
    Done,
}

impl ChunkedState {
    const START: ChunkedState = ChunkedState::Size {
        value: 0,
        digits: 0,
        line_len: 0,
    };
}

/// Incremental chunked-body decoder.
///
/// Calling contract (see [`crate::step`]): call [`decode`](Self::decode) with
/// `input[consumed..]` again while a call returns an event or consumes bytes;
/// `Step::need_more()` means "append more bytes and call again". After
/// [`BodyEvent::End`] every call returns `End` again and consumes nothing:
/// the rest of the input is the next pipelined request.
///
/// ```
/// use ringdrop::http::{BodyEvent, ChunkedDecoder, ChunkedLimits};
/// let input = b"3\r\nabc\r\n0\r\n\r\nGET";
/// let mut dec = ChunkedDecoder::new(ChunkedLimits::default());
/// let step = dec.decode(input).unwrap();
/// assert_eq!(step.event, Some(BodyEvent::Data(3..6)));
/// let rest = &input[step.consumed..];
/// let step = dec.decode(rest).unwrap();
/// assert_eq!(step.event, Some(BodyEvent::End));
/// assert_eq!(&rest[step.consumed..], b"GET");
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: ChunkedState,
    limits: ChunkedLimits,
    /// Data bytes emitted so far.
    decoded: u64,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            state: ChunkedState::START,
            limits,
            decoded: 0,
        }
    }

    /// Consume framing bytes and return at most one event. See the type
    /// docs for the contract. On error the state is left as it was before
    /// the offending byte.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step<BodyEvent>, BodyError> {
        let mut pos = 0usize;
        loop {
            match self.state {
                ChunkedState::Done => return Ok(Step::event(pos, BodyEvent::End)),
                ChunkedState::Data { remaining } => return Ok(self.data(input, pos, remaining)),
                state => {
                    let Some(&byte) = input.get(pos) else {
                        return Ok(Step::consumed(pos));
                    };
                    self.state = self.framing_byte(state, byte)?;
                    pos += 1;
                }
            }
        }
    }

    /// True once the final CRLF has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == ChunkedState::Done
    }

    /// Data bytes emitted so far.
    pub fn decoded_so_far(&self) -> u64 {
        self.decoded
    }

    /// A lower bound on the raw bytes a valid body must still contain after
    /// everything consumed so far: the rest of the current chunk, its CRLF,
    /// and the last chunk `0\r\n\r\n`. The I/O layer may block reading
    /// this many bytes without risking a wait for bytes that never come.
    pub fn min_bytes_remaining(&self) -> u64 {
        /// `0\r\n\r\n`: the shortest possible end of a chunked body.
        const LAST_CHUNK_BYTES: u64 = 5;
        match self.state {
            ChunkedState::Data { remaining } => remaining.saturating_add(2 + LAST_CHUNK_BYTES),
            ChunkedState::DataCr => 2 + LAST_CHUNK_BYTES,
            ChunkedState::DataLf => 1 + LAST_CHUNK_BYTES,
            ChunkedState::Size { .. }
            | ChunkedState::Extension { .. }
            | ChunkedState::SizeLf { .. }
            | ChunkedState::TrailerStart { .. }
            | ChunkedState::TrailerLine { .. }
            | ChunkedState::TrailerLf { .. }
            | ChunkedState::EndLf { .. } => 1,
            ChunkedState::Done => 0,
        }
    }

    /// Emit as much of the current chunk as `input[pos..]` holds.
    fn data(&mut self, input: &[u8], pos: usize, remaining: u64) -> Step<BodyEvent> {
        let available = input.len().saturating_sub(pos);
        let n = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(available);
        if n == 0 {
            return Step::consumed(pos);
        }
        let n64 = u64::try_from(n).unwrap_or(remaining);
        let left = remaining.saturating_sub(n64);
        self.state = if left == 0 {
            ChunkedState::DataCr
        } else {
            ChunkedState::Data { remaining: left }
        };
        self.decoded = self.decoded.saturating_add(n64);
        let end = pos + n;
        Step::event(end, BodyEvent::Data(pos..end))
    }

    /// One framing byte: dispatch to the handler of the current phase.
    fn framing_byte(&self, state: ChunkedState, byte: u8) -> Result<ChunkedState, BodyError> {
        match state {
            ChunkedState::Size {
                value,
                digits,
                line_len,
            } => self.size(value, digits, line_len, byte),
            ChunkedState::Extension { value, line_len } => self.extension(value, line_len, byte),
            ChunkedState::SizeLf { value } => size_lf(value, byte),
            ChunkedState::DataCr => expect(
                byte,
                b'\r',
                ChunkedState::DataLf,
                BodyError::MissingChunkCrlf,
            ),
            ChunkedState::DataLf => expect(
                byte,
                b'\n',
                ChunkedState::START,
                BodyError::MissingChunkCrlf,
            ),
            ChunkedState::TrailerStart { bytes } => self.trailer_start(bytes, byte),
            ChunkedState::TrailerLine { bytes, saw_colon } => {
                self.trailer_line(bytes, saw_colon, byte)
            }
            ChunkedState::TrailerLf { bytes } => {
                let bytes = self.count_trailer(bytes)?;
                expect(
                    byte,
                    b'\n',
                    ChunkedState::TrailerStart { bytes },
                    BodyError::InvalidLineEnding,
                )
            }
            ChunkedState::EndLf { bytes } => {
                self.count_trailer(bytes)?;
                expect(
                    byte,
                    b'\n',
                    ChunkedState::Done,
                    BodyError::InvalidLineEnding,
                )
            }
            // Handled by `decode` before a byte is read.
            ChunkedState::Data { .. } | ChunkedState::Done => Ok(state),
        }
    }

    /// `chunk-size = 1*HEXDIG`, then `;` (extensions) or CR.
    fn size(
        &self,
        value: u64,
        digits: u8,
        line_len: usize,
        byte: u8,
    ) -> Result<ChunkedState, BodyError> {
        let line_len = self.count_line(line_len)?;
        match (byte, digits) {
            (b';', 1..) => Ok(ChunkedState::Extension { value, line_len }),
            (b'\r', 1..) => Ok(ChunkedState::SizeLf { value }),
            (b'\n', 1..) => Err(BodyError::InvalidLineEnding),
            _ => {
                let digit = hex_value(byte).ok_or(BodyError::InvalidChunkSize)?;
                if digits >= MAX_CHUNK_SIZE_DIGITS {
                    return Err(BodyError::ChunkSizeOverflow);
                }
                let value = value
                    .checked_mul(16)
                    .and_then(|v| v.checked_add(u64::from(digit)))
                    .ok_or(BodyError::ChunkSizeOverflow)?;
                Ok(ChunkedState::Size {
                    value,
                    digits: digits + 1,
                    line_len,
                })
            }
        }
    }

    /// `chunk-ext` is skipped up to CR; only its length and bytes are checked.
    fn extension(&self, value: u64, line_len: usize, byte: u8) -> Result<ChunkedState, BodyError> {
        match byte {
            b'\r' => Ok(ChunkedState::SizeLf { value }),
            b'\n' => Err(BodyError::InvalidLineEnding),
            b if is_ctl(b) => Err(BodyError::InvalidChunkExtension),
            _ => Ok(ChunkedState::Extension {
                value,
                line_len: self.count_line(line_len)?,
            }),
        }
    }

    /// First byte of a trailer line: CR ends the section; obs-fold and an
    /// empty field name are refused.
    fn trailer_start(&self, bytes: usize, byte: u8) -> Result<ChunkedState, BodyError> {
        let bytes = self.count_trailer(bytes)?;
        match byte {
            b'\r' => Ok(ChunkedState::EndLf { bytes }),
            b'\n' => Err(BodyError::InvalidLineEnding),
            b' ' | b'\t' | b':' => Err(BodyError::InvalidTrailer),
            b if is_ctl(b) => Err(BodyError::InvalidTrailer),
            _ => Ok(ChunkedState::TrailerLine {
                bytes,
                saw_colon: false,
            }),
        }
    }

    /// Inside a trailer field line: must contain a colon, no CTLs.
    fn trailer_line(
        &self,
        bytes: usize,
        saw_colon: bool,
        byte: u8,
    ) -> Result<ChunkedState, BodyError> {
        let bytes = self.count_trailer(bytes)?;
        match byte {
            b'\r' if saw_colon => Ok(ChunkedState::TrailerLf { bytes }),
            b'\r' => Err(BodyError::InvalidTrailer),
            b'\n' => Err(BodyError::InvalidLineEnding),
            b if is_ctl(b) => Err(BodyError::InvalidTrailer),
            b => Ok(ChunkedState::TrailerLine {
                bytes,
                saw_colon: saw_colon || b == b':',
            }),
        }
    }

    /// One more byte on the chunk-size line, within the limit.
    fn count_line(&self, line_len: usize) -> Result<usize, BodyError> {
        let limit = self.limits.max_chunk_extension_bytes;
        match line_len.checked_add(1) {
            Some(n) if n <= limit => Ok(n),
            Some(_) | None => Err(BodyError::ChunkExtensionTooLong { limit }),
        }
    }

    /// One more byte of the trailer section, within the limit.
    fn count_trailer(&self, bytes: usize) -> Result<usize, BodyError> {
        let limit = self.limits.max_trailer_bytes;
        match bytes.checked_add(1) {
            Some(n) if n <= limit => Ok(n),
            Some(_) | None => Err(BodyError::TrailersTooLarge { limit }),
        }
    }
}

/// LF ending the size line: a zero size starts the trailer section.
fn size_lf(value: u64, byte: u8) -> Result<ChunkedState, BodyError> {
    match (byte, value) {
        (b'\n', 0) => Ok(ChunkedState::TrailerStart { bytes: 0 }),
        (b'\n', remaining) => Ok(ChunkedState::Data { remaining }),
        _ => Err(BodyError::InvalidLineEnding),
    }
}

fn expect(
    byte: u8,
    want: u8,
    next: ChunkedState,
    err: BodyError,
) -> Result<ChunkedState, BodyError> {
    if byte == want {
        Ok(next)
    } else {
        Err(err)
    }
}

/// Control characters other than HTAB (RFC 5234 CTL minus HTAB).
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
