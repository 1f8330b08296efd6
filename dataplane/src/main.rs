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
            }),
            _,
        ) => run_replay(dir, config, inputs, output_dir, trace, vector),
        (
            Some(Cmd::Bench {
                configs,
                pcap,
                limit,
                interface,
                buffers,
                runs,
            }),
            _,
        ) => run_bench(
            BenchRequest {
                configs,
                pcap,
                limit,
                interface,
                buffers,
            },
            runs,
        ),
        (Some(Cmd::MakeBenchPcaps { dir }), _) => dataplane::pcapgen::write_bench_pcaps(&dir)
            .map(|()| println!(
                "wrote syn.pcap, flows10k.pcap, vxlan-syn.pcap and vxlan-flows10k.pcap in {}",
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

/// `--vector N`: 1 to 256.
fn parse_vector(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ 1..=256) => Ok(n),
        _ => Err(format!("`{s}` is not a burst size: expected 1 to 256")),
    }
}

fn run_replay(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    inputs: Vec<String>,
    output_dir: Option<PathBuf>,
    trace: u32,
    vector: usize,
) -> Result<(), String> {
    if let (Some(d), None) = (&dir, &config) {
        if dataplane::replay_cmd::is_multi_node(d) {
            let nodes =
                dataplane::replay_cmd::replay_topology(d, trace, output_dir.as_deref(), vector)?;
            let mut out = std::io::stdout().lock();
            let mut leaked = 0;
            for n in &nodes {
                let _ = writeln!(out, "{}", dataplane::replay_cmd::node_header(&n.name));
                let _ = writeln!(out, "{}", n.trace);
                for (ifname, path, k) in &n.outcome.outputs {
                    eprintln!(
                        "{}: wrote {k} frames of {ifname} to {}",
                        n.name,
                        path.display()
                    );
                }
                leaked += n.outcome.buffers_in_use;
            }
            if leaked != 0 {
                return Err(format!("{leaked} buffers were not returned"));
            }
            return Ok(());
        }
    }
    let req = match (dir, config) {
        (Some(d), None) => {
            let mut r = ReplayRequest::from_dir(&d, trace)?;
            if output_dir.is_some() {
                r.output_dir = output_dir;
            }
            r.vector = vector;
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
            }
        }
        (Some(_), Some(_)) => {
            return Err("give either a scenario folder or --config, not both".into())
        }
        (None, None) => return Err("replay needs a scenario folder or --config FILE".into()),
    };
    let r = replay(&req)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", r.trace);
    for (ifname, path, n) in &r.outcome.outputs {
        if !path.as_os_str().is_empty() {
            eprintln!("wrote {n} frames of {ifname} to {}", path.display());
        }
    }
    if r.outcome.buffers_in_use != 0 {
        return Err(format!(
            "{} buffers were not returned",
            r.outcome.buffers_in_use
        ));
    }
    Ok(())
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
