//! The HTML listing page.

use crate::config::Config;
use crate::http::date::rfc3339;
use crate::http::encode::{encode_segment_into, url_path};

use super::routes::ListedEntry;

/// Escapes text for HTML element content and attribute values.
pub fn html_escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// A size for people: `1.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The listing page for the directory `path` (ROOT-relative).
pub fn listing_page(path: &str, entries: &[ListedEntry], _config: &Config) -> String {
    let mut out = String::with_capacity(2048 + entries.len() * 256);
    let title = url_path(path, true);
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    html_escape_into(&mut out, &title);
    out.push_str("</title></head><body><h1>Index of ");
    html_escape_into(&mut out, &title);
    out.push_str(
        "</h1><table><thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead><tbody>",
    );
    if !path.is_empty() {
        out.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>");
    }
    for e in entries {
        let mut href = String::new();
        encode_segment_into(&mut href, &e.name);
        if e.is_dir {
            href.push('/');
        }
        out.push_str("<tr><td><a href=\"");
        html_escape_into(&mut out, &href);
        out.push_str("\">");
        html_escape_into(&mut out, &e.name);
        if e.is_dir {
            out.push('/');
        }
        out.push_str("</a></td><td>");
        if !e.is_dir {
            out.push_str(&human_size(e.size));
        }
        out.push_str("</td><td>");
        out.push_str(&rfc3339(e.modified));
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></body></html>");
    out
}
