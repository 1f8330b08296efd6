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
