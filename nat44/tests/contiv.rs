//! Replays of the contiv packet-flow documents that involve NAT44: the NAT records, the translated
//! headers (as the following ip4-lookup record prints them) and the checksums must be the
//! documents' own, byte for byte.

mod common;

use std::net::Ipv4Addr;

use common::*;
use dataplane::pcapgen::TcpFrame;

const TAP2_MAC: [u8; 6] = [0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f];
const TAP4_MAC: [u8; 6] = [0x02, 0xfe, 0x10, 0x03, 0x7c, 0x4d];
const TAP0_MAC: [u8; 6] = [0x01, 0x23, 0x45, 0x67, 0x89, 0x42];
const HOST_MAC: [u8; 6] = [0x3e, 0x1b, 0x70, 0x2d, 0x4d, 0x51];
const GBE_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x44, 0x9f, 0xd8];
const GW_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x02, 0xa5, 0x36];

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 3);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 104, 221, 85);

const SYN: u8 = 0x02;
const SYN_ACK: u8 = 0x12;

/// Five earlier client connections to the service: the documented sessions are the sixth
/// (index 5), as on the traced node.
fn seed_sessions(a: &mut dataplane::App, t: u64) {
    for p in 0..5u16 {
        let f = tcp(
            POD_MAC,
            TAP2_MAC,
            CLIENT,
            30000 + p,
            VIP,
            80,
            1,
            SYN,
            1,
            0,
            None,
        );
        send(a, "tap2", t + p as u64, f);
    }
}

/// The NAT, ip4-lookup header and last output records of a doc's packet, checked against ours.
fn check_records(ours: &str, doc: &str, nat_nodes: &[&str], output_node: &str) {
    for node in nat_nodes {
        assert_eq!(
            records(ours, node),
            records(doc, node),
            "{node} records differ\n--- ours:\n{ours}"
        );
        assert_eq!(records(ours, node).len(), 1, "{node}: one record\n{ours}");
    }
    // ip4-lookup: the translated header (the dpo index on line 1 depends on adjacency numbering).
    let o = records(ours, "ip4-lookup");
    let d = records(doc, "ip4-lookup");
    assert_eq!(o.len(), 1, "{ours}");
    assert_eq!(o[0][1..], d[0][1..], "translated header\n{ours}");
    // The frame as it leaves.
    assert_eq!(
        records(ours, output_node),
        records(doc, output_node),
        "{output_node}\n{ours}"
    );
}

const SERVICE: &str =
    "nat44 add load-balancing static mapping protocol tcp external 10.104.221.85:80 local 10.1.1.5:8080 probability 1 self-twice-nat out2in-only\n";

#[test]
fn pod_to_service_same_node() {
    let doc = doc_blocks("POD_TO_SERVICE_SAME_NODE.md");
    let mut a = app(&format!("{NODE_A}{NAT_A}{SERVICE}"));
    seed_sessions(&mut a, ts(1, 59, 0, 0));
    run(&mut a, "trace add virtio-input 10");
    let syn = tcp(
        POD_MAC,
        TAP2_MAC,
        CLIENT,
        51082,
        VIP,
        80,
        0xbff6,
        SYN,
        0x0a88_91a7,
        0,
        Some(0x50b8),
    );
    assert_eq!(&syn[24..26], &[0x88, 0x04], "documented IP checksum");
    send(&mut a, "tap2", ts(1, 59, 50, 724_476), syn);
    let t = run(&mut a, "show trace");
    check_records(&t, &doc[0], &["nat44-out2in"], "tap4-output");
    let out = sent(&a, "tap4");
    let h = decode(out.last().unwrap(), false);
    assert_eq!(
        (h.dst, h.dport, h.sport),
        (Ipv4Addr::new(10, 1, 1, 5), 8080, 51082)
    );
    assert_eq!((h.ip_csum, h.l4_csum), (0x65bc, 0x0e30));

    run(&mut a, "clear trace");
    run(&mut a, "trace add virtio-input 10");
    let syn_ack = tcp(
        POD_MAC,
        TAP4_MAC,
        Ipv4Addr::new(10, 1, 1, 5),
        8080,
        CLIENT,
        51082,
        0,
        SYN_ACK,
        0xa80c_b872,
        0x0a88_91a8,
        Some(0x8023),
    );
    assert_eq!(&syn_ack[24..26], &[0x24, 0xb3]);
    send(&mut a, "tap4", ts(1, 59, 50, 724_579), syn_ack);
    let t = run(&mut a, "show trace");
    check_records(
        &t,
        &doc[1],
        &["nat44-in2out", "nat44-in2out-slowpath"],
        "tap2-output",
    );
    let h = decode(sent(&a, "tap2").last().unwrap(), false);
    assert_eq!((h.src, h.sport), (VIP, 80));
    assert_eq!((h.ip_csum, h.l4_csum), (0x48fb, 0xc2ab));
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
    let s = run(&mut a, "show nat44 sessions detail");
    assert!(s.contains("load-balancing"), "{s}");
    assert!(s.contains("tcp state established"), "{s}");
}

#[test]
fn pod_to_service_host() {
    let doc = doc_blocks("POD_TO_SERVICE_HOST.md");
    let mut a = app(&format!(
        "{NODE_A}{NAT_A}nat44 add load-balancing static mapping protocol tcp external 10.104.221.85:80 local 10.20.0.2:8080 probability 1 self-twice-nat out2in-only\n"
    ));
    seed_sessions(&mut a, ts(2, 54, 0, 0));
    run(&mut a, "trace add virtio-input 10");
    let syn = tcp(
        POD_MAC,
        TAP2_MAC,
        CLIENT,
        46310,
        VIP,
        80,
        0x5eb4,
        SYN,
        0xba5b_f36d,
        0,
        Some(0xd22d),
    );
    assert_eq!(&syn[24..26], &[0xe9, 0x46]);
    send(&mut a, "tap2", ts(2, 54, 30, 91_783), syn);
    let t = run(&mut a, "show trace");
    check_records(&t, &doc[0], &["nat44-out2in"], "tap0-output");
    let h = decode(sent(&a, "tap0").last().unwrap(), false);
    assert_eq!((h.dst, h.dport), (Ipv4Addr::new(10, 20, 0, 2), 8080));
    assert_eq!((h.ip_csum, h.l4_csum), (0xc7ee, 0x9095));

    run(&mut a, "clear trace");
    run(&mut a, "trace add virtio-input 10");
    let syn_ack = tcp(
        HOST_MAC,
        TAP0_MAC,
        Ipv4Addr::new(10, 20, 0, 2),
        8080,
        CLIENT,
        46310,
        0,
        SYN_ACK,
        0x57f7_b0c7,
        0xba5b_f36e,
        Some(0xdab4),
    );
    assert_eq!(&syn_ack[24..26], &[0x25, 0xa3]);
    send(&mut a, "tap0", ts(2, 54, 30, 91_945), syn_ack);
    let t = run(&mut a, "show trace");
    check_records(
        &t,
        &doc[1],
        &["nat44-in2out", "nat44-in2out-slowpath"],
        "tap2-output",
    );
    let h = decode(sent(&a, "tap2").last().unwrap(), false);
    assert_eq!((h.src, h.sport, h.dport), (VIP, 80, 46310));
    assert_eq!((h.ip_csum, h.l4_csum), (0x48fb, 0x1c4d));
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

/// POD_TO_INTERNET: SNAT after routing on the uplink to the node address and a pool port, and the
/// reply back. With `set nat44 random-seed 17460` the first port drawn is the documented 25801, so
/// the whole NAT record set and the checksums are the document's.
#[test]
fn pod_to_internet() {
    let doc = doc_blocks("POD_TO_INTERNET.md");
    let mut a = app(&format!(
        "{NODE_A}{NAT_A}{SERVICE}set nat44 random-seed 17460\n"
    ));
    seed_sessions(&mut a, ts(2, 6, 0, 0));
    run(&mut a, "trace add virtio-input 10");
    let server = Ipv4Addr::new(31, 134, 97, 51);
    let syn = tcp(
        POD_MAC,
        TAP2_MAC,
        CLIENT,
        41084,
        server,
        80,
        0x7dab,
        SYN,
        0x9404_82c0,
        0,
        Some(0x91d0),
    );
    assert_eq!(&syn[24..26], &[0x31, 0x54]);
    send(&mut a, "tap2", ts(2, 6, 32, 879_780), syn);
    let t = run(&mut a, "show trace");
    for node in [
        "nat44-out2in",
        "nat44-in2out-output",
        "nat44-in2out-output-slowpath",
        "GigabitEthernet0/8/0-output",
    ] {
        assert_eq!(records(&t, node), records(&doc[0], node), "{node}\n{t}");
        assert_eq!(records(&t, node).len(), 1, "{node}\n{t}");
    }
    let out = sent(&a, "GigabitEthernet0/8/0");
    let h = decode(out.last().unwrap(), false);
    assert_eq!(
        (h.src, h.sport, h.dst, h.dport),
        (Ipv4Addr::new(192, 168, 16, 1), 25801, server, 80)
    );
    assert_eq!((h.ip_csum, h.l4_csum), (0x6cae, 0x07de));

    // The reply from the Internet: 60-byte frame, no DF, TCP header 24 bytes.
    run(&mut a, "clear trace");
    run(&mut a, "trace add dpdk-input 10");
    let mut f = TcpFrame {
        src_mac: GW_MAC,
        dst_mac: GBE_MAC,
        src: server,
        dst: Ipv4Addr::new(192, 168, 16, 1),
        id: 0x06d0,
        df: false,
        ttl: 63,
        sport: 80,
        dport: 25801,
        seq: 0xc9a7_5001,
        ack: 0x9404_82c1,
        flags: SYN_ACK,
        window: 65535,
        options: vec![0x02, 0x04, 0x05, 0xb4],
        payload: Vec::new(),
    }
    .build();
    f[50..52].copy_from_slice(&0xb12bu16.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    assert_eq!(&f[24..26], &[0x23, 0x9a]);
    send(&mut a, "GigabitEthernet0/8/0", ts(2, 6, 32, 880_926), f);
    let t = run(&mut a, "show trace");
    check_records(&t, &doc[1], &["nat44-out2in"], "tap2-output");
    let h = decode(sent(&a, "tap2").last().unwrap(), false);
    assert_eq!((h.dst, h.dport), (CLIENT, 41084));
    assert_eq!((h.ip_csum, h.l4_csum), (0xea3f, 0x3b1e));
    let addrs = run(&mut a, "show nat44 addresses");
    assert!(
        addrs.contains(
            "192.168.16.1\n  tenant VRF independent\n  0 busy udp ports\n  1 busy tcp ports"
        ),
        "{addrs}"
    );
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

/// Host to pod and pod to pod on the same node: forwarding, nothing translated (session -1 in
/// every NAT record, as documented).
#[test]
fn untranslated_flows_show_no_session() {
    for (docname, script_extra) in [("HOST_TO_POD.md", ""), ("POD_TO_POD_SAME_NODE.md", "")] {
        let doc = doc_blocks(docname);
        let all = doc.join("\n");
        let mut a = app(&format!("{NODE_A}{NAT_A}{script_extra}"));
        run(&mut a, "trace add virtio-input 10");
        if docname == "HOST_TO_POD.md" {
            let syn = tcp(
                HOST_MAC,
                TAP0_MAC,
                Ipv4Addr::new(172, 30, 1, 2),
                32966,
                Ipv4Addr::new(10, 1, 1, 6),
                8080,
                0x9e51,
                SYN,
                0xe269_7e8e,
                0,
                Some(0x3b85),
            );
            send(&mut a, "tap0", ts(1, 36, 39, 413_621), syn);
        } else {
            let syn = tcp(
                POD_MAC,
                [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d],
                Ipv4Addr::new(10, 1, 1, 12),
                39820,
                Ipv4Addr::new(10, 1, 1, 9),
                8080,
                0x341e,
                SYN,
                0x8c66_e434,
                0,
                Some(0xc3de),
            );
            send(&mut a, "tap11", ts(1, 0, 0, 0), syn);
        }
        let t = run(&mut a, "show trace");
        let first_nat = if docname == "HOST_TO_POD.md" {
            "nat44-in2out"
        } else {
            "nat44-out2in"
        };
        let ours = records(&t, first_nat);
        assert_eq!(ours.len(), 1, "{t}");
        assert!(
            all.contains(ours[0][0].trim_start_matches(' ')),
            "{docname}: {:?} not documented\n{t}",
            ours[0]
        );
    }
}

/// The same service flow with the ACL plugin configured as contiv does (NAT first, then a
/// reflective ACL on ingress and a global ACL on egress): the acl-plugin feature next indices are
/// the documented ones (2 = nat44-out2in on tap2, 1 = nat44-classify on tap4, 1 = tap4-output).
#[test]
fn pod_to_service_same_node_with_acls() {
    let doc = doc_blocks("POD_TO_SERVICE_SAME_NODE.md");
    let acls = "
set acl-plugin acl permit src 0.0.0.0/0
set acl-plugin acl permit src 0.0.0.0/0
set acl-plugin acl permit src 0.0.0.0/0
set acl-plugin acl permit+reflect src 0.0.0.0/0
set acl-plugin acl permit src 0.0.0.0/0
set acl-plugin interface tap4 input acl 3
set acl-plugin interface tap2 input acl 3
set acl-plugin interface tap4 output acl 4
";
    let mut a = app(&format!("{NODE_A}{NAT_A}{SERVICE}{acls}"));
    seed_sessions(&mut a, ts(1, 59, 0, 0));
    run(&mut a, "trace add virtio-input 10");
    let syn = tcp(
        POD_MAC,
        TAP2_MAC,
        CLIENT,
        51082,
        VIP,
        80,
        0xbff6,
        SYN,
        0x0a88_91a7,
        0,
        Some(0x50b8),
    );
    send(&mut a, "tap2", ts(1, 59, 50, 724_476), syn);
    let t = run(&mut a, "show trace");
    check_records(&t, &doc[0], &["nat44-out2in"], "tap4-output");
    let next_index = |recs: Vec<Vec<&str>>| -> Vec<String> {
        recs.iter()
            .map(|r| {
                r[0].split(", ")
                    .find(|x| x.starts_with("next index"))
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    for node in ["acl-plugin-in-ip4-fa", "acl-plugin-out-ip4-fa"] {
        assert_eq!(
            next_index(records(&t, node)),
            next_index(records(&doc[0], node)),
            "{node}\n{t}"
        );
    }
    run(&mut a, "clear trace");
    run(&mut a, "trace add virtio-input 10");
    let syn_ack = tcp(
        POD_MAC,
        TAP4_MAC,
        Ipv4Addr::new(10, 1, 1, 5),
        8080,
        CLIENT,
        51082,
        0,
        SYN_ACK,
        0xa80c_b872,
        0x0a88_91a8,
        Some(0x8023),
    );
    send(&mut a, "tap4", ts(1, 59, 50, 724_579), syn_ack);
    let t = run(&mut a, "show trace");
    check_records(
        &t,
        &doc[1],
        &["nat44-in2out", "nat44-in2out-slowpath"],
        "tap2-output",
    );
    assert_eq!(
        next_index(records(&t, "acl-plugin-in-ip4-fa")),
        next_index(records(&doc[1], "acl-plugin-in-ip4-fa")),
        "{t}"
    );
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}

/// The NAT nodes' next slots are VPP 18.01's, so the traces' next indices are the real slots;
/// nat44-classify leads to in2out (0) and out2in (1).
#[test]
fn next_slots_are_vpp_s() {
    let a = app("");
    let g = &a.dp.graph;
    let nexts = |n: &str| -> Vec<String> {
        g.nexts(g.node_index(n).unwrap())
            .iter()
            .map(|&i| g.node_name(i).to_string())
            .collect()
    };
    assert_eq!(
        nexts("nat44-out2in")[..5],
        [
            "error-drop",
            "ip4-lookup",
            "ip4-icmp-error",
            "nat44-out2in-reass",
            "nat44-in2out"
        ]
    );
    for n in ["nat44-in2out", "nat44-in2out-slowpath"] {
        assert_eq!(
            nexts(n)[..5],
            [
                "ip4-lookup",
                "error-drop",
                "ip4-icmp-error",
                "nat44-in2out-slowpath",
                "nat44-in2out-reass"
            ]
        );
    }
    for n in ["nat44-in2out-output", "nat44-in2out-output-slowpath"] {
        assert_eq!(
            nexts(n)[..5],
            [
                "interface-output",
                "error-drop",
                "ip4-icmp-error",
                "nat44-in2out-output-slowpath",
                "nat44-in2out-reass"
            ]
        );
    }
    assert_eq!(
        nexts("nat44-classify")[..2],
        ["nat44-in2out", "nat44-out2in"]
    );
}
