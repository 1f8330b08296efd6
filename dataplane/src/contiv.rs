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
    /// Time of its first trace record, `HH:MM:SS:uuuuuu`.
    pub time: &'static str,
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

/// The documented input packets of a scenario (by folder name), in order.
pub fn packets(scenario: &str) -> Option<Vec<DocPacket>> {
    let v = match scenario {
        "pod-to-pod-same-node" => vec![
            DocPacket {
                iface: "tap11",
                time: "01:48:51:256986",
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
                time: "01:48:51:257049",
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
        _ => return None,
    };
    Some(v)
}

/// Every scenario this module knows.
pub const SCENARIOS: &[&str] = &["pod-to-pod-same-node"];

/// Write `DIR/<scenario>/input/IF.pcap` for a scenario (one file per interface).
pub fn write_inputs(scenario_dir: &Path, scenario: &str) -> Result<(), String> {
    let pkts = packets(scenario).ok_or_else(|| format!("unknown scenario `{scenario}`"))?;
    let input = scenario_dir.join("input");
    std::fs::create_dir_all(&input)
        .map_err(|e| format!("cannot create `{}`: {e}", input.display()))?;
    let mut ifaces: Vec<&str> = pkts.iter().map(|p| p.iface).collect();
    ifaces.sort();
    ifaces.dedup();
    for i in ifaces {
        let frames: Vec<(u64, &[u8])> = pkts
            .iter()
            .filter(|p| p.iface == i)
            .map(|p| (time_ns(p.time), p.frame.as_slice()))
            .collect();
        engine::pcap::write_pcap(&input.join(engine::replay::pcap_file_name(i)), frames)?;
    }
    Ok(())
}
