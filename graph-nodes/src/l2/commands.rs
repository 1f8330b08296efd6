//! L2 commands in VPP 18.01's syntax and output layout: bridge domains, interface L2/L3 mode, the
//! L2 FIB, ARP termination entries, and their `show` commands.

use std::fmt::Write;

use cli::{Args, CliError, Registry};
use engine::buffer::INVALID_INDEX;
use engine::commands::{center, interface_arg};
use engine::interface::{format_mac, DeviceClass};
use engine::loopback::{LoopbackTx, LOOPBACK_TX_NEXT};
use engine::Dataplane;

use crate::format::format_vpp_float_e;
use crate::l2::fib::{key, key_parts, L2Result, FLAG_AGE_NOT, FLAG_BVI, FLAG_FILTER, FLAG_STATIC};
use crate::l2::{feat, l2, minutes, out_feat, BridgeDomain, L2Config, L2Mode, Member};

type R = Result<String, CliError>;

fn err(m: impl Into<String>) -> CliError {
    CliError::new(m)
}

/// Largest bridge-domain id (VPP's `L2_BD_ID_MAX`).
pub const BD_ID_MAX: u32 = (1 << 24) - 1;

/// Register the commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "create bridge-domain",
            "create bridge-domain <bd-id> [learn <0|1>] [forward <0|1>] [uu-flood <0|1>] [flood <0|1>] [arp-term <0|1>] [mac-age <nn>] [bd-tag <tag>] [del]",
            create_bridge_domain,
        ),
        (
            "set interface l2 bridge",
            "set interface l2 bridge <interface> <bridge-domain-id> [bvi] [shg <n>]",
            set_interface_l2_bridge,
        ),
        (
            "set interface l3",
            "set interface l3 <interface>",
            set_interface_l3,
        ),
        (
            "set bridge-domain arp entry",
            "set bridge-domain arp entry <bridge-domain-id> <ip-addr> <mac-addr> [del]",
            set_bd_arp_entry,
        ),
        (
            "set bridge-domain mac-age",
            "set bridge-domain mac-age <bridge-domain-id> <mins>",
            set_bd_mac_age,
        ),
        (
            "set bridge-domain learn",
            "set bridge-domain learn <bridge-domain-id> [disable]",
            set_bd_learn,
        ),
        (
            "set bridge-domain forward",
            "set bridge-domain forward <bridge-domain-id> [disable]",
            set_bd_forward,
        ),
        (
            "set bridge-domain flood",
            "set bridge-domain flood <bridge-domain-id> [disable]",
            set_bd_flood,
        ),
        (
            "set bridge-domain uu-flood",
            "set bridge-domain uu-flood <bridge-domain-id> [disable]",
            set_bd_uu_flood,
        ),
        (
            "set bridge-domain arp term",
            "set bridge-domain arp term <bridge-domain-id> [disable]",
            set_bd_arp_term,
        ),
        (
            "l2fib add",
            "l2fib add <mac> <bridge-domain-id> filter | <intfc> [static | bvi]",
            l2fib_add,
        ),
        ("l2fib del", "l2fib del <mac> <bridge-domain-id>", l2fib_del),
        (
            "l2fib flush-mac",
            "l2fib flush-mac interface <interface> | bridge-domain <bd-id> | all",
            l2fib_flush_mac,
        ),
        ("clear l2fib", "clear l2fib", clear_l2fib),
        (
            "show bridge-domain",
            "show bridge-domain [<bridge-domain-id> [detail|int|arp|bd-tag]]",
            show_bridge_domain,
        ),
        (
            "show l2fib",
            "show l2fib [verbose | learn | bd_id <nn> | bd_index <nn> | raw]",
            show_l2fib,
        ),
        ("show mode", "show mode [<interface> ...]", show_mode),
    ];
    for (p, h, f) in cmds {
        reg.register(p, h, *f).expect("unique command paths");
    }
}

fn bd_id_arg(a: &mut Args) -> Result<u32, CliError> {
    let id = a
        .u32()
        .map_err(|e| err(format!("expected a bridge-domain id: {}", e.message())))?;
    if id == 0 {
        return Err(err(
            "No operations on the default bridge domain are supported",
        ));
    }
    if id > BD_ID_MAX {
        return Err(err(format!(
            "bridge domain ID {id} exceeds the 16M limit ({BD_ID_MAX})"
        )));
    }
    Ok(id)
}

fn bool_arg(a: &mut Args, what: &str) -> Result<bool, CliError> {
    match a.u32() {
        Ok(0) => Ok(false),
        Ok(1) => Ok(true),
        Ok(n) => Err(err(format!("`{what}` takes 0 or 1, not {n}"))),
        Err(e) => Err(err(format!("`{what}` takes 0 or 1: {}", e.message()))),
    }
}

/// A bridge domain's index by id, or the one-line error VPP gives.
fn existing_bd(c: &L2Config, id: u32) -> Result<u16, String> {
    c.bd_index(id)
        .ok_or_else(|| format!("bridge domain ID {id} does not exist"))
}

/// The first free bridge-domain index (1 and up: 0 is VPP's default domain).
fn free_bd_index(c: &L2Config) -> Result<u16, String> {
    let i = (1..=crate::l2::fib::MAX_BD_INDEX as usize)
        .find(|&i| c.bds.get(i).is_none_or(|b| b.is_none()))
        .ok_or("no free bridge-domain index")?;
    Ok(i as u16)
}

fn add_bd(c: &mut L2Config, bd: BridgeDomain) -> Result<u16, String> {
    let i = free_bd_index(c)?;
    if c.bds.len() <= i as usize {
        c.bds.resize(i as usize + 1, None);
    }
    c.bds[i as usize] = Some(bd);
    Ok(i)
}

fn create_bridge_domain(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut id = None;
    let (mut learn, mut forward, mut uu_flood, mut flood, mut arp_term) =
        (true, true, true, true, false);
    let mut mac_age = 0u32;
    let mut tag = String::new();
    let mut del = false;
    while !a.is_empty() {
        if a.keyword("learn") {
            learn = bool_arg(a, "learn")?;
        } else if a.keyword("forward") {
            forward = bool_arg(a, "forward")?;
        } else if a.keyword("uu-flood") {
            uu_flood = bool_arg(a, "uu-flood")?;
        } else if a.keyword("flood") {
            flood = bool_arg(a, "flood")?;
        } else if a.keyword("arp-term") {
            arp_term = bool_arg(a, "arp-term")?;
        } else if a.keyword("mac-age") {
            mac_age = a.u32()?;
        } else if a.keyword("bd-tag") {
            tag = a
                .next_word()
                .ok_or_else(|| err("expected a tag after `bd-tag`"))?;
        } else if a.keyword("del") {
            del = true;
        } else if id.is_none()
            && a.peek()
                .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
        {
            id = Some(bd_id_arg(a)?);
        } else {
            return Err(a.unknown());
        }
    }
    let id = id.ok_or_else(|| err("bridge-domain-id not specified"))?;
    if mac_age > 255 {
        return Err(err("mac age must be less than 256"));
    }
    if tag.len() > 63 {
        return Err(err("bd-tag cannot be longer than 63"));
    }
    let l = l2(dp).clone();
    if del {
        let bd_index = l
            .update(|c| {
                let i = existing_bd(c, id)?;
                if c.bd(i).is_some_and(|b| !b.members.is_empty()) {
                    return Err("bridge domain in use - remove members".to_string());
                }
                c.bds[i as usize] = None;
                Ok(i)
            })
            .map_err(err)?;
        l.fib.remove_where(|k, _| key_parts(k).1 == bd_index);
        return Ok(String::new());
    }
    l.update(|c| {
        if c.bd_index(id).is_some() {
            return Err(format!(
                "bridge domain {id} already exists; change it with `set bridge-domain ...`"
            ));
        }
        let mut bd = BridgeDomain::new(id);
        bd.set(feat::LEARN, learn);
        bd.set(feat::FWD, forward);
        bd.set(feat::UU_FLOOD, uu_flood);
        bd.set(feat::FLOOD, flood);
        bd.set(feat::ARP_TERM, arp_term);
        bd.mac_age = mac_age as u8;
        bd.tag = tag;
        add_bd(c, bd)
    })
    .map_err(err)?;
    Ok(format!("bridge-domain {id}"))
}

/// Take an interface out of its bridge domain (VPP's first half of `set_int_l2_mode`): member
/// list, BVI state and its FIB entry, learned MACs.
fn leave_bridge(dp: &mut Dataplane, c: &mut L2Config, sw: u32) {
    let ic = c.input(sw);
    if ic.mode != L2Mode::Bridge {
        return;
    }
    let l = l2(dp).clone();
    let mut learn = ic.feature_bitmap & feat::LEARN != 0;
    if let Some(Some(bd)) = c.bds.get_mut(ic.bd_index as usize) {
        bd.remove_member(sw);
        learn |= bd.has(feat::LEARN);
        if bd.bvi_sw_if_index == sw {
            bd.bvi_sw_if_index = INVALID_INDEX;
            l.fib.remove(key(&ic.bvi_mac, ic.bd_index));
            set_bvi_tx(dp, sw, false);
        }
    }
    if learn {
        l.fib
            .remove_where(|_, r| r.sw_if_index == sw && !r.age_not());
    }
    let m = c.input_mut(sw);
    m.bvi = false;
}

/// Point a loopback's tx node at `l2-input` (BVI) or back at `ethernet-input`.
fn set_bvi_tx(dp: &mut Dataplane, sw: u32, bvi: bool) {
    let Some(tx) = dp.interface_main().hw_of(sw).map(|h| h.tx_node) else {
        return;
    };
    let target = if bvi { "l2-input" } else { "ethernet-input" };
    let to = dp.graph.node_index_or_placeholder(target);
    dp.graph.set_next(tx, LOOPBACK_TX_NEXT, to);
    if let Some(n) = dp.graph.node_mut::<LoopbackTx>(tx) {
        n.bvi = bvi;
    }
}

fn set_engine_l2_mode(dp: &mut Dataplane, sw: u32, on: bool) {
    if let Some(s) = dp.interface_main_mut().sw.get_mut(sw as usize) {
        s.l2_mode = on;
    }
}

fn set_interface_l2_bridge(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    let id = bd_id_arg(a)?;
    let mut bvi = false;
    let mut shg = 0u32;
    while !a.is_empty() {
        if a.keyword("bvi") {
            bvi = true;
        } else if a.keyword("shg") {
            shg = a.u32()?;
        } else if a
            .peek()
            .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
            && shg == 0
        {
            // VPP also takes the group as a bare number after the domain.
            shg = a.u32()?;
        } else {
            return Err(a.unknown());
        }
    }
    if shg > 255 {
        return Err(err(format!(
            "split-horizon group {shg} out of range 0..255"
        )));
    }
    let (class, mac, output_node) = {
        let im = dp.interface_main();
        let h = im.hw_of(sw).ok_or_else(|| err("no such interface"))?;
        (h.class, h.mac, h.output_node)
    };
    if sw == 0 || class == DeviceClass::Local {
        return Err(err("local0 cannot be bridged"));
    }
    if bvi && class != DeviceClass::Loopback {
        return Err(err(format!(
            "only a loopback can be a BVI (create loopback interface), not sw_if_index {sw}"
        )));
    }
    let l = l2(dp).clone();
    let l2_output = dp
        .graph
        .node_index("l2-output")
        .expect("l2-output registered");
    let out_slot = dp.graph.add_next(l2_output, output_node);
    let mut c = (**l.cfg.load()).clone();
    // Check everything before changing anything.
    let bd_index = match c.bd_index(id) {
        Some(i) => i,
        // VPP creates the domain (with defaults) on first use.
        None => add_bd(&mut c, BridgeDomain::new(id)).map_err(err)?,
    };
    let bd_bvi = c
        .bd(bd_index)
        .map(|b| b.bvi_sw_if_index)
        .unwrap_or(INVALID_INDEX);
    if bvi && bd_bvi != INVALID_INDEX && bd_bvi != sw {
        return Err(err(format!(
            "bridge domain {id} already has a BVI interface (sw_if_index {bd_bvi})"
        )));
    }
    leave_bridge(dp, &mut c, sw);
    c.bump_swif_seq(sw);
    c.mark_fib_user(sw);
    {
        let ic = c.input_mut(sw);
        ic.mode = L2Mode::Bridge;
        ic.bd_index = bd_index;
        ic.feature_bitmap |=
            feat::FWD | feat::UU_FLOOD | feat::FLOOD | feat::LEARN | feat::ARP_TERM | feat::DROP;
        ic.feature_bitmap &= !feat::XCONNECT;
        ic.shg = shg as u8;
        ic.bvi = bvi;
        ic.bvi_mac = mac;
        if bvi {
            // The BVI's MAC is a static FIB entry: nothing to learn on it.
            ic.feature_bitmap &= !feat::LEARN;
        }
    }
    {
        let oc = c.output_mut(sw);
        oc.shg = shg as u8;
        oc.feature_bitmap |= out_feat::OUTPUT;
        oc.next = out_slot;
    }
    if let Some(Some(bd)) = c.bds.get_mut(bd_index as usize) {
        if bvi {
            bd.bvi_sw_if_index = sw;
        }
        bd.add_member(Member {
            sw_if_index: sw,
            shg: shg as u8,
            bvi,
        });
    }
    if bvi {
        l.fib
            .insert(
                key(&mac, bd_index),
                L2Result {
                    sw_if_index: sw,
                    flags: FLAG_STATIC | FLAG_AGE_NOT | FLAG_BVI,
                    timestamp: 0,
                    sn: 0,
                },
            )
            .map_err(|e| err(format!("cannot add the BVI's MAC to the L2 FIB: {e:?}")))?;
        set_bvi_tx(dp, sw, true);
    }
    l.cfg.store(std::sync::Arc::new(c));
    set_engine_l2_mode(dp, sw, true);
    Ok(String::new())
}

/// Put an interface back in L3 mode (also used when it is deleted).
pub fn make_l3(dp: &mut Dataplane, sw: u32) {
    let l = l2(dp).clone();
    let mut c = (**l.cfg.load()).clone();
    leave_bridge(dp, &mut c, sw);
    {
        // VPP resets the bitmap to the drop feature; the ACL plugin's classify hook is kept
        // (VPP loses it, so an interface bridged again would skip its ACLs).
        let ic = c.input_mut(sw);
        let classify = ic.feature_bitmap & feat::INPUT_CLASSIFY;
        *ic = crate::l2::IfInput {
            feature_bitmap: feat::DROP | classify,
            ..Default::default()
        };
    }
    *c.output_mut(sw) = Default::default();
    l.cfg.store(std::sync::Arc::new(c));
    set_engine_l2_mode(dp, sw, false);
}

/// An interface is being deleted: it leaves its bridge domain, every L2 FIB entry pointing at
/// it goes (static ones too: the index will be reused), and its sequence number moves on.
pub fn interface_deleted(dp: &mut Dataplane, sw: u32) {
    make_l3(dp, sw);
    let l = l2(dp).clone();
    if l.cfg.load().is_fib_user(sw) {
        l.fib.remove_where(|_, r| r.sw_if_index == sw);
    }
    let _ = l.update(|c| {
        *c.input_mut(sw) = Default::default();
        c.bump_swif_seq(sw);
        if let Some(u) = c.fib_users.get_mut(sw as usize) {
            *u = false;
        }
        Ok(())
    });
}

fn set_interface_l3(dp: &mut Dataplane, a: &mut Args) -> R {
    let sw = interface_arg(dp, a)?;
    a.expect_end()?;
    make_l3(dp, sw);
    Ok(String::new())
}

fn set_bd_arp_entry(dp: &mut Dataplane, a: &mut Args) -> R {
    let id = bd_id_arg(a)?;
    let ip = a.ip4()?;
    let mac = a.mac()?;
    let del = a.keyword("del");
    a.expect_end()?;
    if mac[0] & 1 != 0 {
        return Err(err(format!(
            "{} is a multicast MAC: an ARP entry needs a unicast one",
            format_mac(&mac)
        )));
    }
    l2(dp)
        .update(|c| {
            let i = existing_bd(c, id)?;
            let bd = c.bds[i as usize].as_mut().expect("existing");
            let pos = bd.arp_entries.iter().position(|(a, _)| *a == ip);
            match (del, pos) {
                (false, Some(p)) => bd.arp_entries[p].1 = mac,
                (false, None) => bd.arp_entries.push((ip, mac)),
                (true, Some(p)) => {
                    bd.arp_entries.remove(p);
                }
                (true, None) => {
                    return Err(format!("bridge domain {id} has no ARP entry for {ip}"))
                }
            }
            Ok(())
        })
        .map_err(err)?;
    Ok(String::new())
}

fn set_bd_mac_age(dp: &mut Dataplane, a: &mut Args) -> R {
    let id = bd_id_arg(a)?;
    let age = a.u32()?;
    a.expect_end()?;
    if age > 255 {
        return Err(err("mac aging time cannot be bigger than 255"));
    }
    l2(dp)
        .update(|c| {
            let i = existing_bd(c, id)?;
            c.bds[i as usize].as_mut().expect("existing").mac_age = age as u8;
            Ok(())
        })
        .map_err(err)?;
    Ok(String::new())
}

fn set_bd_flag(dp: &mut Dataplane, a: &mut Args, f: u32) -> R {
    let id = bd_id_arg(a)?;
    let on = !a.keyword("disable");
    a.expect_end()?;
    l2(dp)
        .update(|c| {
            let i = existing_bd(c, id)?;
            c.bds[i as usize].as_mut().expect("existing").set(f, on);
            Ok(())
        })
        .map_err(err)?;
    Ok(String::new())
}

fn set_bd_learn(dp: &mut Dataplane, a: &mut Args) -> R {
    set_bd_flag(dp, a, feat::LEARN)
}
fn set_bd_forward(dp: &mut Dataplane, a: &mut Args) -> R {
    set_bd_flag(dp, a, feat::FWD)
}
fn set_bd_flood(dp: &mut Dataplane, a: &mut Args) -> R {
    set_bd_flag(dp, a, feat::FLOOD)
}
fn set_bd_uu_flood(dp: &mut Dataplane, a: &mut Args) -> R {
    set_bd_flag(dp, a, feat::UU_FLOOD)
}
fn set_bd_arp_term(dp: &mut Dataplane, a: &mut Args) -> R {
    set_bd_flag(dp, a, feat::ARP_TERM)
}

fn l2fib_add(dp: &mut Dataplane, a: &mut Args) -> R {
    let mac = a.mac()?;
    let id = bd_id_arg(a)?;
    let (mut sw, mut filter, mut is_static, mut bvi) = (INVALID_INDEX, false, false, false);
    if a.keyword("filter") {
        filter = true;
        is_static = true;
    } else {
        sw = interface_arg(dp, a)?;
        if a.keyword("static") {
            is_static = true;
        } else if a.keyword("bvi") {
            bvi = true;
            is_static = true;
        }
    }
    a.expect_end()?;
    if mac[0] & 1 != 0 {
        return Err(err(format!(
            "{} is a multicast MAC: the L2 FIB holds unicast MACs",
            format_mac(&mac)
        )));
    }
    let l = l2(dp).clone();
    let bd_index = {
        let c = l.cfg.load();
        c.bd_index(id)
            .ok_or_else(|| err(format!("bridge domain ID {id} invalid")))?
    };
    let mut flags = FLAG_AGE_NOT;
    if is_static {
        flags |= FLAG_STATIC;
    }
    if filter {
        flags |= FLAG_FILTER;
    }
    if bvi {
        flags |= FLAG_BVI;
    }
    let _ = l.update(|c| {
        c.mark_fib_user(sw);
        Ok(())
    });
    l.fib
        .insert(
            key(&mac, bd_index),
            L2Result {
                sw_if_index: sw,
                flags,
                timestamp: 0,
                sn: 0,
            },
        )
        .map_err(|e| err(format!("cannot add the entry: L2 FIB {e:?}")))?;
    Ok(String::new())
}

fn l2fib_del(dp: &mut Dataplane, a: &mut Args) -> R {
    let mac = a.mac()?;
    let id = bd_id_arg(a)?;
    a.expect_end()?;
    let l = l2(dp).clone();
    let bd_index = {
        let c = l.cfg.load();
        c.bd_index(id)
            .ok_or_else(|| err(format!("bridge domain ID {id} invalid")))?
    };
    l.fib.remove(key(&mac, bd_index)).ok_or_else(|| {
        err(format!(
            "no L2 FIB entry for {} in bridge domain {id}",
            format_mac(&mac)
        ))
    })?;
    Ok(String::new())
}

fn l2fib_flush_mac(dp: &mut Dataplane, a: &mut Args) -> R {
    let l = l2(dp).clone();
    let n = if a.keyword("interface") {
        let sw = interface_arg(dp, a)?;
        a.expect_end()?;
        l.update(|c| {
            c.bump_swif_seq(sw);
            Ok(())
        })
        .map_err(err)?;
        l.fib
            .remove_where(|_, r| r.sw_if_index == sw && !r.age_not())
    } else if a.keyword("bridge-domain") {
        let id = bd_id_arg(a)?;
        a.expect_end()?;
        let i = l
            .update(|c| {
                let i = existing_bd(c, id)?;
                let bd = c.bds[i as usize].as_mut().expect("existing");
                bd.seq_num = bd.seq_num.wrapping_add(1);
                Ok(i)
            })
            .map_err(err)?;
        l.fib
            .remove_where(|k, r| key_parts(k).1 == i && !r.age_not())
    } else if a.keyword("all") {
        a.expect_end()?;
        l.fib.remove_where(|_, r| !r.age_not())
    } else {
        return Err(err(
            "expected `interface <if>`, `bridge-domain <id>` or `all`",
        ));
    };
    let _ = n;
    Ok(String::new())
}

fn clear_l2fib(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    l2(dp).fib.remove_where(|_, r| !r.age_not());
    Ok(String::new())
}

fn if_name(dp: &Dataplane, sw: u32) -> String {
    dp.interface_main().name(sw)
}

fn if_name_na(dp: &Dataplane, sw: u32) -> String {
    if sw == INVALID_INDEX {
        "N/A".into()
    } else {
        if_name(dp, sw)
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn show_bridge_domain(dp: &mut Dataplane, a: &mut Args) -> R {
    let c = l2(dp).cfg.load_full();
    let (mut detail, mut intf, mut arp, mut tag) = (false, false, false, false);
    let mut only = None;
    if a.peek()
        .is_some_and(|w| w.chars().all(|ch| ch.is_ascii_digit()))
    {
        let id = a.u32()?;
        if id == 0 {
            return Err(err(
                "No operations on the default bridge domain are supported",
            ));
        }
        if a.keyword("detail") || a.keyword("det") {
            detail = true;
        }
        intf = a.keyword("int");
        arp = a.keyword("arp");
        tag = a.keyword("bd-tag");
        a.expect_end()?;
        match c.bd_index(id) {
            Some(i) => only = Some(i),
            None => return Err(err(format!("No such bridge domain {id}"))),
        }
    } else {
        a.expect_end()?;
    }
    let mut lines: Vec<String> = Vec::new();
    for (i, bd) in c.bds.iter().enumerate().skip(1) {
        let Some(bd) = bd else { continue };
        if only.is_some_and(|o| o as usize != i) {
            continue;
        }
        if lines.is_empty() {
            lines.push(
                [
                    center("BD-ID", 8),
                    center("Index", 7),
                    center("BSN", 4),
                    center("Age(min)", 9),
                    center("Learning", 9),
                    center("U-Forwrd", 9),
                    center("UU-Flood", 9),
                    center("Flooding", 9),
                    center("ARP-Term", 9),
                    center("BVI-Intf", 9),
                ]
                .join(" "),
            );
        }
        let age = if bd.mac_age != 0 {
            bd.mac_age.to_string()
        } else {
            "off".into()
        };
        lines.push(
            [
                center(&bd.bd_id.to_string(), 8),
                center(&i.to_string(), 7),
                center(&bd.seq_num.to_string(), 4),
                center(&age, 9),
                center(on_off(bd.has(feat::LEARN)), 9),
                center(on_off(bd.has(feat::FWD)), 9),
                center(on_off(bd.has(feat::UU_FLOOD)), 9),
                center(on_off(bd.has(feat::FLOOD)), 9),
                center(on_off(bd.has(feat::ARP_TERM)), 9),
                center(&if_name_na(dp, bd.bvi_sw_if_index), 9),
            ]
            .join(" "),
        );
        if detail || intf {
            for (k, m) in bd.members.iter().enumerate() {
                if k == 0 {
                    lines.push(format!(
                        "\n{}{}{}{}{}{}{}",
                        center("Interface", 30),
                        center("If-idx", 7),
                        center("ISN", 5),
                        center("SHG", 5),
                        center("BVI", 5),
                        center("TxFlood", 9),
                        center("VLAN-Tag-Rewrite", 30)
                    ));
                }
                lines.push(format!(
                    "{}{}{}{}{}{}{}",
                    center(&if_name(dp, m.sw_if_index), 30),
                    center(&m.sw_if_index.to_string(), 7),
                    center(&c.swif_seq(m.sw_if_index).to_string(), 5),
                    center(&m.shg.to_string(), 5),
                    center(if m.bvi { "*" } else { "-" }, 5),
                    center("*", 9),
                    center("none", 30)
                ));
            }
        }
        if (detail || arp) && bd.has(feat::ARP_TERM) {
            lines.push("\n  IP4/IP6 to MAC table for ARP Termination".into());
            for (ip, mac) in &bd.arp_entries {
                lines.push(format!(
                    "{} => {}",
                    center(&ip.to_string(), 40),
                    center(&format_mac(mac), 20)
                ));
            }
        }
        if (detail || tag) && !bd.tag.is_empty() {
            lines.push(format!("\n  BD-Tag: {}", bd.tag));
        }
    }
    if lines.is_empty() {
        return Ok("no bridge-domains in use".into());
    }
    Ok(lines.join("\n"))
}

fn show_l2fib(dp: &mut Dataplane, a: &mut Args) -> R {
    let l = l2(dp).clone();
    let c = l.cfg.load_full();
    let (mut verbose, mut raw, mut learn) = (false, false, false);
    let mut bd_index = u32::MAX;
    // VPP honours one option.
    if a.keyword("raw") {
        raw = true;
    } else if a.keyword("verbose") {
        verbose = true;
    } else if a.keyword("bd_index") {
        bd_index = a.u32()?;
        verbose = true;
    } else if a.keyword("learn") {
        learn = true;
    } else if a.keyword("bd_id") {
        let id = a.u32()?;
        match c.bd_index(id) {
            Some(i) => {
                bd_index = i as u32;
                verbose = true;
            }
            None => return Ok("no such bridge domain id".into()),
        }
    }
    a.expect_end()?;
    let now = minutes(dp.graph.vm.clock.now_ns());
    let entries = l.fib.entries();
    let mut lines = Vec::new();
    let mut total = 0u64;
    for (k, r) in &entries {
        total += 1;
        if !(verbose || learn) {
            continue;
        }
        if lines.is_empty() {
            lines.push(format!(
                "{}{}{}{}{}{}{}{}{}",
                center("Mac-Address", 19),
                center("BD-Idx", 7),
                center("If-Idx", 7),
                center("BSN-ISN", 8),
                center("Age(min)", 9),
                center("static", 7),
                center("filter", 7),
                center("bvi", 5),
                center("Interface-Name", 30)
            ));
        }
        let (mac, bd) = key_parts(*k);
        if bd_index != u32::MAX && bd as u32 != bd_index {
            continue;
        }
        if learn && r.age_not() {
            continue;
        }
        let mac_age = c.bd(bd).map_or(0, |b| b.mac_age);
        let age = if mac_age != 0 && !r.age_not() {
            now.wrapping_sub(r.timestamp).to_string()
        } else {
            "-".into()
        };
        let ifidx = if r.sw_if_index == INVALID_INDEX {
            "-1".to_string()
        } else {
            r.sw_if_index.to_string()
        };
        let star = |b: bool| if b { "*" } else { "-" };
        lines.push(format!(
            "{}{}{} {:>3}/{:<3}{}{}{}{}{}",
            center(&format_mac(&mac), 19),
            center(&bd.to_string(), 7),
            center(&ifidx, 7),
            r.sn >> 8,
            r.sn & 0xff,
            center(&age, 9),
            center(star(r.is_static()), 7),
            center(star(r.is_filter()), 7),
            center(star(r.is_bvi()), 5),
            center(&if_name_na(dp, r.sw_if_index), 30)
        ));
    }
    if total == 0 {
        lines.push("no l2fib entries".into());
    } else {
        let scan = l.last_scan.lock().1;
        lines.push(format!(
            "L2FIB total/learned entries: {}/{}  Last scan time: {}sec  Learn limit: {} ",
            total,
            l.fib.learned(),
            format_vpp_float_e(scan, 4),
            l.fib.learn_limit.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
    if raw {
        let _ = write!(
            lines.last_mut().expect("a summary line"),
            "\nRaw Hash Table: {} slots, {} used",
            l.fib.capacity(),
            l.fib.len()
        );
    }
    Ok(lines.join("\n"))
}

fn show_mode(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut only = Vec::new();
    while !a.is_empty() {
        only.push(interface_arg(dp, a)?);
    }
    let c = l2(dp).cfg.load_full();
    let im = dp.interface_main();
    let mut lines = Vec::new();
    // The interfaces given, in that order (VPP's), else all of them.
    let all: Vec<u32> = im
        .sw
        .iter()
        .filter(|s| !s.deleted)
        .map(|s| s.sw_if_index)
        .collect();
    for sw in if only.is_empty() { &all } else { &only } {
        let Some(s) = im.sw(*sw) else { continue };
        let ic = c.input(s.sw_if_index);
        lines.push(match ic.mode {
            L2Mode::L3 => format!("l3 {}", s.name),
            L2Mode::Bridge => format!(
                "l2 bridge {} bd_id {}{} shg {}",
                s.name,
                c.bd(ic.bd_index).map_or(0, |b| b.bd_id),
                if ic.bvi { " bvi" } else { "" },
                ic.shg
            ),
            L2Mode::Xconnect => format!("l2 xconnect {} {}", s.name, im.name(ic.xc_sw_if_index)),
        });
    }
    Ok(lines.join("\n"))
}

/// Remove aged dynamic entries (VPP's `l2fib-mac-age-scanner-process`, every minute): an entry
/// of a domain with aging on goes when it was not refreshed for `mac-age` minutes. Returns how
/// many went.
pub fn age_scan(dp: &Dataplane, now_ns: u64) -> u32 {
    let l = l2(dp).clone();
    let c = l.cfg.load_full();
    let now = minutes(now_ns);
    let t0 = std::time::Instant::now();
    // Nothing can age (no domain ages, nothing learned): skip the walk of the whole table.
    let ages = c.bds.iter().flatten().any(|b| b.mac_age != 0);
    if !ages || l.fib.learned() == 0 {
        *l.last_scan.lock() = (now_ns, t0.elapsed().as_secs_f64());
        return 0;
    }
    let n = l.fib.remove_where(|k, r| {
        if r.age_not() {
            return false;
        }
        let age = c.bd(key_parts(k).1).map_or(0, |b| b.mac_age);
        age != 0 && now.wrapping_sub(r.timestamp) >= age
    });
    *l.last_scan.lock() = (now_ns, t0.elapsed().as_secs_f64());
    n
}
