//! `dataplane bench`: run a configuration that defines packet-generator streams (or add one from a
//! pcap), run the streams to completion and report `show runtime` with clocks per packet.

use std::path::PathBuf;
use std::time::Instant;

use engine::graph::NodeKind;
use engine::Mode;

use crate::App;

/// A benchmark request.
#[derive(Clone, Debug)]
pub struct BenchRequest {
    /// Configuration scripts, run in order (interfaces, routes, NAT, ACLs, optionally streams).
    pub configs: Vec<PathBuf>,
    /// Add a stream from this pcap.
    pub pcap: Option<PathBuf>,
    /// Packets for the added stream.
    pub limit: u64,
    /// Interface of the added stream.
    pub interface: String,
    /// Buffers per thread.
    pub buffers: u32,
}

/// Per-node figures of a benchmark.
#[derive(Clone, Debug)]
pub struct NodeFigure {
    /// Node name.
    pub name: String,
    /// Packets handled.
    pub vectors: u64,
    /// Calls.
    pub calls: u64,
    /// Clocks per packet.
    pub clocks_per_packet: f64,
}

/// Result of a benchmark.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// `show runtime` text.
    pub runtime: String,
    /// Nodes that ran, by name.
    pub nodes: Vec<NodeFigure>,
    /// Sum of clocks/packet over data-path nodes (all but input nodes), per packet generated.
    pub datapath_clocks_per_packet: f64,
    /// Packets generated.
    pub packets: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Buffers still allocated after the run.
    pub buffers_in_use: u32,
}

/// Run a benchmark.
pub fn bench(req: &BenchRequest) -> Result<BenchReport, String> {
    let mut app = App::with_buffers(Mode::Replay, req.buffers);
    for c in &req.configs {
        app.exec_file(c).map_err(|e| e.to_string())?;
    }
    if let Some(p) = &req.pcap {
        let p = std::fs::canonicalize(p)
            .map_err(|e| format!("cannot open pcap `{}`: {e}", p.display()))?;
        app.exec(&format!(
            "packet-generator new {{ name bench limit {} interface {} pcap {} }}",
            req.limit,
            req.interface,
            p.display()
        ))
        .map_err(|e| e.to_string())?;
    }
    app.exec("clear runtime").map_err(|e| e.to_string())?;
    app.exec("clear errors").map_err(|e| e.to_string())?;
    app.exec("packet-generator enable-stream")
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    app.dp.run_until_idle();
    let seconds = t0.elapsed().as_secs_f64();
    let runtime = app.exec("show runtime").map_err(|e| e.to_string())?;
    let g = &app.dp.graph;
    let mut nodes = Vec::new();
    let mut packets = 0;
    let mut total = 0.0;
    for i in g.node_indices() {
        let st = g.node_stats(i);
        if st.calls == 0 {
            continue;
        }
        let cpp = st.clocks as f64 / st.vectors.max(1) as f64;
        if g.node_kind(i) == NodeKind::Input {
            packets += st.vectors;
        }
        nodes.push(NodeFigure {
            name: g.node_name(i).to_string(),
            vectors: st.vectors,
            calls: st.calls,
            clocks_per_packet: cpp,
        });
    }
    for n in &nodes {
        if n.name != "pg-input" && packets > 0 {
            // Weight by the share of generated packets each node saw (drops and splits).
            total += n.clocks_per_packet * n.vectors as f64 / packets as f64;
        }
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(BenchReport {
        runtime,
        nodes,
        datapath_clocks_per_packet: total,
        packets,
        seconds,
        buffers_in_use: app.dp.graph.vm.buffers.in_use(),
    })
}
