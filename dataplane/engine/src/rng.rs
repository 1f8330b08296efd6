//! The small seeded pseudo-random generator (xorshift64*, SplitMix64 seeding) shared by what must
//! be reproducible: NAT44 port allocation and load balancing, pg streams' random fields. Not
//! cryptographic; a replay with the same seed gives the same values.

/// xorshift64* generator (Vigna).
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

/// SplitMix64 finaliser: turns any seed (including 0) into a well-mixed value.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose state is `splitmix(mixed)` (never zero, which xorshift cannot leave).
    fn from_mixed(mixed: u64) -> Self {
        let s = splitmix(mixed);
        Rng {
            state: if s == 0 { 1 } else { s },
        }
    }

    /// A generator for `seed`; `stream` separates independent sequences drawn from one seed.
    pub fn new(seed: u64, stream: u64) -> Self {
        Self::from_mixed(seed ^ splitmix(stream))
    }

    /// A generator for `seed` alone (one sequence per seed).
    pub fn from_seed(seed: u64) -> Self {
        Self::from_mixed(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The next 32 random bits (the high half of [`Rng::next_u64`]).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift reduction.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }

    /// A value in `lo..=hi` (`lo <= hi`), by multiply-shift reduction.
    #[inline]
    pub fn in_range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.wrapping_sub(lo).wrapping_add(1);
        let r = self.next_u64();
        if span == 0 {
            // The whole u64 range.
            return r;
        }
        lo + ((r as u128 * span as u128) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_spread() {
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        let mut c = Rng::new(7, 2);
        let xs: Vec<u32> = (0..100).map(|_| a.below(1000)).collect();
        let ys: Vec<u32> = (0..100).map(|_| b.below(1000)).collect();
        let zs: Vec<u32> = (0..100).map(|_| c.below(1000)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!(xs.iter().all(|&x| x < 1000));
        let mut seen = [false; 16];
        let mut r = Rng::new(0, 0);
        for _ in 0..1000 {
            seen[r.below(16) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
