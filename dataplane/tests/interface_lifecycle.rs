//! Pod churn: deleting an interface takes everything bound to it (addresses, neighbours, routes
//! through it, adjacencies, NAT44 roles, ACLs, MACIP, bridge-domain membership, L2 FIB entries,
//! features, captures), and the next interface reuses its sw_if_index and its graph nodes, as
//! VPP does. Creating and deleting 10,000 configured pods leaves every table where it was.

use dataplane::App;
use engine::clock::Clock;
use engine::replay::{inject_frame, transmitted};
use engine::Mode;
use etherparse::PacketBuilder;

/// The node: an uplink with NAT44 `out` and a pool address, a reflexive ACL, a bridge domain.
const NODE: &str = "create tap id 0 hw-addr 02:fe:00:00:00:00
set interface state tap0 up
set interface ip address tap0 192.168.1.1/24
set ip neighbor tap0 192.168.1.254 02:00:00:00:01:fe static
ip route add 0.0.0.0/0 via 192.168.1.254 tap0
nat44 add address 192.168.1.1
set interface nat44 out tap0
create bridge-domain 1 learn 1
";

/// A pod on `tap{id}` at 10.1.{id}.2, with everything a CNI agent would configure.
fn pod(id: u32) -> String {
    format!(
        "create tap id {id} hw-addr 02:fe:00:00:01:{id:02x}
set interface state tap{id} up
set interface ip address tap{id} 10.1.{id}.1/24
set ip neighbor tap{id} 10.1.{id}.2 02:00:00:00:02:{id:02x} static
ip route add 10.9.{id}.0/24 via 10.1.{id}.2 tap{id}
set interface nat44 in tap{id}
set acl-plugin acl index {id} permit+reflect src 10.1.{id}.0/24
set acl-plugin interface tap{id} input acl {id}
set acl-plugin interface tap{id} output acl {id}
set acl-plugin macip acl index {id} permit ip 10.1.{id}.2/32 mac 02:00:00:00:02:{id:02x}
set acl-plugin macip interface tap{id} acl {id}
"
    )
}

fn app() -> App {
    let mut app = App::new(Mode::Replay);
    app.exec_script(NODE).unwrap();
    app.dp.graph.vm.clock = Clock::manual(10_000_000_000);
    app
}

fn run(app: &mut App, cmd: &str) -> String {
    app.exec(cmd).unwrap_or_else(|e| panic!("`{cmd}`: {e}"))
}

/// Everything that grows when something is left behind.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    nodes: usize,
    error_counters: usize,
    sw: usize,
    hw: usize,
    devices: usize,
    adjs: usize,
    lbs: usize,
    fib_entries: usize,
    neighbours: usize,
    nat_interfaces: usize,
    acl_sessions: usize,
    l2fib: u32,
}

fn footprint(app: &App) -> Footprint {
    let fib = graph_nodes::ip4(&app.dp).fib.read();
    let live_adjs = (0..fib.n_adjs() as u32)
        .filter(|&i| fib.adj(i).is_some())
        .count();
    let acl = acl::plugin(&app.dp);
    Footprint {
        nodes: app.dp.graph.n_nodes(),
        error_counters: app.dp.graph.vm.errors.len(),
        sw: app.dp.interface_main().sw.len(),
        hw: app.dp.interface_main().hw.len(),
        devices: app.dp.devices.len(),
        adjs: live_adjs,
        lbs: fib.lbs_in_use(),
        fib_entries: fib.n_entries(0),
        neighbours: fib.neighbors.len(),
        nat_interfaces: app
            .dp
            .config()
            .get(nat44::nat(&app.dp).sh.cfg)
            .interfaces
            .len(),
        acl_sessions: acl.sessions.threads.iter().map(|t| t.lock().len()).sum(),
        l2fib: graph_nodes::l2::l2(&app.dp).fib.len(),
    }
}

fn no_leaks(app: &App) {
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
}

/// A UDP packet from the pod on `tap{id}` to the outside.
fn from_pod(id: u32) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(
        [0x02, 0, 0, 0, 0x02, id as u8],
        [0x02, 0xfe, 0, 0, 0x01, id as u8],
    )
    .ipv4([10, 1, id as u8, 2], [8, 8, 8, 8], 64)
    .udp(4000, 53);
    let mut v = Vec::new();
    b.write(&mut v, b"query").unwrap();
    v
}

fn send(app: &mut App, iface: &str, frame: Vec<u8>) {
    let now = app.dp.graph.vm.clock.now_ns();
    inject_frame(&app.dp, iface, now, frame).unwrap();
    app.dp.run_until_idle();
}

#[test]
fn a_deleted_pod_interface_leaves_nothing_behind() {
    let mut app = app();
    let before = footprint(&app);
    run(
        &mut app,
        "set acl-plugin acl index 100 permit src 0.0.0.0/0",
    );
    let before_nodes = app.dp.graph.n_nodes();
    app.exec_script(&pod(1)).unwrap();
    run(&mut app, "set interface l2 bridge tap1 1");
    run(&mut app, "set interface l3 tap1");
    run(
        &mut app,
        "pcap trace rx tx max 10 intfc tap1 file lifecycle-test.pcap",
    );
    send(&mut app, "tap1", from_pod(1));
    assert_eq!(
        transmitted(&app.dp, "tap0").unwrap().len(),
        1,
        "the pod works"
    );
    let sw = app.dp.sw_if_index("tap1").unwrap();
    assert!(
        run(&mut app, "show acl-plugin sessions").contains("sw_if_index"),
        "an ACL session exists"
    );

    let generation = app.dp.interfaces_generation();
    run(&mut app, "delete tap tap1");
    assert_ne!(
        app.dp.interfaces_generation(),
        generation,
        "the daemon refreshes its poll set"
    );
    run(&mut app, "pcap trace off");
    std::fs::remove_file("/tmp/lifecycle-test.pcap").ok();
    std::fs::remove_file("lifecycle-test.pcap").ok();
    // Addresses, neighbours, routes through it, adjacencies.
    let fib = run(&mut app, "show ip fib");
    assert!(!fib.contains("10.1.1."), "{fib}");
    assert!(!fib.contains("10.9.1.0/24"), "{fib}");
    assert!(!run(&mut app, "show ip neighbors").contains("10.1.1.2"));
    assert!(!run(&mut app, "show adj").contains("tap1"));
    // NAT44 role, ACLs (which can now be deleted), MACIP.
    assert!(!run(&mut app, "show nat44 interfaces").contains("tap1"));
    run(&mut app, "delete acl-plugin acl index 1");
    run(&mut app, "delete acl-plugin macip acl index 1");
    let acls = run(
        &mut app,
        &format!("show acl-plugin interface sw_if_index {sw}"),
    );
    assert!(!acls.contains("acl(s)"), "{acls}");
    run(&mut app, "delete acl-plugin acl index 100");
    let mut after = footprint(&app);
    // The deleted interface's index and nodes stay for the next one.
    assert_eq!(after.sw, before.sw + 1);
    assert_eq!(after.hw, before.hw + 1);
    assert_eq!(after.devices, before.devices + 1);
    assert_eq!(app.dp.graph.n_nodes(), before_nodes + 2);
    (after.sw, after.hw, after.devices) = (before.sw, before.hw, before.devices);
    after.nodes = before.nodes;
    after.error_counters = before.error_counters;
    assert_eq!(after, before, "everything else is back");
    let rt = app
        .dp
        .graph
        .node_index(&format!("interface-{sw}-output-deleted"));
    assert!(rt.is_some(), "the output node waits, renamed as in VPP");
    no_leaks(&app);
}

#[test]
fn the_next_interface_reuses_the_index_the_nodes_and_the_name() {
    let mut app = app();
    app.exec_script(&pod(1)).unwrap();
    let sw1 = app.dp.sw_if_index("tap1").unwrap();
    let out1 = app.dp.graph.node_index("tap1-output").unwrap();
    let nodes = app.dp.graph.n_nodes();
    run(&mut app, "delete tap tap1");
    // Another name: same index, same nodes under the new name.
    run(&mut app, "create tap id 7 hw-addr 02:fe:00:00:01:07");
    assert_eq!(app.dp.sw_if_index("tap7").unwrap(), sw1);
    assert_eq!(app.dp.graph.node_index("tap7-output"), Some(out1));
    assert_eq!(app.dp.graph.n_nodes(), nodes);
    assert!(app.dp.graph.node_index("tap1-output").is_none());
    // The reused interface starts clean: no address, no NAT role, no ACL, no features.
    let sh = run(&mut app, "show interface tap7");
    assert!(sh.contains("tap7"), "{sh}");
    assert!(!run(&mut app, "show nat44 interfaces").contains("tap7"));
    assert!(run(&mut app, "show interface features tap7")
        .lines()
        .all(|l| !l.contains("acl-plugin") && !l.contains("nat44")));
    run(&mut app, "delete tap tap7");
    // The old name again (LIFO: the same index once more).
    app.exec_script(&pod(1)).unwrap();
    assert_eq!(app.dp.sw_if_index("tap1").unwrap(), sw1);
    send(&mut app, "tap1", from_pod(1));
    assert_eq!(
        transmitted(&app.dp, "tap0").unwrap().len(),
        1,
        "the new pod works"
    );
    let c = run(&mut app, "show interface tap1");
    assert!(
        c.contains("rx packets                     1"),
        "counters start at zero: {c}"
    );
    // Two deletions: LIFO reuse, as VPP's pools.
    app.exec_script(&pod(2)).unwrap();
    let sw2 = app.dp.sw_if_index("tap2").unwrap();
    run(&mut app, "delete tap tap1");
    run(&mut app, "delete tap tap2");
    run(&mut app, "create tap id 5");
    assert_eq!(app.dp.sw_if_index("tap5").unwrap(), sw2);
    run(&mut app, "create tap id 6");
    assert_eq!(app.dp.sw_if_index("tap6").unwrap(), sw1);
    // A loopback takes no tap's nodes, a tap no loopback's.
    run(&mut app, "create loopback interface");
    run(&mut app, "delete loopback interface intfc loop0");
    run(&mut app, "create loopback interface");
    assert!(app.dp.graph.node_index("loop0-tx").is_some());
    no_leaks(&app);
}

#[test]
fn deleting_a_bridged_port_removes_its_macs_and_membership() {
    let mut app = app();
    run(&mut app, "create tap id 1 hw-addr 02:fe:00:00:01:01");
    run(&mut app, "create tap id 2 hw-addr 02:fe:00:00:01:02");
    for t in ["tap1", "tap2"] {
        run(&mut app, &format!("set interface state {t} up"));
        run(&mut app, &format!("set interface l2 bridge {t} 1"));
    }
    run(&mut app, "l2fib add 02:00:00:00:00:99 1 tap1 static");
    let f = from_pod(1);
    send(&mut app, "tap1", f);
    assert_eq!(
        graph_nodes::l2::l2(&app.dp).fib.len(),
        2,
        "one learned, one static"
    );
    run(&mut app, "delete tap tap1");
    assert_eq!(graph_nodes::l2::l2(&app.dp).fib.len(), 0);
    let bd = run(&mut app, "show bridge-domain 1 detail");
    assert!(!bd.contains("tap1"), "{bd}");
    no_leaks(&app);
}

#[test]
fn deleting_errors_are_one_line_and_change_nothing() {
    let mut app = app();
    let before = footprint(&app);
    for cmd in [
        "delete tap tap9",
        "delete tap sw_if_index 99",
        "delete tap sw_if_index 0",
        "delete loopback interface intfc tap0",
        "delete loopback interface",
    ] {
        let e = app.exec(cmd).unwrap_err().to_string();
        assert!(!e.contains('\n'), "`{cmd}`: {e}");
    }
    assert_eq!(footprint(&app), before);
}

/// 10,000 pods created, configured (address, neighbour, route, NAT44, two ACLs, MACIP), used and
/// deleted: every table is where it was after the first one.
#[test]
fn ten_thousand_pods_come_and_go_without_a_trace() {
    let mut app = app();
    let cycle = |app: &mut App, i: u32| {
        let id = 1 + i % 200;
        app.exec_script(&pod(id)).unwrap();
        if i.is_multiple_of(50) {
            send(app, &format!("tap{id}"), from_pod(id));
        }
        run(app, &format!("delete tap tap{id}"));
        run(app, &format!("delete acl-plugin acl index {id}"));
        run(app, &format!("delete acl-plugin macip acl index {id}"));
    };
    cycle(&mut app, 0);
    let first = footprint(&app);
    for i in 1..10_000 {
        cycle(&mut app, i);
    }
    assert_eq!(footprint(&app), first);
    no_leaks(&app);
}
