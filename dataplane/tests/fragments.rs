//! Fragments through NAT44 and ACLs (shallow virtual reassembly): 4000-byte UDP datagrams
//! pod -> outside (SNAT) and back, pod -> a UDP ClusterIP (DNAT), 3000-byte pings pod -> pod
//! through reflexive ACLs, with fragments in order and in reverse; every datagram arrives whole
//! (reassembled here, its checksum verified) with the translated addresses and ports. The
//! limits (fragments held, datagrams in progress, the timeout) are counted drops.

use dataplane::App;
use engine::clock::Clock;
use engine::replay::{inject_frame, transmitted};
use engine::Mode;
use graph_nodes::wire::checksum;

const TAP0: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 0];
const TAP1: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 1];
const TAP2: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 2];
const POD_A: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
const GW: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

const CONFIG: &str = "create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap0 up
set interface state tap1 up
set interface state tap2 up
set interface ip address tap0 192.168.16.1/24
set interface ip address tap1 10.1.1.1/24
set interface ip address tap2 10.1.2.1/24
set ip neighbor tap0 192.168.16.2 02:00:00:00:00:fe static
set ip neighbor tap1 10.1.1.2 02:00:00:00:01:02 static
set ip neighbor tap2 10.1.2.2 02:00:00:00:02:02 static
ip route add 0.0.0.0/0 via 192.168.16.2 tap0
nat44 add address 192.168.16.1
set interface nat44 in tap1 out tap1
set interface nat44 in tap2 out tap2
set interface nat44 out tap0
nat44 add load-balancing static mapping protocol udp external 10.96.0.20:53 local 10.1.2.2:5353 probability 1
set acl-plugin acl index 0 permit+reflect src 0.0.0.0/0
set acl-plugin acl index 1 permit src 0.0.0.0/0 dst 10.1.2.2/32 proto 17 dport 5353, permit src 0.0.0.0/0 proto 1
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap2 input acl 0
set acl-plugin interface tap2 output acl 1
";

fn app() -> App {
    let mut a = App::new(Mode::Replay);
    a.exec_script(CONFIG).unwrap();
    a.dp.graph.vm.clock = Clock::manual(10_000_000_000);
    a
}

fn send(a: &mut App, ifname: &str, frames: &[Vec<u8>]) {
    let now = a.dp.graph.vm.clock.now_ns();
    for f in frames {
        inject_frame(&a.dp, ifname, now, f.clone()).unwrap();
    }
    a.dp.run_until_idle();
}

/// An IPv4 datagram (header + L4 payload) carrying `l4`.
fn datagram(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(l4);
    h
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, n: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + n) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(&payload);
    let c = checksum::ipv4_l4_checksum(src.into(), dst.into(), 17, &u);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    datagram(src, dst, 17, 0x4242, &u)
}

fn echo(src: [u8; 4], dst: [u8; 4], id: u16, n: usize) -> Vec<u8> {
    let mut e = vec![8, 0, 0, 0];
    e.extend_from_slice(&id.to_be_bytes());
    e.extend_from_slice(&[0, 1]);
    e.extend((0..n).map(|i| i as u8));
    let c = checksum::checksum(&e);
    e[2..4].copy_from_slice(&c.to_be_bytes());
    datagram(src, dst, 1, 0x5151, &e)
}

/// Ethernet frames of `ip` cut into fragments of at most 1480 payload bytes.
fn fragments(ip: &[u8], macs: ([u8; 6], [u8; 6])) -> Vec<Vec<u8>> {
    let payload = &ip[20..];
    let mut out = Vec::new();
    for (k, chunk) in payload.chunks(1480).enumerate() {
        let off = k * 1480;
        let more = off + chunk.len() < payload.len();
        let mut h = ip[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + chunk.len()) as u16).to_be_bytes());
        let ff = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&ff.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::ipv4_header_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        let mut f = macs.1.to_vec();
        f.extend_from_slice(&macs.0);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&h);
        f.extend_from_slice(chunk);
        out.push(f);
    }
    out
}

/// The datagram rebuilt from sent fragments (by offset): (source, destination, L4 bytes).
fn reassemble(frames: &[Vec<u8>]) -> ([u8; 4], [u8; 4], u8, Vec<u8>) {
    let mut parts: Vec<(usize, &[u8])> = frames
        .iter()
        .map(|f| {
            let ip = &f[14..];
            assert!(
                checksum::verify_ipv4_header_checksum(&ip[..20]),
                "IP checksum"
            );
            let off = (u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff) as usize * 8;
            let len = u16::from_be_bytes([ip[2], ip[3]]) as usize;
            (off, &ip[20..len])
        })
        .collect();
    parts.sort_by_key(|p| p.0);
    let ip = &frames[0][14..];
    let mut l4 = Vec::new();
    for (off, p) in parts {
        assert_eq!(off, l4.len(), "contiguous fragments");
        l4.extend_from_slice(p);
    }
    (
        [ip[12], ip[13], ip[14], ip[15]],
        [ip[16], ip[17], ip[18], ip[19]],
        ip[9],
        l4,
    )
}

fn take(a: &App, ifname: &str) -> Vec<Vec<u8>> {
    let f = transmitted(&a.dp, ifname).unwrap();
    let sw = a.dp.sw_if_index(ifname).unwrap();
    if let Some(Some(h)) = a.dp.devices.get(sw as usize) {
        let mut d = h.lock();
        let any: &mut dyn std::any::Any = d.as_mut();
        if let Some(m) = any.downcast_mut::<engine::interface::MemoryDevice>() {
            m.tx.clear();
        }
    }
    f
}

fn udp_ok(src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> bool {
    checksum::verify_ipv4_l4_checksum(src.into(), dst.into(), 17, l4)
}

fn no_leaks(a: &App) {
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
}

#[test]
fn fragmented_udp_goes_out_and_back_through_snat_in_either_order() {
    let mut a = app();
    for reverse in [false, true] {
        let sport = if reverse { 40001 } else { 40000 };
        let mut f = fragments(
            &udp([10, 1, 1, 2], sport, [8, 8, 8, 8], 53, 4000),
            (POD_A, TAP1),
        );
        assert_eq!(f.len(), 3);
        if reverse {
            f.reverse();
        }
        send(&mut a, "tap1", &f);
        let out = take(&a, "tap0");
        assert_eq!(out.len(), 3, "every fragment leaves (reverse {reverse})");
        let (s, d, _, l4) = reassemble(&out);
        assert_eq!(
            (s, d),
            ([192, 168, 16, 1], [8, 8, 8, 8]),
            "source translated"
        );
        assert_eq!(l4.len(), 4008);
        assert!(
            udp_ok(s, d, &l4),
            "the datagram's UDP checksum still verifies"
        );
        let nat_port = u16::from_be_bytes([l4[0], l4[1]]);
        // The answer, fragmented too, comes back to the pod.
        let mut back = fragments(
            &udp([8, 8, 8, 8], 53, [192, 168, 16, 1], nat_port, 3500),
            (GW, TAP0),
        );
        if reverse {
            back.reverse();
        }
        send(&mut a, "tap0", &back);
        let got = take(&a, "tap1");
        assert_eq!(got.len(), 3);
        let (s, d, _, l4) = reassemble(&got);
        assert_eq!((s, d), ([8, 8, 8, 8], [10, 1, 1, 2]));
        assert_eq!(
            u16::from_be_bytes([l4[2], l4[3]]),
            sport,
            "the pod's port again"
        );
        assert!(udp_ok(s, d, &l4));
    }
    let sv = a.exec("show ip4-sv-reassembly").unwrap();
    assert!(sv.contains("Current IP4 reassemblies count: 0"), "{sv}");
    no_leaks(&a);
}

#[test]
fn fragmented_udp_reaches_a_service_and_pings_cross_pods() {
    let mut a = app();
    // Pod A -> ClusterIP 10.96.0.20:53 -> pod B:5353 (DNAT, pod B's egress ACL on the port).
    let mut f = fragments(
        &udp([10, 1, 1, 2], 41000, [10, 96, 0, 20], 53, 4000),
        (POD_A, TAP1),
    );
    f.reverse();
    send(&mut a, "tap1", &f);
    let got = take(&a, "tap2");
    assert_eq!(got.len(), 3, "{}", a.exec("show errors").unwrap());
    let (s, d, _, l4) = reassemble(&got);
    assert_eq!((s, d), ([10, 1, 1, 2], [10, 1, 2, 2]));
    assert_eq!(u16::from_be_bytes([l4[2], l4[3]]), 5353);
    assert!(udp_ok(s, d, &l4));
    // A 3000-byte ping pod A -> pod B and its reply, through the reflexive ACLs.
    let f = fragments(&echo([10, 1, 1, 2], [10, 1, 2, 2], 77, 3000), (POD_A, TAP1));
    send(&mut a, "tap1", &f);
    let got = take(&a, "tap2");
    assert_eq!(got.len(), 3);
    let (_, _, proto, l4) = reassemble(&got);
    assert_eq!(
        (proto, l4[0], checksum::checksum(&l4)),
        (1, 8, 0),
        "a whole echo request"
    );
    let mut reply = echo([10, 1, 2, 2], [10, 1, 1, 2], 77, 3000);
    reply[20] = 0;
    let c = {
        let mut e = reply[20..].to_vec();
        e[2] = 0;
        e[3] = 0;
        checksum::checksum(&e)
    };
    reply[22..24].copy_from_slice(&c.to_be_bytes());
    let mut back = fragments(&reply, ([0x02, 0, 0, 0, 0x02, 0x02], TAP2));
    back.reverse();
    send(&mut a, "tap2", &back);
    assert_eq!(
        take(&a, "tap1").len(),
        3,
        "{}",
        a.exec("show errors").unwrap()
    );
    no_leaks(&a);
}

fn count(a: &App, reason: &str) -> u64 {
    a.dp.graph.error_count("ip4-sv-reassembly-feature", reason)
}

#[test]
fn reassembly_limits_are_counted_drops() {
    let mut a = app();
    // Seven fragments, all but the first sent first: three are held, the fourth is one too many.
    let big = udp([10, 1, 1, 2], 42000, [8, 8, 8, 8], 53, 9000);
    let f = fragments(&big, (POD_A, TAP1));
    assert_eq!(f.len(), 7);
    let mut order: Vec<Vec<u8>> = f[1..].to_vec();
    order.push(f[0].clone());
    send(&mut a, "tap1", &order);
    assert_eq!(
        count(&a, "fragment chain too long (drop)"),
        4,
        "the 4th and the 3 held"
    );
    // The last two start a new datagram, which the first fragment completes.
    assert_eq!(
        take(&a, "tap0").len(),
        3,
        "the first fragment and the last two go on"
    );
    // Held fragments whose first fragment never comes are dropped after the timeout.
    let mut d = udp([10, 1, 1, 2], 42001, [8, 8, 8, 8], 53, 4000);
    d[4..6].copy_from_slice(&0x4343u16.to_be_bytes());
    let f = fragments(&d, (POD_A, TAP1));
    send(&mut a, "tap1", &f[1..]);
    let sv = a.exec("show ip4-sv-reassembly details").unwrap();
    assert!(sv.contains("2 fragments held"), "{sv}");
    let t = a.dp.graph.vm.clock.now_ns();
    a.dp.graph.vm.clock.set_ns(t + 200_000_000);
    a.dp.run_until_idle();
    assert_eq!(count(&a, "fragments dropped due to reassembly timeout"), 2);
    assert!(a
        .exec("show ip4-sv-reassembly")
        .unwrap()
        .contains("Current IP4 reassemblies count: 0"));
    // Datagrams in progress at once.
    a.exec("set ip4-sv-reassembly max-reassemblies 2").unwrap();
    for (k, id) in [(0u16, 1u16), (1, 2), (2, 3)] {
        let mut d = udp([10, 1, 1, 2], 43000 + k, [8, 8, 8, 8], 53, 4000);
        d[4..6].copy_from_slice(&(0x6000 + id).to_be_bytes());
        let f = fragments(&d, (POD_A, TAP1));
        send(&mut a, "tap1", &f[2..]);
    }
    assert_eq!(count(&a, "drops due to concurrent reassemblies limit"), 1);
    let sv = a.exec("show ip4-sv-reassembly").unwrap();
    assert!(sv.contains("per worker-thread: 2"), "{sv}");
    // Bad settings: one line, nothing changed.
    for bad in [
        "set ip4-sv-reassembly max-reassembly-length 0",
        "set ip4-sv-reassembly max-reassembly-length 99",
        "set ip4-sv-reassembly timeout 0",
        "set ip4-sv-reassembly max-reassemblies 5",
        "set ip4-sv-reassembly",
        "set ip4-sv-reassembly bogus 1",
    ] {
        let e = a.exec(bad).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{bad}: {e}");
    }
    let t = a.dp.graph.vm.clock.now_ns();
    a.dp.graph.vm.clock.set_ns(t + 200_000_000);
    a.dp.run_until_idle();
    no_leaks(&a);
}

/// Fragments of interfaces without NAT or ACL features are routed as they are.
#[test]
fn fragments_without_features_are_just_routed() {
    let mut a = App::new(Mode::Replay);
    a.exec_script(
        "create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap1 up
set interface state tap2 up
set interface ip address tap1 10.1.1.1/24
set interface ip address tap2 10.1.2.1/24
set ip neighbor tap2 10.1.2.2 02:00:00:00:02:02 static",
    )
    .unwrap();
    let mut f = fragments(
        &udp([10, 1, 1, 2], 1, [10, 1, 2, 2], 2, 4000),
        (POD_A, TAP1),
    );
    f.reverse();
    send(&mut a, "tap1", &f);
    assert_eq!(take(&a, "tap2").len(), 3);
    assert_eq!(
        count(&a, "fragments received"),
        0,
        "no reassembly on the way"
    );
    no_leaks(&a);
}
