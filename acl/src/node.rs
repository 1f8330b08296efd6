//! The nodes `acl-plugin-in-ip4-fa` and `acl-plugin-out-ip4-fa` (VPP 18.01 `acl_fa_node_fn`).
//!
//! Per packet: extract the 5-tuple; look the session key up (if the thread has sessions); on a
//! hit, account the packet on the session (action 3, trace `acl -1 rule <session>`, trace bit
//! `0x80000000`, plus `0x00010000 | old << 8 | new` when the timeout type changes); otherwise
//! classify against the interface's ACL list (action of the first matching rule, or 0). Action 2
//! creates a session. Actions 1..3 continue on the feature arc; 0 goes to slot 0, error-drop, with
//! the reason counted. As in VPP, `trace_bits` accumulate over the frame (the variable is not
//! reset per packet).
//!
//! The configuration and the thread's session table are locked once per frame; the loop does no
//! allocation (the session table is grown for a whole frame before it).

use std::sync::Arc;

use engine::buffer::{flags, BufferIndex, RX, TX};
use engine::feature::SharedFeatures;
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::trace::TraceRecord;

use crate::session::{AddResult, Sessions, MAX_DELETES_PER_FRAME};
use crate::tuple::{format_trace_body, Tuple};
use crate::{SharedAcl, IN_NODE, OUT_NODE};

/// Error (counter) codes, VPP's `foreach_acl_fa_error`, then one of ours.
pub mod errors {
    /// ACL deny packets
    pub const ACL_DROP: u32 = 0;
    /// ACL permit packets
    pub const ACL_PERMIT: u32 = 1;
    /// new sessions added
    pub const NEW_SESSION: u32 = 2;
    /// existing session packets
    pub const EXIST_SESSION: u32 = 3;
    /// checked packets
    pub const CHECK: u32 = 4;
    /// restart session timer
    pub const RESTART_SESSION_TIMER: u32 = 5;
    /// too many sessions to add new
    pub const TOO_MANY_SESSIONS: u32 = 6;
    /// packet not on a feature arc
    pub const NO_ARC: u32 = 7;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "ACL deny packets",
        "ACL permit packets",
        "new sessions added",
        "existing session packets",
        "checked packets",
        "restart session timer",
        "too many sessions to add new",
        "packet not on a feature arc",
    ];
}

/// Registration of the input or output node (slot 0 is error-drop).
pub fn registration(is_input: bool) -> NodeRegistration {
    NodeRegistration::new(
        if is_input { IN_NODE } else { OUT_NODE },
        NodeKind::Internal,
    )
    .nexts(&["error-drop"])
    .errors(errors::STRINGS)
}

/// Registration of the L2 input or output node (`acl-plugin-in-ip4-l2`,
/// `acl-plugin-out-ip4-l2`); slot 0 is error-drop, the L2 feature slots follow.
pub fn registration_l2(is_input: bool) -> NodeRegistration {
    NodeRegistration::new(
        if is_input {
            crate::IN_L2_NODE
        } else {
            crate::OUT_L2_NODE
        },
        NodeKind::Internal,
    )
    .nexts(&["error-drop"])
    .errors(errors::STRINGS)
}

/// Trace bit: the packet hit an existing session.
pub const TRACE_SESSION_HIT: u32 = 0x8000_0000;
/// Trace bit: the session's timeout type changed (`| old << 8 | new`).
pub const TRACE_TIMEOUT_CHANGE: u32 = 0x0001_0000;

/// Pass-1 marker: no session lookup was done for the packet.
const NO_LOOKUP: u32 = u32::MAX;
/// Lookup result: no session (the session table's "none").
const NO_SESSION: u32 = u32::MAX;

/// The node (one instance for each direction).
#[derive(Clone)]
pub struct AclNode {
    /// Input (`ip4-unicast`) or output (`ip4-output`).
    pub is_input: bool,
    /// Configuration.
    pub main: SharedAcl,
    /// Sessions.
    pub sessions: Arc<Sessions>,
    /// Feature arcs.
    pub features: SharedFeatures,
    /// L2 path (`-ip4-l2` nodes): the packet is at its Ethernet header and the next node comes
    /// from the L2 feature bitmap through these slots (VPP's `vnet_l2_feature_next`).
    pub l2: Option<graph_nodes::l2::FeatNext>,
    scratch: Box<Scratch>,
    /// The last frame was mostly runs of one flow (see `kernel`).
    repeats: bool,
}

/// Per-frame arrays of pass 1, kept in the node so that no frame pays for zeroing them (every
/// slot a frame reads is written by that frame first).
#[derive(Clone)]
struct Scratch {
    tuples: [Tuple; FRAME_SIZE],
    sws: [u32; FRAME_SIZE],
    cand: [u32; FRAME_SIZE],
    keys: [(u64, u64); FRAME_SIZE],
    lookups: [u16; FRAME_SIZE],
}

impl AclNode {
    /// The node for one direction.
    pub fn new(
        is_input: bool,
        main: SharedAcl,
        sessions: Arc<Sessions>,
        features: SharedFeatures,
    ) -> Self {
        AclNode {
            is_input,
            main,
            sessions,
            features,
            l2: None,
            repeats: false,
            scratch: Box::new(Scratch {
                tuples: [Tuple::default(); FRAME_SIZE],
                sws: [0; FRAME_SIZE],
                cand: [NO_LOOKUP; FRAME_SIZE],
                keys: [(0, 0); FRAME_SIZE],
                lookups: [0; FRAME_SIZE],
            }),
        }
    }
}

impl engine::march::Kernel for AclNode {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        // Runs of one flow (a frame of one TCP stream) reuse the classification of the packet
        // before; a frame of distinct flows runs the loop without that check, whose compare and
        // live registers cost more than they save there. The frame before decides (the result
        // is the same either way, only the speed differs).
        if self.repeats {
            self.run::<true>(cx, frame)
        } else {
            self.run::<false>(cx, frame)
        }
    }
}

impl AclNode {
    #[inline(always)]
    fn run<const CACHE: bool>(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let is_input = self.is_input;
        let dir = if is_input { RX } else { TX };
        let am = cx.config().get(self.main);
        let features = cx.config().get(self.features);
        let cfg = &self.sessions.cfg;
        let mut st = self.sessions.thread(cx.vm.thread_index).lock();
        let now = cx.now_ns();
        let timeouts = cfg.timeouts_ns();
        st.expire(now, &timeouts, cfg, MAX_DELETES_PER_FRAME);
        st.reserve(frame.len());
        let classifiers = &am.classifiers[dir];
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        // Frames never exceed FRAME_SIZE; saying so lets the compiler drop bounds checks.
        let n = frame.len().min(FRAME_SIZE);
        let frame = &frame[..n];

        // Pass 1: 5-tuples and session keys. Pass 1b: the session lookups of the whole frame, in
        // a loop of their own, so that the cache misses of independent lookups overlap.
        let Scratch {
            tuples,
            sws,
            cand,
            keys,
            lookups,
        } = &mut *self.scratch;
        let mut n_lookups = 0usize;
        let any_session = !st.is_empty();
        for (k, &bi) in frame.iter().enumerate() {
            let m = cx.vm.buffers.meta(bi);
            let sw = m.sw_if_index[dir];
            let l3 = if self.l2.is_some() {
                m.l2_len().max(14) as usize
            } else if is_input {
                0
            } else if m.flags & flags::L3_HDR_OFFSET_VALID != 0 {
                (m.l3_hdr_offset as isize - m.current_data() as isize).max(0) as usize
            } else {
                14
            };
            let reass = m.reass_l4();
            let mut t = Tuple::parse(cx.vm.buffers.data(bi), l3).unwrap_or_default();
            if let Some(r) = reass {
                // A fragment after the first: its datagram's L4 fields (shallow reassembly).
                t.with_reass(r);
            }
            if any_session && st.may_have(sw) {
                keys[n_lookups] = t.session_key(sw, is_input);
                lookups[n_lookups] = k as u16;
                n_lookups += 1;
            }
            tuples[k] = t;
            sws[k] = sw;
            cand[k] = NO_LOOKUP;
        }
        // Whether the next frame takes the CACHE loop: sampled on every eighth packet.
        let (mut samples, mut repeats) = (0usize, 0usize);
        for k in (1..n).step_by(8) {
            samples += 1;
            repeats +=
                (tuples[k].packed() == tuples[k - 1].packed() && sws[k] == sws[k - 1]) as usize;
        }
        self.repeats = repeats * 2 > samples;
        for j in 0..n_lookups {
            let (k0, k1) = keys[j];
            cand[lookups[j] as usize] = st.lookup(k0, k1);
        }

        // Pass 2: decisions. A lookup of pass 1 is redone once this frame changed the table.
        let mut nexts = [0u16; FRAME_SIZE];
        let mut trace_bits = 0u32;
        let mut changed = false;
        // The feature arc's next slot of the last (arc, interface, position): the same for every
        // packet that matches it while the configuration is locked.
        let mut last_hop = (u8::MAX, u32::MAX, 0u8, 0u16);
        let (mut n_permit, mut n_new, mut n_exist, mut n_restart) = (0u64, 0u64, 0u64, 0u64);
        // Rule counters are added in runs of the same (ACL, rule), as VPP does: one table
        // access per run instead of per packet.
        let mut run = (u32::MAX, u32::MAX, 0u64, 0u64);
        // The last classification (CACHE only): key, interface, result.
        let mut last = ((u64::MAX, u64::MAX), u32::MAX, None);
        for k in 0..n {
            let bi = frame[k];
            let t = tuples[k];
            let sw = sws[k];
            let tcp_flags = t.tcp_flags_valid().then_some(t.tcp_flags);
            let mut action = 0u8;
            let mut acl = u32::MAX;
            let mut rule = u32::MAX;
            let mut error = errors::ACL_DROP;
            let mut check = true;
            let mut si = cand[k];
            if changed && (si != NO_LOOKUP || st.may_have(sw)) {
                let (k0, k1) = t.session_key(sw, is_input);
                si = st.lookup(k0, k1);
            }
            if si < NO_SESSION {
                if st.check_live(si, now, &timeouts, cfg) {
                    trace_bits |= TRACE_SESSION_HIT;
                    error = errors::EXIST_SESSION;
                    let h = st.hit(si, sw, is_input, tcp_flags, now);
                    action = 3;
                    rule = si;
                    check = false;
                    n_exist += 1;
                    if h.old_type != h.new_type {
                        n_restart += 1;
                        trace_bits |=
                            TRACE_TIMEOUT_CHANGE | (h.old_type as u32) << 8 | h.new_type as u32;
                    }
                    if h.collision {
                        // Same 5-tuple and low 16 bits of sw_if_index on another interface.
                        action = 0;
                    }
                } else {
                    changed = true;
                }
            }
            if check {
                let packed = if CACHE { t.packed() } else { (0, 0) };
                let found = if CACHE && sw == last.1 && packed == last.0 {
                    last.2
                } else {
                    let r = classifiers.get(sw as usize).and_then(|c| c.lookup(&t));
                    if CACHE {
                        last = (packed, sw, r);
                    }
                    r
                };
                if let Some(mm) = found {
                    action = mm.action as u8;
                    acl = mm.acl;
                    rule = mm.rule;
                    let len = cx.vm.buffers.meta(bi).current_length() as u64;
                    if (run.0, run.1) == (acl, rule) {
                        run.2 += 1;
                        run.3 += len;
                    } else {
                        st.count_rule(run.0, run.1, run.2, run.3);
                        run = (acl, rule, 1, len);
                    }
                }
                error = action as u32;
                if action == 1 {
                    n_permit += 1;
                } else if action == 2 {
                    let (k0, k1) = t.session_key(sw, is_input);
                    changed = true;
                    match st.add(k0, k1, sw, now, cfg) {
                        AddResult::Added(si) => {
                            st.hit(si, sw, is_input, tcp_flags, now);
                            n_new += 1;
                        }
                        AddResult::Full => {
                            action = 0;
                            error = errors::TOO_MANY_SESSIONS;
                        }
                    }
                }
            }
            let m = cx.vm.buffers.meta_mut(bi);
            let mut next = 0u16;
            if let (true, Some(l2)) = (action > 0, self.l2.as_ref()) {
                // The L2 path: this node's bit off, then the highest remaining feature.
                let bit = if is_input {
                    graph_nodes::l2::feat::ACL
                } else {
                    graph_nodes::l2::out_feat::ACL
                };
                let b = m.l2_feature_bitmap() & !bit;
                m.set_l2_feature_bitmap(b);
                next = graph_nodes::l2::feature_next(l2, b);
            } else if action > 0 {
                if (m.feature_arc, sw, m.feature_pos) == (last_hop.0, last_hop.1, last_hop.2) {
                    m.feature_pos += 1;
                    next = last_hop.3;
                } else {
                    let (arc, pos) = (m.feature_arc, m.feature_pos);
                    match features.next(m) {
                        Some(x) => {
                            next = x;
                            last_hop = (arc, sw, pos, x);
                        }
                        None => error = errors::NO_ARC,
                    }
                }
            }
            if next == 0 {
                m.error = ebase + error;
            }
            nexts[k] = next;
            if tracing && m.is_traced() {
                let w = t.words(sw, is_input);
                if let Some(r) = cx.trace(bi) {
                    r.u[..6].copy_from_slice(&w);
                    r.u[6] = sw as u64 | (next as u64) << 32;
                    r.u[7] = acl as u64 | (rule as u64) << 32;
                    r.data[0] = action;
                    r.data[1..5].copy_from_slice(&trace_bits.to_le_bytes());
                    r.data_len = 5;
                }
            }
        }
        st.count_rule(run.0, run.1, run.2, run.3);
        drop(st);
        cx.count_error(errors::CHECK, n as u64);
        cx.count_error(errors::ACL_PERMIT, n_permit);
        cx.count_error(errors::NEW_SESSION, n_new);
        cx.count_error(errors::EXIST_SESSION, n_exist);
        cx.count_error(errors::RESTART_SESSION_TIMER, n_restart);
        cx.enqueue(frame, &nexts[..n]);
    }
}

impl Node for AclNode {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        let mut w = [0u64; 6];
        w.copy_from_slice(&rec.u[..6]);
        let bits = u32::from_le_bytes([rec.data[1], rec.data[2], rec.data[3], rec.data[4]]);
        format_trace_body(
            s,
            rec.u[6] as u32,
            (rec.u[6] >> 32) as u32,
            rec.data[0],
            rec.u[7] as u32,
            (rec.u[7] >> 32) as u32,
            bits,
            &w,
        );
    }
}
