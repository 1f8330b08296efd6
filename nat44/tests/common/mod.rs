//! Helpers shared by the NAT44 integration tests: a contiv node-A forwarder, frame builders,
//! replay steps and header checks with etherparse.

#![allow(dead_code)]

use std::net::Ipv4Addr;

use dataplane::pcapgen::TcpFrame;
use dataplane::App;
use engine::clock::Clock;
use engine::replay::{inject_frame, transmitted};
use engine::Mode;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};

/// Nanoseconds of an `HH:MM:SS:UUUUUU` trace stamp.
pub fn ts(h: u64, m: u64, s: u64, us: u64) -> u64 {
    ((h * 3600 + m * 60 + s) * 1_000_000 + us) * 1_000
}

/// Seconds in ns.
pub const SEC: u64 = 1_000_000_000;

/// A forwarder with `script` applied.
pub fn app(script: &str) -> App {
    let mut a = App::new(Mode::Replay);
    a.exec_script(script)
        .unwrap_or_else(|e| panic!("script failed: {e}"));
    a
}

/// Run a command, panicking on error.
pub fn run(a: &mut App, line: &str) -> String {
    a.exec(line)
        .unwrap_or_else(|e| panic!("`{line}` failed: {e}"))
}

/// The interfaces of contiv node A (sw_if_index as in the packet-flow docs: GbE 1, tap0 2, loop0 3,
/// 4 and 5 stand-ins for the VXLAN tunnel, tap2 6, tap11 7, tap4 8, tap5 9), addresses, pod routes
/// and static ARP.
pub const NODE_A: &str = "
create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:44:9f:d8
create tap id 0 hw-addr 01:23:45:67:89:42
create loopback interface mac 1a:2b:3c:4d:5e:01
create tap id 90 hw-addr 02:fe:00:00:00:90
create tap id 91 hw-addr 02:fe:00:00:00:91
create tap id 2 hw-addr 02:fe:16:3f:5f:0f
create tap id 11 hw-addr 02:fe:69:99:eb:9d
create tap id 4 hw-addr 02:fe:10:03:7c:4d
create tap id 5 hw-addr 02:fe:04:07:d1:e2
set interface state GigabitEthernet0/8/0 up
set interface state tap0 up
set interface state loop0 up
set interface state tap2 up
set interface state tap11 up
set interface state tap4 up
set interface state tap5 up
set interface ip address GigabitEthernet0/8/0 192.168.16.1/24
set interface ip address tap0 172.30.1.1/24
set interface ip address loop0 192.168.30.1/24
set interface unnumbered tap2 use loop0
set interface unnumbered tap11 use loop0
set interface unnumbered tap4 use loop0
set interface unnumbered tap5 use loop0
set ip neighbor tap0 172.30.1.2 3e:1b:70:2d:4d:51 static
set ip neighbor GigabitEthernet0/8/0 192.168.16.100 08:00:27:02:a5:36 static
set ip neighbor tap2 10.1.1.3 00:00:00:00:00:02 static
set ip neighbor tap11 10.1.1.12 00:00:00:00:00:02 static
set ip neighbor tap4 10.1.1.5 00:00:00:00:00:02 static
set ip neighbor tap5 10.1.1.6 00:00:00:00:00:02 static
ip route add 10.1.1.3/32 via 10.1.1.3 tap2
ip route add 10.1.1.12/32 via 10.1.1.12 tap11
ip route add 10.1.1.5/32 via 10.1.1.5 tap4
ip route add 10.1.1.6/32 via 10.1.1.6 tap5
ip route add 10.20.0.2/32 via 172.30.1.2 tap0
ip route add 0.0.0.0/0 via 192.168.16.100 GigabitEthernet0/8/0
";

/// Contiv's NAT44 roles on node A (§0.3 of scenarios.md): client-only pod taps `out`, service
/// endpoint taps and tap0 `in`+`out`, GbE `out` + output-feature, node IP as pool, forwarding.
pub const NAT_A: &str = "
nat44 forwarding enable
nat44 add address 192.168.16.1
set interface nat44 out tap2
set interface nat44 out tap11
set interface nat44 in tap4 out tap4
set interface nat44 in tap5 out tap5
set interface nat44 in tap0 out tap0
set interface nat44 out GigabitEthernet0/8/0 output-feature
";

/// The docs' SYN TCP options (MSS 1460, SACK permitted, timestamps, NOP, window scale 7).
pub fn options() -> Vec<u8> {
    vec![
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x01, 0x03,
        0x03, 0x07,
    ]
}

/// A TCP frame with the given fields; the TCP checksum is then overwritten with `tcp_csum` when
/// given (the docs' traced values: VPP never verifies them, NAT updates them incrementally).
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    id: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    tcp_csum: Option<u16>,
) -> Vec<u8> {
    let syn_ack = flags & 0x10 != 0;
    let mut f = TcpFrame {
        src_mac,
        dst_mac,
        src,
        dst,
        id,
        df: true,
        ttl: 64,
        sport,
        dport,
        seq,
        ack,
        flags,
        window: if syn_ack { 28960 } else { 29200 },
        options: options(),
        payload: Vec::new(),
    }
    .build();
    if let Some(c) = tcp_csum {
        f[50..52].copy_from_slice(&c.to_be_bytes());
    }
    f
}

/// Pod MAC (every pod's eth0).
pub const POD_MAC: [u8; 6] = [0, 0, 0, 0, 0, 2];

/// Inject a frame on an interface at `t` and run until idle.
pub fn send(a: &mut App, ifname: &str, t: u64, frame: Vec<u8>) {
    a.dp.graph.vm.clock = Clock::manual(t);
    inject_frame(&a.dp, ifname, t, frame).unwrap();
    a.dp.run_until_idle();
}

/// Frames sent by an interface so far.
pub fn sent(a: &App, ifname: &str) -> Vec<Vec<u8>> {
    transmitted(&a.dp, ifname).unwrap()
}

/// Decoded L3/L4 of a frame, with checksum validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hdr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub ttl: u8,
    pub ip_csum: u16,
    pub l4_csum: u16,
}

/// Decode a frame with etherparse; asserts that the IPv4 header checksum is valid (and, when
/// `check_l4`, the TCP/UDP/ICMP checksum too).
pub fn decode(f: &[u8], check_l4: bool) -> Hdr {
    let p = SlicedPacket::from_ethernet(f).expect("valid frame");
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!("not IPv4")
    };
    let h = ip.header().to_header();
    assert_eq!(
        h.header_checksum,
        h.calc_header_checksum(),
        "IPv4 header checksum"
    );
    let (sport, dport, l4_csum) = match &p.transport {
        Some(TransportSlice::Tcp(t)) => {
            if check_l4 {
                let want = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
                assert_eq!(t.checksum(), want, "TCP checksum");
            }
            (t.source_port(), t.destination_port(), t.checksum())
        }
        Some(TransportSlice::Udp(u)) => {
            if check_l4 && u.checksum() != 0 {
                let want = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
                assert_eq!(u.checksum(), want, "UDP checksum");
            }
            (u.source_port(), u.destination_port(), u.checksum())
        }
        Some(TransportSlice::Icmpv4(i)) => {
            if check_l4 {
                let want = i.icmp_type().calc_checksum(i.payload());
                assert_eq!(i.checksum(), want, "ICMP checksum");
            }
            let id = match i.icmp_type() {
                etherparse::Icmpv4Type::EchoRequest(e) | etherparse::Icmpv4Type::EchoReply(e) => {
                    e.id
                }
                _ => 0,
            };
            (id, id, i.checksum())
        }
        _ => (0, 0, 0),
    };
    Hdr {
        src: h.source.into(),
        dst: h.destination.into(),
        sport,
        dport,
        ttl: h.time_to_live,
        ip_csum: h.header_checksum,
        l4_csum,
    }
}

/// The body lines of every record of node `node` in a `show trace` text.
pub fn records<'a>(trace: &'a str, node: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<&str>> = None;
    for line in trace.lines() {
        let header = line.len() > 17
            && line.as_bytes()[2] == b':'
            && line[..15].chars().all(|c| c.is_ascii_digit() || c == ':');
        if header {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            if line[17..] == *node {
                cur = Some(Vec::new());
            }
        } else if let Some(c) = cur.as_mut() {
            if line.is_empty() || line.starts_with("Packet ") {
                out.push(cur.take().unwrap());
            } else {
                c.push(line);
            }
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

/// The documented traces of a contiv packet-flow doc, one block per packet, from the copy the
/// repository keeps (`traces/contiv/<name in kebab case>/expected.trace`; `#` note lines dropped).
pub fn doc_blocks(name: &str) -> Vec<String> {
    let folder = name
        .trim_end_matches(".md")
        .to_lowercase()
        .replace('_', "-");
    let path = format!(
        "{}/../traces/contiv/{folder}/expected.trace",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with("Packet ") {
            if let Some(b) = cur.take() {
                blocks.push(b);
            }
            cur = Some(String::new());
        }
        if let Some(b) = cur.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks.extend(cur);
    blocks
}
