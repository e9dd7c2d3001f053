//! Shim: the invariants live in `ringdrop::fuzzing::resumable::fuzz_ietf_headers`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/ietf_headers/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::resumable::fuzz_ietf_headers(data));
