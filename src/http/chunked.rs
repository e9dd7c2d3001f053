//! Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
//!
//! Sans-IO: fed slices, answers with [`Step`]s. Chunk data is never copied or
//! buffered: it comes out as ranges of the caller's input. Framing bytes
//! (sizes, extensions, CRLFs, trailers) are consumed as they arrive, so a
//! split at any byte — inside the hex size, inside a CRLF — needs no
//! hold-back.
//!
//! Strictness (each a smuggling defence): CRLF only, no whitespace before
//! the size, whitespace after it only before a `;` (RFC 9112 §7.1.1 `BWS`),
//! at most 16 hex digits, no control characters in extensions or trailers,
//! no obs-fold in trailers. Extensions and trailer fields are checked and
//! skipped.
//!
//! Cost: chunk extensions are skipped by a word-at-a-time scan, not a state
//! transition per byte, and their total per body is limited
//! ([`ChunkedLimits::max_total_chunk_extension_bytes`]), so a client cannot
//! make framing much dearer than data: the body is decoded cheaply or
//! refused.
#![forbid(unsafe_code)]

use core::ops::Range;

use super::error::BodyError;
use super::limits::ChunkedLimits;
use crate::step::Step;
use crate::syntax::{hex_value, is_control_except_tab as is_ctl};

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
    /// Reading the hex chunk size; `line_len` bytes of the size line so far
    /// (CR and LF are never counted).
    Size {
        value: u64,
        digits: u8,
        line_len: usize,
    },
    /// Whitespace after the size: RFC 9112 §7.1.1 allows `BWS` before the
    /// `;` of a chunk extension (`6 ; ext`, `6\t;name=value`), so only more
    /// SP/HTAB or `;` may follow. Whitespace that ends the line (`6 \r\n`)
    /// is refused (400, `InvalidChunkSize`): the grammar has no BWS there.
    /// hyper accepts it (its `SizeLws` state also takes CR), a leniency
    /// kept for old servers that padded sizes in responses; a request
    /// parser gains nothing from it, and refusing can never make two
    /// parsers disagree on where a chunk ends.
    SizeBws { value: u64, line_len: usize },
    /// Skipping `;ext` after the size, up to the CR.
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
    /// Extension bytes (everything on a size line after its hex digits,
    /// CRLF excluded) seen in this body so far.
    /// INVARIANT: `extension_bytes <= limits.max_total_chunk_extension_bytes`.
    extension_bytes: usize,
    /// Skip extension bytes with the word scan (always, except in the
    /// tests that compare it with its slow twin, the per-byte handler).
    scan_extensions: bool,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            state: ChunkedState::START,
            limits,
            decoded: 0,
            extension_bytes: 0,
            scan_extensions: true,
        }
    }

    /// A decoder that feeds every extension byte through the per-byte
    /// handler: the slow twin the fast path is tested against.
    #[cfg(test)]
    fn slow_twin(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            scan_extensions: false,
            ..ChunkedDecoder::new(limits)
        }
    }

    /// Consume framing bytes and return at most one event. See the type
    /// docs for the contract. On error the state is left as it was before
    /// the offending byte.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step<BodyEvent>, BodyError> {
        // The phase lives in a local while bytes are read and is stored
        // back on every exit, the error path included (then it is the
        // phase before the offending byte).
        let mut state = self.state;
        let mut pos = 0usize;
        let result = loop {
            match state {
                ChunkedState::Done => break Ok(Step::event(pos, BodyEvent::End)),
                ChunkedState::Data { remaining } => {
                    let (step, next) = self.data(input, pos, remaining);
                    state = next;
                    break Ok(step);
                }
                _ => {
                    // Not an arm of its own: a guarded arm here made the
                    // compiler lay out the per-byte loop much worse.
                    if let ChunkedState::Extension { value, line_len } = state {
                        if self.scan_extensions {
                            // Fast path: skip the extension bytes that are
                            // certainly fine in one scan; the byte after them
                            // (CR, an invalid byte, or one over a limit) goes
                            // through the slow path below.
                            let rest = input.get(pos..).unwrap_or_default();
                            let plain = self.skip_plain_extension(rest, line_len);
                            pos += plain;
                            state = ChunkedState::Extension {
                                value,
                                line_len: line_len + plain,
                            };
                        }
                    }
                    let Some(&byte) = input.get(pos) else {
                        break Ok(Step::consumed(pos));
                    };
                    match self.framing_byte(state, byte) {
                        Ok(next) => state = next,
                        Err(e) => break Err(e),
                    }
                    pos += 1;
                }
            }
        };
        self.state = state;
        result
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
            | ChunkedState::SizeBws { .. }
            | ChunkedState::Extension { .. }
            | ChunkedState::SizeLf { .. }
            | ChunkedState::TrailerStart { .. }
            | ChunkedState::TrailerLine { .. }
            | ChunkedState::TrailerLf { .. }
            | ChunkedState::EndLf { .. } => 1,
            ChunkedState::Done => 0,
        }
    }

    /// Emit as much of the current chunk as `input[pos..]` holds; the
    /// step and the phase after it.
    fn data(
        &mut self,
        input: &[u8],
        pos: usize,
        remaining: u64,
    ) -> (Step<BodyEvent>, ChunkedState) {
        let available = input.len().saturating_sub(pos);
        let n = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(available);
        if n == 0 {
            return (Step::consumed(pos), ChunkedState::Data { remaining });
        }
        let n64 = u64::try_from(n).unwrap_or(remaining);
        let left = remaining.saturating_sub(n64);
        let next = if left == 0 {
            ChunkedState::DataCr
        } else {
            ChunkedState::Data { remaining: left }
        };
        self.decoded = self.decoded.saturating_add(n64);
        let end = pos + n;
        (Step::event(end, BodyEvent::Data(pos..end)), next)
    }

    /// How many bytes at the front of `rest` are plain extension bytes
    /// (no CR, LF or other control character) that fit both extension
    /// limits: the bytes [`extension`](Self::extension) would accept one by
    /// one; they are counted. The scan never looks past the limits. Out of
    /// line: extensions are rare, the per-byte loop is not.
    #[inline(never)]
    fn skip_plain_extension(&mut self, rest: &[u8], line_len: usize) -> usize {
        let line_room = self
            .limits
            .max_chunk_extension_bytes
            .saturating_sub(line_len);
        let total_room = self
            .limits
            .max_total_chunk_extension_bytes
            .saturating_sub(self.extension_bytes);
        let window = rest
            .get(..rest.len().min(line_room).min(total_room))
            .unwrap_or_default();
        let plain = find_extension_stop(window).unwrap_or(window.len());
        self.extension_bytes += plain;
        plain
    }

    /// One framing byte: dispatch to the handler of the current phase.
    fn framing_byte(&mut self, state: ChunkedState, byte: u8) -> Result<ChunkedState, BodyError> {
        match state {
            ChunkedState::Size {
                value,
                digits,
                line_len,
            } => self.size(value, digits, line_len, byte),
            ChunkedState::SizeBws { value, line_len } => self.size_bws(value, line_len, byte),
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

    /// `chunk-size = 1*HEXDIG`, then BWS, `;` (extensions) or CR.
    fn size(
        &mut self,
        value: u64,
        digits: u8,
        line_len: usize,
        byte: u8,
    ) -> Result<ChunkedState, BodyError> {
        match (byte, digits) {
            (b';', 1..) => Ok(ChunkedState::Extension {
                value,
                line_len: self.count_extension(line_len)?,
            }),
            (b' ' | b'\t', 1..) => Ok(ChunkedState::SizeBws {
                value,
                line_len: self.count_extension(line_len)?,
            }),
            (b'\r', 1..) => Ok(ChunkedState::SizeLf { value }),
            (b'\n', 1..) => Err(BodyError::InvalidLineEnding),
            _ => {
                let line_len = self.count_line(line_len)?;
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

    /// BWS after the size: more of it, or the `;` of an extension (see
    /// [`ChunkedState::SizeBws`]).
    fn size_bws(
        &mut self,
        value: u64,
        line_len: usize,
        byte: u8,
    ) -> Result<ChunkedState, BodyError> {
        match byte {
            b' ' | b'\t' => Ok(ChunkedState::SizeBws {
                value,
                line_len: self.count_extension(line_len)?,
            }),
            b';' => Ok(ChunkedState::Extension {
                value,
                line_len: self.count_extension(line_len)?,
            }),
            _ => Err(BodyError::InvalidChunkSize),
        }
    }

    /// `chunk-ext` is skipped up to CR; only its length and bytes are
    /// checked. The slow twin of
    /// [`skip_plain_extension`](Self::skip_plain_extension).
    fn extension(
        &mut self,
        value: u64,
        line_len: usize,
        byte: u8,
    ) -> Result<ChunkedState, BodyError> {
        match byte {
            b'\r' => Ok(ChunkedState::SizeLf { value }),
            b'\n' => Err(BodyError::InvalidLineEnding),
            b if is_ctl(b) => Err(BodyError::InvalidChunkExtension),
            _ => Ok(ChunkedState::Extension {
                value,
                line_len: self.count_extension(line_len)?,
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

    /// One more extension byte: on the size line, then in the body, each
    /// within its limit (the line's is checked first).
    fn count_extension(&mut self, line_len: usize) -> Result<usize, BodyError> {
        let line_len = self.count_line(line_len)?;
        let limit = self.limits.max_total_chunk_extension_bytes;
        match self.extension_bytes.checked_add(1) {
            Some(n) if n <= limit => {
                self.extension_bytes = n;
                Ok(line_len)
            }
            Some(_) | None => Err(BodyError::ChunkExtensionsTooLarge { limit }),
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

/// `0x01` in every byte of a word.
const LANES_01: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte of a word.
const LANES_80: u64 = 0x8080_8080_8080_8080;

/// Bytes of `word` (eight bytes, little-endian) that may stop an extension
/// run: `0x80` in the lane of every byte below `0x20` or equal to `0x7F`,
/// exact up to and including the lowest such byte; lanes above it may hold
/// false positives (borrows of the subtractions). So the lowest set bit
/// names the first candidate exactly. HTAB is a candidate but not a stop.
fn stop_candidates(word: u64) -> u64 {
    let below_space = word.wrapping_sub(LANES_01 * 0x20) & !word & LANES_80;
    let del = word ^ (LANES_01 * 0x7f);
    let is_del = del.wrapping_sub(LANES_01) & !del & LANES_80;
    below_space | is_del
}

/// The index of the first byte of `bytes` that stops an extension run: a
/// control character other than HTAB (CR and LF included). Eight bytes are
/// tested at a time with word arithmetic ([`stop_candidates`]); a candidate
/// that is an HTAB is stepped over. Tested against `position(is_ctl)` for
/// every byte at every position.
fn find_extension_stop(bytes: &[u8]) -> Option<usize> {
    const WORD: usize = 8;
    let mut at = 0usize;
    while let Some(word) = bytes.get(at..at + WORD) {
        let word: [u8; WORD] = word.try_into().unwrap_or_default();
        let candidates = stop_candidates(u64::from_le_bytes(word));
        if candidates == 0 {
            at += WORD;
            continue;
        }
        // `trailing_zeros` of a non-zero u64 is below 64.
        let first = at + (candidates.trailing_zeros() / 8) as usize;
        if bytes.get(first).is_some_and(|&b| is_ctl(b)) {
            return Some(first);
        }
        at = first + 1;
    }
    let tail = bytes.get(at..).unwrap_or_default();
    tail.iter().position(|&b| is_ctl(b)).map(|i| at + i)
}

#[cfg(test)]
mod tests;
