//! Every fuzz input we keep, replayed through the fuzz targets' entry points
//! (`dataplane/src/fuzzing.rs`): the minimised corpora (`fuzz/corpus/TARGET/`) and every input
//! that ever crashed a target (`fuzz/regressions/TARGET/`, named after what it found). A
//! target's invariants (no panic, every buffer back) must hold for each.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("service_frames", dataplane::fuzzing::service_frames),
    ("node_frames", dataplane::fuzzing::node_frames),
    ("cli_commands", dataplane::fuzzing::cli_commands),
    ("startup_conf", dataplane::fuzzing::startup_conf),
    ("cli_socket", dataplane::fuzzing::cli_socket),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = rd
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let p = e.path();
            (
                p.display().to_string(),
                std::fs::read(&p).expect("readable input"),
            )
        })
        .collect();
    v.sort();
    v
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind);
    let mut n = 0;
    for (name, f) in TARGETS {
        for (path, data) in inputs(&root.join(name)) {
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{path} fails {name}");
            n += 1;
        }
    }
    n
}

#[test]
fn every_saved_crash_input_passes() {
    replay("regressions");
}

#[test]
fn the_minimised_corpora_pass() {
    let n = replay("corpus");
    assert!(n > 0, "the corpora are committed");
}
