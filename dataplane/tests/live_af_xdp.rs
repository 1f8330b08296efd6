//! AF_XDP driver, live, in network namespaces this test creates and deletes (also when it fails):
//! two namespaces each behind a veth pair whose outer end is an `af_xdp` interface of the
//! dataplane, which routes between them. A namespace pings the dataplane (ARP, then ICMP echo),
//! pings the other namespace through it, and a TCP client sends data to a server in the other
//! namespace, which echoes a digest. Also: `zero-copy` on veth is a one-line error, a bad host
//! interface is an error, several queues, and deleting the interface detaches the XDP program.
//! Skipped (with a message) when not root or built without libxdp.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{is_root, run_until_exit, tcp_exchange, Netns, Veth, PING_RETRY as PING};

use dataplane::App;
use engine::Mode;

fn skip() -> bool {
    if !is_root() {
        eprintln!("skipped: needs root");
        return true;
    }
    if !engine::drivers::af_xdp::available() {
        eprintln!("skipped: built without libxdp (install libxdp-dev libbpf-dev)");
        return true;
    }
    false
}

/// The routed topology: namespaces `a` (10.91.1.2) and `b` (10.91.2.2) behind `af_xdp`
/// interfaces 10.91.1.1 and 10.91.2.1 of the dataplane.
struct Topo {
    app: App,
    a: Netns,
    b: Netns,
    va: Veth,
    vb: Veth,
    ifs: [String; 2],
}

fn topology(tag: &str, queues: u32, options: &str) -> Topo {
    let id = std::process::id() % 100_000;
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    let va = Veth::new(
        &format!("x{id}{tag}a"),
        &a,
        "10.91.1.2/24",
        "10.91.1.1",
        queues,
    );
    let vb = Veth::new(
        &format!("x{id}{tag}b"),
        &b,
        "10.91.2.2/24",
        "10.91.2.1",
        queues,
    );
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let mut ifs = [String::new(), String::new()];
    for (k, v) in [&va, &vb].into_iter().enumerate() {
        ifs[k] = app
            .exec(&format!(
                "create interface af_xdp host-if {} num-rx-queues {queues} {}",
                v.outer,
                options.replace("{k}", &k.to_string())
            ))
            .unwrap_or_else(|e| panic!("create af_xdp on {}: {e}", v.outer));
    }
    app.exec_script(&format!(
        "set interface state {0} up
set interface ip address {0} 10.91.1.1/24
set interface state {1} up
set interface ip address {1} 10.91.2.1/24
trace add af_xdp-input 50",
        ifs[0], ifs[1]
    ))
    .unwrap();
    Topo {
        app,
        a,
        b,
        va,
        vb,
        ifs,
    }
}

#[test]
fn af_xdp_routes_ping_and_tcp_between_namespaces() {
    if skip() {
        return;
    }
    let mut t = topology("r", 1, "");
    assert_eq!(t.ifs[0], format!("{}/0", t.va.outer), "VPP's default name");
    assert!(
        t.va.has_xdp() && t.vb.has_xdp(),
        "XDP program attached: {}",
        String::from_utf8_lossy(
            &Command::new("ip")
                .args(["link", "show", "dev", &t.va.outer])
                .output()
                .unwrap()
                .stdout
        )
    );
    // The dataplane's own address (ARP from the namespace, then ICMP echo).
    let c =
        t.a.exec(&["python3", "-c", PING, "10.91.1.1", "3"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    let st = run_until_exit(&mut t.app, vec![c], Duration::from_secs(30));
    let trace = t.app.exec("show trace").unwrap();
    assert!(st[0], "ping of the dataplane failed; trace:\n{trace}");
    assert!(trace.contains("af_xdp: hw_if_index"), "{trace}");
    assert!(trace.contains("ICMP echo_request"), "{trace}");
    // Through the dataplane (it resolves 10.91.2.2 with ARP on the second interface).
    let c =
        t.a.exec(&["python3", "-c", PING, "10.91.2.2", "5"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    let st = run_until_exit(&mut t.app, vec![c], Duration::from_secs(30));
    assert!(
        st[0],
        "ping across failed; trace:\n{}",
        t.app.exec("show trace").unwrap()
    );
    // TCP: 300 kB from a to b, digest back.
    let st = tcp_exchange(&mut t.app, &t.a, &t.b, "10.91.2.2", 5201, 300_000);
    let errors = t.app.exec("show errors").unwrap();
    assert!(
        st.iter().all(|&s| s),
        "TCP exchange failed: {st:?}\n{errors}"
    );
    let ifc = t.app.exec("show interface").unwrap();
    assert!(ifc.contains(&t.ifs[1]), "{ifc}");
    assert_eq!(t.app.dp.graph.vm.buffers.in_use(), 0);
    // Deleting the interfaces detaches the program.
    for name in t.ifs.clone() {
        let sw = t.app.dp.sw_if_index(&name).unwrap();
        t.app.dp.delete_interface(sw).unwrap();
    }
    assert!(!t.va.has_xdp() && !t.vb.has_xdp(), "program left attached");
}

#[test]
fn af_xdp_with_two_queues_and_copy_mode() {
    if skip() {
        return;
    }
    // Small rings (VPP's rxq-size / txq-size): TCP must still get through them.
    let mut t = topology("q", 2, "no-zero-copy name xq{k} rxq-size 256 txq-size 128");
    let c =
        t.a.exec(&["python3", "-c", PING, "10.91.2.2", "4"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    let st = run_until_exit(&mut t.app, vec![c], Duration::from_secs(30));
    assert!(
        st[0],
        "ping across failed; trace:\n{}",
        t.app.exec("show trace").unwrap()
    );
    let st = tcp_exchange(&mut t.app, &t.a, &t.b, "10.91.2.2", 5202, 300_000);
    assert!(
        st.iter().all(|&s| s),
        "TCP through small rings failed: {st:?}\n{}",
        t.app.exec("show errors").unwrap()
    );
    let hw = t.app.exec("show hardware-interfaces xq0").unwrap();
    assert!(
        hw.contains("    0     main (0)       adaptive\n    1     main (0)       adaptive\n")
            && hw.contains("\n  Ring sizes: rx 256, tx 128"),
        "{hw}"
    );
    let rp = t.app.exec("show interface rx-placement").unwrap();
    assert!(
        rp.contains("  node af_xdp-input:\n    xq0 queue 0 (adaptive)\n    xq0 queue 1 (adaptive)\n    xq1 queue 0"),
        "{rp}"
    );
    assert_eq!(t.app.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn af_xdp_zero_copy_on_veth_is_a_clear_error() {
    if skip() {
        return;
    }
    let ns = Netns::new("zc");
    let id = std::process::id() % 100_000;
    let v = Veth::new(&format!("x{id}zc"), &ns, "10.92.0.2/24", "10.92.0.1", 1);
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let e = app
        .exec(&format!(
            "create interface af_xdp host-if {} zero-copy",
            v.outer
        ))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("zero-copy") && e.contains("veth") && !e.contains('\n'),
        "{e}"
    );
    assert!(!v.has_xdp(), "program left attached after the failure");
    assert!(app
        .dp
        .interface_main()
        .by_name(&format!("{}/0", v.outer))
        .is_none());
    // The same interface works in copy mode afterwards.
    app.exec(&format!(
        "create interface af_xdp host-if {} no-zero-copy",
        v.outer
    ))
    .unwrap();
}

#[test]
fn af_xdp_bad_host_interface_and_program_are_errors() {
    if skip() {
        return;
    }
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let e = app
        .exec("create interface af_xdp host-if nosuchif0")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nosuchif0") && e.contains("does not exist"),
        "{e}"
    );
    let e = app
        .exec("create interface af_xdp host-if lo prog /nonexistent/prog.o")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/prog.o"), "{e}");
}
