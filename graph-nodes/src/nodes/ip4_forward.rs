//! `ip4-lookup`, `ip4-load-balance`, `ip4-rewrite` and `ip4-drop`.
//!
//! - ip4-lookup: longest-prefix match in the receive interface's table (or the table named by
//!   `sw_if_index[TX]`, VPP's convention), pick a bucket of the load-balance (flow hash when there
//!   are several), go to the bucket's node. Traced after the lookup.
//! - ip4-load-balance: the second stage of recursive routes. Traced on entry.
//! - ip4-rewrite: TTL decrement with incremental checksum (not for locally originated packets),
//!   MTU check, L2 rewrite from the adjacency, then the `ip4-output` arc or the interface output.
//!   Traced after the rewrite.

use engine::buffer::{flags, BufferIndex, INVALID_INDEX, RX, TX};
use engine::feature::FeatureMain;
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::trace::TraceRecord;

use crate::fib::{ip4_flow_hash, lookup_next, DpoKind, Ip4Main};
use crate::format::{format_hex_bytes, format_ip4_header};
use crate::nodes::ip4_input::{errors, set_icmp_error};
use crate::nodes::{head_bytes, trace_bytes, Ip4Handle};
use crate::wire::checksum;

/// Registrations of ip4-lookup, ip4-load-balance (sibling), ip4-rewrite and ip4-drop.
pub fn registrations() -> Vec<NodeRegistration> {
    vec![
        NodeRegistration::new("ip4-lookup", NodeKind::Internal)
            .nexts(lookup_next::NAMES)
            .errors(errors::STRINGS),
        NodeRegistration::new("ip4-load-balance", NodeKind::Internal)
            .sibling_of("ip4-lookup")
            .errors(errors::STRINGS),
        NodeRegistration::new("ip4-rewrite", NodeKind::Internal)
            .nexts(rewrite_next::NAMES)
            .errors(errors::STRINGS),
        NodeRegistration::new("ip4-drop", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(errors::STRINGS),
    ]
}

/// Next slots of ip4-rewrite (interface outputs are added per interface).
pub mod rewrite_next {
    /// error-drop
    pub const DROP: u16 = 0;
    /// ip4-icmp-error
    pub const ICMP_ERROR: u16 = 1;
    /// Names.
    pub const NAMES: &[&str] = &["error-drop", "ip4-icmp-error"];
}

/// Record layout shared by lookup-style traces: u[0] fib, u[1] dpo index, u[2] flow hash,
/// data = 60 bytes of the IP header.
fn record_lookup(rec: &mut TraceRecord, fib: u32, dpo: u32, hash: u32, ip: &[u8]) {
    rec.u[0] = fib as u64;
    rec.u[1] = dpo as u64;
    rec.u[2] = hash as u64;
    trace_bytes(rec, ip, 60);
}

fn format_lookup(rec: &TraceRecord, s: &mut String) {
    let indent = crate::format::column(s);
    s.push_str(&format!(
        "fib {} dpo-idx {} flow hash: 0x{:08x}",
        rec.u[0] as u32 as i32, rec.u[1] as u32 as i32, rec.u[2] as u32
    ));
    crate::format::newline(s, indent);
    format_ip4_header(s, rec.data(), 60);
}

/// VPP's `format_ip4_forward_next_trace`: the header indented once more (ip4-local, ip4-drop,
/// ip4-arp, ip4-glean).
pub fn format_forward_next(rec: &TraceRecord, s: &mut String) {
    let indent = crate::format::column(s);
    crate::format::white_space(s, indent);
    format_ip4_header(s, rec.data(), 60);
}

/// Pick the DPO of a load-balance for a packet; returns (dpo, flow hash).
#[inline(always)]
fn choose(fib: &Ip4Main, lb: u32, ip: &[u8]) -> (crate::fib::Dpo, u32) {
    let l = fib.lb(lb);
    if l.mask == 0 {
        (l.first, 0)
    } else {
        let h = ip4_flow_hash(ip);
        (l.bucket(h), h)
    }
}

/// ip4-lookup.
#[derive(Clone)]
pub struct Ip4Lookup {
    /// Shared state.
    pub h: Ip4Handle,
}

impl engine::march::Kernel for Ip4Lookup {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [lookup_next::DROP; FRAME_SIZE];
        let fib = self.h.fib.read();
        let ebase = cx.error_index(0);
        let (mut last_key, mut last_lb) = ((0u32, u32::MAX), 0u32);
        let mut last_single: Option<(crate::fib::Dpo, u16)> = None;
        // The receive interface's table, looked up again only when the interface changes.
        let (mut last_rx, mut rx_table) = (INVALID_INDEX, 0u32);
        let mut bufs = cx.vm.buffers.frame_view();
        for (slot_out, &bi) in nexts.iter_mut().zip(frame) {
            let (m, d) = bufs.meta_and_data_mut(bi);
            let Some(h) = d.first_chunk::<20>() else {
                m.error = ebase + errors::TOO_SHORT;
                *slot_out = lookup_next::DROP;
                continue;
            };
            let table = if m.sw_if_index[TX] != INVALID_INDEX {
                m.sw_if_index[TX]
            } else {
                let rx = m.sw_if_index[RX];
                if rx != last_rx {
                    last_rx = rx;
                    rx_table = fib.interface_fib(rx);
                }
                rx_table
            };
            let dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
            // Runs of packets to one destination (a service VIP, a busy flow) skip the mtrie,
            // and when its load-balance has one bucket, the choice and the next slot too.
            // The FIB cannot change within the frame: its read lock is held.
            if (dst, table) != last_key {
                last_key = (dst, table);
                last_lb = fib.lookup(table, dst);
                let l = fib.lb(last_lb);
                last_single = (l.mask == 0).then(|| (l.first, fib.dpo_next(l.first)));
            }
            let (dpo, hash, next) = match last_single {
                Some((dpo, next)) => (dpo, 0, next),
                None => {
                    let (dpo, hash) = choose(&fib, last_lb, d);
                    (dpo, hash, fib.dpo_next(dpo))
                }
            };
            m.adj_index[TX] = dpo.index;
            m.flow_hash = hash;
            m.fib_index = table;
            *slot_out = next;
            if dpo.kind == DpoKind::Drop {
                if dpo.index == 1 {
                    set_icmp_error(m, 3, 1, 0);
                    *slot_out = lookup_next::ICMP_ERROR;
                }
                m.error = ebase + errors::ADJACENCY_DROP;
            }
        }
        drop(fib);
        if cx.tracing() {
            trace_lookups(cx, frame);
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

/// Trace a frame's looked-up packets (not the runts): table, DPO and flow hash as the lookup
/// left them in the metadata, and 60 bytes of the header.
#[cold]
fn trace_lookups(cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
    for &bi in frame {
        let m = cx.vm.buffers.meta(bi);
        if !m.is_traced() || m.current_length() < 20 {
            continue;
        }
        let (table, dpo, hash) = (m.fib_index, m.adj_index[TX], m.flow_hash);
        let Some((bytes, c)) = head_bytes::<60>(cx, bi, 0) else {
            continue;
        };
        if let Some(r) = cx.trace(bi) {
            record_lookup(r, table, dpo, hash, &bytes[..c]);
        }
    }
}

impl Node for Ip4Lookup {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_lookup(rec, s);
    }
}

/// ip4-load-balance.
#[derive(Clone)]
pub struct Ip4LoadBalance {
    /// Shared state.
    pub h: Ip4Handle,
}

impl engine::march::Kernel for Ip4LoadBalance {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [lookup_next::DROP; FRAME_SIZE];
        let fib = self.h.fib.read();
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        for (k, &bi) in frame.iter().enumerate() {
            if tracing && cx.vm.buffers.meta(bi).is_traced() {
                let m = *cx.vm.buffers.meta(bi);
                let mut tmp = [0u8; 60];
                let d = cx.vm.buffers.data(bi);
                let c = d.len().min(60);
                tmp[..c].copy_from_slice(&d[..c]);
                // VPP's ip4_forward_next_trace prints sw_if_index[TX] when it is set (a tunnel
                // after encapsulation), else the receive interface's table.
                let table = if m.sw_if_index[TX] != INVALID_INDEX {
                    m.sw_if_index[TX]
                } else {
                    m.fib_index
                };
                if let Some(r) = cx.trace(bi) {
                    record_lookup(r, table, m.adj_index[TX], m.flow_hash, &tmp[..c]);
                }
            }
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let lb = m.adj_index[TX];
            if lb as usize >= fib.n_lbs() {
                m.error = ebase + errors::ADJACENCY_DROP;
                continue;
            }
            let (dpo, hash) = choose(&fib, lb, d);
            m.adj_index[TX] = dpo.index;
            if hash != 0 {
                m.flow_hash = hash;
            }
            nexts[k] = fib.dpo_next(dpo);
            if dpo.kind == DpoKind::Drop {
                m.error = ebase + errors::ADJACENCY_DROP;
            }
        }
        drop(fib);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for Ip4LoadBalance {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_lookup(rec, s);
    }
}

/// ip4-rewrite.
#[derive(Clone)]
pub struct Ip4Rewrite {
    /// Shared state.
    pub h: Ip4Handle,
}

impl engine::march::Kernel for Ip4Rewrite {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [rewrite_next::DROP; FRAME_SIZE];
        let node = cx.node_index();
        let ebase = cx.error_index(0);
        let fib = self.h.fib.read();
        let im = cx.config().get(self.h.interfaces);
        let features = cx.config().get(self.h.features);
        let arc = self.h.arcs.ip4_output;
        let (mut expired, mut too_big) = (0, 0);
        // Per adjacency (a frame mostly goes to one or a few): its rewrite, interface, the
        // interface's MTU, output features and next slot; looked up again only on a change.
        let mut last_ai = u32::MAX;
        let mut rw = Rewrite::default();
        let mut bufs = cx.vm.buffers.frame_view();
        for (slot_out, &bi) in nexts.iter_mut().zip(frame) {
            // One data access: the packet plus 14 bytes of headroom for the L2 rewrite.
            let Some((m, d)) = bufs.meta_and_data_with_headroom_mut(bi, 14) else {
                bufs.meta_mut(bi).error = ebase + errors::NO_HEADROOM;
                continue;
            };
            let ai = m.adj_index[TX];
            if ai != last_ai {
                let Some(adj) = fib.adj(ai) else {
                    m.error = ebase + errors::ADJACENCY_DROP;
                    continue;
                };
                let tx = adj.sw_if_index;
                rw = Rewrite {
                    bytes: adj.rewrite,
                    tx,
                    mtu: im.sw(tx).map_or(0, |s| s.mtu) as usize,
                    feature_slot: features.start_slot(arc, node, tx),
                    next: fib.if_rewrite_next(tx),
                };
                last_ai = ai;
            }
            let Some(frame34) = d.first_chunk_mut::<34>() else {
                m.error = ebase + errors::TOO_SHORT;
                continue;
            };
            let (l2, ip) = frame34.split_at_mut(14);
            if m.flags & flags::LOCALLY_ORIGINATED == 0 {
                // Decremented before the check: an expired packet's header keeps TTL 0 and its
                // checksum, as VPP's (the ICMP error quotes it).
                let ttl = ip[8];
                let c = checksum::ttl_decrement(u16::from_be_bytes([ip[10], ip[11]]));
                ip[10..12].copy_from_slice(&c.to_be_bytes());
                ip[8] = ttl.wrapping_sub(1);
                if ttl <= 1 {
                    m.error = ebase + errors::TIME_EXPIRED;
                    m.sw_if_index[TX] = INVALID_INDEX;
                    set_icmp_error(m, 11, 0, 0);
                    *slot_out = rewrite_next::ICMP_ERROR;
                    expired += 1;
                    continue;
                }
            } else {
                m.flags &= !flags::LOCALLY_ORIGINATED;
            }
            let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
            if total > rw.mtu {
                if ip[6] & 0x40 != 0 {
                    m.error = ebase + errors::MTU_EXCEEDED;
                    m.sw_if_index[TX] = INVALID_INDEX;
                    set_icmp_error(m, 3, 4, rw.mtu as u32);
                    *slot_out = rewrite_next::ICMP_ERROR;
                    too_big += 1;
                } else {
                    m.error = ebase + errors::MTU_NO_FRAG;
                }
                continue;
            }
            l2.copy_from_slice(&rw.bytes);
            // Cannot fail: the headroom was checked above.
            m.push(14);
            m.sw_if_index[TX] = rw.tx;
            let cur = m.current_data();
            m.l2_hdr_offset = cur;
            m.l3_hdr_offset = cur + 14;
            m.flags |= flags::L2_HDR_OFFSET_VALID | flags::L3_HDR_OFFSET_VALID;
            *slot_out = match rw.feature_slot {
                Some(slot) => {
                    FeatureMain::enter(arc, m);
                    slot
                }
                None => rw.next,
            };
        }
        drop((fib, im, features));
        if cx.tracing() {
            trace_rewrites(cx, frame, &nexts);
        }
        cx.count_error(errors::TIME_EXPIRED, expired);
        cx.count_error(errors::MTU_EXCEEDED, too_big);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

/// What ip4-rewrite keeps of the adjacency it last used.
#[derive(Default)]
struct Rewrite {
    bytes: [u8; 14],
    tx: u32,
    mtu: usize,
    /// The slot to the interface's first ip4-output feature, if it has any.
    feature_slot: Option<u16>,
    next: u16,
}

/// Trace the rewritten packets of a frame (those sent on, not dropped or turned into an ICMP
/// error): interface, adjacency, flow hash and the first 60 bytes from the new L2 header.
#[cold]
fn trace_rewrites(cx: &mut NodeCx<'_>, frame: &[BufferIndex], nexts: &[u16]) {
    for (&bi, &nx) in frame.iter().zip(nexts) {
        let m = cx.vm.buffers.meta(bi);
        if !m.is_traced() || nx == rewrite_next::DROP || nx == rewrite_next::ICMP_ERROR {
            continue;
        }
        let (tx, ai, hash) = (m.sw_if_index[TX], m.adj_index[TX], m.flow_hash);
        let Some((bytes, c)) = head_bytes::<60>(cx, bi, 0) else {
            continue;
        };
        if let Some(r) = cx.trace(bi) {
            r.u[0] = tx as u64;
            r.u[1] = ai as u64;
            r.u[2] = hash as u64;
            trace_bytes(r, &bytes[..c], 60);
        }
    }
}

impl Node for Ip4Rewrite {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, env: &FormatEnv<'_>, s: &mut String) {
        let indent = crate::format::column(s);
        let im = env.table(self.h.interfaces);
        let adj = self
            .h
            .fib
            .read()
            .format_adj(rec.u[1] as u32, &|sw| im.name(sw));
        s.push_str(&format!(
            "tx_sw_if_index {} dpo-idx {} : {} flow hash: 0x{:08x}",
            rec.u[0] as u32 as i32, rec.u[1] as u32 as i32, adj, rec.u[2] as u32
        ));
        crate::format::newline(s, indent);
        format_hex_bytes(s, rec.data());
    }
}

/// ip4-drop: traces and drops (drop routes, unresolvable next hops).
#[derive(Clone)]
pub struct Ip4Drop;

impl Node for Ip4Drop {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let ebase = cx.error_index(0);
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
            let m = cx.vm.buffers.meta_mut(bi);
            // Keep an error set upstream (lookup sets "ip4 adjacency drop").
            if m.error == 0 {
                m.error = ebase + errors::ADJACENCY_DROP;
            }
        }
        cx.enqueue_slot(0, frame);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_forward_next(rec, s);
    }
}
