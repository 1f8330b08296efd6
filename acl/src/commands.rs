//! The ACL plugin's CLI, in VPP's syntax (the `set acl-plugin ...` forms of current VPP, the
//! `show` output of 18.01):
//!
//! - `set acl-plugin acl [index N] <permit|deny|permit+reflect|action N> [src A/L] [dst A/L]
//!   [proto P] [sport X[-Y]] [dport X[-Y]] [tcpflags V mask M] [tag T] [, <next rule> ...]`:
//!   create, or replace by index. ICMP type and code ranges go in `sport` and `dport`. Unlike
//!   VPP (which refuses to "replace" a free index), an `index` that is free creates the ACL there,
//!   so that a configuration can reproduce the ACL numbers of a trace. A rule with no action is a
//!   permit, as in VPP; `tcpflags V M` is accepted for `tcpflags V mask M`.
//! - `delete acl-plugin acl index N` (refused while the ACL is applied)
//! - `set acl-plugin interface <if> <input|output> acl N [del]` (ordered list per direction)
//! - `show acl-plugin acl [index N]`, `show acl-plugin interface [sw_if_index N | <if>] [acl]`,
//!   `show acl-plugin tables [sw_if_index N]`
//! - `show acl-plugin sessions [thread N index M] [verbose]`, `clear acl-plugin sessions`
//! - `set acl-plugin session timeout {udp idle|tcp idle|tcp transient} <seconds>`,
//!   `set acl-plugin session table max-entries N`, `set acl-plugin session table first-index N`
//! - `set acl-plugin macip acl [index N] <permit|deny|action N> ip A/L mac M [mask M] [tag T]
//!   [, ...]`, `delete acl-plugin macip acl index N`,
//!   `set acl-plugin macip interface <if> acl N [del]`, `show acl-plugin macip acl [index N]`,
//!   `show acl-plugin macip interface`
//!
//! `set acl-plugin session table first-index N` is ours: the first N session indices are never
//! handed out, so that a replay reproduces the session numbers of a trace.
//!
//! Every error is one line saying what was expected, and a failed command changes nothing.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;

use cli::{Args, CliError, Registry};
use engine::Dataplane;

use crate::macip::{CompiledMacip, MacipAcl, MacipRule};
use crate::rules::{Acl, Action, Rule};
use crate::session::{TIMEOUT_TCP_IDLE, TIMEOUT_TCP_TRANSIENT, TIMEOUT_UDP_IDLE};
use crate::{plugin, AclMain, DIR_IN, DIR_OUT, IN_NODE, MACIP_NODE, MAX_ACL_INDEX, OUT_NODE};

type R = Result<String, CliError>;

fn err(m: impl Into<String>) -> CliError {
    CliError::new(m)
}

/// Register the commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "set acl-plugin acl",
            "set acl-plugin acl [index <idx>] <permit|deny|permit+reflect|action N> [src <PREFIX>] [dst <PREFIX>] [proto X] [sport X[-Y]] [dport X[-Y]] [tcpflags <int> mask <int>] [tag FOO] {use comma separated list for multiple rules}",
            set_acl,
        ),
        (
            "delete acl-plugin acl",
            "delete acl-plugin acl index <idx>",
            delete_acl,
        ),
        (
            "set acl-plugin interface",
            "set acl-plugin interface <interface> <input|output> <acl INDEX> [del]",
            set_interface,
        ),
        (
            "show acl-plugin acl",
            "show acl-plugin acl [index N] [counters]",
            show_acl,
        ),
        (
            "show acl-plugin interface",
            "show acl-plugin interface [sw_if_index N | <interface>] [acl]",
            show_interface,
        ),
        (
            "show acl-plugin tables",
            "show acl-plugin tables [sw_if_index N]",
            show_tables,
        ),
        (
            "show acl-plugin sessions",
            "show acl-plugin sessions [thread N index M] [verbose]",
            show_sessions,
        ),
        (
            "clear acl-plugin sessions",
            "clear acl-plugin sessions",
            clear_sessions,
        ),
        (
            "clear acl-plugin counters",
            "clear acl-plugin counters [index N]",
            clear_counters,
        ),
        (
            "set acl-plugin session timeout",
            "set acl-plugin session timeout {{udp idle}|tcp {idle|transient}} <seconds>",
            set_session_timeout,
        ),
        (
            "set acl-plugin session table",
            "set acl-plugin session table {max-entries <n> | first-index <n>}",
            set_session_table,
        ),
        (
            "set acl-plugin macip acl",
            "set acl-plugin macip acl [index <idx>] <permit|deny|action N> ip <PREFIX> mac <MAC> [mask <MAC>] [tag FOO] {use comma separated list for multiple rules}",
            set_macip_acl,
        ),
        (
            "delete acl-plugin macip acl",
            "delete acl-plugin macip acl index <idx>",
            delete_macip_acl,
        ),
        (
            "set acl-plugin macip interface",
            "set acl-plugin macip interface <interface> <acl INDEX> [del]",
            set_macip_interface,
        ),
        (
            "show acl-plugin macip acl",
            "show acl-plugin macip acl [index N]",
            show_macip_acl,
        ),
        (
            "show acl-plugin macip interface",
            "show acl-plugin macip interface",
            show_macip_interface,
        ),
    ];
    for (p, h, f) in cmds {
        reg.register(p, h, *f).expect("unique command paths");
    }
}

/// A live interface by name.
fn lookup_interface(dp: &Dataplane, name: &str) -> Result<u32, CliError> {
    let sw = dp.sw_if_index(name).map_err(err)?;
    if sw == 0 {
        return Err(err(
            "local0 cannot have ACLs: name a tap, pg or NIC interface",
        ));
    }
    Ok(sw)
}

fn acl_index(a: &mut Args) -> Result<u32, CliError> {
    let i = a.u32().map_err(|_| match a.peek() {
        Some(w) => err(format!("expected an ACL index, got `{w}`")),
        None => err("expected an ACL index, got end of input"),
    })?;
    if i > MAX_ACL_INDEX {
        return Err(err(format!(
            "ACL index {i} is too large (at most {MAX_ACL_INDEX})"
        )));
    }
    Ok(i)
}

/// Which fields a rule under construction has, to refuse duplicates.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn set(&mut self, bit: u32, what: &str, rule: usize) -> Result<(), CliError> {
        if self.0 & bit != 0 {
            return Err(err(format!("`{what}` given twice in rule {rule}")));
        }
        self.0 |= bit;
        Ok(())
    }
}

/// Parse `[index N] rule [, rule ...] [tag T]`; returns (index, rules, tag).
/// What a `set acl-plugin [macip] acl` line holds: (index, rules, tag).
type Parsed<T> = (Option<u32>, Vec<T>, Option<String>);

fn parse_acl(a: &mut Args) -> Result<Parsed<Rule>, CliError> {
    let mut index = None;
    let mut tag = None;
    let mut rules: Vec<Rule> = Vec::new();
    let mut cur: Option<(Rule, Seen)> = None;
    let mut after_comma = false;
    macro_rules! rule {
        () => {{
            if cur.is_none() {
                cur = Some((Rule::default(), Seen::default()));
            }
            let n = rules.len();
            let (r, s) = cur.as_mut().expect("set above");
            (r, s, n)
        }};
    }
    while let Some(w) = a.next_word() {
        match w.as_str() {
            "index" => {
                if index.is_some() {
                    return Err(err("`index` given twice"));
                }
                index = Some(acl_index(a)?);
            }
            "permit" | "deny" | "permit+reflect" | "action" => {
                let action = match w.as_str() {
                    "permit" => Action::Permit,
                    "deny" => Action::Deny,
                    "permit+reflect" => Action::PermitReflect,
                    _ => {
                        let v = a.u8().map_err(|_| {
                            err("expected an action number after `action` (0 deny, 1 permit, 2 permit+reflect)")
                        })?;
                        Action::from_u8(v).ok_or_else(|| {
                            err(format!(
                                "expected an action 0 (deny), 1 (permit) or 2 (permit+reflect), got {v}"
                            ))
                        })?
                    }
                };
                let (r, s, n) = rule!();
                s.set(1, "action", n)?;
                r.action = action;
            }
            "src" | "dst" => {
                let (addr, len) = a.ip4_prefix().map_err(|e| {
                    err(format!("`{w}`: {}", e.message()))
                })?;
                let (r, s, n) = rule!();
                if w == "src" {
                    s.set(2, "src", n)?;
                    r.src = addr;
                    r.src_len = len;
                } else {
                    s.set(4, "dst", n)?;
                    r.dst = addr;
                    r.dst_len = len;
                }
            }
            "proto" => {
                let p = a
                    .u8()
                    .map_err(|e| err(format!("`proto`: {}", e.message())))?;
                let (r, s, n) = rule!();
                s.set(8, "proto", n)?;
                r.proto = p;
            }
            "sport" | "dport" => {
                let range = a
                    .range_u16()
                    .map_err(|e| err(format!("`{w}`: {}", e.message())))?;
                let (r, s, n) = rule!();
                if w == "sport" {
                    s.set(16, "sport", n)?;
                    r.sport = range;
                } else {
                    s.set(32, "dport", n)?;
                    r.dport = range;
                }
            }
            "tcpflags" => {
                let v = a
                    .u8()
                    .map_err(|e| err(format!("`tcpflags` value: {}", e.message())))?;
                a.keyword("mask");
                let m = a
                    .u8()
                    .map_err(|e| err(format!("`tcpflags` mask: {}", e.message())))?;
                let (r, s, n) = rule!();
                s.set(64, "tcpflags", n)?;
                r.tcp_flags_value = v;
                r.tcp_flags_mask = m;
            }
            "tag" => {
                let t = a
                    .next_word()
                    .filter(|t| t != ",")
                    .ok_or_else(|| err("expected a tag word after `tag`"))?;
                if tag.is_some() {
                    return Err(err("`tag` given twice"));
                }
                tag = Some(t);
            }
            "," => {
                match cur.take() {
                    Some((r, _)) => rules.push(r),
                    None => return Err(err(format!("expected a rule before `,` (rule {})", rules.len()))),
                }
                after_comma = true;
                continue;
            }
            _ => {
                return Err(err(format!(
                    "expected permit|deny|permit+reflect|action N|src|dst|proto|sport|dport|tcpflags|tag|index|`,`, got `{w}`"
                )))
            }
        }
        after_comma = false;
    }
    if after_comma && cur.is_none() {
        return Err(err("expected a rule after the last `,`"));
    }
    if let Some((r, _)) = cur {
        rules.push(r);
    }
    Ok((index, rules, tag))
}

fn set_acl(dp: &mut Dataplane, a: &mut Args) -> R {
    let (index, rules, tag) = parse_acl(a)?;
    let p = plugin(dp).clone();
    let am = dp.config_mut().edit(p.main);
    let acl = Acl {
        rules,
        tag: tag.unwrap_or_else(|| "cli".into()),
    };
    let n_rules = acl.rules.len();
    let i = am.add_replace(index, acl).map_err(err)?;
    // New or replaced rules start from zero, as VPP's validate_and_reset_acl_counters.
    for t in &p.sessions.threads {
        t.lock().reset_rule_hits(i, n_rules);
    }
    Ok(format!("ACL index:{i}"))
}

fn delete_acl(dp: &mut Dataplane, a: &mut Args) -> R {
    if !a.keyword("index") {
        return Err(err("expected `index <idx>`"));
    }
    let i = acl_index(a)?;
    a.expect_end()?;
    let p = plugin(dp).clone();
    dp.config_mut().edit(p.main).delete(i).map_err(err)?;
    for t in &p.sessions.threads {
        t.lock().reset_rule_hits(i, 0);
    }
    Ok(format!("Deleted ACL index:{i}"))
}

/// What `set acl-plugin interface` and `set acl-plugin macip interface` say: the interface, the
/// ACL (if given), the direction (`input`/`output`, only where `directions`) and add or del.
struct InterfaceAcl {
    sw: u32,
    acl: Option<u32>,
    dir: usize,
    add: bool,
}

fn parse_interface_acl(
    dp: &Dataplane,
    a: &mut Args,
    directions: bool,
) -> Result<InterfaceAcl, CliError> {
    let mut sw = None;
    let mut acl = None;
    let mut dir = DIR_IN;
    let mut add = true;
    while let Some(w) = a.next_word() {
        match w.as_str() {
            "input" if directions => dir = DIR_IN,
            "output" if directions => dir = DIR_OUT,
            "add" => add = true,
            "del" => add = false,
            "acl" => acl = Some(acl_index(a)?),
            _ => match lookup_interface(dp, &w) {
                Ok(s) if sw.is_none() => sw = Some(s),
                Ok(_) => return Err(err(format!("more than one interface given (`{w}`)"))),
                Err(e) => {
                    return Err(err(format!(
                        "expected <interface>, {}acl N or del: {}",
                        if directions { "input|output, " } else { "" },
                        e.message()
                    )))
                }
            },
        }
    }
    let sw = sw.ok_or_else(|| err("expected an interface name"))?;
    Ok(InterfaceAcl { sw, acl, dir, add })
}

/// An interface is being deleted: the ACLs applied to it in both directions come off (so they
/// can be deleted), its MACIP ACL too, and its sessions go (as VPP's
/// `acl_interface_reset_inout_acls` and session cleanup on interface deletion).
pub(crate) fn interface_deleted(dp: &mut Dataplane, sw: u32) {
    let p = plugin(dp).clone();
    for dir in [DIR_IN, DIR_OUT] {
        let list = dp.config().get(p.main).list(dir, sw).to_vec();
        for acl in list {
            let switch = dp.config().get(p.main).check_apply(dir, sw, acl, false);
            if let Ok(true) = switch {
                let (arc, node) = if dir == DIR_IN {
                    ("ip4-unicast", IN_NODE)
                } else {
                    ("ip4-output", OUT_NODE)
                };
                let _ = dp.feature_enable_disable(arc, node, sw, false);
                graph_nodes::l2::l2(dp)
                    .clone()
                    .unhook_classify(sw, dir == DIR_OUT);
            }
            if switch.is_ok() {
                dp.config_mut().edit(p.main).apply(dir, sw, acl, false);
            }
        }
    }
    let macip = dp
        .config()
        .get(p.main)
        .macip_by_sw
        .get(sw as usize)
        .copied();
    if macip.is_some_and(|m| m != u32::MAX) {
        let _ = dp.feature_enable_disable("device-input", MACIP_NODE, sw, false);
        let am = dp.config_mut().edit(p.main);
        am.macip_by_sw[sw as usize] = u32::MAX;
        am.macip_compiled[sw as usize] = None;
    }
    for t in &p.sessions.threads {
        t.lock().delete_interface(sw, &p.sessions.cfg);
    }
}

fn set_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    let InterfaceAcl { sw, acl, dir, add } = parse_interface_acl(dp, a, true)?;
    let acl = acl.ok_or_else(|| err("expected `acl <index>`"))?;
    if dir == DIR_OUT
        && engine::output_node_of(dp, sw).is_none_or(|n| n == engine::buffer::INVALID_INDEX)
    {
        return Err(err(
            "interface has no output node: output ACLs cannot apply",
        ));
    }
    let p = plugin(dp).clone();
    let switch = dp
        .config()
        .get(p.main)
        .check_apply(dir, sw, acl, add)
        .map_err(err)?;
    if switch && add {
        // The first ACL of an interface: the session tables get their full size now, as VPP
        // allocates its session pools when the plugin is first enabled on an interface, so
        // that the data path never grows them.
        let max = p.sessions.cfg.max_entries.load(Ordering::Relaxed) as usize;
        for t in &p.sessions.threads {
            t.lock().ensure_capacity(max);
        }
    }
    if switch {
        let (arc, node) = if dir == DIR_IN {
            ("ip4-unicast", IN_NODE)
        } else {
            ("ip4-output", OUT_NODE)
        };
        dp.feature_enable_disable(arc, node, sw, add).map_err(err)?;
        // As VPP 18.01, the L2 path too: the interface's classify tables lead bridged traffic
        // to acl-plugin-{in,out}-ip4-l2.
        let l2 = graph_nodes::l2::l2(dp).clone();
        let output = dir == DIR_OUT;
        if add {
            let miss = p.l2_miss.get().expect("set at init")[dir];
            l2.hook_classify(sw, output, miss[0], miss[1]);
        } else {
            l2.unhook_classify(sw, output);
        }
    }
    dp.config_mut().edit(p.main).apply(dir, sw, acl, add);
    Ok(String::new())
}

fn join(v: &[u32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// 18.01 `acl_print_acl`.
fn print_acl(s: &mut String, am: &AclMain, i: u32) {
    print_acl_with(s, am, i, None);
}

/// `print_acl`, with each rule's matches (packets, bytes) after it when `plugin` is given:
/// what VPP keeps in its stats segment as `/acl/N/matches`.
fn print_acl_with(s: &mut String, am: &AclMain, i: u32, plugin: Option<&crate::AclPlugin>) {
    let Some(acl) = am.acls.get(i) else {
        return;
    };
    let hits = plugin.map(|p| rule_hits(p, i, acl.rules.len()));
    let _ = writeln!(
        s,
        "acl-index {i} count {} tag {{{}}}",
        acl.rules.len(),
        acl.tag
    );
    for (j, r) in acl.rules.iter().enumerate() {
        let _ = write!(s, "  {j:>4}: ");
        r.format(s);
        s.push('\n');
        if let Some(h) = &hits {
            let _ = writeln!(s, "        matches {} packets {} bytes", h[j][0], h[j][1]);
        }
    }
}

/// Matches of an ACL's rules summed over the threads: (packets, bytes) per rule.
fn rule_hits(p: &crate::AclPlugin, acl: u32, n_rules: usize) -> Vec<[u64; 2]> {
    let mut sum = vec![[0u64; 2]; n_rules];
    for t in &p.sessions.threads {
        let t = t.lock();
        if let Some(h) = t.rule_hits.get(acl as usize) {
            for (s, c) in sum.iter_mut().zip(h) {
                s[0] += c[0];
                s[1] += c[1];
            }
        }
    }
    sum
}

fn show_acl(dp: &mut Dataplane, a: &mut Args) -> R {
    let (mut only, mut counters) = (None, false);
    while !a.is_empty() {
        if a.keyword("index") {
            only = Some(acl_index(a)?);
        } else if a.keyword("counters") {
            counters = true;
        } else {
            return Err(err(format!(
                "expected `index N` or `counters`, got `{}`",
                a.next_word().unwrap_or_default()
            )));
        }
    }
    let p = plugin(dp).clone();
    let am = dp.config().get(p.main);
    if let Some(i) = only {
        if !am.acls.contains(i) {
            return Err(err(format!("no ACL with index {i}")));
        }
    }
    let mut s = String::new();
    for (i, _) in am.acls.iter() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        print_acl_with(&mut s, am, i, counters.then_some(&p));
        if (i as usize) < am.by_acl[DIR_IN].len() {
            let _ = writeln!(
                s,
                "  applied inbound on sw_if_index: {}",
                join(am.applied_on(DIR_IN, i))
            );
        }
        if (i as usize) < am.by_acl[DIR_OUT].len() {
            let _ = writeln!(
                s,
                "  applied outbound on sw_if_index: {}",
                join(am.applied_on(DIR_OUT, i))
            );
        }
    }
    Ok(s)
}

fn clear_counters(dp: &mut Dataplane, a: &mut Args) -> R {
    let only = if a.keyword("index") {
        Some(acl_index(a)?)
    } else {
        None
    };
    a.expect_end()?;
    let p = plugin(dp).clone();
    let am = dp.config().get(p.main);
    if let Some(i) = only {
        if !am.acls.contains(i) {
            return Err(err(format!("no ACL with index {i}")));
        }
    }
    for (i, acl) in am.acls.iter() {
        if only.is_none_or(|o| o == i) {
            for t in &p.sessions.threads {
                t.lock().reset_rule_hits(i, acl.rules.len());
            }
        }
    }
    Ok(String::new())
}

fn show_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut only = None;
    let mut show_acls = false;
    while let Some(w) = a.next_word() {
        match w.as_str() {
            "sw_if_index" => {
                only = Some(
                    a.u32()
                        .map_err(|e| err(format!("`sw_if_index`: {}", e.message())))?,
                )
            }
            "acl" => show_acls = true,
            _ => match dp.sw_if_index(&w) {
                Ok(sw) => only = Some(sw),
                Err(_) => {
                    return Err(err(format!(
                        "expected sw_if_index N, an interface name or `acl`, got `{w}`"
                    )))
                }
            },
        }
    }
    let am = dp.config().get(plugin(dp).main);
    let n = am.lists[DIR_IN].len().max(am.lists[DIR_OUT].len()) as u32;
    let mut s = String::new();
    for swi in 0..n {
        if only.is_some_and(|o| o != swi) {
            continue;
        }
        let _ = writeln!(s, "sw_if_index {swi}:");
        for (dir, name) in [(DIR_IN, "input"), (DIR_OUT, "output")] {
            let l = am.list(dir, swi);
            if l.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {name} acl(s): {}", join(l));
            if show_acls {
                s.push('\n');
                for &acl in l {
                    print_acl(&mut s, am, acl);
                }
                s.push('\n');
            }
        }
    }
    Ok(s)
}

fn show_tables(dp: &mut Dataplane, a: &mut Args) -> R {
    let only = if a.keyword("sw_if_index") {
        Some(
            a.u32()
                .map_err(|e| err(format!("`sw_if_index`: {}", e.message())))?,
        )
    } else {
        None
    };
    a.expect_end()?;
    let am = dp.config().get(plugin(dp).main);
    let mut s = String::new();
    for (dir, name) in [(DIR_IN, "input"), (DIR_OUT, "output")] {
        for (sw, c) in am.classifiers[dir].iter().enumerate() {
            let sw = sw as u32;
            if only.is_some_and(|o| o != sw) || am.list(dir, sw).is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "sw_if_index {sw} {name}: acl(s) {} rules {} mask types {}",
                join(am.list(dir, sw)),
                c.n_rules(),
                c.n_masks()
            );
            c.describe(&mut s, "    ");
        }
    }
    Ok(s)
}

fn show_sessions(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut detail = None;
    let mut verbose = false;
    while let Some(w) = a.next_word() {
        match w.as_str() {
            "thread" => {
                let t = a
                    .u32()
                    .map_err(|e| err(format!("`thread`: {}", e.message())))?;
                if !a.keyword("index") {
                    return Err(err("expected `index N` after `thread N`"));
                }
                let i = a
                    .u32()
                    .map_err(|e| err(format!("`index`: {}", e.message())))?;
                detail = Some((t, i));
            }
            "verbose" => verbose = true,
            _ => {
                return Err(err(format!(
                    "expected `thread N index M` or `verbose`, got `{w}`"
                )))
            }
        }
    }
    let p = plugin(dp).clone();
    let now = dp.graph.vm.clock.now_ns();
    let cfg = &p.sessions.cfg;
    let to = cfg.timeouts_ns();
    let adds = cfg.total_adds.load(Ordering::Relaxed);
    let dels = cfg.total_dels.load(Ordering::Relaxed);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Sessions total: add {adds} - del {dels} = {}",
        adds.saturating_sub(dels)
    );
    let t = |i: u8| cfg.timeouts[i as usize].load(Ordering::Relaxed);
    let _ = writeln!(
        s,
        "Session table max-entries {}, timeouts: udp idle {} s, tcp idle {} s, tcp transient {} s",
        cfg.max_entries.load(Ordering::Relaxed),
        t(TIMEOUT_UDP_IDLE),
        t(TIMEOUT_TCP_IDLE),
        t(TIMEOUT_TCP_TRANSIENT)
    );
    s.push_str("\n\nPer-thread data:\n");
    let sws: Vec<u32> = dp
        .interface_main()
        .sw
        .iter()
        .filter(|x| !x.deleted)
        .map(|x| x.sw_if_index)
        .collect();
    for (ti, table) in p.sessions.threads.iter().enumerate() {
        let st = table.lock();
        let _ = writeln!(s, "Thread #{ti}:");
        if let Some((dt, di)) = detail {
            if dt as usize == ti {
                match st.get(di) {
                    Some(x) => {
                        let _ = writeln!(s, "  session index {di}:");
                        let _ = writeln!(
                            s,
                            "    info: {:016x} {:016x} {:016x} {:016x} {:016x} {:016x}",
                            0,
                            (x.k0 >> 32) << 32,
                            0,
                            (x.k0 & 0xffff_ffff) << 32,
                            x.k1,
                            0
                        );
                        let _ = writeln!(s, "    sw_if_index: {}", x.sw_if_index);
                        let _ = writeln!(
                            s,
                            "    tcp_flags_seen: {:x}",
                            (x.tcp_flags_seen[1] as u16) << 8 | x.tcp_flags_seen[0] as u16
                        );
                        let _ = writeln!(s, "    last active time: {}", x.last_active);
                        let _ = writeln!(s, "    thread index: {ti}");
                        let _ = writeln!(s, "    link enqueue time: {}", st.enqueue_time(di));
                        let _ = writeln!(s, "    link list id: {}", x.list);
                    }
                    None => return Err(err(format!("no session {di} on thread {dt}"))),
                }
            }
        }
        s.push_str("  connection add/del stats:\n");
        for &sw in &sws {
            let ad = st.adds_by_sw.get(sw as usize).copied().unwrap_or(0);
            let de = st.dels_by_sw.get(sw as usize).copied().unwrap_or(0);
            let _ = writeln!(
                s,
                "    sw_if_index {sw}: add {ad} - del {de} = {}",
                ad.saturating_sub(de)
            );
        }
        s.push_str("  connection timeout type lists:\n");
        for l in 0..crate::session::N_TIMEOUTS {
            let h = st.list_head(l);
            let _ = writeln!(s, "  fa_conn_list_head[{l}]: {}", h as i32);
            if let Some(x) = st.get(h) {
                let _ = writeln!(s, "    last active time: {}", x.last_active);
                let _ = writeln!(s, "    link enqueue time: {}", st.enqueue_time(h));
            }
        }
        let expired = st
            .iter()
            .filter(|(_, x)| now.saturating_sub(x.last_active) >= to[x.timeout_type() as usize])
            .count();
        let _ = writeln!(s, "  Live sessions: {}", st.len());
        let _ = writeln!(s, "  Idle past timeout, not yet reclaimed: {expired}");
        let _ = writeln!(s, "  Count of deleted sessions: {}", st.cnt_deleted);
        let _ = writeln!(s, "  Session timers restarted: {}", st.cnt_restarted);
        let _ = writeln!(s, "  Sessions recycled (table full): {}", st.cnt_recycled);
        let _ = writeln!(s, "  Sessions refused (table full): {}", st.cnt_refused);
        if verbose {
            for (i, x) in st.iter() {
                let a0 = ((x.k0 >> 32) as u32).to_le_bytes();
                let a1 = (x.k0 as u32).to_le_bytes();
                let _ = writeln!(
                    s,
                    "    session {i}: sw_if_index {} proto {} {}:{} <-> {}:{} tcp flags seen in {:02x} out {:02x} timeout type {} idle {:.3} s",
                    x.sw_if_index,
                    x.proto(),
                    Ipv4Addr::from(a0),
                    x.k1 as u16,
                    Ipv4Addr::from(a1),
                    (x.k1 >> 16) as u16,
                    x.tcp_flags_seen[1],
                    x.tcp_flags_seen[0],
                    x.timeout_type(),
                    now.saturating_sub(x.last_active) as f64 / 1e9
                );
            }
        }
    }
    let max = cfg.max_entries.load(Ordering::Relaxed);
    let live = cfg.live();
    let fill = if max == 0 {
        100.0
    } else {
        live as f64 * 100.0 / max as f64
    };
    let _ = writeln!(s, "Session table in use: {live} of {max} ({fill:.1}%)");
    Ok(s)
}

fn clear_sessions(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let p = plugin(dp).clone();
    for t in &p.sessions.threads {
        t.lock().clear(&p.sessions.cfg);
    }
    Ok(String::new())
}

fn set_session_timeout(dp: &mut Dataplane, a: &mut Args) -> R {
    let which = if a.keyword("udp") {
        if !a.keyword("idle") {
            return Err(err("expected `udp idle <seconds>`"));
        }
        TIMEOUT_UDP_IDLE
    } else if a.keyword("tcp") {
        if a.keyword("idle") {
            TIMEOUT_TCP_IDLE
        } else if a.keyword("transient") {
            TIMEOUT_TCP_TRANSIENT
        } else {
            return Err(err(
                "expected `tcp idle <seconds>` or `tcp transient <seconds>`",
            ));
        }
    } else {
        return Err(err("expected `udp idle`, `tcp idle` or `tcp transient`"));
    };
    let v = a
        .u32()
        .map_err(|e| err(format!("expected a timeout in seconds: {}", e.message())))?;
    a.expect_end()?;
    plugin(dp).sessions.cfg.timeouts[which as usize].store(v, Ordering::Relaxed);
    Ok(String::new())
}

fn set_session_table(dp: &mut Dataplane, a: &mut Args) -> R {
    let p = plugin(dp).clone();
    if a.keyword("max-entries") {
        let v = a.u32().map_err(|e| {
            err(format!(
                "expected the maximum number of entries: {}",
                e.message()
            ))
        })?;
        a.expect_end()?;
        if v > 1 << 26 {
            return Err(err(format!(
                "max-entries {v} is too large (at most 67108864)"
            )));
        }
        p.sessions.cfg.max_entries.store(v, Ordering::Relaxed);
        if dp
            .config()
            .get(p.main)
            .lists
            .iter()
            .any(|l| l.iter().any(|x| !x.is_empty()))
        {
            // ACLs are in use: size the tables now rather than on the data path.
            for t in &p.sessions.threads {
                t.lock().ensure_capacity(v as usize);
            }
        }
        return Ok(String::new());
    }
    if a.keyword("first-index") {
        let v = a
            .u32()
            .map_err(|e| err(format!("expected the first session index: {}", e.message())))?;
        a.expect_end()?;
        if v > 1 << 24 {
            return Err(err(format!(
                "first index {v} is too large (at most 16777216)"
            )));
        }
        // All threads or none.
        for t in &p.sessions.threads {
            if !t.lock().is_empty() {
                return Err(err("sessions exist: `clear acl-plugin sessions` first"));
            }
        }
        for t in &p.sessions.threads {
            t.lock().reserve_indices(v).map_err(err)?;
        }
        return Ok(String::new());
    }
    Err(err("expected `max-entries <n>` or `first-index <n>`"))
}

fn parse_macip(a: &mut Args) -> Result<Parsed<MacipRule>, CliError> {
    let mut index = None;
    let mut tag = None;
    let mut rules = Vec::new();
    // (rule, seen bits, explicit mask)
    let mut cur: Option<(MacipRule, Seen, Option<[u8; 6]>)> = None;
    let mut after_comma = false;
    let fresh = || {
        (
            MacipRule {
                action: 1,
                ip: Ipv4Addr::UNSPECIFIED,
                ip_len: 0,
                mac: [0; 6],
                mac_mask: [0; 6],
            },
            Seen::default(),
            None,
        )
    };
    let finish = |(mut r, _, m): (MacipRule, Seen, Option<[u8; 6]>)| {
        if let Some(m) = m {
            r.mac_mask = m;
        }
        r
    };
    while let Some(w) = a.next_word() {
        let n = rules.len();
        match w.as_str() {
            "index" => {
                if index.is_some() {
                    return Err(err("`index` given twice"));
                }
                index = Some(acl_index(a)?);
            }
            "permit" | "deny" | "action" => {
                let action = match w.as_str() {
                    "permit" => 1,
                    "deny" => 0,
                    _ => {
                        let v = a.u8().map_err(|_| {
                            err("expected an action number after `action` (0 deny, 1 permit)")
                        })?;
                        if v > 1 {
                            return Err(err(format!(
                                "expected a MACIP action 0 (deny) or 1 (permit), got {v}"
                            )));
                        }
                        v
                    }
                };
                let c = cur.get_or_insert_with(fresh);
                c.1.set(1, "action", n)?;
                c.0.action = action;
            }
            "ip" => {
                let (addr, len) = a
                    .ip4_prefix()
                    .map_err(|e| err(format!("`ip`: {}", e.message())))?;
                let c = cur.get_or_insert_with(fresh);
                c.1.set(2, "ip", n)?;
                c.0.ip = addr;
                c.0.ip_len = len;
            }
            "src" => {}
            "mac" => {
                let m = a
                    .mac()
                    .map_err(|e| err(format!("`mac`: {}", e.message())))?;
                let c = cur.get_or_insert_with(fresh);
                c.1.set(4, "mac", n)?;
                c.0.mac = m;
                c.0.mac_mask = [0xff; 6];
            }
            "mask" => {
                let m = a
                    .mac()
                    .map_err(|e| err(format!("`mask`: {}", e.message())))?;
                let c = cur.get_or_insert_with(fresh);
                c.1.set(8, "mask", n)?;
                c.2 = Some(m);
            }
            "tag" => {
                let t = a
                    .next_word()
                    .filter(|t| t != ",")
                    .ok_or_else(|| err("expected a tag word after `tag`"))?;
                if tag.is_some() {
                    return Err(err("`tag` given twice"));
                }
                tag = Some(t);
            }
            "," => {
                match cur.take() {
                    Some(c) => rules.push(finish(c)),
                    None => return Err(err(format!("expected a rule before `,` (rule {n})"))),
                }
                after_comma = true;
                continue;
            }
            _ => {
                return Err(err(format!(
                    "expected permit|deny|action N|ip|mac|mask|tag|index|`,`, got `{w}`"
                )))
            }
        }
        after_comma = false;
    }
    if after_comma && cur.is_none() {
        return Err(err("expected a rule after the last `,`"));
    }
    if let Some(c) = cur {
        rules.push(finish(c));
    }
    if rules.is_empty() {
        return Err(err(
            "expected at least one rule: <permit|deny> ip <PREFIX> mac <MAC>",
        ));
    }
    Ok((index, rules, tag))
}

fn recompile_macip(am: &mut AclMain, acl: u32) {
    let Some(a) = am.macip_acls.get(acl).cloned() else {
        return;
    };
    for sw in 0..am.macip_by_sw.len() {
        if am.macip_by_sw[sw] == acl {
            am.macip_compiled[sw] = Some(CompiledMacip::new(acl, &a));
        }
    }
}

fn set_macip_acl(dp: &mut Dataplane, a: &mut Args) -> R {
    let (index, rules, tag) = parse_macip(a)?;
    let p = plugin(dp).clone();
    let am = dp.config_mut().edit(p.main);
    let acl = MacipAcl {
        rules,
        tag: tag.unwrap_or_else(|| "cli".into()),
    };
    let i = match index {
        Some(i) => {
            am.macip_acls.put_at(i, acl);
            i
        }
        None => am.macip_acls.put(acl),
    };
    recompile_macip(am, i);
    Ok(format!("ACL index:{i}"))
}

fn delete_macip_acl(dp: &mut Dataplane, a: &mut Args) -> R {
    if !a.keyword("index") {
        return Err(err("expected `index <idx>`"));
    }
    let i = acl_index(a)?;
    a.expect_end()?;
    let p = plugin(dp).clone();
    let am = dp.config_mut().edit(p.main);
    if !am.macip_acls.contains(i) {
        return Err(err(format!("no MACIP ACL with index {i}")));
    }
    let used: Vec<u32> = am
        .macip_by_sw
        .iter()
        .enumerate()
        .filter(|(_, &x)| x == i)
        .map(|(s, _)| s as u32)
        .collect();
    if !used.is_empty() {
        return Err(err(format!(
            "MACIP ACL {i} is in use on sw_if_index {}: remove it from the interface first",
            join(&used)
        )));
    }
    am.macip_acls.remove(i);
    Ok(format!("Deleted ACL index:{i}"))
}

fn set_macip_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    let InterfaceAcl { sw, acl, add, .. } = parse_interface_acl(dp, a, false)?;
    let p = plugin(dp).clone();
    let cur = dp
        .config()
        .get(p.main)
        .macip_by_sw
        .get(sw as usize)
        .copied()
        .unwrap_or(u32::MAX);
    if add {
        let acl = acl.ok_or_else(|| err("expected `acl <index>`"))?;
        if !dp.config().get(p.main).macip_acls.contains(acl) {
            return Err(err(format!("no MACIP ACL with index {acl}")));
        }
        if cur == u32::MAX {
            dp.feature_enable_disable("device-input", MACIP_NODE, sw, true)
                .map_err(err)?;
        }
        let am = dp.config_mut().edit(p.main);
        let n = sw as usize + 1;
        if am.macip_by_sw.len() < n {
            am.macip_by_sw.resize(n, u32::MAX);
            am.macip_compiled.resize(n, None);
        }
        am.macip_by_sw[sw as usize] = acl;
        recompile_macip(am, acl);
    } else {
        if cur == u32::MAX {
            return Err(err(format!("no MACIP ACL is applied on sw_if_index {sw}")));
        }
        if let Some(acl) = acl {
            if acl != cur {
                return Err(err(format!(
                    "MACIP ACL {acl} is not applied on sw_if_index {sw} (ACL {cur} is)"
                )));
            }
        }
        dp.feature_enable_disable("device-input", MACIP_NODE, sw, false)
            .map_err(err)?;
        let am = dp.config_mut().edit(p.main);
        am.macip_by_sw[sw as usize] = u32::MAX;
        am.macip_compiled[sw as usize] = None;
    }
    Ok(String::new())
}

fn show_macip_acl(dp: &mut Dataplane, a: &mut Args) -> R {
    let only = if a.keyword("index") {
        Some(acl_index(a)?)
    } else {
        None
    };
    a.expect_end()?;
    let am = dp.config().get(plugin(dp).main);
    if let Some(i) = only {
        if !am.macip_acls.contains(i) {
            return Err(err(format!("no MACIP ACL with index {i}")));
        }
    }
    let mut s = String::new();
    for (i, acl) in am.macip_acls.iter() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let _ = writeln!(
            s,
            "MACIP acl_index: {i}, count: {} (true len {}) tag {{{}}} is free pool slot: 0",
            acl.rules.len(),
            acl.rules.len(),
            acl.tag
        );
        for (j, r) in acl.rules.iter().enumerate() {
            let _ = write!(s, "    rule {j}: ");
            r.format(&mut s);
            s.push('\n');
        }
        let on: Vec<u32> = am
            .macip_by_sw
            .iter()
            .enumerate()
            .filter(|(_, &x)| x == i)
            .map(|(s, _)| s as u32)
            .collect();
        let _ = writeln!(s, "  applied on sw_if_index(s): {}", join(&on));
    }
    Ok(s)
}

fn show_macip_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let am = dp.config().get(plugin(dp).main);
    let mut s = String::new();
    for (i, &x) in am.macip_by_sw.iter().enumerate() {
        let _ = writeln!(s, "  sw_if_index {i}: {}", x as i32);
    }
    Ok(s)
}
