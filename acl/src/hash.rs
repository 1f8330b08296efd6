//! An open-addressing hash table from a 128-bit key (two `u64` words) to a `u32` value.
//!
//! Used for the session table (5-tuple -> session index) and for every mask table of the rule
//! classifier (masked 5-tuple -> applied rule chain). Linear probing over a power-of-two slot
//! array indexed by the top bits of [`hash2`], and backward-shift deletion (no tombstones, so lookups never degrade
//! after many deletes). Lookups and inserts never allocate; only [`KeyHash::reserve`] does, which
//! callers run outside their per-packet loops.

use engine::hash::hash2;

/// The value stored in an empty slot (never a valid value).
pub const EMPTY: u32 = u32::MAX;

const MIN_BITS: u32 = 4;

#[derive(Clone, Copy, Debug)]
struct Slot {
    k0: u64,
    k1: u64,
    val: u32,
}

const FREE: Slot = Slot {
    k0: 0,
    k1: 0,
    val: EMPTY,
};

/// The table.
#[derive(Clone, Debug)]
pub struct KeyHash {
    slots: Vec<Slot>,
    shift: u32,
    len: usize,
}

impl Default for KeyHash {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl KeyHash {
    /// A table that holds `n` keys without growing (load factor at most 1/2).
    pub fn with_capacity(n: usize) -> Self {
        let bits = Self::bits_for(n);
        KeyHash {
            slots: vec![FREE; 1 << bits],
            shift: 64 - bits,
            len: 0,
        }
    }

    fn bits_for(n: usize) -> u32 {
        let want = (n.max(1) * 2).next_power_of_two();
        want.trailing_zeros().max(MIN_BITS)
    }

    /// Number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are no keys.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    #[inline(always)]
    fn home(&self, k0: u64, k1: u64) -> usize {
        (hash2(k0, k1) >> self.shift) as usize
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Make room for `extra` more keys without exceeding a load factor of 1/2 (rehashes if
    /// needed; the only allocating operation).
    pub fn reserve(&mut self, extra: usize) {
        let need = self.len + extra;
        if need * 2 <= self.slots.len() {
            return;
        }
        let bits = Self::bits_for(need);
        let old = std::mem::replace(&mut self.slots, vec![FREE; 1 << bits]);
        self.shift = 64 - bits;
        self.len = 0;
        for s in old {
            if s.val != EMPTY {
                self.insert(s.k0, s.k1, s.val);
            }
        }
    }

    /// Value of a key.
    #[inline(always)]
    pub fn get(&self, k0: u64, k1: u64) -> Option<u32> {
        let mask = self.mask();
        let mut i = self.home(k0, k1);
        loop {
            let s = &self.slots[i];
            if s.val == EMPTY {
                return None;
            }
            if s.k0 == k0 && s.k1 == k1 {
                return Some(s.val);
            }
            i = (i + 1) & mask;
        }
    }

    /// Insert or replace. The caller keeps the load factor below 1 (via [`KeyHash::reserve`]);
    /// if the table is full anyway it grows here rather than loop forever.
    #[inline]
    pub fn insert(&mut self, k0: u64, k1: u64, val: u32) {
        debug_assert!(val != EMPTY);
        if self.len + 1 >= self.slots.len() {
            self.reserve(1);
        }
        let mask = self.mask();
        let mut i = self.home(k0, k1);
        loop {
            let s = &mut self.slots[i];
            if s.val == EMPTY {
                *s = Slot { k0, k1, val };
                self.len += 1;
                return;
            }
            if s.k0 == k0 && s.k1 == k1 {
                s.val = val;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Remove a key; returns its value.
    pub fn remove(&mut self, k0: u64, k1: u64) -> Option<u32> {
        let mask = self.mask();
        let mut i = self.home(k0, k1);
        loop {
            let s = self.slots[i];
            if s.val == EMPTY {
                return None;
            }
            if s.k0 == k0 && s.k1 == k1 {
                break;
            }
            i = (i + 1) & mask;
        }
        let val = self.slots[i].val;
        self.slots[i] = FREE;
        self.len -= 1;
        // Backward shift: move later members of the cluster into the hole when their home slot
        // does not lie cyclically in (hole, j].
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.val == EMPTY {
                break;
            }
            let k = self.home(s.k0, s.k1);
            let stays = if hole <= j {
                hole < k && k <= j
            } else {
                hole < k || k <= j
            };
            if !stays {
                self.slots[hole] = s;
                self.slots[j] = FREE;
                hole = j;
            }
        }
        Some(val)
    }

    /// Remove every key (keeps the slot array).
    pub fn clear(&mut self) {
        self.slots.fill(FREE);
        self.len = 0;
    }

    /// All (k0, k1, value) entries, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64, u32)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.val != EMPTY)
            .map(|s| (s.k0, s.k1, s.val))
    }
}

/// An open-addressing index of items whose keys live elsewhere (the session pool): each slot holds
/// the item index and the high 32 bits of the key's hash (8 bytes, so that the index of half a
/// million sessions fits a CPU's L2 cache). A probe compares the hash bits, then confirms the key
/// with the caller's `is_key`. Same probing and deletion as [`KeyHash`].
#[derive(Clone, Debug)]
pub struct IndexHash {
    /// (item index or [`EMPTY`], hash >> 32).
    slots: Vec<(u32, u32)>,
    shift: u32,
    len: usize,
}

impl Default for IndexHash {
    fn default() -> Self {
        let bits = KeyHash::bits_for(0);
        IndexHash {
            slots: vec![(EMPTY, 0); 1 << bits],
            shift: 64 - bits,
            len: 0,
        }
    }
}

impl IndexHash {
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn home_of_tag(&self, tag: u32) -> usize {
        ((tag as u64) << 32 >> self.shift) as usize
    }

    /// Make room for `extra` more items at a load factor of at most 3/4 (the only allocation).
    pub fn reserve(&mut self, extra: usize) {
        let need = self.len + extra;
        if need * 4 <= self.slots.len() * 3 {
            return;
        }
        let want = (need * 4 / 3 + 1).next_power_of_two();
        let bits = want.trailing_zeros().clamp(MIN_BITS, 32);
        let old = std::mem::replace(&mut self.slots, vec![(EMPTY, 0); 1 << bits]);
        self.shift = 64 - bits;
        let mask = self.slots.len() - 1;
        for (idx, tag) in old {
            if idx != EMPTY {
                let mut i = self.home_of_tag(tag);
                while self.slots[i].0 != EMPTY {
                    i = (i + 1) & mask;
                }
                self.slots[i] = (idx, tag);
            }
        }
    }

    /// The item whose key hashes to `h` and satisfies `is_key`.
    #[inline(always)]
    pub fn get(&self, h: u64, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        let tag = (h >> 32) as u32;
        let mask = self.slots.len() - 1;
        let mut i = (h >> self.shift) as usize;
        loop {
            let (idx, t) = self.slots[i];
            if idx == EMPTY {
                return None;
            }
            if t == tag && is_key(idx) {
                return Some(idx);
            }
            i = (i + 1) & mask;
        }
    }

    /// Add an item (its key must not be present). Grows if the table is full.
    #[inline]
    pub fn insert(&mut self, h: u64, idx: u32) {
        debug_assert!(idx != EMPTY);
        if self.len + 1 >= self.slots.len() {
            self.reserve(1);
        }
        let mask = self.slots.len() - 1;
        let mut i = (h >> self.shift) as usize;
        while self.slots[i].0 != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = (idx, (h >> 32) as u32);
        self.len += 1;
    }

    /// Remove item `idx` whose key hashes to `h`; returns false if it is not there.
    pub fn remove(&mut self, h: u64, idx: u32) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = (h >> self.shift) as usize;
        loop {
            let (x, _) = self.slots[i];
            if x == EMPTY {
                return false;
            }
            if x == idx {
                break;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = (EMPTY, 0);
        self.len -= 1;
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.0 == EMPTY {
                break;
            }
            let k = self.home_of_tag(s.1);
            let stays = if hole <= j {
                hole < k && k <= j
            } else {
                hole < k || k <= j
            };
            if !stays {
                self.slots[hole] = s;
                self.slots[j] = (EMPTY, 0);
                hole = j;
            }
        }
        true
    }

    /// Remove every item.
    pub fn clear(&mut self) {
        self.slots.fill((EMPTY, 0));
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// xorshift64*, deterministic.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[test]
    fn matches_std_hashmap_under_random_inserts_and_removes() {
        let mut h = KeyHash::with_capacity(8);
        let mut m: HashMap<(u64, u64), u32> = HashMap::new();
        let mut st = 0x1234_5678_9abc_def1u64;
        for step in 0..200_000u32 {
            // A small key space so that removes hit and clusters form.
            let k0 = rng(&mut st) % 64;
            let k1 = rng(&mut st) % 512;
            match rng(&mut st) % 3 {
                0 | 1 => {
                    h.reserve(1);
                    h.insert(k0, k1, step);
                    m.insert((k0, k1), step);
                }
                _ => assert_eq!(h.remove(k0, k1), m.remove(&(k0, k1))),
            }
            if step % 997 == 0 {
                for (&(a, b), &v) in &m {
                    assert_eq!(h.get(a, b), Some(v));
                }
            }
            assert_eq!(h.len(), m.len());
        }
        for (&(a, b), &v) in &m {
            assert_eq!(h.get(a, b), Some(v));
        }
        assert_eq!(h.iter().count(), m.len());
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.get(1, 1), None);
    }

    #[test]
    fn index_hash_matches_std_hashmap() {
        let mut keys: Vec<(u64, u64)> = Vec::new();
        let mut h = IndexHash::default();
        let mut m: HashMap<(u64, u64), u32> = HashMap::new();
        let mut st = 0x5151_7e7e_0101_2020u64;
        for _ in 0..100_000u32 {
            let k = (rng(&mut st) % 50, rng(&mut st) % 300);
            let hh = hash2(k.0, k.1);
            let find = |h: &IndexHash, keys: &Vec<(u64, u64)>| h.get(hh, |i| keys[i as usize] == k);
            match rng(&mut st) % 3 {
                0 | 1 => {
                    if find(&h, &keys).is_none() {
                        keys.push(k);
                        let idx = (keys.len() - 1) as u32;
                        h.reserve(1);
                        h.insert(hh, idx);
                        m.insert(k, idx);
                    }
                }
                _ => {
                    let want = m.remove(&k);
                    if let Some(idx) = want {
                        assert!(h.remove(hh, idx));
                    }
                    assert_eq!(find(&h, &keys), None);
                }
            }
            assert_eq!(h.len(), m.len());
        }
        for (k, &v) in &m {
            assert_eq!(h.get(hash2(k.0, k.1), |i| keys[i as usize] == *k), Some(v));
        }
        h.clear();
        assert!(h.is_empty());
    }

    #[test]
    fn reserve_keeps_load_at_most_half() {
        let mut h = KeyHash::default();
        for i in 0..1000u64 {
            h.reserve(1);
            h.insert(i, !i, i as u32);
            assert!(h.len() * 2 <= h.capacity());
        }
        for i in 0..1000u64 {
            assert_eq!(h.get(i, !i), Some(i as u32));
        }
    }
}
