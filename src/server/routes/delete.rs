//! `DELETE` (only with `--allow-delete`): a file or an empty directory.
//! A FIFO, socket or device, or a symlink that leads outside ROOT, is
//! refused (403) and left as it is; a symlink that stays beneath ROOT is
//! removed itself (never what it points to), as `rm` does.

use std::os::fd::AsFd;

use crate::auth::Action;
use crate::http::StatusCode;
use crate::server::connection::Exchange;
use crate::server::error::RequestError;
use crate::storage::root::split_parent;
use crate::storage::staged::sync_directory;
use crate::sys::fs::{c_path, lstat_at, unlink_at};

/// The `Allow` of a 405 for DELETE where it is disabled.
const DELETE_ALLOW: &str = "GET, HEAD, PUT, POST, MKCOL, OPTIONS";

/// Serves DELETE.
pub(super) async fn delete(ex: &mut Exchange<'_>) -> Result<(), RequestError> {
    let worker = ex.worker().clone();
    let request = ex.request();
    let path = &request.target.path;
    ex.authorize(Action::Delete, path, DELETE_ALLOW)?;
    let Some(target) = split_parent(path) else {
        return Err(RequestError::Forbidden);
    };
    let dir = worker.root.open_dir(target.parent)?;
    ex.authorize_where_resolved(Action::Delete, dir.as_fd(), target.name, path, DELETE_ALLOW)?;
    let name = c_path(target.name)?;
    let st = lstat_at(dir.as_fd(), &name)?;
    let is_dir = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => true,
        libc::S_IFREG => false,
        libc::S_IFLNK => {
            worker
                .root
                .stat_beneath(target.parent, &name)
                .map_err(|_| RequestError::Forbidden)?;
            false
        }
        _ => return Err(RequestError::Forbidden),
    };
    if !is_dir && request.target.trailing_slash {
        return Err(RequestError::NotFound);
    }
    match unlink_at(dir.as_fd(), &name, is_dir) {
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
    let _ = ex.respond(StatusCode::NO_CONTENT, &[], b"").await;
    Ok(())
}
