//! `dataplane replay`: run a configuration, feed pcaps into its interfaces, print the trace and
//! write the output pcaps.

use std::path::{Path, PathBuf};

use engine::replay::{ifname_from_file, run_replay, ReplayConfig, ReplayOutcome};
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
}

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
    app.exec_file(&req.config).map_err(|e| e.to_string())?;
    let cfg = ReplayConfig {
        history: req.history.clone(),
        inputs: req.inputs.clone(),
        output_dir: req.output_dir.clone(),
        trace: req.trace,
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
