//! `show version [verbose] [cmdline]` and `show plugins`, in VPP's layout.

use std::fmt::Write;

use cli::{Args, CliError, Registry};
use engine::Dataplane;

type R = Result<String, CliError>;

/// The version as VPP spells its own (`v<release>[-g<revision>]`).
pub fn version() -> String {
    format!("v{}{}", env!("CARGO_PKG_VERSION"), env!("DP_BUILD_REV"))
}

/// The node function variants this CPU runs, and the one nodes get by default
/// (`default x86_64_v2 x86_64_v3, running x86_64_v3`).
fn node_variants(running: engine::march::March) -> String {
    let supported: Vec<&str> = engine::march::March::ALL
        .iter()
        .filter(|m| m.supported())
        .map(|m| m.name())
        .collect();
    format!("{}, running {}", supported.join(" "), running.name())
}

/// The one-line version string (`show version`, `dpctl --version`).
pub fn version_string() -> String {
    format!(
        "dataplane {} built by {} on {} at {}",
        version(),
        env!("DP_BUILD_USER"),
        env!("DP_BUILD_HOST"),
        env!("DP_BUILD_DATE")
    )
}

fn show_version(dp: &mut Dataplane, a: &mut Args) -> R {
    let (mut verbose, mut cmdline) = (false, false);
    while !a.is_empty() {
        if a.keyword("verbose") {
            verbose = true;
        } else if a.keyword("cmdline") {
            cmdline = true;
        } else {
            return Err(a.unknown());
        }
    }
    let mut s = String::new();
    if verbose {
        let pid = std::process::id().to_string();
        let features = [
            ("af_xdp", engine::drivers::af_xdp::available()),
            ("dpdk", cfg!(feature = "dpdk")),
        ]
        .iter()
        .filter(|f| f.1)
        .map(|f| f.0)
        .collect::<Vec<_>>()
        .join(" ");
        for (k, v) in [
            ("Version", version()),
            ("Compiled by", env!("DP_BUILD_USER").to_string()),
            ("Compile host", env!("DP_BUILD_HOST").to_string()),
            ("Compile date", env!("DP_BUILD_DATE").to_string()),
            ("Compile location", env!("DP_BUILD_TOPDIR").to_string()),
            ("Compiler", env!("DP_BUILD_COMPILER").to_string()),
            ("Build profile", profile().to_string()),
            (
                "Drivers",
                format!("tap af_packet {features}").trim().to_string(),
            ),
            ("Node variants", node_variants(dp.graph.default_variant())),
            ("Current PID", pid),
        ] {
            let _ = writeln!(s, "{:<25} {v}", format!("{k}:"));
        }
    }
    if cmdline {
        let _ = writeln!(s, "{:<25}", "Command line arguments:");
        let mut indent = 2;
        for arg in std::env::args() {
            if arg.contains('{') {
                indent += 2;
            }
            let _ = writeln!(s, "{:indent$}{arg}", "");
            if arg.contains('}') {
                indent -= 2;
            }
        }
    }
    if !verbose && !cmdline {
        s = version_string();
    }
    Ok(s.trim_end().to_string())
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The plugins, built into the binary here (VPP loads them from .so files).
pub const PLUGINS: &[(&str, &str)] = &[
    ("acl_plugin", "Access Control Lists (ACL)"),
    ("nat_plugin", "Network Address Translation (NAT)"),
    ("vxlan_plugin", "VxLan Tunnels"),
    ("geneve_plugin", "GENEVE Tunnels"),
    ("af_xdp_plugin", "AF_XDP Device Plugin"),
    ("dpdk_plugin", "Data Plane Development Kit (DPDK)"),
];

/// The optional plugins this forwarder was built with (`plugins { }` in startup.conf).
#[derive(Clone, Debug)]
pub struct LoadedPlugins(pub Vec<&'static str>);

fn show_plugins(dp: &mut Dataplane, a: &mut Args) -> R {
    a.keyword("verbose");
    a.expect_end()?;
    let mut s = String::from(" Plugin path is: (built in), plugins shown in load order\n\n");
    let _ = writeln!(s, "     {:<41}{:<33}Description", "Plugin", "Version");
    let ver = format!("{}-release", env!("CARGO_PKG_VERSION"));
    let loaded = dp.ext::<LoadedPlugins>().map(|l| l.0.clone());
    let present = |name: &str| match name {
        "af_xdp_plugin" => engine::drivers::af_xdp::available(),
        "dpdk_plugin" => cfg!(feature = "dpdk"),
        n if crate::startup::OPTIONAL_PLUGINS.contains(&n) => {
            loaded.as_ref().is_none_or(|l| l.contains(&n))
        }
        _ => true,
    };
    for (i, (name, desc)) in PLUGINS.iter().filter(|p| present(p.0)).enumerate() {
        let _ = writeln!(s, "{:>3}. {name:<40} {ver:<32} {desc}", i + 1);
    }
    Ok(s.trim_end().to_string())
}

/// Register the commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "show version",
            "show version [verbose] [cmdline]",
            show_version,
        ),
        ("show plugins", "show plugins", show_plugins),
    ];
    for (path, help, f) in cmds {
        reg.register(path, help, *f)
            .expect("version command paths are unique");
    }
}
