//! `dataplane replay` as a user runs it: `--then` commands after the inputs, `--json`, and the
//! summary line on stderr.

use std::process::Command;

fn replay(args: &[&str]) -> (bool, String, String) {
    let out_dir = std::env::temp_dir().join(format!("dp-replay-cli-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_dataplane"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .arg("replay")
        .args(args)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&out_dir);
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn then_runs_commands_after_the_inputs() {
    let (ok, out, err) = replay(&[
        "traces/contiv/pod-to-service-host",
        "--then",
        "show errors",
        "--then",
        "show nat44 sessions",
    ]);
    assert!(ok, "{err}");
    let trace_end = out
        .find("\ndpctl# show errors\n")
        .expect("show errors after the trace");
    assert!(out[..trace_end].contains("Packet 1"), "{out}");
    let errors = &out[trace_end..];
    assert!(errors.contains("Good in2out packets processed"), "{out}");
    assert!(
        out.contains("\ndpctl# show nat44 sessions\nNAT44 sessions:"),
        "{out}"
    );
    let summary = err.lines().find(|l| l.starts_with("replay: ")).expect(&err);
    assert!(
        summary.contains(" frames in, out: tap0 1, tap2 1, 0 dropped"),
        "{summary}"
    );
    // A failing --then is printed in place and fails the run.
    let (ok, out, err) = replay(&["traces/contiv/pod-to-service-host", "--then", "show bogus"]);
    assert!(!ok);
    assert!(
        out.contains("dpctl# show bogus\nerror: unknown command `show bogus`"),
        "{out}"
    );
    assert!(err.contains("`show bogus` failed"), "{err}");
}

#[test]
fn json_for_scripts() {
    let (ok, out, err) = replay(&[
        "traces/contiv/pod-to-service-host",
        "--json",
        "--then",
        "show errors",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert!(v["trace"].as_str().unwrap().contains("Packet 1"));
    assert!(v["frames_in"].as_u64().unwrap() > 0);
    let outputs = v["outputs"].as_array().unwrap();
    assert!(outputs
        .iter()
        .any(|o| o["interface"] == "tap2" && o["frames"] == 1));
    assert_eq!(v["drops"], 0);
    assert_eq!(v["buffers_not_returned"], 0);
    assert_eq!(v["then"][0]["command"], "show errors");
    assert!(v["then"][0]["output"]
        .as_str()
        .unwrap()
        .contains("nat44-in2out"));
    // Two nodes: one object per node.
    let (ok, out, err) = replay(&["traces/contiv/pod-to-pod-different-nodes", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["node"], "node-a");
}

/// A UDP datagram from 10.0.0.2 to 10.0.1.2, to pg0's MAC.
fn pg_frame(dport: u16) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([0, 0, 0, 0, 0, 0x0a], [0x02, 0xfe, 0, 0, 0, 0])
        .ipv4([10, 0, 0, 2], [10, 0, 1, 2], 64)
        .udp(1234, dport);
    let mut v = Vec::new();
    b.write(&mut v, &[0x42; 18]).unwrap();
    v
}

const PG_CONFIG: &str = "create packet-generator interface pg0
create packet-generator interface pg1
set interface state pg0 up
set interface state pg1 up
set interface ip address pg0 10.0.0.1/24
set interface ip address pg1 10.0.1.1/24
set ip neighbor pg1 10.0.1.2 00:00:00:00:00:0b static
";

/// `--input pg0=FILE` (and `input/pg0.pcap` in a scenario folder): the frames enter through
/// pg-input at their pcap times, traced as a pg stream, routed out of pg1 (written to pg1.pcap).
#[test]
fn pg_interfaces_take_replay_input() {
    let dir = std::env::temp_dir().join(format!("dp-replay-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("input")).unwrap();
    std::fs::write(dir.join("config.cli"), PG_CONFIG).unwrap();
    // 10:00:01.25 and 10:00:02.5 (the trace prints the time of day).
    let t0 = 36_001_250_000_000u64;
    let frames = [(t0, pg_frame(53)), (t0 + 1_250_000_000, pg_frame(54))];
    let input = dir.join("input/pg0.pcap");
    engine::pcap::write_pcap(&input, frames.iter().map(|(t, f)| (*t, f.as_slice()))).unwrap();
    let check = |out: &str, err: &str| {
        assert!(
            out.contains(
                "10:00:01:250000: pg-input\n  stream replay-pg0, 60 bytes, 1 sw_if_index\n"
            ),
            "{out}"
        );
        assert!(out.contains("10:00:02:500000: pg-input\n"), "{out}");
        assert_eq!(out.matches(": pg-input\n").count(), 2, "{out}");
        for node in [
            "ethernet-input",
            "ip4-input",
            "ip4-lookup",
            "ip4-rewrite",
            "pg1-output",
        ] {
            assert!(out.contains(&format!(": {node}\n")), "{node}: {out}");
        }
        let summary = err.lines().find(|l| l.contains("replay: ")).expect(err);
        assert!(
            summary.contains("2 frames in, out: pg1 2, 0 dropped"),
            "{summary}"
        );
    };
    let cfg = dir.join("config.cli");
    let (ok, out, err) = replay(&[
        "--config",
        cfg.to_str().unwrap(),
        "--input",
        &format!("pg0={}", input.display()),
    ]);
    assert!(ok, "{err}");
    check(&out, &err);
    // The scenario folder form; its outputs go to DIR/output/.
    let out_dir = dir.join("output");
    let o = Command::new(env!("CARGO_BIN_EXE_dataplane"))
        .arg("replay")
        .arg(&dir)
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    );
    assert!(o.status.success(), "{err}");
    check(&out, &err);
    let sent = engine::pcap::read_pcap(&out_dir.join("pg1.pcap")).unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].ts_ns, t0, "sent at the time it came in");
    assert_eq!(&sent[1].data[..6], &[0, 0, 0, 0, 0, 0x0b]);
    let _ = std::fs::remove_dir_all(&dir);
}
