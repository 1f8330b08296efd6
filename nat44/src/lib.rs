//! The nat44 plugin: NAT44 endpoint-dependent, as Kubernetes services need it (contiv/vpp on
//! VPP 18.01): ClusterIP load balancing with sticky sessions and optional client affinity, NodePort
//! with twice-NAT to the gateway, hairpin with self-twice-NAT, pod-to-internet SNAT after routing,
//! identity mappings, forwarding of untranslated traffic.
//!
//! - [`nodes`]: the six nodes and where they sit on the ip4-unicast / ip4-output arcs.
//! - [`session`]: per-thread sessions, O(1) lookups both ways, RFC 7857 TCP tracking, timeouts,
//!   limit with expired/LRU reuse, per-address port pools.
//! - [`packet`]: parsing and incremental checksum rewriting (IP, TCP, UDP, ICMP echo and errors).
//! - [`config`]: pool addresses, interface roles, mappings.
//! - [`commands`]: the CLI, in VPP's forms.
//!
//! Determinism: time comes from the graph clock (`cx.now_ns()`, the pcap time in replays); ports
//! and load-balancing choices come from a seeded generator (`set nat44 random-seed N`); session
//! indices come from a pool that reuses the most recently freed index first.
//!
//! Differences from VPP 18.01 worth knowing:
//! - sessions are endpoint-dependent for every kind of translation (18.01 keys dynamic and plain
//!   static sessions by the local endpoint only);
//! - UDP checksums are updated incrementally (18.01 clears them), and ICMP errors also get their
//!   quoted IP header checksum fixed;
//! - TCP sessions follow RFC 7857 (transitory before establishment, after FINs both ways or RST;
//!   established otherwise) instead of being deleted when both FINs are acknowledged;
//! - fragments are dropped ("Drop fragment") instead of going to virtual reassembly;
//! - hairpinning through nat44-in2out (a client on an `in`-only interface reaching a mapping) is
//!   not done; clients on `out` or `in`+`out` interfaces reach mappings through out2in, and
//!   self-twice-NAT covers an endpoint reaching its own service;
//! - `nat44 add interface address` and `external <interface>` follow the interface address when
//!   a nat44 command runs (there is no address-change hook yet);
//! - pool addresses are not added to the FIB (no proxy ARP for pool addresses that are not
//!   interface addresses).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod commands;
pub mod config;
pub mod nodes;
pub mod packet;
pub mod rng;
pub mod session;
pub mod table;

use std::sync::Arc;

use cli::Registry;
use engine::feature::FeatureRegistration;
use engine::Dataplane;
use parking_lot::Mutex;

use crate::config::Config;
use crate::nodes::{names, Classify, Expire, In2Out, Out2In, Shared};
use crate::session::SessionDb;

/// The ACL feature NAT runs after on ip4-unicast.
pub const ACL_IN_FEATURE: &str = "acl-plugin-in-ip4-fa";
/// The ACL feature NAT runs after on ip4-output.
pub const ACL_OUT_FEATURE: &str = "acl-plugin-out-ip4-fa";

/// The plugin's state, stored in the dataplane's extensions.
#[derive(Clone)]
pub struct NatHandle {
    /// What the nodes share.
    pub sh: Shared,
}

/// The plugin state of a dataplane (after [`init`]).
pub fn nat(dp: &Dataplane) -> &NatHandle {
    dp.ext::<NatHandle>()
        .expect("nat44::init registers the NAT44 state")
}

/// Register the plugin's nodes, features and commands.
pub fn init(dp: &mut Dataplane, reg: &mut Registry<Dataplane>) {
    let cfg = Config::default();
    let db = SessionDb::new(cfg.session_limit, cfg.seed);
    let sh = Shared {
        cfg: dp.config_mut().register("nat44", cfg),
        db: Arc::new(Mutex::new(db)),
        ip4: graph_nodes::ip4(dp).clone(),
        features: dp.features,
    };
    let mut regs = nodes::registrations().into_iter();
    let mut next = || regs.next().expect("registration");
    let g = &mut dp.graph;
    for (slow, output) in [(false, false), (true, false), (false, true), (true, true)] {
        g.register(next(), Box::new(In2Out::new(sh.clone(), slow, output)));
    }
    g.register(next(), Box::new(Out2In::new(sh.clone())));
    g.register(next(), Box::new(Classify { sh: sh.clone() }));
    g.register(next(), Box::new(Expire { sh: sh.clone() }));
    {
        let t = dp.features;
        let f = dp.config_mut().edit(t);
        for node in [names::CLASSIFY, names::IN2OUT, names::OUT2IN] {
            f.register_feature(FeatureRegistration {
                arc: "ip4-unicast".into(),
                node: node.into(),
                runs_before: vec![],
                runs_after: vec![ACL_IN_FEATURE.into()],
            })
            .expect("ip4-unicast arc exists");
        }
        f.register_feature(FeatureRegistration {
            arc: "ip4-output".into(),
            node: names::IN2OUT_OUTPUT.into(),
            runs_before: vec![],
            runs_after: vec![ACL_OUT_FEATURE.into()],
        })
        .expect("ip4-output arc exists");
    }
    dp.insert_ext(NatHandle { sh });
    dp.on_interface_deleted.push(commands::interface_deleted);
    commands::register(reg);
}
