//! Per-thread NAT44 endpoint-dependent session state: the session pool, the two lookup indexes
//! (inside and outside 5-tuples), timeout lists, per-address port pools and the seeded generators.
//!
//! # Sessions
//!
//! A session holds the flow as seen on each side:
//!
//! - `i2o`: inside-to-outside packets before translation have source `i2o.l_addr:i2o.l_port` and
//!   destination `i2o.r_addr:i2o.r_port`;
//! - `o2i`: outside-to-inside packets before translation have destination `o2i.l_addr:o2i.l_port`
//!   and source `o2i.r_addr:o2i.r_port`.
//!
//! Translating in2out rewrites `i2o` into `o2i` (source from `l`, destination from `r`), out2in the
//! reverse. Both 5-tuples (+ protocol and FIB) are indexed, so a lookup is O(1) either way.
//! ICMP echo uses the identifier as both ports.
//!
//! # Pool, limit and reuse
//!
//! Sessions live in a pool whose indices are printed by the node traces. A freed index is reused
//! most-recently-freed first, as VPP's pools do. The pool, its free list and both indexes are sized
//! for the session limit when the limit is set (large arrays in huge pages), so creating a session
//! never allocates. At the limit, the session that expired first is
//! reused, or if none has expired, the least recently used one.
//!
//! # Timeouts
//!
//! Each session is on the list of its timeout class (UDP/other, TCP established, TCP transitory,
//! ICMP). A list is ordered by the second at which its sessions were last queued; a session is
//! requeued at most once per second of activity, so the per-packet cost is one timestamp store.
//! Expiry looks at list heads only: O(1) per expired session.

use engine::mem::HugeSlice;

use crate::rng::Rng;
use crate::table::{hash2, FlowTable};

/// No index.
pub const NIL: u32 = u32::MAX;

/// Session flag bits.
pub mod flags {
    /// Created from a static mapping (or identity mapping).
    pub const STATIC: u8 = 1 << 0;
    /// Created from a load-balancing static mapping.
    pub const LB: u8 = 1 << 1;
    /// The remote side is translated too (twice-NAT / self-twice-NAT).
    pub const TWICE_NAT: u8 = 1 << 2;
    /// Forwarding bypass: tracked but never translated (`nat44 forwarding enable`).
    pub const BYPASS: u8 = 1 << 3;
    /// The in2out fast path hands these to the slow path (VPP keeps twice-NAT, out2in-only and
    /// load-balancing sessions out of its fast-path table).
    pub const SLOW: u8 = 1 << 4;
    /// `o2i.l_port` was allocated from the NAT pool address `o2i.l_addr`.
    pub const DYNAMIC: u8 = 1 << 5;
    /// `i2o.r_port` was allocated from the twice-NAT pool address `i2o.r_addr`.
    pub const TWICE_PORT: u8 = 1 << 6;
}

/// TCP state bits (RFC 7857 tracking).
pub mod tcp {
    /// SYN seen inside to outside.
    pub const SYN_I2O: u8 = 1 << 0;
    /// SYN seen outside to inside.
    pub const SYN_O2I: u8 = 1 << 1;
    /// FIN seen inside to outside.
    pub const FIN_I2O: u8 = 1 << 2;
    /// FIN seen outside to inside.
    pub const FIN_O2I: u8 = 1 << 3;
    /// The inside FIN was acknowledged.
    pub const FIN_I2O_ACKED: u8 = 1 << 4;
    /// The outside FIN was acknowledged.
    pub const FIN_O2I_ACKED: u8 = 1 << 5;
    /// RST seen.
    pub const RST: u8 = 1 << 6;
}

/// TCP header flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Timeout classes (list indices).
pub mod class {
    /// UDP and other protocols.
    pub const UDP: u8 = 0;
    /// TCP established.
    pub const TCP_ESTABLISHED: u8 = 1;
    /// TCP not yet established, closing or closed.
    pub const TCP_TRANSITORY: u8 = 2;
    /// ICMP.
    pub const ICMP: u8 = 3;
    /// Number of classes.
    pub const N: usize = 4;
    /// A free pool entry.
    pub const FREE: u8 = 0xff;
}

/// IP protocol numbers.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

/// VPP's default timeouts, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// UDP (and other protocols).
    pub udp: u32,
    /// TCP established.
    pub tcp_established: u32,
    /// TCP transitory.
    pub tcp_transitory: u32,
    /// ICMP.
    pub icmp: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            udp: 300,
            tcp_established: 7440,
            tcp_transitory: 240,
            icmp: 60,
        }
    }
}

impl Timeouts {
    /// Seconds by class.
    pub fn by_class(&self) -> [u32; class::N] {
        [
            self.udp,
            self.tcp_established,
            self.tcp_transitory,
            self.icmp,
        ]
    }
}

/// One side of a session: local (NAT side) and remote endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Endpoints {
    /// Local address (inside host for `i2o`, external address for `o2i`).
    pub l_addr: u32,
    /// Remote address.
    pub r_addr: u32,
    /// Local port (or ICMP identifier).
    pub l_port: u16,
    /// Remote port (or ICMP identifier).
    pub r_port: u16,
}

/// A session: one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub struct Session {
    /// The flow as seen inside.
    pub i2o: Endpoints,
    /// The flow as seen outside.
    pub o2i: Endpoints,
    /// IP protocol.
    pub proto: u8,
    /// See [`flags`].
    pub flags: u8,
    /// See [`tcp`].
    pub tcp: u8,
    /// Timeout class ([`class`]), `class::FREE` when the entry is free.
    pub class: u8,
    /// Inside FIB index.
    pub in_fib: u16,
    /// Outside FIB index.
    pub out_fib: u16,
    /// Last packet time (ns).
    pub last_heard: u64,
    prev: u32,
    next: u32,
    /// Sequence number of the inside FIN.
    pub i2o_fin_seq: u32,
    /// Sequence number of the outside FIN.
    pub o2i_fin_seq: u32,
    /// Packets translated.
    pub pkts: u32,
    /// Second at which the session was last queued on its timeout list.
    list_sec: u32,
}

const _: () = assert!(std::mem::size_of::<Session>() == 64);

impl Session {
    const FREE: Session = Session {
        i2o: Endpoints {
            l_addr: 0,
            r_addr: 0,
            l_port: 0,
            r_port: 0,
        },
        o2i: Endpoints {
            l_addr: 0,
            r_addr: 0,
            l_port: 0,
            r_port: 0,
        },
        proto: 0,
        flags: 0,
        tcp: 0,
        class: class::FREE,
        in_fib: 0,
        out_fib: 0,
        last_heard: 0,
        prev: NIL,
        next: NIL,
        i2o_fin_seq: 0,
        o2i_fin_seq: 0,
        pkts: 0,
        list_sec: 0,
    };

    /// True if the session was created from a static mapping.
    pub fn is_static(&self) -> bool {
        self.flags & flags::STATIC != 0
    }

    /// Human-readable TCP state.
    pub fn tcp_state_name(&self) -> &'static str {
        let t = self.tcp;
        if t & tcp::RST != 0 {
            "reset"
        } else if t & (tcp::FIN_I2O_ACKED | tcp::FIN_O2I_ACKED)
            == (tcp::FIN_I2O_ACKED | tcp::FIN_O2I_ACKED)
        {
            "closed"
        } else if t & (tcp::FIN_I2O | tcp::FIN_O2I) != 0 {
            "closing"
        } else if t & (tcp::SYN_I2O | tcp::SYN_O2I) == (tcp::SYN_I2O | tcp::SYN_O2I) {
            "established"
        } else {
            "syn"
        }
    }
}

/// A lookup key: one side's 5-tuple plus FIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Local address.
    pub l_addr: u32,
    /// Remote address.
    pub r_addr: u32,
    /// Local port.
    pub l_port: u16,
    /// Remote port.
    pub r_port: u16,
    /// IP protocol.
    pub proto: u8,
    /// FIB index.
    pub fib: u32,
}

impl Key {
    /// The key as two words: addresses, then ports, protocol and FIB (hashed and compared).
    #[inline(always)]
    pub fn words(&self) -> (u64, u64) {
        (
            ((self.l_addr as u64) << 32) | self.r_addr as u64,
            ((self.l_port as u64) << 48)
                | ((self.r_port as u64) << 32)
                | ((self.proto as u64) << 24) ^ self.fib as u64,
        )
    }

    /// The key's hash.
    #[inline(always)]
    pub fn hash(&self) -> u64 {
        let (a, b) = self.words();
        hash2(a, b)
    }
}

/// The words of one side of a session (see [`Key::words`]).
#[inline(always)]
fn side_words(e: &Endpoints, proto: u8, fib: u16) -> (u64, u64) {
    (
        ((e.l_addr as u64) << 32) | e.r_addr as u64,
        ((e.l_port as u64) << 48) | ((e.r_port as u64) << 32) | ((proto as u64) << 24) ^ fib as u64,
    )
}

impl Session {
    /// The key words ([`Key::words`]) the outside (`o2i`) or inside index holds this session
    /// under. A free entry's never equal a packet's: its protocol is 0.
    #[inline(always)]
    fn key_words(&self, o2i: bool) -> (u64, u64) {
        if o2i {
            side_words(&self.o2i, self.proto, self.out_fib)
        } else {
            side_words(&self.i2o, self.proto, self.in_fib)
        }
    }
}

/// Parameters of a new session.
#[derive(Clone, Copy, Debug, Default)]
pub struct NewSession {
    /// Inside view.
    pub i2o: Endpoints,
    /// Outside view.
    pub o2i: Endpoints,
    /// IP protocol.
    pub proto: u8,
    /// [`flags`].
    pub flags: u8,
    /// Inside FIB.
    pub in_fib: u32,
    /// Outside FIB.
    pub out_fib: u32,
}

/// Why a session could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateError {
    /// A session with the same inside or outside 5-tuple exists.
    Conflict,
    /// The limit is 0.
    NoRoom,
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
    len: u32,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
    len: 0,
};

/// Lowest port allocated dynamically by default (VPP: 1024 + 1).
pub const DEFAULT_PORT_LO: u16 = 1025;
/// Highest port allocated dynamically by default.
pub const DEFAULT_PORT_HI: u16 = 65535;

/// Port index of a protocol in a [`PortPool`] (VPP's UDP 0, TCP 1, ICMP 2), None if the protocol has
/// no ports.
#[inline]
pub fn proto_index(p: u8) -> Option<usize> {
    match p {
        proto::UDP => Some(0),
        proto::TCP => Some(1),
        proto::ICMP => Some(2),
        _ => None,
    }
}

/// Ports of one NAT pool address, per protocol: a bitmap of busy ports, the number of busy ports
/// and how many of them are in the dynamic range (so a full address is skipped in O(1)).
#[derive(Clone, Debug)]
pub struct PortPool {
    /// The address.
    pub addr: u32,
    /// `tenant-vrf`: the fib index of the only inside VRF this address serves first (None:
    /// any VRF).
    pub tenant_fib: Option<u32>,
    /// Busy ports per protocol (dynamic and reserved by static mappings).
    pub busy: [u32; 3],
    in_range: [u32; 3],
    range: (u16, u16),
    bitmap: [Vec<u64>; 3],
}

impl PortPool {
    /// An address with no port in use, allocating in the default range.
    pub fn new(addr: u32) -> Self {
        PortPool {
            addr,
            tenant_fib: None,
            busy: [0; 3],
            in_range: [0; 3],
            range: (DEFAULT_PORT_LO, DEFAULT_PORT_HI),
            bitmap: [vec![0; 1024], vec![0; 1024], vec![0; 1024]],
        }
    }

    /// Change the dynamic range (recounts the busy ports inside it).
    pub fn set_range(&mut self, lo: u16, hi: u16) {
        self.range = (lo, hi);
        for p in 0..3 {
            self.in_range[p] = (lo..=hi).filter(|&x| self.is_busy(p, x)).count() as u32;
        }
    }

    /// True if `port` is in use for protocol index `p`.
    #[inline]
    pub fn is_busy(&self, p: usize, port: u16) -> bool {
        self.bitmap[p][port as usize / 64] & (1 << (port % 64)) != 0
    }

    #[inline]
    fn in_range(&self, port: u16) -> bool {
        port >= self.range.0 && port <= self.range.1
    }

    /// Mark a port busy (a static mapping's external port). False if it already was.
    pub fn reserve(&mut self, p: usize, port: u16) -> bool {
        if self.is_busy(p, port) {
            return false;
        }
        self.bitmap[p][port as usize / 64] |= 1 << (port % 64);
        self.busy[p] += 1;
        if self.in_range(port) {
            self.in_range[p] += 1;
        }
        true
    }

    /// Release a port.
    pub fn release(&mut self, p: usize, port: u16) {
        if self.is_busy(p, port) {
            self.bitmap[p][port as usize / 64] &= !(1 << (port % 64));
            self.busy[p] -= 1;
            if self.in_range(port) {
                self.in_range[p] -= 1;
            }
        }
    }

    /// True if every port of the dynamic range is busy for protocol index `p`.
    #[inline]
    pub fn is_full(&self, p: usize) -> bool {
        self.in_range[p] > self.range.1 as u32 - self.range.0 as u32
    }

    /// Allocate a free port of the dynamic range for protocol index `p`: random probes first (as
    /// VPP draws ports), then the first free port after a random point, a bitmap word at a time.
    /// None when the range is full.
    pub fn alloc(&mut self, p: usize, rng: &mut Rng) -> Option<u16> {
        if self.is_full(p) {
            return None;
        }
        let (lo, hi) = self.range;
        let n = hi as u32 - lo as u32 + 1;
        for _ in 0..16 {
            let port = lo + rng.below(n) as u16;
            if self.reserve(p, port) {
                return Some(port);
            }
        }
        let start = lo as u32 + rng.below(n);
        // Scan [start, hi] then [lo, start).
        for (from, to) in [(start, hi as u32), (lo as u32, start.saturating_sub(1))] {
            if from > to {
                continue;
            }
            let mut x = from;
            while x <= to {
                let w = self.bitmap[p][x as usize / 64] | ((1u64 << (x % 64)) - 1);
                let free = !w;
                if free != 0 {
                    let port = (x / 64) * 64 + free.trailing_zeros();
                    if port <= to {
                        self.reserve(p, port as u16);
                        return Some(port as u16);
                    }
                    break;
                }
                x = (x / 64 + 1) * 64;
            }
        }
        None
    }
}

/// A client affinity entry of a load-balancing mapping.
#[derive(Clone, Copy, Debug)]
struct AffinityEntry {
    client: u32,
    mapping: u32,
    local: u32,
    expires: u64,
}

/// Client affinity of load-balancing mappings: (client address, mapping) -> chosen local, for a
/// sticky time. Fixed capacity (the session limit); expired entries are reclaimed when found or
/// when the table is full.
#[derive(Debug)]
pub struct Affinity {
    entries: Vec<AffinityEntry>,
    free: Vec<u32>,
    index: FlowTable,
    cap: usize,
}

impl Affinity {
    /// A table for `cap` entries.
    pub fn new(cap: usize) -> Self {
        Affinity {
            entries: Vec::with_capacity(cap),
            free: Vec::with_capacity(cap),
            index: FlowTable::with_capacity(cap),
            cap,
        }
    }

    fn hash(client: u32, mapping: u32) -> u64 {
        hash2(client as u64, mapping as u64 | 0xaff1_0000_0000)
    }

    /// The remembered local of `client` for `mapping`, if still valid at `now`.
    pub fn get(&mut self, client: u32, mapping: u32, now: u64) -> Option<u32> {
        let h = Self::hash(client, mapping);
        let e = &self.entries;
        let i = self.index.find(h, |i| {
            let x = &e[i as usize];
            x.client == client && x.mapping == mapping
        })?;
        let x = self.entries[i as usize];
        if x.expires <= now {
            self.index.remove(h, i);
            self.free.push(i);
            return None;
        }
        Some(x.local)
    }

    /// Remember `local` for (client, mapping) until `expires`.
    pub fn put(&mut self, client: u32, mapping: u32, local: u32, expires: u64, now: u64) -> bool {
        let h = Self::hash(client, mapping);
        let e = &self.entries;
        if let Some(i) = self.index.find(h, |i| {
            let x = &e[i as usize];
            x.client == client && x.mapping == mapping
        }) {
            let x = &mut self.entries[i as usize];
            x.local = local;
            x.expires = expires;
            return true;
        }
        if self.free.is_empty() && self.entries.len() >= self.cap {
            self.sweep(now);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None if self.entries.len() < self.cap => {
                self.entries.push(AffinityEntry {
                    client: 0,
                    mapping: 0,
                    local: 0,
                    expires: 0,
                });
                (self.entries.len() - 1) as u32
            }
            None => return false,
        };
        self.entries[i as usize] = AffinityEntry {
            client,
            mapping,
            local,
            expires,
        };
        self.index.insert(h, i)
    }

    /// Forget every entry of a mapping (the mapping was deleted).
    pub fn forget_mapping(&mut self, mapping: u32) {
        for i in 0..self.entries.len() {
            let x = self.entries[i];
            if x.mapping == mapping && x.expires != 0 {
                self.index.remove(Self::hash(x.client, x.mapping), i as u32);
                self.entries[i].expires = 0;
                self.free.push(i as u32);
            }
        }
    }

    fn sweep(&mut self, now: u64) {
        for i in 0..self.entries.len() {
            let x = self.entries[i];
            if x.expires != 0 && x.expires <= now {
                self.index.remove(Self::hash(x.client, x.mapping), i as u32);
                self.entries[i].expires = 0;
                self.free.push(i as u32);
            }
        }
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True if there is no entry.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<AffinityEntry>()
            + self.free.capacity() * 4
            + self.index.memory_bytes()
    }
}

/// Counters of the session database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbCounters {
    /// Sessions created.
    pub created: u64,
    /// Sessions freed because their timeout passed.
    pub expired: u64,
    /// Sessions reused at the limit before they expired.
    pub recycled: u64,
    /// Sessions deleted by configuration changes or `clear`.
    pub deleted: u64,
}

/// Which pool a port comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// `nat44 add address A`.
    Nat,
    /// `nat44 add address A twice-nat`.
    TwiceNat,
}

/// All per-thread NAT state the data path mutates.
pub struct SessionDb {
    /// Sessions; entries at and above `used` have never been used.
    pool: HugeSlice<Session>,
    used: usize,
    free: Vec<u32>,
    limit: u32,
    in_use: u32,
    i2o: FlowTable,
    o2i: FlowTable,
    lists: [List; class::N],
    timeouts_ns: [u64; class::N],
    timeouts_s: [u32; class::N],
    /// NAT pool addresses and their ports.
    pub addresses: Vec<PortPool>,
    /// Twice-NAT pool addresses and their ports.
    pub twice_addresses: Vec<PortPool>,
    port_range: (u16, u16),
    /// Generator for ports.
    pub port_rng: Rng,
    /// Generator for load-balancing choices.
    pub lb_rng: Rng,
    /// Client affinity of load-balancing mappings (created on first use).
    pub affinity: Option<Affinity>,
    /// Counters.
    pub counters: DbCounters,
}

impl std::fmt::Debug for SessionDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionDb")
            .field("limit", &self.limit)
            .field("in_use", &self.in_use)
            .field("counters", &self.counters)
            .finish()
    }
}

impl SessionDb {
    /// A database for at most `limit` sessions, with generators seeded from `seed`.
    pub fn new(limit: u32, seed: u64) -> Self {
        let mut db = SessionDb {
            pool: HugeSlice::new(0, Session::FREE),
            used: 0,
            free: Vec::new(),
            limit: 0,
            in_use: 0,
            i2o: FlowTable::with_capacity(0),
            o2i: FlowTable::with_capacity(0),
            lists: [EMPTY_LIST; class::N],
            timeouts_ns: [0; class::N],
            timeouts_s: [0; class::N],
            addresses: Vec::new(),
            twice_addresses: Vec::new(),
            port_range: (DEFAULT_PORT_LO, DEFAULT_PORT_HI),
            port_rng: Rng::new(seed, 1),
            lb_rng: Rng::new(seed, 2),
            affinity: None,
            counters: DbCounters::default(),
        };
        db.set_timeouts(&Timeouts::default());
        db.set_limit(limit, 0);
        db
    }

    /// Reseed the generators.
    pub fn reseed(&mut self, seed: u64) {
        self.port_rng = Rng::new(seed, 1);
        self.lb_rng = Rng::new(seed, 2);
    }

    /// Set the timeouts.
    pub fn set_timeouts(&mut self, t: &Timeouts) {
        self.timeouts_s = t.by_class();
        for (ns, s) in self.timeouts_ns.iter_mut().zip(self.timeouts_s) {
            *ns = s as u64 * 1_000_000_000;
        }
    }

    /// Timeouts in ns by class.
    #[inline(always)]
    pub fn timeouts_ns(&self) -> &[u64; class::N] {
        &self.timeouts_ns
    }

    /// Session limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Sessions in use.
    pub fn len(&self) -> u32 {
        self.in_use
    }

    /// True if no session is in use.
    pub fn is_empty(&self) -> bool {
        self.in_use == 0
    }

    /// Change the limit: the pool and indexes are rebuilt for it (outside the data path). When
    /// more sessions than `limit` exist, the least recently used are freed first.
    pub fn set_limit(&mut self, limit: u32, now: u64) {
        while self.in_use > limit {
            match self.victim(now) {
                Some(v) => {
                    self.delete(v);
                    self.counters.deleted += 1;
                }
                None => break,
            }
        }
        // Live sessions keep their indices (traces refer to them); capacity is reserved for the
        // limit so that creating a session never reallocates.
        let cap = (limit as usize).max(self.used);
        let mut pool = HugeSlice::new(cap, Session::FREE);
        pool[..self.used].copy_from_slice(&self.pool[..self.used]);
        self.pool = pool;
        let mut free = Vec::with_capacity(cap);
        free.extend_from_slice(&self.free);
        self.free = free;
        self.limit = limit;
        self.i2o = FlowTable::with_capacity(cap);
        self.o2i = FlowTable::with_capacity(cap);
        for i in 0..self.used as u32 {
            let s = self.pool[i as usize];
            if s.class != class::FREE {
                self.i2o.insert(Self::i2o_key(&s).hash(), i);
                self.o2i.insert(Self::o2i_key(&s).hash(), i);
            }
        }
        if let Some(a) = &self.affinity {
            if a.cap < cap {
                self.affinity = Some(Affinity::new(cap));
            }
        }
    }

    /// The inside key of a session.
    #[inline(always)]
    pub fn i2o_key(s: &Session) -> Key {
        Key {
            l_addr: s.i2o.l_addr,
            r_addr: s.i2o.r_addr,
            l_port: s.i2o.l_port,
            r_port: s.i2o.r_port,
            proto: s.proto,
            fib: s.in_fib as u32,
        }
    }

    /// The outside key of a session.
    #[inline(always)]
    pub fn o2i_key(s: &Session) -> Key {
        Key {
            l_addr: s.o2i.l_addr,
            r_addr: s.o2i.r_addr,
            l_port: s.o2i.l_port,
            r_port: s.o2i.r_port,
            proto: s.proto,
            fib: s.out_fib as u32,
        }
    }

    /// Prefetch the outside-index bucket of hash `h`.
    #[inline(always)]
    pub fn prefetch_o2i(&self, h: u64) {
        self.o2i.prefetch(h)
    }

    /// Prefetch the inside-index bucket of hash `h`.
    #[inline(always)]
    pub fn prefetch_i2o(&self, h: u64) {
        self.i2o.prefetch(h)
    }

    /// The session the outside (`o2i`) or inside index most likely holds for hash `h`, prefetched
    /// (the bucket should be in cache by now); [`NIL`] if none. [`SessionDb::fast_hit`] confirms
    /// it once it has arrived.
    #[inline(always)]
    pub fn candidate(&self, h: u64, o2i: bool) -> u32 {
        let i = if o2i {
            self.o2i.candidate(h)
        } else {
            self.i2o.candidate(h)
        };
        match self.pool.get(i as usize) {
            Some(s) => {
                engine::mem::prefetch(s);
                i
            }
            None => NIL,
        }
    }

    /// Find by the outside (`o2i`) or inside key.
    #[inline(always)]
    fn find(&self, k: &Key, o2i: bool) -> Option<u32> {
        let pool = &self.pool;
        let w = k.words();
        let index = if o2i { &self.o2i } else { &self.i2o };
        index.find(hash2(w.0, w.1), |i| {
            pool.get(i as usize).is_some_and(|s| s.key_words(o2i) == w)
        })
    }

    /// Find by inside key.
    #[inline(always)]
    pub fn find_i2o(&self, k: &Key) -> Option<u32> {
        self.find(k, false)
    }

    /// Find by outside key.
    #[inline(always)]
    pub fn find_o2i(&self, k: &Key) -> Option<u32> {
        self.find(k, true)
    }

    /// A session.
    #[inline(always)]
    pub fn get(&self, i: u32) -> &Session {
        &self.pool[i as usize]
    }

    /// True if the session's timeout has passed at `now`.
    #[inline(always)]
    pub fn is_expired(&self, s: &Session, now: u64) -> bool {
        now >= s.last_heard + self.timeouts_ns[s.class as usize & 3]
    }

    fn unlink(&mut self, i: u32) {
        let (c, p, n) = {
            let s = &self.pool[i as usize];
            (s.class as usize, s.prev, s.next)
        };
        if p == NIL {
            self.lists[c].head = n;
        } else {
            self.pool[p as usize].next = n;
        }
        if n == NIL {
            self.lists[c].tail = p;
        } else {
            self.pool[n as usize].prev = p;
        }
        self.lists[c].len -= 1;
    }

    fn push_tail(&mut self, i: u32, c: u8, sec: u32) {
        let l = &mut self.lists[c as usize];
        let t = l.tail;
        l.tail = i;
        if t == NIL {
            l.head = i;
        }
        l.len += 1;
        if t != NIL {
            self.pool[t as usize].next = i;
        }
        let s = &mut self.pool[i as usize];
        s.class = c;
        s.prev = t;
        s.next = NIL;
        s.list_sec = sec;
    }

    /// The fast path's use of candidate session `i`: None unless its key on the side the packet
    /// was looked up by (outside for `!i2o`) has the words `w` (a free entry never has: its
    /// protocol is 0), or if it has one of the `skip` flags or has expired; else the packet is
    /// accounted (last-heard time, counter, timeout list) and the session's other side is
    /// returned with its FIB (`i2o`: the packet goes inside to outside, so the outside side),
    /// and whether the TCP flags `tcp_flags` (0: not TCP) may change the TCP state (the caller
    /// then calls [`SessionDb::tcp_update`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn fast_hit(
        &mut self,
        i: u32,
        w: (u64, u64),
        skip: u8,
        i2o: bool,
        tcp_flags: u8,
        now: u64,
        now_s: u32,
    ) -> Option<(Endpoints, u32, bool)> {
        use tcp_flags::*;
        let s = self.pool.get_mut(i as usize)?;
        let timeout = self.timeouts_ns[s.class as usize & 3];
        if s.key_words(!i2o) != w || s.flags & skip != 0 || now >= s.last_heard + timeout {
            return None;
        }
        let syn_bit = if i2o { tcp::SYN_I2O } else { tcp::SYN_O2I };
        let may_change = tcp_flags != 0
            && (tcp_flags & (FIN | RST) != 0
                || s.tcp & (tcp::FIN_I2O | tcp::FIN_O2I | tcp::RST) != 0
                || (tcp_flags & SYN != 0 && s.tcp & syn_bit == 0));
        s.last_heard = now;
        s.pkts = s.pkts.wrapping_add(1);
        let requeue = s.list_sec != now_s;
        let r = if i2o {
            (s.o2i, s.out_fib as u32)
        } else {
            (s.i2o, s.in_fib as u32)
        };
        if requeue {
            self.requeue(i, now_s);
        }
        Some((r.0, r.1, may_change))
    }

    /// Account a packet: last-heard time, counter, and the timeout list position (at most one
    /// requeue per second).
    #[inline(always)]
    pub fn touch(&mut self, i: u32, now: u64, now_s: u32) {
        let s = &mut self.pool[i as usize];
        s.last_heard = now;
        s.pkts = s.pkts.wrapping_add(1);
        if s.list_sec != now_s {
            self.requeue(i, now_s);
        }
    }

    /// Move a session to the tail of its timeout list.
    #[inline(never)]
    fn requeue(&mut self, i: u32, now_s: u32) {
        let c = self.pool[i as usize].class;
        self.unlink(i);
        self.push_tail(i, c, now_s);
    }

    /// True if a TCP packet with flags `fl` in direction `i2o` can change session `i`'s state:
    /// FIN or RST, a first SYN in that direction, or anything once closing.
    #[inline(always)]
    pub fn tcp_may_change(&self, i: u32, fl: u8, i2o: bool) -> bool {
        use tcp_flags::*;
        let st = self.pool[i as usize].tcp;
        let syn_bit = if i2o { tcp::SYN_I2O } else { tcp::SYN_O2I };
        fl & (FIN | RST) != 0
            || st & (tcp::FIN_I2O | tcp::FIN_O2I | tcp::RST) != 0
            || (fl & SYN != 0 && st & syn_bit == 0)
    }

    /// Track TCP state for a packet of the session (`i2o`: direction). Moves the session between
    /// the established and transitory lists.
    #[inline]
    pub fn tcp_update(&mut self, i: u32, i2o: bool, fl: u8, seq: u32, ack: u32, now_s: u32) {
        use tcp_flags::*;
        let s = &mut self.pool[i as usize];
        let old = s.tcp;
        let mut st = old;
        if fl & RST != 0 {
            st |= tcp::RST;
        }
        let closing = tcp::FIN_I2O | tcp::FIN_O2I | tcp::RST;
        if fl & SYN != 0 && fl & ACK == 0 && st & closing != 0 {
            // A new connection on the same 5-tuple after a close.
            st = 0;
        }
        let seq_after = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0;
        if i2o {
            if fl & SYN != 0 {
                st |= tcp::SYN_I2O;
            }
            if fl & FIN != 0 {
                st |= tcp::FIN_I2O;
                s.i2o_fin_seq = seq;
            }
            if fl & ACK != 0 && st & tcp::FIN_O2I != 0 && seq_after(ack, s.o2i_fin_seq) {
                st |= tcp::FIN_O2I_ACKED;
            }
        } else {
            if fl & SYN != 0 {
                st |= tcp::SYN_O2I;
            }
            if fl & FIN != 0 {
                st |= tcp::FIN_O2I;
                s.o2i_fin_seq = seq;
            }
            if fl & ACK != 0 && st & tcp::FIN_I2O != 0 && seq_after(ack, s.i2o_fin_seq) {
                st |= tcp::FIN_I2O_ACKED;
            }
        }
        if st == old {
            return;
        }
        s.tcp = st;
        let both_syn = tcp::SYN_I2O | tcp::SYN_O2I;
        let both_fin = tcp::FIN_I2O | tcp::FIN_O2I;
        let c = if st & tcp::RST != 0 || st & both_fin == both_fin || st & both_syn != both_syn {
            class::TCP_TRANSITORY
        } else {
            class::TCP_ESTABLISHED
        };
        if c != s.class {
            self.unlink(i);
            self.push_tail(i, c, now_s);
        }
    }

    /// The session to reuse at the limit: among the list heads, the one that expired first, else
    /// the least recently used.
    fn victim(&self, now: u64) -> Option<u32> {
        // An expired session first (the earliest expiry: each list's head is its oldest).
        let mut expired: Option<(u64, u32)> = None;
        for c in 0..class::N {
            let h = self.lists[c].head;
            if h == NIL {
                continue;
            }
            let exp = self.pool[h as usize].last_heard + self.timeouts_ns[c];
            if exp <= now && expired.is_none_or(|(e, _)| exp < e) {
                expired = Some((exp, h));
            }
        }
        if let Some((_, h)) = expired {
            return Some(h);
        }
        // Else the least recently used session that is not an established TCP connection:
        // half-open and closing ones first (what a SYN flood leaves), then UDP, then ICMP.
        // Established connections are never cut for a new one (the new one is refused).
        [class::TCP_TRANSITORY, class::UDP, class::ICMP]
            .into_iter()
            .map(|c| self.lists[c as usize].head)
            .find(|&h| h != NIL)
    }

    /// Make room for one session at `now`: at the limit, free the session that expired first,
    /// else the least recently used one that is not established TCP. Returns false when there
    /// is none (the limit is 0, or every session is an established connection).
    pub fn ensure_room(&mut self, now: u64) -> bool {
        if self.in_use < self.limit {
            return true;
        }
        match self.victim(now) {
            Some(v) => {
                let expired = self.is_expired(&self.pool[v as usize], now);
                self.delete(v);
                if expired {
                    self.counters.expired += 1;
                } else {
                    self.counters.recycled += 1;
                }
                true
            }
            None => false,
        }
    }

    /// Create a session at `now` (making room at the limit). Fails if either 5-tuple is taken.
    pub fn create(&mut self, now: u64, n: &NewSession) -> Result<u32, CreateError> {
        let s = Session {
            i2o: n.i2o,
            o2i: n.o2i,
            proto: n.proto,
            flags: n.flags,
            in_fib: n.in_fib as u16,
            out_fib: n.out_fib as u16,
            last_heard: now,
            ..Session::FREE
        };
        let (ki, ko) = (Self::i2o_key(&s), Self::o2i_key(&s));
        if self.find_i2o(&ki).is_some() || self.find_o2i(&ko).is_some() {
            return Err(CreateError::Conflict);
        }
        if !self.ensure_room(now) {
            return Err(CreateError::NoRoom);
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.pool[i as usize] = s;
                i
            }
            None => {
                self.pool[self.used] = s;
                self.used += 1;
                (self.used - 1) as u32
            }
        };
        self.in_use += 1;
        self.i2o.insert(ki.hash(), i);
        self.o2i.insert(ko.hash(), i);
        let c = match n.proto {
            proto::TCP => class::TCP_TRANSITORY,
            proto::ICMP => class::ICMP,
            _ => class::UDP,
        };
        self.push_tail(i, c, (now / 1_000_000_000) as u32);
        self.counters.created += 1;
        Ok(i)
    }

    /// Delete a session: indexes, list, ports; its index becomes the next one reused.
    pub fn delete(&mut self, i: u32) {
        let s = self.pool[i as usize];
        if s.class == class::FREE {
            return;
        }
        self.i2o.remove(Self::i2o_key(&s).hash(), i);
        self.o2i.remove(Self::o2i_key(&s).hash(), i);
        self.unlink(i);
        if let Some(p) = proto_index(s.proto) {
            if s.flags & flags::DYNAMIC != 0 {
                if let Some(a) = self.addresses.iter_mut().find(|a| a.addr == s.o2i.l_addr) {
                    a.release(p, s.o2i.l_port);
                }
            }
            if s.flags & flags::TWICE_PORT != 0 {
                if let Some(a) = self
                    .twice_addresses
                    .iter_mut()
                    .find(|a| a.addr == s.i2o.r_addr)
                {
                    a.release(p, s.i2o.r_port);
                }
            }
        }
        self.pool[i as usize] = Session::FREE;
        self.free.push(i);
        self.in_use -= 1;
    }

    /// Free up to `budget` expired sessions (list heads only); returns how many were freed.
    pub fn expire(&mut self, now: u64, budget: usize) -> usize {
        let now_s = (now / 1_000_000_000) as u32;
        let mut freed = 0;
        let mut work = 0;
        for c in 0..class::N {
            while work < budget {
                let h = self.lists[c].head;
                if h == NIL {
                    break;
                }
                let s = &self.pool[h as usize];
                if s.list_sec as u64 + self.timeouts_s[c] as u64 > now_s as u64 {
                    break;
                }
                work += 1;
                if s.last_heard + self.timeouts_ns[c] <= now {
                    self.delete(h);
                    self.counters.expired += 1;
                    freed += 1;
                } else {
                    self.unlink(h);
                    self.push_tail(h, c as u8, now_s);
                }
            }
        }
        freed
    }

    /// True if some list head may have expired at `now` (a cheap check before [`Self::expire`]).
    #[inline(always)]
    pub fn may_expire(&self, now_s: u32) -> bool {
        (0..class::N).any(|c| {
            let h = self.lists[c].head;
            h != NIL
                && self.pool[h as usize].list_sec as u64 + self.timeouts_s[c] as u64 <= now_s as u64
        })
    }

    /// Free every expired session.
    pub fn expire_all(&mut self, now: u64) -> usize {
        let mut n = 0;
        loop {
            let k = self.expire(now, 4096);
            n += k;
            if k == 0 && !self.may_expire((now / 1_000_000_000) as u32) {
                return n;
            }
        }
    }

    /// Delete every session.
    pub fn clear(&mut self) {
        for i in 0..self.used as u32 {
            if self.pool[i as usize].class != class::FREE {
                self.delete(i);
                self.counters.deleted += 1;
            }
        }
    }

    /// Delete the sessions for which `f` is true.
    pub fn delete_where(&mut self, mut f: impl FnMut(&Session) -> bool) -> usize {
        let mut n = 0;
        for i in 0..self.used as u32 {
            let s = &self.pool[i as usize];
            if s.class != class::FREE && f(s) {
                self.delete(i);
                self.counters.deleted += 1;
                n += 1;
            }
        }
        n
    }

    /// Live sessions with their indices, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Session)> {
        self.pool[..self.used]
            .iter()
            .enumerate()
            .filter(|(_, s)| s.class != class::FREE)
            .map(|(i, s)| (i as u32, s))
    }

    /// Sessions per timeout class.
    pub fn class_counts(&self) -> [u32; class::N] {
        [
            self.lists[0].len,
            self.lists[1].len,
            self.lists[2].len,
            self.lists[3].len,
        ]
    }

    /// The pool of `kind`.
    pub fn pool_of(&mut self, kind: PoolKind) -> &mut Vec<PortPool> {
        match kind {
            PoolKind::Nat => &mut self.addresses,
            PoolKind::TwiceNat => &mut self.twice_addresses,
        }
    }

    /// Allocate an address and port from a pool for protocol `p`: the first address with a free
    /// port in the dynamic range (VPP's order). None when the pool is exhausted.
    /// As VPP's NAT44-ED: first the addresses whose `tenant-vrf` is the packet's inside VRF
    /// (`rx_fib`), then those with no tenant; an address of another tenant is never used.
    pub fn alloc_port(&mut self, kind: PoolKind, p: u8, rx_fib: u32) -> Option<(u32, u16)> {
        let pi = proto_index(p)?;
        let rng = &mut self.port_rng;
        let pool = match kind {
            PoolKind::Nat => &mut self.addresses,
            PoolKind::TwiceNat => &mut self.twice_addresses,
        };
        for tenant in [Some(rx_fib), None] {
            for a in pool.iter_mut().filter(|a| a.tenant_fib == tenant) {
                if let Some(port) = a.alloc(pi, rng) {
                    return Some((a.addr, port));
                }
            }
        }
        None
    }

    /// The dynamic port range.
    pub fn port_range(&self) -> (u16, u16) {
        self.port_range
    }

    /// Set the dynamic port range of every pool address (and of those added later).
    pub fn set_port_range(&mut self, lo: u16, hi: u16) {
        self.port_range = (lo, hi);
        for a in self
            .addresses
            .iter_mut()
            .chain(self.twice_addresses.iter_mut())
        {
            a.set_range(lo, hi);
        }
    }

    /// Add a pool address (its ports follow the dynamic range).
    pub fn add_address(&mut self, kind: PoolKind, mut a: PortPool) {
        a.set_range(self.port_range.0, self.port_range.1);
        self.pool_of(kind).push(a);
    }

    /// Bytes of memory held (pool and free list capacity, indexes, port bitmaps, affinity).
    pub fn memory_bytes(&self) -> usize {
        self.pool.len() * std::mem::size_of::<Session>()
            + self.free.capacity() * 4
            + self.i2o.memory_bytes()
            + self.o2i.memory_bytes()
            + (self.addresses.len() + self.twice_addresses.len()) * 3 * 1024 * 8
            + self.affinity.as_ref().map_or(0, |a| a.memory_bytes())
    }

    /// Bytes held per session of the limit (pool entry, free-list slot and both index shares).
    pub fn bytes_per_session(&self) -> f64 {
        let fixed = self.pool.len() * std::mem::size_of::<Session>()
            + self.free.capacity() * 4
            + self.i2o.memory_bytes()
            + self.o2i.memory_bytes();
        fixed as f64 / self.limit.max(1) as f64
    }

    /// The second a timestamp falls in.
    #[inline(always)]
    pub fn seconds(now: u64) -> u32 {
        (now / 1_000_000_000) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_tcp(l: u32, lp: u16, r: u32, rp: u16) -> NewSession {
        NewSession {
            i2o: Endpoints {
                l_addr: l,
                r_addr: r,
                l_port: lp,
                r_port: rp,
            },
            o2i: Endpoints {
                l_addr: 0xc0a8_1001,
                r_addr: r,
                l_port: lp ^ 0x4000,
                r_port: rp,
            },
            proto: proto::TCP,
            ..Default::default()
        }
    }

    const S: u64 = 1_000_000_000;

    #[test]
    fn create_find_delete_and_index_reuse() {
        let mut db = SessionDb::new(8, 1);
        let a = db.create(S, &new_tcp(1, 10, 2, 80)).unwrap();
        let b = db.create(S, &new_tcp(1, 11, 2, 80)).unwrap();
        let c = db.create(S, &new_tcp(1, 12, 2, 80)).unwrap();
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(
            db.create(S, &new_tcp(1, 10, 2, 80)),
            Err(CreateError::Conflict)
        );
        let k = SessionDb::i2o_key(db.get(b));
        assert_eq!(db.find_i2o(&k), Some(b));
        let k = SessionDb::o2i_key(db.get(c));
        assert_eq!(db.find_o2i(&k), Some(c));
        db.delete(a);
        db.delete(c);
        // Most recently freed first.
        assert_eq!(db.create(S, &new_tcp(1, 20, 2, 80)).unwrap(), c);
        assert_eq!(db.create(S, &new_tcp(1, 21, 2, 80)).unwrap(), a);
        assert_eq!(db.len(), 3);
    }

    #[test]
    fn limit_reuses_expired_then_lru() {
        let mut db = SessionDb::new(2, 1);
        let mut udp = new_tcp(1, 1, 2, 53);
        udp.proto = proto::UDP;
        let a = db.create(0, &udp).unwrap();
        let b = db.create(100 * S, &new_tcp(1, 2, 2, 80)).unwrap();
        // At 301 s the UDP session expired (300 s), the TCP one (240 s from 100 s) not yet.
        let c = db.create(301 * S, &new_tcp(1, 3, 2, 80)).unwrap();
        assert_eq!(c, a);
        assert_eq!(db.counters.expired, 1);
        // Nothing expired now: the least recently used (b, heard at 100 s) goes.
        db.touch(c, 302 * S, 302);
        let mut d = new_tcp(1, 4, 2, 80);
        d.proto = proto::ICMP;
        let x = db.create(303 * S, &d).unwrap();
        assert_eq!(x, b);
        assert_eq!(db.counters.recycled, 1);
        assert_eq!(db.counters.expired + db.counters.recycled, 2);
    }

    #[test]
    fn expiry_follows_classes_and_activity() {
        let mut db = SessionDb::new(100, 1);
        let a = db.create(0, &new_tcp(1, 1, 2, 80)).unwrap();
        let b = db.create(0, &new_tcp(1, 2, 2, 80)).unwrap();
        // b becomes established: both SYNs.
        db.tcp_update(b, true, tcp_flags::SYN, 100, 0, 0);
        db.tcp_update(b, false, tcp_flags::SYN | tcp_flags::ACK, 500, 101, 0);
        assert_eq!(db.get(b).class, class::TCP_ESTABLISHED);
        db.touch(a, 100 * S, 100);
        assert_eq!(db.expire(239 * S, 100), 0);
        assert_eq!(db.expire(340 * S, 100), 1, "a: 100 s + 240 s");
        assert!(db.get(a).class == class::FREE);
        assert_eq!(db.expire(7439 * S, 100), 0);
        assert_eq!(db.expire_all(7440 * S), 1);
        assert!(db.is_empty());
    }

    #[test]
    fn tcp_close_goes_transitory() {
        let mut db = SessionDb::new(10, 1);
        let a = db.create(0, &new_tcp(1, 1, 2, 80)).unwrap();
        db.tcp_update(a, true, tcp_flags::SYN, 1000, 0, 0);
        db.tcp_update(a, false, tcp_flags::SYN | tcp_flags::ACK, 5000, 1001, 0);
        db.tcp_update(a, true, tcp_flags::ACK, 1001, 5001, 0);
        assert_eq!(db.get(a).tcp_state_name(), "established");
        db.tcp_update(a, true, tcp_flags::FIN | tcp_flags::ACK, 1001, 5001, 0);
        assert_eq!(db.get(a).class, class::TCP_ESTABLISHED, "one FIN");
        db.tcp_update(a, false, tcp_flags::FIN | tcp_flags::ACK, 5001, 1002, 0);
        assert_eq!(db.get(a).class, class::TCP_TRANSITORY);
        db.tcp_update(a, true, tcp_flags::ACK, 1002, 5002, 0);
        assert_eq!(db.get(a).tcp_state_name(), "closed");
        // A new SYN reopens it.
        db.tcp_update(a, true, tcp_flags::SYN, 9000, 0, 1);
        assert_eq!(db.get(a).tcp_state_name(), "syn");
    }

    #[test]
    fn port_pool_alloc_release_exhaust() {
        let mut db = SessionDb::new(10, 3);
        db.add_address(PoolKind::Nat, PortPool::new(0x0a00_0001));
        db.set_port_range(2000, 2009);
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(db.alloc_port(PoolKind::Nat, proto::TCP, 0).unwrap().1);
        }
        got.sort();
        assert_eq!(got, (2000..2010).collect::<Vec<_>>());
        assert_eq!(db.alloc_port(PoolKind::Nat, proto::TCP, 0), None);
        assert!(db.alloc_port(PoolKind::Nat, proto::UDP, 0).is_some());
        db.addresses[0].release(1, 2005);
        assert_eq!(
            db.alloc_port(PoolKind::Nat, proto::TCP, 0),
            Some((0x0a00_0001, 2005))
        );
    }
}
