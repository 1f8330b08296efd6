//! IPv4 UDP tunnels: VXLAN (VPP 18.01's `vxlan` with HEAD's `instance` option) and Geneve (VPP
//! HEAD's geneve plugin, with `l3-mode`).
//!
//! A tunnel is an interface with no device: what is sent on it (from `l2-output` when it is a
//! bridge-domain member, from `ip4-rewrite` when it is an L3-mode Geneve tunnel) reaches its encap
//! node, which prepends the outer IPv4/UDP/tunnel header from a per-tunnel template and hands the
//! packet to `ip4-load-balance` on the load-balance of the tracked remote endpoint (VPP's stacked
//! `next_dpo`). Decapsulation starts at `ip4-udp-lookup` (UDP 4789 / 6081): the tunnel is found by
//! (outer source, VNI), the inner frame goes to `l2-input` on the tunnel interface, or straight to
//! `ip4-input` for an L3-mode tunnel.
//!
//! The tunnel table is an immutable snapshot behind an `ArcSwap`, as the L2 configuration.

pub mod commands;
pub mod nodes;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use arc_swap::ArcSwap;

/// Which tunnel protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// VXLAN (UDP 4789).
    Vxlan,
    /// Geneve (UDP 6081).
    Geneve,
}

impl Kind {
    /// Interface name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Vxlan => "vxlan_tunnel",
            Kind::Geneve => "geneve_tunnel",
        }
    }

    /// The encap node.
    pub fn encap_node(self) -> &'static str {
        match self {
            Kind::Vxlan => "vxlan4-encap",
            Kind::Geneve => "geneve4-encap",
        }
    }

    /// The decap node.
    pub fn input_node(self) -> &'static str {
        match self {
            Kind::Vxlan => "vxlan4-input",
            Kind::Geneve => "geneve4-input",
        }
    }

    /// UDP destination port.
    pub fn port(self) -> u16 {
        match self {
            Kind::Vxlan => crate::wire::vxlan::UDP_PORT,
            Kind::Geneve => crate::wire::geneve::UDP_PORT,
        }
    }

    /// Name in traces (`VXLAN`, `GENEVE`).
    pub fn trace_name(self) -> &'static str {
        match self {
            Kind::Vxlan => "VXLAN",
            Kind::Geneve => "GENEVE",
        }
    }

    fn idx(self) -> usize {
        match self {
            Kind::Vxlan => 0,
            Kind::Geneve => 1,
        }
    }
}

/// Bytes the encapsulation adds in front of the inner frame: IPv4 (20), UDP (8), VXLAN or Geneve
/// without options (8).
pub const ENCAP_LEN: usize = 36;

/// Slots of the decap nodes.
pub mod decap_next {
    /// error-drop
    pub const DROP: u16 = 0;
    /// l2-input (bridged tunnels)
    pub const L2_INPUT: u16 = 1;
    /// ip4-input (L3-mode Geneve)
    pub const IP4_INPUT: u16 = 2;
    /// Names.
    pub const NAMES: &[&str] = &["error-drop", "l2-input", "ip4-input"];
}

/// A tunnel.
#[derive(Clone, Debug)]
pub struct Tunnel {
    /// Protocol.
    pub kind: Kind,
    /// Pool index (the number traces print).
    pub index: u32,
    /// Number of the interface name (`instance`, else the pool index).
    pub instance: u32,
    /// Our end (outer source).
    pub local: Ipv4Addr,
    /// The other end (outer destination; decap key with the VNI).
    pub remote: Ipv4Addr,
    /// VNI.
    pub vni: u32,
    /// The tunnel interface.
    pub sw_if_index: u32,
    /// FIB the outer packet is routed in.
    pub encap_fib_index: u32,
    /// Table id of that FIB (`encap-vrf-id`).
    pub encap_vrf_id: u32,
    /// FIB entry of the tracked remote endpoint.
    pub fib_entry_index: u32,
    /// Its load-balance (VPP's `encap-dpo-idx`).
    pub encap_lb: u32,
    /// Slot of the decap node for the inner packet ([`decap_next`] or a `decap-next node`).
    pub decap_next: u16,
    /// L3 mode (Geneve): the tunnel is a routed Ethernet interface.
    pub l3_mode: bool,
    /// Outer IPv4 + UDP + tunnel header, IPv4 length 0 and its checksum for length 0.
    pub rewrite: [u8; ENCAP_LEN],
}

/// Identity hasher for the decap key (already a mix of address and VNI).
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Decap key: kind, remote address, VNI.
#[inline(always)]
pub fn decap_key(kind: Kind, remote: u32, vni: u32) -> u64 {
    (kind.idx() as u64) << 63 | (vni as u64) << 32 | remote as u64
}

/// The tunnel table: one immutable snapshot.
#[derive(Clone, Debug, Default)]
pub struct TunnelConfig {
    /// Tunnels by kind and pool index.
    pub pools: [Vec<Option<Tunnel>>; 2],
    /// Free pool indices by kind (most recently freed last).
    pub free: [Vec<u32>; 2],
    /// Decap lookup: [`decap_key`] -> pool index.
    pub by_key: HashMap<u64, u32, std::hash::BuildHasherDefault<KeyHasher>>,
    /// (kind, pool index) of each tunnel interface by sw_if_index.
    pub by_sw: Vec<Option<(Kind, u32)>>,
    /// How many tunnels track each (fib, remote).
    pub tracked: HashMap<(u32, Ipv4Addr), u32>,
}

impl TunnelConfig {
    /// A tunnel by kind and pool index.
    #[inline(always)]
    pub fn get(&self, kind: Kind, index: u32) -> Option<&Tunnel> {
        self.pools[kind.idx()]
            .get(index as usize)
            .and_then(|t| t.as_ref())
    }

    /// The tunnel of an interface.
    #[inline(always)]
    pub fn by_sw_if_index(&self, sw: u32) -> Option<&Tunnel> {
        let (k, i) = (*self.by_sw.get(sw as usize)?)?;
        self.get(k, i)
    }

    /// The tunnel for a decapsulated packet.
    #[inline(always)]
    pub fn lookup(&self, kind: Kind, remote: u32, vni: u32) -> Option<&Tunnel> {
        let i = *self.by_key.get(&decap_key(kind, remote, vni))?;
        self.get(kind, i)
    }

    /// Tunnels of a kind in pool order.
    pub fn tunnels(&self, kind: Kind) -> impl Iterator<Item = &Tunnel> {
        self.pools[kind.idx()].iter().flatten()
    }

    /// The next pool index of a kind (the most recently freed first).
    pub fn next_index(&self, kind: Kind) -> u32 {
        match self.free[kind.idx()].last() {
            Some(&i) => i,
            None => self.pools[kind.idx()].len() as u32,
        }
    }
}

/// Shared handle to the tunnel table.
pub type SharedTunnels = Arc<ArcSwap<TunnelConfig>>;

/// The tunnel state of a dataplane (stored in its extensions).
#[derive(Clone)]
pub struct TunnelMain {
    /// The table.
    pub cfg: SharedTunnels,
}

/// The tunnel state of a dataplane.
pub fn tunnels(dp: &engine::Dataplane) -> &TunnelMain {
    dp.ext::<TunnelMain>()
        .expect("graph-nodes::init registers the tunnel state")
}

/// The outer header template of a tunnel (VPP's tunnel `rewrite`): IPv4 with id 0, no DF, TTL
/// 254, protocol UDP, length 0 and the checksum for length 0 (the encap node adds the length
/// incrementally); UDP to the tunnel port, checksum 0; the tunnel header.
pub fn rewrite(
    kind: Kind,
    local: Ipv4Addr,
    remote: Ipv4Addr,
    vni: u32,
    l3_mode: bool,
) -> [u8; ENCAP_LEN] {
    let mut r = [0u8; ENCAP_LEN];
    r[0] = 0x45;
    r[8] = 254;
    r[9] = 17;
    r[12..16].copy_from_slice(&local.octets());
    r[16..20].copy_from_slice(&remote.octets());
    let c = crate::wire::checksum::ipv4_header_checksum(&r[..20]);
    r[10..12].copy_from_slice(&c.to_be_bytes());
    r[22..24].copy_from_slice(&kind.port().to_be_bytes());
    match kind {
        Kind::Vxlan => crate::wire::vxlan::Packet::new_unchecked(&mut r[28..]).set_header(vni),
        Kind::Geneve => {
            // L3 mode still carries Ethernet frames (the tunnel is an Ethernet interface).
            let _ = l3_mode;
            crate::wire::geneve::Packet::new_unchecked(&mut r[28..])
                .set_header(crate::wire::geneve::PROTO_TEB, vni)
        }
    }
    r
}
