//! Graphs for worker threads ([`Graph::fork`](dataplane::engine::graph::Graph::fork)): every
//! forwarding node is built again for another thread from the main thread's graph, and two such
//! graphs forwarding at once on two threads, each polling the interfaces placed on it, give the same
//! frames and the same counters as the main thread's graph alone. The return traffic of a flow
//! arrives on the other worker than its first packet: its 1:1 NAT44 translation and its
//! reflexive ACL session are found there.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dataplane::engine::graph::Graph;
use dataplane::engine::replay::{inject_frame, transmitted};
use dataplane::engine::Mode;
use dataplane::App;
use etherparse::PacketBuilder;

const PODS: u8 = 24;

/// Two pod interfaces and an uplink; each pod has a 1:1 NAT44 mapping on the uplink; pods may
/// open connections (ACL permit+reflect in, deny out): only replies come back to them.
fn config() -> String {
    let mut s = String::from(
        "create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap0 up
set interface state tap1 up
set interface state tap2 up
set interface ip address tap0 192.168.16.1/24
set interface ip address tap1 10.1.1.1/24
set interface ip address tap2 10.1.2.1/24
set ip neighbor tap0 192.168.16.2 00:00:00:00:01:00 static
set interface nat44 in tap1 in tap2 out tap0
set acl-plugin acl permit+reflect src 10.1.0.0/16
set acl-plugin acl deny
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap2 input acl 0
set acl-plugin interface tap1 output acl 1
set acl-plugin interface tap2 output acl 1
",
    );
    for side in 1..=2u8 {
        for p in 0..PODS {
            let h = 10 + p;
            s.push_str(&format!(
                "set ip neighbor tap{side} 10.1.{side}.{h} 00:00:00:00:0{side}:{h:02x} static\n\
                 nat44 add static mapping local 10.1.{side}.{h} external 192.168.16.{}\n",
                100 * side + p
            ));
        }
    }
    s
}

fn tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    syn_ack: bool,
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.octets(), dst.octets(), 64)
        .tcp(sport, dport, 1000, 64240);
    let b = if syn_ack { b.syn().ack(2001) } else { b.syn() };
    let payload = [];
    let mut v = Vec::with_capacity(b.size(0));
    b.write(&mut v, &payload).expect("frame");
    v
}

/// Pod side, pod index, flow index.
fn flows() -> Vec<(u8, u8, u16)> {
    let mut v = Vec::new();
    for side in 1..=2u8 {
        for p in 0..PODS {
            for f in 0..4u16 {
                v.push((side, p, f));
            }
        }
    }
    v
}

fn requests(app: &App) {
    for (side, p, f) in flows() {
        let h = 10 + p;
        let frame = tcp(
            [0, 0, 0, 0, side, h],
            [2, 0xfe, 0, 0, 0, side],
            Ipv4Addr::new(10, 1, side, h),
            Ipv4Addr::new(192, 168, 16, 2),
            40000 + f,
            80,
            false,
        );
        inject_frame(&app.dp, &format!("tap{side}"), 0, frame).unwrap();
    }
}

fn replies(app: &App) {
    for (side, p, f) in flows() {
        let frame = tcp(
            [0, 0, 0, 0, 1, 0],
            [2, 0xfe, 0, 0, 0, 0],
            Ipv4Addr::new(192, 168, 16, 2),
            Ipv4Addr::new(192, 168, 16, 100 * side + p),
            80,
            40000 + f,
            true,
        );
        inject_frame(&app.dp, "tap0", 0, frame).unwrap();
    }
    // And one reply nobody asked for: the output ACL drops it on either graph.
    let stray = tcp(
        [0, 0, 0, 0, 1, 0],
        [2, 0xfe, 0, 0, 0, 0],
        Ipv4Addr::new(192, 168, 16, 2),
        Ipv4Addr::new(192, 168, 16, 100),
        80,
        9,
        true,
    );
    inject_frame(&app.dp, "tap0", 0, stray).unwrap();
}

/// What the node sent, per interface, in a stable order (workers interleave).
fn outputs(app: &App) -> BTreeMap<String, Vec<Vec<u8>>> {
    ["tap0", "tap1", "tap2"]
        .iter()
        .map(|i| {
            let mut v = transmitted(&app.dp, i).unwrap();
            v.sort();
            (i.to_string(), v)
        })
        .collect()
}

/// Error counters by (node, reason), and interface tx/rx/drop packets, summed over graphs.
type Counters = (BTreeMap<(String, String), u64>, BTreeMap<u32, [u64; 3]>);

fn counters(graphs: &[&Graph]) -> Counters {
    let mut errors = BTreeMap::new();
    let mut ifs = BTreeMap::new();
    for g in graphs {
        for (n, node, reason) in g.error_counts() {
            if n > 0 {
                *errors
                    .entry((node.to_string(), reason.to_string()))
                    .or_insert(0) += n;
            }
        }
        for (sw, c) in g.vm.if_counters.iter().enumerate() {
            let e: &mut [u64; 3] = ifs.entry(sw as u32).or_insert([0; 3]);
            e[0] += c.rx_packets;
            e[1] += c.tx_packets;
            e[2] += c.drops;
        }
    }
    (errors, ifs)
}

fn single() -> (BTreeMap<String, Vec<Vec<u8>>>, Counters) {
    let mut a = App::new(Mode::Replay);
    a.exec_script(&config()).unwrap();
    requests(&a);
    a.dp.run_until_idle();
    replies(&a);
    a.dp.run_until_idle();
    let c = counters(&[&a.dp.graph]);
    (outputs(&a), c)
}

/// Run a worker graph on its own thread until it has nothing left to do.
fn run(mut g: Graph) -> std::thread::JoinHandle<Graph> {
    std::thread::spawn(move || {
        while g.run_once() > 0 || g.has_pending() {}
        g
    })
}

#[test]
fn two_worker_graphs_forward_as_the_main_graph_does() {
    let (want_out, want_counters) = single();

    let mut a = App::new(Mode::Replay);
    a.exec_script(&config()).unwrap();
    let sw = |a: &App, name: &str| a.dp.sw_if_index(name).unwrap();
    let (tap0, tap1, tap2) = (sw(&a, "tap0"), sw(&a, "tap1"), sw(&a, "tap2"));
    // Worker 1 polls tap1; worker 2 polls tap2 and the uplink, so every reply arrives on the
    // other worker than its request for pods behind tap1.
    for (sw, t) in [(tap1, 1), (tap2, 2), (tap0, 2)] {
        let hw = a.dp.interface_main().sw[sw as usize].hw_if_index as usize;
        a.dp.interface_main_mut().hw[hw].rx_thread = t;
    }
    a.dp.config_mut().commit();
    let workers: Vec<Graph> = (1..=2u32)
        .map(|t| {
            let g = a.dp.graph.fork(t, 4096);
            assert_eq!(g.thread_index(), t);
            g
        })
        .collect();
    requests(&a);
    let handles: Vec<_> = workers.into_iter().map(run).collect();
    let workers: Vec<Graph> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    replies(&a);
    let handles: Vec<_> = workers.into_iter().map(run).collect();
    let workers: Vec<Graph> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let got_out = outputs(&a);
    assert_eq!(
        got_out["tap0"].len(),
        2 * PODS as usize * 4,
        "every request left, translated"
    );
    assert_eq!(
        got_out["tap1"].len(),
        PODS as usize * 4,
        "replies to tap1's pods, from worker 2"
    );
    for (i, want) in &want_out {
        assert_eq!(&got_out[i], want, "frames sent on {i}");
    }
    let got = counters(&[&workers[0], &workers[1]]);
    assert_eq!(got.0, want_counters.0, "error counters");
    assert_eq!(got.1, want_counters.1, "interface counters");
    assert!(
        got.0.keys().all(|(n, _)| n != "error-drop"),
        "no main-thread-only stand-in was reached: {:?}",
        got.0
    );
    // Each worker did its share: worker 1 received only tap1's requests.
    let rx = |g: &Graph, sw: u32| {
        g.vm.if_counters
            .get(sw as usize)
            .map_or(0, |c| c.rx_packets)
    };
    assert_eq!(rx(&workers[0], tap1), PODS as u64 * 4);
    assert_eq!(rx(&workers[0], tap0), 0);
    assert_eq!(rx(&workers[1], tap0), 2 * PODS as u64 * 4 + 1);
}

#[test]
fn a_worker_graph_has_every_node_and_stands_in_for_main_thread_only_ones() {
    let mut a = App::new(Mode::Replay);
    a.exec_script(&config()).unwrap();
    let g = a.dp.graph.fork(1, 1024);
    assert_eq!(g.n_nodes(), a.dp.graph.n_nodes());
    for n in a.dp.graph.node_indices() {
        assert_eq!(g.node_name(n), a.dp.graph.node_name(n));
        assert_eq!(g.nexts(n), a.dp.graph.nexts(n), "{}", g.node_name(n));
    }
    // pg-input stays on the main thread (VPP's packet generator does too).
    let pg = g.node_index("pg-input").unwrap();
    assert!(g.node_ref::<dataplane::engine::pg::PgInput>(pg).is_none());
    assert!(a
        .dp
        .graph
        .node_ref::<dataplane::engine::pg::PgInput>(pg)
        .is_some());
}
