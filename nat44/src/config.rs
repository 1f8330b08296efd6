//! NAT44 configuration shared by the nodes (read once per frame) and the CLI: pool addresses,
//! interface roles, static / load-balancing / identity mappings and their lookup tables, global
//! knobs.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::Ipv4Addr;

use crate::session::Timeouts;

/// Session limit per thread when `nat44 plugin enable` gives no `sessions N` (10 × 1024).
pub const DEFAULT_SESSION_LIMIT: u32 = 10_240;

/// A small, fast hasher for the configuration maps (keys are a few integers).
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHash;

/// The hasher of [`FastHash`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        crate::table::hash2(self.0, 0x5eed)
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// Twice-NAT mode of a static mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwiceNat {
    /// Only the local side is translated.
    Disabled,
    /// The remote side is always translated to a twice-NAT pool address.
    Twice,
    /// The remote side is translated when it is the chosen local itself (hairpin).
    SelfTwice,
}

impl TwiceNat {
    /// CLI word.
    pub fn word(self) -> &'static str {
        match self {
            TwiceNat::Disabled => "",
            TwiceNat::Twice => "twice-nat",
            TwiceNat::SelfTwice => "self-twice-nat",
        }
    }
}

/// One endpoint of a load-balancing mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbLocal {
    /// Address.
    pub addr: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// Weight (VPP calls it probability, 1..=100).
    pub probability: u8,
    /// Sum of the weights up to and including this one.
    pub cumulative: u32,
}

/// A static, load-balancing or identity mapping.
#[derive(Clone, Debug)]
pub struct StaticMapping {
    /// External address (resolved from `external_if` when set).
    pub external: Ipv4Addr,
    /// External port (0 for address-only mappings).
    pub external_port: u16,
    /// `external IF`: the interface whose first address is the external address.
    pub external_if: Option<u32>,
    /// IP protocol (0 for address-only mappings).
    pub proto: u8,
    /// Local address (plain and identity mappings).
    pub local: Ipv4Addr,
    /// Local port.
    pub local_port: u16,
    /// Endpoints of a load-balancing mapping (empty otherwise).
    pub locals: Vec<LbLocal>,
    /// Twice-NAT mode.
    pub twice_nat: TwiceNat,
    /// Only outside-initiated sessions (no in2out match by local).
    pub out2in_only: bool,
    /// Identity mapping (local == external, never translates).
    pub identity: bool,
    /// VRF id of the local side.
    pub vrf_id: u32,
    /// FIB index of the local side.
    pub fib: u32,
    /// Client affinity (seconds, 0 = none) of a load-balancing mapping.
    pub affinity: u32,
}

impl StaticMapping {
    /// True for address-only (1:1) mappings.
    pub fn addr_only(&self) -> bool {
        self.proto == 0
    }

    /// True for load-balancing mappings.
    pub fn is_lb(&self) -> bool {
        !self.locals.is_empty()
    }
}

/// Key of the static mapping tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SmKey {
    /// Address.
    pub addr: u32,
    /// Port (0: address-only).
    pub port: u16,
    /// Protocol (0: address-only).
    pub proto: u8,
    /// FIB index.
    pub fib: u32,
}

/// NAT role of an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatInterface {
    /// sw_if_index.
    pub sw_if_index: u32,
    /// `in`.
    pub inside: bool,
    /// `out`.
    pub outside: bool,
    /// `output-feature` (post-routing NAT).
    pub output_feature: bool,
}

/// A pool address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolAddress {
    /// Address.
    pub addr: Ipv4Addr,
    /// `tenant-vrf` (None: any).
    pub vrf_id: Option<u32>,
    /// Added by `nat44 add interface address IF` (sw_if_index).
    pub from_interface: Option<u32>,
}

/// A static mapping whose external interface has no address yet.
#[derive(Clone, Debug)]
pub struct PendingMapping {
    /// The mapping, external address unset.
    pub mapping: StaticMapping,
    /// Interface to resolve.
    pub sw_if_index: u32,
}

/// The configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `nat44 plugin enable` was given (the plugin also works without it, with defaults).
    pub enabled: bool,
    /// `nat44 forwarding enable`.
    pub forwarding: bool,
    /// NAT pool.
    pub addresses: Vec<PoolAddress>,
    /// Twice-NAT pool.
    pub twice_nat_addresses: Vec<PoolAddress>,
    /// `nat44 add interface address IF [twice-nat]`: (sw_if_index, twice-nat).
    pub auto_add: Vec<(u32, bool)>,
    /// Interface roles.
    pub interfaces: Vec<NatInterface>,
    /// Mappings by index (None: deleted).
    pub static_mappings: Vec<Option<StaticMapping>>,
    /// Static mappings waiting for their external interface's address.
    pub pending: Vec<PendingMapping>,
    /// Mapping index by external (address, port, protocol, outside FIB).
    pub by_external: HashMap<SmKey, u32, FastHash>,
    /// Mapping index by local (address, port, protocol, FIB).
    pub by_local: HashMap<SmKey, u32, FastHash>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Session limit per thread.
    pub session_limit: u32,
    /// Seed of the port and load-balancing generators.
    pub seed: u64,
    /// Outside FIB index.
    pub outside_fib: u32,
    /// Inside FIB index (default for mappings).
    pub inside_fib: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: false,
            forwarding: false,
            addresses: Vec::new(),
            twice_nat_addresses: Vec::new(),
            auto_add: Vec::new(),
            interfaces: Vec::new(),
            static_mappings: Vec::new(),
            pending: Vec::new(),
            by_external: HashMap::with_hasher(FastHash),
            by_local: HashMap::with_hasher(FastHash),
            timeouts: Timeouts::default(),
            session_limit: DEFAULT_SESSION_LIMIT,
            seed: crate::rng::DEFAULT_SEED,
            outside_fib: 0,
            inside_fib: 0,
        }
    }
}

/// What a static mapping lookup found.
#[derive(Clone, Copy, Debug)]
pub struct SmMatch {
    /// Mapping index.
    pub index: u32,
}

/// A mapping index by (address, port, protocol, FIB), else by address alone (port and protocol
/// 0: address-only mappings).
#[inline]
fn match_mapping(
    map: &HashMap<SmKey, u32, FastHash>,
    addr: u32,
    port: u16,
    proto: u8,
    fib: u32,
) -> Option<u32> {
    if map.is_empty() {
        return None;
    }
    map.get(&SmKey {
        addr,
        port,
        proto,
        fib,
    })
    .or_else(|| {
        map.get(&SmKey {
            addr,
            port: 0,
            proto: 0,
            fib,
        })
    })
    .copied()
}

impl Config {
    /// The role of an interface.
    pub fn interface(&self, sw_if_index: u32) -> Option<&NatInterface> {
        self.interfaces
            .iter()
            .find(|i| i.sw_if_index == sw_if_index)
    }

    /// True if `addr` is a NAT pool address.
    #[inline]
    pub fn is_pool_address(&self, addr: u32) -> bool {
        self.addresses.iter().any(|a| u32::from(a.addr) == addr)
    }

    /// A mapping by index.
    #[inline]
    pub fn mapping(&self, i: u32) -> Option<&StaticMapping> {
        self.static_mappings
            .get(i as usize)
            .and_then(|m| m.as_ref())
    }

    /// Mapping matching an outside destination: (address, port, protocol) first, then
    /// address-only.
    #[inline]
    pub fn match_external(&self, addr: u32, port: u16, proto: u8) -> Option<u32> {
        match_mapping(&self.by_external, addr, port, proto, self.outside_fib)
    }

    /// Mapping matching an inside source: (address, port, protocol, FIB) first, then
    /// address-only.
    #[inline]
    pub fn match_local(&self, addr: u32, port: u16, proto: u8, fib: u32) -> Option<u32> {
        match_mapping(&self.by_local, addr, port, proto, fib)
    }

    /// VPP nat44-classify: true if the destination must go to out2in (a pool address, or the
    /// external address of a mapping that is not an identity mapping).
    #[inline]
    pub fn classify_out2in(&self, dst: u32, dport: u16, proto: u8) -> bool {
        if self.is_pool_address(dst) {
            return true;
        }
        match self.match_external(dst, dport, proto) {
            Some(i) => self.mapping(i).is_some_and(|m| !m.identity),
            None => false,
        }
    }

    /// Keys of a mapping in the external table.
    pub fn external_key(&self, m: &StaticMapping) -> SmKey {
        SmKey {
            addr: u32::from(m.external),
            port: m.external_port,
            proto: m.proto,
            fib: self.outside_fib,
        }
    }

    /// Keys of a mapping in the local table (one per local of a load-balancing mapping).
    pub fn local_keys(&self, m: &StaticMapping) -> Vec<SmKey> {
        if m.out2in_only {
            return Vec::new();
        }
        if m.is_lb() {
            m.locals
                .iter()
                .map(|l| SmKey {
                    addr: u32::from(l.addr),
                    port: l.port,
                    proto: m.proto,
                    fib: m.fib,
                })
                .collect()
        } else {
            vec![SmKey {
                addr: u32::from(m.local),
                port: m.local_port,
                proto: m.proto,
                fib: m.fib,
            }]
        }
    }

    /// Add a mapping (the caller checked that its external key is free); returns its index.
    pub fn insert_mapping(&mut self, m: StaticMapping) -> u32 {
        let ek = self.external_key(&m);
        let lks = self.local_keys(&m);
        let i = match self.static_mappings.iter().position(|x| x.is_none()) {
            Some(i) => i as u32,
            None => {
                self.static_mappings.push(None);
                (self.static_mappings.len() - 1) as u32
            }
        };
        self.by_external.insert(ek, i);
        for k in lks {
            self.by_local.entry(k).or_insert(i);
        }
        self.static_mappings[i as usize] = Some(m);
        i
    }

    /// Remove a mapping by index; returns it.
    pub fn remove_mapping(&mut self, i: u32) -> Option<StaticMapping> {
        let m = self.static_mappings.get_mut(i as usize)?.take()?;
        let ek = self.external_key(&m);
        if self.by_external.get(&ek) == Some(&i) {
            self.by_external.remove(&ek);
        }
        for k in self.local_keys(&m) {
            if self.by_local.get(&k) == Some(&i) {
                self.by_local.remove(&k);
            }
        }
        Some(m)
    }

    /// Number of mappings.
    pub fn n_mappings(&self) -> usize {
        self.static_mappings.iter().filter(|m| m.is_some()).count()
    }
}

/// Fill the cumulative weights of load-balancing locals.
pub fn set_cumulative(locals: &mut [LbLocal]) {
    let mut c = 0u32;
    for l in locals.iter_mut() {
        c += l.probability as u32;
        l.cumulative = c;
    }
}

/// Choose a local of a load-balancing mapping: `r` in `1..=total` picks the first local whose
/// cumulative weight is at least `r` (VPP's binary search over the prefix sums).
pub fn choose_local(locals: &[LbLocal], r: u32) -> usize {
    let (mut lo, mut hi) = (0usize, locals.len().saturating_sub(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if r > locals[mid].cumulative {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_pick_by_prefix_sum() {
        let mut l = vec![
            LbLocal {
                addr: Ipv4Addr::new(1, 1, 1, 1),
                port: 1,
                probability: 20,
                cumulative: 0,
            },
            LbLocal {
                addr: Ipv4Addr::new(1, 1, 1, 2),
                port: 1,
                probability: 30,
                cumulative: 0,
            },
            LbLocal {
                addr: Ipv4Addr::new(1, 1, 1, 3),
                port: 1,
                probability: 50,
                cumulative: 0,
            },
        ];
        set_cumulative(&mut l);
        assert_eq!(choose_local(&l, 1), 0);
        assert_eq!(choose_local(&l, 20), 0);
        assert_eq!(choose_local(&l, 21), 1);
        assert_eq!(choose_local(&l, 50), 1);
        assert_eq!(choose_local(&l, 51), 2);
        assert_eq!(choose_local(&l, 100), 2);
        assert_eq!(choose_local(&l[..1], 7), 0);
    }
}
