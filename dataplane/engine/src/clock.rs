//! Time sources: the CPU timestamp counter for runtime statistics, and an injectable clock for
//! everything that depends on time (trace stamps, session timeouts), so that a replay is
//! deterministic.

use std::time::Instant;

/// Read the CPU cycle counter (TSC on x86_64). Used only for `show runtime` clocks.
#[inline(always)]
pub fn cpu_clocks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions on x86_64; it only reads the timestamp counter.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// The time base of one thread: nanoseconds since the main loop started, or a manual time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// Real time since `start`.
    Monotonic {
        /// When the main loop started.
        start: Instant,
    },
    /// Time set by the caller (replays set it to each packet's pcap timestamp).
    Manual {
        /// Current time in nanoseconds.
        now_ns: u64,
    },
}

impl Default for Clock {
    fn default() -> Self {
        Clock::Monotonic {
            start: Instant::now(),
        }
    }
}

impl Clock {
    /// A manual clock starting at `now_ns`.
    pub fn manual(now_ns: u64) -> Self {
        Clock::Manual { now_ns }
    }

    /// Nanoseconds on this clock.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        match self {
            Clock::Monotonic { start } => start.elapsed().as_nanos() as u64,
            Clock::Manual { now_ns } => *now_ns,
        }
    }

    /// Set a manual clock (ignored by the monotonic clock, which cannot be set).
    pub fn set_ns(&mut self, ns: u64) {
        if let Clock::Manual { now_ns } = self {
            *now_ns = ns;
        }
    }

    /// True for a manual (replay) clock.
    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual { .. })
    }
}

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
