//! The vector instruction set that the wide CPU kernels use, chosen at run time.
//!
//! The default build targets baseline x86-64 (SSE2: two f64 lanes) so that one binary runs on
//! every x86-64 machine, including the container image and the Slurm job's nodes. A few kernels
//! are long loops of independent lanes that gain from wider vectors: [`StepRng::fill_normals`]
//! (the Philox blocks and the inversion of the Yuma weight noise) and
//! [`StepRng::fill_block_pairs`] (behaviour's blocks). Each is a [`Kernel`], compiled once per
//! [`SimdLevel`] by [`run_at`], and the call takes the widest level that the CPU has and the cap
//! allows ([`SimdLevel::current`]). [`run_at`] holds the workspace's one `unsafe` block.
//!
//! **Same bits at every level.** These kernels use only operations that IEEE 754 rounds
//! exactly (integer arithmetic, `+ − × ÷`, `sqrt`, `min`/`max`, comparisons) and libm's `ln`
//! through the same call at every level; a vector lane rounds them as a scalar register does, and
//! Rust never contracts `a·b + c` into a fused multiply-add on its own. So a run's output does not
//! depend on the level: `rng`'s tests check each kernel against its scalar reference at every
//! level the machine has, and `cli_run` a Yuma-on run's files byte for byte across levels.
//!
//! **Not the whole step.** Compiling everything for AVX2 made the Yuma epoch's rank pass slower
//! (docs/performance.md, session 8), so the level applies to the named kernels only. **No
//! AVX-512 level:** on the project's Sapphire Rapids VM the kernel ran as fast in AVX-512 as in
//! AVX2 and a whole Yuma-on run 3% slower (docs/performance.md, session 13).
//!
//! [`StepRng::fill_normals`]: crate::rng::StepRng::fill_normals
//! [`StepRng::fill_block_pairs`]: crate::rng::StepRng::fill_block_pairs

use core::fmt;
use core::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// A vector instruction set that the wide kernels are compiled for, narrowest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// What the build targets (SSE2 on x86-64): no run-time feature needed.
    #[default]
    Baseline,
    /// AVX2: four f64 (eight f32) lanes.
    Avx2,
}

impl SimdLevel {
    /// Every level, narrowest first.
    pub const ALL: [SimdLevel; 2] = [SimdLevel::Baseline, SimdLevel::Avx2];

    /// The name used by `TAOSIM_SIMD` and the bench records.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Baseline => "baseline",
            SimdLevel::Avx2 => "avx2",
        }
    }

    /// Whether this CPU runs the level's instructions.
    pub fn is_available(self) -> bool {
        match self {
            SimdLevel::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest level this CPU runs.
    pub fn detected() -> SimdLevel {
        SimdLevel::ALL.into_iter().rev().find(|level| level.is_available()).unwrap_or_default()
    }

    /// The level the wide kernels use now: the widest this CPU runs, at most [`cap`] (the
    /// levels nest, so a CPU that runs one runs every narrower one).
    pub fn current() -> SimdLevel {
        let cap = match CAP.load(Ordering::Relaxed) {
            0 => SimdLevel::Baseline,
            _ => SimdLevel::Avx2,
        };
        SimdLevel::detected().min(cap)
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `TAOSIM_SIMD` value that names no level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SIMD level `{0}`: allowed values are baseline, avx2")]
pub struct UnknownSimdLevel(pub String);

impl FromStr for SimdLevel {
    type Err = UnknownSimdLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimdLevel::ALL
            .into_iter()
            .find(|level| level.name() == s)
            .ok_or_else(|| UnknownSimdLevel(s.to_string()))
    }
}

/// The widest level the kernels may use, as its index in [`SimdLevel::ALL`] (no cap: the last).
static CAP: AtomicU8 = AtomicU8::new(1);

/// Caps the level of every wide kernel in this process (the CLI's `TAOSIM_SIMD`): for measuring
/// one level against another in one binary. The output does not change (module docs).
pub fn cap(level: SimdLevel) {
    CAP.store(level as u8, Ordering::Relaxed);
}

/// A loop nest that [`run_at`] compiles once per [`SimdLevel`]: its [`Kernel::run`] must be
/// `#[inline(always)]` (with everything it calls in its loops), so that each level's copy is
/// compiled for that level's instructions. It may use only exactly rounded operations (module
/// docs), so that every level gives the same bits.
pub trait Kernel {
    /// What the kernel returns.
    type Output;
    /// The kernel's work.
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for `level`.
///
/// # Panics
/// If this CPU does not run `level`.
#[allow(
    unsafe_code,
    reason = "the workspace's one exception: a #[target_feature] function, called after the CPU \
              is checked to run its instructions"
)]
pub fn run_at<K: Kernel>(level: SimdLevel, kernel: K) -> K::Output {
    assert!(level.is_available(), "this CPU does not run SIMD level {level}");
    match level {
        SimdLevel::Baseline => kernel.run(),
        // SAFETY: `run_avx2` needs only AVX2, which the CPU runs (asserted above).
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { run_avx2(kernel) },
        #[cfg(not(target_arch = "x86_64"))]
        SimdLevel::Avx2 => unreachable!("AVX2 is never available off x86-64"),
    }
}

/// Runs `kernel` at [`SimdLevel::current`].
pub fn run<K: Kernel>(kernel: K) -> K::Output {
    run_at(SimdLevel::current(), kernel)
}

/// [`Kernel::run`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_name_and_refuse_others() {
        for level in SimdLevel::ALL {
            assert_eq!(level.name().parse::<SimdLevel>(), Ok(level));
        }
        let err = "avx512".parse::<SimdLevel>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown SIMD level `avx512`: allowed values are baseline, avx2"
        );
    }

    #[test]
    fn the_baseline_level_is_always_available_and_current_is_at_most_detected() {
        assert!(SimdLevel::Baseline.is_available());
        assert!(SimdLevel::current() <= SimdLevel::detected());
        assert!(SimdLevel::detected().is_available());
    }
}
