//! Entry points for the fuzz targets and for the tests that replay their
//! seed corpora. Not part of the public API.
//!
//! Each `fuzz_*` function takes the fuzzer's bytes, drives one sans-IO core
//! the way the server does, and panics on any breach of the core's contract:
//!
//! * no panic inside the core, whatever the input;
//! * every call consumes bytes, returns an event, or asks for input — the
//!   drivers bound the number of calls by the number of bytes and pieces, so
//!   a core that spins fails with a message containing "spin";
//! * `consumed <= input.len()`, and every `Data` range is non-empty and
//!   inside `..consumed`;
//! * the result (events, decoded bytes, error) is identical however the
//!   input is split: whole, one byte at a time, and at points taken from the
//!   data;
//! * no unbounded growth: a core that asks for more input holds at most its
//!   documented number of unconsumed bytes.
//!
//! One module per domain; this file holds what they share: the split
//! points they feed inputs at, and (for their tests) the replay of the
//! committed seeds. The targets in `fuzz/fuzz_targets/` are one-line shims
//! over the `fuzz_*` functions, and each module's tests run its function on
//! every seed in `fuzz/corpus/<target>/`, so `cargo test` exercises them too.
//!
//! | target | entry point |
//! | --- | --- |
//! | `http_head` | [`head::fuzz_http_head`] |
//! | `target_path` | [`target::fuzz_target_path`] |
//! | `chunked` | [`chunked::fuzz_chunked`] |
//! | `multipart` | [`multipart::fuzz_multipart`] |
//! | `multipart_split` | `multipart::split::fuzz_multipart_split` (feature `arbitrary`) |
//! | `filename` | [`filename::fuzz_filename`] |
//! | `auth_header`, `auth_rules` | [`auth`] |
//! | `digest_header` | [`digest`] |
//! | `tus_metadata`, `tus_checksum`, `ietf_headers`, `upload_record` | [`resumable`] |
//! | `tls_records` | [`tls`] |

pub mod auth;
pub mod chunked;
pub mod digest;
pub mod filename;
pub mod head;
pub mod multipart;
pub mod resumable;
pub mod target;
pub mod tls;

/// Inputs up to this long are also fed one byte at a time.
pub(crate) const BYTE_AT_A_TIME_MAX: usize = 4096;

/// Split points taken from the data itself: a cheap, deterministic spread of
/// piece sizes from 1 to `17`, different for every input.
pub(crate) fn data_splits(data: &[u8], salt: u8) -> Vec<usize> {
    let mut splits = Vec::new();
    let mut at = 0usize;
    for &b in data.iter().take(64) {
        at = at.saturating_add(usize::from(b.wrapping_add(salt) % 17) + 1);
        if at >= data.len() {
            break;
        }
        splits.push(at);
    }
    splits
}

/// `splits` clamped, sorted, deduplicated, ending with `len`: the ends of
/// the growing prefixes a reader would see.
pub(crate) fn prefix_ends(splits: &[usize], len: usize) -> Vec<usize> {
    let mut ends: Vec<usize> = splits.iter().map(|&p| p.min(len)).collect();
    ends.push(len);
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// The committed seeds of one target: `fuzz/corpus/<target>/*.seed`
/// (not the hash-named inputs a local fuzzing run may add there).
#[cfg(test)]
fn seeds(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "seed"))
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read seed");
            (path, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    for (path, _) in &seeds {
        // `.gitignore` drops libFuzzer's hash-named inputs with
        // `fuzz/corpus/*/[0-9a-f]*`: a seed named like one is never committed.
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        assert!(
            !name.starts_with(|c: char| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "seed {} starts with a hex digit, so git ignores it: rename it",
            path.display()
        );
    }
    seeds
}

/// Runs `f` on every seed of `target` and on `inline` inputs; a panic
/// names the seed.
#[cfg(test)]
pub(crate) fn replay(target: &str, f: fn(&[u8]), inline: &[&[u8]]) {
    for (path, bytes) in seeds(target) {
        let result = std::panic::catch_unwind(|| f(&bytes));
        assert!(result.is_ok(), "{target}: seed {} failed", path.display());
    }
    for input in inline {
        f(input);
    }
}
