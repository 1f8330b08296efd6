//! The 5-tuple words and text against acl-plugin records of the contiv packet-flow documents
//! (VPP 18.01 traces), byte for byte.

use super::*;

/// (pkt info line, 5-tuple line) pairs copied from the documents, as printed (2 and 3 leading
/// spaces).
const RECORDS: &[(&str, &str)] = &[
    // HOST_TO_POD, acl-plugin-in-ip4-fa, SYN
    (
        "  pkt info 0000000000000000 02011eac00000000 0000000000000000 0601010a00000000 000200061f9080c6 0702ffff00000002",
        "   input sw_if_index 2 (lsb16 2) l3 ip4 172.30.1.2 -> 10.1.1.6 l4 proto 6 l4_valid 1 port 32966 -> 8080 tcp flags (valid) 02 rsvd 0",
    ),
    // HOST_TO_POD, acl-plugin-out-ip4-fa, SYN
    (
        "  pkt info 0000000000000000 02011eac00000000 0000000000000000 0601010a00000000 000900061f9080c6 0502ffff00000009",
        "   output sw_if_index 9 (lsb16 9) l3 ip4 172.30.1.2 -> 10.1.1.6 l4 proto 6 l4_valid 1 port 32966 -> 8080 tcp flags (valid) 02 rsvd 0",
    ),
    // HOST_TO_POD, acl-plugin-out-ip4-fa, SYN-ACK (session 22)
    (
        "  pkt info 0000000000000000 0601010a00000000 0000000000000000 02011eac00000000 0002000680c61f90 0512ffff00000002",
        "   output sw_if_index 2 (lsb16 2) l3 ip4 10.1.1.6 -> 172.30.1.2 l4 proto 6 l4_valid 1 port 8080 -> 32966 tcp flags (valid) 12 rsvd 0",
    ),
    // POD_TO_INTERNET, acl-plugin-in-ip4-fa, SYN-ACK from the Internet
    (
        "  pkt info 0000000000000000 3361861f00000000 0000000000000000 0110a8c000000000 0001000664c90050 0712ffff00000001",
        "   input sw_if_index 1 (lsb16 1) l3 ip4 31.134.97.51 -> 192.168.16.1 l4 proto 6 l4_valid 1 port 80 -> 25801 tcp flags (valid) 12 rsvd 0",
    ),
    // POD_TO_POD_DIFFERENT_NODES, acl-plugin-out-ip4-fa, VXLAN (UDP)
    (
        "  pkt info 0000000000000000 0110a8c000000000 0000000000000000 0210a8c000000000 0001001112b5c376 0400ffff00000001",
        "   output sw_if_index 1 (lsb16 1) l3 ip4 192.168.16.1 -> 192.168.16.2 l4 proto 17 l4_valid 1 port 50038 -> 4789 tcp flags (invalid) 00 rsvd 0",
    ),
    // POD_TO_POD_DIFFERENT_NODES, acl-plugin-in-ip4-fa, VXLAN (UDP) on node B
    (
        "  pkt info 0000000000000000 0110a8c000000000 0000000000000000 0210a8c000000000 0001001112b5c376 0600ffff00000001",
        "   input sw_if_index 1 (lsb16 1) l3 ip4 192.168.16.1 -> 192.168.16.2 l4 proto 17 l4_valid 1 port 50038 -> 4789 tcp flags (invalid) 00 rsvd 0",
    ),
    // POD_TO_POD_SAME_NODE, acl-plugin-out-ip4-fa, SYN on sw_if_index 11
    (
        "  pkt info 0000000000000000 0c01010a00000000 0000000000000000 0901010a00000000 000b00061f909b8c 0502ffff0000000b",
        "   output sw_if_index 11 (lsb16 11) l3 ip4 10.1.1.12 -> 10.1.1.9 l4 proto 6 l4_valid 1 port 39820 -> 8080 tcp flags (valid) 02 rsvd 0",
    ),
];

/// The packet fields a 5-tuple line states.
struct Fields {
    is_input: bool,
    sw: u32,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    sport: u16,
    dport: u16,
    tcp_flags: u8,
}

fn ip(s: &str) -> [u8; 4] {
    s.parse::<std::net::Ipv4Addr>().unwrap().octets()
}

/// Read the fields back from a documented 5-tuple line (the test's input; the words and the text
/// are the expected output).
fn fields_of(line: &str) -> Fields {
    let w: Vec<&str> = line.split_whitespace().collect();
    Fields {
        is_input: w[0] == "input",
        sw: w[2].parse().unwrap(),
        src: ip(w[7]),
        dst: ip(w[9]),
        proto: w[12].parse().unwrap(),
        sport: w[16].parse().unwrap(),
        dport: w[18].parse().unwrap(),
        tcp_flags: u8::from_str_radix(w[22], 16).unwrap(),
    }
}

/// An Ethernet + IPv4 + L4 frame with these fields (74-byte TCP as in the docs, UDP with a
/// VXLAN-like payload).
fn frame(f: &Fields) -> Vec<u8> {
    let mut v = vec![0u8; 14];
    v[12] = 0x08;
    let l4len = if f.proto == proto::TCP {
        40
    } else {
        8 + 8 + 14
    };
    let total = 20 + l4len;
    v.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0x12,
        0x34,
        0x40,
        0,
    ]);
    v.extend_from_slice(&[64, f.proto, 0, 0]);
    v.extend_from_slice(&f.src);
    v.extend_from_slice(&f.dst);
    let mut l4 = vec![0u8; l4len];
    l4[..2].copy_from_slice(&f.sport.to_be_bytes());
    l4[2..4].copy_from_slice(&f.dport.to_be_bytes());
    if f.proto == proto::TCP {
        l4[12] = 0xa0;
        l4[13] = f.tcp_flags;
    } else {
        // VXLAN header: flags 08, vni 10 (byte 13 of the UDP header is a VNI byte, 0x00).
        l4[8] = 0x08;
        l4[14] = 0x0a;
    }
    v.extend_from_slice(&l4);
    v
}

#[test]
fn words_and_text_equal_documented_records() {
    for (info, text) in RECORDS {
        let f = fields_of(text);
        // From the packet bytes, as the node does (input: L3 at 0; output: after Ethernet).
        let fr = frame(&f);
        let (d, l3) = if f.is_input {
            (&fr[14..], 0)
        } else {
            (&fr[..], 14)
        };
        let t = Tuple::parse(d, l3).expect("IPv4");
        assert_eq!(t.tcp_flags, f.tcp_flags);
        let w = t.words(f.sw, f.is_input);
        let mut got = String::from("  pkt info");
        for x in w {
            got.push_str(&format!(" {x:016x}"));
        }
        assert_eq!(&got, info);
        let mut line = String::from("   ");
        format_words(&mut line, &w);
        assert_eq!(&line, text);
    }
}

#[test]
fn full_record_text_matches_the_session_hit_example() {
    let f = fields_of(RECORDS[2].1);
    let t = Tuple {
        src: f.src,
        dst: f.dst,
        proto: f.proto,
        sport: f.sport,
        dport: f.dport,
        tcp_flags: f.tcp_flags,
        flags: F_L4_VALID | F_TCP_FLAGS_VALID,
    };
    let mut s = String::new();
    format_trace_body(
        &mut s,
        2,
        1,
        3,
        u32::MAX,
        22,
        0x8000_0000,
        &t.words(2, false),
    );
    let want = format!(
        "acl-plugin: sw_if_index 2, next index 1, action: 3, match: acl -1 rule 22 trace_bits 80000000\n{}\n{}",
        RECORDS[2].0, RECORDS[2].1
    );
    assert_eq!(s, want);
}

#[test]
fn session_keys_mirror_on_output() {
    // The SYN enters sw 2 (HOST_TO_POD); the SYN-ACK leaves sw 2: same key.
    let syn = fields_of(RECORDS[0].1);
    let synack = fields_of(RECORDS[2].1);
    let a = Tuple::parse(&frame(&syn)[14..], 0).unwrap();
    let b = Tuple::parse(&frame(&synack), 14).unwrap();
    assert_eq!(a.session_key(2, true), b.session_key(2, false));
    // The SYN-ACK entering sw 9 does not hit the session of sw 2 (what the documents show:
    // action 2 there, not 3).
    let c = Tuple::parse(&frame(&synack)[14..], 0).unwrap();
    assert_ne!(a.session_key(2, true), c.session_key(9, true));
}

#[test]
fn fragments_icmp_and_short_packets() {
    let mut f = frame(&fields_of(RECORDS[0].1));
    // Non-first fragment: no L4.
    f[14 + 6] = 0x20;
    f[14 + 7] = 0x10;
    let t = Tuple::parse(&f[14..], 0).unwrap();
    assert_eq!(t.flags, F_NONFIRST_FRAGMENT);
    assert_eq!((t.sport, t.dport), (0, 0));
    let mut s = String::new();
    format_words(&mut s, &t.words(2, true));
    assert!(s.contains("l3 ip4 non-initial fragment 172.30.1.2"), "{s}");
    assert!(s.contains("l4_valid 0"), "{s}");
    // ICMP echo request: type 8 code 0 in the port fields.
    let mut g = frame(&fields_of(RECORDS[0].1));
    g[14 + 9] = proto::ICMP;
    g[34] = 8;
    g[35] = 0;
    let t = Tuple::parse(&g[14..], 0).unwrap();
    assert_eq!((t.proto, t.sport, t.dport, t.flags), (1, 8, 0, F_L4_VALID));
    // Fewer than 8 L4 bytes: L4 not valid. Less than an IP header: nothing.
    assert_eq!(Tuple::parse(&g[14..14 + 27], 0).unwrap().flags, 0);
    assert!(Tuple::parse(&g[14..14 + 19], 0).is_none());
    // Header length is honoured (options).
    let mut o = g[14..].to_vec();
    o[0] = 0x46;
    o.splice(20..20, [1, 1, 1, 0]);
    let t = Tuple::parse(&o, 0).unwrap();
    assert_eq!((t.sport, t.dport), (8, 0));
}

/// Every acl-plugin record of the contiv documents, when they are present next to the
/// workspace: words rebuilt from the stated fields and the text rebuilt from the words.
#[test]
fn every_documented_record_when_the_documents_are_present() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/contiv-packet-flow");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let mut n = 0;
    for e in rd.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for i in 0..lines.len() {
            if !lines[i].starts_with("  acl-plugin: ") || i + 2 >= lines.len() {
                continue;
            }
            let (info, tuple) = (lines[i + 1], lines[i + 2]);
            let f = fields_of(tuple);
            let mut t = Tuple {
                src: f.src,
                dst: f.dst,
                proto: f.proto,
                sport: f.sport,
                dport: f.dport,
                tcp_flags: f.tcp_flags,
                flags: F_L4_VALID,
            };
            if f.proto == proto::TCP {
                t.flags |= F_TCP_FLAGS_VALID;
            }
            let w = t.words(f.sw, f.is_input);
            let mut got = String::from("  pkt info");
            for x in w {
                got.push_str(&format!(" {x:016x}"));
            }
            assert_eq!(got, info, "{}", e.path().display());
            let mut line = String::from("   ");
            format_words(&mut line, &w);
            assert_eq!(line, tuple, "{}", e.path().display());
            // And line 1 re-formats identically from its own fields.
            let l1: Vec<&str> = lines[i].split_whitespace().collect();
            let num = |k: usize| l1[k].trim_end_matches(',').parse::<i64>().unwrap();
            let mut s = String::new();
            format_trace_body(
                &mut s,
                num(2) as u32,
                num(5) as u32,
                num(7) as u8,
                num(10) as u32,
                num(12) as u32,
                u32::from_str_radix(l1[14], 16).unwrap(),
                &w,
            );
            assert_eq!(s, format!("{}\n{}\n{}", &lines[i][2..], info, tuple));
            n += 1;
        }
    }
    assert_eq!(n, 52, "24 in + 24 out + 4 l2 records");
}
