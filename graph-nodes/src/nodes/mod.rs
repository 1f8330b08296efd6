//! The L2/L3 graph nodes and the state they share.

pub mod arp;
pub mod ethernet;
pub mod ip4_forward;
pub mod ip4_input;
pub mod ip4_local;
pub mod ip4_sv_reass;

use std::sync::Arc;

use engine::buffer::BufferIndex;
use engine::feature::SharedFeatures;
use engine::graph::NodeCx;
use engine::interface::SharedInterfaces;
use engine::trace::TraceRecord;
use engine::Arcs;
use parking_lot::RwLock;

use crate::fib::Ip4Main;

/// Shared IPv4 state handle.
pub type SharedFib = Arc<RwLock<Ip4Main>>;

/// UDP destination ports with a listener: port -> next slot of `ip4-udp-lookup`.
#[derive(Debug, Default)]
pub struct UdpPorts {
    /// Slot by port (u16::MAX: no listener).
    pub next_by_port: Vec<u16>,
}

impl UdpPorts {
    /// Slot for `port`, if a listener is registered.
    #[inline]
    pub fn get(&self, port: u16) -> Option<u16> {
        match self.next_by_port.get(port as usize) {
            Some(&s) if s != u16::MAX => Some(s),
            _ => None,
        }
    }
}

/// Everything the IPv4 nodes and commands share; stored in the dataplane's extensions.
#[derive(Clone)]
pub struct Ip4Handle {
    /// FIB, adjacencies, neighbours, interface addresses.
    pub fib: SharedFib,
    /// Interface tables.
    pub interfaces: SharedInterfaces,
    /// Feature arcs.
    pub features: SharedFeatures,
    /// Standard arcs.
    pub arcs: Arcs,
    /// UDP listeners.
    pub udp_ports: Arc<RwLock<UdpPorts>>,
}

/// The first `N` bytes of buffer `bi` from `back` bytes before its current header (fewer when
/// the packet is shorter), copied out so that the trace record can be taken next; None if the
/// headroom is smaller than `back`. For trace passes that run after a node's frame loop.
#[inline]
pub fn head_bytes<const N: usize>(
    cx: &mut NodeCx<'_>,
    bi: BufferIndex,
    back: u16,
) -> Option<([u8; N], usize)> {
    let (_, d) = cx.vm.buffers.meta_and_data_with_headroom_mut(bi, back)?;
    let mut out = [0u8; N];
    let c = d.len().min(N);
    out[..c].copy_from_slice(&d[..c]);
    Some((out, c))
}

/// Copy `n` bytes of `data` into the record, zero-padded (deterministic traces of short packets).
#[inline]
pub fn trace_bytes(rec: &mut TraceRecord, data: &[u8], n: usize) {
    let n = n.min(engine::trace::TRACE_DATA_BYTES);
    let c = data.len().min(n);
    rec.data[..c].copy_from_slice(&data[..c]);
    rec.data[c..n].fill(0);
    rec.data_len = n as u16;
}
