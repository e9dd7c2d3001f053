//! Shim: the invariants live in `ringdrop::fuzzing::resumable::fuzz_tus_checksum`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/tus_checksum/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::resumable::fuzz_tus_checksum(data));
