//! Bridge domains, BVIs, VXLAN and Geneve end to end on replay-mode (pcap-backed) interfaces:
//! learning, aging, flooding, split horizon, reflection, the BVI both ways, the bytes of VXLAN and
//! Geneve encapsulation and decapsulation, tunnel MTU, and every malformed or unexpected tunnel
//! packet dropped with its named error. Every test also checks that every buffer came back.

use dataplane::App;
use engine::clock::Clock;
use engine::replay::{inject_frame, transmitted};
use engine::Mode;
use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

const A_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const B_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const C_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0c];
const BCAST: [u8; 6] = [0xff; 6];

fn app(script: &str) -> App {
    let mut app = App::new(Mode::Replay);
    app.exec_script(script).unwrap();
    app.dp.graph.vm.clock = Clock::manual(10_000_000_000);
    app
}

fn send(app: &mut App, iface: &str, frame: Vec<u8>) {
    let now = app.dp.graph.vm.clock.now_ns();
    inject_frame(&app.dp, iface, now, frame).unwrap();
    app.dp.run_until_idle();
}

/// Frames an interface sent, emptied.
fn take(app: &App, iface: &str) -> Vec<Vec<u8>> {
    let f = transmitted(&app.dp, iface).unwrap();
    let sw = app.dp.sw_if_index(iface).unwrap();
    if let Some(Some(h)) = app.dp.devices.get(sw as usize) {
        let mut d = h.lock();
        let any: &mut dyn std::any::Any = d.as_mut();
        if let Some(m) = any.downcast_mut::<engine::interface::MemoryDevice>() {
            m.tx.clear();
        }
    }
    f
}

fn no_leaks(app: &App) {
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
}

fn errors(app: &App, node: &str, reason: &str) -> u64 {
    app.dp.graph.error_count(node, reason)
}

fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, 64)
        .udp(4000, 5000);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn arp_request(src_mac: [u8; 6], src: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&BCAST);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f.resize(60, 0);
    f
}

const BRIDGE: &str = "create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap0 up
set interface state tap1 up
set interface state tap2 up
create bridge-domain 10
set interface l2 bridge tap0 10
set interface l2 bridge tap1 10
set interface l2 bridge tap2 10";

#[test]
fn learning_flooding_and_forwarding() {
    let mut app = app(BRIDGE);
    // Unknown destination: flooded to every other member, never back to tap0.
    let f = udp_frame(A_MAC, B_MAC, [10, 0, 0, 1], [10, 0, 0, 2], b"one");
    send(&mut app, "tap0", f.clone());
    assert!(
        take(&app, "tap0").is_empty(),
        "never back to the ingress port"
    );
    assert_eq!(take(&app, "tap1"), vec![f.clone()]);
    assert_eq!(take(&app, "tap2"), vec![f.clone()]);
    // A was learned on tap0: the reply goes only there.
    let r = udp_frame(B_MAC, A_MAC, [10, 0, 0, 2], [10, 0, 0, 1], b"two");
    send(&mut app, "tap1", r.clone());
    assert_eq!(take(&app, "tap0"), vec![r]);
    assert!(take(&app, "tap2").is_empty());
    // B was learned on tap1.
    send(&mut app, "tap0", f.clone());
    assert_eq!(take(&app, "tap1"), vec![f]);
    assert!(take(&app, "tap2").is_empty());
    let fib = app.exec("show l2fib verbose").unwrap();
    assert!(fib.contains(" 02:00:00:00:00:0a "), "{fib}");
    assert!(fib.contains("tap0"), "{fib}");
    assert!(fib.contains("L2FIB total/learned entries: 2/2"), "{fib}");
    assert_eq!(errors(&app, "l2-learn", "L2 learn misses"), 2);
    assert_eq!(errors(&app, "l2-fwd", "L2 forward hits"), 2);
    // A MAC move: A now speaks from tap2.
    send(
        &mut app,
        "tap2",
        udp_frame(A_MAC, B_MAC, [10, 0, 0, 1], [10, 0, 0, 2], b"moved"),
    );
    assert_eq!(errors(&app, "l2-learn", "L2 mac moves"), 1);
    take(&app, "tap1");
    send(
        &mut app,
        "tap1",
        udp_frame(B_MAC, A_MAC, [10, 0, 0, 2], [10, 0, 0, 1], b"back"),
    );
    assert_eq!(take(&app, "tap2").len(), 1, "forwarded to where A moved");
    assert!(take(&app, "tap0").is_empty());
    no_leaks(&app);
}

#[test]
fn reflection_and_static_macs() {
    let mut app = app(BRIDGE);
    app.exec("l2fib add 02:00:00:00:00:0b 10 tap0 static")
        .unwrap();
    // B is (statically) on tap0: a frame from tap0 to B would go back where it came from.
    send(
        &mut app,
        "tap0",
        udp_frame(A_MAC, B_MAC, [10, 0, 0, 1], [10, 0, 0, 2], b"x"),
    );
    assert_eq!(errors(&app, "l2-fwd", "Reflection Drop"), 1);
    // A static MAC does not move: a frame sourced from it elsewhere is a violation, dropped.
    send(
        &mut app,
        "tap1",
        udp_frame(B_MAC, A_MAC, [10, 0, 0, 2], [10, 0, 0, 1], b"y"),
    );
    assert_eq!(errors(&app, "l2-learn", "L2 mac move violations"), 1);
    // Filter entries drop both ways.
    app.exec("l2fib add 02:00:00:00:00:0c 10 filter").unwrap();
    send(
        &mut app,
        "tap1",
        udp_frame(A_MAC, C_MAC, [10, 0, 0, 1], [10, 0, 0, 3], b"z"),
    );
    assert_eq!(errors(&app, "l2-fwd", "Filter Mac Drop"), 1);
    app.exec("l2fib del 02:00:00:00:00:0b 10").unwrap();
    assert!(app.exec("l2fib del 02:00:00:00:00:0b 10").is_err());
    for t in ["tap0", "tap1", "tap2"] {
        take(&app, t);
    }
    no_leaks(&app);
}

#[test]
fn aging_removes_idle_learned_macs() {
    let mut app = app(BRIDGE);
    app.exec("set bridge-domain mac-age 10 2").unwrap();
    send(
        &mut app,
        "tap0",
        udp_frame(A_MAC, B_MAC, [10, 0, 0, 1], [10, 0, 0, 2], b"x"),
    );
    app.exec("l2fib add 02:00:00:00:00:0c 10 tap2 static")
        .unwrap();
    let fib = app.exec("show l2fib").unwrap();
    assert!(fib.contains("L2FIB total/learned entries: 2/1"), "{fib}");
    // One minute later: still there (aging is two minutes).
    app.dp
        .graph
        .vm
        .clock
        .set_ns(10_000_000_000 + 61_000_000_000);
    app.dp.run_until_idle();
    assert!(app.exec("show l2fib").unwrap().contains("2/1"));
    // Three minutes idle: the scanner removes the learned entry, not the static one.
    app.dp
        .graph
        .vm
        .clock
        .set_ns(10_000_000_000 + 181_000_000_000);
    app.dp.run_until_idle();
    let fib = app.exec("show l2fib verbose").unwrap();
    assert!(fib.contains("L2FIB total/learned entries: 1/0"), "{fib}");
    assert!(fib.contains("02:00:00:00:00:0c"), "{fib}");
    for t in ["tap0", "tap1", "tap2"] {
        take(&app, t);
    }
    no_leaks(&app);
}

#[test]
fn split_horizon_keeps_frames_out_of_their_group() {
    let mut app = app("create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap0 up
set interface state tap1 up
set interface state tap2 up
create bridge-domain 20
set interface l2 bridge tap0 20
set interface l2 bridge tap1 20 shg 1
set interface l2 bridge tap2 20 shg 1");
    // Broadcast from tap1 (group 1): to tap0 only, not to tap2 (group 1) nor back.
    let b = udp_frame(A_MAC, BCAST, [10, 0, 0, 1], [10, 0, 0, 255], b"bc");
    send(&mut app, "tap1", b.clone());
    assert_eq!(take(&app, "tap0"), vec![b]);
    assert!(take(&app, "tap2").is_empty());
    assert!(take(&app, "tap1").is_empty());
    // C learned on tap2; unicast from tap1 (same group) to C is dropped by l2-output.
    send(
        &mut app,
        "tap2",
        udp_frame(C_MAC, BCAST, [10, 0, 0, 3], [10, 0, 0, 255], b"c"),
    );
    take(&app, "tap0");
    send(
        &mut app,
        "tap1",
        udp_frame(A_MAC, C_MAC, [10, 0, 0, 1], [10, 0, 0, 3], b"u"),
    );
    assert!(take(&app, "tap2").is_empty());
    assert_eq!(errors(&app, "l2-output", "L2 split horizon drops"), 1);
    // A domain whose members are all in one group has nobody to flood to.
    app.exec("set interface l3 tap0").unwrap();
    send(
        &mut app,
        "tap1",
        udp_frame(A_MAC, BCAST, [10, 0, 0, 1], [10, 0, 0, 255], b"bc"),
    );
    assert_eq!(errors(&app, "l2-flood", "L2 replication complete"), 1);
    no_leaks(&app);
}

#[test]
fn flooding_and_forwarding_switches() {
    let mut app = app(BRIDGE);
    app.exec("set bridge-domain uu-flood 10 disable").unwrap();
    send(
        &mut app,
        "tap0",
        udp_frame(A_MAC, B_MAC, [10, 0, 0, 1], [10, 0, 0, 2], b"x"),
    );
    assert!(take(&app, "tap1").is_empty());
    assert_eq!(errors(&app, "l2-fwd", "L2 forward misses"), 1);
    app.exec("set bridge-domain flood 10 disable").unwrap();
    send(
        &mut app,
        "tap0",
        udp_frame(A_MAC, BCAST, [10, 0, 0, 1], [10, 0, 0, 255], b"b"),
    );
    assert!(take(&app, "tap1").is_empty());
    assert_eq!(
        errors(
            &app,
            "feature-bitmap-drop",
            "L2 feature forwarding disabled"
        ),
        1
    );
    let bd = app.exec("show bridge-domain 10 detail").unwrap();
    assert!(bd.contains("   10       1      0     off        on        on       off       off       off       N/A"), "{bd}");
    assert!(bd.contains("tap1"), "{bd}");
    no_leaks(&app);
}

const BVI: &str = "create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 3 hw-addr 02:fe:00:00:00:03
create loopback interface mac 02:fe:00:00:00:bb instance 0
set interface state tap0 up
set interface state tap1 up
set interface state tap3 up
set interface state loop0 up
create bridge-domain 1
set interface l2 bridge loop0 1 bvi
set interface l2 bridge tap0 1
set interface l2 bridge tap1 1
set interface ip address loop0 10.1.0.1/24
set interface ip address tap3 10.9.0.1/24
set ip neighbor tap3 10.9.0.2 02:00:00:00:00:99 static";

#[test]
fn bvi_answers_arp_and_routes_both_ways() {
    let mut app = app(BVI);
    // A pod in the bridge domain ARPs for the BVI's address: the BVI answers through l2-fwd.
    send(
        &mut app,
        "tap0",
        arp_request(A_MAC, [10, 1, 0, 5], [10, 1, 0, 1]),
    );
    take(&app, "tap1"); // the request is flooded to the other member too
    let r = take(&app, "tap0");
    assert_eq!(r.len(), 1, "ARP reply");
    assert_eq!(&r[0][0..6], &A_MAC);
    assert_eq!(
        &r[0][6..12],
        &[0x02, 0xfe, 0, 0, 0, 0xbb],
        "from the BVI's MAC"
    );
    assert_eq!(&r[0][20..22], &[0, 2], "an ARP reply");
    // The pod's address was learned: routed traffic from tap3 reaches it through the BVI.
    send(
        &mut app,
        "tap3",
        udp_frame(
            [0x02, 0, 0, 0, 0, 0x99],
            [0x02, 0xfe, 0, 0, 0, 3],
            [10, 9, 0, 2],
            [10, 1, 0, 5],
            b"in",
        ),
    );
    let f = take(&app, "tap0");
    assert_eq!(
        f.len(),
        1,
        "routed into the bridge domain, to the learned port only"
    );
    assert!(take(&app, "tap1").is_empty());
    assert_eq!(&f[0][0..6], &A_MAC);
    assert_eq!(&f[0][6..12], &[0x02, 0xfe, 0, 0, 0, 0xbb]);
    let p = SlicedPacket::from_ethernet(&f[0]).unwrap();
    let Some(NetSlice::Ipv4(ip)) = p.net else {
        panic!()
    };
    assert_eq!(ip.header().ttl(), 63);
    // And back: the pod sends to the BVI's MAC, the packet is routed out of tap3.
    send(
        &mut app,
        "tap0",
        udp_frame(
            A_MAC,
            [0x02, 0xfe, 0, 0, 0, 0xbb],
            [10, 1, 0, 5],
            [10, 9, 0, 2],
            b"out",
        ),
    );
    let o = take(&app, "tap3");
    assert_eq!(o.len(), 1);
    assert_eq!(&o[0][0..6], &[0x02, 0, 0, 0, 0, 0x99]);
    // A unicast frame to another MAC that ends at the BVI entry... a wrong MAC is dropped.
    send(
        &mut app,
        "tap0",
        udp_frame(
            A_MAC,
            [0x02, 0xfe, 0, 0, 0, 0xbc],
            [10, 1, 0, 5],
            [10, 9, 0, 2],
            b"x",
        ),
    );
    take(&app, "tap1");
    no_leaks(&app);
    // The BVI's MAC is a static FIB entry; show bridge-domain names the BVI.
    let fib = app.exec("show l2fib verbose").unwrap();
    assert!(fib.contains("02:fe:00:00:00:bb"), "{fib}");
    let bd = app.exec("show bridge-domain 1 detail").unwrap();
    assert!(bd.contains("loop0"), "{bd}");
    let mode = app.exec("show mode loop0 tap0 tap3").unwrap();
    assert_eq!(
        mode,
        "l2 bridge loop0 bd_id 1 bvi shg 0\nl2 bridge tap0 bd_id 1 shg 0\nl3 tap3"
    );
    // Back to L3: the loopback's tx goes to ethernet-input again, its MAC leaves the FIB.
    app.exec("set interface l3 loop0").unwrap();
    assert!(!app
        .exec("show l2fib verbose")
        .unwrap()
        .contains("02:fe:00:00:00:bb"));
    assert!(app.exec("show bridge-domain 1").unwrap().contains("N/A"));
}

#[test]
fn only_a_loopback_can_be_a_bvi_and_one_per_domain() {
    let mut app = app(BVI);
    let e = app.exec("set interface l2 bridge tap3 1 bvi").unwrap_err();
    assert!(e.message().contains("only a loopback can be a BVI"), "{e}");
    app.exec("create loopback interface instance 7").unwrap();
    let e = app.exec("set interface l2 bridge loop7 1 bvi").unwrap_err();
    assert!(e.message().contains("already has a BVI"), "{e}");
    assert!(
        app.exec("show mode loop7").unwrap().starts_with("l3"),
        "nothing changed"
    );
    for (cmd, want) in [
        ("create bridge-domain 0", "default bridge domain"),
        ("create bridge-domain 1", "already exists"),
        ("create bridge-domain 5 learn 2", "takes 0 or 1"),
        ("create bridge-domain 5 mac-age 300", "less than 256"),
        ("create bridge-domain 1 del", "in use"),
        ("set interface l2 bridge tap3 16777216", "16M limit"),
        ("l2fib add 01:00:5e:00:00:01 1 tap0", "multicast MAC"),
        (
            "l2fib add 02:00:00:00:00:01 99 tap0",
            "bridge domain ID 99 invalid",
        ),
        ("show bridge-domain 99", "No such bridge domain 99"),
        (
            "set bridge-domain arp entry 1 10.1.0.9 01:00:00:00:00:01",
            "multicast MAC",
        ),
    ] {
        let e = app.exec(cmd).unwrap_err();
        assert!(e.message().contains(want), "`{cmd}`: {e}");
        assert!(!e.message().contains('\n'));
    }
}

#[test]
fn arp_termination_answers_for_known_addresses() {
    let mut app = app(BRIDGE);
    app.exec("set bridge-domain arp term 10").unwrap();
    app.exec("set bridge-domain arp entry 10 10.0.0.2 02:00:00:00:00:0b")
        .unwrap();
    send(
        &mut app,
        "tap0",
        arp_request(A_MAC, [10, 0, 0, 1], [10, 0, 0, 2]),
    );
    let r = take(&app, "tap0");
    assert_eq!(r.len(), 1, "answered in place");
    assert_eq!(&r[0][6..12], &B_MAC);
    assert_eq!(&r[0][22..28], &B_MAC, "sender MAC is the answer");
    assert!(take(&app, "tap1").is_empty(), "not flooded");
    // Unknown addresses are flooded as usual.
    send(
        &mut app,
        "tap0",
        arp_request(A_MAC, [10, 0, 0, 1], [10, 0, 0, 9]),
    );
    assert_eq!(take(&app, "tap1").len(), 1);
    take(&app, "tap2");
    let bd = app.exec("show bridge-domain 10 arp").unwrap();
    assert!(bd.contains("10.0.0.2"), "{bd}");
    no_leaks(&app);
}

// ---------------------------------------------------------------------------------------------
// Tunnels.

const UPLINK_MAC: [u8; 6] = [0x08, 0, 0x27, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x08, 0, 0x27, 0, 0, 0x02];

fn tunnel_node(kind: &str) -> App {
    let create = match kind {
        "vxlan" => "create vxlan tunnel src 192.168.16.1 dst 192.168.16.2 vni 10",
        _ => "create geneve tunnel local 192.168.16.1 remote 192.168.16.2 vni 10",
    };
    let name = if kind == "vxlan" {
        "vxlan_tunnel0"
    } else {
        "geneve_tunnel0"
    };
    app(&format!(
        "create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:00:00:01
create tap id 0 hw-addr 02:fe:00:00:00:00
set interface state GigabitEthernet0/8/0 up
set interface state tap0 up
set interface ip address GigabitEthernet0/8/0 192.168.16.1/24
set ip neighbor GigabitEthernet0/8/0 192.168.16.2 08:00:27:00:00:02 static
{create}
create bridge-domain 1 learn 1
set interface l2 bridge tap0 1
set interface l2 bridge {name} 1
l2fib add 02:00:00:00:00:0b 1 {name} static
trace add dpdk-input 10
trace add virtio-input 10"
    ))
}

/// An outer IPv4/UDP packet from the peer to us carrying `payload`.
fn outer(dport: u16, sport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(PEER_MAC, UPLINK_MAC)
        .ipv4([192, 168, 16, 2], [192, 168, 16, 1], 64)
        .udp(sport, dport);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    // VXLAN and Geneve senders leave the UDP checksum at 0.
    v[40] = 0;
    v[41] = 0;
    v
}

fn vxlan_hdr(flags: u8, vni: u32) -> Vec<u8> {
    let mut h = vec![flags, 0, 0, 0];
    h.extend_from_slice(&(vni << 8).to_be_bytes());
    h
}

fn geneve_hdr(opt_words: u8, flags: u8, proto: u16, vni: u32) -> Vec<u8> {
    let mut h = vec![opt_words, flags];
    h.extend_from_slice(&proto.to_be_bytes());
    h.extend_from_slice(&(vni << 8).to_be_bytes());
    h
}

#[test]
fn vxlan_encap_bytes_are_vpps() {
    let mut app = tunnel_node("vxlan");
    let inner = udp_frame(A_MAC, B_MAC, [10, 1, 1, 12], [10, 1, 2, 13], b"payload!");
    send(&mut app, "tap0", inner.clone());
    let out = take(&app, "GigabitEthernet0/8/0");
    assert_eq!(out.len(), 1);
    let f = &out[0];
    assert_eq!(&f[0..6], &PEER_MAC);
    assert_eq!(&f[6..12], &UPLINK_MAC);
    let p = SlicedPacket::from_ethernet(f).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!()
    };
    let h = ip.header().to_header();
    assert_eq!(
        h.header_checksum,
        h.calc_header_checksum(),
        "outer IPv4 checksum"
    );
    assert_eq!(h.identification, 0, "outer id 0");
    assert!(!h.dont_fragment, "outer DF clear");
    assert_eq!(h.time_to_live, 253, "ttl 254, one hop");
    assert_eq!(h.total_len as usize, inner.len() + 36);
    let Some(TransportSlice::Udp(u)) = &p.transport else {
        panic!()
    };
    assert_eq!(u.destination_port(), 4789);
    assert_eq!(u.checksum(), 0, "UDP checksum 0");
    assert_eq!(u.length() as usize, inner.len() + 16);
    // The source port is the low 16 bits of VPP's flow hash of the inner packet, unswapped.
    let hash = graph_nodes::fib::ip4_flow_hash(&inner[14..]);
    assert_eq!(u.source_port(), (hash as u16).swap_bytes());
    assert_eq!(&u.payload()[..8], &vxlan_hdr(0x08, 10)[..]);
    assert_eq!(&u.payload()[8..], &inner[..], "the inner frame untouched");
    // The tunnel counts what it sent.
    let sw = app.dp.sw_if_index("vxlan_tunnel0").unwrap();
    assert_eq!(app.dp.graph.vm.if_counters[sw as usize].tx_packets, 1);
    no_leaks(&app);
}

#[test]
fn vxlan_source_ports_are_the_documented_ones() {
    // scenarios.md §0.6: the four VXLAN encapsulations of the Contiv two-node documents.
    for (src, sport, dst, dport, want) in [
        ([10, 1, 1, 12], 60996, [10, 1, 2, 13], 8080, 50038u16),
        ([10, 1, 2, 13], 8080, [10, 1, 1, 12], 60996, 50493),
        ([10, 1, 1, 3], 49710, [10, 1, 2, 4], 8080, 60039),
        ([10, 1, 2, 4], 8080, [10, 1, 1, 3], 49710, 25569),
    ] {
        let b = PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, 1, 100);
        let mut ip = Vec::new();
        b.write(&mut ip, &[]).unwrap();
        let h = graph_nodes::fib::ip4_flow_hash(&ip);
        assert_eq!((h as u16).swap_bytes(), want);
    }
}

#[test]
fn vxlan_decap_delivers_the_inner_frame() {
    let mut app = tunnel_node("vxlan");
    let inner = udp_frame(B_MAC, A_MAC, [10, 1, 2, 13], [10, 1, 1, 12], b"from B");
    let mut pl = vxlan_hdr(0x08, 10);
    pl.extend_from_slice(&inner);
    // A was learned on tap0 first, so the reply is forwarded, not flooded.
    send(
        &mut app,
        "tap0",
        udp_frame(A_MAC, B_MAC, [10, 1, 1, 12], [10, 1, 2, 13], b"x"),
    );
    take(&app, "GigabitEthernet0/8/0");
    send(&mut app, "GigabitEthernet0/8/0", outer(4789, 50493, &pl));
    assert_eq!(take(&app, "tap0"), vec![inner]);
    assert_eq!(errors(&app, "vxlan4-input", "good packets decapsulated"), 1);
    // B was learned on the tunnel (learning is on in this domain).
    let fib = app.exec("show l2fib verbose").unwrap();
    assert!(fib.contains("vxlan_tunnel0"), "{fib}");
    let t = app.exec("show trace").unwrap();
    assert!(
        t.contains("VXLAN decap from vxlan_tunnel0 vni 10 next 1 error 0"),
        "{t}"
    );
    assert!(t.contains("UDP: src-port 50493 dst-port 4789"), "{t}");
    assert!(t.contains("VXLAN encap to vxlan_tunnel0 vni 10"), "{t}");
    no_leaks(&app);
}

#[test]
fn bad_vxlan_packets_are_counted_drops() {
    let mut app = tunnel_node("vxlan");
    let inner = udp_frame(B_MAC, A_MAC, [10, 1, 2, 13], [10, 1, 1, 12], b"i");
    let with = |h: Vec<u8>, body: &[u8]| {
        let mut v = h;
        v.extend_from_slice(body);
        v
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with(vxlan_hdr(0x08, 11), &inner), "no such tunnel packets"),
        (
            with(vxlan_hdr(0x00, 10), &inner),
            "packets with bad flags field in vxlan header",
        ),
        (vec![0x08, 0, 0], "packets too short for a vxlan header"),
        (
            with(vxlan_hdr(0x08, 10), &inner[..10]),
            "inner frame shorter than an ethernet header",
        ),
    ];
    for (payload, reason) in cases {
        send(
            &mut app,
            "GigabitEthernet0/8/0",
            outer(4789, 1234, &payload),
        );
        assert_eq!(errors(&app, "vxlan4-input", reason), 1, "{reason}");
    }
    assert!(take(&app, "tap0").is_empty());
    let t = app.exec("show trace").unwrap();
    assert!(
        t.contains("VXLAN decap error - tunnel for vni 11 does not exist"),
        "{t}"
    );
    // A VXLAN packet from an address that has no tunnel.
    let mut f = outer(4789, 1234, &with(vxlan_hdr(0x08, 10), &inner));
    f[26..30].copy_from_slice(&[192, 168, 16, 9]);
    let c = etherparse::Ipv4HeaderSlice::from_slice(&f[14..34])
        .unwrap()
        .to_header()
        .calc_header_checksum();
    f[24..26].copy_from_slice(&c.to_be_bytes());
    send(&mut app, "GigabitEthernet0/8/0", f);
    assert_eq!(errors(&app, "vxlan4-input", "no such tunnel packets"), 2);
    no_leaks(&app);
}

#[test]
fn geneve_decap_skips_options_and_checks_them() {
    let mut app = tunnel_node("geneve");
    let inner = udp_frame(B_MAC, A_MAC, [10, 1, 2, 13], [10, 1, 1, 12], b"from B");
    send(
        &mut app,
        "tap0",
        udp_frame(A_MAC, B_MAC, [10, 1, 1, 12], [10, 1, 2, 13], b"x"),
    );
    let enc = take(&app, "GigabitEthernet0/8/0");
    let g = &enc[0][42..];
    assert_eq!(
        &g[..8],
        &geneve_hdr(0, 0, 0x6558, 10)[..],
        "no options, TEB"
    );
    let sport = u16::from_be_bytes([enc[0][34], enc[0][35]]);
    assert!(sport >= 49152, "ephemeral source port {sport}");
    // 8 bytes of options are skipped.
    let mut pl = geneve_hdr(2, 0, 0x6558, 10);
    pl.extend_from_slice(&[0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef]);
    pl.extend_from_slice(&inner);
    send(&mut app, "GigabitEthernet0/8/0", outer(6081, 5000, &pl));
    assert_eq!(take(&app, "tap0"), vec![inner.clone()]);
    // Options running past the packet, a critical option, another protocol, a version 1 header,
    // an unknown VNI.
    let body = |mut h: Vec<u8>, b: &[u8]| {
        h.extend_from_slice(b);
        h
    };
    for (payload, reason) in [
        (
            body(geneve_hdr(30, 0, 0x6558, 10), &inner[..20]),
            "packets with invalid options length",
        ),
        (
            body(geneve_hdr(0, 0x40, 0x6558, 10), &inner),
            "packets with bad flags field in geneve header",
        ),
        (
            body(geneve_hdr(0x40, 0, 0x6558, 10), &inner),
            "packets with bad flags field in geneve header",
        ),
        (
            body(geneve_hdr(0, 0, 0x86dd, 10), &inner),
            "payload protocol not supported",
        ),
        (
            body(geneve_hdr(0, 0, 0x6558, 12), &inner),
            "no such tunnel packets",
        ),
        (vec![0, 0, 0x65], "packets too short for a geneve header"),
    ] {
        let before = errors(&app, "geneve4-input", reason);
        send(
            &mut app,
            "GigabitEthernet0/8/0",
            outer(6081, 5000, &payload),
        );
        assert_eq!(
            errors(&app, "geneve4-input", reason),
            before + 1,
            "{reason}"
        );
    }
    assert!(take(&app, "tap0").is_empty());
    no_leaks(&app);
}

#[test]
fn tunnel_commands_show_and_refuse_nonsense() {
    let mut app = tunnel_node("vxlan");
    assert_eq!(
        app.exec("show vxlan tunnel").unwrap(),
        "[0] src 192.168.16.1 dst 192.168.16.2 vni 10 sw_if_index 3 encap_fib_index 0 fib_entry_index 7 decap_next l2"
    );
    for (cmd, want) in [
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.2 vni 10",
            "already exists",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.1 vni 11",
            "identical",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 224.0.0.5 vni 11",
            "not a unicast",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.3 vni 16777216",
            "24 bits",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.3",
            "vni not specified",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.3 vni 1 encap-vrf-id 7",
            "encap-vrf-id 7 does not exist",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.3 vni 1 instance 0",
            "instance 0 is in use",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.9 vni 1 del",
            "does not exist",
        ),
        (
            "create vxlan tunnel src 192.168.16.1 dst 192.168.16.3 vni 1 decap-next node nope",
            "does not exist",
        ),
        (
            "create geneve tunnel local 192.168.16.1 vni 3",
            "remote address not specified",
        ),
    ] {
        let e = app.exec(cmd).unwrap_err();
        assert!(e.message().contains(want), "`{cmd}`: {e}");
    }
    assert_eq!(
        app.exec("show vxlan tunnel").unwrap().lines().count(),
        1,
        "nothing changed"
    );
    // A second tunnel with an instance number; delete the first; its index is reused.
    assert_eq!(
        app.exec("create vxlan tunnel src 192.168.16.1 dst 192.168.16.3 vni 20 instance 7")
            .unwrap(),
        "vxlan_tunnel7"
    );
    app.exec("set interface l3 vxlan_tunnel0").unwrap();
    app.exec("create vxlan tunnel src 192.168.16.1 dst 192.168.16.2 vni 10 del")
        .unwrap();
    assert!(app.exec("show interface vxlan_tunnel0").is_err());
    assert_eq!(
        app.exec("create vxlan tunnel src 192.168.16.1 dst 192.168.16.4 vni 30")
            .unwrap(),
        "vxlan_tunnel0",
        "pool index 0 again"
    );
    assert_eq!(
        app.exec("show geneve tunnel").unwrap(),
        "No geneve tunnels configured..."
    );
    app.exec("create geneve tunnel local 192.168.16.1 remote 192.168.16.2 vni 5 l3-mode")
        .unwrap();
    let g = app.exec("show geneve tunnel").unwrap();
    assert!(
        g.starts_with("[0] lcl 192.168.16.1 rmt 192.168.16.2 vni 5 fib-idx 0 sw-if-idx"),
        "{g}"
    );
    assert!(g.ends_with("decap-next-ip4 l3-mode 1 "), "{g}");
}

/// Pod on node A routed via the BVI into a VXLAN bridge domain (the Contiv shape), for the MTU.
const ROUTED: &str = "create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:00:00:01
create tap id 1 hw-addr 02:fe:00:00:00:01
create loopback interface mac 1a:2b:3c:4d:5e:01 instance 0
set interface state GigabitEthernet0/8/0 up
set interface state tap1 up
set interface state loop0 up
set interface ip address GigabitEthernet0/8/0 192.168.16.1/24
set ip neighbor GigabitEthernet0/8/0 192.168.16.2 08:00:27:00:00:02 static
set interface ip address loop0 192.168.30.1/24
set ip neighbor loop0 192.168.30.2 1a:2b:3c:4d:5e:02 static
ip route add 10.1.2.0/24 via 192.168.30.2
set interface ip address tap1 10.1.1.1/24
set ip neighbor tap1 10.1.1.12 02:00:00:00:00:0a static
create vxlan tunnel src 192.168.16.1 dst 192.168.16.2 vni 10
create bridge-domain 1 learn 0 flood 0 uu-flood 0
set interface l2 bridge loop0 1 bvi shg 1
set interface l2 bridge vxlan_tunnel0 1 shg 1
l2fib add 1a:2b:3c:4d:5e:02 1 vxlan_tunnel0 static
set interface mtu 600 GigabitEthernet0/8/0";

fn pod_packet(len: usize, df: bool) -> Vec<u8> {
    let mut f = udp_frame(
        A_MAC,
        [0x02, 0xfe, 0, 0, 0, 1],
        [10, 1, 1, 12],
        [10, 1, 2, 13],
        &vec![0x55; len],
    );
    if !df {
        f[20] = 0;
        let c = etherparse::Ipv4HeaderSlice::from_slice(&f[14..34])
            .unwrap()
            .to_header()
            .calc_header_checksum();
        f[24..26].copy_from_slice(&c.to_be_bytes());
    }
    f
}

#[test]
fn tunnel_mtu_sends_fragmentation_needed_or_drops() {
    let mut app = app(ROUTED);
    // Fits: 500 bytes of IP inside, 550 outside.
    send(&mut app, "tap1", pod_packet(472, true));
    assert_eq!(take(&app, "GigabitEthernet0/8/0").len(), 1);
    // Does not fit after encapsulation, DF set: ICMP fragmentation needed back to the pod, with
    // the largest inner packet that fits (600 - 36 outer - 14 inner Ethernet = 550).
    send(&mut app, "tap1", pod_packet(560, true));
    assert!(
        take(&app, "GigabitEthernet0/8/0").is_empty(),
        "never sent oversized"
    );
    let back = take(&app, "tap1");
    assert_eq!(back.len(), 1);
    let p = SlicedPacket::from_ethernet(&back[0]).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!()
    };
    assert_eq!(
        ip.header().destination_addr(),
        std::net::Ipv4Addr::new(10, 1, 1, 12)
    );
    let Some(TransportSlice::Icmpv4(icmp)) = &p.transport else {
        panic!("ICMP")
    };
    assert_eq!((icmp.type_u8(), icmp.code_u8()), (3, 4));
    assert_eq!(&icmp.bytes5to8()[2..4], &550u16.to_be_bytes());
    assert_eq!(
        errors(
            &app,
            "vxlan4-encap",
            "too big for the uplink after encapsulation, ICMP fragmentation-needed sent"
        ),
        1
    );
    // No DF: dropped, counted.
    send(&mut app, "tap1", pod_packet(560, false));
    assert!(take(&app, "GigabitEthernet0/8/0").is_empty());
    assert!(take(&app, "tap1").is_empty());
    assert_eq!(
        errors(
            &app,
            "vxlan4-encap",
            "too big for the uplink after encapsulation (no DF: dropped)"
        ),
        1
    );
    no_leaks(&app);
}

#[test]
fn loopback_sends_nothing_to_memory() {
    // A plain loopback hands what it sends back to ethernet-input: nothing is kept.
    let mut app = app("create loopback interface mac 02:fe:00:00:00:77 instance 3
set interface state loop3 up
set interface ip address loop3 10.77.0.1/24
set ip neighbor loop3 10.77.0.2 02:00:00:00:00:78 static
create tap id 0 hw-addr 02:fe:00:00:00:00
set interface state tap0 up
set interface ip address tap0 10.1.0.1/24");
    assert!(app.dp.devices[app.dp.sw_if_index("loop3").unwrap() as usize].is_none());
    for _ in 0..100 {
        send(
            &mut app,
            "tap0",
            udp_frame(
                A_MAC,
                [0x02, 0xfe, 0, 0, 0, 0],
                [10, 1, 0, 2],
                [10, 77, 0, 2],
                b"x",
            ),
        );
    }
    // Back in through ethernet-input, addressed to another MAC: dropped, counted.
    assert_eq!(errors(&app, "ethernet-input", "l3 mac mismatch"), 100);
    no_leaks(&app);
}

/// Run a bench script with one packet from a pg stream on pg0; what pg1 sent.
fn bench_script(script: &str, frame: &[u8]) -> (App, Vec<Vec<u8>>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/bench");
    let mut app = App::new(Mode::Replay);
    app.exec_file(&dir.join(script)).unwrap();
    let sw = app.dp.sw_if_index("pg1").unwrap();
    if let Some(Some(h)) = app.dp.devices.get(sw as usize) {
        let mut d = h.lock();
        let any: &mut dyn std::any::Any = d.as_mut();
        any.downcast_mut::<engine::interface::MemoryDevice>()
            .expect("pg interfaces are memory devices")
            .capture_tx = true;
    }
    let pcap = std::env::temp_dir().join(format!("dp-bench-{}-{script}.pcap", std::process::id()));
    engine::pcap::write_pcap(&pcap, [(0u64, frame)]).unwrap();
    app.exec("trace add pg-input 1").unwrap();
    app.exec(&format!(
        "packet-generator new {{ name s0 limit 1 interface pg0 pcap {} }}",
        pcap.display()
    ))
    .unwrap();
    app.exec("packet-generator enable-stream").unwrap();
    app.dp.run_until_idle();
    std::fs::remove_file(&pcap).ok();
    let f = take(&app, "pg1");
    (app, f)
}

/// `ci/bench/vxlan-encap.cli` and `vxlan-decap.cli` do what they say: the encap node's uplink
/// sends exactly the decap script's stream (`vxlan-syn.pcap`, but for the outer MACs and the
/// source port), and the decap node hands the pod the inner packet.
#[test]
fn the_vxlan_bench_scripts_carry_the_bench_packet_both_ways() {
    let syn = dataplane::pcapgen::TcpFrame::bench_syn(46310).build();
    let wrapped = dataplane::pcapgen::vxlan_bench_syn(46310);

    let (mut enc, f) = bench_script("vxlan-encap.cli", &syn);
    assert_eq!(f.len(), 1, "{}", enc.exec("show errors").unwrap());
    assert_eq!(&f[0][..6], &[0x02, 0, 0, 0, 0, 0x20], "to the remote node");
    assert_eq!(
        &f[0][6..12],
        &[0x02, 0xfe, 0x25, 0x4f, 0x0e, 0x4e],
        "from the uplink"
    );
    assert_eq!(&f[0][12..34], &wrapped[12..34], "outer IPv4 header");
    assert_eq!(
        &f[0][36..],
        &wrapped[36..],
        "UDP port, length, VXLAN and inner frame"
    );
    let tr = enc.exec("show trace").unwrap();
    for node in [
        "ip4-lookup",
        "loop0-output",
        "l2-input",
        "l2-fwd",
        "l2-output",
        "vxlan4-encap",
        "ip4-load-balance",
        "pg1-output",
    ] {
        assert!(tr.contains(&format!(": {node}\n")), "{node} missing: {tr}");
    }
    no_leaks(&enc);

    let (mut dec, f) = bench_script("vxlan-decap.cli", &wrapped);
    assert_eq!(f.len(), 1, "{}", dec.exec("show errors").unwrap());
    assert_eq!(&f[0][..6], &[0x02, 0, 0, 0, 0, 0x20], "to the pod");
    assert_eq!(f[0][22], 62, "routed on both nodes");
    assert_eq!(&f[0][34..], &syn[34..], "the TCP segment");
    let tr = dec.exec("show trace").unwrap();
    for node in [
        "ip4-local",
        "ip4-udp-lookup",
        "vxlan4-input",
        "l2-input",
        "l2-fwd",
        "ip4-rewrite",
    ] {
        assert!(tr.contains(&format!(": {node}\n")), "{node} missing: {tr}");
    }
    no_leaks(&dec);
}
