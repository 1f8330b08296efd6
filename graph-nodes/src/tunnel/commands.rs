//! Tunnel commands: `create vxlan tunnel`, `create geneve tunnel`, `show vxlan tunnel`,
//! `show geneve tunnel`, in VPP's syntax and layout.

use std::net::Ipv4Addr;
use std::sync::Arc;

use cli::{Args, CliError, Registry};
use engine::interface::DeviceClass;
use engine::{Backing, Dataplane};

use crate::ip4;
use crate::tunnel::{decap_key, decap_next, rewrite, tunnels, Kind, Tunnel};

type R = Result<String, CliError>;

fn err(m: impl Into<String>) -> CliError {
    CliError::new(m)
}

/// Register the commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "create vxlan tunnel",
            "create vxlan tunnel src <local-vtep-addr> dst <remote-vtep-addr> vni <nn> [instance <id>] [encap-vrf-id <nn>] [decap-next [l2|drop|node <name>]] [del]",
            create_vxlan,
        ),
        (
            "create geneve tunnel",
            "create geneve tunnel local <local-vtep-addr> remote <remote-vtep-addr> vni <nn> [encap-vrf-id <nn>] [decap-next [l2|drop|node <name>]] [l3-mode] [del]",
            create_geneve,
        ),
        ("show vxlan tunnel", "show vxlan tunnel", show_vxlan),
        ("show geneve tunnel", "show geneve tunnel", show_geneve),
    ];
    for (p, h, f) in cmds {
        reg.register(p, h, *f).expect("unique command paths");
    }
}

struct Request {
    local: Option<Ipv4Addr>,
    remote: Option<Ipv4Addr>,
    vni: Option<u32>,
    instance: Option<u32>,
    encap_vrf: u32,
    decap: Option<String>,
    l3_mode: bool,
    del: bool,
}

fn parse(a: &mut Args, kind: Kind) -> Result<Request, CliError> {
    let (lw, rw) = match kind {
        Kind::Vxlan => ("src", "dst"),
        Kind::Geneve => ("local", "remote"),
    };
    let mut r = Request {
        local: None,
        remote: None,
        vni: None,
        instance: None,
        encap_vrf: 0,
        decap: None,
        l3_mode: false,
        del: false,
    };
    while !a.is_empty() {
        if a.keyword(lw) {
            r.local = Some(a.ip4()?);
        } else if a.keyword(rw) {
            r.remote = Some(a.ip4()?);
        } else if a.keyword("vni") {
            let v = a.u32()?;
            if v >= 1 << 24 {
                return Err(err(format!(
                    "vni {v} out of range: a VNI has 24 bits (0..16777215)"
                )));
            }
            r.vni = Some(v);
        } else if kind == Kind::Vxlan && a.keyword("instance") {
            r.instance = Some(a.u32()?);
        } else if a.keyword("encap-vrf-id") {
            r.encap_vrf = a.u32()?;
        } else if a.keyword("decap-next") {
            if a.keyword("node") {
                r.decap = Some(
                    a.next_word()
                        .ok_or_else(|| err("expected a node name after `decap-next node`"))?,
                );
            } else if a.keyword("l2") {
                r.decap = Some("l2-input".into());
            } else if a.keyword("drop") {
                r.decap = Some("error-drop".into());
            } else {
                return Err(err("decap-next takes `l2`, `drop` or `node <name>`"));
            }
        } else if kind == Kind::Geneve && a.keyword("l3-mode") {
            r.l3_mode = true;
        } else if a.keyword("del") {
            r.del = true;
        } else if kind == Kind::Vxlan && a.keyword("group") {
            return Err(err(
                "multicast VXLAN (`group`) is not supported; give a unicast `dst`",
            ));
        } else {
            return Err(a.unknown());
        }
    }
    Ok(r)
}

fn create_vxlan(dp: &mut Dataplane, a: &mut Args) -> R {
    let r = parse(a, Kind::Vxlan)?;
    add_del(dp, Kind::Vxlan, r)
}

fn create_geneve(dp: &mut Dataplane, a: &mut Args) -> R {
    let r = parse(a, Kind::Geneve)?;
    add_del(dp, Kind::Geneve, r)
}

fn is_unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.octets()[0] >= 240)
}

fn add_del(dp: &mut Dataplane, kind: Kind, r: Request) -> R {
    let (lw, rw) = match kind {
        Kind::Vxlan => ("src", "dst"),
        Kind::Geneve => ("local", "remote"),
    };
    let local = r
        .local
        .ok_or_else(|| err(format!("tunnel {lw} address not specified")))?;
    let remote = r
        .remote
        .ok_or_else(|| err(format!("tunnel {rw} address not specified")))?;
    let vni = r.vni.ok_or_else(|| err("vni not specified"))?;
    if local == remote {
        return Err(err(format!("{lw} and {rw} addresses are identical")));
    }
    for (w, x) in [(lw, local), (rw, remote)] {
        if !is_unicast(x) {
            return Err(err(format!("{w} address {x} is not a unicast address")));
        }
    }
    let h = ip4(dp).clone();
    let fib_index = h
        .fib
        .read()
        .fib_index(r.encap_vrf)
        .ok_or_else(|| err(format!("encap-vrf-id {} does not exist", r.encap_vrf)))?;
    let tm = tunnels(dp).clone();
    let cur = tm.cfg.load_full();
    let key = decap_key(kind, u32::from(remote), vni);
    if r.del {
        let i = *cur
            .by_key
            .get(&key)
            .ok_or_else(|| err("tunnel does not exist"))?;
        let t = cur.get(kind, i).expect("indexed tunnel").clone();
        let mut c = (*cur).clone();
        c.pools[kind.idx()][i as usize] = None;
        c.free[kind.idx()].push(i);
        c.by_key.remove(&key);
        if let Some(s) = c.by_sw.get_mut(t.sw_if_index as usize) {
            *s = None;
        }
        let tk = (t.encap_fib_index, t.remote);
        let left = c.tracked.get(&tk).copied().unwrap_or(1) - 1;
        if left == 0 {
            c.tracked.remove(&tk);
        } else {
            c.tracked.insert(tk, left);
        }
        tm.cfg.store(Arc::new(c));
        if left == 0 {
            h.fib.write().untrack(t.encap_fib_index, t.remote);
        }
        dp.delete_interface(t.sw_if_index).map_err(err)?;
        return Ok(String::new());
    }
    if cur.by_key.contains_key(&key) {
        return Err(err(format!(
            "a {} tunnel from {remote} with vni {vni} already exists",
            kind.trace_name().to_lowercase()
        )));
    }
    let index = cur.next_index(kind);
    let instance = r.instance.unwrap_or(index);
    let name = format!("{}{instance}", kind.prefix());
    if dp.interface_main().by_name(&name).is_some() {
        return Err(err(format!(
            "instance {instance} is in use ({name} exists)"
        )));
    }
    let input = dp
        .graph
        .node_index(kind.input_node())
        .expect("tunnel input node registered");
    let decap = match (&r.decap, r.l3_mode) {
        (None, true) => decap_next::IP4_INPUT,
        (None, false) => decap_next::L2_INPUT,
        (Some(n), _) => {
            if !dp.graph.has_node(n) {
                return Err(err(format!("decap-next node `{n}` does not exist")));
            }
            dp.graph.add_next_by_name(input, n)
        }
    };
    let encap = dp
        .graph
        .node_index(kind.encap_node())
        .expect("tunnel encap node registered");
    // L3-mode Geneve is an Ethernet interface with VPP's generated MAC.
    let mac = if r.l3_mode {
        [0xd0, 0x0b, 0xee, 0xd0, (index >> 8) as u8, index as u8]
    } else {
        [0; 6]
    };
    let class = match kind {
        Kind::Vxlan => DeviceClass::Vxlan,
        Kind::Geneve => DeviceClass::Geneve,
    };
    let (fib_entry_index, encap_lb) = h
        .fib
        .write()
        .track(fib_index, remote)
        .map_err(|e| err(e.0))?;
    let sw = match dp.create_interface_backed(
        &name,
        class,
        mac,
        instance,
        Backing::Tunnel { output_node: encap },
    ) {
        Ok(sw) => sw,
        Err(e) => {
            if !cur.tracked.contains_key(&(fib_index, remote)) {
                h.fib.write().untrack(fib_index, remote);
            }
            return Err(err(e));
        }
    };
    {
        let im = dp.interface_main_mut();
        im.sw[sw as usize].admin_up = true;
    }
    let t = Tunnel {
        kind,
        index,
        instance,
        local,
        remote,
        vni,
        sw_if_index: sw,
        encap_fib_index: fib_index,
        encap_vrf_id: r.encap_vrf,
        fib_entry_index,
        encap_lb,
        decap_next: decap,
        l3_mode: r.l3_mode,
        rewrite: rewrite(kind, local, remote, vni, r.l3_mode),
    };
    let mut c = (*tm.cfg.load_full()).clone();
    let pool = &mut c.pools[kind.idx()];
    if c.free[kind.idx()].last() == Some(&index) {
        c.free[kind.idx()].pop();
        pool[index as usize] = Some(t);
    } else {
        pool.push(Some(t));
    }
    c.by_key.insert(key, index);
    if c.by_sw.len() <= sw as usize {
        c.by_sw.resize(sw as usize + 1, None);
    }
    c.by_sw[sw as usize] = Some((kind, index));
    *c.tracked.entry((fib_index, remote)).or_insert(0) += 1;
    tm.cfg.store(Arc::new(c));
    // The decap node listens on the tunnel port from the first tunnel on.
    let udp = dp
        .graph
        .node_index("ip4-udp-lookup")
        .expect("ip4-udp-lookup registered");
    let slot = dp.graph.add_next(udp, input);
    {
        let mut ports = h.udp_ports.write();
        let p = kind.port() as usize;
        if ports.next_by_port.len() <= p {
            ports.next_by_port.resize(p + 1, u16::MAX);
        }
        ports.next_by_port[p] = slot;
    }
    Ok(name)
}

fn decap_name(n: u16) -> String {
    match n {
        decap_next::DROP => "drop".into(),
        decap_next::L2_INPUT => "l2".into(),
        _ => format!("index {n}"),
    }
}

fn show_vxlan(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let c = tunnels(dp).cfg.load_full();
    let mut lines = Vec::new();
    for t in c.tunnels(Kind::Vxlan) {
        // VPP 18.01's format ends in a newline, so vlib_cli_output adds none: one line each.
        lines.push(format!(
            "[{}] src {} dst {} vni {} sw_if_index {} encap_fib_index {} fib_entry_index {} decap_next {}",
            t.index,
            t.local,
            t.remote,
            t.vni,
            t.sw_if_index,
            t.encap_fib_index,
            t.fib_entry_index,
            decap_name(t.decap_next)
        ));
    }
    if lines.is_empty() {
        return Ok("No vxlan tunnels configured...".into());
    }
    Ok(lines.join("\n"))
}

fn show_geneve(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let c = tunnels(dp).cfg.load_full();
    let mut lines = Vec::new();
    for t in c.tunnels(Kind::Geneve) {
        lines.push(format!(
            "[{}] lcl {} rmt {} vni {} fib-idx {} sw-if-idx {} encap-dpo-idx {} decap-next-{} l3-mode {} ",
            t.index,
            t.local,
            t.remote,
            t.vni,
            t.encap_fib_index,
            t.sw_if_index,
            t.encap_lb,
            if t.l3_mode && t.decap_next == decap_next::IP4_INPUT {
                "ip4".to_string()
            } else {
                decap_name(t.decap_next)
            },
            t.l3_mode as u8
        ));
    }
    if lines.is_empty() {
        return Ok("No geneve tunnels configured...".into());
    }
    Ok(lines.join("\n"))
}
