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
//! exactly (integer arithmetic, `+ − × ÷`, `sqrt`, `min`/`max`, comparisons), and
//! transcendentals built from those alone (`vecmath`'s `exp` and `ln` in f64) or libm's through
//! the same call at every level (f32); a vector lane rounds them as a scalar register does, and
//! Rust never contracts `a·b + c` into a fused multiply-add on its own. So a run's output does not
//! depend on the level: `rng`'s tests check each kernel against its scalar reference at every
//! level the machine has, and `cli_run` a Yuma-on run's files byte for byte across levels.
//!
//! **Not the whole step.** Compiling everything for AVX2 made the Yuma epoch's rank pass slower
//! (docs/performance.md, session 8), so the level applies to the named kernels only.
//!
//! **Short rows: [`LaneKernel`].** The Yuma epoch's element-wise passes walk rows of 40 columns.
//! Left to itself the compiler vectorises such a loop with runtime alias checks and a scalar
//! remainder per row, and at AVX-512 it ran no faster than at SSE2. A [`LaneKernel`] writes the
//! row in chunks of `L` lanes, each chunk copied into a local `[R; L]`, computed, and copied out
//! (the copies are what lets the compiler keep the chunk in one register: it cannot tell the
//! borrowed chunks apart); [`run_lanes`] compiles it per level with `L` the level's f64 width
//! ([`LANE_WIDTHS`]).
//!
//! **AVX-512.** At [`SimdLevel::Avx512`] the generic kernels are compiled for AVX-512F (eight
//! f64 lanes; not AVX-512DQ, see `run_avx512`), which took 4% off a Yuma-on run (the draws;
//! docs/performance.md, session 19; session 13's attempt, with more features enabled, had
//! found nothing). AVX-512's mask registers gain more in one place: [`ConsensusBlocks`], the Yuma
//! consensus's rank sums for eight columns side by side, compares into a mask and adds under
//! it, two instructions per pair of rows where AVX2 needs three. It is written with `core::arch`
//! intrinsics, because the generic form of the same loop compiled for AVX-512 ran slower than at
//! AVX2, and it is checked bit for bit against the generic form (`model::yuma`'s tests).
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
    /// AVX-512F (with AVX2): eight f64 lanes and mask registers; the generic kernels compiled
    /// for it, and [`ConsensusBlocks`] (module docs).
    Avx512,
}

impl SimdLevel {
    /// Every level, narrowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Baseline, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The name used by `TAOSIM_SIMD` and the bench records.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Baseline => "baseline",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// Whether this CPU runs the level's instructions.
    pub fn is_available(self) -> bool {
        match self {
            SimdLevel::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("avx512f")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest level this CPU runs: probed once per process and kept (the probes' feature
    /// tests cost each kernel call about as much as a short kernel, 1% of the light step,
    /// docs/performance.md, session 24).
    pub fn detected() -> SimdLevel {
        match DETECTED.load(Ordering::Relaxed) {
            UNPROBED => {
                let level = SimdLevel::ALL
                    .into_iter()
                    .rev()
                    .find(|level| level.is_available())
                    .unwrap_or_default();
                DETECTED.store(level as u8, Ordering::Relaxed);
                level
            }
            index => SimdLevel::ALL[usize::from(index)],
        }
    }

    /// The level the wide kernels use now: the widest this CPU runs, at most [`cap`] (the
    /// levels nest, so a CPU that runs one runs every narrower one).
    pub fn current() -> SimdLevel {
        let cap = match CAP.load(Ordering::Relaxed) {
            0 => SimdLevel::Baseline,
            1 => SimdLevel::Avx2,
            _ => SimdLevel::Avx512,
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
#[error("unknown SIMD level `{0}`: allowed values are baseline, avx2, avx512")]
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
static CAP: AtomicU8 = AtomicU8::new(2);

/// [`SimdLevel::detected`]'s answer as its index in [`SimdLevel::ALL`], or [`UNPROBED`] before
/// the first call.
static DETECTED: AtomicU8 = AtomicU8::new(UNPROBED);

/// [`DETECTED`] before the CPU is probed.
const UNPROBED: u8 = u8::MAX;

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
    // The levels nest: the CPU runs every level up to the widest it runs.
    assert!(level <= SimdLevel::detected(), "this CPU does not run SIMD level {level}");
    match level {
        SimdLevel::Baseline => kernel.run(),
        // SAFETY: `run_avx2` needs only AVX2, which the CPU runs (asserted above).
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { run_avx2(kernel) },
        // SAFETY: `run_avx512` needs AVX2 and AVX-512F, which the CPU runs (asserted above: the
        // level checks both).
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { run_avx512(kernel) },
        #[cfg(not(target_arch = "x86_64"))]
        SimdLevel::Avx2 | SimdLevel::Avx512 => {
            unreachable!("AVX2 and AVX-512 are never available off x86-64")
        }
    }
}

/// Runs `kernel` at [`SimdLevel::current`].
pub fn run<K: Kernel>(kernel: K) -> K::Output {
    run_at(SimdLevel::current(), kernel)
}

/// [`Kernel::run`] compiled for AVX-512F. Not AVX-512DQ: with it LLVM multiplies Philox's
/// 32-bit halves held in `u64` lanes by the slow 64-bit `vpmullq` instead of `vpmuludq`, and the
/// draws ran slower than at AVX2 (docs/performance.md, session 19).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f")]
fn run_avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

/// [`Kernel::run`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

/// A loop nest written over chunks of `L` lanes (a `[R; L]` body per step, local copies in
/// and out), which [`run_lanes`] compiles once per [`SimdLevel`] with `L` from
/// [`LANE_WIDTHS`]. For loops over short rows (the Yuma epoch's 40 columns), where the
/// compiler's own vectorisation of a plain loop keeps runtime alias checks and a scalar
/// remainder per row, and at AVX-512 ran no faster than at SSE2 (docs/performance.md, sessions
/// 19 and 21). The same rules as [`Kernel`]: `run` and what its loops call `#[inline(always)]`,
/// exactly rounded operations only, so every `L` gives the same bits.
pub trait LaneKernel {
    /// What the kernel returns.
    type Output;
    /// The kernel's work in chunks of `L` lanes.
    fn run<const L: usize>(self) -> Self::Output;
}

/// The chunk width `L` of a [`LaneKernel`] at each level, [`SimdLevel::ALL`]'s order: the
/// level's f64 lanes at AVX2 (4) and AVX-512 (8); at the baseline 1, the plain loop, which the
/// compiler vectorises for SSE2 itself (chunks of 2 measured 3-5% slower on a Yuma-on run,
/// docs/performance.md, session 21).
pub const LANE_WIDTHS: [usize; 3] = [1, 4, 8];

/// `kernel` at `L` lanes, as a [`Kernel`] for [`run_at`].
struct AtWidth<K, const L: usize>(K);

impl<K: LaneKernel, const L: usize> Kernel for AtWidth<K, L> {
    type Output = K::Output;

    #[inline(always)]
    fn run(self) -> K::Output {
        self.0.run::<L>()
    }
}

/// Runs `kernel` compiled for `level`, in chunks of that level's width ([`LANE_WIDTHS`]).
///
/// # Panics
/// If this CPU does not run `level`.
pub fn run_lanes_at<K: LaneKernel>(level: SimdLevel, kernel: K) -> K::Output {
    match level {
        SimdLevel::Baseline => run_at(level, AtWidth::<K, { LANE_WIDTHS[0] }>(kernel)),
        SimdLevel::Avx2 => run_at(level, AtWidth::<K, { LANE_WIDTHS[1] }>(kernel)),
        SimdLevel::Avx512 => run_at(level, AtWidth::<K, { LANE_WIDTHS[2] }>(kernel)),
    }
}

/// [`run_lanes_at`] at [`SimdLevel::current`].
pub fn run_lanes<K: LaneKernel>(kernel: K) -> K::Output {
    run_lanes_at(SimdLevel::current(), kernel)
}

/// Rows (and lanes) of [`ConsensusBlocks`]: the Yuma consensus's staked rows, at most eight.
pub const RANK_ROWS: usize = 8;

/// Columns of one block of [`ConsensusBlocks`]: eight f64, one AVX-512 register.
pub const RANK_COLUMNS: usize = 8;

/// The inputs and outputs of the Yuma column consensus's block pass: the columns in blocks of
/// [`RANK_COLUMNS`] side by side, a column decided by its pivot (every staked row scores it) or by
/// the rank sums where they decide, the others left to the partition. `model::yuma` runs it as a
/// generic [`Kernel`] at any level and precision; [`ConsensusBlocks::run_avx512`] is the same
/// arithmetic, lane for lane, in AVX-512F intrinsics for f64 (`model::yuma`'s docs give the
/// argument, and a test there checks the bits).
#[derive(Debug)]
pub struct ConsensusBlocks<'a, R> {
    /// The row-major weights, `cols` to a row (absent entries negative: they score 0).
    pub weights: &'a [R],
    /// Columns of a weight row.
    pub cols: usize,
    /// The staked rows that set weights, in uid order.
    pub rows: &'a [u32],
    /// Staked rows (`rows.len()` of them set weights, the rest score 0), 2 to [`RANK_ROWS`].
    pub staked: usize,
    /// The staked rows' stakes in lanes, zero past `staked`.
    pub stake: [R; RANK_ROWS],
    /// The stake sum less κ.
    pub minority: R,
    /// How near a stake boundary `minority` may lie before a column is left undecided.
    pub margin: R,
    /// Whether `minority` is near the stake sum (every column undecided unless all-equal).
    pub near_all: bool,
    /// Each decided column's median (`len` = the columns).
    pub median: &'a mut [R],
    /// The undecided columns' indices, in order (len ≥ the columns).
    pub undecided: &'a mut [u32],
}

impl<R: crate::Real> ConsensusBlocks<'_, R> {
    /// Runs the blocks with AVX-512F and returns how many columns are undecided; `None` (and
    /// nothing written) for f32, or when [`SimdLevel::current`] is below [`SimdLevel::Avx512`].
    pub fn run_avx512(&mut self) -> Option<usize> {
        if core::any::TypeId::of::<R>() != core::any::TypeId::of::<f64>()
            || SimdLevel::current() < SimdLevel::Avx512
        {
            return None;
        }
        let f64_blocks = ConsensusBlocks::<f64> {
            weights: bytemuck::try_cast_slice(self.weights).ok()?,
            cols: self.cols,
            rows: self.rows,
            staked: self.staked,
            stake: self.stake.map(R::f64),
            minority: self.minority.f64(),
            margin: self.margin.f64(),
            near_all: self.near_all,
            median: bytemuck::try_cast_slice_mut(&mut *self.median).ok()?,
            undecided: &mut *self.undecided,
        };
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: the CPU runs AVX2 and AVX-512F (`current` is at most the detected level).
            #[allow(
                unsafe_code,
                reason = "the same exception as `run_at`: a #[target_feature] function, called \
                          after the CPU is checked to run its instructions"
            )]
            let undecided = unsafe { consensus_blocks_avx512(f64_blocks) };
            Some(undecided)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = f64_blocks;
            unreachable!("AVX-512 is never available off x86-64")
        }
    }
}

/// [`ConsensusBlocks`] in AVX-512F: one register per row, compares into mask registers, the
/// stakes added under the mask (`below` unchanged where the mask is clear, which is what adding
/// `+0` gives: `below` is never `−0`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f")]
fn consensus_blocks_avx512(blocks: ConsensusBlocks<'_, f64>) -> usize {
    use core::arch::x86_64::{
        __m512d, __mmask8, _CMP_GT_OQ, _CMP_LE_OQ, _CMP_LT_OQ, _CMP_NEQ_UQ, _mm512_abs_pd,
        _mm512_cmp_pd_mask, _mm512_mask_add_pd, _mm512_mask_mov_pd, _mm512_maskz_mov_pd,
        _mm512_max_pd, _mm512_set1_pd, _mm512_setzero_pd, _mm512_sub_pd,
    };
    let ConsensusBlocks {
        weights,
        cols,
        rows,
        staked,
        stake,
        minority,
        margin,
        near_all,
        median,
        undecided,
    } = blocks;
    let zero = _mm512_setzero_pd();
    let (minority, margin) = (_mm512_set1_pd(minority), _mm512_set1_pd(margin));
    let stake: [__m512d; RANK_ROWS] = stake.map(|w| _mm512_set1_pd(w));
    let mut count = 0;
    for (block, out) in median.chunks_mut(RANK_COLUMNS).enumerate() {
        let first = block * RANK_COLUMNS;
        // Scores: `max(w, 0)` as the generic form's `present_value`; rows past the weighted
        // ones, and columns past the last, score 0.
        let mut score = [zero; RANK_ROWS];
        for (lanes, &i) in score.iter_mut().zip(rows) {
            let row = &weights[i as usize * cols..][..cols];
            // A full block is one fixed-size copy (a load); the last, shorter one a variable
            // copy (a `memcpy` call, once per row and epoch at most).
            let run = match row.get(first..first + RANK_COLUMNS) {
                Some(full) => <[f64; RANK_COLUMNS]>::try_from(full).unwrap_or_default(),
                None => {
                    let mut run = [0.0; RANK_COLUMNS];
                    run[..cols - first].copy_from_slice(&row[first..]);
                    run
                }
            };
            *lanes = _mm512_max_pd(bytemuck::cast(run), zero);
        }
        // The chain's pivot `score[len / 2]`; a column whose staked rows all score it takes it.
        let pivot = score[staked / 2];
        let mut differ: __mmask8 = 0;
        for &lanes in &score[..staked] {
            differ |= _mm512_cmp_pd_mask::<_CMP_NEQ_UQ>(lanes, pivot);
        }
        let pivot: [f64; RANK_COLUMNS] = bytemuck::cast(pivot);
        if differ == 0 {
            out.copy_from_slice(&pivot[..out.len()]);
            continue;
        }
        let mut near: __mmask8 = 0;
        let mut best = zero;
        for own in score {
            let mut below = zero;
            for (&lanes, &w) in score.iter().zip(&stake) {
                let lower = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(lanes, own);
                below = _mm512_mask_add_pd(below, lower, below, w);
            }
            let distance = _mm512_abs_pd(_mm512_sub_pd(below, minority));
            near |= _mm512_cmp_pd_mask::<_CMP_LE_OQ>(distance, margin);
            let candidate =
                _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(below, minority), own);
            best = _mm512_mask_mov_pd(
                best,
                _mm512_cmp_pd_mask::<_CMP_GT_OQ>(candidate, best),
                candidate,
            );
        }
        let positive = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(best, zero);
        let best: [f64; RANK_COLUMNS] = bytemuck::cast(best);
        for (c, out) in out.iter_mut().enumerate() {
            if differ >> c & 1 == 0 {
                *out = pivot[c];
            } else if !near_all && near >> c & 1 == 0 && positive >> c & 1 == 1 {
                *out = best[c];
            } else {
                undecided[count] = (first + c) as u32;
                count += 1;
            }
        }
    }
    count
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
        let err = "avx-512".parse::<SimdLevel>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown SIMD level `avx-512`: allowed values are baseline, avx2, avx512"
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
