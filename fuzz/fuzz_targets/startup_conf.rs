#![no_main]
//! See dataplane/src/fuzzing.rs (`startup_conf`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataplane::fuzzing::startup_conf(data));
