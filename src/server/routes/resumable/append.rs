//! Creation and append: the upload's bytes through the same registered
//! buffer pipeline as a PUT, continuing the data file at the durable
//! offset.

use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use super::commit::commit;
use super::{check_access, load, lock_upload, now_unix, owner_of, upload_files, Answer, Failure};
use crate::auth::{Action, Perms};
use crate::digest::ChunkChecksum;
use crate::http::{BodyDecoder, BodyFraming, Version};
use crate::metrics::Counter;
use crate::resumable::{
    appended, completed, created, interim_104, realign_range, AppendRequest, BodyEnd,
    ChecksumOutcome, Chunk, CommitMode, CreateRequest, Protocol, ResumableError, UploadId,
    UploadLength, UploadRecord, UploadState,
};
use crate::server::connection::{BodyFiles, Exchange, SMALL_BODY_MAX_BYTES};
use crate::server::error::RequestError;
use crate::server::worker_state::Worker;
use crate::storage::staged::{check_room, FileWriter};
use crate::storage::staging::{UploadFiles, UploadLock};
use crate::storage::StagedFile;
use crate::sys::fs::c_path;
use crate::upload::{Alignment, BodyPipeline, NewFile};
use crate::upload::{AppendChecks, AppendPlanner};

/// The `Allow` of a 405 when uploads are disabled for everyone.
const UPLOAD_ALLOW: &str = "GET, HEAD, OPTIONS";

/// An append's one file: the upload's data file, continued.
struct DataFile(StagedFile);

impl BodyFiles for DataFile {
    fn open(&mut self, _file: &NewFile) -> Result<(), RequestError> {
        // An append planner never announces files.
        Err(RequestError::Io(std::io::Error::other(
            "an append has one file",
        )))
    }

    fn writer(&self, _index: usize) -> &Rc<FileWriter> {
        self.0.writer()
    }
}

/// 16 bytes from the operating system's CSPRNG: an upload's id.
fn random_id() -> Result<UploadId, Failure> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; UploadId::BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RequestError::Io(std::io::Error::other("no randomness for an upload id")))?;
    Ok(UploadId::from_random(bytes))
}

/// Opens an upload's target directory; gone → 409, like a PUT whose
/// parent is missing.
fn open_target_dir(worker: &Worker, dir: &str) -> Result<Rc<OwnedFd>, Failure> {
    worker
        .open_target_dir(dir)
        .map_err(|err| Failure::Request(RequestError::from_parent_io(err)))
}

/// A creation: tus `POST /dir/`, IETF `POST /dir/` or `PUT /dir/name`.
pub(super) async fn create(
    ex: &mut Exchange<'_>,
    answer: &mut Answer,
    create: CreateRequest,
) -> Result<(), Failure> {
    let worker = ex.worker().clone();
    let config = &worker.config;
    if config.read_only {
        return Err(RequestError::ReadOnly.into());
    }
    ex.begin_upload();
    let request = ex.request();
    let path = &request.target.path;
    answer.protocol = Some(create.protocol);
    // Everything below is decided from the head, before any byte of the
    // body is read and before anything is taken.
    let (dir, commit_mode) = if create.named_by_url {
        // IETF `PUT /dir/name`: the rules of a PUT (`upload` for a new
        // name, `overwrite` for an existing file).
        let caps = ex.capabilities(path);
        if !caps.contains(Perms::UPLOAD) && !caps.contains(Perms::OVERWRITE) {
            ex.authorize(Action::Create, path, UPLOAD_ALLOW)?;
            return Err(ex.denied().into());
        }
        let dir = open_target_dir(&worker, &create.dir)?;
        let name = create.name.as_deref().unwrap_or_default();
        let name_c = c_path(name)?;
        let if_none_match = request.headers.if_none_match.as_deref().map(str::trim) == Some("*");
        let exists =
            super::super::put::check_target(&worker, &dir, &create.dir, &name_c, if_none_match)?;
        let action = if exists {
            Action::Overwrite
        } else {
            Action::Create
        };
        ex.authorize(action, path, UPLOAD_ALLOW)?;
        ex.authorize_where_resolved(action, dir.as_fd(), name, path, UPLOAD_ALLOW)?;
        let mode = if if_none_match || !caps.contains(Perms::OVERWRITE) {
            CommitMode::CreateOnly
        } else {
            CommitMode::Replace
        };
        (dir, mode)
    } else {
        ex.authorize(Action::Create, path, UPLOAD_ALLOW)?;
        let dir = match worker.open_target_dir(&create.dir) {
            Ok(dir) => dir,
            Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                return Err(RequestError::DirectoryMissing.into())
            }
            Err(err) => return Err(err.into()),
        };
        ex.authorize_where_resolved(Action::Create, dir.as_fd(), "", path, UPLOAD_ALLOW)?;
        (dir, CommitMode::NewName)
    };
    if let UploadLength::Known(len) = create.length {
        // No room for the declared length: 507 now, nothing reserved.
        check_room(&dir, len).map_err(RequestError::from_io)?;
    }
    let now = now_unix();
    let staging = worker.staging.dir_or_create()?;
    // The commit links the staged data into the target directory: both
    // must be on one filesystem (a directory mounted beneath ROOT is not).
    let device = |fd: &OwnedFd| crate::sys::fs::fstat(fd.as_fd()).map(|st| st.st_dev);
    if device(&dir)? != device(&staging)? {
        return Err(RequestError::Conflict(
            "resumable uploads cannot go into a directory on another filesystem than ROOT",
        )
        .into());
    }
    let id = random_id()?;
    let owner = owner_of(ex);
    let record = UploadRecord::create(
        &create.new_upload(id, &owner, commit_mode),
        worker.staging.usage(),
        now,
        &config.resumable,
    )?;
    // The data file counts in the upload-file budget like a PUT's.
    let _permit = worker
        .slots
        .file_permit()
        .ok_or(RequestError::TooManyUploads)?;
    let files = UploadFiles::new(staging, id);
    let lock = files.create_data()?;
    if let Err(err) = files.write_record(&record.encode()?, config.durable).await {
        let _ = files.remove(true);
        return Err(err.into());
    }
    worker.staging.note_created();
    if let Protocol::Ietf(draft) = create.protocol {
        // Only a request with a body can be cut off: it learns its upload's
        // URL before the body goes.
        if request.version == Version::Http11 && request.has_body() {
            if let Some(bytes) = interim_104(&record, draft, now, &config.resumable) {
                let fields = interim_fields(&bytes);
                let headers: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                answer.send_interim(ex, &headers).await?;
            }
        }
    }
    match &create.chunk {
        Some(chunk) => {
            let chunk = *chunk;
            run_append(ex, answer, &files, lock, record, dir, &chunk, true).await
        }
        None if record.is_tus_complete() => {
            let staged = StagedFile::resume(dir, lock.dup()?, 0, Default::default())?;
            let (done, replaced) = commit(&worker, &files, &lock, staged, record).await?;
            drop(lock);
            let resp = completed(&done, create.protocol, replaced, true)
                .ok_or(ResumableError::UploadBusy)?;
            answer.send(ex, resp).await.map_err(Failure::Request)
        }
        None => {
            // Free before the answer: the client's next request may come
            // as soon as it reads it.
            drop(lock);
            let resp = created(&record, create.protocol, now, &config.resumable);
            answer.send(ex, resp).await.map_err(Failure::Request)
        }
    }
}

/// The header fields of an encoded interim response (the core builds the
/// bytes; the exchange wants the fields).
fn interim_fields(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// An append: tus `PATCH`, IETF `PATCH` to the upload URL.
pub(super) async fn append(
    ex: &mut Exchange<'_>,
    answer: &mut Answer,
    req: AppendRequest,
) -> Result<(), Failure> {
    let worker = ex.worker().clone();
    if worker.config.read_only {
        return Err(RequestError::ReadOnly.into());
    }
    ex.begin_upload();
    let files = upload_files(ex, req.id)?;
    let record = load(&files)?;
    answer.protocol = Some(req.protocol);
    check_access(ex, &record)?;
    if let UploadState::Completed { .. } = record.state {
        return append_to_completed(ex, answer, &record, &req).await;
    }
    // The data file counts in the upload-file budget like a PUT's.
    let _permit = worker
        .slots
        .file_permit()
        .ok_or(RequestError::TooManyUploads)?;
    let lock = match lock_upload(&files).await {
        Ok(Some(lock)) => lock,
        Ok(None) => return Err(ResumableError::UploadBusy.into()),
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
            // Completed while this request waited: its data is the
            // committed file now.
            let record = load(&files)?;
            if let UploadState::Completed { .. } = record.state {
                return append_to_completed(ex, answer, &record, &req).await;
            }
            return Err(ResumableError::NotFound.into());
        }
        Err(err) => return Err(err.into()),
    };
    // Under the lock: the record as the last writer left it.
    let record = load(&files)?;
    let dir = open_target_dir(&worker, &record.target_dir)?;
    run_append(ex, answer, &files, lock, record, dir, &req.chunk, false).await
}

/// An append to a completed upload (its data is the committed file now,
/// so nothing is locked): a repeated empty request is answered as the
/// completing one was, anything else is refused (400 completed-upload).
async fn append_to_completed(
    ex: &mut Exchange<'_>,
    answer: &mut Answer,
    record: &UploadRecord,
    req: &AppendRequest,
) -> Result<(), Failure> {
    let worker = ex.worker().clone();
    let plan = record.begin_append(
        &req.chunk,
        worker.staging.usage(),
        now_unix(),
        &worker.config.resumable,
    )?;
    debug_assert!(plan.already_complete);
    let resp = completed(record, req.protocol, false, false).ok_or(ResumableError::NotFound)?;
    answer.send(ex, resp).await.map_err(Failure::Request)
}

/// Re-reads the data file's bytes `range` (the partial block before the
/// offset) through io_uring, on a descriptor of its own without `O_DIRECT`.
async fn read_prefix(lock: &UploadLock, range: std::ops::Range<u64>) -> Result<Vec<u8>, Failure> {
    let len = usize::try_from(range.end - range.start).unwrap_or(0);
    if len == 0 {
        return Ok(Vec::new());
    }
    let file = tokio_uring::fs::File::from_std(std::fs::File::from(lock.dup()?));
    let (res, buf) = file.read_exact_at(vec![0u8; len], range.start).await;
    let _ = file.close().await;
    res?;
    Ok(buf)
}

/// Whether a receive error means the body broke off (the bytes that came
/// are kept, as the IETF draft asks) rather than a failure of the server.
fn is_cut(err: &RequestError) -> bool {
    matches!(
        err,
        RequestError::Body(_) | RequestError::Timeout | RequestError::ShuttingDown
    )
}

/// Runs one append of `chunk` to the upload of `record` under `lock`:
/// plan from the head, receive, sync, record, then answer (or commit).
#[allow(clippy::too_many_arguments)]
async fn run_append(
    ex: &mut Exchange<'_>,
    answer: &mut Answer,
    files: &UploadFiles,
    lock: UploadLock,
    record: UploadRecord,
    dir: Rc<OwnedFd>,
    chunk: &Chunk,
    in_creation: bool,
) -> Result<(), Failure> {
    let worker = ex.worker().clone();
    let config = &worker.config;
    let limits = &config.resumable;
    let request = ex.request();
    let protocol = answer.protocol.unwrap_or(record.protocol);
    let now = now_unix();
    // From the head, before `100 Continue`: offset, length, room.
    let plan = record.begin_append(chunk, worker.staging.usage(), now, limits)?;
    if plan.already_complete {
        let resp =
            completed(&record, protocol, false, in_creation).ok_or(ResumableError::NotFound)?;
        return answer.send(ex, resp).await.map_err(Failure::Request);
    }
    if let BodyFraming::Length(n) = chunk.body {
        check_room(&dir, n).map_err(RequestError::from_io)?;
    }
    let checks = AppendChecks {
        checksum: chunk.checksum.map(|sum| sum.verifier()),
        digest: request.upload_digest.clone(),
    };
    // The write policy of a PUT of the whole upload (a 4 GiB upload sent
    // in 64 MiB requests is written as a 4 GiB PUT would be, every request
    // alike); a small body in --no-sync mode through the page cache, as
    // for PUT.
    let whole = match plan.length {
        UploadLength::Known(len) => Some(len),
        UploadLength::Deferred => None,
    };
    let writes = worker.writes.plan(whole);
    let mut mode = writes.mode.clone();
    let small = match chunk.body {
        BodyFraming::Length(n) => n <= SMALL_BODY_MAX_BYTES as u64,
        BodyFraming::None => true,
        BodyFraming::Chunked => false,
    };
    if !config.durable && small {
        mode.direct = false;
    }
    // Direct writes continue mid-block: the block's durable bytes are
    // re-read and written again in front of the new ones.
    let prefix = if mode.direct {
        read_prefix(
            &lock,
            realign_range(plan.offset, Alignment::BLOCK.bytes() as u64),
        )
        .await?
    } else {
        Vec::new()
    };
    let staged = StagedFile::resume(dir, lock.dup()?, plan.offset, mode)?;
    if let UploadLength::Known(len) = plan.length {
        staged.expect_len(len);
    }
    let (align, prefix) = if staged.writer().wants_block_aligned_writes() {
        (Alignment::BLOCK, prefix)
    } else {
        (Alignment::NONE, Vec::new())
    };
    let planner = AppendPlanner::new(align, plan.offset, prefix.len(), plan.max_bytes);
    let decoder = BodyDecoder::new(chunk.body, config.chunked_limits);
    let mut pipeline = BodyPipeline::with_held(decoder, planner, prefix.len()).checked(checks);
    let mut data = DataFile(staged);
    let result = if request.has_body() {
        ex.receive_after(&prefix, &mut pipeline, &mut data, align)
            .await
    } else {
        Ok(())
    };
    drop(writes);
    let (planner, checks) = pipeline.into_parts();
    let received = planner.received();
    // Nothing of this request is kept unless every planned byte is in the
    // file and the body ended or broke off (never on a server error).
    let give_back = |lock: &UploadLock| {
        let _ = lock.truncate(plan.offset);
    };
    let (end, cut) = match result {
        Ok(()) => (BodyEnd::Complete, None),
        Err(_) if planner.overflowed() => {
            give_back(&lock);
            return Err(plan.overflow.into());
        }
        Err(err) if is_cut(&err) => (BodyEnd::Interrupted, Some(err)),
        Err(err) => {
            give_back(&lock);
            return Err(err.into());
        }
    };
    if data.0.writer().failed() {
        give_back(&lock);
        return Err(RequestError::Io(std::io::Error::other("a write to the upload failed")).into());
    }
    // A body that broke off cannot be verified: nothing of it is kept.
    let checksum = match (end, checks.any()) {
        (_, false) => ChecksumOutcome::NotRequested,
        (BodyEnd::Interrupted, true) => ChecksumOutcome::Unverifiable,
        (BodyEnd::Complete, true) => {
            if let Some(digest) = checks.digest {
                if let Err(err) = digest.finish() {
                    give_back(&lock);
                    return Err(RequestError::Digest(err).into());
                }
                ex.digest_verified();
            }
            match checks.checksum.map(ChunkChecksum::finish) {
                Some(Err(_)) => {
                    worker.metrics.inc(Counter::DigestMismatches);
                    ChecksumOutcome::Mismatched
                }
                Some(Ok(())) | None => ChecksumOutcome::Matched,
            }
        }
    };
    let outcome = match record.finish_append(&plan, received, end, checksum, now_unix(), limits) {
        Ok(outcome) => outcome,
        Err(err) => {
            give_back(&lock);
            return Err(match cut {
                Some(cut) => Failure::Request(cut),
                None => err.into(),
            });
        }
    };
    if outcome.changed && outcome.ready_to_commit {
        // The commit's first record (Committing, at the final offset)
        // counts these bytes, after it synced them.
        worker
            .staging
            .note_appended(outcome.record.offset.saturating_sub(record.offset));
    } else if outcome.changed {
        // In durable mode the bytes are on disk before a record counts
        // them: both fdatasyncs at once, then the record goes in place.
        let staged_record = files.stage_record(&outcome.record.encode()?)?;
        if config.durable {
            let keeps = outcome.record.offset > record.offset;
            let data_synced = async {
                if keeps {
                    data.0.sync_data().await
                } else {
                    Ok(())
                }
            };
            let (data_synced, record_synced) = tokio::join!(data_synced, staged_record.sync());
            if let Err(err) = data_synced.and(record_synced) {
                give_back(&lock);
                return Err(err.into());
            }
        }
        staged_record.install(config.durable).await?;
        worker
            .staging
            .note_appended(outcome.record.offset.saturating_sub(record.offset));
    } else if received > 0 {
        give_back(&lock);
    }
    if let Some(cut) = cut {
        // The client is gone (or the body broke): the bytes that came are
        // kept and counted; there is no one to answer.
        return Err(cut.into());
    }
    let record = outcome.record;
    let resp = if outcome.ready_to_commit {
        let commit_began = std::time::Instant::now();
        let (done, replaced) = commit(&worker, files, &lock, data.0, record).await?;
        ex.committed(commit_began.elapsed(), 1, done.offset);
        completed(&done, protocol, replaced, in_creation).ok_or(ResumableError::NotFound)?
    } else if in_creation {
        created(&record, protocol, now_unix(), limits)
    } else {
        appended(&record, protocol)
    };
    // Free before the answer: the client's next request may come as soon
    // as it reads it.
    drop(lock);
    answer.send(ex, resp).await.map_err(Failure::Request)
}
