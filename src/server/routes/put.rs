//! `PUT /dir/name`: the raw body becomes the file, atomically.

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use crate::auth::{Action, Perms};
use crate::http::encode::url_path;
use crate::http::{json_escape_into, BodyDecoder, BodyFraming, StatusCode};
use crate::server::connection::{BodyFiles, Exchange, SMALL_BODY_MAX_BYTES};
use crate::server::error::RequestError;
use crate::server::slots::FilePermit;
use crate::server::worker_state::Worker;
use crate::storage::root::split_parent;
use crate::storage::staged::{check_room, FileWriter};
use crate::storage::{CommitMode, StagedFile};
use crate::sys::fs::{c_path, lstat_at};
use crate::upload::{BodyPipeline, NewFile, PutPlanner};

/// The `Allow` of a 405 for PUT where it is disabled.
const PUT_ALLOW: &str = "GET, HEAD, OPTIONS";

/// A PUT's one file, staged before its body arrives, with its place in the
/// upload-file budget.
struct OneFile(StagedFile, #[allow(dead_code)] FilePermit);

impl BodyFiles for OneFile {
    fn open(&mut self, _file: &NewFile) -> Result<(), RequestError> {
        // A PUT planner never announces files.
        Err(RequestError::Io(std::io::Error::other(
            "a PUT has one file",
        )))
    }

    fn writer(&self, _index: usize) -> &Rc<FileWriter> {
        self.0.writer()
    }
}

/// `{"name":…,"path":…,"size":…}` for one stored file.
pub(super) fn stored_file_json(out: &mut String, name: &str, rel_path: &str, size: u64) {
    out.push_str("{\"name\":\"");
    json_escape_into(out, name);
    out.push_str("\",\"path\":\"");
    json_escape_into(out, &url_path(rel_path, false));
    out.push_str("\",\"size\":");
    out.push_str(&size.to_string());
    out.push('}');
}

/// What a write to `name` in `dir` would replace, checked before the body:
/// nothing (`Ok(false)`) or a regular file (or a symlink to one beneath
/// ROOT, which the new file replaces: `Ok(true)`) may be written; a
/// directory is a conflict; a FIFO, socket or device, or a symlink leading
/// outside ROOT, is refused and left as it is.
pub(super) fn check_target(
    worker: &Worker,
    dir: &OwnedFd,
    parent: &str,
    name: &CStr,
    no_replace: bool,
) -> Result<bool, RequestError> {
    let mut st = match lstat_at(dir.as_fd(), name) {
        Ok(st) => st,
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => return Ok(false),
        Err(err) => return Err(RequestError::from_parent_io(err)),
    };
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        st = worker
            .root
            .stat_beneath(parent, name)
            .map_err(|_| RequestError::Forbidden)?;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Err(RequestError::Conflict("the path is a directory")),
        libc::S_IFREG if no_replace => Err(RequestError::PreconditionFailed),
        libc::S_IFREG => Ok(true),
        _ => Err(RequestError::Forbidden),
    }
}

/// Serves a PUT.
pub(super) async fn put(ex: &mut Exchange<'_>) -> Result<(), RequestError> {
    ex.begin_upload();
    let worker = ex.worker().clone();
    let config = &worker.config;
    let request = ex.request();
    let Some(target) = split_parent(&request.target.path) else {
        return Err(RequestError::MethodNotAllowed {
            allow: "GET, HEAD, POST, OPTIONS",
        });
    };
    if request.target.trailing_slash {
        return Err(RequestError::Conflict(
            "a PUT target must name a file, not a directory",
        ));
    }
    // From the request alone: may this identity write here at all?
    let path = &request.target.path;
    let caps = ex.capabilities(path);
    if !caps.contains(Perms::UPLOAD) && !caps.contains(Perms::OVERWRITE) {
        return ex
            .authorize(Action::Create, path, PUT_ALLOW)
            .and(Err(ex.denied()));
    }
    let max = config.max_file_size_bytes;
    let declared_len = match request.info.framing {
        BodyFraming::None => return Err(RequestError::LengthRequired),
        BodyFraming::Length(n) if n > max => return Err(RequestError::FileTooLarge { limit: max }),
        BodyFraming::Length(n) => Some(n),
        BodyFraming::Chunked => None,
    };
    let dir = worker
        .open_target_dir(target.parent)
        .map_err(RequestError::from_parent_io)?;
    let name_c = c_path(target.name)?;
    let if_none_match = request.headers.if_none_match.as_deref().map(str::trim) == Some("*");
    let exists = check_target(&worker, &dir, target.parent, &name_c, if_none_match)?;
    // A new name needs `upload`, an existing file `overwrite`, here and
    // where a symlinked directory on the way leads.
    let action = if exists {
        Action::Overwrite
    } else {
        Action::Create
    };
    ex.authorize(action, path, PUT_ALLOW)?;
    ex.authorize_where_resolved(action, dir.as_fd(), target.name, path, PUT_ALLOW)?;
    // Without `overwrite` the commit must never replace: a file that
    // appears under the name meanwhile is not this identity's to replace.
    let may_overwrite = caps.contains(Perms::OVERWRITE);
    let no_replace = if_none_match || !may_overwrite;
    if let Some(len) = declared_len.filter(|&n| n > SMALL_BODY_MAX_BYTES as u64) {
        // A disk without room answers 507 now, before the client sends the
        // body; nothing is reserved. (A small body comes at once: a write
        // that does not fit answers 507 as well.)
        check_room(&dir, len).map_err(RequestError::from_io)?;
    }
    let writes = worker.writes.plan(declared_len);
    let mut mode = writes.mode.clone();
    // A small --no-sync body is written from the connection's own buffer,
    // which is not block-aligned: through the page cache.
    if !config.durable && declared_len.is_some_and(|n| n <= SMALL_BODY_MAX_BYTES as u64) {
        mode.direct = false;
    }
    let align = if mode.direct {
        crate::upload::Alignment::BLOCK
    } else {
        crate::upload::Alignment::NONE
    };
    let permit = worker
        .slots
        .file_permit()
        .ok_or(RequestError::TooManyUploads)?;
    let file = StagedFile::create(dir, mode).map_err(RequestError::from_io)?;
    if let Some(len) = declared_len {
        file.expect_len(len);
    }
    let decoder = BodyDecoder::new(request.info.framing, config.chunked_limits);
    let mut pipeline = BodyPipeline::new(decoder, PutPlanner::new(align, max))
        .checked(request.upload_digest.clone());
    let mut files = OneFile(file, permit);
    ex.receive(&mut pipeline, &mut files, align).await?;
    let (planner, digest) = pipeline.into_parts();
    let size = planner.size_bytes();
    if let Some(digest) = digest {
        // A mismatch stores nothing (the staged file is dropped).
        let digests = digest.finish().map_err(RequestError::Digest)?;
        ex.digest_verified();
        if let Err(err) = files.0.keep_digests(&digests) {
            tracing::warn!(
                "could not keep the verified digest with {}: {err}",
                target.name
            );
        }
    }
    let commit_mode = if no_replace {
        CommitMode::NoReplace
    } else {
        CommitMode::Replace
    };
    let commit_began = std::time::Instant::now();
    let committed = files
        .0
        .commit(target.name, commit_mode, config.durable)
        .await
        .map_err(|err| match err.raw_os_error() {
            Some(libc::EEXIST) if if_none_match => RequestError::PreconditionFailed,
            Some(libc::EEXIST) => RequestError::NotPermitted { token: false },
            _ => RequestError::from_io(err),
        })?;
    ex.committed(commit_began.elapsed(), 1, size);
    drop(writes);
    let status = if committed.replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut json = String::with_capacity(128);
    stored_file_json(&mut json, target.name, &request.target.path, size);
    // The file is stored; if the client left, there is no one to tell.
    let _ = ex.respond_json(status, &json).await;
    Ok(())
}
