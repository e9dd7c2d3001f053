//! `PUT /dir/name`: the raw body becomes the file, atomically.

use std::os::fd::AsRawFd;
use std::rc::Rc;

use crate::http::encode::url_path;
use crate::http::{json_escape_into, BodyDecoder, BodyFraming, StatusCode, Version};
use crate::server::body::{pump_body, BodySink, PlannedWrite};
use crate::server::conn::Conn;
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::server::small_body::{small_body_len, store_small_body};
use crate::storage::aligned::BLOCK_ALIGN_BYTES;
use crate::storage::root::split_parent;
use crate::storage::staged::FileWriter;
use crate::storage::{sys, CommitMode, StagedFile};

/// The whole body goes to one staged file, in order.
struct PutSink {
    file: StagedFile,
    max_file_size_bytes: u64,
    size_bytes: u64,
}

impl BodySink for PutSink {
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        writes: &mut Vec<PlannedWrite>,
    ) -> Result<usize, RequestError> {
        let mut take = body.len();
        if self.file.wants_block_aligned_writes() && !body_complete {
            // Whole blocks only; a partial block waits for the next buffer
            // (at most 4 KiB copied) or for the end of the body.
            take -= take % BLOCK_ALIGN_BYTES;
        }
        let new_size = self.size_bytes.saturating_add(take as u64);
        if new_size > self.max_file_size_bytes {
            return Err(RequestError::FileTooLarge {
                limit: self.max_file_size_bytes,
            });
        }
        if take > 0 {
            writes.push(PlannedWrite {
                file: 0,
                range: 0..take,
                offset: self.size_bytes,
            });
        }
        self.size_bytes = new_size;
        Ok(take)
    }

    fn end(&mut self, _held_back: usize) -> Result<(), RequestError> {
        Ok(())
    }

    fn writer(&self, _index: usize) -> &Rc<FileWriter> {
        self.file.writer()
    }
}

/// `{"name":…,"path":…,"size":…}` for one stored file.
pub fn stored_file_json(out: &mut String, name: &str, rel_path: &str, size: u64) {
    out.push_str("{\"name\":\"");
    json_escape_into(out, name);
    out.push_str("\",\"path\":\"");
    json_escape_into(out, &url_path(rel_path, false));
    out.push_str("\",\"size\":");
    out.push_str(&size.to_string());
    out.push('}');
}

/// Serves a PUT.
pub async fn put(conn: &mut Conn, request: &Request) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    let config = &worker.config;
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
    let max = config.max_file_size_bytes;
    match request.info.framing {
        BodyFraming::None => return Err(RequestError::LengthRequired),
        BodyFraming::Length(n) if n > max => return Err(RequestError::FileTooLarge { limit: max }),
        BodyFraming::Length(_) | BodyFraming::Chunked => {}
    }
    let dir = worker
        .open_target_dir(target.parent)
        .map_err(RequestError::from_parent_io)?;
    let name_c = sys::c_path(target.name)?;
    let no_replace = request.headers.if_none_match.as_deref().map(str::trim) == Some("*");
    let small_body = small_body_len(request.info.framing, config.durable);
    // Refuse a directory or a taken name (`If-None-Match: *`) before the
    // body. A small body is in hand at once, so unless the client waits for
    // `100 Continue` or asked for `If-None-Match`, the commit finds out
    // instead (EISDIR → 409), which saves a path lookup per small upload.
    let check_early = small_body.is_none() || no_replace || request.info.expect_continue;
    if check_early {
        match sys::lstat_at(dir.as_raw_fd(), &name_c) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                return Err(RequestError::Conflict("the path is a directory"));
            }
            Ok(_) if no_replace => return Err(RequestError::PreconditionFailed),
            _ => {}
        }
    }
    // A small body is written from the connection buffer, which is not
    // block-aligned: no direct writes (and so no preallocation) for it.
    let declared_len = match request.info.framing {
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };
    let writes = worker.plan_upload_writes(declared_len);
    let mut mode = writes.mode.clone();
    mode.direct &= small_body.is_none();
    let file = StagedFile::create(dir, mode).map_err(RequestError::from_io)?;
    if let BodyFraming::Length(n) = request.info.framing {
        // A full disk answers 507 now, before the client sends the body.
        file.reserve(n).map_err(RequestError::from_io)?;
    }
    // Every check that can be made before the body is made: only now may
    // the client send it.
    if request.info.expect_continue && request.version == Version::Http11 {
        conn.send_continue().await.map_err(RequestError::Io)?;
    }
    let mut sink = PutSink {
        file,
        max_file_size_bytes: max,
        size_bytes: 0,
    };
    match small_body {
        Some(len) => {
            store_small_body(conn, len, &sink.file).await?;
            sink.size_bytes = len as u64;
        }
        None => {
            let decoder = BodyDecoder::new(request.info.framing, config.chunked_limits);
            pump_body(conn, decoder, &mut sink).await?;
        }
    }
    let size = sink.size_bytes;
    let mode = if no_replace {
        CommitMode::NoReplace
    } else {
        CommitMode::Replace
    };
    let committed = sink
        .file
        .commit(target.name, mode, config.durable)
        .await
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::EEXIST) {
                RequestError::PreconditionFailed
            } else {
                RequestError::from_io(err)
            }
        })?;
    let status = if committed.replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut json = String::with_capacity(128);
    stored_file_json(&mut json, target.name, &request.target.path, size);
    // The file is stored; if the client left, there is no one to tell.
    let _ = conn.send_json(status, &json).await;
    Ok(())
}
