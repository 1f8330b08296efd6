//! Packets for this node: `ip4-local` (checks and protocol dispatch), `ip4-icmp-input`,
//! `ip4-icmp-echo-request` (echo replies), `ip4-icmp-error` (time exceeded, destination
//! unreachable) and `ip4-udp-lookup` (UDP port dispatch; port unreachable when nobody listens).

use std::net::Ipv4Addr;

use engine::buffer::{flags, BufferIndex, INVALID_INDEX, RX, TX};
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::trace::TraceRecord;

use crate::format::format_ip4_header;
use crate::nodes::ip4_forward::format_forward_next;
use crate::nodes::ip4_input::{errors, icmp_meta, set_icmp_error};
use crate::nodes::{trace_bytes, Ip4Handle};
use crate::wire::{checksum, ipv4};

/// The error for a buffer that does not hold a whole IPv4 header and the bytes its total length
/// claims (these nodes are normally reached from ip4-input, which checked; a pg stream may enter
/// them directly with anything).
#[inline]
fn bad_ip4(d: &[u8]) -> Option<u32> {
    match ipv4::Packet::new_checked(d) {
        Ok(_) => None,
        Err(_) if d.len() < 20 => Some(errors::TOO_SHORT),
        Err(_) => Some(errors::BAD_LENGTH),
    }
}

/// ip4-local next slots.
pub mod local_next {
    /// error-drop
    pub const DROP: u16 = 0;
    /// ip4-icmp-input
    pub const ICMP: u16 = 1;
    /// ip4-udp-lookup
    pub const UDP: u16 = 2;
    /// Names.
    pub const NAMES: &[&str] = &["error-drop", "ip4-icmp-input", "ip4-udp-lookup"];
}

/// ICMP error strings (VPP's icmp4 list).
pub mod icmp_errors {
    /// valid packets
    pub const NONE: u32 = 0;
    /// unknown type
    pub const UNKNOWN_TYPE: u32 = 1;
    /// echo replies sent
    pub const ECHO_REPLIES_SENT: u32 = 2;
    /// destination unreachable response sent
    pub const DEST_UNREACH_SENT: u32 = 3;
    /// hop limit exceeded response sent
    pub const TTL_EXPIRE_SENT: u32 = 4;
    /// parameter problem response sent
    pub const PARAM_PROBLEM_SENT: u32 = 5;
    /// error message dropped
    pub const DROP: u32 = 6;
    /// payload length too small for type
    pub const TOO_SHORT: u32 = 7;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "valid packets",
        "unknown type",
        "echo replies sent",
        "destination unreachable response sent",
        "hop limit exceeded response sent",
        "parameter problem response sent",
        "error message dropped",
        "payload length too small for type",
    ];
}

/// UDP error strings (VPP's udp list, the ones used here).
pub mod udp_errors {
    /// no error
    pub const NONE: u32 = 0;
    /// no listener for dst port
    pub const NO_LISTENER: u32 = 1;
    /// UDP packets with length errors
    pub const LENGTH_ERROR: u32 = 2;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "no error",
        "no listener for dst port",
        "UDP packets with length errors",
    ];
}

/// Registrations of the local-delivery nodes.
pub fn registrations() -> Vec<NodeRegistration> {
    vec![
        NodeRegistration::new("ip4-local", NodeKind::Internal)
            .nexts(local_next::NAMES)
            .errors(errors::STRINGS),
        NodeRegistration::new("ip4-icmp-input", NodeKind::Internal)
            .nexts(&["error-drop", "ip4-icmp-echo-request", crate::ping::NODE])
            .errors(icmp_errors::STRINGS),
        NodeRegistration::new("ip4-icmp-echo-request", NodeKind::Internal)
            .nexts(&["ip4-lookup", "error-drop"])
            .errors(icmp_errors::STRINGS),
        NodeRegistration::new("ip4-icmp-error", NodeKind::Internal)
            .nexts(&["error-drop", "ip4-lookup"])
            .errors(icmp_errors::STRINGS),
        NodeRegistration::new("ip4-udp-lookup", NodeKind::Internal)
            .nexts(&["error-drop", "ip4-icmp-error"])
            .errors(udp_errors::STRINGS),
    ]
}

fn copy_for_trace(cx: &mut NodeCx<'_>, bi: BufferIndex, n: usize) {
    if !(cx.tracing() && cx.vm.buffers.meta(bi).is_traced()) {
        return;
    }
    let mut tmp = [0u8; 64];
    let d = cx.vm.buffers.data(bi);
    let c = d.len().min(n).min(64);
    tmp[..c].copy_from_slice(&d[..c]);
    if let Some(r) = cx.trace(bi) {
        trace_bytes(r, &tmp[..c], n);
    }
}

/// ip4-local.
#[derive(Clone)]
pub struct Ip4Local;

impl Node for Ip4Local {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [local_next::DROP; FRAME_SIZE];
        let ebase = cx.error_index(0);
        for (k, &bi) in frame.iter().enumerate() {
            copy_for_trace(cx, bi, 60);
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            m.flags |= flags::LOCAL;
            if let Some(e) = bad_ip4(d) {
                m.error = ebase + e;
                continue;
            }
            let ihl = ((d[0] & 0xf) as usize) * 4;
            let total = u16::from_be_bytes([d[2], d[3]]) as usize;
            let frag = u16::from_be_bytes([d[6], d[7]]);
            if frag & 0x3fff != 0 {
                m.error = ebase + errors::FRAGMENT_FOR_US;
                continue;
            }
            let (src, dst) = (
                Ipv4Addr::new(d[12], d[13], d[14], d[15]),
                Ipv4Addr::new(d[16], d[17], d[18], d[19]),
            );
            let l4 = &d[ihl.min(total)..total.min(d.len())];
            nexts[k] = match d[9] {
                1 => local_next::ICMP,
                17 => {
                    if l4.len() < 8 || (u16::from_be_bytes([l4[4], l4[5]]) as usize) > l4.len() {
                        m.error = ebase + errors::UDP_LENGTH;
                        local_next::DROP
                    } else if u16::from_be_bytes([l4[6], l4[7]]) != 0
                        && m.flags & flags::L4_CHECKSUM_CORRECT == 0
                        && !checksum::verify_ipv4_l4_checksum(src, dst, 17, l4)
                    {
                        m.error = ebase + errors::UDP_CHECKSUM;
                        local_next::DROP
                    } else {
                        local_next::UDP
                    }
                }
                _ => {
                    m.error = ebase + errors::UNKNOWN_PROTOCOL;
                    local_next::DROP
                }
            };
            m.l4_hdr_offset = m.current_data() + ihl as i16;
            m.flags |= flags::L4_HDR_OFFSET_VALID;
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_forward_next(rec, s);
    }
}

/// ip4-icmp-input.
#[derive(Clone)]
pub struct Ip4IcmpInput;

impl Node for Ip4IcmpInput {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        for (k, &bi) in frame.iter().enumerate() {
            copy_for_trace(cx, bi, 64);
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            if bad_ip4(d).is_some() {
                m.error = ebase + icmp_errors::TOO_SHORT;
                continue;
            }
            let ihl = ((d[0] & 0xf) as usize) * 4;
            let total = u16::from_be_bytes([d[2], d[3]]) as usize;
            if total < ihl + 8 {
                m.error = ebase + icmp_errors::TOO_SHORT;
                continue;
            }
            if d[ihl] == 8 {
                nexts[k] = 1;
            } else if d[ihl] == 0 {
                // An echo reply: maybe for one of our pings.
                nexts[k] = 2;
            } else {
                m.error = ebase + icmp_errors::UNKNOWN_TYPE;
            }
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ip4_header(s, rec.data(), 64);
    }
}

/// ip4-icmp-echo-request: turns requests into replies in place and routes them.
#[derive(Clone)]
pub struct Ip4IcmpEcho;

/// TTL of packets this node originates (VPP's `host_config_ttl`).
pub const HOST_TTL: u8 = 64;

impl Node for Ip4IcmpEcho {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let mut sent = 0;
        for (k, &bi) in frame.iter().enumerate() {
            copy_for_trace(cx, bi, 64);
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let short = match ipv4::Packet::new_checked(&*d) {
                Ok(ip) => ip.payload().len() < 4,
                Err(_) => true,
            };
            if short {
                m.error = ebase + icmp_errors::TOO_SHORT;
                nexts[k] = 1;
                continue;
            }
            sent += 1;
            let ihl = ((d[0] & 0xf) as usize) * 4;
            // ICMP: type 8 -> 0 with an incremental checksum update.
            let c = u16::from_be_bytes([d[ihl + 2], d[ihl + 3]]);
            let c = checksum::update_u16(c, 0x0800 | d[ihl + 1] as u16, d[ihl + 1] as u16);
            d[ihl] = 0;
            d[ihl + 2..ihl + 4].copy_from_slice(&c.to_be_bytes());
            // IP: swap addresses (checksum-neutral), fresh TTL.
            let (src, dst): ([u8; 4], [u8; 4]) =
                ([d[12], d[13], d[14], d[15]], [d[16], d[17], d[18], d[19]]);
            d[12..16].copy_from_slice(&dst);
            d[16..20].copy_from_slice(&src);
            let ipc = u16::from_be_bytes([d[10], d[11]]);
            let old = u16::from_be_bytes([d[8], d[9]]);
            let new = ((HOST_TTL as u16) << 8) | d[9] as u16;
            d[8] = HOST_TTL;
            d[10..12].copy_from_slice(&checksum::update_u16(ipc, old, new).to_be_bytes());
            m.flags |= flags::LOCALLY_ORIGINATED;
            m.sw_if_index = [0, INVALID_INDEX];
        }
        cx.count_error(icmp_errors::ECHO_REPLIES_SENT, sent);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ip4_header(s, rec.data(), 64);
    }
}

/// ip4-icmp-error: replaces the packet with an ICMP error about it, sent from the receive
/// interface's address back to its source.
#[derive(Clone)]
pub struct Ip4IcmpError {
    /// Shared state (interface addresses).
    pub h: Ip4Handle,
}

/// True for ICMP types that are error messages (never answered with another error, RFC 1812).
fn is_icmp_error_type(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

impl Node for Ip4IcmpError {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [1u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let fib = self.h.fib.read();
        for (k, &bi) in frame.iter().enumerate() {
            copy_for_trace(cx, bi, 64);
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            if d.len() < 20 || ((d[0] & 0xf) as usize) * 4 < 20 {
                m.error = ebase + icmp_errors::DROP;
                nexts[k] = 0;
                continue;
            }
            let ihl = ((d[0] & 0xf) as usize) * 4;
            let orig_src = Ipv4Addr::new(d[12], d[13], d[14], d[15]);
            let about_error = d[9] == 1 && d.len() > ihl && is_icmp_error_type(d[ihl]);
            let bad_src =
                orig_src.is_unspecified() || orig_src.is_broadcast() || orig_src.is_multicast();
            let src = fib.interface_address(m.sw_if_index[RX]);
            let (Some(src), false, false) = (src, about_error, bad_src) else {
                m.error = ebase + icmp_errors::DROP;
                nexts[k] = 0;
                continue;
            };
            let (ty, code, data) = (
                m.opaque[icmp_meta::TYPE] as u8,
                m.opaque[icmp_meta::CODE] as u8,
                m.opaque[icmp_meta::DATA],
            );
            let keep = (m.current_length() as usize).min(576 - 28);
            m.set_length(keep);
            if !cx.vm.buffers.advance(bi, -28) {
                cx.set_error(bi, icmp_errors::DROP);
                nexts[k] = 0;
                continue;
            }
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let len = d.len();
            d[..20].copy_from_slice(&[
                0x45,
                0,
                (len >> 8) as u8,
                len as u8,
                0,
                0,
                0,
                0,
                0xff,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ]);
            d[12..16].copy_from_slice(&src.octets());
            d[16..20].copy_from_slice(&orig_src.octets());
            let c = checksum::ipv4_header_checksum(&d[..20]);
            d[10..12].copy_from_slice(&c.to_be_bytes());
            d[20] = ty;
            d[21] = code;
            d[22] = 0;
            d[23] = 0;
            d[24..28].copy_from_slice(&data.to_be_bytes());
            let ic = checksum::checksum(&d[20..]);
            d[22..24].copy_from_slice(&ic.to_be_bytes());
            m.sw_if_index[TX] = INVALID_INDEX;
            m.l3_hdr_offset = m.current_data();
            let code = match ty {
                3 => icmp_errors::DEST_UNREACH_SENT,
                11 => icmp_errors::TTL_EXPIRE_SENT,
                12 => icmp_errors::PARAM_PROBLEM_SENT,
                _ => icmp_errors::NONE,
            };
            cx.count_error(code, 1);
        }
        drop(fib);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ip4_header(s, rec.data(), 64);
    }
}

/// ip4-udp-lookup.
#[derive(Clone)]
pub struct Ip4UdpLookup {
    /// Shared state (listeners).
    pub h: Ip4Handle,
}

impl Node for Ip4UdpLookup {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let ports = self.h.udp_ports.read();
        let mut no_listener = 0;
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let ihl = d.first().map_or(0, |b| ((b & 0xf) as usize) * 4);
            if ihl < 20 || d.len() < ihl + 8 {
                m.error = ebase + udp_errors::LENGTH_ERROR;
                continue;
            }
            let sport = u16::from_be_bytes([d[ihl], d[ihl + 1]]);
            let dport = u16::from_be_bytes([d[ihl + 2], d[ihl + 3]]);
            let listener = ports.get(dport);
            match listener {
                Some(slot) => {
                    nexts[k] = slot;
                    m.l4_hdr_offset = m.current_data() + ihl as i16;
                    cx.vm.buffers.advance(bi, (ihl + 8) as i32);
                }
                None => {
                    set_icmp_error(m, 3, 3, 0);
                    nexts[k] = 1;
                    no_listener += 1;
                }
            }
            if cx.tracing() && cx.vm.buffers.meta(bi).is_traced() {
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = sport as u64;
                    r.u[1] = dport as u64;
                    r.u[2] = listener.is_some() as u64;
                }
            }
        }
        drop(ports);
        cx.count_error(udp_errors::NO_LISTENER, no_listener);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "UDP: src-port {} dst-port {}{}",
            rec.u[0],
            rec.u[1],
            if rec.u[2] == 0 { " (no listener)" } else { "" }
        ));
    }
}
