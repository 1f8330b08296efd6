//! The IPv4 nodes print the documented trace records: POD_TO_POD_SAME_NODE replayed through the
//! forwarding path, comparing virtio-input, ethernet-input, ip4-input, ip4-lookup, ip4-rewrite and
//! the tap output records with the document's, for the same packets and indices.

use std::path::{Path, PathBuf};

use dataplane::replay_cmd::{replay, ReplayRequest};
use dataplane::tracediff::{diff, filter_nodes, parse, render};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dp-parity-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Replay a scenario folder with only the IPv4 part of its configuration.
fn replay_ip4_only(scenario: &str) -> String {
    let dir = repo().join("traces/contiv").join(scenario);
    let work = tmp(scenario);
    let cfg: String = std::fs::read_to_string(dir.join("config.cli"))
        .unwrap()
        .lines()
        .filter(|l| {
            ![
                "nat44 ",
                "set nat44 ",
                "set interface nat44 ",
                "set acl-plugin ",
            ]
            .iter()
            .any(|c| l.starts_with(c))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(work.join("config.cli"), cfg).unwrap();
    dataplane::contiv::write_inputs(&work, scenario).unwrap();
    let mut req = ReplayRequest::from_dir(&work, 50).unwrap();
    req.output_dir = Some(work.join("output"));
    let r = replay(&req).unwrap();
    assert_eq!(r.outcome.buffers_in_use, 0);
    r.trace
}

fn ip4_node(n: &str) -> bool {
    matches!(
        n,
        "virtio-input"
            | "dpdk-input"
            | "ethernet-input"
            | "ip4-input"
            | "ip4-lookup"
            | "ip4-rewrite"
    ) || (n.ends_with("-output") && !n.starts_with("acl") && !n.starts_with("nat44"))
}

fn check_ip4_records(scenario: &str) {
    let actual = replay_ip4_only(scenario);
    let expected = std::fs::read_to_string(
        repo()
            .join("traces/contiv")
            .join(scenario)
            .join("expected.trace"),
    )
    .unwrap();
    let e = render(&filter_nodes(&parse(&expected), &ip4_node));
    let a = render(&filter_nodes(&parse(&actual), &ip4_node));
    let d = diff(&e, &a);
    assert!(
        d.is_empty(),
        "{scenario}:\n{}\n--- actual trace:\n{actual}",
        d.join("\n")
    );
    assert!(
        parse(&e)[0].records.len() >= 5,
        "the IPv4-path records are compared"
    );
}

#[test]
fn pod_to_pod_same_node_ip4_records_match_the_document() {
    check_ip4_records("pod-to-pod-same-node");
}

#[test]
fn host_to_pod_ip4_records_match_the_document() {
    check_ip4_records("host-to-pod");
}

#[test]
fn pod_to_host_ip4_records_match_the_document() {
    check_ip4_records("pod-to-host");
}

#[test]
fn committed_scenario_inputs_are_the_documented_packets() {
    for s in dataplane::contiv::SCENARIOS {
        let work = tmp(&format!("gen-{s}"));
        dataplane::contiv::write_inputs(&work, s).unwrap();
        let committed = repo().join("traces/contiv").join(s).join("input");
        for e in std::fs::read_dir(work.join("input")).unwrap() {
            let e = e.unwrap();
            let want = std::fs::read(e.path()).unwrap();
            let got = std::fs::read(committed.join(e.file_name())).unwrap_or_else(|_| {
                panic!(
                    "{s}: {:?} missing; run `dataplane gen-scenario-inputs traces/contiv`",
                    e.file_name()
                )
            });
            assert_eq!(
                got,
                want,
                "{s}: {:?} differs from the generator",
                e.file_name()
            );
        }
    }
}
