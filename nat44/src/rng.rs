//! NAT44's generator: the engine's seeded [`Rng`], injectable so that port allocation and
//! load-balancing choices are reproducible (replays give the same ports and the same endpoints).

pub use engine::rng::Rng;

/// Default seed when none is configured (`set nat44 random-seed N` changes it).
pub const DEFAULT_SEED: u64 = 0x6e61_7434_3435_6564;
