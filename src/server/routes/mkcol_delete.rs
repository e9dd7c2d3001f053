//! `MKCOL` (create a directory) and `DELETE` (a file or an empty directory).

use std::os::fd::AsRawFd;

use crate::http::StatusCode;
use crate::server::conn::Conn;
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::storage::root::split_parent;
use crate::storage::staged::sync_directory;
use crate::storage::sys;

/// Mode bits of created directories (before the umask).
const DIR_MODE: u32 = 0o755;

/// Serves MKCOL.
pub async fn mkcol(conn: &mut Conn, request: &Request) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    if request.has_body() {
        // RFC 4918 §9.3: a MKCOL body we do not understand → 415.
        return Err(RequestError::UnsupportedMediaType);
    }
    let Some(target) = split_parent(&request.target.path) else {
        return Err(RequestError::AlreadyExists);
    };
    let dir = worker
        .root
        .open_dir(target.parent)
        .map_err(RequestError::from_parent_io)?;
    let name = sys::c_path(target.name)?;
    match sys::mkdir_at(dir.as_raw_fd(), &name, DIR_MODE) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {
            return Err(RequestError::AlreadyExists)
        }
        Err(err) => return Err(RequestError::from_parent_io(err)),
    }
    if worker.config.durable {
        sync_directory(&dir).await?;
    }
    let mut json = String::from("{\"path\":\"");
    crate::http::json_escape_into(
        &mut json,
        &crate::http::encode::url_path(&request.target.path, true),
    );
    json.push_str("\"}");
    let _ = conn.send_json(StatusCode::CREATED, &json).await;
    Ok(())
}

/// Serves DELETE (only with `--allow-delete`).
pub async fn delete(conn: &mut Conn, request: &Request) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    if !worker.config.allow_delete {
        return Err(RequestError::MethodNotAllowed {
            allow: "GET, HEAD, PUT, POST, MKCOL, OPTIONS",
        });
    }
    let Some(target) = split_parent(&request.target.path) else {
        return Err(RequestError::Forbidden);
    };
    let dir = worker.root.open_dir(target.parent)?;
    let name = sys::c_path(target.name)?;
    let st = sys::lstat_at(dir.as_raw_fd(), &name)?;
    let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
    if !is_dir && request.target.trailing_slash {
        return Err(RequestError::NotFound);
    }
    match sys::unlink_at(dir.as_raw_fd(), &name, is_dir) {
        Ok(()) => {}
        Err(err)
            if matches!(
                err.raw_os_error(),
                Some(libc::ENOTEMPTY) | Some(libc::EEXIST)
            ) =>
        {
            return Err(RequestError::Conflict("the directory is not empty"))
        }
        Err(err) => return Err(err.into()),
    }
    if worker.config.durable {
        sync_directory(&dir).await?;
    }
    let _ = conn
        .send_response(StatusCode::NO_CONTENT, &[], b"", None)
        .await;
    Ok(())
}
