//! `dataplane replay`: run a configuration, feed pcaps into its interfaces, print the trace and
//! write the output pcaps.

use std::path::{Path, PathBuf};

use engine::march::March;
use engine::replay::{
    ifname_from_file, run_replay, run_topology, Link, ReplayConfig, ReplayOutcome, TopologyNode,
};
use engine::Mode;

use crate::App;

/// A replay request.
#[derive(Clone, Debug, Default)]
pub struct ReplayRequest {
    /// Configuration script.
    pub config: PathBuf,
    /// (interface, pcap) earlier traffic, replayed untraced before the inputs.
    pub history: Vec<(String, PathBuf)>,
    /// (interface, pcap) inputs.
    pub inputs: Vec<(String, PathBuf)>,
    /// Output directory for `IF.pcap` files.
    pub output_dir: Option<PathBuf>,
    /// Packets to trace per input node.
    pub trace: u32,
    /// Largest burst a device receives in one dispatch (1: frame by frame); see
    /// [`ReplayConfig::vector`].
    pub vector: usize,
    /// Run every node that has function variants in this one (`--variant`; None: the best the
    /// CPU has). Output bytes and traces do not depend on it.
    pub variant: Option<March>,
}

/// The default burst of `dataplane replay` (`--vector`): a full frame.
pub const DEFAULT_VECTOR: usize = engine::graph::FRAME_SIZE;

impl ReplayRequest {
    /// The request for a scenario folder: `config.cli`, `input/IF.pcap` (and `history/IF.pcap`,
    /// earlier traffic replayed untraced), output to `output/`.
    pub fn from_dir(dir: &Path, trace: u32) -> Result<Self, String> {
        let config = dir.join("config.cli");
        if !config.is_file() {
            return Err(format!(
                "`{}` is not a scenario folder: it has no config.cli",
                dir.display()
            ));
        }
        let inputs = pcaps_in(&dir.join("input"))?;
        let history = pcaps_in(&dir.join("history"))?;
        Ok(ReplayRequest {
            config,
            history,
            inputs,
            output_dir: Some(dir.join("output")),
            trace,
            vector: DEFAULT_VECTOR,
            variant: None,
        })
    }
}

/// (interface, file) for every `IF.pcap` in a folder (none if the folder is missing), by name.
fn pcaps_in(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    for f in files {
        let ifname =
            ifname_from_file(&f).ok_or_else(|| format!("bad input file name `{}`", f.display()))?;
        out.push((ifname, f));
    }
    Ok(out)
}

/// Result of a replay: the `show trace` text, `show errors`, and what was written.
pub struct ReplayResult {
    /// `show trace max 1000` output.
    pub trace: String,
    /// `show errors` output.
    pub errors: String,
    /// Replay counters and outputs.
    pub outcome: ReplayOutcome,
    /// The forwarder after the replay (for tests to inspect).
    pub app: App,
}

/// Run a replay in a fresh forwarder.
pub fn replay(req: &ReplayRequest) -> Result<ReplayResult, String> {
    let mut app = App::new(Mode::Replay);
    if let Some(m) = req.variant {
        app.dp.graph.set_default_variant(m)?;
    }
    app.exec_file(&req.config).map_err(|e| e.to_string())?;
    let cfg = ReplayConfig {
        history: req.history.clone(),
        inputs: req.inputs.clone(),
        output_dir: req.output_dir.clone(),
        trace: req.trace,
        vector: req.vector,
    };
    let outcome = run_replay(&mut app.dp, &cfg)?;
    let trace = app
        .exec("show trace max 100000")
        .map_err(|e| e.to_string())?;
    let errors = app.exec("show errors").map_err(|e| e.to_string())?;
    Ok(ReplayResult {
        trace,
        errors,
        outcome,
        app,
    })
}

/// True if a scenario folder holds several nodes (`node-a/`, `node-b/`, ... each with its
/// `config.cli`) rather than one `config.cli`.
pub fn is_multi_node(dir: &Path) -> bool {
    !dir.join("config.cli").is_file() && !node_dirs(dir).is_empty()
}

fn node_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir()
                        && p.join("config.cli").is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("node-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The nodes and wires of a multi-node scenario.
#[derive(Clone, Debug, Default)]
pub struct Topology {
    /// (node name, clock offset in ns: the node's clock minus the first node's).
    pub nodes: Vec<(String, i64)>,
    /// Wires: (node, interface, node, interface, delay ns).
    pub links: Vec<(String, String, String, String, u64)>,
}

/// Read `DIR/topology` (if present):
///
/// ```text
/// node NAME [clock-offset SECONDS]     # the node's clock minus the global one
/// link NODE IF NODE IF [delay USEC]    # a wire between two interfaces
/// ```
///
/// Without the file, or without `link` lines, the nodes are `node-*` in name order, each on its
/// own uptime starting with the first input, and the interfaces with sw_if_index 1 (the uplinks)
/// of the first two nodes are wired.
pub fn read_topology(dir: &Path) -> Result<Topology, String> {
    let mut t = Topology::default();
    for d in node_dirs(dir) {
        let name = d
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        t.nodes.push((name, 0));
    }
    let path = dir.join("topology");
    if let Ok(text) = std::fs::read_to_string(&path) {
        for (ln, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let w: Vec<&str> = line.split_whitespace().collect();
            let bad = || format!("{}:{}: cannot parse `{line}`", path.display(), ln + 1);
            match w.as_slice() {
                ["node", name, rest @ ..] => {
                    let off = match rest {
                        [] => 0,
                        ["clock-offset", s] => {
                            (s.parse::<f64>().map_err(|_| bad())? * 1e9).round() as i64
                        }
                        _ => return Err(bad()),
                    };
                    match t.nodes.iter_mut().find(|(n, _)| n == name) {
                        Some(n) => n.1 = off,
                        None => {
                            return Err(format!(
                                "{}:{}: no folder {name}/ with a config.cli",
                                path.display(),
                                ln + 1
                            ))
                        }
                    }
                }
                ["link", na, ia, nb, ib, rest @ ..] => {
                    let delay = match rest {
                        [] => 0,
                        ["delay", us] => us.parse::<u64>().map_err(|_| bad())? * 1000,
                        _ => return Err(bad()),
                    };
                    t.links.push((
                        na.to_string(),
                        ia.to_string(),
                        nb.to_string(),
                        ib.to_string(),
                        delay,
                    ));
                }
                _ => return Err(bad()),
            }
        }
    }
    Ok(t)
}

/// What one node of a multi-node replay printed and did.
pub struct NodeResult {
    /// Node name.
    pub name: String,
    /// Its `show trace`.
    pub trace: String,
    /// Its `show errors`.
    pub errors: String,
    /// Replay counters and outputs.
    pub outcome: ReplayOutcome,
    /// The forwarder after the replay.
    pub app: App,
}

/// Replay a multi-node scenario folder: each `node-X/` is configured from its `config.cli`, fed
/// its `history/` and `input/` pcaps, and writes its outputs to `output_dir/node-X/`.
pub fn replay_topology(
    dir: &Path,
    trace: u32,
    output_dir: Option<&Path>,
    vector: usize,
) -> Result<Vec<NodeResult>, String> {
    replay_topology_with(dir, trace, output_dir, vector, None)
}

/// [`replay_topology`] with every node's function variants forced to `variant`.
pub fn replay_topology_with(
    dir: &Path,
    trace: u32,
    output_dir: Option<&Path>,
    vector: usize,
    variant: Option<March>,
) -> Result<Vec<NodeResult>, String> {
    let topo = read_topology(dir)?;
    if topo.nodes.is_empty() {
        return Err(format!("`{}` has no node-*/config.cli", dir.display()));
    }
    let mut apps = Vec::new();
    for (name, _) in &topo.nodes {
        let mut app = App::new(Mode::Replay);
        if let Some(m) = variant {
            app.dp.graph.set_default_variant(m)?;
        }
        let nd = dir.join(name);
        app.exec_file(&nd.join("config.cli"))
            .map_err(|e| format!("{name}: {e}"))?;
        apps.push(app);
    }
    let index = |n: &str| {
        topo.nodes
            .iter()
            .position(|(x, _)| x == n)
            .ok_or_else(|| format!("topology: unknown node `{n}`"))
    };
    let mut links = Vec::new();
    for (na, ia, nb, ib, delay) in &topo.links {
        links.push(Link {
            a: (index(na)?, ia.clone()),
            b: (index(nb)?, ib.clone()),
            delay_ns: *delay,
        });
    }
    if links.is_empty() && apps.len() >= 2 {
        let uplink = |app: &App| app.dp.interface_main().name(1);
        links.push(Link {
            a: (0, uplink(&apps[0])),
            b: (1, uplink(&apps[1])),
            delay_ns: 0,
        });
    }
    let mut nodes = Vec::new();
    for ((name, off), app) in topo.nodes.iter().zip(apps.iter_mut()) {
        let nd = dir.join(name);
        nodes.push(TopologyNode {
            name: name.clone(),
            dp: &mut app.dp,
            clock_offset_ns: *off,
            cfg: ReplayConfig {
                history: pcaps_in(&nd.join("history"))?,
                inputs: pcaps_in(&nd.join("input"))?,
                output_dir: Some(match output_dir {
                    Some(o) => o.join(name),
                    None => nd.join("output"),
                }),
                trace,
                vector,
            },
        });
    }
    let outcomes = run_topology(&mut nodes, &links)?;
    drop(nodes);
    let mut out = Vec::new();
    for (((name, _), mut app), outcome) in topo.nodes.iter().zip(apps).zip(outcomes) {
        let trace = app
            .exec("show trace max 100000")
            .map_err(|e| e.to_string())?;
        let errors = app.exec("show errors").map_err(|e| e.to_string())?;
        out.push(NodeResult {
            name: name.clone(),
            trace,
            errors,
            outcome,
            app,
        });
    }
    Ok(out)
}

/// The header `dataplane replay` prints before each node's trace.
pub fn node_header(name: &str) -> String {
    format!("==================== {name} ====================")
}
