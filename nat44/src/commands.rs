//! NAT44 CLI commands in VPP's forms, and the `show` commands.
//!
//! Configuration:
//! - `nat44 plugin enable [sessions <n>]` / `nat44 plugin disable` (the plugin also works without
//!   `enable`, with a limit of 10240 sessions per thread);
//! - `nat44 add address <a>[-<b>] | <a> - <b> [tenant-vrf <id>] [twice-nat] [del]`;
//! - `nat44 add interface address <if> [twice-nat] [del]`;
//! - `nat44 add static mapping tcp|udp|icmp local <a> [<p>] external <a>|<if> [<p>] [vrf <id>]
//!   [twice-nat|self-twice-nat] [out2in-only] [del]` (without a protocol and ports: 1:1);
//! - `nat44 add load-balancing static mapping protocol tcp|udp external <a>:<p>
//!   local <a>:<p> probability <n> [local ...] [vrf <id>] [twice-nat|self-twice-nat] [out2in-only]
//!   [affinity <seconds>] [del]` (one local is accepted);
//! - `nat44 add identity mapping <a>|[external] <if> [tcp|udp|icmp <p>] [vrf <id>] [del]`;
//! - `nat44 forwarding enable|disable`;
//! - `set interface nat44 in <if> out <if> [output-feature] [del]`;
//! - `set nat timeout [udp <s>] [tcp-established <s>] [tcp-transitory <s>] [icmp <s>] | reset`;
//! - `set nat44 session limit <n> [vrf <id>]` (one limit per thread, whatever the VRF);
//! - `set nat44 random-seed <n>`: seed of the port and load-balancing generators (replays are
//!   reproducible; the default seed is fixed);
//! - `nat addr-port-assignment-alg port-range <lo> - <hi> | default`: dynamic port range
//!   (default 1025-65535);
//! - `clear nat44 sessions`.
//!
//! Show: `show nat44 sessions [detail]`, `show nat44 static mappings`, `show nat44 addresses`,
//! `show nat44 interfaces`, `show nat44 interface address`, `show nat timeouts`,
//! `show nat44 summary` (counts, memory, bytes per session).

use std::fmt::Write;
use std::net::Ipv4Addr;

use cli::{Args, CliError, Registry};
use engine::commands::interface_arg;
use engine::Dataplane;

use crate::config::{
    set_cumulative, LbLocal, NatInterface, PendingMapping, PoolAddress, SmKey, StaticMapping,
    TwiceNat,
};
use crate::nat;
use crate::nodes::names;
use crate::session::{flags, proto, proto_index, Affinity, PoolKind, PortPool, Timeouts};

type R = Result<String, CliError>;

fn err(m: impl Into<String>) -> CliError {
    CliError::new(m)
}

/// Register the commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "nat44 plugin enable",
            "nat44 plugin enable [sessions <max-number>]",
            plugin_enable,
        ),
        ("nat44 plugin disable", "nat44 plugin disable", plugin_disable),
        (
            "nat44 add address",
            "nat44 add address <ip4-range-start> [- <ip4-range-end>] [tenant-vrf <vrf-id>] [twice-nat] [del]",
            add_address,
        ),
        (
            "nat44 add interface address",
            "nat44 add interface address <interface> [twice-nat] [del]",
            add_interface_address,
        ),
        (
            "nat44 add static mapping",
            "nat44 add static mapping tcp|udp|icmp local <addr> [<port>] external <addr>|<interface> [<port>] [vrf <table-id>] [twice-nat|self-twice-nat] [out2in-only] [del]",
            add_static_mapping,
        ),
        (
            "nat44 add load-balancing static mapping",
            "nat44 add load-balancing static mapping protocol tcp|udp external <addr>:<port> local <addr>:<port> probability <n> [local ...] [vrf <table-id>] [twice-nat|self-twice-nat] [out2in-only] [affinity <seconds>] [del]",
            add_lb_static_mapping,
        ),
        (
            "nat44 add load-balancing back-end",
            "nat44 add load-balancing back-end protocol tcp|udp external <addr>:<port> local <addr>:<port> [vrf <table-id>] probability <n> [del]",
            add_lb_backend,
        ),
        (
            "nat44 add identity mapping",
            "nat44 add identity mapping <addr>|[external] <interface> [tcp|udp|icmp <port>] [vrf <table-id>] [del]",
            add_identity_mapping,
        ),
        ("nat44 forwarding", "nat44 forwarding enable|disable", forwarding),
        (
            "set interface nat44",
            "set interface nat44 in <intfc> out <intfc> [output-feature] [del]",
            set_interface_nat44,
        ),
        (
            "set nat timeout",
            "set nat timeout [udp <sec>] [tcp-established <sec>] [tcp-transitory <sec>] [icmp <sec>] | reset",
            set_timeout,
        ),
        (
            "set nat44 session limit",
            "set nat44 session limit <limit> [vrf <table-id>]",
            set_session_limit,
        ),
        (
            "set nat44 random-seed",
            "set nat44 random-seed <n>",
            set_random_seed,
        ),
        (
            "nat addr-port-assignment-alg",
            "nat addr-port-assignment-alg port-range <start-port> - <end-port> | default",
            port_alg,
        ),
        ("clear nat44 sessions", "clear nat44 sessions", clear_sessions),
        (
            "show nat44 sessions",
            "show nat44 sessions [detail]",
            show_sessions,
        ),
        (
            "show nat44 static mappings",
            "show nat44 static mappings",
            show_static_mappings,
        ),
        ("show nat44 addresses", "show nat44 addresses", show_addresses),
        ("show nat44 interfaces", "show nat44 interfaces", show_interfaces),
        (
            "show nat44 interface address",
            "show nat44 interface address",
            show_interface_address,
        ),
        ("show nat timeouts", "show nat timeouts", show_timeouts),
        ("show nat44 summary", "show nat44 summary", show_summary),
    ];
    for (p, h, f) in cmds {
        reg.register(p, h, *f).expect("unique command paths");
    }
}

fn protocol_word(w: &str) -> Option<u8> {
    match w {
        "tcp" => Some(proto::TCP),
        "udp" => Some(proto::UDP),
        "icmp" => Some(proto::ICMP),
        _ => None,
    }
}

fn proto_name(p: u8) -> &'static str {
    match p {
        proto::TCP => "tcp",
        proto::UDP => "udp",
        proto::ICMP => "icmp",
        _ => "unknown",
    }
}

fn fib_of_vrf(dp: &Dataplane, vrf: u32) -> Result<u32, CliError> {
    let h = graph_nodes::ip4(dp);
    let f = h.fib.read().fib_index(vrf);
    f.ok_or_else(|| err("No such VRF id."))
}

/// First address of an interface.
fn if_addr(dp: &Dataplane, sw: u32) -> Option<Ipv4Addr> {
    graph_nodes::ip4(dp).fib.read().interface_address(sw)
}

/// Bring interface-derived configuration up to date: pool addresses of `nat44 add interface
/// address` and mappings with `external <if>` whose interface now has an address.
fn resolve_interfaces(dp: &mut Dataplane) {
    let h = nat(dp).clone();
    let (auto, pending) = {
        let c = dp.config().get(h.sh.cfg);
        (c.auto_add.clone(), c.pending.len())
    };
    for (sw, twice) in auto {
        if let Some(a) = if_addr(dp, sw) {
            let exists = {
                let c = dp.config().get(h.sh.cfg);
                let list = if twice {
                    &c.twice_nat_addresses
                } else {
                    &c.addresses
                };
                list.iter().any(|x| x.addr == a)
            };
            if !exists {
                add_pool_address(dp, a, None, twice, Some(sw));
            }
        }
    }
    if pending > 0 {
        let list = std::mem::take(&mut dp.config_mut().edit(h.sh.cfg).pending);
        let mut keep = Vec::new();
        for mut p in list {
            match if_addr(dp, p.sw_if_index) {
                Some(a) => {
                    p.mapping.external = a;
                    if p.mapping.identity {
                        p.mapping.local = a;
                    }
                    let _ = insert_mapping(dp, p.mapping);
                }
                None => keep.push(p),
            }
        }
        dp.config_mut().edit(h.sh.cfg).pending.extend(keep);
    }
}

fn add_pool_address(
    dp: &mut Dataplane,
    a: Ipv4Addr,
    vrf: Option<u32>,
    twice: bool,
    from: Option<u32>,
) {
    let tenant_fib = vrf.and_then(|v| graph_nodes::ip4(dp).fib.read().fib_index(v));
    let h = nat(dp).clone();
    let c = dp.config_mut().edit(h.sh.cfg);
    let mut db = h.sh.db.lock();
    let list = if twice {
        &mut c.twice_nat_addresses
    } else {
        &mut c.addresses
    };
    if list.iter().any(|x| x.addr == a) {
        return;
    }
    list.push(PoolAddress {
        addr: a,
        vrf_id: vrf,
        from_interface: from,
    });
    let mut pp = PortPool::new(u32::from(a));
    pp.tenant_fib = tenant_fib;
    if !twice {
        // Ports of static mappings on this address are taken.
        for m in c.static_mappings.iter().flatten() {
            if m.external == a && !m.addr_only() && !m.out2in_only {
                if let Some(pi) = proto_index(m.proto) {
                    pp.reserve(pi, m.external_port);
                }
            }
        }
    }
    db.add_address(
        if twice {
            PoolKind::TwiceNat
        } else {
            PoolKind::Nat
        },
        pp,
    );
}

fn del_pool_address(dp: &mut Dataplane, a: Ipv4Addr, twice: bool) -> Result<(), CliError> {
    let h = nat(dp).clone();
    let c = dp.config_mut().edit(h.sh.cfg);
    let mut db = h.sh.db.lock();
    let list = if twice {
        &mut c.twice_nat_addresses
    } else {
        &mut c.addresses
    };
    let Some(pos) = list.iter().position(|x| x.addr == a) else {
        return Err(err("NAT address not exist."));
    };
    list.remove(pos);
    let av = u32::from(a);
    // Sessions using the address go with it.
    if twice {
        db.delete_where(|s| s.flags & flags::TWICE_PORT != 0 && s.i2o.r_addr == av);
        db.twice_addresses.retain(|p| p.addr != av);
    } else {
        db.delete_where(|s| s.flags & flags::DYNAMIC != 0 && s.o2i.l_addr == av);
        db.addresses.retain(|p| p.addr != av);
    }
    Ok(())
}

fn plugin_enable(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut sessions = None;
    while !a.is_empty() {
        if a.keyword("sessions") {
            sessions = Some(a.u32()?);
        } else {
            return Err(a.unknown());
        }
    }
    let h = nat(dp).clone();
    let c = dp.config_mut().edit(h.sh.cfg);
    c.enabled = true;
    if let Some(n) = sessions {
        c.session_limit = n;
        h.sh.db.lock().set_limit(n, dp.graph.vm.now_ns);
    }
    Ok(String::new())
}

fn plugin_disable(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let h = nat(dp).clone();
    if !dp.config().get(h.sh.cfg).interfaces.is_empty() {
        return Err(err("NAT44 is enabled on interfaces; remove them first"));
    }
    let c = dp.config_mut().edit(h.sh.cfg);
    *c = crate::config::Config::default();
    *h.sh.db.lock() = crate::session::SessionDb::new(c.session_limit, c.seed);
    Ok(String::new())
}

fn add_address(dp: &mut Dataplane, a: &mut Args) -> R {
    resolve_interfaces(dp);
    let (mut lo, mut hi) = (None, None);
    let mut vrf = None;
    let (mut twice, mut del) = (false, false);
    while !a.is_empty() {
        if a.keyword("tenant-vrf") {
            vrf = Some(a.u32()?);
        } else if a.keyword("twice-nat") {
            twice = true;
        } else if a.keyword("del") {
            del = true;
        } else if a.keyword("-") {
            hi = Some(a.ip4()?);
        } else if lo.is_none() {
            let (x, y) = a.ip4_range()?;
            lo = Some(x);
            if x != y {
                hi = Some(y);
            }
        } else {
            return Err(a.unknown());
        }
    }
    let lo = lo.ok_or_else(|| err("expected an address"))?;
    let hi = hi.unwrap_or(lo);
    if u32::from(hi) < u32::from(lo) {
        return Err(err("end address less than start address"));
    }
    if let Some(v) = vrf {
        fib_of_vrf(dp, v)?;
    }
    if u32::from(hi) - u32::from(lo) >= 4096 {
        return Err(err("at most 4096 addresses per command"));
    }
    for x in u32::from(lo)..=u32::from(hi) {
        let ad = Ipv4Addr::from(x);
        if del {
            del_pool_address(dp, ad, twice)?;
        } else {
            add_pool_address(dp, ad, vrf, twice, None);
        }
    }
    Ok(String::new())
}

fn add_interface_address(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    let (mut twice, mut del) = (false, false);
    while !a.is_empty() {
        if a.keyword("twice-nat") {
            twice = true;
        } else if a.keyword("del") {
            del = true;
        } else {
            return Err(a.unknown());
        }
    }
    let h = nat(dp).clone();
    if del {
        dp.config_mut()
            .edit(h.sh.cfg)
            .auto_add
            .retain(|&x| x != (sw, twice));
        let addrs: Vec<Ipv4Addr> = {
            let c = dp.config().get(h.sh.cfg);
            let list = if twice {
                &c.twice_nat_addresses
            } else {
                &c.addresses
            };
            list.iter()
                .filter(|p| p.from_interface == Some(sw))
                .map(|p| p.addr)
                .collect()
        };
        for ad in addrs {
            del_pool_address(dp, ad, twice)?;
        }
        return Ok(String::new());
    }
    {
        let c = dp.config_mut().edit(h.sh.cfg);
        if !c.auto_add.contains(&(sw, twice)) {
            c.auto_add.push((sw, twice));
        }
    }
    resolve_interfaces(dp);
    Ok(String::new())
}

/// Add a mapping: checks, port reservation on pool addresses, tables, sessions it supersedes.
fn insert_mapping(dp: &mut Dataplane, m: StaticMapping) -> Result<(), CliError> {
    let h = nat(dp).clone();
    let c = dp.config_mut().edit(h.sh.cfg);
    let mut db = h.sh.db.lock();
    let ek = c.external_key(&m);
    if c.by_external.contains_key(&ek) {
        return Err(err("Mapping already exist."));
    }
    if !m.addr_only() && !m.out2in_only {
        if let Some(pi) = proto_index(m.proto) {
            let ext = u32::from(m.external);
            if let Some(p) = db.addresses.iter_mut().find(|p| p.addr == ext) {
                if !p.reserve(pi, m.external_port) {
                    return Err(err("External port already in use."));
                }
            }
        }
    }
    if m.affinity > 0 && db.affinity.is_none() {
        let cap = db.limit() as usize;
        db.affinity = Some(Affinity::new(cap));
    }
    // Dynamic sessions of the local host (and port) give way to the mapping.
    if !m.is_lb() {
        let (l, lp, addr_only, pr) = (u32::from(m.local), m.local_port, m.addr_only(), m.proto);
        db.delete_where(|s| {
            s.flags & flags::DYNAMIC != 0
                && s.i2o.l_addr == l
                && (addr_only || (s.i2o.l_port == lp && s.proto == pr))
        });
    }
    c.insert_mapping(m);
    Ok(())
}

/// Delete the mapping with external key `ek`, its reserved port and its sessions.
fn remove_mapping(dp: &mut Dataplane, ek: SmKey) -> Result<(), CliError> {
    let h = nat(dp).clone();
    let Some(&i) = dp.config().get(h.sh.cfg).by_external.get(&ek) else {
        return Err(err("Mapping not exist."));
    };
    let m = dp
        .config_mut()
        .edit(h.sh.cfg)
        .remove_mapping(i)
        .ok_or_else(|| err("Mapping not exist."))?;
    let ext = u32::from(m.external);
    // The sessions go once no thread translates with the old snapshot any more: a worker still
    // on it could open a session a purge now would miss (a stale translation after the swap).
    let db = h.sh.db.clone();
    dp.after_publish(move |_| {
        let mut db = db.lock();
        if !m.addr_only() && !m.out2in_only {
            if let Some(pi) = proto_index(m.proto) {
                if let Some(p) = db.addresses.iter_mut().find(|p| p.addr == ext) {
                    p.release(pi, m.external_port);
                }
            }
        }
        let (ep, pr, addr_only) = (m.external_port, m.proto, m.addr_only());
        db.delete_where(|s| {
            s.flags & flags::STATIC != 0
                && s.o2i.l_addr == ext
                && (addr_only || (s.o2i.l_port == ep && s.proto == pr))
        });
        if let Some(a) = db.affinity.as_mut() {
            a.forget_mapping(i);
        }
    });
    Ok(())
}

/// Parse `vrf <id>` into (vrf id, fib index); default VRF 0.
fn vrf_arg(dp: &Dataplane, vrf: Option<u32>) -> Result<(u32, u32), CliError> {
    match vrf {
        Some(v) => Ok((v, fib_of_vrf(dp, v)?)),
        None => {
            let c = dp.config().get(nat(dp).sh.cfg);
            Ok((0, c.inside_fib))
        }
    }
}

fn add_static_mapping(dp: &mut Dataplane, a: &mut Args) -> R {
    resolve_interfaces(dp);
    let mut local: Option<(Ipv4Addr, Option<u16>)> = None;
    let mut ext_addr: Option<Ipv4Addr> = None;
    let mut ext_if: Option<u32> = None;
    let mut ext_port: Option<u16> = None;
    let mut pr: Option<u8> = None;
    let mut vrf = None;
    let mut twice = TwiceNat::Disabled;
    let (mut out2in_only, mut del) = (false, false);
    while !a.is_empty() {
        if a.keyword("local") {
            let ad = a.ip4()?;
            let p = a.opt_port()?;
            local = Some((ad, p));
        } else if a.keyword("external") {
            if let Ok(ad) = a.ip4() {
                ext_addr = Some(ad);
            } else {
                ext_if = Some(interface_arg(dp, a)?);
            }
            ext_port = a.opt_port()?;
        } else if a.keyword("vrf") {
            vrf = Some(a.u32()?);
        } else if a.keyword("twice-nat") {
            twice = TwiceNat::Twice;
        } else if a.keyword("self-twice-nat") {
            twice = TwiceNat::SelfTwice;
        } else if a.keyword("out2in-only") {
            out2in_only = true;
        } else if a.keyword("del") {
            del = true;
        } else if let Some(p) = a.peek().and_then(protocol_word) {
            a.next_word();
            pr = Some(p);
        } else {
            return Err(a.unknown());
        }
    }
    let (l_addr, l_port) = local.ok_or_else(|| err("local address required"))?;
    let addr_only = l_port.is_none() && ext_port.is_none();
    if !addr_only && (l_port.is_none() || ext_port.is_none()) {
        return Err(err(
            "local and external ports are both required for 1:1 NAPT",
        ));
    }
    if twice != TwiceNat::Disabled && addr_only {
        return Err(err("twice NAT only for 1:1 NAPT"));
    }
    let pr = match (addr_only, pr) {
        (true, _) => 0,
        (false, Some(p)) => p,
        (false, None) => return Err(err("missing protocol")),
    };
    let (vrf_id, fib) = vrf_arg(dp, vrf)?;
    let mut m = StaticMapping {
        external: ext_addr.unwrap_or(Ipv4Addr::UNSPECIFIED),
        external_port: ext_port.unwrap_or(0),
        external_if: ext_if,
        proto: pr,
        local: l_addr,
        local_port: l_port.unwrap_or(0),
        locals: Vec::new(),
        twice_nat: twice,
        out2in_only,
        identity: false,
        vrf_id,
        fib,
        affinity: 0,
    };
    mapping_add_del(dp, &mut m, del)
}

/// Add or delete a (non-LB) mapping, resolving `external <if>`.
fn mapping_add_del(dp: &mut Dataplane, m: &mut StaticMapping, del: bool) -> R {
    if let Some(sw) = m.external_if {
        match if_addr(dp, sw) {
            Some(ad) => {
                m.external = ad;
                if m.identity {
                    m.local = ad;
                }
            }
            None => {
                let h = nat(dp).clone();
                let c = dp.config_mut().edit(h.sh.cfg);
                if del {
                    c.pending.retain(|p| {
                        !(p.sw_if_index == sw
                            && p.mapping.external_port == m.external_port
                            && p.mapping.proto == m.proto)
                    });
                } else {
                    c.pending.push(PendingMapping {
                        mapping: m.clone(),
                        sw_if_index: sw,
                    });
                }
                return Ok(String::new());
            }
        }
    }
    if del {
        let ek = dp.config().get(nat(dp).sh.cfg).external_key(m);
        remove_mapping(dp, ek)?;
    } else {
        insert_mapping(dp, m.clone())?;
    }
    Ok(String::new())
}

fn add_lb_static_mapping(dp: &mut Dataplane, a: &mut Args) -> R {
    resolve_interfaces(dp);
    let mut locals = Vec::new();
    let mut ext: Option<(Ipv4Addr, u16)> = None;
    let mut pr = None;
    let mut vrf = None;
    let mut twice = TwiceNat::Disabled;
    let (mut out2in_only, mut del) = (false, false);
    let mut affinity = 0;
    while !a.is_empty() {
        if a.keyword("local") {
            let (ad, port) = a.ip4_port()?;
            if !a.keyword("probability") {
                return Err(err("expected `probability <n>` after the local"));
            }
            let p = a.u8()?;
            locals.push(LbLocal {
                addr: ad,
                port,
                probability: p,
                cumulative: 0,
            });
        } else if a.keyword("external") {
            ext = Some(a.ip4_port()?);
        } else if a.keyword("protocol") {
            let w = a.next_word().unwrap_or_default();
            pr = Some(protocol_word(&w).ok_or_else(|| err(format!("unknown protocol `{w}`")))?);
        } else if a.keyword("vrf") {
            vrf = Some(a.u32()?);
        } else if a.keyword("twice-nat") {
            twice = TwiceNat::Twice;
        } else if a.keyword("self-twice-nat") {
            twice = TwiceNat::SelfTwice;
        } else if a.keyword("out2in-only") {
            out2in_only = true;
        } else if a.keyword("affinity") {
            affinity = a.u32()?;
        } else if a.keyword("del") {
            del = true;
        } else {
            return Err(a.unknown());
        }
    }
    let pr = pr.ok_or_else(|| err("missing protocol"))?;
    let (e, ep) = ext.ok_or_else(|| err("missing external address:port"))?;
    if !del && locals.is_empty() {
        return Err(err("at least one local must be set"));
    }
    if !del && locals.iter().all(|l| l.probability == 0) {
        return Err(err("probabilities must not all be 0"));
    }
    set_cumulative(&mut locals);
    let (vrf_id, fib) = vrf_arg(dp, vrf)?;
    let m = StaticMapping {
        external: e,
        external_port: ep,
        external_if: None,
        proto: pr,
        local: Ipv4Addr::UNSPECIFIED,
        local_port: 0,
        locals,
        twice_nat: twice,
        out2in_only,
        identity: false,
        vrf_id,
        fib,
        affinity,
    };
    if del {
        let ek = dp.config().get(nat(dp).sh.cfg).external_key(&m);
        remove_mapping(dp, ek)?;
    } else {
        insert_mapping(dp, m)?;
    }
    Ok(String::new())
}

/// `nat44 add load-balancing back-end`: add an endpoint to a load-balancing mapping, or remove
/// one with its sessions (TCP and UDP: a client retrying to a deleted pod is balanced again at
/// once). Unlike VPP, which keeps at least two, a mapping may go down to one endpoint; the last
/// one goes with the mapping itself.
fn add_lb_backend(dp: &mut Dataplane, a: &mut Args) -> R {
    let (mut ext, mut local, mut pr, mut prob, mut vrf, mut del) =
        (None, None, None, None, None, false);
    while !a.is_empty() {
        if a.keyword("local") {
            local = Some(a.ip4_port()?);
            if a.keyword("vrf") {
                vrf = Some(a.u32()?);
            }
            if a.keyword("probability") {
                prob = Some(a.u8()?);
            }
        } else if a.keyword("external") {
            ext = Some(a.ip4_port()?);
        } else if a.keyword("protocol") {
            let w = a.next_word().unwrap_or_default();
            pr = Some(protocol_word(&w).ok_or_else(|| err(format!("unknown protocol `{w}`")))?);
        } else if a.keyword("vrf") {
            vrf = Some(a.u32()?);
        } else if a.keyword("probability") {
            prob = Some(a.u8()?);
        } else if a.keyword("del") {
            del = true;
        } else {
            return Err(a.unknown());
        }
    }
    let (Some((e, ep)), Some((l, lp))) = (ext, local) else {
        return Err(err("local or external must be set"));
    };
    let pr = pr.ok_or_else(|| err("missing protocol"))?;
    let prob = match (prob, del) {
        (Some(0), false) => return Err(err("probability must be 1 to 100")),
        (Some(p), _) => p,
        (None, true) => 0,
        (None, false) => return Err(err("expected `probability <n>`")),
    };
    // The back-end is in the mapping's table (the VRF must exist).
    vrf_arg(dp, vrf)?;
    let h = nat(dp).clone();
    let c = dp.config_mut().edit(h.sh.cfg);
    let ek = SmKey {
        addr: u32::from(e),
        port: ep,
        proto: pr,
        fib: c.outside_fib,
    };
    let Some(&i) = c.by_external.get(&ek) else {
        return Err(err("Mapping or back-end not exist."));
    };
    let mut m = c
        .mapping(i)
        .cloned()
        .ok_or_else(|| err("Mapping or back-end not exist."))?;
    if !m.is_lb() {
        return Err(err("External is not load-balancing static mapping."));
    }
    let pos = m.locals.iter().position(|x| x.addr == l && x.port == lp);
    let key = SmKey {
        addr: u32::from(l),
        port: lp,
        proto: pr,
        fib: m.fib,
    };
    if !del {
        if pos.is_some() {
            return Err(err("Back-end already exist."));
        }
        m.locals.push(LbLocal {
            addr: l,
            port: lp,
            probability: prob,
            cumulative: 0,
        });
        set_cumulative(&mut m.locals);
        if !m.out2in_only {
            c.by_local.entry(key).or_insert(i);
        }
        c.static_mappings[i as usize] = Some(m);
        return Ok(String::new());
    }
    let Some(pos) = pos else {
        return Err(err("Mapping or back-end not exist."));
    };
    if m.locals.len() == 1 {
        return Err(err(
            "the last back-end goes with the mapping: nat44 add load-balancing static mapping ... del",
        ));
    }
    m.locals.remove(pos);
    set_cumulative(&mut m.locals);
    if c.by_local.get(&key) == Some(&i) {
        c.by_local.remove(&key);
    }
    c.static_mappings[i as usize] = Some(m);
    let mut db = h.sh.db.lock();
    let (la, ext) = (u32::from(l), u32::from(e));
    db.delete_where(|s| {
        s.flags & flags::LB != 0
            && s.i2o.l_addr == la
            && s.i2o.l_port == lp
            && s.proto == pr
            && s.o2i.l_addr == ext
    });
    // Affinity remembers endpoints by position: start afresh for this mapping.
    if let Some(aff) = db.affinity.as_mut() {
        aff.forget_mapping(i);
    }
    Ok(String::new())
}

fn add_identity_mapping(dp: &mut Dataplane, a: &mut Args) -> R {
    resolve_interfaces(dp);
    let mut addr = None;
    let mut sw = None;
    let mut pp: Option<(u8, u16)> = None;
    let mut vrf = None;
    let mut del = false;
    while !a.is_empty() {
        if a.keyword("external") {
            sw = Some(interface_arg(dp, a)?);
        } else if a.keyword("vrf") {
            vrf = Some(a.u32()?);
        } else if a.keyword("del") {
            del = true;
        } else if let Some(p) = a.peek().and_then(protocol_word) {
            a.next_word();
            pp = Some((p, a.port()?));
        } else if addr.is_none() && sw.is_none() {
            if let Ok(ad) = a.ip4() {
                addr = Some(ad);
            } else {
                sw = Some(interface_arg(dp, a)?);
            }
        } else {
            return Err(a.unknown());
        }
    }
    if addr.is_none() && sw.is_none() {
        return Err(err("expected an address or an interface"));
    }
    let (vrf_id, fib) = vrf_arg(dp, vrf)?;
    let ad = addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let (pr, port) = pp.unwrap_or((0, 0));
    let mut m = StaticMapping {
        external: ad,
        external_port: port,
        external_if: sw,
        proto: pr,
        local: ad,
        local_port: port,
        locals: Vec::new(),
        twice_nat: TwiceNat::Disabled,
        out2in_only: false,
        identity: true,
        vrf_id,
        fib,
        affinity: 0,
    };
    mapping_add_del(dp, &mut m, del)
}

fn forwarding(dp: &mut Dataplane, a: &mut Args) -> R {
    let on = if a.keyword("enable") {
        true
    } else if a.keyword("disable") {
        false
    } else {
        return Err(err("'enable' or 'disable' expected"));
    };
    a.expect_end()?;
    let t = nat(dp).sh.cfg;
    dp.config_mut().edit(t).forwarding = on;
    Ok(String::new())
}

/// Enable or disable a feature, with the error text VPP prints.
fn feature(dp: &mut Dataplane, arc: &str, node: &str, sw: u32, on: bool) -> Result<(), CliError> {
    dp.feature_enable_disable(arc, node, sw, on).map_err(err)
}

/// VPP's `snat_interface_add_del` / `snat_interface_add_del_output_feature`.
fn interface_role(
    dp: &mut Dataplane,
    sw: u32,
    inside: bool,
    output: bool,
    del: bool,
) -> Result<(), CliError> {
    let h = nat(dp).clone();
    let name = dp
        .interface_main()
        .sw(sw)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let fail = || {
        err(format!(
            "{} {} failed",
            if del { "del" } else { "add" },
            name
        ))
    };
    let existing = dp.config().get(h.sh.cfg).interface(sw).copied();
    if output {
        if existing.is_some_and(|e| !e.output_feature) {
            return Err(fail());
        }
        if del {
            let Some(mut e) = existing else {
                return Err(fail());
            };
            if inside {
                e.inside = false;
            } else {
                if !e.outside {
                    return Err(fail());
                }
                e.outside = false;
                feature(dp, "ip4-unicast", names::OUT2IN, sw, false)?;
                feature(dp, "ip4-output", names::IN2OUT_OUTPUT, sw, false)?;
            }
            let c = dp.config_mut().edit(h.sh.cfg);
            c.interfaces.retain(|i| i.sw_if_index != sw);
            if e.inside || e.outside {
                c.interfaces.push(e);
            }
            return Ok(());
        }
        let mut e = existing.unwrap_or(NatInterface {
            sw_if_index: sw,
            output_feature: true,
            ..Default::default()
        });
        if inside {
            e.inside = true;
        } else if !e.outside {
            e.outside = true;
            feature(dp, "ip4-unicast", names::OUT2IN, sw, true)?;
            feature(dp, "ip4-output", names::IN2OUT_OUTPUT, sw, true)?;
        }
        let c = dp.config_mut().edit(h.sh.cfg);
        c.interfaces.retain(|i| i.sw_if_index != sw);
        c.interfaces.push(e);
        return Ok(());
    }
    if existing.is_some_and(|e| e.output_feature) {
        return Err(fail());
    }
    let role_node = |inside: bool| if inside { names::IN2OUT } else { names::OUT2IN };
    match (existing, del) {
        (None, true) => Err(fail()),
        (None, false) => {
            feature(dp, "ip4-unicast", role_node(inside), sw, true)?;
            dp.config_mut()
                .edit(h.sh.cfg)
                .interfaces
                .push(NatInterface {
                    sw_if_index: sw,
                    inside,
                    outside: !inside,
                    output_feature: false,
                });
            Ok(())
        }
        (Some(e), false) => {
            if (inside && e.inside) || (!inside && e.outside) {
                return Ok(());
            }
            // Becomes in+out: the other role's node gives way to nat44-classify.
            feature(dp, "ip4-unicast", role_node(!inside), sw, false)?;
            feature(dp, "ip4-unicast", names::CLASSIFY, sw, true)?;
            let c = dp.config_mut().edit(h.sh.cfg);
            if let Some(i) = c.interfaces.iter_mut().find(|i| i.sw_if_index == sw) {
                i.inside = true;
                i.outside = true;
            }
            Ok(())
        }
        (Some(e), true) => {
            if (inside && !e.inside) || (!inside && !e.outside) {
                return Err(fail());
            }
            if e.inside && e.outside {
                feature(dp, "ip4-unicast", names::CLASSIFY, sw, false)?;
                feature(dp, "ip4-unicast", role_node(!inside), sw, true)?;
                let c = dp.config_mut().edit(h.sh.cfg);
                if let Some(i) = c.interfaces.iter_mut().find(|i| i.sw_if_index == sw) {
                    if inside {
                        i.inside = false;
                    } else {
                        i.outside = false;
                    }
                }
            } else {
                feature(dp, "ip4-unicast", role_node(inside), sw, false)?;
                let c = dp.config_mut().edit(h.sh.cfg);
                c.interfaces.retain(|i| i.sw_if_index != sw);
            }
            Ok(())
        }
    }
}

/// An interface is being deleted: its NAT roles, the pool addresses it gave
/// (`nat44 add interface address`) and the static mappings waiting for its address go with it.
pub(crate) fn interface_deleted(dp: &mut Dataplane, sw: u32) {
    let h = nat(dp).clone();
    let role = dp.config().get(h.sh.cfg).interface(sw).copied();
    if let Some(e) = role {
        if e.inside && e.outside && !e.output_feature {
            let _ = interface_role(dp, sw, true, false, true);
            let _ = interface_role(dp, sw, false, false, true);
        } else {
            if e.outside {
                let _ = interface_role(dp, sw, false, e.output_feature, true);
            }
            if e.inside {
                let _ = interface_role(dp, sw, true, e.output_feature, true);
            }
        }
        dp.config_mut()
            .edit(h.sh.cfg)
            .interfaces
            .retain(|i| i.sw_if_index != sw);
    }
    for twice in [false, true] {
        let addrs: Vec<Ipv4Addr> = {
            let c = dp.config_mut().edit(h.sh.cfg);
            c.auto_add.retain(|&x| x != (sw, twice));
            let list = if twice {
                &c.twice_nat_addresses
            } else {
                &c.addresses
            };
            list.iter()
                .filter(|p| p.from_interface == Some(sw))
                .map(|p| p.addr)
                .collect()
        };
        for ad in addrs {
            let _ = del_pool_address(dp, ad, twice);
        }
    }
    dp.config_mut()
        .edit(h.sh.cfg)
        .pending
        .retain(|p| p.sw_if_index != sw);
}

fn set_interface_nat44(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut ins = Vec::new();
    let mut outs = Vec::new();
    let (mut output, mut del) = (false, false);
    while !a.is_empty() {
        if a.keyword("in") {
            ins.push(interface_arg(dp, a)?);
        } else if a.keyword("out") {
            outs.push(interface_arg(dp, a)?);
        } else if a.keyword("output-feature") {
            output = true;
        } else if a.keyword("del") {
            del = true;
        } else {
            return Err(a.unknown());
        }
    }
    if ins.is_empty() && outs.is_empty() {
        return Err(err("expected `in <interface>` or `out <interface>`"));
    }
    for sw in ins {
        interface_role(dp, sw, true, output, del)?;
    }
    for sw in outs {
        interface_role(dp, sw, false, output, del)?;
    }
    Ok(String::new())
}

fn set_timeout(dp: &mut Dataplane, a: &mut Args) -> R {
    let h = nat(dp).clone();
    let mut t = dp.config().get(h.sh.cfg).timeouts;
    if a.keyword("reset") {
        a.expect_end()?;
        t = Timeouts::default();
    } else {
        if a.is_empty() {
            return Err(err(
                "expected udp|tcp-established|tcp-transitory|icmp <sec> or reset",
            ));
        }
        while !a.is_empty() {
            if a.keyword("udp") {
                t.udp = a.u32()?;
            } else if a.keyword("tcp-established") {
                t.tcp_established = a.u32()?;
            } else if a.keyword("tcp-transitory") {
                t.tcp_transitory = a.u32()?;
            } else if a.keyword("icmp") {
                t.icmp = a.u32()?;
            } else {
                return Err(a.unknown());
            }
        }
    }
    dp.config_mut().edit(h.sh.cfg).timeouts = t;
    h.sh.db.lock().set_timeouts(&t);
    Ok(String::new())
}

fn set_session_limit(dp: &mut Dataplane, a: &mut Args) -> R {
    let n = a.u32()?;
    if a.keyword("vrf") {
        a.u32()?;
    }
    a.expect_end()?;
    let h = nat(dp).clone();
    dp.config_mut().edit(h.sh.cfg).session_limit = n;
    h.sh.db.lock().set_limit(n, dp.graph.vm.now_ns);
    Ok(String::new())
}

fn set_random_seed(dp: &mut Dataplane, a: &mut Args) -> R {
    let n = a.u64()?;
    a.expect_end()?;
    let h = nat(dp).clone();
    dp.config_mut().edit(h.sh.cfg).seed = n;
    h.sh.db.lock().reseed(n);
    Ok(String::new())
}

fn port_alg(dp: &mut Dataplane, a: &mut Args) -> R {
    let h = nat(dp).clone();
    if a.keyword("default") {
        a.expect_end()?;
        h.sh.db.lock().set_port_range(
            crate::session::DEFAULT_PORT_LO,
            crate::session::DEFAULT_PORT_HI,
        );
        return Ok(String::new());
    }
    if !a.keyword("port-range") {
        return Err(a.unknown());
    }
    let (lo, hi) = if a.peek().is_some_and(|w| w.contains('-')) {
        a.range_u16()?
    } else {
        let lo = a.port()?;
        if !a.keyword("-") {
            return Err(err("expected `<start-port> - <end-port>`"));
        }
        (lo, a.port()?)
    };
    a.expect_end()?;
    if lo == 0 || hi < lo {
        return Err(err("invalid port range"));
    }
    h.sh.db.lock().set_port_range(lo, hi);
    Ok(String::new())
}

fn clear_sessions(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    nat(dp).sh.db.lock().clear();
    Ok(String::new())
}

fn ip(x: u32) -> Ipv4Addr {
    Ipv4Addr::from(x)
}

fn show_sessions(dp: &mut Dataplane, a: &mut Args) -> R {
    let detail = a.keyword("detail");
    a.expect_end()?;
    let h = nat(dp).clone();
    let db = h.sh.db.lock();
    let now = dp.graph.vm.clock.now_ns();
    let mut s = String::from("NAT44 sessions:\n");
    // Group by inside host ("user"), in order of first appearance.
    let mut users: Vec<(u32, u16, Vec<u32>)> = Vec::new();
    for (i, x) in db.iter() {
        match users
            .iter_mut()
            .find(|u| u.0 == x.i2o.l_addr && u.1 == x.in_fib)
        {
            Some(u) => u.2.push(i),
            None => users.push((x.i2o.l_addr, x.in_fib, vec![i])),
        }
    }
    let _ = writeln!(
        s,
        "-------- thread 0 vpp_main: {} sessions --------",
        db.len()
    );
    for (addr, _, list) in &users {
        let n_static = list.iter().filter(|&&i| db.get(i).is_static()).count();
        let _ = writeln!(
            s,
            "  {}: {} dynamic translations, {} static translations",
            ip(*addr),
            list.len() - n_static,
            n_static
        );
        if !detail {
            continue;
        }
        for &i in list {
            let x = db.get(i);
            let pn = proto_name(x.proto);
            let _ = writeln!(
                s,
                "    i2o {} proto {} port {} fib {}",
                ip(x.i2o.l_addr),
                pn,
                x.i2o.l_port,
                x.in_fib
            );
            let _ = writeln!(
                s,
                "    o2i {} proto {} port {} fib {}",
                ip(x.o2i.l_addr),
                pn,
                x.o2i.l_port,
                x.out_fib
            );
            if x.flags & flags::TWICE_NAT != 0 {
                let _ = writeln!(
                    s,
                    "       external host o2i {}:{} i2o {}:{}",
                    ip(x.o2i.r_addr),
                    x.o2i.r_port,
                    ip(x.i2o.r_addr),
                    x.i2o.r_port
                );
            } else {
                let _ = writeln!(
                    s,
                    "       external host {}:{}",
                    ip(x.o2i.r_addr),
                    x.o2i.r_port
                );
            }
            let _ = writeln!(s, "       index {}", i);
            let _ = writeln!(s, "       last heard {:.2}", x.last_heard as f64 / 1e9);
            let left = (x.last_heard + db.timeouts_ns()[x.class as usize & 3]).saturating_sub(now);
            let _ = writeln!(s, "       expires in {:.2}", left as f64 / 1e9);
            let _ = writeln!(s, "       total pkts {}", x.pkts);
            if x.proto == proto::TCP {
                let _ = writeln!(s, "       tcp state {}", x.tcp_state_name());
            }
            if x.is_static() {
                s.push_str("       static translation\n");
            } else {
                s.push_str("       dynamic translation\n");
            }
            if x.flags & flags::BYPASS != 0 {
                s.push_str("       forwarding-bypass\n");
            }
            if x.flags & flags::LB != 0 {
                s.push_str("       load-balancing\n");
            }
            if x.flags & flags::TWICE_NAT != 0 {
                s.push_str("       twice-nat\n");
            }
        }
    }
    Ok(s)
}

fn format_mapping(s: &mut String, m: &StaticMapping) {
    let tw = m.twice_nat.word();
    let o2i = if m.out2in_only { "out2in-only" } else { "" };
    if m.identity {
        if m.addr_only() {
            let _ = write!(s, "identity mapping {} vrf {}", m.local, m.vrf_id);
        } else {
            let _ = write!(
                s,
                "identity mapping {} {} {} vrf {}",
                proto_name(m.proto),
                m.local,
                m.local_port,
                m.vrf_id
            );
        }
    } else if m.addr_only() {
        let _ = write!(
            s,
            "local {} external {} vrf {} {} {}",
            m.local, m.external, m.vrf_id, tw, o2i
        );
    } else if m.is_lb() {
        let _ = write!(
            s,
            "{} vrf {} external {}:{} {} {}",
            proto_name(m.proto),
            m.vrf_id,
            m.external,
            m.external_port,
            tw,
            o2i
        );
        if m.affinity > 0 {
            let _ = write!(s, " affinity {}", m.affinity);
        }
        for l in &m.locals {
            let _ = write!(
                s,
                "\n  local {}:{} probability {}%",
                l.addr, l.port, l.probability
            );
        }
    } else {
        let _ = write!(
            s,
            "{} local {}:{} external {}:{} vrf {} {} {}",
            proto_name(m.proto),
            m.local,
            m.local_port,
            m.external,
            m.external_port,
            m.vrf_id,
            tw,
            o2i
        );
    }
}

fn show_static_mappings(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    resolve_interfaces(dp);
    let h = nat(dp).clone();
    let c = dp.config().get(h.sh.cfg);
    let mut s = String::from("NAT44 static mappings:\n");
    for m in c.static_mappings.iter().flatten() {
        s.push(' ');
        format_mapping(&mut s, m);
        s.push('\n');
    }
    for p in &c.pending {
        let name = dp
            .interface_main()
            .sw(p.sw_if_index)
            .map(|x| x.name.clone())
            .unwrap_or_default();
        let m = &p.mapping;
        if m.addr_only() {
            let _ = writeln!(s, " local {} external {} vrf {}", m.local, name, m.vrf_id);
        } else {
            let _ = writeln!(
                s,
                " {} local {}:{} external {}:{} vrf {}",
                proto_name(m.proto),
                m.local,
                m.local_port,
                name,
                m.external_port,
                m.vrf_id
            );
        }
    }
    Ok(s)
}

fn show_addresses(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    resolve_interfaces(dp);
    let h = nat(dp).clone();
    let c = dp.config().get(h.sh.cfg);
    let db = h.sh.db.lock();
    let mut s = String::new();
    for (title, list, pools) in [
        ("NAT44 pool addresses:", &c.addresses, &db.addresses),
        (
            "NAT44 twice-nat pool addresses:",
            &c.twice_nat_addresses,
            &db.twice_addresses,
        ),
    ] {
        let _ = writeln!(s, "{title}");
        for p in list {
            let _ = writeln!(s, "{}", p.addr);
            match p.vrf_id {
                Some(v) => {
                    let _ = writeln!(s, "  tenant VRF: {v}");
                }
                None => s.push_str("  tenant VRF independent\n"),
            }
            let busy = pools
                .iter()
                .find(|x| x.addr == u32::from(p.addr))
                .map(|x| x.busy)
                .unwrap_or_default();
            for (i, n) in ["udp", "tcp", "icmp"].iter().enumerate() {
                let _ = writeln!(s, "  {} busy {} ports", busy[i], n);
            }
        }
    }
    Ok(s)
}

fn show_interfaces(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let h = nat(dp).clone();
    let c = dp.config().get(h.sh.cfg);
    let im = dp.interface_main();
    let mut s = String::from("NAT44 interfaces:\n");
    let role = |i: &NatInterface| match (i.inside, i.outside) {
        (true, true) => "in out",
        (true, false) => "in",
        _ => "out",
    };
    for i in c.interfaces.iter().filter(|i| !i.output_feature) {
        let _ = writeln!(s, " {} {}", im.name(i.sw_if_index), role(i));
    }
    for i in c.interfaces.iter().filter(|i| i.output_feature) {
        let _ = writeln!(s, " {} output-feature {}", im.name(i.sw_if_index), role(i));
    }
    Ok(s)
}

fn show_interface_address(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let h = nat(dp).clone();
    let c = dp.config().get(h.sh.cfg);
    let im = dp.interface_main();
    let mut s = String::from("NAT44 pool address interfaces:\n");
    for (sw, _) in c.auto_add.iter().filter(|x| !x.1) {
        let _ = writeln!(s, " {}", im.name(*sw));
    }
    s.push_str("NAT44 twice-nat pool address interfaces:\n");
    for (sw, _) in c.auto_add.iter().filter(|x| x.1) {
        let _ = writeln!(s, " {}", im.name(*sw));
    }
    Ok(s)
}

fn show_timeouts(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let t = dp.config().get(nat(dp).sh.cfg).timeouts;
    Ok(format!(
        "udp timeout: {}sec\ntcp-established timeout: {}sec\ntcp-transitory timeout: {}sec\nicmp timeout: {}sec\n",
        t.udp, t.tcp_established, t.tcp_transitory, t.icmp
    ))
}

fn show_summary(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let h = nat(dp).clone();
    let c = dp.config().get(h.sh.cfg);
    let db = h.sh.db.lock();
    let k = db.class_counts();
    let ct = db.counters;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "max translations per thread: {}\nforwarding: {}\nstatic mappings: {}",
        db.limit(),
        if c.forwarding { "enabled" } else { "disabled" },
        c.n_mappings()
    );
    let fill = if db.limit() == 0 {
        100.0
    } else {
        db.len() as f64 * 100.0 / db.limit() as f64
    };
    let _ = writeln!(
        s,
        "total sessions: {} ({fill:.1}% of the limit)\n  udp: {}\n  tcp established: {}\n  tcp transitory: {}\n  icmp: {}",
        db.len(),
        k[0],
        k[1],
        k[2],
        k[3]
    );
    let _ = writeln!(
        s,
        "created {} expired {} recycled {} deleted {}",
        ct.created, ct.expired, ct.recycled, ct.deleted
    );
    let _ = writeln!(
        s,
        "memory: {} bytes ({:.1} bytes per session of the limit)",
        db.memory_bytes(),
        db.bytes_per_session()
    );
    Ok(s)
}
