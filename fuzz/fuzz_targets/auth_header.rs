//! Shim: the invariants live in `ringdrop::fuzzing::auth::fuzz_auth_header`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/auth_header/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::auth::fuzz_auth_header(data));
