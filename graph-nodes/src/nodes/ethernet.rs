//! `ethernet-input`: strips the Ethernet header and dispatches by ethertype (IPv4, ARP); other
//! types, VLAN-tagged frames (no sub-interfaces yet), runts and unicast frames for another MAC are
//! counted and dropped.

use engine::buffer::{flags, BufferIndex, RX};
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::interface::{InterfaceMain, SharedInterfaces};
use engine::trace::TraceRecord;

use crate::format::format_ethernet_header;
use crate::nodes::{head_bytes, trace_bytes};
use crate::wire::ethernet::{ethertype, is_vlan_tpid};

/// Next slots.
pub mod next {
    /// error-drop
    pub const DROP: u16 = 0;
    /// ip4-input
    pub const IP4_INPUT: u16 = 1;
    /// arp-input
    pub const ARP_INPUT: u16 = 2;
    /// l2-input (interfaces in L2 mode)
    pub const L2_INPUT: u16 = 3;
    /// Names.
    pub const NAMES: &[&str] = &["error-drop", "ip4-input", "arp-input", "l2-input"];
}

/// Error codes (VPP's first, then ours).
pub mod errors {
    /// no error
    pub const NONE: u32 = 0;
    /// unknown ethernet type
    pub const UNKNOWN_TYPE: u32 = 2;
    /// unknown vlan
    pub const UNKNOWN_VLAN: u32 = 3;
    /// l3 mac mismatch
    pub const L3_MAC_MISMATCH: u32 = 4;
    /// subinterface down
    pub const DOWN: u32 = 5;
    /// frame shorter than an Ethernet header
    pub const RUNT: u32 = 6;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "no error",
        "llc length > packet length",
        "unknown ethernet type",
        "unknown vlan",
        "l3 mac mismatch",
        "subinterface down",
        "frame shorter than an ethernet header",
    ];
}

/// The node.
#[derive(Clone)]
pub struct EthernetInput {
    /// Interface tables (MAC of the receive interface).
    pub interfaces: SharedInterfaces,
}

/// Registration.
pub fn registration() -> NodeRegistration {
    NodeRegistration::new("ethernet-input", NodeKind::Internal)
        .nexts(next::NAMES)
        .errors(errors::STRINGS)
}

impl engine::march::Kernel for EthernetInput {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let Some(&first) = frame.first() else {
            return;
        };
        let mut nexts = [next::DROP; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let ifs = cx.config().get(self.interfaces);
        let mut bufs = cx.vm.buffers.frame_view();
        // A device's frame has one receive interface: its MAC and mode are looked up once.
        let rx0 = bufs.meta_mut(first).sw_if_index[RX];
        let (ours, up, l2) = Self::rx_state(ifs, rx0);
        // Fast loop: IPv4 to our MAC (or a group address) on an up L3 interface, the frame's
        // common case, with nothing else to decide per packet. The first packet that is not
        // (another interface, another ethertype, a runt) hands the rest of the frame to the
        // general loop.
        let n = frame.len().min(FRAME_SIZE);
        let mut done = 0;
        if up && !l2 {
            let fast_nexts = &mut nexts[..n];
            while done < n {
                let bi = frame[done];
                let (m, d) = bufs.meta_and_data_mut(bi);
                let Some(h) = d.first_chunk::<14>() else {
                    break;
                };
                // The first 8 bytes in one load: the destination MAC is its low 48 bits.
                let (w, _) = h.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
                let w = u64::from_le_bytes(*w);
                let for_us = (w ^ ours) << 16 == 0 || w & 1 != 0;
                let ty = u16::from_ne_bytes([h[12], h[13]]);
                if !(for_us && ty == ethertype::IPV4.to_be() && m.sw_if_index[RX] == rx0) {
                    break;
                }
                let cur = m.current_data();
                m.l2_hdr_offset = cur;
                m.l3_hdr_offset = cur + 14;
                m.flags |= flags::L2_HDR_OFFSET_VALID | flags::L3_HDR_OFFSET_VALID;
                // Cannot fail: the frame holds the 14 header bytes.
                m.strip(14);
                fast_nexts[done] = next::IP4_INPUT;
                done += 1;
            }
        }
        // General loop: every case, the receive interface looked up again when it changes.
        let (mut cached_sw, mut ours, mut up, mut l2) = (rx0, ours, up, l2);
        for (slot_out, &bi) in nexts[done..].iter_mut().zip(&frame[done..]) {
            let (m, d) = bufs.meta_and_data_mut(bi);
            let rx = m.sw_if_index[RX];
            if rx != cached_sw {
                (ours, up, l2) = Self::rx_state(ifs, rx);
                cached_sw = rx;
            }
            let (err, nx, hdr) = if l2 {
                classify_l2(d, up)
            } else {
                classify(d, ours, up)
            };
            if err != errors::NONE {
                m.error = ebase + err;
            } else if nx == next::L2_INPUT {
                // Bridged: the frame keeps its L2 header.
                m.l2_hdr_offset = m.current_data();
                m.flags |= flags::L2_HDR_OFFSET_VALID;
                m.set_l2_len(hdr as u8);
            } else {
                m.l2_hdr_offset = m.current_data();
                m.l3_hdr_offset = m.current_data() + hdr as i16;
                m.flags |= flags::L2_HDR_OFFSET_VALID | flags::L3_HDR_OFFSET_VALID;
                // Cannot fail: classify checked the frame holds the header.
                m.strip(hdr as u16);
            }
            *slot_out = nx;
        }
        if cx.tracing() {
            self.trace_frame(cx, frame, &nexts);
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl EthernetInput {
    /// (MAC key, admin up, L2 mode) of a receive interface.
    #[inline(never)]
    fn rx_state(im: &InterfaceMain, rx: u32) -> (u64, bool, bool) {
        let sw = im.sw(rx);
        (
            mac_key(&im.mac(rx)),
            sw.is_some_and(|s| s.admin_up && !s.deleted),
            sw.is_some_and(|s| s.l2_mode),
        )
    }

    /// Trace the frame's traced buffers: the first 32 bytes of the frame as received (the
    /// Ethernet header is still in front of a stripped packet).
    #[cold]
    fn trace_frame(&self, cx: &mut NodeCx<'_>, frame: &[BufferIndex], nexts: &[u16]) {
        for (&bi, &nx) in frame.iter().zip(nexts) {
            if !cx.vm.buffers.meta(bi).is_traced() {
                continue;
            }
            let stripped = if nx == next::IP4_INPUT || nx == next::ARP_INPUT {
                14
            } else {
                0
            };
            let Some((bytes, c)) = head_bytes::<32>(cx, bi, stripped) else {
                continue;
            };
            if let Some(r) = cx.trace(bi) {
                trace_bytes(r, &bytes[..c], c);
            }
        }
    }
}

impl Node for EthernetInput {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ethernet_header(s, rec.data());
    }
}

/// A MAC address as an integer, for one-compare matching.
#[inline(always)]
fn mac_key(mac: &[u8; 6]) -> u64 {
    u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0])
}

/// Classify a frame: (error code, next slot, header length). `ours` is [`mac_key`] of the
/// receive interface.
#[inline(always)]
fn classify(d: &[u8], ours: u64, up: bool) -> (u32, u16, usize) {
    let Some(h) = d.first_chunk::<14>() else {
        return (errors::RUNT, next::DROP, 0);
    };
    let ty = u16::from_be_bytes([h[12], h[13]]);
    if is_vlan_tpid(ty) {
        return (errors::UNKNOWN_VLAN, next::DROP, 0);
    }
    if !up {
        return (errors::DOWN, next::DROP, 0);
    }
    // Unicast frames must be addressed to us (interfaces are L3).
    let dst = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], 0, 0]);
    if h[0] & 1 == 0 && dst != ours {
        return (errors::L3_MAC_MISMATCH, next::DROP, 0);
    }
    match ty {
        ethertype::IPV4 => (errors::NONE, next::IP4_INPUT, 14),
        ethertype::ARP => (errors::NONE, next::ARP_INPUT, 14),
        _ => (errors::UNKNOWN_TYPE, next::DROP, 0),
    }
}

/// Classify a frame of an interface in L2 mode: everything goes to `l2-input` (VLAN tags
/// included, no MAC check); the header length is the L2 one.
#[inline(always)]
fn classify_l2(d: &[u8], up: bool) -> (u32, u16, usize) {
    if d.len() < 14 {
        return (errors::RUNT, next::DROP, 0);
    }
    if !up {
        return (errors::DOWN, next::DROP, 0);
    }
    (
        errors::NONE,
        next::L2_INPUT,
        engine::loopback::l2_header_len(d) as usize,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_frames() {
        let mac_bytes = [2, 0, 0, 0, 0, 1];
        let mac = mac_key(&mac_bytes);
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&mac_bytes);
        f[12..14].copy_from_slice(&[8, 0]);
        assert_eq!(classify(&f, mac, true), (errors::NONE, next::IP4_INPUT, 14));
        f[12..14].copy_from_slice(&[8, 6]);
        assert_eq!(classify(&f, mac, true).1, next::ARP_INPUT);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(classify(&f, mac, true).0, errors::UNKNOWN_TYPE);
        f[12..14].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(classify(&f, mac, true).0, errors::UNKNOWN_VLAN);
        f[12..14].copy_from_slice(&[8, 0]);
        f[0] = 4;
        assert_eq!(classify(&f, mac, true).0, errors::L3_MAC_MISMATCH);
        f[..6].fill(0xff);
        assert_eq!(
            classify(&f, mac, true).0,
            errors::NONE,
            "broadcast accepted"
        );
        assert_eq!(classify(&f, mac, false).0, errors::DOWN);
        for n in 0..14 {
            assert_eq!(classify(&f[..n], mac, true).0, errors::RUNT);
        }
    }
}
