#![no_main]
//! See dataplane/src/fuzzing.rs (`cli_commands`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| dataplane::fuzzing::cli_commands(data));
