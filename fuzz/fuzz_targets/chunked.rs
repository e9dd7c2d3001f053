//! Shim: the invariants live in `ringdrop::fuzzing::chunked::fuzz_chunked`, which
//! `cargo test` also runs on every seed in `fuzz/corpus/chunked/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::chunked::fuzz_chunked(data));
