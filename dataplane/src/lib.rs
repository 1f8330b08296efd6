//! `dataplane`: the node-local forwarder assembled from the engine and its plugins
//! (graph-nodes, acl, nat44), with the replay and bench drivers used by the binary.

#![warn(missing_docs)]

pub mod antrea;
pub mod bench;
pub mod contiv;
pub mod daemon;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub mod pcapgen;
pub mod replay_cmd;
pub mod startup;
pub mod tracediff;
pub mod version;

use std::path::Path;

use cli::{CliError, Registry};
use engine::{Dataplane, Mode};

pub use engine;

/// A forwarder and its command registry.
pub struct App {
    /// Registered commands (engine and plugins).
    pub registry: Registry<Dataplane>,
    /// The forwarder.
    pub dp: Dataplane,
}

impl App {
    /// A forwarder with every plugin registered, with `n_buffers` buffers.
    pub fn with_buffers(mode: Mode, n_buffers: u32) -> Self {
        Self::with_plugins(mode, n_buffers, &startup::PluginsSection::default())
    }

    /// A forwarder with the plugins `plugins` enables (startup.conf's `plugins { }`).
    pub fn with_plugins(mode: Mode, n_buffers: u32, plugins: &startup::PluginsSection) -> Self {
        let mut registry = Registry::new();
        let mut dp = Dataplane::new(n_buffers, mode);
        engine::commands::register(&mut registry);
        graph_nodes::init(&mut dp, &mut registry);
        let mut loaded = Vec::new();
        if plugins.enabled("acl_plugin") {
            acl::init(&mut dp, &mut registry);
            loaded.push("acl_plugin");
        }
        if plugins.enabled("nat_plugin") {
            nat44::init(&mut dp, &mut registry);
            loaded.push("nat_plugin");
        }
        dp.insert_ext(version::LoadedPlugins(loaded));
        version::register(&mut registry);
        // Long scripts let the graph run between their commands (live mode, after 50 ms).
        registry.set_between_commands(Dataplane::yield_in_script);
        App { registry, dp }
    }

    /// A forwarder with the default number of buffers.
    pub fn new(mode: Mode) -> Self {
        Self::with_buffers(mode, engine::buffer::DEFAULT_BUFFERS)
    }

    /// Run one command line; what it changed is published as one snapshot when it returns.
    pub fn exec(&mut self, line: &str) -> Result<String, CliError> {
        let r = self.registry.execute(&mut self.dp, line);
        self.dp.after_commands();
        r
    }

    /// Run a script's text; published at its yields (paced) and when it ends.
    pub fn exec_script(&mut self, text: &str) -> Result<String, CliError> {
        let r = self.registry.exec_script(&mut self.dp, text);
        self.dp.after_commands();
        r
    }

    /// Run a script file; errors name the file.
    pub fn exec_file(&mut self, path: &Path) -> Result<String, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
        self.exec_script(&text)
            .map_err(|e| CliError::new(format!("{}: {e}", path.display())))
    }
}
