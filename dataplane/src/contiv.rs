//! The packets of the documented Contiv-VPP packet walks, rebuilt from the values their traces
//! print (addresses, ports, IP ids, sequence numbers, windows, checksums). TCP options follow the
//! rewrite hex dumps (`02 04 05 b4 04 02` = MSS 1460, SACK permitted) and then a timestamp,
//! NOP and window scale; two timestamp bytes are chosen so that the real TCP checksum equals the
//! documented one (see `TcpFrame::build_with_tcp_checksum`).
//!
//! `dataplane gen-scenario-inputs traces/` writes `input/IF.pcap` of every scenario from here, and
//! a test checks the committed files are what this module produces.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::pcapgen::{syn_options, TcpFrame};

/// MAC every pod uses on its eth0 (STN requirement in Contiv).
pub const POD_MAC: [u8; 6] = [0, 0, 0, 0, 0, 2];

/// One documented input packet.
#[derive(Clone, Debug)]
pub struct DocPacket {
    /// Interface it enters.
    pub iface: &'static str,
    /// Time it is received (ns; the documented ones at their first trace record's time).
    pub ts_ns: u64,
    /// The frame.
    pub frame: Vec<u8>,
}

/// Nanoseconds of a `HH:MM:SS:uuuuuu` trace time (on day 0).
pub fn time_ns(t: &str) -> u64 {
    let p: Vec<u64> = t.split(':').map(|x| x.parse().unwrap_or(0)).collect();
    ((p[0] * 3600 + p[1] * 60 + p[2]) * 1_000_000 + p[3]) * 1_000
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    id: u16,
    seq: u32,
    ack: u32,
    syn_ack: bool,
    tcp_csum: u16,
) -> Vec<u8> {
    let f = TcpFrame {
        src_mac,
        dst_mac,
        src: src.0,
        dst: dst.0,
        id,
        df: true,
        ttl: 64,
        sport: src.1,
        dport: dst.1,
        seq,
        ack,
        flags: if syn_ack { 0x12 } else { 0x02 },
        window: if syn_ack { 28960 } else { 29200 },
        options: syn_options(),
        payload: Vec::new(),
    };
    f.build_with_tcp_checksum(tcp_csum)
}

fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

/// MAC of the VPP side of tap0 (host interconnect) and of the host's `vpp1`.
const TAP0_MAC: [u8; 6] = [0x01, 0x23, 0x45, 0x67, 0x89, 0x42];
const HOST_MAC: [u8; 6] = [0x3e, 0x1b, 0x70, 0x2d, 0x4d, 0x51];
const TAP2_MAC: [u8; 6] = [0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f];
const TAP4_MAC: [u8; 6] = [0x02, 0xfe, 0x10, 0x03, 0x7c, 0x4d];
const TAP5_MAC: [u8; 6] = [0x02, 0xfe, 0x04, 0x07, 0xd1, 0xe2];

/// POD_TO_INTERNET's SYN-ACK from the Internet, byte for byte from its trace: 24-byte TCP header
/// (MSS only), no DF, ttl 63, and two bytes of Ethernet padding (a 60-byte frame).
fn internet_syn_ack() -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0x08, 0x00, 0x27, 0x44, 0x9f, 0xd8]);
    f.extend_from_slice(&[0x08, 0x00, 0x27, 0x02, 0xa5, 0x36]);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[
        0x45, 0x00, 0x00, 0x2c, 0x06, 0xd0, 0x00, 0x00, 0x3f, 0x06, 0x23, 0x9a, 31, 134, 97, 51,
        192, 168, 16, 1,
    ]);
    f.extend_from_slice(&[
        0x00, 0x50, 0x64, 0xc9, 0xc9, 0xa7, 0x50, 0x01, 0x94, 0x04, 0x82, 0xc1, 0x60, 0x12, 0xff,
        0xff, 0xb1, 0x2b, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
    ]);
    f.extend_from_slice(&[0, 0]);
    f
}

/// The documented input packets of a scenario (by folder name), in order.
pub fn packets(scenario: &str) -> Option<Vec<DocPacket>> {
    let v = match scenario {
        "pod-to-pod-same-node" => vec![
            DocPacket {
                iface: "tap11",
                ts_ns: time_ns("01:48:51:256986"),
                frame: tcp(
                    POD_MAC,
                    [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d],
                    (ip(10, 1, 1, 12), 39820),
                    (ip(10, 1, 1, 9), 8080),
                    0x341e,
                    0x8c66_e434,
                    0,
                    false,
                    0xc3de,
                ),
            },
            DocPacket {
                iface: "tap8",
                ts_ns: time_ns("01:48:51:257049"),
                frame: tcp(
                    POD_MAC,
                    [0x02, 0xfe, 0x16, 0x79, 0x39, 0xcb],
                    (ip(10, 1, 1, 9), 8080),
                    (ip(10, 1, 1, 12), 39820),
                    0,
                    0x0db7_e410,
                    0x8c66_e435,
                    true,
                    0x02b3,
                ),
            },
        ],
        "host-to-pod" => vec![
            DocPacket {
                iface: "tap0",
                ts_ns: time_ns("01:36:39:413621"),
                frame: tcp(
                    HOST_MAC,
                    TAP0_MAC,
                    (ip(172, 30, 1, 2), 32966),
                    (ip(10, 1, 1, 6), 8080),
                    0x9e51,
                    0xe269_7e8e,
                    0,
                    false,
                    0x3b85,
                ),
            },
            DocPacket {
                iface: "tap5",
                // The document lost this record's header; ethernet-input follows at ...413690.
                ts_ns: time_ns("01:36:39:413686"),
                frame: tcp(
                    POD_MAC,
                    TAP5_MAC,
                    (ip(10, 1, 1, 6), 8080),
                    (ip(172, 30, 1, 2), 32966),
                    0,
                    0xf14b_9572,
                    0xe269_7e8f,
                    true,
                    0xd4b0,
                ),
            },
        ],
        "pod-to-host" => vec![
            DocPacket {
                iface: "tap2",
                ts_ns: time_ns("01:00:22:301693"),
                frame: tcp(
                    POD_MAC,
                    TAP2_MAC,
                    (ip(10, 1, 1, 3), 54252),
                    (ip(10, 20, 0, 2), 8080),
                    0x9aac,
                    0x66e0_0e6d,
                    0,
                    false,
                    0xc33d,
                ),
            },
            DocPacket {
                iface: "tap0",
                ts_ns: time_ns("01:00:22:302975"),
                frame: tcp(
                    HOST_MAC,
                    TAP0_MAC,
                    (ip(10, 20, 0, 2), 8080),
                    (ip(10, 1, 1, 3), 54252),
                    0,
                    0x7e79_850b,
                    0x66e0_0e6e,
                    true,
                    0x2bc9,
                ),
            },
        ],
        "pod-to-internet" => vec![
            DocPacket {
                iface: "tap2",
                ts_ns: time_ns("02:06:32:879780"),
                frame: tcp(
                    POD_MAC,
                    TAP2_MAC,
                    (ip(10, 1, 1, 3), 41084),
                    (ip(31, 134, 97, 51), 80),
                    0x7dab,
                    0x9404_82c0,
                    0,
                    false,
                    0x91d0,
                ),
            },
            DocPacket {
                iface: "GigabitEthernet0/8/0",
                ts_ns: time_ns("02:06:32:880926"),
                frame: internet_syn_ack(),
            },
        ],
        "pod-to-service-same-node" => vec![
            DocPacket {
                iface: "tap2",
                ts_ns: time_ns("01:59:50:724476"),
                frame: tcp(
                    POD_MAC,
                    TAP2_MAC,
                    (ip(10, 1, 1, 3), 51082),
                    (ip(10, 104, 221, 85), 80),
                    0xbff6,
                    0x0a88_91a7,
                    0,
                    false,
                    0x50b8,
                ),
            },
            DocPacket {
                iface: "tap4",
                ts_ns: time_ns("01:59:50:724579"),
                frame: tcp(
                    POD_MAC,
                    TAP4_MAC,
                    (ip(10, 1, 1, 5), 8080),
                    (ip(10, 1, 1, 3), 51082),
                    0,
                    0xa80c_b872,
                    0x0a88_91a8,
                    true,
                    0x8023,
                ),
            },
        ],
        "pod-to-service-host" => vec![
            DocPacket {
                iface: "tap2",
                ts_ns: time_ns("02:54:30:091783"),
                frame: tcp(
                    POD_MAC,
                    TAP2_MAC,
                    (ip(10, 1, 1, 3), 46310),
                    (ip(10, 104, 221, 85), 80),
                    0x5eb4,
                    0xba5b_f36d,
                    0,
                    false,
                    0xd22d,
                ),
            },
            DocPacket {
                iface: "tap0",
                ts_ns: time_ns("02:54:30:091945"),
                frame: tcp(
                    HOST_MAC,
                    TAP0_MAC,
                    (ip(10, 20, 0, 2), 8080),
                    (ip(10, 1, 1, 3), 46310),
                    0,
                    0x57f7_b0c7,
                    0xba5b_f36e,
                    true,
                    0xdab4,
                ),
            },
        ],
        _ => return None,
    };
    Some(v)
}

/// Earlier traffic of a scenario (replayed untraced before the documented packets): SYNs that
/// open the connections the traced node had seen before, so that its NAT and ACL session pools
/// hand the documented packets the documented session indices.
///
/// `service` connections (client pod to the service VIP) each take a NAT session and an ACL
/// session; `plain` connections (to a pod, no translation) take an ACL session only.
pub fn history(scenario: &str) -> Option<Vec<DocPacket>> {
    // (interface, client MAC, interface MAC, client IP, pod IP, service connections, plain ones)
    let (iface, src_mac, if_mac, client, pod, service, plain): (
        &'static str,
        [u8; 6],
        [u8; 6],
        Ipv4Addr,
        Ipv4Addr,
        u16,
        u16,
    ) = match scenario {
        "host-to-pod" => (
            "tap0",
            HOST_MAC,
            TAP0_MAC,
            ip(172, 30, 1, 2),
            ip(10, 1, 1, 6),
            0,
            22,
        ),
        "pod-to-host" => (
            "tap2",
            POD_MAC,
            TAP2_MAC,
            ip(10, 1, 1, 3),
            ip(10, 1, 1, 6),
            0,
            100,
        ),
        "pod-to-internet" => (
            "tap2",
            POD_MAC,
            TAP2_MAC,
            ip(10, 1, 1, 3),
            ip(10, 1, 1, 6),
            5,
            125,
        ),
        "pod-to-pod-same-node" => (
            "tap11",
            POD_MAC,
            [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d],
            ip(10, 1, 1, 12),
            ip(10, 1, 1, 9),
            0,
            170,
        ),
        "pod-to-service-same-node" => (
            "tap2",
            POD_MAC,
            TAP2_MAC,
            ip(10, 1, 1, 3),
            ip(10, 1, 1, 6),
            5,
            36,
        ),
        "pod-to-service-host" => (
            "tap2",
            POD_MAC,
            TAP2_MAC,
            ip(10, 1, 1, 3),
            ip(10, 1, 1, 6),
            5,
            27,
        ),
        _ => return None,
    };
    // Where NAT44 is on, the plain connections come from the pod on tap5 (a NAT `in` interface),
    // so that they open ACL sessions but no NAT44 sessions: VPP 18.01 kept forwarding bypasses
    // outside its session pool, and the documented NAT44 session indices count only translated
    // connections.
    let nat = service > 0;
    let first = packets(scenario)?;
    // One second before the documented SYN, a microsecond apart.
    let t0 = first[0].ts_ns - 1_000_000_000;
    let mut out = Vec::new();
    let total = service + plain;
    for i in 0..total {
        let svc = i < service;
        let (on, smac, dmac, src, dst, dport, sport) = if svc {
            (
                iface,
                src_mac,
                if_mac,
                client,
                ip(10, 104, 221, 85),
                80,
                30000 + i,
            )
        } else if nat {
            (
                "tap5",
                POD_MAC,
                TAP5_MAC,
                ip(10, 1, 1, 6),
                ip(10, 1, 1, 9),
                8080,
                40000 + i,
            )
        } else {
            (iface, src_mac, if_mac, client, pod, 8080, 40000 + i)
        };
        let f = TcpFrame {
            src_mac: smac,
            dst_mac: dmac,
            src,
            dst,
            id: 0x1000 + i,
            df: true,
            ttl: 64,
            sport,
            dport,
            seq: 0x1000_0000 + i as u32,
            ack: 0,
            flags: 0x02,
            window: 29200,
            options: syn_options(),
            payload: Vec::new(),
        }
        .build();
        out.push(DocPacket {
            iface: on,
            ts_ns: t0 + i as u64 * 1_000,
            frame: f,
        });
    }
    Some(out)
}

/// The documented input packets of one node of a two-node scenario: what the pods on that node
/// send (the tunnel traffic between the nodes is the replay's own).
pub fn node_packets(scenario: &str, node: &str) -> Option<Vec<DocPacket>> {
    let v = match (scenario, node) {
        ("pod-to-pod-different-nodes", "node-a") => vec![DocPacket {
            iface: "tap11",
            ts_ns: time_ns("04:26:22:973829"),
            frame: tcp(
                POD_MAC,
                [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d],
                (ip(10, 1, 1, 12), 60996),
                (ip(10, 1, 2, 13), 8080),
                0x309f,
                0xd26c_e551,
                0,
                false,
                0x2337,
            ),
        }],
        ("pod-to-pod-different-nodes", "node-b") => vec![DocPacket {
            iface: "tap12",
            ts_ns: time_ns("04:24:37:730858"),
            frame: tcp(
                POD_MAC,
                [0x02, 0xfe, 0x47, 0x84, 0x04, 0x5d],
                (ip(10, 1, 2, 13), 8080),
                (ip(10, 1, 1, 12), 60996),
                0,
                0xc363_cef4,
                0xd26c_e552,
                true,
                0xa2c2,
            ),
        }],
        ("pod-to-service-different-nodes", "node-a") => vec![DocPacket {
            iface: "tap2",
            ts_ns: time_ns("02:26:06:586577"),
            frame: tcp(
                POD_MAC,
                TAP2_MAC,
                (ip(10, 1, 1, 3), 49710),
                (ip(10, 97, 193, 160), 80),
                0x895a,
                0x27c7_a68b,
                0,
                false,
                0x3e27,
            ),
        }],
        ("pod-to-service-different-nodes", "node-b") => vec![DocPacket {
            iface: "tap3",
            ts_ns: time_ns("02:24:27:765783"),
            frame: tcp(
                POD_MAC,
                [0x02, 0xfe, 0x1d, 0x72, 0x95, 0x66],
                (ip(10, 1, 2, 4), 8080),
                (ip(10, 1, 1, 3), 49710),
                0,
                0xfc73_6553,
                0x27c7_a68c,
                true,
                0x11a7,
            ),
        }],
        _ => return None,
    };
    Some(v)
}

/// Two-node scenarios: (folder, node folders).
pub const NODE_SCENARIOS: &[(&str, &[&str])] = &[
    ("pod-to-pod-different-nodes", &["node-a", "node-b"]),
    ("pod-to-service-different-nodes", &["node-a", "node-b"]),
];

/// Every scenario this module knows.
pub const SCENARIOS: &[&str] = &[
    "host-to-pod",
    "pod-to-host",
    "pod-to-internet",
    "pod-to-pod-same-node",
    "pod-to-service-same-node",
    "pod-to-service-host",
];

/// Write `DIR/input/IF.pcap` (and `DIR/history/IF.pcap`) for a scenario (one file per interface).
pub fn write_inputs(scenario_dir: &Path, scenario: &str) -> Result<(), String> {
    if let Some((_, nodes)) = NODE_SCENARIOS.iter().find(|(s, _)| *s == scenario) {
        for node in nodes.iter() {
            let pkts = node_packets(scenario, node)
                .ok_or_else(|| format!("no packets for {scenario}/{node}"))?;
            let d = scenario_dir.join(node);
            write_pcaps(&d.join("input"), &pkts)?;
            if let Some(h) = node_history(scenario, node) {
                if !h.is_empty() {
                    write_pcaps(&d.join("history"), &h)?;
                }
            }
        }
        return Ok(());
    }
    let pkts = packets(scenario).ok_or_else(|| format!("unknown scenario `{scenario}`"))?;
    write_pcaps(&scenario_dir.join("input"), &pkts)?;
    if let Some(h) = history(scenario) {
        if !h.is_empty() {
            write_pcaps(&scenario_dir.join("history"), &h)?;
        }
    }
    Ok(())
}

/// An Ethernet/IPv4/UDP frame with valid checksums and an 8-byte payload.
fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    id: u16,
) -> Vec<u8> {
    use graph_nodes::wire::checksum;
    let payload = [0u8; 8];
    let mut f = Vec::with_capacity(50);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.0.octets());
    ip[16..20].copy_from_slice(&dst.0.octets());
    let c = checksum::ipv4_header_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut udp = Vec::with_capacity(16);
    udp.extend_from_slice(&src.1.to_be_bytes());
    udp.extend_from_slice(&dst.1.to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&payload);
    let c = checksum::ipv4_l4_checksum(src.0, dst.0, 17, &udp);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&udp);
    f
}

/// A SYN as Contiv's pods send them (the options of [`syn_options`]).
fn plain_syn(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    id: u16,
) -> Vec<u8> {
    TcpFrame {
        src_mac,
        dst_mac,
        src: src.0,
        dst: dst.0,
        id,
        df: true,
        ttl: 64,
        sport: src.1,
        dport: dst.1,
        seq: 0x1000_0000 + id as u32,
        ack: 0,
        flags: 0x02,
        window: 29200,
        options: syn_options(),
        payload: Vec::new(),
    }
    .build()
}

/// Earlier traffic of one node of a two-node scenario. It recreates the NAT44 and ACL session
/// pools the documented packets print indices of:
/// - UDP flows from a pod on a NAT `out` tap to the Internet, long enough ago that their NAT44
///   sessions timed out (300 s) but not their ACL sessions (600 s); a second packet on some of
///   them orders their expiry, which orders the NAT44 free list (the most recently freed index
///   is reused first, as VPP's pools do);
/// - a minute earlier, SYNs from a pod on a NAT `in` tap (ACL sessions, no NAT44 session).
///
/// `udp`: (tap, pod MAC, tap MAC, pod IP, flows, flows sent again in this order);
/// `syn`: (tap, pod MAC, tap MAC, pod IP, destination, count).
#[allow(clippy::type_complexity)]
fn session_history(
    t_doc: u64,
    udp: Option<(&'static str, [u8; 6], [u8; 6], Ipv4Addr, u16, &[u16])>,
    syn: Option<(
        &'static str,
        [u8; 6],
        [u8; 6],
        Ipv4Addr,
        (Ipv4Addr, u16),
        u16,
    )>,
) -> Vec<DocPacket> {
    let mut out = Vec::new();
    if let Some((iface, smac, dmac, src, n, again)) = udp {
        let t0 = t_doc - 350_000_000_000;
        let flow = |i: u16, t: u64, id: u16| DocPacket {
            iface,
            ts_ns: t,
            frame: udp_frame(smac, dmac, (src, 51000 + i), (ip(8, 8, 8, 8), 53), id),
        };
        for i in 0..n {
            out.push(flow(i, t0 + i as u64 * 1_000, 0x2000 + i));
        }
        // A second apart: session timeouts are kept per second.
        for (k, &i) in again.iter().enumerate() {
            let t = t0 + (k as u64 + 1) * 1_000_000_000;
            out.push(flow(i, t, 0x2100 + k as u16));
        }
    }
    if let Some((iface, smac, dmac, src, dst, n)) = syn {
        let t0 = t_doc - 60_000_000_000;
        for i in 0..n {
            out.push(DocPacket {
                iface,
                ts_ns: t0 + i as u64 * 1_000,
                frame: plain_syn(smac, dmac, (src, 40000 + i), dst, 0x1000 + i),
            });
        }
    }
    out
}

/// Earlier traffic of one node of a two-node scenario (see [`session_history`]).
pub fn node_history(scenario: &str, node: &str) -> Option<Vec<DocPacket>> {
    let t_doc = node_packets(scenario, node)?.first()?.ts_ns;
    let tap8 = [0x02, 0xfe, 0x16, 0x79, 0x39, 0xcb];
    let tap11 = [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d];
    let tap12 = [0x02, 0xfe, 0x47, 0x84, 0x04, 0x5d];
    let b_tap3 = [0x02, 0xfe, 0x1d, 0x00, 0x00, 0x05];
    Some(match (scenario, node) {
        // Node A: ACL session 177 for the client's SYN, NAT44 sessions 0 and 1 for the tunnel.
        ("pod-to-pod-different-nodes", "node-a") => session_history(
            t_doc,
            Some(("tap11", POD_MAC, tap11, ip(10, 1, 1, 12), 3, &[0, 2])),
            Some((
                "tap8",
                POD_MAC,
                tap8,
                ip(10, 1, 1, 9),
                (ip(10, 1, 1, 5), 8080),
                174,
            )),
        ),
        // Node B: NAT44 sessions 7 then 0 for the tunnel, ACL sessions 4 and 5 for the SYN.
        ("pod-to-pod-different-nodes", "node-b") => session_history(
            t_doc,
            Some(("tap3", POD_MAC, b_tap3, ip(10, 1, 2, 3), 8, &[0, 7])),
            Some((
                "tap12",
                POD_MAC,
                tap12,
                ip(10, 1, 2, 13),
                (ip(10, 1, 2, 3), 9000),
                4,
            )),
        ),
        // Node A: NAT44 sessions 4 (the DNAT), 7 and 6 (the tunnel); ACL session 26.
        ("pod-to-service-different-nodes", "node-a") => session_history(
            t_doc,
            Some(("tap2", POD_MAC, TAP2_MAC, ip(10, 1, 1, 3), 8, &[6, 7, 4])),
            Some((
                "tap5",
                POD_MAC,
                TAP5_MAC,
                ip(10, 1, 1, 6),
                (ip(10, 1, 1, 5), 8080),
                18,
            )),
        ),
        // Node B: NAT44 sessions 0 then 2 for the tunnel, ACL sessions 5 and 6 for the SYN.
        ("pod-to-service-different-nodes", "node-b") => session_history(
            t_doc,
            Some(("tap1", POD_MAC, b_tap3, ip(10, 1, 2, 2), 3, &[2, 0])),
            Some((
                "tap3",
                POD_MAC,
                [0x02, 0xfe, 0x1d, 0x72, 0x95, 0x66],
                ip(10, 1, 2, 4),
                (ip(10, 1, 2, 3), 9000),
                5,
            )),
        ),
        _ => Vec::new(),
    })
}

/// Write `input/IF.pcap` for every interface the packets arrive on (shared with
/// [`crate::antrea`]).
pub(crate) fn write_pcaps(input: &Path, pkts: &[DocPacket]) -> Result<(), String> {
    std::fs::create_dir_all(input)
        .map_err(|e| format!("cannot create `{}`: {e}", input.display()))?;
    let mut ifaces: Vec<&str> = pkts.iter().map(|p| p.iface).collect();
    ifaces.sort();
    ifaces.dedup();
    for i in ifaces {
        let frames: Vec<(u64, &[u8])> = pkts
            .iter()
            .filter(|p| p.iface == i)
            .map(|p| (p.ts_ns, p.frame.as_slice()))
            .collect();
        engine::pcap::write_pcap(&input.join(engine::replay::pcap_file_name(i)), frames)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_packets_are_valid_with_the_documented_checksums() {
        for s in SCENARIOS {
            for p in packets(s).unwrap() {
                let f = &p.frame;
                let sp = etherparse::SlicedPacket::from_ethernet(f).expect("parses");
                let (
                    Some(etherparse::NetSlice::Ipv4(ip)),
                    Some(etherparse::TransportSlice::Tcp(t)),
                ) = (sp.net, sp.transport)
                else {
                    panic!("{s}: not TCP/IPv4")
                };
                let h = ip.header().to_header();
                assert_eq!(
                    h.header_checksum,
                    h.calc_header_checksum(),
                    "{s}: IP checksum"
                );
                let want = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
                assert_eq!(t.checksum(), want, "{s} {}: TCP checksum valid", p.iface);
            }
        }
    }
}
