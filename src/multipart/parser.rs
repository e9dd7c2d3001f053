//! [`MultipartParser`]: the streaming, slice-fed multipart/form-data state
//! machine. It never stores body bytes: content comes out as ranges into the
//! caller's input, and bytes that might start a delimiter stay in the
//! caller's buffer (`consumed < input.len()`).

use std::ops::Range;

use memchr::memmem::Finder;

use super::boundary::{delimiter, validate_boundary};
use super::error::MultipartError;
use super::limits::MultipartLimits;
use super::part_head::{parse_part_head, PartHead};
use crate::step::Step;
use crate::syntax::is_ows;

/// Spaces and tabs allowed between a delimiter and its CRLF (RFC 2046
/// "transport-padding", which sets no bound). Over it: `MalformedDelimiter`
/// (400). Real clients send none.
pub const MAX_TRANSPORT_PADDING_BYTES: usize = 256;

/// What the parser found; at most one per [`MultipartParser::feed`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part begins; its headers have been consumed.
    PartStart(PartHead),
    /// Content of the current part: a non-empty range into the `input` of
    /// the call that returned it, always within `..consumed`.
    Data(Range<usize>),
    /// The current part's content is complete (its delimiter was consumed).
    PartEnd,
    /// The close delimiter was consumed. Everything after it (the epilogue)
    /// is consumed and ignored by later calls.
    End,
}

/// The phases of a multipart body, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing consumed yet: the first delimiter may open the body without
    /// its leading CRLF.
    Start,
    /// Skipping the preamble; `skipped` bytes consumed so far
    /// (`skipped <= max_preamble_bytes`).
    Preamble { skipped: usize },
    /// Just after `--boundary` (and `padding` bytes of transport padding):
    /// expecting `--` (only when `padding == 0`), more padding, or CRLF.
    AfterDelimiter { padding: usize },
    /// Waiting for a complete part header block. `scanned` bytes at the
    /// front of the input were already searched for its end.
    Headers { scanned: usize },
    /// Inside a part's content. `at_start`: nothing of it consumed yet, so
    /// the header block's final CRLF may double as the delimiter's CRLF
    /// (RFC 2046: a body part may have headers and no body). The content of
    /// a file and of a plain field are scanned alike and never limited
    /// here: a file's size is the server's business (`max_file_size`), and
    /// a field is discarded as it streams, so its size costs nothing.
    Data { at_start: bool },
    /// The close delimiter was seen; everything else is ignored.
    Epilogue,
    /// An error was returned; every later call returns it again.
    Failed(MultipartError),
}

/// A streaming multipart/form-data parser for one request body.
///
/// Method kinds, in calling order:
/// 1. [`MultipartParser::new`] with the boundary (from
///    [`boundary_from_content_type`](super::boundary_from_content_type)) and
///    the limits;
/// 2. [`MultipartParser::feed`] with the unconsumed bytes, repeatedly, as
///    the [`Step`] contract says: call again with `input[consumed..]` while
///    a call returns an event or `consumed > 0`; on `Step::need_more()`,
///    append newly read bytes after `input[consumed..]` and call again;
/// 3. [`MultipartParser::finish`] at the end of the body.
///
/// A caller buffer that can hold [`MultipartParser::max_pending_bytes`]
/// unconsumed bytes plus at least one new byte always makes progress.
#[derive(Debug, Clone)]
pub struct MultipartParser {
    limits: MultipartLimits,
    /// `\r\n--` + boundary. `delimiter[2..]` is the dash-boundary.
    delimiter: Vec<u8>,
    /// Searcher for `delimiter`, built once per request.
    finder: Finder<'static>,
    state: State,
    /// Parts started so far (`parts <= max_parts`).
    parts: usize,
    /// Parts with a filename started so far (`files <= max_files`).
    files: usize,
}

impl MultipartParser {
    /// A parser for a body delimited by `boundary` (without the leading
    /// `--`). `Err(InvalidBoundary)` unless it is 1..=70 RFC 2046 `bchars`
    /// not ending in a space.
    pub fn new(boundary: &[u8], limits: MultipartLimits) -> Result<Self, MultipartError> {
        validate_boundary(boundary)?;
        let delimiter = delimiter(boundary);
        let finder = Finder::new(&delimiter).into_owned();
        Ok(MultipartParser {
            limits,
            delimiter,
            finder,
            state: State::Start,
            parts: 0,
            files: 0,
        })
    }

    /// Parses as much of `input` as it can, up to one event.
    ///
    /// `input` is everything the caller has not yet seen consumed. Never
    /// panics and never allocates per byte. After an error, every call
    /// returns the same error.
    pub fn feed(&mut self, input: &[u8]) -> Result<Step<Event>, MultipartError> {
        let result = match self.state {
            State::Start => self.on_start(input),
            State::Preamble { skipped } => self.on_preamble(input, skipped),
            State::AfterDelimiter { padding } => self.on_after_delimiter(input, padding),
            State::Headers { scanned } => self.on_headers(input, scanned),
            State::Data { at_start } => self.on_data(input, at_start),
            State::Epilogue => Ok(Step::consumed(input.len())),
            State::Failed(e) => Err(e),
        };
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// Call at the end of the body: `Err(Truncated)` unless the close
    /// delimiter was seen (or the error `feed` returned, if it did).
    pub fn finish(&self) -> Result<(), MultipartError> {
        match self.state {
            State::Epilogue => Ok(()),
            State::Failed(e) => Err(e),
            State::Start
            | State::Preamble { .. }
            | State::AfterDelimiter { .. }
            | State::Headers { .. }
            | State::Data { .. } => Err(MultipartError::Truncated),
        }
    }

    /// True once the close delimiter has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Epilogue
    }

    /// The most unconsumed bytes the parser may leave in the caller's
    /// buffer when it asks for more input: a whole part header block, or a
    /// partial delimiter.
    pub fn max_pending_bytes(&self) -> usize {
        self.limits
            .max_part_header_bytes
            .max(self.delimiter.len().saturating_sub(1))
    }

    /// Length of the longest suffix of `input` that is a proper prefix of
    /// the delimiter: the bytes to hold back. Only `\r` can start one (a
    /// boundary has no CR), so candidates come from memchr over the last
    /// `delimiter.len() - 1` bytes.
    fn partial_delimiter_len(&self, input: &[u8]) -> usize {
        let window = self.delimiter.len().saturating_sub(1);
        let start = input.len().saturating_sub(window);
        let tail = input.get(start..).unwrap_or(&[]);
        for cr in memchr::memchr_iter(b'\r', tail) {
            let candidate = tail.get(cr..).unwrap_or(&[]);
            if self.delimiter.starts_with(candidate) {
                return candidate.len();
            }
        }
        0
    }

    /// Does `input` open with the dash-boundary (`--boundary`, the delimiter
    /// without its CRLF)? `None` when `input` is too short to tell.
    fn starts_with_dash_boundary(&self, input: &[u8]) -> Option<bool> {
        let dash = self.delimiter.get(2..).unwrap_or(&[]);
        let n = input.len().min(dash.len());
        if input.get(..n) != dash.get(..n) {
            Some(false)
        } else if n < dash.len() {
            None
        } else {
            Some(true)
        }
    }

    fn dash_boundary_len(&self) -> usize {
        self.delimiter.len().saturating_sub(2)
    }

    fn on_start(&mut self, input: &[u8]) -> Result<Step<Event>, MultipartError> {
        match self.starts_with_dash_boundary(input) {
            None => Ok(Step::need_more()),
            Some(true) => {
                self.state = State::AfterDelimiter { padding: 0 };
                Ok(Step::consumed(self.dash_boundary_len()))
            }
            Some(false) => {
                self.state = State::Preamble { skipped: 0 };
                self.on_preamble(input, 0)
            }
        }
    }

    fn on_preamble(&mut self, input: &[u8], skipped: usize) -> Result<Step<Event>, MultipartError> {
        let too_long = MultipartError::PreambleTooLong {
            limit: self.limits.max_preamble_bytes,
        };
        let (preamble, consumed, next) = match self.finder.find(input) {
            Some(at) => (
                at,
                at.checked_add(self.delimiter.len()).ok_or(too_long)?,
                State::AfterDelimiter { padding: 0 },
            ),
            None => {
                let n = input.len() - self.partial_delimiter_len(input);
                let skipped = skipped.checked_add(n).ok_or(too_long)?;
                (n, n, State::Preamble { skipped })
            }
        };
        let total = skipped.checked_add(preamble).ok_or(too_long)?;
        if total > self.limits.max_preamble_bytes {
            return Err(too_long);
        }
        self.state = next;
        Ok(Step::consumed(consumed))
    }

    fn on_after_delimiter(
        &mut self,
        input: &[u8],
        padding: usize,
    ) -> Result<Step<Event>, MultipartError> {
        let pad = input.iter().take_while(|&&b| is_ows(b)).count();
        if pad > 0 {
            let padding = padding.saturating_add(pad);
            if padding > MAX_TRANSPORT_PADDING_BYTES {
                return Err(MultipartError::MalformedDelimiter);
            }
            self.state = State::AfterDelimiter { padding };
            return Ok(Step::consumed(pad));
        }
        match input {
            [] | [b'\r'] => Ok(Step::need_more()),
            [b'-'] if padding == 0 => Ok(Step::need_more()),
            [b'-', b'-', ..] if padding == 0 => {
                self.state = State::Epilogue;
                Ok(Step::event(2, Event::End))
            }
            [b'\r', b'\n', ..] => {
                self.state = State::Headers { scanned: 0 };
                Ok(Step::consumed(2))
            }
            _ => Err(MultipartError::MalformedDelimiter),
        }
    }

    /// Where the header block at the front of `input` ends (just past its
    /// empty line), looking only at bytes not `scanned` before.
    fn header_block_end(input: &[u8], scanned: usize) -> Option<usize> {
        if input.starts_with(b"\r\n") {
            return Some(2);
        }
        // Back up 3 bytes so a terminator split across calls is found.
        let from = scanned.min(input.len()).saturating_sub(3);
        let rest = input.get(from..)?;
        memchr::memmem::find(rest, b"\r\n\r\n").map(|at| from + at + 4)
    }

    fn on_headers(&mut self, input: &[u8], scanned: usize) -> Result<Step<Event>, MultipartError> {
        let limit = self.limits.max_part_header_bytes;
        let Some(end) = Self::header_block_end(input, scanned) else {
            if input.len() > limit {
                return Err(MultipartError::PartHeadersTooLarge { limit });
            }
            self.state = State::Headers {
                scanned: input.len(),
            };
            return Ok(Step::need_more());
        };
        if end > limit {
            return Err(MultipartError::PartHeadersTooLarge { limit });
        }
        let block = input.get(..end).unwrap_or(&[]);
        let head = parse_part_head(block, self.limits.max_part_headers)?;

        let parts = self.parts.saturating_add(1);
        if parts > self.limits.max_parts {
            return Err(MultipartError::TooManyParts {
                limit: self.limits.max_parts,
            });
        }
        if head.filename.is_some() {
            let files = self.files.saturating_add(1);
            if files > self.limits.max_files {
                return Err(MultipartError::TooManyFiles {
                    limit: self.limits.max_files,
                });
            }
            self.files = files;
        }
        self.parts = parts;
        self.state = State::Data { at_start: true };
        Ok(Step::event(end, Event::PartStart(head)))
    }

    fn on_data(&mut self, input: &[u8], at_start: bool) -> Result<Step<Event>, MultipartError> {
        if at_start {
            match self.starts_with_dash_boundary(input) {
                None => return Ok(Step::need_more()),
                Some(true) => return Ok(self.part_end(self.dash_boundary_len())),
                Some(false) => {}
            }
        }
        let data_len = match self.finder.find(input) {
            Some(0) => return Ok(self.part_end(self.delimiter.len())),
            Some(at) => at,
            None => input.len() - self.partial_delimiter_len(input),
        };
        self.state = State::Data { at_start: false };
        if data_len == 0 {
            // Only a partial delimiter is left: keep it in the caller's buffer.
            return Ok(Step::need_more());
        }
        Ok(Step::event(data_len, Event::Data(0..data_len)))
    }

    fn part_end(&mut self, delimiter_len: usize) -> Step<Event> {
        self.state = State::AfterDelimiter { padding: 0 };
        Step::event(delimiter_len, Event::PartEnd)
    }
}
