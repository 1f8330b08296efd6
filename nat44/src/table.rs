//! Fixed-capacity hash index from a 64-bit key hash to a `u32` value (a session or entry index).
//!
//! The table stores only a 31-bit tag of the hash and the value; the caller confirms a candidate
//! by comparing the full key against its own storage (the session pool), so one lookup touches one
//! bucket cache line and one session cache line. Buckets are one cache line of 7 slots. A bucket
//! that was full when an insert walked past it counts that entry in `overflow`, so a lookup stops at
//! the first bucket with `overflow == 0` and a delete decrements the counts it had added: no
//! tombstones, no rehash, no allocation after construction. The capacity is fixed when the table is
//! built (sized for the session limit at a load of at most 4/7).

pub use engine::hash::hash2;
use engine::mem::HugeSlice;

/// Slots per bucket.
const SLOTS: usize = 7;

/// One cache line: 7 tags, the overflow count, 7 values.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Bucket {
    tags: [u32; SLOTS],
    overflow: u32,
    vals: [u32; SLOTS],
    _pad: u32,
}

const EMPTY_BUCKET: Bucket = Bucket {
    tags: [0; SLOTS],
    overflow: 0,
    vals: [0; SLOTS],
    _pad: 0,
};

const _: () = assert!(std::mem::size_of::<Bucket>() == 64);

/// The fixed-capacity index.
pub struct FlowTable {
    buckets: HugeSlice<Bucket>,
    mask: usize,
    len: usize,
}

/// The tag stored for a hash: the high 32 bits with the low bit forced (0 means empty).
#[inline(always)]
fn tag_of(h: u64) -> u32 {
    ((h >> 32) as u32) | 1
}

impl std::fmt::Debug for FlowTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTable")
            .field("buckets", &self.buckets.len())
            .field("len", &self.len)
            .finish()
    }
}

impl FlowTable {
    /// A table able to hold `capacity` entries at a load of at most 4/7. Tables of more than
    /// 512 KiB are rounded up to 2 MiB, which the engine backs with one huge page (one TLB entry
    /// instead of hundreds).
    pub fn with_capacity(capacity: usize) -> Self {
        let mut n = capacity.div_ceil(4).next_power_of_two().max(2);
        if n * std::mem::size_of::<Bucket>() > 512 << 10 {
            n = n.max((2 << 20) / std::mem::size_of::<Bucket>());
        }
        FlowTable {
            buckets: HugeSlice::new(n, EMPTY_BUCKET),
            mask: n - 1,
            len: 0,
        }
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory held.
    pub fn memory_bytes(&self) -> usize {
        self.buckets.len() * std::mem::size_of::<Bucket>()
    }

    /// Number of buckets.
    pub fn n_buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Prefetch the home bucket of `h` (first stage of a frame's lookups).
    #[inline(always)]
    pub fn prefetch(&self, h: u64) {
        engine::mem::prefetch(&self.buckets[(h as usize) & self.mask]);
    }

    /// The value of the first slot of the home bucket whose tag matches `h`, unconfirmed (second
    /// stage: its entry is prefetched before [`FlowTable::find`] confirms it). `u32::MAX` if none.
    #[inline(always)]
    pub fn candidate(&self, h: u64) -> u32 {
        let tag = tag_of(h);
        let bk = &self.buckets[(h as usize) & self.mask];
        for i in 0..SLOTS {
            if bk.tags[i] == tag {
                return bk.vals[i];
            }
        }
        u32::MAX
    }

    /// The value whose tag matches `h` and for which `eq` confirms the key, if any.
    #[inline(always)]
    pub fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let tag = tag_of(h);
        let mut b = (h as usize) & self.mask;
        for _ in 0..self.buckets.len() {
            let bk = &self.buckets[b];
            // Slots fill from the first: at the loads the table is sized for, the entry is
            // usually in slot 0.
            if bk.tags[0] == tag && eq(bk.vals[0]) {
                return Some(bk.vals[0]);
            }
            for i in 1..SLOTS {
                if bk.tags[i] == tag && eq(bk.vals[i]) {
                    return Some(bk.vals[i]);
                }
            }
            if bk.overflow == 0 {
                return None;
            }
            b = (b + 1) & self.mask;
        }
        None
    }

    /// Insert `val` under hash `h` (the caller guarantees the key is not present). Returns false
    /// only if the table is completely full, which the sizing rules out.
    pub fn insert(&mut self, h: u64, val: u32) -> bool {
        let tag = tag_of(h);
        let home = (h as usize) & self.mask;
        let mut b = home;
        for _ in 0..self.buckets.len() {
            let bk = &mut self.buckets[b];
            if let Some(i) = bk.tags.iter().position(|&t| t == 0) {
                bk.tags[i] = tag;
                bk.vals[i] = val;
                self.len += 1;
                // Count the entry in every full bucket it had to pass.
                let mut p = home;
                while p != b {
                    self.buckets[p].overflow += 1;
                    p = (p + 1) & self.mask;
                }
                return true;
            }
            b = (b + 1) & self.mask;
        }
        false
    }

    /// Remove the entry `val` stored under hash `h`. Returns false if it is not there.
    pub fn remove(&mut self, h: u64, val: u32) -> bool {
        let tag = tag_of(h);
        let home = (h as usize) & self.mask;
        let mut b = home;
        for _ in 0..self.buckets.len() {
            let bk = &mut self.buckets[b];
            if let Some(i) = (0..SLOTS).find(|&i| bk.tags[i] == tag && bk.vals[i] == val) {
                bk.tags[i] = 0;
                bk.vals[i] = 0;
                self.len -= 1;
                let mut p = home;
                while p != b {
                    self.buckets[p].overflow -= 1;
                    p = (p + 1) & self.mask;
                }
                return true;
            }
            if bk.overflow == 0 {
                return false;
            }
            b = (b + 1) & self.mask;
        }
        false
    }

    /// Remove everything.
    pub fn clear(&mut self) {
        self.buckets.fill(EMPTY_BUCKET);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn insert_find_remove_against_a_model() {
        let mut t = FlowTable::with_capacity(1000);
        let mut model: HashMap<u64, u32> = HashMap::new();
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut keys = Vec::new();
        for round in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct hashes so that buckets overflow and chains form.
            let h = hash2(x % 3000, 7);
            if model.len() < 1000 && !model.contains_key(&h) && round % 3 != 2 {
                assert!(t.insert(h, round));
                model.insert(h, round);
                keys.push(h);
            } else if !keys.is_empty() {
                let k = keys.swap_remove((x as usize) % keys.len());
                let v = model.remove(&k).unwrap();
                assert!(t.remove(k, v));
                assert!(!t.remove(k, v));
            }
            assert_eq!(t.len(), model.len());
            if round % 97 == 0 {
                for (&k, &v) in &model {
                    assert_eq!(t.find(k, |c| c == v), Some(v));
                }
            }
        }
        for (&k, &v) in &model {
            assert_eq!(t.find(k, |c| c == v), Some(v));
        }
        // Overflow counts return to zero when everything is removed.
        for (k, v) in model.drain() {
            assert!(t.remove(k, v));
        }
        assert!(t
            .buckets
            .iter()
            .all(|b| b.overflow == 0 && b.tags == [0; SLOTS]));
    }

    #[test]
    fn colliding_hashes_chain_across_buckets() {
        let mut t = FlowTable::with_capacity(64);
        let h = hash2(1, 2);
        for v in 0..30 {
            assert!(t.insert(h, v));
        }
        for v in 0..30 {
            assert_eq!(t.find(h, |c| c == v), Some(v));
        }
        for v in (0..30).step_by(2) {
            assert!(t.remove(h, v));
        }
        for v in 0..30 {
            assert_eq!(t.find(h, |c| c == v).is_some(), v % 2 == 1);
        }
    }
}
