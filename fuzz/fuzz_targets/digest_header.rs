//! Shim: the invariants live in `ringdrop::fuzzing::digest::fuzz_digest_header`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/digest_header/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::digest::fuzz_digest_header(data));
