//! The ACL plugin, with the semantics of FD.io VPP 18.01's `acl-plugin` (the version that produced
//! the contiv packet-flow traces).
//!
//! - ACLs ([`rules`]): ordered rules with action deny / permit / permit+reflect, source and
//!   destination prefixes, protocol, port (ICMP type/code) ranges and TCP flags; created or
//!   replaced by index, applied to interfaces as ordered lists per direction. The first matching
//!   rule of the first matching ACL wins; an interface with an ACL list denies what no rule
//!   permits.
//! - Nodes `acl-plugin-in-ip4-fa` (feature on `ip4-unicast`) and `acl-plugin-out-ip4-fa`
//!   (feature on `ip4-output`) ([`node`]), with VPP's three-line trace ([`tuple`]).
//! - Reflexive sessions ([`session`]): per thread, O(1) lookup, TCP-aware timeouts, a limit.
//! - A classifier whose cost depends on the number of distinct rule masks, not rules
//!   ([`classify`]).
//! - MACIP ACLs ([`macip`]): per-interface source guard (MAC + IPv4 of IPv4 and ARP senders),
//!   node `acl-plugin-macip-input` on `device-input`, with named drop errors.
//! - VPP's CLI ([`commands`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod commands;
pub mod hash;
pub mod macip;
pub mod node;
pub mod rules;
pub mod session;
pub mod tuple;

use std::sync::Arc;

use cli::Registry;
use engine::feature::FeatureRegistration;
use engine::Dataplane;

use crate::classify::Classifier;
use crate::macip::{CompiledMacip, MacipAcl};
use crate::rules::Acl;
use crate::session::Sessions;

/// Name of the input node.
pub const IN_NODE: &str = "acl-plugin-in-ip4-fa";
/// Name of the output node.
pub const OUT_NODE: &str = "acl-plugin-out-ip4-fa";
/// Name of the L2 input node (reached from `l2-input-classify`).
pub const IN_L2_NODE: &str = "acl-plugin-in-ip4-l2";
/// Name of the L2 output node (reached from `l2-output-classify`).
pub const OUT_L2_NODE: &str = "acl-plugin-out-ip4-l2";
/// Name of the MACIP node.
pub const MACIP_NODE: &str = "acl-plugin-macip-input";

/// Largest ACL index accepted (VPP's pools have no limit; this keeps a typo from allocating
/// gigabytes).
pub const MAX_ACL_INDEX: u32 = 1 << 20;

/// Direction index: input (`[0]`), as the buffer's `sw_if_index[RX]`.
pub const DIR_IN: usize = 0;
/// Direction index: output (`[1]`), as the buffer's `sw_if_index[TX]`.
pub const DIR_OUT: usize = 1;

/// A pool of optional items with VPP's index reuse (the most recently freed index first).
#[derive(Clone, Debug)]
pub struct Pool<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Pool<T> {
    /// Item at `i`.
    pub fn get(&self, i: u32) -> Option<&T> {
        self.items.get(i as usize).and_then(|x| x.as_ref())
    }

    /// True if `i` holds an item.
    pub fn contains(&self, i: u32) -> bool {
        self.get(i).is_some()
    }

    /// Put an item at the next free index (most recently freed first, else a new one).
    pub fn put(&mut self, v: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = Some(v);
                i
            }
            None => {
                self.items.push(Some(v));
                (self.items.len() - 1) as u32
            }
        }
    }

    /// Put an item at index `i` (replacing, or creating it: indices skipped over become free,
    /// the lowest handed out first).
    pub fn put_at(&mut self, i: u32, v: T) {
        let iu = i as usize;
        if iu >= self.items.len() {
            let old = self.items.len();
            self.items.resize_with(iu + 1, || None);
            // Skipped indices, pushed so that the lowest pops first.
            for j in (old..iu).rev() {
                self.free.push(j as u32);
            }
        } else if self.items[iu].is_none() {
            self.free.retain(|&f| f != i);
        }
        self.items[iu] = Some(v);
    }

    /// Remove the item at `i`.
    pub fn remove(&mut self, i: u32) -> Option<T> {
        let v = self.items.get_mut(i as usize)?.take()?;
        self.free.push(i);
        Some(v)
    }

    /// Items with their indices, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| x.as_ref().map(|v| (i as u32, v)))
    }
}

/// Configuration of the plugin, shared by the nodes (read once per frame) and the CLI.
#[derive(Clone, Debug, Default)]
pub struct AclMain {
    /// The ACLs.
    pub acls: Pool<Acl>,
    /// Ordered ACL list per direction (`[DIR_IN]`, `[DIR_OUT]`) by sw_if_index. Grown to an
    /// interface's index when an ACL is applied to or removed from it, as VPP's vectors.
    pub lists: [Vec<Vec<u32>>; 2],
    /// Interfaces per direction by ACL index (VPP's `*_sw_if_index_vec_by_acl`).
    pub by_acl: [Vec<Vec<u32>>; 2],
    /// Compiled classifier per direction by sw_if_index.
    pub classifiers: [Vec<Arc<Classifier>>; 2],
    /// MACIP ACLs.
    pub macip_acls: Pool<MacipAcl>,
    /// MACIP ACL per sw_if_index (`u32::MAX`: none).
    pub macip_by_sw: Vec<u32>,
    /// Compiled MACIP rules per sw_if_index.
    pub macip_compiled: Vec<Option<CompiledMacip>>,
}

impl AclMain {
    /// The ordered ACL list of an interface direction.
    pub fn list(&self, dir: usize, sw: u32) -> &[u32] {
        self.lists[dir]
            .get(sw as usize)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// Interfaces an ACL is applied to in a direction.
    pub fn applied_on(&self, dir: usize, acl: u32) -> &[u32] {
        self.by_acl[dir]
            .get(acl as usize)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// Rebuild the classifier of an interface direction from its list.
    pub fn compile(&mut self, dir: usize, sw: u32) {
        let list: Vec<(u32, &Acl)> = self
            .list(dir, sw)
            .iter()
            .filter_map(|&a| self.acls.get(a).map(|acl| (a, acl)))
            .collect();
        let c = Classifier::build(&list);
        let v = &mut self.classifiers[dir];
        if v.len() <= sw as usize {
            v.resize_with(sw as usize + 1, Default::default);
        }
        // Shared, so a snapshot copies a pointer per interface, not the compiled tables.
        v[sw as usize] = Arc::new(c);
    }

    /// Create (index None or a free index) or replace an ACL; recompiles the interfaces using it.
    /// Returns the index.
    pub fn add_replace(&mut self, index: Option<u32>, acl: Acl) -> Result<u32, String> {
        let i = match index {
            Some(i) if i > MAX_ACL_INDEX => {
                return Err(format!(
                    "ACL index {i} is too large (at most {MAX_ACL_INDEX})"
                ))
            }
            Some(i) => {
                self.acls.put_at(i, acl);
                i
            }
            None => self.acls.put(acl),
        };
        for dir in [DIR_IN, DIR_OUT] {
            let users = self.applied_on(dir, i).to_vec();
            for sw in users {
                self.compile(dir, sw);
            }
        }
        Ok(i)
    }

    /// Delete an ACL; refused while it is applied to an interface.
    pub fn delete(&mut self, i: u32) -> Result<(), String> {
        if !self.acls.contains(i) {
            return Err(format!("no ACL with index {i}"));
        }
        for (dir, name) in [(DIR_IN, "inbound"), (DIR_OUT, "outbound")] {
            let on = self.applied_on(dir, i);
            if !on.is_empty() {
                let l: Vec<String> = on.iter().map(|s| s.to_string()).collect();
                return Err(format!(
                    "ACL {i} is in use {name} on sw_if_index {}: remove it from the interface first",
                    l.join(", ")
                ));
            }
        }
        self.acls.remove(i);
        Ok(())
    }

    fn grow(v: &mut Vec<Vec<u32>>, i: u32) {
        if v.len() <= i as usize {
            v.resize_with(i as usize + 1, Vec::new);
        }
    }

    /// Check that an apply / remove can be done; returns true if the interface's list goes from
    /// empty to non-empty (add) or from non-empty to empty (remove), i.e. the feature must be
    /// switched.
    pub fn check_apply(&self, dir: usize, sw: u32, acl: u32, add: bool) -> Result<bool, String> {
        let list = self.list(dir, sw);
        let dname = if dir == DIR_IN { "input" } else { "output" };
        if add {
            if !self.acls.contains(acl) {
                return Err(format!("no ACL with index {acl}"));
            }
            if list.contains(&acl) {
                return Err(format!(
                    "ACL {acl} is already applied {dname} on sw_if_index {sw}"
                ));
            }
            Ok(list.is_empty())
        } else {
            if !list.contains(&acl) {
                return Err(format!(
                    "ACL {acl} is not applied {dname} on sw_if_index {sw}"
                ));
            }
            Ok(list.len() == 1)
        }
    }

    /// Apply (append to the list) or remove an ACL on an interface direction, after
    /// [`AclMain::check_apply`].
    pub fn apply(&mut self, dir: usize, sw: u32, acl: u32, add: bool) {
        Self::grow(&mut self.lists[dir], sw);
        Self::grow(&mut self.by_acl[dir], acl);
        if add {
            self.lists[dir][sw as usize].push(acl);
            self.by_acl[dir][acl as usize].push(sw);
        } else {
            self.lists[dir][sw as usize].retain(|&a| a != acl);
            self.by_acl[dir][acl as usize].retain(|&s| s != sw);
        }
        self.compile(dir, sw);
    }
}

/// Key of the plugin's configuration in the configuration snapshot ([`engine::config`]).
pub type SharedAcl = engine::config::Table<AclMain>;

/// The plugin's state, stored in the dataplane's extensions.
#[derive(Clone, Debug)]
pub struct AclPlugin {
    /// ACLs, interface lists, classifiers, MACIP.
    pub main: SharedAcl,
    /// Sessions (per thread).
    pub sessions: Arc<Sessions>,
    /// Slots of `l2-input-classify` / `l2-output-classify` to the ACL nodes (`[dir][ip4, ip6]`),
    /// the miss next of the classify tables an interface gets with its first ACL.
    pub l2_miss: Arc<std::sync::OnceLock<[[u32; 2]; 2]>>,
}

/// Placeholder for the L2 ACL node while its slots are set up.
struct AclL2Stub;
impl engine::graph::Node for AclL2Stub {}

/// The plugin's state of a dataplane (after [`init`]).
pub fn plugin(dp: &Dataplane) -> &AclPlugin {
    dp.ext::<AclPlugin>()
        .expect("acl::init registers the plugin state")
}

/// Register the plugin's nodes, features and commands.
pub fn init(dp: &mut Dataplane, reg: &mut Registry<Dataplane>) {
    let p = AclPlugin {
        main: dp.config_mut().register("acl", AclMain::default()),
        sessions: Arc::new(Sessions::new(1)),
        l2_miss: Arc::new(std::sync::OnceLock::new()),
    };
    for is_input in [true, false] {
        dp.graph.register(
            node::registration(is_input),
            Box::new(node::AclNode::new(
                is_input,
                p.main,
                p.sessions.clone(),
                dp.features,
            )),
        );
    }
    // The L2 path (VPP 18.01's acl_setup_fa_nodes): the classify nodes' slots to the ACL nodes
    // (IPv6 nodes are stand-ins: there are no IPv6 ACLs yet), then each node's L2 feature slots.
    let mut l2_miss = [[0u32; 2]; 2];
    for (d, is_input) in [(DIR_IN, true), (DIR_OUT, false)] {
        let classify = if is_input {
            "l2-input-classify"
        } else {
            "l2-output-classify"
        };
        let c = dp
            .graph
            .node_index(classify)
            .expect("graph-nodes registers the classify nodes first");
        let mut n = node::AclNode::new(is_input, p.main, p.sessions.clone(), dp.features);
        let idx = dp
            .graph
            .register(node::registration_l2(is_input), Box::new(AclL2Stub));
        let ip6 = if is_input {
            "acl-plugin-in-ip6-l2"
        } else {
            "acl-plugin-out-ip6-l2"
        };
        l2_miss[d] = [
            dp.graph.add_next(c, idx) as u32,
            dp.graph.add_next_by_name(c, ip6) as u32,
        ];
        let names: &[&str] = if is_input {
            &graph_nodes::l2::feat::NODES
        } else {
            &graph_nodes::l2::out_feat::NODES
        };
        n.l2 = Some(graph_nodes::l2::init_feature_nexts(
            &mut dp.graph,
            idx,
            names,
        ));
        dp.graph.replace_node(idx, Box::new(n));
    }
    p.l2_miss.set(l2_miss).expect("set once at init");
    dp.graph.register(
        macip::registration(),
        Box::new(macip::MacipNode {
            main: p.main,
            features: dp.features,
        }),
    );
    {
        let t = dp.features;
        let f = dp.config_mut().edit(t);
        let feats = [
            FeatureRegistration {
                arc: "ip4-unicast".into(),
                node: IN_NODE.into(),
                runs_before: [
                    "nat44-classify",
                    "nat44-out2in",
                    "nat44-in2out",
                    "nat44-out2in-worker-handoff",
                    "nat44-in2out-worker-handoff",
                    "nat44-hairpin-dst",
                    "ip4-flow-classify",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                runs_after: vec![],
            },
            FeatureRegistration {
                arc: "ip4-output".into(),
                node: OUT_NODE.into(),
                runs_before: [
                    "nat44-in2out-output",
                    "nat44-in2out-output-worker-handoff",
                    "nat44-hairpin-src",
                    "interface-output",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                runs_after: vec![],
            },
            FeatureRegistration {
                arc: "device-input".into(),
                node: MACIP_NODE.into(),
                runs_before: vec![],
                runs_after: vec![],
            },
        ];
        for r in feats {
            f.register_feature(r)
                .expect("the standard arcs exist before plugins");
        }
    }
    dp.insert_ext(p);
    dp.on_interface_deleted.push(commands::interface_deleted);
    commands::register(reg);
}
