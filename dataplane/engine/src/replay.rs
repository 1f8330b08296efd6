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
}

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
        let class = dp.interfaces.read().hw_of(sw).map(|h| h.class);
        let node = class
            .and_then(|c| c.input_node())
            .filter(|n| *n != "pg-input")
            .ok_or_else(|| {
                format!("interface `{ifname}` cannot take replay input (use a pg stream for pg interfaces)")
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

fn feed(dp: &mut Dataplane, frames: Vec<(u64, usize, usize, u32, Vec<u8>)>) -> Result<(), String> {
    for (ts, _, _, sw, data) in frames {
        dp.graph.vm.clock.set_ns(ts);
        with_memory_device(dp, sw, |d| d.rx.push_back((ts, data)))?;
        dp.run_until_idle();
    }
    dp.run_until_idle();
    Ok(())
}

/// Run a replay on a configured forwarder.
pub fn run_replay(dp: &mut Dataplane, cfg: &ReplayConfig) -> Result<ReplayOutcome, String> {
    let (history, _) = load(dp, &cfg.history)?;
    let (frames, input_nodes) = load(dp, &cfg.inputs)?;
    let start = history.first().or(frames.first()).map(|f| f.0).unwrap_or(0);
    dp.graph.vm.clock = Clock::manual(start);
    let n_in = history.len() + frames.len();
    feed(dp, history)?;
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
    feed(dp, frames)?;
    let mut out = ReplayOutcome {
        frames_in: n_in,
        buffers_in_use: dp.graph.vm.buffers.in_use(),
        ..Default::default()
    };
    let names: Vec<(u32, String)> = dp
        .interfaces
        .read()
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
        let path = match &cfg.output_dir {
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
    Ok(out)
}

/// Frames an interface transmitted during a replay (tests).
pub fn transmitted(dp: &Dataplane, ifname: &str) -> Result<Vec<Vec<u8>>, String> {
    let sw = dp.sw_if_index(ifname)?;
    with_memory_device(dp, sw, |d| d.tx.iter().map(|(_, b)| b.clone()).collect())
}

/// Queue a frame for reception on an interface (tests).
pub fn inject_frame(
    dp: &Dataplane,
    ifname: &str,
    ts_ns: u64,
    frame: Vec<u8>,
) -> Result<(), String> {
    let sw = dp.sw_if_index(ifname)?;
    with_memory_device(dp, sw, |d| d.rx.push_back((ts_ns, frame)))
}
