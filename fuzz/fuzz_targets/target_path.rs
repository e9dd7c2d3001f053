//! Shim: the invariants live in `ringdrop::fuzzing::target::fuzz_target_path`, which
//! `cargo test` also runs on every seed in `fuzz/corpus/target_path/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::target::fuzz_target_path(data));
