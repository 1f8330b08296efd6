//! The node graph and its dispatcher.
//!
//! Nodes are registered by name with their kind, named next nodes (slot numbers are stable: the
//! order of registration, then the order `add_next` is called, as in VPP), error strings and a trace
//! formatter. A node function handles a whole frame (up to [`FRAME_SIZE`] buffer indices) and
//! enqueues each buffer to one of its next slots. The dispatcher polls input nodes, then runs
//! pending frames in FIFO order until none is left.
//!
//! Per packet there is no allocation, no lock and no dynamic dispatch: the node function is called
//! once per frame through `dyn Node`, and enqueueing copies runs of indices into the next node's
//! pending vector (whose capacity is kept between frames).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::buffer::{BufferIndex, BufferPool, DEFAULT_BUFFERS};
use crate::clock::{cpu_clocks, Clock};
use crate::config::{ConfigMain, Snapshot, SnapshotSource};
use crate::interface::IfCounters;
use crate::march::March;
use crate::trace::{TraceMain, TraceRecord};

/// Maximum number of buffers handed to a node in one call (VPP's `VLIB_FRAME_SIZE`).
pub const FRAME_SIZE: usize = 256;

/// Index of a node in the graph.
pub type NodeIndex = u32;

/// What kind of node this is (`show runtime` prints input nodes as polling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Polled every main-loop iteration; produces packets.
    Input,
    /// Processes frames enqueued to it.
    Internal,
    /// Processes frames and hands packets to a device (interface output/tx nodes).
    Output,
}

/// Run state of an input node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Polled every loop.
    Polling,
    /// Not polled.
    Disabled,
}

/// Static description of a node, given at registration.
#[derive(Clone, Debug)]
pub struct NodeRegistration {
    /// Unique node name (`ip4-input`, `pg0-output`).
    pub name: String,
    /// Node kind.
    pub kind: NodeKind,
    /// Next nodes by name; the position is the slot number.
    pub next_nodes: Vec<String>,
    /// Error (counter) strings; the position is the node-local error code.
    pub errors: Vec<String>,
    /// Share the next-slot table of this node (VPP's `sibling_of`).
    pub sibling_of: Option<String>,
}

impl NodeRegistration {
    /// A registration with no nexts and no errors.
    pub fn new(name: impl Into<String>, kind: NodeKind) -> Self {
        NodeRegistration {
            name: name.into(),
            kind,
            next_nodes: Vec::new(),
            errors: Vec::new(),
            sibling_of: None,
        }
    }

    /// Set the next nodes (slot order).
    pub fn nexts(mut self, names: &[&str]) -> Self {
        self.next_nodes = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Set the error strings (code order).
    pub fn errors(mut self, errors: &[&str]) -> Self {
        self.errors = errors.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Share the next table of another node.
    pub fn sibling_of(mut self, name: &str) -> Self {
        self.sibling_of = Some(name.to_string());
        self
    }
}

/// Context for formatting trace records (`show trace`).
pub struct FormatEnv<'a> {
    /// The graph (node names, next tables).
    pub graph: &'a Graph,
}

impl FormatEnv<'_> {
    /// A configuration table as it is now: the staged one on the main thread (what `show`
    /// commands print), else the graph's snapshot.
    pub fn table<T: Any>(&self, t: crate::config::Table<T>) -> &T {
        match self.graph.stage.as_deref() {
            Some(c) => c.get(t),
            None => self.graph.snapshot.get(t),
        }
    }
}

/// A graph node. One instance per thread; its fields are its per-thread state.
pub trait Node: Any + Send {
    /// Handle a frame of up to [`FRAME_SIZE`] buffers. Every buffer must be enqueued to a next slot
    /// (or freed by an output node). The default drops everything with error code 0.
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        cx.drop_all(frame, 0);
    }

    /// Input nodes: receive packets and enqueue them; returns the number of packets produced.
    fn poll(&mut self, _cx: &mut NodeCx<'_>) -> usize {
        0
    }

    /// Append the body of one trace record, starting at column 2 of the current line of `s`.
    /// Continuation lines are `"\n"` + indentation relative to that column.
    fn format_trace(&self, _rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        s.push_str("(no trace formatter)");
    }

    /// True if `process` runs one of several compiled variants the graph selects
    /// ([`crate::march`]); set by [`multiarch_node!`](crate::multiarch_node), never by hand.
    fn has_variants(&self) -> bool {
        false
    }

    /// This node for another thread's graph ([`Graph::fork`]): the same configuration, its own
    /// per-thread state. `None` (the default): the node runs on the main thread only (pg-input,
    /// as VPP's packet generator); another thread's graph has a stand-in there that drops what
    /// reaches it under a named error. Nodes that are plain data say
    /// [`fork_by_clone!`](crate::fork_by_clone).
    fn fork(&self) -> Option<Box<dyn Node>> {
        None
    }
}

/// Inside `impl Node for X` where `X: Clone`: [`Node::fork`] gives a copy (its scratch arrays
/// and caches are overwritten before they are read, so a copy of the main thread's is as good as
/// a fresh one).
#[macro_export]
macro_rules! fork_by_clone {
    () => {
        fn fork(&self) -> Option<Box<dyn $crate::graph::Node>> {
            Some(Box::new(Clone::clone(self)))
        }
    };
}

/// Per-node runtime counters (`show runtime`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Calls of the node function.
    pub calls: u64,
    /// Buffers handled.
    pub vectors: u64,
    /// CPU clocks spent in the node function.
    pub clocks: u64,
    /// Suspends (processes only; always 0 here).
    pub suspends: u64,
}

#[derive(Clone)]
struct NodeInfo {
    name: String,
    kind: NodeKind,
    nexts: Vec<NodeIndex>,
    error_base: u32,
    n_errors: u32,
    sibling_group: Option<u32>,
    placeholder: bool,
    /// Has per-level variants.
    multiarch: bool,
    /// The variant that runs (Default for nodes without variants).
    march: March,
}

/// Pending frames and the run queue.
struct Scheduler {
    pending: Vec<Vec<BufferIndex>>,
    queued: Vec<bool>,
    ready: VecDeque<NodeIndex>,
    spare: Vec<Vec<BufferIndex>>,
}

impl Scheduler {
    #[inline]
    fn push(&mut self, target: NodeIndex, bufs: &[BufferIndex]) {
        let t = target as usize;
        if !self.queued[t] {
            self.queued[t] = true;
            self.ready.push_back(target);
        }
        self.pending[t].extend_from_slice(bufs);
    }
}

/// Per-thread engine state handed to nodes: buffers, counters, trace, time.
pub struct Vm {
    /// Thread index (0 = main).
    pub thread_index: u32,
    /// The thread's buffer pool.
    pub buffers: BufferPool,
    /// Error counters, indexed by global error index.
    pub errors: Vec<u64>,
    /// Trace buffer.
    pub trace: TraceMain,
    /// The thread's clock.
    pub clock: Clock,
    /// Time of the current dispatch (ns on `clock`).
    pub now_ns: u64,
    /// Per-interface counters, indexed by sw_if_index.
    pub if_counters: Vec<IfCounters>,
    /// Active `pcap trace` capture.
    pub capture: Option<crate::capture::Capture>,
}

impl Vm {
    /// A thread context with `n_buffers` buffers.
    pub fn new(n_buffers: u32) -> Self {
        Vm {
            thread_index: 0,
            buffers: BufferPool::new(n_buffers),
            errors: Vec::new(),
            trace: TraceMain::default(),
            clock: Clock::default(),
            now_ns: 0,
            if_counters: Vec::new(),
            capture: None,
        }
    }

    /// Counters of an interface (grows the table as interfaces appear).
    #[inline]
    pub fn if_counters_mut(&mut self, sw_if_index: u32) -> &mut IfCounters {
        let i = sw_if_index as usize;
        if i >= self.if_counters.len() {
            self.if_counters.resize(i + 1, IfCounters::default());
        }
        &mut self.if_counters[i]
    }
}

/// What a node sees while it runs: the thread state, its next slots and the scheduler.
pub struct NodeCx<'a> {
    /// Thread state (buffers, counters, trace, time).
    pub vm: &'a mut Vm,
    node: NodeIndex,
    nexts: &'a [NodeIndex],
    error_base: u32,
    sched: &'a mut Scheduler,
    state: &'a mut NodeState,
    /// The frame the node was called with (to recognise a whole-frame enqueue).
    input: &'a [BufferIndex],
    /// A whole-frame enqueue to this node, to be done by moving the frame (no copy).
    handoff: Option<NodeIndex>,
    /// The function variant selected for this node.
    march: March,
    /// The configuration snapshot of this main-loop iteration.
    config: &'a Snapshot,
}

impl<'a> NodeCx<'a> {
    /// The configuration this frame runs under ([`crate::config`]): the same snapshot for every
    /// node of one main-loop iteration, never locked.
    #[inline(always)]
    pub fn config(&self) -> &'a Snapshot {
        self.config
    }

    /// This node's index.
    #[inline]
    pub fn node_index(&self) -> NodeIndex {
        self.node
    }

    /// The function variant the graph selected for this node ([`crate::march::dispatch`]).
    #[inline(always)]
    pub fn march(&self) -> March {
        self.march
    }

    /// Number of next slots.
    #[inline]
    pub fn n_nexts(&self) -> usize {
        self.nexts.len()
    }

    /// Dispatch time (ns).
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.vm.now_ns
    }

    /// The thread's buffer pool.
    #[inline]
    pub fn buffers(&mut self) -> &mut BufferPool {
        &mut self.vm.buffers
    }

    /// Enqueue `bufs[i]` to slot `nexts[i]`, moving runs of equal slots at once.
    #[inline]
    pub fn enqueue(&mut self, bufs: &[BufferIndex], nexts: &[u16]) {
        let n = bufs.len().min(nexts.len());
        if n == 0 {
            return;
        }
        // Common case: the whole frame goes one way (a branch-free OR the compiler vectorises).
        let first = nexts[0];
        if nexts[..n].iter().fold(0u16, |acc, &x| acc | (x ^ first)) == 0 {
            self.enqueue_slot(first, &bufs[..n]);
            return;
        }
        let mut i = 0;
        while i < n {
            let slot = nexts[i];
            let mut j = i + 1;
            while j < n && nexts[j] == slot {
                j += 1;
            }
            self.enqueue_slot(slot, &bufs[i..j]);
            i = j;
        }
    }

    /// Enqueue all of `bufs` to next slot `slot`.
    #[inline]
    pub fn enqueue_slot(&mut self, slot: u16, bufs: &[BufferIndex]) {
        if bufs.is_empty() {
            return;
        }
        match self.nexts.get(slot as usize) {
            Some(&target) => {
                // The whole input frame to a node with nothing pending: hand the frame over when
                // the node returns instead of copying its indices (VPP's frame handoff).
                let whole = bufs.as_ptr() == self.input.as_ptr() && bufs.len() == self.input.len();
                if whole && self.handoff.is_none() && self.sched.pending[target as usize].is_empty()
                {
                    self.handoff = Some(target);
                    self.sched.push(target, &[]);
                } else {
                    self.sched.push(target, bufs)
                }
            }
            // A slot that does not exist is a node bug: never lose the buffers, drop them counted.
            None => {
                for &bi in bufs {
                    self.vm.buffers.meta_mut(bi).error = ERROR_BAD_NEXT;
                }
                self.sched.push(ERROR_DROP_NODE, bufs);
            }
        }
    }

    /// Enqueue buffers directly to a node by index (handoff to a node that is not a next slot,
    /// e.g. an interface's output node chosen at runtime).
    #[inline]
    pub fn enqueue_node(&mut self, node: NodeIndex, bufs: &[BufferIndex]) {
        if (node as usize) < self.sched.pending.len() {
            self.sched.push(node, bufs);
        } else {
            for &bi in bufs {
                self.vm.buffers.meta_mut(bi).error = ERROR_BAD_NEXT;
            }
            self.sched.push(ERROR_DROP_NODE, bufs);
        }
    }

    /// Global error index of this node's error `code`.
    #[inline]
    pub fn error_index(&self, code: u32) -> u32 {
        self.error_base + code
    }

    /// Mark a buffer as dropped by this node with error `code` (the caller still enqueues it to a
    /// drop slot).
    #[inline]
    pub fn set_error(&mut self, bi: BufferIndex, code: u32) {
        self.vm.buffers.meta_mut(bi).error = self.error_base + code;
    }

    /// Send buffers straight to `error-drop` with this node's error `code`.
    pub fn drop_all(&mut self, bufs: &[BufferIndex], code: u32) {
        for &bi in bufs {
            self.vm.buffers.meta_mut(bi).error = self.error_base + code;
        }
        self.sched.push(ERROR_DROP_NODE, bufs);
    }

    /// Count `n` events of this node's error `code` without dropping anything.
    #[inline]
    pub fn count_error(&mut self, code: u32, n: u64) {
        if let Some(c) = self.vm.errors.get_mut((self.error_base + code) as usize) {
            *c += n;
        }
    }

    /// True when tracing is active on this thread (check before looking at buffer flags).
    #[inline]
    pub fn tracing(&self) -> bool {
        self.vm.trace.active
    }

    /// Input nodes: start tracing `bi` if this node still has trace budget.
    #[inline]
    pub fn maybe_start_trace(&mut self, bi: BufferIndex) -> bool {
        if !self.vm.trace.active {
            return false;
        }
        if let Some(f) = self.vm.trace.tuple_filter(self.node) {
            if !f.matches(self.vm.buffers.data(bi)) {
                return false;
            }
        }
        match self.vm.trace.start(self.node, self.vm.now_ns) {
            Some(h) => {
                let m = self.vm.buffers.meta_mut(bi);
                m.flags |= crate::buffer::flags::TRACED;
                m.trace_handle = h;
                true
            }
            None => false,
        }
    }

    /// If `bi` is traced, append a record for this node and return it for filling.
    #[inline]
    pub fn trace(&mut self, bi: BufferIndex) -> Option<&mut TraceRecord> {
        let m = self.vm.buffers.meta(bi);
        if !m.is_traced() {
            return None;
        }
        let h = m.trace_handle;
        Some(self.vm.trace.add(h, self.node, self.vm.now_ns))
    }

    /// Input nodes: enable or disable polling of this node.
    pub fn set_polling(&mut self, on: bool) {
        *self.state = if on {
            NodeState::Polling
        } else {
            NodeState::Disabled
        };
    }
}

/// Node index of `error-drop` (always registered first).
pub const ERROR_DROP_NODE: NodeIndex = 0;
/// Global error index used when a buffer reaches error-drop without an error set.
pub const ERROR_NONE: u32 = 0;
/// Global error index of `error-drop`'s "node runs on the main thread only".
pub const ERROR_MAIN_ONLY: u32 = 2;
/// Global error index for an enqueue to a slot that does not exist.
pub const ERROR_BAD_NEXT: u32 = 1;

/// The node graph of one thread, with its dispatcher and per-thread [`Vm`].
pub struct Graph {
    /// Thread state.
    pub vm: Vm,
    nodes: Vec<Box<dyn Node>>,
    info: Vec<NodeInfo>,
    states: Vec<NodeState>,
    stats: Vec<NodeStats>,
    by_name: HashMap<String, NodeIndex>,
    sched: Scheduler,
    input_nodes: Vec<NodeIndex>,
    error_strings: Vec<(NodeIndex, String)>,
    n_sibling_groups: u32,
    last_clear: Instant,
    main_loops: u64,
    /// Variant given to multiarch nodes when they register.
    default_march: March,
    /// The snapshot nodes run under (refreshed at the start of each iteration).
    snapshot: Arc<Snapshot>,
    /// Bumped by every change of nodes, next slots, states and node-held state: what worker
    /// graphs are rebuilt from ([`Graph::update_from`]).
    generation: u64,
    /// Where the newest snapshot is published.
    source: SnapshotSource,
    /// The staged configuration; only the main thread's graph has it.
    stage: Option<Box<ConfigMain>>,
}

/// The `error-drop` node: counts each buffer under its error and frees it.
#[derive(Clone)]
struct ErrorDrop;

impl Node for ErrorDrop {
    crate::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        for &bi in frame {
            let m = cx.vm.buffers.meta(bi);
            let (e, rx, len) = (m.error as usize, m.sw_if_index[0], m.current_length());
            match cx.vm.errors.get_mut(e) {
                Some(c) => *c += 1,
                None => cx.vm.errors[ERROR_NONE as usize] += 1,
            }
            if rx != crate::buffer::INVALID_INDEX {
                let c = cx.vm.if_counters_mut(rx);
                c.drops += 1;
                let _ = len;
            }
            if let Some(r) = cx.trace(bi) {
                r.u[0] = e as u64;
            }
            let vm = &mut *cx.vm;
            if let Some(cap) = vm.capture.as_mut() {
                // From the Ethernet header when the frame still has it (as it was received).
                let m = vm.buffers.meta(bi);
                let cur = m.current_data();
                let start = if m.flags & crate::buffer::flags::L2_HDR_OFFSET_VALID != 0
                    && m.l2_hdr_offset <= cur
                {
                    m.l2_hdr_offset
                } else {
                    cur
                };
                let n = (cur - start) as usize + usize::from(m.current_length());
                let raw = vm.buffers.raw_from(bi, start);
                cap.offer_drop(rx, vm.now_ns, &raw[..n.min(raw.len())]);
            }
        }
        cx.vm.buffers.free(frame);
    }

    fn format_trace(&self, rec: &TraceRecord, env: &FormatEnv<'_>, s: &mut String) {
        let (node, reason) = env.graph.error_name(rec.u[0] as u32);
        s.push_str(&format!("{node}: {reason}"));
    }
}

/// A stand-in for a next node that no crate registered (e.g. `ip6-input` before IPv6 exists):
/// it drops what it receives with a counted error, so nothing is lost silently.
#[derive(Clone)]
struct Placeholder;

impl Node for Placeholder {
    crate::fork_by_clone!();
}

/// A main-thread-only node in another thread's graph: drops what reaches it, counted under
/// `error-drop`'s "node runs on the main thread only".
struct MainThreadOnly;

impl Node for MainThreadOnly {
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        for &bi in frame {
            cx.vm.buffers.meta_mut(bi).error = ERROR_MAIN_ONLY;
        }
        cx.enqueue_node(ERROR_DROP_NODE, frame);
    }
}

impl Default for Graph {
    fn default() -> Self {
        Self::new(DEFAULT_BUFFERS)
    }
}

impl Graph {
    /// A graph with `n_buffers` buffers and the `error-drop` node.
    pub fn new(n_buffers: u32) -> Self {
        let stage = Box::new(ConfigMain::new());
        let mut g = Graph {
            generation: 0,
            snapshot: stage.published(),
            source: stage.source(),
            stage: Some(stage),
            vm: Vm::new(n_buffers),
            nodes: Vec::new(),
            info: Vec::new(),
            states: Vec::new(),
            stats: Vec::new(),
            by_name: HashMap::new(),
            sched: Scheduler {
                pending: Vec::new(),
                queued: Vec::new(),
                ready: VecDeque::new(),
                spare: Vec::new(),
            },
            input_nodes: Vec::new(),
            error_strings: Vec::new(),
            n_sibling_groups: 0,
            last_clear: Instant::now(),
            main_loops: 0,
            default_march: March::best(),
        };
        let drop = g.register(
            NodeRegistration::new("error-drop", NodeKind::Internal).errors(&[
                "drop without error code",
                "enqueue to a missing next slot",
                "node runs on the main thread only",
            ]),
            Box::new(ErrorDrop),
        );
        debug_assert_eq!(drop, ERROR_DROP_NODE);
        g
    }

    /// Register a node. If a placeholder of the same name exists (a next that was named before its
    /// node was registered), the node takes over its index. Panics if a real node of that name
    /// already exists (a registration bug, found by any test that builds the graph).
    pub fn register(&mut self, reg: NodeRegistration, node: Box<dyn Node>) -> NodeIndex {
        self.generation += 1;
        let index = match self.by_name.get(&reg.name) {
            Some(&i) if self.info[i as usize].placeholder => i,
            Some(_) => panic!("node `{}` registered twice", reg.name),
            None => {
                let i = self.nodes.len() as NodeIndex;
                self.nodes.push(Box::new(Placeholder));
                self.info.push(NodeInfo {
                    name: reg.name.clone(),
                    kind: reg.kind,
                    nexts: Vec::new(),
                    error_base: 0,
                    n_errors: 0,
                    sibling_group: None,
                    placeholder: true,
                    multiarch: false,
                    march: March::Default,
                });
                self.states.push(NodeState::Polling);
                self.stats.push(NodeStats::default());
                self.sched.pending.push(Vec::with_capacity(FRAME_SIZE));
                self.sched.queued.push(false);
                self.by_name.insert(reg.name.clone(), i);
                i
            }
        };
        let i = index as usize;
        self.nodes[i] = node;
        let error_base = self.vm.errors.len() as u32;
        for e in &reg.errors {
            self.error_strings.push((index, e.clone()));
            self.vm.errors.push(0);
        }
        {
            let info = &mut self.info[i];
            info.kind = reg.kind;
            info.placeholder = false;
            info.error_base = error_base;
            info.n_errors = reg.errors.len() as u32;
            info.multiarch = self.nodes[i].has_variants();
            info.march = if info.multiarch {
                self.default_march
            } else {
                March::Default
            };
        }
        if reg.kind == NodeKind::Input {
            self.input_nodes.push(index);
        }
        if let Some(sib) = &reg.sibling_of {
            let s = self.node_index_or_placeholder(sib);
            let group = match self.info[s as usize].sibling_group {
                Some(g) => g,
                None => {
                    let g = self.n_sibling_groups;
                    self.n_sibling_groups += 1;
                    self.info[s as usize].sibling_group = Some(g);
                    g
                }
            };
            self.info[i].sibling_group = Some(group);
            self.info[i].nexts = self.info[s as usize].nexts.clone();
        }
        for name in &reg.next_nodes {
            let t = self.node_index_or_placeholder(name);
            self.add_next(index, t);
        }
        index
    }

    /// Replace the node function of a registered node (a node whose state needs slot numbers
    /// that exist only once it is registered).
    pub fn replace_node(&mut self, index: NodeIndex, node: Box<dyn Node>) {
        self.generation += 1;
        let info = &mut self.info[index as usize];
        if node.has_variants() != info.multiarch {
            info.multiarch = node.has_variants();
            info.march = if info.multiarch {
                self.default_march
            } else {
                March::Default
            };
        }
        self.nodes[index as usize] = node;
    }

    /// Rename a node (the nodes of a deleted interface, kept for the next one as VPP does).
    /// Fails, changing nothing, if another node has the new name.
    pub fn rename_node(&mut self, index: NodeIndex, name: &str) -> Result<(), String> {
        self.generation += 1;
        if self.by_name.get(name).is_some_and(|&i| i != index) {
            return Err(format!("a node named `{name}` exists"));
        }
        let old = std::mem::replace(&mut self.info[index as usize].name, name.to_string());
        self.by_name.remove(&old);
        self.by_name.insert(name.to_string(), index);
        Ok(())
    }

    /// Zero a node's runtime statistics and error counters (a reused node starts afresh).
    pub fn reset_node_counters(&mut self, index: NodeIndex) {
        self.stats[index as usize] = NodeStats::default();
        let info = &self.info[index as usize];
        let (b, n) = (info.error_base as usize, info.n_errors as usize);
        self.vm.errors[b..b + n].iter_mut().for_each(|c| *c = 0);
    }

    /// Index of node `name`, registering a counted-drop placeholder if it does not exist yet.
    pub fn node_index_or_placeholder(&mut self, name: &str) -> NodeIndex {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let i = self.register(
            NodeRegistration::new(name, NodeKind::Internal).errors(&["node not available"]),
            Box::new(Placeholder),
        );
        self.info[i as usize].placeholder = true;
        i
    }

    /// Slot of `to` in `from`'s next table, adding it (to all siblings) if missing.
    pub fn add_next(&mut self, from: NodeIndex, to: NodeIndex) -> u16 {
        self.generation += 1;
        if let Some(p) = self.info[from as usize].nexts.iter().position(|&n| n == to) {
            return p as u16;
        }
        match self.info[from as usize].sibling_group {
            Some(g) => {
                for info in self.info.iter_mut().filter(|i| i.sibling_group == Some(g)) {
                    info.nexts.push(to);
                }
            }
            None => self.info[from as usize].nexts.push(to),
        }
        (self.info[from as usize].nexts.len() - 1) as u16
    }

    /// Point slot `slot` of `from` (and its siblings) at `to` (VPP's
    /// `vlib_node_add_next_with_slot`: a loopback's tx node is rewired to `l2-input` when it
    /// becomes a BVI). The slot must exist.
    pub fn set_next(&mut self, from: NodeIndex, slot: u16, to: NodeIndex) {
        self.generation += 1;
        let s = slot as usize;
        match self.info[from as usize].sibling_group {
            Some(g) => {
                for info in self.info.iter_mut().filter(|i| i.sibling_group == Some(g)) {
                    if s < info.nexts.len() {
                        info.nexts[s] = to;
                    }
                }
            }
            None => {
                if s < self.info[from as usize].nexts.len() {
                    self.info[from as usize].nexts[s] = to;
                }
            }
        }
    }

    /// Slot of node `to_name` in `from`'s next table (adding it; a placeholder if it does not exist yet).
    pub fn add_next_by_name(&mut self, from: NodeIndex, to_name: &str) -> u16 {
        let to = self.node_index_or_placeholder(to_name);
        self.add_next(from, to)
    }

    /// Look a node up by name.
    pub fn node_index(&self, name: &str) -> Option<NodeIndex> {
        self.by_name.get(name).copied()
    }

    /// True if `name` is registered by a real node (not a placeholder).
    pub fn has_node(&self, name: &str) -> bool {
        self.by_name
            .get(name)
            .is_some_and(|&i| !self.info[i as usize].placeholder)
    }

    /// Name of a node.
    pub fn node_name(&self, index: NodeIndex) -> &str {
        self.info
            .get(index as usize)
            .map(|i| i.name.as_str())
            .unwrap_or("?")
    }

    /// Kind of a node.
    pub fn node_kind(&self, index: NodeIndex) -> NodeKind {
        self.info[index as usize].kind
    }

    /// The function variant a node runs: None if it has only the default (no variants).
    pub fn node_variant(&self, index: NodeIndex) -> Option<March> {
        let info = self.info.get(index as usize)?;
        info.multiarch.then_some(info.march)
    }

    /// Run variant `m` of a node (`set node function`); refused for a node without variants
    /// and for a variant this CPU cannot run.
    pub fn set_node_variant(&mut self, index: NodeIndex, m: March) -> Result<(), String> {
        self.generation += 1;
        let Some(info) = self.info.get_mut(index as usize) else {
            return Err(format!("no node with index {index}"));
        };
        if !info.multiarch {
            return Err(format!(
                "node `{}` doesn't have function variants",
                info.name
            ));
        }
        m.check_supported()?;
        info.march = m;
        Ok(())
    }

    /// Run variant `m` in every node that has variants, and in those registered later
    /// (`node { default { variant V } }`); refused, changing nothing, if the CPU cannot run it.
    pub fn set_default_variant(&mut self, m: March) -> Result<(), String> {
        self.generation += 1;
        m.check_supported()?;
        self.default_march = m;
        for info in self.info.iter_mut().filter(|i| i.multiarch) {
            info.march = m;
        }
        Ok(())
    }

    /// The variant multiarch nodes get when they register.
    pub fn default_variant(&self) -> March {
        self.default_march
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The next table of a node (slot -> node index).
    pub fn nexts(&self, index: NodeIndex) -> &[NodeIndex] {
        &self.info[index as usize].nexts
    }

    /// Borrow a node's state, downcast to its concrete type.
    pub fn node_mut<T: Node>(&mut self, index: NodeIndex) -> Option<&mut T> {
        self.generation += 1;
        let n: &mut dyn Any = self.nodes.get_mut(index as usize)?.as_mut();
        n.downcast_mut::<T>()
    }

    /// Borrow a node's state by name, downcast to its concrete type.
    pub fn node_by_name_mut<T: Node>(&mut self, name: &str) -> Option<&mut T> {
        let i = self.node_index(name)?;
        self.node_mut(i)
    }

    /// Borrow a node's state, downcast to its concrete type.
    pub fn node_ref<T: Node>(&self, index: NodeIndex) -> Option<&T> {
        let n: &dyn Any = self.nodes.get(index as usize)?.as_ref();
        n.downcast_ref::<T>()
    }

    /// Global error index of a node's error code.
    pub fn error_index(&self, node: NodeIndex, code: u32) -> u32 {
        self.info[node as usize].error_base + code
    }

    /// (node name, reason) of a global error index.
    pub fn error_name(&self, index: u32) -> (&str, &str) {
        match self.error_strings.get(index as usize) {
            Some((n, s)) => (self.node_name(*n), s.as_str()),
            None => ("?", "?"),
        }
    }

    /// Error counters as (count, node, reason) for every non-zero counter, in node order.
    pub fn error_counts(&self) -> Vec<(u64, &str, &str)> {
        self.error_counts_of(&self.vm.errors)
    }

    /// [`Graph::error_counts`] of counters indexed as this graph's (several threads' summed).
    pub fn error_counts_of(&self, counters: &[u64]) -> Vec<(u64, &str, &str)> {
        let mut out = Vec::new();
        for (ni, info) in self.info.iter().enumerate() {
            for code in 0..info.n_errors {
                let i = (info.error_base + code) as usize;
                let c = counters.get(i).copied().unwrap_or(0);
                if c != 0 {
                    out.push((
                        c,
                        self.info[ni].name.as_str(),
                        self.error_strings[i].1.as_str(),
                    ));
                }
            }
        }
        out
    }

    /// Count of one error counter by node name and reason (tests and tools).
    pub fn error_count(&self, node: &str, reason: &str) -> u64 {
        self.error_counts()
            .into_iter()
            .filter(|(_, n, r)| *n == node && *r == reason)
            .map(|(c, _, _)| c)
            .sum()
    }

    /// Zero all error counters (`clear errors`).
    pub fn clear_errors(&mut self) {
        self.vm.errors.iter_mut().for_each(|c| *c = 0);
    }

    /// Enable or disable polling of an input node.
    pub fn set_node_state(&mut self, index: NodeIndex, state: NodeState) {
        self.generation += 1;
        self.states[index as usize] = state;
    }

    /// Run state of a node.
    pub fn node_state(&self, index: NodeIndex) -> NodeState {
        self.states[index as usize]
    }

    /// Runtime counters of a node.
    pub fn node_stats(&self, index: NodeIndex) -> NodeStats {
        self.stats[index as usize]
    }

    /// Zero runtime counters (`clear runtime`).
    pub fn clear_runtime(&mut self) {
        self.stats
            .iter_mut()
            .for_each(|s| *s = NodeStats::default());
        self.last_clear = Instant::now();
        self.main_loops = 0;
    }

    /// Seconds since the last `clear runtime`.
    pub fn seconds_since_clear(&self) -> f64 {
        self.last_clear.elapsed().as_secs_f64()
    }

    /// Inject buffers into a node from outside the graph (tests, tools).
    pub fn inject(&mut self, node: NodeIndex, bufs: &[BufferIndex]) {
        self.sched.push(node, bufs);
    }

    /// True if frames are waiting to run.
    pub fn has_pending(&self) -> bool {
        !self.sched.ready.is_empty()
    }

    /// One main-loop iteration: poll every polling input node once, then run pending frames
    /// until none is left. Returns the number of packets the input nodes produced.
    pub fn run_once(&mut self) -> usize {
        self.refresh_config(false);
        self.iterate()
    }

    /// [`Graph::run_once`] for the main thread in the middle of a long command: what the command
    /// has staged is published only if that costs little against the time since the last
    /// publication ([`ConfigMain::commit_paced`]); the command's end publishes the rest.
    pub fn run_once_paced(&mut self) -> usize {
        self.refresh_config(true);
        self.iterate()
    }

    fn iterate(&mut self) -> usize {
        self.main_loops += 1;
        self.vm.now_ns = self.vm.clock.now_ns();
        let mut produced = 0;
        for k in 0..self.input_nodes.len() {
            let n = self.input_nodes[k];
            let i = n as usize;
            if self.states[i] != NodeState::Polling || self.info[i].placeholder {
                continue;
            }
            if self.vm.trace.active && !self.vm.clock.is_manual() {
                self.vm.now_ns = self.vm.clock.now_ns();
            }
            let t0 = cpu_clocks();
            let mut cx = NodeCx {
                vm: &mut self.vm,
                node: n,
                nexts: &self.info[i].nexts,
                error_base: self.info[i].error_base,
                sched: &mut self.sched,
                state: &mut self.states[i],
                input: &[],
                handoff: None,
                march: self.info[i].march,
                config: &self.snapshot,
            };
            let got = self.nodes[i].poll(&mut cx);
            let t1 = cpu_clocks();
            if got > 0 {
                let s = &mut self.stats[i];
                s.calls += 1;
                s.vectors += got as u64;
                s.clocks += t1.wrapping_sub(t0);
            }
            produced += got;
        }
        self.run_frames();
        if self.vm.trace.node_filter.is_some() && self.sched.ready.is_empty() {
            self.vm.trace.apply_filter();
        }
        produced
    }

    /// Run pending frames until none is left (under the newest configuration).
    pub fn run_pending(&mut self) {
        self.refresh_config(false);
        self.run_frames();
    }

    /// The main thread commits what is staged; every graph then moves to the newest snapshot.
    #[inline]
    fn refresh_config(&mut self, paced: bool) {
        if let Some(c) = self.stage.as_mut() {
            if c.is_dirty() {
                if paced {
                    c.commit_paced();
                } else {
                    c.commit();
                }
            }
        }
        let cur = self.source.load();
        if cur.epoch() != self.snapshot.epoch() {
            self.snapshot = arc_swap::Guard::into_inner(cur);
        }
    }

    /// A graph for another thread (a worker) built from this one: every node forked
    /// ([`Node::fork`]) at the same index with the same next slots, errors, states and variants;
    /// its own buffers (`n_buffers`), counters, trace buffer and scheduler; the same
    /// configuration snapshots, read from the same source. Main-thread-only nodes get a stand-in
    /// that drops under a named error.
    pub fn fork(&self, thread_index: u32, n_buffers: u32) -> Graph {
        let mut vm = Vm::new(n_buffers);
        vm.thread_index = thread_index;
        vm.errors = vec![0; self.vm.errors.len()];
        vm.clock = self.vm.clock.clone();
        vm.now_ns = self.vm.now_ns;
        let n = self.nodes.len();
        let nodes = self
            .nodes
            .iter()
            .map(|x| x.fork().unwrap_or_else(|| Box::new(MainThreadOnly)))
            .collect();
        Graph {
            vm,
            nodes,
            info: self.info.clone(),
            states: self.states.clone(),
            stats: vec![NodeStats::default(); n],
            by_name: self.by_name.clone(),
            sched: Scheduler {
                pending: (0..n).map(|_| Vec::with_capacity(FRAME_SIZE)).collect(),
                queued: vec![false; n],
                ready: VecDeque::new(),
                spare: Vec::new(),
            },
            input_nodes: self.input_nodes.clone(),
            error_strings: self.error_strings.clone(),
            n_sibling_groups: self.n_sibling_groups,
            last_clear: Instant::now(),
            main_loops: 0,
            default_march: self.default_march,
            generation: self.generation,
            snapshot: self.source.load_full(),
            source: self.source.clone(),
            stage: None,
        }
    }

    /// Rebuild this (worker's) graph from `main` after `main` changed: nodes forked again,
    /// next slots, states, errors and variants copied; the buffers, counters, trace and the
    /// per-node runtime figures of the nodes it already had are kept. Called between two of its
    /// iterations (nothing is pending).
    pub fn update_from(&mut self, main: &Graph) {
        let n = main.nodes.len();
        self.nodes = main
            .nodes
            .iter()
            .map(|x| x.fork().unwrap_or_else(|| Box::new(MainThreadOnly)))
            .collect();
        self.info = main.info.clone();
        self.states = main.states.clone();
        self.stats.resize(n, NodeStats::default());
        self.by_name = main.by_name.clone();
        self.sched
            .pending
            .resize_with(n, || Vec::with_capacity(FRAME_SIZE));
        self.sched.queued.resize(n, false);
        self.input_nodes = main.input_nodes.clone();
        self.error_strings = main.error_strings.clone();
        self.vm.errors.resize(main.vm.errors.len(), 0);
        self.n_sibling_groups = main.n_sibling_groups;
        self.default_march = main.default_march;
        self.generation = main.generation;
    }

    /// Changes of the graph so far (see [`Graph::update_from`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Thread index of this graph's thread (0: main).
    pub fn thread_index(&self) -> u32 {
        self.vm.thread_index
    }

    /// The staged configuration (main thread).
    pub fn config(&self) -> &ConfigMain {
        self.stage
            .as_deref()
            .expect("configuration is staged on the main thread")
    }

    /// The staged configuration, to register or edit tables (main thread).
    pub fn config_mut(&mut self) -> &mut ConfigMain {
        self.stage
            .as_deref_mut()
            .expect("configuration is staged on the main thread")
    }

    /// Take the staged configuration out while an edit also needs the graph (feature arcs add
    /// next slots); [`Graph::put_config`] puts it back.
    pub fn take_config(&mut self) -> Box<ConfigMain> {
        self.stage
            .take()
            .expect("configuration is staged on the main thread")
    }

    /// Put back what [`Graph::take_config`] took.
    pub fn put_config(&mut self, c: Box<ConfigMain>) {
        self.stage = Some(c);
    }

    /// The snapshot the nodes ran under in the last iteration.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    fn run_frames(&mut self) {
        while let Some(n) = self.sched.ready.pop_front() {
            let i = n as usize;
            self.sched.queued[i] = false;
            let spare = self.sched.spare.pop().unwrap_or_default();
            let mut frame = std::mem::replace(&mut self.sched.pending[i], spare);
            if frame.len() <= FRAME_SIZE {
                if let Some(t) = self.call(n, &frame, true) {
                    let target = &mut self.sched.pending[t as usize];
                    if target.is_empty() {
                        // Hand the frame over: the target's (empty) vector comes back to us.
                        std::mem::swap(target, &mut frame);
                    } else {
                        // The node enqueued more to that node after the whole frame.
                        target.extend_from_slice(&frame);
                    }
                }
            } else {
                for chunk in frame.chunks(FRAME_SIZE) {
                    self.call(n, chunk, false);
                }
            }
            frame.clear();
            self.sched.spare.push(frame);
        }
    }

    /// Call node `n` on one frame; returns the target of a whole-frame handoff, if any.
    #[inline]
    fn call(
        &mut self,
        n: NodeIndex,
        chunk: &[BufferIndex],
        may_hand_off: bool,
    ) -> Option<NodeIndex> {
        let i = n as usize;
        if self.vm.trace.active && !self.vm.clock.is_manual() {
            self.vm.now_ns = self.vm.clock.now_ns();
        }
        let t0 = cpu_clocks();
        let mut cx = NodeCx {
            vm: &mut self.vm,
            node: n,
            nexts: &self.info[i].nexts,
            error_base: self.info[i].error_base,
            sched: &mut self.sched,
            state: &mut self.states[i],
            input: if may_hand_off { chunk } else { &[] },
            handoff: None,
            march: self.info[i].march,
            config: &self.snapshot,
        };
        self.nodes[i].process(&mut cx, chunk);
        let handoff = cx.handoff;
        let t1 = cpu_clocks();
        let s = &mut self.stats[i];
        s.calls += 1;
        s.vectors += chunk.len() as u64;
        s.clocks += t1.wrapping_sub(t0);
        handoff
    }

    /// Format a trace record with its node's formatter.
    pub fn format_trace_record(&self, rec: &TraceRecord, s: &mut String) {
        let env = FormatEnv { graph: self };
        match self.nodes.get(rec.node as usize) {
            Some(n) => n.format_trace(rec, &env, s),
            None => s.push_str("(unknown node)"),
        }
    }

    /// `show trace [max N]` text, in VPP's layout.
    pub fn show_trace(&self, max: usize) -> String {
        let t = self.vm.thread_index;
        let name = match t {
            0 => "vpp_main".to_string(),
            _ => format!("vpp_wk_{}", t - 1),
        };
        let mut s = format!("------------------- Start of thread {t} {name} -------------------\n");
        let packets = self.vm.trace.packets_sorted();
        if packets.is_empty() {
            s.push_str("No packets in trace buffer\n");
            return s;
        }
        for (i, recs) in packets.iter().enumerate() {
            if i == max {
                s.push_str(&format!(
                    "Limiting display to {max} packets. To display more specify max.\n"
                ));
                break;
            }
            s.push_str(&format!("Packet {}\n", i + 1));
            let mut prev: Option<u32> = None;
            for r in recs {
                if prev != Some(r.node) {
                    s.push('\n');
                    s.push_str(&crate::trace::format_time_hmsu(r.time_ns));
                    s.push_str(": ");
                    s.push_str(self.node_name(r.node));
                }
                prev = Some(r.node);
                s.push_str("\n  ");
                self.format_trace_record(r, &mut s);
            }
            s.push_str("\n\n");
        }
        s
    }

    /// All node indices, for iteration.
    pub fn node_indices(&self) -> impl Iterator<Item = NodeIndex> {
        0..self.nodes.len() as NodeIndex
    }

    /// Main-loop iterations since the last `clear runtime`.
    pub fn main_loops(&self) -> u64 {
        self.main_loops
    }

    /// True if the node is a placeholder (named as a next but never registered).
    pub fn is_placeholder(&self, index: NodeIndex) -> bool {
        self.info[index as usize].placeholder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends even-length packets to slot 0 and odd ones to slot 1; traces each.
    struct Split;
    impl Node for Split {
        fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
            let mut nexts = [0u16; FRAME_SIZE];
            for (k, &bi) in frame.iter().enumerate() {
                let len = cx.vm.buffers.meta(bi).current_length();
                nexts[k] = len % 2;
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = len as u64;
                }
            }
            cx.enqueue(frame, &nexts[..frame.len()]);
        }
        fn format_trace(&self, rec: &TraceRecord, _: &FormatEnv<'_>, s: &mut String) {
            s.push_str(&format!("split: len {}", rec.u[0]));
        }
    }

    /// Frees what it gets and counts it.
    #[derive(Default)]
    struct Sink {
        got: u64,
    }
    impl Node for Sink {
        fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
            self.got += frame.len() as u64;
            cx.vm.buffers.free(frame);
        }
    }

    /// Produces `left` packets of lengths 1, 2, 3... in frames of 256.
    struct Source {
        left: usize,
        len: u16,
    }
    impl Node for Source {
        fn poll(&mut self, cx: &mut NodeCx<'_>) -> usize {
            let mut bufs = [0u32; FRAME_SIZE];
            let want = self.left.min(FRAME_SIZE);
            let n = cx.vm.buffers.alloc(&mut bufs[..want]);
            for &bi in &bufs[..n] {
                self.len += 1;
                cx.vm.buffers.set_length(bi, self.len as usize);
                cx.maybe_start_trace(bi);
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = self.len as u64;
                }
            }
            self.left -= n;
            cx.enqueue_slot(0, &bufs[..n]);
            n
        }
        fn format_trace(&self, rec: &TraceRecord, _: &FormatEnv<'_>, s: &mut String) {
            s.push_str(&format!("source: packet {}", rec.u[0]));
        }
    }

    fn build(n: usize) -> (Graph, NodeIndex, NodeIndex, NodeIndex) {
        let mut g = Graph::new(1024);
        let src = g.register(
            NodeRegistration::new("source", NodeKind::Input).nexts(&["split"]),
            Box::new(Source { left: n, len: 0 }),
        );
        g.register(
            NodeRegistration::new("split", NodeKind::Internal).nexts(&["even", "odd"]),
            Box::new(Split),
        );
        let even = g.register(
            NodeRegistration::new("even", NodeKind::Internal),
            Box::new(Sink::default()),
        );
        let odd = g.register(
            NodeRegistration::new("odd", NodeKind::Internal),
            Box::new(Sink::default()),
        );
        (g, src, even, odd)
    }

    #[test]
    fn dispatch_through_several_nodes_with_next_slots() {
        let (mut g, src, even, odd) = build(1000);
        while g.run_once() > 0 {}
        assert_eq!(g.node_mut::<Sink>(even).unwrap().got, 500);
        assert_eq!(g.node_mut::<Sink>(odd).unwrap().got, 500);
        assert_eq!(g.vm.buffers.in_use(), 0);
        let s = g.node_stats(g.node_index("split").unwrap());
        assert_eq!(s.vectors, 1000);
        assert_eq!(s.calls, 4, "1000 packets in frames of at most 256");
        assert_eq!(g.node_stats(src).calls, 4);
    }

    #[test]
    fn placeholder_then_real_node_keeps_index() {
        let mut g = Graph::new(16);
        let a = g.register(
            NodeRegistration::new("a", NodeKind::Internal).nexts(&["later"]),
            Box::new(Sink::default()),
        );
        let later = g.node_index("later").unwrap();
        assert!(g.is_placeholder(later));
        assert_eq!(g.nexts(a), &[later]);
        let real = g.register(
            NodeRegistration::new("later", NodeKind::Internal),
            Box::new(Sink::default()),
        );
        assert_eq!(real, later);
        assert!(!g.is_placeholder(later));
    }

    #[test]
    fn placeholder_drops_are_counted() {
        let mut g = Graph::new(16);
        let a = g.register(
            NodeRegistration::new("a", NodeKind::Internal).nexts(&["ip6-input"]),
            Box::new(Split),
        );
        let mut b = [0u32; 2];
        g.vm.buffers.alloc(&mut b);
        g.vm.buffers.set_length(b[0], 2);
        g.vm.buffers.set_length(b[1], 4);
        g.inject(a, &b);
        g.run_pending();
        assert_eq!(g.vm.buffers.in_use(), 0);
        assert_eq!(g.error_count("ip6-input", "node not available"), 2);
    }

    #[test]
    fn missing_slot_is_a_counted_drop() {
        let mut g = Graph::new(16);
        // Split has only one next: odd packets go to a slot that does not exist.
        let a = g.register(
            NodeRegistration::new("a", NodeKind::Internal).nexts(&["sink"]),
            Box::new(Split),
        );
        g.register(
            NodeRegistration::new("sink", NodeKind::Internal),
            Box::new(Sink::default()),
        );
        let mut b = [0u32; 2];
        g.vm.buffers.alloc(&mut b);
        g.vm.buffers.set_length(b[0], 1);
        g.vm.buffers.set_length(b[1], 2);
        g.inject(a, &b);
        g.run_pending();
        assert_eq!(g.vm.buffers.in_use(), 0);
        assert_eq!(
            g.error_count("error-drop", "enqueue to a missing next slot"),
            1
        );
    }

    #[test]
    fn siblings_share_next_slots() {
        let mut g = Graph::new(16);
        let a = g.register(
            NodeRegistration::new("a", NodeKind::Internal).nexts(&["x", "y"]),
            Box::new(Sink::default()),
        );
        let b = g.register(
            NodeRegistration::new("b", NodeKind::Internal).sibling_of("a"),
            Box::new(Sink::default()),
        );
        let z = g.register(
            NodeRegistration::new("z", NodeKind::Internal),
            Box::new(Sink::default()),
        );
        assert_eq!(g.add_next(b, z), 2);
        assert_eq!(g.nexts(a), g.nexts(b));
        assert_eq!(g.add_next(a, z), 2);
    }

    /// Frees what it gets, in every variant.
    struct Varied;
    impl crate::march::Kernel for Varied {
        #[inline(always)]
        fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
            cx.vm.buffers.free(frame);
        }
    }
    impl Node for Varied {
        crate::multiarch_node!();
    }

    #[test]
    fn variants_follow_the_node_across_replacement() {
        let mut g = Graph::new(16);
        let v = g.register(
            NodeRegistration::new("v", NodeKind::Internal),
            Box::new(Varied),
        );
        assert_eq!(g.node_variant(v), Some(March::best()));
        g.set_node_variant(v, March::Default).unwrap();
        assert_eq!(g.node_variant(v), Some(March::Default));
        // A node without variants in its place: none to report or select.
        g.replace_node(v, Box::new(Sink::default()));
        assert_eq!(g.node_variant(v), None);
        assert!(g.set_node_variant(v, March::Default).is_err());
        // And back: the graph's default variant again.
        g.replace_node(v, Box::new(Varied));
        assert_eq!(g.node_variant(v), Some(g.default_variant()));
    }

    #[test]
    fn trace_layout_matches_vpp() {
        let (mut g, src, _, _) = build(3);
        g.vm.clock = Clock::manual(((2 * 3600 + 54 * 60 + 30) * 1_000_000 + 91_783) * 1000);
        g.vm.trace.add_budget(src, 2);
        while g.run_once() > 0 {}
        let t = g.show_trace(50);
        let want = "------------------- Start of thread 0 vpp_main -------------------\n\
Packet 1\n\n02:54:30:091783: source\n  source: packet 1\n02:54:30:091783: split\n  split: len 1\n\n\
Packet 2\n\n02:54:30:091783: source\n  source: packet 2\n02:54:30:091783: split\n  split: len 2\n\n";
        assert_eq!(t, want);
        assert!(g.show_trace(1).ends_with("To display more specify max.\n"));
        g.vm.trace.clear();
        assert!(g.show_trace(50).contains("No packets in trace buffer"));
    }
}
