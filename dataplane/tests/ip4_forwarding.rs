//! IPv4 forwarding behaviour end to end, on replay-mode (pcap-backed) taps: pods on two
//! interfaces ping each other and open TCP; TTL expiry, unreachable ports and oversize packets get
//! ICMP errors; ARP answers and learns; unresolved next hops glean; malformed frames are dropped
//! with named errors and every buffer comes back.

use dataplane::pcapgen::TcpFrame;
use dataplane::App;
use engine::clock::Clock;
use engine::replay::{inject_frame, transmitted};
use engine::Mode;
use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

const TAP0_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 0x01];
const TAP1_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 0x02];
const A_MAC: [u8; 6] = [0, 0, 0, 0, 0, 0x0a];
const B_MAC: [u8; 6] = [0, 0, 0, 0, 0, 0x0b];
const A: [u8; 4] = [10, 1, 1, 2];
const B: [u8; 4] = [10, 1, 2, 2];

fn setup() -> App {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create tap id 0 hw-addr 02:fe:00:00:00:01
create tap id 1 hw-addr 02:fe:00:00:00:02
set interface state tap0 up
set interface state tap1 up
set interface ip address tap0 10.1.1.1/24
set interface ip address tap1 10.1.2.1/24
set ip neighbor tap0 10.1.1.2 00:00:00:00:00:0a static
set ip neighbor tap1 10.1.2.2 00:00:00:00:00:0b static
trace add virtio-input 100",
    )
    .unwrap();
    app.dp.graph.vm.clock = Clock::manual(1_000_000_000);
    app
}

fn send(app: &mut App, iface: &str, frame: Vec<u8>) {
    let now = app.dp.graph.vm.clock.now_ns();
    inject_frame(&app.dp, iface, now, frame).unwrap();
    app.dp.run_until_idle();
}

fn out(app: &App, iface: &str) -> Vec<Vec<u8>> {
    transmitted(&app.dp, iface).unwrap()
}

fn ping(src_mac: [u8; 6], dst_mac: [u8; 6], src: [u8; 4], dst: [u8; 4], ttl: u8) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, ttl)
        .icmpv4_echo_request(0x1234, 7);
    let payload = [0x42u8; 32];
    let mut v = Vec::new();
    b.write(&mut v, &payload).unwrap();
    v
}

fn udp(src: [u8; 4], dst: [u8; 4], dport: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(A_MAC, TAP0_MAC)
        .ipv4(src, dst, 64)
        .udp(5555, dport);
    let mut v = Vec::new();
    b.write(&mut v, b"hello").unwrap();
    v
}

/// Parse and check a frame with a second parser: returns (ip header fields, transport).
fn check(frame: &[u8]) -> SlicedPacket<'_> {
    let p = SlicedPacket::from_ethernet(frame).expect("frame parses");
    if let Some(NetSlice::Ipv4(ip)) = &p.net {
        let h = ip.header().to_header();
        assert_eq!(
            h.header_checksum,
            h.calc_header_checksum(),
            "IPv4 header checksum valid"
        );
    }
    p
}

fn ipv4(p: &SlicedPacket<'_>) -> etherparse::Ipv4Header {
    match &p.net {
        Some(NetSlice::Ipv4(ip)) => ip.header().to_header(),
        _ => panic!("not IPv4"),
    }
}

fn no_leaks(app: &App) {
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
}

#[test]
fn ping_and_tcp_between_pods() {
    let mut app = setup();
    send(&mut app, "tap0", ping(A_MAC, TAP0_MAC, A, B, 64));
    let f = out(&app, "tap1");
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][0..6], &B_MAC, "destination is pod B's MAC");
    assert_eq!(&f[0][6..12], &TAP1_MAC, "source is tap1's MAC");
    let p = check(&f[0]);
    let ip = ipv4(&p);
    assert_eq!(ip.time_to_live, 63);
    assert_eq!((ip.source, ip.destination), (A, B));
    match &p.transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            assert_eq!(
                icmp.checksum(),
                icmp.icmp_type().calc_checksum(icmp.payload())
            )
        }
        _ => panic!("ICMP expected"),
    }
    // Echo reply back from B.
    let reply = {
        let b = PacketBuilder::ethernet2(B_MAC, TAP1_MAC)
            .ipv4(B, A, 64)
            .icmpv4_echo_reply(0x1234, 7);
        let mut v = Vec::new();
        b.write(&mut v, &[0x42u8; 32]).unwrap();
        v
    };
    send(&mut app, "tap1", reply);
    let back = out(&app, "tap0");
    assert_eq!(back.len(), 1);
    assert_eq!(&back[0][0..6], &A_MAC);
    assert_eq!(ipv4(&check(&back[0])).time_to_live, 63);
    // TCP SYN from A to B:8080: TCP untouched, IP TTL-1 with a valid checksum.
    let syn = TcpFrame {
        src_mac: A_MAC,
        dst_mac: TAP0_MAC,
        src: A.into(),
        dst: B.into(),
        sport: 40000,
        dport: 8080,
        ..TcpFrame::bench_syn(40000)
    }
    .build();
    send(&mut app, "tap0", syn.clone());
    let f = out(&app, "tap1");
    assert_eq!(f.len(), 2);
    let p = check(&f[1]);
    assert_eq!(ipv4(&p).time_to_live, 63);
    assert_eq!(&f[1][34..], &syn[34..], "TCP segment unchanged");
    match &p.transport {
        Some(TransportSlice::Tcp(t)) => {
            let want = t
                .to_header()
                .calc_checksum_ipv4(&ipv4(&p), t.payload())
                .unwrap();
            assert_eq!(t.checksum(), want, "TCP checksum still valid");
            assert!(t.syn());
        }
        _ => panic!("TCP expected"),
    }
    let tr = app.exec("show trace").unwrap();
    assert!(tr.contains("tap1-output"), "{tr}");
    assert!(tr.contains("ttl 63"));
    no_leaks(&app);
}

#[test]
fn ttl_one_gets_icmp_time_exceeded() {
    let mut app = setup();
    let orig = ping(A_MAC, TAP0_MAC, A, B, 1);
    send(&mut app, "tap0", orig.clone());
    assert!(out(&app, "tap1").is_empty(), "not forwarded");
    let f = out(&app, "tap0");
    assert_eq!(f.len(), 1);
    let p = check(&f[0]);
    let ip = ipv4(&p);
    assert_eq!((ip.source, ip.destination), ([10, 1, 1, 1], A));
    match &p.transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            assert_eq!(icmp.type_u8(), 11);
            assert_eq!(icmp.code_u8(), 0);
            assert_eq!(
                icmp.checksum(),
                icmp.icmp_type().calc_checksum(icmp.payload())
            );
            // The quoted packet starts with the original header (TTL already at 0, as VPP).
            assert_eq!(&icmp.payload()[12..20], &orig[26..34], "addresses quoted");
        }
        _ => panic!("ICMP expected"),
    }
    assert_eq!(app.dp.graph.error_count("ip4-rewrite", "ip4 ttl <= 1"), 1);
    assert_eq!(
        app.dp
            .graph
            .error_count("ip4-icmp-error", "hop limit exceeded response sent"),
        1
    );
    // TTL 0 is expired on arrival.
    let mut zero = ping(A_MAC, TAP0_MAC, A, B, 0);
    zero[14 + 10] = 0;
    zero[14 + 11] = 0;
    let c = graph_nodes::wire::checksum::ipv4_header_checksum(&zero[14..34]);
    zero[24..26].copy_from_slice(&c.to_be_bytes());
    send(&mut app, "tap0", zero);
    assert_eq!(app.dp.graph.error_count("ip4-input", "ip4 ttl <= 1"), 1);
    assert_eq!(out(&app, "tap0").len(), 2, "a second time exceeded");
    no_leaks(&app);
}

#[test]
fn router_answers_pings_and_refuses_udp() {
    let mut app = setup();
    send(
        &mut app,
        "tap0",
        ping(A_MAC, TAP0_MAC, A, [10, 1, 1, 1], 64),
    );
    let f = out(&app, "tap0");
    assert_eq!(f.len(), 1);
    let p = check(&f[0]);
    let ip = ipv4(&p);
    assert_eq!((ip.source, ip.destination), ([10, 1, 1, 1], A));
    assert_eq!(ip.time_to_live, 64);
    match &p.transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            assert_eq!(icmp.type_u8(), 0, "echo reply");
            assert_eq!(
                icmp.checksum(),
                icmp.icmp_type().calc_checksum(icmp.payload())
            );
        }
        _ => panic!("ICMP expected"),
    }
    send(&mut app, "tap0", udp(A, [10, 1, 1, 1], 9999));
    let f = out(&app, "tap0");
    assert_eq!(f.len(), 2);
    match &check(&f[1]).transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            assert_eq!((icmp.type_u8(), icmp.code_u8()), (3, 3), "port unreachable")
        }
        _ => panic!("ICMP expected"),
    }
    assert_eq!(
        app.dp
            .graph
            .error_count("ip4-udp-lookup", "no listener for dst port"),
        1
    );
    let tr = app.exec("show trace").unwrap();
    assert!(
        tr.contains("UDP: src-port 5555 dst-port 9999 (no listener)"),
        "{tr}"
    );
    assert!(
        tr.contains("ip4-local\n    UDP: 10.1.1.2 -> 10.1.1.1"),
        "{tr}"
    );
    assert_eq!(
        app.dp
            .graph
            .error_count("ip4-icmp-echo-request", "echo replies sent"),
        1
    );
    no_leaks(&app);
}

#[test]
fn too_big_with_df_gets_fragmentation_needed() {
    let mut app = setup();
    app.exec("set interface mtu 576 tap1").unwrap();
    let big = {
        let b = PacketBuilder::ethernet2(A_MAC, TAP0_MAC)
            .ipv4(A, B, 64)
            .udp(1, 2);
        let mut v = Vec::new();
        b.write(&mut v, &[0u8; 1000]).unwrap();
        v[14 + 6] = 0x40; // DF
        v[24] = 0;
        v[25] = 0;
        let c = graph_nodes::wire::checksum::ipv4_header_checksum(&v[14..34]);
        v[24..26].copy_from_slice(&c.to_be_bytes());
        v
    };
    send(&mut app, "tap0", big.clone());
    assert!(out(&app, "tap1").is_empty());
    let f = out(&app, "tap0");
    match &check(&f[0]).transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            assert_eq!((icmp.type_u8(), icmp.code_u8()), (3, 4));
            let h = icmp.header().to_bytes();
            assert_eq!(u16::from_be_bytes([h[6], h[7]]), 576, "next-hop MTU");
        }
        _ => panic!("ICMP expected"),
    }
    // Without DF: dropped with a named error (no fragmentation).
    let mut nodf = big;
    nodf[14 + 6] = 0;
    nodf[24] = 0;
    nodf[25] = 0;
    let c = graph_nodes::wire::checksum::ipv4_header_checksum(&nodf[14..34]);
    nodf[24..26].copy_from_slice(&c.to_be_bytes());
    send(&mut app, "tap0", nodf);
    assert_eq!(
        app.dp.graph.error_count(
            "ip4-rewrite",
            "ip4 MTU exceeded (fragmentation not supported)"
        ),
        1
    );
    no_leaks(&app);
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4], dst: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa);
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa);
    f
}

#[test]
fn arp_replies_learns_and_gleans() {
    let mut app = setup();
    let c_mac = [0, 0, 0, 0, 0, 0x0c];
    send(
        &mut app,
        "tap0",
        arp(1, c_mac, [10, 1, 1, 7], [0; 6], [10, 1, 1, 1], [0xff; 6]),
    );
    let f = out(&app, "tap0");
    assert_eq!(f.len(), 1, "ARP reply");
    assert_eq!(&f[0][0..6], &c_mac);
    assert_eq!(&f[0][20..22], &[0, 2], "opcode reply");
    assert_eq!(&f[0][22..28], &TAP0_MAC, "our MAC");
    assert_eq!(&f[0][28..32], &[10, 1, 1, 1]);
    let n = app.exec("show ip neighbors").unwrap();
    assert!(
        n.contains("10.1.1.7") && n.contains("00:00:00:00:00:0c"),
        "{n}"
    );
    // The learned neighbour is used for forwarding.
    send(&mut app, "tap1", {
        let mut p = ping(B_MAC, TAP1_MAC, B, [10, 1, 1, 7], 64);
        p[0..6].copy_from_slice(&TAP1_MAC);
        p
    });
    let f = out(&app, "tap0");
    assert_eq!(f.len(), 2);
    assert_eq!(&f[1][0..6], &c_mac);
    // Unknown host in a connected subnet: ARP request out, packet dropped and counted; a second
    // packet within a second is throttled.
    send(
        &mut app,
        "tap0",
        ping(A_MAC, TAP0_MAC, A, [10, 1, 2, 3], 64),
    );
    send(
        &mut app,
        "tap0",
        ping(A_MAC, TAP0_MAC, A, [10, 1, 2, 3], 64),
    );
    let req = out(&app, "tap1");
    assert_eq!(req.len(), 1, "one ARP request");
    assert_eq!(&req[0][0..6], &[0xff; 6]);
    assert_eq!(&req[0][38..42], &[10, 1, 2, 3], "who-has 10.1.2.3");
    assert_eq!(&req[0][28..32], &[10, 1, 2, 1], "tell 10.1.2.1");
    assert_eq!(
        app.dp.graph.error_count("ip4-glean", "ARP requests sent"),
        1
    );
    assert_eq!(
        app.dp
            .graph
            .error_count("ip4-glean", "ARP requests throttled"),
        1
    );
    // A reply completes the neighbour.
    send(
        &mut app,
        "tap1",
        arp(
            2,
            [0, 0, 0, 0, 0, 0x0d],
            [10, 1, 2, 3],
            TAP1_MAC,
            [10, 1, 2, 1],
            TAP1_MAC,
        ),
    );
    assert_eq!(
        app.dp
            .graph
            .error_count("arp-input", "ARP replies received"),
        1
    );
    send(
        &mut app,
        "tap0",
        ping(A_MAC, TAP0_MAC, A, [10, 1, 2, 3], 64),
    );
    let f = out(&app, "tap1");
    assert_eq!(f.len(), 2);
    assert_eq!(&f[1][0..6], &[0, 0, 0, 0, 0, 0x0d]);
    // A request from outside the subnet is refused.
    send(
        &mut app,
        "tap0",
        arp(1, c_mac, [192, 168, 1, 1], [0; 6], [10, 1, 1, 1], [0xff; 6]),
    );
    assert_eq!(
        app.dp
            .graph
            .error_count("arp-input", "IP4 source address not local to subnet"),
        1
    );
    no_leaks(&app);
    // The Time column is when the entry was last updated (an ARP refresh moves it), in seconds.
    app.dp.graph.vm.clock = Clock::manual(12_345_600_000);
    send(
        &mut app,
        "tap0",
        arp(1, c_mac, [10, 1, 1, 7], [0; 6], [10, 1, 1, 1], [0xff; 6]),
    );
    let n = app.exec("show ip neighbors").unwrap();
    let line = n.lines().find(|l| l.contains("10.1.1.7")).unwrap();
    assert!(line.trim_start().starts_with("12.3456"), "{n}");
}

#[test]
fn malformed_frames_are_dropped_with_named_errors() {
    let mut app = setup();
    let good = ping(A_MAC, TAP0_MAC, A, B, 64);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let fix_csum = |v: &mut Vec<u8>| {
        v[24] = 0;
        v[25] = 0;
        let c = graph_nodes::wire::checksum::ipv4_header_checksum(&v[14..34]);
        v[24..26].copy_from_slice(&c.to_be_bytes());
    };
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            good[..10].to_vec(),
            "ethernet-input",
            "frame shorter than an ethernet header",
        ),
        (good[..20].to_vec(), "ip4-input", "ip4 length < 20 bytes"),
        (
            with(&|v| v[14] = 0x44),
            "ip4-input",
            "ip4 length < 20 bytes",
        ),
        (with(&|v| v[14] = 0x65), "ip4-input", "ip4 version != 4"),
        (with(&|v| v[14] = 0x46), "ip4-input", "ip4 options present"),
        (with(&|v| v[25] ^= 0xff), "ip4-input", "bad ip4 checksum"),
        (
            with(&|v| {
                v[16] = 0x05;
                v[17] = 0xdc;
                fix_csum(v)
            }),
            "ip4-input",
            "ip4 length > l2 length",
        ),
        (
            with(&|v| {
                v[20] = 0;
                v[21] = 1;
                fix_csum(v)
            }),
            "ip4-input",
            "ip4 fragment offset == 1",
        ),
        (
            with(&|v| v[12..14].copy_from_slice(&[0x86, 0xdd])),
            "ethernet-input",
            "unknown ethernet type",
        ),
        (
            {
                let mut v = good[..12].to_vec();
                v.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
                v.extend_from_slice(&good[12..]);
                v
            },
            "ethernet-input",
            "unknown vlan",
        ),
        (
            with(&|v| v[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0x99])),
            "ethernet-input",
            "l3 mac mismatch",
        ),
    ];
    for (frame, node, reason) in &cases {
        let before = app.dp.graph.error_count(node, reason);
        send(&mut app, "tap0", frame.clone());
        assert_eq!(
            app.dp.graph.error_count(node, reason),
            before + 1,
            "{node}: {reason}"
        );
    }
    assert!(out(&app, "tap1").is_empty(), "nothing malformed forwarded");
    let tr = app.exec("show trace max 100").unwrap();
    assert!(tr.contains("(should be 0x"), "bad checksum is shown: {tr}");
    assert!(tr.contains("802.1q vlan 100"), "{tr}");
    // Non-first fragments are forwarded (routers do not reassemble); to us they are dropped.
    let frag = with(&|v| {
        v[20] = 0x00;
        v[21] = 0x10;
        fix_csum(v)
    });
    send(&mut app, "tap0", frag);
    assert_eq!(out(&app, "tap1").len(), 1);
    let mut frag_local = ping(A_MAC, TAP0_MAC, A, [10, 1, 1, 1], 64);
    frag_local[20] = 0x20; // more fragments
    fix_csum(&mut frag_local);
    send(&mut app, "tap0", frag_local);
    assert_eq!(
        app.dp
            .graph
            .error_count("ip4-local", "ip4 fragment for this node (no reassembly)"),
        1
    );
    no_leaks(&app);
}

#[test]
fn random_frames_never_crash_or_leak() {
    let mut app = setup();
    let base = ping(A_MAC, TAP0_MAC, A, B, 64);
    let mut x = 0x9e37_79b9u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for i in 0..3000 {
        let mut f = if i % 3 == 0 {
            (0..(rnd() % 200)).map(|_| rnd() as u8).collect::<Vec<u8>>()
        } else {
            let mut f = base.clone();
            for _ in 0..(1 + rnd() % 4) {
                let p = (rnd() as usize) % f.len();
                f[p] = rnd() as u8;
            }
            f.truncate(1 + (rnd() as usize) % (f.len() + 10).min(f.len()));
            f
        };
        if i % 5 == 0 {
            let n = f.len().min(6);
            f[..n].copy_from_slice(&TAP0_MAC[..n]);
        }
        let iface = if i % 2 == 0 { "tap0" } else { "tap1" };
        send(&mut app, iface, f);
    }
    no_leaks(&app);
    // The trace of all those still formats.
    let t = app.exec("show trace max 100").unwrap();
    assert!(t.contains("Packet 100"));
}

#[test]
fn ecmp_and_recursive_routes() {
    let mut app = setup();
    app.exec_script(
        "set ip neighbor tap1 10.1.2.3 00:00:00:00:00:0d static
ip route add 172.16.0.0/16 via 10.1.2.2 tap1 via 10.1.2.3 tap1
ip route add 192.168.50.0/24 via 10.1.2.2",
    )
    .unwrap();
    for sport in 0..64u16 {
        let f = TcpFrame {
            src_mac: A_MAC,
            dst_mac: TAP0_MAC,
            src: A.into(),
            dst: [172, 16, 0, 9].into(),
            sport: 1000 + sport,
            ..TcpFrame::bench_syn(0)
        }
        .build();
        send(&mut app, "tap0", f.clone());
        send(&mut app, "tap0", f);
    }
    let f = out(&app, "tap1");
    assert_eq!(f.len(), 128);
    let to_b = f.iter().filter(|x| x[..6] == B_MAC).count();
    assert!((16..=112).contains(&to_b), "both paths used: {to_b}/128");
    for pair in f.chunks(2) {
        assert_eq!(pair[0][..6], pair[1][..6], "a flow sticks to its path");
    }
    let tr = app.exec("show trace max 2").unwrap();
    assert!(
        !tr.contains("flow hash: 0x00000000\n  TCP: 10.1.1.2 -> 172.16.0.9"),
        "ECMP hashes: {tr}"
    );
    // Recursive: 192.168.50.0/24 via 10.1.2.2 (host route of the neighbour).
    send(
        &mut app,
        "tap0",
        ping(A_MAC, TAP0_MAC, A, [192, 168, 50, 1], 64),
    );
    let f = out(&app, "tap1");
    assert_eq!(f.len(), 129);
    assert_eq!(&f[128][..6], &B_MAC);
    let fib = app.exec("show ip fib 192.168.50.0/24").unwrap();
    assert!(fib.contains("dpo-load-balance"), "{fib}");
    assert!(app
        .exec("show adj")
        .unwrap()
        .contains("ipv4 via 10.1.2.3 tap1"));
    no_leaks(&app);
}

#[test]
fn route_and_address_errors_are_one_line() {
    let mut app = setup();
    for bad in [
        "ip route add 10.0.0.0/33 via 10.1.2.2 tap1",
        "ip route add 10.0.0.0/8",
        "ip route add 10.0.0.0/8 via nowhere",
        "ip route add 10.0.0.0/8 via 10.1.2.2 tap1 weight 0",
        "ip route add 10.0.0.0/8 table 5 via 10.1.2.2 tap1",
        "ip route del 99.0.0.0/8",
        "set interface ip address tap0 10.1.1.1/24",
        "set interface ip address tap9 10.9.9.9/24",
        "set interface ip address tap1 10.1.1.5/24",
        "set ip neighbor tap0 10.1.1.9",
        "set ip neighbor tap0 10.1.1.9 zz:00:00:00:00:00",
        "show adj 9999",
    ] {
        let before = app.exec("show ip fib").unwrap();
        let e = app.exec(bad).expect_err(bad).to_string();
        assert!(!e.contains('\n') && !e.is_empty(), "{bad}: {e}");
        assert_eq!(
            app.exec("show ip fib").unwrap(),
            before,
            "{bad} changed the FIB"
        );
    }
}

#[test]
fn deleting_an_interface_removes_its_addresses_and_neighbours() {
    let mut app = setup();
    app.exec("delete tap sw_if_index 2").unwrap();
    let fib = app.exec("show ip fib").unwrap();
    assert!(
        !fib.contains("10.1.2.0/24") && !fib.contains("10.1.2.1/32"),
        "{fib}"
    );
    assert!(!app.exec("show ip neighbors").unwrap().contains("10.1.2.2"));
    // Traffic to the old subnet now misses (drop route), and nothing leaks.
    send(&mut app, "tap0", ping(A_MAC, TAP0_MAC, A, B, 64));
    assert_eq!(
        app.dp.graph.error_count("ip4-lookup", "ip4 adjacency drop"),
        1,
        "{}",
        app.exec("show errors").unwrap()
    );
    no_leaks(&app);
}

#[test]
fn nonsense_addresses_ports_and_counts_are_refused_by_name() {
    let mut app = setup();
    for (bad, says) in [
        (
            "set interface ip address tap0 10.7.0.0/24",
            "10.7.0.0/24 is the network address of 10.7.0.0/24; expected a host address such as 10.7.0.1/24",
        ),
        (
            "set interface ip address tap0 10.7.0.255/24",
            "10.7.0.255/24 is the broadcast address of 10.7.0.0/24",
        ),
        (
            "set interface ip address tap0 10.7.3.255/22",
            "is the broadcast address of 10.7.0.0/22",
        ),
        ("set interface ip address tap0 224.0.0.5/24", "a multicast address"),
        ("set interface ip address tap0 0.0.0.0/8", "the unspecified address"),
        ("set interface ip address tap0 255.255.255.255/32", "limited broadcast"),
        ("set interface ip address tap0 10.7.0.1/0", "prefix length 0"),
        (
            "nat44 add static mapping tcp local 10.1.2.2 70000 external 10.96.0.1 80",
            "port 70000 is out of range: a port is 0-65535",
        ),
        (
            "nat44 add static mapping tcp local 10.1.2.2 80 external 10.96.0.1 65536",
            "port 65536 is out of range",
        ),
        (
            "nat44 add load-balancing static mapping protocol tcp external 10.96.0.1:80 local 10.1.2.2:99999 probability 100",
            "port 99999 is out of range",
        ),
        (
            "set acl-plugin acl permit src 10.0.0.0/8 dport 80-70000",
            "`dport`: port 70000 is out of range",
        ),
        ("trace add pg-input 0", "must be at least 1"),
    ] {
        let before = (
            app.exec("show ip fib").unwrap(),
            app.exec("show nat44 static mappings").unwrap(),
            app.exec("show acl-plugin acl").unwrap(),
        );
        let e = app.exec(bad).expect_err(bad).to_string();
        assert!(!e.contains('\n') && e.contains(says), "{bad}: {e}");
        let after = (
            app.exec("show ip fib").unwrap(),
            app.exec("show nat44 static mappings").unwrap(),
            app.exec("show acl-plugin acl").unwrap(),
        );
        assert_eq!(after, before, "{bad} changed something");
    }
    // What is fine stays fine: /31 and /32 have no network or broadcast address.
    app.exec("set interface ip address tap0 10.8.0.0/31")
        .unwrap();
    app.exec("set interface ip address tap0 10.8.1.255/32")
        .unwrap();
    app.exec("nat44 add static mapping tcp local 10.1.2.2 65535 external 10.96.0.1 8080")
        .unwrap();
}

/// VRFs as Contiv uses them (pods in their own table): `ip table add`, `set interface ip
/// table`, routes per table; the same subnet in two tables forwards by the receiving
/// interface's table.
#[test]
fn vrfs_keep_overlapping_subnets_apart() {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create tap id 0 hw-addr 02:fe:00:00:00:01
create tap id 1 hw-addr 02:fe:00:00:00:02
create tap id 2 hw-addr 02:fe:00:00:00:03
create tap id 3 hw-addr 02:fe:00:00:00:04
ip table add 5
set interface ip table tap2 5
set interface ip table tap3 5
set interface state tap0 up
set interface state tap1 up
set interface state tap2 up
set interface state tap3 up
set interface ip address tap0 10.1.1.1/24
set interface ip address tap1 10.1.2.1/24
set interface ip address tap2 10.1.1.1/24
set interface ip address tap3 10.1.3.1/24
set ip neighbor tap1 10.1.2.2 00:00:00:00:00:0b static
set ip neighbor tap3 10.1.3.2 00:00:00:00:00:0c static
ip route add 192.168.0.0/16 via 10.1.2.2 tap1
ip route add 192.168.0.0/16 table 5 via 10.1.3.2 tap3",
    )
    .unwrap();
    app.dp.graph.vm.clock = Clock::manual(1_000_000_000);
    // The same source in both tables; the route in the receiving interface's table wins.
    send(
        &mut app,
        "tap0",
        ping(A_MAC, TAP0_MAC, A, [192, 168, 1, 1], 64),
    );
    send(
        &mut app,
        "tap2",
        ping(A_MAC, [0x02, 0xfe, 0, 0, 0, 0x03], A, [192, 168, 1, 1], 64),
    );
    assert_eq!(out(&app, "tap1").len(), 1, "table 0 routes via tap1");
    assert_eq!(out(&app, "tap3").len(), 1, "table 5 routes via tap3");
    assert_eq!(&out(&app, "tap3")[0][..6], &[0, 0, 0, 0, 0, 0x0c]);
    // 10.1.2.0/24 exists only in table 0: from table 5 it is unreachable.
    send(
        &mut app,
        "tap2",
        ping(A_MAC, [0x02, 0xfe, 0, 0, 0, 0x03], A, [10, 1, 2, 2], 64),
    );
    assert_eq!(
        out(&app, "tap1").len(),
        1,
        "no leak from table 5 into table 0"
    );
    // Each table shows its own entries.
    let t5 = app.exec("show ip fib table 5").unwrap();
    assert!(t5.starts_with("ipv4-VRF:5, fib_index:1"), "{t5}");
    assert!(
        t5.contains("10.1.3.0/24") && !t5.contains("10.1.2.0/24"),
        "{t5}"
    );
    let all = app.exec("show ip fib").unwrap();
    assert!(all.contains("ipv4-VRF:0, fib_index:0") && all.contains("ipv4-VRF:5, fib_index:1"));
    let summary = app.exec("show ip fib summary").unwrap();
    assert_eq!(summary.matches("Prefix length").count(), 2, "{summary}");
    // Bad input names the problem and changes nothing.
    for (bad, says) in [
        (
            "ip route add 10.9.0.0/16 table 7 via 10.1.3.2 tap3",
            "table 7 does not exist; create it with `ip table add 7`",
        ),
        ("set interface ip table tap0 7", "table 7 does not exist"),
        (
            "set interface ip table tap0 5",
            "the interface has IP addresses: remove them first",
        ),
        ("show ip fib table 9", "table 9 does not exist"),
    ] {
        let before = app.exec("show ip fib").unwrap();
        let e = app.exec(bad).expect_err(bad).to_string();
        assert!(e.contains(says) && !e.contains('\n'), "{bad}: {e}");
        assert_eq!(app.exec("show ip fib").unwrap(), before);
    }
    // Moving an interface: addresses out, table, addresses in.
    app.exec("set interface ip address del tap0 all").unwrap();
    app.exec("set interface ip table tap0 5").unwrap();
    app.exec("set interface ip address tap0 10.1.9.1/24")
        .unwrap();
    assert!(app
        .exec("show ip fib table 5")
        .unwrap()
        .contains("10.1.9.0/24"));
    app.exec("ip route del 192.168.0.0/16 table 5").unwrap();
    assert!(!app
        .exec("show ip fib table 5")
        .unwrap()
        .contains("192.168.0.0/16"));
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn ip_table_del_removes_its_routes_and_frees_its_index() {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create tap id 0 hw-addr 02:fe:00:00:00:01
set interface state tap0 up
set interface ip address tap0 10.1.1.1/24
set ip neighbor tap0 10.1.1.2 00:00:00:00:00:0b static
ip table add 5
ip table add 6
ip route add 192.168.0.0/16 table 5 via 10.1.1.2 tap0
ip route add 172.16.0.0/12 table 5 via 192.168.1.1
ip route add 10.9.0.0/16 table 6 via 10.1.1.2 tap0",
    )
    .unwrap();
    let before_lbs = app.exec("show ip fib table 0").unwrap();
    app.exec("ip table del 5").unwrap();
    let e = app.exec("show ip fib table 5").unwrap_err().to_string();
    assert!(e.contains("table 5 does not exist"), "{e}");
    let all = app.exec("show ip fib").unwrap();
    assert!(
        !all.contains("VRF:5") && all.contains("ipv4-VRF:6, fib_index:2"),
        "{all}"
    );
    assert_eq!(app.exec("show ip fib table 0").unwrap(), before_lbs);
    // The freed fib index goes to the next table, empty but for its special entries.
    app.exec("ip table add 9").unwrap();
    let t9 = app.exec("show ip fib table 9").unwrap();
    assert!(t9.starts_with("ipv4-VRF:9, fib_index:1"), "{t9}");
    assert!(
        !t9.contains("192.168.0.0/16") && !t9.contains("172.16.0.0/12"),
        "{t9}"
    );
    assert!(
        t9.contains("0.0.0.0/0") && t9.contains("224.0.0.0/4"),
        "{t9}"
    );
    // Refusals change nothing.
    app.exec("create tap id 1 hw-addr 02:fe:00:00:00:02")
        .unwrap();
    app.exec("set interface ip table tap1 6").unwrap();
    for (bad, says) in [
        (
            "ip table del 0",
            "table 0 is the default table and cannot be deleted",
        ),
        ("ip table del 5", "table 5 does not exist"),
        (
            "ip table del 6",
            "table 6 is in use by sw_if_index 2: move the interface first",
        ),
        ("ip table del", "expected"),
    ] {
        let before = app.exec("show ip fib").unwrap();
        let e = app.exec(bad).expect_err(bad).to_string();
        assert!(e.contains(says) && !e.contains('\n'), "{bad}: {e}");
        assert_eq!(app.exec("show ip fib").unwrap(), before);
    }
    app.exec("set interface ip table tap1 0").unwrap();
    app.exec("ip table del 6").unwrap();
    // Add and delete in a loop: the table list does not grow.
    for _ in 0..100 {
        app.exec("ip table add 77").unwrap();
        app.exec("ip route add 10.77.0.0/16 table 77 via 10.1.1.2 tap0")
            .unwrap();
        app.exec("ip table del 77").unwrap();
    }
    let h = app.exec("show ip fib").unwrap();
    assert_eq!(h.matches("ipv4-VRF:").count(), 2, "{h}");
}
