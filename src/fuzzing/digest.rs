//! Fuzz entry point for the RFC 9530 field parsers (`fuzz/fuzz_targets/
//! digest_header.rs`), replayed on the committed seeds by `cargo test`.

use crate::digest::{
    decode_stored, parse_digest_field, parse_want_field, DigestField, FileStamp, UploadDigest,
    MAX_DIGEST_FIELD_BYTES,
};

/// Fuzz entry point for [`parse_digest_field`], [`parse_want_field`],
/// [`UploadDigest::from_fields`] and
/// [`decode_stored`]. `data` is cut at `\n` into field lines. Asserts:
///
/// * no panic, whatever the bytes;
/// * the lines parse as one field exactly as their OWS-trimmed,
///   comma-joined value does (RFC 8941 §4.2), when no line is empty and the
///   joined value is within the limit;
/// * an accepted digest set holds only digests of the right length, and
///   what it formats parses back to the same set;
/// * the upload check and the preference parse agree with the field parse.
pub fn fuzz_digest_header(data: &[u8]) {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let field = DigestField::ContentDigest;
    let parsed = parse_digest_field(field, lines.iter().copied());

    // As an HTTP parser hands them over: OWS trimmed (RFC 9110 §5.5).
    let trimmed: Vec<&[u8]> = lines.iter().map(|l| crate::syntax::trim_ows(l)).collect();
    let joined = trimmed.join(&b", "[..]);
    let all_lines_have_members = trimmed.iter().all(|l| !l.is_empty());
    if all_lines_have_members && joined.len() <= MAX_DIGEST_FIELD_BYTES {
        let whole = parse_digest_field(field, [&joined[..]]);
        assert_eq!(parsed, whole, "lines and joined value differ");
    }

    if let Ok(set) = &parsed {
        for d in set.iter() {
            assert_eq!(d.as_bytes().len(), d.algorithm().digest_len());
        }
        let formatted = set.to_field_value();
        assert_eq!(
            parse_digest_field(field, [formatted.as_bytes()]).as_ref(),
            Ok(set),
            "format/parse round trip: {formatted}"
        );
    }

    let check = UploadDigest::from_fields(lines.iter().copied(), []);
    match (&parsed, check) {
        (Ok(set), Ok(Some(check))) => {
            assert!(!set.is_empty());
            assert!(check.algorithms().eq(set.iter().map(|d| d.algorithm())));
        }
        (Ok(set), Ok(None)) => assert!(set.is_empty()),
        (Err(a), Err(b)) => assert_eq!(*a, b),
        (a, b) => panic!("field parse {a:?} but upload check {b:?}"),
    }

    if let Ok(want) = parse_want_field(DigestField::WantReprDigest, lines.iter().copied()) {
        if let Ok(set) = &parsed {
            if let Some(chosen) = want.choose(set) {
                assert!(want.weight(chosen.algorithm()) > 0);
            }
        }
    }

    let stamp = FileStamp {
        size: 0,
        mtime_sec: 0,
        mtime_nsec: 0,
    };
    let _ = decode_stored(data, stamp);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Replays `fuzz/corpus/digest_header/*.seed` (committed seeds only:
    /// names that do not start with a hex digit, see `fuzz/Cargo.toml`).
    #[test]
    fn digest_header_seeds() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/digest_header");
        let mut replayed = 0;
        for entry in std::fs::read_dir(&dir).expect("seed directory") {
            let path = entry.expect("seed entry").path();
            if path.extension().is_some_and(|e| e == "seed") {
                let bytes = std::fs::read(&path).expect("read seed");
                let result = std::panic::catch_unwind(|| fuzz_digest_header(&bytes));
                assert!(result.is_ok(), "seed {} failed", path.display());
                replayed += 1;
            }
        }
        assert!(replayed >= 5, "only {replayed} seeds in {}", dir.display());
        for inline in [
            &b""[..],
            b"\n",
            b",",
            b"sha-256=:",
            b"a=1\n\nb=2",
            &[0xff; 40],
        ] {
            fuzz_digest_header(inline);
        }
    }
}
