//! Node function variants per CPU level, chosen at run time (VPP's multiarch node functions).
//!
//! A hot node writes its frame loop once, as [`Kernel::kernel`] marked `#[inline(always)]`, and
//! puts [`multiarch_node!`](crate::multiarch_node) in its `impl Node`, whose `process` calls
//! [`dispatch`]. [`dispatch`] holds one
//! copy of the loop per x86-64 level (the baseline the crate is built for, x86-64-v2, v3 and v4),
//! each compiled with that level's instructions enabled, and runs the one the graph selected for
//! the node: the best level the CPU has, unless `node { default { variant V } }` in startup.conf,
//! `set node function NODE V` or a test forces another. The choice is made per frame by one
//! predictable branch; nothing is decided per packet. No variant is ever required: a CPU without
//! AVX-512 (or without AVX2) runs the best level it has, down to the baseline.

use std::sync::OnceLock;

use crate::buffer::BufferIndex;
use crate::graph::NodeCx;

/// A node function variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum March {
    /// Built for the crate's target (x86-64 baseline: SSE2).
    #[default]
    Default,
    /// x86-64-v2: SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CMPXCHG16B.
    X86_64V2,
    /// x86-64-v3: v2 and AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE.
    X86_64V3,
    /// x86-64-v4: v3 and AVX-512 F, BW, CD, DQ, VL.
    X86_64V4,
}

impl March {
    /// Every variant, lowest first.
    pub const ALL: [March; 4] = [
        March::Default,
        March::X86_64V2,
        March::X86_64V3,
        March::X86_64V4,
    ];

    /// The name used in startup.conf and the CLI (VPP's variant suffix).
    pub fn name(self) -> &'static str {
        match self {
            March::Default => "default",
            March::X86_64V2 => "x86_64_v2",
            March::X86_64V3 => "x86_64_v3",
            March::X86_64V4 => "x86_64_v4",
        }
    }

    /// Description for `show node`.
    pub fn description(self) -> &'static str {
        match self {
            March::Default => "default",
            March::X86_64V2 => "x86-64-v2",
            March::X86_64V3 => "x86-64-v3",
            March::X86_64V4 => "x86-64-v4",
        }
    }

    /// The variant named `s` (also accepted: `x86-64-v3`, `v3`, `avx2` for v3, `avx512` for v4).
    pub fn parse(s: &str) -> Option<March> {
        Some(match s {
            "default" | "baseline" => March::Default,
            "x86_64_v2" | "x86-64-v2" | "v2" => March::X86_64V2,
            "x86_64_v3" | "x86-64-v3" | "v3" | "avx2" | "hsw" => March::X86_64V3,
            "x86_64_v4" | "x86-64-v4" | "v4" | "avx512" | "skx" => March::X86_64V4,
            _ => return None,
        })
    }

    /// Selection priority as `show node` prints it (VPP's: higher wins; -1 when this CPU cannot
    /// run the variant).
    pub fn priority(self) -> i32 {
        if !self.supported() {
            return -1;
        }
        match self {
            March::Default => 0,
            March::X86_64V2 => 20,
            March::X86_64V3 => 45,
            March::X86_64V4 => 95,
        }
    }

    /// True if this CPU (and OS) can run the variant.
    pub fn supported(self) -> bool {
        let levels = detected();
        levels[self as usize]
    }

    /// Ok if this CPU can run the variant, else the error every selection path reports.
    pub fn check_supported(self) -> Result<March, String> {
        if self.supported() {
            Ok(self)
        } else {
            Err(format!(
                "node function variant '{}' is not supported by this CPU",
                self.name()
            ))
        }
    }

    /// The best variant this CPU runs.
    pub fn best() -> March {
        March::ALL
            .iter()
            .rev()
            .copied()
            .find(|m| m.supported())
            .unwrap_or(March::Default)
    }

    /// Names of every variant, for error messages.
    pub fn names() -> String {
        March::ALL
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Which levels this CPU runs, detected once.
fn detected() -> &'static [bool; 4] {
    static LEVELS: OnceLock<[bool; 4]> = OnceLock::new();
    LEVELS.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> [bool; 4] {
    use std::arch::is_x86_feature_detected as has;
    let v2 = has!("sse3")
        && has!("ssse3")
        && has!("sse4.1")
        && has!("sse4.2")
        && has!("popcnt")
        && has!("cmpxchg16b");
    let v3 = v2
        && has!("avx")
        && has!("avx2")
        && has!("bmi1")
        && has!("bmi2")
        && has!("f16c")
        && has!("fma")
        && has!("lzcnt")
        && has!("movbe")
        && has!("xsave");
    let v4 = v3
        && has!("avx512f")
        && has!("avx512bw")
        && has!("avx512cd")
        && has!("avx512dq")
        && has!("avx512vl");
    [true, v2, v3, v4]
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> [bool; 4] {
    [true, false, false, false]
}

/// A node's frame loop, compiled once per variant by [`dispatch`].
pub trait Kernel {
    /// Handle one frame (the body of `Node::process`). Mark it `#[inline(always)]` so that each
    /// variant gets its own copy compiled with its instructions.
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]);
}

/// Inside `impl Node for X` where `X: Kernel`: `process` runs the kernel in the variant the
/// graph selected, and `has_variants` tells the graph there are variants to select (so a node
/// cannot dispatch without the graph knowing, or the other way round).
#[macro_export]
macro_rules! multiarch_node {
    () => {
        fn process(
            &mut self,
            cx: &mut $crate::graph::NodeCx<'_>,
            frame: &[$crate::buffer::BufferIndex],
        ) {
            $crate::march::dispatch(self, cx, frame)
        }

        fn has_variants(&self) -> bool {
            true
        }
    };
}

/// Run `node`'s kernel in the variant the graph selected for it (`cx.march()`).
#[inline(always)]
pub fn dispatch<K: Kernel>(node: &mut K, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
    #[cfg(target_arch = "x86_64")]
    match cx.march() {
        // SAFETY: the graph selects a variant only if `March::supported` says this CPU has every
        // feature it enables (checked when it is selected, refused otherwise).
        March::X86_64V4 => return unsafe { kernel_v4(node, cx, frame) },
        // SAFETY: as above.
        March::X86_64V3 => return unsafe { kernel_v3(node, cx, frame) },
        // SAFETY: as above.
        March::X86_64V2 => return unsafe { kernel_v2(node, cx, frame) },
        March::Default => {}
    }
    node.kernel(cx, frame)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse3,ssse3,sse4.1,sse4.2,popcnt,cmpxchg16b")]
unsafe fn kernel_v2<K: Kernel>(node: &mut K, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
    node.kernel(cx, frame)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(
    enable = "sse3,ssse3,sse4.1,sse4.2,popcnt,cmpxchg16b,avx,avx2,bmi1,bmi2,f16c,fma,lzcnt,movbe,xsave"
)]
unsafe fn kernel_v3<K: Kernel>(node: &mut K, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
    node.kernel(cx, frame)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(
    enable = "sse3,ssse3,sse4.1,sse4.2,popcnt,cmpxchg16b,avx,avx2,bmi1,bmi2,f16c,fma,lzcnt,movbe,xsave,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
)]
unsafe fn kernel_v4<K: Kernel>(node: &mut K, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
    node.kernel(cx, frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_levels_nest() {
        for m in March::ALL {
            assert_eq!(March::parse(m.name()), Some(m));
        }
        assert_eq!(March::parse("avx2"), Some(March::X86_64V3));
        assert_eq!(March::parse("sse9"), None);
        assert!(March::Default.supported());
        // A level is supported only if the one below it is.
        for w in March::ALL.windows(2) {
            assert!(!w[1].supported() || w[0].supported());
        }
        assert!(March::best().supported());
        assert_eq!(March::X86_64V4.priority() < 0, !March::X86_64V4.supported());
    }
}
