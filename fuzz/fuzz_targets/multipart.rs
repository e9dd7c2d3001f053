//! Shim: the invariants live in `ringdrop::fuzzing::multipart::fuzz_multipart`, which
//! `cargo test` also runs on every seed in `fuzz/corpus/multipart/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::multipart::fuzz_multipart(data));
