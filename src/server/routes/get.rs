//! `GET` / `HEAD`: a file (streamed through registered buffers, constant
//! memory) or a directory (redirect to the slash form, or a listing).

use std::os::fd::{AsRawFd, OwnedFd};

use tokio::time::Instant;
use tokio_uring::buf::BoundedBuf;

use super::listing;
use crate::http::date::{http_date, parse_http_date};
use crate::http::encode::url_path;
use crate::http::mime::content_type;
use crate::http::{Method, StatusCode};
use crate::server::conn::Conn;
use crate::server::deadline::{bounded, Direction, ShutdownPolicy};
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::storage::sys;

/// A strong validator from the inode's identity, size and mtime.
fn etag(st: &libc::stat) -> String {
    format!(
        "\"{:x}-{:x}-{:x}\"",
        st.st_ino,
        st.st_size,
        st.st_mtime * 1_000_000_000 + st.st_mtime_nsec
    )
}

/// `If-None-Match` matches `tag` (a list, `*`, or weak forms).
fn none_match(header: &str, tag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == tag)
}

/// Serves GET and HEAD.
pub async fn get(conn: &mut Conn, request: &Request) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    let fd = worker.root.open_read(&request.target.path)?;
    let st = sys::fstat(fd.as_raw_fd())?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR if !request.target.trailing_slash && !request.target.path.is_empty() => {
            let mut location = url_path(&request.target.path, true);
            if let Some(query) = &request.target.query {
                location.push('?');
                location.push_str(query);
            }
            conn.send_response(
                StatusCode::MOVED_PERMANENTLY,
                &[("Location", &location)],
                b"",
                None,
            )
            .await
            .map_err(RequestError::Io)
        }
        libc::S_IFDIR => listing::send_listing(conn, request, &fd).await,
        libc::S_IFREG if request.target.trailing_slash => Err(RequestError::NotFound),
        libc::S_IFREG => send_file(conn, request, fd, &st).await,
        _ => Err(RequestError::Forbidden),
    }
}

async fn send_file(
    conn: &mut Conn,
    request: &Request,
    fd: OwnedFd,
    st: &libc::stat,
) -> Result<(), RequestError> {
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let tag = etag(st);
    let modified = http_date(st.st_mtime);
    let name = request.target.path.rsplit('/').next().unwrap_or("");
    let mut headers: Vec<(&str, &str)> = vec![
        ("Content-Type", content_type(name)),
        ("Last-Modified", &modified),
        ("ETag", &tag),
        ("Accept-Ranges", "bytes"),
    ];
    let not_modified = match (
        &request.headers.if_none_match,
        &request.headers.if_modified_since,
    ) {
        (Some(inm), _) => none_match(inm, &tag),
        (None, Some(ims)) => parse_http_date(ims).is_some_and(|since| st.st_mtime <= since),
        (None, None) => false,
    };
    if not_modified {
        return conn
            .send_response(StatusCode::NOT_MODIFIED, &headers[1..], b"", None)
            .await
            .map_err(RequestError::Io);
    }
    let disposition;
    if request.target.has_query_flag("download") {
        let mut value = String::from("attachment; filename*=UTF-8''");
        crate::http::encode::encode_segment_into(&mut value, name);
        disposition = value;
        headers.push(("Content-Disposition", &disposition));
    }
    conn.send_response(StatusCode::OK, &headers, b"", Some(size))
        .await
        .map_err(RequestError::Io)?;
    if request.method == Method::Head || size == 0 {
        return Ok(());
    }
    stream_file(conn, fd, 0, size).await
}

/// Streams `len` bytes of the file from `offset` to the client through one
/// registered buffer: `read_fixed_at` from the file, `write_fixed_all` to
/// the socket. Memory does not depend on the file's size.
pub async fn stream_file(
    conn: &mut Conn,
    fd: OwnedFd,
    mut offset: u64,
    len: u64,
) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    let config = &worker.config;
    let file = tokio_uring::fs::File::from_std(std::fs::File::from(fd));
    let mut buf = worker
        .pool
        .acquire(config.body_idle_timeout)
        .await
        .ok_or(RequestError::Busy)?;
    let capacity = worker.pool.buffer_size_bytes();
    let end = offset.saturating_add(len);
    let result = loop {
        if offset >= end {
            break Ok(());
        }
        let want = usize::try_from(end - offset)
            .unwrap_or(usize::MAX)
            .min(capacity);
        let (res, slice) = file.read_fixed_at(buf.slice(0..want), offset).await;
        buf = slice.into_inner();
        let n = match res {
            Ok(0) => {
                break Err(RequestError::Io(std::io::Error::other(
                    "file shrank while being sent",
                )))
            }
            Ok(n) => n,
            Err(err) => break Err(RequestError::Io(err)),
        };
        let deadline = Instant::now() + config.body_idle_timeout;
        let write = conn.stream.write_fixed_all(buf.slice(0..n));
        match bounded(
            &conn.stream,
            write,
            deadline,
            &worker.lifecycle,
            ShutdownPolicy::OnAbort,
            Direction::Write,
        )
        .await
        {
            Ok((Ok(()), slice)) => buf = slice.into_inner(),
            Ok((Err(err), slice)) => {
                buf = slice.into_inner();
                break Err(RequestError::Io(err));
            }
            Err((_, (_, slice))) => {
                buf = slice.into_inner();
                break Err(RequestError::Timeout);
            }
        }
        conn.bytes_out += n as u64;
        offset += n as u64;
    };
    drop(buf);
    let _ = file.close().await;
    if result.is_err() {
        // The head promised more bytes than were sent: close.
        conn.closing = true;
    }
    result
}
