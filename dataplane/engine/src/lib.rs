//! The vector packet graph engine of `dataplane`, modelled on FD.io VPP's vlib.
//!
//! - [`buffer`]: per-thread pool of fixed-size buffers addressed by `u32` index, with headroom and
//!   VPP-like metadata.
//! - [`graph`]: nodes, next slots, frames of up to 256 buffers, the dispatcher, runtime statistics
//!   and error counters.
//! - [`feature`]: feature arcs (`device-input`, `ip4-unicast`, `ip4-output`).
//! - [`interface`]: interface tables, counters, devices and the `<if>-output` / `<if>-tx` nodes.
//! - [`trace`]: per-packet trace records, formatted only by `show trace`.
//! - [`pg`]: the packet generator; [`device_input`]: driver input nodes; [`replay`]: pcap replay.
//! - [`Dataplane`]: everything one forwarder needs, the context CLI commands run against.

#![warn(missing_docs)]

pub mod buffer;
pub mod capture;
pub mod checksum;
pub mod clock;
pub mod commands;
pub mod config;
pub mod device_input;
pub mod drivers;
pub mod feature;
pub mod graph;
pub mod hash;
pub mod interface;
pub mod l2patch;
pub mod log;
pub mod loopback;
pub mod march;
pub mod mem;
pub mod pcap;
pub mod pg;
pub mod reaper;
pub mod replay;
pub mod rng;
pub mod trace;
pub mod workers;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::feature::{ArcDirection, ArcEnd, ArcRegistration, FeatureMain, SharedFeatures};
use crate::graph::{Graph, NodeIndex, NodeKind, NodeRegistration};
use crate::interface::{
    output_errors, DeviceClass, DeviceHandle, HwInterface, InterfaceMain, InterfaceOutput,
    InterfaceTx, SharedInterfaces, SwInterface, TxTraceFormatter,
};

pub use cli;

/// Formats a frame starting at its Ethernet header, VPP's `format_ethernet_header_with_length`
/// (`max_bytes` as in VPP). Installed by `graph-nodes`; the engine falls back to hex.
pub type HeaderFormatter = fn(s: &mut String, data: &[u8], max_bytes: usize);

/// Column of the end of `s` (VPP's `format_get_indent`).
pub fn column(s: &str) -> usize {
    match s.rfind('\n') {
        Some(p) => s.len() - p - 1,
        None => s.len(),
    }
}

/// Append `n` spaces.
pub fn push_spaces(s: &mut String, n: usize) {
    s.extend(std::iter::repeat_n(' ', n));
}

/// Lowercase hex without separators.
pub fn format_hex(s: &mut String, data: &[u8]) {
    use std::fmt::Write;
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
}

/// Arc indices of the standard arcs.
#[derive(Clone, Copy, Debug)]
pub struct Arcs {
    /// `device-input`.
    pub device_input: u8,
    /// `ip4-unicast`.
    pub ip4_unicast: u8,
    /// `ip4-output`.
    pub ip4_output: u8,
}

/// How interfaces created by the configuration are backed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every interface is a memory device fed from and written to pcap files; no kernel devices.
    Replay,
    /// Real drivers (taps, AF_PACKET, AF_XDP, DPDK).
    Live,
}

/// A periodic job of the main thread (VPP's process nodes: the L2 FIB's MAC aging scanner, ...).
#[derive(Clone, Copy)]
pub struct Process {
    /// Name (`l2fib-mac-age-scanner-process`).
    pub name: &'static str,
    /// Period on the forwarder's clock.
    pub interval_ns: u64,
    /// When it runs next.
    pub next_ns: u64,
    /// The job, given the time.
    pub run: fn(&mut Dataplane, u64),
}

/// What is behind an interface.
pub enum Backing {
    /// A device (driver or memory), with `<name>-output` and `<name>-tx` nodes.
    Device(DeviceHandle),
    /// A loopback: `<name>-output` and a `<name>-tx` that feeds the graph again.
    Loopback,
    /// A tunnel: no device and no nodes; `output_node` (the encap node) takes what is sent on it.
    Tunnel {
        /// The tunnel's encap node.
        output_node: NodeIndex,
    },
}

/// Creates the device behind a new interface in live mode (installed by driver crates).
pub type DeviceFactory = fn(dp: &mut Dataplane, spec: &DeviceSpec) -> Result<DeviceHandle, String>;

/// What the CLI asked for when creating an interface (driver-specific knobs as strings).
#[derive(Clone, Debug, Default)]
pub struct DeviceSpec {
    /// Interface name to give.
    pub name: String,
    /// Device class.
    pub class: Option<DeviceClass>,
    /// Driver instance (tap id).
    pub instance: u32,
    /// Requested MAC.
    pub mac: Option<[u8; 6]>,
    /// Driver options (`host-if-name`, `host-ns`, ...).
    pub options: Vec<(String, String)>,
}

impl DeviceSpec {
    /// Value of a driver option.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Everything one forwarder holds: the graph of the main thread, interface tables, feature arcs,
/// and plugin state. CLI commands run against it.
pub struct Dataplane {
    /// The main thread's graph and per-thread state.
    pub graph: Graph,
    /// Interface tables.
    pub interfaces: SharedInterfaces,
    /// Feature arcs.
    pub features: SharedFeatures,
    /// Standard arc indices.
    pub arcs: Arcs,
    /// Replay or live.
    pub mode: Mode,
    /// Ethernet header formatter for traces (installed by graph-nodes).
    pub header_format: Option<HeaderFormatter>,
    /// Trace formatters for `<if>-tx` nodes by device class (DPDK traces on tx).
    pub tx_formatters: HashMap<DeviceClass, TxTraceFormatter>,
    /// Live device factories by class.
    pub device_factories: HashMap<DeviceClass, DeviceFactory>,
    /// Called after an interface is created (plugins add per-interface state).
    pub on_interface_created: Vec<fn(&mut Dataplane, u32)>,
    /// Called before an interface is deleted (plugins drop per-interface state).
    pub on_interface_deleted: Vec<fn(&mut Dataplane, u32)>,
    /// Called after an interface's MAC address changed (rewrite strings are rebuilt).
    pub on_mac_changed: Vec<fn(&mut Dataplane, u32)>,
    /// Device of every interface by sw_if_index (replay reaches the memory devices here).
    pub devices: Vec<Option<interface::DeviceHandle>>,
    /// Periodic jobs, run between dispatches by [`Dataplane::run_processes`].
    pub processes: Vec<Process>,
    /// What deleted interfaces leave for the next ones (indices, nodes).
    lifecycle: Lifecycle,
    /// Closes deleted devices off the main thread.
    pub reaper: reaper::Reaper,
    /// The log's last lines (`show logging`); the daemon shares it with its log writer.
    pub log: Arc<parking_lot::Mutex<log::LogRing>>,
    /// Set when the process must stop (SIGTERM): long commands give up at their next yield.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    /// When [`Dataplane::yield_now`] last let the graph run.
    last_yield: std::time::Instant,
    /// Worker threads (`cpu { workers N }`); none: the main thread forwards.
    pub workers: Option<workers::Workers>,
    /// Work for after the next publication, once no thread runs under an older snapshot
    /// ([`Dataplane::after_publish`]).
    deferred: Vec<Deferred>,
    ext: HashMap<TypeId, Box<dyn Any + Send>>,
}

/// Work deferred until the current edits are published and every thread has moved on.
type Deferred = Box<dyn FnOnce(&mut Dataplane) + Send>;

/// Indices and nodes of deleted interfaces, reused as VPP reuses them: sw/hw indices LIFO (VPP's
/// pool free lists), output/tx node pairs LIFO (VPP's `deleted_hw_interface_nodes`, renamed
/// `interface-N-output-deleted` meanwhile).
#[derive(Default)]
struct Lifecycle {
    free_sw: Vec<u32>,
    free_hw: Vec<u32>,
    /// (output node, tx node, the tx node is a loopback's).
    deleted_nodes: Vec<(NodeIndex, NodeIndex, bool)>,
    /// Bumped by every interface creation and deletion.
    generation: u64,
}

impl Dataplane {
    /// A forwarder with `n_buffers` buffers per thread, `local0`, `error-drop`, the standard arcs,
    /// `pg-input`, the driver input nodes and `l2-patch`.
    pub fn new(n_buffers: u32, mode: Mode) -> Self {
        let mut graph = Graph::new(n_buffers);
        let interfaces: SharedInterfaces = graph
            .config_mut()
            .register("interfaces", InterfaceMain::default());
        let features: SharedFeatures = graph
            .config_mut()
            .register("feature arcs", FeatureMain::default());
        let arcs = {
            let f = graph.config_mut().edit(features);
            Arcs {
                device_input: f.register_arc(ArcRegistration {
                    name: "device-input".into(),
                    start_nodes: vec![
                        "pg-input".into(),
                        "virtio-input".into(),
                        "af-packet-input".into(),
                        "af_xdp-input".into(),
                        "dpdk-input".into(),
                    ],
                    end: ArcEnd::Node("ethernet-input".into()),
                    direction: ArcDirection::Rx,
                }),
                ip4_unicast: f.register_arc(ArcRegistration {
                    name: "ip4-unicast".into(),
                    start_nodes: vec![
                        "ip4-input".into(),
                        "ip4-input-no-checksum".into(),
                        "ip4-sv-reassembly-feature".into(),
                    ],
                    end: ArcEnd::Node("ip4-lookup".into()),
                    direction: ArcDirection::Rx,
                }),
                // As VPP 18.01: the arc ends in the shared `interface-output` node (untraced),
                // which hands each buffer to its transmit interface's `<if>-output`; so every
                // output feature's slot to it is the same on all interfaces.
                ip4_output: f.register_arc(ArcRegistration {
                    name: "ip4-output".into(),
                    start_nodes: vec!["ip4-rewrite".into()],
                    end: ArcEnd::Node("interface-output".into()),
                    direction: ArcDirection::Tx,
                }),
            }
        };
        let mut dp = Dataplane {
            graph,
            interfaces,
            features,
            arcs,
            mode,
            header_format: None,
            tx_formatters: HashMap::new(),
            device_factories: HashMap::new(),
            on_interface_created: Vec::new(),
            on_interface_deleted: Vec::new(),
            on_mac_changed: Vec::new(),
            devices: vec![None],
            processes: Vec::new(),
            lifecycle: Lifecycle::default(),
            reaper: reaper::Reaper::default(),
            log: Arc::default(),
            stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            last_yield: std::time::Instant::now(),
            workers: None,
            deferred: Vec::new(),
            ext: HashMap::new(),
        };
        // local0: sw_if_index 0, as in VPP.
        {
            let im = dp.interface_main_mut();
            im.hw.push(HwInterface {
                hw_if_index: 0,
                sw_if_index: 0,
                class: DeviceClass::Local,
                mac: [0; 6],
                link_up: false,
                dev_instance: 0,
                input_node: buffer::INVALID_INDEX,
                output_node: buffer::INVALID_INDEX,
                tx_node: buffer::INVALID_INDEX,
                rx_queue: 0,
                options: Vec::new(),
                rx_thread: 0,
            });
            im.sw.push(SwInterface {
                sw_if_index: 0,
                hw_if_index: 0,
                name: "local0".into(),
                admin_up: false,
                mtu: 0,
                fib_index: 0,
                deleted: false,
                l2_mode: false,
            });
        }
        dp.graph.vm.if_counters_mut(0);
        let pg = pg::PgInput {
            streams: Vec::new(),
            rx: Vec::new(),
            interfaces: dp.interfaces,
            features: dp.features,
            device_input_arc: arcs.device_input,
            header_format: None,
        };
        let pgi = dp.graph.register(
            NodeRegistration::new("pg-input", NodeKind::Input)
                .nexts(&["ethernet-input"])
                .errors(pg::errors::STRINGS),
            Box::new(pg),
        );
        dp.graph.set_node_state(pgi, graph::NodeState::Disabled);
        for class in [
            DeviceClass::Tap,
            DeviceClass::AfPacket,
            DeviceClass::AfXdp,
            DeviceClass::Dpdk,
        ] {
            if let Some(reg) = device_input::registration(class) {
                let node = device_input::DeviceInput {
                    class,
                    interfaces: Vec::new(),
                    tables: dp.interfaces,
                    features: dp.features,
                    device_input_arc: arcs.device_input,
                    header_format: None,
                };
                dp.graph.register(reg, Box::new(node));
            }
        }
        l2patch::register(&mut dp);
        dp.graph.register(
            NodeRegistration::new("interface-output", NodeKind::Internal)
                .nexts(&["error-drop"])
                .errors(interface::interface_output_errors::STRINGS),
            Box::new(interface::PerBufferInterfaceOutput {
                next_by_sw: Vec::new(),
            }),
        );
        commands::register_tx_formatters(&mut dp);
        dp
    }

    /// Install the Ethernet header formatter (graph-nodes does this) into every node that prints
    /// frames.
    pub fn set_header_format(&mut self, f: HeaderFormatter) {
        self.header_format = Some(f);
        if let Some(pg) = self.graph.node_by_name_mut::<pg::PgInput>("pg-input") {
            pg.header_format = Some(f);
        }
        for class in [
            DeviceClass::Tap,
            DeviceClass::AfPacket,
            DeviceClass::AfXdp,
            DeviceClass::Dpdk,
        ] {
            if let Some(name) = class.input_node() {
                if let Some(n) = self
                    .graph
                    .node_by_name_mut::<device_input::DeviceInput>(name)
                {
                    n.header_format = Some(f);
                }
            }
        }
        let outputs: Vec<NodeIndex> = self
            .interface_main()
            .hw
            .iter()
            .map(|h| h.output_node)
            .filter(|&n| n != buffer::INVALID_INDEX)
            .collect();
        for n in outputs {
            if let Some(o) = self.graph.node_mut::<InterfaceOutput>(n) {
                o.header_format = Some(f);
            }
        }
    }

    /// Store plugin state, retrievable by type.
    pub fn insert_ext<T: Any + Send>(&mut self, value: T) {
        self.ext.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// The staged configuration ([`config`]): what commands have written; published to the
    /// nodes before the graph runs next.
    pub fn config(&self) -> &config::ConfigMain {
        self.graph.config()
    }

    /// The staged configuration, to edit.
    pub fn config_mut(&mut self) -> &mut config::ConfigMain {
        self.graph.config_mut()
    }

    /// The interface tables (staged: what commands have written).
    pub fn interface_main(&self) -> &InterfaceMain {
        self.graph.config().get(self.interfaces)
    }

    /// The interface tables, to change (published before the graph runs next).
    pub fn interface_main_mut(&mut self) -> &mut InterfaceMain {
        let t = self.interfaces;
        self.graph.config_mut().edit(t)
    }

    /// Start worker threads, one per entry of `cores` (pinned where a core is given), each with
    /// `n_buffers` buffers and a graph forked from the main thread's. The receive queues of the
    /// interfaces that exist are spread over them round robin (VPP's default placement), as are
    /// those of interfaces created later; the main thread keeps the CLI, the periodic jobs and
    /// pg-input. Refused once workers run.
    pub fn start_workers(&mut self, cores: &[Option<u32>], n_buffers: u32) -> Result<(), String> {
        if self.workers.is_some() {
            return Err("worker threads are already running".into());
        }
        if cores.is_empty() {
            return Ok(());
        }
        let mut w = workers::Workers::start(&self.graph, cores, n_buffers)?;
        let polled: Vec<u32> = self
            .interface_main()
            .hw
            .iter()
            .filter(|h| h.class != DeviceClass::Pg && h.class.input_node().is_some())
            .map(|h| h.hw_if_index)
            .collect();
        for hw in polled {
            let t = w.place_next();
            self.interface_main_mut().hw[hw as usize].rx_thread = t;
        }
        self.workers = Some(w);
        self.sync_workers();
        Ok(())
    }

    /// Bring the workers' graphs up to date with the main thread's (after nodes, next slots or
    /// node-held state changed), then publish the staged configuration: in that order, so that
    /// a worker never sees a snapshot naming nodes its graph does not have yet.
    pub fn sync_workers(&mut self) {
        if let Some(w) = self.workers.as_mut() {
            w.sync(&self.graph);
            self.graph.config_mut().commit();
        }
    }

    /// Publish the staged configuration now (the workers' graphs updated first): before a
    /// change to state that is not a snapshot (the FIB), so that it never refers to what the
    /// published snapshot does not have yet.
    pub fn publish(&mut self) {
        self.sync_workers();
        self.graph.config_mut().commit();
    }

    /// Run `f` once what is staged now is published and no thread runs under an older
    /// snapshot any more: state the old configuration led to (the NAT44 sessions of a removed
    /// mapping) is purged then, for good, while the command's changes stay one publication.
    pub fn after_publish(&mut self, f: impl FnOnce(&mut Dataplane) + Send + 'static) {
        self.deferred.push(Box::new(f));
    }

    /// A command (or script) is done: the workers' graphs are brought up to date, what it
    /// staged is published, and the work it deferred ([`Dataplane::after_publish`]) runs once
    /// every worker has finished the iteration it was in (its next one loads the new snapshot).
    pub fn after_commands(&mut self) {
        self.publish();
        if self.deferred.is_empty() {
            return;
        }
        if let Some(w) = &self.workers {
            for wk in &w.workers {
                drop(wk.graph.lock());
            }
        }
        for f in std::mem::take(&mut self.deferred) {
            f(self);
        }
    }

    /// Stop the worker threads (the process is stopping).
    pub fn stop_workers(&mut self) {
        if let Some(mut w) = self.workers.take() {
            w.stop();
        }
    }

    /// Number of threads that forward (1 + workers).
    pub fn n_threads(&self) -> usize {
        1 + self.workers.as_ref().map_or(0, |w| w.len())
    }

    /// Run `f` on every thread's graph in thread order: the main thread's, then each worker's,
    /// locked for the call (a worker waits at most for it, between two iterations).
    pub fn for_each_graph(&self, mut f: impl FnMut(&Graph)) {
        f(&self.graph);
        if let Some(w) = &self.workers {
            for wk in &w.workers {
                f(&wk.graph.lock());
            }
        }
    }

    /// [`Dataplane::for_each_graph`], to change (clear counters).
    pub fn for_each_graph_mut(&mut self, mut f: impl FnMut(&mut Graph)) {
        f(&mut self.graph);
        if let Some(w) = &self.workers {
            for wk in &w.workers {
                f(&mut wk.graph.lock());
            }
        }
    }

    /// Interface counters summed over threads.
    pub fn if_counters(&self, sw_if_index: u32) -> interface::IfCounters {
        let mut sum = interface::IfCounters::default();
        self.for_each_graph(|g| {
            if let Some(c) = g.vm.if_counters.get(sw_if_index as usize) {
                sum.add(c);
            }
        });
        sum
    }

    /// Error counters summed over threads: (count, node, reason) of every error that counted.
    pub fn error_counts(&self) -> Vec<(u64, &str, &str)> {
        let mut sum = self.graph.vm.errors.clone();
        if let Some(w) = &self.workers {
            for wk in &w.workers {
                let g = wk.graph.lock();
                for (s, c) in sum.iter_mut().zip(&g.vm.errors) {
                    *s += c;
                }
            }
        }
        self.graph.error_counts_of(&sum)
    }

    /// Plugin state by type.
    pub fn ext<T: Any + Send>(&self) -> Option<&T> {
        self.ext.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Mutable plugin state by type.
    pub fn ext_mut<T: Any + Send>(&mut self) -> Option<&mut T> {
        self.ext.get_mut(&TypeId::of::<T>())?.downcast_mut()
    }

    /// Create an interface: tables, counters, `<name>-output` and `<name>-tx` nodes, and the
    /// device's place in its driver's input node. Returns the sw_if_index.
    pub fn create_interface(
        &mut self,
        name: &str,
        class: DeviceClass,
        mac: [u8; 6],
        dev_instance: u32,
        device: DeviceHandle,
    ) -> Result<u32, String> {
        self.create_interface_backed(name, class, mac, dev_instance, Backing::Device(device))
    }

    /// Create an interface with any backing: a device, a loopback (no device: its tx node feeds
    /// the graph again) or a tunnel (no device and no nodes of its own: the tunnel's encap node
    /// is its output node). Returns the sw_if_index.
    pub fn create_interface_backed(
        &mut self,
        name: &str,
        class: DeviceClass,
        mac: [u8; 6],
        dev_instance: u32,
        backing: Backing,
    ) -> Result<u32, String> {
        if self.interface_main().by_name(name).is_some() {
            return Err(format!("interface `{name}` already exists"));
        }
        let output_name = format!("{name}-output");
        let tx_name = format!("{name}-tx");
        let has_nodes = !matches!(backing, Backing::Tunnel { .. });
        if has_nodes && (self.graph.has_node(&output_name) || self.graph.has_node(&tx_name)) {
            return Err(format!(
                "cannot create interface `{name}`: a graph node named `{output_name}` or `{tx_name}` exists"
            ));
        }
        let (sw_if_index, hw_if_index) = {
            let im = self.interface_main();
            (
                self.lifecycle
                    .free_sw
                    .last()
                    .copied()
                    .unwrap_or(im.sw.len() as u32),
                self.lifecycle
                    .free_hw
                    .last()
                    .copied()
                    .unwrap_or(im.hw.len() as u32),
            )
        };
        let loopback = matches!(backing, Backing::Loopback);
        // The nodes of the last deleted interface of the same kind, if any.
        let reuse = if has_nodes {
            self.lifecycle
                .deleted_nodes
                .iter()
                .rposition(|&(_, _, l)| l == loopback)
                .map(|i| self.lifecycle.deleted_nodes.remove(i))
        } else {
            None
        };
        let (output_node, tx_node, device) = match backing {
            Backing::Device(device) => {
                let tx = Box::new(InterfaceTx {
                    sw_if_index,
                    device: device.clone(),
                    formatter: self.tx_formatters.get(&class).copied(),
                    header_format: self.header_format,
                    interfaces: self.interfaces,
                    queue: 0,
                });
                let (output_node, tx_node) = match reuse {
                    Some((o, t, _)) => {
                        self.graph.replace_node(t, tx);
                        self.reuse_output_node(o, t, &output_name, &tx_name, sw_if_index)?;
                        (o, t)
                    }
                    None => {
                        let t = self
                            .graph
                            .register(NodeRegistration::new(tx_name, NodeKind::Output), tx);
                        (self.register_output_node(&output_name, sw_if_index, t), t)
                    }
                };
                (output_node, tx_node, Some(device))
            }
            Backing::Loopback => {
                let tx = Box::new(loopback::LoopbackTx {
                    sw_if_index,
                    bvi: false,
                });
                let (output_node, tx_node) = match reuse {
                    Some((o, t, _)) => {
                        self.graph.replace_node(t, tx);
                        // A BVI's tx node led to l2-input: back to ethernet-input.
                        let ei = self.graph.node_index_or_placeholder("ethernet-input");
                        self.graph.set_next(t, loopback::LOOPBACK_TX_NEXT, ei);
                        self.reuse_output_node(o, t, &output_name, &tx_name, sw_if_index)?;
                        (o, t)
                    }
                    None => {
                        let t = self.graph.register(loopback::registration(name), tx);
                        (self.register_output_node(&output_name, sw_if_index, t), t)
                    }
                };
                (output_node, tx_node, None)
            }
            Backing::Tunnel { output_node } => (output_node, buffer::INVALID_INDEX, None),
        };
        self.lifecycle.free_sw.pop_if(|&mut i| i == sw_if_index);
        self.lifecycle.free_hw.pop_if(|&mut i| i == hw_if_index);
        self.lifecycle.generation += 1;
        if let Some(io) = self.graph.node_index("interface-output") {
            let slot = self.graph.add_next(io, output_node);
            if let Some(n) = self
                .graph
                .node_mut::<interface::PerBufferInterfaceOutput>(io)
            {
                if n.next_by_sw.len() <= sw_if_index as usize {
                    n.next_by_sw.resize(sw_if_index as usize + 1, 0);
                }
                n.next_by_sw[sw_if_index as usize] = slot;
            }
        }
        let input_node = match class.input_node() {
            Some(n) => self.graph.node_index(n).unwrap_or(buffer::INVALID_INDEX),
            None => buffer::INVALID_INDEX,
        };
        if let (Some(device), DeviceClass::Pg) = (&device, class) {
            // A replay may queue frames on it: pg-input takes them in.
            if let Some(pg) = self.graph.node_by_name_mut::<pg::PgInput>("pg-input") {
                pg.rx.push(pg::PgRxInterface {
                    sw_if_index,
                    device: device.clone(),
                });
            }
        } else if let Some(device) = &device {
            if let Some(inp) = class
                .input_node()
                .and_then(|n| self.graph.node_by_name_mut::<device_input::DeviceInput>(n))
            {
                inp.interfaces.push(device_input::RxInterface {
                    hw_if_index,
                    sw_if_index,
                    device: device.clone(),
                    name: name.to_string(),
                });
            }
        }
        let rx_thread = match (&mut self.workers, class.input_node()) {
            (Some(w), Some(_)) if class != DeviceClass::Pg => w.place_next(),
            _ => 0,
        };
        {
            let im = self.interface_main_mut();
            let hw = HwInterface {
                hw_if_index,
                sw_if_index,
                class,
                mac,
                link_up: true,
                dev_instance,
                input_node,
                output_node,
                tx_node,
                rx_queue: 0,
                options: Vec::new(),
                rx_thread,
            };
            let sw = SwInterface {
                sw_if_index,
                hw_if_index,
                name: name.to_string(),
                admin_up: false,
                mtu: 9000,
                fib_index: 0,
                deleted: false,
                l2_mode: false,
            };
            match im.hw.get_mut(hw_if_index as usize) {
                Some(slot) => *slot = hw,
                None => im.hw.push(hw),
            }
            match im.sw.get_mut(sw_if_index as usize) {
                Some(slot) => *slot = sw,
                None => im.sw.push(sw),
            }
        }
        // A reused index starts with zero counters, as VPP's combined counters do.
        *self.graph.vm.if_counters_mut(sw_if_index) = Default::default();
        if self.devices.len() <= sw_if_index as usize {
            self.devices.resize(sw_if_index as usize + 1, None);
        }
        self.devices[sw_if_index as usize] = device;
        let hooks = self.on_interface_created.clone();
        for h in hooks {
            h(self, sw_if_index);
        }
        Ok(sw_if_index)
    }

    /// `<name>-output`, leading to `tx_node` (slot 0) or error-drop (slot 1).
    fn register_output_node(
        &mut self,
        output_name: &str,
        sw_if_index: u32,
        tx_node: NodeIndex,
    ) -> NodeIndex {
        let output_node = self.graph.register(
            NodeRegistration::new(output_name, NodeKind::Output).errors(output_errors::STRINGS),
            Box::new(InterfaceOutput {
                sw_if_index,
                interfaces: self.interfaces,
                header_format: self.header_format,
            }),
        );
        self.graph.add_next(output_node, tx_node);
        self.graph.add_next(output_node, graph::ERROR_DROP_NODE);
        output_node
    }

    /// Give a deleted interface's output node (and its tx node `tx`) to a new interface.
    fn reuse_output_node(
        &mut self,
        output: NodeIndex,
        tx: NodeIndex,
        output_name: &str,
        tx_name: &str,
        sw_if_index: u32,
    ) -> Result<(), String> {
        self.graph.rename_node(output, output_name)?;
        self.graph.rename_node(tx, tx_name)?;
        self.graph.replace_node(
            output,
            Box::new(InterfaceOutput {
                sw_if_index,
                interfaces: self.interfaces,
                header_format: self.header_format,
            }),
        );
        self.graph.set_next(output, 0, tx);
        self.graph.reset_node_counters(output);
        self.graph.reset_node_counters(tx);
        Ok(())
    }

    /// Delete an interface and everything bound to it. Plugins drop their per-interface state
    /// first (addresses, routes and neighbours through it, NAT44 roles, ACLs, bridge domains);
    /// then its features go, its device stops being polled and is closed, and its index and
    /// nodes are kept for the next interface (as VPP reuses them). What still reaches its output
    /// node is dropped and counted.
    pub fn delete_interface(&mut self, sw_if_index: u32) -> Result<(), String> {
        let (class, hw, has_nodes) = {
            let im = self.interface_main();
            let s = im
                .sw(sw_if_index)
                .filter(|s| !s.deleted && sw_if_index != 0)
                .ok_or_else(|| format!("no interface with sw_if_index {sw_if_index}"))?;
            let h = &im.hw[s.hw_if_index as usize];
            (h.class, h.hw_if_index, h.tx_node != buffer::INVALID_INDEX)
        };
        let hooks = self.on_interface_deleted.clone();
        for h in hooks {
            h(self, sw_if_index);
        }
        // Features the plugins did not remove themselves.
        let arcs = self.config().get(self.features).arc_names();
        for arc in arcs {
            let enabled = self.config().get(self.features).enabled(&arc, sw_if_index);
            for f in enabled {
                let _ = self.feature_enable_disable(&arc, &f, sw_if_index, false);
            }
        }
        if let Some(inp) = class
            .input_node()
            .and_then(|n| self.graph.node_by_name_mut::<device_input::DeviceInput>(n))
        {
            inp.interfaces.retain(|i| i.hw_if_index != hw);
        }
        if let Some(pg) = self.graph.node_by_name_mut::<pg::PgInput>("pg-input") {
            pg.rx.retain(|r| r.sw_if_index != sw_if_index);
        }
        // Close the device now (a tap vanishes from the host, its descriptor is closed): every
        // holder of the handle (the tx node) sees a null device from here on.
        if let Some(Some(h)) = self.devices.get(sw_if_index as usize) {
            let old = {
                let mut d = h.lock();
                d.shutdown();
                std::mem::replace(&mut *d, Box::new(interface::NullDevice))
            };
            match old.retire_key() {
                Some(key) => self.reaper.retire(key, old),
                None => drop(old),
            }
        }
        if let Some(d) = self.devices.get_mut(sw_if_index as usize) {
            *d = None;
        }
        if let Some(n) = self
            .graph
            .node_by_name_mut::<interface::PerBufferInterfaceOutput>("interface-output")
        {
            if let Some(slot) = n.next_by_sw.get_mut(sw_if_index as usize) {
                *slot = 0;
            }
        }
        if let Some(c) = self.graph.vm.capture.as_mut() {
            if c.sw_if_index == Some(sw_if_index) {
                // The capture was of this interface only: it must not pick up the next one.
                c.sw_if_index = Some(buffer::INVALID_INDEX);
            }
        }
        let (output_node, tx_node, loopback) = {
            let im = self.interface_main();
            let h = &im.hw[hw as usize];
            (h.output_node, h.tx_node, h.class == DeviceClass::Loopback)
        };
        if has_nodes {
            let _ = self
                .graph
                .rename_node(output_node, &format!("interface-{hw}-output-deleted"));
            let _ = self
                .graph
                .rename_node(tx_node, &format!("interface-{hw}-tx-deleted"));
            self.lifecycle
                .deleted_nodes
                .push((output_node, tx_node, loopback));
        }
        {
            let im = self.interface_main_mut();
            let s = &mut im.sw[sw_if_index as usize];
            s.deleted = true;
            s.admin_up = false;
            s.l2_mode = false;
            im.hw[hw as usize].link_up = false;
        }
        self.lifecycle.free_sw.push(sw_if_index);
        self.lifecycle.free_hw.push(hw);
        self.lifecycle.generation += 1;
        Ok(())
    }

    /// Called by long commands (bulk routes, scripts) between slices of their work, with no lock
    /// held: in live mode, at most every 2 ms, the graph runs one main-loop iteration (inputs
    /// polled, frames dispatched, processes run), so forwarding goes on while the command runs.
    /// Returns false once the process is stopping: the command should give up. In replay mode
    /// nothing runs (a replay stays deterministic).
    pub fn yield_now(&mut self) -> bool {
        use std::sync::atomic::Ordering;
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        if self.mode != Mode::Live
            || self.last_yield.elapsed() < std::time::Duration::from_millis(2)
        {
            return true;
        }
        self.sync_workers();
        self.graph.run_once_paced();
        self.run_processes();
        self.last_yield = std::time::Instant::now();
        !self.stop.load(Ordering::Relaxed)
    }

    /// Close every device (the process is stopping): taps vanish from the host, sockets close.
    /// Nothing else is undone (the process is about to exit), so this takes no longer with a
    /// million routes than with none.
    pub fn close_devices(&mut self) {
        for h in self.devices.iter().flatten() {
            let old = {
                let mut d = h.lock();
                d.shutdown();
                std::mem::replace(&mut *d, Box::new(interface::NullDevice))
            };
            match old.retire_key() {
                Some(key) => self.reaper.retire(key, old),
                None => drop(old),
            }
        }
        self.devices.clear();
        self.reaper.wait_all();
        self.lifecycle.generation += 1;
    }

    /// Between the commands of a script that has run for `elapsed`: a short script (under
    /// 50 ms, any configuration file) runs as one step; a longer one lets the graph run as
    /// [`Dataplane::yield_now`] does. False once the process is stopping.
    pub fn yield_in_script(&mut self, elapsed: std::time::Duration) -> bool {
        if elapsed < std::time::Duration::from_millis(50) {
            return !self.stop.load(std::sync::atomic::Ordering::Relaxed);
        }
        self.yield_now()
    }

    /// What to add to the graph clock for a pcap timestamp: in live mode the clock counts from
    /// the start, so captures get the wall clock's offset; a replay keeps the input's times (0).
    pub fn pcap_time_offset_ns(&self) -> u64 {
        if self.mode != Mode::Live {
            return 0;
        }
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        wall.saturating_sub(self.graph.vm.clock.now_ns())
    }

    /// Poll `sw_if_index`'s receive queues on thread `thread` (0: main, 1..: workers): VPP's
    /// `set interface rx-placement`, all queues of the interface at once. Taken by the threads
    /// at their next iteration (a configuration snapshot; no worker stops).
    pub fn set_rx_placement(&mut self, sw_if_index: u32, thread: u32) -> Result<(), String> {
        let n = self.n_threads() as u32;
        if thread >= n {
            return Err(match n {
                1 => "there are no worker threads (startup.conf `cpu { workers N }`)".into(),
                _ => format!(
                    "worker {} does not exist: workers are 0-{}",
                    thread - 1,
                    n - 2
                ),
            });
        }
        let class = self.interface_main().hw_of(sw_if_index).map(|h| h.class);
        match class {
            Some(c) if c.input_node().is_some() && c != DeviceClass::Pg => {}
            Some(DeviceClass::Pg) => {
                return Err("pg interfaces are received by pg-input on the main thread".into())
            }
            _ => return Err("the interface has no receive queues".into()),
        }
        let hw = self.interface_main().sw[sw_if_index as usize].hw_if_index as usize;
        self.interface_main_mut().hw[hw].rx_thread = thread;
        // The daemon's idle wait set follows the main thread's devices.
        self.lifecycle.generation += 1;
        Ok(())
    }

    /// Changes with every interface creation and deletion (the daemon refreshes its poll set).
    pub fn interfaces_generation(&self) -> u64 {
        self.lifecycle.generation
    }

    /// sw_if_index of an interface by name, or a one-line error.
    pub fn sw_if_index(&self, name: &str) -> Result<u32, String> {
        self.interface_main()
            .by_name(name)
            .map(|s| s.sw_if_index)
            .ok_or_else(|| format!("unknown interface `{name}`"))
    }

    /// Enable or disable a feature on an interface's arc.
    pub fn feature_enable_disable(
        &mut self,
        arc: &str,
        feature: &str,
        sw_if_index: u32,
        enable: bool,
    ) -> Result<(), String> {
        let output = self
            .interface_main()
            .hw_of(sw_if_index)
            .map(|h| h.output_node);
        let mut c = self.graph.take_config();
        let r = c
            .edit(self.features)
            .enable_disable(&mut self.graph, arc, feature, sw_if_index, output, enable)
            .map_err(|e| e.0);
        self.graph.put_config(c);
        r
    }

    /// Run the periodic jobs that are due on the forwarder's clock (the daemon calls this between
    /// dispatches, replays after each input frame).
    pub fn run_processes(&mut self) {
        if self.processes.is_empty() {
            return;
        }
        let now = self.graph.vm.clock.now_ns();
        for i in 0..self.processes.len() {
            let p = self.processes[i];
            if now >= p.next_ns {
                self.processes[i].next_ns = now.saturating_add(p.interval_ns);
                (p.run)(self, now);
            }
        }
    }

    /// Run the main loop until no input node produces packets and nothing is pending, then the
    /// periodic jobs that are due.
    pub fn run_until_idle(&mut self) {
        self.run_processes();
        loop {
            let n = self.graph.run_once();
            if n == 0 && !self.graph.has_pending() {
                break;
            }
        }
    }
}

/// Shared graph-node handle type helper: the output node index of an interface.
pub fn output_node_of(dp: &Dataplane, sw_if_index: u32) -> Option<NodeIndex> {
    dp.interface_main()
        .hw_of(sw_if_index)
        .map(|h| h.output_node)
}
