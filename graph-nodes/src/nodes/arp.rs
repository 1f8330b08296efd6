//! ARP: `arp-input` answers requests for our addresses and learns neighbours; `ip4-arp` (an
//! incomplete neighbour adjacency) and `ip4-glean` (an unknown host in a connected subnet) send an
//! ARP request, throttled to one per target per second, and drop the packet with a counter.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use engine::buffer::{BufferIndex, INVALID_INDEX, RX, TX};
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration};
use engine::interface::InterfaceMain;
use engine::trace::TraceRecord;

use crate::format::format_ethernet_arp_header;
use crate::nodes::ip4_forward::format_forward_next;
use crate::nodes::{trace_bytes, Ip4Handle};

/// arp-input error strings (VPP's).
pub mod errors {
    /// ARP replies sent
    pub const REPLIES_SENT: u32 = 0;
    /// L2 type not ethernet
    pub const L2_TYPE_NOT_ETHERNET: u32 = 1;
    /// L3 type not IP4
    pub const L3_TYPE_NOT_IP4: u32 = 2;
    /// IP4 source address not local to subnet
    pub const SRC_NOT_LOCAL: u32 = 3;
    /// IP4 destination address not local to subnet
    pub const DST_NOT_LOCAL: u32 = 4;
    /// IP4 source address matches local interface
    pub const SRC_IS_LOCAL: u32 = 5;
    /// ARP request IP4 source address learned
    pub const SRC_LEARNED: u32 = 6;
    /// ARP replies received
    pub const REPLIES_RECEIVED: u32 = 7;
    /// ARP opcode not request
    pub const OPCODE_NOT_REQUEST: u32 = 8;
    /// Proxy ARP replies sent
    pub const PROXY_REPLIES_SENT: u32 = 9;
    /// ARP hw addr does not match L2 frame src addr
    pub const L2_ADDRESS_MISMATCH: u32 = 10;
    /// ARP probe or announcement dropped
    pub const GRATUITOUS: u32 = 11;
    /// ARP packet too short
    pub const TOO_SHORT: u32 = 12;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "ARP replies sent",
        "L2 type not ethernet",
        "L3 type not IP4",
        "IP4 source address not local to subnet",
        "IP4 destination address not local to subnet",
        "IP4 source address matches local interface",
        "ARP request IP4 source address learned",
        "ARP replies received",
        "ARP opcode not request",
        "Proxy ARP replies sent",
        "ARP hw addr does not match L2 frame src addr",
        "ARP probe or announcement dropped",
        "ARP packet too short",
    ];
}

/// ip4-arp / ip4-glean error strings (VPP's, plus throttling and buffer shortage).
pub mod arp_errors {
    /// address overflow drops
    pub const DROP: u32 = 0;
    /// ARP requests sent
    pub const REQUEST_SENT: u32 = 1;
    /// ARPs to non-ARP adjacencies
    pub const NON_ARP_ADJ: u32 = 2;
    /// no source address for ARP request
    pub const NO_SOURCE_ADDRESS: u32 = 3;
    /// ARP requests throttled
    pub const THROTTLED: u32 = 4;
    /// no buffer for ARP request
    pub const NO_BUFFER: u32 = 5;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "address overflow drops",
        "ARP requests sent",
        "ARPs to non-ARP adjacencies",
        "no source address for ARP request",
        "ARP requests throttled",
        "no buffer for ARP request",
    ];
}

/// Registrations of arp-input, ip4-arp and ip4-glean.
pub fn registrations() -> Vec<NodeRegistration> {
    vec![
        NodeRegistration::new("arp-input", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(errors::STRINGS),
        NodeRegistration::new("ip4-arp", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(arp_errors::STRINGS),
        NodeRegistration::new("ip4-glean", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(arp_errors::STRINGS),
    ]
}

/// arp-input.
#[derive(Clone)]
pub struct ArpInput {
    /// Shared state.
    pub h: Ip4Handle,
}

fn mac_at(d: &[u8], o: usize) -> [u8; 6] {
    [d[o], d[o + 1], d[o + 2], d[o + 3], d[o + 4], d[o + 5]]
}

fn ip_at(d: &[u8], o: usize) -> Ipv4Addr {
    Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3])
}

impl Node for ArpInput {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let ebase = cx.error_index(0);
        let now = cx.now_ns();
        let mut replies_sent = 0;
        for &bi in frame {
            if cx.tracing() && cx.vm.buffers.meta(bi).is_traced() {
                let mut tmp = [0u8; 64];
                let d = cx.vm.buffers.data(bi);
                let c = d.len().min(64);
                tmp[..c].copy_from_slice(&d[..c]);
                if let Some(r) = cx.trace(bi) {
                    trace_bytes(r, &tmp[..c], c);
                }
            }
            let m = *cx.vm.buffers.meta(bi);
            let rx = m.sw_if_index[RX];
            let l2 = cx.vm.buffers.raw_from(bi, m.l2_hdr_offset);
            let eth_src = mac_at(l2, 6);
            let d = cx.vm.buffers.data(bi);
            let verdict = self.decide(cx.config().get(self.h.interfaces), rx, eth_src, d, now);
            match verdict {
                Err(code) => {
                    cx.vm.buffers.meta_mut(bi).error = ebase + code;
                    cx.enqueue_slot(0, &[bi]);
                }
                Ok(None) => {
                    // Consumed (a reply we learned from).
                    cx.vm.buffers.meta_mut(bi).error = ebase + errors::REPLIES_RECEIVED;
                    cx.enqueue_slot(0, &[bi]);
                }
                Ok(Some((our_mac, our_ip, output))) => {
                    // Turn the request into the reply, in place.
                    let d = cx.vm.buffers.data_mut(bi);
                    let (sha, spa) = (mac_at(d, 8), [d[14], d[15], d[16], d[17]]);
                    d[6..8].copy_from_slice(&2u16.to_be_bytes());
                    d[18..24].copy_from_slice(&sha);
                    d[24..28].copy_from_slice(&spa);
                    d[8..14].copy_from_slice(&our_mac);
                    d[14..18].copy_from_slice(&our_ip.octets());
                    if !cx.vm.buffers.advance(bi, -14) {
                        cx.vm.buffers.meta_mut(bi).error = ebase + errors::TOO_SHORT;
                        cx.enqueue_slot(0, &[bi]);
                        continue;
                    }
                    let d = cx.vm.buffers.data_mut(bi);
                    d[..6].copy_from_slice(&sha);
                    d[6..12].copy_from_slice(&our_mac);
                    d[12..14].copy_from_slice(&[0x08, 0x06]);
                    cx.vm.buffers.meta_mut(bi).sw_if_index[TX] = rx;
                    cx.enqueue_node(output, &[bi]);
                    replies_sent += 1;
                }
            }
        }
        cx.count_error(errors::REPLIES_SENT, replies_sent);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ethernet_arp_header(s, rec.data(), 64);
    }
}

impl ArpInput {
    /// What to do with an ARP packet: Err(error) to drop, Ok(None) consumed (reply learned),
    /// Ok(Some(mac, ip, output node)) to answer.
    fn decide(
        &self,
        im: &InterfaceMain,
        rx: u32,
        eth_src: [u8; 6],
        d: &[u8],
        now: u64,
    ) -> Result<Option<([u8; 6], Ipv4Addr, u32)>, u32> {
        if d.len() < 28 {
            return Err(errors::TOO_SHORT);
        }
        if u16::from_be_bytes([d[0], d[1]]) != 1 || d[4] != 6 {
            return Err(errors::L2_TYPE_NOT_ETHERNET);
        }
        if u16::from_be_bytes([d[2], d[3]]) != 0x0800 || d[5] != 4 {
            return Err(errors::L3_TYPE_NOT_IP4);
        }
        let op = u16::from_be_bytes([d[6], d[7]]);
        let (sha, spa, tpa) = (mac_at(d, 8), ip_at(d, 14), ip_at(d, 24));
        if sha != eth_src {
            return Err(errors::L2_ADDRESS_MISMATCH);
        }
        if spa.is_unspecified() || spa == tpa {
            return Err(errors::GRATUITOUS);
        }
        let (our_mac, output) = {
            (
                im.mac(rx),
                im.hw_of(rx).map(|h| h.output_node).unwrap_or(INVALID_INDEX),
            )
        };
        let mut fib = self.h.fib.write();
        let Some((_, _)) = fib.connected_address(rx, tpa) else {
            return Err(errors::DST_NOT_LOCAL);
        };
        if fib.is_local_address(spa) {
            return Err(errors::SRC_IS_LOCAL);
        }
        if fib.connected_address(rx, spa).is_none() {
            return Err(errors::SRC_NOT_LOCAL);
        }
        let tpa_is_ours = {
            let donor = fib.unnumbered.get(&rx).copied().unwrap_or(rx);
            fib.if_addrs
                .get(donor as usize)
                .is_some_and(|v| v.iter().any(|a| a.0 == tpa))
        };
        match op {
            2 if tpa_is_ours => {
                let _ = fib.add_neighbor(rx, spa, sha, false, true, now);
                Ok(None)
            }
            1 if tpa_is_ours => {
                let _ = fib.add_neighbor(rx, spa, sha, false, true, now);
                Ok(Some((our_mac, tpa, output)))
            }
            1 | 2 => Err(errors::DST_NOT_LOCAL),
            _ => Err(errors::OPCODE_NOT_REQUEST),
        }
    }
}

/// Seconds between two ARP requests for the same target.
pub const ARP_THROTTLE_NS: u64 = 1_000_000_000;

/// ip4-arp and ip4-glean (`glean` selects the flavour).
#[derive(Clone)]
pub struct Ip4ArpRequest {
    /// Shared state.
    pub h: Ip4Handle,
    /// Glean (target = packet destination) rather than arp (target = adjacency next hop).
    pub glean: bool,
    /// Last request time per (interface, target).
    last_sent: HashMap<(u32, Ipv4Addr), u64>,
}

impl Ip4ArpRequest {
    /// A node of the given flavour.
    pub fn new(h: Ip4Handle, glean: bool) -> Self {
        Ip4ArpRequest {
            h,
            glean,
            last_sent: HashMap::new(),
        }
    }
}

impl Node for Ip4ArpRequest {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let ebase = cx.error_index(0);
        let now = cx.now_ns();
        if self.last_sent.len() > 4096 {
            self.last_sent
                .retain(|_, t| now.saturating_sub(*t) < ARP_THROTTLE_NS);
        }
        for &bi in frame {
            if cx.tracing() && cx.vm.buffers.meta(bi).is_traced() {
                let mut tmp = [0u8; 60];
                let d = cx.vm.buffers.data(bi);
                let c = d.len().min(60);
                tmp[..c].copy_from_slice(&d[..c]);
                if let Some(r) = cx.trace(bi) {
                    trace_bytes(r, &tmp[..c], 60);
                }
            }
            let m = *cx.vm.buffers.meta(bi);
            let d = cx.vm.buffers.data(bi);
            let dst = if d.len() >= 20 {
                ip_at(d, 16)
            } else {
                Ipv4Addr::UNSPECIFIED
            };
            let req = {
                let fib = self.h.fib.read();
                match fib.adj(m.adj_index[TX]) {
                    None => Err(arp_errors::NON_ARP_ADJ),
                    Some(adj) => {
                        let sw = adj.sw_if_index;
                        let target = if self.glean { dst } else { adj.next_hop };
                        let src = fib
                            .connected_address(sw, target)
                            .map(|a| a.0)
                            .or_else(|| fib.interface_address(sw));
                        match src {
                            None => Err(arp_errors::NO_SOURCE_ADDRESS),
                            Some(src) => Ok((sw, target, src, adj.rewrite)),
                        }
                    }
                }
            };
            let code = match req {
                Err(e) => e,
                Ok((sw, target, src, rewrite)) => {
                    let key = (sw, target);
                    match self.last_sent.get(&key) {
                        Some(&t) if now.saturating_sub(t) < ARP_THROTTLE_NS => {
                            arp_errors::THROTTLED
                        }
                        _ => {
                            let mac = [
                                rewrite[6],
                                rewrite[7],
                                rewrite[8],
                                rewrite[9],
                                rewrite[10],
                                rewrite[11],
                            ];
                            match self.send_request(cx, sw, mac, src, target) {
                                true => {
                                    self.last_sent.insert(key, now);
                                    arp_errors::REQUEST_SENT
                                }
                                false => arp_errors::NO_BUFFER,
                            }
                        }
                    }
                }
            };
            cx.vm.buffers.meta_mut(bi).error = ebase + code;
        }
        cx.enqueue_slot(0, frame);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_forward_next(rec, s);
    }
}

impl Ip4ArpRequest {
    fn send_request(
        &self,
        cx: &mut NodeCx<'_>,
        sw: u32,
        mac: [u8; 6],
        src: Ipv4Addr,
        target: Ipv4Addr,
    ) -> bool {
        let output = {
            let im = cx.config().get(self.h.interfaces);
            im.hw_of(sw).map(|h| h.output_node)
        };
        let (Some(output), Some(nb)) = (output, cx.vm.buffers.alloc_one()) else {
            return false;
        };
        let mut f = [0u8; 42];
        f[..6].fill(0xff);
        f[6..12].copy_from_slice(&mac);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        f[22..28].copy_from_slice(&mac);
        f[28..32].copy_from_slice(&src.octets());
        f[38..42].copy_from_slice(&target.octets());
        cx.vm.buffers.fill(nb, &f);
        let m = cx.vm.buffers.meta_mut(nb);
        m.sw_if_index = [0, sw];
        cx.enqueue_node(output, &[nb]);
        true
    }
}
