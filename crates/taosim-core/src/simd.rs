//! The vector instruction set that the wide CPU kernels use, chosen at run time.
//!
//! The default build targets baseline x86-64 (SSE2: two f64 lanes) so that one binary runs on
//! every x86-64 machine, including the container image and the Slurm job's nodes. A few kernels
//! are long loops of independent lanes that gain from wider vectors: [`StepRng::fill_normals`]
//! (the Philox blocks and the inversion of the Yuma weight noise) and
//! [`StepRng::fill_block_pairs`] (behaviour's blocks). Each is a [`Kernel`], compiled once per
//! [`SimdLevel`] by [`run_at`], and the call takes the widest level that the CPU has and the cap
//! allows ([`SimdLevel::current`]). [`run_at`] holds the workspace's `unsafe` blocks, with
//! [`run_peak_at`], which compiles `taosim bench`'s peak loop for the machine's widest fused
//! multiply-add ([`PeakIsa`]).
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
    reason = "one of the workspace's two exceptions (with `run_peak_at`): a #[target_feature] \
              function, called after the CPU is checked to run its instructions"
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

/// The instructions of a peak measurement (`taosim bench`'s multiply-add loop): the widest f64
/// multiply-add the CPU has, fused where it can be. Not a [`SimdLevel`]: the engine's results
/// must not depend on fusion (module docs), and its kernels stop at AVX2, but the fraction of
/// the machine's peak that a run reaches is measured against what the machine can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeakIsa {
    /// What the build targets: a separate multiply and add (SSE2 on x86-64).
    Baseline,
    /// AVX2 with fused multiply-add: four f64 lanes.
    Avx2Fma,
    /// AVX-512F with fused multiply-add: eight f64 lanes.
    Avx512Fma,
}

impl PeakIsa {
    /// Every instruction set, narrowest first.
    pub const ALL: [PeakIsa; 3] = [PeakIsa::Baseline, PeakIsa::Avx2Fma, PeakIsa::Avx512Fma];

    /// The name in the bench records.
    pub fn name(self) -> &'static str {
        match self {
            PeakIsa::Baseline => "baseline",
            PeakIsa::Avx2Fma => "avx2+fma",
            PeakIsa::Avx512Fma => "avx512f+fma",
        }
    }

    /// Whether this CPU runs the instructions.
    pub fn is_available(self) -> bool {
        match self {
            PeakIsa::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            PeakIsa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            PeakIsa::Avx512Fma => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest instruction set this CPU runs.
    pub fn detected() -> PeakIsa {
        PeakIsa::ALL.into_iter().rev().find(|isa| isa.is_available()).unwrap_or(PeakIsa::Baseline)
    }

    /// Whether `a·b + c` is one instruction.
    pub fn fused(self) -> bool {
        self != PeakIsa::Baseline
    }
}

/// A loop nest that [`run_peak_at`] compiles once per [`PeakIsa`], like a [`Kernel`]: `run`
/// must be `#[inline(always)]`, and multiplies and adds with [`f64::mul_add`] exactly when
/// `FUSED` (elsewhere `mul_add` is a library call).
pub trait PeakKernel {
    /// What the kernel returns.
    type Output;
    /// The kernel's work.
    fn run<const FUSED: bool>(self) -> Self::Output;
}

/// Runs `kernel` compiled for `isa`, fused where `isa` is.
///
/// # Panics
/// If this CPU does not run `isa`.
#[allow(
    unsafe_code,
    reason = "the same exception as `run_at`: #[target_feature] functions, called after the CPU \
              is checked to run their instructions"
)]
pub fn run_peak_at<K: PeakKernel>(isa: PeakIsa, kernel: K) -> K::Output {
    assert!(isa.is_available(), "this CPU does not run {}", isa.name());
    match isa {
        PeakIsa::Baseline => kernel.run::<false>(),
        // SAFETY: the CPU runs AVX2 and FMA (asserted above).
        #[cfg(target_arch = "x86_64")]
        PeakIsa::Avx2Fma => unsafe { run_peak_avx2_fma(kernel) },
        // SAFETY: the CPU runs AVX-512F and FMA (asserted above).
        #[cfg(target_arch = "x86_64")]
        PeakIsa::Avx512Fma => unsafe { run_peak_avx512_fma(kernel) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the baseline is available off x86-64"),
    }
}

/// [`PeakKernel::run`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_peak_avx2_fma<K: PeakKernel>(kernel: K) -> K::Output {
    kernel.run::<true>()
}

/// [`PeakKernel::run`] compiled for AVX-512F and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn run_peak_avx512_fma<K: PeakKernel>(kernel: K) -> K::Output {
    kernel.run::<true>()
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

    /// `a·b + c` with `a·b = 1 − 2⁻⁶⁰` and `c = −1`: fused, the exact −2⁻⁶⁰; unfused, the
    /// product rounds to 1 and the sum is 0.
    struct FusedOrNot {
        a: f64,
        b: f64,
        c: f64,
    }

    impl PeakKernel for FusedOrNot {
        type Output = f64;

        #[inline(always)]
        fn run<const FUSED: bool>(self) -> f64 {
            if FUSED { self.a.mul_add(self.b, self.c) } else { self.a * self.b + self.c }
        }
    }

    #[test]
    fn peak_kernels_fuse_exactly_where_the_instruction_set_does() {
        let e = 2.0_f64.powi(-30);
        for isa in PeakIsa::ALL.into_iter().filter(|isa| isa.is_available()) {
            let got = run_peak_at(isa, FusedOrNot { a: 1.0 + e, b: 1.0 - e, c: -1.0 });
            let expected = if isa.fused() { -e * e } else { 0.0 };
            assert_eq!(got, expected, "{}", isa.name());
        }
        assert!(PeakIsa::detected().is_available());
        assert!(PeakIsa::detected() >= PeakIsa::Baseline);
        #[cfg(target_arch = "x86_64")]
        if SimdLevel::Avx2.is_available() && std::arch::is_x86_feature_detected!("fma") {
            assert!(PeakIsa::detected() >= PeakIsa::Avx2Fma);
        }
    }

    #[test]
    fn the_baseline_level_is_always_available_and_current_is_at_most_detected() {
        assert!(SimdLevel::Baseline.is_available());
        assert!(SimdLevel::current() <= SimdLevel::detected());
        assert!(SimdLevel::detected().is_available());
    }
}
