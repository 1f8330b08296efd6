//! Prometheus metrics: the counters of `show interface`, `show runtime`, `show errors`,
//! `show buffers`, `show nat44 summary` and `show acl-plugin sessions` in the Prometheus text
//! exposition format (version 0.0.4), served over HTTP by [`http`] when startup.conf has
//! `unix { metrics-listen ADDR:PORT }`.
//!
//! Names follow the Prometheus conventions: a `dataplane_` prefix, base units, `_total` on
//! counters and never on gauges. Per-thread series carry `thread="0"` (the main thread, VPP's
//! `vpp_main`; `dataplane_thread_info` names it), per-interface ones `interface="NAME"`, node and
//! error series `node="NAME"` and `reason="TEXT"`. Counters are VPP's: `clear interfaces`,
//! `clear runtime` and `clear errors` reset them, which Prometheus' `rate()` treats as a counter
//! reset.

pub mod http;

use std::fmt::{Display, Write};
use std::sync::atomic::Ordering;

use engine::graph::NodeKind;
use engine::Dataplane;

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The one thread that runs the graph today, as VPP names it.
const THREAD: &str = "0";
const THREAD_NAME: &str = "vpp_main";

/// Metric kinds of the text format's `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// Writes metric families: `# HELP` and `# TYPE` once, then the samples.
struct Out {
    s: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert_eq!(
            name.ends_with("_total"),
            kind == Kind::Counter,
            "{name}: counters and only counters end in _total"
        );
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.s, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.s, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.s.push_str(name);
        if !labels.is_empty() {
            self.s.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.s.push(',');
                }
                let _ = write!(self.s, "{k}=\"{}\"", escape_label(v));
            }
            self.s.push('}');
        }
        let _ = writeln!(self.s, " {value}");
    }
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// `# HELP` text: backslash and newline escaped (quotes stay).
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The metrics of `dp`, in the Prometheus text format. Runs on the thread that owns the
/// dataplane (the main loop), between graph dispatches; takes the same locks as the `show`
/// commands.
pub fn render(dp: &Dataplane) -> String {
    let mut o = Out {
        s: String::with_capacity(16 * 1024),
    };
    build_info(&mut o);
    interfaces(&mut o, dp);
    nodes(&mut o, dp);
    errors(&mut o, dp);
    buffers(&mut o, dp);
    nat44(&mut o, dp);
    acl(&mut o, dp);
    o.s
}

fn build_info(o: &mut Out) {
    o.family(
        "dataplane_build_info",
        Kind::Gauge,
        "Always 1; the version of the running dataplane (as `show version`).",
    );
    o.sample(
        "dataplane_build_info",
        &[("version", &crate::version::version())],
        1,
    );
    o.family(
        "dataplane_thread_info",
        Kind::Gauge,
        "Always 1; the threads that run the graph, with VPP's thread names.",
    );
    o.sample(
        "dataplane_thread_info",
        &[("thread", THREAD), ("thread_name", THREAD_NAME)],
        1,
    );
}

fn interfaces(o: &mut Out, dp: &Dataplane) {
    let im = dp.interface_main();
    let live: Vec<_> = im.sw.iter().filter(|s| !s.deleted).collect();
    let counters = |sw: u32| {
        dp.graph
            .vm
            .if_counters
            .get(sw as usize)
            .copied()
            .unwrap_or_default()
    };
    type Field = fn(&engine::interface::IfCounters) -> u64;
    let rows: [(&str, &str, Field); 12] = [
        ("rx_packets", "Packets received.", |c| c.rx_packets),
        ("rx_bytes", "Bytes received.", |c| c.rx_bytes),
        ("tx_packets", "Packets transmitted.", |c| c.tx_packets),
        ("tx_bytes", "Bytes transmitted.", |c| c.tx_bytes),
        (
            "drops",
            "Packets received on the interface and dropped.",
            |c| c.drops,
        ),
        ("punts", "Packets punted.", |c| c.punts),
        ("rx_ip4_packets", "IPv4 packets received.", |c| c.ip4),
        ("rx_ip6_packets", "IPv6 packets received.", |c| c.ip6),
        (
            "rx_no_buffer",
            "Receive attempts that found no free buffer (rx-no-buf).",
            |c| c.rx_no_buf,
        ),
        ("rx_miss", "Packets the device missed (rx-miss).", |c| {
            c.rx_miss
        }),
        ("rx_errors", "Receive errors (rx-error).", |c| c.rx_error),
        (
            "tx_errors",
            "Transmit errors: the device refused or its queue was full (tx-error).",
            |c| c.tx_error,
        ),
    ];
    for (what, help, field) in rows {
        let name = format!("dataplane_interface_{what}_total");
        o.family(&name, Kind::Counter, help);
        for s in &live {
            let v = field(&counters(s.sw_if_index));
            o.sample(&name, &[("interface", &s.name), ("thread", THREAD)], v);
        }
    }
    o.family(
        "dataplane_interface_admin_up",
        Kind::Gauge,
        "1 if the interface is administratively up (set interface state NAME up).",
    );
    for s in &live {
        o.sample(
            "dataplane_interface_admin_up",
            &[("interface", &s.name)],
            u8::from(s.admin_up),
        );
    }
    o.family(
        "dataplane_interface_link_up",
        Kind::Gauge,
        "1 if the interface's link is up.",
    );
    for s in &live {
        let up = im.hw_of(s.sw_if_index).is_some_and(|h| h.link_up);
        o.sample(
            "dataplane_interface_link_up",
            &[("interface", &s.name)],
            u8::from(up),
        );
    }
}

fn nodes(o: &mut Out, dp: &Dataplane) {
    let g = &dp.graph;
    // The nodes `show runtime` lists: those called since `clear runtime`, by name.
    let mut nodes: Vec<_> = g
        .node_indices()
        .filter(|&i| !g.is_placeholder(i) && g.node_stats(i).calls > 0)
        .collect();
    nodes.sort_by(|&a, &b| g.node_name(a).cmp(g.node_name(b)));
    type Field = fn(&engine::graph::NodeStats) -> u64;
    let rows: [(&str, &str, Field); 4] = [
        ("calls", "Calls of the node function (show runtime).", |s| {
            s.calls
        }),
        (
            "vectors",
            "Packets (vector elements) the node handled (show runtime).",
            |s| s.vectors,
        ),
        (
            "suspends",
            "Suspends of the node (processes only) (show runtime).",
            |s| s.suspends,
        ),
        (
            "clocks",
            "CPU clocks spent in the node function (show runtime).",
            |s| s.clocks,
        ),
    ];
    for (what, help, field) in rows {
        let name = format!("dataplane_node_{what}_total");
        o.family(&name, Kind::Counter, help);
        for &i in &nodes {
            let kind = match g.node_kind(i) {
                NodeKind::Input => "input",
                NodeKind::Internal => "internal",
                NodeKind::Output => "output",
            };
            o.sample(
                &name,
                &[("node", g.node_name(i)), ("type", kind), ("thread", THREAD)],
                field(&g.node_stats(i)),
            );
        }
    }
    o.family(
        "dataplane_main_loops_total",
        Kind::Counter,
        "Iterations of the main loop (show runtime).",
    );
    o.sample(
        "dataplane_main_loops_total",
        &[("thread", THREAD)],
        g.main_loops(),
    );
}

fn errors(o: &mut Out, dp: &Dataplane) {
    o.family(
        "dataplane_errors_total",
        Kind::Counter,
        "Node error counters (show errors); only those that counted something.",
    );
    for (count, node, reason) in dp.graph.error_counts() {
        o.sample(
            "dataplane_errors_total",
            &[("node", node), ("reason", reason), ("thread", THREAD)],
            count,
        );
    }
}

fn buffers(o: &mut Out, dp: &Dataplane) {
    let st = dp.graph.vm.buffers.stats();
    let pool = [("pool", "default-numa-0")];
    o.family(
        "dataplane_buffers",
        Kind::Gauge,
        "Buffers in the pool (show buffers: Total).",
    );
    o.sample("dataplane_buffers", &pool, st.total);
    o.family(
        "dataplane_buffers_free",
        Kind::Gauge,
        "Free buffers (show buffers: Avail).",
    );
    o.sample("dataplane_buffers_free", &pool, st.free);
    o.family(
        "dataplane_buffers_in_use",
        Kind::Gauge,
        "Buffers in use (show buffers: Used).",
    );
    o.sample(
        "dataplane_buffers_in_use",
        &pool,
        st.total.saturating_sub(st.free),
    );
    o.family(
        "dataplane_buffer_alloc_failures_total",
        Kind::Counter,
        "Buffer allocations that failed because the pool was empty.",
    );
    o.sample(
        "dataplane_buffer_alloc_failures_total",
        &pool,
        st.alloc_failures,
    );
}

fn nat44(o: &mut Out, dp: &Dataplane) {
    // Present whenever the App registered the plugin; a bare engine has no NAT44 to report.
    let Some(h) = dp.ext::<nat44::NatHandle>() else {
        return;
    };
    let db = h.sh.db.lock();
    let t = [("thread", THREAD)];
    o.family(
        "dataplane_nat44_sessions",
        Kind::Gauge,
        "NAT44 sessions in use (show nat44 summary: total sessions).",
    );
    o.sample("dataplane_nat44_sessions", &t, db.len());
    o.family(
        "dataplane_nat44_sessions_max",
        Kind::Gauge,
        "NAT44 session limit per thread (max translations per thread).",
    );
    o.sample("dataplane_nat44_sessions_max", &t, db.limit());
    let ct = db.counters;
    for (what, help, v) in [
        ("created", "NAT44 sessions created.", ct.created),
        (
            "expired",
            "NAT44 sessions freed because their timeout passed.",
            ct.expired,
        ),
        (
            "recycled",
            "NAT44 sessions reused at the limit before they expired.",
            ct.recycled,
        ),
        (
            "deleted",
            "NAT44 sessions deleted by configuration changes or clear.",
            ct.deleted,
        ),
    ] {
        let name = format!("dataplane_nat44_sessions_{what}_total");
        o.family(&name, Kind::Counter, help);
        o.sample(&name, &t, v);
    }
}

fn acl(o: &mut Out, dp: &Dataplane) {
    let Some(p) = dp.ext::<acl::AclPlugin>() else {
        return;
    };
    let cfg = &p.sessions.cfg;
    o.family(
        "dataplane_acl_sessions",
        Kind::Gauge,
        "ACL (reflexive, permit+reflect) sessions in use (show acl-plugin sessions: Live sessions).",
    );
    let tables: Vec<_> = p.sessions.threads.iter().map(|t| t.lock()).collect();
    let ids: Vec<String> = (0..tables.len()).map(|i| i.to_string()).collect();
    for (t, id) in tables.iter().zip(&ids) {
        o.sample("dataplane_acl_sessions", &[("thread", id)], t.len());
    }
    o.family(
        "dataplane_acl_sessions_max",
        Kind::Gauge,
        "ACL session table limit, all threads (set acl-plugin session table max-entries).",
    );
    o.sample(
        "dataplane_acl_sessions_max",
        &[],
        cfg.max_entries.load(Ordering::Relaxed),
    );
    o.family(
        "dataplane_acl_sessions_added_total",
        Kind::Counter,
        "ACL sessions ever added, all threads.",
    );
    o.sample(
        "dataplane_acl_sessions_added_total",
        &[],
        cfg.total_adds.load(Ordering::Relaxed),
    );
    o.family(
        "dataplane_acl_sessions_deleted_total",
        Kind::Counter,
        "ACL sessions ever deleted, all threads.",
    );
    o.sample(
        "dataplane_acl_sessions_deleted_total",
        &[],
        cfg.total_dels.load(Ordering::Relaxed),
    );
    o.family(
        "dataplane_acl_sessions_refused_total",
        Kind::Counter,
        "ACL sessions not created because the table was full.",
    );
    for (t, id) in tables.iter().zip(&ids) {
        o.sample(
            "dataplane_acl_sessions_refused_total",
            &[("thread", id)],
            t.cnt_refused,
        );
    }
    o.family(
        "dataplane_acl_sessions_recycled_total",
        Kind::Counter,
        "ACL sessions reused because the table was full.",
    );
    for (t, id) in tables.iter().zip(&ids) {
        o.sample(
            "dataplane_acl_sessions_recycled_total",
            &[("thread", id)],
            t.cnt_recycled,
        );
    }
    // Per-rule matches (`show acl-plugin acl counters`, VPP's /acl/N/matches): only rules that
    // matched something, so that 10k idle rules do not make 10k series per thread.
    for (name, k, help) in [
        (
            "dataplane_acl_rule_matches_total",
            0,
            "Packets that matched an ACL rule (show acl-plugin acl counters).",
        ),
        (
            "dataplane_acl_rule_match_bytes_total",
            1,
            "Bytes of the packets that matched an ACL rule.",
        ),
    ] {
        o.family(name, Kind::Counter, help);
        for (t, id) in tables.iter().zip(&ids) {
            for (acl, rules) in t.rule_hits.iter().enumerate() {
                for (rule, c) in rules.iter().enumerate().filter(|r| r.1[0] > 0) {
                    let (a, r) = (acl.to_string(), rule.to_string());
                    o.sample(name, &[("acl", &a), ("rule", &r), ("thread", id)], c[k]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::App;
    use engine::Mode;

    /// The sample lines of `text` whose name is `name`, as (labels, value).
    fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (n, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.strip_suffix('}')?),
                    None => (series, ""),
                };
                (n == name).then_some((labels, value))
            })
            .collect()
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("tap1"), "tap1");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
        let mut o = Out { s: String::new() };
        o.sample("m", &[("interface", "we\"ird\\\n"), ("thread", "0")], 3);
        o.sample("n", &[], 1.5);
        assert_eq!(
            o.s,
            "m{interface=\"we\\\"ird\\\\\\n\",thread=\"0\"} 3\nn 1.5\n"
        );
    }

    /// Every family has HELP then TYPE before its samples, once; names are valid and follow the
    /// conventions; every sample belongs to the family declared above it.
    #[test]
    fn every_family_is_declared_once_and_well_named() {
        let mut app = App::new(Mode::Replay);
        app.exec("create loopback interface").unwrap();
        let text = render(&app.dp);
        let mut seen = std::collections::HashSet::new();
        let mut current: Option<(String, String)> = None;
        let mut lines = text.lines().peekable();
        while let Some(l) = lines.next() {
            if let Some(rest) = l.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                assert!(!help.is_empty(), "{l}");
                assert!(seen.insert(name.to_string()), "{name} declared twice");
                assert!(
                    name.starts_with("dataplane_")
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{name}"
                );
                let ty = lines.next().unwrap();
                let kind = ty
                    .strip_prefix(&format!("# TYPE {name} "))
                    .unwrap_or_else(|| panic!("no TYPE after HELP of {name}: {ty}"));
                assert!(kind == "counter" || kind == "gauge", "{ty}");
                assert_eq!(name.ends_with("_total"), kind == "counter", "{name}");
                current = Some((name.to_string(), kind.to_string()));
            } else {
                assert!(!l.starts_with('#'), "stray comment {l}");
                let (name, _) = current.as_ref().expect("sample before any family");
                let series = l.rsplit_once(' ').unwrap().0;
                assert_eq!(series.split('{').next().unwrap(), name, "{l}");
                let v = l.rsplit_once(' ').unwrap().1;
                assert!(v.parse::<f64>().is_ok(), "{l}");
            }
        }
        for want in [
            "dataplane_build_info",
            "dataplane_interface_rx_packets_total",
            "dataplane_interface_tx_bytes_total",
            "dataplane_interface_drops_total",
            "dataplane_interface_rx_errors_total",
            "dataplane_interface_admin_up",
            "dataplane_node_calls_total",
            "dataplane_node_vectors_total",
            "dataplane_node_suspends_total",
            "dataplane_node_clocks_total",
            "dataplane_errors_total",
            "dataplane_buffers",
            "dataplane_buffers_free",
            "dataplane_buffers_in_use",
            "dataplane_nat44_sessions",
            "dataplane_acl_sessions",
        ] {
            assert!(seen.contains(want), "{want} missing:\n{text}");
        }
    }

    #[test]
    fn acl_rule_matches_appear_once_counted() {
        let mut app = App::new(Mode::Replay);
        app.exec("set acl-plugin acl permit proto 6, deny proto 17")
            .unwrap();
        let text = render(&app.dp);
        assert!(samples(&text, "dataplane_acl_rule_matches_total").is_empty());
        let p = app.dp.ext::<acl::AclPlugin>().unwrap().clone();
        p.sessions.threads[0].lock().count_rule(0, 1, 3, 300);
        let text = render(&app.dp);
        assert_eq!(
            samples(&text, "dataplane_acl_rule_matches_total"),
            vec![(r#"acl="0",rule="1",thread="0""#, "3")]
        );
        assert_eq!(
            samples(&text, "dataplane_acl_rule_match_bytes_total"),
            vec![(r#"acl="0",rule="1",thread="0""#, "300")]
        );
    }

    /// Values are those the `show` commands print, after traffic.
    #[test]
    fn values_follow_the_show_commands() {
        let mut app = App::new(Mode::Replay);
        app.exec_script(
            "create loopback interface
set interface state loop0 up
create packet-generator interface pg0
set interface state pg0 up",
        )
        .unwrap();
        let text = render(&app.dp);
        assert_eq!(
            samples(&text, "dataplane_interface_rx_packets_total"),
            vec![
                (r#"interface="local0",thread="0""#, "0"),
                (r#"interface="loop0",thread="0""#, "0"),
                (r#"interface="pg0",thread="0""#, "0")
            ]
        );
        assert_eq!(
            samples(&text, "dataplane_interface_admin_up"),
            vec![
                (r#"interface="local0""#, "0"),
                (r#"interface="loop0""#, "1"),
                (r#"interface="pg0""#, "1")
            ]
        );
        let total = app.dp.graph.vm.buffers.stats().total.to_string();
        assert_eq!(
            samples(&text, "dataplane_buffers"),
            vec![(r#"pool="default-numa-0""#, total.as_str())]
        );
        assert_eq!(
            samples(&text, "dataplane_nat44_sessions"),
            vec![(r#"thread="0""#, "0")]
        );
        assert_eq!(
            samples(&text, "dataplane_acl_sessions"),
            vec![(r#"thread="0""#, "0")]
        );
        assert!(text.contains("dataplane_build_info{version=\"v"), "{text}");

        // Three frames from a pg stream (no route: dropped), then the counters move.
        let dir = std::env::temp_dir().join(format!("dp-metrics-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pcap = dir.join("syn.pcap");
        let frame = crate::pcapgen::TcpFrame::bench_syn(1000).build();
        engine::pcap::write_pcap(&pcap, [(0, &frame[..])]).unwrap();
        app.exec(&format!(
            "packet-generator new {{ name s0 limit 3 interface pg0 pcap {} }}",
            pcap.display()
        ))
        .unwrap();
        app.exec("packet-generator enable-stream s0").unwrap();
        for _ in 0..10 {
            app.dp.graph.run_once();
        }
        let _ = std::fs::remove_dir_all(&dir);
        let text = render(&app.dp);
        let bytes = (3 * frame.len()).to_string();
        assert_eq!(
            samples(&text, "dataplane_interface_rx_packets_total")[2],
            (r#"interface="pg0",thread="0""#, "3")
        );
        assert_eq!(
            samples(&text, "dataplane_interface_rx_bytes_total")[2],
            (r#"interface="pg0",thread="0""#, bytes.as_str())
        );
        let errors = samples(&text, "dataplane_errors_total");
        assert!(
            errors
                .iter()
                .any(|(l, _)| l.starts_with("node=\"") && l.contains(",reason=\"")),
            "{text}"
        );
        let shown = app.exec("show errors").unwrap();
        assert_eq!(errors.len(), shown.lines().count() - 1, "{shown}\n{text}");
        let runtime = samples(&text, "dataplane_node_calls_total");
        assert!(
            runtime.iter().any(|(l, v)| l.starts_with("node=\"")
                && l.ends_with("thread=\"0\"")
                && v.parse::<u64>().unwrap() > 0),
            "{text}"
        );
        assert_eq!(
            samples(&text, "dataplane_main_loops_total"),
            vec![(r#"thread="0""#, "10")]
        );
    }
}
