//! VPP's `startup.conf`, for the sections that apply here:
//!
//! ```text
//! unix    { nodaemon | interactive | cli-listen PATH | exec FILE | log FILE | cli-prompt STR
//!           | metrics-listen [ADDR]:PORT | full-coredump | gid NAME }
//! cpu     { main-core N | corelist-workers LIST | workers N | skip-cores N }
//! buffers { buffers-per-numa N | default data-size N }
//! dpdk    { dev PCI [{ name NAME | num-rx-queues N | num-tx-queues N }] | vdev SPEC | no-huge
//!           | socket-mem N[,N] | no-pci | uio-driver NAME | num-mbufs N | no-multi-seg }
//! node    { default { variant V } | NODE { variant V } }
//! ```
//!
//! `unix` also takes `poll-sleep-usec N` (the longest idle wait for a device) and `pidfile FILE`;
//! the other keys of a stock VPP `unix` and `cpu` section (`nocolor`, `cli-no-pager`, `gid`,
//! `scheduler-policy`, ...) and the sections that mean nothing here (`api-trace`, `socksvr`,
//! `statseg`, `memory`, `logging`, ...) are accepted and named in one log line each
//! ([`StartupConfig::ignored`]), so a stock VPP file starts the daemon. `plugins { plugin default
//! { disable } plugin acl_plugin.so { enable } }` works as VPP's for the plugins that can be left
//! out here (ACL and NAT; the tunnels and drivers are part of the core).
//!
//! `#` (at the start of a line or after white space) and `//` start comments. Unknown sections or
//! keys are errors that name them and list what is expected.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use engine::march::March;

/// Default CLI socket.
pub const DEFAULT_CLI_SOCKET: &str = "/run/dataplane/cli.sock";

/// `unix { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSection {
    /// Stay in the foreground (we always do; accepted for compatibility).
    pub nodaemon: bool,
    /// Read commands from standard input too.
    pub interactive: bool,
    /// CLI socket path.
    pub cli_listen: PathBuf,
    /// Script run at startup.
    pub exec: Option<PathBuf>,
    /// Log file.
    pub log: Option<PathBuf>,
    /// Prompt shown by interactive clients.
    pub cli_prompt: String,
    /// `poll-sleep-usec N`: when idle, wait at most this long for a device (default 10 ms).
    pub poll_sleep_usec: Option<u32>,
    /// `pidfile FILE`: the daemon's PID is written there while it runs.
    pub pidfile: Option<PathBuf>,
    /// `metrics-listen [ADDR]:PORT`: serve Prometheus metrics over HTTP there (off by default;
    /// the address defaults to 127.0.0.1).
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for UnixSection {
    fn default() -> Self {
        UnixSection {
            nodaemon: false,
            interactive: false,
            cli_listen: PathBuf::from(DEFAULT_CLI_SOCKET),
            exec: None,
            log: None,
            cli_prompt: "dpctl# ".into(),
            poll_sleep_usec: None,
            pidfile: None,
            metrics_listen: None,
        }
    }
}

/// `cpu { }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuSection {
    /// Core of the main thread.
    pub main_core: Option<u32>,
    /// Cores of the worker threads.
    pub corelist_workers: Vec<u32>,
    /// Number of worker threads.
    pub workers: Option<u32>,
    /// Cores to skip when placing workers.
    pub skip_cores: Option<u32>,
}

impl CpuSection {
    /// Number of worker threads asked for (corelist wins over `workers`).
    pub fn n_workers(&self) -> u32 {
        if !self.corelist_workers.is_empty() {
            self.corelist_workers.len() as u32
        } else {
            self.workers.unwrap_or(0)
        }
    }
}

/// `buffers { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuffersSection {
    /// Buffers per thread (VPP: per NUMA node).
    pub buffers_per_numa: u32,
}

impl Default for BuffersSection {
    fn default() -> Self {
        BuffersSection {
            buffers_per_numa: engine::buffer::DEFAULT_BUFFERS,
        }
    }
}

/// One `dev` of the `dpdk { }` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpdkDev {
    /// PCI address.
    pub pci: String,
    /// Interface name (default: VPP's from the PCI address).
    pub name: Option<String>,
    /// Receive queues.
    pub num_rx_queues: Option<u32>,
    /// Transmit queues.
    pub num_tx_queues: Option<u32>,
}

/// `dpdk { }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpdkSection {
    /// Present in the file.
    pub present: bool,
    /// PCI devices.
    pub devs: Vec<DpdkDev>,
    /// Virtual devices (`net_af_packet0,iface=veth0`, `net_pcap0,rx_pcap=...`).
    pub vdevs: Vec<String>,
    /// Run EAL without hugepages.
    pub no_huge: bool,
    /// Memory per socket (MB).
    pub socket_mem: Option<String>,
    /// Do not probe PCI.
    pub no_pci: bool,
    /// UIO driver name.
    pub uio_driver: Option<String>,
    /// Mbufs in the pool.
    pub num_mbufs: Option<u32>,
    /// Refuse multi-segment packets.
    pub no_multi_seg: bool,
}

/// `plugins { plugin default { disable } plugin NAME.so { enable|disable } }`: which of the
/// plugins that can be left out (ACL and NAT; the rest is the core here) are registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginsSection {
    /// `plugin default { disable }`: only plugins enabled by name are loaded.
    pub default_enabled: bool,
    /// Plugins named with `enable` / `disable` (name without `.so`).
    pub explicit: Vec<(String, bool)>,
}

impl Default for PluginsSection {
    fn default() -> Self {
        PluginsSection {
            default_enabled: true,
            explicit: Vec::new(),
        }
    }
}

/// Plugins that `plugins { }` can leave out (the others are built into the core here).
pub const OPTIONAL_PLUGINS: &[&str] = &["acl_plugin", "nat_plugin"];

impl PluginsSection {
    /// Whether plugin `name` (`acl_plugin`, `nat_plugin`) is loaded.
    pub fn enabled(&self, name: &str) -> bool {
        self.explicit
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(self.default_enabled, |e| e.1)
    }
}

/// `node { default { variant V } NODE { variant V } }`: which compiled variant of the node
/// functions runs (VPP's multiarch variants: default, x86_64_v2, x86_64_v3, x86_64_v4). Without
/// it every node runs the best variant the CPU has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSection {
    /// `default { variant V }`: for every node with variants.
    pub default: Option<March>,
    /// `NODE { variant V }`, in file order (after the default).
    pub nodes: Vec<(String, March)>,
}

impl NodeSection {
    /// Select the variants in `graph`; an unknown node, a node without variants or a variant
    /// this CPU cannot run is an error.
    pub fn apply(&self, graph: &mut engine::graph::Graph) -> Result<(), String> {
        if let Some(m) = self.default {
            graph
                .set_default_variant(m)
                .map_err(|e| format!("startup.conf node {{ default }}: {e}"))?;
        }
        for (name, m) in &self.nodes {
            let i = graph
                .node_index(name)
                .filter(|&i| !graph.is_placeholder(i))
                .ok_or_else(|| format!("startup.conf node {{ }}: unknown node `{name}`"))?;
            graph
                .set_node_variant(i, *m)
                .map_err(|e| format!("startup.conf node {{ {name} }}: {e}"))?;
        }
        Ok(())
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartupConfig {
    /// `unix { }`.
    pub unix: UnixSection,
    /// `cpu { }`.
    pub cpu: CpuSection,
    /// `buffers { }`.
    pub buffers: BuffersSection,
    /// `dpdk { }`.
    pub dpdk: DpdkSection,
    /// `plugins { }`.
    pub plugins: PluginsSection,
    /// `node { }`.
    pub node: NodeSection,
    /// What the file asks for that means nothing here (sections and keys of a stock VPP file):
    /// accepted, one line each for the log.
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String, usize),
    Open(usize),
    Close(usize),
}

fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        // `#` starts a comment at the start of a line or after white space (so `cli-prompt dp#`
        // keeps its `#`).
        let cut = raw
            .char_indices()
            .find(|&(i, ch)| {
                ch == '#' && (i == 0 || raw[..i].ends_with(|p: char| p.is_whitespace()))
            })
            .map(|(i, _)| i)
            .unwrap_or(raw.len());
        let line = &raw[..cut];
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut word = String::new();
        let flush = |w: &mut String, out: &mut Vec<Tok>| {
            if !w.is_empty() {
                out.push(Tok::Word(std::mem::take(w), n + 1));
            }
        };
        for c in line.chars() {
            match c {
                '{' => {
                    flush(&mut word, &mut out);
                    out.push(Tok::Open(n + 1));
                }
                '}' => {
                    flush(&mut word, &mut out);
                    out.push(Tok::Close(n + 1));
                }
                c if c.is_whitespace() => flush(&mut word, &mut out),
                c => word.push(c),
            }
        }
        flush(&mut word, &mut out);
    }
    out
}

struct Cursor {
    toks: Vec<Tok>,
    i: usize,
    /// Keys accepted and ignored, for the log.
    ignored: Vec<String>,
}

impl Cursor {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn value(&mut self, section: &str, key: &str, line: usize) -> Result<String, String> {
        match self.next() {
            Some(Tok::Word(w, _)) => Ok(w),
            _ => Err(format!(
                "line {line}: `{key}` in section `{section}` needs a value"
            )),
        }
    }
    fn number(&mut self, section: &str, key: &str, line: usize) -> Result<u32, String> {
        let v = self.value(section, key, line)?;
        v.parse().map_err(|_| {
            format!("line {line}: `{key}` in section `{section}` expects a number, got `{v}`")
        })
    }
}

fn unknown(section: &str, key: &str, line: usize, expected: &[&str]) -> String {
    format!(
        "line {line}: unknown key `{key}` in section `{section}`; expected one of: {}",
        expected.join(", ")
    )
}

/// Parse a core list such as `2-3,5`.
pub fn parse_corelist(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b || b - a > 1024 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// Parse the value of `metrics-listen`: `ADDR:PORT`, `:PORT` or `PORT` (the address defaults to
/// loopback, 127.0.0.1), `[V6ADDR]:PORT` for IPv6. The error says what is wrong and what is
/// expected, on one line.
pub fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    const EXPECTED: &str = "expected PORT, :PORT or ADDR:PORT with a numeric address, e.g. 127.0.0.1:9482 or [::1]:9482";
    let (host, port) = match v.rsplit_once(':') {
        // `::1` alone or `fe80::1` is an address without a port, not `fe80:` plus a port.
        Some((h, _)) if h.contains(':') && !h.starts_with('[') => {
            return Err(format!(
                "`{v}` has no port; write an IPv6 address in brackets: [ADDR]:PORT"
            ))
        }
        Some((h, p)) => (h, p),
        None => ("", v),
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{v}` has no valid port; {EXPECTED}"));
    }
    let port = match port.parse::<u64>() {
        Ok(p @ 1..=65535) => p as u16,
        _ => {
            return Err(format!(
                "port {port} in `{v}` is out of range; expected 1..65535"
            ))
        }
    };
    let ip = if host.is_empty() || host == "localhost" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip: IpAddr = bare
            .parse()
            .map_err(|_| format!("`{host}` in `{v}` is not an IP address; {EXPECTED}"))?;
        // Brackets are for IPv6 only, and IPv6 needs them (checked above).
        if ip.is_ipv4() == (bare != host) {
            return Err(format!(
                "`{host}` in `{v}` is not an IP address; {EXPECTED}"
            ));
        }
        ip
    };
    Ok(SocketAddr::new(ip, port))
}

/// Parse the text of a startup.conf.
pub fn parse(text: &str) -> Result<StartupConfig, String> {
    let mut c = Cursor {
        toks: tokens(text),
        i: 0,
        ignored: Vec::new(),
    };
    let mut cfg = StartupConfig::default();
    while let Some(t) = c.next() {
        let (section, line) = match t {
            Tok::Word(w, l) => (w, l),
            Tok::Open(l) | Tok::Close(l) => {
                return Err(format!("line {l}: expected a section name, got a brace"))
            }
        };
        match c.next() {
            Some(Tok::Open(_)) => {}
            _ => {
                return Err(format!(
                    "line {line}: section `{section}` must be followed by `{{`"
                ))
            }
        }
        match section.as_str() {
            "unix" => parse_unix(&mut c, &mut cfg.unix)?,
            "cpu" => parse_cpu(&mut c, &mut cfg.cpu)?,
            "buffers" => parse_buffers(&mut c, &mut cfg.buffers)?,
            "plugins" => parse_plugins(&mut c, &mut cfg.plugins)?,
            "node" => parse_node(&mut c, &mut cfg.node)?,
            "dpdk" => {
                cfg.dpdk.present = true;
                parse_dpdk(&mut c, &mut cfg.dpdk)?
            }
            other => match IGNORED_SECTIONS.iter().find(|(n, _)| *n == other) {
                Some((_, why)) => {
                    skip_section(&mut c, other)?;
                    c.ignored
                        .push(format!("line {line}: section `{other}` ignored: {why}"));
                }
                None => {
                    return Err(format!(
                        "line {line}: unknown section `{section}`; expected one of: unix, cpu, buffers, plugins, node, dpdk (or a VPP section that is accepted and ignored: {})",
                        IGNORED_SECTIONS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ))
                }
            },
        }
    }
    cfg.ignored = c.ignored;
    Ok(cfg)
}

/// Sections a VPP startup.conf may have that mean nothing here, and why.
const IGNORED_SECTIONS: &[(&str, &str)] = &[
    ("api-trace", "there is no binary API"),
    ("api-segment", "there is no binary API"),
    (
        "socksvr",
        "there is no binary API socket (the CLI socket is `unix { cli-listen }`)",
    ),
    ("memory", "the heap is not configured"),
    (
        "statseg",
        "there is no stats segment (`show runtime`, `show errors`, `show interface`)",
    ),
    ("logging", "log lines go to `unix { log }`"),
    ("dsa", "no DSA devices"),
    ("l3fib", "FIB pools grow as needed"),
    ("l2fib", "the L2 FIB grows as needed"),
    ("ip", "nothing to set"),
    ("ip6", "no IPv6 yet"),
    ("punt", "no punt sockets"),
    ("session", "no host stack"),
    ("tcp", "no host stack"),
    ("tuntap", "taps are created with `create tap`"),
    ("vlib", "nothing to set"),
    ("nat", "NAT44 is configured from the CLI (`nat44 ...`)"),
    ("acl-plugin", "ACLs are configured from the CLI"),
    ("linux-cp", "no linux-cp"),
];

/// Skip a section's body (nested blocks included), up to its closing brace.
fn skip_section(c: &mut Cursor, section: &str) -> Result<(), String> {
    let mut depth = 1;
    while depth > 0 {
        match c.next() {
            Some(Tok::Open(_)) => depth += 1,
            Some(Tok::Close(_)) => depth -= 1,
            Some(Tok::Word(..)) => {}
            None => return Err(format!("section `{section}` is not closed with `}}`")),
        }
    }
    Ok(())
}

fn section_words(
    c: &mut Cursor,
    section: &str,
    mut f: impl FnMut(&mut Cursor, &str, usize) -> Result<(), String>,
) -> Result<(), String> {
    loop {
        match c.next() {
            Some(Tok::Close(_)) => return Ok(()),
            Some(Tok::Word(w, l)) => f(c, &w, l)?,
            Some(Tok::Open(l)) => {
                return Err(format!("line {l}: unexpected `{{` in section `{section}`"))
            }
            None => return Err(format!("section `{section}` is not closed with `}}`")),
        }
    }
}

fn parse_unix(c: &mut Cursor, u: &mut UnixSection) -> Result<(), String> {
    const KEYS: &[&str] = &[
        "nodaemon",
        "interactive",
        "cli-listen",
        "exec",
        "startup-config",
        "log",
        "cli-prompt",
        "poll-sleep-usec",
        "pidfile",
        "metrics-listen",
        "full-coredump",
        "coredump-size",
        "gid",
        "nocolor",
        "nobanner",
        "cli-no-banner",
        "cli-no-pager",
        "cli-pager-buffer-limit",
        "cli-history-limit",
        "runtime-dir",
    ];
    section_words(c, "unix", |c, k, l| {
        match k {
            "nodaemon" => u.nodaemon = true,
            "interactive" => u.interactive = true,
            // Nothing to do here: no pager, no colours, no banner (dpctl prints none).
            "full-coredump" | "nocolor" | "nobanner" | "cli-no-banner" | "cli-no-pager" => {}
            "gid"
            | "coredump-size"
            | "cli-pager-buffer-limit"
            | "cli-history-limit"
            | "runtime-dir" => {
                let v = c.value("unix", k, l)?;
                c.ignored.push(format!(
                    "line {l}: `unix {{ {k} {v} }}` ignored: nothing to set here"
                ));
            }
            "cli-listen" => u.cli_listen = PathBuf::from(c.value("unix", k, l)?),
            "exec" | "startup-config" => u.exec = Some(PathBuf::from(c.value("unix", k, l)?)),
            "log" => u.log = Some(PathBuf::from(c.value("unix", k, l)?)),
            "cli-prompt" => u.cli_prompt = c.value("unix", k, l)?,
            "poll-sleep-usec" => u.poll_sleep_usec = Some(c.number("unix", k, l)?),
            "pidfile" => u.pidfile = Some(PathBuf::from(c.value("unix", k, l)?)),
            "metrics-listen" => {
                let v = c.value("unix", k, l)?;
                u.metrics_listen =
                    Some(parse_listen(&v).map_err(|e| format!("line {l}: metrics-listen: {e}"))?);
            }
            _ => return Err(unknown("unix", k, l, KEYS)),
        }
        Ok(())
    })
}

fn parse_node(c: &mut Cursor, n: &mut NodeSection) -> Result<(), String> {
    loop {
        let (name, l) = match c.next() {
            Some(Tok::Close(_)) => return Ok(()),
            Some(Tok::Word(w, l)) => (w, l),
            Some(Tok::Open(l)) => {
                return Err(format!(
                    "line {l}: expected a node name or `default` in section `node`, got a brace"
                ))
            }
            None => return Err("section `node` is not closed with `}`".into()),
        };
        if !matches!(c.next(), Some(Tok::Open(_))) {
            return Err(format!(
                "line {l}: expected `{name} {{ variant <name> }}` in section `node`"
            ));
        }
        let mut variant = None;
        loop {
            match c.next() {
                Some(Tok::Close(_)) => break,
                Some(Tok::Word(w, wl)) if w == "variant" => {
                    let v = c.value("node", "variant", wl)?;
                    variant = Some(March::parse(&v).ok_or_else(|| {
                        format!(
                            "line {wl}: unknown node variant `{v}`; expected one of: {}",
                            March::names()
                        )
                    })?);
                }
                Some(Tok::Word(w, wl)) => {
                    return Err(format!(
                        "line {wl}: unknown key `{w}` for node `{name}`; expected variant"
                    ))
                }
                _ => return Err(format!("line {l}: node `{name}` is not closed with `}}`")),
            }
        }
        let Some(m) = variant else {
            return Err(format!(
                "line {l}: node `{name}` needs `variant <name>` (one of: {})",
                March::names()
            ));
        };
        if name == "default" {
            n.default = Some(m);
        } else {
            n.nodes.push((name, m));
        }
    }
}

fn parse_cpu(c: &mut Cursor, cpu: &mut CpuSection) -> Result<(), String> {
    const KEYS: &[&str] = &[
        "main-core",
        "corelist-workers",
        "workers",
        "skip-cores",
        "relative",
        "scheduler-policy",
        "scheduler-priority",
    ];
    section_words(c, "cpu", |c, k, l| {
        match k {
            "relative" => c.ignored.push(format!(
                "line {l}: `cpu {{ relative }}` ignored: core numbers are absolute"
            )),
            "scheduler-policy" | "scheduler-priority" => {
                let v = c.value("cpu", k, l)?;
                c.ignored.push(format!(
                    "line {l}: `cpu {{ {k} {v} }}` ignored: threads keep the default scheduler"
                ));
            }
            "main-core" => cpu.main_core = Some(c.number("cpu", k, l)?),
            "workers" => cpu.workers = Some(c.number("cpu", k, l)?),
            "skip-cores" => cpu.skip_cores = Some(c.number("cpu", k, l)?),
            "corelist-workers" => {
                let v = c.value("cpu", k, l)?;
                cpu.corelist_workers = parse_corelist(&v).ok_or_else(|| {
                    format!("line {l}: `corelist-workers` expects a list such as 2-3,5, got `{v}`")
                })?;
            }
            _ => return Err(unknown("cpu", k, l, KEYS)),
        }
        Ok(())
    })
}

fn parse_plugins(c: &mut Cursor, p: &mut PluginsSection) -> Result<(), String> {
    const KEYS: &[&str] = &["plugin", "path", "add-path", "vat-path", "vat-plugin"];
    loop {
        let (k, l) = match c.next() {
            Some(Tok::Close(_)) => return Ok(()),
            Some(Tok::Word(w, l)) => (w, l),
            Some(Tok::Open(l)) => {
                return Err(format!("line {l}: unexpected `{{` in section `plugins`"))
            }
            None => return Err("section `plugins` is not closed with `}`".into()),
        };
        match k.as_str() {
            "path" | "add-path" | "vat-path" => {
                c.value("plugins", &k, l)?;
                c.ignored.push(format!(
                    "line {l}: plugins `{k}` ignored: the plugins are built in"
                ));
            }
            "plugin" | "vat-plugin" => {
                let name = c.value("plugins", &k, l)?;
                if !matches!(c.next(), Some(Tok::Open(_))) {
                    return Err(format!(
                        "line {l}: expected `{k} {name} {{ enable | disable }}`"
                    ));
                }
                let mut on = None;
                loop {
                    match c.next() {
                        Some(Tok::Close(_)) => break,
                        Some(Tok::Word(w, _)) if w == "enable" => on = Some(true),
                        Some(Tok::Word(w, _)) if w == "disable" => on = Some(false),
                        Some(Tok::Word(w, wl)) => {
                            return Err(format!(
                                "line {wl}: unknown key `{w}` for plugin `{name}`; expected enable or disable"
                            ))
                        }
                        _ => {
                            return Err(format!(
                                "line {l}: plugin `{name}` is not closed with `}}`"
                            ))
                        }
                    }
                }
                let Some(on) = on else {
                    return Err(format!(
                        "line {l}: plugin `{name}` needs `enable` or `disable`"
                    ));
                };
                if k == "vat-plugin" {
                    c.ignored.push(format!(
                        "line {l}: vat-plugin `{name}` ignored: there is no VAT"
                    ));
                    continue;
                }
                let base = name.trim_end_matches(".so");
                if base == "default" {
                    p.default_enabled = on;
                } else if OPTIONAL_PLUGINS.contains(&base) {
                    p.explicit.push((base.to_string(), on));
                } else if crate::version::PLUGINS.iter().any(|(n, _)| *n == base) {
                    if !on {
                        c.ignored.push(format!(
                            "line {l}: plugin `{name}` cannot be disabled: it is part of the core here"
                        ));
                    }
                } else {
                    c.ignored
                        .push(format!("line {l}: plugin `{name}` ignored: not built here"));
                }
            }
            _ => return Err(unknown("plugins", &k, l, KEYS)),
        }
    }
}

fn parse_buffers(c: &mut Cursor, b: &mut BuffersSection) -> Result<(), String> {
    const KEYS: &[&str] = &["buffers-per-numa", "default"];
    section_words(c, "buffers", |c, k, l| {
        match k {
            "buffers-per-numa" => {
                let n = c.number("buffers", k, l)?;
                if !(256..=4_000_000).contains(&n) {
                    return Err(format!(
                        "line {l}: buffers-per-numa {n} out of range; expected 256..4000000"
                    ));
                }
                b.buffers_per_numa = n;
            }
            "default" => {
                let w = c.value("buffers", k, l)?;
                if w != "data-size" {
                    return Err(format!(
                        "line {l}: expected `default data-size N`, got `default {w}`"
                    ));
                }
                let n = c.number("buffers", "default data-size", l)?;
                if n != engine::buffer::BUFFER_DATA_SIZE as u32 {
                    return Err(format!(
                        "line {l}: data-size {n} is not supported; buffers hold {} data bytes",
                        engine::buffer::BUFFER_DATA_SIZE
                    ));
                }
            }
            _ => return Err(unknown("buffers", k, l, KEYS)),
        }
        Ok(())
    })
}

fn parse_dpdk(c: &mut Cursor, d: &mut DpdkSection) -> Result<(), String> {
    const KEYS: &[&str] = &[
        "dev",
        "vdev",
        "no-huge",
        "socket-mem",
        "no-pci",
        "uio-driver",
        "num-mbufs",
        "no-multi-seg",
    ];
    section_words(c, "dpdk", |c, k, l| {
        match k {
            "dev" => {
                let pci = c.value("dpdk", k, l)?;
                if engine::commands::dpdk_name_from_pci(&pci).is_none() {
                    return Err(format!(
                        "line {l}: `{pci}` is not a PCI address; expected DDDD:BB:DD.F"
                    ));
                }
                let mut dev = DpdkDev {
                    pci,
                    ..Default::default()
                };
                if matches!(c.peek(), Some(Tok::Open(_))) {
                    c.next();
                    section_words(c, "dpdk dev", |c, k, l| {
                        match k {
                            "name" => dev.name = Some(c.value("dpdk dev", k, l)?),
                            "num-rx-queues" => {
                                dev.num_rx_queues = Some(c.number("dpdk dev", k, l)?)
                            }
                            "num-tx-queues" => {
                                dev.num_tx_queues = Some(c.number("dpdk dev", k, l)?)
                            }
                            _ => {
                                return Err(unknown(
                                    "dpdk dev",
                                    k,
                                    l,
                                    &["name", "num-rx-queues", "num-tx-queues"],
                                ))
                            }
                        }
                        Ok(())
                    })?;
                }
                d.devs.push(dev);
            }
            "vdev" => d.vdevs.push(c.value("dpdk", k, l)?),
            "no-huge" => d.no_huge = true,
            "no-pci" => d.no_pci = true,
            "no-multi-seg" => d.no_multi_seg = true,
            "socket-mem" => d.socket_mem = Some(c.value("dpdk", k, l)?),
            "uio-driver" => d.uio_driver = Some(c.value("dpdk", k, l)?),
            "num-mbufs" => d.num_mbufs = Some(c.number("dpdk", k, l)?),
            _ => return Err(unknown("dpdk", k, l, KEYS)),
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpp_style_file() {
        let cfg = parse(
            "unix {
  nodaemon
  log /var/log/dp.log   # where logs go
  full-coredump
  cli-listen /run/dp/cli.sock
  exec /etc/dp/setup.cli
  cli-prompt dp#
}
cpu { main-core 1 corelist-workers 2-3 }
buffers { buffers-per-numa 32768 }
dpdk {
  dev 0000:00:08.0 { name eth0 num-rx-queues 2 }
  vdev net_af_packet0,iface=veth0
  no-huge
  no-pci // no PCI probing
}",
        )
        .unwrap();
        assert!(cfg.unix.nodaemon);
        assert_eq!(cfg.unix.cli_listen, PathBuf::from("/run/dp/cli.sock"));
        assert_eq!(cfg.unix.exec, Some(PathBuf::from("/etc/dp/setup.cli")));
        assert_eq!(cfg.unix.cli_prompt, "dp#");
        assert_eq!(cfg.cpu.corelist_workers, vec![2, 3]);
        assert_eq!(cfg.cpu.n_workers(), 2);
        assert_eq!(cfg.buffers.buffers_per_numa, 32768);
        assert_eq!(cfg.dpdk.devs[0].name.as_deref(), Some("eth0"));
        assert_eq!(cfg.dpdk.devs[0].num_rx_queues, Some(2));
        assert_eq!(cfg.dpdk.vdevs, vec!["net_af_packet0,iface=veth0"]);
        assert!(cfg.dpdk.no_huge && cfg.dpdk.no_pci);
    }

    #[test]
    fn node_variants() {
        let cfg =
            parse("node {\n  default { variant default }\n  ip4-lookup { variant x86_64_v2 }\n}")
                .unwrap();
        assert_eq!(cfg.node.default, Some(March::Default));
        assert_eq!(
            cfg.node.nodes,
            vec![("ip4-lookup".to_string(), March::X86_64V2)]
        );
        let e = parse("node {\n ip4-lookup { variant sse9 }\n}").unwrap_err();
        assert!(
            e.contains("line 2: unknown node variant `sse9`") && e.contains("x86_64_v3"),
            "{e}"
        );
        let e = parse("node { ip4-lookup { } }").unwrap_err();
        assert!(e.contains("needs `variant <name>`"), "{e}");
        let e = parse("node { ip4-lookup variant default }").unwrap_err();
        assert!(
            e.contains("expected `ip4-lookup { variant <name> }`"),
            "{e}"
        );

        let mut g = engine::graph::Graph::new(1024);
        let bad = NodeSection {
            default: None,
            nodes: vec![("no-such-node".into(), March::Default)],
        };
        assert!(bad
            .apply(&mut g)
            .unwrap_err()
            .contains("unknown node `no-such-node`"));
        let none = NodeSection {
            default: None,
            nodes: vec![("error-drop".into(), March::Default)],
        };
        assert!(none
            .apply(&mut g)
            .unwrap_err()
            .contains("doesn't have function variants"));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("unix { nodaemon }\nplugns { }").unwrap_err();
        assert!(
            e.contains("line 2: unknown section `plugns`") && e.contains("statseg"),
            "{e}"
        );
        let e = parse("statseg { size 1G").unwrap_err();
        assert!(e.contains("`statseg` is not closed"), "{e}");
        let e = parse("unix {\n frobnicate\n}").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("`frobnicate`") && e.contains("cli-listen"),
            "{e}"
        );
        let e = parse("cpu { workers many }").unwrap_err();
        assert!(e.contains("expects a number"), "{e}");
        let e = parse("unix { nodaemon").unwrap_err();
        assert!(e.contains("not closed"), "{e}");
        let e = parse("buffers { buffers-per-numa 10 }").unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = parse("dpdk { dev 12 }").unwrap_err();
        assert!(e.contains("PCI address"), "{e}");
        let e = parse("unix nodaemon").unwrap_err();
        assert!(e.contains("followed by `{`"), "{e}");
        for e in [
            parse("cpu { corelist-workers 3-1 }").unwrap_err(),
            parse("unix { cli-listen }").unwrap_err(),
        ] {
            assert!(!e.contains('\n'), "{e}");
        }
        assert_eq!(parse("").unwrap(), StartupConfig::default());
    }

    #[test]
    fn metrics_listen() {
        let at = |v: &str| {
            parse(&format!("unix {{ metrics-listen {v} }}"))
                .map(|c| c.unix.metrics_listen.unwrap().to_string())
        };
        assert_eq!(parse("").unwrap().unix.metrics_listen, None);
        assert_eq!(at("127.0.0.1:9482").unwrap(), "127.0.0.1:9482");
        assert_eq!(at(":9482").unwrap(), "127.0.0.1:9482");
        assert_eq!(at("9482").unwrap(), "127.0.0.1:9482");
        assert_eq!(at("localhost:9482").unwrap(), "127.0.0.1:9482");
        assert_eq!(at("0.0.0.0:9100").unwrap(), "0.0.0.0:9100");
        assert_eq!(at("[::1]:9482").unwrap(), "[::1]:9482");
        for (v, what) in [
            (
                "70000",
                "port 70000 in `70000` is out of range; expected 1..65535",
            ),
            (":99999999999999999999", "out of range; expected 1..65535"),
            ("0", "port 0 in `0` is out of range"),
            (
                "10.0.0.300:9482",
                "`10.0.0.300` in `10.0.0.300:9482` is not an IP address",
            ),
            (
                "prometheus.local:9482",
                "is not an IP address; expected PORT, :PORT or ADDR:PORT",
            ),
            ("[10.0.0.1]:9482", "is not an IP address"),
            ("127.0.0.1:", "has no valid port"),
            ("127.0.0.1", "has no valid port"),
            ("127.0.0.1:http", "has no valid port"),
            ("::1", "write an IPv6 address in brackets"),
        ] {
            let e = at(v).unwrap_err();
            assert!(e.starts_with("line 1: metrics-listen: "), "{v}: {e}");
            assert!(e.contains(what), "{v}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = parse("unix { metrics-listen }").unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
    }

    /// VPP's own startup.conf (src/vpp/conf/startup.conf), with its commented-out sections
    /// switched on: accepted, what is ignored named once each.
    #[test]
    fn a_stock_vpp_startup_conf_starts() {
        let cfg = parse(
            "unix {
  nodaemon
  log /var/log/vpp/vpp.log
  full-coredump
  cli-listen /run/vpp/cli.sock
  gid vpp
  nocolor
  nobanner
  cli-no-pager
  poll-sleep-usec 100
  pidfile /run/vpp/vpp.pid
}
api-trace {
  on
}
api-segment {
  gid vpp
}
socksvr {
  default
}
memory {
  main-heap-size 2G
  main-heap-page-size 1G
}
cpu {
  main-core 1
  relative
  scheduler-policy fifo
  scheduler-priority 50
}
buffers {
  buffers-per-numa 128000
  default data-size 2048
}
plugins {
  path /usr/lib/vpp_plugins
  plugin default { disable }
  plugin dpdk_plugin.so { enable }
}
statseg {
  size 1G
  per-node-counters on
}
logging {
  default-log-level debug
  class dpdk/cryptodev { rate-limit 100 level debug syslog-level error }
}",
        )
        .unwrap();
        assert_eq!(cfg.unix.cli_listen, PathBuf::from("/run/vpp/cli.sock"));
        assert_eq!(cfg.unix.poll_sleep_usec, Some(100));
        assert_eq!(cfg.unix.pidfile, Some(PathBuf::from("/run/vpp/vpp.pid")));
        assert_eq!(cfg.cpu.main_core, Some(1));
        assert_eq!(cfg.buffers.buffers_per_numa, 128000);
        let ignored = cfg.ignored.join("\n");
        for what in [
            "line 13: section `api-trace` ignored",
            "section `api-segment` ignored",
            "section `socksvr` ignored",
            "section `memory` ignored",
            "plugins `path` ignored: the plugins are built in",
            "section `statseg` ignored",
            "section `logging` ignored",
            "`unix { gid vpp }` ignored",
            "`cpu { relative }` ignored",
            "`cpu { scheduler-policy fifo }` ignored",
        ] {
            assert!(ignored.contains(what), "{what}: {ignored}");
        }
        assert!(cfg.ignored.iter().all(|l| !l.contains('\n')));
        // VPP's semantics: default disabled, so only what is enabled by name is loaded.
        assert!(!cfg.plugins.enabled("nat_plugin") && !cfg.plugins.enabled("acl_plugin"));
    }

    #[test]
    fn plugins_enable_and_disable_ours() {
        let cfg = parse(
            "plugins {
  plugin nat_plugin.so { disable }
  plugin dpdk_plugin.so { disable }
  plugin memif_plugin.so { enable }
  vat-plugin foo.so { enable }
}",
        )
        .unwrap();
        assert!(!cfg.plugins.enabled("nat_plugin"));
        assert!(cfg.plugins.enabled("acl_plugin"));
        let ignored = cfg.ignored.join("\n");
        assert!(
            ignored.contains(
                "plugin `dpdk_plugin.so` cannot be disabled: it is part of the core here"
            ) && ignored.contains("plugin `memif_plugin.so` ignored: not built here"),
            "{ignored}"
        );
        for (bad, says) in [
            (
                "plugins { plugin acl_plugin.so }",
                "expected `plugin acl_plugin.so { enable | disable }`",
            ),
            (
                "plugins { plugin acl_plugin.so { maybe } }",
                "unknown key `maybe` for plugin `acl_plugin.so`",
            ),
            (
                "plugins { plugin acl_plugin.so { } }",
                "needs `enable` or `disable`",
            ),
            (
                "plugins { load all }",
                "unknown key `load` in section `plugins`",
            ),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says) && !e.contains('\n'), "{bad}: {e}");
        }
        let app = crate::App::with_plugins(engine::Mode::Replay, 1024, &cfg.plugins);
        assert!(app
            .registry
            .commands()
            .all(|(p, _)| !p.starts_with("nat44")));
        assert!(app
            .registry
            .commands()
            .any(|(p, _)| p.starts_with("set acl-plugin")));
    }
}
