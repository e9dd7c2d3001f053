//! One buffer at a time: decode the raw bytes, compact the body bytes to
//! the front, let the planner place them.

use std::ops::Range;

use super::plan::{BodyPlanner, Plan, PlanError};
use crate::http::{BodyDecoder, BodyError, BodyEvent};

/// Why a body cannot be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineError {
    /// The body's framing is invalid (chunked syntax, a limit).
    Body(BodyError),
    /// The planner refused the bytes.
    Plan(PlanError),
}

impl From<BodyError> for PipelineError {
    fn from(e: BodyError) -> Self {
        PipelineError::Body(e)
    }
}

impl From<PlanError> for PipelineError {
    fn from(e: PlanError) -> Self {
        PipelineError::Plan(e)
    }
}

/// What [`BodyPipeline::process`] did with one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// Decoded body bytes the planner did not take: present them again at
    /// the front of the next buffer (they are then
    /// [`BodyPipeline::held_bytes`] long).
    pub body_tail: Range<usize>,
    /// Raw bytes not decoded: right after `body_tail` in the next buffer.
    /// Once the body `ended`, these are the bytes after it (the next
    /// pipelined request).
    pub raw_tail: Range<usize>,
    /// The body is complete and every byte of it is planned.
    pub ended: bool,
    /// Present the carry again before reading more: the planner cut the
    /// buffer short to realign, and the carry may be large.
    pub again: bool,
}

impl Processed {
    /// Bytes to carry into the next buffer.
    pub fn carry_len(&self) -> usize {
        self.body_tail.len() + self.raw_tail.len()
    }
}

/// Something that must see every decoded body byte once, in order, as it
/// passes (a digest being verified). Pure computation, no I/O.
pub trait BodyCheck {
    /// Takes the next run of decoded body bytes.
    fn update(&mut self, bytes: &[u8]);
}

/// No check.
impl BodyCheck for () {
    fn update(&mut self, _bytes: &[u8]) {}
}

impl<C: BodyCheck> BodyCheck for Option<C> {
    fn update(&mut self, bytes: &[u8]) {
        if let Some(check) = self {
            check.update(bytes);
        }
    }
}

/// RFC 9530 `Content-Digest` / `Repr-Digest` of an upload.
impl BodyCheck for crate::digest::UploadDigest {
    fn update(&mut self, bytes: &[u8]) {
        crate::digest::UploadDigest::update(self, bytes);
    }
}

/// tus `Upload-Checksum` of one PATCH.
impl BodyCheck for crate::digest::tus::ChunkChecksum {
    fn update(&mut self, bytes: &[u8]) {
        crate::digest::tus::ChunkChecksum::update(self, bytes);
    }
}

/// A request body on its way to files: a [`BodyDecoder`] and a
/// [`BodyPlanner`], fed one buffer at a time, with an optional
/// [`BodyCheck`] that sees each decoded byte once (never the held-back
/// bytes presented again).
///
/// Buffer layout at each call of [`process`](Self::process):
///
/// ```text
/// [0 .. held)       decoded body bytes carried from the last buffer
/// [held .. filled)  raw bytes (the rest of the carry, then new bytes)
/// ```
///
/// The pump copies `body_tail` then `raw_tail` of the result to the front
/// of the next buffer (or keeps them aside while it waits for the client)
/// and appends what it reads after them.
///
/// ```
/// use ringdrop::http::{BodyDecoder, BodyFraming, ChunkedLimits};
/// use ringdrop::upload::{Alignment, BodyPipeline, Plan, PutPlanner};
/// let decoder = BodyDecoder::new(BodyFraming::Chunked, ChunkedLimits::default());
/// let mut pipeline = BodyPipeline::new(decoder, PutPlanner::new(Alignment::NONE, 100));
/// let mut buf = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET / ".to_vec();
/// let mut plan = Plan::default();
/// let done = pipeline.process(&mut buf, 27, &mut plan).unwrap();
/// assert!(done.ended);
/// assert_eq!(&buf[plan.writes[0].range.clone()], b"abcde");
/// assert_eq!(&buf[done.raw_tail], b"GET / ");
/// ```
#[derive(Debug)]
pub struct BodyPipeline<P, C = ()> {
    decoder: BodyDecoder,
    planner: P,
    check: C,
    /// Decoded bytes at the front of the next buffer (`body_tail` of the
    /// last call).
    held_bytes: usize,
}

impl<P: BodyPlanner> BodyPipeline<P> {
    /// A body framed as `decoder` says, placed by `planner`.
    pub fn new(decoder: BodyDecoder, planner: P) -> BodyPipeline<P> {
        BodyPipeline {
            decoder,
            planner,
            check: (),
            held_bytes: 0,
        }
    }

    /// A pipeline whose first buffer starts with `held` bytes that are
    /// already body bytes (decoded): the partial last block of a file being
    /// resumed, re-read so that writes stay block-aligned. The caller puts
    /// them in front of the raw bytes.
    pub fn with_held(decoder: BodyDecoder, planner: P, held: usize) -> BodyPipeline<P> {
        BodyPipeline {
            decoder,
            planner,
            check: (),
            held_bytes: held,
        }
    }

    /// The same pipeline, with `check` seeing every decoded body byte.
    pub fn checked<C: BodyCheck>(self, check: C) -> BodyPipeline<P, C> {
        BodyPipeline {
            decoder: self.decoder,
            planner: self.planner,
            check,
            held_bytes: self.held_bytes,
        }
    }
}

impl<P: BodyPlanner, C: BodyCheck> BodyPipeline<P, C> {
    /// The planner and the check, once the body is done.
    pub fn into_parts(self) -> (P, C) {
        (self.planner, self.check)
    }

    /// Decoded bytes the next buffer starts with.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Body bytes decoded so far (for the access log).
    pub fn decoded_bytes(&self) -> u64 {
        self.decoder.decoded_so_far()
    }

    /// Whether the whole body has been decoded.
    pub fn body_is_complete(&self) -> bool {
        self.decoder.is_done()
    }

    /// Whether the raw bytes `raw` (what follows the bytes decoded so far)
    /// complete the body — or break its framing, which the next
    /// [`process`](Self::process) reports. Decodes a copy of the decoder
    /// state, so nothing changes: for a reader deciding whether bytes in
    /// hand can wait for more.
    pub fn body_ends_within(&self, raw: &[u8]) -> bool {
        match &self.decoder {
            BodyDecoder::Length { remaining, .. } => raw.len() as u64 >= *remaining,
            BodyDecoder::Chunked(chunked) => {
                let mut decoder = chunked.clone();
                let mut input = raw;
                loop {
                    match decoder.decode(input) {
                        Err(_) => return true,
                        Ok(step) if step.event == Some(BodyEvent::End) => return true,
                        Ok(step) if step.needs_more() => return false,
                        Ok(step) => input = &input[step.consumed..],
                    }
                }
            }
        }
    }

    /// Runs the bytes in hand — `bytes`, laid out as a buffer given to
    /// [`process`](Self::process) (the held bytes, then raw bytes) — through
    /// a copy of the pipeline without its check, keeping nothing, and
    /// returns the error `process` would report on them. For a reader that
    /// lets a slow body's bytes collect before they are worth a buffer: a
    /// body that is already broken is refused at once, not when more
    /// arrive. `scratch` is working space (reused between calls).
    pub fn check_ahead(&self, bytes: &[u8], scratch: &mut Vec<u8>) -> Result<(), PipelineError> {
        let mut copy = BodyPipeline {
            decoder: self.decoder.clone(),
            planner: self.planner.clone(),
            check: (),
            held_bytes: self.held_bytes,
        };
        scratch.clear();
        scratch.extend_from_slice(bytes);
        let mut plan = Plan::default();
        let mut filled = scratch.len();
        loop {
            plan.clear();
            let processed = copy.process(scratch, filled, &mut plan)?;
            let carry = processed.carry_len();
            // A realignment presents the carry again; anything else waits
            // for bytes not here yet.
            if processed.ended || !processed.again || carry >= filled {
                return Ok(());
            }
            scratch.copy_within(processed.body_tail.clone(), 0);
            let raw_at = processed.body_tail.len();
            scratch.copy_within(processed.raw_tail, raw_at);
            filled = carry;
        }
    }

    /// Raw bytes the rest of the body is known to contain exactly, when
    /// the framing says (Content-Length); `None` for chunked bodies, whose
    /// end is only known when it is seen. A reader uses it to leave the
    /// bytes after a body (the next request) where they are.
    pub fn exact_raw_bytes_remaining(&self) -> Option<u64> {
        match self.decoder {
            BodyDecoder::Length { remaining, .. } => Some(remaining),
            BodyDecoder::Chunked(_) => None,
        }
    }

    /// The planner (for what it learned: file sizes).
    pub fn planner(&self) -> &P {
        &self.planner
    }

    /// The most bytes carried between buffers when the result does not ask
    /// to see them `again`.
    pub fn max_carry_bytes(&self) -> usize {
        self.planner.max_carry_bytes()
    }

    /// Decodes `buf[held..filled]`, compacting body bytes to
    /// `buf[..body_len]`, and plans their writes into `plan` (which the
    /// caller cleared). See the type docs for the layout. On an error the
    /// body cannot go on.
    pub fn process(
        &mut self,
        buf: &mut [u8],
        filled: usize,
        plan: &mut Plan,
    ) -> Result<Processed, PipelineError> {
        let filled = filled.min(buf.len());
        let mut body_len = self.held_bytes.min(filled);
        let mut raw_pos = body_len;
        let mut ended = false;
        loop {
            let step = self.decoder.decode(&buf[raw_pos..filled])?;
            let needs_more = step.needs_more();
            let at = raw_pos;
            raw_pos += step.consumed;
            match step.event {
                Some(BodyEvent::Data(range)) => {
                    let src = at + range.start..at + range.end;
                    if src.start != body_len {
                        buf.copy_within(src.clone(), body_len);
                    }
                    self.check.update(&buf[body_len..body_len + src.len()]);
                    body_len += src.len();
                }
                Some(BodyEvent::End) => ended = true,
                None => {}
            }
            if ended || needs_more {
                break;
            }
        }
        let absorbed = self.planner.absorb(&buf[..body_len], ended, plan)?;
        if ended {
            self.planner.finish()?;
        }
        let consumed = absorbed.consumed.min(body_len);
        self.held_bytes = body_len - consumed;
        Ok(Processed {
            body_tail: consumed..body_len,
            raw_tail: raw_pos..filled,
            ended: ended && consumed == body_len,
            again: absorbed.realign,
        })
    }
}
