//! `MKCOL`: create a directory.

use std::os::fd::AsFd;

use crate::auth::Action;
use crate::http::StatusCode;
use crate::server::connection::Exchange;
use crate::server::error::RequestError;
use crate::storage::root::split_parent;
use crate::storage::staged::sync_directory;
use crate::sys::fs::{c_path, lstat_at, mkdir_at};

/// Mode bits of created directories (before the umask).
const DIR_MODE: u32 = 0o755;

/// The methods allowed on something that exists (the `Allow` of a 405 for
/// MKCOL there, RFC 4918 §9.3.1).
fn allowed_on_existing(is_dir: bool, allow_delete: bool) -> &'static str {
    match (is_dir, allow_delete) {
        (true, true) => "GET, HEAD, POST, DELETE, OPTIONS",
        (true, false) => "GET, HEAD, POST, OPTIONS",
        (false, true) => "GET, HEAD, PUT, DELETE, OPTIONS",
        (false, false) => "GET, HEAD, PUT, OPTIONS",
    }
}

/// Serves MKCOL.
pub(super) async fn mkcol(ex: &mut Exchange<'_>) -> Result<(), RequestError> {
    let worker = ex.worker().clone();
    let request = ex.request();
    let allow_delete = worker.config.allow_delete;
    let path = &request.target.path;
    ex.authorize(Action::Create, path, "GET, HEAD, OPTIONS")?;
    if request.has_body() {
        // RFC 4918 §9.3: a MKCOL body we do not understand → 415.
        return Err(RequestError::UnsupportedMediaType);
    }
    let Some(target) = split_parent(&request.target.path) else {
        return Err(RequestError::AlreadyExists {
            allow: allowed_on_existing(true, allow_delete),
        });
    };
    let dir = worker
        .root
        .open_dir(target.parent)
        .map_err(RequestError::from_parent_io)?;
    ex.authorize_where_resolved(
        Action::Create,
        dir.as_fd(),
        target.name,
        path,
        "GET, HEAD, OPTIONS",
    )?;
    let name = c_path(target.name)?;
    match mkdir_at(dir.as_fd(), &name, DIR_MODE) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {
            let is_dir = lstat_at(dir.as_fd(), &name)
                .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
            return Err(RequestError::AlreadyExists {
                allow: allowed_on_existing(is_dir, allow_delete),
            });
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
    let _ = ex.respond_json(StatusCode::CREATED, &json).await;
    Ok(())
}
