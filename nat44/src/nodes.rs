//! The NAT44 graph nodes: `nat44-classify`, `nat44-out2in`, `nat44-in2out`,
//! `nat44-in2out-slowpath`, `nat44-in2out-output` and `nat44-in2out-output-slowpath`.
//!
//! - `nat44-out2in` (ip4-unicast on `out` interfaces): looks the packet up by its outside 5-tuple;
//!   on a miss, a static / load-balancing / identity mapping of the destination creates a session
//!   (with twice-NAT when configured), `nat44 forwarding enable` lets other traffic through (a
//!   forwarding-bypass session tracks it), anything else is dropped ("No translation").
//! - `nat44-in2out` (ip4-unicast on `in` interfaces): the fast path translates packets of
//!   established dynamic and plain static sessions; everything else goes to the slow path, which
//!   also handles sessions VPP keeps out of its fast path (load-balancing, twice-NAT,
//!   out2in-only, bypass), ICMP, and creates sessions (static by local, else a dynamic port from the
//!   pool) when the packet must be translated.
//! - `nat44-in2out-output(-slowpath)` (ip4-output on `output-feature` interfaces): the same after
//!   routing; the packet continues on the arc to the interface output.
//! - `nat44-classify` (interfaces both `in` and `out`, no trace): out2in if the destination is a
//!   pool address or the external address of a (non-identity) mapping, else in2out.
//!
//! The fast-path nodes (out2in, in2out, in2out-output) take a frame in three passes: hash the
//! candidates (plain IPv4, TCP/UDP, not fragments) and load their index buckets; find their
//! sessions; translate. The loads of different packets overlap instead of stalling one packet at
//! a time. A packet the fast path cannot finish takes the general code, unchanged.
//!
//! Trace records print VPP 18.01's next indices (out2in: 0 drop, 1 ip4-lookup, 2 icmp-error,
//! 3 reass, 4 in2out; in2out: 0 ip4-lookup / interface-output, 1 drop, 2 icmp-error, 3 slow path,
//! 4 reass), whatever the real slots are.

use std::sync::Arc;

use engine::buffer::{flags as bflags, BufferIndex, BufferMeta, BufferPool, INVALID_INDEX, RX, TX};
use engine::feature::SharedFeatures;
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::trace::TraceRecord;
use graph_nodes::fib::{DpoKind, Ip4Main};
use graph_nodes::nodes::ip4_input::set_icmp_error;
use graph_nodes::nodes::Ip4Handle;
use graph_nodes::wire::checksum::IpCsum;
use parking_lot::Mutex;

use crate::config::{choose_local, Config, TwiceNat};
use crate::packet::{
    icmp, parse, parse_inner, tcp_seq_ack, with_reass, xlate_i2o, xlate_inner, xlate_o2i,
    xlate_outer_addr, xlate_reass, Pkt,
};
use crate::session::{
    flags, proto, CreateError, Endpoints, Key, NewSession, PoolKind, SessionDb, NIL,
};
use crate::table::hash2;

/// Node names.
pub mod names {
    /// Classify.
    pub const CLASSIFY: &str = "nat44-classify";
    /// Out2in.
    pub const OUT2IN: &str = "nat44-out2in";
    /// In2out fast path.
    pub const IN2OUT: &str = "nat44-in2out";
    /// In2out slow path.
    pub const IN2OUT_SLOW: &str = "nat44-in2out-slowpath";
    /// In2out after routing.
    pub const IN2OUT_OUTPUT: &str = "nat44-in2out-output";
    /// Its slow path.
    pub const IN2OUT_OUTPUT_SLOW: &str = "nat44-in2out-output-slowpath";
    /// VPP's reassembly node after in2out (named as next 4; fragments are dropped instead, so
    /// nothing is sent there).
    pub const IN2OUT_REASS: &str = "nat44-in2out-reass";
    /// VPP's reassembly node after out2in (next 3; unused likewise).
    pub const OUT2IN_REASS: &str = "nat44-out2in-reass";
    /// Polled every main-loop iteration: frees expired sessions when traffic is idle (the NAT
    /// nodes also expire a few per frame).
    pub const EXPIRE: &str = "nat44-session-expire";
}

/// Out2in error codes and strings (VPP's).
pub mod o2i_err {
    /// Unsupported protocol.
    pub const UNSUPPORTED_PROTOCOL: u32 = 0;
    /// Good out2in packets processed.
    pub const GOOD: u32 = 1;
    /// Out of ports.
    pub const OUT_OF_PORTS: u32 = 2;
    /// unsupported ICMP type.
    pub const BAD_ICMP_TYPE: u32 = 3;
    /// No translation.
    pub const NO_TRANSLATION: u32 = 4;
    /// Maximum sessions exceeded.
    pub const MAX_SESSIONS: u32 = 5;
    /// Drop fragment.
    pub const DROP_FRAGMENT: u32 = 6;
    /// A TCP packet that is not an initial SYN would create a session (current VPP's check).
    pub const NON_SYN: u32 = 7;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "Unsupported protocol",
        "Good out2in packets processed",
        "Out of ports",
        "unsupported ICMP type",
        "No translation",
        "Maximum sessions exceeded",
        "Drop fragment",
        "non-SYN packet try to create session",
    ];
}

/// In2out error codes and strings (VPP's).
pub mod i2o_err {
    /// Unsupported protocol.
    pub const UNSUPPORTED_PROTOCOL: u32 = 0;
    /// Good in2out packets processed.
    pub const GOOD: u32 = 1;
    /// Out of ports.
    pub const OUT_OF_PORTS: u32 = 2;
    /// Outside VRF ID not found.
    pub const BAD_OUTSIDE_FIB: u32 = 3;
    /// unsupported ICMP type.
    pub const BAD_ICMP_TYPE: u32 = 4;
    /// No translation.
    pub const NO_TRANSLATION: u32 = 5;
    /// Maximum sessions exceeded.
    pub const MAX_SESSIONS: u32 = 6;
    /// Drop fragment.
    pub const DROP_FRAGMENT: u32 = 7;
    /// A TCP packet that is not an initial SYN would create a session (current VPP's check).
    pub const NON_SYN: u32 = 8;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "Unsupported protocol",
        "Good in2out packets processed",
        "Out of ports",
        "Outside VRF ID not found",
        "unsupported ICMP type",
        "No translation",
        "Maximum sessions exceeded",
        "Drop fragment",
        "non-SYN packet try to create session",
    ];
}

/// VPP's next indices: the nodes' slots, and what the traces print.
mod vpp {
    pub const O2I_DROP: u8 = 0;
    pub const O2I_LOOKUP: u8 = 1;
    pub const O2I_ICMP_ERROR: u8 = 2;
    pub const O2I_IN2OUT: u8 = 4;
    pub const I2O_LOOKUP: u8 = 0;
    pub const I2O_DROP: u8 = 1;
    pub const I2O_ICMP_ERROR: u8 = 2;
    pub const I2O_SLOW: u8 = 3;
}

/// State shared by the NAT nodes and the CLI.
#[derive(Clone)]
pub struct Shared {
    /// Key of the configuration in the snapshot ([`engine::config`]; read once per frame).
    pub cfg: engine::config::Table<Config>,
    /// Thread 0's sessions (locked once per frame).
    pub db: Arc<Mutex<SessionDb>>,
    /// IPv4 state (interface FIBs and addresses, routes).
    pub ip4: Ip4Handle,
    /// Feature arcs (the output nodes continue on ip4-output).
    pub features: SharedFeatures,
}

/// Node registrations, in registration order.
pub fn registrations() -> Vec<NodeRegistration> {
    vec![
        NodeRegistration::new(names::IN2OUT, NodeKind::Internal)
            .nexts(&[
                "ip4-lookup",
                "error-drop",
                "ip4-icmp-error",
                names::IN2OUT_SLOW,
                names::IN2OUT_REASS,
            ])
            .errors(i2o_err::STRINGS),
        NodeRegistration::new(names::IN2OUT_SLOW, NodeKind::Internal)
            .sibling_of(names::IN2OUT)
            .errors(i2o_err::STRINGS),
        NodeRegistration::new(names::IN2OUT_OUTPUT, NodeKind::Internal)
            .nexts(&[
                "interface-output",
                "error-drop",
                "ip4-icmp-error",
                names::IN2OUT_OUTPUT_SLOW,
                names::IN2OUT_REASS,
            ])
            .errors(i2o_err::STRINGS),
        NodeRegistration::new(names::IN2OUT_OUTPUT_SLOW, NodeKind::Internal)
            .sibling_of(names::IN2OUT_OUTPUT)
            .errors(i2o_err::STRINGS),
        NodeRegistration::new(names::OUT2IN, NodeKind::Internal)
            .nexts(&[
                "error-drop",
                "ip4-lookup",
                "ip4-icmp-error",
                names::OUT2IN_REASS,
                names::IN2OUT,
            ])
            .errors(o2i_err::STRINGS),
        NodeRegistration::new(names::CLASSIFY, NodeKind::Internal)
            .nexts(&[names::IN2OUT, names::OUT2IN]),
        NodeRegistration::new(names::EXPIRE, NodeKind::Input),
    ]
}

/// Result of one packet: the VPP next index (for the trace), the real slot, the session for the
/// trace, an error code (`NO_ERR` if none).
#[derive(Clone, Copy)]
struct Verdict {
    vpp: u8,
    session: u32,
    err: u32,
}

const NO_ERR: u32 = u32::MAX;

impl Verdict {
    #[inline(always)]
    fn new(vpp: u8, session: u32) -> Self {
        Verdict {
            vpp,
            session,
            err: NO_ERR,
        }
    }
    #[inline(always)]
    fn err(vpp: u8, err: u32) -> Self {
        Verdict {
            vpp,
            session: INVALID_INDEX,
            err,
        }
    }
}

/// Per-frame context.
struct Ctx<'a> {
    cfg: &'a Config,
    db: &'a mut SessionDb,
    fib: &'a Ip4Main,
    now: u64,
    now_s: u32,
}

/// Time bookkeeping at the start of a frame: expire a few sessions whose time has come.
#[inline(always)]
fn frame_start(db: &mut SessionDb, now: u64) -> u32 {
    let now_s = SessionDb::seconds(now);
    if db.may_expire(now_s) {
        db.expire(now, 64);
    }
    now_s
}

fn record(cx: &mut NodeCx<'_>, bi: BufferIndex, sw: u32, v: Verdict) {
    if let Some(r) = cx.trace(bi) {
        r.u[0] = sw as u64;
        r.u[1] = v.vpp as u64;
        r.u[2] = v.session as u64;
    }
}

/// TCP state and activity for a packet of session `i`.
#[inline(always)]
fn account(c: &mut Ctx<'_>, i: u32, d: &[u8], p: &Pkt, i2o: bool) {
    if p.proto == proto::TCP && !p.nonfirst && c.db.tcp_may_change(i, p.tcp_flags, i2o) {
        let (seq, ack) = tcp_seq_ack(d, p);
        c.db.tcp_update(i, i2o, p.tcp_flags, seq, ack, c.now_s);
    }
    c.db.touch(i, c.now, c.now_s);
}

// ---------------------------------------------------------------------------------------------
// out2in

/// Scratch arrays of the lookup passes, kept in the node between frames (nothing to zero per
/// frame).
#[derive(Clone)]
pub struct Scratch {
    words: [(u64, u64); FRAME_SIZE],
    hashes: [u64; FRAME_SIZE],
    sess: [u32; FRAME_SIZE],
}

impl Scratch {
    fn boxed() -> Box<Scratch> {
        Box::new(Scratch {
            words: [(0, 0); FRAME_SIZE],
            hashes: [0; FRAME_SIZE],
            sess: [NIL; FRAME_SIZE],
        })
    }
}

/// `nat44-out2in`.
#[derive(Clone)]
pub struct Out2In {
    /// Shared state.
    pub sh: Shared,
    scratch: Box<Scratch>,
}

impl Out2In {
    /// The node.
    pub fn new(sh: Shared) -> Self {
        Out2In {
            sh,
            scratch: Scratch::boxed(),
        }
    }
}

impl engine::march::Kernel for Out2In {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [vpp::O2I_LOOKUP as u16; FRAME_SIZE];
        let cfg = cx.config().get(self.sh.cfg);
        let mut db = self.sh.db.lock();
        let fib = self.sh.ip4.fib.read();
        let sc = &mut *self.scratch;
        let now = cx.now_ns();
        let now_s = frame_start(&mut db, now);
        let mut pipe = Pipe::start(true, false, &cx.vm.buffers, &db, &fib, frame, sc);
        let mut c = Ctx {
            cfg,
            db: &mut db,
            fib: &fib,
            now,
            now_s,
        };
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let mut good = 0u64;
        let mut last = (u32::MAX, 0u32);
        for (k, &bi) in frame.iter().enumerate() {
            pipe.advance(&cx.vm.buffers, c.db, c.fib, frame, sc, k);
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let i = sc.sess[k];
            // The candidate is confirmed here, where its session has arrived in cache, against
            // the packet's whole key. One that is not the packet's (a tag collision, a chained
            // bucket, a session an earlier packet deleted: a free entry has protocol 0, which no
            // key has) leaves the packet to the general path, which looks again.
            if i != NIL {
                if let Some(in_fib) = o2i_apply(c.db, d, i, sc.words[k], now, now_s) {
                    m.sw_if_index[TX] = in_fib;
                    m.flags |= bflags::NATED;
                    good += 1;
                    if tracing && m.is_traced() {
                        let rx = m.sw_if_index[RX];
                        record(cx, bi, rx, Verdict::new(vpp::O2I_LOOKUP, i));
                    }
                    continue;
                }
            }
            let rx = m.sw_if_index[RX];
            if rx != last.0 {
                last = (rx, c.fib.interface_fib(rx));
            }
            let v = out2in_packet(&mut c, m, d, last.1);
            nexts[k] = v.vpp as u16;
            if v.err != NO_ERR {
                m.error = ebase + v.err;
            }
            good += (v.vpp != vpp::O2I_DROP) as u64;
            if tracing && m.is_traced() {
                record(cx, bi, rx, v);
            }
        }
        drop((cfg, db, fib));
        cx.count_error(o2i_err::GOOD, good);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for Out2In {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "NAT44_OUT2IN: sw_if_index {}, next index {}, session index {}",
            rec.u[0] as u32 as i32, rec.u[1] as u32 as i32, rec.u[2] as u32 as i32
        ));
    }
}

/// The lookup of a fast-path node's frame, as a software pipeline run ahead of the node loop
/// (three stages, as VPP's bihash users do, so that cache misses overlap with work):
/// [`HASH_AHEAD`] packets ahead, read the packet's header, hash its key (a hash of 0: no
/// candidate) and prefetch its index bucket; [`SESSION_AHEAD`] packets ahead, take the bucket's
/// first tag match as the candidate session and prefetch it; the node loop then confirms the
/// candidate against the key `words`. Running the first stage ahead too (rather than over the
/// whole frame first) keeps what a packet's stages touch in L1 until the packet is processed.
struct Pipe {
    /// Outside index (out2in) or inside index.
    o2i: bool,
    /// The IPv4 header follows the L2 header (ip4-output arc).
    output: bool,
    /// Last (rx sw_if_index, its FIB).
    last: (u32, u32),
}

/// How far ahead of the node loop the first lookup stage runs (see [`Pipe`]).
const HASH_AHEAD: usize = 16;
/// How far ahead of the node loop the second lookup stage runs (see [`Pipe`]).
const SESSION_AHEAD: usize = 8;

impl Pipe {
    /// Start a frame's pipeline: the first stage for the first [`HASH_AHEAD`] packets, the
    /// second for the first [`SESSION_AHEAD`].
    #[inline(always)]
    fn start(
        o2i: bool,
        output: bool,
        bufs: &BufferPool,
        db: &SessionDb,
        fib: &Ip4Main,
        frame: &[BufferIndex],
        sc: &mut Scratch,
    ) -> Pipe {
        let mut p = Pipe {
            o2i,
            output,
            last: (u32::MAX, 0),
        };
        for j in 0..HASH_AHEAD {
            p.hash(bufs, db, fib, frame, sc, j);
        }
        for j in 0..SESSION_AHEAD {
            p.candidate(db, frame, sc, j);
        }
        p
    }

    /// The stages that run ahead of the node loop's packet `k`.
    #[inline(always)]
    fn advance(
        &mut self,
        bufs: &BufferPool,
        db: &SessionDb,
        fib: &Ip4Main,
        frame: &[BufferIndex],
        sc: &mut Scratch,
        k: usize,
    ) {
        self.hash(bufs, db, fib, frame, sc, k + HASH_AHEAD);
        self.candidate(db, frame, sc, k + SESSION_AHEAD);
    }

    /// First stage for packet `j` (if the frame has it).
    #[inline(always)]
    fn hash(
        &mut self,
        bufs: &BufferPool,
        db: &SessionDb,
        fib: &Ip4Main,
        frame: &[BufferIndex],
        sc: &mut Scratch,
        j: usize,
    ) {
        let Some(&bi) = frame.get(j) else {
            return;
        };
        let m = bufs.meta(bi);
        let rx = m.sw_if_index[RX];
        if rx != self.last.0 {
            self.last = (rx, fib.interface_fib(rx));
        }
        let ip = if self.output {
            (m.l3_hdr_offset as isize - m.current_data() as isize).max(0) as usize
        } else {
            0
        };
        sc.hashes[j] = match fast_words(bufs.data(bi), ip, self.last.1, self.o2i) {
            Some(w) => {
                let h = hash2(w.0, w.1);
                sc.words[j] = w;
                if self.o2i {
                    db.prefetch_o2i(h)
                } else {
                    db.prefetch_i2o(h)
                };
                h
            }
            None => 0,
        };
    }

    /// Second stage for packet `j` (if the frame has it): the first tag match of its (already
    /// prefetched) bucket becomes its candidate session, prefetched in turn.
    #[inline(always)]
    fn candidate(&self, db: &SessionDb, frame: &[BufferIndex], sc: &mut Scratch, j: usize) {
        if j < frame.len() {
            let h = sc.hashes[j];
            sc.sess[j] = if h == 0 {
                NIL
            } else {
                db.candidate(h, self.o2i)
            };
        }
    }
}

/// Whether `h` is the header of a fast-path candidate: plain IPv4 (no options), TCP or UDP, not
/// a fragment, TTL above 1 (40 bytes available is the caller's part).
#[inline(always)]
fn fast_candidate(h: &[u8; 40]) -> bool {
    h[0] == 0x45
        && h[8] > 1
        && h[6] & 0x3f == 0
        && h[7] == 0
        && (h[9] == proto::TCP || h[9] == proto::UDP)
}

/// The key words ([`Key::words`]) of a fast-path candidate whose IPv4 header is at `ip`: its
/// outside key (`o2i`) or inside key, read with two wide loads (addresses and ports are
/// adjacent in the header, in the order the inside key wants; the outside key swaps the halves).
#[inline(always)]
fn fast_words(d: &[u8], ip: usize, rx_fib: u32, o2i: bool) -> Option<(u64, u64)> {
    let h: &[u8; 40] = d.get(ip..ip + 40)?.try_into().ok()?;
    if !fast_candidate(h) {
        return None;
    }
    // src << 32 | dst, and sport << 16 | dport.
    let addrs = u64::from_be_bytes(h[12..20].try_into().ok()?);
    let ports = u32::from_be_bytes(h[20..24].try_into().ok()?);
    let (addrs, ports) = if o2i {
        (addrs.rotate_left(32), ports.rotate_left(16))
    } else {
        (addrs, ports)
    };
    Some((
        addrs,
        ((ports as u64) << 32) | ((h[9] as u64) << 24) ^ rx_fib as u64,
    ))
}

/// Rewrite the fast-path packet `h`: the address at `ao` and the port at `po` become `to`
/// (`old`: their current values), with the IP and TCP/UDP checksums, in VPP's order.
#[inline(always)]
fn fast_rewrite(h: &mut [u8; 40], ao: usize, po: usize, old: (u32, u16), to: (u32, u16)) {
    let ipc = IpCsum::from_field(u16::from_be_bytes([h[10], h[11]]))
        .update_u32(old.0, to.0)
        .fold();
    h[10..12].copy_from_slice(&ipc.to_be_bytes());
    h[ao..ao + 4].copy_from_slice(&to.0.to_be_bytes());
    h[po..po + 2].copy_from_slice(&to.1.to_be_bytes());
    let tcp = h[9] == proto::TCP;
    let co = if tcp { 36 } else { 26 };
    let c0 = u16::from_be_bytes([h[co], h[co + 1]]);
    if tcp || c0 != 0 {
        let c = IpCsum::from_field(c0)
            .update_u32(old.0, to.0)
            .update_u16(old.1, to.1)
            .fold();
        let c = if !tcp && c == 0 { 0xffff } else { c };
        h[co..co + 2].copy_from_slice(&c.to_be_bytes());
    }
}

/// Last pass of out2in: translate with session `i` found by the lookup, if the fast path applies
/// (live, neither bypass nor twice-NAT). Returns the inside FIB; None leaves the packet untouched.
#[inline(always)]
fn o2i_apply(
    db: &mut SessionDb,
    d: &mut [u8],
    i: u32,
    w: (u64, u64),
    now: u64,
    now_s: u32,
) -> Option<u32> {
    let h: &mut [u8; 40] = d.first_chunk_mut::<40>()?;
    let fl = if h[9] == proto::TCP { h[33] } else { 0 };
    let (to, in_fib, tcp_change) = db.fast_hit(
        i,
        w,
        flags::BYPASS | flags::TWICE_NAT,
        false,
        fl,
        now,
        now_s,
    )?;
    if tcp_change {
        let seq = u32::from_be_bytes([h[24], h[25], h[26], h[27]]);
        let ack = u32::from_be_bytes([h[28], h[29], h[30], h[31]]);
        db.tcp_update(i, false, fl, seq, ack, now_s);
    }
    let dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
    let dport = u16::from_be_bytes([h[22], h[23]]);
    fast_rewrite(h, 16, 22, (dst, dport), (to.l_addr, to.l_port));
    Some(in_fib)
}

/// Everything out2in does, for the packets the fast path leaves.
#[inline(never)]
fn out2in_packet(c: &mut Ctx<'_>, m: &mut BufferMeta, d: &mut [u8], rx_fib: u32) -> Verdict {
    let Some(mut p) = parse(d, 0) else {
        return Verdict::err(vpp::O2I_DROP, o2i_err::UNSUPPORTED_PROTOCOL);
    };
    if p.ttl == 1 {
        m.sw_if_index[TX] = INVALID_INDEX;
        set_icmp_error(m, 11, 0, 0);
        return Verdict::new(vpp::O2I_ICMP_ERROR, INVALID_INDEX);
    }
    if !with_reass(&mut p, m.reass_l4()) || (p.frag && p.proto == proto::ICMP && !is_echo(&p)) {
        return Verdict::err(vpp::O2I_DROP, o2i_err::DROP_FRAGMENT);
    }
    if !p.l4_ok {
        return Verdict::err(vpp::O2I_DROP, o2i_err::UNSUPPORTED_PROTOCOL);
    }
    if p.proto == proto::TCP || p.proto == proto::UDP || is_echo(&p) {
        let key = Key {
            l_addr: p.dst,
            r_addr: p.src,
            l_port: p.dport,
            r_port: p.sport,
            proto: p.proto,
            fib: rx_fib,
        };
        if let Some(i) = c.db.find_o2i(&key) {
            if !c.db.is_expired(c.db.get(i), c.now) {
                return out2in_hit(c, m, d, &p, i);
            }
            c.db.delete(i);
            c.db.counters.expired += 1;
        }
        return out2in_miss(c, m, d, &p, rx_fib);
    }
    out2in_other(c, m, d, &p, rx_fib)
}

#[inline(always)]
fn is_echo(p: &Pkt) -> bool {
    p.proto == proto::ICMP && (p.icmp_type == icmp::ECHO_REQUEST || p.icmp_type == icmp::ECHO_REPLY)
}

#[inline(always)]
fn out2in_hit(c: &mut Ctx<'_>, m: &mut BufferMeta, d: &mut [u8], p: &Pkt, i: u32) -> Verdict {
    account(c, i, d, p, false);
    let s = c.db.get(i);
    if s.flags & flags::BYPASS != 0 {
        return Verdict::new(vpp::O2I_LOOKUP, INVALID_INDEX);
    }
    xlate_o2i(d, p, &s.i2o, s.flags & flags::TWICE_NAT != 0);
    xlate_reass(m, p, &s.i2o, s.flags & flags::TWICE_NAT != 0, true);
    m.sw_if_index[TX] = s.in_fib as u32;
    m.flags |= bflags::NATED;
    Verdict::new(vpp::O2I_LOOKUP, i)
}

#[inline(never)]
fn out2in_miss(c: &mut Ctx<'_>, m: &mut BufferMeta, d: &mut [u8], p: &Pkt, rx_fib: u32) -> Verdict {
    if let Some(mi) = c.cfg.match_external(p.dst, p.dport, p.proto) {
        if p.proto == proto::ICMP && p.icmp_type != icmp::ECHO_REQUEST {
            return Verdict::err(vpp::O2I_DROP, o2i_err::BAD_ICMP_TYPE);
        }
        return match session_from_mapping(c, mi, p, rx_fib) {
            Ok(i) => {
                let s = *c.db.get(i);
                account(c, i, d, p, false);
                xlate_o2i(d, p, &s.i2o, s.flags & flags::TWICE_NAT != 0);
                xlate_reass(m, p, &s.i2o, s.flags & flags::TWICE_NAT != 0, true);
                m.sw_if_index[TX] = s.in_fib as u32;
                m.flags |= bflags::NATED;
                Verdict::new(vpp::O2I_LOOKUP, i)
            }
            Err(e) => Verdict::err(vpp::O2I_DROP, e),
        };
    }
    let rx = m.sw_if_index[RX];
    if !c.cfg.forwarding {
        // Don't NAT what is aimed at the interface itself (ping the node), nor DHCP replies.
        let to_if = c.fib.interface_address(rx).map(u32::from) == Some(p.dst);
        if (p.proto == proto::ICMP && to_if) || (p.proto == proto::UDP && p.dport == 68) {
            return Verdict::new(vpp::O2I_LOOKUP, INVALID_INDEX);
        }
        return Verdict::err(vpp::O2I_DROP, o2i_err::NO_TRANSLATION);
    }
    // Forwarding: a source that is the local side of a mapping goes to in2out (VPP next_src_nat).
    if c.cfg
        .match_local(p.src, p.sport, p.proto, c.cfg.inside_fib)
        .is_some_and(|mi| c.cfg.mapping(mi).is_some_and(|m| !m.addr_only()))
    {
        return Verdict::new(vpp::O2I_IN2OUT, INVALID_INDEX);
    }
    let e = Endpoints {
        l_addr: p.dst,
        r_addr: p.src,
        l_port: p.dport,
        r_port: p.sport,
    };
    let n = NewSession {
        i2o: e,
        o2i: e,
        proto: p.proto,
        flags: flags::BYPASS | flags::SLOW,
        in_fib: rx_fib,
        out_fib: rx_fib,
    };
    if let Ok(i) = c.db.create(c.now, &n) {
        account(c, i, d, p, false);
    }
    Verdict::new(vpp::O2I_LOOKUP, INVALID_INDEX)
}

/// True unless the packet is TCP without an initial SYN (SYN set, ACK clear): current VPP
/// (`tcp_flags_is_init`) and conntrack create no session for a stray or forged segment, which
/// keeps ACK floods from filling the table.
#[inline]
fn opens_session(p: &Pkt) -> bool {
    p.proto != proto::TCP || (p.tcp_flags & 0x02 != 0 && p.tcp_flags & 0x10 == 0)
}

/// Create the session of an outside-initiated packet matching mapping `mi`: choose the local
/// (load balancing by weight, with client affinity), twice-NAT the client when configured.
fn session_from_mapping(c: &mut Ctx<'_>, mi: u32, p: &Pkt, rx_fib: u32) -> Result<u32, u32> {
    let Some(m) = c.cfg.mapping(mi) else {
        return Err(o2i_err::NO_TRANSLATION);
    };
    if !m.identity && !opens_session(p) {
        return Err(o2i_err::NON_SYN);
    }
    let mut fl = flags::STATIC;
    let (l_addr, l_port) = if m.is_lb() {
        fl |= flags::LB | flags::SLOW;
        let n = m.locals.len();
        let total = m.locals[n - 1].cumulative.max(1);
        let mut pick = None;
        if m.affinity > 0 {
            if let Some(a) = c.db.affinity.as_mut() {
                pick = a
                    .get(p.src, mi, c.now)
                    .filter(|&x| (x as usize) < n)
                    .map(|x| x as usize);
            }
        }
        let li = match pick {
            Some(x) => x,
            None => choose_local(&m.locals, 1 + c.db.lb_rng.below(total)),
        };
        if m.affinity > 0 {
            let exp = c.now + m.affinity as u64 * 1_000_000_000;
            if let Some(a) = c.db.affinity.as_mut() {
                a.put(p.src, mi, li as u32, exp, c.now);
            }
        }
        (u32::from(m.locals[li].addr), m.locals[li].port)
    } else if m.addr_only() {
        (u32::from(m.local), p.dport)
    } else {
        (u32::from(m.local), m.local_port)
    };
    if m.out2in_only {
        fl |= flags::SLOW;
    }
    let twice = match m.twice_nat {
        TwiceNat::Twice => true,
        TwiceNat::SelfTwice => p.src == l_addr,
        TwiceNat::Disabled => false,
    };
    if !c.db.ensure_room(c.now) {
        return Err(o2i_err::MAX_SESSIONS);
    }
    let (r_addr, r_port) = if twice {
        match c.db.alloc_port(PoolKind::TwiceNat, p.proto, m.fib) {
            Some((a, port)) => {
                fl |= flags::TWICE_NAT | flags::TWICE_PORT | flags::SLOW;
                (a, port)
            }
            None => return Err(o2i_err::OUT_OF_PORTS),
        }
    } else {
        (p.src, p.sport)
    };
    let echo = p.proto == proto::ICMP;
    let n = NewSession {
        i2o: Endpoints {
            l_addr,
            r_addr,
            l_port,
            r_port: if echo { l_port } else { r_port },
        },
        o2i: Endpoints {
            l_addr: p.dst,
            r_addr: p.src,
            l_port: p.dport,
            r_port: p.sport,
        },
        proto: p.proto,
        flags: fl,
        in_fib: m.fib,
        out_fib: rx_fib,
    };
    c.db.create(c.now, &n).map_err(|e| {
        if fl & flags::TWICE_PORT != 0 {
            if let Some(a) = c.db.twice_addresses.iter_mut().find(|a| a.addr == r_addr) {
                if let Some(pi) = crate::session::proto_index(p.proto) {
                    a.release(pi, r_port);
                }
            }
        }
        match e {
            CreateError::Conflict => o2i_err::NO_TRANSLATION,
            CreateError::NoRoom => o2i_err::MAX_SESSIONS,
        }
    })
}

/// ICMP errors and other ICMP types, and protocols without ports, outside to inside.
#[inline(never)]
fn out2in_other(
    c: &mut Ctx<'_>,
    m: &mut BufferMeta,
    d: &mut [u8],
    p: &Pkt,
    rx_fib: u32,
) -> Verdict {
    if p.proto == proto::ICMP {
        if !icmp::is_error(p.icmp_type) {
            return Verdict::err(vpp::O2I_DROP, o2i_err::BAD_ICMP_TYPE);
        }
        let Some(inn) = parse_inner(d, p) else {
            return Verdict::err(vpp::O2I_DROP, o2i_err::UNSUPPORTED_PROTOCOL);
        };
        // The quoted packet left us translated: its source is our outside side.
        let key = Key {
            l_addr: inn.src,
            r_addr: inn.dst,
            l_port: inn.sport,
            r_port: inn.dport,
            proto: inn.proto,
            fib: rx_fib,
        };
        let Some(i) = c.db.find_o2i(&key) else {
            if c.cfg.forwarding {
                return Verdict::new(vpp::O2I_LOOKUP, INVALID_INDEX);
            }
            return Verdict::err(vpp::O2I_DROP, o2i_err::NO_TRANSLATION);
        };
        let s = *c.db.get(i);
        if s.flags & flags::BYPASS != 0 {
            return Verdict::new(vpp::O2I_LOOKUP, INVALID_INDEX);
        }
        let twice = s.flags & flags::TWICE_NAT != 0;
        let outer_src = if twice && p.src == s.o2i.r_addr {
            s.i2o.r_addr
        } else {
            p.src
        };
        xlate_outer_addr(d, p, outer_src, s.i2o.l_addr);
        let inner_dst = if twice {
            (s.i2o.r_addr, s.i2o.r_port)
        } else {
            (inn.dst, inn.dport)
        };
        xlate_inner(d, p, &inn, (s.i2o.l_addr, s.i2o.l_port), inner_dst);
        c.db.touch(i, c.now, c.now_s);
        m.sw_if_index[TX] = s.in_fib as u32;
        m.flags |= bflags::NATED;
        return Verdict::new(vpp::O2I_LOOKUP, i);
    }
    // Other protocols: only forwarding lets them through.
    if c.cfg.forwarding {
        return Verdict::new(vpp::O2I_LOOKUP, INVALID_INDEX);
    }
    Verdict::err(vpp::O2I_DROP, o2i_err::UNSUPPORTED_PROTOCOL)
}

// ---------------------------------------------------------------------------------------------
// in2out

/// `nat44-in2out`, `nat44-in2out-slowpath`, `nat44-in2out-output`, `nat44-in2out-output-slowpath`.
#[derive(Clone)]
pub struct In2Out {
    /// Shared state.
    pub sh: Shared,
    /// Slow path node.
    pub slow: bool,
    /// Output-feature (post-routing) node.
    pub output: bool,
    scratch: Box<Scratch>,
}

impl In2Out {
    /// The node of the given flavour.
    pub fn new(sh: Shared, slow: bool, output: bool) -> Self {
        In2Out {
            sh,
            slow,
            output,
            scratch: Scratch::boxed(),
        }
    }
}

impl engine::march::Kernel for In2Out {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        let cfg = cx.config().get(self.sh.cfg);
        let mut db = self.sh.db.lock();
        let fib = self.sh.ip4.fib.read();
        let features = cx.config().get(self.sh.features);
        let sc = &mut *self.scratch;
        let now = cx.now_ns();
        let now_s = frame_start(&mut db, now);
        let (slow, output) = (self.slow, self.output);
        let l3 = |m: &BufferMeta| {
            if output {
                (m.l3_hdr_offset as isize - m.current_data() as isize).max(0) as usize
            } else {
                0
            }
        };
        // Fast path nodes: look the candidates up first (see nat44-out2in).
        let mut pipe = if slow {
            sc.sess[..frame.len()].fill(NIL);
            None
        } else {
            Some(Pipe::start(
                false,
                output,
                &cx.vm.buffers,
                &db,
                &fib,
                frame,
                sc,
            ))
        };
        let mut c = Ctx {
            cfg,
            db: &mut db,
            fib: &fib,
            now,
            now_s,
        };
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let mut good = 0u64;
        let mut last = (u32::MAX, 0u32);
        for (k, &bi) in frame.iter().enumerate() {
            if let Some(p) = &mut pipe {
                p.advance(&cx.vm.buffers, c.db, c.fib, frame, sc, k);
            }
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let ip = l3(m);
            let rx = m.sw_if_index[RX];
            let i = sc.sess[k];
            let fast = if i != NIL {
                i2o_apply(c.db, d, ip, i, sc.words[k], now, now_s)
            } else {
                None
            };
            let v = match fast {
                Some(out_fib) => {
                    if !output {
                        m.sw_if_index[TX] = out_fib;
                    }
                    m.flags |= bflags::NATED;
                    Verdict::new(vpp::I2O_LOOKUP, i)
                }
                None => {
                    if rx != last.0 {
                        last = (rx, c.fib.interface_fib(rx));
                    }
                    if slow {
                        in2out_slow(&mut c, m, d, ip, last.1, output)
                    } else {
                        in2out_fast(&mut c, m, d, ip, last.1, output)
                    }
                }
            };
            // The slots are VPP's; after routing, "interface-output" is the arc's next feature.
            nexts[k] = if output && v.vpp == vpp::I2O_LOOKUP {
                features.next(m).unwrap_or(vpp::I2O_DROP as u16)
            } else {
                v.vpp as u16
            };
            if v.err != NO_ERR {
                m.error = ebase + v.err;
            }
            good += (v.vpp != vpp::I2O_DROP) as u64;
            if tracing && m.is_traced() {
                record(cx, bi, rx, v);
            }
        }
        drop((cfg, db, fib, features));
        cx.count_error(i2o_err::GOOD, good);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

impl Node for In2Out {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "{}: sw_if_index {}, next index {}, session {}",
            if self.slow {
                "NAT44_IN2OUT_SLOW_PATH"
            } else {
                "NAT44_IN2OUT_FAST_PATH"
            },
            rec.u[0] as u32 as i32,
            rec.u[1] as u32 as i32,
            rec.u[2] as u32 as i32
        ));
    }
}

#[inline(always)]
fn in2out_key(p: &Pkt, rx_fib: u32) -> Key {
    Key {
        l_addr: p.src,
        r_addr: p.dst,
        l_port: p.sport,
        r_port: p.dport,
        proto: p.proto,
        fib: rx_fib,
    }
}

/// Common checks of both paths; Some(verdict) if the packet is done.
#[inline(always)]
fn in2out_pre(m: &mut BufferMeta, d: &[u8], ip: usize, output: bool) -> Result<Pkt, Verdict> {
    let Some(mut p) = parse(d, ip) else {
        return Err(Verdict::err(vpp::I2O_DROP, i2o_err::UNSUPPORTED_PROTOCOL));
    };
    if !output && p.ttl == 1 {
        m.sw_if_index[TX] = INVALID_INDEX;
        set_icmp_error(m, 11, 0, 0);
        return Err(Verdict::new(vpp::I2O_ICMP_ERROR, INVALID_INDEX));
    }
    // Fragments need their datagram's L4 fields (shallow reassembly); fragmented ICMP errors
    // are not translated.
    if !with_reass(&mut p, m.reass_l4()) || (p.frag && p.proto == proto::ICMP && !is_echo(&p)) {
        return Err(Verdict::err(vpp::I2O_DROP, i2o_err::DROP_FRAGMENT));
    }
    if !p.l4_ok {
        return Err(Verdict::err(vpp::I2O_DROP, i2o_err::UNSUPPORTED_PROTOCOL));
    }
    Ok(p)
}

#[inline(always)]
fn translate_i2o(
    c: &mut Ctx<'_>,
    m: &mut BufferMeta,
    d: &mut [u8],
    p: &Pkt,
    i: u32,
    output: bool,
) -> Verdict {
    account(c, i, d, p, true);
    let s = c.db.get(i);
    if s.flags & flags::BYPASS != 0 {
        return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
    }
    xlate_i2o(d, p, &s.o2i, s.flags & flags::TWICE_NAT != 0);
    xlate_reass(m, p, &s.o2i, s.flags & flags::TWICE_NAT != 0, false);
    if !output {
        m.sw_if_index[TX] = s.out_fib as u32;
    }
    m.flags |= bflags::NATED;
    Verdict::new(vpp::I2O_LOOKUP, i)
}

/// Last pass of in2out: translate with session `i` if the fast path may (a live session that is
/// not kept for the slow path). Returns the outside FIB; None leaves the packet untouched.
#[inline(always)]
fn i2o_apply(
    db: &mut SessionDb,
    d: &mut [u8],
    ip: usize,
    i: u32,
    w: (u64, u64),
    now: u64,
    now_s: u32,
) -> Option<u32> {
    let h: &mut [u8; 40] = d.get_mut(ip..ip + 40)?.try_into().ok()?;
    let fl = if h[9] == proto::TCP { h[33] } else { 0 };
    let (to, out_fib, tcp_change) = db.fast_hit(i, w, flags::SLOW, true, fl, now, now_s)?;
    if tcp_change {
        let seq = u32::from_be_bytes([h[24], h[25], h[26], h[27]]);
        let ack = u32::from_be_bytes([h[28], h[29], h[30], h[31]]);
        db.tcp_update(i, true, fl, seq, ack, now_s);
    }
    let src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
    let sport = u16::from_be_bytes([h[20], h[21]]);
    fast_rewrite(h, 12, 20, (src, sport), (to.l_addr, to.l_port));
    Some(out_fib)
}

/// What the in2out fast-path nodes do with the packets the fast path leaves: translate sessions
/// the fast path may handle, recognise bypass flows after routing, send the rest to the slow path.
#[inline(never)]
fn in2out_fast(
    c: &mut Ctx<'_>,
    m: &mut BufferMeta,
    d: &mut [u8],
    ip: usize,
    rx_fib: u32,
    output: bool,
) -> Verdict {
    let p = match in2out_pre(m, d, ip, output) {
        Ok(p) => p,
        Err(v) => return v,
    };
    if p.proto != proto::TCP && p.proto != proto::UDP {
        return Verdict::new(vpp::I2O_SLOW, INVALID_INDEX);
    }
    let Some(i) = c.db.find_i2o(&in2out_key(&p, rx_fib)) else {
        return Verdict::new(vpp::I2O_SLOW, INVALID_INDEX);
    };
    let s = c.db.get(i);
    if c.db.is_expired(s, c.now) {
        return Verdict::new(vpp::I2O_SLOW, INVALID_INDEX);
    }
    if s.flags & flags::SLOW != 0 {
        // After routing, forwarding-bypass flows are recognised right here (VPP checks its
        // bypass sessions first in the output fast path).
        if output && s.flags & flags::BYPASS != 0 {
            account(c, i, d, &p, true);
            return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
        }
        return Verdict::new(vpp::I2O_SLOW, INVALID_INDEX);
    }
    translate_i2o(c, m, d, &p, i, output)
}

#[inline(never)]
fn in2out_slow(
    c: &mut Ctx<'_>,
    m: &mut BufferMeta,
    d: &mut [u8],
    ip: usize,
    rx_fib: u32,
    output: bool,
) -> Verdict {
    let p = match in2out_pre(m, d, ip, output) {
        Ok(p) => p,
        Err(v) => return v,
    };
    if p.proto == proto::ICMP && icmp::is_error(p.icmp_type) {
        return in2out_icmp_error(c, m, d, &p, rx_fib, output);
    }
    if p.proto == proto::ICMP && !is_echo(&p) {
        return Verdict::err(vpp::I2O_DROP, i2o_err::BAD_ICMP_TYPE);
    }
    if p.proto != proto::TCP && p.proto != proto::UDP && p.proto != proto::ICMP {
        // Protocols without ports are not translated.
        return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
    }
    let key = in2out_key(&p, rx_fib);
    if let Some(i) = c.db.find_i2o(&key) {
        let s = *c.db.get(i);
        if !c.db.is_expired(&s, c.now) {
            return translate_i2o(c, m, d, &p, i, output);
        }
        c.db.delete(i);
        c.db.counters.expired += 1;
    }
    if output {
        // Already in its outside form (translated before routing, e.g. a NodePort reply), or the
        // reply of a forwarded flow: leave it.
        let ko = Key {
            l_addr: p.src,
            r_addr: p.dst,
            l_port: p.sport,
            r_port: p.dport,
            proto: p.proto,
            fib: c.cfg.outside_fib,
        };
        if c.db.find_o2i(&ko).is_some() {
            return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
        }
    } else if !should_translate(c, m.sw_if_index[RX], rx_fib, &p) {
        return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
    }
    match create_i2o(c, &p, rx_fib) {
        Ok(i) => translate_i2o(c, m, d, &p, i, output),
        Err(e) => Verdict::err(vpp::I2O_DROP, e),
    }
}

/// VPP's `snat_not_translate`, inverted: translate when the destination is the external side of a
/// mapping; otherwise with forwarding never; otherwise when the route to the destination leaves
/// through an outside interface (and the destination is not the receiving interface's address).
fn should_translate(c: &Ctx<'_>, rx: u32, rx_fib: u32, p: &Pkt) -> bool {
    if c.cfg.match_external(p.dst, p.dport, p.proto).is_some() {
        return true;
    }
    if c.cfg.forwarding {
        return false;
    }
    if c.fib.interface_address(rx).map(u32::from) == Some(p.dst) {
        return false;
    }
    match resolving_interface(c.fib, rx_fib, p.dst) {
        Some(sw) => c
            .cfg
            .interfaces
            .iter()
            .any(|i| i.sw_if_index == sw && i.outside && !i.output_feature),
        None => false,
    }
}

/// The interface a route to `dst` resolves through (following one recursive level).
fn resolving_interface(fib: &Ip4Main, fib_index: u32, dst: u32) -> Option<u32> {
    let mut d = fib.lb(fib.lookup(fib_index, dst)).first;
    for _ in 0..4 {
        match d.kind {
            DpoKind::Adjacency => return fib.adj(d.index).map(|a| a.sw_if_index),
            DpoKind::LoadBalance if (d.index as usize) < fib.n_lbs() => d = fib.lb(d.index).first,
            _ => return None,
        }
    }
    None
}

/// Create the session of an inside-initiated packet: a static mapping of the source, else a
/// dynamic address and port from the NAT pool.
fn create_i2o(c: &mut Ctx<'_>, p: &Pkt, rx_fib: u32) -> Result<u32, u32> {
    let identity = c
        .cfg
        .match_local(p.src, p.sport, p.proto, rx_fib)
        .and_then(|mi| c.cfg.mapping(mi))
        .is_some_and(|m| m.identity);
    if !identity && !opens_session(p) {
        return Err(i2o_err::NON_SYN);
    }
    if !c.db.ensure_room(c.now) {
        return Err(i2o_err::MAX_SESSIONS);
    }
    let echo = p.proto == proto::ICMP;
    let mut fl = 0u8;
    let (e_addr, e_port) = match c
        .cfg
        .match_local(p.src, p.sport, p.proto, rx_fib)
        .and_then(|mi| c.cfg.mapping(mi))
    {
        Some(m) => {
            fl |= flags::STATIC;
            if m.is_lb() {
                fl |= flags::LB | flags::SLOW;
            }
            let port = if m.addr_only() {
                p.sport
            } else {
                m.external_port
            };
            (u32::from(m.external), port)
        }
        None => {
            // Traffic that already comes from a pool address (the node's own, e.g. VXLAN or
            // Geneve from the node IP) keeps its port when it is free, as Linux conntrack's
            // port preservation does: a session, but no translation.
            let own = crate::session::proto_index(p.proto).and_then(|pi| {
                let a = c.db.addresses.iter_mut().find(|a| a.addr == p.src)?;
                a.reserve(pi, p.sport).then_some((p.src, p.sport))
            });
            match own.or_else(|| c.db.alloc_port(PoolKind::Nat, p.proto, rx_fib)) {
                Some(x) => {
                    fl |= flags::DYNAMIC;
                    x
                }
                None => return Err(i2o_err::OUT_OF_PORTS),
            }
        }
    };
    let n = NewSession {
        i2o: Endpoints {
            l_addr: p.src,
            r_addr: p.dst,
            l_port: p.sport,
            r_port: p.dport,
        },
        o2i: Endpoints {
            l_addr: e_addr,
            r_addr: p.dst,
            l_port: e_port,
            r_port: if echo { e_port } else { p.dport },
        },
        proto: p.proto,
        flags: fl,
        in_fib: rx_fib,
        out_fib: c.cfg.outside_fib,
    };
    c.db.create(c.now, &n).map_err(|e| {
        if fl & flags::DYNAMIC != 0 {
            if let Some(a) = c.db.addresses.iter_mut().find(|a| a.addr == e_addr) {
                if let Some(pi) = crate::session::proto_index(p.proto) {
                    a.release(pi, e_port);
                }
            }
        }
        match e {
            CreateError::Conflict => i2o_err::NO_TRANSLATION,
            CreateError::NoRoom => i2o_err::MAX_SESSIONS,
        }
    })
}

/// An ICMP error sent by an inside host about a packet it received from outside (translated).
fn in2out_icmp_error(
    c: &mut Ctx<'_>,
    m: &mut BufferMeta,
    d: &mut [u8],
    p: &Pkt,
    rx_fib: u32,
    output: bool,
) -> Verdict {
    let Some(inn) = parse_inner(d, p) else {
        return Verdict::err(vpp::I2O_DROP, i2o_err::UNSUPPORTED_PROTOCOL);
    };
    // The quoted packet went to the inside host: its destination is the inside side.
    let key = Key {
        l_addr: inn.dst,
        r_addr: inn.src,
        l_port: inn.dport,
        r_port: inn.sport,
        proto: inn.proto,
        fib: rx_fib,
    };
    let Some(i) = c.db.find_i2o(&key) else {
        return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
    };
    let s = *c.db.get(i);
    if s.flags & flags::BYPASS != 0 {
        return Verdict::new(vpp::I2O_LOOKUP, INVALID_INDEX);
    }
    let twice = s.flags & flags::TWICE_NAT != 0;
    let outer_dst = if twice && p.dst == s.i2o.r_addr {
        s.o2i.r_addr
    } else {
        p.dst
    };
    xlate_outer_addr(d, p, s.o2i.l_addr, outer_dst);
    let inner_src = if twice {
        (s.o2i.r_addr, s.o2i.r_port)
    } else {
        (inn.src, inn.sport)
    };
    xlate_inner(d, p, &inn, inner_src, (s.o2i.l_addr, s.o2i.l_port));
    c.db.touch(i, c.now, c.now_s);
    if !output {
        m.sw_if_index[TX] = s.out_fib as u32;
    }
    m.flags |= bflags::NATED;
    Verdict::new(vpp::I2O_LOOKUP, i)
}

// ---------------------------------------------------------------------------------------------
// classify

/// `nat44-classify` (no trace, as in VPP).
#[derive(Clone)]
pub struct Classify {
    /// Shared state.
    pub sh: Shared,
}

impl Node for Classify {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; FRAME_SIZE];
        let cfg = cx.config().get(self.sh.cfg);
        for (k, &bi) in frame.iter().enumerate() {
            let r = cx.vm.buffers.meta(bi).reass_l4();
            let d = cx.vm.buffers.data(bi);
            let Some(mut p) = parse(d, 0) else { continue };
            with_reass(&mut p, r);
            nexts[k] = cfg.classify_out2in(p.dst, p.dport, p.proto) as u16;
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, _rec: &TraceRecord, _env: &FormatEnv<'_>, _s: &mut String) {}
}

// ---------------------------------------------------------------------------------------------
// expiry

/// Sessions freed per poll of `nat44-session-expire`.
pub const EXPIRE_BUDGET: usize = 1024;

/// `nat44-session-expire`: an input node that produces no packets; each main-loop iteration it
/// frees up to [`EXPIRE_BUDGET`] expired sessions (list heads only, O(1) each), so sessions go
/// away on time even without NAT traffic. It skips its turn if the CLI holds the sessions.
#[derive(Clone)]
pub struct Expire {
    /// Shared state.
    pub sh: Shared,
}

impl Node for Expire {
    engine::fork_by_clone!();
    fn poll(&mut self, cx: &mut NodeCx<'_>) -> usize {
        if let Some(mut db) = self.sh.db.try_lock() {
            let now = cx.now_ns();
            if db.may_expire(SessionDb::seconds(now)) {
                db.expire(now, EXPIRE_BUDGET);
            }
        }
        0
    }

    fn format_trace(&self, _rec: &TraceRecord, _env: &FormatEnv<'_>, _s: &mut String) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lookup key of a fast-path candidate, field by field (what [`fast_words`] computes).
    fn key_of(h: &[u8; 40], rx_fib: u32, o2i: bool) -> Option<Key> {
        if !fast_candidate(h) {
            return None;
        }
        let src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
        let sport = u16::from_be_bytes([h[20], h[21]]);
        let dport = u16::from_be_bytes([h[22], h[23]]);
        let (l_addr, r_addr, l_port, r_port) = if o2i {
            (dst, src, dport, sport)
        } else {
            (src, dst, sport, dport)
        };
        Some(Key {
            l_addr,
            r_addr,
            l_port,
            r_port,
            proto: h[9],
            fib: rx_fib,
        })
    }

    #[test]
    fn fast_words_are_the_key_words_both_ways() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut candidates = 0;
        for _ in 0..20_000 {
            let mut h = [0u8; 44];
            for b in h.iter_mut() {
                *b = next() as u8;
            }
            // Mostly candidates: plain header, TCP or UDP, TTL > 1, not a fragment.
            if next() % 8 != 0 {
                h[2] = 0x45;
                h[8] = 0;
                h[9] = 0;
                h[10] = 2 + (next() % 250) as u8;
                h[11] = if next() % 2 == 0 {
                    proto::TCP
                } else {
                    proto::UDP
                };
            }
            let fib = (next() % 4) as u32;
            for o2i in [false, true] {
                let want = h[2..42]
                    .try_into()
                    .ok()
                    .and_then(|hh| key_of(hh, fib, o2i))
                    .map(|k| k.words());
                assert_eq!(fast_words(&h, 2, fib, o2i), want, "{h:02x?} o2i {o2i}");
                candidates += want.is_some() as u32;
            }
            assert_eq!(fast_words(&h, 5, fib, false), None, "fewer than 40 bytes");
        }
        assert!(candidates > 20_000);
    }
}
