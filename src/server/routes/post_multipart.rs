//! `POST /dir/` with multipart/form-data: every part with a file name is
//! streamed to its own staged file; the request is all or nothing.

use std::rc::Rc;

use crate::http::{BodyDecoder, BodyFraming, StatusCode, Version};
use crate::multipart::{boundary_from_content_type, collision_candidate, Event, MultipartParser};
use crate::server::body::{pump_body, BodySink, PlannedWrite};
use crate::server::conn::Conn;
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::storage::aligned::BLOCK_ALIGN_BYTES;
use crate::storage::staged::{sync_directory, unlink_committed};
use crate::storage::staged::{FileWriter, WriteMode};
use crate::storage::{CommitMode, StagedFile};

use super::put::stored_file_json;

/// How many ` (n)` suffixes to try before giving up on a name.
const MAX_COLLISION_ATTEMPTS: u32 = 10_000;

/// One file part being received.
struct StagedPart {
    file: StagedFile,
    name: String,
    /// Data bytes received (parsed) so far: the file's size at the end.
    size_bytes: u64,
    /// Data bytes planned for writing so far: the offset of the next write.
    planned_bytes: u64,
}

/// What the bytes of the current part are.
enum CurrentPart {
    /// Between parts, or in a form field (its bytes are discarded).
    NotAFile,
    /// File part number `index` of `files`.
    File { index: usize },
}

/// Data of the current file part found in the body being absorbed and not
/// yet planned: `body[start..end]`, contiguous.
struct DataRun {
    index: usize,
    start: usize,
    end: usize,
}

struct MultipartSink {
    parser: MultipartParser,
    dir: Rc<std::os::fd::OwnedFd>,
    files: Vec<StagedPart>,
    current: CurrentPart,
    max_file_size_bytes: u64,
    write_mode: WriteMode,
    /// Bytes at the front of the next body that the parser already gave as
    /// data of the current file part, held back to keep its direct writes
    /// whole blocks.
    pending_data_bytes: usize,
}

impl MultipartSink {
    /// Plans the write of `run` (all of it: the part ended, the body ended,
    /// or its file writes through the page cache).
    fn plan(&mut self, run: &DataRun, writes: &mut Vec<PlannedWrite>) {
        let part = &mut self.files[run.index];
        writes.push(PlannedWrite {
            file: run.index,
            range: run.start..run.end,
            offset: part.planned_bytes,
        });
        part.planned_bytes += (run.end - run.start) as u64;
    }
}

impl BodySink for MultipartSink {
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        writes: &mut Vec<PlannedWrite>,
    ) -> Result<usize, RequestError> {
        // Held-back data of the current part comes first, already parsed.
        let mut pos = std::mem::take(&mut self.pending_data_bytes);
        let mut run = match self.current {
            CurrentPart::File { index } if pos > 0 => Some(DataRun {
                index,
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
                    self.current = CurrentPart::NotAFile;
                    if let Some(name) = head.filename {
                        let file = StagedFile::create(self.dir.clone(), self.write_mode.clone())?;
                        let aligned =
                            !file.wants_block_aligned_writes() || pos % BLOCK_ALIGN_BYTES == 0;
                        self.files.push(StagedPart {
                            file,
                            name,
                            size_bytes: 0,
                            planned_bytes: 0,
                        });
                        self.current = CurrentPart::File {
                            index: self.files.len() - 1,
                        };
                        if !aligned && !body_complete {
                            if let Some(done) = run.take() {
                                self.plan(&done, writes);
                            }
                            // Start the next buffer at this part's data, so
                            // its direct writes start block-aligned (one
                            // copy of the rest of this buffer per part).
                            return Ok(pos);
                        }
                    }
                }
                Some(Event::Data(range)) => {
                    if let CurrentPart::File { index } = self.current {
                        let part = &mut self.files[index];
                        let size = part.size_bytes.saturating_add(range.len() as u64);
                        if size > self.max_file_size_bytes {
                            return Err(RequestError::FileTooLarge {
                                limit: self.max_file_size_bytes,
                            });
                        }
                        part.size_bytes = size;
                        let (start, end) = (base + range.start, base + range.end);
                        match &mut run {
                            Some(open) if open.index == index && open.end == start => {
                                open.end = end
                            }
                            _ => {
                                if let Some(done) = run.take() {
                                    self.plan(&done, writes);
                                }
                                run = Some(DataRun { index, start, end });
                            }
                        }
                    }
                }
                Some(Event::PartEnd) => {
                    if let Some(done) = run.take() {
                        self.plan(&done, writes);
                    }
                    self.current = CurrentPart::NotAFile;
                }
                Some(Event::End) | None => {}
            }
            if needs_more {
                break;
            }
        }
        let Some(open) = run else {
            return Ok(pos);
        };
        // The part goes on in the next buffer. A direct file takes whole
        // blocks now; the partial block is presented again, ahead of the
        // bytes the parser has not consumed yet.
        let direct = self.files[open.index].file.wants_block_aligned_writes();
        let whole = (open.end - open.start) / BLOCK_ALIGN_BYTES * BLOCK_ALIGN_BYTES;
        if !direct || body_complete || open.end != pos || open.start + whole == open.end {
            self.plan(&open, writes);
            return Ok(pos);
        }
        let split = open.start + whole;
        if whole > 0 {
            self.plan(
                &DataRun {
                    index: open.index,
                    start: open.start,
                    end: split,
                },
                writes,
            );
        }
        self.pending_data_bytes = open.end - split;
        Ok(split)
    }

    fn end(&mut self, _held_back: usize) -> Result<(), RequestError> {
        self.parser.finish().map_err(RequestError::from)
    }

    fn writer(&self, index: usize) -> &Rc<FileWriter> {
        self.files[index].file.writer()
    }
}

/// Serves a multipart POST.
pub async fn post(conn: &mut Conn, request: &Request) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    let config = &worker.config;
    let content_type = request.headers.content_type.as_deref().unwrap_or("");
    let boundary = boundary_from_content_type(content_type.as_bytes())?;
    if request.info.framing == BodyFraming::None {
        return Err(RequestError::LengthRequired);
    }
    let dir = match worker.root.open_dir(&request.target.path) {
        Ok(dir) => Rc::new(dir),
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Err(RequestError::DirectoryMissing)
        }
        Err(err) => return Err(err.into()),
    };
    let parser = MultipartParser::new(&boundary, config.multipart_limits)?;
    if request.info.expect_continue && request.version == Version::Http11 {
        conn.send_continue().await.map_err(RequestError::Io)?;
    }
    let declared_len = match request.info.framing {
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };
    let writes = worker.plan_upload_writes(declared_len);
    let mut sink = MultipartSink {
        parser,
        dir: dir.clone(),
        files: Vec::new(),
        current: CurrentPart::NotAFile,
        max_file_size_bytes: config.max_file_size_bytes,
        write_mode: writes.mode.clone(),
        pending_data_bytes: 0,
    };
    let decoder = BodyDecoder::new(request.info.framing, config.chunked_limits);
    pump_body(conn, decoder, &mut sink).await?;

    let stored = commit_all(&mut sink.files, config.durable).await?;
    if config.durable && !stored.is_empty() {
        if let Err(err) = sync_directory(&dir).await {
            // The names cannot be promised durable: take them all back
            // (all or nothing), as when a link fails.
            for (name, _) in &stored {
                let _ = unlink_committed(&dir, name);
            }
            return Err(err.into());
        }
    }
    let mut json = String::from("{\"files\":[");
    for (i, (name, size)) in stored.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        let rel = if request.target.path.is_empty() {
            name.clone()
        } else {
            format!("{}/{}", request.target.path, name)
        };
        stored_file_json(&mut json, name, &rel, *size);
    }
    json.push_str("]}");
    let _ = conn.send_json(StatusCode::CREATED, &json).await;
    Ok(())
}

/// Names every staged part (collision-free) in part order. If any fails,
/// the names already given are removed: all or nothing.
async fn commit_all(
    files: &mut [StagedPart],
    durable: bool,
) -> Result<Vec<(String, u64)>, RequestError> {
    if durable {
        for part in files.iter() {
            part.file.sync_data().await?;
        }
    }
    let mut stored: Vec<(String, u64)> = Vec::with_capacity(files.len());
    for part in files.iter_mut() {
        match link_free_name(part) {
            Ok(name) => stored.push((name, part.size_bytes)),
            Err(err) => {
                for ((name, _), earlier) in stored.iter().zip(files.iter()) {
                    let _ = unlink_committed(earlier.file.dir(), name);
                }
                return Err(err);
            }
        }
    }
    Ok(stored)
}

/// Links `part` under its name, or the first free `name (n)`.
fn link_free_name(part: &mut StagedPart) -> Result<String, RequestError> {
    for n in 0..MAX_COLLISION_ATTEMPTS {
        let candidate = collision_candidate(&part.name, n);
        match part.file.link(&candidate, CommitMode::NoReplace) {
            Ok(_) => return Ok(candidate),
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(RequestError::Conflict("no free name for the file"))
}
