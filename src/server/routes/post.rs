//! `POST /dir/` with multipart/form-data: every part with a file name is
//! streamed to its own staged file; the request is all or nothing.

use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;

use crate::auth::Action;
use crate::http::{BodyDecoder, BodyFraming, StatusCode};
use crate::multipart::boundary_from_content_type;
use crate::server::connection::{BodyFiles, Exchange};
use crate::server::error::RequestError;
use crate::server::slots::{ConnectionSlots, FilePermit};
use crate::storage::staged::{
    name_candidates, sync_directory, unlink_committed, FileWriter, WriteMode,
};
use crate::storage::{CommitMode, StagedFile};
use crate::upload::{BodyPipeline, MultipartPlanner, NewFile};

use super::put::stored_file_json;

/// The `Allow` of a 405 for POST where it is disabled.
const POST_ALLOW: &str = "GET, HEAD, OPTIONS";

/// The files of a multipart body, created as the planner announces them.
struct PartFiles {
    dir: Rc<OwnedFd>,
    mode: WriteMode,
    slots: Arc<ConnectionSlots>,
    /// Staged files with their sanitized names, in part order.
    staged: Vec<(StagedFile, String)>,
    /// Their places in the upload-file budget.
    permits: Vec<FilePermit>,
}

impl BodyFiles for PartFiles {
    fn open(&mut self, file: &NewFile) -> Result<(), RequestError> {
        debug_assert_eq!(file.index, self.staged.len());
        let permit = self
            .slots
            .file_permit()
            .ok_or(RequestError::TooManyUploads)?;
        self.permits.push(permit);
        let staged = StagedFile::create(self.dir.clone(), self.mode.clone())?;
        self.staged.push((staged, file.name.clone()));
        Ok(())
    }

    fn writer(&self, index: usize) -> &Rc<FileWriter> {
        self.staged[index].0.writer()
    }
}

/// Serves a multipart POST.
pub(super) async fn post(ex: &mut Exchange<'_>) -> Result<(), RequestError> {
    ex.begin_upload();
    let worker = ex.worker().clone();
    let config = &worker.config;
    let request = ex.request();
    // Uploading into this directory needs `upload` here (and where a
    // symlinked directory leads, checked once it is open).
    let path = &request.target.path;
    ex.authorize(Action::Create, path, POST_ALLOW)?;
    let content_type = request.headers.content_type.as_deref().unwrap_or("");
    let boundary = boundary_from_content_type(content_type.as_bytes())?;
    let declared_len = match request.info.framing {
        BodyFraming::None => return Err(RequestError::LengthRequired),
        BodyFraming::Length(n) => Some(n),
        BodyFraming::Chunked => None,
    };
    let dir = match worker.root.open_dir(&request.target.path) {
        Ok(dir) => Rc::new(dir),
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Err(RequestError::DirectoryMissing)
        }
        Err(err) => return Err(err.into()),
    };
    ex.authorize_where_resolved(Action::Create, dir.as_fd(), "", path, POST_ALLOW)?;
    let writes = worker.writes.plan(declared_len);
    let align = writes.alignment();
    let planner = MultipartPlanner::new(
        &boundary,
        config.multipart_limits,
        align,
        config.max_file_size_bytes,
    )
    .map_err(|e| RequestError::from(crate::upload::PipelineError::Plan(e)))?;
    let decoder = BodyDecoder::new(request.info.framing, config.chunked_limits);
    // A digest covers the whole multipart body: verified, not kept.
    let mut pipeline = BodyPipeline::new(decoder, planner).checked(request.upload_digest.clone());
    let mut files = PartFiles {
        dir: dir.clone(),
        mode: writes.mode.clone(),
        slots: worker.slots.clone(),
        staged: Vec::new(),
        permits: Vec::new(),
    };
    ex.receive(&mut pipeline, &mut files, align).await?;
    let (planner, digest) = pipeline.into_parts();
    if let Some(digest) = digest {
        digest.finish().map_err(RequestError::Digest)?;
        ex.digest_verified();
    }
    let sizes: Vec<u64> = (0..files.staged.len())
        .map(|i| planner.file_size(i))
        .collect();
    let commit_began = std::time::Instant::now();
    let stored = commit_all(&mut files.staged, &sizes, config.durable).await?;
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
    let committed_bytes = stored.iter().map(|(_, size)| size).sum();
    ex.committed(commit_began.elapsed(), stored.len() as u64, committed_bytes);
    drop(writes);
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
    let _ = ex.respond_json(StatusCode::CREATED, &json).await;
    Ok(())
}

/// Names every staged part (collision-free) in part order. If any fails,
/// the names already given are removed: all or nothing.
async fn commit_all(
    staged: &mut [(StagedFile, String)],
    sizes: &[u64],
    durable: bool,
) -> Result<Vec<(String, u64)>, RequestError> {
    if durable {
        for (file, _) in staged.iter() {
            file.sync_data().await?;
        }
    }
    let mut stored: Vec<(String, u64)> = Vec::with_capacity(staged.len());
    for (index, (file, name)) in staged.iter_mut().enumerate() {
        match link_free_name(file, name) {
            Ok(name) => stored.push((name, sizes[index])),
            Err(err) => {
                for (name, _) in &stored {
                    let _ = unlink_committed(file.dir(), name);
                }
                return Err(err);
            }
        }
    }
    Ok(stored)
}

/// Links `file` under `name`, or a free `name (n)` (see [`name_candidates`]).
fn link_free_name(file: &mut StagedFile, name: &str) -> Result<String, RequestError> {
    for candidate in name_candidates(name) {
        match file.link(&candidate, CommitMode::NoReplace) {
            Ok(_) => return Ok(candidate),
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(RequestError::Conflict("no free name for the file"))
}
