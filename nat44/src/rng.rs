//! A small seeded pseudo-random generator (xorshift64*), injectable so that port allocation and
//! load-balancing choices are reproducible (replays give the same ports and the same endpoints).

/// Default seed when none is configured (`set nat44 random-seed N` changes it).
pub const DEFAULT_SEED: u64 = 0x6e61_7434_3435_6564;

/// xorshift64* generator (Vigna). Not cryptographic; good enough to spread ports and endpoints.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

/// SplitMix64 finaliser: turns any seed (including 0) into a well-mixed non-zero state.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for `seed`; `stream` separates independent sequences drawn from one seed.
    pub fn new(seed: u64, stream: u64) -> Self {
        let s = splitmix(seed ^ splitmix(stream));
        Rng {
            state: if s == 0 { 1 } else { s },
        }
    }

    /// Next 32 random bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift reduction.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
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
