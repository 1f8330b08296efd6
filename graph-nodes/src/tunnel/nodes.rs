//! `vxlan4-encap`, `vxlan4-input`, `geneve4-encap`, `geneve4-input`.

use engine::buffer::{flags, BufferIndex, BUFFER_PRE_DATA_SIZE, INVALID_INDEX, RX, TX};
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::interface::{InterfaceMain, SharedInterfaces};
use engine::loopback::l2_header_len;
use engine::trace::TraceRecord;

use crate::fib::l2_flow_hash;
use crate::nodes::ip4_input::set_icmp_error;
use crate::nodes::SharedFib;
use crate::tunnel::{decap_next, Kind, SharedTunnels, Tunnel, TunnelConfig, ENCAP_LEN};
use crate::wire::checksum::IpCsum;
use crate::wire::{geneve, ipv4, vxlan};

/// Registrations of the encap and decap nodes of a kind.
pub fn registrations(kind: Kind) -> [NodeRegistration; 2] {
    [
        NodeRegistration::new(kind.encap_node(), NodeKind::Internal)
            .nexts(encap_next::NAMES)
            .errors(encap_errors::STRINGS),
        NodeRegistration::new(kind.input_node(), NodeKind::Internal)
            .nexts(decap_next::NAMES)
            .errors(match kind {
                Kind::Vxlan => decap_errors::VXLAN_STRINGS,
                Kind::Geneve => decap_errors::GENEVE_STRINGS,
            }),
    ]
}

/// Slots of the encap nodes.
pub mod encap_next {
    /// error-drop
    pub const DROP: u16 = 0;
    /// ip4-load-balance (the tracked remote endpoint's load-balance)
    pub const LOAD_BALANCE: u16 = 1;
    /// ip4-icmp-error (fragmentation needed)
    pub const ICMP_ERROR: u16 = 2;
    /// Names.
    pub const NAMES: &[&str] = &["error-drop", "ip4-load-balance", "ip4-icmp-error"];
}

/// Errors of the encap nodes.
pub mod encap_errors {
    /// good packets encapsulated
    pub const ENCAPSULATED: u32 = 0;
    /// no tunnel on the transmit interface
    pub const NO_TUNNEL: u32 = 1;
    /// tunnel interface is down
    pub const DOWN: u32 = 2;
    /// no headroom for the outer headers
    pub const NO_HEADROOM: u32 = 3;
    /// too big for the uplink after encapsulation, ICMP fragmentation-needed sent
    pub const TOO_BIG_ICMP: u32 = 4;
    /// too big for the uplink after encapsulation (no DF: dropped)
    pub const TOO_BIG: u32 = 5;
    /// inner frame shorter than an ethernet header
    pub const RUNT: u32 = 6;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "good packets encapsulated",
        "no tunnel on the transmit interface",
        "tunnel interface is down",
        "no headroom for the outer headers",
        "too big for the uplink after encapsulation, ICMP fragmentation-needed sent",
        "too big for the uplink after encapsulation (no DF: dropped)",
        "inner frame shorter than an ethernet header",
    ];
}

/// Errors of the decap nodes (VPP's, then ours).
pub mod decap_errors {
    /// good packets decapsulated
    pub const DECAPSULATED: u32 = 0;
    /// no such tunnel packets
    pub const NO_SUCH_TUNNEL: u32 = 1;
    /// packets with bad flags field in the header
    pub const BAD_FLAGS: u32 = 2;
    /// packets with invalid options length (Geneve)
    pub const BAD_LENGTH: u32 = 3;
    /// packets too short for the tunnel header
    pub const TOO_SHORT: u32 = 4;
    /// inner frame shorter than an ethernet header
    pub const INNER_RUNT: u32 = 5;
    /// payload protocol not supported (Geneve)
    pub const BAD_PROTOCOL: u32 = 6;
    /// tunnel interface is down
    pub const DOWN: u32 = 7;
    /// VXLAN strings.
    pub const VXLAN_STRINGS: &[&str] = &[
        "good packets decapsulated",
        "no such tunnel packets",
        "packets with bad flags field in vxlan header",
        "packets with invalid options length",
        "packets too short for a vxlan header",
        "inner frame shorter than an ethernet header",
        "payload protocol not supported",
        "tunnel interface is down",
    ];
    /// Geneve strings.
    pub const GENEVE_STRINGS: &[&str] = &[
        "good packets decapsulated",
        "no such tunnel packets",
        "packets with bad flags field in geneve header",
        "packets with invalid options length",
        "packets too short for a geneve header",
        "inner frame shorter than an ethernet header",
        "payload protocol not supported",
        "tunnel interface is down",
    ];
}

/// The encap node of a kind.
#[derive(Clone)]
pub struct TunnelEncap {
    /// Protocol.
    pub kind: Kind,
    /// Tunnels.
    pub cfg: SharedTunnels,
    /// FIB (egress interface of the outer packet, for the MTU check).
    pub fib: SharedFib,
    /// Interface tables (admin state, MTU).
    pub interfaces: SharedInterfaces,
}

/// Outer UDP source port for Geneve: stable per inner flow, in the ephemeral range (49152 and
/// up), as kernels and OVS pick it.
#[inline(always)]
fn geneve_sport(hash: u32) -> [u8; 2] {
    let h = hash ^ (hash >> 16);
    (0xc000 | (h as u16 & 0x3fff)).to_be_bytes()
}

/// What the encap node keeps of the last tunnel it saw (frames are mostly one tunnel).
#[derive(Clone, Copy)]
struct EncapCache<'a> {
    sw_if_index: u32,
    tunnel: Option<&'a Tunnel>,
    up: bool,
    /// Largest inner frame the uplink takes once encapsulated.
    max_inner: usize,
}

/// A frame the encap node does not send: too big for the uplink (ICMP fragmentation-needed if
/// the inner IPv4 packet has DF, else a counted drop). Returns the next slot.
#[cold]
#[inline(never)]
fn encap_too_big(cx: &mut NodeCx<'_>, bi: BufferIndex, max_inner: usize, ebase: u32) -> u16 {
    // The outer packet would not fit the uplink (its DF is clear, but we do not fragment):
    // tell the sender if it asked not to be fragmented.
    let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
    let l2 = l2_header_len(d) as usize;
    let df = d.get(l2 - 2..l2) == Some(&[0x08, 0x00][..])
        && ipv4::Packet::new_checked(&d[l2..]).is_ok_and(|ip| ip.dont_frag());
    if df && m.strip(l2 as u16) {
        set_icmp_error(m, 3, 4, (max_inner - l2) as u32);
        m.sw_if_index[TX] = INVALID_INDEX;
        cx.count_error(encap_errors::TOO_BIG_ICMP, 1);
        encap_next::ICMP_ERROR
    } else {
        m.error = ebase + encap_errors::TOO_BIG;
        encap_next::DROP
    }
}

impl TunnelEncap {
    /// The cache entry for tunnel interface `sw`.
    #[cold]
    #[inline(never)]
    fn refresh<'a>(&self, c: &'a TunnelConfig, im: &InterfaceMain, sw: u32) -> EncapCache<'a> {
        let tunnel = c.by_sw_if_index(sw).filter(|t| t.kind == self.kind);
        let max_inner = tunnel
            .and_then(|t| self.fib.read().lb_egress(t.encap_lb))
            .and_then(|e| im.sw(e))
            .map_or(usize::MAX, |s| (s.mtu as usize).saturating_sub(ENCAP_LEN));
        EncapCache {
            sw_if_index: sw,
            tunnel,
            up: im.is_up(sw),
            max_inner,
        }
    }
}

impl engine::march::Kernel for TunnelEncap {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let c = self.cfg.load();
        let mut nexts = [encap_next::DROP; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let mut last = EncapCache {
            sw_if_index: u32::MAX,
            tunnel: None,
            up: false,
            max_inner: 0,
        };
        // Interface counters of the current tunnel: (sw_if_index, packets, bytes).
        let mut stats = (u32::MAX, 0u64, 0u64);
        let mut n_ok = 0u64;
        for (k, &bi) in frame.iter().enumerate() {
            let sw = cx.vm.buffers.meta(bi).sw_if_index[TX];
            if sw != last.sw_if_index {
                last = self.refresh(&c, cx.config().get(self.interfaces), sw);
            }
            let Some(t) = last.tunnel else {
                cx.set_error(bi, encap_errors::NO_TUNNEL);
                continue;
            };
            let Some((m, d)) = cx
                .vm
                .buffers
                .meta_and_data_with_headroom_mut(bi, ENCAP_LEN as u16)
            else {
                cx.set_error(bi, encap_errors::NO_HEADROOM);
                continue;
            };
            let len = m.current_length() as usize;
            let error = if !last.up {
                encap_errors::DOWN
            } else if len < 14 {
                encap_errors::RUNT
            } else {
                u32::MAX
            };
            if error != u32::MAX {
                m.error = ebase + error;
                continue;
            }
            if len > last.max_inner {
                nexts[k] = encap_too_big(cx, bi, last.max_inner, ebase);
                continue;
            }
            let Some((hdr, inner)) = d.split_first_chunk_mut::<ENCAP_LEN>() else {
                continue;
            };
            let hash = l2_flow_hash(inner, l2_header_len(inner) as usize);
            *hdr = t.rewrite;
            let total = (len + ENCAP_LEN) as u16;
            // The template's checksum is for length 0: add the length (VPP's ip_csum_update).
            let csum = IpCsum::from_field(u16::from_be_bytes([hdr[10], hdr[11]]))
                .update_u16(0, total)
                .fold();
            hdr[2..4].copy_from_slice(&total.to_be_bytes());
            hdr[10..12].copy_from_slice(&csum.to_be_bytes());
            hdr[24..26].copy_from_slice(&(total - 20).to_be_bytes());
            let sport = match self.kind {
                // VPP stores the low 16 bits of the hash without byte swap.
                Kind::Vxlan => [hash as u8, (hash >> 8) as u8],
                Kind::Geneve => geneve_sport(hash),
            };
            hdr[20..22].copy_from_slice(&sport);
            m.push(ENCAP_LEN as u16);
            m.adj_index[TX] = t.encap_lb;
            m.l3_hdr_offset = m.current_data();
            m.l4_hdr_offset = m.current_data() + 20;
            m.flags |= flags::L3_HDR_OFFSET_VALID | flags::L4_HDR_OFFSET_VALID;
            m.flags &= !(flags::L4_CHECKSUM_COMPUTED | flags::L4_CHECKSUM_CORRECT);
            let traced = m.is_traced();
            nexts[k] = encap_next::LOAD_BALANCE;
            n_ok += 1;
            if stats.0 != sw {
                if stats.0 != u32::MAX {
                    let s = cx.vm.if_counters_mut(stats.0);
                    s.tx_packets += stats.1;
                    s.tx_bytes += stats.2;
                }
                stats = (sw, 0, 0);
            }
            stats.1 += 1;
            stats.2 += total as u64;
            if tracing && traced {
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = t.index as u64;
                    r.u[1] = t.vni as u64;
                }
            }
        }
        if stats.0 != u32::MAX {
            let s = cx.vm.if_counters_mut(stats.0);
            s.tx_packets += stats.1;
            s.tx_bytes += stats.2;
        }
        cx.count_error(encap_errors::ENCAPSULATED, n_ok);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for TunnelEncap {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "{} encap to {}{} vni {}",
            self.kind.trace_name(),
            self.kind.prefix(),
            rec.u[0],
            rec.u[1]
        ));
    }
}

/// Add `(sw_if_index, packets, bytes)` to an interface's receive counters.
#[inline]
fn flush_rx(cx: &mut NodeCx<'_>, (sw, packets, bytes): (u32, u64, u64)) {
    if sw != u32::MAX {
        let c = cx.vm.if_counters_mut(sw);
        c.rx_packets += packets;
        c.rx_bytes += bytes;
    }
}

/// The decap node of a kind. The buffer arrives at the tunnel header (`ip4-udp-lookup` strips
/// the outer IPv4 and UDP headers).
#[derive(Clone)]
pub struct TunnelInput {
    /// Protocol.
    pub kind: Kind,
    /// Tunnels.
    pub cfg: SharedTunnels,
    /// FIB (the receive interface's table must be the tunnel's encap table).
    pub fib: SharedFib,
    /// Interface tables.
    pub interfaces: SharedInterfaces,
    /// What the trace records of a traced frame need, per packet: (tunnel index, VNI, error);
    /// kept in the node so that no frame pays for clearing it.
    pub(crate) traced: Box<[(u32, u32, u32); FRAME_SIZE]>,
}

/// (tunnel header length, VNI, payload protocol) of a tunnel header, or the decap error.
#[inline]
fn parse_header(kind: Kind, d: &[u8]) -> Result<(usize, u32, u16), (u32, u32)> {
    use decap_errors as e;
    match kind {
        Kind::Vxlan => {
            let v = vxlan::Packet::new_checked(d).map_err(|_| (e::TOO_SHORT, 0))?;
            if v.flags() & vxlan::FLAG_I == 0 {
                return Err((e::BAD_FLAGS, v.vni()));
            }
            Ok((vxlan::HEADER_LEN, v.vni(), geneve::PROTO_TEB))
        }
        Kind::Geneve => {
            let g = geneve::Packet::new_unchecked(d);
            if g.options_too_long() {
                return Err((e::BAD_LENGTH, 0));
            }
            let g = geneve::Packet::new_checked(d).map_err(|_| (e::TOO_SHORT, 0))?;
            // Version 0 only; critical options we cannot understand mean drop (RFC 8926).
            if g.version() != 0 || g.flags() & geneve::FLAG_CRITICAL != 0 {
                return Err((e::BAD_FLAGS, g.vni()));
            }
            Ok((g.header_len(), g.vni(), g.protocol()))
        }
    }
}

impl engine::march::Kernel for TunnelInput {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        use decap_errors as e;
        let c = self.cfg.load();
        let mut nexts = [decap_next::DROP; FRAME_SIZE];
        let traced = &mut *self.traced;
        let tracing = cx.tracing();
        let ebase = cx.error_index(0);
        let fib = self.fib.read();
        let im = cx.config().get(self.interfaces);
        let mut n_ok = 0u64;
        let mut last_sw = (u32::MAX, false);
        // The receive interface's FIB, and the last tunnel found: ((remote, VNI, FIB), tunnel).
        let mut rx_fib = (u32::MAX, 0u32);
        let mut last_tunnel: ((u32, u32, u32), Option<&Tunnel>) = ((0, 0, u32::MAX), None);
        // Receive counters of the tunnel interfaces: (sw_if_index, packets, bytes).
        let mut rx = (u32::MAX, 0u64, 0u64);
        let n = frame.len().min(FRAME_SIZE);
        let frame = &frame[..n];
        let mut bufs = cx.vm.buffers.frame_view();
        for (k, &bi) in frame.iter().enumerate() {
            // One data access from the outer IPv4 header (in front of the UDP one) on.
            let mm = bufs.meta_mut(bi);
            let back = if mm.flags & flags::L3_HDR_OFFSET_VALID != 0
                && mm.l3_hdr_offset as i32 >= -(BUFFER_PRE_DATA_SIZE as i32)
            {
                u16::try_from(mm.current_data() as i32 - mm.l3_hdr_offset as i32).unwrap_or(0)
            } else {
                0
            };
            let (m, all) = if back > 0 {
                // Cannot fail: the outer header is inside the buffer (checked above).
                match bufs.meta_and_data_with_headroom_mut(bi, back) {
                    Some(x) => x,
                    None => continue,
                }
            } else {
                bufs.meta_and_data_mut(bi)
            };
            let back = back as usize;
            let outer_src = match all.get(12..16) {
                Some(a) if back >= 16 => Some(u32::from_be_bytes([a[0], a[1], a[2], a[3]])),
                _ => None,
            };
            let d = &all[back..];
            let m_sw = m.sw_if_index;
            let mut error = e::DECAPSULATED;
            let mut vni = 0u32;
            let mut index = u32::MAX;
            let mut next = decap_next::DROP;
            match (parse_header(self.kind, d), outer_src) {
                (Err((err, v)), _) => {
                    error = err;
                    vni = v;
                }
                (Ok(_), None) => error = e::TOO_SHORT,
                (Ok((hlen, v, proto)), Some(src)) => {
                    vni = v;
                    let fib_index = if m_sw[TX] != INVALID_INDEX {
                        m_sw[TX]
                    } else {
                        if rx_fib.0 != m_sw[RX] {
                            rx_fib = (m_sw[RX], fib.interface_fib(m_sw[RX]));
                        }
                        rx_fib.1
                    };
                    let id = (src, vni, fib_index);
                    if last_tunnel.0 != id {
                        let t = c
                            .lookup(self.kind, src, vni)
                            .filter(|t| t.encap_fib_index == fib_index);
                        last_tunnel = (id, t);
                    }
                    match last_tunnel.1 {
                        None => error = e::NO_SUCH_TUNNEL,
                        Some(t) => {
                            index = t.index;
                            if last_sw.0 != t.sw_if_index {
                                last_sw = (t.sw_if_index, im.is_up(t.sw_if_index));
                            }
                            let inner = &d[hlen.min(d.len())..];
                            if !last_sw.1 {
                                error = e::DOWN;
                            } else if t.l3_mode && proto == geneve::PROTO_IP4 {
                                next = decap_next::IP4_INPUT;
                                if !m.strip(hlen as u16) {
                                    error = e::TOO_SHORT;
                                }
                                m.sw_if_index[RX] = t.sw_if_index;
                            } else if proto != geneve::PROTO_TEB {
                                error = e::BAD_PROTOCOL;
                            } else if inner.len() < 14 {
                                error = e::INNER_RUNT;
                            } else {
                                let l2 = l2_header_len(inner);
                                let is_ip4 = inner[l2 as usize - 2..l2 as usize] == [8, 0];
                                let strip = if t.l3_mode {
                                    // An L3-mode tunnel takes the inner IPv4 packet whatever
                                    // its destination MAC (Antrea's aa:bb:cc:dd:ee:ff).
                                    if !is_ip4 {
                                        error = e::BAD_PROTOCOL;
                                    }
                                    next = decap_next::IP4_INPUT;
                                    hlen + l2 as usize
                                } else {
                                    next = t.decap_next;
                                    hlen
                                };
                                m.strip(strip as u16);
                                m.sw_if_index[RX] = t.sw_if_index;
                                if next == decap_next::L2_INPUT {
                                    m.l2_hdr_offset = m.current_data();
                                    m.flags |= flags::L2_HDR_OFFSET_VALID;
                                    m.set_l2_len(l2);
                                } else {
                                    m.l3_hdr_offset = m.current_data();
                                }
                            }
                        }
                    }
                }
            }
            if error != e::DECAPSULATED {
                next = decap_next::DROP;
                m.error = ebase + error;
            } else {
                n_ok += 1;
                let (sw, len) = (m.sw_if_index[RX], m.current_length() as u64);
                if rx.0 != sw {
                    flush_rx(cx, rx);
                    bufs = cx.vm.buffers.frame_view();
                    rx = (sw, 0, 0);
                }
                rx.1 += 1;
                rx.2 += len;
            }
            nexts[k] = next;
            if tracing {
                traced[k] = (index, vni, error);
            }
        }
        drop((fib, im));
        flush_rx(cx, rx);
        if tracing {
            trace_decaps(cx, frame, &nexts, &traced[..n]);
        }
        cx.count_error(e::DECAPSULATED, n_ok);
        cx.enqueue(frame, &nexts[..n]);
    }
}

/// The trace records of a decap frame's traced packets.
#[cold]
fn trace_decaps(
    cx: &mut NodeCx<'_>,
    frame: &[BufferIndex],
    nexts: &[u16],
    traced: &[(u32, u32, u32)],
) {
    for ((&bi, &next), &(index, vni, error)) in frame.iter().zip(nexts).zip(traced) {
        if !cx.vm.buffers.meta(bi).is_traced() {
            continue;
        }
        if let Some(r) = cx.trace(bi) {
            r.u[0] = index as u64;
            r.u[1] = vni as u64;
            r.u[2] = next as u64;
            r.u[3] = error as u64;
        }
    }
}

impl Node for TunnelInput {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        let name = self.kind.trace_name();
        if rec.u[0] as u32 == u32::MAX {
            s.push_str(&format!(
                "{name} decap error - tunnel for vni {} does not exist",
                rec.u[1]
            ));
        } else {
            s.push_str(&format!(
                "{name} decap from {}{} vni {} next {} error {}",
                self.kind.prefix(),
                rec.u[0],
                rec.u[1],
                rec.u[2],
                rec.u[3]
            ));
        }
    }
}
