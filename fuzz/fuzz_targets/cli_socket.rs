#![no_main]
//! See dataplane/src/fuzzing.rs (`cli_socket`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataplane::fuzzing::cli_socket(data));
