//! L2 switching as VPP 18.01 does it: bridge domains, BVI loopbacks, the L2 FIB with learning and
//! aging, flooding with split horizon, and the L2 feature bitmaps that the ACL plugin's L2 path
//! hooks into (`l2-input-classify` / `l2-output-classify`).
//!
//! State is split the way the workers design asks for:
//! - [`L2Config`] is configuration: bridge domains, per-interface L2 input/output settings,
//!   classify tables. It is an immutable snapshot behind an [`ArcSwap`]: the CLI builds a new one
//!   and publishes it in one atomic store; nodes load it once per frame and never lock.
//! - [`fib::L2Fib`] is data-plane state that every thread reads and learning writes: a
//!   fixed-capacity table whose readers never lock.
//!
//! Nodes ([`nodes`]): `l2-input`, `l2-input-classify`, `l2-learn`, `l2-fwd`, `l2-flood`,
//! `l2-output`, `l2-output-classify`, `arp-term-l2bd`, `feature-bitmap-drop`. Commands
//! ([`commands`]): `create bridge-domain`, `set interface l2 bridge`, `set interface l3`,
//! `l2fib add|del`, `show bridge-domain`, `show l2fib`, ...

pub mod commands;
pub mod fib;
pub mod nodes;

use std::net::Ipv4Addr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use engine::buffer::INVALID_INDEX;
use engine::graph::{Graph, NodeIndex};

use crate::l2::fib::L2Fib;

/// L2 input feature bits, VPP 18.01's `foreach_l2input_feat` (the highest set bit runs first).
pub mod feat {
    /// Last-chance drop (`feature-bitmap-drop`).
    pub const DROP: u32 = 1 << 0;
    /// Cross-connect (`l2-output`).
    pub const XCONNECT: u32 = 1 << 1;
    /// Flooding of broadcast/multicast (`l2-flood`).
    pub const FLOOD: u32 = 1 << 2;
    /// ARP termination (`arp-term-l2bd`).
    pub const ARP_TERM: u32 = 1 << 3;
    /// Unknown-unicast flooding (`l2-flood`).
    pub const UU_FLOOD: u32 = 1 << 4;
    /// Forwarding (`l2-fwd`).
    pub const FWD: u32 = 1 << 5;
    /// L2 rewrite (`l2-rw`).
    pub const RW: u32 = 1 << 6;
    /// Learning (`l2-learn`).
    pub const LEARN: u32 = 1 << 7;
    /// L2 emulation (`l2-emulation`).
    pub const L2_EMULATION: u32 = 1 << 8;
    /// VLAN tag rewrite (`l2-input-vtr`).
    pub const VTR: u32 = 1 << 9;
    /// vpath (`vpath-input-l2`).
    pub const VPATH: u32 = 1 << 10;
    /// Input ACL (`l2-input-acl`).
    pub const ACL: u32 = 1 << 11;
    /// Policer classify (`l2-policer-classify`).
    pub const POLICER_CLAS: u32 = 1 << 12;
    /// Input classify (`l2-input-classify`), where the ACL plugin's L2 path starts.
    pub const INPUT_CLASSIFY: u32 = 1 << 13;
    /// SPAN (`span-l2-input`).
    pub const SPAN: u32 = 1 << 14;
    /// Number of features.
    pub const N: usize = 15;
    /// Node of each feature by bit position.
    pub const NODES: [&str; N] = [
        "feature-bitmap-drop",
        "l2-output",
        "l2-flood",
        "arp-term-l2bd",
        "l2-flood",
        "l2-fwd",
        "l2-rw",
        "l2-learn",
        "l2-emulation",
        "l2-input-vtr",
        "vpath-input-l2",
        "l2-input-acl",
        "l2-policer-classify",
        "l2-input-classify",
        "span-l2-input",
    ];
    /// Display names by bit position (`show bridge-domain detail`, `show mode`).
    pub const NAMES: [&str; N] = [
        "DROP",
        "XCONNECT",
        "FLOOD",
        "ARP_TERM",
        "UU_FLOOD",
        "FWD",
        "RW",
        "LEARN",
        "L2_EMULATION",
        "VTR",
        "VPATH",
        "ACL",
        "POLICER_CLAS",
        "INPUT_CLASSIFY",
        "SPAN",
    ];
}

/// L2 output feature bits, VPP 18.01's `foreach_l2output_feat`.
pub mod out_feat {
    /// Send on the interface (`interface-output`).
    pub const OUTPUT: u32 = 1 << 0;
    /// Output ACL (`l2-output-acl`).
    pub const ACL: u32 = 1 << 4;
    /// Output classify (`l2-output-classify`), where the ACL plugin's L2 output path starts.
    pub const OUTPUT_CLASSIFY: u32 = 1 << 10;
    /// Number of features.
    pub const N: usize = 12;
    /// Node of each feature by bit position.
    pub const NODES: [&str; N] = [
        "interface-output",
        "span-l2-output",
        "feature-bitmap-drop",
        "feature-bitmap-drop",
        "l2-output-acl",
        "feature-bitmap-drop",
        "l2-efp-filter",
        "feature-bitmap-drop",
        "feature-bitmap-drop",
        "feature-bitmap-drop",
        "l2-output-classify",
        "l2-xcrw",
    ];
}

/// Nodes VPP 18.01 never registered (their feature bits are never set): they get no next slot,
/// as `feat_bitmap_init_next_nodes` skips names without a node.
const ABSENT_FEATURE_NODES: &[&str] = &["vpath-input-l2"];

/// Next slot of each feature bit in a node (VPP's `feat_next_node_index`).
pub type FeatNext = [u16; 32];

/// Add the feature nodes to `node`'s next table in bit order (VPP's
/// `feat_bitmap_init_next_nodes`); returns the slot of each bit. Unregistered features get a
/// counted-drop placeholder, so slot numbers are VPP's.
pub fn init_feature_nexts(graph: &mut Graph, node: NodeIndex, names: &[&str]) -> FeatNext {
    let mut out = [0u16; 32];
    for (bit, name) in names.iter().enumerate() {
        if ABSENT_FEATURE_NODES.contains(name) {
            continue;
        }
        out[bit] = graph.add_next_by_name(node, name);
    }
    out
}

/// The slot for the highest set bit of `bitmap` (VPP's `feat_bitmap_get_next_node_index`); a
/// zero bitmap takes slot `feat[0]` (the drop feature).
#[inline(always)]
pub fn feature_next(feat: &FeatNext, bitmap: u32) -> u16 {
    let bit = 31u32.saturating_sub(bitmap.leading_zeros());
    feat[bit as usize]
}

/// Interface L2 mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum L2Mode {
    /// Routed (the default).
    #[default]
    L3,
    /// Member of a bridge domain.
    Bridge,
    /// Cross-connected to another interface.
    Xconnect,
}

/// Per-interface L2 input configuration (VPP's `l2_input_config_t`).
#[derive(Clone, Copy, Debug)]
pub struct IfInput {
    /// Mode.
    pub mode: L2Mode,
    /// Bridge-domain index (bridge mode).
    pub bd_index: u16,
    /// The interface is its bridge domain's BVI.
    pub bvi: bool,
    /// Split-horizon group.
    pub shg: u8,
    /// Input features ([`feat`] bits).
    pub feature_bitmap: u32,
    /// Peer of a cross-connect.
    pub xc_sw_if_index: u32,
    /// The interface's MAC, kept for BVIs (`l2_to_bvi` checks destinations against it).
    pub bvi_mac: [u8; 6],
}

impl Default for IfInput {
    fn default() -> Self {
        IfInput {
            mode: L2Mode::L3,
            bd_index: 0,
            bvi: false,
            shg: 0,
            feature_bitmap: 0,
            xc_sw_if_index: INVALID_INDEX,
            bvi_mac: [0; 6],
        }
    }
}

/// Per-interface L2 output configuration (VPP's `l2_output_config_t` and
/// `output_node_index_vec`).
#[derive(Clone, Copy, Debug, Default)]
pub struct IfOutput {
    /// Split-horizon group.
    pub shg: u8,
    /// Output features ([`out_feat`] bits).
    pub feature_bitmap: u32,
    /// Slot of `l2-output` to the interface's output node (0: not an L2 interface, dropped).
    pub next: u16,
}

/// A bridge-domain member (VPP's `l2_flood_member_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// Interface.
    pub sw_if_index: u32,
    /// Split-horizon group.
    pub shg: u8,
    /// The member is the BVI.
    pub bvi: bool,
}

/// A bridge domain (VPP's `l2_bridge_domain_t`).
#[derive(Clone, Debug)]
pub struct BridgeDomain {
    /// User id (`create bridge-domain <id>`).
    pub bd_id: u32,
    /// Feature bits that may run in this domain (learn, forward, flood, uu-flood, arp-term and
    /// all the others).
    pub feature_bitmap: u32,
    /// MAC aging in minutes (0: off).
    pub mac_age: u8,
    /// Sequence number (bumped by `l2fib flush-mac bridge-domain`).
    pub seq_num: u8,
    /// The BVI (`INVALID_INDEX` when none).
    pub bvi_sw_if_index: u32,
    /// Members in VPP's order: the BVI first, then the others in the order they joined (flooding
    /// walks the list backwards, so the BVI gets its copy last).
    pub members: Vec<Member>,
    /// `bd-tag`.
    pub tag: String,
    /// ARP termination table: IPv4 -> MAC.
    pub arp_entries: Vec<(Ipv4Addr, [u8; 6])>,
}

impl BridgeDomain {
    /// A domain with VPP's defaults: learning, forwarding, flooding and uu-flooding on, ARP
    /// termination off, no aging.
    pub fn new(bd_id: u32) -> Self {
        BridgeDomain {
            bd_id,
            feature_bitmap: !feat::ARP_TERM,
            mac_age: 0,
            seq_num: 0,
            bvi_sw_if_index: INVALID_INDEX,
            members: Vec::new(),
            tag: String::new(),
            arp_entries: Vec::new(),
        }
    }

    /// True if a feature bit is on.
    pub fn has(&self, f: u32) -> bool {
        self.feature_bitmap & f == f
    }

    /// Switch feature bits on or off.
    pub fn set(&mut self, f: u32, on: bool) {
        if on {
            self.feature_bitmap |= f;
        } else {
            self.feature_bitmap &= !f;
        }
    }

    /// Add a member in VPP's order (BVI first).
    pub fn add_member(&mut self, m: Member) {
        if m.bvi {
            self.members.insert(0, m);
        } else {
            self.members.push(m);
        }
    }

    /// Remove a member; true if it was there.
    pub fn remove_member(&mut self, sw_if_index: u32) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m.sw_if_index != sw_if_index);
        self.members.len() != before
    }

    /// The MAC of an IPv4 address in the ARP termination table.
    pub fn arp_lookup(&self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        self.arp_entries
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, m)| *m)
    }
}

/// Index of the per-interface classify table for a packet kind (VPP's
/// `L2_INPUT_CLASSIFY_TABLE_*`).
pub mod table_kind {
    /// IPv4.
    pub const IP4: usize = 0;
    /// IPv6.
    pub const IP6: usize = 1;
    /// Anything else (VLAN-tagged frames, ARP).
    pub const OTHER: usize = 2;
}

/// A classify table, as far as the ACL plugin's L2 hooks use them (VPP's `vnet_classify_table_t`
/// with the sessions the plugin adds): a miss goes to `miss_next` (a slot of the classify node, or
/// `u32::MAX` for the next L2 feature), after trying `next_table`; VLAN sessions match a tag
/// stack and an inner ethertype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassifyTable {
    /// Slot of the classify node on a miss (`u32::MAX`: continue with the next feature).
    pub miss_next: u32,
    /// Table to try next on a miss (`u32::MAX`: none).
    pub next_table: u32,
    /// Sessions: (TPID stack, inner ethertype, slot of the classify node on a hit).
    pub vlan_sessions: Vec<(Vec<u16>, u16, u32)>,
}

/// The L2 configuration: one immutable snapshot, replaced as a whole by the CLI.
#[derive(Clone, Debug, Default)]
pub struct L2Config {
    /// Bridge domains by index (index 0 is VPP's reserved default domain, never used).
    pub bds: Vec<Option<BridgeDomain>>,
    /// Input configuration by sw_if_index.
    pub input: Vec<IfInput>,
    /// Output configuration by sw_if_index.
    pub output: Vec<IfOutput>,
    /// L2 FIB sequence number of each interface (bumped when it joins a bridge domain or its
    /// MACs are flushed, so that older learned entries are recognised as stale).
    pub swif_seq: Vec<u8>,
    /// Classify tables (pool: `None` is a free index).
    pub tables: Vec<Option<ClassifyTable>>,
    /// Free table indices (most recently freed last, as VPP's pools).
    pub free_tables: Vec<u32>,
    /// Input classify table per [`table_kind`] by sw_if_index (`u32::MAX`: none).
    pub input_tables: [Vec<u32>; 3],
    /// Output classify table per [`table_kind`] by sw_if_index.
    pub output_tables: [Vec<u32>; 3],
    /// Interfaces that may have L2 FIB entries (bridged once, or named by `l2fib add`): only
    /// their deletion scans the L2 FIB.
    pub fib_users: Vec<bool>,
}

impl L2Config {
    /// Note that an interface may have L2 FIB entries.
    pub fn mark_fib_user(&mut self, sw: u32) {
        if self.fib_users.len() <= sw as usize {
            self.fib_users.resize(sw as usize + 1, false);
        }
        self.fib_users[sw as usize] = true;
    }

    /// True if an interface may have L2 FIB entries.
    pub fn is_fib_user(&self, sw: u32) -> bool {
        self.fib_users.get(sw as usize).copied().unwrap_or(false)
    }

    /// Input configuration of an interface (defaults when unknown).
    #[inline(always)]
    pub fn input(&self, sw: u32) -> IfInput {
        self.input.get(sw as usize).copied().unwrap_or_default()
    }

    /// Output configuration of an interface.
    #[inline(always)]
    pub fn output(&self, sw: u32) -> IfOutput {
        self.output.get(sw as usize).copied().unwrap_or_default()
    }

    /// Sequence number of an interface.
    #[inline(always)]
    pub fn swif_seq(&self, sw: u32) -> u8 {
        self.swif_seq.get(sw as usize).copied().unwrap_or(0)
    }

    /// A bridge domain by index.
    #[inline(always)]
    pub fn bd(&self, bd_index: u16) -> Option<&BridgeDomain> {
        self.bds.get(bd_index as usize).and_then(|b| b.as_ref())
    }

    /// Index of a bridge domain by id.
    pub fn bd_index(&self, bd_id: u32) -> Option<u16> {
        self.bds
            .iter()
            .position(|b| b.as_ref().is_some_and(|b| b.bd_id == bd_id))
            .map(|i| i as u16)
    }

    /// Mutable input configuration (grows the table).
    pub fn input_mut(&mut self, sw: u32) -> &mut IfInput {
        let i = sw as usize;
        if self.input.len() <= i {
            self.input.resize(i + 1, IfInput::default());
        }
        &mut self.input[i]
    }

    /// Mutable output configuration (grows the table).
    pub fn output_mut(&mut self, sw: u32) -> &mut IfOutput {
        let i = sw as usize;
        if self.output.len() <= i {
            self.output.resize(i + 1, IfOutput::default());
        }
        &mut self.output[i]
    }

    /// Bump an interface's sequence number.
    pub fn bump_swif_seq(&mut self, sw: u32) {
        let i = sw as usize;
        if self.swif_seq.len() <= i {
            self.swif_seq.resize(i + 1, 0);
        }
        self.swif_seq[i] = self.swif_seq[i].wrapping_add(1);
    }

    /// The classify table of an interface for a packet kind.
    #[inline(always)]
    pub fn table_of(&self, output: bool, kind: usize, sw: u32) -> u32 {
        let v = if output {
            &self.output_tables[kind]
        } else {
            &self.input_tables[kind]
        };
        v.get(sw as usize).copied().unwrap_or(u32::MAX)
    }

    /// A classify table.
    #[inline(always)]
    pub fn table(&self, index: u32) -> Option<&ClassifyTable> {
        self.tables.get(index as usize).and_then(|t| t.as_ref())
    }

    /// Allocate a classify table (the most recently freed index first, as VPP's pools).
    pub fn add_table(&mut self, t: ClassifyTable) -> u32 {
        match self.free_tables.pop() {
            Some(i) => {
                self.tables[i as usize] = Some(t);
                i
            }
            None => {
                self.tables.push(Some(t));
                (self.tables.len() - 1) as u32
            }
        }
    }

    /// Free a classify table.
    pub fn del_table(&mut self, index: u32) {
        if let Some(slot) = self.tables.get_mut(index as usize) {
            if slot.take().is_some() {
                self.free_tables.push(index);
            }
        }
    }

    /// Set the classify tables of an interface direction ([`table_kind`] order).
    pub fn set_tables(&mut self, output: bool, sw: u32, tables: [u32; 3]) {
        let v = if output {
            &mut self.output_tables
        } else {
            &mut self.input_tables
        };
        for (k, t) in tables.into_iter().enumerate() {
            if v[k].len() <= sw as usize {
                v[k].resize(sw as usize + 1, u32::MAX);
            }
            v[k][sw as usize] = t;
        }
    }
}

/// Shared handle to the L2 configuration snapshot.
pub type SharedL2Config = Arc<ArcSwap<L2Config>>;

/// The L2 state of a dataplane (stored in its extensions).
#[derive(Clone)]
pub struct L2Main {
    /// Configuration snapshot.
    pub cfg: SharedL2Config,
    /// The L2 FIB.
    pub fib: Arc<L2Fib>,
    /// Time of the last aging scan (ns) and how long it took (s), for `show l2fib`.
    pub last_scan: Arc<parking_lot::Mutex<(u64, f64)>>,
}

impl L2Main {
    /// Fresh state.
    pub fn new() -> Self {
        L2Main {
            cfg: Arc::new(ArcSwap::from_pointee(L2Config::default())),
            fib: Arc::new(L2Fib::default()),
            last_scan: Arc::new(parking_lot::Mutex::new((0, 0.0))),
        }
    }

    /// Change the configuration: `f` edits a copy, which is published in one step if `f`
    /// succeeds (on error nothing changes).
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut L2Config) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut c = (**self.cfg.load()).clone();
        let r = f(&mut c)?;
        self.cfg.store(Arc::new(c));
        Ok(r)
    }
}

impl Default for L2Main {
    fn default() -> Self {
        Self::new()
    }
}

impl L2Main {
    /// Give an interface direction the four classify tables the ACL plugin's L2 path uses (VPP
    /// 18.01's `acl_hook_l2_input_classify` / `_output_`): IPv4 and IPv6 tables whose misses go
    /// to the ACL nodes (`miss_ip4`, `miss_ip6`: slots of the classify node), and 802.1q/802.1ad
    /// tables whose sessions send tagged IPv4/IPv6 there too. Tables are allocated in VPP's
    /// order from VPP's kind of pool, so their indices are the ones VPP prints. Any tables the
    /// direction had are removed first. Enables the classify feature bit.
    pub fn hook_classify(&self, sw: u32, output: bool, miss_ip4: u32, miss_ip6: u32) {
        self.unhook_classify(sw, output);
        let _ = self.update(|c| {
            let t = |miss: u32, next_table: u32| ClassifyTable {
                miss_next: miss,
                next_table,
                vlan_sessions: Vec::new(),
            };
            let ip4 = c.add_table(t(miss_ip4, u32::MAX));
            let ip6 = c.add_table(t(miss_ip6, u32::MAX));
            let dot1ad = c.add_table(t(u32::MAX, u32::MAX));
            let dot1q = c.add_table(t(u32::MAX, dot1ad));
            for (table, tpids) in [(dot1q, vec![0x8100]), (dot1ad, vec![0x88a8, 0x8100])] {
                if let Some(Some(tb)) = c.tables.get_mut(table as usize) {
                    tb.vlan_sessions =
                        vec![(tpids.clone(), 0x0800, miss_ip4), (tpids, 0x86dd, miss_ip6)];
                }
            }
            c.set_tables(output, sw, [ip4, ip6, dot1q]);
            if output {
                c.output_mut(sw).feature_bitmap |= out_feat::OUTPUT_CLASSIFY;
            } else {
                c.input_mut(sw).feature_bitmap |= feat::INPUT_CLASSIFY;
            }
            Ok(())
        });
    }

    /// Remove an interface direction's classify tables (VPP's `acl_unhook_l2_*_classify`: the
    /// IPv4, IPv6 and 802.1q tables are deleted in that order, the last with its chained 802.1ad
    /// table first) and disable the classify feature bit.
    pub fn unhook_classify(&self, sw: u32, output: bool) {
        let _ = self.update(|c| {
            if output {
                c.output_mut(sw).feature_bitmap &= !out_feat::OUTPUT_CLASSIFY;
            } else {
                c.input_mut(sw).feature_bitmap &= !feat::INPUT_CLASSIFY;
            }
            let tables = [
                c.table_of(output, table_kind::IP4, sw),
                c.table_of(output, table_kind::IP6, sw),
                c.table_of(output, table_kind::OTHER, sw),
            ];
            for t in tables {
                // Delete the chain from its end, as vnet_classify_delete_table_index recurses.
                let mut chain = Vec::new();
                let mut x = t;
                while let Some(tb) = c.table(x) {
                    chain.push(x);
                    x = tb.next_table;
                }
                for x in chain.into_iter().rev() {
                    c.del_table(x);
                }
            }
            c.set_tables(output, sw, [u32::MAX; 3]);
            Ok(())
        });
    }
}

/// Minute timestamp of a time in ns (VPP keeps `u8` minutes in L2 FIB entries).
#[inline(always)]
pub fn minutes(now_ns: u64) -> u8 {
    (now_ns / 60_000_000_000) as u8
}

/// The L2 state of a dataplane.
pub fn l2(dp: &engine::Dataplane) -> &L2Main {
    dp.ext::<L2Main>()
        .expect("graph-nodes::init registers the L2 state")
}
