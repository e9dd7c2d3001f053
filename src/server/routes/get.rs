//! `GET` / `HEAD`: a file, or a directory (redirect to the slash form, or
//! a listing). Anything else under ROOT — a FIFO, socket or device — is
//! refused at once (403), never opened for blocking I/O.
//!
//! A file answers 304 (`If-None-Match`, `If-Modified-Since`), 206 for one
//! satisfiable `Range` (decided by the pure [`crate::http::range`] core,
//! `If-Range` included), 416 with `Content-Range: bytes */len`, or 200.

use std::os::fd::{AsFd, OwnedFd};

use crate::auth::{Action, Perms};
use crate::http::conditional::{self, Precondition};
use crate::http::date::http_date;
use crate::http::encode::url_path;
use crate::http::mime::content_type;
use crate::http::range::{self, RangeDecision, Validators};
use crate::http::{error_json, Method, StatusCode};
use crate::server::connection::Exchange;
use crate::server::error::RequestError;
use crate::server::listing::{self, Format, Listing, PageCapabilities};
use crate::sys;

/// Serves GET and HEAD.
pub(super) async fn get(ex: &mut Exchange<'_>, allow: &'static str) -> Result<(), RequestError> {
    let worker = ex.worker().clone();
    let request = ex.request();
    let target = &request.target;
    // From the request alone: may this identity see anything here? (A
    // drop box — upload without read — shows only its upload page.)
    let mut caps = ex.capabilities(&target.path);
    if !caps.contains(Perms::READ) && !caps.contains(Perms::UPLOAD) {
        return ex
            .authorize(Action::Read, &target.path, allow)
            .and(Err(ex.denied()));
    }
    // Opened without blocking: a FIFO does not wait for a writer here, and
    // a socket cannot be opened at all (ENXIO).
    let fd = match worker.root.open_read(&target.path) {
        Ok(fd) => fd,
        Err(err) if err.raw_os_error() == Some(libc::ENXIO) => return Err(RequestError::Forbidden),
        Err(err) => return Err(err.into()),
    };
    if !worker.policy.is_open() {
        // Where a symlink led counts too: both places must allow it.
        let resolved = worker
            .root
            .path_of(fd.as_fd())
            .ok_or(RequestError::Forbidden)?;
        if resolved != target.path {
            caps = caps & ex.capabilities(&resolved);
        }
    }
    let st = sys::fs::fstat(fd.as_fd())?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR if !target.trailing_slash && !target.path.is_empty() => {
            let mut location = url_path(&target.path, true);
            if let Some(query) = &target.query {
                location.push('?');
                location.push_str(query);
            }
            ex.respond(
                StatusCode::MOVED_PERMANENTLY,
                &[("Location", &location)],
                b"",
            )
            .await
        }
        libc::S_IFDIR => send_directory(ex, &fd, caps).await,
        // Not readable (a file in a drop box, or where a symlink leads).
        _ if !caps.contains(Perms::READ) => Err(ex.denied()),
        libc::S_IFREG if target.trailing_slash => Err(RequestError::NotFound),
        libc::S_IFREG => {
            // io_uring honours O_NONBLOCK on files; reads must wait for the disk.
            let flags = sys::status_flags(fd.as_fd())?;
            sys::set_status_flags(fd.as_fd(), flags & !libc::O_NONBLOCK)?;
            send_file(ex, fd, &st).await
        }
        _ => Err(RequestError::Forbidden),
    }
}

/// A directory: the listing of what this identity may see, or a drop box's
/// upload page (no entries), as JSON or the HTML page.
async fn send_directory(
    ex: &mut Exchange<'_>,
    fd: &OwnedFd,
    caps: Perms,
) -> Result<(), RequestError> {
    let worker = ex.worker().clone();
    let request = ex.request();
    let path = &request.target.path;
    let config = &worker.config;
    if !caps.contains(Perms::READ) && !caps.contains(Perms::UPLOAD) {
        // Nothing allowed where a symlink led.
        return Err(ex.denied());
    }
    let drop_box = !caps.contains(Perms::READ);
    if drop_box && request.wants_json() {
        // A drop box's listing is what it keeps private.
        return Err(ex.denied());
    }
    let entries = if drop_box {
        Vec::new()
    } else {
        let resolve_links = !worker.policy.is_open();
        listing::read(
            &worker,
            path,
            fd,
            resolve_links,
            |name, is_dir, leads_to| {
                let entry = if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}/{name}")
                };
                // A symlink shows only if its name and where it leads may be.
                ex.listing_shows(&entry, is_dir)
                    && leads_to.map_or(true, |target| ex.listing_shows(target, is_dir))
            },
        )
        .await?
    };
    let format = if request.wants_json() {
        Format::Json
    } else {
        Format::Html(PageCapabilities {
            upload: caps.contains(Perms::UPLOAD),
            delete: caps.contains(Perms::DELETE),
            drop_box,
            max_file_size_bytes: config.max_file_size_bytes,
        })
    };
    Listing::new(path, &entries, format).send(ex).await
}

async fn send_file(
    ex: &mut Exchange<'_>,
    fd: OwnedFd,
    st: &libc::stat,
) -> Result<(), RequestError> {
    let request = ex.request();
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let tag = conditional::etag(st.st_ino, size, st.st_mtime, st.st_mtime_nsec);
    let modified = http_date(st.st_mtime);
    let name = request.target.path.rsplit('/').next().unwrap_or("");
    let mut headers: Vec<(&str, &str)> = vec![
        ("Content-Type", content_type(name)),
        ("Last-Modified", &modified),
        ("ETag", &tag),
        ("Accept-Ranges", "bytes"),
    ];
    let validators = Validators {
        etag: &tag,
        last_modified: st.st_mtime,
    };
    match conditional::evaluate(request.method, &request.preconditions(), Some(validators)) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            return ex
                .respond(StatusCode::NOT_MODIFIED, &headers[1..], b"")
                .await
        }
        Precondition::Failed => return Err(RequestError::PreconditionFailed),
    }
    // Range is defined for GET only (RFC 9110 §14.2): a HEAD ignores it.
    let range_header = match request.method {
        Method::Get => request.headers.range.as_deref(),
        _ => None,
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
            return ex
                .respond(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    &[
                        ("Content-Type", "application/json"),
                        ("Content-Range", &content_range),
                    ],
                    body.as_bytes(),
                )
                .await;
        }
    };
    // The digest verified at upload, if asked for and still valid.
    let digest_fields = if request.want_digest.is_empty() {
        Vec::new()
    } else {
        crate::storage::xattr::load(fd.as_fd(), crate::storage::xattr::stamp_of_stat(st))
            .map(|held| {
                let whole = status == StatusCode::OK && request.method == Method::Get;
                request.want_digest.response_fields(&held, whole)
            })
            .unwrap_or_default()
    };
    for (name, value) in &digest_fields {
        headers.push((name, value));
    }
    let disposition;
    if request.target.has_query_flag("download") {
        let mut value = String::from("attachment; filename*=UTF-8''");
        crate::http::encode::encode_segment_into(&mut value, name);
        disposition = value;
        headers.push(("Content-Disposition", &disposition));
    }
    ex.send_file(status, &headers, fd, offset, len).await
}
