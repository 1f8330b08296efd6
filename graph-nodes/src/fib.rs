//! The IPv4 FIB: tables of prefixes, each resolved to a load-balance object whose buckets are
//! DPOs (adjacency, receive, drop or a recursive load-balance), as in VPP.
//!
//! - A **FIB entry** per prefix keeps the paths of every source that added it (interface, CLI,
//!   adjacency, recursive resolution, defaults); the best source forwards.
//! - Each entry owns one **load-balance** (LB) whose index is stable for the entry's life: it is
//!   what the mtrie returns and what traces print as `dpo-idx` for recursive routes.
//! - **Adjacencies** are per (interface, next hop) neighbour (`ipv4 via A IF: <rewrite>`), or one
//!   glean adjacency per interface for its connected subnets. An incomplete neighbour adjacency
//!   sends packets to `ip4-arp`.
//! - Recursive next hops resolve through the FIB (re-resolved when a covering prefix changes).
//!   A next hop that falls in a connected subnet gets a host entry of its own (source `rr`),
//!   so that ARP resolves it.
//!
//! Indices come from pools that reuse the most recently freed index first, like VPP's pools, so
//! that a given configuration always yields the same adjacency and load-balance numbers.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::net::Ipv4Addr;

use smallvec::SmallVec;

use crate::mtrie::Ip4Mtrie;

/// Next slots of `ip4-lookup` (and its sibling `ip4-load-balance`).
pub mod lookup_next {
    /// ip4-drop
    pub const DROP: u16 = 0;
    /// ip4-local
    pub const LOCAL: u16 = 1;
    /// ip4-arp (incomplete neighbour)
    pub const ARP: u16 = 2;
    /// ip4-glean (connected subnet, unknown host)
    pub const GLEAN: u16 = 3;
    /// ip4-rewrite
    pub const REWRITE: u16 = 4;
    /// ip4-load-balance (recursive)
    pub const LOAD_BALANCE: u16 = 5;
    /// ip4-icmp-error (unreachable routes)
    pub const ICMP_ERROR: u16 = 6;
    /// Node names in slot order.
    pub const NAMES: &[&str] = &[
        "ip4-drop",
        "ip4-local",
        "ip4-arp",
        "ip4-glean",
        "ip4-rewrite",
        "ip4-load-balance",
        "ip4-icmp-error",
    ];
}

/// What a load-balance bucket points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DpoKind {
    /// Drop.
    Drop,
    /// Deliver locally (ip4-local); index = receive DPO index.
    Receive,
    /// An adjacency (neighbour or glean); index = adjacency index.
    Adjacency,
    /// Another load-balance (recursive route); index = LB index.
    LoadBalance,
}

/// A data-path object reference: kind + index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dpo {
    /// Kind.
    pub kind: DpoKind,
    /// Index in the kind's pool.
    pub index: u32,
}

impl Dpo {
    /// The drop DPO.
    pub const DROP: Dpo = Dpo {
        kind: DpoKind::Drop,
        index: 0,
    };
}

/// A load-balance: power-of-two buckets of DPOs chosen by flow hash.
#[derive(Clone, Debug)]
pub struct LoadBalance {
    /// Number of buckets minus one (a mask: the count is a power of two).
    pub mask: u32,
    /// Bucket 0 (the only one for single-path routes: the fast path reads just this).
    pub first: Dpo,
    /// Buckets (length a power of two).
    pub buckets: SmallVec<[Dpo; 4]>,
    /// The FIB entry owning it (for `show`), or u32::MAX when free.
    pub owner: u32,
}

impl LoadBalance {
    /// A load-balance over `buckets` (a power-of-two count).
    pub fn new(buckets: SmallVec<[Dpo; 4]>) -> Self {
        LoadBalance {
            mask: buckets.len() as u32 - 1,
            first: buckets[0],
            buckets,
            owner: u32::MAX,
        }
    }

    /// A single-bucket load-balance.
    pub fn single(d: Dpo) -> Self {
        Self::new(SmallVec::from_elem(d, 1))
    }

    /// The bucket for a flow hash.
    #[inline(always)]
    pub fn bucket(&self, hash: u32) -> Dpo {
        if self.mask == 0 {
            self.first
        } else {
            self.buckets[(hash & self.mask) as usize]
        }
    }
}

/// Adjacency kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjKind {
    /// A neighbour: rewrite to its MAC.
    Neighbor,
    /// Glean: ARP for the destination of the packet.
    Glean,
}

/// An adjacency.
#[derive(Clone, Debug)]
pub struct Adjacency {
    /// Kind.
    pub kind: AdjKind,
    /// Interface.
    pub sw_if_index: u32,
    /// Next hop (neighbour), or the interface address the glean belongs to.
    pub next_hop: Ipv4Addr,
    /// Rewrite: destination MAC, source MAC, ethertype 0x0800 (valid when `complete`).
    pub rewrite: [u8; 14],
    /// The neighbour's MAC is known.
    pub complete: bool,
}

/// Where a FIB entry came from; lower sorts first and wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// Built-in special entries (0.0.0.0/32, 255.255.255.255/32, multicast/class E).
    Special,
    /// Interface addresses (connected and local).
    Interface,
    /// CLI / API routes.
    Cli,
    /// Host routes of neighbours.
    Adjacency,
    /// Host routes created to resolve recursive next hops in connected subnets.
    RecursiveResolution,
    /// The default route (drop).
    DefaultRoute,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Special => "special",
            Source::Interface => "interface",
            Source::Cli => "CLI",
            Source::Adjacency => "adjacency",
            Source::RecursiveResolution => "recursive-resolution",
            Source::DefaultRoute => "default-route",
        }
    }
}

/// One path of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// Next hop on an interface (`via A IF`).
    AttachedNextHop {
        /// Next hop.
        nh: Ipv4Addr,
        /// Interface.
        sw_if_index: u32,
    },
    /// The whole prefix is on the link (`via IF`, connected subnets): glean.
    Attached {
        /// Interface.
        sw_if_index: u32,
    },
    /// Resolve the next hop through the FIB (`via A`).
    Recursive {
        /// Next hop.
        nh: Ipv4Addr,
    },
    /// An address of ours.
    Receive {
        /// Interface.
        sw_if_index: u32,
        /// Address.
        addr: Ipv4Addr,
    },
    /// Drop.
    Drop,
    /// Send ICMP host unreachable.
    Unreachable,
    /// Forward as the best other route covering `nh` does (a tunnel's tracked endpoint, VPP's
    /// `FIB_SOURCE_RR` entries): through a connected subnet, the neighbour `nh` itself.
    Track {
        /// The tracked address.
        nh: Ipv4Addr,
    },
}

/// A path with its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    /// What the path is.
    pub kind: PathKind,
    /// ECMP weight (>= 1).
    pub weight: u32,
}

impl Path {
    /// A path of weight 1.
    pub fn new(kind: PathKind) -> Self {
        Path { kind, weight: 1 }
    }
}

/// A prefix in a table.
#[derive(Clone, Debug)]
pub struct FibEntry {
    /// Network address (host bits clear).
    pub addr: u32,
    /// Prefix length.
    pub len: u8,
    /// Load-balance index.
    pub lb: u32,
    /// Paths per source (kept sorted, best first).
    pub sources: Vec<(Source, Vec<Path>)>,
}

impl FibEntry {
    fn best(&self) -> Option<&(Source, Vec<Path>)> {
        self.sources.first()
    }
}

/// A receive DPO: one per local address.
#[derive(Clone, Debug)]
pub struct ReceiveDpo {
    /// Interface.
    pub sw_if_index: u32,
    /// Address.
    pub addr: Ipv4Addr,
}

/// A neighbour (ARP entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    /// MAC address.
    pub mac: [u8; 6],
    /// Configured (static) rather than learned.
    pub is_static: bool,
    /// A host route was installed for it.
    pub fib_entry: bool,
    /// When it was last set or refreshed (ARP), on the forwarder's clock (`show ip neighbors`).
    pub updated_ns: u64,
}

/// One FIB table (VRF).
pub struct FibTable {
    /// Table id (as configured).
    pub table_id: u32,
    /// Longest-prefix-match structure: address -> LB index.
    pub mtrie: Ip4Mtrie,
    entries: HashMap<(u32, u8), u32>,
    /// Deleted (`ip table del`): its fib index is reused by the next `ip table add`, as VPP
    /// reuses pool indices. Only the default and special entries are left in it.
    pub deleted: bool,
}

/// A pool with LIFO reuse of freed indices, like VPP's pools.
#[derive(Clone, Debug)]
struct Pool<T> {
    items: Vec<T>,
    free: Vec<u32>,
    /// `freed[i]`: item i is on the free list.
    freed: Vec<bool>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: Vec::new(),
            free: Vec::new(),
            freed: Vec::new(),
        }
    }
}

impl<T> Pool<T> {
    fn alloc(&mut self, v: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = v;
                self.freed[i as usize] = false;
                i
            }
            None => {
                self.items.push(v);
                self.freed.push(false);
                (self.items.len() - 1) as u32
            }
        }
    }
    fn release(&mut self, i: u32) {
        self.free.push(i);
        self.freed[i as usize] = true;
    }
    fn is_live(&self, i: u32) -> bool {
        self.freed.get(i as usize).is_some_and(|f| !f)
    }
}

/// Problems with FIB configuration (one-line messages for the CLI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FibError(pub String);

impl std::fmt::Display for FibError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

/// The IPv4 forwarding state: tables, entries, load-balances, adjacencies, neighbours.
pub struct Ip4Main {
    /// Tables by fib_index.
    pub tables: Vec<FibTable>,
    /// FIB entries (pool).
    entries: Pool<Option<FibEntry>>,
    /// fib_index of each entry.
    entry_table: Vec<u32>,
    /// Load-balances (pool).
    lbs: Pool<LoadBalance>,
    /// Adjacencies (pool).
    adjs: Pool<Adjacency>,
    /// ip4-lookup next slot of each adjacency (rewrite, arp or glean).
    pub adj_next: Vec<u16>,
    /// ip4-rewrite next slot to each interface's output node (set when the interface appears).
    pub if_rewrite_next: Vec<u16>,
    /// Receive DPOs.
    receives: Pool<ReceiveDpo>,
    nbr_adj: HashMap<(u32, Ipv4Addr), u32>,
    glean_adj: HashMap<u32, u32>,
    /// Neighbours by (sw_if_index, address).
    pub neighbors: BTreeMap<(u32, Ipv4Addr), Neighbor>,
    /// Interface addresses by sw_if_index.
    pub if_addrs: Vec<Vec<(Ipv4Addr, u8)>>,
    /// Unnumbered interfaces: sw_if_index -> interface whose address they use.
    pub unnumbered: HashMap<u32, u32>,
    /// MAC address of each interface (kept in sync by the plugin from the interface tables).
    pub if_macs: Vec<[u8; 6]>,
    /// FIB index of each interface.
    pub if_fib: Vec<u32>,
    /// Recursive next hops and the entries that depend on them.
    recursive_deps: HashMap<(u32, Ipv4Addr), Vec<u32>>,
    receive_by_addr: HashMap<(u32, Ipv4Addr), u32>,
    /// Nesting of re-resolution (guards against recursive-route loops).
    depth: u32,
    /// Load-balances stacked on each load-balance (its users: they re-resolve when it goes).
    lb_users: HashMap<u32, SmallVec<[u32; 2]>>,
}

impl Default for Ip4Main {
    fn default() -> Self {
        Self::new()
    }
}

impl Ip4Main {
    /// A FIB with table 0 and its special entries.
    pub fn new() -> Self {
        let mut m = Ip4Main {
            tables: Vec::new(),
            entries: Pool::default(),
            entry_table: Vec::new(),
            lbs: Pool::default(),
            adjs: Pool::default(),
            adj_next: Vec::new(),
            if_rewrite_next: Vec::new(),
            receives: Pool::default(),
            nbr_adj: HashMap::new(),
            glean_adj: HashMap::new(),
            neighbors: BTreeMap::new(),
            if_addrs: Vec::new(),
            unnumbered: HashMap::new(),
            if_macs: Vec::new(),
            if_fib: Vec::new(),
            recursive_deps: HashMap::new(),
            receive_by_addr: HashMap::new(),
            depth: 0,
            lb_users: HashMap::new(),
        };
        m.create_table(0);
        m
    }

    /// Create table `table_id` (with its default and special entries); returns its fib_index.
    pub fn create_table(&mut self, table_id: u32) -> u32 {
        if let Some(i) = self.fib_index(table_id) {
            return i;
        }
        // A deleted table's slot holds just the default and special entries: take it over.
        if let Some(i) = self.tables.iter().position(|t| t.deleted) {
            self.tables[i].deleted = false;
            self.tables[i].table_id = table_id;
            return i as u32;
        }
        let fib = self.tables.len() as u32;
        // The default route's LB is the mtrie's default value: allocate it first.
        let lb = self.lbs.alloc(LoadBalance::single(Dpo::DROP));
        self.tables.push(FibTable {
            table_id,
            mtrie: Ip4Mtrie::new(lb),
            entries: HashMap::new(),
            deleted: false,
        });
        let e = self.entries.alloc(Some(FibEntry {
            addr: 0,
            len: 0,
            lb,
            sources: vec![(Source::DefaultRoute, vec![Path::new(PathKind::Drop)])],
        }));
        self.set_entry_table(e, fib);
        self.lbs.items[lb as usize].owner = e;
        self.tables[fib as usize].entries.insert((0, 0), e);
        for (a, l) in [
            (Ipv4Addr::new(0, 0, 0, 0), 32),
            (Ipv4Addr::new(255, 255, 255, 255), 32),
            (Ipv4Addr::new(224, 0, 0, 0), 4),
            (Ipv4Addr::new(240, 0, 0, 0), 4),
        ] {
            self.add_path(fib, a, l, Source::Special, Path::new(PathKind::Drop))
                .expect("special entries are valid");
        }
        fib
    }

    fn set_entry_table(&mut self, e: u32, fib: u32) {
        if self.entry_table.len() <= e as usize {
            self.entry_table.resize(e as usize + 1, 0);
        }
        self.entry_table[e as usize] = fib;
    }

    /// fib_index of a table id.
    pub fn fib_index(&self, table_id: u32) -> Option<u32> {
        self.tables
            .iter()
            .position(|t| t.table_id == table_id && !t.deleted)
            .map(|i| i as u32)
    }

    /// Delete table `table_id` (`ip table del`) with its routes. Refused for table 0 and while
    /// an interface is bound to it; nothing changes then.
    pub fn delete_table(&mut self, table_id: u32) -> Result<(), FibError> {
        if table_id == 0 {
            return Err(FibError(
                "table 0 is the default table and cannot be deleted".into(),
            ));
        }
        let fib = self
            .fib_index(table_id)
            .ok_or_else(|| FibError(format!("table {table_id} does not exist")))?;
        if let Some(sw) = self.if_fib.iter().position(|&f| f == fib) {
            return Err(FibError(format!(
                "table {table_id} is in use by sw_if_index {sw}: move the interface first (`set interface ip table <interface> 0`)"
            )));
        }
        // Every route but the default and special entries, longest prefixes first so that
        // recursive routes go before what they resolve through.
        let mut routes: Vec<(u32, u8)> = self.tables[fib as usize]
            .entries
            .iter()
            .filter_map(|(&k, &e)| {
                let entry = self.entries.items[e as usize].as_ref()?;
                entry
                    .sources
                    .iter()
                    .any(|(s, _)| !matches!(s, Source::Special | Source::DefaultRoute))
                    .then_some(k)
            })
            .collect();
        routes.sort_by_key(|&(a, l)| (std::cmp::Reverse(l), a));
        for (a, l) in routes {
            for src in [
                Source::Cli,
                Source::Adjacency,
                Source::RecursiveResolution,
                Source::Interface,
            ] {
                let _ = self.del_source(fib, Ipv4Addr::from(a), l, src);
            }
        }
        self.tables[fib as usize].deleted = true;
        Ok(())
    }

    /// True if fib index `fib` is a live table.
    pub fn is_live_table(&self, fib: u32) -> bool {
        self.tables.get(fib as usize).is_some_and(|t| !t.deleted)
    }

    /// FIB index of an interface (0 unless set).
    #[inline(always)]
    pub fn interface_fib(&self, sw_if_index: u32) -> u32 {
        self.if_fib.get(sw_if_index as usize).copied().unwrap_or(0)
    }

    /// ip4-rewrite slot to an interface's output node (0, drop, when unknown).
    #[inline]
    pub fn if_rewrite_next(&self, sw_if_index: u32) -> u16 {
        self.if_rewrite_next
            .get(sw_if_index as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Set the ip4-rewrite slot to an interface's output node.
    pub fn set_if_rewrite_next(&mut self, sw_if_index: u32, slot: u16) {
        let i = sw_if_index as usize;
        if self.if_rewrite_next.len() <= i {
            self.if_rewrite_next.resize(i + 1, 0);
        }
        self.if_rewrite_next[i] = slot;
    }

    /// Record an interface's MAC (rewrites of its adjacencies are rebuilt).
    pub fn set_interface_mac(&mut self, sw_if_index: u32, mac: [u8; 6]) {
        let i = sw_if_index as usize;
        if self.if_macs.len() <= i {
            self.if_macs.resize(i + 1, [0; 6]);
        }
        self.if_macs[i] = mac;
        for a in self.adjs.items.iter_mut() {
            if a.sw_if_index == sw_if_index {
                a.rewrite[6..12].copy_from_slice(&mac);
            }
        }
    }

    fn if_mac(&self, sw_if_index: u32) -> [u8; 6] {
        self.if_macs
            .get(sw_if_index as usize)
            .copied()
            .unwrap_or([0; 6])
    }

    // ---- fast-path accessors ----

    /// The load-balance of an index.
    #[inline(always)]
    pub fn lb(&self, index: u32) -> &LoadBalance {
        &self.lbs.items[index as usize]
    }

    /// Number of load-balances in use (allocated slots less the freed ones).
    pub fn lbs_in_use(&self) -> usize {
        self.lbs.items.len() - self.lbs.free.len()
    }

    /// Number of load-balance slots allocated.
    pub fn n_lbs(&self) -> usize {
        self.lbs.items.len()
    }

    /// An adjacency.
    #[inline]
    pub fn adj(&self, index: u32) -> Option<&Adjacency> {
        if !self.adjs.is_live(index) {
            return None;
        }
        self.adjs.items.get(index as usize)
    }

    /// Number of adjacencies.
    pub fn n_adjs(&self) -> usize {
        self.adjs.items.len()
    }

    /// A receive DPO.
    pub fn receive(&self, index: u32) -> Option<&ReceiveDpo> {
        self.receives.items.get(index as usize)
    }

    /// ip4-lookup next slot for a DPO.
    #[inline(always)]
    pub fn dpo_next(&self, d: Dpo) -> u16 {
        match d.kind {
            DpoKind::Drop => lookup_next::DROP,
            DpoKind::Receive => lookup_next::LOCAL,
            DpoKind::LoadBalance => lookup_next::LOAD_BALANCE,
            DpoKind::Adjacency => self
                .adj_next
                .get(d.index as usize)
                .copied()
                .unwrap_or(lookup_next::DROP),
        }
    }

    /// Longest-prefix match in a table: the LB index.
    #[inline(always)]
    pub fn lookup(&self, fib_index: u32, addr: u32) -> u32 {
        match self.tables.get(fib_index as usize) {
            Some(t) => t.mtrie.lookup(addr),
            None => 0,
        }
    }

    // ---- adjacencies ----

    fn adj_alloc(&mut self, a: Adjacency) -> u32 {
        let next = match (a.kind, a.complete) {
            (AdjKind::Glean, _) => lookup_next::GLEAN,
            (AdjKind::Neighbor, true) => lookup_next::REWRITE,
            (AdjKind::Neighbor, false) => lookup_next::ARP,
        };
        let i = self.adjs.alloc(a);
        if self.adj_next.len() <= i as usize {
            self.adj_next.resize(i as usize + 1, lookup_next::DROP);
        }
        self.adj_next[i as usize] = next;
        i
    }

    /// The neighbour adjacency for (interface, next hop), created incomplete if needed (or
    /// complete when the neighbour is known).
    pub fn nbr_adj(&mut self, sw_if_index: u32, nh: Ipv4Addr) -> u32 {
        if let Some(&a) = self.nbr_adj.get(&(sw_if_index, nh)) {
            return a;
        }
        let mut rewrite = [0u8; 14];
        rewrite[6..12].copy_from_slice(&self.if_mac(sw_if_index));
        rewrite[12..14].copy_from_slice(&[0x08, 0x00]);
        let known = self.neighbors.get(&(sw_if_index, nh)).map(|n| n.mac);
        if let Some(mac) = known {
            rewrite[0..6].copy_from_slice(&mac);
        }
        let a = self.adj_alloc(Adjacency {
            kind: AdjKind::Neighbor,
            sw_if_index,
            next_hop: nh,
            rewrite,
            complete: known.is_some(),
        });
        self.nbr_adj.insert((sw_if_index, nh), a);
        a
    }

    /// The glean adjacency of an interface.
    pub fn glean_adj(&mut self, sw_if_index: u32) -> u32 {
        if let Some(&a) = self.glean_adj.get(&sw_if_index) {
            return a;
        }
        let mut rewrite = [0xffu8; 14];
        rewrite[6..12].copy_from_slice(&self.if_mac(sw_if_index));
        rewrite[12..14].copy_from_slice(&[0x08, 0x06]);
        let addr = self
            .if_addrs
            .get(sw_if_index as usize)
            .and_then(|v| v.first())
            .map(|a| a.0)
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let a = self.adj_alloc(Adjacency {
            kind: AdjKind::Glean,
            sw_if_index,
            next_hop: addr,
            rewrite,
            complete: true,
        });
        self.glean_adj.insert(sw_if_index, a);
        a
    }

    fn update_adj_mac(&mut self, sw_if_index: u32, nh: Ipv4Addr, mac: Option<[u8; 6]>) {
        if let Some(&a) = self.nbr_adj.get(&(sw_if_index, nh)) {
            let adj = &mut self.adjs.items[a as usize];
            match mac {
                Some(m) => {
                    adj.rewrite[0..6].copy_from_slice(&m);
                    adj.complete = true;
                    self.adj_next[a as usize] = lookup_next::REWRITE;
                }
                None => {
                    adj.rewrite[0..6].fill(0);
                    adj.complete = false;
                    self.adj_next[a as usize] = lookup_next::ARP;
                }
            }
        }
    }

    // ---- neighbours ----

    /// Add or update a neighbour (static from the CLI, dynamic from ARP) at time `now_ns`.
    /// Installs the host route unless `fib_entry` is false. A learned entry never overwrites a
    /// static one.
    pub fn add_neighbor(
        &mut self,
        sw_if_index: u32,
        ip: Ipv4Addr,
        mac: [u8; 6],
        is_static: bool,
        fib_entry: bool,
        now_ns: u64,
    ) -> Result<(), FibError> {
        if let Some(n) = self.neighbors.get(&(sw_if_index, ip)) {
            if n.is_static && !is_static {
                return Ok(());
            }
        }
        self.neighbors.insert(
            (sw_if_index, ip),
            Neighbor {
                mac,
                is_static,
                fib_entry,
                updated_ns: now_ns,
            },
        );
        self.update_adj_mac(sw_if_index, ip, Some(mac));
        if fib_entry {
            let fib = self.interface_fib(sw_if_index);
            self.add_path(
                fib,
                ip,
                32,
                Source::Adjacency,
                Path::new(PathKind::AttachedNextHop {
                    nh: ip,
                    sw_if_index,
                }),
            )?;
        }
        Ok(())
    }

    /// Remove a neighbour: its adjacency becomes incomplete and its host route goes.
    pub fn del_neighbor(&mut self, sw_if_index: u32, ip: Ipv4Addr) -> Result<(), FibError> {
        let n = self
            .neighbors
            .remove(&(sw_if_index, ip))
            .ok_or_else(|| FibError(format!("no neighbor {ip} on interface {sw_if_index}")))?;
        self.update_adj_mac(sw_if_index, ip, None);
        if n.fib_entry {
            let fib = self.interface_fib(sw_if_index);
            let _ = self.del_source(fib, ip, 32, Source::Adjacency);
        }
        Ok(())
    }

    // ---- interface addresses ----

    /// Add an address to an interface: connected subnet (glean) and local /32 (receive).
    pub fn add_interface_address(
        &mut self,
        sw_if_index: u32,
        addr: Ipv4Addr,
        len: u8,
    ) -> Result<(), FibError> {
        if len > 32 {
            return Err(FibError(format!("prefix length {len} > 32")));
        }
        let i = sw_if_index as usize;
        if self.if_addrs.len() <= i {
            self.if_addrs.resize(i + 1, Vec::new());
        }
        if self.if_addrs[i].iter().any(|a| a.0 == addr) {
            return Err(FibError(format!(
                "{addr} is already configured on this interface"
            )));
        }
        let fib = self.interface_fib(sw_if_index);
        let a = u32::from(addr);
        for (other, addrs) in self.if_addrs.iter().enumerate() {
            for &(oa, ol) in addrs {
                let m = mask(len.min(ol));
                if other != i
                    && (u32::from(oa) & m) == (a & m)
                    && self.interface_fib(other as u32) == fib
                {
                    return Err(FibError(format!(
                        "{addr}/{len} overlaps {oa}/{ol} on another interface (sw_if_index {other})"
                    )));
                }
            }
        }
        self.if_addrs[i].push((addr, len));
        if len < 32 {
            self.add_path(
                fib,
                addr,
                len,
                Source::Interface,
                Path::new(PathKind::Attached { sw_if_index }),
            )?;
            // The glean adjacency names the first address.
            if let Some(&g) = self.glean_adj.get(&sw_if_index) {
                self.adjs.items[g as usize].next_hop = self.if_addrs[i][0].0;
            }
        }
        self.add_path(
            fib,
            addr,
            32,
            Source::Interface,
            Path::new(PathKind::Receive { sw_if_index, addr }),
        )?;
        Ok(())
    }

    /// Remove an address from an interface.
    pub fn del_interface_address(
        &mut self,
        sw_if_index: u32,
        addr: Ipv4Addr,
        len: u8,
    ) -> Result<(), FibError> {
        let i = sw_if_index as usize;
        let pos = self
            .if_addrs
            .get(i)
            .and_then(|v| v.iter().position(|a| *a == (addr, len)))
            .ok_or_else(|| FibError(format!("{addr}/{len} is not configured on this interface")))?;
        self.if_addrs[i].remove(pos);
        let fib = self.interface_fib(sw_if_index);
        if len < 32 {
            self.del_source(fib, addr, len, Source::Interface)?;
        }
        self.del_source(fib, addr, 32, Source::Interface)?;
        Ok(())
    }

    /// Forget a deleted interface: its addresses, its neighbours, every route path through it
    /// (a route left without paths goes, as when the CLI deletes it), its adjacencies (their
    /// indices are reused) and its per-interface settings, so that an interface that later gets
    /// the same sw_if_index starts clean.
    pub fn interface_deleted(&mut self, sw_if_index: u32) {
        let i = sw_if_index as usize;
        let addrs = self.if_addrs.get(i).cloned().unwrap_or_default();
        for (a, l) in addrs {
            let _ = self.del_interface_address(sw_if_index, a, l);
        }
        let nbrs: Vec<_> = self
            .neighbors
            .range((sw_if_index, Ipv4Addr::UNSPECIFIED)..=(sw_if_index, Ipv4Addr::BROADCAST))
            .map(|(k, _)| *k)
            .collect();
        for (s, ip) in nbrs {
            let _ = self.del_neighbor(s, ip);
        }
        self.unnumbered.remove(&sw_if_index);
        self.unnumbered.retain(|_, to| *to != sw_if_index);
        let through = |k: &PathKind| match *k {
            PathKind::AttachedNextHop { sw_if_index: s, .. }
            | PathKind::Attached { sw_if_index: s }
            | PathKind::Receive { sw_if_index: s, .. } => s == sw_if_index,
            _ => false,
        };
        let mut paths = Vec::new();
        for (e, entry) in self.entries.items.iter().enumerate() {
            let Some(entry) = entry else { continue };
            for (src, ps) in &entry.sources {
                for p in ps.iter().filter(|p| through(&p.kind)) {
                    let fib = self.entry_table.get(e).copied().unwrap_or(0);
                    paths.push((fib, Ipv4Addr::from(entry.addr), entry.len, *src, p.kind));
                }
            }
        }
        for (fib, a, l, src, kind) in paths {
            let _ = self.del_path(fib, a, l, src, kind);
        }
        let mut adjs: Vec<u32> = self
            .nbr_adj
            .iter()
            .filter(|((s, _), _)| *s == sw_if_index)
            .map(|(_, &a)| a)
            .collect();
        self.nbr_adj.retain(|(s, _), _| *s != sw_if_index);
        adjs.extend(self.glean_adj.remove(&sw_if_index));
        // Released in index order, so the next interface's adjacencies come back in VPP's LIFO
        // order of its pool.
        adjs.sort_unstable();
        for a in adjs {
            self.adj_next[a as usize] = lookup_next::DROP;
            self.adjs.release(a);
        }
        if let Some(n) = self.if_rewrite_next.get_mut(i) {
            *n = 0;
        }
        if let Some(m) = self.if_macs.get_mut(i) {
            *m = [0; 6];
        }
        if let Some(f) = self.if_fib.get_mut(i) {
            *f = 0;
        }
    }

    /// Put an interface in table `fib` (`set interface ip table`): its addresses, routes
    /// through it and neighbours live in one table, so it must have none yet.
    pub fn set_interface_table(&mut self, sw_if_index: u32, fib: u32) -> Result<(), FibError> {
        if fib as usize >= self.tables.len() {
            return Err(FibError(format!("no FIB with index {fib}")));
        }
        if self.interface_fib(sw_if_index) == fib {
            return Ok(());
        }
        if self
            .if_addrs
            .get(sw_if_index as usize)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(FibError(
                "the interface has IP addresses: remove them first (`set interface ip address del IF all`), then add them in the new table".into(),
            ));
        }
        if self.neighbors.keys().any(|&(sw, _)| sw == sw_if_index) {
            return Err(FibError(
                "the interface has IP neighbours: delete them first (`set ip neighbor del ...`)"
                    .into(),
            ));
        }
        let i = sw_if_index as usize;
        if self.if_fib.len() <= i {
            self.if_fib.resize(i + 1, 0);
        }
        self.if_fib[i] = fib;
        Ok(())
    }

    /// First address of an interface (or of the interface it is unnumbered to).
    pub fn interface_address(&self, sw_if_index: u32) -> Option<Ipv4Addr> {
        let sw = self
            .unnumbered
            .get(&sw_if_index)
            .copied()
            .unwrap_or(sw_if_index);
        self.if_addrs
            .get(sw as usize)
            .and_then(|v| v.first())
            .map(|a| a.0)
    }

    /// The interface address (and length) whose subnet contains `ip`, on `sw_if_index`
    /// (unnumbered interfaces use their donor's addresses).
    pub fn connected_address(&self, sw_if_index: u32, ip: Ipv4Addr) -> Option<(Ipv4Addr, u8)> {
        let sw = self
            .unnumbered
            .get(&sw_if_index)
            .copied()
            .unwrap_or(sw_if_index);
        let v = u32::from(ip);
        self.if_addrs
            .get(sw as usize)?
            .iter()
            .copied()
            .find(|&(a, l)| {
                let m = mask(l);
                (u32::from(a) & m) == (v & m)
            })
    }

    /// True if `ip` is one of our addresses (any interface).
    pub fn is_local_address(&self, ip: Ipv4Addr) -> bool {
        self.if_addrs.iter().any(|v| v.iter().any(|a| a.0 == ip))
    }

    // ---- entries ----

    fn entry_index(&self, fib: u32, addr: u32, len: u8) -> Option<u32> {
        self.tables
            .get(fib as usize)?
            .entries
            .get(&(addr & mask(len), len))
            .copied()
    }

    /// An entry by prefix.
    pub fn entry(&self, fib: u32, addr: Ipv4Addr, len: u8) -> Option<&FibEntry> {
        let e = self.entry_index(fib, u32::from(addr), len)?;
        self.entries.items[e as usize].as_ref()
    }

    /// Entries of a table sorted by prefix.
    pub fn table_entries(&self, fib: u32) -> Vec<&FibEntry> {
        let Some(t) = self.tables.get(fib as usize) else {
            return Vec::new();
        };
        let mut v: Vec<&FibEntry> = t
            .entries
            .values()
            .filter_map(|&e| self.entries.items[e as usize].as_ref())
            .collect();
        v.sort_by_key(|e| (e.addr, e.len));
        v
    }

    /// Number of tables (fib indices `0..n`).
    pub fn n_tables(&self) -> u32 {
        self.tables.len() as u32
    }

    /// Entries of a table per prefix length (`show ip fib summary`): (length, count), lengths
    /// with no entry left out.
    pub fn prefix_length_counts(&self, fib: u32) -> Vec<(u8, usize)> {
        let mut n = [0usize; 33];
        if let Some(t) = self.tables.get(fib as usize) {
            for (&(_, len), &e) in &t.entries {
                if self.entries.items[e as usize].is_some() {
                    n[usize::from(len.min(32))] += 1;
                }
            }
        }
        (0..=32u8)
            .filter(|&l| n[usize::from(l)] > 0)
            .map(|l| (l, n[usize::from(l)]))
            .collect()
    }

    /// Number of entries in a table.
    pub fn n_entries(&self, fib: u32) -> usize {
        self.tables.get(fib as usize).map_or(0, |t| t.entries.len())
    }

    /// Add a path to `addr/len` from `source` (creating the entry).
    pub fn add_path(
        &mut self,
        fib: u32,
        addr: Ipv4Addr,
        len: u8,
        source: Source,
        path: Path,
    ) -> Result<u32, FibError> {
        if len > 32 {
            return Err(FibError(format!("prefix length {len} > 32")));
        }
        if (fib as usize) >= self.tables.len() {
            return Err(FibError(format!("no FIB with index {fib}")));
        }
        if path.weight == 0 {
            return Err(FibError("path weight must be at least 1".into()));
        }
        let a = u32::from(addr) & mask(len);
        let mut created = false;
        let e = match self.entry_index(fib, a, len) {
            Some(e) => e,
            None => {
                created = true;
                let lb = self.lbs.alloc(LoadBalance::single(Dpo::DROP));
                let e = self.entries.alloc(Some(FibEntry {
                    addr: a,
                    len,
                    lb,
                    sources: Vec::new(),
                }));
                self.lbs.items[lb as usize].owner = e;
                self.set_entry_table(e, fib);
                self.tables[fib as usize].entries.insert((a, len), e);
                self.tables[fib as usize].mtrie.insert(a, len, lb);
                e
            }
        };
        {
            let entry = self.entries.items[e as usize].as_mut().expect("live entry");
            match entry.sources.iter_mut().find(|(s, _)| *s == source) {
                Some((_, paths)) => {
                    if let Some(p) = paths.iter_mut().find(|p| p.kind == path.kind) {
                        p.weight = path.weight;
                    } else {
                        paths.push(path);
                    }
                }
                None => {
                    entry.sources.push((source, vec![path]));
                    entry.sources.sort_by_key(|(s, _)| *s);
                }
            }
        }
        if let PathKind::Recursive { nh } | PathKind::Track { nh } = path.kind {
            let deps = self.recursive_deps.entry((fib, nh)).or_default();
            if !deps.contains(&e) {
                deps.push(e);
            }
        }
        self.restack(e);
        if created {
            self.prefix_changed(fib, a, len);
        }
        Ok(e)
    }

    /// Remove one path of `source` from `addr/len` (the source goes when its last path does).
    pub fn del_path(
        &mut self,
        fib: u32,
        addr: Ipv4Addr,
        len: u8,
        source: Source,
        path: PathKind,
    ) -> Result<(), FibError> {
        let a = u32::from(addr) & mask(len);
        let e = self
            .entry_index(fib, a, len)
            .ok_or_else(|| FibError(format!("no route {addr}/{len}")))?;
        let entry = self.entries.items[e as usize].as_mut().expect("live entry");
        let (_, paths) = entry
            .sources
            .iter_mut()
            .find(|(s, _)| *s == source)
            .ok_or_else(|| FibError(format!("no route {addr}/{len} from {}", source.name())))?;
        let before = paths.len();
        paths.retain(|p| p.kind != path);
        if paths.len() == before {
            return Err(FibError(format!("route {addr}/{len} has no such path")));
        }
        if paths.is_empty() {
            return self.del_source(fib, addr, len, source);
        }
        self.restack(e);
        Ok(())
    }

    /// Remove every path a source gave `addr/len`; the entry goes when no source is left.
    pub fn del_source(
        &mut self,
        fib: u32,
        addr: Ipv4Addr,
        len: u8,
        source: Source,
    ) -> Result<(), FibError> {
        let a = u32::from(addr) & mask(len);
        let e = self
            .entry_index(fib, a, len)
            .ok_or_else(|| FibError(format!("no route {addr}/{len}")))?;
        let entry = self.entries.items[e as usize].as_mut().expect("live entry");
        let before = entry.sources.len();
        let removed: Vec<Path> = entry
            .sources
            .iter()
            .filter(|(s, _)| *s == source)
            .flat_map(|(_, p)| p.clone())
            .collect();
        entry.sources.retain(|(s, _)| *s != source);
        if entry.sources.len() == before {
            return Err(FibError(format!(
                "no route {addr}/{len} from {}",
                source.name()
            )));
        }
        for p in removed {
            if let PathKind::Recursive { nh } | PathKind::Track { nh } = p.kind {
                if let Some(d) = self.recursive_deps.get_mut(&(fib, nh)) {
                    d.retain(|&x| x != e);
                }
            }
        }
        if entry.sources.is_empty() {
            let lb = entry.lb;
            self.entries.items[e as usize] = None;
            self.entries.release(e);
            self.tables[fib as usize].entries.remove(&(a, len));
            // Fall back to the longest remaining cover.
            let (cover_lb, cover_len) = self.cover_of(fib, a, len);
            self.tables[fib as usize]
                .mtrie
                .remove(a, len, cover_lb, cover_len);
            self.set_lb(lb, LoadBalance::single(Dpo::DROP));
            self.lbs.release(lb);
            // Anything stacked on the freed LB must re-resolve.
            self.restack_users_of_lb(lb);
            self.prefix_changed(fib, a, len);
        } else {
            self.restack(e);
        }
        Ok(())
    }

    /// (LB, length) of the longest prefix strictly covering `a/len`.
    fn cover_of(&self, fib: u32, a: u32, len: u8) -> (u32, u8) {
        let t = &self.tables[fib as usize];
        for l in (0..len).rev() {
            if let Some(&e) = t.entries.get(&(a & mask(l), l)) {
                if let Some(en) = &self.entries.items[e as usize] {
                    return (en.lb, l);
                }
            }
        }
        (self.lb_of_default(fib), 0)
    }

    fn lb_of_default(&self, fib: u32) -> u32 {
        let t = &self.tables[fib as usize];
        t.entries
            .get(&(0, 0))
            .and_then(|&e| self.entries.items[e as usize].as_ref())
            .map(|e| e.lb)
            .unwrap_or(0)
    }

    /// Best entry for an address, excluding one entry (for recursive resolution).
    fn best_entry_excluding(&self, fib: u32, ip: u32, exclude: u32) -> Option<u32> {
        let t = &self.tables[fib as usize];
        (0..=32u8)
            .rev()
            .filter_map(|l| t.entries.get(&(ip & mask(l), l)).copied())
            .find(|&e| e != exclude)
    }

    /// Recompute an entry's LB buckets from its best source's paths.
    fn restack(&mut self, e: u32) {
        let Some(entry) = self.entries.items[e as usize].clone() else {
            return;
        };
        let fib = self.entry_table[e as usize];
        let paths = entry.best().map(|(_, p)| p.clone()).unwrap_or_default();
        let mut dpos: Vec<(Dpo, u32)> = Vec::new();
        for p in &paths {
            let d = match p.kind {
                PathKind::Drop | PathKind::Unreachable => Dpo::DROP,
                PathKind::Receive { sw_if_index, addr } => {
                    let index = match self.receive_by_addr.get(&(sw_if_index, addr)) {
                        Some(&r) => r,
                        None => {
                            let r = self.receives.alloc(ReceiveDpo { sw_if_index, addr });
                            self.receive_by_addr.insert((sw_if_index, addr), r);
                            r
                        }
                    };
                    Dpo {
                        kind: DpoKind::Receive,
                        index,
                    }
                }
                PathKind::Attached { sw_if_index } => Dpo {
                    kind: DpoKind::Adjacency,
                    index: self.glean_adj(sw_if_index),
                },
                PathKind::AttachedNextHop { nh, sw_if_index } => Dpo {
                    kind: DpoKind::Adjacency,
                    index: self.nbr_adj(sw_if_index, nh),
                },
                PathKind::Recursive { nh } => self.resolve_recursive(fib, nh, e),
                PathKind::Track { nh } => self.resolve_track(fib, nh, e),
            };
            dpos.push((d, p.weight));
        }
        if dpos.is_empty() {
            dpos.push((Dpo::DROP, 1));
        }
        let unreachable =
            paths.iter().all(|p| p.kind == PathKind::Unreachable) && !paths.is_empty();
        let lb = entry.lb;
        let owner = self.lbs.items[lb as usize].owner;
        let mut new = if unreachable {
            // Unreachable routes are marked by a single drop bucket with index 1.
            LoadBalance::single(Dpo {
                kind: DpoKind::Drop,
                index: 1,
            })
        } else {
            LoadBalance::new(normalize(&dpos))
        };
        new.owner = owner;
        self.set_lb(lb, new);
    }

    /// Replace a load-balance, keeping the index of which load-balances stack on which.
    fn set_lb(&mut self, lb: u32, new: LoadBalance) {
        let stacked = |l: &LoadBalance| -> SmallVec<[u32; 4]> {
            let mut v: SmallVec<[u32; 4]> = l
                .buckets
                .iter()
                .filter(|d| d.kind == DpoKind::LoadBalance)
                .map(|d| d.index)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (old_t, new_t) = (stacked(&self.lbs.items[lb as usize]), stacked(&new));
        if old_t != new_t {
            for t in &old_t {
                if let Some(u) = self.lb_users.get_mut(t) {
                    u.retain(|x| *x != lb);
                    if u.is_empty() {
                        self.lb_users.remove(t);
                    }
                }
            }
            for t in new_t {
                let u = self.lb_users.entry(t).or_default();
                if !u.contains(&lb) {
                    u.push(lb);
                }
            }
        }
        self.lbs.items[lb as usize] = new;
    }

    fn resolve_recursive(&mut self, fib: u32, nh: Ipv4Addr, from: u32) -> Dpo {
        if self.depth > 8 {
            return Dpo::DROP;
        }
        let Some(res) = self.best_entry_excluding(fib, u32::from(nh), from) else {
            return Dpo::DROP;
        };
        let en = self.entries.items[res as usize]
            .clone()
            .expect("live entry");
        // Through a connected subnet: give the next hop a host entry of its own (ARP resolves it).
        if let Some((_, paths)) = en.best() {
            if let Some(PathKind::Attached { sw_if_index }) = paths.first().map(|p| p.kind) {
                if en.len < 32 {
                    if let Some(h) = self.entry_index(fib, u32::from(nh), 32) {
                        let lb = self.entries.items[h as usize].as_ref().expect("live").lb;
                        return Dpo {
                            kind: DpoKind::LoadBalance,
                            index: lb,
                        };
                    }
                    return match self.add_path(
                        fib,
                        nh,
                        32,
                        Source::RecursiveResolution,
                        Path::new(PathKind::AttachedNextHop { nh, sw_if_index }),
                    ) {
                        Ok(host) => Dpo {
                            kind: DpoKind::LoadBalance,
                            index: self.entries.items[host as usize]
                                .as_ref()
                                .expect("live entry")
                                .lb,
                        },
                        Err(_) => Dpo::DROP,
                    };
                }
            }
            if en.len == 0 {
                // Only the default route covers it: VPP does not resolve via the default.
                if paths.iter().all(|p| p.kind == PathKind::Drop) {
                    return Dpo::DROP;
                }
            }
        }
        Dpo {
            kind: DpoKind::LoadBalance,
            index: en.lb,
        }
    }

    fn resolve_track(&mut self, fib: u32, nh: Ipv4Addr, from: u32) -> Dpo {
        let Some(cover) = self.best_entry_excluding(fib, u32::from(nh), from) else {
            return Dpo::DROP;
        };
        let en = self.entries.items[cover as usize]
            .clone()
            .expect("live entry");
        let Some((_, paths)) = en.best() else {
            return Dpo::DROP;
        };
        match paths.first().map(|p| p.kind) {
            Some(PathKind::Attached { sw_if_index }) => Dpo {
                kind: DpoKind::Adjacency,
                index: self.nbr_adj(sw_if_index, nh),
            },
            _ if en.len == 0 && paths.iter().all(|p| p.kind == PathKind::Drop) => Dpo::DROP,
            _ => Dpo {
                kind: DpoKind::LoadBalance,
                index: en.lb,
            },
        }
    }

    /// Track `addr/32` for a tunnel (VPP's `fib_entry_track`): the entry exists while tracked and
    /// forwards as its best source says (a neighbour's host route, or like its cover). Returns
    /// the entry index and its load-balance, whose index stays the same for the entry's life.
    pub fn track(&mut self, fib: u32, addr: Ipv4Addr) -> Result<(u32, u32), FibError> {
        let e = self.add_path(
            fib,
            addr,
            32,
            Source::RecursiveResolution,
            Path::new(PathKind::Track { nh: addr }),
        )?;
        let lb = self.entries.items[e as usize].as_ref().expect("live").lb;
        Ok((e, lb))
    }

    /// Stop tracking `addr/32`.
    pub fn untrack(&mut self, fib: u32, addr: Ipv4Addr) {
        let _ = self.del_path(
            fib,
            addr,
            32,
            Source::RecursiveResolution,
            PathKind::Track { nh: addr },
        );
    }

    /// The interface a load-balance sends out of (its first bucket, through recursive
    /// load-balances), if it ends in an adjacency.
    pub fn lb_egress(&self, lb: u32) -> Option<u32> {
        let mut d = self.lbs.items.get(lb as usize)?.first;
        for _ in 0..8 {
            match d.kind {
                DpoKind::Adjacency => return self.adj(d.index).map(|a| a.sw_if_index),
                DpoKind::LoadBalance => d = self.lbs.items.get(d.index as usize)?.first,
                _ => return None,
            }
        }
        None
    }

    /// An entry was created or deleted: entries whose recursive next hop it covers re-resolve.
    fn prefix_changed(&mut self, fib: u32, a: u32, len: u8) {
        if self.depth > 8 || self.recursive_deps.is_empty() {
            return;
        }
        let m = mask(len);
        let affected: Vec<u32> = self
            .recursive_deps
            .iter()
            .filter(|((f, nh), _)| *f == fib && (u32::from(*nh) & m) == a)
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        self.depth += 1;
        for e in affected {
            if self
                .entries
                .items
                .get(e as usize)
                .is_some_and(|x| x.is_some())
            {
                self.restack(e);
            }
        }
        self.depth -= 1;
    }

    fn restack_users_of_lb(&mut self, lb: u32) {
        let Some(users) = self.lb_users.get(&lb) else {
            return;
        };
        let owners: Vec<u32> = users
            .iter()
            .map(|&u| self.lbs.items[u as usize].owner)
            .filter(|&o| o != u32::MAX)
            .collect();
        for e in owners {
            self.restack(e);
        }
    }

    // ---- formatting ----

    /// `ipv4 via A IF: <rewrite hex>` (VPP 18.01 `format_adj_nbr`), or the glean form.
    pub fn format_adj(&self, index: u32, ifname: &dyn Fn(u32) -> String) -> String {
        let Some(a) = self.adj(index) else {
            return format!("adj-index {index} not found");
        };
        let mut hex = String::new();
        for b in a.rewrite {
            let _ = write!(hex, "{b:02x}");
        }
        match a.kind {
            AdjKind::Neighbor if a.complete => {
                format!("ipv4 via {} {}: {}", a.next_hop, ifname(a.sw_if_index), hex)
            }
            AdjKind::Neighbor => format!("arp-ipv4: via {} {}", a.next_hop, ifname(a.sw_if_index)),
            AdjKind::Glean => format!("ipv4-glean: {}: {}", ifname(a.sw_if_index), hex),
        }
    }

    /// `show ip fib` text for a table (all entries, or those matching `only`).
    pub fn format_table(
        &self,
        fib: u32,
        only: Option<(Ipv4Addr, u8)>,
        ifname: &dyn Fn(u32) -> String,
    ) -> String {
        let Some(t) = self.tables.get(fib as usize) else {
            return String::new();
        };
        let mut s = format!(
            "ipv4-VRF:{}, fib_index:{}, flow hash:[src dst sport dport proto ] entries:{}",
            t.table_id,
            fib,
            t.entries.len()
        );
        // `show ip fib A/L` shows that prefix; `show ip fib A` (or a prefix that is not in the
        // table) shows the longest prefix covering it, as VPP does.
        let pick = only.map(|(a, l)| {
            let a = u32::from(a);
            match self.entry_index(fib, a, l) {
                Some(e) if l < 32 || self.entries.items[e as usize].is_some() => (a & mask(l), l),
                _ => (0..=l)
                    .rev()
                    .find_map(|k| self.entry_index(fib, a, k).map(|_| (a & mask(k), k)))
                    .unwrap_or((0, 0)),
            }
        });
        let entries = match pick {
            // One entry: no need to sort the whole table.
            Some((a, l)) => self
                .entry_index(fib, a, l)
                .and_then(|e| self.entries.items[e as usize].as_ref())
                .into_iter()
                .collect(),
            None => self.table_entries(fib),
        };
        for e in entries {
            let _ = write!(s, "\n{}/{}", Ipv4Addr::from(e.addr), e.len);
            if let Some((src, _)) = e.best() {
                let _ = write!(s, "\n  unicast-ip4-chain (source: {})", src.name());
            }
            let lb = self.lb(e.lb);
            let _ = write!(
                s,
                "\n  [@0]: dpo-load-balance: [proto:ip4 index:{} buckets:{}]",
                e.lb,
                lb.buckets.len()
            );
            for (k, d) in lb.buckets.iter().enumerate() {
                let _ = write!(s, "\n    [{k}] {}", self.format_dpo(*d, ifname));
            }
        }
        s
    }

    /// One DPO as `show ip fib` prints it.
    pub fn format_dpo(&self, d: Dpo, ifname: &dyn Fn(u32) -> String) -> String {
        match d.kind {
            DpoKind::Drop if d.index == 1 => "[@0]: dpo-drop ip4 (unreachable)".into(),
            DpoKind::Drop => "[@0]: dpo-drop ip4".into(),
            DpoKind::Receive => match self.receive(d.index) {
                Some(r) => format!(
                    "[@{}]: dpo-receive: {} on {}",
                    d.index,
                    r.addr,
                    ifname(r.sw_if_index)
                ),
                None => format!("[@{}]: dpo-receive", d.index),
            },
            DpoKind::Adjacency => format!("[@{}]: {}", d.index, self.format_adj(d.index, ifname)),
            DpoKind::LoadBalance => format!(
                "[@{}]: dpo-load-balance: [proto:ip4 index:{} buckets:{}]",
                d.index,
                d.index,
                self.lb(d.index).buckets.len()
            ),
        }
    }

    /// Memory used by the mtries (bytes).
    pub fn mtrie_memory(&self) -> usize {
        self.tables.iter().map(|t| t.mtrie.memory_bytes()).sum()
    }
}

/// Spread weighted DPOs over a power-of-two number of buckets (VPP's normalisation, with at most
/// 64 buckets per path).
pub fn normalize(dpos: &[(Dpo, u32)]) -> SmallVec<[Dpo; 4]> {
    if dpos.len() == 1 {
        return SmallVec::from_elem(dpos[0].0, 1);
    }
    let total: u64 = dpos.iter().map(|d| d.1 as u64).sum();
    let mut n = dpos.len().next_power_of_two();
    let max = (dpos.len() * 64).next_power_of_two();
    // Smallest power of two whose rounding error per path is within 1/(2 * paths) of its share.
    loop {
        let ok = dpos.iter().all(|&(_, w)| {
            let exact = w as f64 * n as f64 / total as f64;
            (exact - exact.round()).abs() <= n as f64 / (16.0 * dpos.len() as f64)
                && exact.round() >= 1.0
        });
        if ok || n >= max {
            break;
        }
        n *= 2;
    }
    let mut out: SmallVec<[Dpo; 4]> = SmallVec::new();
    let mut counts: Vec<usize> = dpos
        .iter()
        .map(|&(_, w)| ((w as f64 * n as f64 / total as f64).round() as usize).max(1))
        .collect();
    // Make the counts add up to n: trim or pad the largest.
    while counts.iter().sum::<usize>() > n {
        let i = (0..counts.len())
            .max_by_key(|&i| counts[i])
            .expect("non-empty");
        counts[i] -= 1;
    }
    while counts.iter().sum::<usize>() < n {
        let i = (0..counts.len())
            .max_by_key(|&i| counts[i])
            .expect("non-empty");
        counts[i] += 1;
    }
    for (k, c) in counts.iter().enumerate() {
        for _ in 0..*c {
            out.push(dpos[k].0);
        }
    }
    out
}

/// VPP's default IPv4 flow hash (src, dst, proto, ports) with Bob Jenkins' lookup3 mix, as
/// `ip4_compute_flow_hash`: a = src (LE u32), b = dst (LE u32) ^ proto, c = (dport << 16) | sport
/// with ports as read little-endian.
#[inline]
pub fn ip4_flow_hash(ip: &[u8]) -> u32 {
    if ip.len() < 20 {
        return 0;
    }
    let src = u32::from_le_bytes([ip[12], ip[13], ip[14], ip[15]]);
    let dst = u32::from_le_bytes([ip[16], ip[17], ip[18], ip[19]]);
    let proto = ip[9] as u32;
    let ihl = ((ip[0] & 0xf) as usize) * 4;
    let (sport, dport) = if (proto == 6 || proto == 17) && ip.len() >= ihl + 4 {
        (
            u16::from_le_bytes([ip[ihl], ip[ihl + 1]]) as u32,
            u16::from_le_bytes([ip[ihl + 2], ip[ihl + 3]]) as u32,
        )
    } else {
        (0, 0)
    };
    let (mut a, mut b, mut c) = (src, dst ^ proto, (dport << 16) | sport);
    mix(&mut a, &mut b, &mut c);
    finalize(&mut a, &mut b, &mut c);
    c
}

/// VPP's `vnet_l2_compute_flow_hash` over an Ethernet frame of header length `l2_len`: the IPv4
/// flow hash of an IPv4 payload, else the hash of the MACs' last four bytes and the ethertype.
/// VXLAN uses it as the outer UDP source port.
#[inline]
pub fn l2_flow_hash(frame: &[u8], l2_len: usize) -> u32 {
    if frame.len() < l2_len || l2_len < 14 {
        return 0;
    }
    let ethertype = u16::from_be_bytes([frame[l2_len - 2], frame[l2_len - 1]]);
    if ethertype == 0x0800 {
        return ip4_flow_hash(&frame[l2_len..]);
    }
    let (mut a, mut b, mut c) = (
        u32::from_le_bytes([frame[2], frame[3], frame[4], frame[5]]),
        u32::from_le_bytes([frame[8], frame[9], frame[10], frame[11]]),
        ethertype as u32,
    );
    mix(&mut a, &mut b, &mut c);
    finalize(&mut a, &mut b, &mut c);
    c
}

#[inline(always)]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

#[inline(always)]
fn finalize(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn fwd(m: &Ip4Main, a: &str) -> Dpo {
        let lb = m.lookup(0, u32::from(ip(a)));
        m.lb(lb).buckets[0]
    }

    fn setup() -> Ip4Main {
        let mut m = Ip4Main::new();
        m.set_interface_mac(1, [2, 0, 0, 0, 0, 1]);
        m.set_interface_mac(2, [2, 0, 0, 0, 0, 2]);
        m.add_interface_address(1, ip("10.1.1.1"), 24).unwrap();
        m.add_interface_address(2, ip("10.20.0.1"), 24).unwrap();
        m
    }

    #[test]
    fn connected_local_and_default() {
        let m = setup();
        assert_eq!(fwd(&m, "8.8.8.8"), Dpo::DROP);
        let d = fwd(&m, "10.1.1.1");
        assert_eq!(d.kind, DpoKind::Receive);
        let g = fwd(&m, "10.1.1.77");
        assert_eq!(g.kind, DpoKind::Adjacency);
        assert_eq!(m.dpo_next(g), lookup_next::GLEAN);
        assert_eq!(m.adj(g.index).unwrap().kind, AdjKind::Glean);
        assert_eq!(fwd(&m, "255.255.255.255"), Dpo::DROP);
    }

    #[test]
    fn neighbor_completes_the_adjacency_used_by_routes() {
        let mut m = setup();
        m.add_path(
            0,
            ip("10.104.221.85"),
            32,
            Source::Cli,
            Path::new(PathKind::AttachedNextHop {
                nh: ip("10.20.0.2"),
                sw_if_index: 2,
            }),
        )
        .unwrap();
        let d = fwd(&m, "10.104.221.85");
        assert_eq!(m.dpo_next(d), lookup_next::ARP, "incomplete until ARP");
        m.add_neighbor(2, ip("10.20.0.2"), [2, 0, 0, 0, 0, 0x20], true, true, 0)
            .unwrap();
        let d2 = fwd(&m, "10.104.221.85");
        assert_eq!(d2, d, "same adjacency, now complete");
        assert_eq!(m.dpo_next(d2), lookup_next::REWRITE);
        assert_eq!(
            m.adj(d.index).unwrap().rewrite,
            [2, 0, 0, 0, 0, 0x20, 2, 0, 0, 0, 0, 2, 8, 0]
        );
        assert_eq!(fwd(&m, "10.20.0.2"), d, "host route shares the adjacency");
        let name = |sw: u32| format!("pg{}", sw - 1);
        assert_eq!(
            m.format_adj(d.index, &name),
            "ipv4 via 10.20.0.2 pg1: 020000000020020000000002 0800"
                .replace(' ', "")
                .replacen("ipv4via10.20.0.2pg1:", "ipv4 via 10.20.0.2 pg1: ", 1)
        );
        m.del_neighbor(2, ip("10.20.0.2")).unwrap();
        assert_eq!(m.dpo_next(fwd(&m, "10.104.221.85")), lookup_next::ARP);
        assert_eq!(
            fwd(&m, "10.20.0.2").kind,
            DpoKind::Adjacency,
            "back to the glean of the connected /24"
        );
    }

    #[test]
    fn recursive_route_follows_its_next_hop() {
        let mut m = setup();
        m.add_path(
            0,
            ip("10.96.0.0"),
            12,
            Source::Cli,
            Path::new(PathKind::Recursive {
                nh: ip("10.20.0.2"),
            }),
        )
        .unwrap();
        let d = fwd(&m, "10.104.221.85");
        assert_eq!(
            d.kind,
            DpoKind::LoadBalance,
            "stacked on the next hop's entry"
        );
        let host = m.entry(0, ip("10.20.0.2"), 32).expect("rr host entry");
        assert_eq!(d.index, host.lb);
        assert_eq!(m.dpo_next(m.lb(d.index).buckets[0]), lookup_next::ARP);
        // A more specific route for the next hop takes over.
        m.add_path(
            0,
            ip("10.20.0.0"),
            30,
            Source::Cli,
            Path::new(PathKind::AttachedNextHop {
                nh: ip("10.1.1.9"),
                sw_if_index: 1,
            }),
        )
        .unwrap();
        let d2 = fwd(&m, "10.104.221.85");
        assert_eq!(d2.kind, DpoKind::LoadBalance);
        // 10.20.0.2/32 (rr) is still longer than /30, so it stays the resolution.
        assert_eq!(d2.index, m.entry(0, ip("10.20.0.2"), 32).unwrap().lb);
        m.del_source(0, ip("10.96.0.0"), 12, Source::Cli).unwrap();
        assert_eq!(fwd(&m, "10.104.221.85"), Dpo::DROP);
    }

    #[test]
    fn ecmp_buckets_and_flow_hash() {
        let mut m = setup();
        for nh in ["10.20.0.2", "10.20.0.3"] {
            m.add_path(
                0,
                ip("172.16.0.0"),
                16,
                Source::Cli,
                Path::new(PathKind::AttachedNextHop {
                    nh: ip(nh),
                    sw_if_index: 2,
                }),
            )
            .unwrap();
        }
        let lb = m.lookup(0, u32::from(ip("172.16.1.1")));
        assert_eq!(m.lb(lb).buckets.len(), 2);
        assert_ne!(m.lb(lb).buckets[0], m.lb(lb).buckets[1]);
        let w = normalize(&[
            (Dpo::DROP, 3),
            (
                Dpo {
                    kind: DpoKind::Receive,
                    index: 0,
                },
                1,
            ),
        ]);
        assert_eq!(w.len(), 4);
        assert_eq!(w.iter().filter(|d| **d == Dpo::DROP).count(), 3);
    }

    #[test]
    fn flow_hash_matches_the_documented_vxlan_source_ports() {
        // scenarios.md §0.6: 10.1.1.12:60996 -> 10.1.2.13:8080 gives UDP source port 50038.
        let mut ip4 = [0u8; 24];
        ip4[0] = 0x45;
        ip4[9] = 6;
        ip4[12..16].copy_from_slice(&[10, 1, 1, 12]);
        ip4[16..20].copy_from_slice(&[10, 1, 2, 13]);
        ip4[20..22].copy_from_slice(&60996u16.to_be_bytes());
        ip4[22..24].copy_from_slice(&8080u16.to_be_bytes());
        let h = ip4_flow_hash(&ip4) as u16;
        assert_eq!(h.swap_bytes(), 50038);
        ip4[12..16].copy_from_slice(&[10, 1, 1, 3]);
        ip4[16..20].copy_from_slice(&[10, 1, 2, 4]);
        ip4[20..22].copy_from_slice(&49710u16.to_be_bytes());
        assert_eq!((ip4_flow_hash(&ip4) as u16).swap_bytes(), 60039);
    }

    #[test]
    fn address_errors_and_removal() {
        let mut m = setup();
        assert!(m.add_interface_address(1, ip("10.1.1.1"), 24).is_err());
        assert!(
            m.add_interface_address(3, ip("10.1.1.200"), 24).is_err(),
            "overlap"
        );
        m.del_interface_address(1, ip("10.1.1.1"), 24).unwrap();
        assert_eq!(fwd(&m, "10.1.1.1"), Dpo::DROP);
        assert!(m.del_interface_address(1, ip("10.1.1.1"), 24).is_err());
        assert!(m
            .del_source(0, ip("1.2.3.0"), 24, Source::Cli)
            .unwrap_err()
            .0
            .contains("no route"));
    }

    #[test]
    fn indices_are_reused_lifo() {
        let mut m = setup();
        let p = |m: &mut Ip4Main, a: &str| {
            m.add_path(
                0,
                ip(a),
                32,
                Source::Cli,
                Path::new(PathKind::AttachedNextHop {
                    nh: ip("10.20.0.2"),
                    sw_if_index: 2,
                }),
            )
            .unwrap()
        };
        let e1 = p(&mut m, "1.1.1.1");
        let lb1 = m.entry(0, ip("1.1.1.1"), 32).unwrap().lb;
        m.del_source(0, ip("1.1.1.1"), 32, Source::Cli).unwrap();
        let e2 = p(&mut m, "2.2.2.2");
        assert_eq!(e1, e2);
        assert_eq!(m.entry(0, ip("2.2.2.2"), 32).unwrap().lb, lb1);
    }
}
