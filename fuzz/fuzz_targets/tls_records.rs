//! Shim: the invariants live in `ringdrop::fuzzing::tls::fuzz_tls_records`,
//! which `cargo test` also runs on every seed in `fuzz/corpus/tls_records/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ringdrop::fuzzing::tls::fuzz_tls_records(data));
