//! The Antrea packet walks under `traces/antrea/` (seeds 000 and 001) replay to their golden
//! traces, transmit exactly the frames in `expected-output/`, leak no buffer and give the same
//! bytes and trace on every run; and the golden files carry, as printed, every value the seeds'
//! `tcpdump -en` lines and `kubectl`/OVS/iptables listings show.
//!
//! The seed values below are copied verbatim from `../shared/reference/seeds/` (file and line
//! given with each) and parsed here: they are not taken from our own output.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use dataplane::replay_cmd::{replay, ReplayRequest, ReplayResult};
use dataplane::tracediff::{diff, parse, Packet};
use engine::pcap::read_pcap;

// ---------------------------------------------------------------------------------------------
// Seed text.

/// `000_0e9fae4c4ccd14fa.txt` lines 103-112: `tcpdump -i eth0 -en port 8080` on the endpoint pod.
const SEED000_TCPDUMP: [(u32, &str); 10] = [
    (103, "04:53:36.353399 0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b, ethertype IPv4 (0x0800), length 74: 172.16.0.1.44860 > 172.16.0.32.8080: Flags [S], seq 938866061, win 64240, options [mss 1460,sackOK,TS val 4158912320 ecr 0,nop,wscale 7], length 0"),
    (104, "04:53:36.353444 4a:95:7b:d4:8d:5b > 0a:58:dd:bf:64:b9, ethertype IPv4 (0x0800), length 74: 172.16.0.32.8080 > 172.16.0.1.44860: Flags [S.], seq 3736389015, ack 938866062, win 64308, options [mss 1410,sackOK,TS val 1857172179 ecr 4158912320,nop,wscale 7], length 0"),
    (105, "04:53:36.354098 0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b, ethertype IPv4 (0x0800), length 66: 172.16.0.1.44860 > 172.16.0.32.8080: Flags [.], ack 1, win 502, options [nop,nop,TS val 4158912321 ecr 1857172179], length 0"),
    (106, "04:53:36.354230 0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b, ethertype IPv4 (0x0800), length 143: 172.16.0.1.44860 > 172.16.0.32.8080: Flags [P.], seq 1:78, ack 1, win 502, options [nop,nop,TS val 4158912321 ecr 1857172179], length 77: HTTP: GET / HTTP/1.1"),
    (107, "04:53:36.354255 4a:95:7b:d4:8d:5b > 0a:58:dd:bf:64:b9, ethertype IPv4 (0x0800), length 66: 172.16.0.32.8080 > 172.16.0.1.44860: Flags [.], ack 78, win 502, options [nop,nop,TS val 1857172180 ecr 4158912321], length 0"),
    (108, "04:53:36.354606 4a:95:7b:d4:8d:5b > 0a:58:dd:bf:64:b9, ethertype IPv4 (0x0800), length 197: 172.16.0.32.8080 > 172.16.0.1.44860: Flags [P.], seq 1:132, ack 78, win 502, options [nop,nop,TS val 1857172180 ecr 4158912321], length 131: HTTP: HTTP/1.1 200 OK"),
    (109, "04:53:36.354695 0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b, ethertype IPv4 (0x0800), length 66: 172.16.0.1.44860 > 172.16.0.32.8080: Flags [.], ack 132, win 501, options [nop,nop,TS val 4158912321 ecr 1857172180], length 0"),
    (110, "04:53:36.354852 0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b, ethertype IPv4 (0x0800), length 66: 172.16.0.1.44860 > 172.16.0.32.8080: Flags [F.], seq 78, ack 132, win 501, options [nop,nop,TS val 4158912322 ecr 1857172180], length 0"),
    (111, "04:53:36.355378 4a:95:7b:d4:8d:5b > 0a:58:dd:bf:64:b9, ethertype IPv4 (0x0800), length 66: 172.16.0.32.8080 > 172.16.0.1.44860: Flags [F.], seq 132, ack 79, win 502, options [nop,nop,TS val 1857172181 ecr 4158912322], length 0"),
    (112, "04:53:36.355442 0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b, ethertype IPv4 (0x0800), length 66: 172.16.0.1.44860 > 172.16.0.32.8080: Flags [.], ack 133, win 501, options [nop,nop,TS val 4158912322 ecr 1857172181], length 0"),
];

/// `000_0e9fae4c4ccd14fa.txt` line 12: `$LocalNodeIP="10.176.25.244"`.
const SEED000_NODE_IP: &str = "10.176.25.244";
/// `000_0e9fae4c4ccd14fa.txt` line 13: `$LocalNodePort="30232"`.
const SEED000_NODE_PORT: u16 = 30232;

/// `001_3db9a3467ea66f99.txt` lines 1822-1823: `tcpdump -en` on the frontend pod.
const SEED001_TCPDUMP: [(u32, &str); 2] = [
    (1822, "16:47:00.686688 be:2c:bf:e4:ec:c5 > 4e:99:08:c1:53:be, ethertype IPv4 (0x0800), length 74: 10.222.1.48.33712 > 10.104.65.133.80: Flags [S], seq 1468216310, win 64860, options [mss 1410,sackOK,TS val 4059789635 ecr 0,nop,wscale 7], length 0"),
    (1823, "16:47:00.687738 4e:99:08:c1:53:be > be:2c:bf:e4:ec:c5, ethertype IPv4 (0x0800), length 74: 10.104.65.133.80 > 10.222.1.48.33712: Flags [S.], seq 1653417399, ack 1468216311, win 64308, options [mss 1410,sackOK,TS val 3349679792 ecr 4059789635,nop,wscale 7], length 0"),
];

/// `001_3db9a3467ea66f99.txt` line 132 (`kubectl get svc`).
const SEED001_SVC: &str =
    "service/backendsvc</b>   ClusterIP   <b>10.104.65.133</b>   <none>        80/TCP    2d1h";
/// `001_3db9a3467ea66f99.txt` line 267 (kube-proxy's DNAT to backend1, the endpoint on worker 1).
const SEED001_DNAT: &str = "DNAT       tcp  --  0.0.0.0/0            0.0.0.0/0            /* default/backendsvc: */ tcp to:10.222.1.47:80</b>";
/// `001_3db9a3467ea66f99.txt` lines 73, 74, 71 (spoofguard, table 10): backend1, frontend, coredns.
const SEED001_SPOOFGUARD: [&str; 3] = [
    r#" cookie=0x1030000000000, table=10, priority=200,ip,in_port="backend1-bab86f",dl_src=f2:32:d8:07:e2:a6,nw_src=10.222.1.47 actions=resubmit(,30)"#,
    r#" <b>cookie=0x1030000000000, table=10, priority=200,ip,in_port="frontend-a3ba2f",dl_src=be:2c:bf:e4:ec:c5,nw_src=10.222.1.48 actions=resubmit(,30)</b>"#,
    r#" cookie=0x1030000000000, table=10, priority=200,ip,in_port="coredns--3e3abf",dl_src=f2:82:cc:96:da:bd,nw_src=10.222.1.2 actions=resubmit(,30)"#,
];
/// `001_3db9a3467ea66f99.txt` line 650 (table 70): what reaches backend1 from antrea-gw0.
const SEED001_TO_BACKEND1: &str = " cookie=0x1030000000000, table=70, priority=200,ip,dl_dst=aa:bb:cc:dd:ee:ff,nw_dst=10.222.1.47 actions=mod_dl_src:4e:99:08:c1:53:be,mod_dl_dst:f2:32:d8:07:e2:a6,dec_ttl,resubmit(,80)";
/// `001_3db9a3467ea66f99.txt` line 632 (table 60): backend1 may not open connections.
const SEED001_BACKEND1_EGRESS: &str =
    " cookie=0x1000000000000, table=60, priority=200,ip,nw_src=10.222.1.47 actions=drop";

/// `001_3db9a3467ea66f99.txt` lines 1364-1365: `tcpdump -i ens160 -en udp port 6081` on worker 2,
/// the cross-node handshake over Geneve (the `<b>` markup of line 1365 removed).
const SEED001_GENEVE: [(u32, &str); 2] = [
    (1364, "14:32:43.976230 00:50:56:8f:4e:82 > 00:50:56:8f:1c:f6, ethertype IPv4 (0x0800), length 124: 10.79.1.201.50308 > 10.79.1.202.6081: Geneve, Flags [none], vni 0x0, proto TEB (0x6558): 4e:99:08:c1:53:be > aa:bb:cc:dd:ee:ff, ethertype IPv4 (0x0800), length 74: 10.222.1.48.40976 > 10.222.2.34.80: Flags [S], seq 3669882487, win 64860, options [mss 1410,sackOK,TS val 4051732790 ecr 0,nop,wscale 7], length 0"),
    (1365, "14:32:43.977008 00:50:56:8f:1c:f6 > 00:50:56:8f:4e:82, ethertype IPv4 (0x0800), length 124: 10.79.1.202.5599 > 10.79.1.201.6081: Geneve, Flags [none], vni 0x0, proto TEB (0x6558): 02:d8:4e:3f:92:1d > aa:bb:cc:dd:ee:ff, ethertype IPv4 (0x0800), length 74: 10.222.2.34.80 > 10.222.1.48.40976: Flags [S.], seq 1344714200, ack 3669882488, win 64308, options [mss 1410,sackOK,TS val 3341622948 ecr 4051732790,nop,wscale 7], length 0"),
];
/// `001_3db9a3467ea66f99.txt` lines 1116-1117: `tcpdump -en` on backend2 (another connection of
/// the same pair: its MACs and addresses are the ones backend2 sees).
const SEED001_BACKEND2: [(u32, &str); 2] = [
    (1116, "12:24:06.938242 02:d8:4e:3f:92:1d > c6:f4:b5:76:10:38, ethertype IPv4 (0x0800), length 74: 10.222.1.48.49140 > 10.222.2.34.80: Flags [S], seq 4201074305, win 64860, options [mss 1410,sackOK,TS val 4044015621 ecr 0,nop,wscale 7], length 0"),
    (1117, "12:24:06.938278 c6:f4:b5:76:10:38 > 02:d8:4e:3f:92:1d, ethertype IPv4 (0x0800), length 74: 10.222.2.34.80 > 10.222.1.48.49140: Flags [S.], seq 4118006349, ack 4201074306, win 64308, options [mss 1410,sackOK,TS val 3333905778 ecr 4044015621,nop,wscale 7], length 0"),
];

// ---------------------------------------------------------------------------------------------
// A small reader of `tcpdump -en` TCP lines.

/// One tcpdump line, with tcpdump's relative sequence numbers made absolute.
#[derive(Clone, Debug)]
struct Dump {
    /// Seed line number.
    line: u32,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    frame_len: usize,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    flags: u8,
    /// None when tcpdump does not print it (a pure ACK).
    seq: Option<u32>,
    /// None when tcpdump does not print it (a SYN).
    ack: Option<u32>,
    win: u16,
    /// The options in wire encoding.
    options: Vec<u8>,
    payload_len: usize,
    /// What tcpdump decoded of the payload (`GET / HTTP/1.1`), if anything.
    payload_start: Option<String>,
}

fn mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn endpoint(s: &str) -> (Ipv4Addr, u16) {
    let (ip, port) = s.rsplit_once('.').unwrap();
    (ip.parse().unwrap(), port.parse().unwrap())
}

/// `mss 1460,sackOK,TS val V ecr E,nop,wscale 7` in wire encoding.
fn encode_options(s: &str) -> Vec<u8> {
    let mut o = Vec::new();
    for opt in s.split(',') {
        let w: Vec<&str> = opt.split(' ').collect();
        match w[0] {
            "mss" => {
                o.extend_from_slice(&[2, 4]);
                o.extend_from_slice(&w[1].parse::<u16>().unwrap().to_be_bytes());
            }
            "sackOK" => o.extend_from_slice(&[4, 2]),
            "TS" => {
                o.extend_from_slice(&[8, 10]);
                o.extend_from_slice(&w[2].parse::<u32>().unwrap().to_be_bytes());
                o.extend_from_slice(&w[4].parse::<u32>().unwrap().to_be_bytes());
            }
            "nop" => o.push(1),
            "wscale" => o.extend_from_slice(&[3, 3, w[1].parse().unwrap()]),
            x => panic!("option `{x}`"),
        }
    }
    o
}

/// Parse the lines of one connection (relative numbers follow the ISNs of the SYN and SYN-ACK).
fn parse_tcpdump(lines: &[(u32, &str)]) -> Vec<Dump> {
    let mut isn: Vec<((Ipv4Addr, u16), u32)> = Vec::new();
    let isn_of = |isn: &Vec<((Ipv4Addr, u16), u32)>, k: (Ipv4Addr, u16)| {
        isn.iter().find(|(e, _)| *e == k).map(|x| x.1)
    };
    let mut out = Vec::new();
    for &(line, text) in lines {
        let w: Vec<&str> = text.split(' ').collect();
        let src_mac = mac(w[1]);
        let dst_mac = mac(w[3].trim_end_matches(','));
        let (head, rest) = text.split_once(", length ").unwrap();
        assert!(head.ends_with("ethertype IPv4 (0x0800)"), "{line}");
        let (frame_len, rest) = rest.split_once(": ").unwrap();
        let (addrs, rest) = rest.split_once(": Flags [").unwrap();
        let (s, d) = addrs.split_once(" > ").unwrap();
        let (src, sport) = endpoint(s);
        let (dst, dport) = endpoint(d);
        let (fl, rest) = rest.split_once("], ").unwrap();
        let mut flags = 0u8;
        for c in fl.chars() {
            flags |= match c {
                'F' => 0x01,
                'S' => 0x02,
                'R' => 0x04,
                'P' => 0x08,
                '.' => 0x10,
                _ => panic!("flag {c}"),
            };
        }
        let (fields, options) = match rest.split_once("options [") {
            Some((f, o)) => {
                let (o, tail) = o.split_once("], ").unwrap();
                (format!("{f}{tail}"), encode_options(o))
            }
            None => (rest.to_string(), Vec::new()),
        };
        let (mut seq, mut ack, mut win, mut payload_len, mut payload_start) =
            (None, None, 0u16, 0usize, None);
        for f in fields.split(", ") {
            let (k, v) = f.split_once(' ').unwrap();
            match k {
                "seq" => seq = Some(v.split(':').next().unwrap().parse::<u32>().unwrap()),
                "ack" => ack = Some(v.parse::<u32>().unwrap()),
                "win" => win = v.parse().unwrap(),
                "length" => {
                    let (n, text) = v.split_once(": ").map_or((v, None), |(n, t)| (n, Some(t)));
                    payload_len = n.parse().unwrap();
                    payload_start = text.map(|t| t.trim_start_matches("HTTP: ").to_string());
                }
                _ => panic!("field `{k}` at line {line}"),
            }
        }
        // Absolute numbers: the SYN and SYN-ACK print them, later segments print offsets.
        let me = (src, sport);
        let peer = (dst, dport);
        if flags & 0x02 != 0 {
            isn.push((me, seq.unwrap()));
        } else {
            seq = seq.map(|s| s.wrapping_add(isn_of(&isn, me).unwrap()));
            ack = ack.map(|a| a.wrapping_add(isn_of(&isn, peer).unwrap()));
        }
        out.push(Dump {
            line,
            src_mac,
            dst_mac,
            frame_len: frame_len.parse().unwrap(),
            src,
            sport,
            dst,
            dport,
            flags,
            seq,
            ack,
            win,
            options,
            payload_len,
            payload_start,
        });
    }
    out
}

fn fmt_mac(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The frame carries every value of the tcpdump line.
fn assert_frame_shows(d: &Dump, f: &[u8], what: &str) {
    let at = format!("{what}: seed line {}", d.line);
    assert_eq!(f.len(), d.frame_len, "{at}: frame length");
    assert_eq!(&f[0..6], &d.dst_mac, "{at}: destination MAC");
    assert_eq!(&f[6..12], &d.src_mac, "{at}: source MAC");
    let p = etherparse::SlicedPacket::from_ethernet(f).unwrap();
    let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Tcp(t))) =
        (p.net, p.transport)
    else {
        panic!("{at}: not TCP/IPv4")
    };
    let h = ip.header();
    assert_eq!(h.source_addr(), d.src, "{at}: source address");
    assert_eq!(h.destination_addr(), d.dst, "{at}: destination address");
    assert_eq!(t.source_port(), d.sport, "{at}: source port");
    assert_eq!(t.destination_port(), d.dport, "{at}: destination port");
    let fl = f[14 + 20 + 13];
    assert_eq!(fl, d.flags, "{at}: flags");
    if let Some(s) = d.seq {
        assert_eq!(t.sequence_number(), s, "{at}: seq");
    }
    if let Some(a) = d.ack {
        assert_eq!(t.acknowledgment_number(), a, "{at}: ack");
    }
    assert_eq!(t.window_size(), d.win, "{at}: window");
    assert_eq!(t.options(), d.options.as_slice(), "{at}: TCP options");
    assert_eq!(t.payload().len(), d.payload_len, "{at}: payload length");
    if let Some(s) = &d.payload_start {
        assert!(
            t.payload().starts_with(s.as_bytes()),
            "{at}: payload starts with `{s}`"
        );
    }
}

/// The body of the first record of `node` in a trace packet.
fn record<'a>(p: &'a Packet, node: &str, at: &str) -> &'a [String] {
    &p.records
        .iter()
        .find(|r| r.node == node)
        .unwrap_or_else(|| panic!("{at}: no {node} record"))
        .body
}

fn assert_has_line(body: &[String], want: &str, at: &str) {
    assert!(
        body.iter().any(|l| l.trim() == want),
        "{at}: `{want}` not in\n{}",
        body.join("\n")
    );
}

fn assert_has_line_containing(body: &[String], want: &str, at: &str) {
    assert!(
        body.iter().any(|l| l.contains(want)),
        "{at}: `{want}` not in\n{}",
        body.join("\n")
    );
}

/// The IPv4/TCP lines of a record (`format_ip4_header`, `format_tcp_header`) print every value of
/// the tcpdump line that they print at all.
fn assert_ip_tcp_lines(body: &[String], d: &Dump, at: &str) {
    assert_has_line(body, &format!("TCP: {} -> {}", d.src, d.dst), at);
    assert_has_line_containing(body, &format!(", length {},", d.frame_len - 14), at);
    assert_has_line(body, &format!("TCP: {} -> {}", d.sport, d.dport), at);
    match (d.seq, d.ack) {
        (Some(s), Some(a)) => assert_has_line(body, &format!("seq. 0x{s:08x} ack 0x{a:08x}"), at),
        (Some(s), None) => assert_has_line_containing(body, &format!("seq. 0x{s:08x} ack"), at),
        (None, Some(a)) => assert_has_line_containing(body, &format!(" ack 0x{a:08x}"), at),
        (None, None) => {}
    }
    assert_has_line_containing(
        body,
        &format!(
            "flags 0x{:02x} {}, tcp header: {} bytes",
            d.flags,
            flag_names(d.flags),
            20 + d.options.len()
        ),
        at,
    );
    assert_has_line_containing(body, &format!("window {}, checksum", d.win), at);
}

fn flag_names(f: u8) -> String {
    let names = [
        (0x01, "FIN"),
        (0x02, "SYN"),
        (0x04, "RST"),
        (0x08, "PSH"),
        (0x10, "ACK"),
    ];
    names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The bytes of `ip4-rewrite`'s hex dump (the frame after the rewrite, its first 60 bytes).
fn rewrite_dump(body: &[String]) -> Vec<u8> {
    let mut v = Vec::new();
    for l in body.iter().skip(1) {
        let (_, hex) = l.trim().split_once(": ").unwrap();
        for i in (0..hex.len()).step_by(2) {
            v.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    v
}

/// NAT44 changes neither sequence numbers, flags, window nor options: `ip4-rewrite`'s dump of the
/// packet shows the seed's values in the TCP header (as far as the dump goes).
fn assert_rewrite_dump_tcp(body: &[String], d: &Dump, at: &str) {
    let b = rewrite_dump(body);
    assert!(b.len() >= 54, "{at}: dump of {} bytes", b.len());
    if let Some(s) = d.seq {
        assert_eq!(&b[38..42], &s.to_be_bytes(), "{at}: dumped seq");
    }
    if let Some(a) = d.ack {
        assert_eq!(&b[42..46], &a.to_be_bytes(), "{at}: dumped ack");
    }
    assert_eq!(
        b[46] >> 4,
        (20 + d.options.len() as u8) / 4,
        "{at}: data offset"
    );
    assert_eq!(b[47], d.flags, "{at}: dumped flags");
    assert_eq!(&b[48..50], &d.win.to_be_bytes(), "{at}: dumped window");
    let n = (b.len() - 54).min(d.options.len());
    assert_eq!(&b[54..54 + n], &d.options[..n], "{at}: dumped options");
}

/// A packet as the seed's capture point saw it leave us (we transmitted it to the pod): the
/// interface's output record prints its MACs and headers, and the rewrite dump its TCP header.
fn assert_trace_tx(p: &Packet, tx_node: &str, d: &Dump) {
    let at = format!("trace, seed line {}", d.line);
    let body = record(p, tx_node, &at);
    assert_has_line(
        body,
        &format!("IP4: {} -> {}", fmt_mac(&d.src_mac), fmt_mac(&d.dst_mac)),
        &at,
    );
    assert_ip_tcp_lines(body, d, &at);
    assert_rewrite_dump_tcp(record(p, "ip4-rewrite", &at), d, &at);
}

/// A packet as the seed's capture point saw it enter us (the pod sent it): ethernet-input prints
/// its MACs, ip4-input its headers; the rewrite dump (after NAT) its unchanged TCP header.
fn assert_trace_rx(p: &Packet, d: &Dump) {
    let at = format!("trace, seed line {}", d.line);
    assert_has_line(
        record(p, "ethernet-input", &at),
        &format!("IP4: {} -> {}", fmt_mac(&d.src_mac), fmt_mac(&d.dst_mac)),
        &at,
    );
    assert_ip_tcp_lines(record(p, "ip4-input", &at), d, &at);
    assert_rewrite_dump_tcp(record(p, "ip4-rewrite", &at), d, &at);
}

// ---------------------------------------------------------------------------------------------
// Replays.

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario_dir(name: &str) -> PathBuf {
    repo().join("traces/antrea").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dp-antrea-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(name: &str, out: &Path) -> ReplayResult {
    run_vector(name, out, dataplane::replay_cmd::DEFAULT_VECTOR)
}

/// Replay with bursts of up to `vector` frames per dispatch (1: frame by frame).
fn run_vector(name: &str, out: &Path, vector: usize) -> ReplayResult {
    let mut req = ReplayRequest::from_dir(&scenario_dir(name), 50).unwrap();
    req.output_dir = Some(out.to_path_buf());
    req.vector = vector;
    replay(&req).unwrap()
}

type Pcaps = Vec<(String, Vec<Vec<u8>>)>;

/// (file name, frames) of every pcap in a folder, by name.
fn pcaps(dir: &Path) -> Pcaps {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let frames = read_pcap(&f).unwrap().into_iter().map(|p| p.data).collect();
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                frames,
            )
        })
        .collect()
}

fn frames_of(dir: &Path, file: &str) -> Vec<Vec<u8>> {
    read_pcap(&dir.join(file))
        .unwrap()
        .into_iter()
        .map(|p| p.data)
        .collect()
}

/// Every transmitted frame is a valid Ethernet/IPv4/TCP frame with correct checksums.
fn check_frames_valid(name: &str, files: &Pcaps) {
    for (file, frames) in files {
        for (k, f) in frames.iter().enumerate() {
            let p = etherparse::SlicedPacket::from_ethernet(f)
                .unwrap_or_else(|e| panic!("{name}/{file} frame {k}: {e}"));
            let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
                panic!("{name}/{file} frame {k}: not IPv4");
            };
            let h = ip.header().to_header();
            assert_eq!(
                h.calc_header_checksum(),
                h.header_checksum,
                "{name}/{file} frame {k}: IPv4 header checksum"
            );
            let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
                panic!("{name}/{file} frame {k}: not TCP");
            };
            let sum = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
            assert_eq!(sum, t.checksum(), "{name}/{file} frame {k}: TCP checksum");
        }
    }
}

fn check(name: &str) -> ReplayResult {
    let dir = scenario_dir(name);
    let out = tmp(name);
    let r = run(name, &out);
    assert_eq!(r.outcome.buffers_in_use, 0, "{name}: buffers leaked");

    let expected = std::fs::read_to_string(dir.join("expected.trace")).unwrap();
    let d = diff(&expected, &r.trace);
    assert!(
        d.is_empty(),
        "{name}: trace differs from expected.trace:\n{}\n--- actual ---\n{}",
        d.join("\n"),
        r.trace
    );

    let got = pcaps(&out);
    let want = pcaps(&dir.join("expected-output"));
    let names = |v: &Pcaps| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "{name}: interfaces that transmitted"
    );
    for ((file, g), (_, w)) in got.iter().zip(&want) {
        assert_eq!(g.len(), w.len(), "{name}/{file}: frame count");
        for (k, (a, b)) in g.iter().zip(w).enumerate() {
            assert_eq!(a, b, "{name}/{file}: frame {k} bytes");
        }
    }
    check_frames_valid(name, &got);

    // Frame by frame (one packet per dispatch) instead of in bursts: the same records and
    // bytes (the record timestamps are the dispatch times, so they may differ).
    let out1 = tmp(&format!("{name}-frame-by-frame"));
    let r1 = run_vector(name, &out1, 1);
    let d = diff(
        &dataplane::tracediff::frame_independent(&r.trace),
        &dataplane::tracediff::frame_independent(&r1.trace),
    );
    assert!(
        d.is_empty(),
        "{name}: frame by frame differs from bursts:\n{}",
        d.join("\n")
    );
    assert_eq!(got, pcaps(&out1), "{name}: frame by frame sent other bytes");
    let _ = std::fs::remove_dir_all(&out1);

    let out2 = tmp(&format!("{name}-again"));
    let r2 = run(name, &out2);
    assert_eq!(
        r.trace, r2.trace,
        "{name}: a second replay printed another trace"
    );
    assert_eq!(
        got,
        pcaps(&out2),
        "{name}: a second replay sent other bytes"
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&out2);
    r
}

/// `count node reason` of `show errors`, 0 if absent.
fn error_count(errors: &str, node: &str, reason: &str) -> u64 {
    errors
        .lines()
        .filter(|l| l.contains(node) && l.trim_end().ends_with(reason))
        .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap())
        .sum()
}

fn golden_trace(name: &str) -> (String, Vec<Packet>) {
    let t = std::fs::read_to_string(scenario_dir(name).join("expected.trace")).unwrap();
    let p = parse(&t);
    (t, p)
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn nodeport() {
    check("nodeport");
}

/// Replay the cross-node scenario (two workers) into a scratch folder.
fn run_cross(out: &Path) -> Vec<dataplane::replay_cmd::NodeResult> {
    let v = dataplane::replay_cmd::DEFAULT_VECTOR;
    dataplane::replay_cmd::replay_topology(&scenario_dir("cross-node"), 50, Some(out), v).unwrap()
}

/// The outer part of a Geneve tcpdump line: (frame MACs, frame length, outer source and
/// destination, VNI) and the inner frame's line as a tcpdump line of its own.
fn geneve_parts(
    line: u32,
    text: &str,
) -> (
    [u8; 6],
    [u8; 6],
    usize,
    Ipv4Addr,
    u16,
    Ipv4Addr,
    u16,
    u32,
    String,
) {
    let w: Vec<&str> = text.split(' ').collect();
    let (src_mac, dst_mac) = (mac(w[1]), mac(w[3].trim_end_matches(',')));
    let (outer, inner) = text.split_once(": Geneve, Flags [none], vni ").unwrap();
    let (len, addrs) = outer
        .split_once(", length ")
        .unwrap()
        .1
        .split_once(": ")
        .unwrap();
    let (s, d) = addrs.split_once(" > ").unwrap();
    let (vni, inner) = inner.split_once(", proto TEB (0x6558): ").unwrap();
    let ((sa, sp), (da, dp)) = (endpoint(s), endpoint(d));
    let vni = u32::from_str_radix(vni.trim_start_matches("0x"), 16).unwrap();
    let _ = line;
    (
        src_mac,
        dst_mac,
        len.parse().unwrap(),
        sa,
        sp,
        da,
        dp,
        vni,
        format!("{} {inner}", w[0]),
    )
}

/// Seed 001 across nodes: what each worker sends on ens160 is the seed's Geneve capture (lines
/// 1364-1365: MACs, addresses, port 6081, VNI 0, protocol TEB, no options, the inner MACs and the
/// whole inner TCP segment; the outer source port is the kernel's hash there, ours only has to be
/// stable per flow and ephemeral); backend2 receives from and answers to antrea-gw0 (lines
/// 1116-1117); the frontend's answer comes from the ClusterIP (line 1823's MACs).
#[test]
fn cross_node_shows_the_seed_001_geneve_capture() {
    let out = tmp("cross-seed");
    let nodes = run_cross(&out);
    let expect_outer = |k: u32, text: &str, f: &[u8]| {
        let (sm, dm, len, sa, _sp, da, dp, vni, inner) = geneve_parts(k, text);
        let at = format!("seed line {k}");
        assert_eq!(f.len(), len, "{at}: frame length");
        assert_eq!((&f[0..6], &f[6..12]), (&dm[..], &sm[..]), "{at}: MACs");
        let p = etherparse::SlicedPacket::from_ethernet(f).unwrap();
        let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Udp(u))) =
            (p.net, p.transport)
        else {
            panic!("{at}: not UDP/IPv4")
        };
        assert_eq!(
            (ip.header().source_addr(), ip.header().destination_addr()),
            (sa, da),
            "{at}"
        );
        assert_eq!(u.destination_port(), dp, "{at}: Geneve port");
        assert!(
            u.source_port() >= 49152,
            "{at}: source port {} not ephemeral",
            u.source_port()
        );
        let g = u.payload();
        assert_eq!(g[0], 0, "{at}: version 0, no options");
        assert_eq!(g[1], 0, "{at}: flags none");
        assert_eq!(u16::from_be_bytes([g[2], g[3]]), 0x6558, "{at}: proto TEB");
        assert_eq!(
            u32::from_be_bytes([g[4], g[5], g[6], g[7]]) >> 8,
            vni,
            "{at}: vni"
        );
        let d = parse_tcpdump(&[(k, inner.as_str())]);
        assert_frame_shows(&d[0], &g[8..], &format!("{at} (inner)"));
        u.source_port()
    };
    let a_tx = frames_of(&out.join("node-a"), "ens160.pcap");
    let b_tx = frames_of(&out.join("node-b"), "ens160.pcap");
    let sport = expect_outer(SEED001_GENEVE[0].0, SEED001_GENEVE[0].1, &a_tx[0]);
    expect_outer(SEED001_GENEVE[1].0, SEED001_GENEVE[1].1, &b_tx[0]);
    // The ACK of the same flow leaves from the same source port.
    let ack = etherparse::SlicedPacket::from_ethernet(&a_tx[1]).unwrap();
    let Some(etherparse::TransportSlice::Udp(u)) = ack.transport else {
        panic!("ACK: not UDP")
    };
    assert_eq!(u.source_port(), sport, "one outer source port per flow");
    // backend2's side: from and to worker 2's antrea-gw0.
    let to_b2 = frames_of(&out.join("node-b"), "tap1.pcap");
    let from_b2 = frames_of(
        &scenario_dir("cross-node").join("node-b/input"),
        "tap1.pcap",
    );
    let b2 = parse_tcpdump(&SEED001_BACKEND2);
    assert_eq!(
        (&to_b2[0][0..6], &to_b2[0][6..12]),
        (&b2[0].dst_mac[..], &b2[0].src_mac[..]),
        "line 1116"
    );
    assert_eq!(
        (&from_b2[0][0..6], &from_b2[0][6..12]),
        (&b2[1].dst_mac[..], &b2[1].src_mac[..]),
        "line 1117"
    );
    // The frontend's answer, from the ClusterIP and antrea-gw0 (line 1823).
    let fe = parse_tcpdump(&SEED001_TCPDUMP);
    let to_fe = frames_of(&out.join("node-a"), "tap1.pcap");
    assert_eq!(
        (&to_fe[0][0..6], &to_fe[0][6..12]),
        (&fe[1].dst_mac[..], &fe[1].src_mac[..]),
        "line 1823"
    );
    let p = etherparse::SlicedPacket::from_ethernet(&to_fe[0]).unwrap();
    let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
        panic!("not IPv4")
    };
    assert_eq!(
        ip.header().source_addr(),
        fe[1].src,
        "the answer comes from backendsvc"
    );
    // coredns's connection to backend2 crosses, and backendpolicy drops it on worker 2.
    assert_eq!(
        to_b2.len(),
        2,
        "backend2 gets the SYN and the ACK, not coredns's SYN"
    );
    assert_eq!(
        error_count(
            &nodes[1].errors,
            "acl-plugin-out-ip4-fa",
            "ACL deny packets"
        ),
        1,
        "{}",
        nodes[1].errors
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// The cross-node scenario replays to its golden traces and outputs, twice the same.
#[test]
fn cross_node() {
    let dir = scenario_dir("cross-node");
    let out = tmp("cross");
    let nodes = run_cross(&out);
    for n in &nodes {
        assert_eq!(n.outcome.buffers_in_use, 0, "{}: buffers leaked", n.name);
        let expected = std::fs::read_to_string(dir.join(&n.name).join("expected.trace")).unwrap();
        assert!(expected.starts_with("# "), "{}: notes", n.name);
        let d = diff(&expected, &n.trace);
        assert!(d.is_empty(), "{}:\n{}", n.name, d.join("\n"));
        assert_eq!(
            pcaps(&out.join(&n.name)),
            pcaps(&dir.join(&n.name).join("expected-output")),
            "{}: transmitted frames",
            n.name
        );
    }
    let out2 = tmp("cross-again");
    for (a, b) in nodes.iter().zip(run_cross(&out2)) {
        assert_eq!(a.trace, b.trace, "{}: same trace twice", a.name);
        assert_eq!(
            pcaps(&out.join(&a.name)),
            pcaps(&out2.join(&b.name)),
            "{}",
            a.name
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&out2);
}

#[test]
fn policy() {
    let r = check("policy");
    // Both denied connections are counted drops.
    assert_eq!(
        error_count(&r.errors, "acl-plugin-in-ip4-fa", "ACL deny packets"),
        1,
        "{}",
        r.errors
    );
    assert_eq!(
        error_count(&r.errors, "acl-plugin-out-ip4-fa", "ACL deny packets"),
        1,
        "{}",
        r.errors
    );
}

/// Seed 000: every value of the endpoint's tcpdump is in the golden files: the requests as tap1
/// transmitted them (output pcap and the `tap1-output` records), the replies as the pod sent them
/// (input pcap and the `ethernet-input`/`ip4-input` records), and the TCP header of each in the
/// `ip4-rewrite` dump; the node's address and NodePort on the uplink side.
#[test]
fn nodeport_shows_the_seed_000_tcpdump() {
    let dir = scenario_dir("nodeport");
    let dumps = parse_tcpdump(&SEED000_TCPDUMP);
    let pod: Ipv4Addr = "172.16.0.32".parse().unwrap();
    let to_pod = frames_of(&dir.join("expected-output"), "tap1.pcap");
    let from_pod = frames_of(&dir.join("input"), "tap1.pcap");
    let (_, trace) = golden_trace("nodeport");
    assert_eq!(
        trace.len(),
        dumps.len(),
        "one traced packet per tcpdump line"
    );
    let (mut i, mut o) = (0, 0);
    for (k, d) in dumps.iter().enumerate() {
        if d.dst == pod {
            assert_frame_shows(d, &to_pod[i], "expected-output/tap1.pcap");
            assert_trace_tx(&trace[k], "tap1-output", d);
            // It entered on the uplink, addressed to the node.
            let at = format!("seed line {}", d.line);
            assert_eq!(trace[k].records[0].node, "dpdk-input", "{at}");
            let rx = record(&trace[k], "ip4-input", &at);
            assert_has_line_containing(rx, &format!("-> {SEED000_NODE_IP}"), &at);
            assert_has_line(rx, &format!("TCP: {} -> {SEED000_NODE_PORT}", d.sport), &at);
            i += 1;
        } else {
            assert_frame_shows(d, &from_pod[o], "input/tap1.pcap");
            assert_eq!(trace[k].records[0].node, "virtio-input");
            assert_trace_rx(&trace[k], d);
            // It left on the uplink from the node's address and NodePort.
            let at = format!("seed line {}", d.line);
            let tx = record(&trace[k], "GigabitEthernet0/8/0-output", &at);
            assert_has_line_containing(tx, &format!("TCP: {SEED000_NODE_IP} -> "), &at);
            assert_has_line(tx, &format!("TCP: {SEED000_NODE_PORT} -> {}", d.dport), &at);
            o += 1;
        }
    }
    assert_eq!(
        (i, o),
        (to_pod.len(), from_pod.len()),
        "every frame is a seed line"
    );
    let up = frames_of(&dir.join("expected-output"), "GigabitEthernet0_8_0.pcap");
    assert_eq!(up.len(), from_pod.len());
    for f in &up {
        assert_eq!(
            &f[26..30],
            &SEED000_NODE_IP.parse::<Ipv4Addr>().unwrap().octets()
        );
        assert_eq!(&f[34..36], &SEED000_NODE_PORT.to_be_bytes());
    }
}

/// Seed 001: the frontend's tcpdump (its SYN to the ClusterIP and the SYN-ACK it got back) is in
/// the golden files as sent and as delivered; the Service, the endpoint kube-proxy picks on this
/// node, the pods' MACs (spoofguard) and OVS's rewrite towards backend1 are in the trace.
#[test]
fn policy_shows_the_seed_001_values() {
    let dir = scenario_dir("policy");
    let dumps = parse_tcpdump(&SEED001_TCPDUMP);
    let (text, trace) = golden_trace("policy");
    // Line 1822: what the frontend sent (input/tap1.pcap, Packet 1's input records).
    assert_frame_shows(
        &dumps[0],
        &frames_of(&dir.join("input"), "tap1.pcap")[0],
        "input/tap1.pcap",
    );
    assert_eq!(trace[0].records[0].node, "virtio-input");
    assert_trace_rx(&trace[0], &dumps[0]);
    // Line 1823: what the frontend received (expected-output/tap1.pcap, Packet 2's tap1-output).
    assert_frame_shows(
        &dumps[1],
        &frames_of(&dir.join("expected-output"), "tap1.pcap")[0],
        "expected-output/tap1.pcap",
    );
    assert_trace_tx(&trace[1], "tap1-output", &dumps[1]);

    // Line 132: the ClusterIP and port the frontend connects to.
    let svc: Vec<&str> = SEED001_SVC.split_whitespace().collect();
    let (svc_ip, svc_port) = (
        svc[2].trim_start_matches("<b>").trim_end_matches("</b>"),
        svc[4].trim_end_matches("/TCP"),
    );
    assert_eq!(dumps[0].dst.to_string(), svc_ip);
    assert_eq!(dumps[0].dport.to_string(), svc_port);
    // Line 267: kube-proxy's DNAT to backend1; the packet after nat44-out2in goes there, and
    // backend1's answer comes back from it.
    let to = SEED001_DNAT
        .split("tcp to:")
        .nth(1)
        .unwrap()
        .trim_end_matches("</b>");
    let (ep_ip, ep_port) = to.split_once(':').unwrap();
    let at = "Packet 1";
    let lookup = record(&trace[0], "ip4-lookup", at);
    assert_has_line(lookup, &format!("TCP: {} -> {ep_ip}", dumps[0].src), at);
    assert_has_line(lookup, &format!("TCP: {} -> {ep_port}", dumps[0].sport), at);
    assert_has_line(
        record(&trace[1], "ip4-input", "Packet 2"),
        &format!("TCP: {ep_ip} -> {}", dumps[0].src),
        "Packet 2",
    );
    // Line 650: towards backend1, source MAC antrea-gw0, destination backend1, TTL decremented.
    let rewrite: Vec<&str> = SEED001_TO_BACKEND1
        .split("actions=")
        .nth(1)
        .unwrap()
        .split(',')
        .collect();
    let (gw_mac, b1_mac) = (
        rewrite[0].trim_start_matches("mod_dl_src:"),
        rewrite[1].trim_start_matches("mod_dl_dst:"),
    );
    assert_eq!(rewrite[2], "dec_ttl");
    let tx = record(&trace[0], "tap2-output", at);
    assert_has_line(tx, &format!("IP4: {gw_mac} -> {b1_mac}"), at);
    assert_has_line_containing(tx, "ttl 63,", at);
    assert_has_line_containing(record(&trace[0], "ip4-input", at), "ttl 64,", at);
    // Lines 71-74: spoofguard admits each pod's MAC and address (MACIP records).
    for l in SEED001_SPOOFGUARD {
        let dl_src = l
            .split("dl_src=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let nw_src = l
            .split("nw_src=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert!(
            text.contains(&format!("  ip4 src mac {dl_src} ip {nw_src}\n")),
            "spoofguard of {nw_src}"
        );
    }
    // Line 632: backend1's own connection is dropped on entry by backendpolicy's empty egress.
    let src = SEED001_BACKEND1_EGRESS
        .split("nw_src=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let denied = trace
        .iter()
        .find(|p| {
            p.records.iter().any(|r| {
                r.node == "ip4-input"
                    && r.body
                        .iter()
                        .any(|l| l.trim() == format!("TCP: {src} -> {}", dumps[0].src))
                    && r.body.iter().any(|l| l.contains("flags 0x02 SYN,"))
            })
        })
        .expect("backend1's SYN to the frontend is traced");
    let last = denied.records.last().unwrap();
    assert_eq!(last.node, "error-drop");
    assert_eq!(last.body, ["  acl-plugin-in-ip4-fa: ACL deny packets"]);
}

/// The denied connections end in counted drops and nothing of them is transmitted.
#[test]
fn policy_denied_flows_are_dropped() {
    let (_, trace) = golden_trace("policy");
    let drops: Vec<&Packet> = trace
        .iter()
        .filter(|p| p.records.last().is_some_and(|r| r.node == "error-drop"))
        .collect();
    assert_eq!(drops.len(), 2);
    assert_eq!(
        drops[0].records.last().unwrap().body,
        ["  acl-plugin-in-ip4-fa: ACL deny packets"]
    );
    assert_eq!(
        drops[1].records.last().unwrap().body,
        ["  acl-plugin-out-ip4-fa: ACL deny packets"]
    );
    // The second one was translated to backend1 before backend1's ingress ACL refused it.
    assert!(drops[1]
        .records
        .iter()
        .any(|r| r.node == "nat44-out2in" && !r.body[0].ends_with("session index -1")));
    let out = pcaps(&scenario_dir("policy").join("expected-output"));
    for (file, frames) in &out {
        for f in frames {
            let sport = u16::from_be_bytes([f[34], f[35]]);
            assert!(
                sport != 52814 && sport != 45526,
                "{file}: a denied SYN was sent"
            );
        }
    }
    let n: usize = out.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(n, 10, "the ten packets of the allowed connection");
}

/// Every folder under traces/antrea has a test above.
#[test]
fn every_scenario_folder_is_tested() {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("traces/antrea"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs, ["cross-node", "nodeport", "policy"]);
}

/// The checked-in inputs are what `dataplane gen-scenario-inputs traces/antrea` writes.
#[test]
fn inputs_are_generated() {
    for name in dataplane::antrea::SCENARIOS {
        let out = tmp(&format!("gen-{name}"));
        dataplane::antrea::write_inputs(&out, name).unwrap();
        assert_eq!(
            pcaps(&out.join("input")),
            pcaps(&scenario_dir(name).join("input")),
            "{name}/input"
        );
        assert!(!scenario_dir(name).join("history").exists());
        let _ = std::fs::remove_dir_all(&out);
    }
    for (name, nodes) in dataplane::antrea::NODE_SCENARIOS {
        let out = tmp(&format!("gen-{name}"));
        dataplane::antrea::write_inputs(&out, name).unwrap();
        for n in nodes.iter() {
            assert_eq!(
                pcaps(&out.join(n).join("input")),
                pcaps(&scenario_dir(name).join(n).join("input")),
                "{name}/{n}/input"
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// The golden traces say where they came from.
#[test]
fn golden_traces_start_with_notes() {
    for name in dataplane::antrea::SCENARIOS {
        let (t, _) = golden_trace(name);
        assert!(t.starts_with("# "), "{name}");
        assert!(t.contains("../shared/reference/seeds/"), "{name}");
    }
}

/// A changed value in the golden trace is reported with the packet, the node and both lines.
#[test]
fn a_changed_value_is_a_difference() {
    let name = "nodeport";
    let out = tmp("changed");
    let r = run(name, &out);
    let (expected, _) = golden_trace(name);
    let changed = expected.replacen("window 64308, checksum", "window 64309, checksum", 1);
    assert_ne!(changed, expected);
    let d = diff(&changed, &r.trace).join("\n");
    assert!(d.contains("ip4-input"), "{d}");
    assert!(d.contains("window 64309"), "{d}");
    assert!(d.contains("window 64308"), "{d}");
    let _ = std::fs::remove_dir_all(&out);
}

/// Changing the Service's endpoint port in the configuration fails the comparison at the
/// records that print it.
#[test]
fn a_changed_endpoint_port_fails_with_a_diff() {
    let name = "policy";
    let work = tmp("endpoint-port");
    let src = scenario_dir(name);
    let cfg = std::fs::read_to_string(src.join("config.cli")).unwrap();
    assert!(cfg.contains("local 10.222.1.47:80 probability"));
    std::fs::write(
        work.join("config.cli"),
        cfg.replace(
            "local 10.222.1.47:80 probability",
            "local 10.222.1.47:81 probability",
        ),
    )
    .unwrap();
    let mut req = ReplayRequest::from_dir(&src, 50).unwrap();
    req.config = work.join("config.cli");
    req.output_dir = Some(work.join("output"));
    let r = replay(&req).unwrap();
    let (expected, _) = golden_trace(name);
    let d = diff(&expected, &r.trace).join("\n");
    assert!(d.contains("expected:   TCP: 33712 -> 80"), "{d}");
    assert!(d.contains("actual:     TCP: 33712 -> 81"), "{d}");
    let _ = std::fs::remove_dir_all(&work);
}
