//! Byte-exact tests against the contiv packet-flow traces (VPP 18.01) and
//! edge cases of the formatters.

use std::net::Ipv4Addr;

use super::*;
use crate::wire::{ethernet, ipv4, tcp, udp};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs a formatter as the body of a trace record: `"\n  %U"`.
fn body(g: impl FnOnce(&mut String)) -> String {
    let mut s = String::from("  ");
    g(&mut s);
    s
}

/// The 14 TCP option bytes the traces do not show (after 020405b40402).
const OPT_TAIL: &str = "080a0001e2400000000001030307";

/// Builds Ethernet + IPv4 + TCP (40-byte header) with the traced values.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    dst: [u8; 6],
    src: [u8; 6],
    ip: (Ipv4Addr, Ipv4Addr, u8, u16, bool, u16),
    ports: (u16, u16),
    seq_ack: (u32, u32),
    flags: u8,
    tcp_hdr_len: usize,
    window: u16,
    tcp_csum: u16,
) -> Vec<u8> {
    let (sip, dip, ttl, id, df, ip_csum) = ip;
    let total = 20 + tcp_hdr_len;
    let mut f = vec![0u8; 14 + total];
    {
        let mut e = ethernet::Packet::new_unchecked(&mut f[..]);
        e.set_dst_addr(dst);
        e.set_src_addr(src);
        e.set_outer_ethertype(ethernet::ethertype::IPV4);
    }
    {
        let mut p = ipv4::Packet::new_unchecked(&mut f[14..]);
        p.set_version_and_header_len(4, 20);
        p.set_total_len(total as u16);
        p.set_ident(id);
        p.set_dont_frag(df);
        p.set_ttl(ttl);
        p.set_protocol(ipv4::protocol::TCP);
        p.set_src_addr(sip);
        p.set_dst_addr(dip);
        p.set_checksum(ip_csum);
    }
    {
        let mut t = tcp::Packet::new_unchecked(&mut f[34..]);
        t.set_src_port(ports.0);
        t.set_dst_port(ports.1);
        t.set_seq_number(seq_ack.0);
        t.set_ack_number(seq_ack.1);
        t.set_header_len(tcp_hdr_len);
        t.set_flags(flags);
        t.set_window_len(window);
        t.set_checksum(tcp_csum);
        if tcp_hdr_len >= 24 {
            t.options_mut()[..4].copy_from_slice(&[2, 4, 5, 0xb4]);
        }
        if tcp_hdr_len == 40 {
            t.options_mut()[4..6].copy_from_slice(&[4, 2]);
            t.options_mut()[6..].copy_from_slice(&hex(OPT_TAIL));
        }
    }
    f
}

const POD_MAC: [u8; 6] = [0, 0, 0, 0, 0, 2];
const TAP11_MAC: [u8; 6] = [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d];
const TAP8_MAC: [u8; 6] = [0x02, 0xfe, 0x16, 0x79, 0x39, 0xcb];

/// POD_TO_POD_SAME_NODE SYN as it enters VPP on tap11.
fn same_node_syn_rx() -> Vec<u8> {
    tcp_frame(
        TAP11_MAC,
        POD_MAC,
        (
            Ipv4Addr::new(10, 1, 1, 12),
            Ipv4Addr::new(10, 1, 1, 9),
            64,
            0x341e,
            true,
            0xf087,
        ),
        (39820, 8080),
        (0x8c66e434, 0),
        0x02,
        40,
        29200,
        0xc3de,
    )
}

#[test]
fn built_syn_matches_rewrite_dump_and_checksums() {
    let mut f = same_node_syn_rx();
    // The rx IP checksum is valid.
    assert!(ipv4::Packet::new_checked(&f[14..])
        .unwrap()
        .verify_checksum());
    let e = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
    match e.net.unwrap() {
        etherparse::NetSlice::Ipv4(ip) => {
            assert_eq!(ip.header().header_checksum(), 0xf087);
            assert_eq!(ip.header().to_header().calc_header_checksum(), 0xf087);
        }
        _ => panic!("not ipv4"),
    }
    // Apply ip4-rewrite: new MACs, TTL - 1 (VPP incremental update).
    {
        let mut eth = ethernet::Packet::new_unchecked(&mut f[..]);
        eth.set_dst_addr(POD_MAC);
        eth.set_src_addr(TAP8_MAC);
        let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
        ip.decrement_ttl();
        assert!(ip.verify_checksum());
    }
    let dump = hex(
        "00000000000202fe167939cb08004500003c341e40003f06f1870a01010c0a01\
         01099b8c1f908c66e43400000000a0027210c3de0000020405b40402",
    );
    assert_eq!(&f[..60], &dump[..]);
}

#[test]
fn ip4_input_pod_to_pod_same_node() {
    let f = same_node_syn_rx();
    // ip4_input_trace_t: 64 bytes copied from the IP header.
    let mut rec = f[14..].to_vec();
    rec.resize(64, 0);
    let mut s = String::from("01:48:51:256993: ip4-input\n  ");
    format_ip4_header(&mut s, &rec, 64);
    let expected = "\
01:48:51:256993: ip4-input
  TCP: 10.1.1.12 -> 10.1.1.9
    tos 0x00, ttl 64, length 60, checksum 0xf087
    fragment id 0x341e, flags DONT_FRAGMENT
  TCP: 39820 -> 8080
    seq. 0x8c66e434 ack 0x00000000
    flags 0x02 SYN, tcp header: 40 bytes
    window 29200, checksum 0xc3de";
    assert_eq!(s, expected);
}

#[test]
fn ethernet_input_line() {
    let f = same_node_syn_rx();
    // ethernet-input keeps 32 bytes and prints without L3 decode.
    let s = body(|s| format_ethernet_header(s, &f[..32]));
    assert_eq!(s, "  IP4: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d");
}

#[test]
fn tap8_output_pod_to_pod_same_node() {
    // The frame after ip4-rewrite: the 60 dumped bytes + the option tail.
    let mut f = hex(
        "00000000000202fe167939cb08004500003c341e40003f06f1870a01010c0a01\
         01099b8c1f908c66e43400000000a0027210c3de0000020405b40402",
    );
    f.extend_from_slice(&hex(OPT_TAIL));
    assert_eq!(f.len(), 74);
    let mut s = String::from("01:48:51:257016: tap8-output\n  tap8\n  ");
    format_ethernet_header_with_length(&mut s, &f, 124);
    let expected = "\
01:48:51:257016: tap8-output
  tap8
  IP4: 02:fe:16:79:39:cb -> 00:00:00:00:00:02
  TCP: 10.1.1.12 -> 10.1.1.9
    tos 0x00, ttl 63, length 60, checksum 0xf187
    fragment id 0x341e, flags DONT_FRAGMENT
  TCP: 39820 -> 8080
    seq. 0x8c66e434 ack 0x00000000
    flags 0x02 SYN, tcp header: 40 bytes
    window 29200, checksum 0xc3de";
    assert_eq!(s, expected);
    // Same output with a 124-byte trace copy padded with garbage.
    let mut rec = f.clone();
    rec.extend((0..50).map(|i| i as u8 ^ 0x5a));
    let mut s2 = String::from("01:48:51:257016: tap8-output\n  tap8\n  ");
    format_ethernet_header_with_length(&mut s2, &rec, 124);
    assert_eq!(s2, expected);
}

#[test]
fn ip4_rewrite_hex_dump_vxlan() {
    let d = hex(
        "080027a2a45008002772958d08004500006e00000000fd111c2bc0a81001c0a8\
         1002c37612b5005a00000800000000000a001a2b3c4d5e021a2b3c4d",
    );
    assert_eq!(d.len(), 60);
    let s = body(|s| format_hex_bytes(s, &d));
    assert_eq!(
        s,
        "  00000000: 080027a2a45008002772958d08004500006e00000000fd111c2bc0a81001c0a8\n  \
         00000020: 1002c37612b5005a00000800000000000a001a2b3c4d5e021a2b3c4d"
    );
    // The 14-byte rewrite string is printed in short form.
    let mut s = String::from("GigabitEthernet0/8/0: ");
    format_hex_bytes(&mut s, &d[..14]);
    assert_eq!(s, "GigabitEthernet0/8/0: 080027a2a45008002772958d0800");
}

/// Outer VXLAN packet of POD_TO_POD_DIFFERENT_NODES as received on node B.
fn vxlan_outer_ip() -> Vec<u8> {
    let d = hex(
        "080027a2a45008002772958d08004500006e00000000fd111c2bc0a81001c0a8\
         1002c37612b5005a00000800000000000a001a2b3c4d5e021a2b3c4d",
    );
    let mut ip = d[14..].to_vec();
    ip.resize(110, 0);
    ip
}

#[test]
fn ip4_local_udp_column_4() {
    let ip = vxlan_outer_ip();
    assert!(ipv4::Packet::new_checked(&ip[..])
        .unwrap()
        .verify_checksum());
    let u = udp::Packet::new_checked(&ip[20..]).unwrap();
    assert_eq!((u.src_port(), u.dst_port(), u.len()), (50038, 4789, 90));
    // format_ip4_forward_next_trace: "%U%U", format_white_space, indent(2),
    // format_ip4_header(packet_data, 60).
    let mut s = String::from("04:24:37:730773: ip4-local\n  ");
    let indent = column(&s);
    white_space(&mut s, indent);
    format_ip4_header(&mut s, &ip[..60], 60);
    let expected = "\
04:24:37:730773: ip4-local
    UDP: 192.168.16.1 -> 192.168.16.2
      tos 0x00, ttl 253, length 110, checksum 0x1c2b
      fragment id 0x0000
    UDP: 50038 -> 4789
      length 90, checksum 0x0000";
    assert_eq!(s, expected);
}

#[test]
fn gige_output_vxlan_outer() {
    // GigabitEthernet0/8/0-output on node A (POD_TO_POD_DIFFERENT_NODES).
    let mut f = hex("080027a2a45008002772958d0800");
    f.extend_from_slice(&vxlan_outer_ip());
    let s = body(|s| format_ethernet_header_with_length(s, &f, 124));
    let expected = "  IP4: 08:00:27:72:95:8d -> 08:00:27:a2:a4:50
  UDP: 192.168.16.1 -> 192.168.16.2
    tos 0x00, ttl 253, length 110, checksum 0x1c2b
    fragment id 0x0000
  UDP: 50038 -> 4789
    length 90, checksum 0x0000";
    assert_eq!(s, expected);
}

/// POD_TO_INTERNET SYN-ACK as received by dpdk-input: 58 bytes + 2 bytes
/// of Ethernet padding.
fn internet_syn_ack_rx() -> Vec<u8> {
    let mut f = tcp_frame(
        [0x08, 0x00, 0x27, 0x44, 0x9f, 0xd8],
        [0x08, 0x00, 0x27, 0x02, 0xa5, 0x36],
        (
            Ipv4Addr::new(31, 134, 97, 51),
            Ipv4Addr::new(192, 168, 16, 1),
            63,
            0x06d0,
            false,
            0x239a,
        ),
        (80, 25801),
        (0xc9a75001, 0x940482c1),
        0x12,
        24,
        65535,
        0xb12b,
    );
    assert_eq!(f.len(), 58);
    f.extend_from_slice(&[0, 0]);
    f
}

#[test]
fn dpdk_input_syn_ack_pod_to_internet() {
    let f = internet_syn_ack_rx();
    assert!(ipv4::Packet::new_checked(&f[14..])
        .unwrap()
        .verify_checksum());
    let s = body(|s| format_ethernet_header_with_length(s, &f, 128));
    let expected = "  IP4: 08:00:27:02:a5:36 -> 08:00:27:44:9f:d8
  TCP: 31.134.97.51 -> 192.168.16.1
    tos 0x00, ttl 63, length 44, checksum 0x239a
    fragment id 0x06d0
  TCP: 80 -> 25801
    seq. 0xc9a75001 ack 0x940482c1
    flags 0x12 SYN ACK, tcp header: 24 bytes
    window 65535, checksum 0xb12b";
    assert_eq!(s, expected);
}

#[test]
fn syn_ack_un_snat_matches_rewrite_dump_and_tap2_output() {
    use crate::wire::checksum::IpCsum;
    let mut f = internet_syn_ack_rx();
    // nat44-out2in: 192.168.16.1:25801 -> 10.1.1.3:41084.
    let (old_ip, new_ip) = (Ipv4Addr::new(192, 168, 16, 1), Ipv4Addr::new(10, 1, 1, 3));
    {
        let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
        let c = IpCsum::from_field(ip.checksum())
            .update_addr(old_ip, new_ip)
            .fold();
        ip.set_dst_addr(new_ip);
        ip.set_checksum(c);
        assert_eq!(c, 0xe93f);
        assert!(ip.verify_checksum());
    }
    {
        let mut t = tcp::Packet::new_unchecked(&mut f[34..]);
        let c = IpCsum::from_field(t.checksum())
            .update_addr(old_ip, new_ip)
            .update_u16(25801, 41084)
            .fold();
        t.set_dst_port(41084);
        t.set_checksum(c);
        assert_eq!(c, 0x3b1e);
    }
    // ip4-rewrite.
    {
        let mut e = ethernet::Packet::new_unchecked(&mut f[..]);
        e.set_dst_addr(POD_MAC);
        e.set_src_addr([0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f]);
        ipv4::Packet::new_unchecked(&mut f[14..]).decrement_ttl();
    }
    let dump = hex(
        "00000000000202fe163f5f0f08004500002c06d000003e06ea3f1f8661330a01\
         01030050a07cc9a75001940482c16012ffff3b1e0000020405b40000",
    );
    assert_eq!(&f[..], &dump[..]);
    let mut s = String::from("  tap2\n  ");
    format_ethernet_header_with_length(&mut s, &f, 124);
    let expected = "  tap2
  IP4: 02:fe:16:3f:5f:0f -> 00:00:00:00:00:02
  TCP: 31.134.97.51 -> 10.1.1.3
    tos 0x00, ttl 62, length 44, checksum 0xea3f
    fragment id 0x06d0
  TCP: 80 -> 41084
    seq. 0xc9a75001 ack 0x940482c1
    flags 0x12 SYN ACK, tcp header: 24 bytes
    window 65535, checksum 0x3b1e";
    assert_eq!(s, expected);
    // Cross-check the rewritten packet with etherparse.
    let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
    match p.transport.unwrap() {
        etherparse::TransportSlice::Tcp(t) => {
            assert_eq!(t.destination_port(), 41084);
            assert_eq!(t.checksum(), 0x3b1e);
        }
        _ => panic!("not tcp"),
    }
}

// ---------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------

fn ip4_hdr(ihl_words: u8, flags_frag: u16, proto: u8, payload: &[u8]) -> Vec<u8> {
    let hl = usize::from(ihl_words) * 4;
    let total = hl + payload.len();
    let mut v = vec![0u8; total];
    v[0] = 0x40 | ihl_words;
    v[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    v[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    v[6..8].copy_from_slice(&flags_frag.to_be_bytes());
    v[8] = 64;
    v[9] = proto;
    v[12..16].copy_from_slice(&[10, 1, 1, 3]);
    v[16..20].copy_from_slice(&[10, 1, 1, 5]);
    for (i, b) in v[20..hl].iter_mut().enumerate() {
        *b = if i == 0 {
            0x94
        } else if i == 1 {
            4
        } else {
            0
        }; // router alert + nops
    }
    let c = crate::wire::checksum::ipv4_header_checksum(&v[..hl]);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v[hl..].copy_from_slice(payload);
    v
}

fn fmt_ip4(d: &[u8], max: usize) -> String {
    body(|s| format_ip4_header(s, d, max))
}

#[test]
fn bad_checksum_should_be() {
    let mut v = ip4_hdr(5, 0x4000, 17, &[0x13, 0x88, 0x13, 0x89, 0, 8, 0, 0]);
    let good = u16::from_be_bytes([v[10], v[11]]);
    v[10..12].copy_from_slice(&0xdeadu16.to_be_bytes());
    let s = fmt_ip4(&v, 64);
    let expect = format!(
        "  UDP: 10.1.1.3 -> 10.1.1.5
    tos 0x00, ttl 64, length 28, checksum 0xdead (should be 0x{good:04x})
    fragment id 0x1234, flags DONT_FRAGMENT
  UDP: 5000 -> 5001
    length 8, checksum 0x0000"
    );
    assert_eq!(s, expect);
}

#[test]
fn checksum_ffff_special_case() {
    // A header whose computed checksum is 0: a stored 0xffff is accepted
    // (VPP ip4_header_checksum special case), 0x0000 too.
    let mut w = ip4_hdr(5, 0, 253, &[]);
    w[10] = 0;
    w[11] = 0;
    for id in 0..=0xffffu16 {
        w[4..6].copy_from_slice(&id.to_be_bytes());
        if crate::wire::checksum::ipv4_header_checksum(&w) == 0 {
            w[10] = 0xff;
            w[11] = 0xff;
            let s = fmt_ip4(&w, 64);
            assert!(s.contains("checksum 0xffff\n"), "{s}");
            w[10] = 0;
            w[11] = 0;
            let s = fmt_ip4(&w, 64);
            assert!(s.contains("checksum 0x0000\n"), "{s}");
            return;
        }
    }
    panic!("no id gives a zero checksum");
}

#[test]
fn ihl6_options_version_line() {
    let v = ip4_hdr(6, 0x4000, 6, &{
        let mut t = [0u8; 20];
        t[0..2].copy_from_slice(&1234u16.to_be_bytes());
        t[2..4].copy_from_slice(&80u16.to_be_bytes());
        t[12] = 0x50;
        t[13] = 0x18;
        t[14..16].copy_from_slice(&512u16.to_be_bytes());
        t
    });
    let c = u16::from_be_bytes([v[10], v[11]]);
    let s = fmt_ip4(&v, 64);
    let expect = format!(
        "  TCP: 10.1.1.3 -> 10.1.1.5
    version 4, header length 24
    tos 0x00, ttl 64, length 44, checksum 0x{c:04x}
    fragment id 0x1234, flags DONT_FRAGMENT
  TCP: 1234 -> 80
    seq. 0x00000000 ack 0x00000000
    flags 0x18 PSH ACK, tcp header: 20 bytes
    window 512, checksum 0x0000"
    );
    assert_eq!(s, expect);
    // The TCP header is truncated by max_bytes: 64 - 24 = 40 is enough,
    // but with max 30 only 6 bytes remain.
    let s = fmt_ip4(&v, 30);
    assert!(s.ends_with("\n  TCP header truncated"), "{s}");
    // Version 6 in an IPv4 header.
    let mut w = v.clone();
    w[0] = 0x66;
    let s = fmt_ip4(&w, 64);
    assert!(s.contains("\n    version 6, header length 24\n"), "{s}");
    assert!(s.contains("(should be 0x"), "{s}");
}

#[test]
fn fragments_18_01_quirk() {
    let payload = [0u8; 16];
    // First fragment: MF only.
    let v = ip4_hdr(5, 0x2000, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("\n    fragment id 0x1234, flags MORE_FRAGMENTS\n"),
        "{s}"
    );
    // MF + DF.
    let v = ip4_hdr(5, 0x6000, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(s.contains("flags MORE_FRAGMENTSDONT_FRAGMENT\n"), "{s}");
    // Non-first fragment, offset field 1 (8 bytes), no flags:
    // o = 8, f = 0x0001 ^ 0x0008 = 0x0009 -> ", flags " with no name.
    let v = ip4_hdr(5, 0x0001, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("\n    fragment id 0x1234 offset 8, flags \n"),
        "{s:?}"
    );
    // ... and the L4 garbage is still decoded (no offset check in 18.01).
    assert!(s.contains("\n  UDP: 0 -> 0\n"), "{s}");
    // Last fragment with offset 185 (1480 bytes): f = 185 ^ 1480.
    let v = ip4_hdr(5, 185, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("fragment id 0x1234 offset 1480, flags \n"),
        "{s:?}"
    );
    // Offset 0x400 (8192 bytes): the XOR sets bit 13 -> MORE_FRAGMENTS.
    let v = ip4_hdr(5, 0x0400, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("fragment id 0x1234 offset 8192, flags MORE_FRAGMENTS\n"),
        "{s:?}"
    );
    // Offset 0x1000 (32768): 0x1000 ^ 0x8000 sets bit 15 -> CONGESTION.
    let v = ip4_hdr(5, 0x1000 | 0x2000, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("offset 32768, flags MORE_FRAGMENTSCONGESTION\n"),
        "{s:?}"
    );
    // Offset with the offset bits equal to o: 0x1fff -> o = 65528 (0xfff8);
    // f = 0x1fff ^ 0xfff8 = 0xe007 -> all three names.
    let v = ip4_hdr(5, 0x1fff, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("offset 65528, flags MORE_FRAGMENTSDONT_FRAGMENTCONGESTION\n"),
        "{s:?}"
    );
    // The reserved bit alone.
    let v = ip4_hdr(5, 0x8000, 17, &payload);
    let s = fmt_ip4(&v, 64);
    assert!(
        s.contains("fragment id 0x1234, flags CONGESTION\n"),
        "{s:?}"
    );
}

#[test]
fn icmp_lines() {
    // Echo request, as in the trace-formats.md example.
    let mut icmp = [8u8, 0, 0x04, 0xd2, 0, 1, 0, 1];
    let v = ip4_hdr(5, 0x4000, 1, &icmp);
    let c = u16::from_be_bytes([v[10], v[11]]);
    let s = fmt_ip4(&v, 64);
    assert_eq!(
        s,
        format!(
            "  ICMP: 10.1.1.3 -> 10.1.1.5
    tos 0x00, ttl 64, length 28, checksum 0x{c:04x}
    fragment id 0x1234, flags DONT_FRAGMENT
  ICMP echo_request checksum 0x4d2"
        )
    );
    icmp[0] = 0;
    icmp[2] = 0;
    icmp[3] = 0x0a;
    let s = body(|s| format_ip4_icmp_header(s, &icmp, 8));
    assert_eq!(s, "  ICMP echo_reply checksum 0xa");
    let s = body(|s| format_ip4_icmp_header(s, &[3, 3, 0xab, 0xcd], 4));
    assert_eq!(
        s,
        "  ICMP destination_unreachable port_unreachable checksum 0xabcd"
    );
    let s = body(|s| format_ip4_icmp_header(s, &[3, 99, 0, 0], 4));
    assert_eq!(s, "  ICMP destination_unreachable checksum 0x0");
    let s = body(|s| format_ip4_icmp_header(s, &[11, 0, 0x12, 0x34], 4));
    assert_eq!(
        s,
        "  ICMP time_exceeded ttl_exceeded_in_transit checksum 0x1234"
    );
    let s = body(|s| format_ip4_icmp_header(s, &[7, 1, 0x12, 0x34], 4));
    assert_eq!(s, "  ICMP unknown 0x7 checksum 0x1234");
    let s = body(|s| format_ip4_icmp_header(s, &[3, 4, 0, 0], 4));
    assert_eq!(
        s,
        "  ICMP destination_unreachable fragmentation_needed_and_dont_fragment_set checksum 0x0"
    );
    let s = body(|s| format_ip4_icmp_header(s, &[8, 0, 0], 4));
    assert_eq!(s, "  ICMP header truncated");
    let s = body(|s| format_ip4_icmp_header(s, &[8, 0, 0, 0], 3));
    assert_eq!(s, "  ICMP header truncated");
}

#[test]
fn tcp_flags_all() {
    let f = |x: u8| {
        let mut s = String::new();
        format_tcp_flags(&mut s, x);
        s
    };
    assert_eq!(f(0x02), "0x02 SYN");
    assert_eq!(f(0x12), "0x12 SYN ACK");
    assert_eq!(f(0x00), "0x00");
    assert_eq!(f(0xff), "0xff FIN SYN RST PSH ACK URG ECE CWR");
    assert_eq!(f(0x11), "0x11 FIN ACK");
}

#[test]
fn vlan_and_qinq_suffixes() {
    let mut f = hex("02fe6999eb9d000000000002");
    f.extend_from_slice(&hex("81000064 0800"));
    f.extend_from_slice(&ip4_hdr(5, 0, 17, &[0, 1, 0, 2, 0, 8, 0, 0]));
    let s = body(|s| format_ethernet_header(s, &f));
    assert_eq!(
        s,
        "  IP4: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d 802.1q vlan 100"
    );
    // Priority and CFI.
    f[14] = 0xb0; // pcp 5, cfi 1, vid 0x064
    let s = body(|s| format_ethernet_header(s, &f));
    assert_eq!(
        s,
        "  IP4: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d 802.1q vlan 100 priority 5 cfi"
    );
    // With length: L3 decode at the same indent.
    f[14] = 0;
    let s = body(|s| format_ethernet_header_with_length(s, &f, 128));
    assert!(s.starts_with(
        "  IP4: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d 802.1q vlan 100\n  UDP: 10.1.1.3 -> 10.1.1.5\n    tos"
    ), "{s}");
    // QinQ: both tags labelled by the outer TPID (802.1ad).
    let mut q = hex("02fe6999eb9d000000000002");
    q.extend_from_slice(&hex("88a8 000a 8100 0014 0806"));
    q.extend_from_slice(&hex(
        "0001080006040001 3e1b702d4d51 ac1e0102 000000000000 ac1e0101",
    ));
    let s = body(|s| format_ethernet_header(s, &q));
    assert_eq!(
        s,
        "  ARP: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d 802.1ad vlan 10 802.1ad vlan 20"
    );
    // 802.1q outer + 802.1ad inner: both "802.1q".
    q[12..14].copy_from_slice(&[0x81, 0x00]);
    q[16..18].copy_from_slice(&[0x88, 0xa8]);
    let s = body(|s| format_ethernet_header(s, &q));
    assert_eq!(
        s,
        "  ARP: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d 802.1q vlan 10 802.1q vlan 20"
    );
    // ARP decode through _with_length.
    let s = body(|s| format_ethernet_header_with_length(s, &q, 64));
    assert_eq!(
        s,
        "  ARP: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d 802.1q vlan 10 802.1q vlan 20
  request, type ethernet/IP4, address size 6/4
  3e:1b:70:2d:4d:51/172.30.1.2 -> 00:00:00:00:00:00/172.30.1.1"
    );
    // Unknown EtherType and named non-IP types.
    let mut u = hex("ffffffffffff 010203040506 1234 00");
    let s = body(|s| format_ethernet_header_with_length(s, &u, 64));
    assert_eq!(s, "  0x1234: 01:02:03:04:05:06 -> ff:ff:ff:ff:ff:ff");
    u[12..14].copy_from_slice(&[0x88, 0xcc]);
    let s = body(|s| format_ethernet_header_with_length(s, &u, 64));
    assert_eq!(s, "  802_1_LLDP: 01:02:03:04:05:06 -> ff:ff:ff:ff:ff:ff");
    u[12..14].copy_from_slice(&[0x06, 0x00]);
    let s = body(|s| format_ethernet_header(s, &u));
    assert_eq!(s, "  XNS_IDP: 01:02:03:04:05:06 -> ff:ff:ff:ff:ff:ff");
}

#[test]
fn dot1ah_suffix() {
    let mut f = hex("ffffffffffff 010203040506 88a8 2064 88e7 12345678");
    f.extend_from_slice(&[0u8; 8]);
    let s = body(|s| format_ethernet_header(s, &f));
    assert_eq!(
        s,
        "  DOT1AH: 01:02:03:04:05:06 -> ff:ff:ff:ff:ff:ff 802.1ad b-tag 2064 802.1ah i-tag 12345678"
    );
    let mut g = hex("ffffffffffff 010203040506 88e7 00ab 0000 abcdef01");
    g.extend_from_slice(&[0u8; 8]);
    let s = body(|s| format_ethernet_header(s, &g));
    assert_eq!(
        s,
        "  DOT1AH: 01:02:03:04:05:06 -> ff:ff:ff:ff:ff:ff  b-tag 00AB  i-tag ABCDEF01"
    );
}

#[test]
fn arp_generic_and_unknown() {
    let a = hex("0001 0800 06 04 0002 3e1b702d4d51 ac1e0102 0123456789 42 ac1e0101");
    let s = body(|s| format_ethernet_arp_header(s, &a, 64));
    assert_eq!(
        s,
        "  reply, type ethernet/IP4, address size 6/4\n  3e:1b:70:2d:4d:51/172.30.1.2 -> 01:23:45:67:89:42/172.30.1.1"
    );
    let b = hex("0006 86dd 02 03 0063 aabb 010203 ccdd 040506 0000 0000000000000000");
    let s = body(|s| format_ethernet_arp_header(s, &b, 64));
    assert_eq!(
        s,
        "  unknown 0x63, type ieee_802/IP6, address size 2/3\n  aabb/010203 -> ccdd/040506"
    );
    let s = body(|s| format_ethernet_arp_header(s, &a, 27));
    assert_eq!(s, "  ARP header truncated");
    let s = body(|s| format_ethernet_arp_header(s, &a[..27], 0));
    assert_eq!(s, "  ARP header truncated");
    let mut c = a.clone();
    c[0..2].copy_from_slice(&[0x12, 0x34]);
    let s = body(|s| format_ethernet_arp_header(s, &c, 0));
    assert!(
        s.starts_with("  reply, type unknown 0x1234/IP4, address size 6/4\n  3e1b702d4d51/"),
        "{s}"
    );
}

#[test]
fn truncated_at_every_length() {
    let f = same_node_syn_rx();
    for n in 0..f.len() {
        let s = body(|s| format_ethernet_header_with_length(s, &f[..n], 124));
        if n < 14 {
            assert_eq!(s, "  ethernet header truncated");
        } else if n < 34 {
            assert!(s.ends_with("\n  IP header truncated"), "n={n}: {s}");
        } else if n < 54 {
            assert!(s.ends_with("\n  TCP header truncated"), "n={n}: {s}");
        } else {
            assert!(s.ends_with("window 29200, checksum 0xc3de"), "n={n}: {s}");
        }
        // Truncation by max_bytes gives the same text as by data length.
        if n > 0 {
            let t = body(|s| format_ethernet_header_with_length(s, &f, n));
            let expect_trunc = if n < 14 {
                "  ethernet header truncated".to_string()
            } else {
                s.clone()
            };
            if n <= 14 {
                // max == header length: no L3 decode (needs header < max).
                if n == 14 {
                    assert_eq!(t, "  IP4: 00:00:00:00:00:02 -> 02:fe:69:99:eb:9d");
                } else {
                    assert_eq!(t, expect_trunc);
                }
            } else if n > 54 {
                assert_eq!(t, s, "n={n}");
            }
        }
    }
    // Plain L3/L4 formatters.
    for n in 0..20 {
        let s = body(|s| format_ip4_header(s, &f[14..14 + n], 64));
        assert_eq!(s, "  IP header truncated");
        let s = body(|s| format_tcp_header(s, &f[34..34 + n], 64));
        assert_eq!(s, "  TCP header truncated");
    }
    for n in 0..8 {
        let s = body(|s| format_udp_header(s, &[0u8; 8][..n], 64));
        assert_eq!(s, "  UDP header truncated");
    }
    assert_eq!(
        body(|s| format_ip4_header(s, &f[14..], 0)),
        "  IP header truncated"
    );
    assert_eq!(
        body(|s| format_ip4_header(s, &f[14..], 19)),
        "  IP header truncated"
    );
    // max == 20: header printed, no L4 (20 < 20 is false).
    let s = body(|s| format_ip4_header(s, &f[14..], 20));
    assert!(
        s.ends_with("fragment id 0x341e, flags DONT_FRAGMENT"),
        "{s}"
    );
    let s = body(|s| format_ip4_header(s, &f[14..], 21));
    assert!(s.ends_with("\n  TCP header truncated"), "{s}");
    assert_eq!(
        body(|s| format_udp_header(s, &[0u8; 8], 7)),
        "  UDP header truncated"
    );
    assert_eq!(
        body(|s| format_tcp_header(s, &[0u8; 20], 19)),
        "  TCP header truncated"
    );
}

#[test]
fn ip6_and_icmp6() {
    let mut v = vec![0u8; 40 + 24];
    v[0] = 0x60;
    v[1] = 0x00;
    v[4..6].copy_from_slice(&24u16.to_be_bytes());
    v[6] = 58;
    v[7] = 255;
    v[8] = 0xfe;
    v[9] = 0x80;
    v[23] = 1;
    v[24] = 0xff;
    v[25] = 0x02;
    v[39] = 1;
    v[40] = 135;
    v[42] = 0x12;
    v[43] = 0x34;
    v[48] = 0xfe;
    v[49] = 0x80;
    v[63] = 2;
    let mut f = hex("333300000001 010203040506 86dd");
    f.extend_from_slice(&v);
    let s = body(|s| format_ethernet_header_with_length(s, &f, 128));
    assert_eq!(
        s,
        "  IP6: 01:02:03:04:05:06 -> 33:33:00:00:00:01
  ICMP6: fe80::1 -> ff02::1
    tos 0x00, flow label 0x0, hop limit 255, payload length 24
  ICMP neighbor_solicitation checksum 0x1234
    target address fe80::2"
    );
    // Version line and traffic class.
    v[0] = 0x51;
    v[1] = 0x23;
    v[2] = 0x45;
    v[3] = 0x67;
    let s = body(|s| format_ip6_header(s, &v, 40));
    assert_eq!(
        s,
        "  ICMP6: fe80::1 -> ff02::1\n    version 5\n    tos 0x12, flow label 0x34567, hop limit 255, payload length 24"
    );
    assert_eq!(
        body(|s| format_ip6_header(s, &v[..39], 64)),
        "  IP header truncated"
    );
}

#[test]
fn gre_and_mpls_and_unknown_protocol() {
    let v = ip4_hdr(5, 0, 47, &[0, 0, 0x65, 0x58]);
    let s = fmt_ip4(&v, 64);
    assert!(s.starts_with("  GRE: 10.1.1.3 -> 10.1.1.5\n"), "{s}");
    assert!(s.ends_with("\n  GRE teb"), "{s}");
    let v = ip4_hdr(5, 0, 99, &[0, 0, 0, 0]);
    let s = fmt_ip4(&v, 64);
    assert!(s.starts_with("  unknown 99: 10.1.1.3 -> 10.1.1.5\n"), "{s}");
    assert!(s.ends_with("fragment id 0x1234"), "{s}");
    let v = ip4_hdr(5, 0, 50, &[0, 0, 0, 0]);
    assert!(fmt_ip4(&v, 64).starts_with("  IPSEC_ESP: "));
    let mut f = hex("ffffffffffff 010203040506 8847");
    f.extend_from_slice(&hex("0006 41 40"));
    let s = body(|s| format_ethernet_header_with_length(s, &f, 64));
    assert_eq!(
        s,
        "  MPLS: 01:02:03:04:05:06 -> ff:ff:ff:ff:ff:ff\n  label 100 exp 0, s 1, ttl 64"
    );
}

#[test]
fn protocol_names_table() {
    let mut n = 0;
    for p in 0..=255u8 {
        if ip_protocol_name(p).is_some() {
            n += 1;
        }
    }
    assert_eq!(n, 134);
    assert_eq!(ip_protocol_name(6), Some("TCP"));
    assert_eq!(ip_protocol_name(34), Some("3PC"));
    assert_eq!(ip_protocol_name(61), None);
    assert_eq!(ip_protocol_name(255), Some("RESERVED"));
    let mut s = String::new();
    format_ip_protocol(&mut s, 254);
    assert_eq!(s, "unknown 254");
}

#[test]
fn column_rules() {
    assert_eq!(column(""), 0);
    assert_eq!(column("abc"), 3);
    assert_eq!(column("abc\n"), 0);
    assert_eq!(column("abc\n  x"), 3);
    // Nested use: hex dump after text on a continuation line.
    let mut s = String::from("line\n  buffer 0x2f8b: ");
    let d = [0xaau8; 40];
    format_hex_bytes(&mut s, &d);
    let second = s.lines().nth(2).unwrap();
    assert!(second.starts_with(&" ".repeat(17)), "{s}");
    assert!(second[17..].starts_with("00000020: "), "{s}");
}

/// Parses the contiv reference docs (when present) and checks every
/// interface-output record that directly follows ip4-rewrite (no NAT in
/// between) against the rewrite hex dump formatted as an Ethernet header.
/// Also round-trips every timestamp through `format_time_interval_hmsu`.
#[test]
fn reference_docs_output_records_match_rewrite_dumps() {
    let dir = std::path::Path::new("/work/shared/reference/contiv-packet-flow");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return; // reference not available in this environment
    };
    let mut checked = 0;
    let mut stamps = 0;
    for ent in entries.flatten() {
        let path = ent.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Records: (node, body lines).
        let mut recs: Vec<(String, Vec<String>)> = Vec::new();
        for line in text.lines() {
            let is_hdr = line.len() > 17
                && line.as_bytes()[2] == b':'
                && line.as_bytes()[5] == b':'
                && line.as_bytes()[8] == b':'
                && line.as_bytes()[15] == b':'
                && line[..15].chars().all(|c| c.is_ascii_digit() || c == ':');
            if is_hdr {
                let ts = &line[..15];
                let p: Vec<f64> = ts.split(':').map(|x| x.parse().unwrap()).collect();
                let t = p[0] * 3600.0 + p[1] * 60.0 + p[2] + (p[3] + 0.5) / 1e6;
                let mut s = String::new();
                format_time_interval_hmsu(&mut s, t);
                assert_eq!(s, ts);
                stamps += 1;
                recs.push((line[17..].to_string(), Vec::new()));
            } else if line.starts_with("  ") {
                if let Some(r) = recs.last_mut() {
                    r.1.push(line.to_string());
                }
            } else if let Some(r) = recs.last_mut() {
                if line.starts_with("```") || (!r.1.is_empty() && line.is_empty()) {
                    recs.push(("<end>".into(), Vec::new()));
                }
            }
        }
        for i in 0..recs.len() {
            if recs[i].0 != "ip4-rewrite" {
                continue;
            }
            let b = &recs[i].1;
            assert_eq!(b.len(), 3, "{path:?}");
            let dump_hex: String = b[1][12..].to_string() + &b[2][12..];
            let frame = hex(&dump_hex);
            assert_eq!(frame.len(), 60);
            // Hex dump rows re-formatted byte for byte.
            let s = body(|s| format_hex_bytes(s, &frame));
            assert_eq!(s, format!("{}\n{}", b[1], b[2]));
            for (node, lines) in &recs[i + 1..] {
                if node.starts_with("nat44-in2out-output")
                    || node == "<end>"
                    || node.ends_with("-input")
                {
                    break;
                }
                if node.ends_with("-output") {
                    let mut s = String::from("  ");
                    format_ethernet_header_with_length(&mut s, &frame, 124);
                    assert_eq!(s, lines[1..].join("\n"), "{path:?} {node}");
                    checked += 1;
                    break;
                }
            }
        }
    }
    assert!(checked >= 15, "checked only {checked} output records");
    assert!(stamps >= 250, "only {stamps} timestamps");
}

/// Fuzz-ish: random byte slices of every length 0..200 through every
/// formatter with several max_bytes values and start columns. Nothing may
/// panic and the output stays ASCII.
#[test]
fn formatters_never_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let interesting_types: [[u8; 2]; 8] = [
        [0x08, 0x00],
        [0x08, 0x06],
        [0x86, 0xdd],
        [0x81, 0x00],
        [0x88, 0xa8],
        [0x88, 0xe7],
        [0x88, 0x47],
        [0x12, 0x34],
    ];
    for len in 0..200usize {
        for round in 0..6 {
            let mut d: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            // Steer toward deep decodes.
            if len >= 14 {
                let t = interesting_types[(rnd() % 8) as usize];
                d[12..14].copy_from_slice(&t);
            }
            if len >= 18 && round % 3 == 0 {
                let t = interesting_types[(rnd() % 8) as usize];
                d[16..18].copy_from_slice(&t);
            }
            if len >= 15 && round % 2 == 0 {
                d[14] = 0x40 | (rnd() as u8 & 0x0f);
                if len >= 24 {
                    d[23] = [1, 6, 17, 47, 58, 0][(rnd() % 6) as usize];
                }
            }
            for &max in &[
                0usize,
                1,
                4,
                8,
                20,
                28,
                40,
                60,
                64,
                124,
                128,
                len,
                usize::MAX,
            ] {
                for prefix in ["", "ab\n    "] {
                    let mut s = String::from(prefix);
                    format_ethernet_header_with_length(&mut s, &d, max);
                    format_ip4_header(&mut s, &d, max);
                    format_ip6_header(&mut s, &d, max);
                    format_tcp_header(&mut s, &d, max);
                    format_udp_header(&mut s, &d, max);
                    format_ip4_icmp_header(&mut s, &d, max);
                    format_icmp6_header(&mut s, &d, max);
                    format_ethernet_arp_header(&mut s, &d, max);
                    assert!(s.is_ascii());
                }
            }
            let mut s = String::new();
            format_ethernet_header(&mut s, &d);
            format_gre_header(&mut s, &d);
            format_mpls_header(&mut s, &d);
            format_hex_bytes(&mut s, &d);
            if len >= 1 {
                format_tcp_flags(&mut s, d[0]);
                format_ip4_icmp_type_and_code(&mut s, d[0], d[len - 1]);
            }
            if len >= 16 {
                let mut a = [0u8; 16];
                a.copy_from_slice(&d[..16]);
                format_ip6_address(&mut s, a);
            }
            let v = f64::from_bits(rnd());
            format_time_interval_hmsu(&mut s, v);
            format_vpp_float(&mut s, v, 2, 'e');
            pad_center(&mut s, &String::from_utf8_lossy(&d), (rnd() % 40) as usize);
        }
    }
}
