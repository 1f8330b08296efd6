//! Every documented Contiv-VPP packet walk under `traces/contiv/` replays to the document's trace
//! (record by record, only timestamps and memory addresses masked), transmits exactly the frames
//! in `expected-output/`, leaks no buffer, and gives the same bytes and trace on every run.

use std::path::{Path, PathBuf};

use dataplane::replay_cmd::{replay, replay_topology, NodeResult, ReplayRequest, ReplayResult};
use dataplane::tracediff::diff;
use engine::pcap::read_pcap;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario_dir(name: &str) -> PathBuf {
    repo().join("traces/contiv").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dp-contiv-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Replay a scenario folder, writing its outputs to a scratch folder.
fn run(name: &str, out: &Path) -> ReplayResult {
    run_vector(name, out, dataplane::replay_cmd::DEFAULT_VECTOR)
}

/// Replay with bursts of up to `vector` frames per dispatch (1: frame by frame).
fn run_vector(name: &str, out: &Path, vector: usize) -> ReplayResult {
    let mut req = ReplayRequest::from_dir(&scenario_dir(name), 50).unwrap();
    req.output_dir = Some(out.to_path_buf());
    req.vector = vector;
    replay(&req).unwrap()
}

/// (file name, frames) of every pcap in a folder, by name.
fn pcaps(dir: &Path) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let frames = read_pcap(&f).unwrap().into_iter().map(|p| p.data).collect();
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                frames,
            )
        })
        .collect()
}

/// Every transmitted frame is a valid Ethernet/IPv4/TCP frame with correct checksums.
fn check_frames_valid(name: &str, files: &[(String, Vec<Vec<u8>>)]) {
    for (file, frames) in files {
        for (k, f) in frames.iter().enumerate() {
            let p = etherparse::SlicedPacket::from_ethernet(f)
                .unwrap_or_else(|e| panic!("{name}/{file} frame {k}: {e}"));
            let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
                panic!("{name}/{file} frame {k}: not IPv4");
            };
            let h = ip.header().to_header();
            assert_eq!(
                h.calc_header_checksum(),
                h.header_checksum,
                "{name}/{file} frame {k}: IPv4 header checksum"
            );
            if let Some(etherparse::TransportSlice::Tcp(t)) = p.transport {
                let sum = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
                assert_eq!(sum, t.checksum(), "{name}/{file} frame {k}: TCP checksum");
            }
        }
    }
}

fn check(name: &str) {
    let dir = scenario_dir(name);
    let out = tmp(name);
    let r = run(name, &out);
    assert_eq!(r.outcome.buffers_in_use, 0, "{name}: buffers leaked");

    let expected = std::fs::read_to_string(dir.join("expected.trace")).unwrap();
    let d = diff(&expected, &r.trace);
    assert!(
        d.is_empty(),
        "{name}: trace differs from the document:\n{}\n--- actual ---\n{}",
        d.join("\n"),
        r.trace
    );

    let got = pcaps(&out);
    let want = pcaps(&dir.join("expected-output"));
    let names = |v: &[(String, Vec<Vec<u8>>)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "{name}: interfaces that transmitted"
    );
    for ((file, g), (_, w)) in got.iter().zip(&want) {
        assert_eq!(g.len(), w.len(), "{name}/{file}: frame count");
        for (k, (a, b)) in g.iter().zip(w).enumerate() {
            assert_eq!(a, b, "{name}/{file}: frame {k} bytes");
        }
    }
    check_frames_valid(name, &got);

    // Same bytes and trace again, in a fresh forwarder.
    // Frame by frame (one packet per dispatch) instead of in bursts: the same records and
    // bytes (the record timestamps are the dispatch times, so they may differ).
    let out1 = tmp(&format!("{name}-frame-by-frame"));
    let r1 = run_vector(name, &out1, 1);
    let d = diff(
        &dataplane::tracediff::frame_independent(&r.trace),
        &dataplane::tracediff::frame_independent(&r1.trace),
    );
    assert!(
        d.is_empty(),
        "{name}: frame by frame differs from bursts:\n{}",
        d.join("\n")
    );
    assert_eq!(got, pcaps(&out1), "{name}: frame by frame sent other bytes");
    let _ = std::fs::remove_dir_all(&out1);

    let out2 = tmp(&format!("{name}-again"));
    let r2 = run(name, &out2);
    assert_eq!(
        r.trace, r2.trace,
        "{name}: a second replay printed another trace"
    );
    assert_eq!(
        got,
        pcaps(&out2),
        "{name}: a second replay sent other bytes"
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&out2);
}

/// Replay a two-node scenario folder into a scratch folder (`out/node-X/IF.pcap`).
fn run_nodes(name: &str, out: &Path) -> Vec<NodeResult> {
    run_nodes_vector(name, out, dataplane::replay_cmd::DEFAULT_VECTOR)
}

fn run_nodes_vector(name: &str, out: &Path, vector: usize) -> Vec<NodeResult> {
    replay_topology(&scenario_dir(name), 50, Some(out), vector).unwrap()
}

/// A two-node scenario: each node's trace is its document's, each node transmits exactly its
/// `expected-output/`, no buffer leaks, and a second replay gives the same traces and bytes.
fn check_nodes(name: &str) {
    let dir = scenario_dir(name);
    let out = tmp(name);
    let nodes = run_nodes(name, &out);
    assert_eq!(nodes.len(), 2, "{name}: two nodes");
    for n in &nodes {
        let nd = dir.join(&n.name);
        assert_eq!(
            n.outcome.buffers_in_use, 0,
            "{name}/{}: buffers leaked",
            n.name
        );
        let expected = std::fs::read_to_string(nd.join("expected.trace")).unwrap();
        let d = diff(&expected, &n.trace);
        assert!(
            d.is_empty(),
            "{name}/{}: trace differs from the document:\n{}\n--- actual ---\n{}",
            n.name,
            d.join("\n"),
            n.trace
        );
        let got = pcaps(&out.join(&n.name));
        let want = pcaps(&nd.join("expected-output"));
        assert_eq!(got, want, "{name}/{}: transmitted frames", n.name);
        check_frames_valid(&format!("{name}/{}", n.name), &got);
    }
    let out1 = tmp(&format!("{name}-frame-by-frame"));
    for (a, b) in nodes.iter().zip(&run_nodes_vector(name, &out1, 1)) {
        let d = diff(
            &dataplane::tracediff::frame_independent(&a.trace),
            &dataplane::tracediff::frame_independent(&b.trace),
        );
        assert!(
            d.is_empty(),
            "{name}/{}: frame by frame differs from bursts:\n{}",
            a.name,
            d.join("\n")
        );
        assert_eq!(
            pcaps(&out.join(&a.name)),
            pcaps(&out1.join(&b.name)),
            "{name}/{}: frame by frame sent other bytes",
            a.name
        );
    }
    let _ = std::fs::remove_dir_all(&out1);
    let out2 = tmp(&format!("{name}-again"));
    let again = run_nodes(name, &out2);
    for (a, b) in nodes.iter().zip(&again) {
        assert_eq!(
            a.trace, b.trace,
            "{name}/{}: a second replay printed another trace",
            a.name
        );
        assert_eq!(
            pcaps(&out.join(&a.name)),
            pcaps(&out2.join(&b.name)),
            "{name}/{}: a second replay sent other bytes",
            a.name
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&out2);
}

#[test]
fn pod_to_pod_different_nodes() {
    check_nodes("pod-to-pod-different-nodes");
}

#[test]
fn pod_to_service_different_nodes() {
    check_nodes("pod-to-service-different-nodes");
}

/// Changing a documented value of a two-node scenario (the VNI) fails at the records that
/// print it.
#[test]
fn a_changed_vni_fails_with_a_diff() {
    let name = "pod-to-pod-different-nodes";
    let work = tmp("vni");
    let src = scenario_dir(name);
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        let to = work.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(&p).unwrap() {
                let f = f.unwrap().path();
                if f.is_dir() {
                    let sub = to.join(f.file_name().unwrap());
                    std::fs::create_dir_all(&sub).unwrap();
                    for g in std::fs::read_dir(&f).unwrap() {
                        let g = g.unwrap().path();
                        std::fs::copy(&g, sub.join(g.file_name().unwrap())).unwrap();
                    }
                } else {
                    let text = std::fs::read(&f).unwrap();
                    let text = if f.ends_with("config.cli") {
                        String::from_utf8(text)
                            .unwrap()
                            .replace(" vni 10", " vni 11")
                            .into_bytes()
                    } else {
                        text
                    };
                    std::fs::write(to.join(f.file_name().unwrap()), text).unwrap();
                }
            }
        } else {
            std::fs::copy(&p, &to).unwrap();
        }
    }
    let nodes = replay_topology(&work, 50, Some(&work.join("out")), 256).unwrap();
    let expected = std::fs::read_to_string(src.join("node-a/expected.trace")).unwrap();
    let d = diff(&expected, &nodes[0].trace).join("\n");
    assert!(
        d.contains("expected:   VXLAN encap to vxlan_tunnel0 vni 10"),
        "{d}"
    );
    assert!(
        d.contains("actual:     VXLAN encap to vxlan_tunnel0 vni 11"),
        "{d}"
    );
    assert!(d.contains("expected line"), "{d}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn host_to_pod() {
    check("host-to-pod");
}

#[test]
fn pod_to_host() {
    check("pod-to-host");
}

#[test]
fn pod_to_internet() {
    check("pod-to-internet");
}

#[test]
fn pod_to_pod_same_node() {
    check("pod-to-pod-same-node");
}

#[test]
fn pod_to_service_same_node() {
    check("pod-to-service-same-node");
}

#[test]
fn pod_to_service_host() {
    check("pod-to-service-host");
}

/// Every folder under traces/contiv has a test above.
#[test]
fn every_scenario_folder_is_tested() {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("traces/contiv"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        [
            "host-to-pod",
            "pod-to-host",
            "pod-to-internet",
            "pod-to-pod-different-nodes",
            "pod-to-pod-same-node",
            "pod-to-service-different-nodes",
            "pod-to-service-host",
            "pod-to-service-same-node",
        ]
    );
}

/// The checked-in inputs are what `dataplane gen-scenario-inputs` writes (the packets in
/// `dataplane/src/contiv.rs` and the pcaps cannot drift apart).
#[test]
fn inputs_are_generated() {
    for name in dataplane::contiv::SCENARIOS {
        let out = tmp(&format!("gen-{name}"));
        dataplane::contiv::write_inputs(&out, name).unwrap();
        for sub in ["input", "history"] {
            let want = scenario_dir(name).join(sub);
            if !want.is_dir() {
                assert!(!out.join(sub).is_dir(), "{name}: {sub}/ is missing");
                continue;
            }
            assert_eq!(pcaps(&out.join(sub)), pcaps(&want), "{name}/{sub}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    for (name, nodes) in dataplane::contiv::NODE_SCENARIOS {
        let out = tmp(&format!("gen-{name}"));
        dataplane::contiv::write_inputs(&out, name).unwrap();
        for node in nodes.iter() {
            for sub in ["input", "history"] {
                let want = scenario_dir(name).join(node).join(sub);
                let got = out.join(node).join(sub);
                assert_eq!(want.is_dir(), got.is_dir(), "{name}/{node}/{sub}");
                if want.is_dir() {
                    assert_eq!(pcaps(&got), pcaps(&want), "{name}/{node}/{sub}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// A changed value in the trace is reported with the packet, the node, both lines and where.
#[test]
fn a_changed_value_is_a_difference() {
    let name = "pod-to-service-host";
    let out = tmp("changed");
    let r = run(name, &out);
    let expected = std::fs::read_to_string(scenario_dir(name).join("expected.trace")).unwrap();
    let changed = expected.replacen("session index 5", "session index 6", 1);
    assert_ne!(changed, expected);
    let d = diff(&changed, &r.trace).join("\n");
    assert!(d.contains("nat44-out2in"), "{d}");
    assert!(d.contains("expected:   NAT44_OUT2IN: sw_if_index"), "{d}");
    assert!(d.contains("session index 6"), "{d}");
    assert!(d.contains("session index 5"), "{d}");

    // A missing record is a difference too.
    let cut: String = expected
        .lines()
        .filter(|l| !l.contains("acl-plugin-out-ip4-fa"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!diff(&cut, &r.trace).is_empty());
    let _ = std::fs::remove_dir_all(&out);
}

/// Changing a documented value in the configuration (the service endpoint's port) fails the
/// comparison at the records that print it.
#[test]
fn a_changed_endpoint_port_fails_with_a_diff() {
    let name = "pod-to-service-host";
    let work = tmp("endpoint-port");
    let src = scenario_dir(name);
    let cfg = std::fs::read_to_string(src.join("config.cli")).unwrap();
    assert!(cfg.contains(":8080 probability"));
    std::fs::write(
        work.join("config.cli"),
        cfg.replace(":8080 probability", ":8081 probability"),
    )
    .unwrap();
    let mut req = ReplayRequest::from_dir(&src, 50).unwrap();
    req.config = work.join("config.cli");
    req.output_dir = Some(work.join("output"));
    let r = replay(&req).unwrap();
    let expected = std::fs::read_to_string(src.join("expected.trace")).unwrap();
    let d = diff(&expected, &r.trace).join("\n");
    assert!(!d.is_empty());
    assert!(d.contains("expected line"), "{d}");
    assert!(d.contains("expected:   TCP: 46310 -> 8080"), "{d}");
    assert!(d.contains("actual:     TCP: 46310 -> 8081"), "{d}");
    let _ = std::fs::remove_dir_all(&work);
}
