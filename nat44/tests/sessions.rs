//! Session behaviour through the graph: timeouts on the injectable clock, TCP state and close,
//! session limit with reuse, port exhaustion, ICMP echo and errors, fragments, UDP checksums,
//! load balancing (weights, stickiness, affinity), hairpin with self-twice-NAT, identity
//! mappings, and the configuration commands.

mod common;

use std::net::Ipv4Addr;

use common::*;
use etherparse::{Icmpv4Type, PacketBuilder};

const GBE_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x44, 0x9f, 0xd8];
const GW_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x02, 0xa5, 0x36];
const TAP0_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 1];
const TAP1_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 2];

const POD: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 3);
const POD2: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 5);
const NODE: Ipv4Addr = Ipv4Addr::new(192, 168, 16, 1);
const REMOTE: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);
const GBE: &str = "GigabitEthernet0/8/0";

/// Classic SNAT: pods behind tap0 (`in` and `out`, as contiv's pod taps), the uplink `out`, node address as the pool, no
/// forwarding (untranslatable traffic from outside is dropped). tap1 (`in` and `out`) hosts
/// service endpoints.
const SNAT: &str = "
create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:44:9f:d8
create tap id 0 hw-addr 02:fe:00:00:00:01
create tap id 1 hw-addr 02:fe:00:00:00:02
set interface state GigabitEthernet0/8/0 up
set interface state tap0 up
set interface state tap1 up
set interface ip address GigabitEthernet0/8/0 192.168.16.1/24
set interface ip address tap0 10.1.1.1/24
set interface ip address tap1 10.1.2.1/24
set ip neighbor GigabitEthernet0/8/0 192.168.16.100 08:00:27:02:a5:36 static
ip route add 0.0.0.0/0 via 192.168.16.100 GigabitEthernet0/8/0
set ip neighbor tap0 10.1.1.3 00:00:00:00:00:02 static
set ip neighbor tap0 10.1.1.4 00:00:00:00:00:02 static
set ip neighbor tap1 10.1.2.5 00:00:00:00:00:02 static
set ip neighbor tap1 10.1.2.6 00:00:00:00:00:02 static
set ip neighbor tap1 10.1.2.7 00:00:00:00:00:02 static
nat44 add address 192.168.16.1
set interface nat44 in tap0 out tap0
set interface nat44 out GigabitEthernet0/8/0
set interface nat44 in tap1 out tap1
";

fn ip(a: Ipv4Addr) -> [u8; 4] {
    a.octets()
}

fn udp(from_pod: bool, a: Ipv4Addr, ap: u16, b: Ipv4Addr, bp: u16, payload: &[u8]) -> Vec<u8> {
    let (s, d) = if from_pod {
        (POD_MAC, TAP0_MAC)
    } else {
        (GW_MAC, GBE_MAC)
    };
    let mut v = Vec::new();
    PacketBuilder::ethernet2(s, d)
        .ipv4(ip(a), ip(b), 64)
        .udp(ap, bp)
        .write(&mut v, payload)
        .unwrap();
    v
}

#[allow(clippy::too_many_arguments)]
fn tcp_seg(
    macs: ([u8; 6], [u8; 6]),
    a: Ipv4Addr,
    ap: u16,
    b: Ipv4Addr,
    bp: u16,
    seq: u32,
    ack: Option<u32>,
    fl: &str,
) -> Vec<u8> {
    let mut t = PacketBuilder::ethernet2(macs.0, macs.1)
        .ipv4(ip(a), ip(b), 64)
        .tcp(ap, bp, seq, 29200);
    if fl.contains('S') {
        t = t.syn();
    }
    if fl.contains('F') {
        t = t.fin();
    }
    if fl.contains('R') {
        t = t.rst();
    }
    if let Some(x) = ack {
        t = t.ack(x);
    }
    let mut v = Vec::new();
    t.write(&mut v, &[]).unwrap();
    v
}

fn echo(from_pod: bool, a: Ipv4Addr, b: Ipv4Addr, id: u16, reply: bool) -> Vec<u8> {
    let (s, d) = if from_pod {
        (POD_MAC, TAP0_MAC)
    } else {
        (GW_MAC, GBE_MAC)
    };
    let mut v = Vec::new();
    let b0 = PacketBuilder::ethernet2(s, d).ipv4(ip(a), ip(b), 64);
    let b1 = if reply {
        b0.icmpv4_echo_reply(id, 1)
    } else {
        b0.icmpv4_echo_request(id, 1)
    };
    b1.write(&mut v, b"ping").unwrap();
    v
}

fn count(a: &dataplane::App, node: &str, reason: &str) -> u64 {
    a.dp.graph.error_count(node, reason)
}

/// The SNAT port of the latest session of POD:sport (from `show nat44 sessions detail`).
fn outside_port(a: &mut dataplane::App, sport: u16) -> u16 {
    let h = nat44::nat(&a.dp).clone();
    let db = h.sh.db.lock();
    let p = db
        .iter()
        .find(|(_, s)| s.i2o.l_port == sport && s.i2o.l_addr == u32::from(POD))
        .map(|(_, s)| s.o2i.l_port)
        .expect("session");
    p
}

#[test]
fn udp_snat_and_timeout_on_the_replay_clock() {
    let mut a = app(SNAT);
    let t0 = 1000 * SEC;
    send(
        &mut a,
        "tap0",
        t0,
        udp(true, POD, 5000, REMOTE, 53, b"query"),
    );
    let h = decode(sent(&a, GBE).last().unwrap(), true);
    assert_eq!((h.src, h.dst, h.dport), (NODE, REMOTE, 53));
    let p = h.sport;
    assert!((1025..=65535).contains(&p));
    // Reply at +299 s: still there (and refreshed).
    send(
        &mut a,
        GBE,
        t0 + 299 * SEC,
        udp(false, REMOTE, 53, NODE, p, b"answer"),
    );
    let h = decode(sent(&a, "tap0").last().unwrap(), true);
    assert_eq!((h.src, h.sport, h.dst, h.dport), (REMOTE, 53, POD, 5000));
    // 300 s after the last packet: expired, the reply has no translation any more.
    send(
        &mut a,
        GBE,
        t0 + 599 * SEC,
        udp(false, REMOTE, 53, NODE, p, b"late"),
    );
    assert_eq!(sent(&a, "tap0").len(), 1);
    assert_eq!(count(&a, "nat44-out2in", "No translation"), 1);
    assert_eq!(nat44::nat(&a.dp).sh.db.lock().len(), 0);
    // Timeouts are configurable.
    run(&mut a, "set nat timeout udp 10 icmp 5");
    assert!(run(&mut a, "show nat timeouts").contains("udp timeout: 10sec"));
    send(
        &mut a,
        "tap0",
        t0 + 1000 * SEC,
        udp(true, POD, 5001, REMOTE, 53, b"q"),
    );
    let p = decode(sent(&a, GBE).last().unwrap(), true).sport;
    send(
        &mut a,
        GBE,
        t0 + 1011 * SEC,
        udp(false, REMOTE, 53, NODE, p, b"a"),
    );
    assert_eq!(count(&a, "nat44-out2in", "No translation"), 2);
    run(&mut a, "set nat timeout reset");
    assert!(run(&mut a, "show nat timeouts").contains("udp timeout: 300sec"));
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn tcp_states_close_and_timeouts() {
    let mut a = app(SNAT);
    let pod = (POD_MAC, TAP0_MAC);
    let out = (GW_MAC, GBE_MAC);
    let t0 = 50 * SEC;
    send(
        &mut a,
        "tap0",
        t0,
        tcp_seg(pod, POD, 40000, REMOTE, 443, 100, None, "S"),
    );
    let p = outside_port(&mut a, 40000);
    send(
        &mut a,
        GBE,
        t0 + SEC,
        tcp_seg(out, REMOTE, 443, NODE, p, 900, Some(101), "S"),
    );
    send(
        &mut a,
        "tap0",
        t0 + 2 * SEC,
        tcp_seg(pod, POD, 40000, REMOTE, 443, 101, Some(901), ""),
    );
    let s = run(&mut a, "show nat44 sessions detail");
    assert!(s.contains("tcp state established"), "{s}");
    assert!(run(&mut a, "show nat44 summary").contains("tcp established: 1"));
    // Every frame left with valid checksums.
    for f in sent(&a, GBE).iter().chain(sent(&a, "tap0").iter()) {
        decode(f, true);
    }
    // Established: alive 7000 s later without traffic.
    let t1 = t0 + 7000 * SEC;
    send(
        &mut a,
        GBE,
        t1,
        tcp_seg(out, REMOTE, 443, NODE, p, 901, Some(101), ""),
    );
    assert_eq!(sent(&a, "tap0").len(), 2);
    // Close: FIN both ways, last ACK.
    send(
        &mut a,
        "tap0",
        t1 + SEC,
        tcp_seg(pod, POD, 40000, REMOTE, 443, 101, Some(901), "F"),
    );
    assert!(run(&mut a, "show nat44 summary").contains("tcp established: 1"));
    send(
        &mut a,
        GBE,
        t1 + 2 * SEC,
        tcp_seg(out, REMOTE, 443, NODE, p, 901, Some(102), "F"),
    );
    send(
        &mut a,
        "tap0",
        t1 + 3 * SEC,
        tcp_seg(pod, POD, 40000, REMOTE, 443, 102, Some(902), ""),
    );
    let s = run(&mut a, "show nat44 sessions detail");
    assert!(s.contains("tcp state closed"), "{s}");
    assert!(run(&mut a, "show nat44 summary").contains("tcp transitory: 1"));
    // Transitory timeout (240 s) frees it.
    send(
        &mut a,
        "tap0",
        t1 + 244 * SEC,
        udp(true, POD, 1, REMOTE, 2, b"x"),
    );
    let h = nat44::nat(&a.dp).clone();
    assert!(
        h.sh.db.lock().iter().all(|(_, s)| s.proto != 6),
        "the closed TCP session expired"
    );
    // RST also ends a connection: transitory.
    send(
        &mut a,
        "tap0",
        t1 + 300 * SEC,
        tcp_seg(pod, POD, 40001, REMOTE, 443, 5, None, "S"),
    );
    let p2 = outside_port(&mut a, 40001);
    send(
        &mut a,
        GBE,
        t1 + 301 * SEC,
        tcp_seg(out, REMOTE, 443, NODE, p2, 7, Some(6), "S"),
    );
    assert!(run(&mut a, "show nat44 summary").contains("tcp established: 1"));
    send(
        &mut a,
        GBE,
        t1 + 302 * SEC,
        tcp_seg(out, REMOTE, 443, NODE, p2, 8, None, "R"),
    );
    assert!(run(&mut a, "show nat44 sessions detail").contains("tcp state reset"));
    assert!(run(&mut a, "show nat44 summary").contains("tcp transitory: 1"));
    // A session not established (SYN only) uses the transitory timeout too.
    send(
        &mut a,
        "tap0",
        t1 + 400 * SEC,
        tcp_seg(pod, POD, 40002, REMOTE, 443, 5, None, "S"),
    );
    let p3 = outside_port(&mut a, 40002);
    send(
        &mut a,
        GBE,
        t1 + 641 * SEC,
        tcp_seg(out, REMOTE, 443, NODE, p3, 7, Some(6), "S"),
    );
    assert!(count(&a, "nat44-out2in", "No translation") >= 1);
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn session_limit_reuses_the_oldest() {
    let mut a = app(&format!("{SNAT}set nat44 session limit 4\n"));
    let t0 = 10 * SEC;
    let mut ports = Vec::new();
    for k in 0..6u16 {
        send(
            &mut a,
            "tap0",
            t0 + k as u64 * SEC,
            udp(true, POD, 6000 + k, REMOTE, 53, b"q"),
        );
        ports.push(decode(sent(&a, GBE).last().unwrap(), true).sport);
    }
    assert_eq!(sent(&a, GBE).len(), 6, "every flow was translated");
    let sum = run(&mut a, "show nat44 summary");
    assert!(sum.contains("max translations per thread: 4"), "{sum}");
    assert!(sum.contains("total sessions: 4"), "{sum}");
    assert!(sum.contains("recycled 2"), "{sum}");
    // The two least recently used flows (6000, 6001) lost their sessions; 6002..6005 answer.
    for (k, &p) in ports.iter().enumerate() {
        send(
            &mut a,
            GBE,
            t0 + 10 * SEC,
            udp(false, REMOTE, 53, NODE, p, b"a"),
        );
        let _ = k;
    }
    assert_eq!(sent(&a, "tap0").len(), 4);
    assert_eq!(count(&a, "nat44-out2in", "No translation"), 2);
    // Expired sessions are reused first: 300 s later all four expired.
    send(
        &mut a,
        "tap0",
        t0 + 400 * SEC,
        udp(true, POD, 7000, REMOTE, 53, b"q"),
    );
    assert!(run(&mut a, "show nat44 summary").contains("recycled 2"));
    // Limit 0: nothing can be created.
    run(&mut a, "set nat44 session limit 0");
    send(
        &mut a,
        "tap0",
        t0 + 401 * SEC,
        udp(true, POD, 7001, REMOTE, 53, b"q"),
    );
    assert_eq!(
        count(&a, "nat44-in2out-slowpath", "Maximum sessions exceeded"),
        1
    );
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn port_exhaustion_is_a_counted_drop() {
    let mut a = app(&format!(
        "{SNAT}nat addr-port-assignment-alg port-range 5000 - 5003\n"
    ));
    for k in 0..6u16 {
        send(
            &mut a,
            "tap0",
            SEC + k as u64,
            udp(true, POD, 9000 + k, REMOTE, 53, b"q"),
        );
    }
    let out = sent(&a, GBE);
    assert_eq!(out.len(), 4);
    let mut ports: Vec<u16> = out.iter().map(|f| decode(f, true).sport).collect();
    ports.sort();
    assert_eq!(ports, vec![5000, 5001, 5002, 5003]);
    assert_eq!(count(&a, "nat44-in2out-slowpath", "Out of ports"), 2);
    let addrs = run(&mut a, "show nat44 addresses");
    assert!(addrs.contains("  4 busy udp ports"), "{addrs}");
    // TCP has its own ports.
    send(
        &mut a,
        "tap0",
        2 * SEC,
        tcp_seg((POD_MAC, TAP0_MAC), POD, 1, REMOTE, 80, 1, None, "S"),
    );
    assert_eq!(sent(&a, GBE).len(), 5);
    // A session ending frees its port.
    run(&mut a, "clear nat44 sessions");
    send(
        &mut a,
        "tap0",
        3 * SEC,
        udp(true, POD, 9100, REMOTE, 53, b"q"),
    );
    assert_eq!(sent(&a, GBE).len(), 6);
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn ports_follow_the_seed() {
    let port_with = |seed: u64| {
        let mut a = app(&format!("{SNAT}set nat44 random-seed {seed}\n"));
        send(&mut a, "tap0", SEC, udp(true, POD, 9000, REMOTE, 53, b"q"));
        decode(sent(&a, GBE).last().unwrap(), true).sport
    };
    assert_eq!(port_with(17460), 25801);
    assert_eq!(port_with(42), port_with(42));
    assert_ne!(port_with(1), port_with(2));
}

#[test]
fn icmp_echo_and_errors() {
    let mut a = app(SNAT);
    send(&mut a, "tap0", SEC, echo(true, POD, REMOTE, 0x1234, false));
    let h = decode(sent(&a, GBE).last().unwrap(), true);
    assert_eq!((h.src, h.dst), (NODE, REMOTE));
    let id = h.sport;
    send(&mut a, GBE, 2 * SEC, echo(false, REMOTE, NODE, id, true));
    let h = decode(sent(&a, "tap0").last().unwrap(), true);
    assert_eq!((h.src, h.dst, h.sport), (REMOTE, POD, 0x1234));
    assert!(run(&mut a, "show nat44 summary").contains("icmp: 1"));

    // A UDP probe, then the router's port-unreachable about the translated packet.
    send(
        &mut a,
        "tap0",
        3 * SEC,
        udp(true, POD, 33434, REMOTE, 33435, b"probe"),
    );
    let probe = sent(&a, GBE).last().unwrap().clone();
    let p = decode(&probe, true).sport;
    let quoted = &probe[14..14 + 28];
    let router = Ipv4Addr::new(192, 168, 16, 100);
    let mut err = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, GBE_MAC)
        .ipv4(ip(router), ip(NODE), 64)
        .icmpv4(Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::Port,
        ))
        .write(&mut err, quoted)
        .unwrap();
    send(&mut a, GBE, 4 * SEC, err);
    let back = sent(&a, "tap0").last().unwrap().clone();
    let h = decode(&back, true);
    assert_eq!((h.src, h.dst), (router, POD));
    // The quoted packet is the pod's own, with a valid IP header checksum.
    let inner = &back[14 + 20 + 8..];
    let ih = etherparse::Ipv4HeaderSlice::from_slice(inner)
        .unwrap()
        .to_header();
    assert_eq!(ih.header_checksum, ih.calc_header_checksum());
    assert_eq!(Ipv4Addr::from(ih.source), POD);
    assert_eq!(u16::from_be_bytes([inner[20], inner[21]]), 33434);
    assert_ne!(p, 0);
    // An inside server behind a static mapping answers port-unreachable: the error and the packet
    // it quotes leave in their outside form.
    let mut b = app(&format!(
        "{SNAT}nat44 add static mapping udp local 10.1.1.4 53 external 192.168.16.1 5353\n"
    ));
    send(&mut b, GBE, SEC, udp(false, REMOTE, 4000, NODE, 5353, b"q"));
    let inbound = sent(&b, "tap0").last().unwrap().clone();
    assert_eq!(decode(&inbound, true).dst, Ipv4Addr::new(10, 1, 1, 4));
    let mut err = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, TAP0_MAC)
        .ipv4([10, 1, 1, 4], ip(REMOTE), 64)
        .icmpv4(Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::Port,
        ))
        .write(&mut err, &inbound[14..14 + 28])
        .unwrap();
    send(&mut b, "tap0", 2 * SEC, err);
    let out = sent(&b, GBE).last().unwrap().clone();
    let h = decode(&out, true);
    assert_eq!((h.src, h.dst), (NODE, REMOTE));
    let inner = &out[14 + 20 + 8..];
    let ih = etherparse::Ipv4HeaderSlice::from_slice(inner)
        .unwrap()
        .to_header();
    assert_eq!(ih.header_checksum, ih.calc_header_checksum());
    assert_eq!(
        (Ipv4Addr::from(ih.source), Ipv4Addr::from(ih.destination)),
        (REMOTE, NODE)
    );
    assert_eq!(u16::from_be_bytes([inner[22], inner[23]]), 5353);
    // Unsupported ICMP types are dropped and counted.
    let mut ts = Vec::new();
    PacketBuilder::ethernet2(GW_MAC, GBE_MAC)
        .ipv4(ip(REMOTE), ip(NODE), 64)
        .icmpv4(Icmpv4Type::TimestampRequest(
            etherparse::icmpv4::TimestampMessage {
                id: 1,
                seq: 1,
                originate_timestamp: 0,
                receive_timestamp: 0,
                transmit_timestamp: 0,
            },
        ))
        .write(&mut ts, &[])
        .unwrap();
    send(&mut a, GBE, 5 * SEC, ts);
    assert_eq!(count(&a, "nat44-out2in", "unsupported ICMP type"), 1);
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

/// Fragments are translated with their datagram's L4 fields (shallow virtual reassembly); a
/// later fragment whose first one never comes is held, then dropped and counted.
#[test]
fn fragments_are_translated_and_lone_ones_time_out() {
    let mut a = app(SNAT);
    let mut f = udp(true, POD, 5000, REMOTE, 53, &[7u8; 64]);
    f[20] |= 0x20; // more fragments
    let c = graph_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    send(&mut a, "tap0", SEC, f);
    let out = sent(&a, GBE);
    assert_eq!(out.len(), 1, "the first fragment is translated");
    assert_eq!(&out[0][26..30], &NODE.octets(), "from the node's address");
    let mut g = udp(false, REMOTE, 53, NODE, 5000, &[7u8; 64]);
    g[20] = 0x00;
    g[21] = 0x10; // offset 128, no first fragment
    let c = graph_checksum(&g[14..34]);
    g[24..26].copy_from_slice(&c.to_be_bytes());
    send(&mut a, GBE, SEC, g);
    assert!(sent(&a, "tap0").is_empty(), "held");
    send(&mut a, GBE, 2 * SEC, udp(false, REMOTE, 53, NODE, 1, b"x"));
    assert_eq!(
        count(
            &a,
            "ip4-sv-reassembly-feature",
            "fragments dropped due to reassembly timeout"
        ),
        1
    );
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

fn graph_checksum(h: &[u8]) -> u16 {
    let mut z = h.to_vec();
    z[10] = 0;
    z[11] = 0;
    graph_nodes::wire::checksum::ipv4_header_checksum(&z)
}

/// A service with three endpoints on tap1: weights pick the endpoint per new session, packets of
/// a session stick to it, affinity pins a client.
#[test]
fn load_balancing_weights_stickiness_affinity() {
    let vip = Ipv4Addr::new(10, 96, 0, 10);
    let mut a = app(&format!(
        "{SNAT}nat44 add load-balancing static mapping protocol tcp external 10.96.0.10:80 local 10.1.2.5:8080 probability 20 local 10.1.2.6:8080 probability 30 local 10.1.2.7:8080 probability 50 out2in-only\n"
    ));
    let pod = (POD_MAC, TAP0_MAC);
    let n = 2000u16;
    for k in 0..n {
        send(
            &mut a,
            "tap0",
            SEC + k as u64,
            tcp_seg(pod, POD, 20000 + k, vip, 80, 1, None, "S"),
        );
    }
    let out = sent(&a, "tap1");
    assert_eq!(out.len(), n as usize);
    let mut hits = [0u32; 3];
    let mut chosen = std::collections::HashMap::new();
    for f in &out {
        let h = decode(f, true);
        assert_eq!(h.dport, 8080);
        let i = (h.dst.octets()[3] - 5) as usize;
        hits[i] += 1;
        chosen.insert(h.sport, h.dst);
    }
    // 20/30/50 within a few percent.
    for (i, w) in [20.0, 30.0, 50.0].iter().enumerate() {
        let share = hits[i] as f64 * 100.0 / n as f64;
        assert!(
            (share - w).abs() < 5.0,
            "endpoint {i}: {share}% of {hits:?}"
        );
    }
    // Sticky: later packets of a session go to the same endpoint.
    for k in 0..50u16 {
        send(
            &mut a,
            "tap0",
            10 * SEC,
            tcp_seg(pod, POD, 20000 + k, vip, 80, 2, Some(5), ""),
        );
        let h = decode(sent(&a, "tap1").last().unwrap(), true);
        assert_eq!(Some(&h.dst), chosen.get(&(20000 + k)));
    }
    // The reply comes back from the VIP.
    let first = chosen[&20000];
    let mut r = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, TAP1_MAC)
        .ipv4(ip(first), ip(POD), 64)
        .tcp(8080, 20000, 9, 1000)
        .syn()
        .ack(2)
        .write(&mut r, &[])
        .unwrap();
    send(&mut a, "tap1", 11 * SEC, r);
    let h = decode(sent(&a, "tap0").last().unwrap(), true);
    assert_eq!((h.src, h.sport, h.dst, h.dport), (vip, 80, POD, 20000));

    // Affinity: every new connection of a client goes to the same endpoint for 30 s.
    let mut b = app(&format!(
        "{SNAT}nat44 add load-balancing static mapping protocol tcp external 10.96.0.10:80 local 10.1.2.5:8080 probability 50 local 10.1.2.6:8080 probability 50 affinity 30\n"
    ));
    let mut dsts = std::collections::HashSet::new();
    for k in 0..40u16 {
        send(
            &mut b,
            "tap0",
            SEC + k as u64 * 100_000_000,
            tcp_seg(pod, POD, 30000 + k, vip, 80, 1, None, "S"),
        );
        dsts.insert(decode(sent(&b, "tap1").last().unwrap(), true).dst);
    }
    assert_eq!(dsts.len(), 1, "one endpoint for the client");
    // Another client is balanced independently, and after the sticky time the choice is free.
    let mut later = std::collections::HashSet::new();
    for k in 0..40u16 {
        send(
            &mut b,
            "tap0",
            100 * SEC + k as u64 * 40 * SEC,
            tcp_seg(pod, POD, 31000 + k, vip, 80, 1, None, "S"),
        );
        later.insert(decode(sent(&b, "tap1").last().unwrap(), true).dst);
    }
    assert_eq!(later.len(), 2, "affinity expired between connections");
    let sm = run(&mut b, "show nat44 static mappings");
    assert!(sm.contains("affinity 30"), "{sm}");
    assert!(sm.contains("local 10.1.2.6:8080 probability 50%"), "{sm}");
}

/// A pod reaching its own service: self-twice-NAT makes the hairpin work (the pod sees the
/// twice-NAT address as its peer, and its reply comes back from the VIP).
#[test]
fn hairpin_with_self_twice_nat() {
    let vip = Ipv4Addr::new(10, 96, 0, 20);
    let loopback = Ipv4Addr::new(10, 1, 2, 254);
    let mut a = app(&format!(
        "{SNAT}nat44 add address 10.1.2.254 twice-nat\nnat44 add load-balancing static mapping protocol tcp external 10.96.0.20:80 local 10.1.2.5:8080 probability 1 self-twice-nat out2in-only\n"
    ));
    let macs = (POD_MAC, TAP1_MAC);
    send(
        &mut a,
        "tap1",
        SEC,
        tcp_seg(macs, POD2, 41000, vip, 80, 1, None, "S"),
    );
    let h = decode(sent(&a, "tap1").last().unwrap(), true);
    assert_eq!((h.dst, h.dport, h.src), (POD2, 8080, loopback));
    let tport = h.sport;
    send(
        &mut a,
        "tap1",
        2 * SEC,
        tcp_seg(macs, POD2, 8080, loopback, tport, 50, Some(2), "S"),
    );
    let h = decode(sent(&a, "tap1").last().unwrap(), true);
    assert_eq!((h.src, h.sport, h.dst, h.dport), (vip, 80, POD2, 41000));
    // Another client is not twice-NATed.
    send(
        &mut a,
        "tap0",
        3 * SEC,
        tcp_seg((POD_MAC, TAP0_MAC), POD, 41001, vip, 80, 1, None, "S"),
    );
    let h = decode(sent(&a, "tap1").last().unwrap(), true);
    assert_eq!((h.src, h.sport), (POD, 41001));
    // Without a twice-NAT address the hairpin has no port: counted drop.
    run(&mut a, "nat44 add address 10.1.2.254 twice-nat del");
    send(
        &mut a,
        "tap1",
        4 * SEC,
        tcp_seg(macs, POD2, 41002, vip, 80, 1, None, "S"),
    );
    assert_eq!(count(&a, "nat44-out2in", "Out of ports"), 1);
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

/// Identity mappings never translate but track sessions; nat44-classify sends traffic for them
/// to in2out.
#[test]
fn identity_mapping_and_static_nat() {
    let mut a = app(&format!(
        "{SNAT}nat44 add identity mapping 192.168.16.1 udp 4789\nnat44 add static mapping tcp local 10.1.1.4 22 external 192.168.16.1 2222\n"
    ));
    send(
        &mut a,
        GBE,
        SEC,
        udp(
            false,
            Ipv4Addr::new(192, 168, 16, 2),
            50038,
            NODE,
            4789,
            b"vxlan",
        ),
    );
    assert_eq!(count(&a, "nat44-out2in", "No translation"), 0);
    let s = run(&mut a, "show nat44 sessions detail");
    assert!(s.contains("i2o 192.168.16.1 proto udp port 4789"), "{s}");
    assert!(s.contains("o2i 192.168.16.1 proto udp port 4789"), "{s}");
    // Static NAPT from outside: 192.168.16.1:2222 -> 10.1.1.4:22.
    send(
        &mut a,
        GBE,
        2 * SEC,
        tcp_seg((GW_MAC, GBE_MAC), REMOTE, 5555, NODE, 2222, 1, None, "S"),
    );
    let h = decode(sent(&a, "tap0").last().unwrap(), true);
    assert_eq!(
        (h.dst, h.dport, h.src, h.sport),
        (Ipv4Addr::new(10, 1, 1, 4), 22, REMOTE, 5555)
    );
    // ...and its local initiating: SNAT to the mapping's external port.
    send(
        &mut a,
        "tap0",
        3 * SEC,
        tcp_seg(
            (POD_MAC, TAP0_MAC),
            Ipv4Addr::new(10, 1, 1, 4),
            22,
            Ipv4Addr::new(1, 2, 3, 4),
            80,
            1,
            None,
            "S",
        ),
    );
    let h = decode(sent(&a, GBE).last().unwrap(), true);
    assert_eq!((h.src, h.sport), (NODE, 2222));
    // The static port is reserved in the pool.
    assert!(run(&mut a, "show nat44 addresses").contains("  1 busy tcp ports"));
    let sm = run(&mut a, "show nat44 static mappings");
    assert!(
        sm.contains("identity mapping udp 192.168.16.1 4789 vrf 0"),
        "{sm}"
    );
    assert!(
        sm.contains("tcp local 10.1.1.4:22 external 192.168.16.1:2222 vrf 0"),
        "{sm}"
    );
    // Deleting the mapping deletes its sessions and frees the port.
    run(
        &mut a,
        "nat44 add static mapping tcp local 10.1.1.4 22 external 192.168.16.1 2222 del",
    );
    assert!(run(&mut a, "show nat44 addresses").contains("  0 busy tcp ports"));
    assert!(!run(&mut a, "show nat44 sessions detail").contains("port 2222"));
}

#[test]
fn configuration_commands() {
    // Works without `nat44 plugin enable`; enable sets the limit.
    let mut a = app(SNAT);
    assert!(run(&mut a, "show nat44 summary").contains("max translations per thread: 10240"));
    run(&mut a, "nat44 plugin enable sessions 65536");
    assert!(run(&mut a, "show nat44 summary").contains("max translations per thread: 65536"));
    let i = run(&mut a, "show nat44 interfaces");
    assert_eq!(
        i,
        "NAT44 interfaces:\n tap0 in out\n GigabitEthernet0/8/0 out\n tap1 in out\n"
    );
    run(&mut a, "set interface nat44 out tap1 del");
    assert!(run(&mut a, "show nat44 interfaces").contains(" tap1 in\n"));
    let f = run(&mut a, "show interface features tap1");
    assert!(
        f.contains("nat44-in2out") && !f.contains("nat44-classify"),
        "{f}"
    );
    assert!(a.exec("set interface nat44 out tap1 del").is_err());
    run(&mut a, "nat44 add address 10.0.0.1-10.0.0.3");
    run(&mut a, "nat44 add address 10.0.1.1 - 10.0.1.2 twice-nat");
    let s = run(&mut a, "show nat44 addresses");
    assert!(
        s.contains("10.0.0.3\n") && s.contains("twice-nat pool addresses:\n10.0.1.1\n"),
        "{s}"
    );
    run(&mut a, "nat44 add address 10.0.0.2 del");
    assert!(!run(&mut a, "show nat44 addresses").contains("10.0.0.2\n"));
    assert_eq!(
        a.exec("nat44 add address 10.0.0.9 del")
            .unwrap_err()
            .to_string(),
        "NAT address not exist."
    );
    run(
        &mut a,
        "nat44 add static mapping tcp local 10.1.1.3 80 external 10.0.0.1 8080",
    );
    assert_eq!(
        a.exec("nat44 add static mapping udp local 10.1.1.4 80 external 10.0.0.1 8080")
            .map(|_| ()),
        Ok(()),
        "another protocol is another mapping"
    );
    assert_eq!(
        a.exec("nat44 add static mapping tcp local 10.1.1.4 80 external 10.0.0.1 8080")
            .unwrap_err()
            .to_string(),
        "Mapping already exist."
    );
    assert_eq!(
        a.exec("nat44 add static mapping local 10.1.1.4 external 10.0.0.5 twice-nat")
            .unwrap_err()
            .to_string(),
        "twice NAT only for 1:1 NAPT"
    );
    assert_eq!(
        a.exec("nat44 add static mapping local 10.1.1.4 80 external 10.0.0.5 81")
            .unwrap_err()
            .to_string(),
        "missing protocol"
    );
    run(
        &mut a,
        "nat44 add static mapping local 10.1.1.9 external 10.0.0.9",
    );
    let sm = run(&mut a, "show nat44 static mappings");
    assert!(
        sm.contains(" local 10.1.1.9 external 10.0.0.9 vrf 0"),
        "{sm}"
    );
    // `external <interface>` and `nat44 add interface address`.
    run(
        &mut a,
        "nat44 add static mapping tcp local 10.1.1.3 443 external tap1 8443",
    );
    assert!(run(&mut a, "show nat44 static mappings").contains("external 10.1.2.1:8443"));
    run(&mut a, "nat44 add interface address tap0");
    assert!(run(&mut a, "show nat44 addresses").contains("10.1.1.1\n"));
    assert!(
        run(&mut a, "show nat44 interface address").contains("pool address interfaces:\n tap0\n")
    );
    run(&mut a, "nat44 add interface address tap0 del");
    assert!(!run(&mut a, "show nat44 addresses").contains("10.1.1.1\n"));
    // Identity mapping by interface.
    run(
        &mut a,
        "nat44 add identity mapping GigabitEthernet0/8/0 tcp 22",
    );
    assert!(
        run(&mut a, "show nat44 static mappings").contains("identity mapping tcp 192.168.16.1 22")
    );
    run(&mut a, "nat44 forwarding enable");
    assert!(run(&mut a, "show nat44 summary").contains("forwarding: enabled"));
    assert!(a.exec("nat44 forwarding maybe").is_err());
    assert!(a.exec("set nat44 session limit").is_err());
    assert!(a
        .exec("nat44 add load-balancing static mapping protocol tcp external 1.1.1.1:80")
        .is_err());
    // One local is accepted for load-balancing mappings.
    run(&mut a, "nat44 add load-balancing static mapping protocol udp external 10.96.0.53:53 local 10.1.2.5:53 probability 1");
    run(
        &mut a,
        "nat44 add load-balancing static mapping protocol udp external 10.96.0.53:53 del",
    );
    assert!(!run(&mut a, "show nat44 static mappings").contains("10.96.0.53"));
    assert!(
        a.exec("nat44 plugin disable").is_err(),
        "interfaces still configured"
    );
}

/// Whole frames of many flows (the node's batched lookup: candidates taken from the index
/// buckets, confirmed in the loop, anything else looked up again): every flow twice in one frame
/// from the pods, then all replies in one frame mixed with strays. Small session limits pack the
/// index buckets (chains past full buckets); the default leaves them sparse.
#[test]
fn frames_of_many_flows_translate_every_packet() {
    for limit in [7u32, 12, 4096] {
        let n = limit.min(12) as u16;
        let mut a = app(&format!("{SNAT}set nat44 session limit {limit}\n"));
        let t0 = 10 * SEC;
        a.dp.graph.vm.clock = engine::clock::Clock::manual(t0);
        for round in 0..2 {
            for k in 0..n {
                let pl = [k as u8, round];
                engine::replay::inject_frame(
                    &a.dp,
                    "tap0",
                    t0,
                    udp(true, POD, 6000 + k, REMOTE, 53, &pl),
                )
                .unwrap();
            }
        }
        a.dp.run_until_idle();
        let out = sent(&a, GBE);
        assert_eq!(out.len(), 2 * n as usize, "limit {limit}");
        let mut port_of = std::collections::HashMap::new();
        for f in &out {
            let h = decode(f, true);
            assert_eq!((h.src, h.dst, h.dport), (NODE, REMOTE, 53));
            let k = f[f.len() - 2] as u16;
            let p = *port_of.entry(k).or_insert(h.sport);
            assert_eq!(p, h.sport, "flow {k} kept its port within the frame");
        }
        assert_eq!(port_of.len(), n as usize);
        // Replies in reverse order, each preceded by a packet to a port nobody holds.
        for k in (0..n).rev() {
            engine::replay::inject_frame(&a.dp, GBE, t0, udp(false, REMOTE, 53, NODE, 1, b"stray"))
                .unwrap();
            engine::replay::inject_frame(
                &a.dp,
                GBE,
                t0,
                udp(false, REMOTE, 53, NODE, port_of[&k], &[k as u8]),
            )
            .unwrap();
        }
        a.dp.run_until_idle();
        let back = sent(&a, "tap0");
        assert_eq!(back.len(), n as usize, "limit {limit}");
        for (j, f) in back.iter().enumerate() {
            let h = decode(f, true);
            let k = f[f.len() - 1] as u16;
            assert_eq!(k, n - 1 - j as u16, "order kept");
            assert_eq!((h.src, h.dst), (REMOTE, POD));
            assert_eq!((h.sport, h.dport), (53, 6000 + k), "limit {limit} flow {k}");
        }
        assert_eq!(
            count(&a, "nat44-out2in", "No translation"),
            n as u64,
            "limit {limit}"
        );
        let sum = run(&mut a, "show nat44 summary");
        assert!(sum.contains(&format!("total sessions: {n}")), "{sum}");
        assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
    }
}

/// Sum of one error reason over every node.
fn count_reason(a: &dataplane::App, reason: &str) -> u64 {
    a.dp.graph
        .error_counts()
        .into_iter()
        .filter(|(_, _, r)| *r == reason)
        .map(|(c, _, _)| c)
        .sum()
}

/// Current VPP's NAT44-ED (and conntrack): a TCP segment that is not an initial SYN creates no
/// session, in either direction; it is dropped and counted. Established flows are unaffected.
#[test]
fn a_tcp_segment_that_is_not_a_syn_creates_no_session() {
    const NON_SYN: &str = "non-SYN packet try to create session";
    let mut a = app(&format!(
        "{SNAT}nat44 add static mapping tcp local 10.1.2.5 8080 external 192.168.16.1 80\n"
    ));
    let pod = (POD_MAC, TAP0_MAC);
    let out = (GW_MAC, GBE_MAC);
    let t0 = 50 * SEC;
    // From inside: ACK, SYN+ACK, RST, FIN: no session, nothing leaves.
    for (i, fl) in ["", "SA", "R", "F"].iter().enumerate() {
        let ack = if fl.contains('A') || fl.is_empty() {
            Some(7)
        } else {
            None
        };
        let f = tcp_seg(pod, POD, 41000, REMOTE, 443, 100, ack, fl);
        send(&mut a, "tap0", t0 + i as u64, f);
    }
    assert!(sent(&a, GBE).is_empty(), "nothing translated");
    assert_eq!(count_reason(&a, NON_SYN), 4);
    assert!(
        nat44::nat(&a.dp)
            .clone()
            .sh
            .db
            .lock()
            .iter()
            .next()
            .is_none(),
        "no session"
    );
    // From outside to the static mapping: a forged ACK is dropped, a SYN opens the session.
    let f = tcp_seg(out, REMOTE, 5555, NODE, 80, 1, Some(1), "");
    send(&mut a, GBE, t0 + 10, f);
    assert!(sent(&a, "tap1").is_empty());
    assert_eq!(count_reason(&a, NON_SYN), 5);
    let f = tcp_seg(out, REMOTE, 5555, NODE, 80, 1, None, "S");
    send(&mut a, GBE, t0 + 11, f);
    assert_eq!(sent(&a, "tap1").len(), 1, "the SYN reaches the endpoint");
    // An inside SYN opens a session, and everything after it passes.
    send(
        &mut a,
        "tap0",
        t0 + 20,
        tcp_seg(pod, POD, 41000, REMOTE, 443, 100, None, "S"),
    );
    send(
        &mut a,
        "tap0",
        t0 + 21,
        tcp_seg(pod, POD, 41000, REMOTE, 443, 101, Some(9), ""),
    );
    assert_eq!(sent(&a, GBE).len(), 2);
    assert_eq!(count_reason(&a, NON_SYN), 5);
    // UDP and ICMP are not concerned.
    send(
        &mut a,
        "tap0",
        t0 + 30,
        udp(true, POD, 5353, REMOTE, 53, b"q"),
    );
    assert_eq!(sent(&a, GBE).len(), 3);
    let e = run(&mut a, "show errors");
    assert!(e.contains(NON_SYN), "{e}");
}

/// Endpoints go away (EndpointSlice updates): removing a back-end removes its sessions, UDP
/// included, so a client that retries the same 5-tuple is balanced to a live endpoint at once;
/// adding one back makes it eligible; a service scaled to zero (mapping deleted) and back works.
#[test]
fn removing_an_endpoint_rebalances_its_clients_at_once() {
    let vip = Ipv4Addr::new(10, 96, 0, 10);
    let mut a = app(&format!(
        "{SNAT}nat44 add load-balancing static mapping protocol udp external 10.96.0.10:53 local 10.1.2.5:53 probability 50 local 10.1.2.6:53 probability 50 out2in-only\n"
    ));
    let dst_of = |a: &mut dataplane::App, t: u64, sport: u16| {
        send(a, "tap0", t, udp(true, POD, sport, vip, 53, b"query"));
        decode(sent(a, "tap1").last().expect("delivered"), true).dst
    };
    // Many clients, each pinned to its endpoint by its session.
    let mut first = Vec::new();
    for k in 0..40u16 {
        first.push(dst_of(&mut a, SEC, 30000 + k));
    }
    assert!(
        first.contains(&Ipv4Addr::new(10, 1, 2, 5)) && first.contains(&Ipv4Addr::new(10, 1, 2, 6))
    );
    for k in 0..40u16 {
        assert_eq!(
            dst_of(&mut a, 2 * SEC, 30000 + k),
            first[k as usize],
            "sticky"
        );
    }
    // 10.1.2.5 goes away: its clients' retries (same 5-tuple) reach 10.1.2.6 now.
    run(&mut a, "nat44 add load-balancing back-end protocol udp external 10.96.0.10:53 local 10.1.2.5:53 del");
    for k in 0..40u16 {
        assert_eq!(
            dst_of(&mut a, 3 * SEC, 30000 + k),
            Ipv4Addr::new(10, 1, 2, 6)
        );
    }
    let m = run(&mut a, "show nat44 static mappings");
    assert!(!m.contains("10.1.2.5"), "{m}");
    // A new endpoint: new flows may go there, existing ones stay where they are.
    run(&mut a, "nat44 add load-balancing back-end protocol udp external 10.96.0.10:53 local 10.1.2.7:53 probability 50");
    let mut seen7 = false;
    for k in 0..40u16 {
        seen7 |= dst_of(&mut a, 4 * SEC, 31000 + k) == Ipv4Addr::new(10, 1, 2, 7);
        assert_eq!(
            dst_of(&mut a, 4 * SEC, 30000 + k),
            Ipv4Addr::new(10, 1, 2, 6)
        );
    }
    assert!(seen7, "the new endpoint gets new clients");
    // Errors: one line, nothing changed.
    for bad in [
        "nat44 add load-balancing back-end protocol udp external 10.96.0.10:53 local 10.1.2.7:53 probability 10",
        "nat44 add load-balancing back-end protocol udp external 10.96.0.10:53 local 10.1.2.9:53 del",
        "nat44 add load-balancing back-end protocol udp external 10.96.0.11:53 local 10.1.2.7:53 probability 10",
        "nat44 add load-balancing back-end protocol udp external 10.96.0.10:53 local 10.1.2.8:53",
        "nat44 add load-balancing back-end external 10.96.0.10:53 local 10.1.2.8:53 probability 1",
    ] {
        let e = a.exec(bad).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{bad}: {e}");
    }
    // Scaled to zero: no mapping, no sessions; the VIP is not translated any more.
    run(
        &mut a,
        "nat44 add load-balancing static mapping protocol udp external 10.96.0.10:53 del",
    );
    assert!(!run(&mut a, "show nat44 sessions").contains("10.96.0.10"));
    let before = sent(&a, "tap1").len();
    send(
        &mut a,
        "tap0",
        5 * SEC,
        udp(true, POD, 30000, vip, 53, b"query"),
    );
    assert_eq!(
        sent(&a, "tap1").len(),
        before,
        "no endpoint, nothing delivered"
    );
    // And back with one endpoint: the client's very next retry gets there.
    run(&mut a, "nat44 add load-balancing static mapping protocol udp external 10.96.0.10:53 local 10.1.2.7:53 probability 1 out2in-only");
    assert_eq!(dst_of(&mut a, 6 * SEC, 30000), Ipv4Addr::new(10, 1, 2, 7));
}

/// A full session table: expired sessions go first, then the least recently used half-open or
/// closing TCP (then UDP, then ICMP) — never an established connection: when only those are
/// left, the new flow is refused and counted, and everything that needs no new session (the
/// established flows both ways, ARP and ping to the node) still passes.
#[test]
fn a_full_session_table_never_cuts_an_established_connection() {
    let mut a = app(&format!("{SNAT}set nat44 session limit 6\n"));
    let pod = (POD_MAC, TAP0_MAC);
    let out = (GW_MAC, GBE_MAC);
    let mut t = 10 * SEC;
    let mut tick = || {
        t += SEC;
        t
    };
    let establish = |a: &mut dataplane::App, at: &mut dyn FnMut() -> u64, sport: u16| {
        send(
            a,
            "tap0",
            at(),
            tcp_seg(pod, POD, sport, REMOTE, 443, 100, None, "S"),
        );
        let p = outside_port(a, sport);
        send(
            a,
            GBE,
            at(),
            tcp_seg(out, REMOTE, 443, NODE, p, 900, Some(101), "SA"),
        );
        send(
            a,
            "tap0",
            at(),
            tcp_seg(pod, POD, sport, REMOTE, 443, 101, Some(901), ""),
        );
        p
    };
    let mut est = Vec::new();
    for k in 0..4u16 {
        est.push((41000 + k, establish(&mut a, &mut tick, 41000 + k)));
    }
    for k in 0..2u16 {
        send(
            &mut a,
            "tap0",
            tick(),
            tcp_seg(pod, POD, 42000 + k, REMOTE, 443, 1, None, "S"),
        );
    }
    let s = run(&mut a, "show nat44 summary");
    assert!(s.contains("total sessions: 6 (100.0% of the limit)"), "{s}");
    assert!(
        s.contains("tcp established: 4") && s.contains("tcp transitory: 2"),
        "{s}"
    );
    // Two new connections take the places of the two half-open ones, oldest first.
    let sent_before = sent(&a, GBE).len();
    send(
        &mut a,
        "tap0",
        tick(),
        tcp_seg(pod, POD, 43000, REMOTE, 443, 1, None, "S"),
    );
    assert!(run(&mut a, "show nat44 summary").contains("recycled 1"));
    let db = || nat44::nat(&a.dp).clone();
    assert!(
        db().sh.db.lock().iter().all(|(_, s)| s.i2o.l_port != 42000),
        "42000 went first"
    );
    send(
        &mut a,
        "tap0",
        tick(),
        tcp_seg(pod, POD, 43001, REMOTE, 443, 1, None, "S"),
    );
    assert_eq!(sent(&a, GBE).len(), sent_before + 2);
    // Both become established: the table holds six established connections.
    for sport in [43000u16, 43001] {
        let p = outside_port(&mut a, sport);
        send(
            &mut a,
            GBE,
            tick(),
            tcp_seg(out, REMOTE, 443, NODE, p, 900, Some(2), "SA"),
        );
        send(
            &mut a,
            "tap0",
            tick(),
            tcp_seg(pod, POD, sport, REMOTE, 443, 2, Some(901), ""),
        );
    }
    assert!(run(&mut a, "show nat44 summary").contains("tcp established: 6"));
    // A seventh connection (and a UDP flow) is refused and counted; nothing established goes.
    let before = sent(&a, GBE).len();
    send(
        &mut a,
        "tap0",
        tick(),
        tcp_seg(pod, POD, 44000, REMOTE, 443, 1, None, "S"),
    );
    send(
        &mut a,
        "tap0",
        tick(),
        udp(true, POD, 5353, REMOTE, 53, b"q"),
    );
    assert_eq!(sent(&a, GBE).len(), before, "refused");
    assert_eq!(
        count(&a, "nat44-in2out-slowpath", "Maximum sessions exceeded"),
        2
    );
    assert!(run(&mut a, "show nat44 summary").contains("tcp established: 6"));
    // Established connections keep passing both ways.
    for &(sport, p) in &est {
        send(
            &mut a,
            "tap0",
            tick(),
            tcp_seg(pod, POD, sport, REMOTE, 443, 101, Some(901), ""),
        );
        send(
            &mut a,
            GBE,
            tick(),
            tcp_seg(out, REMOTE, 443, NODE, p, 901, Some(101), ""),
        );
    }
    assert_eq!(sent(&a, GBE).len(), before + 4);
    // ARP and ping to the node need no session.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&GW_MAC);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&GW_MAC);
    arp.extend_from_slice(&[192, 168, 16, 100, 0, 0, 0, 0, 0, 0, 192, 168, 16, 1]);
    let n = sent(&a, GBE).len();
    send(&mut a, GBE, tick(), arp);
    send(&mut a, GBE, tick(), echo(false, REMOTE, NODE, 9, false));
    let replies = &sent(&a, GBE)[n..];
    assert_eq!(replies.len(), 2, "ARP reply and echo reply");
    assert_eq!(&replies[0][12..14], &[0x08, 0x06]);
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

/// Two tenants with the same pod address: tap0 in table 0, tap1 in table 5, both SNAT'ed
/// out of the uplink (table 0). Sessions carry their inside VRF, so each reply goes back into
/// the VRF its request came from, and `tenant-vrf` picks the pool address.
#[test]
fn overlapping_pods_in_two_vrfs_are_translated_apart() {
    let mut a = app("
create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:44:9f:d8
create tap id 0 hw-addr 02:fe:00:00:00:01
create tap id 1 hw-addr 02:fe:00:00:00:02
ip table add 5
set interface ip table tap1 5
set interface state GigabitEthernet0/8/0 up
set interface state tap0 up
set interface state tap1 up
set interface ip address GigabitEthernet0/8/0 192.168.16.1/24
set interface ip address tap0 10.1.1.1/24
set interface ip address tap1 10.1.1.1/24
set ip neighbor GigabitEthernet0/8/0 192.168.16.100 08:00:27:02:a5:36 static
ip route add 0.0.0.0/0 via 192.168.16.100 GigabitEthernet0/8/0
ip route add 0.0.0.0/0 table 5 via 192.168.16.100 GigabitEthernet0/8/0
set ip neighbor tap0 10.1.1.3 00:00:00:00:00:02 static
set ip neighbor tap1 10.1.1.3 00:00:00:00:00:02 static
nat44 add address 192.168.16.1
nat44 add address 192.168.16.2 tenant-vrf 5
set interface nat44 in tap0
set interface nat44 in tap1
set interface nat44 out GigabitEthernet0/8/0
");
    let t0 = 10 * SEC;
    let from = |mac: [u8; 6]| {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(POD_MAC, mac)
            .ipv4(ip(POD), ip(REMOTE), 64)
            .udp(5000, 53)
            .write(&mut v, b"query")
            .unwrap();
        v
    };
    send(&mut a, "tap0", t0, from(TAP0_MAC));
    send(&mut a, "tap1", t0, from(TAP1_MAC));
    let out = sent(&a, GBE);
    assert_eq!(out.len(), 2);
    let (h0, h1) = (decode(&out[0], true), decode(&out[1], true));
    assert_eq!(h0.src, NODE, "VRF 0 uses the VRF-0 address");
    assert_eq!(
        h1.src,
        Ipv4Addr::new(192, 168, 16, 2),
        "VRF 5 its tenant address"
    );
    let s = run(&mut a, "show nat44 sessions detail");
    assert!(s.contains("fib 0") && s.contains("fib 1"), "{s}");
    // The replies go back to the tenant each request came from.
    for (h, back) in [(&h1, "tap1"), (&h0, "tap0")] {
        send(
            &mut a,
            GBE,
            t0 + SEC,
            udp(false, REMOTE, 53, h.src, h.sport, b"answer"),
        );
        let f = sent(&a, back);
        assert_eq!(f.len(), 1, "reply to {} reaches {back}", h.src);
        let r = decode(&f[0], true);
        assert_eq!((r.src, r.dst, r.dport), (REMOTE, POD, 5000));
    }
}
