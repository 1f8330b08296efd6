//! The `dataplane` command: replay scenarios, benchmark scripts, run a configuration.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use dataplane::bench::{bench, BenchRequest};
use dataplane::replay_cmd::{replay, ReplayRequest};

#[derive(Parser)]
#[command(
    name = "dataplane",
    version,
    about = "Userspace vector packet processor for a Kubernetes node"
)]
struct Cli {
    /// Run the forwarder with this VPP-style startup.conf (unix, cpu, buffers, dpdk sections).
    #[arg(short = 'c', value_name = "STARTUP_CONF")]
    startup: Option<PathBuf>,
    /// Run the forwarder and execute this CLI script at start (shortcut for `unix { exec FILE }`).
    #[arg(long, value_name = "FILE")]
    exec: Option<PathBuf>,
    /// CLI socket (default /run/dataplane/cli.sock; overrides `unix { cli-listen }`).
    #[arg(long, value_name = "PATH")]
    cli_listen: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay pcaps through a configuration and print the trace.
    ///
    /// Either a scenario folder (config.cli, input/IF.pcap; outputs go to DIR/output/) or
    /// --config with --input IF=PCAP pairs.
    Replay {
        /// Scenario folder.
        dir: Option<PathBuf>,
        /// Configuration script.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// Input as INTERFACE=PCAP (repeatable).
        #[arg(long = "input", short = 'i', value_name = "IF=PCAP")]
        inputs: Vec<String>,
        /// Where to write IF.pcap for every interface that transmitted.
        #[arg(long, short = 'o')]
        output_dir: Option<PathBuf>,
        /// Packets to trace per input node.
        #[arg(long, default_value_t = 50)]
        trace: u32,
        /// Receive consecutive frames of an interface (within 1 ms) in bursts of up to N, as a
        /// NIC does (1: one frame per dispatch). Traces and output bytes do not depend on it.
        #[arg(long, default_value_t = dataplane::replay_cmd::DEFAULT_VECTOR,
              value_parser = parse_vector)]
        vector: usize,
        /// A command to run after the inputs, its output printed after the trace (repeatable:
        /// `--then 'show errors' --then 'show nat44 sessions'`); on every node of a two-node
        /// scenario.
        #[arg(long = "then", value_name = "CMD")]
        then: Vec<String>,
        /// Run every node that has function variants in variant V: default (the baseline
        /// build), x86_64_v2, x86_64_v3 or x86_64_v4 (as startup.conf's `node { default {
        /// variant V } }`); without it, the best this CPU has.
        #[arg(long, value_name = "V", value_parser = parse_variant)]
        variant: Option<engine::march::March>,
        /// Print one JSON object (trace, outputs, counters, the --then outputs) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare two `show trace` texts record by record (timestamps and addresses ignored).
    TraceDiff {
        /// Expected trace file.
        expected: PathBuf,
        /// Actual trace file.
        actual: PathBuf,
    },
    /// Write input/IF.pcap of the documented scenarios under DIR (e.g. traces/contiv).
    GenScenarioInputs {
        /// Folder holding one folder per scenario.
        dir: PathBuf,
    },
    /// Write the benchmark pcaps: syn.pcap, flows10k.pcap (../shared/bench/make_pcaps.py's) and
    /// vxlan-syn.pcap, vxlan-flows10k.pcap (ci/bench/vxlan-decap.cli's streams).
    MakeBenchPcaps {
        /// Output folder.
        dir: PathBuf,
    },
    /// Run packet-generator streams to completion and print `show runtime`.
    Bench {
        /// Configuration script (repeat to run several in order).
        #[arg(long = "config", short = 'c', required = true)]
        configs: Vec<PathBuf>,
        /// Add a stream from this pcap.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Packets to send on the added stream.
        #[arg(long, default_value_t = 10_000_000)]
        limit: u64,
        /// Interface of the added stream.
        #[arg(long, default_value = "pg0")]
        interface: String,
        /// Buffers per thread.
        #[arg(long, default_value_t = engine::buffer::DEFAULT_BUFFERS)]
        buffers: u32,
        /// Repeat the whole run (a fresh forwarder each time) and end with the median, minimum
        /// and maximum clocks/packet of every node, as the shared VPP figures are medians of 8.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        runs: u32,
        /// Run every node that has function variants in variant V: default (the baseline
        /// build), x86_64_v2, x86_64_v3 or x86_64_v4 (as startup.conf's `node { default {
        /// variant V } }`); without it, the best this CPU has.
        #[arg(long, value_name = "V", value_parser = parse_variant)]
        variant: Option<engine::march::March>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.cmd.is_none() && (cli.startup.is_some() || cli.exec.is_some()) {
        let r = run_daemon(cli.startup, cli.exec, cli.cli_listen);
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dataplane: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let r = match (cli.cmd, cli.exec) {
        (
            Some(Cmd::Replay {
                dir,
                config,
                inputs,
                output_dir,
                trace,
                vector,
                then,
                json,
                variant,
            }),
            _,
        ) => run_replay(
            dir,
            config,
            inputs,
            output_dir,
            trace,
            (vector, variant),
            ReplayPrint { then, json },
        ),
        (
            Some(Cmd::Bench {
                configs,
                pcap,
                limit,
                interface,
                buffers,
                runs,
                variant,
            }),
            _,
        ) => run_bench(
            BenchRequest {
                configs,
                pcap,
                limit,
                interface,
                buffers,
                variant,
            },
            runs,
        ),
        (Some(Cmd::MakeBenchPcaps { dir }), _) => dataplane::pcapgen::write_bench_pcaps(&dir)
            .map(|()| println!(
                "wrote syn.pcap, flows10k.pcap, vxlan-syn.pcap, vxlan-flows10k.pcap, flows1k.pcap, flows100k.pcap, flows1m.pcap and syn-routes.pcap in {}",
                dir.display()
            )),
        (Some(Cmd::TraceDiff { expected, actual }), _) => run_trace_diff(&expected, &actual),
        (Some(Cmd::GenScenarioInputs { dir }), _) => {
            if dir.file_name().is_some_and(|n| n == "antrea") {
                dataplane::antrea::SCENARIOS
                    .iter()
                    .chain(dataplane::antrea::NODE_SCENARIOS.iter().map(|(s, _)| s))
                    .try_for_each(|s| dataplane::antrea::write_inputs(&dir.join(s), s))
            } else {
                dataplane::contiv::SCENARIOS
                    .iter()
                    .chain(dataplane::contiv::NODE_SCENARIOS.iter().map(|(s, _)| s))
                    .try_for_each(|s| dataplane::contiv::write_inputs(&dir.join(s), s))
            }
        }
        (None, _) => Err(
            "nothing to do: give a subcommand (replay, bench, ...), -c startup.conf or --exec FILE; see --help"
                .into(),
        ),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dataplane: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--variant V`: a node function variant this CPU runs.
fn parse_variant(s: &str) -> Result<engine::march::March, String> {
    let m = engine::march::March::parse(s).ok_or_else(|| {
        format!(
            "unknown variant `{s}`; expected one of {}",
            engine::march::March::names()
        )
    })?;
    m.check_supported()
}

/// `--vector N`: 1 to 256.
fn parse_vector(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ 1..=256) => Ok(n),
        _ => Err(format!("`{s}` is not a burst size: expected 1 to 256")),
    }
}

/// How `dataplane replay` reports.
struct ReplayPrint {
    /// Commands run after the inputs.
    then: Vec<String>,
    /// One JSON object on stdout.
    json: bool,
}

/// What one node's replay produced, for printing.
struct NodeReport {
    name: Option<String>,
    trace: String,
    frames_in: usize,
    outputs: Vec<(String, PathBuf, usize)>,
    drops: u64,
    then: Vec<(String, Result<String, String>)>,
    leaked: u32,
}

fn report(
    name: Option<String>,
    trace: String,
    outcome: &engine::replay::ReplayOutcome,
    app: &mut dataplane::App,
    then: &[String],
) -> NodeReport {
    let drops = app.dp.graph.vm.if_counters.iter().map(|c| c.drops).sum();
    NodeReport {
        name,
        trace,
        frames_in: outcome.frames_in,
        outputs: outcome.outputs.clone(),
        drops,
        then: then
            .iter()
            .map(|c| (c.clone(), app.exec(c).map_err(|e| e.to_string())))
            .collect(),
        leaked: outcome.buffers_in_use,
    }
}

fn run_replay(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    inputs: Vec<String>,
    output_dir: Option<PathBuf>,
    trace: u32,
    (vector, variant): (usize, Option<engine::march::March>),
    print: ReplayPrint,
) -> Result<(), String> {
    let mut reports = Vec::new();
    let multi =
        matches!((&dir, &config), (Some(d), None) if dataplane::replay_cmd::is_multi_node(d));
    if multi {
        let d = dir.as_deref().unwrap_or(std::path::Path::new("."));
        let nodes = dataplane::replay_cmd::replay_topology_with(
            d,
            trace,
            output_dir.as_deref(),
            vector,
            variant,
        )?;
        for mut n in nodes {
            let t = std::mem::take(&mut n.trace);
            reports.push(report(
                Some(n.name.clone()),
                t,
                &n.outcome,
                &mut n.app,
                &print.then,
            ));
        }
    } else {
        let req = match (dir, config) {
            (Some(d), None) => {
                let mut r = ReplayRequest::from_dir(&d, trace)?;
                if output_dir.is_some() {
                    r.output_dir = output_dir;
                }
                r.vector = vector;
                r.variant = variant;
                r
            }
            (None, Some(c)) => {
                let mut ins = Vec::new();
                for i in inputs {
                    let (ifname, pcap) = i
                        .split_once('=')
                        .ok_or_else(|| format!("bad --input `{i}`: expected INTERFACE=PCAP"))?;
                    ins.push((ifname.to_string(), PathBuf::from(pcap)));
                }
                ReplayRequest {
                    config: c,
                    history: Vec::new(),
                    inputs: ins,
                    output_dir,
                    trace,
                    vector,
                    variant,
                }
            }
            (Some(_), Some(_)) => {
                return Err("give either a scenario folder or --config, not both".into())
            }
            (None, None) => return Err("replay needs a scenario folder or --config FILE".into()),
        };
        let mut r = replay(&req)?;
        let t = std::mem::take(&mut r.trace);
        reports.push(report(None, t, &r.outcome, &mut r.app, &print.then));
    }
    let mut out = std::io::stdout().lock();
    if print.json {
        let nodes: Vec<serde_json::Value> = reports
            .iter()
            .map(|n| {
                serde_json::json!({
                    "node": n.name,
                    "frames_in": n.frames_in,
                    "outputs": n.outputs.iter().map(|(i, p, k)| serde_json::json!({
                        "interface": i,
                        "frames": k,
                        "file": (!p.as_os_str().is_empty()).then(|| p.display().to_string()),
                    })).collect::<Vec<_>>(),
                    "drops": n.drops,
                    "buffers_not_returned": n.leaked,
                    "trace": n.trace,
                    "then": n.then.iter().map(|(c, r)| match r {
                        Ok(o) => serde_json::json!({"command": c, "output": o}),
                        Err(e) => serde_json::json!({"command": c, "error": e}),
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let doc = if multi {
            serde_json::json!({ "nodes": nodes })
        } else {
            nodes.into_iter().next().unwrap_or_default()
        };
        let _ = writeln!(out, "{doc:#}");
    } else {
        for n in &reports {
            if let Some(name) = &n.name {
                let _ = writeln!(out, "{}", dataplane::replay_cmd::node_header(name));
            }
            let _ = writeln!(out, "{}", n.trace);
            for (c, r) in &n.then {
                let _ = writeln!(out, "\ndpctl# {c}");
                match r {
                    Ok(o) => {
                        let _ = writeln!(out, "{o}");
                    }
                    Err(e) => {
                        let _ = writeln!(out, "error: {e}");
                    }
                }
            }
        }
    }
    drop(out);
    let mut failed = Vec::new();
    for n in &reports {
        let who = n
            .name
            .as_ref()
            .map(|x| format!("{x}: "))
            .unwrap_or_default();
        for (ifname, path, k) in &n.outputs {
            if !path.as_os_str().is_empty() {
                eprintln!("{who}wrote {k} frames of {ifname} to {}", path.display());
            }
        }
        let outs: Vec<String> = n
            .outputs
            .iter()
            .map(|(i, _, k)| format!("{i} {k}"))
            .collect();
        eprintln!(
            "{who}replay: {} frames in, out: {}, {} dropped (show errors / --then 'show errors' for the reasons)",
            n.frames_in,
            if outs.is_empty() { "none".to_string() } else { outs.join(", ") },
            n.drops
        );
        failed.extend(
            n.then
                .iter()
                .filter(|(_, r)| r.is_err())
                .map(|(c, _)| format!("{who}`{c}` failed")),
        );
        if n.leaked != 0 {
            failed.push(format!("{who}{} buffers were not returned", n.leaked));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

fn run_trace_diff(expected: &std::path::Path, actual: &std::path::Path) -> Result<(), String> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))
    };
    let d = dataplane::tracediff::diff(&read(expected)?, &read(actual)?);
    if d.is_empty() {
        println!("traces match");
        return Ok(());
    }
    for l in &d {
        println!("{l}");
    }
    Err(format!("{} differences", d.len()))
}

fn run_bench(req: BenchRequest, runs: u32) -> Result<(), String> {
    let mut reports = Vec::new();
    for i in 0..runs {
        let r = bench(&req)?;
        if i + 1 == runs {
            println!("{}", r.runtime);
            println!();
        }
        println!(
            "{} packets in {:.3} s ({:.2} Mpps); data-path clocks/packet (all nodes but pg-input): {:.1}",
            r.packets,
            r.seconds,
            r.packets as f64 / r.seconds / 1e6,
            r.datapath_clocks_per_packet
        );
        if r.buffers_in_use != 0 {
            return Err(format!("{} buffers were not returned", r.buffers_in_use));
        }
        reports.push(r);
    }
    if runs > 1 {
        let s = dataplane::bench::summarize(&reports);
        println!();
        print!("{}", dataplane::bench::format_summary(reports.len(), &s));
    }
    Ok(())
}

fn run_daemon(
    startup: Option<PathBuf>,
    exec: Option<PathBuf>,
    cli_listen: Option<PathBuf>,
) -> Result<(), String> {
    let mut cfg = match startup {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            dataplane::startup::parse(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => dataplane::startup::StartupConfig::default(),
    };
    if let Some(e) = exec {
        cfg.unix.exec = Some(e);
    }
    if let Some(s) = cli_listen {
        cfg.unix.cli_listen = s;
    }
    dataplane::daemon::run(cfg)
}
