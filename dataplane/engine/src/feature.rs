//! Feature arcs, as VPP's `vnet_feature`: per-interface ordered lists of optional nodes between an
//! arc's start node and its end node.
//!
//! Arcs used here: `device-input` (driver input -> ethernet-input), `ip4-unicast` (after ip4-input,
//! before ip4-lookup) and `ip4-output` (after ip4-rewrite, before the interface output node).
//! Enabling a feature recomputes the interface's configuration: the ordered node list and, for each
//! hop, the next slot in the previous node (added with `add_next`, so slot numbers depend on the
//! order features were first enabled, exactly as in VPP's traces).
//!
//! A buffer carries the arc index and its position; `FeatureMain::next` gives the slot to the
//! following feature and advances.

use crate::buffer::BufferMeta;
use crate::graph::{Graph, NodeIndex};

/// Where an arc ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArcEnd {
    /// A fixed node (ip4-unicast ends in ip4-lookup).
    Node(String),
    /// The interface's own output node (ip4-output ends in `<if>-output`).
    InterfaceOutput,
}

/// Which buffer interface selects the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArcDirection {
    /// The receive interface.
    Rx,
    /// The transmit interface.
    Tx,
}

/// An arc's declaration.
#[derive(Clone, Debug)]
pub struct ArcRegistration {
    /// Arc name (`ip4-unicast`).
    pub name: String,
    /// Nodes that start the arc.
    pub start_nodes: Vec<String>,
    /// End of the arc.
    pub end: ArcEnd,
    /// Interface used to pick the configuration.
    pub direction: ArcDirection,
}

/// A feature's declaration on an arc.
#[derive(Clone, Debug)]
pub struct FeatureRegistration {
    /// Arc name.
    pub arc: String,
    /// Feature node name.
    pub node: String,
    /// Features this one must precede.
    pub runs_before: Vec<String>,
    /// Features this one must follow.
    pub runs_after: Vec<String>,
}

/// Per-interface configuration of one arc.
#[derive(Clone, Debug, Default)]
struct IfConfig {
    /// `hops[k]` is the slot from `nodes[k-1]` to `nodes[k]` (or to the end node for the last k);
    /// `hops[0]` is unused here: the start slot depends on the start node (see `start_slots`).
    hops: Vec<u16>,
    /// (start node, slot to the first hop) for every start node.
    start_slots: Vec<(NodeIndex, u16)>,
}

#[derive(Clone, Debug)]
struct ArcInfo {
    reg: ArcRegistration,
    features: Vec<FeatureRegistration>,
    /// Feature names in arc order (topologically sorted; ties by registration order).
    order: Vec<String>,
    /// Enabled feature names per sw_if_index.
    enabled: Vec<Vec<String>>,
    /// Computed configuration per sw_if_index (None: no features).
    configs: Vec<Option<IfConfig>>,
}

/// Arc index on the buffer meaning "not on an arc".
pub const NO_ARC: u8 = u8::MAX;

/// All feature arcs.
#[derive(Clone, Debug, Default)]
pub struct FeatureMain {
    arcs: Vec<ArcInfo>,
}

/// Key of the feature arcs in the configuration snapshot ([`crate::config`]).
pub type SharedFeatures = crate::config::Table<FeatureMain>;

/// Problems configuring features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureError(pub String);

impl std::fmt::Display for FeatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FeatureMain {
    /// Declare an arc; returns its index.
    pub fn register_arc(&mut self, reg: ArcRegistration) -> u8 {
        if let Some(i) = self.arc_index(&reg.name) {
            return i;
        }
        self.arcs.push(ArcInfo {
            reg,
            features: Vec::new(),
            order: Vec::new(),
            enabled: Vec::new(),
            configs: Vec::new(),
        });
        (self.arcs.len() - 1) as u8
    }

    /// Declare a feature on an arc.
    pub fn register_feature(&mut self, reg: FeatureRegistration) -> Result<(), FeatureError> {
        let a = self
            .arc_index(&reg.arc)
            .ok_or_else(|| FeatureError(format!("no feature arc `{}`", reg.arc)))?;
        let arc = &mut self.arcs[a as usize];
        if arc.features.iter().any(|f| f.node == reg.node) {
            return Ok(());
        }
        arc.features.push(reg);
        arc.order = sort_features(&arc.features);
        Ok(())
    }

    /// Index of an arc by name.
    pub fn arc_index(&self, name: &str) -> Option<u8> {
        self.arcs
            .iter()
            .position(|a| a.reg.name == name)
            .map(|i| i as u8)
    }

    /// Enable or disable `feature` on `sw_if_index`; recomputes that interface's configuration.
    /// `output_node` is the interface's `<if>-output` node (for arcs that end there).
    pub fn enable_disable(
        &mut self,
        graph: &mut Graph,
        arc_name: &str,
        feature: &str,
        sw_if_index: u32,
        output_node: Option<NodeIndex>,
        enable: bool,
    ) -> Result<(), FeatureError> {
        let a = self
            .arc_index(arc_name)
            .ok_or_else(|| FeatureError(format!("no feature arc `{arc_name}`")))?;
        let arc = &mut self.arcs[a as usize];
        if !arc.features.iter().any(|f| f.node == feature) {
            return Err(FeatureError(format!(
                "`{feature}` is not a feature of arc `{arc_name}`"
            )));
        }
        let i = sw_if_index as usize;
        if arc.enabled.len() <= i {
            arc.enabled.resize(i + 1, Vec::new());
            arc.configs.resize(i + 1, None);
        }
        let list = &mut arc.enabled[i];
        let present = list.iter().any(|f| f == feature);
        match (enable, present) {
            (true, false) => list.push(feature.to_string()),
            (false, true) => list.retain(|f| f != feature),
            _ => return Ok(()),
        }
        // Keep the arc order.
        let order = arc.order.clone();
        list.sort_by_key(|f| order.iter().position(|o| o == f).unwrap_or(usize::MAX));
        let names = list.clone();
        arc.configs[i] = if names.is_empty() {
            None
        } else {
            Some(build_config(graph, &arc.reg, &names, output_node)?)
        };
        Ok(())
    }

    /// True if `sw_if_index` has features on the arc.
    #[inline]
    pub fn has_features(&self, arc: u8, sw_if_index: u32) -> bool {
        self.arcs
            .get(arc as usize)
            .and_then(|a| a.configs.get(sw_if_index as usize))
            .is_some_and(|c| c.is_some())
    }

    /// Enabled feature names on an interface (for `show interface features`).
    pub fn enabled(&self, arc: &str, sw_if_index: u32) -> Vec<String> {
        self.arc_index(arc)
            .and_then(|a| self.arcs[a as usize].enabled.get(sw_if_index as usize))
            .cloned()
            .unwrap_or_default()
    }

    /// Names of all arcs.
    pub fn arc_names(&self) -> Vec<String> {
        self.arcs.iter().map(|a| a.reg.name.clone()).collect()
    }

    /// Start the arc for a buffer at start node `start`: returns the slot to take from `start`, or
    /// None if the interface has no features on this arc (the caller then uses its default next).
    #[inline]
    pub fn start(
        &self,
        arc: u8,
        start: NodeIndex,
        sw_if_index: u32,
        meta: &mut BufferMeta,
    ) -> Option<u16> {
        let slot = self.start_slot(arc, start, sw_if_index)?;
        Self::enter(arc, meta);
        Some(slot)
    }

    /// The slot from start node `start` to the first feature of the interface's arc, None if it
    /// has no features there: what [`FeatureMain::start`] looks up, for a node to keep per interface
    /// and then [`FeatureMain::enter`] per buffer.
    #[inline]
    pub fn start_slot(&self, arc: u8, start: NodeIndex, sw_if_index: u32) -> Option<u16> {
        let cfg = self
            .arcs
            .get(arc as usize)?
            .configs
            .get(sw_if_index as usize)?
            .as_ref()?;
        cfg.start_slots
            .iter()
            .find(|(n, _)| *n == start)
            .map(|(_, s)| *s)
    }

    /// Put a buffer at the start of arc `arc` (its first feature is next).
    #[inline(always)]
    pub fn enter(arc: u8, meta: &mut BufferMeta) {
        meta.feature_arc = arc;
        meta.feature_pos = 1;
    }

    /// The slot from the current feature node to the next feature (or the arc end), advancing the
    /// buffer's position. None if the buffer is not on a configured arc (the caller drops it).
    #[inline]
    pub fn next(&self, meta: &mut BufferMeta) -> Option<u16> {
        let arc = self.arcs.get(meta.feature_arc as usize)?;
        let sw = match arc.reg.direction {
            ArcDirection::Rx => meta.sw_if_index[0],
            ArcDirection::Tx => meta.sw_if_index[1],
        };
        let cfg = arc.configs.get(sw as usize)?.as_ref()?;
        let slot = *cfg.hops.get(meta.feature_pos as usize)?;
        meta.feature_pos += 1;
        Some(slot)
    }
}

fn build_config(
    graph: &mut Graph,
    reg: &ArcRegistration,
    names: &[String],
    output_node: Option<NodeIndex>,
) -> Result<IfConfig, FeatureError> {
    let mut nodes = Vec::with_capacity(names.len());
    for n in names {
        let ni = graph
            .node_index(n)
            .ok_or_else(|| FeatureError(format!("feature node `{n}` is not registered")))?;
        nodes.push(ni);
    }
    let end = match &reg.end {
        ArcEnd::Node(n) => graph.node_index_or_placeholder(n),
        ArcEnd::InterfaceOutput => output_node.ok_or_else(|| {
            FeatureError(format!(
                "arc `{}` needs the interface output node",
                reg.name
            ))
        })?,
    };
    let mut start_slots = Vec::new();
    for s in &reg.start_nodes {
        if let Some(si) = graph.node_index(s) {
            start_slots.push((si, graph.add_next(si, nodes[0])));
        }
    }
    let mut hops = vec![0u16];
    for k in 0..nodes.len() {
        let to = if k + 1 < nodes.len() {
            nodes[k + 1]
        } else {
            end
        };
        hops.push(graph.add_next(nodes[k], to));
    }
    Ok(IfConfig { hops, start_slots })
}

/// Order features: stable topological sort over runs_before / runs_after, ties by registration.
fn sort_features(features: &[FeatureRegistration]) -> Vec<String> {
    let n = features.len();
    let idx = |name: &str| features.iter().position(|f| f.node == name);
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n]; // after[j] = features that must precede j
    for (i, f) in features.iter().enumerate() {
        for b in &f.runs_before {
            if let Some(j) = idx(b) {
                after[j].push(i);
            }
        }
        for a in &f.runs_after {
            if let Some(j) = idx(a) {
                after[i].push(j);
            }
        }
    }
    let mut placed = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = (0..n).find(|&i| !placed[i] && after[i].iter().all(|&j| placed[j]));
        // A cycle: place the first unplaced feature (registration order) rather than loop forever.
        let i = next.unwrap_or_else(|| (0..n).find(|&i| !placed[i]).expect("unplaced remains"));
        placed[i] = true;
        out.push(features[i].node.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{NodeKind, NodeRegistration};

    struct Nop;
    impl crate::graph::Node for Nop {}

    fn feat(arc: &str, node: &str, before: &[&str]) -> FeatureRegistration {
        FeatureRegistration {
            arc: arc.into(),
            node: node.into(),
            runs_before: before.iter().map(|s| s.to_string()).collect(),
            runs_after: vec![],
        }
    }

    #[test]
    fn slots_follow_enable_order_and_arc_order() {
        let mut g = Graph::new(8);
        for n in ["ip4-input", "ip4-lookup", "acl-in", "nat-a", "nat-b"] {
            g.register(NodeRegistration::new(n, NodeKind::Internal), Box::new(Nop));
        }
        let acl = g.node_index("acl-in").unwrap();
        let drop_slot = g.add_next_by_name(acl, "error-drop");
        assert_eq!(drop_slot, 0);
        let mut fm = FeatureMain::default();
        let arc = fm.register_arc(ArcRegistration {
            name: "ip4-unicast".into(),
            start_nodes: vec!["ip4-input".into()],
            end: ArcEnd::Node("ip4-lookup".into()),
            direction: ArcDirection::Rx,
        });
        fm.register_feature(feat("ip4-unicast", "acl-in", &["nat-a", "nat-b"]))
            .unwrap();
        fm.register_feature(feat("ip4-unicast", "nat-a", &[]))
            .unwrap();
        fm.register_feature(feat("ip4-unicast", "nat-b", &[]))
            .unwrap();
        // Interface 2: acl + nat-b (nat-b becomes acl's slot 1); interface 6: acl + nat-a (slot 2).
        // NAT is enabled before the ACL, as contiv does: slots follow the first time a hop is needed.
        fm.enable_disable(&mut g, "ip4-unicast", "nat-b", 2, None, true)
            .unwrap();
        fm.enable_disable(&mut g, "ip4-unicast", "acl-in", 2, None, true)
            .unwrap();
        fm.enable_disable(&mut g, "ip4-unicast", "nat-a", 6, None, true)
            .unwrap();
        fm.enable_disable(&mut g, "ip4-unicast", "acl-in", 6, None, true)
            .unwrap();
        let start = g.node_index("ip4-input").unwrap();
        let mut m = BufferMeta::default();
        m.sw_if_index = [6, u32::MAX];
        let s0 = fm.start(arc, start, 6, &mut m).unwrap();
        assert_eq!(g.nexts(start)[s0 as usize], acl);
        let s1 = fm.next(&mut m).unwrap();
        assert_eq!(s1, 2, "acl-in: 0 error-drop, 1 nat-b, 2 nat-a");
        let s2 = fm.next(&mut m).unwrap();
        let nat_a = g.node_index("nat-a").unwrap();
        assert_eq!(
            g.nexts(nat_a)[s2 as usize],
            g.node_index("ip4-lookup").unwrap()
        );
        assert!(fm.next(&mut m).is_none(), "past the end of the arc");
        // Interface without features: no start.
        assert!(fm.start(arc, start, 3, &mut m).is_none());
        fm.enable_disable(&mut g, "ip4-unicast", "acl-in", 6, None, false)
            .unwrap();
        fm.enable_disable(&mut g, "ip4-unicast", "nat-a", 6, None, false)
            .unwrap();
        assert!(!fm.has_features(arc, 6));
        assert!(fm
            .enable_disable(&mut g, "ip4-unicast", "nope", 6, None, true)
            .is_err());
    }
}
