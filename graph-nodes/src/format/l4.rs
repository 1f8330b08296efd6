//! L4 header formatters: `src/vnet/tcp/tcp_format.c`,
//! `src/vnet/udp/udp_format.c`, `src/vnet/ip/icmp4.c`, `src/vnet/ip/icmp6.c`
//! and `format_gre_header` (`src/vnet/gre/gre.c`).
//!
//! None of them recurses further: VPP 18.01 registers no per-port
//! `format_header`, so nothing follows TCP or UDP (not even for VXLAN).

use std::fmt::Write as _;

use super::basic::format_ip6_address;
use super::{be16_or0, column, newline};

/// `format_tcp_flags`: `0x%02x` followed by ` NAME` for each set bit in the
/// order FIN SYN RST PSH ACK URG ECE CWR.
pub fn format_tcp_flags(s: &mut String, flags: u8) {
    const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
    let _ = write!(s, "0x{flags:02x}");
    for (i, n) in NAMES.iter().enumerate() {
        if flags & (1 << i) != 0 {
            s.push(' ');
            s.push_str(n);
        }
    }
}

/// `format_tcp_header(data, max_bytes)`:
///
/// ```text
/// TCP: 32966 -> 8080
///   seq. 0xe2697e8e ack 0x00000000
///   flags 0x02 SYN, tcp header: 40 bytes
///   window 29200, checksum 0x3b85
/// ```
///
/// Options are not shown (`#if 0` in 18.01). `TCP header truncated` if
/// fewer than 20 bytes (`max_bytes` or `data`).
pub fn format_tcp_header(s: &mut String, data: &[u8], max_bytes: usize) {
    if max_bytes < 20 || data.len() < 20 {
        s.push_str("TCP header truncated");
        return;
    }
    let indent = column(s) + 2;
    let u32_at = |o: usize| u32::from_be_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    let _ = write!(s, "TCP: {} -> {}", be16_or0(data, 0), be16_or0(data, 2));
    newline(s, indent);
    let _ = write!(s, "seq. 0x{:08x} ack 0x{:08x}", u32_at(4), u32_at(8));
    newline(s, indent);
    s.push_str("flags ");
    format_tcp_flags(s, data[13]);
    let _ = write!(s, ", tcp header: {} bytes", usize::from(data[12] >> 4) * 4);
    newline(s, indent);
    let _ = write!(
        s,
        "window {}, checksum 0x{:04x}",
        be16_or0(data, 14),
        be16_or0(data, 16)
    );
}

/// `format_udp_header(data, max_bytes)`:
///
/// ```text
/// UDP: 50038 -> 4789
///   length 90, checksum 0x0000
/// ```
///
/// `UDP header truncated` if fewer than 8 bytes (`max_bytes` or `data`).
pub fn format_udp_header(s: &mut String, data: &[u8], max_bytes: usize) {
    if max_bytes < 8 || data.len() < 8 {
        s.push_str("UDP header truncated");
        return;
    }
    let indent = column(s) + 2;
    let _ = write!(s, "UDP: {} -> {}", be16_or0(data, 0), be16_or0(data, 2));
    newline(s, indent);
    let _ = write!(
        s,
        "length {}, checksum 0x{:04x}",
        be16_or0(data, 4),
        be16_or0(data, 6)
    );
}

fn icmp4_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "echo_reply",
        3 => "destination_unreachable",
        4 => "source_quench",
        5 => "redirect",
        6 => "alternate_host_address",
        8 => "echo_request",
        9 => "router_advertisement",
        10 => "router_solicitation",
        11 => "time_exceeded",
        12 => "parameter_problem",
        13 => "timestamp_request",
        14 => "timestamp_reply",
        15 => "information_request",
        16 => "information_reply",
        17 => "address_mask_request",
        18 => "address_mask_reply",
        30 => "traceroute",
        31 => "datagram_conversion_error",
        32 => "mobile_host_redirect",
        33 => "ip6_where_are_you",
        34 => "ip6_i_am_here",
        35 => "mobile_registration_request",
        36 => "mobile_registration_reply",
        37 => "domain_name_request",
        38 => "domain_name_reply",
        39 => "skip",
        40 => "photuris",
        _ => return None,
    })
}

fn icmp4_code_name(t: u8, c: u8) -> Option<&'static str> {
    Some(match (t, c) {
        (3, 0) => "destination_unreachable_net",
        (3, 1) => "destination_unreachable_host",
        (3, 2) => "protocol_unreachable",
        (3, 3) => "port_unreachable",
        (3, 4) => "fragmentation_needed_and_dont_fragment_set",
        (3, 5) => "source_route_failed",
        (3, 6) => "destination_network_unknown",
        (3, 7) => "destination_host_unknown",
        (3, 8) => "source_host_isolated",
        (3, 9) => "network_administratively_prohibited",
        (3, 10) => "host_administratively_prohibited",
        (3, 11) => "network_unreachable_for_type_of_service",
        (3, 12) => "host_unreachable_for_type_of_service",
        (3, 13) => "communication_administratively_prohibited",
        (3, 14) => "host_precedence_violation",
        (3, 15) => "precedence_cutoff_in_effect",
        (5, 0) => "network_redirect",
        (5, 1) => "host_redirect",
        (5, 2) => "type_of_service_and_network_redirect",
        (5, 3) => "type_of_service_and_host_redirect",
        (9, 0) => "normal_router_advertisement",
        (9, 16) => "does_not_route_common_traffic",
        (11, 0) => "ttl_exceeded_in_transit",
        (11, 1) => "fragment_reassembly_time_exceeded",
        (12, 0) => "pointer_indicates_error",
        (12, 1) => "missing_required_option",
        (12, 2) => "bad_length",
        _ => return None,
    })
}

/// `format_ip4_icmp_type_and_code`: `<type>[ <code>]`, or `unknown 0x%x`
/// (type only) for unregistered types.
pub fn format_ip4_icmp_type_and_code(s: &mut String, t: u8, c: u8) {
    match icmp4_type_name(t) {
        None => {
            let _ = write!(s, "unknown 0x{t:x}");
        }
        Some(n) => {
            s.push_str(n);
            if let Some(cn) = icmp4_code_name(t, c) {
                s.push(' ');
                s.push_str(cn);
            }
        }
    }
}

/// `format_ip4_icmp_header(data, max_bytes)`: one line,
/// `ICMP <type>[ <code>] checksum 0x%x` (checksum not zero-padded), e.g.
/// `ICMP echo_request checksum 0x4d2`. `ICMP header truncated` if fewer
/// than 4 bytes.
pub fn format_ip4_icmp_header(s: &mut String, data: &[u8], max_bytes: usize) {
    if max_bytes < 4 || data.len() < 4 {
        s.push_str("ICMP header truncated");
        return;
    }
    s.push_str("ICMP ");
    format_ip4_icmp_type_and_code(s, data[0], data[1]);
    let _ = write!(s, " checksum 0x{:x}", be16_or0(data, 2));
}

fn icmp6_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "destination_unreachable",
        2 => "packet_too_big",
        3 => "time_exceeded",
        4 => "parameter_problem",
        128 => "echo_request",
        129 => "echo_reply",
        130 => "multicast_listener_request",
        131 => "multicast_listener_report",
        132 => "multicast_listener_done",
        133 => "router_solicitation",
        134 => "router_advertisement",
        135 => "neighbor_solicitation",
        136 => "neighbor_advertisement",
        137 => "redirect",
        138 => "router_renumbering",
        139 => "node_information_request",
        140 => "node_information_response",
        141 => "inverse_neighbor_solicitation",
        142 => "inverse_neighbor_advertisement",
        143 => "multicast_listener_report_v2",
        144 => "home_agent_address_discovery_request",
        145 => "home_agent_address_discovery_reply",
        146 => "mobile_prefix_solicitation",
        147 => "mobile_prefix_advertisement",
        148 => "certification_path_solicitation",
        149 => "certification_path_advertisement",
        151 => "multicast_router_advertisement",
        152 => "multicast_router_solicitation",
        153 => "multicast_router_termination",
        154 => "fmipv6_messages",
        _ => return None,
    })
}

fn icmp6_code_name(t: u8, c: u8) -> Option<&'static str> {
    Some(match (t, c) {
        (1, 0) => "no_route_to_destination",
        (1, 1) => "destination_administratively_prohibited",
        (1, 2) => "beyond_scope_of_source_address",
        (1, 3) => "address_unreachable",
        (1, 4) => "port_unreachable",
        (1, 5) => "source_address_failed_policy",
        (1, 6) => "reject_route_to_destination",
        (3, 0) => "ttl_exceeded_in_transit",
        (3, 1) => "fragment_reassembly_time_exceeded",
        (4, 0) => "erroneous_header_field",
        (4, 1) => "unrecognized_next_header",
        (4, 2) => "unrecognized_option",
        (138, 0) => "command",
        (138, 1) => "result",
        (139, 0) => "data_contains_ip6_address",
        (139, 1) => "data_contains_name",
        (139, 2) => "data_contains_ip4_address",
        (140, 0) => "success",
        (140, 1) => "failed",
        (140, 2) => "unknown_request",
        _ => return None,
    })
}

/// `format_icmp6_header(data, max_bytes)`: `ICMP <type>[ <code>] checksum
/// 0x%x`, plus `\n    target address <ip6>` (a literal 4-space indent, as
/// in VPP) for neighbor solicitation/advertisement when at least 24 bytes
/// are available. VPP reaches it from IPv4 too (protocol 58).
pub fn format_icmp6_header(s: &mut String, data: &[u8], max_bytes: usize) {
    if max_bytes < 4 || data.len() < 4 {
        s.push_str("ICMP header truncated");
        return;
    }
    let (t, c) = (data[0], data[1]);
    s.push_str("ICMP ");
    match icmp6_type_name(t) {
        None => {
            let _ = write!(s, "unknown 0x{t:x}");
        }
        Some(n) => {
            s.push_str(n);
            if let Some(cn) = icmp6_code_name(t, c) {
                s.push(' ');
                s.push_str(cn);
            }
        }
    }
    let _ = write!(s, " checksum 0x{:x}", be16_or0(data, 2));
    if max_bytes >= 24 && data.len() >= 24 && (t == 135 || t == 136) {
        let mut a = [0u8; 16];
        a.copy_from_slice(&data[8..24]);
        s.push_str("\n    target address ");
        format_ip6_address(s, a);
    }
}

/// `format_gre_header` (what IPv4 protocol 47 recurses into): `GRE <proto>`
/// with the GRE protocol names `ip4`, `ip6`, `teb`, `arp`, `mpls_unicast`,
/// `nsh`, else `0x%04x`. VPP calls it with max 0, so it never decodes
/// further. `gre header truncated` if `data` has fewer than 4 bytes.
pub fn format_gre_header(s: &mut String, data: &[u8]) {
    if data.len() < 4 {
        s.push_str("gre header truncated");
        return;
    }
    let p = be16_or0(data, 2);
    s.push_str("GRE ");
    match p {
        0x0800 => s.push_str("ip4"),
        0x86DD => s.push_str("ip6"),
        0x6558 => s.push_str("teb"),
        0x0806 => s.push_str("arp"),
        0x8847 => s.push_str("mpls_unicast"),
        0x894F => s.push_str("nsh"),
        _ => {
            let _ = write!(s, "0x{p:04x}");
        }
    }
}
