//! Directory listings: read a directory (bounded work, yielding to the
//! worker's other connections as it goes), then send it as JSON or as the
//! HTML page, rendered a part at a time into one small buffer — the length
//! is counted in a first pass — so a listing of 100 000 entries is held
//! once, as entries, never as a whole page.

mod entry;
mod html;
mod json;

pub(crate) use entry::{ListedEntry, PageCapabilities};

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

use crate::http::StatusCode;
use crate::server::connection::Exchange;
use crate::server::error::RequestError;
use crate::server::worker_state::Worker;
use crate::sys::fs::{lstat_at, DirStream};

/// Entries listed at most (a bound on the memory and time one listing may
/// take); the rest are left out.
pub(crate) const MAX_LISTING_ENTRIES: usize = 100_000;

/// Entries read between two yields to the worker's other connections.
const ENTRIES_PER_YIELD: usize = 256;

/// Bytes rendered before they are sent.
const RENDER_BATCH_BYTES: usize = 64 * 1024;

/// Prefix of the names ringdrop keeps for itself in a directory (staged
/// uploads on filesystems without O_TMPFILE, the resumable uploads'
/// staging directory): never listed.
pub(crate) const PRIVATE_PREFIX: &[u8] = b".ringdrop-";

/// How a listing is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    /// `application/json`.
    Json,
    /// The HTML page with what it may offer.
    Html(PageCapabilities),
}

/// Reads the directory `dir` (at ROOT-relative `dir_rel`): regular files
/// and directories only (a FIFO, socket or device is skipped, a symlink is
/// listed as what it points to when that is beneath ROOT), sorted
/// directories first, then by name. `keep` filters by name (access
/// rules): it gets the entry's name, whether it is a directory, and for a
/// symlink the ROOT-relative path it leads to (with `resolve_links`; the
/// access rules hold there too).
pub(crate) async fn read(
    worker: &Worker,
    dir_rel: &str,
    dir: &OwnedFd,
    resolve_links: bool,
    mut keep: impl FnMut(&str, bool, Option<&str>) -> bool,
) -> Result<Vec<ListedEntry>, RequestError> {
    let mut stream = DirStream::open(dir.as_fd())?;
    let mut name = Vec::new();
    let mut entries = Vec::new();
    let mut since_yield = 0;
    while entries.len() < MAX_LISTING_ENTRIES && stream.next_name(&mut name).is_some() {
        since_yield += 1;
        if since_yield == ENTRIES_PER_YIELD {
            since_yield = 0;
            crate::server::yield_to_worker().await;
        }
        if name.starts_with(PRIVATE_PREFIX) {
            continue;
        }
        let Ok(c_name) = CString::new(name.as_slice()) else {
            continue;
        };
        let Ok(mut st) = lstat_at(dir.as_fd(), &c_name) else {
            continue;
        };
        let mut leads_to = None;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            // Listed only when it resolves beneath ROOT.
            let resolved = if resolve_links {
                worker
                    .root
                    .stat_and_path_beneath(dir_rel, &c_name)
                    .map(|(st, path)| (st, Some(path.unwrap_or_default())))
            } else {
                worker
                    .root
                    .stat_beneath(dir_rel, &c_name)
                    .map(|st| (st, None))
            };
            match resolved {
                Ok((target, path)) => {
                    st = target;
                    leads_to = path;
                }
                Err(_) => continue,
            }
        }
        let is_dir = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => true,
            libc::S_IFREG => false,
            _ => continue,
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        if !keep(&name, is_dir, leads_to.as_deref()) {
            continue;
        }
        entries.push(ListedEntry {
            name,
            is_dir,
            size: if is_dir {
                0
            } else {
                u64::try_from(st.st_size).unwrap_or(0)
            },
            modified: st.st_mtime,
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(entries)
}

/// Where rendering stands.
#[derive(Debug, Clone, Copy)]
enum Part {
    Head,
    Entry(usize),
    Tail,
}

/// A listing ready to render.
pub(crate) struct Listing<'a> {
    path: &'a str,
    entries: &'a [ListedEntry],
    format: Format,
    totals: html::Totals,
}

impl<'a> Listing<'a> {
    /// The listing of `entries` of the directory `path` as `format`.
    pub(crate) fn new(path: &'a str, entries: &'a [ListedEntry], format: Format) -> Listing<'a> {
        Listing {
            path,
            entries,
            format,
            totals: html::Totals::of(entries),
        }
    }

    fn render(&self, part: Part, out: &mut String) -> Option<Part> {
        match (part, self.format) {
            (Part::Head, Format::Json) => json::head(out, self.path),
            (Part::Head, Format::Html(caps)) => html::head(out, self.path, &caps),
            (Part::Entry(i), Format::Json) => json::entry(out, i, &self.entries[i]),
            (Part::Entry(i), Format::Html(caps)) => html::row(out, &self.entries[i], caps.delete),
            (Part::Tail, Format::Json) => json::tail(out),
            (Part::Tail, Format::Html(caps)) => html::tail(out, &self.totals, &caps),
        }
        match part {
            Part::Head | Part::Entry(_) => {
                let next = match part {
                    Part::Entry(i) => i + 1,
                    _ => 0,
                };
                Some(if next < self.entries.len() {
                    Part::Entry(next)
                } else {
                    Part::Tail
                })
            }
            Part::Tail => None,
        }
    }

    /// Renders from `part` until `out` holds a batch; the next part, or
    /// `None` when done.
    fn render_batch(&self, mut part: Option<Part>, out: &mut String) -> Option<Part> {
        while let Some(current) = part {
            part = self.render(current, out);
            if out.len() >= RENDER_BATCH_BYTES {
                break;
            }
        }
        part
    }

    /// The rendered length (a rendering pass into a reused buffer).
    fn len(&self) -> u64 {
        let mut scratch = String::with_capacity(RENDER_BATCH_BYTES * 2);
        let mut part = Some(Part::Head);
        let mut total = 0u64;
        while part.is_some() {
            scratch.clear();
            part = self.render_batch(part, &mut scratch);
            total += scratch.len() as u64;
        }
        total
    }

    /// Sends the listing as a 200 response.
    pub(crate) async fn send(&self, ex: &mut Exchange<'_>) -> Result<(), RequestError> {
        let content_type = match self.format {
            Format::Json => "application/json",
            Format::Html(_) => "text/html; charset=utf-8",
        };
        let headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
        ];
        let len = self.len();
        let mut part = Some(Part::Head);
        let mut batch = String::with_capacity(RENDER_BATCH_BYTES * 2);
        ex.respond_in_parts(StatusCode::OK, &headers, len, |out| {
            batch.clear();
            part = self.render_batch(part, &mut batch);
            out.extend_from_slice(batch.as_bytes());
            part.is_some()
        })
        .await
    }
}
