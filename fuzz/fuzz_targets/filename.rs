//! Shim: the invariants live in `ringdrop::fuzzing::filename::fuzz_filename`, which
//! `cargo test` also runs on every seed in `fuzz/corpus/filename/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::filename::fuzz_filename(data));
