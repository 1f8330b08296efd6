//! Frame builders and helpers shared by the integration tests.

#![allow(dead_code)]

use std::net::Ipv4Addr;

use dataplane::engine::clock::Clock;
use dataplane::engine::replay::{inject_frame, transmitted};
use dataplane::App;
use graph_nodes::wire::checksum;

/// An IPv4 packet to build.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// TCP flags (TCP only).
    pub flags: u8,
    pub id: u16,
    pub ttl: u8,
    pub df: bool,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// TCP options (multiple of 4).
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
    /// Fragment offset in 8-byte units.
    pub frag: u16,
}

impl Pkt {
    pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> Pkt {
        Pkt {
            src_mac: [0, 0, 0, 0, 0, 2],
            dst_mac: [0x02, 0xfe, 0, 0, 0, 1],
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 6,
            sport,
            dport,
            flags,
            id: 1,
            ttl: 64,
            df: true,
            seq: 0x1000,
            ack: 0,
            window: 29200,
            options: Vec::new(),
            payload: Vec::new(),
            frag: 0,
        }
    }

    pub fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Pkt {
        Pkt {
            proto: 17,
            payload: vec![0xab; 12],
            ..Pkt::tcp(src, sport, dst, dport, 0)
        }
    }

    /// ICMP: `sport` is the type, `dport` the code.
    pub fn icmp(src: &str, dst: &str, icmp_type: u8, code: u8) -> Pkt {
        Pkt {
            proto: 1,
            payload: vec![0x11; 8],
            ..Pkt::tcp(src, icmp_type as u16, dst, code as u16, 0)
        }
    }

    pub fn macs(mut self, src: [u8; 6], dst: [u8; 6]) -> Pkt {
        self.src_mac = src;
        self.dst_mac = dst;
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let l4: Vec<u8> = match self.proto {
            6 => {
                let mut t = Vec::new();
                t.extend_from_slice(&self.sport.to_be_bytes());
                t.extend_from_slice(&self.dport.to_be_bytes());
                t.extend_from_slice(&self.seq.to_be_bytes());
                t.extend_from_slice(&self.ack.to_be_bytes());
                t.push((((20 + self.options.len()) / 4) as u8) << 4);
                t.push(self.flags);
                t.extend_from_slice(&self.window.to_be_bytes());
                t.extend_from_slice(&[0, 0, 0, 0]);
                t.extend_from_slice(&self.options);
                t.extend_from_slice(&self.payload);
                let c = checksum::ipv4_l4_checksum(self.src, self.dst, 6, &t);
                t[16..18].copy_from_slice(&c.to_be_bytes());
                t
            }
            17 => {
                let mut u = Vec::new();
                u.extend_from_slice(&self.sport.to_be_bytes());
                u.extend_from_slice(&self.dport.to_be_bytes());
                u.extend_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
                u.extend_from_slice(&[0, 0]);
                u.extend_from_slice(&self.payload);
                let c = checksum::ipv4_l4_checksum(self.src, self.dst, 17, &u);
                u[6..8].copy_from_slice(&c.to_be_bytes());
                u
            }
            1 => {
                let mut i = vec![self.sport as u8, self.dport as u8, 0, 0];
                i.extend_from_slice(&self.payload);
                let c = checksum::ipv4_header_checksum(&i);
                i[2..4].copy_from_slice(&c.to_be_bytes());
                i
            }
            _ => self.payload.clone(),
        };
        let total = 20 + l4.len();
        let mut f = Vec::with_capacity(14 + total);
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0x00]);
        f.extend_from_slice(&(total as u16).to_be_bytes());
        f.extend_from_slice(&self.id.to_be_bytes());
        let fl = (if self.df { 0x4000u16 } else { 0 }) | self.frag;
        f.extend_from_slice(&fl.to_be_bytes());
        f.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        f.extend_from_slice(&self.src.octets());
        f.extend_from_slice(&self.dst.octets());
        let c = checksum::ipv4_header_checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&l4);
        f
    }
}

/// An ARP request frame (sender `sha`/`spa` asking for `tpa`).
pub fn arp_request(eth_src: [u8; 6], sha: [u8; 6], spa: &str, tpa: &str) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&eth_src);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.parse::<Ipv4Addr>().unwrap().octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.parse::<Ipv4Addr>().unwrap().octets());
    f.resize(60, 0);
    f
}

/// (src, sport, dst, dport, proto) of an Ethernet + IPv4 frame.
pub fn five_tuple(f: &[u8]) -> (Ipv4Addr, u16, Ipv4Addr, u16, u8) {
    let ip = &f[14..];
    let l4 = &ip[((ip[0] & 15) as usize) * 4..];
    (
        Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        u16::from_be_bytes([l4[0], l4[1]]),
        Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        u16::from_be_bytes([l4[2], l4[3]]),
        ip[9],
    )
}

pub fn run(app: &mut App, script: &str) -> String {
    app.exec_script(script)
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Feed one frame at `ts_ns` and run the graph until idle.
pub fn send(app: &mut App, ifname: &str, ts_ns: u64, frame: Vec<u8>) {
    app.dp.graph.vm.clock = Clock::manual(ts_ns);
    inject_frame(&app.dp, ifname, ts_ns, frame).unwrap();
    app.dp.run_until_idle();
}

/// Frames an interface transmitted so far.
pub fn sent(app: &App, ifname: &str) -> Vec<Vec<u8>> {
    transmitted(&app.dp, ifname).unwrap()
}

pub fn err_count(app: &App, node: &str, reason: &str) -> u64 {
    app.dp.graph.error_count(node, reason)
}

pub const SEC: u64 = 1_000_000_000;

/// Two taps with addresses, neighbours and routes: tap1 (sw 1) 10.1.1.0/24 side with client
/// 10.1.1.3, tap2 (sw 2) 10.20.0.0/24 side with server 10.20.0.2.
pub const TWO_TAPS: &str = "
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap1 up
set interface state tap2 up
set interface ip address tap1 10.1.1.1/24
set interface ip address tap2 10.20.0.1/24
set ip neighbor tap1 10.1.1.3 00:00:00:00:00:03 static
set ip neighbor tap2 10.20.0.2 00:00:00:00:00:20 static
";

pub const TAP1_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 1];
pub const TAP2_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 2];
pub const CLIENT_MAC: [u8; 6] = [0, 0, 0, 0, 0, 3];
pub const SERVER_MAC: [u8; 6] = [0, 0, 0, 0, 0, 0x20];

/// A client->server TCP packet entering tap1.
pub fn c2s(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    Pkt::tcp("10.1.1.3", sport, "10.20.0.2", dport, flags)
        .macs(CLIENT_MAC, TAP1_MAC)
        .build()
}

/// A server->client TCP packet entering tap2.
pub fn s2c(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    Pkt::tcp("10.20.0.2", sport, "10.1.1.3", dport, flags)
        .macs(SERVER_MAC, TAP2_MAC)
        .build()
}

/// The acl-plugin records of `show trace` for a node, as their body lines (3 per record).
pub fn acl_records(trace: &str, node: &str) -> Vec<[String; 3]> {
    let lines: Vec<&str> = trace.lines().collect();
    let mut out = Vec::new();
    for i in 0..lines.len() {
        if lines[i].ends_with(&format!(": {node}")) && i + 3 < lines.len() {
            out.push([
                lines[i + 1].to_string(),
                lines[i + 2].to_string(),
                lines[i + 3].to_string(),
            ]);
        }
    }
    out
}
