//! `src/vnet/ethernet/format.c`, the ARP header formatter of
//! `src/vnet/ethernet/arp.c` and the MPLS buffer formatter.

use std::fmt::Write as _;

use super::basic::{format_hex_bytes, format_ip4, format_mac};
use super::{be32_or0, column, get16, newline};

const TYPE_VLAN: u16 = 0x8100;
const TYPE_DOT1AD: u16 = 0x88a8;
const TYPE_DOT1AH: u16 = 0x88e7;

/// The name VPP registers for an EtherType (`src/vnet/ethernet/types.def`).
/// 0x0600 is registered twice; the later name, `XNS_IDP`, wins.
pub fn ethernet_type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0x0600 => "XNS_IDP",
        0x0800 => "IP4",
        0x0806 => "ARP",
        0x0BAD => "VINES_IP",
        0x0BAE => "VINES_LOOPBACK",
        0x0BAF => "VINES_ECHO",
        0x1984 => "TRAIN",
        0x2000 => "CDP",
        0x2001 => "CGMP",
        0x2007 => "SRP_CONTROL",
        0x2452 => "CENTRINO_PROMISC",
        0x6000 => "DECNET",
        0x6001 => "DECNET_DUMP_LOAD",
        0x6002 => "DECNET_REMOTE_CONSOLE",
        0x6003 => "DECNET_ROUTE",
        0x6004 => "DEC_LAT",
        0x6005 => "DEC_DIAGNOSTIC",
        0x6006 => "DEC_CUSTOMER",
        0x6007 => "DEC_SCA",
        0x6558 => "TRANSPARENT_BRIDGING",
        0x6559 => "RAW_FRAME_RELAY",
        0x8035 => "REVERSE_ARP",
        0x8038 => "DEC_LAN_BRIDGE",
        0x803D => "DEC_ETHERNET_ENCRYPTION",
        0x803F => "DEC_LAN_TRAFFIC_MONITOR",
        0x8041 => "DEC_LAST",
        0x809B => "APPLETALK",
        0x80D5 => "IBM_SNA",
        0x80F3 => "APPLETALK_AARP",
        0x80FF => "WELLFLEET_COMPRESSION",
        0x8100 => "VLAN",
        0x8137 => "IPX",
        0x814C => "SNMP",
        0x81FD => "CABLETRON_ISMP",
        0x81FF => "CABLETRON_ISMP_TBFLOOD",
        0x86DD => "IP6",
        0x86DF => "ATOMIC",
        0x876B => "TCP_IP_COMPRESSION",
        0x876C => "IP_AUTONOMOUS_SYSTEMS",
        0x876D => "SECURE_DATA",
        0x8808 => "MAC_CONTROL",
        0x8809 => "SLOW_PROTOCOLS",
        0x880B => "PPP",
        0x8847 => "MPLS",
        0x8848 => "MPLS_UPSTREAM_ASSIGNED",
        0x8863 => "PPPOE_DISCOVERY",
        0x8864 => "PPPOE_SESSION",
        0x886D => "INTEL_ANS",
        0x886F => "MICROSOFT_NLB_HEARTBEAT",
        0x8881 => "CDMA_2000",
        0x888e => "802_1X_AUTHENTICATION",
        0x8892 => "PROFINET",
        0x889a => "HYPERSCSI",
        0x88a2 => "AOE",
        0x88a8 => "DOT1AD",
        0x88AE => "BRDWALK",
        0x88B7 => "802_OUI_EXTENDED",
        0x88c7 => "802_11I_PRE_AUTHENTICATION",
        0x88cc => "802_1_LLDP",
        0x88e7 => "DOT1AH",
        0x894f => "NSH",
        0x9000 => "LOOPBACK",
        0x9021 => "RTNET_MAC",
        0x9022 => "RTNET_CONFIG",
        0x9100 => "VLAN_9100",
        0x9200 => "VLAN_9200",
        0x9999 => "PGLAN",
        0xFEFE => "SRP_ISIS",
        0xFFFF => "RESERVED",
        _ => return None,
    })
}

/// `format_ethernet_type`: the registered name, else `0x%04x`.
pub fn format_ethernet_type(s: &mut String, t: u16) {
    match ethernet_type_name(t) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "0x{t:04x}");
        }
    }
}

/// `format_ethernet_vlan_tci`: `<vid>[ priority <pcp>][ cfi]`.
pub fn format_ethernet_vlan_tci(s: &mut String, tci: u16) {
    let vid = tci & 0xfff;
    let cfi = (tci >> 12) & 1;
    let pri = tci >> 13;
    let _ = write!(s, "{vid}");
    if pri != 0 {
        let _ = write!(s, " priority {pri}");
    }
    if cfi != 0 {
        s.push_str(" cfi");
    }
}

/// `format_ethernet_header`: the one-line `TYPE: src -> dst` form with no
/// L3 decode (`format_ethernet_header_with_length(.., 0)`), as printed by
/// ethernet-input.
#[inline]
pub fn format_ethernet_header(s: &mut String, data: &[u8]) {
    format_ethernet_header_with_length(s, data, 0);
}

fn mac_at(d: &[u8], off: usize) -> [u8; 6] {
    let mut a = [0u8; 6];
    a.copy_from_slice(&d[off..off + 6]);
    a
}

/// `format_ethernet_header_with_length(data, max_bytes)`.
///
/// `<TYPE>: <src> -> <dst>` (source first), the innermost EtherType after
/// up to two VLAN tags, one ` 802.1q vlan <tci>` (or ` 802.1ad vlan`, chosen
/// by the *outer* TPID for every tag) per tag, or the 802.1ah b-tag/i-tag
/// suffix. When `max_bytes != 0` and the L2 header is shorter than
/// `max_bytes`, the L3 header (IP4, IP6, ARP, MPLS: the EtherTypes whose
/// input node has a `format_buffer`) follows on a new line at the same
/// indent, with `max_bytes - l2_header_len`.
/// Prints `ethernet header truncated` if the header exceeds `max_bytes`
/// (when non-zero) or `data`.
pub fn format_ethernet_header_with_length(s: &mut String, data: &[u8], max_bytes: usize) {
    const TRUNC: &str = "ethernet header truncated";
    let Some(mut ty) = get16(data, 12) else {
        s.push_str(TRUNC);
        return;
    };
    let mut vlan_type = [0u16; 2];
    let mut n_vlan = 0usize;
    while (ty == TYPE_VLAN || ty == TYPE_DOT1AD || ty == TYPE_DOT1AH) && n_vlan < 2 {
        vlan_type[n_vlan] = ty;
        if ty != TYPE_DOT1AH {
            match get16(data, 14 + 4 * n_vlan + 2) {
                Some(t) => ty = t,
                None => {
                    s.push_str(TRUNC);
                    return;
                }
            }
        }
        n_vlan += 1;
    }
    let header_bytes = 14 + 4 * n_vlan;
    if (max_bytes != 0 && header_bytes > max_bytes) || header_bytes > data.len() {
        s.push_str(TRUNC);
        return;
    }

    let indent = column(s);
    format_ethernet_type(s, ty);
    s.push_str(": ");
    format_mac(s, mac_at(data, 6));
    s.push_str(" -> ");
    format_mac(s, mac_at(data, 0));

    if ty != TYPE_DOT1AH {
        for i in 0..n_vlan {
            let tci = get16(data, 14 + 4 * i).unwrap_or(0);
            if vlan_type[0] == TYPE_VLAN {
                s.push_str(" 802.1q vlan ");
            } else {
                s.push_str(" 802.1ad vlan ");
            }
            format_ethernet_vlan_tci(s, tci);
        }
        if max_bytes != 0 && header_bytes < max_bytes {
            let rest = &data[header_bytes..];
            let max = max_bytes - header_bytes;
            match ty {
                0x0800 => {
                    newline(s, indent);
                    super::ip::format_ip4_header(s, rest, max);
                }
                0x86dd => {
                    newline(s, indent);
                    super::ip::format_ip6_header(s, rest, max);
                }
                0x0806 => {
                    newline(s, indent);
                    format_ethernet_arp_header(s, rest, max);
                }
                0x8847 => {
                    newline(s, indent);
                    format_mpls_header(s, rest);
                }
                _ => {}
            }
        }
    } else {
        // 802.1ah: ethernet_pbb_header_packed_t, 22 bytes (checked above).
        let b_type = get16(data, 12).unwrap_or(0);
        let b_tci = get16(data, 14).unwrap_or(0);
        let i_type = get16(data, 16).unwrap_or(0);
        let i_sid = be32_or0(data, 18);
        let _ = write!(
            s,
            " {} b-tag {:04X}",
            if b_type == TYPE_DOT1AD { "802.1ad" } else { "" },
            b_tci
        );
        let _ = write!(
            s,
            " {} i-tag {:08X}",
            if i_type == TYPE_DOT1AH { "802.1ah" } else { "" },
            i_sid
        );
    }
}

fn arp_hardware_type_name(h: u16) -> Option<&'static str> {
    Some(match h {
        0 => "reserved",
        1 => "ethernet",
        2 => "experimental_ethernet",
        3 => "ax_25",
        4 => "proteon_pronet_token_ring",
        5 => "chaos",
        6 => "ieee_802",
        7 => "arcnet",
        8 => "hyperchannel",
        9 => "lanstar",
        10 => "autonet",
        11 => "localtalk",
        12 => "localnet",
        13 => "ultra_link",
        14 => "smds",
        15 => "frame_relay",
        16 => "atm",
        17 => "hdlc",
        18 => "fibre_channel",
        19 => "atm19",
        20 => "serial_line",
        21 => "atm21",
        22 => "mil_std_188_220",
        23 => "metricom",
        24 => "ieee_1394",
        25 => "mapos",
        26 => "twinaxial",
        27 => "eui_64",
        28 => "hiparp",
        29 => "iso_7816_3",
        30 => "arpsec",
        31 => "ipsec_tunnel",
        32 => "infiniband",
        33 => "cai",
        34 => "wiegand",
        35 => "pure_ip",
        36 => "hw_exp1",
        256 => "hw_exp2",
        _ => return None,
    })
}

const ARP_OPCODES: [&str; 26] = [
    "reserved",
    "request",
    "reply",
    "reverse_request",
    "reverse_reply",
    "drarp_request",
    "drarp_reply",
    "drarp_error",
    "inarp_request",
    "inarp_reply",
    "arp_nak",
    "mars_request",
    "mars_multi",
    "mars_mserv",
    "mars_join",
    "mars_leave",
    "mars_nak",
    "mars_unserv",
    "mars_sjoin",
    "mars_sleave",
    "mars_grouplist_request",
    "mars_grouplist_reply",
    "mars_redirect_map",
    "mapos_unarp",
    "exp1",
    "exp2",
];

/// `format_ethernet_arp_header(data, max_bytes)` (arp-input's
/// `format_buffer` and trace):
///
/// ```text
/// request, type ethernet/IP4, address size 6/4
/// 3e:1b:70:2d:4d:51/172.30.1.2 -> 00:00:00:00:00:00/172.30.1.1
/// ```
///
/// (second line at the indent of the first). For other hardware/protocol
/// types the four addresses are hex dumps of the advertised sizes (bytes
/// past `data` read as zero). `ARP header truncated` if fewer than 28 bytes
/// (by `max_bytes` when non-zero, or by `data`).
pub fn format_ethernet_arp_header(s: &mut String, data: &[u8], max_bytes: usize) {
    const HDR: usize = 28;
    if (max_bytes != 0 && HDR > max_bytes) || data.len() < HDR {
        s.push_str("ARP header truncated");
        return;
    }
    let l2_type = get16(data, 0).unwrap_or(0);
    let l3_type = get16(data, 2).unwrap_or(0);
    let n2 = usize::from(data[4]);
    let n3 = usize::from(data[5]);
    let opcode = get16(data, 6).unwrap_or(0);
    let indent = column(s);

    match ARP_OPCODES.get(usize::from(opcode)) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "unknown 0x{opcode:x}");
        }
    }
    s.push_str(", type ");
    match arp_hardware_type_name(l2_type) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "unknown 0x{l2_type:x}");
        }
    }
    s.push('/');
    format_ethernet_type(s, l3_type);
    let _ = write!(s, ", address size {n2}/{n3}");

    newline(s, indent);
    if l2_type == 1 && l3_type == 0x0800 {
        format_mac(s, mac_at(data, 8));
        s.push('/');
        format_ip4(s, [data[14], data[15], data[16], data[17]]);
        s.push_str(" -> ");
        format_mac(s, mac_at(data, 18));
        s.push('/');
        format_ip4(s, [data[24], data[25], data[26], data[27]]);
    } else {
        let bytes = |off: usize, n: usize| -> Vec<u8> {
            (0..n)
                .map(|i| data.get(8 + off + i).copied().unwrap_or(0))
                .collect()
        };
        format_hex_bytes(s, &bytes(0, n2));
        s.push('/');
        format_hex_bytes(s, &bytes(n2, n3));
        s.push_str(" -> ");
        format_hex_bytes(s, &bytes(n2 + n3, n2));
        s.push('/');
        format_hex_bytes(s, &bytes(2 * n2 + n3, n3));
    }
}

/// mpls-input's `format_buffer` (`format_mpls_unicast_header_net_byte_order`):
/// `label %d exp %d, s %d, ttl %d` from the first 4 bytes (bytes past the
/// end of `data` read as zero; VPP has no length check here).
pub fn format_mpls_header(s: &mut String, data: &[u8]) {
    let v = be32_or0(data, 0);
    let _ = write!(
        s,
        "label {} exp {}, s {}, ttl {}",
        v >> 12,
        (v >> 9) & 7,
        (v >> 8) & 1,
        v & 0xff
    );
}
