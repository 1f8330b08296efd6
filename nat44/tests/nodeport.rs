//! Seed 000 as a pcap replay: NodePort from outside. ExtIP -> NodeIP:30232 arrives on the uplink,
//! is DNATed to the pod and SNATed to the gateway (twice-NAT), so the pod sees 172.16.2.1 as its
//! client and replies through us; the reply leaves the uplink as NodeIP:30232 -> ExtIP. The whole
//! documented exchange (handshake, request, response, FIN both ways) is replayed; every checksum
//! of every output is verified.

mod common;

use std::net::Ipv4Addr;

use common::*;
use dataplane::pcapgen::TcpFrame;
use engine::replay::{run_replay, ReplayConfig};

const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 176, 25, 244);
const NODE_PORT: u16 = 30232;
const EXT_IP: Ipv4Addr = Ipv4Addr::new(10, 193, 7, 21);
const EXT_PORT: u16 = 44860;
const GW_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 2, 1);
const POD_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 2, 4);
const UPLINK_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x10, 0xb0, 0xf4];
const ROUTER_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x00, 0x00, 0x01];
const TAP_MAC: [u8; 6] = [0x02, 0xfe, 0x4a, 0x95, 0x7b, 0xd4];

const CONFIG: &str = "
create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:10:b0:f4
create tap id 1 hw-addr 02:fe:4a:95:7b:d4
set interface state GigabitEthernet0/8/0 up
set interface state tap1 up
set interface ip address GigabitEthernet0/8/0 10.176.25.244/20
set interface ip address tap1 172.16.2.1/24
set ip neighbor GigabitEthernet0/8/0 10.176.16.1 08:00:27:00:00:01 static
ip route add 0.0.0.0/0 via 10.176.16.1 GigabitEthernet0/8/0
set ip neighbor tap1 172.16.2.4 00:00:00:00:00:02 static
ip route add 172.16.2.4/32 via 172.16.2.4 tap1
nat44 plugin enable sessions 1024
nat44 forwarding enable
nat44 add address 10.176.25.244
nat44 add address 172.16.2.1 twice-nat
set interface nat44 in tap1 out tap1
set interface nat44 out GigabitEthernet0/8/0 output-feature
nat44 add static mapping tcp local 172.16.2.4 8080 external 10.176.25.244 30232 twice-nat out2in-only
";

/// One packet of the documented exchange, as seen on the wire where it enters us.
struct Step {
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: usize,
}

/// The tcpdump of seed 000 (relative sequence numbers made absolute).
fn exchange() -> Vec<Step> {
    let (c, s) = (938_866_061u32, 3_736_389_015u32);
    let st = |from_client, flags, seq, ack, payload| Step {
        from_client,
        flags,
        seq,
        ack,
        payload,
    };
    vec![
        st(true, 0x02, c, 0, 0),
        st(false, 0x12, s, c + 1, 0),
        st(true, 0x10, c + 1, s + 1, 0),
        st(true, 0x18, c + 1, s + 1, 77),
        st(false, 0x10, s + 1, c + 78, 0),
        st(false, 0x18, s + 1, c + 78, 131),
        st(true, 0x10, c + 78, s + 132, 0),
        st(true, 0x11, c + 78, s + 132, 0),
        st(false, 0x11, s + 132, c + 79, 0),
        st(true, 0x10, c + 79, s + 133, 0),
    ]
}

fn frame(step: &Step, gw_port: u16) -> Vec<u8> {
    let (src_mac, dst_mac, src, sport, dst, dport) = if step.from_client {
        (ROUTER_MAC, UPLINK_MAC, EXT_IP, EXT_PORT, NODE_IP, NODE_PORT)
    } else {
        (POD_MAC, TAP_MAC, POD_IP, 8080, GW_IP, gw_port)
    };
    TcpFrame {
        src_mac,
        dst_mac,
        src,
        dst,
        id: 0x1000 + step.payload as u16,
        df: true,
        ttl: 64,
        sport,
        dport,
        seq: step.seq,
        ack: step.ack,
        flags: step.flags,
        window: 502,
        options: Vec::new(),
        payload: vec![0x47; step.payload],
    }
    .build()
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nat44-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn nodeport_with_twice_nat_replay() {
    // The gateway port is drawn from the twice-NAT pool by the seeded generator: learn it once,
    // then the replay (same seed) reproduces it.
    let gw_port = {
        let mut a = app(CONFIG);
        send(
            &mut a,
            "GigabitEthernet0/8/0",
            SEC,
            frame(&exchange()[0], 0),
        );
        let h = nat44::nat(&a.dp).clone();
        let db = h.sh.db.lock();
        let (_, s) = db.iter().next().expect("one session");
        s.i2o.r_port
    };
    let dir = tmpdir("nodeport");
    let t0 = ts(4, 53, 36, 353_399);
    let (mut client, mut pod) = (Vec::new(), Vec::new());
    for (k, st) in exchange().iter().enumerate() {
        let t = t0 + k as u64 * 100_000;
        if st.from_client {
            client.push((t, frame(st, gw_port)));
        } else {
            pod.push((t, frame(st, gw_port)));
        }
    }
    let write = |name: &str, v: &[(u64, Vec<u8>)]| {
        let p = dir.join(name);
        engine::pcap::write_pcap(&p, v.iter().map(|(t, d)| (*t, d.as_slice()))).unwrap();
        p
    };
    let cfg = ReplayConfig {
        inputs: vec![
            (
                "GigabitEthernet0/8/0".into(),
                write("GigabitEthernet0_8_0.pcap", &client),
            ),
            ("tap1".into(), write("tap1.pcap", &pod)),
        ],
        output_dir: Some(dir.join("out")),
        trace: 0,
        ..Default::default()
    };
    let mut a = app(CONFIG);
    let outcome = run_replay(&mut a.dp, &cfg).unwrap();
    assert_eq!(outcome.buffers_in_use, 0);
    // To the pod: 172.16.2.1:gw_port -> 172.16.2.4:8080, every packet of the client.
    let to_pod = sent(&a, "tap1");
    assert_eq!(to_pod.len(), client.len());
    for f in &to_pod {
        let h = decode(f, true);
        assert_eq!(
            (h.src, h.sport, h.dst, h.dport),
            (GW_IP, gw_port, POD_IP, 8080),
            "request as the pod sees it"
        );
    }
    // Back out: 10.176.25.244:30232 -> ExtIP, every packet of the pod.
    let out = sent(&a, "GigabitEthernet0/8/0");
    assert_eq!(out.len(), pod.len());
    for f in &out {
        let h = decode(f, true);
        assert_eq!(
            (h.src, h.sport, h.dst, h.dport),
            (NODE_IP, NODE_PORT, EXT_IP, EXT_PORT),
            "reply as the client sees it"
        );
        assert_eq!(&f[..6], &ROUTER_MAC);
    }
    // One session, closed by the FIN exchange: transitory now.
    let s = run(&mut a, "show nat44 sessions detail");
    assert!(s.contains("1 static translations"), "{s}");
    assert!(
        s.contains("external host o2i 10.193.7.21:44860 i2o 172.16.2.1:"),
        "{s}"
    );
    assert!(s.contains("tcp state closed"), "{s}");
    assert!(s.contains("twice-nat"), "{s}");
    let sum = run(&mut a, "show nat44 summary");
    assert!(sum.contains("tcp transitory: 1"), "{sum}");
    let addrs = run(&mut a, "show nat44 addresses");
    assert!(
        addrs.contains("NAT44 twice-nat pool addresses:\n172.16.2.1\n  tenant VRF independent\n  0 busy udp ports\n  1 busy tcp ports"),
        "{addrs}"
    );
    // The replay wrote the outputs.
    assert!(outcome
        .outputs
        .iter()
        .any(|(n, p, k)| n == "tap1" && p.exists() && *k == client.len()));
}
