//! Shallow virtual reassembly (VPP's `ip4-sv-reassembly-feature`): fragments are not rebuilt,
//! but every fragment of a datagram gets the L4 fields of its first fragment (ports, TCP flags,
//! ICMP type and identifier) in its metadata, so that NAT44 and the ACL plugin treat the whole
//! datagram as its flow. Fragments that arrive before the first one are held, a few per
//! datagram, for a short time.
//!
//! `ip4-input` sends here the fragments of interfaces with ip4-unicast features (NAT44, ACLs);
//! the node then starts the arc as ip4-input would have. VPP's limits and defaults: 1024
//! datagrams in progress, 3 fragments held per datagram, 100 ms timeout, expired datagrams swept
//! every 10 ms; their held fragments are counted drops. A datagram is forgotten once all its
//! bytes went through.
//!
//! Commands: `show ip4-sv-reassembly [details]` (VPP's text) and
//! `set ip4-sv-reassembly [timeout <ms>] [max-reassemblies <n>] [max-reassembly-length <n>]
//! [expire-walk-interval <ms>]`.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use cli::{Args, CliError, Registry};
use engine::buffer::{BufferIndex, ReassL4, RX};
use engine::feature::SharedFeatures;
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, ERROR_DROP_NODE};
use engine::trace::TraceRecord;
use engine::Dataplane;
use parking_lot::Mutex;
use smallvec::SmallVec;

use crate::wire::ipv4;

/// The node's name.
pub const NODE: &str = "ip4-sv-reassembly-feature";

/// Most fragments a datagram may hold before its first fragment arrives (the configurable
/// `max-reassembly-length` is at most this).
pub const MAX_HELD: usize = 16;

/// Error codes (VPP's ip4 reassembly counters).
pub mod errors {
    /// fragments received
    pub const FRAGMENTS_RCVD: u32 = 0;
    /// drops due to concurrent reassemblies limit
    pub const LIMIT_REACHED: u32 = 1;
    /// fragment chain too long (drop)
    pub const CHAIN_TOO_LONG: u32 = 2;
    /// malformed packets
    pub const MALFORMED: u32 = 3;
    /// fragments dropped due to reassembly timeout
    pub const TIMEOUT: u32 = 4;
    /// successful reassemblies
    pub const SUCCESS: u32 = 5;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "fragments received",
        "drops due to concurrent reassemblies limit",
        "fragment chain too long (drop)",
        "malformed packets",
        "fragments dropped due to reassembly timeout",
        "successful reassemblies",
    ];
}

/// Limits and timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Time a datagram may take to complete (ms).
    pub timeout_ms: u32,
    /// Datagrams in progress at once.
    pub max_reassemblies: u32,
    /// Fragments held per datagram while its first fragment is missing.
    pub max_reassembly_length: u32,
    /// Period of the sweep of expired datagrams (ms).
    pub expire_walk_interval_ms: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            timeout_ms: 100,
            max_reassemblies: 1024,
            max_reassembly_length: 3,
            expire_walk_interval_ms: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: u32,
    dst: u32,
    id: u16,
    proto: u8,
    fib: u32,
}

#[derive(Clone, Copy, Debug)]
struct Reass {
    key: Key,
    /// The first fragment's L4 fields, once it was seen.
    l4: Option<ReassL4>,
    /// Fragments held until then.
    held: [BufferIndex; MAX_HELD],
    n_held: u8,
    /// Payload bytes seen, and the datagram's size once the last fragment was seen.
    seen: u32,
    total: Option<u32>,
    /// When the datagram started (ns).
    start_ns: u64,
}

/// The reassembly state of a thread.
pub struct SvReassMain {
    /// Limits and timers.
    pub params: Params,
    slots: Vec<Reass>,
    free: Vec<u32>,
    by_key: HashMap<Key, u32>,
}

impl SvReassMain {
    fn new(params: Params) -> Self {
        let n = params.max_reassemblies as usize;
        SvReassMain {
            params,
            slots: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
            by_key: HashMap::with_capacity(n),
        }
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no datagram is in progress.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn release(&mut self, i: u32) {
        let k = self.slots[i as usize].key;
        self.by_key.remove(&k);
        self.free.push(i);
    }
}

/// Shared handle (the node, the sweep and the commands).
pub type SharedSvReass = Arc<Mutex<SvReassMain>>;

/// The state in the dataplane's extensions.
pub struct SvReassHandle(pub SharedSvReass);

/// `ip4-sv-reassembly-feature`.
#[derive(Clone)]
pub struct SvReassNode {
    /// State.
    pub main: SharedSvReass,
    /// Feature arcs (the node starts ip4-unicast as ip4-input does).
    pub features: SharedFeatures,
    /// ip4-unicast arc index.
    pub arc: u8,
}

/// Registration.
pub fn registration() -> NodeRegistration {
    NodeRegistration::new(NODE, NodeKind::Internal)
        .nexts(&["error-drop", "ip4-lookup"])
        .errors(errors::STRINGS)
}

/// Slot of error-drop.
const DROP: u16 = 0;
/// Slot of ip4-lookup (the end of the arc when there is no feature).
const LOOKUP: u16 = 1;

/// The first fragment's L4 fields (None if its L4 header is cut short).
fn first_l4(proto: u8, l4: &[u8]) -> Option<ReassL4> {
    let head = *l4.first_chunk::<4>()?;
    Some(match proto {
        6 => ReassL4 {
            head,
            tcp_flags: *l4.get(13)?,
            icmp_id: 0,
        },
        17 => {
            l4.get(..8)?;
            ReassL4 {
                head,
                ..ReassL4::default()
            }
        }
        1 => ReassL4 {
            head,
            tcp_flags: 0,
            icmp_id: u16::from_be_bytes([*l4.get(4)?, *l4.get(5)?]),
        },
        _ => ReassL4 {
            head,
            ..ReassL4::default()
        },
    })
}

impl Node for SvReassNode {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let features = cx.config().get(self.features);
        let node = cx.node_index();
        let now = cx.now_ns();
        let tracing = cx.tracing();
        let mut m = self.main.lock();
        let max_reass = m.params.max_reassemblies as usize;
        let max_held = (m.params.max_reassembly_length as usize).min(MAX_HELD);
        // Released fragments can outnumber the frame: enqueue in batches.
        let mut out: SmallVec<[(BufferIndex, u16); 64]> = SmallVec::new();
        let flush = |cx: &mut NodeCx<'_>, out: &mut SmallVec<[(BufferIndex, u16); 64]>| {
            let (b, n): (SmallVec<[BufferIndex; 64]>, SmallVec<[u16; 64]>) =
                out.iter().copied().unzip();
            cx.enqueue(&b, &n);
            out.clear();
        };
        let (mut n_ok, mut n_rcvd) = (0u64, 0u64);
        for &bi in frame {
            n_rcvd += 1;
            let (meta, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let rx = meta.sw_if_index[RX];
            let fib = meta.fib_index;
            let parsed = ipv4::Packet::new_checked(&*d).ok().map(|ip| {
                let ff = ip.flags_and_frag();
                (
                    Key {
                        src: u32::from(ip.src_addr()),
                        dst: u32::from(ip.dst_addr()),
                        id: ip.ident(),
                        proto: ip.protocol(),
                        fib,
                    },
                    (ff & 0x1fff) as u32 * 8,
                    ff & 0x2000 != 0,
                    ip.payload().len() as u32,
                    first_l4(ip.protocol(), ip.payload()),
                )
            });
            let Some((key, offset, more, len, l4)) = parsed else {
                cx.set_error(bi, errors::MALFORMED);
                out.push((bi, DROP));
                continue;
            };
            if tracing && cx.vm.buffers.meta(bi).is_traced() {
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = offset as u64;
                    r.u[1] = more as u64;
                }
            }
            let slot = match m.by_key.get(&key) {
                Some(&i) => i,
                None if m.by_key.len() >= max_reass => {
                    cx.set_error(bi, errors::LIMIT_REACHED);
                    out.push((bi, DROP));
                    continue;
                }
                None => {
                    let r = Reass {
                        key,
                        l4: None,
                        held: [0; MAX_HELD],
                        n_held: 0,
                        seen: 0,
                        total: None,
                        start_ns: now,
                    };
                    let i = match m.free.pop() {
                        Some(i) => {
                            m.slots[i as usize] = r;
                            i
                        }
                        None => {
                            m.slots.push(r);
                            (m.slots.len() - 1) as u32
                        }
                    };
                    m.by_key.insert(key, i);
                    i
                }
            };
            let r = &mut m.slots[slot as usize];
            r.seen += len;
            if !more {
                r.total = Some(offset + len);
            }
            let mut forward = |cx: &mut NodeCx<'_>, b: BufferIndex, l4: ReassL4| {
                let mm = cx.vm.buffers.meta_mut(b);
                mm.set_reass_l4(l4);
                let next = features.start(self.arc, node, rx, mm).unwrap_or(LOOKUP);
                out.push((b, next));
            };
            if let Some(known) = r.l4 {
                forward(cx, bi, known);
            } else if offset == 0 {
                let Some(first) = l4 else {
                    // A first fragment too short for its L4 header: the datagram is unusable.
                    cx.set_error(bi, errors::MALFORMED);
                    out.push((bi, DROP));
                    let held = r.held;
                    for &h in &held[..r.n_held as usize] {
                        cx.set_error(h, errors::MALFORMED);
                        out.push((h, DROP));
                    }
                    m.release(slot);
                    continue;
                };
                r.l4 = Some(first);
                let (held, n) = (r.held, r.n_held as usize);
                r.n_held = 0;
                forward(cx, bi, first);
                for &h in &held[..n] {
                    forward(cx, h, first);
                }
            } else if (r.n_held as usize) < max_held {
                r.held[r.n_held as usize] = bi;
                r.n_held += 1;
            } else {
                cx.set_error(bi, errors::CHAIN_TOO_LONG);
                out.push((bi, DROP));
                let held = r.held;
                for &h in &held[..r.n_held as usize] {
                    cx.set_error(h, errors::CHAIN_TOO_LONG);
                    out.push((h, DROP));
                }
                m.release(slot);
                continue;
            }
            let r = &m.slots[slot as usize];
            if r.l4.is_some() && r.total.is_some_and(|t| r.seen >= t) {
                n_ok += 1;
                m.release(slot);
            }
            if out.len() >= 48 {
                flush(cx, &mut out);
            }
        }
        drop(m);
        flush(cx, &mut out);
        cx.count_error(errors::FRAGMENTS_RCVD, n_rcvd);
        cx.count_error(errors::SUCCESS, n_ok);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str(&format!(
            "[sv-reass] fragment offset {} more-fragments {}",
            rec.u[0], rec.u[1]
        ));
    }
}

/// Drop the held fragments of datagrams older than the timeout (VPP's expire walk).
pub fn expire(dp: &mut Dataplane, now: u64) {
    let Some(h) = dp.ext::<SvReassHandle>().map(|h| h.0.clone()) else {
        return;
    };
    let Some(node) = dp.graph.node_index(NODE) else {
        return;
    };
    let code = dp.graph.error_index(node, errors::TIMEOUT);
    let mut drops: SmallVec<[BufferIndex; 64]> = SmallVec::new();
    {
        let mut m = h.lock();
        let timeout = m.params.timeout_ms as u64 * 1_000_000;
        let old: SmallVec<[u32; 16]> = m
            .by_key
            .values()
            .copied()
            .filter(|&i| now.saturating_sub(m.slots[i as usize].start_ns) >= timeout)
            .collect();
        for i in old {
            let r = m.slots[i as usize];
            drops.extend_from_slice(&r.held[..r.n_held as usize]);
            m.release(i);
        }
    }
    if drops.is_empty() {
        return;
    }
    for &b in &drops {
        dp.graph.vm.buffers.meta_mut(b).error = code;
    }
    dp.graph.inject(ERROR_DROP_NODE, &drops);
}

/// Register the node's commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    reg.register(
        "show ip4-sv-reassembly",
        "show ip4-sv-reassembly [details]",
        show,
    )
    .expect("unique command");
    reg.register(
        "set ip4-sv-reassembly",
        "set ip4-sv-reassembly [timeout <ms>] [max-reassemblies <n>] [max-reassembly-length <n>] [expire-walk-interval <ms>]",
        set,
    )
    .expect("unique command");
}

fn handle(dp: &Dataplane) -> SharedSvReass {
    dp.ext::<SvReassHandle>()
        .expect("graph-nodes registers the reassembly state")
        .0
        .clone()
}

fn err(msg: impl Into<String>) -> CliError {
    CliError::new(msg)
}

fn show(dp: &mut Dataplane, a: &mut Args) -> Result<String, CliError> {
    let details = a.keyword("details");
    a.expect_end()?;
    let h = handle(dp);
    let m = h.lock();
    let mut s = String::new();
    s.push_str("---------------------\nIP4 reassembly status\n---------------------\n");
    if details {
        let mut v: Vec<&Reass> = m.by_key.values().map(|&i| &m.slots[i as usize]).collect();
        v.sort_by_key(|r| (r.start_ns, r.key.id));
        for r in v {
            let _ = writeln!(
                s,
                "ID: {}, key: src {} dst {} proto {} fib {}, l4 {}, {} bytes seen, {} fragments held",
                r.key.id,
                std::net::Ipv4Addr::from(r.key.src),
                std::net::Ipv4Addr::from(r.key.dst),
                r.key.proto,
                r.key.fib,
                if r.l4.is_some() { "known" } else { "unknown" },
                r.seen,
                r.n_held
            );
        }
    }
    let p = m.params;
    let _ = write!(
        s,
        "---------------------\nCurrent IP4 reassemblies count: {}\n\n\
         Maximum configured concurrent shallow virtual IP4 reassemblies per worker-thread: {}\n\n\
         Maximum configured amount of fragments per shallow virtual IP4 reassembly: {}\n\n\
         Maximum configured shallow virtual IP4 reassembly timeout: {}ms\n\n\
         Maximum configured shallow virtual IP4 reassembly expire walk interval: {}ms\n",
        m.len(),
        p.max_reassemblies,
        p.max_reassembly_length,
        p.timeout_ms,
        p.expire_walk_interval_ms
    );
    Ok(s)
}

fn set(dp: &mut Dataplane, a: &mut Args) -> Result<String, CliError> {
    let h = handle(dp);
    let mut p = h.lock().params;
    if a.is_empty() {
        return Err(err(
            "expected timeout <ms>, max-reassemblies <n>, max-reassembly-length <n> or expire-walk-interval <ms>",
        ));
    }
    while !a.is_empty() {
        if a.keyword("timeout") {
            p.timeout_ms = a.u32()?;
        } else if a.keyword("max-reassemblies") {
            p.max_reassemblies = a.u32()?;
        } else if a.keyword("max-reassembly-length") {
            p.max_reassembly_length = a.u32()?;
        } else if a.keyword("expire-walk-interval") {
            p.expire_walk_interval_ms = a.u32()?;
        } else {
            return Err(a.unknown());
        }
    }
    if p.timeout_ms == 0 || p.expire_walk_interval_ms == 0 {
        return Err(err(
            "timeout and expire-walk-interval must be at least 1 ms",
        ));
    }
    if p.max_reassemblies == 0 || p.max_reassemblies > 1 << 20 {
        return Err(err("max-reassemblies must be 1 to 1048576"));
    }
    if p.max_reassembly_length == 0 || p.max_reassembly_length as usize > MAX_HELD {
        return Err(err(format!(
            "max-reassembly-length must be 1 to {MAX_HELD}"
        )));
    }
    let mut m = h.lock();
    if !m.is_empty() && p.max_reassemblies != m.params.max_reassemblies {
        return Err(err(
            "reassemblies are in progress: max-reassemblies can change when none is",
        ));
    }
    if p.max_reassemblies != m.params.max_reassemblies {
        *m = SvReassMain::new(p);
    } else {
        m.params = p;
    }
    drop(m);
    if let Some(pr) = dp.processes.iter_mut().find(|pr| pr.name == PROCESS) {
        pr.interval_ns = p.expire_walk_interval_ms as u64 * 1_000_000;
    }
    Ok(String::new())
}

/// Name of the expire walk process.
pub const PROCESS: &str = "ip4-sv-reassembly-expire-walk";

/// Register the node, its state, its sweep and its commands.
pub fn init(dp: &mut Dataplane, reg: &mut Registry<Dataplane>, arc: u8) {
    let main: SharedSvReass = Arc::new(Mutex::new(SvReassMain::new(Params::default())));
    dp.graph.register(
        registration(),
        Box::new(SvReassNode {
            main: main.clone(),
            features: dp.features,
            arc,
        }),
    );
    dp.insert_ext(SvReassHandle(main));
    dp.processes.push(engine::Process {
        name: PROCESS,
        interval_ns: Params::default().expire_walk_interval_ms as u64 * 1_000_000,
        next_ns: 0,
        run: expire,
    });
    register(reg);
}
