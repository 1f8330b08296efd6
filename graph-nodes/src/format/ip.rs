//! `src/vnet/ip/ip4_format.c`, `src/vnet/ip/ip6_format.c` and
//! `format_ip_protocol` (`src/vnet/ip/format.c`).

use std::fmt::Write as _;

use super::basic::{format_ip4, format_ip6_address};
use super::{be16_or0, column, newline};
use crate::wire::checksum;

/// The protocol name VPP registers (`src/vnet/ip/protocols.def`).
pub fn ip_protocol_name(p: u8) -> Option<&'static str> {
    Some(match p {
        0 => "IP6_HOP_BY_HOP_OPTIONS",
        1 => "ICMP",
        2 => "IGMP",
        3 => "GGP",
        4 => "IP_IN_IP",
        5 => "ST",
        6 => "TCP",
        7 => "CBT",
        8 => "EGP",
        9 => "IGP",
        10 => "BBN_RCC_MON",
        11 => "NVP_II",
        12 => "PUP",
        13 => "ARGUS",
        14 => "EMCON",
        15 => "XNET",
        16 => "CHAOS",
        17 => "UDP",
        18 => "MUX",
        19 => "DCN_MEAS",
        20 => "HMP",
        21 => "PRM",
        22 => "XNS_IDP",
        23 => "TRUNK_1",
        24 => "TRUNK_2",
        25 => "LEAF_1",
        26 => "LEAF_2",
        27 => "RDP",
        28 => "IRTP",
        29 => "ISO_TP4",
        30 => "NETBLT",
        31 => "MFE_NSP",
        32 => "MERIT_INP",
        33 => "SEP",
        34 => "3PC",
        35 => "IDPR",
        36 => "XTP",
        37 => "DDP",
        38 => "IDPR_CMTP",
        39 => "TP",
        40 => "IL",
        41 => "IPV6",
        42 => "SDRP",
        43 => "IPV6_ROUTE",
        44 => "IPV6_FRAGMENTATION",
        45 => "IDRP",
        46 => "RSVP",
        47 => "GRE",
        48 => "MHRP",
        49 => "BNA",
        50 => "IPSEC_ESP",
        51 => "IPSEC_AH",
        52 => "I_NLSP",
        53 => "SWIPE",
        54 => "NARP",
        55 => "MOBILE",
        56 => "TLSP",
        57 => "SKIP",
        58 => "ICMP6",
        59 => "IP6_NONXT",
        60 => "IP6_DESTINATION_OPTIONS",
        62 => "CFTP",
        64 => "SAT_EXPAK",
        65 => "KRYPTOLAN",
        66 => "RVD",
        67 => "IPPC",
        69 => "SAT_MON",
        70 => "VISA",
        71 => "IPCV",
        72 => "CPNX",
        73 => "CPHB",
        74 => "WSN",
        75 => "PVP",
        76 => "BR_SAT_MON",
        77 => "SUN_ND",
        78 => "WB_MON",
        79 => "WB_EXPAK",
        80 => "ISO_IP",
        81 => "VMTP",
        82 => "SECURE_VMTP",
        83 => "VINES",
        84 => "TTP",
        85 => "NSFNET_IGP",
        86 => "DGP",
        87 => "TCF",
        88 => "EIGRP",
        89 => "OSPF",
        90 => "SPRITE_RPC",
        91 => "LARP",
        92 => "MTP",
        93 => "AX",
        94 => "IPIP",
        95 => "MICP",
        96 => "SCC_SP",
        97 => "ETHERIP",
        98 => "ENCAP",
        100 => "GMTP",
        101 => "IFMP",
        102 => "PNNI",
        103 => "PIM",
        104 => "ARIS",
        105 => "SCPS",
        106 => "QNX",
        107 => "A",
        108 => "IPCOMP",
        109 => "SNP",
        110 => "COMPAQ_PEER",
        111 => "IPX_IN_IP",
        112 => "VRRP",
        113 => "PGM",
        115 => "L2TP",
        116 => "DDX",
        117 => "IATP",
        118 => "STP",
        119 => "SRP",
        120 => "UTI",
        121 => "SMP",
        122 => "SM",
        123 => "PTP",
        124 => "ISIS",
        125 => "FIRE",
        126 => "CRTP",
        127 => "CRUDP",
        128 => "SSCOPMCE",
        129 => "IPLT",
        130 => "SPS",
        131 => "PIPE",
        132 => "SCTP",
        133 => "FC",
        134 => "RSVP_E2E_IGNORE",
        135 => "MOBILITY",
        136 => "UDP_LITE",
        137 => "MPLS_IN_IP",
        255 => "RESERVED",
        _ => return None,
    })
}

/// `format_ip_protocol`: the registered name, else `unknown %d`.
pub fn format_ip_protocol(s: &mut String, p: u8) {
    match ip_protocol_name(p) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "unknown {p}");
        }
    }
}

/// The L4 formatters registered as `ip_protocol_info_t.format_header`
/// (shared by IPv4 and IPv6): TCP, UDP, ICMP, ICMP6 and GRE.
fn format_next_header(s: &mut String, protocol: u8, data: &[u8], max_bytes: usize, indent: usize) {
    let f: fn(&mut String, &[u8], usize) = match protocol {
        6 => super::l4::format_tcp_header,
        17 => super::l4::format_udp_header,
        1 => super::l4::format_ip4_icmp_header,
        58 => super::l4::format_icmp6_header,
        47 => |s: &mut String, d: &[u8], _max: usize| super::l4::format_gre_header(s, d),
        _ => return,
    };
    newline(s, indent);
    f(s, data, max_bytes);
}

/// `format_ip4_header(data, max_bytes)`, VPP 18.01.
///
/// With I the column where it starts:
///
/// ```text
/// TCP: 172.30.1.2 -> 10.1.1.6                          (column I)
///   version 4, header length 24                        (only if not 4/20)
///   tos 0x00, ttl 64, length 60, checksum 0xe443[ (should be 0x....)]
///   fragment id 0x9e51[ offset N][, flags <names>]
/// TCP: 32966 -> 8080 ...                               (column I, if max_bytes != 0
///                                                       and IHL*4 < max_bytes)
/// ```
///
/// The fragment line keeps 18.01's quirk: it computes `o = 8 * (f & 0x1fff)`
/// and then `f ^= o` (instead of clearing the offset bits), so a non-first
/// fragment may print `, flags ` followed by no name, or by names from bits
/// flipped by the XOR; and L4 is decoded even for non-first fragments.
/// Prints `IP header truncated` if `max_bytes < 20` or `data` is shorter
/// than 20 bytes.
pub fn format_ip4_header(s: &mut String, data: &[u8], max_bytes: usize) {
    if max_bytes < 20 || data.len() < 20 {
        s.push_str("IP header truncated");
        return;
    }
    let indent = column(s) + 2;
    let version = data[0] >> 4;
    let header_bytes = usize::from(data[0] & 0xf) * 4;
    let protocol = data[9];

    format_ip_protocol(s, protocol);
    s.push_str(": ");
    format_ip4(s, [data[12], data[13], data[14], data[15]]);
    s.push_str(" -> ");
    format_ip4(s, [data[16], data[17], data[18], data[19]]);

    if version != 4 || header_bytes != 20 {
        newline(s, indent);
        let _ = write!(s, "version {version}, header length {header_bytes}");
    }

    let stored = be16_or0(data, 10);
    newline(s, indent);
    let _ = write!(
        s,
        "tos 0x{:02x}, ttl {}, length {}, checksum 0x{:04x}",
        data[1],
        data[8],
        be16_or0(data, 2),
        stored
    );

    // ip4_header_checksum(): over IHL*4 bytes with the checksum field
    // zeroed (bytes past `data` count as zero), 0 reported as 0xffff when
    // the stored value is 0xffff.
    {
        let hdr = &data[..header_bytes.min(data.len())];
        let mut c = checksum::ipv4_header_checksum(hdr);
        if c == 0 && stored == 0xffff {
            c = 0xffff;
        }
        if c != stored {
            let _ = write!(s, " (should be 0x{c:04x})");
        }
    }

    {
        let mut f = u32::from(be16_or0(data, 6));
        newline(s, indent);
        let _ = write!(s, "fragment id 0x{:04x}", be16_or0(data, 4));
        let o = 8 * (f & 0x1fff);
        f ^= o;
        if o != 0 {
            let _ = write!(s, " offset {o}");
        }
        if f != 0 {
            s.push_str(", flags ");
            if f & (1 << 13) != 0 {
                s.push_str("MORE_FRAGMENTS");
            }
            if f & (1 << 14) != 0 {
                s.push_str("DONT_FRAGMENT");
            }
            if f & (1 << 15) != 0 {
                s.push_str("CONGESTION");
            }
        }
    }

    if max_bytes != 0 && header_bytes < max_bytes {
        let rest = data.get(header_bytes..).unwrap_or(&[]);
        format_next_header(s, protocol, rest, max_bytes - header_bytes, indent - 2);
    }
}

/// `format_ip6_header(data, max_bytes)`:
///
/// ```text
/// ICMP6: fe80::1 -> ff02::2
///   tos 0x00, flow label 0x0, hop limit 255, payload length 16
/// ICMP router_solicitation checksum 0x...
/// ```
///
/// with a `version %d` line first if the version is not 6. The L4 header
/// follows at column I when `max_bytes != 0` and `40 < max_bytes` (no
/// extension header walk, as in VPP). `IP header truncated` if fewer than
/// 40 bytes.
pub fn format_ip6_header(s: &mut String, data: &[u8], max_bytes: usize) {
    if max_bytes < 40 || data.len() < 40 {
        s.push_str("IP header truncated");
        return;
    }
    let indent = column(s) + 2;
    let protocol = data[6];
    let addr = |off: usize| -> [u8; 16] {
        let mut a = [0u8; 16];
        a.copy_from_slice(&data[off..off + 16]);
        a
    };
    format_ip_protocol(s, protocol);
    s.push_str(": ");
    format_ip6_address(s, addr(8));
    s.push_str(" -> ");
    format_ip6_address(s, addr(24));

    let w = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let version = w >> 28;
    let traffic_class = (w >> 20) & 0xff;
    let flow_label = w & 0xfffff;
    if version != 6 {
        newline(s, indent);
        let _ = write!(s, "version {version}");
    }
    newline(s, indent);
    let _ = write!(
        s,
        "tos 0x{:02x}, flow label 0x{:x}, hop limit {}, payload length {}",
        traffic_class,
        flow_label,
        data[7],
        be16_or0(data, 4)
    );
    if max_bytes != 0 && 40 < max_bytes {
        format_next_header(s, protocol, &data[40..], max_bytes - 40, indent - 2);
    }
}
