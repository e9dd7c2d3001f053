//! Shim: the invariants live in `ringdrop::fuzzing::head::fuzz_http_head`, which
//! `cargo test` also runs on every seed in `fuzz/corpus/http_head/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::head::fuzz_http_head(data));
