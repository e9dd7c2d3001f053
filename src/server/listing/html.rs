//! The HTML listing page, with the upload UI.
//!
//! The server renders the whole listing (it works without JavaScript, and
//! every name goes through [`html_escape_into`]), then the embedded script
//! (`assets/listing.js`) adds uploads, drag-and-drop, new folders and
//! deletes, and re-renders the rows from `?json` after each change, using
//! DOM text nodes only. CSS and JS are compiled into the binary with
//! `include_str!`: no CDN, nothing to fetch, works offline.
//!
//! The server's flags reach the script as `data-` attributes on `<body>`:
//! `data-path` (the directory's URL path, percent-encoded), `data-read-only`,
//! `data-allow-delete` and `data-max-file-size` (bytes).

use crate::http::date::rfc3339;
use crate::http::encode::{encode_segment_into, url_path};

use super::entry::{ListedEntry, PageCapabilities};

/// The page's stylesheet, inlined in a `<style>`.
const CSS: &str = include_str!("../assets/listing.css");

/// The page's script, inlined in a `<script>` at the end of `<body>`.
const JS: &str = include_str!("../assets/listing.js");

/// Icons (inline SVG, `currentColor`), shared with the script through a
/// `<template>` so the rows it renders look like the server's.
const ICON_DIR: &str = include_str!("../assets/icon-dir.svg");
const ICON_FILE: &str = include_str!("../assets/icon-file.svg");
const ICON_DOWNLOAD: &str = include_str!("../assets/icon-download.svg");
const ICON_DELETE: &str = include_str!("../assets/icon-delete.svg");
const ICON_UPLOAD: &str = include_str!("../assets/icon-upload.svg");
const ICON_LOGO: &str = include_str!("../assets/icon-logo.svg");

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

/// A size for people: `1.5 MiB` (the script's `humanSize` says the same).
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

/// `2024-05-01 12:30 UTC` from Unix seconds (the script shows local time).
fn short_date(unix_secs: i64) -> String {
    let full = rfc3339(unix_secs);
    match (full.get(..10), full.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => full,
    }
}

/// Everything of the page before its first row, for the directory `path`
/// (ROOT-relative).
pub(super) fn head(out: &mut String, path: &str, caps: &PageCapabilities) {
    out.reserve(CSS.len() + 4096);
    let dir_url = url_path(path, true);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">");
    // No favicon request (and no 404 in the log) for every page view.
    out.push_str("<link rel=\"icon\" href=\"data:,\"><title>");
    html_escape_into(out, &display_path(path));
    out.push_str(" · ringdrop</title><style>");
    out.push_str(CSS);
    out.push_str("</style></head>\n<body data-path=\"");
    html_escape_into(out, &dir_url);
    out.push_str("\" data-read-only=\"");
    out.push_str(bool_attr(!caps.upload));
    out.push_str("\" data-allow-delete=\"");
    out.push_str(bool_attr(caps.delete));
    out.push_str("\" data-drop-box=\"");
    out.push_str(bool_attr(caps.drop_box));
    out.push_str("\" data-max-file-size=\"");
    out.push_str(&caps.max_file_size_bytes.to_string());
    out.push_str("\">\n<div class=\"wrap\">");

    push_header(out, path);
    if caps.upload {
        push_upload_ui(out);
    }
    out.push_str(
        "<div id=\"message\" class=\"message\" role=\"alert\" hidden></div>\
         <div class=\"card\"><table class=\"listing\"><thead><tr>\
         <th scope=\"col\">Name</th><th scope=\"col\" class=\"size\">Size</th>\
         <th scope=\"col\" class=\"modified\">Modified</th>\
         <th scope=\"col\" class=\"actions\"><span class=\"visually-hidden\">Actions</span></th>\
         </tr></thead><tbody id=\"entries\">",
    );
    if !path.is_empty() {
        out.push_str("<tr class=\"dir parent\"><td class=\"name\"><a href=\"../\">");
        out.push_str(ICON_DIR);
        out.push_str(
            "<span>..</span></a></td><td class=\"size\"></td>\
             <td class=\"modified\"></td><td class=\"actions\"></td></tr>",
        );
    }
}

/// Everything of the page after its last row; `totals` summarise the rows.
pub(super) fn tail(out: &mut String, totals: &Totals, caps: &PageCapabilities) {
    out.push_str("</tbody></table><p id=\"empty\" class=\"empty\"");
    if totals.dirs + totals.files > 0 {
        out.push_str(" hidden");
    }
    if caps.drop_box {
        out.push_str(">This is a drop box: files uploaded here are not listed.");
    } else {
        out.push_str(">This folder is empty.");
    }
    if caps.upload {
        out.push_str(" Drop files here to upload them.");
    }
    out.push_str("</p></div><p id=\"summary\" class=\"summary\">");
    out.push_str(&summary(totals));
    out.push_str("</p></div>\n");

    // Icons for the rows the script renders.
    out.push_str("<template id=\"icons\"><i data-icon=\"dir\">");
    out.push_str(ICON_DIR);
    out.push_str("</i><i data-icon=\"file\">");
    out.push_str(ICON_FILE);
    out.push_str("</i><i data-icon=\"download\">");
    out.push_str(ICON_DOWNLOAD);
    out.push_str("</i><i data-icon=\"delete\">");
    out.push_str(ICON_DELETE);
    out.push_str("</i></template>\n<script>");
    out.push_str(JS);
    out.push_str("</script></body></html>\n");
}

/// Counts for the summary line under the listing.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Totals {
    pub(super) dirs: usize,
    pub(super) files: usize,
    pub(super) bytes: u64,
}

impl Totals {
    pub(super) fn of(entries: &[ListedEntry]) -> Totals {
        let mut totals = Totals::default();
        for e in entries {
            if e.is_dir {
                totals.dirs += 1;
            } else {
                totals.files += 1;
                totals.bytes = totals.bytes.saturating_add(e.size);
            }
        }
        totals
    }
}

fn bool_attr(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// `/a/b/` as people read it (decoded).
fn display_path(path: &str) -> String {
    let mut shown = String::from("/");
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        shown.push_str(segment);
        shown.push('/');
    }
    shown
}

/// The logo and the breadcrumbs: one link per ancestor, the current
/// directory last (`aria-current`).
fn push_header(out: &mut String, path: &str) {
    out.push_str("<header class=\"top\"><a class=\"brand\" href=\"/\">");
    out.push_str(ICON_LOGO);
    out.push_str("ringdrop</a><nav class=\"crumbs\" aria-label=\"Breadcrumb\">");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        out.push_str("<span aria-current=\"page\">/</span>");
    } else {
        out.push_str("<a href=\"/\">/</a>");
    }
    let mut href = String::from("/");
    for (i, segment) in segments.iter().enumerate() {
        encode_segment_into(&mut href, segment);
        href.push('/');
        if i > 0 {
            out.push_str("<span class=\"sep\" aria-hidden=\"true\">/</span>");
        }
        if i + 1 == segments.len() {
            out.push_str("<span aria-current=\"page\">");
            html_escape_into(out, segment);
            out.push_str("</span>");
        } else {
            out.push_str("<a href=\"");
            html_escape_into(out, &href);
            out.push_str("\">");
            html_escape_into(out, segment);
            out.push_str("</a>");
        }
    }
    out.push_str("</nav></header>");
}

/// The drop zone (file picker, new folder), the new-folder form and the
/// upload list.
fn push_upload_ui(out: &mut String) {
    out.push_str(
        "<section id=\"drop\" class=\"drop\" aria-label=\"Upload\"><div class=\"drop-text\">",
    );
    out.push_str(ICON_UPLOAD);
    out.push_str(
        "<div><strong>Drop files here</strong><small>or choose them; \
         each file uploads on its own, with its progress below</small></div></div>\
         <div class=\"drop-actions\">\
         <input type=\"file\" id=\"file-input\" class=\"visually-hidden\" multiple>\
         <label for=\"file-input\" class=\"btn primary\">Choose files</label>\
         <button type=\"button\" id=\"new-folder\" class=\"btn\" aria-expanded=\"false\" \
         aria-controls=\"folder-form\">New folder</button></div></section>\
         <form id=\"folder-form\" class=\"folder-form card\" hidden>\
         <label for=\"folder-name\">Folder name</label>\
         <input id=\"folder-name\" name=\"name\" autocomplete=\"off\" required>\
         <button type=\"submit\" class=\"btn primary\">Create</button>\
         <button type=\"button\" id=\"folder-cancel\" class=\"btn\">Cancel</button></form>\
         <div id=\"uploads-card\" class=\"card\" hidden style=\"margin-bottom:14px\">\
         <div class=\"uploads-head\"><span id=\"uploads-summary\" aria-live=\"polite\"></span>\
         <button type=\"button\" id=\"clear-finished\" class=\"btn small\">Clear finished</button></div>\
         <ul id=\"uploads\" class=\"uploads\" aria-label=\"Uploads\"></ul></div>",
    );
}

/// One listing row.
pub(super) fn row(out: &mut String, e: &ListedEntry, can_delete: bool) {
    let mut href = String::new();
    encode_segment_into(&mut href, &e.name);
    if e.is_dir {
        href.push('/');
    }
    out.push_str(if e.is_dir {
        "<tr class=\"dir\"><td class=\"name\"><a href=\""
    } else {
        "<tr class=\"file\"><td class=\"name\"><a href=\""
    });
    html_escape_into(out, &href);
    out.push_str("\">");
    out.push_str(if e.is_dir { ICON_DIR } else { ICON_FILE });
    out.push_str("<span>");
    html_escape_into(out, &e.name);
    out.push_str("</span></a></td><td class=\"size\">");
    if !e.is_dir {
        out.push_str(&human_size(e.size));
    }
    out.push_str("</td><td class=\"modified\"><time datetime=\"");
    out.push_str(&rfc3339(e.modified));
    out.push_str("\">");
    out.push_str(&short_date(e.modified));
    out.push_str("</time></td><td class=\"actions\">");
    if !e.is_dir {
        out.push_str("<a class=\"icon-btn\" href=\"");
        html_escape_into(out, &href);
        out.push_str("?download\" title=\"Download\" aria-label=\"Download ");
        html_escape_into(out, &e.name);
        out.push_str("\">");
        out.push_str(ICON_DOWNLOAD);
        out.push_str("</a>");
    }
    if can_delete {
        out.push_str("<button type=\"button\" class=\"icon-btn danger\" data-delete=\"");
        html_escape_into(out, &href);
        out.push_str("\" title=\"Delete\" aria-label=\"Delete ");
        html_escape_into(out, &e.name);
        out.push_str("\">");
        out.push_str(ICON_DELETE);
        out.push_str("</button>");
    }
    out.push_str("</td></tr>");
}

/// `2 folders · 3 files · 1.5 MiB`
fn summary(totals: &Totals) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} · {} · {}",
        plural(totals.dirs, "folder", "folders"),
        plural(totals.files, "file", "files"),
        human_size(totals.bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> ListedEntry {
        ListedEntry {
            name: name.to_owned(),
            is_dir,
            size: 1536,
            modified: 784_111_777,
        }
    }

    fn page(path: &str, entries: &[ListedEntry], caps: PageCapabilities) -> String {
        let mut out = String::new();
        head(&mut out, path, &caps);
        for e in entries {
            row(&mut out, e, caps.delete);
        }
        tail(&mut out, &Totals::of(entries), &caps);
        out
    }

    const ALL: PageCapabilities = PageCapabilities {
        upload: true,
        delete: true,
        drop_box: false,
        max_file_size_bytes: 1 << 40,
    };

    #[test]
    fn names_are_escaped_everywhere() {
        let evil = "<img src=x onerror=alert(1)>\"'&.txt";
        let page = page("<b>", &[entry(evil, false)], ALL);
        assert!(!page.contains("<img src=x"), "raw markup in the page");
        assert!(!page.contains("<b>"), "raw directory name in the page");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;.txt"));
        assert!(page.contains("data-path=\"/%3Cb%3E/\""));
        assert!(page.contains("data-allow-delete=\"true\""));
    }

    #[test]
    fn capabilities_shape_the_page() {
        let read_only = PageCapabilities {
            upload: false,
            delete: false,
            ..ALL
        };
        let shown = page("", &[entry("d", true)], read_only);
        assert!(shown.contains("data-read-only=\"true\""));
        assert!(shown.contains("data-allow-delete=\"false\""));
        assert!(!shown.contains("id=\"file-input\""));
        assert!(!shown.contains("data-delete="));
        let shown = page("a/b", &[], ALL);
        assert!(shown.contains("id=\"file-input\""));
        assert!(shown.contains("<a href=\"/a/\">a</a>"));
        assert!(shown.contains("<span aria-current=\"page\">b</span>"));
        assert!(shown.contains("This folder is empty."));
        let drop_box = PageCapabilities {
            delete: false,
            drop_box: true,
            ..ALL
        };
        let shown = page("in", &[], drop_box);
        assert!(shown.contains("data-drop-box=\"true\""));
        assert!(shown.contains("id=\"file-input\""));
        assert!(shown.contains("not listed"));
    }

    #[test]
    fn sizes_and_summary() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 30), "5.0 GiB");
        assert_eq!(
            summary(&Totals::of(&[entry("a", true), entry("b", false)])),
            "1 folder · 1 file · 1.5 KiB"
        );
        assert_eq!(short_date(784_111_777), "1994-11-06 08:49 UTC");
    }
}
