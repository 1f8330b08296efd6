//! Worker threads forwarding pod traffic (`cpu { workers 2 }`, here started in-process as the
//! daemon does): pods' taps in namespaces, each tap placed on a worker; TCP and ping between
//! pods cross both workers; the main thread changes the configuration (an ACL, a new pod, a
//! deleted pod, a moved interface) while the workers run, and the traffic follows each change.
//! Needs root and /dev/net/tun (skipped otherwise). Two workers plus the main thread: runs on two
//! cores.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{no_tap, run_until_exit, tap_pod, tcp_exchange, Netns, PING_RETRY};
use dataplane::App;
use engine::Mode;

fn ping(app: &mut App, from: &Netns, dst: &str, count: u32) -> bool {
    let child = from
        .exec(&["python3", "-c", PING_RETRY, dst, &count.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    run_until_exit(app, vec![child], Duration::from_secs(30))[0]
}

fn vectors_of(runtime_section: &str, node: &str) -> u64 {
    runtime_section
        .lines()
        .find(|l| l.split_whitespace().next() == Some(node))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn two_workers_forward_pod_traffic_and_follow_configuration_changes() {
    if no_tap() {
        return;
    }
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    app.dp.start_workers(&[None, None], 4096).unwrap();
    let a = tap_pod(&mut app, "wka", 83, 0, "");
    let b = tap_pod(&mut app, "wkb", 83, 1, "");

    // Placement: round robin, tap0 on vpp_wk_0 (thread 1), tap1 on vpp_wk_1 (thread 2).
    let rx = app.exec("show interface rx-placement").unwrap();
    assert_eq!(
        rx,
        "Thread 1 (vpp_wk_0):\n  node virtio-input:\n    tap0 queue 0 (adaptive)\n\
         Thread 2 (vpp_wk_1):\n  node virtio-input:\n    tap1 queue 0 (adaptive)",
        "{rx}"
    );
    let threads = app.exec("show threads").unwrap();
    let lines: Vec<&str> = threads.lines().collect();
    assert!(
        lines[0].starts_with("ID     Name                Type        LWP"),
        "{threads}"
    );
    assert!(lines[1].starts_with("0      vpp_main"), "{threads}");
    assert!(
        lines[2].starts_with("1      vpp_wk_0            workers"),
        "{threads}"
    );
    assert!(
        lines[3].starts_with("2      vpp_wk_1            workers"),
        "{threads}"
    );

    // TCP both ways through the two workers (a's segments on worker 1, b's on worker 2).
    let st = tcp_exchange(&mut app, &a, &b, "10.83.2.2", 5601, 300_000);
    assert!(st.iter().all(|&x| x), "TCP through two workers: {st:?}");
    let rt = app.exec("show runtime").unwrap();
    let sections: Vec<&str> = rt.split("\n---------------\n").collect();
    assert_eq!(sections.len(), 3, "{rt}");
    assert!(sections[1].starts_with("Thread 1 vpp_wk_0 (lcore"), "{rt}");
    assert!(sections[2].starts_with("Thread 2 vpp_wk_1 (lcore"), "{rt}");
    assert_eq!(
        vectors_of(sections[0], "virtio-input"),
        0,
        "main polls nothing: {rt}"
    );
    assert!(vectors_of(sections[1], "virtio-input") > 100, "{rt}");
    // b sends the ACKs: fewer packets (delayed ACKs).
    assert!(vectors_of(sections[2], "virtio-input") > 10, "{rt}");
    // Counters summed over threads: what each tap received was counted on its worker.
    let c0 = app.dp.if_counters(1);
    let c1 = app.dp.if_counters(2);
    assert!(c0.rx_packets > 100 && c1.rx_packets > 10, "{c0:?} {c1:?}");
    assert!(c1.tx_packets > 100 && c0.tx_packets > 10, "{c0:?} {c1:?}");

    // An ACL the main thread applies reaches the workers without stopping them.
    app.exec("set acl-plugin acl deny proto 1").unwrap();
    app.exec("set acl-plugin interface tap1 input acl 0")
        .unwrap();
    assert!(!ping(&mut app, &b, "10.83.1.2", 1), "ICMP from b is denied");
    let errors = app.exec("show errors").unwrap();
    assert!(errors.contains("acl-plugin-in-ip4-fa"), "{errors}");
    app.exec("set acl-plugin interface tap1 input acl 0 del")
        .unwrap();
    assert!(ping(&mut app, &b, "10.83.1.2", 3), "ICMP passes again");

    // Tracing on every thread: b's request is traced on worker 2, a's reply on worker 1.
    app.exec("clear trace").unwrap();
    app.exec("trace add virtio-input 4").unwrap();
    assert!(ping(&mut app, &b, "10.83.1.2", 1));
    let t = app.exec("show trace").unwrap();
    let main = "------------------- Start of thread 0 vpp_main -------------------\nNo packets in trace buffer";
    assert!(t.starts_with(main), "{t}");
    for w in ["1 vpp_wk_0", "2 vpp_wk_1"] {
        let head =
            format!("------------------- Start of thread {w} -------------------\nPacket 1\n");
        assert!(t.contains(&head), "{head}\n{t}");
    }
    assert!(
        t.contains("ICMP echo_request") && t.contains("ICMP echo_reply"),
        "{t}"
    );
    app.exec("clear trace").unwrap();

    // A pod created while the workers run: its nodes reach their graphs, its tap a worker.
    let c = tap_pod(&mut app, "wkc", 83, 2, "");
    assert!(
        ping(&mut app, &c, "10.83.1.2", 3),
        "the new pod reaches pod a"
    );
    // Moving an interface between threads: the main thread polls tap2 now.
    app.exec("set interface rx-placement tap2 main").unwrap();
    assert!(app
        .exec("show interface rx-placement")
        .unwrap()
        .starts_with("Thread 0 (vpp_main):\n  node virtio-input:\n    tap2 queue 0"));
    assert!(ping(&mut app, &c, "10.83.2.2", 3), "tap2 polled by main");
    // And deleted again: the workers drop it with the main graph.
    app.exec("delete tap tap2").unwrap();
    drop(c);
    assert!(ping(&mut app, &a, "10.83.2.2", 3), "a and b still talk");
    let threads = app.exec("show threads").unwrap();
    assert!(threads.contains("Worker graph updates:"), "{threads}");

    // Bad placement changes nothing.
    for (cmd, want) in [
        (
            "set interface rx-placement tap0 worker 2",
            "worker 2 does not exist: workers are 0-1",
        ),
        (
            "set interface rx-placement tap0 queue 1 worker 0",
            "queue 1 does not exist",
        ),
        (
            "set interface rx-placement tap0",
            "expected `worker <n>` or `main`",
        ),
    ] {
        let e = app.exec(cmd).unwrap_err().to_string();
        assert!(e.contains(want), "{cmd}: {e}");
    }
    app.dp.stop_workers();
}
