//! IPv4 CLI commands in VPP's syntax: interface addresses, routes, neighbours (ARP), and the
//! `show` commands for the FIB, adjacencies, neighbours and interface addresses.

use std::fmt::Write;
use std::net::Ipv4Addr;

use cli::{Args, CliError, Registry};
use engine::commands::interface_arg;
use engine::Dataplane;

use crate::fib::{Path, PathKind, Source};
use crate::ip4;

type R = Result<String, CliError>;

fn err(m: impl Into<String>) -> CliError {
    CliError::new(m)
}

/// Register the commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "set interface ip address",
            "set interface ip address [del] <interface> <address>/<length> [del] | del <interface> all",
            set_interface_ip_address,
        ),
        (
            "set interface unnumbered",
            "set interface unnumbered <interface> use <interface> [del]",
            set_interface_unnumbered,
        ),
        (
            "ip route",
            "ip route add|del [count <n>] <prefix>/<length> [table <table-id>] via <next-hop> [<interface>] [weight <n>] | via <interface> | drop | unreachable",
            ip_route,
        ),
        (
            "set ip neighbor",
            "set ip neighbor [del] <interface> <address> <mac> [static] [no-fib-entry]",
            set_ip_neighbor,
        ),
        (
            "set ip arp",
            "set ip arp [del] [static] [no-fib-entry] <interface> <address> <mac> [del]",
            set_ip_neighbor,
        ),
        (
            "show ip fib",
            "show ip fib [summary] [table <table-id>] [<prefix>/<length> | <address>]",
            show_ip_fib,
        ),
        ("ip table add", "ip table add <table-id>", ip_table_add),
        ("ip table del", "ip table del <table-id>", ip_table_del),
        (
            "set interface ip table",
            "set interface ip table <interface> <table-id>",
            set_interface_ip_table,
        ),
        ("show adj", "show adj [<index>]", show_adj),
        ("show ip neighbors", "show ip neighbors", show_ip_neighbors),
        ("show ip arp", "show ip arp", show_ip_neighbors),
        (
            "show interface address",
            "show interface address [<interface>]",
            show_interface_address,
        ),
    ];
    for (p, h, f) in cmds {
        reg.register(p, h, *f).expect("unique command paths");
    }
}

fn set_interface_ip_address(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut del = a.keyword("del");
    let sw = interface_arg(dp, a)?;
    if del && a.keyword("all") {
        a.expect_end()?;
        let h = ip4(dp).clone();
        // Publish what is staged first: a route or neighbour must never name an interface
        // the workers' snapshot does not have yet (the FIB is not a snapshot).
        dp.publish();
        let mut fib = h.fib.write();
        let addrs = fib.if_addrs.get(sw as usize).cloned().unwrap_or_default();
        for (ad, l) in addrs {
            fib.del_interface_address(sw, ad, l).map_err(|e| err(e.0))?;
        }
        return Ok(String::new());
    }
    let (addr, len) = a.ip4_prefix()?;
    del |= a.keyword("del");
    a.expect_end()?;
    if !del {
        check_interface_address(addr, len)?;
    }
    let h = ip4(dp).clone();
    // Publish what is staged first: a route or neighbour must never name an interface
    // the workers' snapshot does not have yet (the FIB is not a snapshot).
    dp.publish();
    let mut fib = h.fib.write();
    if del {
        fib.del_interface_address(sw, addr, len)
    } else {
        fib.add_interface_address(sw, addr, len)
    }
    .map_err(|e| err(e.0))?;
    Ok(String::new())
}

/// An address an interface can own: a host address of its prefix (not the network or the
/// broadcast address, where the prefix has them), not unspecified, multicast or broadcast.
fn check_interface_address(addr: Ipv4Addr, len: u8) -> Result<(), CliError> {
    let a = u32::from(addr);
    let what = if a == 0 {
        Some("the unspecified address")
    } else if addr.is_broadcast() {
        Some("the limited broadcast address")
    } else if addr.is_multicast() {
        Some("a multicast address")
    } else if len == 0 {
        Some("not an address of a subnet (prefix length 0)")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(err(format!(
            "{addr}/{len}: {what} cannot be an interface address; expected a unicast host address"
        )));
    }
    // /31 (RFC 3021) and /32 have no network or broadcast address.
    if len <= 30 {
        let host = !0u32 >> len;
        let net = Ipv4Addr::from(a & !host);
        if a & host == 0 {
            return Err(err(format!(
                "{addr}/{len} is the network address of {net}/{len}; expected a host address such as {}/{len}",
                Ipv4Addr::from((a & !host) | 1)
            )));
        }
        if a & host == host {
            return Err(err(format!(
                "{addr}/{len} is the broadcast address of {net}/{len}; expected a host address such as {}/{len}",
                Ipv4Addr::from((a & !host) | 1)
            )));
        }
    }
    Ok(())
}

fn set_interface_unnumbered(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    if !a.keyword("use") {
        return Err(err("expected `use <interface>`"));
    }
    let donor = interface_arg(dp, a)?;
    let del = a.keyword("del");
    a.expect_end()?;
    if sw == donor {
        return Err(err("an interface cannot be unnumbered to itself"));
    }
    let h = ip4(dp).clone();
    // Publish what is staged first: a route or neighbour must never name an interface
    // the workers' snapshot does not have yet (the FIB is not a snapshot).
    dp.publish();
    let mut fib = h.fib.write();
    if del {
        fib.unnumbered.remove(&sw);
    } else {
        fib.unnumbered.insert(sw, donor);
    }
    Ok(String::new())
}

/// Parse one `via ...` path (after the `via` keyword), or `drop` / `unreachable`.
fn parse_path(dp: &Dataplane, a: &mut Args) -> Result<Path, CliError> {
    if a.keyword("drop") {
        return Ok(Path::new(PathKind::Drop));
    }
    if a.keyword("unreachable") {
        return Ok(Path::new(PathKind::Unreachable));
    }
    let mark = a.mark();
    let kind = if let Ok(nh) = a.ip4() {
        // Optional interface: any word that names one.
        let sw = match a.peek() {
            Some(w) if dp.sw_if_index(w).is_ok() => {
                let w = a.next_word().expect("peeked");
                Some(dp.sw_if_index(&w).map_err(err)?)
            }
            _ => None,
        };
        match sw {
            Some(sw_if_index) => PathKind::AttachedNextHop { nh, sw_if_index },
            None => PathKind::Recursive { nh },
        }
    } else {
        a.rewind(mark);
        match a.next_word() {
            Some(w) => match dp.sw_if_index(&w) {
                Ok(sw_if_index) => PathKind::Attached { sw_if_index },
                Err(_) => {
                    return Err(err(format!(
                        "expected a next-hop address or interface after `via`, got `{w}`"
                    )))
                }
            },
            None => return Err(err("expected a next-hop address or interface after `via`")),
        }
    };
    let mut weight = 1;
    if a.keyword("weight") {
        weight = a.u32()?;
        if weight == 0 {
            return Err(err("weight must be at least 1"));
        }
    }
    Ok(Path { kind, weight })
}

fn ip_route(dp: &mut Dataplane, a: &mut Args) -> R {
    // `ip route X via Y` (no add/del) adds, as in VPP.
    let add = a.keyword("add") || !a.keyword("del");
    let mut count = 1u32;
    if a.keyword("count") {
        count = a.u32()?;
        if count == 0 {
            return Err(err("count must be at least 1"));
        }
        if count > MAX_ROUTE_COUNT {
            return Err(err(format!(
                "count {count} is too large (at most {MAX_ROUTE_COUNT} routes per command)"
            )));
        }
    }
    let mut table = table_arg(dp, a)?;
    let (addr, len) = a.ip4_prefix()?;
    if let Some(t) = table_arg(dp, a)? {
        table = Some(t);
    }
    let fib_index = table.unwrap_or(0);
    let mut paths = Vec::new();
    while !a.is_empty() {
        if a.keyword("via") || a.peek() == Some("drop") || a.peek() == Some("unreachable") {
            paths.push(parse_path(dp, a)?);
        } else {
            return Err(a.unknown());
        }
    }
    if add && paths.is_empty() {
        return Err(err(
            "expected `via <next-hop> [<interface>]`, `via <interface>` or `drop`",
        ));
    }
    let step: u64 = if len == 0 {
        0
    } else {
        1u64 << (32 - len as u32)
    };
    let base = u32::from(addr) as u64;
    if base + step * (count as u64 - 1) > u32::MAX as u64 {
        return Err(err(format!(
            "count {count} from {addr}/{len} runs past 255.255.255.255"
        )));
    }
    let h = ip4(dp).clone();
    // In slices, with the FIB unlocked in between, so that forwarding goes on (and SIGTERM is
    // heard) while a million routes go in.
    let mut i = 0u64;
    while i < count as u64 {
        let end = (i + ROUTE_SLICE).min(count as u64);
        {
            // Publish what is staged first: a route or neighbour must never name an interface
            // the workers' snapshot does not have yet (the FIB is not a snapshot).
            dp.publish();
            let mut fib = h.fib.write();
            for k in i..end {
                let p = Ipv4Addr::from((base + step * k) as u32);
                let r = if add {
                    paths.iter().try_for_each(|path| {
                        fib.add_path(fib_index, p, len, Source::Cli, *path)
                            .map(|_| ())
                    })
                } else if paths.is_empty() {
                    fib.del_source(fib_index, p, len, Source::Cli)
                } else {
                    paths.iter().try_for_each(|path| {
                        fib.del_path(fib_index, p, len, Source::Cli, path.kind)
                    })
                };
                r.map_err(|e| {
                    err(if k == 0 {
                        e.0
                    } else {
                        format!("{} (after {k} of {count} routes)", e.0)
                    })
                })?;
            }
        }
        i = end;
        if i < count as u64 && !dp.yield_now() {
            return Err(err(format!(
                "stopped after {i} of {count} routes: the process is shutting down"
            )));
        }
    }
    Ok(String::new())
}

/// `table N` (VPP's table id) if it comes next: the table's fib index, or an error naming a
/// table that was never added.
fn table_arg(dp: &Dataplane, a: &mut Args) -> Result<Option<u32>, CliError> {
    if !a.keyword("table") {
        return Ok(None);
    }
    let id = a.u32()?;
    ip4(dp).fib.read().fib_index(id).map(Some).ok_or_else(|| {
        err(format!(
            "table {id} does not exist; create it with `ip table add {id}`"
        ))
    })
}

fn ip_table_add(dp: &mut Dataplane, a: &mut Args) -> R {
    let id = a.u32()?;
    a.expect_end()?;
    if id == u32::MAX {
        return Err(err(format!(
            "table id {id} is reserved; use 0-{}",
            u32::MAX - 1
        )));
    }
    dp.publish();
    ip4(dp).clone().fib.write().create_table(id);
    Ok(String::new())
}

fn ip_table_del(dp: &mut Dataplane, a: &mut Args) -> R {
    let id = a.u32()?;
    a.expect_end()?;
    ip4(dp)
        .clone()
        .fib
        .write()
        .delete_table(id)
        .map_err(|e| err(e.0))?;
    Ok(String::new())
}

fn set_interface_ip_table(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    let id = a.u32()?;
    a.expect_end()?;
    let h = ip4(dp).clone();
    // Publish what is staged first: a route or neighbour must never name an interface
    // the workers' snapshot does not have yet (the FIB is not a snapshot).
    dp.publish();
    let mut fib = h.fib.write();
    let index = fib.fib_index(id).ok_or_else(|| {
        err(format!(
            "table {id} does not exist; create it with `ip table add {id}`"
        ))
    })?;
    fib.set_interface_table(sw, index).map_err(|e| err(e.0))?;
    Ok(String::new())
}

/// Largest `count` of `ip route add|del count N`.
pub const MAX_ROUTE_COUNT: u32 = 1 << 22;

/// Routes changed between two chances for the graph to run.
const ROUTE_SLICE: u64 = 4096;

fn set_ip_neighbor(dp: &mut Dataplane, a: &mut Args) -> R {
    let (mut del, mut is_static, mut fib_entry) = (false, false, true);
    let mut words = (None, None, None);
    while !a.is_empty() {
        if a.keyword("del") {
            del = true;
        } else if a.keyword("static") {
            is_static = true;
        } else if a.keyword("no-fib-entry") {
            fib_entry = false;
        } else if words.0.is_none() {
            words.0 = Some(interface_arg(dp, a)?);
        } else if words.1.is_none() {
            words.1 = Some(a.ip4()?);
        } else if words.2.is_none() {
            words.2 = Some(a.mac()?);
        } else {
            return Err(a.unknown());
        }
    }
    let sw = words
        .0
        .ok_or_else(|| err("expected <interface> <address> <mac>"))?;
    let ip = words
        .1
        .ok_or_else(|| err("expected <interface> <address> <mac>"))?;
    let h = ip4(dp).clone();
    let now = dp.graph.vm.clock.now_ns();
    // Publish what is staged first: a route or neighbour must never name an interface
    // the workers' snapshot does not have yet (the FIB is not a snapshot).
    dp.publish();
    let mut fib = h.fib.write();
    if del {
        fib.del_neighbor(sw, ip).map_err(|e| err(e.0))?;
        return Ok(String::new());
    }
    let mac = words
        .2
        .ok_or_else(|| err("expected <interface> <address> <mac>"))?;
    fib.add_neighbor(sw, ip, mac, is_static, fib_entry, now)
        .map_err(|e| err(e.0))?;
    Ok(String::new())
}

fn show_ip_fib(dp: &mut Dataplane, a: &mut Args) -> R {
    if a.keyword("summary") {
        a.expect_end()?;
        let h = ip4(dp).clone();
        let fib = h.fib.read();
        let im = dp.interface_main();
        let mut s = String::new();
        for t in (0..fib.n_tables()).filter(|&t| fib.is_live_table(t)) {
            let table = fib.format_table(t, Some((Ipv4Addr::UNSPECIFIED, 0)), &|sw| im.name(sw));
            if !s.is_empty() {
                s.push('\n');
            }
            // The table's header line, then entries per prefix length (VPP's layout).
            s.push_str(table.lines().next().unwrap_or(""));
            use engine::commands::center;
            let _ = write!(
                s,
                "\n{}{}",
                center("Prefix length", 20),
                center("Count", 16)
            );
            for (len, n) in fib.prefix_length_counts(t) {
                let _ = write!(s, "\n{len:>20}{n:>16}");
            }
        }
        return Ok(s);
    }
    let table = table_arg(dp, a)?;
    let mut only = None;
    if !a.is_empty() {
        let mark = a.mark();
        only = Some(match a.ip4_prefix() {
            Ok(p) => p,
            Err(_) => {
                a.rewind(mark);
                (a.ip4()?, 32)
            }
        });
    }
    a.expect_end()?;
    let h = ip4(dp).clone();
    let im = dp.interface_main();
    let fib = h.fib.read();
    // Every table (VPP's order: by fib index), or the one asked for.
    let tables: Vec<u32> = match table {
        Some(t) => vec![t],
        None => (0..fib.n_tables())
            .filter(|&t| fib.is_live_table(t))
            .collect(),
    };
    let out: Vec<String> = tables
        .into_iter()
        .map(|t| fib.format_table(t, only, &|sw| im.name(sw)))
        .collect();
    Ok(out.join("\n"))
}

fn show_adj(dp: &mut Dataplane, a: &mut Args) -> R {
    let only = if a.is_empty() { None } else { Some(a.u32()?) };
    a.expect_end()?;
    let h = ip4(dp).clone();
    let im = dp.interface_main();
    let fib = h.fib.read();
    let mut s = String::new();
    for i in 0..fib.n_adjs() as u32 {
        if only.is_some_and(|o| o != i) || fib.adj(i).is_none() {
            continue;
        }
        if !s.is_empty() {
            s.push('\n');
        }
        let _ = write!(s, "[@{i}] {}", fib.format_adj(i, &|sw| im.name(sw)));
    }
    if let Some(o) = only {
        if s.is_empty() {
            return Err(err(format!("adjacency {o} does not exist")));
        }
    }
    Ok(s)
}

fn show_ip_neighbors(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let h = ip4(dp).clone();
    let im = dp.interface_main();
    let fib = h.fib.read();
    use engine::commands::center;
    let mut s = format!(
        "{}{}{}{}{}",
        center("Time", 12),
        center("IP4", 16),
        center("Flags", 6),
        center("Ethernet", 20),
        center("Interface", 24)
    );
    for ((sw, ip), n) in &fib.neighbors {
        let mut flags = String::from(if n.is_static { "S" } else { "D" });
        if !n.fib_entry {
            flags.push('N');
        }
        let _ = write!(
            s,
            "\n{}{}{}{}{}",
            // VPP prints when the entry was last updated, in seconds since start.
            center(&format!("{:.4}", n.updated_ns as f64 / 1e9), 12),
            center(&ip.to_string(), 16),
            center(&flags, 6),
            center(&engine::interface::format_mac(&n.mac), 20),
            im.name(*sw)
        );
    }
    Ok(s)
}

fn show_interface_address(dp: &mut Dataplane, a: &mut Args) -> R {
    let only = if a.is_empty() {
        None
    } else {
        Some(interface_arg(dp, a)?)
    };
    a.expect_end()?;
    let h = ip4(dp).clone();
    let im = dp.interface_main();
    let fib = h.fib.read();
    let mut s = String::new();
    for si in im.sw.iter().filter(|s| !s.deleted) {
        if only.is_some_and(|o| o != si.sw_if_index) {
            continue;
        }
        if !s.is_empty() {
            s.push('\n');
        }
        let _ = write!(
            s,
            "{} ({}):",
            si.name,
            if si.admin_up { "up" } else { "dn" }
        );
        if let Some(d) = fib.unnumbered.get(&si.sw_if_index) {
            let _ = write!(s, "\n  unnumbered, use {}", im.name(*d));
        }
        for (ad, l) in fib
            .if_addrs
            .get(si.sw_if_index as usize)
            .into_iter()
            .flatten()
        {
            let _ = write!(s, "\n  L3 {ad}/{l}");
        }
    }
    Ok(s)
}
