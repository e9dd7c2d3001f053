//! A multipart/form-data POST: every part with a file name becomes a file;
//! other parts are read and discarded.

use super::plan::{Absorbed, Alignment, BodyPlanner, NewFile, Plan, PlanError};
use crate::multipart::{Event, MultipartLimits, MultipartParser};

/// A file part's progress.
#[derive(Debug, Clone, Copy, Default)]
struct FileProgress {
    /// Data bytes the parser gave so far: the file's size at the end.
    received_bytes: u64,
    /// Data bytes planned for writing: the offset of the next write.
    planned_bytes: u64,
}

/// Data of the current file part in the body being absorbed and not yet
/// planned: `body[start..end]`.
#[derive(Debug, Clone, Copy)]
struct DataRun {
    file: usize,
    start: usize,
    end: usize,
}

/// Plans a multipart body: drives a [`MultipartParser`] over the decoded
/// body bytes and turns its `Data` events into writes of the buffer's
/// ranges, one file per part with a (sanitized) file name.
///
/// ```
/// use ringdrop::multipart::MultipartLimits;
/// use ringdrop::upload::{Alignment, BodyPlanner, MultipartPlanner, Plan};
/// let mut planner =
///     MultipartPlanner::new(b"XyZ", MultipartLimits::default(), Alignment::NONE, 1 << 20).unwrap();
/// let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XyZ--\r\n";
/// let mut plan = Plan::default();
/// planner.absorb(body, true, &mut plan).unwrap();
/// planner.finish().unwrap();
/// assert_eq!(plan.new_files[0].name, "a.txt");
/// assert_eq!(&body[plan.writes[0].range.clone()], b"hello");
/// ```
#[derive(Debug, Clone)]
pub struct MultipartPlanner {
    parser: MultipartParser,
    align: Alignment,
    max_file_size_bytes: u64,
    /// The most bytes the parser leaves unconsumed while it waits for more.
    parser_hold_back_bytes: usize,
    files: Vec<FileProgress>,
    /// The file of the part being received (`None`: a field, or between
    /// parts).
    current: Option<usize>,
    /// Bytes at the front of the next body that the parser already gave as
    /// data of the current file, held back to keep its writes whole blocks
    /// (`< align`).
    pending_data_bytes: usize,
}

impl MultipartPlanner {
    /// A planner for a body with `boundary` (from the request's
    /// Content-Type), within `limits`, writing files cut for `align`, each
    /// at most `max_file_size_bytes`.
    pub fn new(
        boundary: &[u8],
        limits: MultipartLimits,
        align: Alignment,
        max_file_size_bytes: u64,
    ) -> Result<MultipartPlanner, PlanError> {
        let parser = MultipartParser::new(boundary, limits)?;
        let parser_hold_back_bytes = parser.max_pending_bytes();
        Ok(MultipartPlanner {
            parser,
            align,
            max_file_size_bytes,
            parser_hold_back_bytes,
            files: Vec::new(),
            current: None,
            pending_data_bytes: 0,
        })
    }

    /// The size of file `index` (its data bytes received so far).
    pub fn file_size(&self, index: usize) -> u64 {
        self.files.get(index).map_or(0, |f| f.received_bytes)
    }

    /// Files announced so far.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    fn plan_run(&mut self, run: DataRun, plan: &mut Plan) {
        let file = &mut self.files[run.file];
        plan.push_write(run.file, run.start..run.end, file.planned_bytes);
        file.planned_bytes += (run.end - run.start) as u64;
    }

    fn flush(&mut self, run: &mut Option<DataRun>, plan: &mut Plan) {
        if let Some(done) = run.take() {
            self.plan_run(done, plan);
        }
    }
}

impl BodyPlanner for MultipartPlanner {
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        plan: &mut Plan,
    ) -> Result<Absorbed, PlanError> {
        // Held-back data of the current part comes first, already parsed.
        let mut pos = std::mem::take(&mut self.pending_data_bytes).min(body.len());
        let mut run = match self.current {
            Some(file) if pos > 0 => Some(DataRun {
                file,
                start: 0,
                end: pos,
            }),
            _ => None,
        };
        loop {
            let step = self.parser.feed(&body[pos..])?;
            let needs_more = step.needs_more();
            let base = pos;
            pos += step.consumed;
            match step.event {
                Some(Event::PartStart(head)) => {
                    self.flush(&mut run, plan);
                    self.current = None;
                    if let Some(name) = head.filename {
                        let index = self.files.len();
                        self.files.push(FileProgress::default());
                        plan.new_files.push(NewFile { index, name });
                        self.current = Some(index);
                        if !self.align.is_aligned(pos) && !body_complete {
                            // Start the next buffer at this part's data, so
                            // its writes start block-aligned (one copy of
                            // the rest of this buffer per file part).
                            return Ok(Absorbed {
                                consumed: pos,
                                realign: true,
                            });
                        }
                    }
                }
                Some(Event::Data(range)) => {
                    if let Some(file) = self.current {
                        let progress = &mut self.files[file];
                        let limit = self.max_file_size_bytes;
                        progress.received_bytes =
                            progress.received_bytes.saturating_add(range.len() as u64);
                        if progress.received_bytes > limit {
                            return Err(PlanError::FileTooLarge { limit });
                        }
                        let (start, end) = (base + range.start, base + range.end);
                        match &mut run {
                            Some(open) if open.file == file && open.end == start => open.end = end,
                            _ => {
                                self.flush(&mut run, plan);
                                run = Some(DataRun { file, start, end });
                            }
                        }
                    }
                }
                Some(Event::PartEnd) => {
                    self.flush(&mut run, plan);
                    self.current = None;
                }
                Some(Event::End) | None => {}
            }
            if needs_more {
                break;
            }
        }
        let Some(open) = run else {
            return Ok(Absorbed {
                consumed: pos,
                realign: false,
            });
        };
        // The part goes on in the next buffer. Whole blocks now; the
        // partial block is presented again, ahead of the bytes the parser
        // has not consumed yet.
        let whole = self.align.round_down(open.end - open.start);
        if body_complete || open.end != pos || open.start + whole == open.end {
            self.plan_run(open, plan);
            return Ok(Absorbed {
                consumed: pos,
                realign: false,
            });
        }
        let split = open.start + whole;
        self.plan_run(DataRun { end: split, ..open }, plan);
        self.pending_data_bytes = open.end - split;
        Ok(Absorbed {
            consumed: split,
            realign: false,
        })
    }

    fn finish(&mut self) -> Result<(), PlanError> {
        self.parser.finish().map_err(PlanError::from)
    }

    fn max_carry_bytes(&self) -> usize {
        self.align.bytes() - 1 + self.parser_hold_back_bytes
    }
}
