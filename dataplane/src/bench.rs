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
    /// Force this function variant in every node that has variants (None: the best).
    pub variant: Option<engine::march::March>,
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
    if let Some(m) = req.variant {
        app.dp.graph.set_default_variant(m)?;
    }
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

/// Median and minimum of a node's clocks/packet (or the data-path total) over several runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    /// Node name, or `total` for the data-path sum.
    pub name: String,
    /// Median over the runs (mean of the middle two for an even count).
    pub median: f64,
    /// Lowest run.
    pub min: f64,
    /// Highest run.
    pub max: f64,
}

fn spread(name: &str, mut v: Vec<f64>) -> Spread {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Spread {
        name: name.to_string(),
        median,
        min: v[0],
        max: v[n - 1],
    }
}

/// Per-node and total spread over runs of the same request (nodes absent from a run count as
/// not run there). Empty for no runs.
pub fn summarize(runs: &[BenchReport]) -> Vec<Spread> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.nodes.iter().map(|n| n.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out: Vec<Spread> = names
        .into_iter()
        .map(|name| {
            let v = runs
                .iter()
                .filter_map(|r| r.nodes.iter().find(|n| n.name == name))
                .map(|n| n.clocks_per_packet)
                .collect();
            spread(name, v)
        })
        .collect();
    out.push(spread(
        "total",
        runs.iter().map(|r| r.datapath_clocks_per_packet).collect(),
    ));
    out
}

/// The summary table printed by `dataplane bench --runs N`.
pub fn format_summary(runs: usize, s: &[Spread]) -> String {
    let mut t = format!(
        "clocks/packet over {runs} runs\n{:<32} {:>9} {:>9} {:>9}\n",
        "Name", "median", "min", "max"
    );
    for x in s {
        t.push_str(&format!(
            "{:<32} {:>9.1} {:>9.1} {:>9.1}\n",
            x.name, x.median, x.min, x.max
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(nodes: &[(&str, f64)], total: f64) -> BenchReport {
        BenchReport {
            runtime: String::new(),
            nodes: nodes
                .iter()
                .map(|&(name, c)| NodeFigure {
                    name: name.to_string(),
                    vectors: 256,
                    calls: 1,
                    clocks_per_packet: c,
                })
                .collect(),
            datapath_clocks_per_packet: total,
            packets: 256,
            seconds: 1.0,
            buffers_in_use: 0,
        }
    }

    #[test]
    fn summary_takes_median_min_and_max_per_node() {
        let runs = [
            report(&[("ip4-input", 20.0), ("nat44-out2in", 40.0)], 100.0),
            report(&[("ip4-input", 18.0), ("nat44-out2in", 60.0)], 120.0),
            report(&[("ip4-input", 19.0), ("nat44-out2in", 38.0)], 90.0),
            report(&[("ip4-input", 30.0)], 95.0),
        ];
        let s = summarize(&runs);
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0],
            Spread {
                name: "ip4-input".into(),
                median: 19.5,
                min: 18.0,
                max: 30.0
            }
        );
        assert_eq!((s[1].median, s[1].min, s[1].max), (40.0, 38.0, 60.0));
        assert_eq!((s[2].name.as_str(), s[2].median), ("total", 97.5));
        let t = format_summary(4, &s);
        assert!(t.starts_with("clocks/packet over 4 runs\n"), "{t}");
        assert!(
            t.contains("nat44-out2in                          40.0      38.0      60.0\n"),
            "{t}"
        );
        assert!(summarize(&[]).is_empty());
    }
}
