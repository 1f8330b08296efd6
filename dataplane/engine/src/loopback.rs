//! The transmit node of a loopback interface (VPP's `simulated_ethernet_interface_tx`).
//!
//! A loopback has no device: what `loopN-output` hands to `loopN-tx` comes straight back into the
//! graph as if received on the loopback. Slot 0 of the tx node is `ethernet-input`; when the
//! loopback becomes the BVI of a bridge domain, the L2 plugin points slot 0 at `l2-input` and
//! sets [`LoopbackTx::bvi`], and the packets carry `sw_if_index[TX] = L2INPUT_BVI` so that
//! `l2-input` knows they come from the routed side. Nothing is stored, so a loopback in live mode
//! uses no memory per packet.

use crate::buffer::{BufferIndex, INVALID_INDEX, L2INPUT_BVI, RX, TX};
use crate::graph::{Node, NodeCx, NodeKind, NodeRegistration};

/// Slot of the tx node's only next (`ethernet-input`, or `l2-input` for a BVI).
pub const LOOPBACK_TX_NEXT: u16 = 0;

/// Registration of `<name>-tx` for a loopback.
pub fn registration(name: &str) -> NodeRegistration {
    NodeRegistration::new(format!("{name}-tx"), NodeKind::Output).nexts(&["ethernet-input"])
}

/// `loopN-tx`.
#[derive(Clone)]
pub struct LoopbackTx {
    /// The loopback.
    pub sw_if_index: u32,
    /// The loopback is a BVI (slot 0 leads to `l2-input`).
    pub bvi: bool,
}

impl Node for LoopbackTx {
    crate::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let sw = self.sw_if_index;
        if self.bvi {
            for &bi in frame {
                let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
                m.sw_if_index[RX] = sw;
                m.sw_if_index[TX] = L2INPUT_BVI;
                m.set_l2_len(l2_header_len(d));
            }
        } else {
            for &bi in frame {
                let m = cx.vm.buffers.meta_mut(bi);
                m.sw_if_index[RX] = sw;
                m.sw_if_index[TX] = INVALID_INDEX;
            }
        }
        cx.enqueue_slot(LOOPBACK_TX_NEXT, frame);
    }
}

/// Length of an Ethernet header with up to two VLAN tags (VPP's `vnet_update_l2_len`); 14 for
/// frames too short to tell.
#[inline]
pub fn l2_header_len(d: &[u8]) -> u8 {
    let tagged = |t: u16| t == 0x8100 || t == 0x88a8 || t == 0x9100;
    match d {
        [_, _, _, _, _, _, _, _, _, _, _, _, a, b, _, _, c, e, ..]
            if tagged(u16::from_be_bytes([*a, *b])) =>
        {
            if tagged(u16::from_be_bytes([*c, *e])) {
                22
            } else {
                18
            }
        }
        [_, _, _, _, _, _, _, _, _, _, _, _, a, b, ..] if tagged(u16::from_be_bytes([*a, *b])) => {
            18
        }
        _ => 14,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_len_counts_vlan_tags() {
        let mut f = vec![0u8; 60];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(l2_header_len(&f), 14);
        f[12..14].copy_from_slice(&[0x81, 0x00]);
        f[16..18].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(l2_header_len(&f), 18);
        f[12..14].copy_from_slice(&[0x88, 0xa8]);
        f[16..18].copy_from_slice(&[0x81, 0x00]);
        assert_eq!(l2_header_len(&f), 22);
        assert_eq!(l2_header_len(&f[..15]), 18);
        assert_eq!(l2_header_len(&f[..3]), 14);
    }
}
