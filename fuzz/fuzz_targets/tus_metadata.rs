//! Shim: the invariants live in `ringdrop::fuzzing::resumable::fuzz_tus_metadata`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/tus_metadata/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::resumable::fuzz_tus_metadata(data));
