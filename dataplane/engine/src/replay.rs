//! Deterministic pcap replay: frames from input pcaps are fed, merged by timestamp, into the
//! interfaces they name; the thread clock follows the pcap timestamps; every interface that
//! transmitted gets an output pcap. Two replays of the same input give the same bytes and trace.

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::interface::MemoryDevice;
use crate::pcap::{read_pcap, write_pcap};
use crate::Dataplane;

/// What to replay.
#[derive(Clone, Debug, Default)]
pub struct ReplayConfig {
    /// Earlier traffic replayed first, untraced (it recreates sessions whose indices the traced
    /// packets print): (interface name, pcap file) pairs.
    pub history: Vec<(String, PathBuf)>,
    /// (interface name, pcap file) pairs.
    pub inputs: Vec<(String, PathBuf)>,
    /// Where to write `IF.pcap` for every interface that transmitted (None: do not write).
    pub output_dir: Option<PathBuf>,
    /// Packets to trace per input node (0: no tracing).
    pub trace: u32,
    /// Largest burst (0 or 1: one frame per dispatch): consecutive frames of one interface that
    /// arrive within [`BURST_WINDOW_NS`] of the first are received in one dispatch, as a NIC
    /// burst is, so the nodes see vectors. The result must not depend on it.
    pub vector: usize,
}

/// Frames of one interface closer together than this are one burst when replaying in vectors
/// (a polling loop's interval).
pub const BURST_WINDOW_NS: u64 = 1_000_000;

/// What a replay did.
#[derive(Clone, Debug, Default)]
pub struct ReplayOutcome {
    /// Frames fed in.
    pub frames_in: usize,
    /// (interface, output file, frames) for every interface that transmitted.
    pub outputs: Vec<(String, PathBuf, usize)>,
    /// Buffers still allocated after the replay (must be 0).
    pub buffers_in_use: u32,
}

/// File name for an interface's pcap: `/` (as in `GigabitEthernet0/8/0`) becomes `_`.
pub fn pcap_file_name(ifname: &str) -> String {
    format!("{}.pcap", ifname.replace('/', "_"))
}

/// Interface name from a pcap file name (inverse of [`pcap_file_name`]).
pub fn ifname_from_file(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    Some(stem.replace('_', "/"))
}

fn with_memory_device<T>(
    dp: &Dataplane,
    sw: u32,
    f: impl FnOnce(&mut MemoryDevice) -> T,
) -> Result<T, String> {
    let h = dp
        .devices
        .get(sw as usize)
        .and_then(|d| d.clone())
        .ok_or_else(|| format!("interface {sw} has no device"))?;
    let mut g = h.lock();
    let any: &mut dyn std::any::Any = g.as_mut();
    any.downcast_mut::<MemoryDevice>()
        .map(f)
        .ok_or_else(|| format!("interface {sw} is not pcap-backed (replay mode only)"))
}

/// Frames of some inputs merged by time: (ts, input order, frame order, sw_if_index, bytes), and
/// the input nodes they enter.
type Merged = (Vec<(u64, usize, usize, u32, Vec<u8>)>, Vec<&'static str>);

fn load(dp: &Dataplane, inputs: &[(String, PathBuf)]) -> Result<Merged, String> {
    let mut frames = Vec::new();
    let mut input_nodes = Vec::new();
    for (k, (ifname, path)) in inputs.iter().enumerate() {
        let sw = dp.sw_if_index(ifname)?;
        let class = dp.interface_main().hw_of(sw).map(|h| h.class);
        // pg interfaces too: their frames enter through pg-input, as a stream's would.
        let node = class.and_then(|c| c.input_node()).ok_or_else(|| {
            format!("interface `{ifname}` cannot take replay input (it has no input node)")
        })?;
        if !input_nodes.contains(&node) {
            input_nodes.push(node);
        }
        for (j, f) in read_pcap(path)?.into_iter().enumerate() {
            frames.push((f.ts_ns, k, j, sw, f.data));
        }
    }
    frames.sort_by_key(|f| (f.0, f.1, f.2));
    Ok((frames, input_nodes))
}

/// Queue frames for reception on an interface's memory device (pg-input is woken for a pg
/// interface: it polls only while it has work).
fn queue_rx(
    dp: &mut Dataplane,
    sw: u32,
    frames: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> Result<(), String> {
    with_memory_device(dp, sw, |d| d.rx.extend(frames))?;
    let class = dp.interface_main().hw_of(sw).map(|h| h.class);
    if class == Some(crate::interface::DeviceClass::Pg) {
        crate::pg::wake(dp);
    }
    Ok(())
}

fn feed(
    dp: &mut Dataplane,
    frames: Vec<(u64, usize, usize, u32, Vec<u8>)>,
    vector: usize,
) -> Result<(), String> {
    let mut frames = frames.into_iter().peekable();
    while let Some((ts, _, _, sw, data)) = frames.next() {
        // The burst: this frame and the next ones of the same interface within the window.
        let mut burst = vec![(ts, data)];
        while burst.len() < vector.max(1) {
            match frames.peek() {
                Some(f) if f.3 == sw && f.0 - ts <= BURST_WINDOW_NS => {
                    let f = frames.next().expect("peeked");
                    burst.push((f.0, f.4));
                }
                _ => break,
            }
        }
        // Dispatched once the last frame of the burst has arrived.
        dp.graph.vm.clock.set_ns(burst.last().map_or(ts, |b| b.0));
        queue_rx(dp, sw, burst)?;
        dp.run_until_idle();
    }
    dp.run_until_idle();
    Ok(())
}

/// pg interfaces keep what they transmit during a replay (their devices discard it otherwise, so
/// that a long `dataplane bench` run holds no frames): they get output pcaps like the others.
fn keep_pg_tx(dp: &Dataplane) {
    let pgs: Vec<u32> = {
        let im = dp.interface_main();
        im.sw
            .iter()
            .filter(|s| !s.deleted)
            .map(|s| s.sw_if_index)
            .filter(|&sw| im.hw_of(sw).map(|h| h.class) == Some(crate::interface::DeviceClass::Pg))
            .collect()
    };
    for sw in pgs {
        let _ = with_memory_device(dp, sw, |d| d.capture_tx = true);
    }
}

/// Run a replay on a configured forwarder.
pub fn run_replay(dp: &mut Dataplane, cfg: &ReplayConfig) -> Result<ReplayOutcome, String> {
    keep_pg_tx(dp);
    let (history, _) = load(dp, &cfg.history)?;
    let (frames, input_nodes) = load(dp, &cfg.inputs)?;
    let start = history.first().or(frames.first()).map(|f| f.0).unwrap_or(0);
    dp.graph.vm.clock = Clock::manual(start);
    let n_in = history.len() + frames.len();
    feed(dp, history, cfg.vector)?;
    // The output pcaps hold what the inputs produced, not what the history did.
    let sws: Vec<u32> = (0..dp.devices.len() as u32).collect();
    for sw in sws {
        let _ = with_memory_device(dp, sw, |d| d.tx.clear());
    }
    if cfg.trace > 0 {
        for n in &input_nodes {
            let ni = dp.graph.node_index(n).expect("input node registered");
            dp.graph.vm.trace.add_budget(ni, cfg.trace);
        }
    }
    feed(dp, frames, cfg.vector)?;
    let mut out = ReplayOutcome {
        frames_in: n_in,
        buffers_in_use: dp.graph.vm.buffers.in_use(),
        ..Default::default()
    };
    write_outputs(dp, cfg.output_dir.as_deref(), &mut out)?;
    Ok(out)
}

/// One forwarder of a multi-node replay.
pub struct TopologyNode<'a> {
    /// Node name (`node-a`).
    pub name: String,
    /// The forwarder.
    pub dp: &'a mut Dataplane,
    /// Its clock minus the global clock, in ns (each node keeps its own uptime, as two VPPs do).
    pub clock_offset_ns: i64,
    /// What to replay into it.
    pub cfg: ReplayConfig,
}

/// A wire between two nodes' interfaces: what one transmits, the other receives `delay_ns` later.
#[derive(Clone, Debug)]
pub struct Link {
    /// (node index, interface name) of one end.
    pub a: (usize, String),
    /// (node index, interface name) of the other end.
    pub b: (usize, String),
    /// One-way delay.
    pub delay_ns: u64,
}

/// A resolved link: ((node, sw_if_index), (node, sw_if_index), delay ns).
type LinkEnds = ((usize, u32), (usize, u32), u64);
/// A pending arrival: (global time, arrival order, node, sw_if_index, frame).
type Arrival = (u64, u64, usize, u32, Vec<u8>);

fn to_local(global: u64, offset: i64) -> u64 {
    (global as i64).saturating_add(offset).max(0) as u64
}

fn to_global(local: u64, offset: i64) -> u64 {
    (local as i64).saturating_sub(offset).max(0) as u64
}

/// Replay several forwarders wired together: every node's inputs enter it at their (node-local)
/// timestamps, all events are processed in global time order, and frames a wired interface
/// transmits enter the peer's interface after the link delay, converted to the peer's clock.
/// History inputs are replayed first, untraced, the same way. Returns one outcome per node.
pub fn run_topology(
    nodes: &mut [TopologyNode<'_>],
    links: &[Link],
) -> Result<Vec<ReplayOutcome>, String> {
    // Resolve link ends to sw_if_index.
    let mut ends: Vec<LinkEnds> = Vec::new();
    for l in links {
        let sa = nodes
            .get(l.a.0)
            .ok_or("link to an unknown node")?
            .dp
            .sw_if_index(&l.a.1)?;
        let sb = nodes
            .get(l.b.0)
            .ok_or("link to an unknown node")?
            .dp
            .sw_if_index(&l.b.1)?;
        ends.push(((l.a.0, sa), (l.b.0, sb), l.delay_ns));
    }
    let mut history = Vec::new();
    let mut inputs = Vec::new();
    let mut input_nodes: Vec<Vec<&'static str>> = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        keep_pg_tx(n.dp);
        let (h, _) = load(n.dp, &n.cfg.history)?;
        let (f, ins) = load(n.dp, &n.cfg.inputs)?;
        for (ts, a, b, sw, d) in h {
            history.push((to_global(ts, n.clock_offset_ns), k, a, b, sw, d));
        }
        for (ts, a, b, sw, d) in f {
            inputs.push((to_global(ts, n.clock_offset_ns), k, a, b, sw, d));
        }
        input_nodes.push(ins);
    }
    let start = history
        .iter()
        .chain(inputs.iter())
        .map(|e| e.0)
        .min()
        .unwrap_or(0);
    for n in nodes.iter_mut() {
        n.dp.graph.vm.clock = Clock::manual(to_local(start, n.clock_offset_ns));
    }
    let n_in = history.len() + inputs.len();
    // Bursts never span what a link could bring back in between.
    let vector = nodes.iter().map(|n| n.cfg.vector).max().unwrap_or(1);
    let window = ends
        .iter()
        .map(|e| e.2)
        .min()
        .unwrap_or(BURST_WINDOW_NS)
        .min(BURST_WINDOW_NS);
    let burst = (vector.max(1), window);
    run_events(nodes, &ends, history, burst)?;
    for n in nodes.iter_mut() {
        let sws: Vec<u32> = (0..n.dp.devices.len() as u32).collect();
        for sw in sws {
            let _ = with_memory_device(n.dp, sw, |d| d.tx.clear());
        }
    }
    for (k, n) in nodes.iter_mut().enumerate() {
        if n.cfg.trace > 0 {
            // Trace what enters through the link too.
            let mut names = input_nodes[k].clone();
            for &((na, sa), (nb, sb), _) in &ends {
                for (nn, sw) in [(na, sa), (nb, sb)] {
                    if nn == k {
                        let class = n.dp.interface_main().hw_of(sw).map(|h| h.class);
                        if let Some(name) = class.and_then(|c| c.input_node()) {
                            if !names.contains(&name) {
                                names.push(name);
                            }
                        }
                    }
                }
            }
            for name in names {
                let ni = n.dp.graph.node_index(name).expect("input node registered");
                n.dp.graph.vm.trace.add_budget(ni, n.cfg.trace);
            }
        }
    }
    run_events(nodes, &ends, inputs, burst)?;
    let mut outs = Vec::new();
    for n in nodes.iter_mut() {
        let mut out = ReplayOutcome {
            frames_in: n_in,
            buffers_in_use: n.dp.graph.vm.buffers.in_use(),
            ..Default::default()
        };
        write_outputs(n.dp, n.cfg.output_dir.as_deref(), &mut out)?;
        outs.push(out);
    }
    Ok(outs)
}

type Event = (u64, usize, usize, usize, u32, Vec<u8>);

fn run_events(
    nodes: &mut [TopologyNode<'_>],
    ends: &[LinkEnds],
    initial: Vec<Event>,
    (vector, window): (usize, u64),
) -> Result<(), String> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // (global time, order, node, sw, frame); order keeps equal times in arrival order.
    let mut heap: BinaryHeap<Reverse<Arrival>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut initial = initial;
    initial.sort_by_key(|e| (e.0, e.1, e.2, e.3));
    for (ts, k, _, _, sw, d) in initial {
        heap.push(Reverse((ts, order, k, sw, d)));
        order += 1;
    }
    // How many frames of each wired interface were already carried over.
    let mut carried: Vec<usize> = vec![0; ends.len() * 2];
    for (i, &((na, sa), (nb, sb), _)) in ends.iter().enumerate() {
        carried[2 * i] = with_memory_device(nodes[na].dp, sa, |d| d.tx.len())?;
        carried[2 * i + 1] = with_memory_device(nodes[nb].dp, sb, |d| d.tx.len())?;
    }
    let mut steps = 0u64;
    while let Some(Reverse((ts, _, k, sw, data))) = heap.pop() {
        steps += 1;
        if steps > 10_000_000 {
            return Err("replay does not settle: frames keep crossing the links (a loop?)".into());
        }
        {
            let n = &mut nodes[k];
            let mut burst = vec![(to_local(ts, n.clock_offset_ns), data)];
            while burst.len() < vector {
                match heap.peek() {
                    Some(Reverse(e)) if e.2 == k && e.3 == sw && e.0 - ts <= window => {
                        let Reverse((t, _, _, _, d)) = heap.pop().expect("peeked");
                        burst.push((to_local(t, n.clock_offset_ns), d));
                    }
                    _ => break,
                }
            }
            n.dp.graph.vm.clock.set_ns(burst.last().map_or(0, |b| b.0));
            queue_rx(n.dp, sw, burst)?;
            n.dp.run_until_idle();
        }
        // Carry what the node's wired interfaces sent to their peers.
        for (i, &((na, sa), (nb, sb), delay)) in ends.iter().enumerate() {
            for (slot, (from, fsw), (to, tsw)) in
                [(2 * i, (na, sa), (nb, sb)), (2 * i + 1, (nb, sb), (na, sa))]
            {
                if from != k {
                    continue;
                }
                let off = nodes[from].clock_offset_ns;
                let sent: Vec<(u64, Vec<u8>)> =
                    with_memory_device(nodes[from].dp, fsw, |d| d.tx[carried[slot]..].to_vec())?;
                carried[slot] += sent.len();
                for (t, f) in sent {
                    heap.push(Reverse((to_global(t, off) + delay, order, to, tsw, f)));
                    order += 1;
                }
            }
        }
    }
    Ok(())
}

fn write_outputs(
    dp: &Dataplane,
    output_dir: Option<&Path>,
    out: &mut ReplayOutcome,
) -> Result<(), String> {
    let names: Vec<(u32, String)> = dp
        .interface_main()
        .sw
        .iter()
        .filter(|s| !s.deleted && s.sw_if_index != 0)
        .map(|s| (s.sw_if_index, s.name.clone()))
        .collect();
    for (sw, name) in names {
        let tx = match with_memory_device(dp, sw, |d| d.tx.clone()) {
            Ok(tx) => tx,
            Err(_) => continue,
        };
        if tx.is_empty() {
            continue;
        }
        let path = match output_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
                let p = dir.join(pcap_file_name(&name));
                write_pcap(&p, tx.iter().map(|(t, d)| (*t, d.as_slice())))?;
                p
            }
            None => PathBuf::new(),
        };
        out.outputs.push((name, path, tx.len()));
    }
    Ok(())
}

/// Frames an interface transmitted during a replay (tests).
pub fn transmitted(dp: &Dataplane, ifname: &str) -> Result<Vec<Vec<u8>>, String> {
    let sw = dp.sw_if_index(ifname)?;
    with_memory_device(dp, sw, |d| d.tx.iter().map(|(_, b)| b.clone()).collect())
}

/// Queue a frame for reception on an interface (tests). For a pg interface, [`crate::pg::wake`]
/// makes pg-input take it.
pub fn inject_frame(
    dp: &Dataplane,
    ifname: &str,
    ts_ns: u64,
    frame: Vec<u8>,
) -> Result<(), String> {
    let sw = dp.sw_if_index(ifname)?;
    with_memory_device(dp, sw, |d| d.rx.push_back((ts_ns, frame)))
}
