//! Directory listings: JSON (`Accept: application/json` or `?json`) or the
//! HTML page.

use std::os::fd::OwnedFd;

use crate::http::date::rfc3339;
use crate::http::encode::url_path;
use crate::http::{json_escape_into, Method, StatusCode};
use crate::server::conn::Conn;
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::storage::sys::{self, DirEntry};

/// Entries listed at most (a bound on the memory one listing may take).
pub const MAX_LISTING_ENTRIES: usize = 100_000;

/// Prefix of the hidden names staged uploads use on filesystems without
/// O_TMPFILE; never listed.
const STAGING_PREFIX: &[u8] = b".ringdrop-";

/// One row of a listing.
pub struct ListedEntry {
    /// The name (lossy UTF-8).
    pub name: String,
    /// A directory (after following a symlink beneath ROOT).
    pub is_dir: bool,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Modification time, Unix seconds.
    pub modified: i64,
}

/// Reads and sorts a directory: directories first, then by name.
pub fn read_listing(
    conn: &Conn,
    dir_rel: &str,
    fd: &OwnedFd,
) -> Result<Vec<ListedEntry>, RequestError> {
    let root = &conn.worker.root;
    let entries: Vec<DirEntry> = sys::read_dir(fd, MAX_LISTING_ENTRIES, |name| {
        if name.to_bytes().starts_with(STAGING_PREFIX) {
            return None;
        }
        // Resolve beneath ROOT: a symlink that points outside is not listed.
        root.stat_beneath(dir_rel, name).ok()
    })?;
    let mut listed: Vec<ListedEntry> = entries
        .into_iter()
        .map(|e| {
            let is_dir = e.stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
            ListedEntry {
                name: String::from_utf8_lossy(&e.name).into_owned(),
                is_dir,
                size: if is_dir {
                    0
                } else {
                    u64::try_from(e.stat.st_size).unwrap_or(0)
                },
                modified: e.stat.st_mtime,
            }
        })
        .collect();
    listed.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(listed)
}

/// `{"path":"/dir/","entries":[{"name","type","size","modified"}]}`
pub fn listing_json(path: &str, entries: &[ListedEntry]) -> String {
    let mut out = String::with_capacity(64 + entries.len() * 96);
    out.push_str("{\"path\":\"");
    json_escape_into(&mut out, &url_path(path, true));
    out.push_str("\",\"entries\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":\"");
        json_escape_into(&mut out, &e.name);
        out.push_str("\",\"type\":\"");
        out.push_str(if e.is_dir { "dir" } else { "file" });
        out.push_str("\",\"size\":");
        out.push_str(&e.size.to_string());
        out.push_str(",\"modified\":\"");
        out.push_str(&rfc3339(e.modified));
        out.push_str("\"}");
    }
    out.push_str("]}");
    out
}

/// Sends the listing of the directory `fd` (the request's path).
pub async fn send_listing(
    conn: &mut Conn,
    request: &Request,
    fd: &OwnedFd,
) -> Result<(), RequestError> {
    let entries = read_listing(conn, &request.target.path, fd)?;
    let (body, content_type) = if request.wants_json() {
        (
            listing_json(&request.target.path, &entries),
            "application/json",
        )
    } else {
        let page =
            crate::server::page::listing_page(&request.target.path, &entries, &conn.worker.config);
        (page, "text/html; charset=utf-8")
    };
    let head_len = (request.method == Method::Head).then_some(body.len() as u64);
    conn.send_response(
        StatusCode::OK,
        &[
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
        ],
        body.as_bytes(),
        head_len,
    )
    .await
    .map_err(RequestError::Io)
}
