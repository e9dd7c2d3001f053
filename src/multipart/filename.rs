//! Filename rules (SPEC "Names" and "Collisions"): what a client-supplied
//! `filename` becomes on disk, and the ` (n)` candidates tried when that
//! name is taken.
//!
//! Both functions are pure: the filesystem probe that picks the first free
//! candidate belongs to `storage`.

use super::error::MultipartError;

/// The most bytes a stored name may have (ext4, xfs, btrfs, tmpfs:
/// `NAME_MAX`), collision suffix included.
pub const MAX_NAME_BYTES: usize = 255;

/// C0 controls, DEL and C1 controls (U+0080..=U+009F): dropped from names.
fn is_dropped_control(c: char) -> bool {
    c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// The largest char boundary of `s` that is `<= max`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    // 0 is always a char boundary, so this stops.
    while !s.is_char_boundary(i) {
        i = i.saturating_sub(1);
    }
    i
}

/// Splits `name` into stem and extension at its last `.`. The extension
/// includes the dot. A dot that is the first byte (`.env`) or the last byte
/// (`name.`) is not an extension separator.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => name.split_at(dot),
        _ => (name, ""),
    }
}

/// `stem + suffix + ext`, made to fit [`MAX_NAME_BYTES`]: the stem is
/// truncated first (at a char boundary). When the extension and suffix leave
/// no room for a single stem byte, the name is treated as extensionless and
/// its end is truncated instead, the suffix going last.
fn fit(name: &str, suffix: &str) -> String {
    let (stem, ext) = split_extension(name);
    let fixed = suffix.len().saturating_add(ext.len());
    let mut out = String::with_capacity(MAX_NAME_BYTES);
    if fixed < MAX_NAME_BYTES {
        let room = MAX_NAME_BYTES - fixed;
        out.push_str(&stem[..floor_char_boundary(stem, room)]);
        out.push_str(suffix);
        out.push_str(ext);
    } else {
        let room = MAX_NAME_BYTES.saturating_sub(suffix.len());
        out.push_str(&name[..floor_char_boundary(name, room)]);
        out.push_str(suffix);
    }
    out
}

/// Reduces a client-supplied filename to a safe single path component.
///
/// In this order:
/// 1. keep only the last path component, splitting on both `/` and `\`
///    (`C:\fakepath\x.txt` → `x.txt`);
/// 2. drop control characters: C0 (U+0000..=U+001F), DEL, C1
///    (U+0080..=U+009F); every other character, Unicode included, is kept
///    byte for byte, and nothing is trimmed (leading/trailing spaces and
///    dots stay: Linux allows them);
/// 3. truncate to [`MAX_NAME_BYTES`], keeping the extension and never
///    splitting a UTF-8 character.
///
/// `Ok(None)` when nothing is left (or the raw name is empty): the part is
/// then a plain field, as a browser sends for an unused file input.
/// `Err(InvalidFilename)` (400) when the result is `.` or `..`.
///
/// ```
/// use ringdrop::multipart::sanitize_filename;
/// assert_eq!(sanitize_filename("C:\\fakepath\\x.txt").unwrap().as_deref(), Some("x.txt"));
/// assert_eq!(sanitize_filename("../../etc/pass\u{0}wd").unwrap().as_deref(), Some("passwd"));
/// assert_eq!(sanitize_filename("dir/").unwrap(), None);
/// assert!(sanitize_filename("a/..").is_err());
/// ```
pub fn sanitize_filename(raw: &str) -> Result<Option<String>, MultipartError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|&c| !is_dropped_control(c)).collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let fitted = if cleaned.len() <= MAX_NAME_BYTES {
        cleaned
    } else {
        fit(&cleaned, "")
    };
    if fitted == "." || fitted == ".." || fitted.is_empty() {
        return Err(MultipartError::InvalidFilename);
    }
    Ok(Some(fitted))
}

/// The `n`-th name to try when `name` (already sanitized) is taken.
///
/// `n = 0` is `name` itself; `n >= 1` puts ` (n)` before the last
/// extension: `a.txt` → `a (1).txt`, `archive.tar.gz` → `archive.tar (1).gz`,
/// `README` → `README (1)`, `.env` → `.env (1)` (a leading dot is not an
/// extension separator, nor is a trailing one: `name.` → `name. (1)`).
///
/// The result is at most [`MAX_NAME_BYTES`]: the stem is truncated (never
/// the extension, never inside a UTF-8 character) to make room. If the
/// extension plus suffix alone leave no room for the stem, the whole name is
/// treated as extensionless: its end is truncated and the suffix appended.
///
/// ```
/// use ringdrop::multipart::collision_candidate;
/// assert_eq!(collision_candidate("a.txt", 0), "a.txt");
/// assert_eq!(collision_candidate("archive.tar.gz", 2), "archive.tar (2).gz");
/// assert_eq!(collision_candidate(".env", 1), ".env (1)");
/// ```
pub fn collision_candidate(name: &str, n: u32) -> String {
    if n == 0 {
        if name.len() <= MAX_NAME_BYTES {
            return name.to_owned();
        }
        return fit(name, "");
    }
    fit(name, &format!(" ({n})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sanitize_table() {
        let cases: &[(&str, Result<Option<&str>, MultipartError>)] = &[
            ("a.txt", Ok(Some("a.txt"))),
            ("", Ok(None)),
            ("C:\\fakepath\\x.txt", Ok(Some("x.txt"))),
            ("/etc/passwd", Ok(Some("passwd"))),
            ("../../x", Ok(Some("x"))),
            ("a\\b/c\\d.bin", Ok(Some("d.bin"))),
            ("dir/", Ok(None)),
            ("dir\\", Ok(None)),
            ("\u{0}\u{1f}\u{7f}\u{80}\u{9f}", Ok(None)),
            ("a\u{0}b\tc\nd\u{7f}e\u{85}f.txt", Ok(Some("abcdef.txt"))),
            ("\u{a0}keep nbsp", Ok(Some("\u{a0}keep nbsp"))),
            ("€ rates.txt", Ok(Some("€ rates.txt"))),
            ("日本語.pdf", Ok(Some("日本語.pdf"))),
            ("🦀.rs", Ok(Some("🦀.rs"))),
            ("  spaced  ", Ok(Some("  spaced  "))),
            ("trailing.", Ok(Some("trailing."))),
            (".env", Ok(Some(".env"))),
            ("...", Ok(Some("..."))),
            (".", Err(MultipartError::InvalidFilename)),
            ("..", Err(MultipartError::InvalidFilename)),
            ("a/..", Err(MultipartError::InvalidFilename)),
            ("x\\.", Err(MultipartError::InvalidFilename)),
            (".\u{0}.", Err(MultipartError::InvalidFilename)),
            ("..\u{1}/.", Err(MultipartError::InvalidFilename)),
        ];
        for (raw, want) in cases {
            let got = sanitize_filename(raw);
            let want = want.map(|o| o.map(str::to_owned));
            assert_eq!(got, want, "{raw:?}");
        }
    }

    #[test]
    fn sanitize_truncates_keeping_extension() {
        let long = format!("{}.txt", "a".repeat(300));
        let got = sanitize_filename(&long).unwrap().unwrap();
        assert_eq!(got.len(), 255);
        assert!(got.ends_with("a.txt"));
        // 4-byte chars around the cut: 255 - 4 (".txt") = 251 = 62 * 4 + 3.
        let crabs = format!("{}.txt", "🦀".repeat(100));
        let got = sanitize_filename(&crabs).unwrap().unwrap();
        assert_eq!(got, format!("{}.txt", "🦀".repeat(62)));
        assert_eq!(got.len(), 252);
        // Exactly 255 bytes is kept as is.
        let exact = format!("{}.txt", "b".repeat(251));
        assert_eq!(sanitize_filename(&exact).unwrap().unwrap(), exact);
        // One byte over loses one stem byte.
        let over = format!("{}.txt", "b".repeat(252));
        assert_eq!(sanitize_filename(&over).unwrap().unwrap(), exact);
        // Extension too long to keep: truncate the end.
        let long_ext = format!("a.{}", "e".repeat(300));
        let got = sanitize_filename(&long_ext).unwrap().unwrap();
        assert_eq!(got, format!("a.{}", "e".repeat(253)));
        // The path is stripped before measuring.
        let path = format!("{}/short.txt", "d".repeat(400));
        assert_eq!(
            sanitize_filename(&path).unwrap().as_deref(),
            Some("short.txt")
        );
    }

    #[test]
    fn collision_table() {
        let cases: &[(&str, u32, &str)] = &[
            ("a.txt", 0, "a.txt"),
            ("a.txt", 1, "a (1).txt"),
            ("a.txt", 2, "a (2).txt"),
            ("archive.tar.gz", 1, "archive.tar (1).gz"),
            ("README", 1, "README (1)"),
            (".env", 1, ".env (1)"),
            (".env.local", 3, ".env (3).local"),
            ("name.", 1, "name. (1)"),
            ("a b.c d", 10, "a b (10).c d"),
            ("€.txt", 4294967295, "€ (4294967295).txt"),
            ("🦀", 1, "🦀 (1)"),
        ];
        for (name, n, want) in cases {
            assert_eq!(collision_candidate(name, *n), *want, "{name:?} {n}");
        }
    }

    #[test]
    fn collision_truncation() {
        let full = format!("{}.txt", "a".repeat(251));
        assert_eq!(full.len(), 255);
        let got = collision_candidate(&full, 1);
        assert_eq!(got, format!("{} (1).txt", "a".repeat(247)));
        assert_eq!(got.len(), 255);
        // 4-byte chars near the cut: room = 255 - 4 - 4 = 247 = 61 * 4 + 3.
        let crabs = format!("{}.txt", "🦀".repeat(62));
        let got = collision_candidate(&crabs, 1);
        assert_eq!(got, format!("{} (1).txt", "🦀".repeat(61)));
        // Two-byte chars near the cut: room = 255 - 5 - 4 = 246 = 123 * 2.
        let e = format!("{}x.txt", "é".repeat(125));
        let got = collision_candidate(&e, 10);
        assert_eq!(got, format!("{} (10).txt", "é".repeat(123)));
        // Extension too long for any stem: truncated at the end instead.
        let ext = format!("a.{}", "e".repeat(253));
        let got = collision_candidate(&ext, 1);
        assert_eq!(got, format!("a.{} (1)", "e".repeat(249)));
        assert_eq!(got.len(), 255);
    }

    proptest! {
        #[test]
        fn sanitize_output_is_safe(raw in "\\PC{0,300}|[\\x00-\\x7f\u{80}-\u{9f}/\\\\.a🦀é]{0,400}") {
            if let Ok(Some(name)) = sanitize_filename(&raw) {
                prop_assert!(name.len() <= MAX_NAME_BYTES);
                prop_assert!(!name.is_empty() && name != "." && name != "..");
                prop_assert!(!name.contains(['/', '\\']));
                prop_assert!(!name.chars().any(is_dropped_control));
                for n in [1u32, 9, 123, u32::MAX] {
                    let c = collision_candidate(&name, n);
                    prop_assert!(c.len() <= MAX_NAME_BYTES);
                    let suffix = format!(" ({n})");
                    prop_assert!(c.contains(&suffix));
                    prop_assert!(!c.contains(['/', '\\']));
                }
                prop_assert_eq!(collision_candidate(&name, 0), name);
            }
        }

        #[test]
        fn sanitize_is_identity_on_plain_names(raw in "[a-zA-Z0-9 _()€-][a-zA-Z0-9 ._()€-]{0,60}") {
            prop_assume!(raw != "." && raw != "..");
            prop_assert_eq!(sanitize_filename(&raw).unwrap(), Some(raw.clone()));
        }
    }
}
