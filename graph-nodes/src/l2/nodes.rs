//! The L2 nodes, with VPP 18.01's behaviour, next tables and traces.
//!
//! Each node loads the L2 configuration snapshot once per frame; per packet it reads buffer
//! metadata, the snapshot and (for `l2-learn`, `l2-fwd`) the lock-free L2 FIB. Runs of packets of
//! one interface or one destination reuse the previous packet's lookups.

use std::net::Ipv4Addr;
use std::sync::Arc;

use engine::buffer::{flags, BufferIndex, BufferMeta, INVALID_INDEX, L2INPUT_BVI, RX, TX};
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::loopback::l2_header_len;
use engine::trace::TraceRecord;

use crate::format::{format_ethernet_arp_header, format_mac};
use crate::l2::fib::{key, L2Fib, L2Result, FLAG_FILTER, NO_RESULT};
use crate::l2::{
    feat, feature_next, minutes, out_feat, table_kind, FeatNext, IfInput, L2Config, L2Mode,
    SharedL2Config,
};

/// Ethertypes.
const ETH_IP4: u16 = 0x0800;
const ETH_IP6: u16 = 0x86dd;
const ETH_ARP: u16 = 0x0806;

/// Registrations of every L2 node, in registration order (the order fixes slot numbers).
pub fn registrations() -> Vec<NodeRegistration> {
    vec![
        NodeRegistration::new("l2-input", NodeKind::Internal)
            .nexts(&["l2-learn", "l2-fwd", "error-drop"])
            .errors(input_errors::STRINGS),
        NodeRegistration::new("l2-input-classify", NodeKind::Internal)
            .nexts(&[
                "error-drop",
                "ethernet-input-not-l2",
                "ip4-input",
                "ip6-input",
                "li-hit",
            ])
            .errors(classify_errors::STRINGS),
        NodeRegistration::new("l2-learn", NodeKind::Internal)
            .nexts(&["l2-fwd", "error-drop"])
            .errors(learn_errors::STRINGS),
        NodeRegistration::new("l2-fwd", NodeKind::Internal)
            .nexts(&[
                "l2-output",
                "l2-flood",
                "error-drop",
                "ip4-input",
                "ip6-input",
                "arp-input",
            ])
            .errors(fwd_errors::STRINGS),
        NodeRegistration::new("l2-flood", NodeKind::Internal)
            .nexts(&[
                "l2-output",
                "error-drop",
                "ip4-input",
                "ip6-input",
                "arp-input",
            ])
            .errors(flood_errors::STRINGS),
        NodeRegistration::new("l2-output", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(output_errors::STRINGS),
        NodeRegistration::new("l2-output-classify", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(classify_errors::STRINGS),
        NodeRegistration::new("arp-term-l2bd", NodeKind::Internal)
            .nexts(&["l2-output", "error-drop"])
            .errors(crate::nodes::arp::errors::STRINGS),
        NodeRegistration::new("feature-bitmap-drop", NodeKind::Internal)
            .nexts(&["error-drop"])
            .errors(&[
                "L2 feature forwarding disabled",
                "L2 feature not implemented",
            ]),
    ]
}

/// Errors of `l2-input`.
pub mod input_errors {
    /// L2 input packets
    pub const L2INPUT: u32 = 0;
    /// L2 input drops
    pub const DROP: u32 = 1;
    /// frame shorter than an ethernet header
    pub const RUNT: u32 = 2;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "L2 input packets",
        "L2 input drops",
        "frame shorter than an ethernet header",
    ];
}

/// Errors of `l2-input-classify` and `l2-output-classify`.
pub mod classify_errors {
    /// Classify misses
    pub const MISS: u32 = 0;
    /// Classify hits
    pub const HIT: u32 = 1;
    /// Classify hits after chain walk
    pub const CHAIN_HIT: u32 = 2;
    /// L2 Classify Drops
    pub const DROP: u32 = 3;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "Classify misses",
        "Classify hits",
        "Classify hits after chain walk",
        "L2 Classify Drops",
    ];
}

/// Errors of `l2-learn`.
pub mod learn_errors {
    /// L2 learn packets
    pub const L2LEARN: u32 = 0;
    /// L2 learn misses
    pub const MISS: u32 = 1;
    /// L2 mac moves
    pub const MAC_MOVE: u32 = 2;
    /// L2 mac move violations
    pub const MAC_MOVE_VIOLATE: u32 = 3;
    /// L2 not learned due to limit
    pub const LIMIT: u32 = 4;
    /// L2 learn hit updates
    pub const HIT_UPDATE: u32 = 5;
    /// L2 filter mac drops
    pub const FILTER_DROP: u32 = 6;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "L2 learn packets",
        "L2 learn misses",
        "L2 mac moves",
        "L2 mac move violations",
        "L2 not learned due to limit",
        "L2 learn hit updates",
        "L2 filter mac drops",
    ];
}

/// Errors of `l2-fwd`.
pub mod fwd_errors {
    /// L2 forward packets
    pub const L2FWD: u32 = 0;
    /// L2 forward misses
    pub const FLOOD: u32 = 1;
    /// L2 forward hits
    pub const HIT: u32 = 2;
    /// BVI L3 MAC mismatch
    pub const BVI_BAD_MAC: u32 = 3;
    /// BVI packet with unhandled ethertype
    pub const BVI_ETHERTYPE: u32 = 4;
    /// Filter Mac Drop
    pub const FILTER_DROP: u32 = 5;
    /// Reflection Drop
    pub const REFLECT_DROP: u32 = 6;
    /// Stale entry Drop
    pub const STALE_DROP: u32 = 7;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "L2 forward packets",
        "L2 forward misses",
        "L2 forward hits",
        "BVI L3 MAC mismatch",
        "BVI packet with unhandled ethertype",
        "Filter Mac Drop",
        "Reflection Drop",
        "Stale entry Drop",
    ];
}

/// Errors of `l2-flood`.
pub mod flood_errors {
    /// L2 flood packets
    pub const L2FLOOD: u32 = 0;
    /// L2 replication failures
    pub const REPL_FAIL: u32 = 1;
    /// L2 replication complete (no member to flood to)
    pub const NO_MEMBERS: u32 = 2;
    /// BVI L3 mac mismatch
    pub const BVI_BAD_MAC: u32 = 3;
    /// BVI packet with unhandled ethertype
    pub const BVI_ETHERTYPE: u32 = 4;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "L2 flood packets",
        "L2 replication failures",
        "L2 replication complete",
        "BVI L3 mac mismatch",
        "BVI packet with unhandled ethertype",
    ];
}

/// Errors of `l2-output`.
pub mod output_errors {
    /// L2 output packets
    pub const L2OUTPUT: u32 = 0;
    /// L2 EFP filter pre-rewrite drops
    pub const EFP_DROP: u32 = 1;
    /// L2 output tag rewrite drops
    pub const VTR_DROP: u32 = 2;
    /// L2 split horizon drops
    pub const SHG_DROP: u32 = 3;
    /// L2 output drops
    pub const DROP: u32 = 4;
    /// L2 Output interface not valid
    pub const MAPPING_DROP: u32 = 5;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "L2 output packets",
        "L2 EFP filter pre-rewrite drops",
        "L2 output tag rewrite drops",
        "L2 split horizon drops",
        "L2 output drops",
        "L2 Output interface not valid",
    ];
}

/// Record the (dst, src) MACs and two numbers of an L2 trace.
#[inline]
fn record_macs(rec: &mut TraceRecord, d: &[u8; 14], sw: u32, bd: u64) {
    rec.u[0] = sw as u64;
    rec.u[1] = bd;
    rec.data[..12].copy_from_slice(&d[..12]);
    rec.data_len = 12;
}

fn mac_at(rec: &TraceRecord, off: usize) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&rec.data[off..off + 6]);
    m
}

fn format_macs(s: &mut String, rec: &TraceRecord) {
    s.push_str(" dst ");
    format_mac(s, mac_at(rec, 0));
    s.push_str(" src ");
    format_mac(s, mac_at(rec, 6));
}

/// The first 14 bytes of a frame, zero-padded (traces of runts stay deterministic).
#[inline(always)]
fn head14(d: &[u8]) -> [u8; 14] {
    let mut h = [0u8; 14];
    let n = d.len().min(14);
    h[..n].copy_from_slice(&d[..n]);
    h
}

// ---------------------------------------------------------------------------------------------
// l2-input

/// `l2-input`: per-interface L2 mode, split-horizon group, bridge domain and feature bitmap.
#[derive(Clone)]
pub struct L2Input {
    /// Configuration.
    pub cfg: SharedL2Config,
    /// Slot of each input feature.
    pub feat: FeatNext,
}

/// Slot of error-drop in `l2-input`.
const L2INPUT_NEXT_DROP: u16 = 2;

/// What `l2-input` keeps of the last input interface.
#[derive(Clone, Copy)]
struct InputCache {
    sw_if_index: u32,
    ic: IfInput,
    /// The bridge domain's feature bitmap (feat::DROP if it is gone).
    bd_bitmap: u32,
    /// L2 FIB sequence numbers and MAC age for the buffer.
    sn: u16,
    age: u8,
    /// A bridged interface whose bridge domain exists: untagged unicast takes the fast path.
    fast: bool,
    /// Feature bitmap and next slot of untagged unicast.
    uc_bitmap: u32,
    uc_next: u16,
}

impl L2Input {
    #[cold]
    #[inline(never)]
    fn refresh(&self, c: &L2Config, sw: u32) -> InputCache {
        let ic = c.input(sw);
        let mut cache = InputCache {
            sw_if_index: sw,
            ic,
            bd_bitmap: 0,
            sn: 0,
            age: 0,
            fast: false,
            uc_bitmap: 0,
            uc_next: L2INPUT_NEXT_DROP,
        };
        if ic.mode == L2Mode::Bridge {
            match c.bd(ic.bd_index) {
                Some(bd) => {
                    cache.bd_bitmap = bd.feature_bitmap;
                    cache.sn = c.swif_seq(sw) as u16 | (bd.seq_num as u16) << 8;
                    cache.age = bd.mac_age;
                    cache.fast = true;
                    cache.uc_bitmap = ic.feature_bitmap & bd.feature_bitmap;
                    cache.uc_next = feature_next(&self.feat, cache.uc_bitmap);
                }
                None => cache.bd_bitmap = feat::DROP,
            }
        }
        cache
    }

    /// Everything but untagged unicast on a bridged port: tagged frames, broadcast and
    /// multicast (flooded, ARP termination), cross-connects, L3 interfaces, runts. Returns the
    /// next slot; None for a runt (dropped, not traced).
    #[cold]
    #[inline(never)]
    fn slow(&self, cx: &mut NodeCx<'_>, bi: BufferIndex, ci: &InputCache) -> Option<u16> {
        let ebase = cx.error_index(0);
        let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
        let Some(h) = d.first_chunk::<14>() else {
            m.error = ebase + input_errors::RUNT;
            return None;
        };
        let ic = &ci.ic;
        let l2_len = l2_header_len(d);
        let ethertype = match d.get(l2_len as usize - 2..l2_len as usize) {
            Some(t) => u16::from_be_bytes([t[0], t[1]]),
            None => 0,
        };
        let from_bvi = m.sw_if_index[TX] == L2INPUT_BVI;
        let mut mask = !0u32;
        let mut shg = ic.shg;
        if h[0] & 1 != 0 {
            // Broadcast / multicast: flood rather than forward.
            mask &= !(feat::FWD | feat::UU_FLOOD);
            let l3 = d.get(l2_len as usize..).unwrap_or(&[]);
            let icmp6 = ethertype == ETH_IP6 && l3.get(6) == Some(&58);
            if ethertype != ETH_ARP && !icmp6 {
                mask &= !feat::ARP_TERM;
            } else if from_bvi {
                // An ARP request (or IPv6 neighbour solicitation) from the BVI floods to
                // the tunnels too, whatever their split-horizon group.
                let request = if ethertype == ETH_ARP {
                    l3.get(6..8) == Some(&[0, 1])
                } else {
                    l3.get(40) == Some(&135)
                };
                if request {
                    shg = 0;
                }
            }
        } else if from_bvi {
            // Unicast from the BVI must not be dropped on output to a tunnel that shares
            // the BVI's split-horizon group.
            shg = 0;
        }
        let mut bd_index = 0u16;
        match ic.mode {
            L2Mode::Bridge => {
                bd_index = ic.bd_index;
                m.set_l2fib_sn(ci.sn, ci.age);
                mask &= ci.bd_bitmap;
            }
            L2Mode::Xconnect => m.sw_if_index[TX] = ic.xc_sw_if_index,
            L2Mode::L3 => mask = feat::DROP,
        }
        let bitmap = ic.feature_bitmap & mask;
        m.set_l2_bd(bd_index, l2_len, shg);
        m.set_l2_feature_bitmap(bitmap);
        m.l2_hdr_offset = m.current_data();
        m.flags |= flags::L2_HDR_OFFSET_VALID;
        Some(feature_next(&self.feat, bitmap))
    }
}

/// True for the ethertypes of VLAN tags (802.1Q, 802.1ad, the old QinQ).
#[inline(always)]
fn is_vlan(t: [u8; 2]) -> bool {
    matches!(u16::from_be_bytes(t), 0x8100 | 0x88a8 | 0x9100)
}

impl engine::march::Kernel for L2Input {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let c = self.cfg.load();
        let mut nexts = [L2INPUT_NEXT_DROP; FRAME_SIZE];
        let tracing = cx.tracing();
        let mut ci = self.refresh(&c, INVALID_INDEX);
        let n = frame.len().min(FRAME_SIZE);
        let frame = &frame[..n];
        // Packets the slow path dropped before looking at them (no trace record), one bit each.
        let mut untraced = [0u64; FRAME_SIZE / 64];
        let mut bufs = cx.vm.buffers.frame_view();
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = bufs.meta_and_data_mut(bi);
            let sw = m.sw_if_index[RX];
            if sw != ci.sw_if_index {
                ci = self.refresh(&c, sw);
            }
            let fast = match d.first_chunk::<14>() {
                Some(h) => ci.fast && h[0] & 1 == 0 && !is_vlan([h[12], h[13]]),
                None => false,
            };
            if fast {
                // Untagged unicast on a bridged port: the interface's bitmap and next.
                let shg = if m.sw_if_index[TX] == L2INPUT_BVI {
                    0
                } else {
                    ci.ic.shg
                };
                m.set_l2fib_sn(ci.sn, ci.age);
                m.set_l2_bd(ci.ic.bd_index, 14, shg);
                m.set_l2_feature_bitmap(ci.uc_bitmap);
                m.l2_hdr_offset = m.current_data();
                m.flags |= flags::L2_HDR_OFFSET_VALID;
                nexts[k] = ci.uc_next;
            } else {
                match self.slow(cx, bi, &ci) {
                    Some(n) => nexts[k] = n,
                    None => untraced[k / 64] |= 1 << (k % 64),
                }
                bufs = cx.vm.buffers.frame_view();
            }
        }
        if tracing {
            for (k, &bi) in frame.iter().enumerate() {
                if untraced[k / 64] & 1 << (k % 64) != 0 || !cx.vm.buffers.meta(bi).is_traced() {
                    continue;
                }
                let sw = cx.vm.buffers.meta(bi).sw_if_index[RX];
                let h = head14(cx.vm.buffers.data(bi));
                if let Some(r) = cx.trace(bi) {
                    record_macs(r, &h, sw, 0);
                }
            }
        }
        cx.count_error(input_errors::L2INPUT, n as u64);
        cx.enqueue(frame, &nexts[..n]);
    }
}

impl Node for L2Input {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!("l2-input: sw_if_index {}", rec.u[0] as u32 as i32));
        format_macs(s, rec);
    }
}

// ---------------------------------------------------------------------------------------------
// l2-input-classify / l2-output-classify

/// `l2-input-classify` (or `l2-output-classify`): the per-interface classify tables the ACL
/// plugin hooks in; a miss goes to the table's miss next (the ACL node), no table to the next L2
/// feature.
#[derive(Clone)]
pub struct L2Classify {
    /// Configuration.
    pub cfg: SharedL2Config,
    /// Output direction (tables by `sw_if_index[TX]`, output feature bits).
    pub output: bool,
    /// Slot of each feature (input or output bits).
    pub feat: FeatNext,
}

impl Node for L2Classify {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let c = self.cfg.load();
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let n_nexts = cx.n_nexts() as u32;
        let tracing = cx.tracing();
        let own_bit = if self.output {
            out_feat::OUTPUT_CLASSIFY
        } else {
            feat::INPUT_CLASSIFY
        };
        let dir = if self.output { TX } else { RX };
        let (mut hits, mut misses, mut chain_hits) = (0u64, 0u64, 0u64);
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let sw = m.sw_if_index[dir];
            let ty = match d.get(12..14) {
                Some(t) => u16::from_be_bytes([t[0], t[1]]),
                None => 0,
            };
            let kind = match ty {
                ETH_IP4 => table_kind::IP4,
                ETH_IP6 => table_kind::IP6,
                _ => table_kind::OTHER,
            };
            let first = c.table_of(self.output, kind, sw);
            let mut next = u32::MAX;
            let mut offset = 0u32;
            let mut t = first;
            let mut chained = false;
            while let Some(table) = c.table(t) {
                let hit = table.vlan_sessions.iter().position(|(tpids, inner, _)| {
                    let mut off = 12;
                    for &tp in tpids {
                        if d.get(off..off + 2) != Some(&tp.to_be_bytes()[..]) {
                            return false;
                        }
                        off += 4;
                    }
                    d.get(off..off + 2) == Some(&inner.to_be_bytes()[..])
                });
                if let Some(si) = hit {
                    let n = table.vlan_sessions[si].2;
                    if n < n_nexts {
                        next = n;
                    }
                    offset = si as u32;
                    hits += 1;
                    chain_hits += chained as u64;
                    break;
                }
                if table.next_table != u32::MAX {
                    t = table.next_table;
                    chained = true;
                    continue;
                }
                if table.miss_next < n_nexts {
                    next = table.miss_next;
                }
                misses += 1;
                break;
            }
            if next == 0 {
                m.error = ebase + classify_errors::DROP;
            }
            let bitmap = m.l2_feature_bitmap() & !own_bit;
            m.set_l2_feature_bitmap(bitmap);
            let slot = if next == u32::MAX {
                feature_next(&self.feat, bitmap)
            } else {
                next as u16
            };
            nexts[k] = slot;
            if tracing && m.is_traced() {
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = sw as u64;
                    r.u[1] = first as u64;
                    r.u[2] = offset as u64;
                    r.u[3] = slot as u64;
                }
            }
        }
        cx.count_error(classify_errors::MISS, misses);
        cx.count_error(classify_errors::HIT, hits);
        cx.count_error(classify_errors::CHAIN_HIT, chain_hits);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "l2-classify: sw_if_index {}, table {}, offset {:x}, next {}",
            rec.u[0] as u32 as i32, rec.u[1] as u32 as i32, rec.u[2] as u32, rec.u[3] as u32
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// l2-learn

/// `l2-learn`: learns source MACs into the L2 FIB (new MACs, moves, timestamp refreshes).
#[derive(Clone)]
pub struct L2Learn {
    /// Configuration.
    pub cfg: SharedL2Config,
    /// The L2 FIB.
    pub fib: Arc<L2Fib>,
    /// Slot of each input feature.
    pub feat: FeatNext,
}

/// Slot of error-drop in `l2-learn`.
const L2LEARN_NEXT_DROP: u16 = 1;

impl engine::march::Kernel for L2Learn {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let now = minutes(cx.now_ns());
        let mut counts = [0u64; 7];
        let mut updates = 0u32;
        let (mut cached_key, mut cached) = (u64::MAX, NO_RESULT);
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let h = head14(d);
            let sw = m.sw_if_index[RX];
            let bd = m.l2_bd_index();
            let src = [h[6], h[7], h[8], h[9], h[10], h[11]];
            let kk = key(&src, bd);
            let raw = if kk == cached_key {
                cached
            } else {
                let r = self.fib.lookup(kk);
                (cached_key, cached) = (kk, r);
                r
            };
            let bitmap = m.l2_feature_bitmap() & !feat::LEARN;
            m.set_l2_feature_bitmap(bitmap);
            nexts[k] = feature_next(&self.feat, bitmap);
            let sn = m.l2fib_sn();
            let bd_age = m.l2_bd_age();
            let mut write: Option<L2Result> = None;
            if raw != NO_RESULT && L2Result::from_raw(raw).sw_if_index == sw {
                let r = L2Result::from_raw(raw);
                let dtime = now.wrapping_sub(r.timestamp);
                let dsn = r.sn != sn;
                let stale = (dtime != 0 && bd_age != 0) || dsn;
                // Up to date, static, or (past the first few refreshes of this frame) just one
                // minute behind: nothing to write.
                if stale && !r.age_not() && !(updates > 2 && dtime == 1 && !dsn) {
                    counts[learn_errors::HIT_UPDATE as usize] += 1;
                    updates += 1;
                    write = Some(L2Result {
                        timestamp: now,
                        sn,
                        ..r
                    });
                }
            } else if raw == NO_RESULT {
                counts[learn_errors::MISS as usize] += 1;
                if src != [0; 6] {
                    write = Some(L2Result {
                        sw_if_index: sw,
                        flags: 0,
                        timestamp: now,
                        sn,
                    });
                }
            } else {
                let r = L2Result::from_raw(raw);
                if r.flags & FLAG_FILTER != 0 {
                    m.error = ebase + learn_errors::FILTER_DROP;
                    nexts[k] = L2LEARN_NEXT_DROP;
                } else if r.is_static() {
                    // A static MAC never moves: the packet is dropped.
                    m.error = ebase + learn_errors::MAC_MOVE_VIOLATE;
                    nexts[k] = L2LEARN_NEXT_DROP;
                } else {
                    counts[learn_errors::MAC_MOVE as usize] += 1;
                    write = Some(L2Result {
                        sw_if_index: sw,
                        flags: r.flags & !crate::l2::fib::FLAG_AGE_NOT,
                        timestamp: now,
                        sn,
                    });
                }
            }
            if let Some(w) = write {
                let ok = if raw == NO_RESULT {
                    self.fib.insert(kk, w).is_ok()
                } else {
                    self.fib.update_if(kk, raw, w)
                };
                if !ok && raw == NO_RESULT {
                    counts[learn_errors::LIMIT as usize] += 1;
                }
                cached_key = u64::MAX;
            }
            if tracing && m.is_traced() {
                if let Some(r) = cx.trace(bi) {
                    record_macs(r, &h, sw, bd as u64);
                }
            }
        }
        cx.count_error(learn_errors::L2LEARN, frame.len() as u64);
        for code in [
            learn_errors::MISS,
            learn_errors::MAC_MOVE,
            learn_errors::LIMIT,
            learn_errors::HIT_UPDATE,
        ] {
            cx.count_error(code, counts[code as usize]);
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for L2Learn {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!("l2-learn: sw_if_index {}", rec.u[0] as u32 as i32));
        format_macs(s, rec);
        s.push_str(&format!(" bd_index {}", rec.u[1]));
    }
}

// ---------------------------------------------------------------------------------------------
// BVI

/// Slots shared by `l2-fwd` and `l2-flood` towards the routed side (after their first slots).
#[derive(Clone, Copy)]
struct L3Next {
    ip4: u16,
    ip6: u16,
    arp: u16,
}

/// Why a frame cannot go to the BVI.
enum BviError {
    BadMac,
    Ethertype,
}

/// Hand a frame from the bridge domain to the routed side through the BVI (VPP's `l2_to_bvi`):
/// check the destination MAC, strip the L2 header, make the BVI the receive interface. Returns
/// the slot of the L3 input node and the packet's length for the BVI's receive counters (the
/// caller adds them).
#[inline(always)]
fn l2_to_bvi(
    m: &mut BufferMeta,
    d: &[u8],
    bvi_sw: u32,
    bvi_mac: &[u8; 6],
    l3: L3Next,
) -> Result<(u16, u64), BviError> {
    let l2_len = m.l2_len().max(14) as usize;
    let (dst, ethertype) = match d.get(..l2_len) {
        Some(h) => (&h[..6], u16::from_be_bytes([h[l2_len - 2], h[l2_len - 1]])),
        None => return Err(BviError::Ethertype),
    };
    if dst[0] & 1 == 0 && dst != bvi_mac {
        return Err(BviError::BadMac);
    }
    let next = match ethertype {
        ETH_IP4 => l3.ip4,
        ETH_IP6 => l3.ip6,
        ETH_ARP => l3.arp,
        _ => return Err(BviError::Ethertype),
    };
    m.l2_hdr_offset = m.current_data();
    if !m.strip(l2_len as u16) {
        return Err(BviError::Ethertype);
    }
    m.l3_hdr_offset = m.current_data();
    m.flags |= flags::L3_HDR_OFFSET_VALID;
    m.sw_if_index = [bvi_sw, INVALID_INDEX];
    Ok((next, m.current_length() as u64))
}

// ---------------------------------------------------------------------------------------------
// l2-fwd

/// `l2-fwd`: destination MAC lookup; forward to `l2-output`, to the BVI, or flood.
#[derive(Clone)]
pub struct L2Fwd {
    /// Configuration.
    pub cfg: SharedL2Config,
    /// The L2 FIB.
    pub fib: Arc<L2Fib>,
    /// Each packet's receive interface as it arrived (a BVI packet's becomes the BVI), for the
    /// trace pass; kept in the node so that no frame pays for clearing it.
    pub(crate) rx_of: Box<[u32; FRAME_SIZE]>,
}

mod fwd_next {
    pub const L2_OUTPUT: u16 = 0;
    pub const FLOOD: u16 = 1;
    pub const DROP: u16 = 2;
}

const FWD_L3: L3Next = L3Next {
    ip4: 3,
    ip6: 4,
    arp: 5,
};

/// What `l2-fwd` does with a (destination, bridge domain, input interface, sequence numbers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FwdAction {
    /// To `l2-output` on this interface.
    Output(u32),
    /// Up to the routed side through this BVI (with its MAC).
    Bvi(u32, [u8; 6]),
    /// Dropped with this error.
    Drop(u32),
    /// Not forwardable (unknown or stale): flooded if the bitmap has uu-flood, else dropped
    /// with this error.
    Flood(u32),
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

impl L2Fwd {
    /// Look `kk` up and decide, for a packet from `sw` with sequence numbers `in_sn`.
    #[inline(never)]
    fn decide(&self, c: &L2Config, kk: u64, sw: u32, in_sn: u16) -> (FwdAction, bool) {
        let raw = self.fib.lookup(kk);
        if raw == NO_RESULT {
            return (FwdAction::Flood(fwd_errors::FLOOD), false);
        }
        let r = L2Result::from_raw(raw);
        let valid = r.age_not() || (in_sn & 0xff00) | c.swif_seq(r.sw_if_index) as u16 == r.sn;
        let action = if !valid {
            FwdAction::Flood(fwd_errors::STALE_DROP)
        } else if sw == r.sw_if_index {
            FwdAction::Drop(fwd_errors::REFLECT_DROP)
        } else if r.is_filter() {
            FwdAction::Drop(fwd_errors::FILTER_DROP)
        } else if r.is_bvi() {
            FwdAction::Bvi(r.sw_if_index, c.input(r.sw_if_index).bvi_mac)
        } else {
            FwdAction::Output(r.sw_if_index)
        };
        (action, true)
    }
}

impl engine::march::Kernel for L2Fwd {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let c = self.cfg.load();
        let mut nexts = [fwd_next::DROP; FRAME_SIZE];
        let tracing = cx.tracing();
        // The last lookup: (key, input interface, sequence numbers) -> (action, FIB hit).
        let mut cached = ((u64::MAX, u32::MAX, 0u16), (FwdAction::Drop(0), false));
        let mut hits = 0u64;
        // Receive counters of the BVI packets go up to: (sw_if_index, packets, bytes).
        let mut bvi_rx = (u32::MAX, 0u64, 0u64);
        let n = frame.len().min(FRAME_SIZE);
        let frame = &frame[..n];
        let ebase = cx.error_index(0);
        let mut bufs = cx.vm.buffers.frame_view();
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = bufs.meta_and_data_mut(bi);
            let dst = match d.first_chunk::<6>() {
                Some(h) => *h,
                None => [0; 6],
            };
            let sw = m.sw_if_index[RX];
            let bd = m.l2_bd_index();
            let in_sn = m.l2fib_sn();
            let bitmap = m.l2_feature_bitmap();
            if tracing {
                self.rx_of[k] = sw;
            }
            let id = (key(&dst, bd), sw, in_sn);
            if id != cached.0 {
                cached = (id, self.decide(&c, id.0, sw, in_sn));
            }
            let (action, hit) = cached.1;
            hits += hit as u64;
            nexts[k] = match action {
                FwdAction::Output(tx) => {
                    m.sw_if_index[TX] = tx;
                    fwd_next::L2_OUTPUT
                }
                FwdAction::Bvi(bvi, mac) => match l2_to_bvi(m, d, bvi, &mac, FWD_L3) {
                    Ok((next, len)) => {
                        if bvi_rx.0 != bvi {
                            flush_rx(cx, bvi_rx);
                            bufs = cx.vm.buffers.frame_view();
                            bvi_rx = (bvi, 0, 0);
                        }
                        bvi_rx.1 += 1;
                        bvi_rx.2 += len;
                        next
                    }
                    Err(BviError::BadMac) => {
                        m.error = ebase + fwd_errors::BVI_BAD_MAC;
                        fwd_next::DROP
                    }
                    Err(BviError::Ethertype) => {
                        m.error = ebase + fwd_errors::BVI_ETHERTYPE;
                        fwd_next::DROP
                    }
                },
                FwdAction::Drop(e) => {
                    m.error = ebase + e;
                    fwd_next::DROP
                }
                FwdAction::Flood(_) if bitmap & feat::UU_FLOOD != 0 => fwd_next::FLOOD,
                FwdAction::Flood(e) => {
                    m.error = ebase + e;
                    fwd_next::DROP
                }
            };
        }
        if tracing {
            for (k, &bi) in frame.iter().enumerate() {
                let m = cx.vm.buffers.meta(bi);
                if !m.is_traced() {
                    continue;
                }
                // The header as it arrived (a BVI packet's is now in front of the data).
                let (l2, bd) = (m.l2_hdr_offset, m.l2_bd_index());
                let h = head14(cx.vm.buffers.raw_from(bi, l2));
                let sw = self.rx_of[k];
                if let Some(r) = cx.trace(bi) {
                    record_macs(r, &h, sw, bd as u64);
                }
            }
        }
        flush_rx(cx, bvi_rx);
        cx.count_error(fwd_errors::L2FWD, frame.len() as u64);
        cx.count_error(fwd_errors::HIT, hits);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for L2Fwd {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!("l2-fwd:   sw_if_index {}", rec.u[0] as u32 as i32));
        format_macs(s, rec);
        s.push_str(&format!(" bd_index {}", rec.u[1]));
    }
}

// ---------------------------------------------------------------------------------------------
// l2-flood

/// `l2-flood`: a copy to every member of the bridge domain but the input interface and the
/// members of its split-horizon group; the BVI (first in the list, so served last) gets its copy
/// through the routed side.
#[derive(Clone)]
pub struct L2Flood {
    /// Configuration.
    pub cfg: SharedL2Config,
}

mod flood_next {
    pub const L2_OUTPUT: u16 = 0;
    pub const DROP: u16 = 1;
}

const FLOOD_L3: L3Next = L3Next {
    ip4: 2,
    ip6: 3,
    arp: 4,
};

impl Node for L2Flood {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let c = self.cfg.load();
        let tracing = cx.tracing();
        // Copies can outnumber the frame: enqueue as we go, in small batches per next.
        let mut out: smallvec::SmallVec<[(BufferIndex, u16); 64]> = smallvec::SmallVec::new();
        let (mut flooded, mut fails) = (0u64, 0u64);
        for &bi in frame {
            let m = *cx.vm.buffers.meta(bi);
            let h = head14(cx.vm.buffers.data(bi));
            let rx = m.sw_if_index[RX];
            let in_shg = m.l2_shg();
            let bd_index = m.l2_bd_index();
            if tracing && m.is_traced() {
                if let Some(r) = cx.trace(bi) {
                    record_macs(r, &h, rx, bd_index as u64);
                }
            }
            flooded += 1;
            let eligible =
                |mb: &crate::l2::Member| mb.sw_if_index != rx && !(in_shg != 0 && mb.shg == in_shg);
            let n = c
                .bd(bd_index)
                .map_or(0, |bd| bd.members.iter().filter(|mb| eligible(mb)).count());
            let Some(bd) = c.bd(bd_index).filter(|_| n > 0) else {
                cx.set_error(bi, flood_errors::NO_MEMBERS);
                out.push((bi, flood_next::DROP));
                if out.len() >= 48 {
                    flush(cx, &mut out);
                }
                continue;
            };
            let targets = bd.members.iter().rev().filter(|mb| eligible(mb));
            for (i, mb) in targets.enumerate() {
                // The original goes to the last member; the others get copies.
                let b = if i + 1 == n {
                    bi
                } else {
                    match cx.vm.buffers.copy_buffer(bi) {
                        Some(b) => b,
                        None => {
                            fails += 1;
                            continue;
                        }
                    }
                };
                let next = if mb.bvi {
                    let mac = c.input(mb.sw_if_index).bvi_mac;
                    let (bm, bd) = cx.vm.buffers.meta_and_data_mut(b);
                    match l2_to_bvi(bm, bd, mb.sw_if_index, &mac, FLOOD_L3) {
                        Ok((n, len)) => {
                            let ctr = cx.vm.if_counters_mut(mb.sw_if_index);
                            ctr.rx_packets += 1;
                            ctr.rx_bytes += len;
                            n
                        }
                        Err(BviError::BadMac) => {
                            cx.set_error(b, flood_errors::BVI_BAD_MAC);
                            flood_next::DROP
                        }
                        Err(BviError::Ethertype) => {
                            cx.set_error(b, flood_errors::BVI_ETHERTYPE);
                            flood_next::DROP
                        }
                    }
                } else {
                    cx.vm.buffers.meta_mut(b).sw_if_index[TX] = mb.sw_if_index;
                    flood_next::L2_OUTPUT
                };
                out.push((b, next));
                if out.len() >= 48 {
                    flush(cx, &mut out);
                }
            }
        }
        flush(cx, &mut out);
        cx.count_error(flood_errors::L2FLOOD, flooded);
        cx.count_error(flood_errors::REPL_FAIL, fails);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!("l2-flood: sw_if_index {}", rec.u[0] as u32 as i32));
        format_macs(s, rec);
        s.push_str(&format!(" bd_index {}", rec.u[1]));
    }
}

/// Enqueue collected (buffer, slot) pairs.
fn flush(cx: &mut NodeCx<'_>, out: &mut smallvec::SmallVec<[(BufferIndex, u16); 64]>) {
    for chunk in out.chunks(64) {
        let mut bufs = [0u32; 64];
        let mut nexts = [0u16; 64];
        for (k, &(b, n)) in chunk.iter().enumerate() {
            bufs[k] = b;
            nexts[k] = n;
        }
        let n = chunk.len();
        cx.enqueue(&bufs[..n], &nexts[..n]);
    }
    out.clear();
}

// ---------------------------------------------------------------------------------------------
// l2-output

/// `l2-output`: output features, split horizon, and the interface's output node.
#[derive(Clone)]
pub struct L2Output {
    /// Configuration.
    pub cfg: SharedL2Config,
    /// Slot of each output feature.
    pub feat: FeatNext,
}

impl engine::march::Kernel for L2Output {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let c = self.cfg.load();
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let mut last_sw = u32::MAX;
        let mut oc = c.output(0);
        let mut shg_drops = 0u64;
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let sw = m.sw_if_index[TX];
            if sw != last_sw {
                last_sw = sw;
                oc = c.output(sw);
            }
            let bitmap = oc.feature_bitmap;
            let mut next = if bitmap & !out_feat::OUTPUT != 0 {
                m.set_l2_feature_bitmap(bitmap);
                feature_next(&self.feat, bitmap)
            } else {
                if oc.next == 0 {
                    m.error = ebase + output_errors::MAPPING_DROP;
                }
                oc.next
            };
            if oc.shg != 0 && oc.shg == m.l2_shg() {
                next = 0;
                m.error = ebase + output_errors::SHG_DROP;
                shg_drops += 1;
            }
            nexts[k] = next;
            if tracing && m.is_traced() {
                let mut raw = [0u8; 24];
                let n = d.len().min(24);
                raw[..n].copy_from_slice(&d[..n]);
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = sw as u64;
                    r.data[..24].copy_from_slice(&raw);
                    r.data_len = 24;
                }
            }
        }
        let _ = shg_drops;
        cx.count_error(output_errors::L2OUTPUT, frame.len() as u64);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for L2Output {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "l2-output: sw_if_index {}",
            rec.u[0] as u32 as i32
        ));
        format_macs(s, rec);
        s.push_str(" data");
        for b in &rec.data[12..24] {
            s.push_str(&format!(" {b:02x}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// arp-term-l2bd

/// `arp-term-l2bd`: answers ARP requests for addresses in the bridge domain's ARP termination
/// table in place (back out of the input interface); everything else goes on.
#[derive(Clone)]
pub struct ArpTerm {
    /// Configuration.
    pub cfg: SharedL2Config,
    /// Slot of each input feature.
    pub feat: FeatNext,
}

mod arp_term_next {
    pub const L2_OUTPUT: u16 = 0;
    pub const DROP: u16 = 1;
}

impl Node for ArpTerm {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        use crate::nodes::arp::errors as e;
        let c = self.cfg.load();
        let mut nexts = [0u16; FRAME_SIZE];
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let mut replies = 0u64;
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let l2_len = m.l2_len().max(14) as usize;
            let is_request = m.l2_shg() == 0
                && d.get(l2_len - 2..l2_len) == Some(&[0x08, 0x06][..])
                && d.len() >= l2_len + 28
                && d[l2_len + 6..l2_len + 8] == [0, 1];
            let go_on = |m: &mut engine::buffer::BufferMeta, feat: &FeatNext| {
                let b = m.l2_feature_bitmap() & !feat::ARP_TERM;
                m.set_l2_feature_bitmap(b);
                feature_next(feat, b)
            };
            if !is_request {
                nexts[k] = go_on(m, &self.feat);
                continue;
            }
            if tracing && m.is_traced() {
                let mut tmp = [0u8; 28];
                tmp.copy_from_slice(&d[l2_len..l2_len + 28]);
                let _ = (m, d);
                if let Some(r) = cx.trace(bi) {
                    r.data[..28].copy_from_slice(&tmp);
                    r.data_len = 28;
                }
            }
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let arp = &d[l2_len..l2_len + 28];
            let bad = if arp[0..2] != [0, 1] {
                Some(e::L2_TYPE_NOT_ETHERNET)
            } else if arp[2..4] != [0x08, 0x00] {
                Some(e::L3_TYPE_NOT_IP4)
            } else if d[6..12] != arp[8..14] {
                Some(e::L2_ADDRESS_MISMATCH)
            } else {
                None
            };
            if let Some(err) = bad {
                m.error = ebase + err;
                nexts[k] = arp_term_next::DROP;
                continue;
            }
            let target = Ipv4Addr::new(arp[24], arp[25], arp[26], arp[27]);
            let Some(mac) = c.bd(m.l2_bd_index()).and_then(|b| b.arp_lookup(target)) else {
                nexts[k] = go_on(m, &self.feat);
                continue;
            };
            // Turn the request into the reply, in place.
            let mut sender = [0u8; 10];
            sender.copy_from_slice(&d[l2_len + 8..l2_len + 18]);
            let a = &mut d[l2_len..l2_len + 28];
            a[6..8].copy_from_slice(&[0, 2]);
            a[18..28].copy_from_slice(&sender);
            a[8..14].copy_from_slice(&mac);
            a[14..18].copy_from_slice(&target.octets());
            let (dst, src) = d.split_at_mut(6);
            dst.copy_from_slice(&src[..6]);
            src[..6].copy_from_slice(&mac);
            replies += 1;
            let rx = m.sw_if_index[RX];
            if c.input(rx).bvi {
                // Replies to the BVI go through l2-fwd (l2-output cannot send to a BVI).
                let b = m.l2_feature_bitmap() | feat::FWD;
                m.set_l2_feature_bitmap(b);
                m.sw_if_index[RX] = 0;
                nexts[k] = go_on(m, &self.feat);
            } else {
                m.sw_if_index[TX] = rx;
                nexts[k] = arp_term_next::L2_OUTPUT;
            }
        }
        cx.count_error(e::REPLIES_SENT, replies);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ethernet_arp_header(s, rec.data(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// feature-bitmap-drop

/// `feature-bitmap-drop`: the last-chance drop of the feature bitmaps (an L3 interface's frame
/// that reached `l2-input`, a bridge domain with forwarding off).
#[derive(Clone)]
pub struct FeatureBitmapDrop;

impl Node for FeatureBitmapDrop {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let tracing = cx.tracing();
        for &bi in frame {
            let bitmap = cx.vm.buffers.meta(bi).l2_feature_bitmap();
            cx.set_error(bi, 0);
            if tracing && cx.vm.buffers.meta(bi).is_traced() {
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = bitmap as u64;
                }
            }
        }
        cx.enqueue_slot(0, frame);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "feat_bitmap_drop: feature bitmap 0x{:08x}",
            rec.u[0] as u32
        ));
    }
}
