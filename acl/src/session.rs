//! Reflexive sessions, per thread (VPP 18.01 `fa_node.c`: `acl_fa_add_session`,
//! `acl_fa_track_session`, the connection lists and the cleaner).
//!
//! A session is created by a `permit+reflect` match. Its key is the packet's 5-tuple for input
//! nodes and the mirrored 5-tuple for output nodes, plus the low 16 bits of the interface
//! ([`crate::tuple::Tuple::session_key`]); it admits later packets of the same flow in both
//! directions on that interface. Sessions live in a pool whose indices are handed out
//! deterministically (the most recently freed index first, else the next new one, as VPP's pools),
//! because traces print them.
//!
//! Timeouts follow the TCP flags seen in each direction: a TCP session that has seen SYN and ACK
//! in both directions, and no FIN or RST, is *established* (tcp idle timeout, default 24 h); any
//! other TCP session is *transient* (120 s); everything else uses the UDP idle timeout (600 s).
//! A session expires when it has been idle for its timeout; the lookup checks that exactly, on
//! the injectable clock, and a cleaner reclaims expired sessions from per-type lists ordered by
//! enqueue time (VPP's `fa_conn_list`), a bounded number per frame.
//!
//! When the table is full (the limit counts the sessions of all threads), VPP 18.01 first
//! recycles the oldest TCP transient session, then refuses the new one (counted as "too many
//! sessions to add new").

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use engine::clock::NS_PER_SEC;
use engine::hash::hash2;
use parking_lot::Mutex;

use crate::hash::IndexHash;
use crate::tuple::proto;

/// Timeout type: UDP and other protocols.
pub const TIMEOUT_UDP_IDLE: u8 = 0;
/// Timeout type: established TCP.
pub const TIMEOUT_TCP_IDLE: u8 = 1;
/// Timeout type: TCP not (or no longer) established.
pub const TIMEOUT_TCP_TRANSIENT: u8 = 2;
/// Number of timeout types.
pub const N_TIMEOUTS: usize = 3;

/// Default timeouts in seconds, by type (VPP: udp 600, tcp idle 24 h, tcp transient 120).
pub const DEFAULT_TIMEOUTS: [u32; N_TIMEOUTS] = [600, 24 * 3600, 120];
/// Default limit on the number of sessions.
pub const DEFAULT_MAX_ENTRIES: u32 = 500_000;
/// Sessions the cleaner may delete per frame.
pub const MAX_DELETES_PER_FRAME: usize = 256;

const NONE: u32 = u32::MAX;

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;
const RSTFINACKSYN: u16 = (TCP_RST | TCP_FIN | TCP_SYN | TCP_ACK) as u16;
const ACKSYN: u16 = (TCP_SYN | TCP_ACK) as u16;

/// Settings and counters shared by all threads.
#[derive(Debug)]
pub struct SessionConfig {
    /// Timeouts in seconds by type.
    pub timeouts: [AtomicU32; N_TIMEOUTS],
    /// Limit on live sessions (all threads).
    pub max_entries: AtomicU32,
    /// Sessions ever added (all threads).
    pub total_adds: AtomicU64,
    /// Sessions ever deleted (all threads).
    pub total_dels: AtomicU64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            timeouts: DEFAULT_TIMEOUTS.map(AtomicU32::new),
            max_entries: AtomicU32::new(DEFAULT_MAX_ENTRIES),
            total_adds: AtomicU64::new(0),
            total_dels: AtomicU64::new(0),
        }
    }
}

impl SessionConfig {
    /// Timeouts in nanoseconds by type.
    pub fn timeouts_ns(&self) -> [u64; N_TIMEOUTS] {
        std::array::from_fn(|i| self.timeouts[i].load(Ordering::Relaxed) as u64 * NS_PER_SEC)
    }

    /// Live sessions over all threads.
    pub fn live(&self) -> u64 {
        self.total_adds
            .load(Ordering::Relaxed)
            .saturating_sub(self.total_dels.load(Ordering::Relaxed))
    }
}

/// One session: what a packet touches (32 bytes, two per cache line). The timeout list links
/// are kept apart ([`Link`]), touched only when a session is added, deleted, or changes list.
#[derive(Clone, Copy, Debug)]
#[repr(align(32))]
pub struct Session {
    /// Key words (see `Tuple::session_key`).
    pub k0: u64,
    /// Key words.
    pub k1: u64,
    /// Last packet time (ns).
    pub last_active: u64,
    /// Interface the session was created on.
    pub sw_if_index: u32,
    /// TCP flags seen: `[0]` by output nodes, `[1]` by input nodes (VPP's `as_u8[is_input]`).
    pub tcp_flags_seen: [u8; 2],
    /// Timeout list the session is on.
    pub list: u8,
    in_use: bool,
}

/// A session's place on its timeout list.
#[derive(Clone, Copy, Debug)]
struct Link {
    /// Time the session entered its current timeout list (ns).
    enqueue_time: u64,
    prev: u32,
    next: u32,
}

const UNLINKED: Link = Link {
    enqueue_time: 0,
    prev: NONE,
    next: NONE,
};

/// The timeout type of a protocol and the TCP flags seen (`[0]` output, `[1]` input).
#[inline(always)]
fn timeout_type_of(proto: u8, seen: [u8; 2]) -> u8 {
    match proto {
        proto::TCP => {
            let seen = u16::from_le_bytes(seen);
            let masked = seen & (RSTFINACKSYN << 8 | RSTFINACKSYN);
            if masked == (ACKSYN << 8 | ACKSYN) {
                TIMEOUT_TCP_IDLE
            } else {
                TIMEOUT_TCP_TRANSIENT
            }
        }
        _ => TIMEOUT_UDP_IDLE,
    }
}

impl Session {
    /// Protocol of the session.
    pub fn proto(&self) -> u8 {
        (self.k1 >> 32) as u8
    }

    /// Timeout type for the flags seen so far (`fa_session_get_timeout_type`).
    #[inline]
    pub fn timeout_type(&self) -> u8 {
        timeout_type_of(self.proto(), self.tcp_flags_seen)
    }
}

/// Outcome of [`SessionTable::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddResult {
    /// Added at this index.
    Added(u32),
    /// The table is full and nothing could be recycled.
    Full,
}

/// Outcome of [`SessionTable::hit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Session index.
    pub index: u32,
    /// Timeout type before the packet.
    pub old_type: u8,
    /// Timeout type after the packet.
    pub new_type: u8,
    /// The session belongs to another interface with the same low 16 bits (VPP drops).
    pub collision: bool,
}

/// The sessions of one thread.
#[derive(Debug)]
pub struct SessionTable {
    pool: Vec<Session>,
    links: Vec<Link>,
    free: Vec<u32>,
    hash: IndexHash,
    /// Live sessions by the low 16 bits of their interface (the part of the key that names it).
    live_by_lsb: Vec<u32>,
    heads: [u32; N_TIMEOUTS],
    tails: [u32; N_TIMEOUTS],
    /// Sessions added per sw_if_index.
    pub adds_by_sw: Vec<u64>,
    /// Sessions deleted per sw_if_index.
    pub dels_by_sw: Vec<u64>,
    /// Sessions deleted by the cleaner or on lookup after expiry.
    pub cnt_deleted: u64,
    /// Transient sessions recycled to make room.
    pub cnt_recycled: u64,
    /// Session timers restarted (timeout type changes).
    pub cnt_restarted: u64,
    /// New sessions refused because the table was full.
    pub cnt_refused: u64,
    /// Rule matches of this thread: `[acl index][rule index]` = (packets, bytes). Sized (and
    /// zeroed) by the CLI when an ACL is set, as VPP's `/acl/N/matches`; the node only adds.
    pub rule_hits: Vec<Vec<[u64; 2]>>,
}

fn bump(v: &mut Vec<u64>, i: u32) {
    let i = i as usize;
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] += 1;
}

impl Default for SessionTable {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionTable {
    /// An empty table.
    pub fn new() -> Self {
        SessionTable {
            pool: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            hash: IndexHash::default(),
            // Zeroed pages: only the lines of interfaces in use are ever touched.
            live_by_lsb: vec![0; 1 << 16],
            heads: [NONE; N_TIMEOUTS],
            tails: [NONE; N_TIMEOUTS],
            adds_by_sw: Vec::new(),
            dels_by_sw: Vec::new(),
            cnt_deleted: 0,
            cnt_recycled: 0,
            cnt_restarted: 0,
            cnt_refused: 0,
            rule_hits: Vec::new(),
        }
    }

    /// Give ACL `acl` a zeroed counter per rule (its rules were set or replaced).
    pub fn reset_rule_hits(&mut self, acl: u32, n_rules: usize) {
        let i = acl as usize;
        if self.rule_hits.len() <= i {
            self.rule_hits.resize_with(i + 1, Vec::new);
        }
        self.rule_hits[i].clear();
        self.rule_hits[i].resize(n_rules, [0; 2]);
    }

    /// Add matches to a rule's counter; a rule the CLI has not sized is not counted.
    #[inline]
    pub fn count_rule(&mut self, acl: u32, rule: u32, packets: u64, bytes: u64) {
        if let Some(c) = self
            .rule_hits
            .get_mut(acl as usize)
            .and_then(|r| r.get_mut(rule as usize))
        {
            c[0] += packets;
            c[1] += bytes;
        }
    }

    /// Live sessions of this thread.
    #[inline]
    pub fn len(&self) -> usize {
        self.hash.len()
    }

    /// True if the thread has no session.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.hash.is_empty()
    }

    /// Size the table for `max` live sessions now (control plane: when the first ACL is applied,
    /// or `max-entries` changes), so that the data path never grows it: adding sessions up to
    /// the limit then never rehashes or moves the pool (the slot array is written once here;
    /// the pool's pages are only touched as sessions use them).
    pub fn ensure_capacity(&mut self, max: usize) {
        self.hash.reserve(max.saturating_sub(self.hash.len()));
        // Freed slots are reused before the pool grows, so a pool that can hold `max` slots
        // holds `max` live sessions. (Asking for `max` *more* slots whenever some were free,
        // as this did, moved the whole pool on every ACL apply once sessions had expired: a
        // copy of tens of MB each time, and RSS grew in steps over a soak.)
        if self.pool.capacity() < max {
            self.pool.reserve_exact(max - self.pool.len());
        }
        if self.links.capacity() < max {
            self.links.reserve_exact(max - self.links.len());
        }
    }

    /// Slots of the index and sessions the pool holds without moving (tests, `show`).
    pub fn capacity(&self) -> (usize, usize) {
        (self.hash.capacity(), self.pool.capacity())
    }

    /// Make room for `n` sessions without allocating in the per-packet loop.
    pub fn reserve(&mut self, n: usize) {
        self.hash.reserve(n);
        if self.free.len() < n {
            self.pool.reserve(n - self.free.len());
            self.links.reserve(n - self.free.len());
        }
    }

    /// Reserve the indices below `n` (never handed out), so that a replay reproduces the session
    /// numbers of a trace. Only while the table has never held a session.
    pub fn reserve_indices(&mut self, n: u32) -> Result<(), String> {
        if self.pool.iter().any(|s| s.in_use) {
            return Err("sessions exist: clear them first".into());
        }
        self.pool.clear();
        self.links.clear();
        self.free.clear();
        let dead = Session {
            k0: 0,
            k1: 0,
            last_active: 0,
            sw_if_index: NONE,
            tcp_flags_seen: [0; 2],
            list: u8::MAX,
            in_use: false,
        };
        self.pool.resize(n as usize, dead);
        self.links.resize(n as usize, UNLINKED);
        Ok(())
    }

    /// A live session by index.
    pub fn get(&self, index: u32) -> Option<&Session> {
        self.pool.get(index as usize).filter(|s| s.in_use)
    }

    /// Live sessions with their indices, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Session)> {
        self.pool
            .iter()
            .enumerate()
            .filter(|(_, s)| s.in_use)
            .map(|(i, s)| (i as u32, s))
    }

    /// Time a live session entered its timeout list (ns).
    pub fn enqueue_time(&self, index: u32) -> u64 {
        self.links.get(index as usize).map_or(0, |l| l.enqueue_time)
    }

    /// Head of a timeout list (`u32::MAX` when empty).
    pub fn list_head(&self, list: usize) -> u32 {
        self.heads[list]
    }

    fn link_tail(&mut self, i: u32, list: u8, now: u64) {
        let l = list as usize;
        let tail = self.tails[l];
        self.pool[i as usize].list = list;
        self.links[i as usize] = Link {
            enqueue_time: now,
            prev: tail,
            next: NONE,
        };
        if tail != NONE {
            self.links[tail as usize].next = i;
        } else {
            self.heads[l] = i;
        }
        self.tails[l] = i;
    }

    fn unlink(&mut self, i: u32) {
        let Link { prev, next, .. } = self.links[i as usize];
        let list = self.pool[i as usize].list as usize;
        if prev != NONE {
            self.links[prev as usize].next = next;
        } else {
            self.heads[list] = next;
        }
        if next != NONE {
            self.links[next as usize].prev = prev;
        } else {
            self.tails[list] = prev;
        }
    }

    /// Delete a live session.
    pub fn delete(&mut self, i: u32, cfg: &SessionConfig) {
        self.unlink(i);
        let (k0, k1, sw) = {
            let s = &mut self.pool[i as usize];
            s.in_use = false;
            (s.k0, s.k1, s.sw_if_index)
        };
        self.hash.remove(hash2(k0, k1), i);
        self.free.push(i);
        if let Some(c) = self.live_by_lsb.get_mut((k1 >> 48) as usize) {
            *c = c.saturating_sub(1);
        }
        bump(&mut self.dels_by_sw, sw);
        cfg.total_dels.fetch_add(1, Ordering::Relaxed);
    }

    #[inline(always)]
    fn expired(s: &Session, now: u64, timeouts: &[u64; N_TIMEOUTS]) -> bool {
        // The list a live session is on is its timeout type.
        now.saturating_sub(s.last_active) >= timeouts[(s.list as usize).min(N_TIMEOUTS - 1)]
    }

    /// True if a session keyed with this interface's low 16 bits may exist (else no lookup is
    /// needed).
    #[inline(always)]
    pub fn may_have(&self, sw_if_index: u32) -> bool {
        self.live_by_lsb
            .get((sw_if_index & 0xffff) as usize)
            .is_some_and(|&c| c > 0)
    }

    /// The session index stored for a key (`u32::MAX` if none), without the expiry check.
    #[inline(always)]
    pub fn lookup(&self, k0: u64, k1: u64) -> u32 {
        let pool = &self.pool;
        self.hash
            .get(hash2(k0, k1), |i| {
                let s = &pool[i as usize];
                s.k0 == k0 && s.k1 == k1
            })
            .unwrap_or(NONE)
    }

    /// After [`SessionTable::lookup`]: true if session `i` is still live at `now`; an idle-expired
    /// session is deleted.
    #[inline(always)]
    pub fn check_live(
        &mut self,
        i: u32,
        now: u64,
        timeouts: &[u64; N_TIMEOUTS],
        cfg: &SessionConfig,
    ) -> bool {
        if Self::expired(&self.pool[i as usize], now, timeouts) {
            self.delete(i, cfg);
            self.cnt_deleted += 1;
            return false;
        }
        true
    }

    /// Look a packet's session key up; an idle-expired session is deleted and not returned.
    #[inline(always)]
    pub fn find(
        &mut self,
        k0: u64,
        k1: u64,
        now: u64,
        timeouts: &[u64; N_TIMEOUTS],
        cfg: &SessionConfig,
    ) -> Option<u32> {
        let i = self.lookup(k0, k1);
        if i == NONE {
            return None;
        }
        self.check_live(i, now, timeouts, cfg).then_some(i)
    }

    /// Account a packet on a session (`acl_fa_track_session`): activity time and TCP flags; moves
    /// the session to its new timeout list if the type changed.
    #[inline(always)]
    pub fn hit(
        &mut self,
        i: u32,
        sw_if_index: u32,
        is_input: bool,
        tcp_flags: Option<u8>,
        now: u64,
    ) -> Hit {
        let s = &mut self.pool[i as usize];
        // Read the flags once and write them back whole (no byte store then wider load). The
        // list a session is on is its timeout type; it changes only if new flags were seen.
        let seen = s.tcp_flags_seen;
        let old_type = s.list;
        let mut now_seen = seen;
        if let Some(f) = tcp_flags {
            now_seen[is_input as usize] |= f;
        }
        s.last_active = now;
        let mut new_type = old_type;
        if now_seen != seen {
            s.tcp_flags_seen = now_seen;
            new_type = timeout_type_of(s.proto(), now_seen);
        }
        let collision = s.sw_if_index != sw_if_index;
        if old_type != new_type {
            self.unlink(i);
            self.link_tail(i, new_type, now);
            self.cnt_restarted += 1;
        }
        Hit {
            index: i,
            old_type,
            new_type,
            collision,
        }
    }

    /// Create a session (after [`SessionTable::reserve`]); the caller then calls
    /// [`SessionTable::hit`] for the creating packet, as VPP does.
    pub fn add(
        &mut self,
        k0: u64,
        k1: u64,
        sw_if_index: u32,
        now: u64,
        cfg: &SessionConfig,
    ) -> AddResult {
        let max = cfg.max_entries.load(Ordering::Relaxed) as u64;
        if cfg.live() >= max {
            // acl_fa_try_recycle_session: the oldest TCP transient session of this thread.
            let h = self.heads[TIMEOUT_TCP_TRANSIENT as usize];
            if h != NONE {
                self.delete(h, cfg);
                self.cnt_recycled += 1;
            }
            if cfg.live() >= max {
                self.cnt_refused += 1;
                return AddResult::Full;
            }
        }
        let s = Session {
            k0,
            k1,
            last_active: now,
            sw_if_index,
            tcp_flags_seen: [0; 2],
            list: 0,
            in_use: true,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.pool[i as usize] = s;
                i
            }
            None => {
                self.pool.push(s);
                self.links.push(UNLINKED);
                (self.pool.len() - 1) as u32
            }
        };
        let t = self.pool[i as usize].timeout_type();
        self.link_tail(i, t, now);
        self.hash.insert(hash2(k0, k1), i);
        if let Some(c) = self.live_by_lsb.get_mut((k1 >> 48) as usize) {
            *c += 1;
        }
        bump(&mut self.adds_by_sw, sw_if_index);
        cfg.total_adds.fetch_add(1, Ordering::Relaxed);
        AddResult::Added(i)
    }

    /// The cleaner: examine list heads whose check time has come; delete the idle-expired ones
    /// and requeue the others (VPP's `acl_fa_check_idle_sessions`). At most `budget` deletions.
    /// Returns the number deleted.
    pub fn expire(
        &mut self,
        now: u64,
        timeouts: &[u64; N_TIMEOUTS],
        cfg: &SessionConfig,
        budget: usize,
    ) -> usize {
        let mut deleted = 0;
        for list in 0..N_TIMEOUTS {
            // Each session is examined at most once per call (requeued ones go to the tail).
            let mut left = self.len();
            while left > 0 && deleted < budget {
                let h = self.heads[list];
                if h == NONE {
                    break;
                }
                let s = self.pool[h as usize];
                if now.saturating_sub(self.links[h as usize].enqueue_time) < timeouts[list] {
                    break;
                }
                left -= 1;
                if Self::expired(&s, now, timeouts) {
                    self.delete(h, cfg);
                    self.cnt_deleted += 1;
                    deleted += 1;
                } else {
                    // Activity since the enqueue: check again one timeout after the last packet.
                    self.unlink(h);
                    let t = s.timeout_type();
                    self.link_tail(h, t, now);
                    self.links[h as usize].enqueue_time = s.last_active;
                    self.cnt_restarted += 1;
                }
            }
        }
        deleted
    }

    /// Delete every idle-expired session now (for `show`), whatever the list order.
    pub fn expire_all(&mut self, now: u64, timeouts: &[u64; N_TIMEOUTS], cfg: &SessionConfig) {
        let dead: Vec<u32> = self
            .iter()
            .filter(|(_, s)| Self::expired(s, now, timeouts))
            .map(|(i, _)| i)
            .collect();
        for i in dead {
            self.delete(i, cfg);
            self.cnt_deleted += 1;
        }
    }

    /// Delete every session of an interface (it is being deleted).
    pub fn delete_interface(&mut self, sw_if_index: u32, cfg: &SessionConfig) {
        if !self.may_have(sw_if_index) {
            return;
        }
        let dead: Vec<u32> = self
            .iter()
            .filter(|(_, s)| s.sw_if_index == sw_if_index)
            .map(|(i, _)| i)
            .collect();
        for i in dead {
            self.delete(i, cfg);
            self.cnt_deleted += 1;
        }
    }

    /// Delete every session (`clear acl-plugin sessions`).
    pub fn clear(&mut self, cfg: &SessionConfig) {
        let all: Vec<u32> = self.iter().map(|(i, _)| i).collect();
        for i in all {
            self.delete(i, cfg);
        }
    }
}

/// The per-thread session tables.
#[derive(Debug)]
pub struct Sessions {
    /// Shared settings and totals.
    pub cfg: SessionConfig,
    /// One table per thread, each behind its own lock (taken once per frame by that thread).
    pub threads: Vec<Mutex<SessionTable>>,
}

impl Sessions {
    /// Tables for `n_threads` threads.
    pub fn new(n_threads: usize) -> Self {
        Sessions {
            cfg: SessionConfig::default(),
            threads: (0..n_threads.max(1))
                .map(|_| Mutex::new(SessionTable::new()))
                .collect(),
        }
    }

    /// The table of a thread (thread indices past the end share the last table).
    #[inline]
    pub fn thread(&self, thread_index: u32) -> &Mutex<SessionTable> {
        let i = (thread_index as usize).min(self.threads.len() - 1);
        &self.threads[i]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_table_sized_up_front_never_grows_while_it_fills() {
        let cfg = SessionConfig::default();
        let mut t = SessionTable::new();
        t.ensure_capacity(10_000);
        let before = (t.capacity(), t.pool.as_ptr());
        for i in 0..10_000u64 {
            t.reserve(1);
            let r = t.add(i, (6u64) << 32 | 5 << 48, 5, 1, &cfg);
            assert!(matches!(r, AddResult::Added(_)), "{r:?}");
        }
        assert_eq!(t.len(), 10_000);
        assert_eq!(
            (t.capacity(), t.pool.as_ptr()),
            before,
            "no rehash, no move"
        );
    }

    /// Interfaces come and go with ACLs applied to them (every apply sizes the table again)
    /// while sessions come and expire: the pool is never moved or grown past the limit.
    #[test]
    fn sizing_again_after_sessions_expired_does_not_move_the_pool() {
        let cfg = SessionConfig::default();
        let mut t = SessionTable::new();
        t.ensure_capacity(10_000);
        let before = (t.capacity(), t.pool.as_ptr(), t.links.as_ptr());
        let mut next = 0u64;
        for _round in 0..20 {
            for _ in 0..500 {
                t.reserve(1);
                let (k0, k1) = key(next, 6);
                next += 1;
                assert!(matches!(t.add(k0, k1, 5, 1, &cfg), AddResult::Added(_)));
            }
            let live: Vec<u32> = (0..t.pool.len() as u32)
                .filter(|&i| t.pool[i as usize].in_use)
                .take(400)
                .collect();
            for i in live {
                t.delete(i, &cfg);
            }
            t.ensure_capacity(10_000);
            assert_eq!(
                (t.capacity(), t.pool.as_ptr(), t.links.as_ptr()),
                before,
                "the pool moved or grew"
            );
        }
    }

    use super::*;

    fn key(i: u64, proto: u8) -> (u64, u64) {
        (i, (proto as u64) << 32 | 5 << 48)
    }

    #[test]
    fn lifo_index_reuse_and_reserved_indices() {
        let cfg = SessionConfig::default();
        let mut t = SessionTable::new();
        t.reserve_indices(22).unwrap();
        t.reserve(4);
        let (a0, a1) = key(1, 17);
        assert_eq!(t.add(a0, a1, 2, 0, &cfg), AddResult::Added(22));
        let (b0, b1) = key(2, 17);
        assert_eq!(t.add(b0, b1, 2, 0, &cfg), AddResult::Added(23));
        let (c0, c1) = key(3, 17);
        assert_eq!(t.add(c0, c1, 2, 0, &cfg), AddResult::Added(24));
        t.delete(22, &cfg);
        t.delete(24, &cfg);
        let (d0, d1) = key(4, 17);
        assert_eq!(
            t.add(d0, d1, 2, 0, &cfg),
            AddResult::Added(24),
            "last freed first"
        );
        assert_eq!(t.add(a0, a1, 2, 0, &cfg), AddResult::Added(22));
        assert!(t.reserve_indices(3).is_err());
        assert_eq!(cfg.live(), 3);
    }

    #[test]
    fn tcp_state_drives_the_timeout_type() {
        let cfg = SessionConfig::default();
        let mut t = SessionTable::new();
        t.reserve(1);
        let (k0, k1) = key(1, 6);
        let AddResult::Added(i) = t.add(k0, k1, 1, 0, &cfg) else {
            panic!()
        };
        let h = t.hit(i, 1, true, Some(0x02), 0);
        assert_eq!((h.old_type, h.new_type), (2, 2));
        assert_eq!(t.hit(i, 1, false, Some(0x12), 1).new_type, 2);
        let h = t.hit(i, 1, true, Some(0x10), 2);
        assert_eq!((h.old_type, h.new_type), (2, 1), "established");
        assert_eq!(t.list_head(1), i);
        assert_eq!(t.hit(i, 1, false, Some(0x11), 3).new_type, 2, "FIN");
        assert_eq!(t.list_head(2), i);
        assert!(t.hit(i, 7, true, Some(0x10), 4).collision);
    }

    #[test]
    fn expiry_on_lookup_and_by_the_cleaner() {
        let cfg = SessionConfig::default();
        let to = [10u64, 100, 5];
        let mut t = SessionTable::new();
        t.reserve(3);
        let (a0, a1) = key(1, 17);
        let (b0, b1) = key(2, 17);
        t.add(a0, a1, 1, 0, &cfg);
        t.add(b0, b1, 1, 0, &cfg);
        // Activity on b at 8: at 12 a has expired, b has not.
        let bi = t.find(b0, b1, 8, &to, &cfg).unwrap();
        t.hit(bi, 1, true, None, 8);
        assert_eq!(t.expire(12, &to, &cfg, 100), 1);
        assert!(t.find(a0, a1, 12, &to, &cfg).is_none());
        assert_eq!(t.find(b0, b1, 12, &to, &cfg), Some(bi));
        // b is rechecked one timeout after its last packet.
        assert_eq!(t.expire(17, &to, &cfg, 100), 0);
        assert_eq!(t.expire(18, &to, &cfg, 100), 1);
        assert!(t.is_empty());
        // Lookup alone enforces the timeout exactly.
        t.add(a0, a1, 1, 100, &cfg);
        assert!(t.find(a0, a1, 109, &to, &cfg).is_some());
        assert!(t.find(a0, a1, 110, &to, &cfg).is_none());
        assert_eq!(cfg.live(), 0);
    }

    #[test]
    fn full_table_recycles_oldest_transient_then_refuses() {
        let cfg = SessionConfig::default();
        cfg.max_entries.store(2, Ordering::Relaxed);
        let mut t = SessionTable::new();
        t.reserve(4);
        let (a0, a1) = key(1, 6);
        let (b0, b1) = key(2, 6);
        let (c0, c1) = key(3, 6);
        assert_eq!(t.add(a0, a1, 1, 0, &cfg), AddResult::Added(0));
        assert_eq!(t.add(b0, b1, 1, 1, &cfg), AddResult::Added(1));
        // TCP transient sessions: the oldest (a) is recycled.
        assert_eq!(t.add(c0, c1, 1, 2, &cfg), AddResult::Added(0));
        assert_eq!(t.cnt_recycled, 1);
        assert_eq!(t.lookup(a0, a1), NONE);
        // UDP sessions cannot be recycled.
        let cfg = SessionConfig::default();
        cfg.max_entries.store(1, Ordering::Relaxed);
        let mut t = SessionTable::new();
        t.reserve(2);
        let (u0, u1) = key(1, 17);
        let (v0, v1) = key(2, 17);
        assert_eq!(t.add(u0, u1, 1, 0, &cfg), AddResult::Added(0));
        assert_eq!(t.add(v0, v1, 1, 0, &cfg), AddResult::Full);
        assert_eq!(t.cnt_refused, 1);
        t.clear(&cfg);
        assert_eq!(cfg.live(), 0);
    }
}
