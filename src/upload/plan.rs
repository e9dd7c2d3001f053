//! The shapes every planner shares.

use std::ops::Range;

use crate::multipart::MultipartError;

/// How writes must be cut: [`Alignment::NONE`] for page-cache files,
/// [`Alignment::BLOCK`] for files written with `O_DIRECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alignment(usize);

impl Alignment {
    /// No constraint: plan every byte at once.
    pub const NONE: Alignment = Alignment(1);
    /// Whole 4 KiB blocks at aligned offsets (the logical block size
    /// `O_DIRECT` needs on the filesystems ringdrop runs on).
    pub const BLOCK: Alignment = Alignment(4096);

    /// An alignment of `bytes` (a power of two, else `None`).
    pub fn new(bytes: usize) -> Option<Alignment> {
        bytes.is_power_of_two().then_some(Alignment(bytes))
    }

    /// The alignment in bytes (a power of two).
    pub fn bytes(self) -> usize {
        self.0
    }

    /// `len` rounded down to a whole number of units.
    pub fn round_down(self, len: usize) -> usize {
        len - len % self.0
    }

    /// Whether `offset` is a multiple of the alignment.
    pub fn is_aligned(self, offset: usize) -> bool {
        offset % self.0 == 0
    }
}

/// One write: bytes `range` of the buffer go to file number `file` at
/// `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWrite {
    /// Index of the file, in the order [`NewFile`]s were announced (0 for
    /// a PUT).
    pub file: usize,
    /// Bytes of the buffer (relative to its start).
    pub range: Range<usize>,
    /// Offset in the file.
    pub offset: u64,
}

/// A file a planner needs created before its writes go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Its index in [`PlannedWrite::file`].
    pub index: usize,
    /// The name it is to be stored under (sanitized; the I/O layer picks a
    /// free name at commit).
    pub name: String,
}

/// What one call planned: files to create first, then writes in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Files to create, before any write below refers to them.
    pub new_files: Vec<NewFile>,
    /// Writes of the current buffer.
    pub writes: Vec<PlannedWrite>,
}

impl Plan {
    /// Empties the plan, keeping its allocations.
    pub fn clear(&mut self) {
        self.new_files.clear();
        self.writes.clear();
    }

    /// Adds a write, merging it into the previous one when it continues it
    /// in the buffer and in the same file.
    pub(crate) fn push_write(&mut self, file: usize, range: Range<usize>, offset: u64) {
        if range.is_empty() {
            return;
        }
        if let Some(last) = self.writes.last_mut() {
            let last_end_offset = last.offset + (last.range.end - last.range.start) as u64;
            if last.file == file && last.range.end == range.start && last_end_offset == offset {
                last.range.end = range.end;
                return;
            }
        }
        self.writes.push(PlannedWrite {
            file,
            range,
            offset,
        });
    }
}

/// What [`BodyPlanner::absorb`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Absorbed {
    /// Bytes at the front of the body it is finished with; the rest comes
    /// again at the front of the next buffer.
    pub consumed: usize,
    /// Present the rest again before reading more bytes: the planner cut
    /// the buffer short so that a new file's data starts block-aligned at
    /// the front of the next buffer (the rest may then be large).
    pub realign: bool,
}

/// Why the body cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanError {
    /// A file would exceed the largest file size (413).
    FileTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The multipart body is invalid or over a limit.
    Multipart(MultipartError),
}

impl From<MultipartError> for PlanError {
    fn from(e: MultipartError) -> Self {
        PlanError::Multipart(e)
    }
}

/// Decides where decoded body bytes go. Implemented by [`PutPlanner`] and
/// [`MultipartPlanner`]; does no I/O. A planner is `Clone` so that bytes
/// can be tried on a copy ([`BodyPipeline::check_ahead`]).
///
/// [`BodyPipeline::check_ahead`]: super::BodyPipeline::check_ahead
///
/// [`PutPlanner`]: super::PutPlanner
/// [`MultipartPlanner`]: super::MultipartPlanner
pub trait BodyPlanner: Clone {
    /// Takes the decoded body bytes `body`, which start at the front of a
    /// buffer (so at an aligned address), and plans writes of ranges of it
    /// into `plan`. `body_complete`: no byte follows, everything must be
    /// absorbed.
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        plan: &mut Plan,
    ) -> Result<Absorbed, PlanError>;

    /// The body ended (after the last `absorb`): checks it was complete
    /// for this planner (a multipart body needs its close delimiter).
    fn finish(&mut self) -> Result<(), PlanError>;

    /// The most bytes `absorb` leaves unconsumed when it does not ask to
    /// realign: what an upload waiting for its client keeps.
    fn max_carry_bytes(&self) -> usize;
}
