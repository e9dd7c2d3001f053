//! Shim: the invariants live in `ringdrop::fuzzing::resumable::fuzz_upload_record`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/upload_record/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::resumable::fuzz_upload_record(data));
