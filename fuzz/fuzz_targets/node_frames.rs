#![no_main]
//! See dataplane/src/fuzzing.rs (`node_frames`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataplane::fuzzing::node_frames(data));
