//! The L2 FIB: MAC address + bridge domain -> output interface, shared by every thread.
//!
//! Keys and results have VPP's layouts (`l2fib_entry_key_t`, `l2fib_entry_result_t`): the key is
//! `bd_index | mac << 16` (the MAC's bytes in wire order from byte 2 of the little-endian word),
//! the result is `sw_if_index | flags << 32 | timestamp << 40 | seq_num << 48`.
//!
//! The table is open addressing with linear probing over a fixed number of slots, each a sequence
//! counter, a key and a result (a seqlock per slot, 32 bytes). Readers (`l2-fwd`, `l2-learn`,
//! `l2-flood` on any thread) never lock: they read the counter, the key and the result and the
//! counter again, and accept the pair only if the counter was even and did not change (a writer
//! makes it odd while it rewrites the slot, so a slot reused for another key in between is never
//! mistaken for the first one). Writers (learning of a new or moved MAC, the CLI, the aging scan) take one mutex:
//! writes are rare (a MAC is written when it is new, moves, or its minute timestamp changes), so
//! there is no lock per packet in steady state. The capacity is set when the table is created,
//! as VPP sizes its bihash; a full table refuses new entries (counted by the caller).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;

/// An empty slot's key (bridge domain 0 with MAC 00:00:00:00:00:00 is never a key: BD 0 is
/// reserved).
const EMPTY: u64 = 0;
/// A deleted slot's key (broadcast MAC in BD 0xffff: never learned nor configured).
const TOMBSTONE: u64 = u64::MAX;
/// "No result" (VPP's `~0` result).
pub const NO_RESULT: u64 = u64::MAX;

/// Result flag: configured static MAC (never moves).
pub const FLAG_STATIC: u8 = 1 << 0;
/// Result flag: not subject to aging.
pub const FLAG_AGE_NOT: u8 = 1 << 1;
/// Result flag: the MAC of a BVI (packets to it go to the routed side).
pub const FLAG_BVI: u8 = 1 << 2;
/// Result flag: drop packets to and from this MAC.
pub const FLAG_FILTER: u8 = 1 << 3;
/// Result flag: learned (to be reported as a learn event).
pub const FLAG_LEARN_EVENT: u8 = 1 << 4;
/// Result flag: learned as a move from another interface.
pub const FLAG_LEARN_MOVE: u8 = 1 << 5;

/// Largest bridge-domain index a key can hold (0xffff is the tombstone's).
pub const MAX_BD_INDEX: u16 = 0xfffe;

/// Default number of slots (the learn limit is VPP's default, 1M entries, and the table keeps a
/// free half for short probe chains).
pub const DEFAULT_SLOTS: usize = 1 << 21;
/// VPP's default learn limit (`L2LEARN_DEFAULT_LIMIT`).
pub const DEFAULT_LEARN_LIMIT: u32 = 1 << 20;

/// The key of a MAC in a bridge domain.
#[inline(always)]
pub fn key(mac: &[u8; 6], bd_index: u16) -> u64 {
    bd_index as u64
        | (mac[0] as u64) << 16
        | (mac[1] as u64) << 24
        | (mac[2] as u64) << 32
        | (mac[3] as u64) << 40
        | (mac[4] as u64) << 48
        | (mac[5] as u64) << 56
}

/// The MAC and bridge-domain index of a key.
pub fn key_parts(k: u64) -> ([u8; 6], u16) {
    let b = k.to_le_bytes();
    ([b[2], b[3], b[4], b[5], b[6], b[7]], k as u16)
}

/// A decoded result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Result {
    /// Output interface (the BVI for a BVI MAC).
    pub sw_if_index: u32,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Minute the entry was last refreshed (for aging; wraps at 256 as VPP's).
    pub timestamp: u8,
    /// Sequence numbers: interface in the low byte, bridge domain in the high byte.
    pub sn: u16,
}

impl L2Result {
    /// Encode as VPP's raw result.
    #[inline(always)]
    pub fn raw(&self) -> u64 {
        self.sw_if_index as u64
            | (self.flags as u64) << 32
            | (self.timestamp as u64) << 40
            | (self.sn as u64) << 48
    }

    /// Decode a raw result.
    #[inline(always)]
    pub fn from_raw(r: u64) -> Self {
        L2Result {
            sw_if_index: r as u32,
            flags: (r >> 32) as u8,
            timestamp: (r >> 40) as u8,
            sn: (r >> 48) as u16,
        }
    }

    /// True for a static entry.
    pub fn is_static(&self) -> bool {
        self.flags & FLAG_STATIC != 0
    }

    /// True when the entry does not age.
    pub fn age_not(&self) -> bool {
        self.flags & FLAG_AGE_NOT != 0
    }

    /// True for a BVI's MAC.
    pub fn is_bvi(&self) -> bool {
        self.flags & FLAG_BVI != 0
    }

    /// True for a filter (drop) entry.
    pub fn is_filter(&self) -> bool {
        self.flags & FLAG_FILTER != 0
    }
}

/// Why an insertion was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// No free slot.
    Full,
    /// The bridge-domain index cannot be a key.
    BadBd,
}

/// The shared L2 FIB.
pub struct L2Fib {
    /// `4 * slots` words: sequence, key, result, (padding), ...
    slots: Box<[AtomicU64]>,
    mask: usize,
    writer: Mutex<()>,
    /// Entries in the table (static and learned).
    count: AtomicU32,
    /// Learned (dynamic) entries.
    learned: AtomicU32,
    /// Learn limit (`l2learn { limit N }`): no new dynamic entry beyond it.
    pub learn_limit: AtomicU32,
}

impl std::fmt::Debug for L2Fib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Fib")
            .field("slots", &(self.mask + 1))
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for L2Fib {
    fn default() -> Self {
        Self::with_slots(DEFAULT_SLOTS)
    }
}

#[inline(always)]
fn hash(k: u64) -> u64 {
    // Multiply-fold: the MAC's low bytes (the vendor-specific part) spread over the whole word.
    let m = (k as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (m as u64) ^ ((m >> 64) as u64)
}

impl L2Fib {
    /// A table with `slots` slots (rounded up to a power of two, at least 16).
    pub fn with_slots(slots: usize) -> Self {
        let n = slots.max(16).next_power_of_two();
        // A zeroed allocation: the kernel hands out zero pages lazily, so an idle large table
        // costs no resident memory.
        let words: Vec<u64> = vec![0u64; 4 * n];
        let words = words.into_boxed_slice();
        let len = words.len();
        let raw = Box::into_raw(words) as *mut AtomicU64;
        // SAFETY: `AtomicU64` has the same size, alignment and bit validity as `u64` (documented
        // by the standard library), so a boxed slice of `u64` is a valid boxed slice of
        // `AtomicU64` of the same length; the allocation is handed over, not shared.
        let slots = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(raw, len)) };
        L2Fib {
            slots,
            mask: n - 1,
            writer: Mutex::new(()),
            count: AtomicU32::new(0),
            learned: AtomicU32::new(0),
            learn_limit: AtomicU32::new(DEFAULT_LEARN_LIMIT.min((n / 2) as u32)),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Entries (static and learned).
    pub fn len(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Learned entries.
    pub fn learned(&self) -> u32 {
        self.learned.load(Ordering::Relaxed)
    }

    #[inline(always)]
    fn seq_at(&self, slot: usize) -> &AtomicU64 {
        &self.slots[4 * slot]
    }

    #[inline(always)]
    fn key_at(&self, slot: usize) -> &AtomicU64 {
        &self.slots[4 * slot + 1]
    }

    #[inline(always)]
    fn res_at(&self, slot: usize) -> &AtomicU64 {
        &self.slots[4 * slot + 2]
    }

    /// Rewrite a slot under its sequence counter (writer lock held).
    #[inline]
    fn write_slot(&self, s: usize, k: u64, r: u64) {
        let seq = self.seq_at(s).load(Ordering::Relaxed);
        self.seq_at(s).store(seq + 1, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        self.res_at(s).store(r, Ordering::Relaxed);
        self.key_at(s).store(k, Ordering::Relaxed);
        self.seq_at(s).store(seq + 2, Ordering::Release);
    }

    /// Ask the CPU for the first slot of a key's probe sequence (call ahead in node loops).
    #[inline(always)]
    pub fn prefetch(&self, k: u64) {
        let s = (hash(k) as usize) & self.mask;
        engine::mem::prefetch(self.seq_at(s));
    }

    /// The raw result of a key, or [`NO_RESULT`]. Lock-free.
    #[inline(always)]
    pub fn lookup(&self, k: u64) -> u64 {
        let mut s = (hash(k) as usize) & self.mask;
        let mut probes = 0;
        while probes <= self.mask {
            let seq = self.seq_at(s).load(Ordering::Acquire);
            let kk = self.key_at(s).load(Ordering::Relaxed);
            let r = self.res_at(s).load(Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Acquire);
            if seq & 1 != 0 || self.seq_at(s).load(Ordering::Relaxed) != seq {
                // A writer is rewriting this slot: read it again.
                std::hint::spin_loop();
                continue;
            }
            if kk == k {
                return r;
            }
            if kk == EMPTY {
                return NO_RESULT;
            }
            s = (s + 1) & self.mask;
            probes += 1;
        }
        NO_RESULT
    }

    /// Insert or replace an entry. A dynamic entry (no `FLAG_AGE_NOT`) that would be new is
    /// refused beyond the learn limit.
    pub fn insert(&self, k: u64, r: L2Result) -> Result<(), InsertError> {
        if (k as u16) > MAX_BD_INDEX {
            return Err(InsertError::BadBd);
        }
        let _w = self.writer.lock();
        let dynamic = !r.age_not();
        let mut s = (hash(k) as usize) & self.mask;
        let mut free = None;
        for _ in 0..=self.mask {
            let kk = self.key_at(s).load(Ordering::Relaxed);
            if kk == k {
                let old = L2Result::from_raw(self.res_at(s).load(Ordering::Relaxed));
                match (old.age_not(), dynamic) {
                    (true, true) => {
                        self.learned.fetch_add(1, Ordering::Relaxed);
                    }
                    (false, false) => {
                        self.learned.fetch_sub(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                self.write_slot(s, k, r.raw());
                return Ok(());
            }
            if kk == EMPTY {
                free.get_or_insert(s);
                break;
            }
            if kk == TOMBSTONE && free.is_none() {
                free = Some(s);
            }
            s = (s + 1) & self.mask;
        }
        let Some(slot) = free else {
            return Err(InsertError::Full);
        };
        if dynamic && self.learned() >= self.learn_limit.load(Ordering::Relaxed) {
            return Err(InsertError::Full);
        }
        self.write_slot(slot, k, r.raw());
        self.count.fetch_add(1, Ordering::Relaxed);
        if dynamic {
            self.learned.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Replace the result of an existing entry only if it still is `expected` (learning refreshes
    /// and moves; nothing happens when someone changed it meanwhile). Returns true if replaced.
    pub fn update_if(&self, k: u64, expected: u64, r: L2Result) -> bool {
        let _w = self.writer.lock();
        match self.find_slot(k) {
            Some(s) if self.res_at(s).load(Ordering::Relaxed) == expected => {
                self.write_slot(s, k, r.raw());
                true
            }
            _ => false,
        }
    }

    fn find_slot(&self, k: u64) -> Option<usize> {
        let mut s = (hash(k) as usize) & self.mask;
        for _ in 0..=self.mask {
            let kk = self.key_at(s).load(Ordering::Relaxed);
            if kk == k {
                return Some(s);
            }
            if kk == EMPTY {
                return None;
            }
            s = (s + 1) & self.mask;
        }
        None
    }

    fn remove_slot(&self, s: usize) {
        let old = L2Result::from_raw(self.res_at(s).load(Ordering::Relaxed));
        self.write_slot(s, TOMBSTONE, NO_RESULT);
        self.count.fetch_sub(1, Ordering::Relaxed);
        if !old.age_not() {
            self.learned.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Remove an entry; returns its result if it was there.
    pub fn remove(&self, k: u64) -> Option<L2Result> {
        let _w = self.writer.lock();
        let s = self.find_slot(k)?;
        let r = L2Result::from_raw(self.res_at(s).load(Ordering::Relaxed));
        self.remove_slot(s);
        Some(r)
    }

    /// Remove every entry for which `f(key, result)` is true (flushes, aging); returns how many.
    pub fn remove_where(&self, mut f: impl FnMut(u64, L2Result) -> bool) -> u32 {
        let _w = self.writer.lock();
        let mut n = 0;
        for s in 0..=self.mask {
            let k = self.key_at(s).load(Ordering::Relaxed);
            if k == EMPTY || k == TOMBSTONE {
                continue;
            }
            let r = L2Result::from_raw(self.res_at(s).load(Ordering::Relaxed));
            if f(k, r) {
                self.remove_slot(s);
                n += 1;
            }
        }
        n
    }

    /// Every (key, result), sorted by bridge domain then MAC (the order `show l2fib` prints).
    pub fn entries(&self) -> Vec<(u64, L2Result)> {
        let _w = self.writer.lock();
        let mut v = Vec::with_capacity(self.len() as usize);
        for s in 0..=self.mask {
            let k = self.key_at(s).load(Ordering::Relaxed);
            if k == EMPTY || k == TOMBSTONE {
                continue;
            }
            v.push((
                k,
                L2Result::from_raw(self.res_at(s).load(Ordering::Relaxed)),
            ));
        }
        v.sort_by_key(|&(k, _)| {
            let (mac, bd) = key_parts(k);
            (bd, mac)
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(sw: u32, flags: u8) -> L2Result {
        L2Result {
            sw_if_index: sw,
            flags,
            timestamp: 0,
            sn: 0,
        }
    }

    #[test]
    fn key_layout_is_vpps() {
        let k = key(&[0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x02], 1);
        assert_eq!(k.to_le_bytes(), [1, 0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x02]);
        assert_eq!(key_parts(k), ([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x02], 1));
        let r = L2Result {
            sw_if_index: 5,
            flags: FLAG_STATIC | FLAG_AGE_NOT,
            timestamp: 7,
            sn: 0x0102,
        };
        assert_eq!(L2Result::from_raw(r.raw()), r);
        assert_eq!(r.raw(), 0x0102_0703_0000_0005);
    }

    #[test]
    fn insert_lookup_replace_remove() {
        let f = L2Fib::with_slots(16);
        let k = key(&[2, 0, 0, 0, 0, 1], 1);
        assert_eq!(f.lookup(k), NO_RESULT);
        f.insert(k, res(3, 0)).unwrap();
        assert_eq!(L2Result::from_raw(f.lookup(k)).sw_if_index, 3);
        assert_eq!((f.len(), f.learned()), (1, 1));
        f.insert(k, res(4, FLAG_STATIC | FLAG_AGE_NOT)).unwrap();
        assert_eq!((f.len(), f.learned()), (1, 0));
        assert_eq!(f.remove(k).unwrap().sw_if_index, 4);
        assert_eq!(f.lookup(k), NO_RESULT);
        assert_eq!(f.len(), 0);
        assert!(f.remove(k).is_none());
    }

    #[test]
    fn probing_survives_tombstones_and_fills_up() {
        let f = L2Fib::with_slots(16);
        f.learn_limit.store(100, Ordering::Relaxed);
        let keys: Vec<u64> = (0..16u8).map(|i| key(&[2, 0, 0, 0, 1, i], 1)).collect();
        for (i, &k) in keys.iter().enumerate() {
            f.insert(k, res(i as u32 + 1, 0)).unwrap();
        }
        assert_eq!(
            f.insert(key(&[2, 0, 0, 0, 2, 0], 1), res(1, 0)),
            Err(InsertError::Full)
        );
        // Every key is still found with a full table and after removals in the middle of chains.
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(L2Result::from_raw(f.lookup(k)).sw_if_index, i as u32 + 1);
        }
        for &k in keys.iter().step_by(2) {
            f.remove(k);
        }
        for (i, &k) in keys.iter().enumerate() {
            let want = if i % 2 == 0 {
                NO_RESULT
            } else {
                res(i as u32 + 1, 0).raw()
            };
            assert_eq!(f.lookup(k), want);
        }
        // Freed slots are reused.
        for &k in keys.iter().step_by(2) {
            f.insert(k, res(9, 0)).unwrap();
        }
        assert_eq!(f.len(), 16);
        assert_eq!(f.entries().len(), 16);
    }

    #[test]
    fn learn_limit_refuses_new_dynamic_entries_only() {
        let f = L2Fib::with_slots(64);
        f.learn_limit.store(2, Ordering::Relaxed);
        for i in 0..2u8 {
            f.insert(key(&[2, 0, 0, 0, 0, i], 1), res(1, 0)).unwrap();
        }
        assert_eq!(
            f.insert(key(&[2, 0, 0, 0, 0, 9], 1), res(1, 0)),
            Err(InsertError::Full)
        );
        // Static entries and updates of existing dynamic ones still go in.
        f.insert(
            key(&[2, 0, 0, 0, 0, 9], 1),
            res(1, FLAG_STATIC | FLAG_AGE_NOT),
        )
        .unwrap();
        f.insert(key(&[2, 0, 0, 0, 0, 1], 1), res(2, 0)).unwrap();
        assert_eq!(f.remove_where(|_, r| !r.age_not()), 2);
        assert_eq!((f.len(), f.learned()), (1, 0));
        assert_eq!(
            f.insert(key(&[0; 6], 0xffff), res(1, 0)),
            Err(InsertError::BadBd)
        );
    }

    #[test]
    fn readers_on_other_threads_see_whole_entries() {
        let f = std::sync::Arc::new(L2Fib::with_slots(64));
        let k = key(&[2, 0, 0, 0, 0, 7], 3);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (f, stop) = (f.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let r = f.lookup(k);
                    if r != NO_RESULT {
                        // Only results ever written for this key.
                        let r = L2Result::from_raw(r);
                        assert!(r.sw_if_index == 10 || r.sw_if_index == 11);
                        seen += 1;
                    }
                }
                seen
            })
        };
        for i in 0..20_000u32 {
            f.insert(k, res(10 + (i & 1), 0)).unwrap();
            // Other keys churn through the same slots.
            let o = key(&[2, 0, 0, 1, (i >> 8) as u8, i as u8], 3);
            f.insert(o, res(99, 0)).unwrap();
            f.remove(o);
            if i % 3 == 0 {
                f.remove(k);
            }
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    }
}
