//! L2/L3 graph nodes: wire views, VPP trace formatters, the IPv4 FIB and the IPv4 nodes
//! (ethernet-input, arp-input, ip4-input, ip4-lookup, ip4-load-balance, ip4-rewrite, ip4-local,
//! ICMP, UDP port dispatch), with their CLI commands.

pub mod commands;
pub mod fib;
pub mod format;
pub mod mtrie;
pub mod nodes;
pub mod wire;

use std::sync::Arc;

use cli::Registry;
use engine::Dataplane;
use parking_lot::RwLock;

use crate::fib::Ip4Main;
use crate::nodes::{arp, ethernet, ip4_forward, ip4_input, ip4_local, Ip4Handle, UdpPorts};

/// Register the L2/L3 nodes, their hooks and commands.
pub fn init(dp: &mut Dataplane, reg: &mut Registry<Dataplane>) {
    let h = Ip4Handle {
        fib: Arc::new(RwLock::new(Ip4Main::new())),
        interfaces: dp.interfaces.clone(),
        features: dp.features.clone(),
        arcs: dp.arcs,
        udp_ports: Arc::new(RwLock::new(UdpPorts::default())),
    };
    let g = &mut dp.graph;
    g.register(
        ethernet::registration(),
        Box::new(ethernet::EthernetInput {
            interfaces: h.interfaces.clone(),
        }),
    );
    let [inp, inp_ncs] = ip4_input::registrations();
    g.register(
        inp,
        Box::new(ip4_input::Ip4Input {
            verify_checksum: true,
            features: h.features.clone(),
            arc: h.arcs.ip4_unicast,
        }),
    );
    g.register(
        inp_ncs,
        Box::new(ip4_input::Ip4Input {
            verify_checksum: false,
            features: h.features.clone(),
            arc: h.arcs.ip4_unicast,
        }),
    );
    let mut fwd = ip4_forward::registrations().into_iter();
    g.register(
        fwd.next().expect("ip4-lookup"),
        Box::new(ip4_forward::Ip4Lookup { h: h.clone() }),
    );
    g.register(
        fwd.next().expect("ip4-load-balance"),
        Box::new(ip4_forward::Ip4LoadBalance { h: h.clone() }),
    );
    g.register(
        fwd.next().expect("ip4-rewrite"),
        Box::new(ip4_forward::Ip4Rewrite { h: h.clone() }),
    );
    g.register(
        fwd.next().expect("ip4-drop"),
        Box::new(ip4_forward::Ip4Drop),
    );
    let mut local = ip4_local::registrations().into_iter();
    g.register(
        local.next().expect("ip4-local"),
        Box::new(ip4_local::Ip4Local),
    );
    g.register(
        local.next().expect("ip4-icmp-input"),
        Box::new(ip4_local::Ip4IcmpInput),
    );
    g.register(
        local.next().expect("ip4-icmp-echo-request"),
        Box::new(ip4_local::Ip4IcmpEcho),
    );
    g.register(
        local.next().expect("ip4-icmp-error"),
        Box::new(ip4_local::Ip4IcmpError { h: h.clone() }),
    );
    g.register(
        local.next().expect("ip4-udp-lookup"),
        Box::new(ip4_local::Ip4UdpLookup { h: h.clone() }),
    );
    let mut a = arp::registrations().into_iter();
    g.register(
        a.next().expect("arp-input"),
        Box::new(arp::ArpInput { h: h.clone() }),
    );
    g.register(
        a.next().expect("ip4-arp"),
        Box::new(arp::Ip4ArpRequest::new(h.clone(), false)),
    );
    g.register(
        a.next().expect("ip4-glean"),
        Box::new(arp::Ip4ArpRequest::new(h.clone(), true)),
    );
    dp.set_header_format(format::format_ethernet_header_with_length);
    dp.on_interface_created.push(on_interface_created);
    dp.on_mac_changed.push(on_mac_changed);
    dp.on_interface_deleted.push(on_interface_deleted);
    // Interfaces created before this plugin (local0) get their state too.
    let existing: Vec<u32> = dp
        .interfaces
        .read()
        .sw
        .iter()
        .map(|s| s.sw_if_index)
        .collect();
    dp.insert_ext(h);
    for sw in existing {
        on_interface_created(dp, sw);
    }
    commands::register(reg);
}

/// The IPv4 state of a dataplane.
pub fn ip4(dp: &Dataplane) -> &Ip4Handle {
    dp.ext::<Ip4Handle>()
        .expect("graph-nodes::init registers the IPv4 state")
}

fn on_interface_created(dp: &mut Dataplane, sw: u32) {
    let (mac, output) = {
        let im = dp.interfaces.read();
        (im.mac(sw), im.hw_of(sw).map(|h| h.output_node))
    };
    let rw = dp
        .graph
        .node_index("ip4-rewrite")
        .expect("ip4-rewrite registered");
    let slot = match output {
        Some(o) if o != engine::buffer::INVALID_INDEX => Some(dp.graph.add_next(rw, o)),
        _ => None,
    };
    let h = ip4(dp).clone();
    let mut fib = h.fib.write();
    fib.set_interface_mac(sw, mac);
    if let Some(slot) = slot {
        fib.set_if_rewrite_next(sw, slot);
    }
}

/// An interface goes: its addresses (connected and local routes) and neighbours leave the FIB.
fn on_interface_deleted(dp: &mut Dataplane, sw: u32) {
    let h = ip4(dp).clone();
    let mut fib = h.fib.write();
    let addrs = fib.if_addrs.get(sw as usize).cloned().unwrap_or_default();
    for (a, l) in addrs {
        let _ = fib.del_interface_address(sw, a, l);
    }
    let nbrs: Vec<_> = fib
        .neighbors
        .keys()
        .filter(|(s, _)| *s == sw)
        .copied()
        .collect();
    for (s, ip) in nbrs {
        let _ = fib.del_neighbor(s, ip);
    }
    fib.unnumbered.remove(&sw);
}

fn on_mac_changed(dp: &mut Dataplane, sw: u32) {
    let mac = dp.interfaces.read().mac(sw);
    ip4(dp).fib.write().set_interface_mac(sw, mac);
}
