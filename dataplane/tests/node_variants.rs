//! Node function variants (engine::march): every documented scenario replayed with the baseline
//! build of the hot nodes forced gives the same trace text and the same output bytes as with
//! each other variant this CPU runs (x86-64-v2, v3, and v4 where the CPU has AVX-512); and the
//! `show node` / `set node function` commands and their errors.

use std::path::{Path, PathBuf};

use dataplane::replay_cmd::{is_multi_node, replay, replay_topology_with, ReplayRequest};
use dataplane::App;
use engine::march::March;
use engine::Mode;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenarios() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for group in ["traces/contiv", "traces/antrea"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join(group))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        out.extend(dirs);
    }
    assert!(out.len() >= 10, "scenarios found: {out:?}");
    out
}

/// (trace texts, output files with their bytes) of one replay of `dir` in variant `m`.
fn run(dir: &Path, m: March, out: &Path) -> (Vec<String>, Vec<(String, Vec<u8>)>) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let traces = if is_multi_node(dir) {
        replay_topology_with(dir, 50, Some(out), 256, Some(m))
            .unwrap()
            .into_iter()
            .map(|n| {
                assert_eq!(n.outcome.buffers_in_use, 0, "{}: leak", dir.display());
                n.trace
            })
            .collect()
    } else {
        let mut req = ReplayRequest::from_dir(dir, 50).unwrap();
        req.output_dir = Some(out.to_path_buf());
        req.variant = Some(m);
        let r = replay(&req).unwrap();
        assert_eq!(r.outcome.buffers_in_use, 0, "{}: leak", dir.display());
        assert_eq!(
            r.app
                .dp
                .graph
                .node_variant(r.app.dp.graph.node_index("ethernet-input").unwrap()),
            Some(m)
        );
        vec![r.trace]
    };
    let mut files = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(out).unwrap().display().to_string();
                files.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort();
    (traces, files)
}

#[test]
fn every_variant_gives_the_baseline_traces_and_bytes() {
    let work = std::env::temp_dir().join(format!("dp-variants-{}", std::process::id()));
    let others: Vec<March> = March::ALL[1..]
        .iter()
        .copied()
        .filter(|m| m.supported())
        .collect();
    for dir in scenarios() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (base_trace, base_files) = run(&dir, March::Default, &work.join(&name).join("base"));
        assert!(
            base_trace.iter().all(|t| t.contains("ethernet-input")),
            "{name}: traced"
        );
        assert!(!base_files.is_empty(), "{name}: something was sent");
        for &m in &others {
            let (t, f) = run(&dir, m, &work.join(&name).join(m.name()));
            assert_eq!(t, base_trace, "{name}: trace in {}", m.name());
            assert_eq!(f.len(), base_files.len(), "{name}: files in {}", m.name());
            for (a, b) in f.iter().zip(&base_files) {
                assert!(a == b, "{name}: {} differs in {}", a.0, m.name());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn show_node_names_the_running_variant() {
    let mut app = App::new(Mode::Replay);
    let best = March::best();
    let s = app.exec("show node ethernet-input").unwrap();
    assert!(
        s.starts_with("node ethernet-input, type internal, state active, index "),
        "{s}"
    );
    assert!(s.contains("  node function variants:\n    Name             Priority  Active  Description\n    default                 0          default\n"), "{s}");
    let active: Vec<&str> = s.lines().filter(|l| l.contains(" yes ")).collect();
    assert_eq!(active.len(), 1, "{s}");
    assert!(active[0].trim_start().starts_with(best.name()), "{s}");
    assert!(s.contains("\n  next nodes:\n"), "{s}");
    assert!(s.contains("ip4-input"), "{s}");
    assert!(s.contains("\n  known previous nodes:\n"), "{s}");

    app.exec("set node function ethernet-input default")
        .unwrap();
    let s = app.exec("show node ethernet-input").unwrap();
    let active: Vec<&str> = s.lines().filter(|l| l.contains(" yes ")).collect();
    assert!(active[0].trim_start().starts_with("default "), "{s}");
    // The other nodes keep theirs.
    let g = &app.dp.graph;
    assert_eq!(
        g.node_variant(g.node_index("ip4-lookup").unwrap()),
        Some(best)
    );

    // A node without variants, in VPP's words.
    let s = app.exec("show node error-drop").unwrap();
    assert!(
        s.contains("  node function variants:\n    default only\n"),
        "{s}"
    );
    let e = app
        .exec("set node function error-drop default")
        .unwrap_err()
        .to_string();
    assert!(e.contains("doesn't have function variants"), "{e}");
    let e = app
        .exec("set node function ip4-lookup sse9")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown node function variant `sse9`") && e.contains("x86_64_v3"),
        "{e}"
    );
    let e = app
        .exec("set node function no-such-node default")
        .unwrap_err()
        .to_string();
    assert!(e.contains("please specify valid node name"), "{e}");
    let e = app.exec("show node no-such-node").unwrap_err().to_string();
    assert!(e.contains("unknown node name: 'no-such-node'"), "{e}");
    for m in March::ALL {
        let r = app.exec(&format!("set node function ip4-rewrite {}", m.name()));
        if m.supported() {
            r.unwrap();
        } else {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("not supported by this CPU"), "{e}");
            // Refused: the node keeps the variant it had.
            let g = &app.dp.graph;
            assert!(g
                .node_variant(g.node_index("ip4-rewrite").unwrap())
                .unwrap()
                .supported());
        }
    }
    let s = app.exec("show node verbose ip4-lookup").unwrap();
    assert!(
        s.contains("  Thread     Calls") || s.contains("Thread"),
        "{s}"
    );
}

/// One frame mixing every ethernet-input case (its fast loop hands over to the general one at
/// the first packet that is not IPv4 for us): the counters are the same in every variant.
#[test]
fn ethernet_input_mixed_frame_in_every_variant() {
    let dir = std::env::temp_dir().join(format!("dp-variants-mixed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = [0x02, 0xfe, 0, 0, 0, 1];
    let ip4 = |dst: [u8; 6]| {
        let mut f = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], dst)
            .ipv4([10, 0, 0, 2], [10, 0, 1, 2], 64)
            .udp(1000, 2000)
            .write(&mut f, &[0u8; 18])
            .unwrap();
        f
    };
    let with_type = |ty: [u8; 2]| {
        let mut f = ip4(ours);
        f[12..14].copy_from_slice(&ty);
        f
    };
    let frames: Vec<Vec<u8>> = vec![
        ip4(ours),
        ip4(ours),
        ip4([0xff; 6]),
        with_type([0x08, 0x06]), // ARP (malformed: counted by arp-input)
        ip4([0x02, 0xfe, 0, 0, 0, 7]), // another MAC
        with_type([0x81, 0x00]), // VLAN
        vec![0u8; 10],           // runt
        with_type([0x86, 0xdd]), // IPv6
        ip4(ours),
    ];
    let pcap = dir.join("mixed.pcap");
    engine::pcap::write_pcap(&pcap, frames.iter().map(|f| (0u64, f.as_slice()))).unwrap();
    let mut seen = Vec::new();
    for m in March::ALL.into_iter().filter(|m| m.supported()) {
        let mut app = App::new(Mode::Replay);
        app.dp.graph.set_default_variant(m).unwrap();
        for l in [
            "create packet-generator interface pg0",
            "set interface mac address pg0 02:fe:00:00:00:01",
            "set interface ip address pg0 10.0.0.1/24",
            "set interface state pg0 up",
        ] {
            app.exec(l).unwrap();
        }
        app.exec(&format!(
            "packet-generator new {{ name mixed limit {} interface pg0 pcap {} }}",
            frames.len(),
            pcap.display()
        ))
        .unwrap();
        app.exec("packet-generator enable").unwrap();
        app.dp.run_until_idle();
        let errors = app.exec("show errors").unwrap();
        for reason in [
            "l3 mac mismatch",
            "unknown vlan",
            "frame shorter than an ethernet header",
            "unknown ethernet type",
        ] {
            let line = errors
                .lines()
                .find(|l| l.contains(reason))
                .unwrap_or_else(|| panic!("{}: no `{reason}` in\n{errors}", m.name()));
            assert!(line.trim_start().starts_with("1 "), "{}: {line}", m.name());
        }
        let g = &app.dp.graph;
        let ip4_in = g.node_stats(g.node_index("ip4-input").unwrap()).vectors;
        assert_eq!(ip4_in, 4, "{}: four IPv4 frames for us", m.name());
        assert_eq!(g.vm.buffers.in_use(), 0);
        seen.push(errors);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}
