//! L2/L3 graph nodes: wire views, VPP trace formatters, the IPv4 FIB and the IPv4 nodes
//! (ethernet-input, arp-input, ip4-input, ip4-lookup, ip4-load-balance, ip4-rewrite, ip4-local,
//! ICMP, UDP port dispatch), with their CLI commands.

pub mod commands;
pub mod fib;
pub mod format;
pub mod l2;
pub mod mtrie;
pub mod nodes;
pub mod ping;
pub mod tunnel;
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
        interfaces: dp.interfaces,
        features: dp.features,
        arcs: dp.arcs,
        udp_ports: Arc::new(RwLock::new(UdpPorts::default())),
    };
    let g = &mut dp.graph;
    g.register(
        ethernet::registration(),
        Box::new(ethernet::EthernetInput {
            interfaces: h.interfaces,
        }),
    );
    let [inp, inp_ncs] = ip4_input::registrations();
    g.register(
        inp,
        Box::new(ip4_input::Ip4Input {
            verify_checksum: true,
            features: h.features,
            arc: h.arcs.ip4_unicast,
        }),
    );
    g.register(
        inp_ncs,
        Box::new(ip4_input::Ip4Input {
            verify_checksum: false,
            features: h.features,
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
    let ping_table = ping::SharedPing::default();
    g.register(
        ping::registration(),
        Box::new(ping::Ip4IcmpEchoReply {
            table: ping_table.clone(),
        }),
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
    init_l2(dp);
    init_tunnels(dp, &h);
    nodes::ip4_sv_reass::init(dp, reg, h.arcs.ip4_unicast);
    dp.set_header_format(format::format_ethernet_header_with_length);
    dp.on_interface_created.push(on_interface_created);
    dp.on_mac_changed.push(on_mac_changed);
    dp.on_interface_deleted.push(on_interface_deleted);
    // Interfaces created before this plugin (local0) get their state too.
    let existing: Vec<u32> = dp
        .interface_main()
        .sw
        .iter()
        .map(|s| s.sw_if_index)
        .collect();
    dp.insert_ext(h);
    for sw in existing {
        on_interface_created(dp, sw);
    }
    commands::register(reg);
    ping::init(dp, reg, ping_table);
    l2::commands::register(reg);
    tunnel::commands::register(reg);
}

/// Register the VXLAN and Geneve nodes and the tunnel table.
fn init_tunnels(dp: &mut Dataplane, h: &Ip4Handle) {
    use tunnel::nodes::{registrations, TunnelEncap, TunnelInput};
    let cfg: tunnel::SharedTunnels = Arc::new(arc_swap::ArcSwap::from_pointee(
        tunnel::TunnelConfig::default(),
    ));
    for kind in [tunnel::Kind::Vxlan, tunnel::Kind::Geneve] {
        let [enc, dec] = registrations(kind);
        dp.graph.register(
            enc,
            Box::new(TunnelEncap {
                kind,
                cfg: cfg.clone(),
                fib: h.fib.clone(),
                interfaces: h.interfaces,
            }),
        );
        dp.graph.register(
            dec,
            Box::new(TunnelInput {
                kind,
                cfg: cfg.clone(),
                fib: h.fib.clone(),
                interfaces: h.interfaces,
                traced: Box::new([(0, 0, 0); engine::graph::FRAME_SIZE]),
            }),
        );
    }
    dp.insert_ext(tunnel::TunnelMain { cfg });
}

/// Register the L2 nodes and state; each feature-bitmap node gets its feature slots in VPP's
/// order (the slot numbers traces print).
fn init_l2(dp: &mut Dataplane) {
    use l2::nodes::*;
    let m = l2::L2Main::new();
    let mut regs = registrations().into_iter();
    let mut reg = |g: &mut engine::graph::Graph, node: Box<dyn engine::graph::Node>| {
        g.register(regs.next().expect("one registration per L2 node"), node)
    };
    let g = &mut dp.graph;
    let nofeat = [0u16; 32];
    let input = reg(
        g,
        Box::new(L2Input {
            cfg: m.cfg.clone(),
            feat: nofeat,
        }),
    );
    let classify = reg(
        g,
        Box::new(L2Classify {
            cfg: m.cfg.clone(),
            output: false,
            feat: nofeat,
        }),
    );
    let learn = reg(
        g,
        Box::new(L2Learn {
            cfg: m.cfg.clone(),
            fib: m.fib.clone(),
            feat: nofeat,
        }),
    );
    reg(
        g,
        Box::new(L2Fwd {
            cfg: m.cfg.clone(),
            fib: m.fib.clone(),
            rx_of: Box::new([0; engine::graph::FRAME_SIZE]),
        }),
    );
    reg(g, Box::new(L2Flood { cfg: m.cfg.clone() }));
    let output = reg(
        g,
        Box::new(L2Output {
            cfg: m.cfg.clone(),
            feat: nofeat,
        }),
    );
    let out_classify = reg(
        g,
        Box::new(L2Classify {
            cfg: m.cfg.clone(),
            output: true,
            feat: nofeat,
        }),
    );
    let arp_term = reg(
        g,
        Box::new(ArpTerm {
            cfg: m.cfg.clone(),
            feat: nofeat,
        }),
    );
    reg(g, Box::new(FeatureBitmapDrop));
    let f = l2::init_feature_nexts(g, input, &l2::feat::NODES);
    g.node_mut::<L2Input>(input).expect("l2-input").feat = f;
    let f = l2::init_feature_nexts(g, classify, &l2::feat::NODES);
    g.node_mut::<L2Classify>(classify)
        .expect("l2-input-classify")
        .feat = f;
    let f = l2::init_feature_nexts(g, learn, &l2::feat::NODES);
    g.node_mut::<L2Learn>(learn).expect("l2-learn").feat = f;
    let f = l2::init_feature_nexts(g, output, &l2::out_feat::NODES);
    g.node_mut::<L2Output>(output).expect("l2-output").feat = f;
    let f = l2::init_feature_nexts(g, out_classify, &l2::out_feat::NODES);
    g.node_mut::<L2Classify>(out_classify)
        .expect("l2-output-classify")
        .feat = f;
    let f = l2::init_feature_nexts(g, arp_term, &l2::feat::NODES);
    g.node_mut::<ArpTerm>(arp_term).expect("arp-term-l2bd").feat = f;
    dp.insert_ext(m);
    // VPP's l2fib-mac-age-scanner-process wakes up every minute.
    dp.processes.push(engine::Process {
        name: "l2fib-mac-age-scanner-process",
        interval_ns: 60_000_000_000,
        next_ns: 60_000_000_000,
        run: |dp, now| {
            l2::commands::age_scan(dp, now);
        },
    });
}

/// The IPv4 state of a dataplane.
pub fn ip4(dp: &Dataplane) -> &Ip4Handle {
    dp.ext::<Ip4Handle>()
        .expect("graph-nodes::init registers the IPv4 state")
}

fn on_interface_created(dp: &mut Dataplane, sw: u32) {
    let (mac, output) = {
        let im = dp.interface_main();
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

/// An interface goes: it leaves its bridge domain; its addresses (connected and local routes)
/// and neighbours leave the FIB.
fn on_interface_deleted(dp: &mut Dataplane, sw: u32) {
    l2::commands::interface_deleted(dp, sw);
    ip4(dp).clone().fib.write().interface_deleted(sw);
}

fn on_mac_changed(dp: &mut Dataplane, sw: u32) {
    let mac = dp.interface_main().mac(sw);
    ip4(dp).fib.write().set_interface_mac(sw, mac);
    // A BVI's MAC is in its bridge domain's FIB and checked by l2_to_bvi.
    let l = l2::l2(dp).clone();
    let ic = l.cfg.load().input(sw);
    if ic.bvi && ic.bvi_mac != mac {
        if let Some(r) = l.fib.remove(l2::fib::key(&ic.bvi_mac, ic.bd_index)) {
            let _ = l.fib.insert(l2::fib::key(&mac, ic.bd_index), r);
        }
        let _ = l.update(|c| {
            c.input_mut(sw).bvi_mac = mac;
            Ok(())
        });
    }
}
