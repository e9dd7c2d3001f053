//! `GET` / `HEAD`: a file or a directory (redirect to the slash form, or a
//! listing).
//!
//! A file answers 304 (`If-None-Match`, `If-Modified-Since`), 206 for one
//! satisfiable `Range` (decided by the pure [`crate::http::range`] core,
//! `If-Range` included), 416 with `Content-Range: bytes */len`, or 200. The
//! body goes out with `sendfile` ([`crate::server::sendfile`]); with
//! `--no-sendfile`, or for a file `sendfile` cannot read, it is streamed
//! through at most two registered buffers instead. Either way memory does
//! not depend on the file's size.

use std::os::fd::{AsRawFd, OwnedFd};

use tokio::time::Instant;
use tokio_uring::buf::fixed::FixedBuf;
use tokio_uring::buf::BoundedBuf;
use tokio_uring::fs::File;

use super::listing;
use crate::http::date::{http_date, parse_http_date};
use crate::http::encode::url_path;
use crate::http::mime::content_type;
use crate::http::range::{self, RangeDecision, Validators};
use crate::http::{error_json, Method, StatusCode};
use crate::server::conn::Conn;
use crate::server::deadline::{bounded, Direction, ShutdownPolicy};
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::server::sendfile::{self, SendfileError};
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
    // Range is defined for GET only (RFC 9110 §14.2): a HEAD ignores it.
    let range_header = match request.method {
        Method::Get => request.headers.range.as_deref(),
        _ => None,
    };
    let validators = Validators {
        etag: &tag,
        last_modified: st.st_mtime,
    };
    let decision = range::decide(
        range_header,
        request.headers.if_range.as_deref(),
        validators,
        size,
    );
    let content_range;
    let (status, offset, len) = match decision {
        RangeDecision::Full => (StatusCode::OK, 0, size),
        RangeDecision::Partial(part) => {
            content_range = part.content_range(size);
            headers.push(("Content-Range", &content_range));
            (StatusCode::PARTIAL_CONTENT, part.start, part.len())
        }
        RangeDecision::Unsatisfiable => {
            let content_range = range::unsatisfied_content_range(size);
            let body = error_json(
                "range_not_satisfiable",
                &format!("The requested range is outside the file's {size} bytes."),
            );
            return conn
                .send_response(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    &[
                        ("Content-Type", "application/json"),
                        ("Content-Range", &content_range),
                    ],
                    body.as_bytes(),
                    None,
                )
                .await
                .map_err(RequestError::Io);
        }
    };
    let disposition;
    if request.target.has_query_flag("download") {
        let mut value = String::from("attachment; filename*=UTF-8''");
        crate::http::encode::encode_segment_into(&mut value, name);
        disposition = value;
        headers.push(("Content-Disposition", &disposition));
    }
    conn.send_response(status, &headers, b"", Some(len))
        .await
        .map_err(RequestError::Io)?;
    if request.method == Method::Head || len == 0 {
        return Ok(());
    }
    send_body(conn, fd, offset, len).await
}

/// Sends `len` bytes of the file from `offset`: with `sendfile` unless it is
/// turned off or refuses the file before sending anything, otherwise through
/// registered buffers ([`stream_file`]).
async fn send_body(
    conn: &mut Conn,
    fd: OwnedFd,
    offset: u64,
    len: u64,
) -> Result<(), RequestError> {
    if conn.worker.config.sendfile {
        match sendfile::send_range(conn, &fd, offset, len).await {
            Ok(()) => return Ok(()),
            Err(SendfileError::Failed(err)) => {
                // The head promised more bytes than were sent: close.
                conn.closing = true;
                return Err(err);
            }
            Err(SendfileError::Unsupported(err)) => {
                tracing::debug!("sendfile refused the file ({err}); streaming it through buffers");
            }
        }
    }
    stream_file(conn, fd, offset, len).await
}

/// Streams `len` bytes of the file from `offset` to the client through
/// registered buffers. Memory does not depend on the file's size: at most
/// two buffers from the worker's pool, whatever the length.
///
/// With two buffers the next block is read from the file (`read_fixed_at`)
/// while the previous one is written to the socket (`write_fixed_all`), so
/// the disk and the network work at once. When the pool has only one buffer
/// free, the same loop runs read-then-write with one.
pub async fn stream_file(
    conn: &mut Conn,
    fd: OwnedFd,
    offset: u64,
    len: u64,
) -> Result<(), RequestError> {
    let file = tokio_uring::fs::File::from_std(std::fs::File::from(fd));
    let result = pump(conn, &file, offset, len).await;
    // The buffers went back to the pool inside `pump`, on every path.
    let _ = file.close().await;
    if result.is_err() {
        // The head promised more bytes than were sent: close.
        conn.closing = true;
    }
    result
}

/// The read/write pipeline of [`stream_file`]. Every buffer is dropped
/// (returned to the pool) before this returns, on every path; io_uring
/// operations are always awaited to completion (see `deadline::bounded`),
/// so no buffer is dropped while the kernel holds it.
async fn pump(conn: &mut Conn, file: &File, mut offset: u64, len: u64) -> Result<(), RequestError> {
    let worker = conn.worker.clone();
    let capacity = worker.pool.buffer_size_bytes();
    let end = offset.saturating_add(len);
    // Waiting for the pool is bounded, like every pool wait (tokio-uring's
    // `next()` never resolves if no buffer comes back).
    let first = worker
        .pool
        .acquire(worker.config.body_idle_timeout)
        .await
        .ok_or(RequestError::Busy)?;
    // The second buffer is a bonus: never wait for it.
    let mut spare = worker.pool.try_acquire();
    let (mut full, mut filled) = read_block(file, first, offset, end, capacity).await?;
    offset += filled as u64;
    loop {
        if offset >= end {
            write_block(conn, full, filled).await?;
            return Ok(());
        }
        match spare.take() {
            Some(next) => {
                let (written, read) = tokio::join!(
                    write_block(conn, full, filled),
                    read_block(file, next, offset, end, capacity),
                );
                let (next, n) = read?;
                spare = Some(written?);
                (full, filled) = (next, n);
            }
            None => {
                let buf = write_block(conn, full, filled).await?;
                (full, filled) = read_block(file, buf, offset, end, capacity).await?;
            }
        }
        offset += filled as u64;
    }
}

/// Reads the next block (at most `capacity` bytes, never past `end`) at
/// `offset` into `buf`. A read of 0 before `end` means the file shrank
/// after the head announced its length.
async fn read_block(
    file: &File,
    buf: FixedBuf,
    offset: u64,
    end: u64,
    capacity: usize,
) -> Result<(FixedBuf, usize), RequestError> {
    let want = usize::try_from(end - offset)
        .unwrap_or(usize::MAX)
        .min(capacity);
    let (res, slice) = file.read_fixed_at(buf.slice(0..want), offset).await;
    let buf = slice.into_inner();
    match res {
        Ok(0) => Err(RequestError::Io(std::io::Error::other(
            "file shrank while being sent",
        ))),
        Ok(n) => Ok((buf, n)),
        Err(err) => Err(RequestError::Io(err)),
    }
}

/// Writes `buf[..n]` to the client, bounded by the body idle timeout (a
/// client that stops reading cannot hold the connection), and hands the
/// buffer back for the next read. `write_fixed_all` loops over short writes.
async fn write_block(conn: &mut Conn, buf: FixedBuf, n: usize) -> Result<FixedBuf, RequestError> {
    let worker = conn.worker.clone();
    let deadline = Instant::now() + worker.config.body_idle_timeout;
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
        Ok((Ok(()), slice)) => {
            conn.bytes_out += n as u64;
            Ok(slice.into_inner())
        }
        Ok((Err(err), _)) => Err(RequestError::Io(err)),
        Err(_) => Err(RequestError::Timeout),
    }
}
