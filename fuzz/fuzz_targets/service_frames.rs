#![no_main]
//! See dataplane/src/fuzzing.rs (`service_frames`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataplane::fuzzing::service_frames(data));
