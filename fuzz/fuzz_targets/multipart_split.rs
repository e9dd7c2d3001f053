//! Shim: the invariants live in `ringdrop::fuzzing::multipart::split::fuzz_multipart_split`
//! (structure-aware: `SplitCase` derives `Arbitrary`), which `cargo test`
//! also runs on every seed in `fuzz/corpus/multipart_split/`.
#![no_main]

use ringdrop::fuzzing::multipart::split::{fuzz_multipart_split, SplitCase};

libfuzzer_sys::fuzz_target!(|case: SplitCase| fuzz_multipart_split(&case));
