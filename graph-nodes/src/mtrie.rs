//! IPv4 16-8-8 mtrie: the longest-prefix-match table behind the IPv4 FIB.
//!
//! Modelled on VPP's `ip4_mtrie_16` (`src/vnet/ip/ip4_mtrie.[ch]`): a root
//! ply of 65536 leaves indexed by the top 16 bits of the destination
//! address, then up to two levels of 8-bit plies (256 leaves each) indexed
//! by the third and fourth address bytes. A lookup is therefore at most three
//! dependent memory loads.
//!
//! # Leaf encoding
//!
//! A leaf is a `u32`:
//! * low bit set: a *terminal* leaf, the value (FIB load-balance / DPO
//!   index) is `leaf >> 1` — hence values must be `< 2^31`;
//! * low bit clear: a pointer to a child ply, its pool index is `leaf >> 1`.
//!
//! # Prefix lengths per slot
//!
//! Next to each leaf a ply keeps the length of the prefix that wrote that
//! terminal leaf (VPP's `dst_address_bits_of_leaves`; 0 for the default
//! value and for `0.0.0.0/0`). Inserting a prefix only overwrites slots whose
//! stored length is `<=` its own, so a shorter prefix inserted after a
//! longer one never hides it; removing a prefix only rewrites slots whose
//! stored length is exactly its own, with the cover supplied by the caller.
//!
//! Each child ply covers a /16 (base length 16) or a /24 (base length 24).
//! A slot is *non-empty* if it points to a ply or holds a prefix longer
//! than the ply's base length. When a removal leaves a ply with no
//! non-empty slot, all its slots necessarily hold the same value (the
//! longest prefix covering the whole ply), so the ply is collapsed back to
//! one terminal leaf in its parent and returned to the pool's free list.
//! Invariant: a slot points to a child ply iff some inserted prefix longer
//! than the slot's own granularity lies inside it.
//!
//! # Cost
//!
//! * Memory: 320 KiB for the root ply plus 1284 bytes per 8-bit ply. Every
//!   /16 holding a prefix longer than /16 needs a ply, and every /24
//!   holding one longer than /24 another, so scattered /32s are the
//!   expensive case (1M random /24 + /32 routes: ~313k plies, ~410 MiB).
//! * Lookup: [`Ip4Mtrie::lookup_many`] prefetches one level ahead for a
//!   whole batch; it is several times faster than a loop of
//!   [`Ip4Mtrie::lookup`] once the plies no longer fit in the caches.
//! * Update: a prefix of length `l` writes `2^(16-l)` root slots or
//!   `2^(8-l%8)` ply slots, *plus* every empty slot of every ply below
//!   them: inserting or removing a short prefix (e.g. a /8) over a densely
//!   populated region rewrites all the plies underneath (VPP has the same
//!   cost).

const ROOT_BITS: u32 = 16;
const ROOT_SLOTS: usize = 1 << ROOT_BITS;
const PLY_SLOTS: usize = 256;
/// Addresses per prefetch wave in [`Ip4Mtrie::lookup_many`] (one frame).
const BATCH: usize = 256;

/// One 8-bit ply (1284 bytes). Not cache-line aligned on purpose: a lookup
/// reads a single 4-byte leaf, which never straddles a line, so alignment
/// would only waste 60 bytes per ply.
#[derive(Clone)]
struct Ply {
    /// Leaves as looked up by the data plane.
    leaves: [u32; PLY_SLOTS],
    /// Prefix length that set each terminal leaf; `base_len + 8` for
    /// pointer slots (longer than any prefix that fills a whole child ply).
    lens: [u8; PLY_SLOTS],
    /// Number of slots that are pointers or hold a prefix longer than `base_len`.
    n_non_empty: u16,
    /// Prefix length covered by this ply as a whole: 16 or 24.
    base_len: u8,
}

impl Ply {
    fn new(leaf: u32, len: u8, base_len: u8) -> Self {
        debug_assert!(is_terminal(leaf) && len <= base_len);
        Ply {
            leaves: [leaf; PLY_SLOTS],
            lens: [len; PLY_SLOTS],
            n_non_empty: 0,
            base_len,
        }
    }

    /// Index of `addr` in this ply.
    #[inline(always)]
    fn slot_of(&self, addr: u32) -> usize {
        ((addr >> (24 - u32::from(self.base_len))) & 0xff) as usize
    }
}

#[inline(always)]
const fn terminal_leaf(value: u32) -> u32 {
    (value << 1) | 1
}

#[inline(always)]
const fn ply_leaf(ply_index: usize) -> u32 {
    (ply_index as u32) << 1
}

#[inline(always)]
const fn is_terminal(leaf: u32) -> bool {
    leaf & 1 != 0
}

#[inline(always)]
const fn leaf_ply_index(leaf: u32) -> usize {
    (leaf >> 1) as usize
}

/// Whether a slot counts towards a ply's `n_non_empty`.
#[inline(always)]
fn non_empty(leaf: u32, len: u8, base_len: u8) -> bool {
    !is_terminal(leaf) || len > base_len
}

#[inline(always)]
fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// A slot's parent: the root ply or a pool ply.
#[derive(Clone, Copy)]
enum Parent {
    Root,
    Ply(usize),
}

/// IPv4 longest-prefix-match table (16-8-8 mtrie) mapping every address to
/// a `u32` leaf value.
///
/// Addresses are `u32` in host order (`10.1.2.3 == 0x0a01_0203`). Values
/// must be `< 2^31` (one bit of the leaf encodes "pointer to ply").
///
/// The table does not remember the prefixes themselves: the owner (the FIB)
/// keeps the authoritative prefix table and supplies the cover on
/// [`remove`](Self::remove).
#[derive(Clone)]
pub struct Ip4Mtrie {
    /// Root ply leaves, indexed by the top 16 address bits.
    root: Box<[u32; ROOT_SLOTS]>,
    /// Prefix length that set each terminal root leaf.
    root_lens: Box<[u8; ROOT_SLOTS]>,
    /// Pool of 8-bit plies; free entries are listed in `free`.
    plies: Vec<Ply>,
    /// Free pool indices.
    free: Vec<usize>,
    /// Value for addresses covered by no prefix (and restored by removing /0).
    default_value: u32,
}

impl std::fmt::Debug for Ip4Mtrie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ip4Mtrie")
            .field("default_value", &self.default_value)
            .field("n_plies", &self.n_plies())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl Ip4Mtrie {
    /// Creates an empty table in which every address maps to `default_value`
    /// (`< 2^31`).
    pub fn new(default_value: u32) -> Self {
        assert!(
            default_value < 1 << 31,
            "mtrie value {default_value:#x} >= 2^31"
        );
        let root: Box<[u32; ROOT_SLOTS]> = vec![terminal_leaf(default_value); ROOT_SLOTS]
            .into_boxed_slice()
            .try_into()
            .expect("root ply size");
        let root_lens: Box<[u8; ROOT_SLOTS]> = vec![0u8; ROOT_SLOTS]
            .into_boxed_slice()
            .try_into()
            .expect("root ply size");
        Ip4Mtrie {
            root,
            root_lens,
            plies: Vec::new(),
            free: Vec::new(),
            default_value,
        }
    }

    /// Inserts prefix `addr/len` with `value`, replacing the value of an
    /// identical prefix inserted earlier. Host bits of `addr` are ignored.
    ///
    /// Panics if `len > 32` or `value >= 2^31`.
    pub fn insert(&mut self, addr: u32, len: u8, value: u32) {
        assert!(len <= 32, "IPv4 prefix length {len} > 32");
        assert!(value < 1 << 31, "mtrie value {value:#x} >= 2^31");
        let addr = addr & prefix_mask(len);
        let leaf = terminal_leaf(value);
        let first = (addr >> ROOT_BITS) as usize;
        if u32::from(len) <= ROOT_BITS {
            let n = 1usize << (ROOT_BITS - u32::from(len));
            for i in first..first + n {
                let old = self.root[i];
                if !is_terminal(old) {
                    self.fill_less_specific(leaf_ply_index(old), leaf, len);
                } else if self.root_lens[i] <= len {
                    self.root[i] = leaf;
                    self.root_lens[i] = len;
                }
            }
        } else {
            let child = self.child_for_insert(Parent::Root, first);
            self.insert_in_ply(child, addr, len, leaf);
        }
    }

    /// Removes prefix `addr/len` (host bits of `addr` ignored): the addresses
    /// it covered fall back to its cover, the longest remaining prefix
    /// covering it, which the caller passes as `cover_value` (`< 2^31`) with
    /// length `cover_len` (`< len`). Use the table's default value with
    /// `cover_len == 0` when nothing covers it.
    ///
    /// Removing `0.0.0.0/0` (`len == 0`) ignores the cover arguments and
    /// restores the default value given to [`new`](Self::new).
    /// Removing a prefix that is not in the table changes nothing.
    ///
    /// Panics if `len > 32`, `cover_len >= len` (for `len > 0`) or
    /// `cover_value >= 2^31`.
    pub fn remove(&mut self, addr: u32, len: u8, cover_value: u32, cover_len: u8) {
        assert!(len <= 32, "IPv4 prefix length {len} > 32");
        let (cover_value, cover_len) = if len == 0 {
            (self.default_value, 0)
        } else {
            (cover_value, cover_len)
        };
        assert!(
            cover_len < len || len == 0,
            "cover length {cover_len} not shorter than removed prefix length {len}"
        );
        assert!(
            cover_value < 1 << 31,
            "mtrie value {cover_value:#x} >= 2^31"
        );
        let addr = addr & prefix_mask(len);
        let cover = terminal_leaf(cover_value);
        let first = (addr >> ROOT_BITS) as usize;
        if u32::from(len) <= ROOT_BITS {
            let n = 1usize << (ROOT_BITS - u32::from(len));
            for i in first..first + n {
                let old = self.root[i];
                if !is_terminal(old) {
                    self.unfill_less_specific(leaf_ply_index(old), len, cover, cover_len);
                } else if self.root_lens[i] == len {
                    self.root[i] = cover;
                    self.root_lens[i] = cover_len;
                }
            }
        } else {
            let old = self.root[first];
            if is_terminal(old) {
                return; // no prefix longer than /16 in here: nothing to remove
            }
            let child = leaf_ply_index(old);
            self.remove_in_ply(child, addr, len, cover, cover_len);
            self.collapse_if_empty(Parent::Root, first, child);
        }
    }

    /// Longest-prefix-match lookup of `addr`: the value of the longest
    /// inserted prefix covering it, or the default value.
    ///
    /// At most three dependent loads: root ply, then up to two 8-bit plies.
    #[inline(always)]
    pub fn lookup(&self, addr: u32) -> u32 {
        let mut leaf = self.root[(addr >> ROOT_BITS) as usize];
        if !is_terminal(leaf) {
            leaf = self.plies[leaf_ply_index(leaf)].leaves[((addr >> 8) & 0xff) as usize];
            if !is_terminal(leaf) {
                leaf = self.plies[leaf_ply_index(leaf)].leaves[(addr & 0xff) as usize];
            }
        }
        leaf_value(leaf)
    }

    /// Batch lookup: `out[i] = self.lookup(addrs[i])` for every `i` in
    /// `0..addrs.len()`.
    ///
    /// Walks the whole batch one ply level at a time, using `out` to hold
    /// the intermediate leaves, and prefetches each address's next-level
    /// leaf one pass before it is loaded, so the cache (and TLB) misses of
    /// the whole batch overlap instead of being paid one after another.
    ///
    /// Panics if `out` is shorter than `addrs`.
    pub fn lookup_many(&self, addrs: &[u32], out: &mut [u32]) {
        assert!(
            out.len() >= addrs.len(),
            "lookup_many: out ({}) shorter than addrs ({})",
            out.len(),
            addrs.len()
        );
        // Bound how far ahead we prefetch so the lines are still in L1 when
        // the next pass reads them.
        for (a, o) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            self.lookup_batch(a, o);
        }
    }

    /// [`lookup_many`](Self::lookup_many) for at most [`BATCH`] addresses,
    /// `out.len() >= addrs.len()`.
    #[inline]
    fn lookup_batch(&self, addrs: &[u32], out: &mut [u32]) {
        let out = &mut out[..addrs.len()];
        let plies = self.plies.as_slice();
        // Root ply (256 KiB, usually cache resident); prefetch the /16 plies.
        for (o, &a) in out.iter_mut().zip(addrs) {
            let leaf = self.root[(a >> ROOT_BITS) as usize];
            *o = leaf;
            if !is_terminal(leaf) {
                prefetch(&plies[leaf_ply_index(leaf)].leaves[((a >> 8) & 0xff) as usize]);
            }
        }
        // /16 plies; prefetch the /24 plies.
        for (o, &a) in out.iter_mut().zip(addrs) {
            let leaf = *o;
            if !is_terminal(leaf) {
                let leaf = plies[leaf_ply_index(leaf)].leaves[((a >> 8) & 0xff) as usize];
                *o = leaf;
                if !is_terminal(leaf) {
                    prefetch(&plies[leaf_ply_index(leaf)].leaves[(a & 0xff) as usize]);
                }
            }
        }
        // /24 plies (always terminal).
        for (o, &a) in out.iter_mut().zip(addrs) {
            let mut leaf = *o;
            if !is_terminal(leaf) {
                leaf = plies[leaf_ply_index(leaf)].leaves[(a & 0xff) as usize];
            }
            *o = leaf_value(leaf);
        }
    }

    /// Bytes allocated by the table (root ply, ply pool capacity, free list),
    /// for `show ip fib` memory reporting.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + ROOT_SLOTS * (std::mem::size_of::<u32>() + std::mem::size_of::<u8>())
            + self.plies.capacity() * std::mem::size_of::<Ply>()
            + self.free.capacity() * std::mem::size_of::<usize>()
    }

    /// Number of 8-bit plies in use (the root ply is not counted).
    pub fn n_plies(&self) -> usize {
        self.plies.len() - self.free.len()
    }

    // ----- control plane internals -------------------------------------

    /// Inserts terminal `leaf` for `addr/len` (len > ply base) below ply `p`.
    fn insert_in_ply(&mut self, p: usize, addr: u32, len: u8, leaf: u32) {
        let ply = &self.plies[p];
        let base = ply.base_len;
        let end = base + 8;
        let first = ply.slot_of(addr);
        if len <= end {
            let n = 1usize << (end - len);
            for i in first..first + n {
                let old = self.plies[p].leaves[i];
                if !is_terminal(old) {
                    self.fill_less_specific(leaf_ply_index(old), leaf, len);
                } else if self.plies[p].lens[i] <= len {
                    self.set_ply_slot(p, i, leaf, len);
                }
            }
        } else {
            let child = self.child_for_insert(Parent::Ply(p), first);
            self.insert_in_ply(child, addr, len, leaf);
        }
    }

    /// A prefix of length `len <= base` of ply `p` covers the whole ply:
    /// writes `leaf` into every slot (recursively) whose stored prefix is
    /// not longer. Slot emptiness is unchanged (both lengths are <= base).
    fn fill_less_specific(&mut self, p: usize, leaf: u32, len: u8) {
        let ply = &mut self.plies[p];
        // Pointer slots store length `base_len + 8 > len`, so this
        // branch-free (vectorizable) pass leaves them alone.
        for (l, n) in ply.leaves.iter_mut().zip(ply.lens.iter_mut()) {
            let hit = *n <= len;
            *l = if hit { leaf } else { *l };
            *n = if hit { len } else { *n };
        }
        if ply.base_len == 16 {
            for i in 0..PLY_SLOTS {
                let old = self.plies[p].leaves[i];
                if !is_terminal(old) {
                    self.fill_less_specific(leaf_ply_index(old), leaf, len);
                }
            }
        }
    }

    /// Returns the child ply under slot `i` of `parent`, creating it (filled
    /// with the slot's current terminal leaf) if the slot is terminal.
    fn child_for_insert(&mut self, parent: Parent, i: usize) -> usize {
        let (old, old_len, base) = match parent {
            Parent::Root => (self.root[i], self.root_lens[i], ROOT_BITS as u8),
            Parent::Ply(p) => (
                self.plies[p].leaves[i],
                self.plies[p].lens[i],
                self.plies[p].base_len + 8,
            ),
        };
        if !is_terminal(old) {
            return leaf_ply_index(old);
        }
        let child = self.alloc_ply(Ply::new(old, old_len, base));
        match parent {
            Parent::Root => {
                self.root[i] = ply_leaf(child);
                self.root_lens[i] = base;
            }
            Parent::Ply(p) => self.set_ply_slot(p, i, ply_leaf(child), base),
        }
        child
    }

    /// Removes `addr/len` (len > ply base) below ply `p`, collapsing emptied
    /// descendants (but not `p` itself: that is the caller's job).
    fn remove_in_ply(&mut self, p: usize, addr: u32, len: u8, cover: u32, cover_len: u8) {
        let ply = &self.plies[p];
        let base = ply.base_len;
        let end = base + 8;
        let first = ply.slot_of(addr);
        if len <= end {
            let n = 1usize << (end - len);
            for i in first..first + n {
                let old = self.plies[p].leaves[i];
                if !is_terminal(old) {
                    self.unfill_less_specific(leaf_ply_index(old), len, cover, cover_len);
                } else if self.plies[p].lens[i] == len {
                    self.set_ply_slot(p, i, cover, cover_len);
                }
            }
        } else {
            let old = self.plies[p].leaves[first];
            if is_terminal(old) {
                return; // prefix not present
            }
            let child = leaf_ply_index(old);
            self.remove_in_ply(child, addr, len, cover, cover_len);
            self.collapse_if_empty(Parent::Ply(p), first, child);
        }
    }

    /// A removed prefix of length `len <= base` of ply `p` covered the whole
    /// ply: replaces (recursively) every slot it set with the cover.
    fn unfill_less_specific(&mut self, p: usize, len: u8, cover: u32, cover_len: u8) {
        let ply = &mut self.plies[p];
        // Pointer slots store length `base_len + 8 != len`: left alone.
        for (l, n) in ply.leaves.iter_mut().zip(ply.lens.iter_mut()) {
            let hit = *n == len;
            *l = if hit { cover } else { *l };
            *n = if hit { cover_len } else { *n };
        }
        if ply.base_len == 16 {
            for i in 0..PLY_SLOTS {
                let old = self.plies[p].leaves[i];
                if !is_terminal(old) {
                    self.unfill_less_specific(leaf_ply_index(old), len, cover, cover_len);
                }
            }
        }
    }

    /// If ply `child` (under slot `i` of `parent`) has no non-empty slot, all
    /// its slots hold the same terminal leaf: moves it up and frees `child`.
    fn collapse_if_empty(&mut self, parent: Parent, i: usize, child: usize) {
        let c = &self.plies[child];
        if c.n_non_empty != 0 {
            return;
        }
        let (leaf, len) = (c.leaves[0], c.lens[0]);
        debug_assert!(c.leaves.iter().all(|&l| l == leaf) && c.lens.iter().all(|&l| l == len));
        match parent {
            Parent::Root => {
                self.root[i] = leaf;
                self.root_lens[i] = len;
            }
            Parent::Ply(p) => self.set_ply_slot(p, i, leaf, len),
        }
        self.free_ply(child);
    }

    /// Sets slot `i` of pool ply `p`, maintaining `n_non_empty`.
    fn set_ply_slot(&mut self, p: usize, i: usize, leaf: u32, len: u8) {
        let ply = &mut self.plies[p];
        let was = non_empty(ply.leaves[i], ply.lens[i], ply.base_len);
        let now = non_empty(leaf, len, ply.base_len);
        ply.leaves[i] = leaf;
        ply.lens[i] = len;
        match (was, now) {
            (false, true) => ply.n_non_empty += 1,
            (true, false) => ply.n_non_empty -= 1,
            _ => {}
        }
    }

    fn alloc_ply(&mut self, ply: Ply) -> usize {
        if let Some(i) = self.free.pop() {
            self.plies[i] = ply;
            i
        } else {
            assert!(self.plies.len() < 1 << 31, "mtrie ply pool exhausted");
            if self.plies.len() == self.plies.capacity() {
                // Grow by 1/8 rather than doubling: a big table is hundreds
                // of MiB and large reallocations are cheap (mremap), so
                // bound the slack instead.
                self.plies.reserve_exact(self.plies.len() / 8 + 16);
            }
            self.plies.push(ply);
            self.plies.len() - 1
        }
    }

    fn free_ply(&mut self, p: usize) {
        self.free.push(p);
        if self.free.len() == self.plies.len() {
            // Everything collapsed back into the root: release the pool.
            self.plies = Vec::new();
            self.free = Vec::new();
        }
    }

    /// Checks the structural invariants (test helper).
    #[cfg(test)]
    fn check_invariants(&self) {
        let mut reachable = vec![false; self.plies.len()];
        for i in 0..ROOT_SLOTS {
            let leaf = self.root[i];
            if is_terminal(leaf) {
                assert!(self.root_lens[i] <= 16);
            } else {
                assert_eq!(self.root_lens[i], 16, "pointer slot length");
                self.check_ply(leaf_ply_index(leaf), 16, &mut reachable);
            }
        }
        let n_reachable = reachable.iter().filter(|&&r| r).count();
        assert_eq!(n_reachable, self.n_plies());
        for &f in &self.free {
            assert!(!reachable[f]);
        }
    }

    #[cfg(test)]
    fn check_ply(&self, p: usize, base: u8, reachable: &mut [bool]) {
        assert!(!reachable[p], "ply {p} reachable twice");
        reachable[p] = true;
        let ply = &self.plies[p];
        assert_eq!(ply.base_len, base);
        let mut n = 0;
        for i in 0..PLY_SLOTS {
            let leaf = ply.leaves[i];
            if non_empty(leaf, ply.lens[i], base) {
                n += 1;
            }
            if is_terminal(leaf) {
                assert!(ply.lens[i] <= base + 8);
            } else {
                assert_eq!(ply.lens[i], base + 8, "pointer slot length");
                assert_eq!(base, 16, "pointer in a /24 ply");
                self.check_ply(leaf_ply_index(leaf), base + 8, reachable);
            }
        }
        assert_eq!(n, ply.n_non_empty);
        assert!(n > 0, "live ply {p} has no non-empty slot");
    }
}

#[inline(always)]
const fn leaf_value(leaf: u32) -> u32 {
    leaf >> 1
}

/// Hints the CPU to bring the cache line holding `leaf` into L1.
#[inline(always)]
fn prefetch(leaf: &u32) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint: it never faults and has no
        // architectural effect (and `leaf` is a valid reference anyway).
        // SSE, which provides it, is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((leaf as *const u32).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = leaf;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny xorshift PRNG.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    /// Longest prefix of length `< max_len` covering `addr`: (value, len).
    fn reference_lookup(
        prefixes: &[(u32, u8, u32)],
        default: u32,
        addr: u32,
        max_len: u8,
    ) -> (u32, u8) {
        let mut best = (default, 0u8);
        let mut best_len = -1i32;
        for &(a, l, v) in prefixes {
            if l < max_len && addr & prefix_mask(l) == a && i32::from(l) > best_len {
                best = (v, l);
                best_len = i32::from(l);
            }
        }
        best
    }

    #[test]
    fn mtrie_invariants_under_churn() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut m = Ip4Mtrie::new(7);
        let mut prefixes: Vec<(u32, u8, u32)> = Vec::new();
        for step in 0..3000 {
            let r = rng.next();
            if prefixes.is_empty() || r % 3 != 1 {
                let len = [0u8, 8, 12, 16, 18, 20, 24, 26, 28, 30, 32][(r >> 8) as usize % 11];
                // cluster in 10.0.0.0/14 so plies are shared
                let addr = (0x0a00_0000 | ((rng.next() as u32) & 0x0003_ffff)) & prefix_mask(len);
                let value = (rng.next() as u32) & 0x7fff_ffff;
                prefixes.retain(|&(a, l, _)| !(a == addr && l == len));
                prefixes.push((addr, len, value));
                m.insert(addr, len, value);
            } else {
                let k = (r >> 8) as usize % prefixes.len();
                let (a, l, _) = prefixes.swap_remove(k);
                let (cv, cl) = reference_lookup(&prefixes, 7, a, l);
                m.remove(a, l, cv, cl);
            }
            if step % 97 == 0 {
                m.check_invariants();
            }
            for _ in 0..4 {
                let addr = 0x0a00_0000 | ((rng.next() as u32) & 0x0003_ffff);
                assert_eq!(m.lookup(addr), reference_lookup(&prefixes, 7, addr, 33).0);
            }
        }
        m.check_invariants();
        while let Some((a, l, _)) = prefixes.pop() {
            let (cv, cl) = reference_lookup(&prefixes, 7, a, l);
            m.remove(a, l, cv, cl);
        }
        m.check_invariants();
        assert_eq!(m.n_plies(), 0);
        assert_eq!(m.lookup(0x0a00_0001), 7);
    }
}
