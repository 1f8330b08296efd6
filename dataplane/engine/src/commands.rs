//! The engine's CLI commands, in VPP's syntax: runtime, errors, trace, buffers, interfaces,
//! interface creation for every driver, and `test l2patch`. The packet generator's commands live
//! in [`crate::pg`] and are registered from here.

use std::fmt::Write;

use cli::{Args, CliError, Registry};

use crate::buffer::{BUFFER_DATA_SIZE, BUFFER_TOTAL_SIZE};
use crate::graph::{Graph, NodeIndex, NodeKind, NodeState};
use crate::interface::{device_handle, DeviceClass, InterfaceMain, MemoryDevice};
use crate::trace::SHOW_TRACE_DEFAULT_MAX;
use crate::{Dataplane, DeviceSpec, Mode};

type R = Result<String, CliError>;

fn err(msg: impl Into<String>) -> CliError {
    CliError::new(msg)
}

/// VPP's `%=Ns`: centre `text` in `width`, extra space on the left, truncating if longer.
pub fn center(text: &str, width: usize) -> String {
    let t: String = text.chars().take(width).collect();
    let n = width - t.chars().count();
    let (l, r) = (n / 2 + n % 2, n / 2);
    format!("{}{}{}", " ".repeat(l), t, " ".repeat(r))
}

/// VPP's `%-Ns`: left-justify in `width`, truncating if longer.
pub fn left(text: &str, width: usize) -> String {
    let t: String = text.chars().take(width).collect();
    format!("{t:<width$}")
}

/// VPP's `%.2e` (vppinfra format_float): `5.86e1`, `0.00e0`.
pub fn vpp_e2(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0.00e0".to_string();
    }
    format!("{x:.2e}")
}

/// Register the engine's commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        ("show runtime", "show runtime [verbose]", show_runtime),
        ("show threads", "show threads", show_threads),
        ("clear runtime", "clear runtime", clear_runtime),
        ("show vlib graph", "show vlib graph [<node>]", show_vlib_graph),
        ("show errors", "show errors", show_errors),
        ("show node counters", "show node counters", show_errors),
        (
            "show node",
            "show node [index <n>] <node-name> [verbose]",
            show_node,
        ),
        (
            "set node function",
            "set node function <node-name> <variant-name>",
            set_node_function,
        ),
        ("show logging", "show logging", show_logging),
        ("clear logging", "clear logging", clear_logging),
        ("clear node counters", "clear node counters", clear_errors),
        ("clear errors", "clear errors", clear_errors),
        ("show trace", "show trace [max COUNT]", show_trace),
        (
            "trace add",
            "trace add <input-node> <count> [filter drops | filter [src PREFIX] [dst PREFIX] [proto P] [sport N] [dport N]]",
            trace_add,
        ),
        (
            "trace filter",
            "trace filter none | [include|exclude] NODE COUNT",
            trace_filter,
        ),
        ("clear trace", "clear trace", clear_trace),
        ("show buffers", "show buffers", show_buffers),
        ("show memory", "show memory [verbose]", show_memory),
        ("show interface", "show interface [<interface> ...]", show_interface),
        (
            "set interface rx-placement",
            "set interface rx-placement <interface> [queue <n>] [worker <n> | main]",
            set_rx_placement,
        ),
        (
            "show interface rx-placement",
            "show interface rx-placement",
            show_rx_placement,
        ),
        (
            "show hardware-interfaces",
            "show hardware-interfaces [<interface>]",
            show_hardware,
        ),
        ("clear interfaces", "clear interfaces", clear_interfaces),
        (
            "clear hardware-interfaces",
            "clear hardware-interfaces",
            clear_interfaces,
        ),
        (
            "set interface state",
            "set interface state <interface> up|down",
            set_interface_state,
        ),
        (
            "set interface mac address",
            "set interface mac address <interface> <mac>",
            set_interface_mac,
        ),
        (
            "set interface mtu",
            "set interface mtu [packet|ip4] <value> <interface>",
            set_interface_mtu,
        ),
        (
            "show interface features",
            "show interface features <interface>",
            show_interface_features,
        ),
        (
            "create tap",
            "create tap id <n> [hw-addr <mac>] [host-if-name <name>] [host-ns <ns>] [host-ip4-addr <a/l>] [host-ip4-gw <a>] [host-mac-addr <mac>] [host-mtu-size <n>] [num-rx-queues <n>] [rx-ring-size <n>] [tx-ring-size <n>] [gso] [csum-offload] [gro-coalesce] [io-uring|no-io-uring]",
            create_tap,
        ),
        (
            "delete tap",
            "delete tap sw_if_index <n> | delete tap <interface>",
            delete_tap,
        ),
        (
            "show tap",
            "show tap [<interface>]",
            crate::drivers::tap::show_tap,
        ),
        (
            "create host-interface",
            "create host-interface name <ifname> [hw-addr <mac>]",
            create_host_interface,
        ),
        (
            "delete host-interface",
            "delete host-interface name <ifname>",
            delete_host_interface,
        ),
        (
            "create interface af_xdp",
            "create interface af_xdp host-if <ifname> [name <name>] [num-rx-queues <n>] [rxq-size <n>] [txq-size <n>] [prog <file>] [zero-copy|no-zero-copy]",
            create_af_xdp,
        ),
        (
            "create interface dpdk",
            "create interface dpdk dev <pci-address> | vdev <name> [name <name>] [hw-addr <mac>]",
            create_dpdk,
        ),
        (
            "create loopback interface",
            "create loopback interface [mac <mac>] [instance <n>]",
            create_loopback,
        ),
        (
            "delete loopback interface",
            "delete loopback interface intfc <interface>",
            delete_loopback,
        ),
        (
            "pcap trace",
            "pcap trace [rx] [tx] [drop] [max <n>] [intfc <interface>|any] [file <name>] | off | status",
            pcap_trace,
        ),
        (
            "test l2patch",
            "test l2patch rx <interface> tx <interface> [del]",
            test_l2patch,
        ),
    ];
    for (path, help, h) in cmds {
        reg.register(path, help, *h)
            .expect("engine command paths are unique");
    }
    crate::pg::register(reg);
}

/// Install the DPDK `<if>-tx` trace formatter.
pub fn register_tx_formatters(dp: &mut Dataplane) {
    dp.tx_formatters
        .insert(DeviceClass::Dpdk, |rec, im, header, s| {
            let indent = crate::column(s);
            let name = im.name(rec.u[0] as u32);
            crate::device_input::format_dpdk_buffer_trace(s, indent, &name, "tx", rec, header);
        });
}

fn show_runtime(dp: &mut Dataplane, a: &mut Args) -> R {
    let verbose = a.keyword("verbose") || a.keyword("v");
    a.keyword("brief");
    a.expect_end()?;
    if dp.workers.is_none() {
        return Ok(runtime_table(&dp.graph, verbose));
    }
    // As VPP with workers: a table per thread under its name, separated by a dashed line.
    let names = thread_names(dp);
    let mut out = Vec::new();
    let mut k = 0;
    dp.for_each_graph(|g| {
        let (name, lcore) = &names[k];
        out.push(format!(
            "Thread {k} {name} (lcore {lcore})\n{}",
            runtime_table(g, verbose)
        ));
        k += 1;
    });
    Ok(out.join("\n---------------\n"))
}

/// (name, lcore) of every thread: `vpp_main` on the core it runs on, then the workers.
pub fn thread_names(dp: &Dataplane) -> Vec<(String, i64)> {
    // SAFETY: sched_getcpu has no preconditions.
    let main_core = i64::from(unsafe { libc::sched_getcpu() });
    let mut v = vec![("vpp_main".to_string(), main_core)];
    if let Some(w) = &dp.workers {
        for wk in &w.workers {
            v.push((wk.name(), wk.core.map_or(-1, i64::from)));
        }
    }
    v
}

/// A core's (core id, socket) from sysfs (0, 0 when unknown).
fn core_topology(lcore: i64) -> (u32, u32) {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu{lcore}/topology/{f}"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    (read("core_id"), read("physical_package_id"))
}

/// A thread's scheduling policy and priority as VPP prints them (`other (0)`).
fn sched_policy(tid: i32) -> String {
    // SAFETY: both calls only read the scheduling state of thread `tid` into `p`.
    let (policy, prio) = unsafe {
        let mut p: libc::sched_param = std::mem::zeroed();
        let pol = libc::sched_getscheduler(tid);
        libc::sched_getparam(tid, &mut p);
        (pol, p.sched_priority)
    };
    let name = match policy {
        libc::SCHED_FIFO => "fifo",
        libc::SCHED_RR => "rr",
        libc::SCHED_BATCH => "batch",
        libc::SCHED_IDLE => "idle",
        _ => "other",
    };
    format!("{name} ({prio})")
}

/// `show threads`, VPP's table; with workers, a line on the graph updates they waited for.
fn show_threads(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let names = thread_names(dp);
    let mut s = format!(
        "{:<7}{:<20}{:<12}{:<8}{:<25}{:<7}{:<7}{:<7}{:<10}",
        "ID", "Name", "Type", "LWP", "Sched Policy (Priority)", "lcore", "Core", "Socket", "State"
    );
    // SAFETY: gettid has no preconditions (this runs on the main thread).
    let main_tid = unsafe { libc::gettid() };
    for (k, (name, lcore)) in names.iter().enumerate() {
        let (tid, kind) = match (k, &dp.workers) {
            (0, _) => (main_tid, ""),
            (_, Some(w)) => (
                w.workers[k - 1]
                    .lwp
                    .load(std::sync::atomic::Ordering::Relaxed),
                "workers",
            ),
            _ => continue,
        };
        let (core, socket) = core_topology(*lcore);
        let lc = if *lcore < 0 {
            String::new()
        } else {
            lcore.to_string()
        };
        let _ = write!(
            s,
            "\n{k:<7}{name:<20}{kind:<12}{tid:<8}{:<25}{lc:<7}{core:<7}{socket:<7}",
            sched_policy(tid)
        );
    }
    if let Some(w) = &dp.workers {
        let st = w.stats;
        let _ = write!(
            s,
            "\nWorker graph updates: {}, last {} us, longest {} us",
            st.syncs,
            st.last.as_micros(),
            st.max.as_micros()
        );
    }
    Ok(s)
}

fn runtime_table(g: &Graph, verbose: bool) -> String {
    let dt = g.seconds_since_clear().max(1e-9);
    let mut nodes: Vec<_> = g.node_indices().filter(|&i| !g.is_placeholder(i)).collect();
    nodes.sort_by(|&a, &b| g.node_name(a).cmp(g.node_name(b)));
    let (mut n_in, mut n_out, mut n_drop) = (0u64, 0u64, 0u64);
    let (mut iv, mut ic) = (0u64, 0u64);
    for &i in &nodes {
        let st = g.node_stats(i);
        match g.node_kind(i) {
            NodeKind::Input => n_in += st.vectors,
            NodeKind::Output => n_out += st.vectors,
            NodeKind::Internal => {
                iv += st.vectors;
                ic += st.calls;
                if g.node_name(i) == "error-drop" {
                    n_drop += st.vectors;
                }
            }
        }
    }
    let avg = if ic > 0 { iv as f64 / ic as f64 } else { 0.0 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Time {dt:.1}, average vectors/node {avg:.2}, last {} main loops 0.00 per node 0.00",
        g.main_loops().min(128)
    );
    let _ = writeln!(
        s,
        "  vector rates in {}, out {}, drop {}, punt 0.0000e0",
        rate4(n_in as f64 / dt),
        rate4(n_out as f64 / dt),
        rate4(n_drop as f64 / dt)
    );
    let _ = writeln!(
        s,
        "{}{}{}{}{}{}{}",
        center("Name", 30),
        center("State", 12),
        center("Calls", 16),
        center("Vectors", 16),
        center("Suspends", 16),
        center("Clocks", 16),
        center("Vectors/Call", 16)
    );
    for &i in &nodes {
        let st = g.node_stats(i);
        if st.calls == 0 && !verbose {
            continue;
        }
        let state = node_state_name(g, i);
        let clocks = if st.vectors > 0 {
            st.clocks as f64 / st.vectors as f64
        } else if st.calls > 0 {
            st.clocks as f64 / st.calls as f64
        } else {
            0.0
        };
        let vpc = if st.calls > 0 {
            st.vectors as f64 / st.calls as f64
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "{}{}{:>16}{:>16}{:>16}{:>16}{:>16.2}",
            left(g.node_name(i), 30),
            center(state, 12),
            st.calls,
            st.vectors,
            st.suspends,
            vpp_e2(clocks),
            vpc
        );
    }
    s.trim_end().to_string()
}

fn rate4(x: f64) -> String {
    if x == 0.0 {
        "0.0000e0".into()
    } else {
        format!("{x:.4e}")
    }
}

/// `show vlib graph [NODE]`: every node with its next nodes (`[slot]`) and the nodes that lead
/// to it, as VPP prints them (a deleted interface's nodes show under their
/// `interface-N-output-deleted` names until reused).
/// A node's state as `show runtime` and `show node` print it (input nodes poll or are disabled,
/// the others are active).
fn node_state_name(g: &Graph, i: NodeIndex) -> &'static str {
    match (g.node_kind(i), g.node_state(i)) {
        (NodeKind::Input, NodeState::Polling) => "polling",
        (NodeKind::Input, NodeState::Disabled) => "disabled",
        _ => "active",
    }
}

/// The nodes with `i` in their next table, by index.
fn previous_nodes(g: &Graph, i: NodeIndex) -> Vec<NodeIndex> {
    g.node_indices()
        .filter(|&p| !g.is_placeholder(p) && g.nexts(p).contains(&i))
        .collect()
}

fn show_vlib_graph(dp: &mut Dataplane, a: &mut Args) -> R {
    let only = a.next_word();
    a.expect_end()?;
    let g = &dp.graph;
    if let Some(n) = &only {
        if g.node_index(n).is_none() {
            return Err(err(format!("unknown node `{n}`")));
        }
    }
    let nodes: Vec<u32> = g.node_indices().filter(|&i| !g.is_placeholder(i)).collect();
    let mut s = format!("{:>20}{:>30}{:>30}\n", "Name", "Next", "Previous");
    for &i in &nodes {
        let name = g.node_name(i);
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let nexts: Vec<String> = g
            .nexts(i)
            .iter()
            .enumerate()
            .map(|(k, &t)| format!("{} [{k}]", g.node_name(t)))
            .collect();
        let prevs: Vec<&str> = previous_nodes(g, i)
            .into_iter()
            .map(|p| g.node_name(p))
            .collect();
        let rows = nexts.len().max(prevs.len()).max(1);
        for r in 0..rows {
            let _ = writeln!(
                s,
                "{:<30}{:>30}{:>30}",
                if r == 0 { name } else { "" },
                nexts.get(r).map_or("", |x| x.as_str()),
                prevs.get(r).copied().unwrap_or("")
            );
        }
    }
    Ok(s)
}

/// `show node NAME`: type, state, index, the function variants (which one runs) and the next
/// nodes, as VPP prints them; `verbose` adds the runtime counters. The next table has no
/// per-next vector counts (they are not kept), so VPP's Vectors column is left out.
fn show_node(dp: &mut Dataplane, a: &mut Args) -> R {
    let g = &dp.graph;
    let mut index = None;
    let mut verbose = false;
    while let Some(w) = a.peek().map(str::to_string) {
        if a.keyword("index") {
            index = Some(a.u32()?);
        } else if a.keyword("verbose") {
            verbose = true;
        } else if index.is_none() {
            match g.node_index(&w).filter(|&i| !g.is_placeholder(i)) {
                Some(i) => index = Some(i),
                None => return Err(err(format!("unknown node name: '{w}'"))),
            }
            a.next_word();
        } else {
            return Err(a.unknown());
        }
    }
    let i = match index {
        Some(i) if (i as usize) < g.n_nodes() && !g.is_placeholder(i) => i,
        _ => return Err(err("please specify valid node")),
    };
    let kind = match g.node_kind(i) {
        NodeKind::Input => "input",
        NodeKind::Internal | NodeKind::Output => "internal",
    };
    let state = node_state_name(g, i);
    let mut s = format!(
        "node {}, type {kind}, state {state}, index {i}\n",
        g.node_name(i)
    );
    s.push_str("  node function variants:");
    match g.node_variant(i) {
        None => s.push_str("\n    default only"),
        Some(active) => {
            let _ = write!(
                s,
                "\n    {:<15}  {}  {:>6}  Description",
                "Name",
                center("Priority", 8),
                "Active"
            );
            for m in crate::march::March::ALL {
                let _ = write!(
                    s,
                    "\n    {:<15}  {:>8}  {}  {}",
                    m.name(),
                    m.priority(),
                    center(if m == active { "yes" } else { "" }, 6),
                    m.description()
                );
            }
        }
    }
    s.push_str("\n\n  next nodes:");
    let nexts = g.nexts(i);
    if nexts.is_empty() {
        s.push_str("\n    none");
    } else {
        let _ = write!(
            s,
            "\n    {:>10}  {:>10}  {}",
            "next-index",
            "node-index",
            center("Node", 30)
        );
        for (k, &t) in nexts.iter().enumerate() {
            let _ = write!(
                s,
                "\n    {}  {}  {}",
                center(&k.to_string(), 10),
                center(&t.to_string(), 10),
                center(g.node_name(t), 30)
            );
        }
    }
    if g.node_kind(i) != NodeKind::Input {
        s.push_str("\n\n  known previous nodes:");
        let prev = previous_nodes(g, i);
        if prev.is_empty() {
            s.push_str("\n    none");
        }
        for (j, &p) in prev.iter().enumerate() {
            if j % 3 == 0 {
                s.push_str("\n    ");
            }
            let _ = write!(s, "{:<35}", format!("{} ({p})", g.node_name(p)));
        }
    }
    s.push('\n');
    if verbose {
        let st = g.node_stats(i);
        let _ = write!(
            s,
            "\n{:>8} {} {} {} {} {}\n",
            "Thread",
            center("Calls", 12),
            center("Clocks", 12),
            center("Vectors", 12),
            center("Max Clock", 12),
            center("Max Vectors", 12)
        );
        let _ = writeln!(
            s,
            "{} {} {} {} {} {}",
            center("0", 8),
            center(&st.calls.to_string(), 12),
            center(&st.clocks.to_string(), 12),
            center(&st.vectors.to_string(), 12),
            center("0", 12),
            center("0", 12)
        );
    }
    Ok(s)
}

/// `set node function NODE VARIANT`: run another compiled variant of a node.
fn set_node_function(dp: &mut Dataplane, a: &mut Args) -> R {
    let Some(name) = a.next_word() else {
        return Err(err("please specify valid node name"));
    };
    let Some(i) = dp
        .graph
        .node_index(&name)
        .filter(|&i| !dp.graph.is_placeholder(i))
    else {
        return Err(err(format!(
            "please specify valid node name (got `{name}`)"
        )));
    };
    let Some(v) = a.next_word() else {
        return Err(err(format!(
            "please specify node function variant: one of {}",
            crate::march::March::names()
        )));
    };
    let Some(m) = crate::march::March::parse(&v) else {
        return Err(err(format!(
            "unknown node function variant `{v}`; expected one of {}",
            crate::march::March::names()
        )));
    };
    a.expect_end()?;
    dp.graph.set_node_variant(i, m).map_err(err)?;
    Ok(String::new())
}

fn clear_runtime(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    dp.for_each_graph_mut(|g| g.clear_runtime());
    Ok(String::new())
}

/// `show errors` text.
pub fn format_errors(dp: &Dataplane) -> String {
    let mut s = format!(
        "{}{}{}",
        center("Count", 10),
        center("Node", 40),
        center("Reason", 6)
    );
    for (c, node, reason) in dp.error_counts() {
        let _ = write!(s, "\n{c:>10}{}{reason}", center(node, 40));
    }
    s
}

fn show_errors(dp: &mut Dataplane, a: &mut Args) -> R {
    a.keyword("verbose");
    a.expect_end()?;
    Ok(format_errors(dp))
}

fn clear_errors(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    dp.for_each_graph_mut(|g| g.clear_errors());
    Ok(String::new())
}

fn show_trace(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut max = SHOW_TRACE_DEFAULT_MAX;
    while !a.is_empty() {
        if a.keyword("max") {
            max = a.u32()? as usize;
        } else {
            return Err(err(format!(
                "expected 'max COUNT', got `{}`",
                a.remaining()
            )));
        }
    }
    // Every thread's trace buffer under its own header, as VPP.
    let mut out = String::new();
    dp.for_each_graph_mut(|g| {
        g.vm.trace.apply_filter();
        out.push_str(&g.show_trace(max));
    });
    Ok(out.trim_end_matches('\n').to_string())
}

fn trace_add(dp: &mut Dataplane, a: &mut Args) -> R {
    let node = a
        .next_word()
        .ok_or_else(|| err("expected NODE COUNT, e.g. `trace add virtio-input 10`"))?;
    let count = a.u32().map_err(|_| {
        err(format!(
            "expected NODE COUNT, got `{node} {}`",
            a.remaining()
        ))
    })?;
    let mut tuple = None;
    let mut drops = false;
    while !a.is_empty() {
        if a.keyword("filter") {
            if a.keyword("drops") {
                drops = true;
            } else {
                tuple = Some(parse_trace_filter(a)?);
            }
        } else if a.keyword("verbose") {
            // VPP's `verbose` only changes what some nodes print; every record here is full.
        } else {
            return Err(err(format!(
                "expected `filter drops`, `filter [src PREFIX] [dst PREFIX] [proto P] [sport N] [dport N]` or `verbose`, got `{}`",
                a.remaining()
            )));
        }
    }
    if count == 0 {
        return Err(err(
            "trace add: COUNT is the number of packets to trace and must be at least 1 (`clear trace` stops tracing)",
        ));
    }
    let ni = dp
        .graph
        .node_index(&node)
        .filter(|&i| !dp.graph.is_placeholder(i))
        .ok_or_else(|| err(format!("unknown node `{node}`")))?;
    if dp.graph.node_kind(ni) != NodeKind::Input {
        return Err(err(format!(
            "`{node}` is not an input node; trace starts at input nodes such as pg-input or virtio-input"
        )));
    }
    // On every thread, as VPP: each traces up to COUNT packets of its own.
    dp.for_each_graph_mut(|g| {
        let t = &mut g.vm.trace;
        t.set_tuple_filter(ni, tuple);
        if drops {
            // Every packet is traced until COUNT of them reached error-drop; the others'
            // traces are thrown away after each dispatch.
            t.node_filter = Some(crate::trace::NodeFilter {
                node: crate::graph::ERROR_DROP_NODE,
                include: true,
                count,
                stop_when_full: true,
            });
            t.add_budget(ni, count);
            t.set_unbounded(ni);
        } else {
            t.add_budget(ni, count);
        }
    });
    Ok(String::new())
}

/// The 5-tuple after `trace add NODE N filter`.
fn parse_trace_filter(a: &mut Args) -> Result<crate::trace::TupleFilter, CliError> {
    let mut f = crate::trace::TupleFilter::default();
    let prefix = |a: &mut Args, what: &str| -> Result<(u32, u8), CliError> {
        let w = a.peek().unwrap_or_default().to_string();
        let (ip, len) = if w.contains('/') {
            a.ip4_prefix()
        } else {
            a.ip4().map(|ip| (ip, 32))
        }
        .map_err(|_| {
            err(format!(
                "`{what}`: expected an IPv4 address or prefix, got `{w}`"
            ))
        })?;
        Ok((u32::from(ip), len))
    };
    while !a.is_empty() {
        if a.keyword("src") {
            f.src = Some(prefix(a, "src")?);
        } else if a.keyword("dst") {
            f.dst = Some(prefix(a, "dst")?);
        } else if a.keyword("proto") {
            let w = a.next_word().unwrap_or_default();
            f.proto = Some(match w.as_str() {
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                _ => w.parse().map_err(|_| {
                    err(format!(
                        "`proto`: expected tcp, udp, icmp or a protocol number 0-255, got `{w}`"
                    ))
                })?,
            });
        } else if a.keyword("sport") {
            f.sport = Some(a.port()?);
        } else if a.keyword("dport") {
            f.dport = Some(a.port()?);
        } else {
            break;
        }
    }
    if f == crate::trace::TupleFilter::default() {
        return Err(err(
            "`filter`: expected `drops` or at least one of src PREFIX, dst PREFIX, proto P, sport N, dport N",
        ));
    }
    Ok(f)
}

/// `trace filter none | [include|exclude] NODE COUNT`, as VPP.
fn trace_filter(dp: &mut Dataplane, a: &mut Args) -> R {
    if a.keyword("none") {
        a.expect_end()?;
        dp.for_each_graph_mut(|g| g.vm.trace.node_filter = None);
        return Ok(String::new());
    }
    let include = if a.keyword("include") {
        true
    } else if a.keyword("exclude") {
        false
    } else {
        return Err(err(format!(
            "expected `none`, `include NODE COUNT` or `exclude NODE COUNT`, got `{}`",
            a.remaining()
        )));
    };
    let node = a.next_word().unwrap_or_default();
    let ni = dp
        .graph
        .node_index(&node)
        .filter(|&i| !dp.graph.is_placeholder(i))
        .ok_or_else(|| err(format!("unknown node `{node}`")))?;
    let count = a.u32().map_err(|_| {
        err(format!(
            "expected COUNT (traces to keep) after `{node}`, got `{}`",
            a.remaining()
        ))
    })?;
    a.expect_end()?;
    dp.for_each_graph_mut(|g| {
        g.vm.trace.node_filter = Some(crate::trace::NodeFilter {
            node: ni,
            include,
            count,
            stop_when_full: false,
        })
    });
    Ok(String::new())
}

fn clear_trace(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    dp.for_each_graph_mut(|g| g.vm.trace.clear());
    Ok(String::new())
}

/// `show memory [verbose]`: VPP prints its mspace heaps; here the heap is the system allocator,
/// counted by [`crate::mem::CountingAlloc`], and the process figures come from /proc.
fn show_memory(dp: &mut Dataplane, a: &mut Args) -> R {
    let verbose = a.keyword("verbose");
    if !a.is_empty() {
        return Err(err(format!(
            "expected `verbose` or nothing, got `{}`",
            a.remaining()
        )));
    }
    use crate::mem::format_msize as m;
    let h = crate::mem::heap_stats();
    let live = h.allocs.saturating_sub(h.frees);
    let b = dp.graph.vm.buffers.stats();
    let mut s = String::from("Thread 0 vpp_main\n");
    let _ = writeln!(
        s,
        "  main heap: the system allocator, shared by all threads"
    );
    let _ = writeln!(
        s,
        "    used: {} in {live} blocks, max used: {}",
        m(h.used as u64),
        m(h.peak as u64)
    );
    let _ = writeln!(
        s,
        "    buffers: {} of {} bytes in 2 MiB pages: {}, {} free",
        b.total,
        BUFFER_TOTAL_SIZE,
        m(b.total as u64 * BUFFER_TOTAL_SIZE as u64),
        b.free
    );
    if verbose {
        let _ = writeln!(s, "      allocations {}, frees {}", h.allocs, h.frees);
    }
    let p = crate::mem::process_memory();
    let get = |k: &str| p.iter().find(|(x, _)| x == k).map(|v| v.1);
    if let Some(rss) = get("VmRSS") {
        let _ = writeln!(
            s,
            "  process: resident {}, peak resident {}, virtual {}, anonymous huge pages {}",
            m(rss),
            m(get("VmHWM").unwrap_or(rss)),
            m(get("VmSize").unwrap_or(0)),
            m(get("AnonHugePages").unwrap_or(0))
        );
    }
    if verbose {
        for (k, v) in &p {
            let _ = writeln!(s, "    {k:<16}{}", m(*v));
        }
    }
    Ok(s.trim_end().to_string())
}

fn show_buffers(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let st = dp.graph.vm.buffers.stats();
    let mut s = format!(
        "{}{}{}{}{}{}{}{}{}",
        left("Pool Name", 20),
        center("Index", 6),
        center("NUMA", 6),
        center("Size", 6),
        center("Data Size", 11),
        center("Total", 6),
        center("Avail", 8),
        center("Cached", 8),
        center("Used", 8)
    );
    let _ = write!(
        s,
        "\n{}{}{}{}{}{}{}{}{}",
        left("default-numa-0", 20),
        center("0", 6),
        center("0", 6),
        center(&BUFFER_TOTAL_SIZE.to_string(), 6),
        center(&BUFFER_DATA_SIZE.to_string(), 11),
        center(&st.total.to_string(), 6),
        center(&st.free.to_string(), 8),
        center("0", 8),
        center(&(st.total - st.free).to_string(), 8)
    );
    if st.alloc_failures > 0 {
        let _ = write!(s, "\nallocation failures: {}", st.alloc_failures);
    }
    Ok(s)
}

/// `show interface` text for the given interfaces (all when empty).
pub fn format_interfaces(dp: &Dataplane, only: &[u32]) -> String {
    let im = dp.interface_main();
    let mut s = format!(
        "{}{}{}{}{}{}",
        center("Name", 32),
        center("Idx", 5),
        center("State", 10),
        center("MTU (L3/IP4/IP6/MPLS)", 21),
        center("Counter", 16),
        center("Count", 16)
    );
    for si in im.sw.iter().filter(|s| !s.deleted) {
        if !only.is_empty() && !only.contains(&si.sw_if_index) {
            continue;
        }
        let c = dp.if_counters(si.sw_if_index);
        let mtu = if si.sw_if_index == 0 {
            "0/0/0/0".to_string()
        } else {
            format!("{}/0/0/0", si.mtu)
        };
        let _ = write!(
            s,
            "\n{}{}{}{}",
            left(&si.name, 32),
            center(&si.sw_if_index.to_string(), 5),
            center(if si.admin_up { "up" } else { "down" }, 10),
            center(&mtu, 21)
        );
        let indent = 68;
        let rows = [
            ("rx packets", c.rx_packets),
            ("rx bytes", c.rx_bytes),
            ("tx packets", c.tx_packets),
            ("tx bytes", c.tx_bytes),
            ("drops", c.drops),
            ("punt", c.punts),
            ("ip4", c.ip4),
            ("ip6", c.ip6),
            ("rx-no-buf", c.rx_no_buf),
            ("rx-miss", c.rx_miss),
            ("rx-error", c.rx_error),
            ("tx-error", c.tx_error),
        ];
        let mut first = true;
        for (name, v) in rows {
            if v == 0 {
                continue;
            }
            if !first {
                s.push('\n');
                s.push_str(&" ".repeat(indent));
            }
            first = false;
            let _ = write!(s, "{:<16}{:>16}", name, v);
        }
    }
    s
}

fn show_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut only = Vec::new();
    while let Some(w) = a.next_word() {
        only.push(dp.sw_if_index(&w).map_err(err)?);
    }
    Ok(format_interfaces(dp, &only))
}

/// One row of [`rx_placement`]: input node, sw_if_index, receive queues, mode, ring sizes.
type Placement = (&'static str, u32, u32, &'static str, Option<(u32, u32)>);

/// Every receiving interface's (input node, sw_if_index, receive queues, mode): the rows of
/// `show interface rx-placement`. Live devices that can wake the idle loop (a descriptor) are
/// VPP's `adaptive` (polled under traffic, waited on when idle), unless a DPDK port keeps the
/// loop polling; replays and packet generators poll.
fn rx_placement(dp: &Dataplane) -> Vec<Placement> {
    let im = dp.interface_main();
    let polling = dp.mode == Mode::Replay
        || im
            .hw
            .iter()
            .any(|h| h.class == DeviceClass::Dpdk && !im.sw[h.sw_if_index as usize].deleted);
    let mut rows = Vec::new();
    for h in &im.hw {
        let sw = h.sw_if_index;
        let Some(node) = h.class.input_node() else {
            continue;
        };
        if im.sw[sw as usize].deleted {
            continue;
        }
        let Some(Some(dev)) = dp.devices.get(sw as usize) else {
            continue;
        };
        let d = dev.lock();
        let mode = if polling || d.fd().is_none() {
            "polling"
        } else {
            "adaptive"
        };
        rows.push((node, sw, d.rx_queues(), mode, d.ring_sizes()));
    }
    // Grouped by input node, in the order the nodes first appear.
    let mut order: Vec<&'static str> = Vec::new();
    for r in &rows {
        if !order.contains(&r.0) {
            order.push(r.0);
        }
    }
    rows.sort_by_key(|r| order.iter().position(|&n| n == r.0));
    rows
}

fn show_rx_placement(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let rows = rx_placement(dp);
    if rows.is_empty() {
        return Ok(String::new());
    }
    let im = dp.interface_main();
    let names = thread_names(dp);
    let mut s = String::new();
    for (t, (name, _)) in names.iter().enumerate() {
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| im.hw_of(r.1).map_or(0, |h| h.rx_thread) as usize == t)
            .collect();
        if mine.is_empty() {
            continue;
        }
        if !s.is_empty() {
            s.push('\n');
        }
        let _ = write!(s, "Thread {t} ({name}):");
        let mut node = "";
        for &&(n, sw, queues, mode, _) in &mine {
            if n != node {
                let _ = write!(s, "\n  node {n}:");
                node = n;
            }
            for q in 0..queues {
                let _ = write!(s, "\n    {} queue {q} ({mode})", im.sw[sw as usize].name);
            }
        }
    }
    Ok(s)
}

/// `set interface rx-placement <interface> [queue <n>] [worker <n> | main]`.
fn set_rx_placement(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    let mut thread = None;
    let mut queue = None;
    while !a.is_empty() {
        if a.keyword("queue") {
            queue = Some(a.u32()?);
        } else if a.keyword("worker") {
            thread = Some(a.u32()?.saturating_add(1));
        } else if a.keyword("main") {
            thread = Some(0);
        } else {
            return Err(a.unknown());
        }
    }
    let Some(thread) = thread else {
        return Err(CliError::new("expected `worker <n>` or `main`"));
    };
    if let Some(q) = queue {
        let queues = dp
            .devices
            .get(sw as usize)
            .and_then(|d| d.as_ref())
            .map_or(1, |d| d.lock().rx_queues());
        if q >= queues {
            return Err(CliError::new(format!(
                "queue {q} does not exist: the interface has queues 0-{}",
                queues - 1
            )));
        }
        if queues > 1 {
            return Err(CliError::new(
                "one queue cannot move alone: all queues of an interface are polled by one thread (leave out `queue`)",
            ));
        }
    }
    dp.set_rx_placement(sw, thread).map_err(CliError::new)?;
    Ok(String::new())
}

fn show_hardware(dp: &mut Dataplane, a: &mut Args) -> R {
    let want = a.next_word();
    a.expect_end()?;
    let placement = if dp.mode == Mode::Live {
        rx_placement(dp)
    } else {
        Vec::new()
    };
    let im = dp.interface_main();
    let mut s = format!(
        "{}{}{}{}",
        center("Name", 32),
        center("Idx", 5),
        center("Link", 6),
        "  Hardware"
    );
    for h in im.hw.iter() {
        let sw = &im.sw[h.sw_if_index as usize];
        if sw.deleted || want.as_deref().is_some_and(|w| w != sw.name) {
            continue;
        }
        let class = match h.class {
            DeviceClass::Local => "local",
            DeviceClass::Pg => "pg",
            DeviceClass::Tap => "virtio",
            DeviceClass::AfPacket => "af-packet",
            DeviceClass::AfXdp => "af_xdp",
            DeviceClass::Dpdk => "dpdk",
            DeviceClass::Loopback => "loopback",
            DeviceClass::Vxlan => "vxlan",
            DeviceClass::Geneve => "geneve",
        };
        // A live device's queues, as VPP lists them (all on the main thread until workers).
        let mut queues = String::new();
        if let Some((_, _, n, mode, rings)) = placement.iter().find(|p| p.1 == h.sw_if_index) {
            queues.push_str("\n  RX Queues:\n    queue thread         mode");
            for q in 0..*n {
                let _ = write!(queues, "\n    {:<6}{:<15}{mode}", q, "main (0)");
            }
            queues.push_str("\n  TX Queues:\n    queue shared thread(s)\n    0     no     0");
            if let Some((rx, tx)) = rings {
                let _ = write!(queues, "\n  Ring sizes: rx {rx}, tx {tx}");
            }
        }
        let _ = write!(
            s,
            "\n{}{}{}  {}{queues}\n  Ethernet address {}\n  driver {} instance {}{}",
            left(&sw.name, 32),
            center(&h.hw_if_index.to_string(), 5),
            center(if h.link_up { "up" } else { "down" }, 6),
            sw.name,
            crate::interface::format_mac(&h.mac),
            class,
            h.dev_instance,
            if dp.mode == Mode::Replay
                && !matches!(
                    h.class,
                    DeviceClass::Local
                        | DeviceClass::Loopback
                        | DeviceClass::Vxlan
                        | DeviceClass::Geneve
                )
            {
                " (replay: pcap-backed)"
            } else {
                ""
            }
        );
    }
    Ok(s)
}

fn show_logging(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let ring = dp.log.lock();
    Ok(ring
        .lines()
        .map(crate::log::format_line)
        .collect::<Vec<_>>()
        .join("\n"))
}

fn clear_logging(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    dp.log.lock().clear();
    Ok(String::new())
}

fn clear_interfaces(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    dp.for_each_graph_mut(|g| {
        for c in g.vm.if_counters.iter_mut() {
            *c = Default::default();
        }
    });
    Ok(String::new())
}

/// The next argument as an interface name, resolved to its sw_if_index (for the plugins'
/// commands too).
pub fn interface_arg(dp: &Dataplane, a: &mut Args) -> Result<u32, CliError> {
    let w = a
        .next_word()
        .ok_or_else(|| err("expected an interface name"))?;
    dp.sw_if_index(&w).map_err(err)
}

fn set_interface_state(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    let up = if a.keyword("up") {
        true
    } else if a.keyword("down") {
        false
    } else {
        return Err(err(format!(
            "expected `up` or `down`, got `{}`",
            a.remaining()
        )));
    };
    a.expect_end()?;
    dp.interface_main_mut().sw[sw as usize].admin_up = up;
    Ok(String::new())
}

/// Why a MAC cannot be an interface's own address, if it cannot.
fn not_unicast(m: &[u8; 6]) -> Option<&'static str> {
    if *m == [0xff; 6] {
        Some("the broadcast address")
    } else if m[0] & 1 != 0 {
        Some("a multicast address (the low bit of the first byte is set)")
    } else if *m == [0; 6] {
        Some("all zeros")
    } else {
        None
    }
}

/// `hw-addr MAC` of a `create` command. Broadcast and all-zero addresses are refused; a
/// multicast one is accepted with a warning in the log, because VPP accepts it and Contiv's
/// documented host interconnect tap uses 01:23:45:67:89:42 (the documented traces need it).
fn hw_addr(dp: &Dataplane, a: &mut Args, kw: &str) -> Result<[u8; 6], CliError> {
    let m = a.mac()?;
    match not_unicast(&m) {
        None => {}
        Some(why) if m[0] & 1 != 0 && m != [0xff; 6] => {
            dp.log.lock().push(
                "warn",
                "interface",
                &format!(
                    "{kw} {} is {why}: accepted as VPP does, but a switch floods frames sent to it",
                    fmt_mac(&m)
                ),
            );
        }
        Some(why) => {
            return Err(err(format!(
                "{kw} {} is {why}: an interface needs a unicast MAC",
                fmt_mac(&m)
            )))
        }
    }
    Ok(m)
}

fn set_interface_mac(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    let mac = a.mac()?;
    a.expect_end()?;
    if let Some(why) = not_unicast(&mac) {
        return Err(err(format!(
            "{} is {why}: an interface needs a unicast MAC",
            fmt_mac(&mac)
        )));
    }
    let im = dp.interface_main_mut();
    let hw = im.sw[sw as usize].hw_if_index as usize;
    im.hw[hw].mac = mac;
    let hooks = dp.on_mac_changed.clone();
    for h in hooks {
        h(dp, sw);
    }
    Ok(String::new())
}

fn set_interface_mtu(dp: &mut Dataplane, a: &mut Args) -> R {
    let _ = a.keyword("packet") || a.keyword("ip4");
    let v = a.u32()?;
    let sw = interface_arg(dp, a)?;
    a.expect_end()?;
    if !(64..=9216).contains(&v) {
        return Err(err(format!("MTU {v} out of range; expected 64..9216")));
    }
    dp.interface_main_mut().sw[sw as usize].mtu = v;
    Ok(String::new())
}

fn show_interface_features(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    a.expect_end()?;
    let f = dp.config().get(dp.features);
    let mut s = String::from("Feature paths configured on ");
    s.push_str(&dp.interface_main().name(sw));
    s.push_str("...\n");
    for arc in f.arc_names() {
        let _ = write!(s, "\n{arc}:\n");
        let en = f.enabled(&arc, sw);
        if en.is_empty() {
            s.push_str("  none configured\n");
        }
        for e in en {
            let _ = writeln!(s, "  {e}");
        }
    }
    Ok(s.trim_end().to_string())
}

/// Deterministic locally administered MAC for an interface kind and instance.
pub fn default_mac(kind: u8, instance: u32) -> [u8; 6] {
    let i = instance.to_be_bytes();
    [0x02, 0xfe, kind, i[1], i[2], i[3]]
}

fn name_of(dp: &Dataplane, sw: u32) -> String {
    dp.interface_main().name(sw)
}

/// Create an interface of `class`, backed by a memory device in replay mode or by the class's
/// live driver.
pub fn create_device_interface(
    dp: &mut Dataplane,
    spec: DeviceSpec,
    class: DeviceClass,
    mac_kind: u8,
) -> Result<u32, String> {
    let mac = spec
        .mac
        .unwrap_or_else(|| default_mac(mac_kind, spec.instance));
    if dp.interface_main().by_name(&spec.name).is_some() {
        return Err(format!("interface `{}` already exists", spec.name));
    }
    let dev = match dp.mode {
        Mode::Replay => device_handle(MemoryDevice::capturing()),
        Mode::Live => {
            let f = dp.device_factories.get(&class).copied().ok_or_else(|| {
                format!("no live {class:?} driver in this build; run with a replay instead")
            })?;
            let mut spec = spec.clone();
            spec.mac = Some(mac);
            f(dp, &spec)?
        }
    };
    let sw = dp.create_interface(&spec.name, class, mac, spec.instance, dev)?;
    let im = dp.interface_main_mut();
    let hw = im.sw[sw as usize].hw_if_index as usize;
    im.hw[hw].options = spec.options.clone();
    Ok(sw)
}

fn create_tap(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut spec = DeviceSpec::default();
    let mut id = None;
    while !a.is_empty() {
        if a.keyword("id") {
            id = Some(a.u32()?);
        } else if a.keyword("hw-addr") {
            spec.mac = Some(hw_addr(dp, a, "hw-addr")?);
        } else if a.keyword("host-mac-addr") {
            let m = a.mac()?;
            if let Some(why) = not_unicast(&m) {
                return Err(err(format!(
                    "host-mac-addr {} is {why}: the kernel gives a device only a unicast MAC",
                    fmt_mac(&m)
                )));
            }
            spec.options.push(("host-mac-addr".into(), fmt_mac(&m)));
        } else if a.keyword("host-ip4-addr") {
            let (ip, len) = a.ip4_prefix()?;
            spec.options
                .push(("host-ip4-addr".into(), format!("{ip}/{len}")));
        } else if a.keyword("host-ip4-gw") {
            let ip = a.ip4()?;
            spec.options.push(("host-ip4-gw".into(), ip.to_string()));
        } else if let Some(key) = ["host-if-name", "host-ns", "host-bridge"]
            .into_iter()
            .find(|k| a.keyword(k))
        {
            let v = a
                .next_word()
                .ok_or_else(|| err(format!("expected a value after `{key}`")))?;
            spec.options.push((key.to_string(), v));
        } else if let Some(key) = [
            "gso",
            "csum-offload",
            "gro-coalesce",
            "io-uring",
            "no-io-uring",
        ]
        .into_iter()
        .find(|k| a.keyword(k))
        {
            // VPP's tapv2 flags: `csum-offload` lets the kernel send partial checksums, `gso`
            // also TCP/UDP super-frames (up to 64 KB in one read), `gro-coalesce` (with gso)
            // merges runs of TCP segments into one write towards the pod. Ours: a tap without
            // gso batches the reads and writes of a burst into one system call through
            // io_uring where the kernel allows it; `io-uring` insists, `no-io-uring` refuses.
            spec.options.push((key.to_string(), "1".into()));
        } else if a.keyword("num-rx-queues") {
            // One kernel queue (IFF_MULTI_QUEUE descriptor) per receive queue, as VPP's tapv2.
            let n = a.u32()?;
            if !(1..=64).contains(&n) {
                return Err(err(format!("num-rx-queues {n} out of range 1..64")));
            }
            spec.options.push(("num-rx-queues".into(), n.to_string()));
        } else if a.keyword("host-mtu-size") {
            let n = a.u32()?;
            let max = crate::drivers::tap::MAX_HOST_MTU;
            if !(68..=max).contains(&n) {
                return Err(err(format!(
                    "host-mtu-size {n} out of range 68..{max} (a frame must fit one {}-byte buffer; jumbo frames need buffer chains)",
                    crate::buffer::BUFFER_DATA_SIZE
                )));
            }
            spec.options.push(("host-mtu-size".into(), n.to_string()));
        } else if let Some(key) = ["rx-ring-size", "tx-ring-size"]
            .into_iter()
            .find(|k| a.keyword(k))
        {
            // With io_uring: reads kept in flight per queue, and write slots.
            let n = a.u32()?;
            if !n.is_power_of_two() || n > 32768 {
                return Err(err(format!("{key} {n} must be a power of two up to 32768")));
            }
            spec.options.push((key.to_string(), n.to_string()));
        } else {
            return Err(a.unknown());
        }
    }
    let id = id.ok_or_else(|| err("expected `id <n>`"))?;
    let opt_n = |k: &str, d: usize| spec.option(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (queues, rx, tx) = (
        opt_n("num-rx-queues", 1),
        opt_n("rx-ring-size", crate::drivers::tap_uring::RX_SLOTS),
        opt_n("tx-ring-size", crate::drivers::tap_uring::TX_SLOTS),
    );
    let most = crate::drivers::tap_uring::MAX_IN_FLIGHT;
    if queues * rx + tx > most {
        return Err(err(format!(
            "rx-ring-size {rx} x num-rx-queues {queues} + tx-ring-size {tx} exceeds the {most} requests of one io_uring"
        )));
    }
    if spec.option("io-uring").is_some() && spec.option("no-io-uring").is_some() {
        return Err(err("io-uring and no-io-uring contradict each other"));
    }
    if spec.option("io-uring").is_some()
        && (spec.option("gso").is_some() || spec.option("gro-coalesce").is_some())
    {
        return Err(err(
            "io-uring works on taps without gso or gro-coalesce (a super-frame does not fit a ring slot)",
        ));
    }
    spec.instance = id;
    spec.name = format!("tap{id}");
    spec.class = Some(DeviceClass::Tap);
    let sw = create_device_interface(dp, spec, DeviceClass::Tap, 0x10).map_err(err)?;
    Ok(name_of(dp, sw))
}

fn fmt_mac(m: &[u8; 6]) -> String {
    crate::interface::format_mac(m)
}

fn delete_tap(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = if a.keyword("sw_if_index") {
        a.u32()?
    } else {
        interface_arg(dp, a)?
    };
    a.expect_end()?;
    let class = dp.interface_main().hw_of(sw).map(|h| h.class);
    if class != Some(DeviceClass::Tap) {
        return Err(err(format!("sw_if_index {sw} is not a tap interface")));
    }
    dp.delete_interface(sw).map_err(err)?;
    Ok(String::new())
}

fn create_host_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut spec = DeviceSpec::default();
    let mut host = None;
    while !a.is_empty() {
        if a.keyword("name") {
            host = a.next_word();
        } else if a.keyword("hw-addr") {
            spec.mac = Some(hw_addr(dp, a, "hw-addr")?);
        } else {
            return Err(a.unknown());
        }
    }
    let host = host.ok_or_else(|| err("expected `name <host interface>`"))?;
    if host.len() > 15 {
        return Err(err(format!(
            "host interface name `{host}` is longer than 15 characters"
        )));
    }
    let instance = dp.interface_main().hw.len() as u32;
    spec.instance = instance;
    spec.name = format!("host-{host}");
    spec.options.push(("host-if-name".into(), host));
    spec.class = Some(DeviceClass::AfPacket);
    let sw = create_device_interface(dp, spec, DeviceClass::AfPacket, 0x20).map_err(err)?;
    Ok(name_of(dp, sw))
}

fn delete_host_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    if !a.keyword("name") {
        return Err(err("expected `name <host interface>`"));
    }
    let host = a
        .next_word()
        .ok_or_else(|| err("expected `name <host interface>`"))?;
    a.expect_end()?;
    let sw = dp.sw_if_index(&format!("host-{host}")).map_err(err)?;
    dp.delete_interface(sw).map_err(err)?;
    Ok(String::new())
}

fn create_af_xdp(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut spec = DeviceSpec::default();
    let (mut host, mut name) = (None, None);
    while !a.is_empty() {
        if a.keyword("host-if") {
            host = a.next_word();
        } else if a.keyword("name") {
            name = a.next_word();
        } else if a.keyword("num-rx-queues") {
            let n = a.u32()?;
            if n == 0 || n > 64 {
                return Err(err(format!("num-rx-queues {n} out of range 1..64")));
            }
            spec.options.push(("num-rx-queues".into(), n.to_string()));
        } else if let Some(key) = ["rxq-size", "txq-size"].into_iter().find(|k| a.keyword(k)) {
            // VPP's af_xdp ring sizes: fill + rx rings, tx + completion rings.
            let n = a.u32()?;
            let max = crate::drivers::af_xdp::MAX_RING_SIZE;
            if !n.is_power_of_two() || !(64..=max).contains(&n) {
                return Err(err(format!(
                    "{key} {n}: expected a power of two from 64 to {max}"
                )));
            }
            spec.options.push((key.to_string(), n.to_string()));
        } else if a.keyword("prog") {
            let p = a
                .next_word()
                .ok_or_else(|| err("expected a file after `prog`"))?;
            spec.options.push(("prog".into(), p));
        } else if a.keyword("zero-copy") {
            spec.options.push(("mode".into(), "zero-copy".into()));
        } else if a.keyword("no-zero-copy") {
            spec.options.push(("mode".into(), "copy".into()));
        } else {
            return Err(a.unknown());
        }
    }
    let host = host.ok_or_else(|| err("expected `host-if <ifname>`"))?;
    spec.instance = dp.interface_main().hw.len() as u32;
    spec.name = name.unwrap_or_else(|| format!("{host}/0"));
    spec.options.push(("host-if".into(), host));
    spec.class = Some(DeviceClass::AfXdp);
    let sw = create_device_interface(dp, spec, DeviceClass::AfXdp, 0x30).map_err(err)?;
    Ok(name_of(dp, sw))
}

/// VPP's DPDK interface name from a PCI address: `0000:00:08.0` -> `GigabitEthernet0/8/0`.
pub fn dpdk_name_from_pci(pci: &str) -> Option<String> {
    let (dom_bus, devfn) = pci.rsplit_once(':')?;
    let bus = dom_bus.rsplit(':').next()?;
    let (dev, func) = devfn.split_once('.')?;
    let bus = u32::from_str_radix(bus, 16).ok()?;
    let dev = u32::from_str_radix(dev, 16).ok()?;
    let func = u32::from_str_radix(func, 16).ok()?;
    if bus > 0xff || dev > 0x1f || func > 7 {
        return None;
    }
    Some(format!("GigabitEthernet{bus:x}/{dev:x}/{func:x}"))
}

fn create_dpdk(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut spec = DeviceSpec::default();
    let (mut dev, mut vdev, mut name) = (None, None, None);
    while !a.is_empty() {
        if a.keyword("dev") {
            dev = a.next_word();
        } else if a.keyword("vdev") {
            // DPDK vdev arguments are comma-separated (`net_af_packet0,iface=eth1`), and the
            // tokenizer splits at commas: put them back together.
            let mut v = a.next_word().unwrap_or_default();
            while a.keyword(",") {
                match a.next_word() {
                    Some(w) => {
                        v.push(',');
                        v.push_str(&w);
                    }
                    None => {
                        return Err(err(
                            "`vdev` arguments end with `,`; expected NAME[,KEY=VALUE...]",
                        ))
                    }
                }
            }
            vdev = Some(v);
        } else if a.keyword("name") {
            name = a.next_word();
        } else if a.keyword("hw-addr") {
            spec.mac = Some(hw_addr(dp, a, "hw-addr")?);
        } else {
            return Err(a.unknown());
        }
    }
    let name = match (&dev, &vdev, name) {
        (_, _, Some(n)) => n,
        (Some(pci), None, None) => dpdk_name_from_pci(pci).ok_or_else(|| {
            err(format!(
                "`{pci}` is not a PCI address; expected DDDD:BB:DD.F such as 0000:00:08.0"
            ))
        })?,
        (None, Some(v), None) => v.split(',').next().unwrap_or(v).to_string(),
        _ => return Err(err("expected `dev <pci-address>` or `vdev <name>`")),
    };
    if let Some(d) = dev {
        spec.options.push(("dev".into(), d));
    }
    if let Some(v) = vdev {
        spec.options.push(("vdev".into(), v));
    }
    spec.instance = dp.interface_main().hw.len() as u32;
    spec.name = name;
    spec.class = Some(DeviceClass::Dpdk);
    let sw = create_device_interface(dp, spec, DeviceClass::Dpdk, 0x40).map_err(err)?;
    Ok(name_of(dp, sw))
}

fn create_loopback(dp: &mut Dataplane, a: &mut Args) -> R {
    let (mut mac, mut instance) = (None, None);
    while !a.is_empty() {
        if a.keyword("mac") {
            mac = Some(hw_addr(dp, a, "mac")?);
        } else if a.keyword("instance") {
            instance = Some(a.u32()?);
        } else {
            return Err(a.unknown());
        }
    }
    let instance = match instance {
        Some(i) => i,
        None => {
            let im = dp.interface_main();
            (0..)
                .find(|i| im.by_name(&format!("loop{i}")).is_none())
                .unwrap_or(0)
        }
    };
    let name = format!("loop{instance}");
    let mac = mac.unwrap_or([0xde, 0xad, 0x00, 0x00, 0x00, instance as u8]);
    let sw = dp
        .create_interface_backed(
            &name,
            DeviceClass::Loopback,
            mac,
            instance,
            crate::Backing::Loopback,
        )
        .map_err(err)?;
    Ok(name_of(dp, sw))
}

fn delete_loopback(dp: &mut Dataplane, a: &mut Args) -> R {
    if !a.keyword("intfc") {
        return Err(err("expected `intfc <interface>`"));
    }
    let sw = interface_arg(dp, a)?;
    a.expect_end()?;
    let class = dp.interface_main().hw_of(sw).map(|h| h.class);
    if class != Some(DeviceClass::Loopback) {
        return Err(err(format!("sw_if_index {sw} is not a loopback interface")));
    }
    dp.delete_interface(sw).map_err(err)?;
    Ok(String::new())
}

fn pcap_trace(dp: &mut Dataplane, a: &mut Args) -> R {
    if a.keyword("off") {
        a.expect_end()?;
        let cap = dp
            .graph
            .vm
            .capture
            .take()
            .ok_or_else(|| err("no pcap capture is running"))?;
        let off = cap.ts_offset_ns;
        crate::pcap::write_pcap(
            &cap.file,
            cap.frames
                .iter()
                .map(|(t, d)| (t.saturating_add(off), d.as_slice())),
        )
        .map_err(err)?;
        return Ok(format!(
            "Write {} packets to {}, and stop capture...",
            cap.frames.len(),
            cap.file.display()
        ));
    }
    if a.keyword("status") {
        a.expect_end()?;
        return Ok(match &dp.graph.vm.capture {
            None => "pcap capture is off".into(),
            Some(c) => format!(
                "capturing{}{}{} to {}: {} of {} packets",
                if c.rx { " rx" } else { "" },
                if c.tx { " tx" } else { "" },
                if c.drop { " drop" } else { "" },
                c.file.display(),
                c.frames.len(),
                c.max
            ),
        });
    }
    let (mut rx, mut tx, mut max, mut sw, mut file) = (false, false, 100u32, None, None);
    let mut drop = false;
    while !a.is_empty() {
        if a.keyword("rx") {
            rx = true;
        } else if a.keyword("tx") {
            tx = true;
        } else if a.keyword("drop") {
            drop = true;
        } else if a.keyword("max") {
            max = a.u32()?;
            if max == 0 || max > 10_000_000 {
                return Err(err(format!("max {max} out of range; expected 1..10000000")));
            }
        } else if a.keyword("intfc") {
            if a.keyword("any") {
                sw = None;
            } else {
                sw = Some(interface_arg(dp, a)?);
            }
        } else if a.keyword("file") {
            let f = a
                .next_word()
                .ok_or_else(|| err("expected a file name after `file`"))?;
            // VPP writes relative names under /tmp.
            let p = std::path::PathBuf::from(&f);
            file = Some(if p.is_absolute() {
                p
            } else {
                std::path::Path::new("/tmp").join(p)
            });
        } else {
            return Err(a.unknown());
        }
    }
    if !rx && !tx && !drop {
        return Err(err(
            "expected `rx`, `tx`, `drop` or several (or `off`, `status`)",
        ));
    }
    if dp.graph.vm.capture.is_some() {
        return Err(err(
            "a pcap capture is already running; `pcap trace off` first",
        ));
    }
    let file = file.unwrap_or_else(|| {
        if drop && !rx && !tx {
            crate::capture::default_file(false, false)
        } else {
            crate::capture::default_file(rx, tx)
        }
    });
    // A file that cannot be written is an error now, not when the capture stops.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&file)
        .map_err(|e| {
            err(format!(
                "cannot write the capture file {}: {e}",
                file.display()
            ))
        })?;
    // Live captures carry wall-clock times (the graph clock counts from the start).
    let ts_offset_ns = dp.pcap_time_offset_ns();
    dp.graph.vm.capture = Some(crate::capture::Capture {
        rx,
        tx,
        drop,
        ts_offset_ns,
        max,
        sw_if_index: sw,
        file,
        frames: Vec::new(),
    });
    Ok(String::new())
}

fn test_l2patch(dp: &mut Dataplane, a: &mut Args) -> R {
    let (mut rx, mut tx, mut del) = (None, None, false);
    while !a.is_empty() {
        if a.keyword("rx") {
            rx = Some(interface_arg(dp, a)?);
        } else if a.keyword("tx") {
            tx = Some(interface_arg(dp, a)?);
        } else if a.keyword("del") {
            del = true;
        } else {
            return Err(a.unknown());
        }
    }
    let rx = rx.ok_or_else(|| err("expected `rx <interface>`"))?;
    let tx = tx.ok_or_else(|| err("expected `tx <interface>`"))?;
    crate::l2patch::set_patch(dp, rx, tx, del).map_err(err)?;
    Ok(String::new())
}

/// Interface name lookup helper for other crates' formatters.
pub fn interface_name(im: &InterfaceMain, sw: u32) -> String {
    im.name(sw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpp_justification() {
        assert_eq!(center("ab", 5), "  ab ");
        assert_eq!(center("abcdef", 3), "abc");
        assert_eq!(left("ab", 4), "ab  ");
        assert_eq!(vpp_e2(58.6), "5.86e1");
        assert_eq!(vpp_e2(0.0), "0.00e0");
    }

    #[test]
    fn pci_names() {
        assert_eq!(
            dpdk_name_from_pci("0000:00:08.0").as_deref(),
            Some("GigabitEthernet0/8/0")
        );
        assert_eq!(
            dpdk_name_from_pci("0000:3b:00.1").as_deref(),
            Some("GigabitEthernet3b/0/1")
        );
        assert!(dpdk_name_from_pci("nonsense").is_none());
    }
}
