//! Fuzz entry point for the filename rules ([`sanitize_filename`],
//! [`collision_candidate`]).

use crate::multipart::{collision_candidate, sanitize_filename, MAX_NAME_BYTES};

/// C0, DEL and C1 controls: what [`sanitize_filename`] drops.
fn is_name_control(c: char) -> bool {
    c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// The extension [`collision_candidate`] keeps: from the last `.` that is
/// neither the first nor the last byte.
fn extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => &name[dot..],
        _ => "",
    }
}

/// Fuzz entry point for [`sanitize_filename`] and [`collision_candidate`]:
/// a sanitized name is 1..=255 bytes of UTF-8 with no `/`, `\` or control
/// character, is not `.`/`..`, equals the cleaned last component when that
/// fits, and keeps its extension when truncated; every collision candidate
/// is at most 255 bytes, carries its ` (n)` and keeps the extension when it
/// fits.
pub fn fuzz_filename(data: &[u8]) {
    let (n, text) = match data {
        [a, b, c, d, rest @ ..] => (u32::from_le_bytes([*a, *b, *c, *d]), rest),
        _ => (1, data),
    };
    let raw = String::from_utf8_lossy(text);
    let cleaned: String = raw
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|&c| !is_name_control(c))
        .collect();
    let name = match sanitize_filename(&raw) {
        Ok(None) => {
            assert!(cleaned.is_empty(), "{raw:?} → None, cleaned {cleaned:?}");
            return;
        }
        Err(e) => {
            assert_eq!(e.status(), 400);
            assert!(
                cleaned == "." || cleaned == "..",
                "{raw:?} rejected, cleaned {cleaned:?}"
            );
            return;
        }
        Ok(Some(name)) => name,
    };
    check_name(&name);
    assert!(name != "." && name != "..", "{raw:?} → {name:?}");
    if cleaned.len() <= MAX_NAME_BYTES {
        assert_eq!(name, cleaned, "a name that fits is kept byte for byte");
    } else {
        let ext = extension(&cleaned);
        if ext.len() < MAX_NAME_BYTES {
            assert!(name.ends_with(ext), "{name:?} lost extension {ext:?}");
        }
        // The rest is a prefix of the cleaned name (its stem, when the
        // extension was kept).
        let kept = if ext.len() < MAX_NAME_BYTES && name.ends_with(ext) {
            &name[..name.len() - ext.len()]
        } else {
            &name[..]
        };
        assert!(
            cleaned.starts_with(kept),
            "{name:?} is no cut of {cleaned:?}"
        );
    }
    assert_eq!(collision_candidate(&name, 0), name);
    for n in [1, 2, 10, n.max(1), u32::MAX] {
        let candidate = collision_candidate(&name, n);
        check_name(&candidate);
        let suffix = format!(" ({n})");
        let ext = extension(&name);
        if suffix.len() + ext.len() < MAX_NAME_BYTES {
            let tail = format!("{suffix}{ext}");
            assert!(candidate.ends_with(&tail), "{candidate:?} lacks {tail:?}");
        } else {
            assert!(
                candidate.ends_with(&suffix),
                "{candidate:?} lacks {suffix:?}"
            );
        }
    }
}

/// Stored-name invariants shared by sanitized names and candidates.
fn check_name(name: &str) {
    assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES, "{name:?}");
    assert!(!name.contains(['/', '\\']), "separator in {name:?}");
    assert!(!name.chars().any(is_name_control), "control in {name:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::replay;

    #[test]
    fn filename_seeds() {
        replay(
            "filename",
            fuzz_filename,
            &[
                b"",
                b"\x01\0\0\0a.txt",
                b"\xff\xff\xff\xff..",
                b"\x02\0\0\0C:\\fakepath\\x.txt",
                "\u{5}\0\0\0🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀.tar.gz".as_bytes(),
            ],
        );
    }
}
