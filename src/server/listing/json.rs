//! `{"path":"/dir/","entries":[{"name","type","size","modified"}]}`,
//! rendered a part at a time.

use super::entry::ListedEntry;
use crate::http::date::rfc3339;
use crate::http::encode::url_path;
use crate::http::json_escape_into;

/// Everything before the first entry.
pub(super) fn head(out: &mut String, path: &str) {
    out.push_str("{\"path\":\"");
    json_escape_into(out, &url_path(path, true));
    out.push_str("\",\"entries\":[");
}

/// Entry number `index` (a comma before every entry but the first).
pub(super) fn entry(out: &mut String, index: usize, e: &ListedEntry) {
    if index > 0 {
        out.push(',');
    }
    out.push_str("{\"name\":\"");
    json_escape_into(out, &e.name);
    out.push_str("\",\"type\":\"");
    out.push_str(if e.is_dir { "dir" } else { "file" });
    out.push_str("\",\"size\":");
    out.push_str(&e.size.to_string());
    out.push_str(",\"modified\":\"");
    out.push_str(&rfc3339(e.modified));
    out.push_str("\"}");
}

/// Everything after the last entry.
pub(super) fn tail(out: &mut String) {
    out.push_str("]}");
}
