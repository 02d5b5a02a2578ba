//! One epoch of Yuma consensus for one subnet (chain.md §5; subtensor
//! `pallets/subtensor/src/epoch/run_epoch.rs::epoch_mechanism` and `epoch/math.rs`).
//!
//! Layout: `n` uids; weights and bonds are dense row-major `n_rows × n` matrices whose rows are
//! the uids `0..n_rows` that may set weights (the engine puts validators first). The epoch
//! allocates nothing: every work array lives in a caller-owned [`YumaWorkspace`], the carried
//! state (bonds, the previous epoch's validator permits) in caller slices. [`YumaSubnet`] bundles
//! the three for tests and the CLI.
//!
//! Pipeline (chain.md §5.2): stake normalisation → validator permits (top-k, stored for the next
//! epoch) → active stake under the *previous* permits → weight masks (permit, diagonal) and row
//! normalisation → consensus (stake-weighted median per column, §5.3) → clip → validator trust →
//! incentive → bonds input `W^b = W + β(W̄ − W)` → Yuma2 or Yuma3 bonds and dividends (§5.4).
//! [`YumaWorkspace::split_emission`] is step 12, [`distribute_epoch_alpha`] the fallback of §3.5.
//!
//! ## Chain fidelity ([`BondStorage::ChainU16`])
//! The chain stores bonds as u16 and computes the whole epoch in `I32F32` (32 fractional bits,
//! every product floored, every quotient truncated). Its u16 bond values drift by one unit per
//! epoch on an idle column only because of those truncations (subtensor `test_bonds`), so in
//! `ChainU16` mode this module snaps every product and quotient to the `I32F32` grid with exact
//! integer arithmetic (through `f64`; meaningful for the `f64` instantiation), loads weights as the
//! chain stores them (row max-upscaled to u16), and stores bonds as truncated u16 proportions.
//! What is not mirrored: the chain's fixed-point `exp` in the liquid-alpha sigmoid (the float `exp`
//! is snapped to the grid instead) and `I64F64` stake sums of raw rao (stake shares are computed in
//! `f64` and snapped). [`BondStorage::Float`] is the plain floating-point model (the GPU path).
//!
//! ## Sparse entries
//! The chain's matrices are sparse: an entry can be *absent* rather than zero, which matters in one
//! place, the liquid-alpha EMA, where a bond whose weight entry is absent is dropped instead of
//! decayed (chain.md §5.4 "sparse caveat"). Work matrices hold absent entries as [`ABSENT`] (a
//! negative number, read through `max(0, ·)` everywhere else). An input row's off-diagonal entries
//! are present (zeros included, as `set_weights` stores explicit zeros) when the row has a
//! positive weight off the diagonal; the diagonal, masked rows and empty rows are absent.
//!
//! ## Where the CPU form differs from the shader (`shaders/model/yuma.wgsl`)
//! Performance rewrites with bit-identical results (round 5): [`is_topk_nonzero`] skips the
//! `O(n²)` rank loop when the permits are exactly the nonzero stakes (its doc has the argument);
//! Yuma3's dividends read the column-normalised bonds entry by entry (column sums accumulated
//! while the bonds are produced) instead of normalising a copy of the matrix; the bond storage
//! tests each row's permits once and copies or clears the row; the column consensus makes one
//! pass per partition step (lower side compacted in place, upper side to a spare buffer) and
//! fuses the column gather into the first step (see `weighted_median_compact`); float weights
//! are masked and normalised in two passes over the row instead of three. The matrix loops index
//! rows taken as slices of exactly `n` (`&m[i·n..][..n]`) rather than `m[i·n + j]`, which lets
//! the compiler drop the bounds checks (same entries, same order).
//!
//! Round 6 (same bits): the consensus scratch lives in [`YumaWorkspace`] (no per-epoch zeroed
//! stack arrays) and the staked weight rows are transposed once so each column's first pass
//! reads one contiguous run; a column whose scores all equal its pivot returns the pivot without
//! the pass; `weighted_median_compact` spells out its two-entry iteration; a column of at most
//! eight staked rows is partitioned in lanes with integer masks instead of compacted sides, to
//! avoid the per-entry branch mispredictions (`weighted_median_lanes`). Yuma3 with β = 0 or 1
//! reads the weights or the clipped weights as the bonds input instead of copying them. In the
//! float arithmetic: a weight row's sums skip the diagonal's `+0` term and the mask is one select
//! per entry; clip and incentive terms share one loop without a sequential sum (the trust sums
//! read the clipped rows afterwards, in order); Yuma3 dividends scale a zero-sum column by
//! exactly 1.
//!
//! Also with the same bits: the lane consensus reads its side sums from a table of every lane
//! set's stake sum, made once per epoch (`side_stake_table`: the same additions in the same
//! order), instead of adding eight masked stakes per partition step; the per-row sums (weight
//! rows, trust, dividends) run four rows side by side (`row_sums`, `weight_row_sums`), each row
//! still summed in column order, so their latency-bound addition chains overlap.
//!
//! Session 7 (same bits): a lane column whose `minority` lies clear of every stake boundary
//! takes its median from the stake below each lane's score, one branch-free pass over the lanes
//! (`weighted_median_by_rank`; its doc argues why rounding cannot change the answer there), and
//! the partition runs only for the rest (a zero median, `minority` within 256 ulps of a
//! boundary). The partition's side decisions were mispredicted branches; the rank pass has none.
//!
//! Session 19 (same bits): the consensus runs in blocks of eight columns side by side
//! (`ConsensusBlocks`): a row's scores are one contiguous load of the row-major weights (no
//! column-major gather), the all-equal test and the rank sums compare whole vectors, and only the
//! columns the rank sums leave undecided are gathered for the partition. On a CPU with AVX-512 the
//! f64 blocks run as `ConsensusBlocks::run_avx512`, the same arithmetic in mask registers (compare,
//! then add under the mask). The shader takes the same rank form column by column, its eight
//! rows' scores and stakes in registers, and the partition only where the rank sums decline.
//!
//! Every float operation keeps its operands and order, except that the diagonal's `+0` term of
//! a row sum is skipped (adding `+0` to a sum that cannot be `−0` changes no bit) and a zero-sum
//! column's bonds are multiplied by exactly 1 (no bit changes); the comments there argue it.

#![expect(
    clippy::needless_range_loop,
    reason = "index loops over parallel arrays mirror the WGSL kernels line for line"
)]

use crate::Real;
use crate::params::KAPPA;
use crate::real::safe_div;
use crate::simd::ConsensusBlocks;

/// Marker for an entry the chain's sparse matrices do not hold (see the module docs).
pub const ABSENT: f64 = -1.0;

/// Which bonds mechanism the subnet runs (`Yuma3On`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YumaVersion {
    /// Original Yuma: column-normalised bonds, EMA towards `col_normalize(W^b ∘ A)`.
    #[default]
    Yuma2,
    /// Yuma3: bonds as absolute proportions with (optionally liquid) per-entry EMA.
    Yuma3,
}

/// How bonds are carried between epochs, and with them the arithmetic of the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BondStorage {
    /// As the chain: `I32F32` truncations, weights stored as max-upscaled u16, bonds as u16.
    #[default]
    ChainU16,
    /// Plain floating point throughout (the engine's and the GPU's model).
    Float,
}

/// Liquid-alpha settings (`LiquidAlphaOn`, `AlphaValues`, `AlphaSigmoidSteepness`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiquidAlpha {
    /// Whether the per-entry sigmoid alpha is used (Yuma3 only).
    pub enabled: bool,
    /// Lower bound of the EMA rate.
    pub alpha_low: f64,
    /// Upper bound of the EMA rate.
    pub alpha_high: f64,
    /// Sigmoid steepness; the slope is `steepness / 100`.
    pub steepness: f64,
}

impl Default for LiquidAlpha {
    fn default() -> Self {
        Self {
            enabled: false,
            alpha_low: 45_875.0 / 65_535.0,
            alpha_high: 58_982.0 / 65_535.0,
            steepness: 1_000.0,
        }
    }
}

/// Yuma parameters of one subnet, chain defaults in [`Default`] (chain.md §5.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YumaParams {
    /// Bonds mechanism (chain default `Yuma3On = false`, i.e. Yuma2).
    pub version: YumaVersion,
    /// Consensus majority κ in [0, 1] (default 32767/65535).
    pub kappa: f64,
    /// Per-epoch bond EMA keep factor (`BondsMovingAverage / 1e6`, default 0.9 ⇒ α = 0.1).
    pub bonds_moving_average: f64,
    /// β in [0, 1] of `W^b = W + β(W̄ − W)` (`BondsPenalty / 65535`, default 1).
    pub bonds_penalty: f64,
    /// Validator permits: the top-k uids by stake (default 64).
    pub max_validators: u32,
    /// Liquid alpha (default off, (0.7, 0.9), steepness 1000).
    pub liquid_alpha: LiquidAlpha,
    /// Bond storage and arithmetic (default as the chain).
    pub bond_storage: BondStorage,
}

impl Default for YumaParams {
    fn default() -> Self {
        Self {
            version: YumaVersion::Yuma2,
            kappa: KAPPA,
            bonds_moving_average: 0.9,
            bonds_penalty: 1.0,
            max_validators: 64,
            liquid_alpha: LiquidAlpha::default(),
            bond_storage: BondStorage::ChainU16,
        }
    }
}

/// 2^32: one unit of the `I32F32` integer representation.
const I32F32_ONE: f64 = 4_294_967_296.0;

/// The epoch's arithmetic: plain floating point (`FIXED = false`), or snapped to the `I32F32`
/// grid like the chain (`FIXED = true`). A const parameter rather than a runtime flag so the
/// float instantiation (the engine's) carries no fixed-point branches in its inner loops.
#[derive(Clone, Copy, Debug)]
struct Arith<const FIXED: bool>;

impl<const FIXED: bool> Arith<FIXED> {
    /// Whether the arithmetic is the chain's fixed point.
    #[inline(always)]
    fn fixed(self) -> bool {
        FIXED
    }

    /// The `I32F32` bits of `x`, floored onto the grid.
    fn bits<R: Real>(x: R) -> i128 {
        (x.f64() * I32F32_ONE).floor() as i128
    }

    fn from_bits<R: Real>(bits: i128) -> R {
        R::of(bits as f64 / I32F32_ONE)
    }

    /// `x` as the chain's `I32F32` conversions leave it (floored onto the grid).
    #[inline(always)]
    fn snap<R: Real>(self, x: R) -> R {
        if FIXED { Self::from_bits(Self::bits(x)) } else { x }
    }

    /// `a · b`; fixed: exact product floored like `I32F32::saturating_mul`.
    #[inline(always)]
    fn mul<R: Real>(self, a: R, b: R) -> R {
        if FIXED { Self::from_bits((Self::bits(a) * Self::bits(b)) >> 32) } else { a * b }
    }

    /// `a / b`, zero when `b` is zero; fixed: exact quotient truncated like `safe_div`.
    #[inline(always)]
    fn div<R: Real>(self, a: R, b: R) -> R {
        if FIXED {
            let divisor = Self::bits(b);
            if divisor == 0 { R::zero() } else { Self::from_bits((Self::bits(a) << 32) / divisor) }
        } else {
            safe_div(a, b)
        }
    }

    /// `x / divisor` given `inverse = safe_div(1, divisor)`: fixed, the truncated quotient; float,
    /// a multiply by the inverse (one division per row or column instead of per entry; the
    /// result differs from `x / divisor` by at most one rounding).
    #[inline(always)]
    fn div_by_inverse<R: Real>(self, x: R, divisor: R, inverse: R) -> R {
        if FIXED { self.div(x, divisor) } else { x * inverse }
    }

    /// `fixed_proportion_to_u16`: `x · 65535` truncated to an integer in [0, 65535].
    fn to_u16<R: Real>(self, x: R) -> f64 {
        let units = if FIXED {
            ((Self::bits(x) * 65_535) >> 32) as f64
        } else {
            (x.f64() * 65_535.0).floor()
        };
        units.clamp(0.0, 65_535.0)
    }
}

/// Reads a work-matrix entry, absent entries as zero.
#[inline]
fn present_value<R: Real>(x: R) -> R {
    x.max(R::zero())
}

/// Whether a work-matrix entry is held (not [`ABSENT`]).
#[inline]
fn is_present<R: Real>(x: R) -> bool {
    x >= R::zero()
}

/// The last iteration of a side with two members, in uid order: `s` (stake `stake`) beside the
/// pivot. The side of `s`, when kept, is that single entry, which the next iteration returns.
#[inline(always)]
fn last_two<R: Real>(s: R, pivot: R, stake: R, minority: R, lo: R, hi: R) -> R {
    // `0 + stake` as the partition's side sum would be (it starts at +0).
    let side_stake = R::zero() + stake;
    if s < pivot {
        if minority < lo + side_stake { s } else { pivot }
    } else if s > pivot {
        if hi - side_stake <= minority { s } else { pivot }
    } else {
        pivot
    }
}

/// Stake-weighted median of a compact column (chain.md §5.3, `math.rs::weighted_median`):
/// `score[k]` and `stake[k]` belong to the `k`-th uid of the index set, in uid order, and are
/// overwritten as the kept side is compacted (it stays in uid order, as the chain's new index
/// vector). Deterministic mid-index pivot, `<` test towards the lower part and `<=` towards the
/// upper one (ties at the boundary resolve upward), at most `len` iterations.
///
/// One pass per iteration (the shader makes two: count, then compact the kept side): the lower
/// side is compacted in place while the upper side is copied to `spare_score` / `spare_stake`
/// (each at least as long as `score`), and the two buffers swap roles when the upper side is
/// kept. The sides, their order and the order of every stake sum are the shader's.
fn weighted_median_compact<R: Real>(
    score: &mut [R],
    stake: &mut [R],
    spare_score: &mut [R],
    spare_stake: &mut [R],
    minority: R,
    partition_lo: R,
    partition_hi: R,
) -> R {
    let (mut score, mut stake, mut spare_score, mut spare_stake) =
        (score, stake, spare_score, spare_stake);
    let mut len = score.len();
    let mut lo = partition_lo;
    let mut hi = partition_hi;
    let max_iterations = len;
    for _ in 0..=max_iterations {
        if len == 0 {
            return R::zero();
        }
        if len == 1 {
            return score[0];
        }
        if len == 2 {
            // The iteration below on one score beside the pivot `score[1]`, spelled out: that
            // score's side, when kept, is the single entry the next iteration returns.
            return last_two(score[0], score[1], stake[0], minority, lo, hi);
        }
        let pivot = score[len / 2];
        let mut lo_stake = R::zero();
        let mut hi_stake = R::zero();
        let mut n_lower = 0;
        let mut n_upper = 0;
        // Exact-length views: indexing by `k < len` needs no bounds check.
        let (side_score, side_stake) = (&mut score[..len], &mut stake[..len]);
        let (upper_score, upper_stake) = (&mut spare_score[..len], &mut spare_stake[..len]);
        for k in 0..len {
            let s = side_score[k];
            let w = side_stake[k];
            if s < pivot {
                lo_stake += w;
                // In place: n_lower <= k, so no entry still to be read is overwritten.
                side_score[n_lower] = s;
                side_stake[n_lower] = w;
                n_lower += 1;
            } else if s > pivot {
                hi_stake += w;
                upper_score[n_upper] = s;
                upper_stake[n_upper] = w;
                n_upper += 1;
            }
        }
        let keep_lower = minority < lo + lo_stake && n_lower > 0;
        let keep_upper = !keep_lower && hi - hi_stake <= minority && n_upper > 0;
        if !keep_lower && !keep_upper {
            return pivot;
        }
        if keep_lower {
            hi = lo + lo_stake;
            len = n_lower;
        } else {
            lo = hi - hi_stake;
            len = n_upper;
            core::mem::swap(&mut score, &mut spare_score);
            core::mem::swap(&mut stake, &mut spare_stake);
        }
    }
    R::zero()
}

/// Lanes of [`weighted_median_lanes`]: columns with at most this many staked rows.
const LANES: usize = 8;

/// `MID[m]`: the lane of the `(len / 2)`-th member, in uid order, of the lane set `m` of `len`
/// members (the chain's pivot `score[len / 2]` of a compact side); 0 for the empty set.
const MID: [u8; 1 << LANES] = {
    let mut table = [0_u8; 1 << LANES];
    let mut m = 0_u32;
    while m < 1 << LANES {
        let mut rest = m;
        let mut skip = m.count_ones() / 2;
        while skip > 0 {
            rest &= rest - 1;
            skip -= 1;
        }
        table[m as usize] = if rest == 0 { 0 } else { rest.trailing_zeros() as u8 };
        m += 1;
    }
    table
};

/// Integer key of a score, ordered as the scores: consensus scores are `max(0, ·)` of weights,
/// so `≥ −0` and never NaN, and the bit patterns of such `f64`s order as integers (`f32` widens
/// exactly); `−0` is keyed as `+0`, which it equals.
#[inline]
fn score_key<R: Real>(s: R) -> i64 {
    (s.f64() + 0.0).to_bits() as i64
}

/// `side_stake[m]`: the stake of the lane set `m` as a side sum of [`weighted_median_compact`]
/// adds it, `+0` plus each member's stake in lane (uid) order; lanes `0..stake.len()`, so
/// `2^stake.len()` entries are set (the rest are left as they are).
///
/// The set with top lane `k` is the set without it plus `stake[k]`, the same additions in the
/// same order as a side sum over the set. The staked stakes are the same for every column of an
/// epoch, so the sums of all sides are made once per epoch instead of per partition step.
fn side_stake_table<R: Real>(stake: &[R], side_stake: &mut [R; 1 << LANES]) {
    side_stake[0] = R::zero();
    for (k, &w) in stake.iter().enumerate() {
        let (below, with_k) = side_stake.split_at_mut(1 << k);
        for (sum, &rest) in with_k[..1 << k].iter_mut().zip(below.iter()) {
            *sum = rest + w;
        }
    }
}

/// [`weighted_median_compact`] on a column of at most [`LANES`] staked rows held in lanes: lane
/// `k` is the `k`-th staked row in uid order, `column` its score (lanes from `column.len()` on
/// score 0: staked rows beyond the weight matrix), `key` the lanes' [`score_key`]s (any value in
/// lanes past the staked rows), `stake` the staked rows' stakes, `side_stake` their
/// [`side_stake_table`], `members` the lane set of the index set (nonempty).
///
/// Same bits, without a data-dependent branch per entry (the compact pass's `<` / `>` branches
/// mispredict on random scores; they were most of the consensus's time): an iteration tests
/// every lane against the pivot with integer masks (the sign of a key difference, which the
/// compiler does not turn back into a branch as it does a comparison-selected float) into the
/// side's lane set, whose stake sum is a table entry: the sum a side sum over the side's members
/// in uid order makes. The pivot (`MID` of the side's lane set: its `len / 2`-th member in uid
/// order), the sides and the decisions are those of [`weighted_median_compact`], and a side of
/// one or two members ends as there.
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "the lane form of one partition's inputs")]
fn weighted_median_lanes<R: Real>(
    column: &[R],
    key: &[i64; LANES],
    stake: &[R],
    side_stake: &[R; 1 << LANES],
    members: usize,
    minority: R,
    partition_lo: R,
    partition_hi: R,
) -> R {
    // The lanes `k` with `a[k] < b[k]` as a bit set (keys are far from overflow:
    // `−1 ≤ key < 2^63`, so the difference's sign bit is the comparison).
    let below = |a: &dyn Fn(usize) -> i64, b: &dyn Fn(usize) -> i64| {
        let mut set = 0;
        for k in 0..LANES {
            set |= ((a(k).wrapping_sub(b(k)) as u64 >> 63) as usize) << k;
        }
        set
    };
    let (mut lo, mut hi) = (partition_lo, partition_hi);
    // Staked rows beyond the weight matrix score 0.
    let score = |k: usize| column.get(k).copied().unwrap_or(R::zero());
    let mut members = members;
    // Every iteration keeps a nonempty side without its pivot: at most `LANES` iterations.
    for _ in 0..LANES {
        let rest = members & (members - 1);
        if rest & (rest.wrapping_sub(1)) == 0 {
            // One or two members: `weighted_median_compact`'s spelled-out last iterations.
            let first = members.trailing_zeros() as usize;
            if rest == 0 {
                return score(first);
            }
            let second = rest.trailing_zeros() as usize;
            return last_two(score(first), score(second), stake[first], minority, lo, hi);
        }
        let mid = usize::from(MID[members]);
        let pivot = key[mid];
        let lower = members & below(&|k| key[k], &|_| pivot);
        let lo_stake = side_stake[lower];
        if minority < lo + lo_stake && lower != 0 {
            hi = lo + lo_stake;
            members = lower;
            continue;
        }
        let upper = members & below(&|_| pivot, &|k| key[k]);
        let hi_stake = side_stake[upper];
        if hi - hi_stake <= minority && upper != 0 {
            lo = hi - hi_stake;
            members = upper;
        } else {
            return score(mid);
        }
    }
    R::zero()
}

/// How far, in units of the stake sum, `minority` must lie from a column's stake boundaries for
/// [`weighted_median_by_rank`] to answer: 256 ulps. The partition's decisions compare `minority`
/// with sums of at most `LANES` stakes, offset by earlier sums over at most `LANES` steps (at
/// most ~40 roundings of magnitude ≤ the stake sum), and the rank sums here add at most `LANES`
/// stakes; a boundary farther than both errors together is on the same side of `minority` for
/// either.
const RANK_MARGIN_ULPS: f64 = 256.0;

/// [`weighted_median_lanes`]' result where rounding cannot change it, found without the partition
/// (its decisions are data-dependent branches that mispredict on random scores), or `None`.
///
/// In exact arithmetic the partition returns the score `v` with `S(< v) ≤ minority < S(≤ v)`,
/// `S(< s)` the stake of the lanes scoring below `s`: keeping the lower side tests
/// `minority < S(< pivot)` (the side's `lo + lo_stake`), keeping the upper side
/// `S(≤ pivot) ≤ minority` (its `hi − hi_stake`), and otherwise the pivot is returned. Every
/// decision on the way compares `minority` with `S(< p)` or `S(≤ p)` of a pivot `p`, and these are
/// at most `S(< v)` for `p < v` and at least `S(≤ v)` for `p > v`. `S(≤ v)` is `S(< u)` of the
/// next larger score `u`, or the stake sum. So when no lane's `S(< s)`, and not the stake sum,
/// lies within [`RANK_MARGIN_ULPS`] of `minority`, every rounded decision is the exact one and the
/// partition returns `v`: the largest score with `S(< s) < minority` (`S(< s)` grows with `s`).
///
/// One branch-free pass gives every lane's `S(< s)`, for [`RANK_BLOCK`] columns at once: the
/// columns side by side in vector lanes (`score[k][c]` is row `k`'s score in column `c`), so a
/// row's scores are one contiguous load of the row-major weights and every comparison is of
/// whole vectors. Each column's sums add the rows in lane (uid) order, as the partition's side
/// sums do. Rows past the staked ones are padding with zero stake and score 0, so they add
/// nothing to any sum and are never a nonzero answer. A zero answer is left to the partition,
/// which picks one lane's bits where `−0` and `+0` tie; undecided also when `minority` is near a
/// boundary (equal stakes, κ at a stake sum). `margin` and `near_all` are [`rank_margin`]'s.
/// Returns each column's median and whether it is decided.
#[inline(always)]
fn weighted_median_by_rank<R: Real, const B: usize>(
    score: &[[R; B]; LANES],
    stake: &[R; LANES],
    minority: R,
    margin: R,
    near_all: bool,
) -> ([R; B], [bool; B]) {
    let mut near = [near_all; B];
    let mut median = [R::zero(); B];
    for k in 0..LANES {
        let mut below = [R::zero(); B];
        for j in 0..LANES {
            // A whole-array expression per row (not a loop over `c` updating in place), which
            // LLVM turns into one compare and one masked add per vector.
            let (lower, own, w) = (&score[j], &score[k], stake[j]);
            below =
                core::array::from_fn(|c| below[c] + if lower[c] < own[c] { w } else { R::zero() });
        }
        for c in 0..B {
            near[c] |= (below[c] - minority).abs() <= margin;
            let candidate = if below[c] < minority { score[k][c] } else { R::zero() };
            median[c] = if candidate > median[c] { candidate } else { median[c] };
        }
    }
    let mut decided = [false; B];
    for c in 0..B {
        decided[c] = !near[c] && median[c] > R::zero();
    }
    (median, decided)
}

/// [`weighted_median_by_rank`]'s `margin`, [`RANK_MARGIN_ULPS`] of the stake sum, and whether
/// `minority` lies within it of the stake sum (then no column is decided by the rank sums).
fn rank_margin<R: Real>(minority: R, stake_sum: R) -> (R, bool) {
    let margin = R::of(RANK_MARGIN_ULPS * R::EPS) * stake_sum;
    (margin, minority + margin >= stake_sum)
}

/// Columns that [`ConsensusBlocks`] compares at once: eight f64 lanes (one AVX-512 register, two
/// AVX2 ones), a whole block of the baseline's validator columns.
const RANK_BLOCK: usize = crate::simd::RANK_COLUMNS;
const _: () = assert!(LANES == crate::simd::RANK_ROWS);

/// Runs [`ConsensusBlocks`]: through [`ConsensusBlocks::run_avx512`] where it runs (f64, a CPU
/// with AVX-512: the same arithmetic in mask registers, written with intrinsics because the
/// generic form compiled for AVX-512 ran slower than at AVX2; docs/performance.md, session 19),
/// else as a [`simd::Kernel`](crate::simd::Kernel) at the CPU's level.
fn consensus_blocks<R: Real>(mut blocks: ConsensusBlocks<'_, R>) -> usize {
    match blocks.run_avx512() {
        Some(undecided) => undecided,
        None => crate::simd::run(blocks),
    }
}

/// The generic form of [`ConsensusBlocks`]: the column consensus where one pass decides it, in
/// blocks of `RANK_BLOCK` columns in vector lanes. A column all of whose staked rows score its
/// pivot takes the pivot (nobody weights the validators' columns), another takes
/// `weighted_median_by_rank`'s answer where it decides. Writes `median[j]` for those and the
/// other columns' indices to `undecided`, in order, and returns how many there are. The blocks
/// compile at the CPU's widest level, where a row's comparison is one or two instructions.
impl<R: Real> crate::simd::Kernel for ConsensusBlocks<'_, R> {
    type Output = usize;

    #[inline(always)]
    fn run(self) -> usize {
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
        } = self;
        let mut count = 0;
        for (block, out) in median.chunks_mut(RANK_BLOCK).enumerate() {
            let first = block * RANK_BLOCK;
            let mut score = [[R::zero(); RANK_BLOCK]; LANES];
            for (lanes, &i) in score.iter_mut().zip(rows) {
                let row = &weights[i as usize * cols..][..cols];
                if let Some(run) = row.get(first..first + RANK_BLOCK) {
                    for c in 0..RANK_BLOCK {
                        lanes[c] = present_value(run[c]);
                    }
                } else {
                    for (lane, &w) in lanes.iter_mut().zip(&row[first..]) {
                        *lane = present_value(w);
                    }
                }
            }
            // The chain's pivot `score[len / 2]` of the staked rows (rows past the weighted ones
            // score 0).
            let pivot = score[staked / 2];
            let mut equal = [true; RANK_BLOCK];
            for k in 0..staked {
                for c in 0..RANK_BLOCK {
                    equal[c] &= score[k][c] == pivot[c];
                }
            }
            let (by_rank, decided) = if equal.iter().all(|&e| e) {
                (pivot, equal)
            } else {
                weighted_median_by_rank(&score, &stake, minority, margin, near_all)
            };
            for (c, out) in out.iter_mut().enumerate() {
                if equal[c] {
                    *out = pivot[c];
                } else if decided[c] {
                    *out = by_rank[c];
                } else {
                    undecided[count] = (first + c) as u32;
                    count += 1;
                }
            }
        }
        count
    }
}

/// `math.rs::weighted_median`: the stake-weighted median of `score` over the index set
/// `partition` (caller scratch, overwritten), with `minority = s_sum − κ` and the stake segment
/// `[lo, hi]` (chain.md §5.3).
pub fn weighted_median<R: Real>(
    stake: &[R],
    score: &[R],
    partition: &mut [u32],
    minority: R,
    lo: R,
    hi: R,
) -> R {
    // The chain-named entry point (the vector tests call it) gathers the index set into compact
    // columns; the epoch gathers into workspace scratch (see `weighted_median_col_with`).
    let mut column: Vec<R> = partition.iter().map(|&i| score[i as usize]).collect();
    let mut column_stake: Vec<R> = partition.iter().map(|&i| stake[i as usize]).collect();
    let (mut spare, mut spare_stake) =
        (vec![R::zero(); column.len()], vec![R::zero(); column.len()]);
    weighted_median_compact(
        &mut column,
        &mut column_stake,
        &mut spare,
        &mut spare_stake,
        minority,
        lo,
        hi,
    )
}

/// Column consensus: only rows with positive stake count, their stake renormalised; rows beyond
/// the weight matrix score 0.
///
/// `scratch` ([`MedianScratch`]) holds the staked rows' stakes, their scores column-major and
/// the two compact sides of [`weighted_median_compact`].
#[expect(clippy::too_many_arguments, reason = "flat scratch slices, as a shader binds them")]
fn weighted_median_col_with<R: Real, const FIXED: bool>(
    ar: Arith<FIXED>,
    stake: &[R],
    weights: &[R],
    cols: usize,
    kappa: R,
    use_stake: &mut [R],
    partition: &mut [u32],
    scratch: MedianScratch<'_, R>,
    median: &mut [R],
) {
    let rows = stake.len();
    let weight_rows = weights.len().checked_div(cols).unwrap_or(0);
    let mut raw_sum = R::zero();
    for &s in stake {
        if s > R::zero() {
            raw_sum += s;
        }
    }
    let mut stake_sum = R::zero();
    for i in 0..rows {
        use_stake[i] = if stake[i] > R::zero() { ar.div(stake[i], raw_sum) } else { R::zero() };
        stake_sum += use_stake[i];
    }
    let minority = stake_sum - kappa;
    // Staked rows in uid order (the chain's initial index set), the same for every column.
    let mut staked = 0;
    for i in 0..rows {
        if stake[i] > R::zero() {
            partition[staked] = i as u32;
            staked += 1;
        }
    }
    // The staked rows' stakes are gathered once for all columns, and the scores of the staked
    // weight rows once into column-major order (row by row, each column then one contiguous
    // run); staked rows at or beyond `weight_rows` (a suffix, as the index set is ascending)
    // score 0. The first pass of each column reads its run and splits it into two compact
    // sides (`lower`, `upper`), which `weighted_median_compact` partitions further.
    let MedianScratch {
        side_stake,
        staked_stake,
        scores,
        lower,
        lower_stake,
        upper,
        upper_stake,
        undecided_columns,
    } = scratch;
    let mut weighted = 0;
    for k in 0..staked {
        let i = partition[k] as usize;
        staked_stake[k] = use_stake[i];
        if i < weight_rows {
            weighted = k + 1;
        }
    }
    let staked_stake = &staked_stake[..staked];
    let (lower, lower_stake) = (&mut lower[..staked], &mut lower_stake[..staked]);
    let (upper, upper_stake) = (&mut upper[..staked], &mut upper_stake[..staked]);
    let columns = cols.min(median.len());
    let (weighted_stake, tail_stake) = staked_stake.split_at(weighted);
    // A column's pivot (the chain's `score[len / 2]` of the staked rows; rows beyond the weight
    // matrix score 0), and whether every score equals it (a column nobody weights): then both
    // sides are empty and the pivot is the median, which either partition would also find.
    let pivot_of = |column: &[R]| {
        let pivot = if staked / 2 < weighted { column[staked / 2] } else { R::zero() };
        let tail_equal = tail_stake.is_empty() || R::zero() == pivot;
        (pivot, tail_equal && column.iter().all(|&s| s == pivot))
    };
    if (2..=LANES).contains(&staked) {
        // Few staked rows: the columns in blocks, decided by their pivot or the rank sums where
        // those decide (`ConsensusBlocks`), else each undecided column's whole partition in lanes, no
        // branch per entry (`weighted_median_lanes`). The side sums' table is made only when some
        // column is left to the partition (most epochs have none).
        let mut lane_stake = [R::zero(); LANES];
        lane_stake[..staked].copy_from_slice(staked_stake);
        let (margin, near_all) = rank_margin(minority, stake_sum);
        let undecided = consensus_blocks(ConsensusBlocks {
            weights,
            cols,
            rows: &partition[..weighted],
            staked,
            stake: lane_stake,
            minority,
            margin,
            near_all,
            median: &mut median[..columns],
            undecided: undecided_columns,
        });
        if undecided > 0 {
            side_stake_table(staked_stake, side_stake);
        }
        let members = (1 << staked) - 1;
        for &j in &undecided_columns[..undecided] {
            let j = j as usize;
            let mut column = [R::zero(); LANES];
            let mut key = [0; LANES];
            for k in 0..weighted {
                column[k] = present_value(weights[partition[k] as usize * cols + j]);
                key[k] = score_key(column[k]);
            }
            median[j] = weighted_median_lanes(
                &column[..weighted],
                &key,
                staked_stake,
                side_stake,
                members,
                minority,
                R::zero(),
                stake_sum,
            );
        }
        return;
    }
    let scores = &mut scores[..columns * weighted];
    for (k, &i) in partition[..weighted].iter().enumerate() {
        let row = &weights[i as usize * cols..][..columns];
        for (column, &w) in scores.chunks_exact_mut(weighted).zip(row) {
            column[k] = present_value(w);
        }
    }
    for j in 0..columns {
        // `weighted_median_compact`'s first iteration on the gathered column, fused with the
        // gather: same pivot, same sides in uid order, same sums.
        let column = &scores[j * weighted..][..weighted];
        median[j] = if staked == 0 {
            R::zero()
        } else if staked == 1 {
            if weighted == 1 { column[0] } else { R::zero() }
        } else {
            let (pivot, all_equal) = pivot_of(column);
            if all_equal {
                median[j] = pivot;
                continue;
            }
            let mut lo_stake = R::zero();
            let mut hi_stake = R::zero();
            let mut n_lower = 0;
            let mut n_upper = 0;
            let mut split = |s: R, w: R| {
                if s < pivot {
                    lo_stake += w;
                    lower[n_lower] = s;
                    lower_stake[n_lower] = w;
                    n_lower += 1;
                } else if s > pivot {
                    hi_stake += w;
                    upper[n_upper] = s;
                    upper_stake[n_upper] = w;
                    n_upper += 1;
                }
            };
            for k in 0..weighted {
                split(column[k], weighted_stake[k]);
            }
            for &w in tail_stake {
                split(R::zero(), w);
            }
            let (lo, hi) = (R::zero(), stake_sum);
            let keep_lower = minority < lo + lo_stake && n_lower > 0;
            let keep_upper = !keep_lower && hi - hi_stake <= minority && n_upper > 0;
            if keep_lower {
                weighted_median_compact(
                    &mut lower[..n_lower],
                    &mut lower_stake[..n_lower],
                    upper,
                    upper_stake,
                    minority,
                    lo,
                    lo + lo_stake,
                )
            } else if keep_upper {
                weighted_median_compact(
                    &mut upper[..n_upper],
                    &mut upper_stake[..n_upper],
                    lower,
                    lower_stake,
                    minority,
                    hi - hi_stake,
                    hi,
                )
            } else {
                pivot
            }
        };
    }
}

/// Scratch of the column consensus: the staked rows' stakes (len ≥ stake rows), their scores
/// column-major (len ≥ `cols × weight rows`), the compact sides (each len ≥ stake rows), and the
/// lane form's [`side_stake_table`] (in the workspace, so it is not zeroed per epoch).
struct MedianScratch<'a, R> {
    side_stake: &'a mut [R; 1 << LANES],
    staked_stake: &'a mut [R],
    scores: &'a mut [R],
    lower: &'a mut [R],
    lower_stake: &'a mut [R],
    upper: &'a mut [R],
    upper_stake: &'a mut [R],
    /// The columns [`ConsensusBlocks`] leaves to the partition (len ≥ cols).
    undecided_columns: &'a mut [u32],
}

/// `weighted_median_col_sparse`: consensus `median[j]` of each column of the row-major
/// `weights` (`weights.len() / cols` rows; rows of `stake` beyond them score 0), keeping only rows
/// with positive stake, renormalised, and `minority = s_sum − κ`. `use_stake` (len
/// `stake.len()`) and `partition` (len ≥ `stake.len()`) are scratch.
pub fn weighted_median_col<R: Real>(
    stake: &[R],
    weights: &[R],
    cols: usize,
    kappa: R,
    use_stake: &mut [R],
    partition: &mut [u32],
    median: &mut [R],
) {
    let mut scores = vec![R::zero(); weights.len()];
    let [mut staked_stake, mut lower, mut lower_stake, mut upper, mut upper_stake] =
        [(); 5].map(|()| vec![R::zero(); stake.len()]);
    let mut side_stake = [R::zero(); 1 << LANES];
    let mut undecided_columns = vec![0; cols];
    let scratch = MedianScratch {
        side_stake: &mut side_stake,
        staked_stake: &mut staked_stake,
        scores: &mut scores,
        lower: &mut lower,
        lower_stake: &mut lower_stake,
        upper: &mut upper,
        upper_stake: &mut upper_stake,
        undecided_columns: &mut undecided_columns,
    };
    weighted_median_col_with(
        Arith::<false>,
        stake,
        weights,
        cols,
        kappa,
        use_stake,
        partition,
        scratch,
        median,
    );
}

/// `col_clip_sparse` on a dense matrix: `w_ij = min(w_ij, c_j)`, and an entry clipped to a
/// threshold `c_j ≤ 0` is removed (set to 0).
pub fn col_clip<R: Real>(weights: &mut [R], cols: usize, threshold: &[R]) {
    for (k, w) in weights.iter_mut().enumerate() {
        let c = threshold[k % cols];
        if c < *w {
            *w = if c > R::zero() { c } else { R::zero() };
        }
    }
}

/// `mat_ema_alpha`: `out_ij = min(1, (1 − α_ij)·old_ij + max(0, α_ij·new_ij))`, all matrices the
/// same shape.
pub fn mat_ema_alpha<R: Real>(new: &[R], old: &[R], alpha: &[R], out: &mut [R]) {
    for k in 0..out.len() {
        let decayed = (R::one() - alpha[k]) * old[k];
        let increment = (alpha[k] * new[k]).max(R::zero());
        out[k] = (decayed + increment).min(R::one());
    }
}

/// `is_topk_nonzero`: `permit[i] = 1` for the `k` largest nonzero stakes, 0 otherwise (a stable
/// ascending sort decides ties: among equal stakes the lower uids lose). All nonzero when
/// `n < k`.
///
/// The shader ranks every uid against every other (`O(n²)`). Here, when no stake is negative or
/// NaN and at most `k` are nonzero (the engine's case: only the `V ≤ k` validators hold stake),
/// every nonzero stake ranks above all `n − nonzero ≥ n − k` zeros, so the permits are exactly the
/// nonzero stakes and no rank is needed; otherwise ranks are computed for nonzero stakes only (a
/// zero stake gets no permit whatever its rank). Same permits, `O(n)` in the engine.
pub fn is_topk_nonzero<R: Real>(stake: &[R], k: usize, permit: &mut [u32]) {
    let n = stake.len();
    let mut nonzero = 0;
    let mut all_non_negative = true;
    for &s in stake {
        nonzero += usize::from(s != R::zero());
        all_non_negative &= s >= R::zero();
    }
    let rank_needed = n >= k && !(all_non_negative && nonzero <= k);
    for i in 0..n {
        let mut permitted = stake[i] != R::zero();
        if permitted && rank_needed {
            // Position of uid i in a stable ascending sort.
            let mut rank = 0;
            for j in 0..n {
                if stake[j] < stake[i] || (stake[j] == stake[i] && j < i) {
                    rank += 1;
                }
            }
            if rank < n - k {
                permitted = false;
            }
        }
        permit[i] = u32::from(permitted);
    }
}

/// Liquid-alpha EMA rate of one bond (`run_epoch.rs::alpha_sigmoid`, chain.md §5.4).
fn liquid_alpha_rate<R: Real>(la: &LiquidAlpha, consensus: R, weight: R, bond: R) -> R {
    let zero = R::zero();
    let one = R::one();
    let diff_buy = (weight - consensus).max(zero).min(one);
    let diff_sell = (bond - weight).max(zero).min(one);
    let diff = if weight >= bond { diff_buy } else { diff_sell };
    let slope = R::of(la.steepness / 100.0);
    let sigmoid = one / (one + (-slope * (diff - R::of(0.5))).exp());
    let low = R::of(la.alpha_low);
    let high = R::of(la.alpha_high);
    (low + sigmoid * (high - low)).min(high).max(low)
}

/// Work arrays and outputs of one epoch for `n` uids and `n_rows` weight rows.
///
/// The output vectors are public and hold the last epoch's values; the rest is scratch.
#[derive(Clone, Debug)]
pub struct YumaWorkspace<R: Real> {
    n: usize,
    n_rows: usize,
    /// Normalised stake S.
    pub stake: Vec<R>,
    /// Active stake A: S under the previous permits, renormalised.
    pub active_stake: Vec<R>,
    /// Consensus C per uid.
    pub consensus: Vec<R>,
    /// Incentive I per uid (sums to 1, or all 0).
    pub incentive: Vec<R>,
    /// Dividends D per uid (sums to 1, or all 0), before the emission split.
    pub dividends: Vec<R>,
    /// Validator trust: each row's sum of clipped weights.
    pub validator_trust: Vec<R>,
    weights: Vec<R>,
    clipped: Vec<R>,
    bonds_input: Vec<R>,
    ema: Vec<R>,
    use_stake: Vec<R>,
    partition: Vec<u32>,
    new_permits: Vec<u32>,
    column_inverse: Vec<R>,
    /// Float weight rows' off-diagonal and present-value sums ([`weight_row_sums`]).
    row_off_diagonal: Vec<R>,
    row_sum: Vec<R>,
    /// Consensus scratch ([`MedianScratch`]): the lane form's side sums, the staked rows'
    /// stakes, their scores column-major (`n_rows × n`), the compact sides.
    side_stake: Box<[R; 1 << LANES]>,
    staked_stake: Vec<R>,
    scores: Vec<R>,
    lower: Vec<R>,
    lower_stake: Vec<R>,
    upper: Vec<R>,
    upper_stake: Vec<R>,
    undecided_columns: Vec<u32>,
}

impl<R: Real> YumaWorkspace<R> {
    /// Allocates the arrays for `n` uids of which `n_rows ≤ n` may set weights.
    pub fn new(n: usize, n_rows: usize) -> Self {
        assert!(n_rows <= n, "n_rows {n_rows} > n {n}");
        let vector = vec![R::zero(); n];
        let matrix = vec![R::zero(); n_rows * n];
        Self {
            n,
            n_rows,
            stake: vector.clone(),
            active_stake: vector.clone(),
            consensus: vector.clone(),
            incentive: vector.clone(),
            dividends: vector.clone(),
            validator_trust: vector.clone(),
            weights: matrix.clone(),
            clipped: matrix.clone(),
            bonds_input: matrix.clone(),
            ema: matrix.clone(),
            use_stake: vector.clone(),
            side_stake: Box::new([R::zero(); 1 << LANES]),
            staked_stake: vector.clone(),
            scores: matrix,
            lower: vector.clone(),
            lower_stake: vector.clone(),
            upper: vector.clone(),
            upper_stake: vector.clone(),
            undecided_columns: vec![0; n],
            column_inverse: vector.clone(),
            row_off_diagonal: vector.clone(),
            row_sum: vector,
            partition: vec![0; n],
            new_permits: vec![0; n],
        }
    }

    /// Number of uids.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of weight (and bond) rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Step 12 of chain.md §5.2: `server_i = I_i/Σ·E`, `validator_i = D_i/Σ·E` with
    /// `Σ = ΣI + ΣD`; when `Σ = 0`, `validator = A·E` (or `S·E` if A ≡ 0) and `server = 0`.
    ///
    /// Amounts stay floats (the chain truncates each to whole rao).
    pub fn split_emission(
        &self,
        params: &YumaParams,
        emission: R,
        server: &mut [R],
        validator: &mut [R],
    ) {
        match params.bond_storage {
            BondStorage::ChainU16 => {
                self.split_emission_in(Arith::<true>, emission, server, validator)
            }
            BondStorage::Float => {
                self.split_emission_in(Arith::<false>, emission, server, validator)
            }
        }
    }

    /// [`Self::split_emission`] in the arithmetic `ar`.
    fn split_emission_in<const FIXED: bool>(
        &self,
        ar: Arith<FIXED>,
        emission: R,
        server: &mut [R],
        validator: &mut [R],
    ) {
        let mut total = R::zero();
        let mut active_total = R::zero();
        for i in 0..self.n {
            total += self.incentive[i] + self.dividends[i];
            active_total += self.active_stake[i];
        }
        for i in 0..self.n {
            if total == R::zero() {
                server[i] = R::zero();
                let share =
                    if active_total == R::zero() { self.stake[i] } else { self.active_stake[i] };
                validator[i] = share * emission;
            } else {
                server[i] = ar.div(self.incentive[i], total) * emission;
                validator[i] = ar.div(self.dividends[i], total) * emission;
            }
        }
    }
}

/// Column sums of the first `rows` rows of a row-major matrix with `cols` columns, into `sums`.
fn col_sums<R: Real>(matrix: &[R], rows: usize, cols: usize, sums: &mut [R]) {
    for s in sums.iter_mut().take(cols) {
        *s = R::zero();
    }
    for i in 0..rows {
        for j in 0..cols {
            sums[j] += present_value(matrix[i * cols + j]);
        }
    }
}

/// Divides every present entry by its column sum (`inplace_col_normalize_sparse`).
fn col_normalize<R: Real, const FIXED: bool>(
    ar: Arith<FIXED>,
    matrix: &mut [R],
    rows: usize,
    cols: usize,
    sums: &mut [R],
) {
    col_sums(matrix, rows, cols, sums);
    // Column by column, so the column's inverse is computed once.
    for j in 0..cols {
        if sums[j] == R::zero() {
            continue;
        }
        let inverse = R::one() / sums[j];
        for i in 0..rows {
            let x = &mut matrix[i * cols + j];
            if is_present(*x) {
                *x = ar.div_by_inverse(*x, sums[j], inverse);
            }
        }
    }
}

/// Rows summed side by side in [`row_sums`].
const SUM_ROWS: usize = 4;

/// `sums[i] = +0 + term(m[i][0], 0) + term(m[i][1], 1) + …`, each row of the row-major `matrix`
/// (`sums.len()` rows of `cols`) summed in column order.
///
/// A row's sum is a chain of dependent additions (latency-bound: one addition's latency per
/// entry); [`SUM_ROWS`] rows are summed side by side, their chains independent, so the additions
/// of different rows overlap (and share vector registers). Each row's additions, and their
/// order, are those of a plain per-row loop.
#[inline(always)]
fn row_sums<R: Real>(matrix: &[R], cols: usize, sums: &mut [R], term: impl Fn(R, usize) -> R) {
    row_sums_from(matrix, cols, 0, sums, term);
}

/// [`row_sums`] over columns `first_col..cols` of each row only (each from `+0`, in column
/// order; `term` gets the column's index in the row).
#[inline(always)]
pub(crate) fn row_sums_from<R: Real>(
    matrix: &[R],
    cols: usize,
    first_col: usize,
    sums: &mut [R],
    term: impl Fn(R, usize) -> R,
) {
    let rows = sums.len();
    let matrix = &matrix[..rows * cols];
    let mut groups = matrix.chunks_exact(SUM_ROWS * cols);
    let mut group_sums = sums.chunks_exact_mut(SUM_ROWS);
    for (group, out) in (&mut groups).zip(&mut group_sums) {
        let row: [&[R]; SUM_ROWS] = core::array::from_fn(|r| &group[r * cols..][..cols]);
        let mut total = [R::zero(); SUM_ROWS];
        for j in first_col..cols {
            for r in 0..SUM_ROWS {
                total[r] += term(row[r][j], j);
            }
        }
        out.copy_from_slice(&total);
    }
    for (row, out) in groups.remainder().chunks_exact(cols).zip(group_sums.into_remainder()) {
        let mut total = R::zero();
        for (j, &x) in row.iter().enumerate().skip(first_col) {
            total += term(x, j);
        }
        *out = total;
    }
}

/// The float weight rows' sums of [`run_epoch_in`]: `off_diagonal[i]` of the raw entries and
/// `present[i]` of their present values, each over the row's columns except its diagonal `i`, in
/// column order from `+0` (rows `0..off_diagonal.len()` of the row-major `weights` of `cols`
/// columns, at most `cols` rows).
///
/// As [`row_sums`], [`SUM_ROWS`] rows side by side (independent addition chains). A group of rows
/// `g..g + SUM_ROWS` has its diagonals in columns `g..g + SUM_ROWS`: the columns before and
/// after that block add every row's entry, and the block skips each row's own column by a
/// test on constant indices (no select per entry). Each row's additions and their order are
/// those of a plain loop around its diagonal.
fn weight_row_sums<R: Real>(weights: &[R], cols: usize, off_diagonal: &mut [R], present: &mut [R]) {
    let rows = off_diagonal.len();
    assert!(rows <= cols && present.len() == rows, "weight row sums shape");
    let weights = &weights[..rows * cols];
    let groups = rows / SUM_ROWS;
    for g in 0..groups {
        let first = g * SUM_ROWS;
        let group = &weights[first * cols..][..SUM_ROWS * cols];
        let row: [&[R]; SUM_ROWS] = core::array::from_fn(|r| &group[r * cols..][..cols]);
        let mut off = [R::zero(); SUM_ROWS];
        let mut sum = [R::zero(); SUM_ROWS];
        let add_all = |off: &mut [R; SUM_ROWS], sum: &mut [R; SUM_ROWS], j: usize| {
            for r in 0..SUM_ROWS {
                let w = row[r][j];
                off[r] += w;
                sum[r] += present_value(w);
            }
        };
        for j in 0..first {
            add_all(&mut off, &mut sum, j);
        }
        for d in 0..SUM_ROWS {
            for r in 0..SUM_ROWS {
                if r != d {
                    let w = row[r][first + d];
                    off[r] += w;
                    sum[r] += present_value(w);
                }
            }
        }
        for j in first + SUM_ROWS..cols {
            add_all(&mut off, &mut sum, j);
        }
        off_diagonal[first..][..SUM_ROWS].copy_from_slice(&off);
        present[first..][..SUM_ROWS].copy_from_slice(&sum);
    }
    for i in groups * SUM_ROWS..rows {
        let row = &weights[i * cols..][..cols];
        let (mut off, mut sum) = (R::zero(), R::zero());
        for &w in &row[..i] {
            off += w;
            sum += present_value(w);
        }
        for &w in &row[i + 1..] {
            off += w;
            sum += present_value(w);
        }
        off_diagonal[i] = off;
        present[i] = sum;
    }
}

/// The clip and the incentive terms (steps 7 and 9): `clipped = min(W, C)` entry by entry
/// (absent where the consensus is 0) and `incentive[j] = Σ_i stake_i · present(clipped[i][j])`,
/// rows in order. A row is walked in chunks of `L` columns whose body is one vector
/// operation per step (no scalar remainder inside a row of 40 columns).
struct ClipRows<'a, R> {
    weights: &'a [R],
    consensus: &'a [R],
    stake: &'a [R],
    clipped: &'a mut [R],
    incentive: &'a mut [R],
}

impl<R: Real> ClipRows<'_, R> {
    #[inline(always)]
    fn run_with<const L: usize, const FIXED: bool>(self, ar: Arith<FIXED>) {
        let ClipRows { weights, consensus, stake, clipped, incentive } = self;
        let n = consensus.len();
        let (zero, absent) = (R::zero(), R::of(ABSENT));
        // Both tests evaluated (`&`, not `&&`) so each entry is two selects, no branch.
        let clip = |w: R, c: R| {
            let floor = if c > zero { c } else { absent };
            if is_present(w) & (c < w) { floor } else { w }
        };
        incentive.fill(zero);
        for (i, &stake) in stake.iter().enumerate() {
            let weights = &weights[i * n..][..n];
            let clipped = &mut clipped[i * n..][..n];
            let mut w8 = weights.chunks_exact(L);
            let mut c8 = consensus.chunks_exact(L);
            let mut out8 = clipped.chunks_exact_mut(L);
            let mut inc8 = incentive.chunks_exact_mut(L);
            for (((w, c), out), inc) in (&mut w8).zip(&mut c8).zip(&mut out8).zip(&mut inc8) {
                // Local copies: the compiler cannot tell the borrowed chunks apart, and would
                // keep each lane's loads and stores in order, one at a time.
                let w: [R; L] = w.try_into().expect("a whole chunk");
                let c: [R; L] = c.try_into().expect("a whole chunk");
                let mut sum: [R; L] = (&*inc).try_into().expect("a whole chunk");
                let mut wc = [zero; L];
                for l in 0..L {
                    wc[l] = clip(w[l], c[l]);
                    sum[l] += ar.mul(stake, present_value(wc[l]));
                }
                out.copy_from_slice(&wc);
                inc.copy_from_slice(&sum);
            }
            let tail = w8.remainder().iter().zip(c8.remainder());
            for ((&w, &c), (out, inc)) in
                tail.zip(out8.into_remainder().iter_mut().zip(inc8.into_remainder()))
            {
                let wc = clip(w, c);
                *out = wc;
                *inc += ar.mul(stake, present_value(wc));
            }
        }
    }
}

impl<R: Real> crate::simd::LaneKernel for ClipRows<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<const L: usize>(self) {
        self.run_with::<L, false>(Arith::<false>);
    }
}

/// The float weight rows normalised (step 5): a row with a permit and a weight off its diagonal
/// has its present entries times `safe_div(1, row_sum)`, absent ones kept and its diagonal
/// absent; any other row is absent throughout. Rows in chunks of `L` columns, as [`ClipRows`].
struct ScaleRows<'a, R> {
    raw: &'a [R],
    permits: &'a [u32],
    off_diagonal: &'a [R],
    row_sum: &'a [R],
    out: &'a mut [R],
}

impl<R: Real> crate::simd::LaneKernel for ScaleRows<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<const L: usize>(self) {
        let ScaleRows { raw, permits, off_diagonal, row_sum, out } = self;
        let absent = R::of(ABSENT);
        let n = raw.len() / permits.len().max(1);
        for (i, (raw, out)) in raw.chunks_exact(n).zip(out.chunks_exact_mut(n)).enumerate() {
            let row_present = permits[i] != 0 && off_diagonal[i] > R::zero();
            if !row_present {
                out.fill(absent);
                continue;
            }
            let inverse = safe_div(R::one(), row_sum[i]);
            let scale = |w: R| if is_present(w) { w * inverse } else { w };
            let mut raw8 = raw.chunks_exact(L);
            let mut out8 = out.chunks_exact_mut(L);
            for (raw, out) in (&mut raw8).zip(&mut out8) {
                let raw: [R; L] = raw.try_into().expect("a whole chunk");
                let mut scaled = [R::zero(); L];
                for l in 0..L {
                    scaled[l] = scale(raw[l]);
                }
                out.copy_from_slice(&scaled);
            }
            for (out, &w) in out8.into_remainder().iter_mut().zip(raw8.remainder()) {
                *out = scale(w);
            }
            out[i] = absent;
        }
    }
}

/// The float dividends' terms (step 11): `terms[i][j] = b · incentive[j]`, `b` the bond
/// `ema[i][j]` times its column's `inverse[j]` where present and as stored where absent, each
/// entry exactly as the row sums would form it. Rows in chunks of `L` columns, as [`ClipRows`].
struct DividendTerms<'a, R> {
    ema: &'a [R],
    inverse: &'a [R],
    incentive: &'a [R],
    terms: &'a mut [R],
}

impl<R: Real> crate::simd::LaneKernel for DividendTerms<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<const L: usize>(self) {
        let DividendTerms { ema, inverse, incentive, terms } = self;
        let n = inverse.len();
        let term = |bond: R, inverse: R, incentive: R| {
            let normalized = if is_present(bond) { bond * inverse } else { bond };
            normalized * incentive
        };
        for (ema, terms) in ema.chunks_exact(n).zip(terms.chunks_exact_mut(n)) {
            let mut bond8 = ema.chunks_exact(L);
            let mut inverse8 = inverse.chunks_exact(L);
            let mut incentive8 = incentive.chunks_exact(L);
            let mut out8 = terms.chunks_exact_mut(L);
            for (((bond, inv), inc), out) in
                (&mut bond8).zip(&mut inverse8).zip(&mut incentive8).zip(&mut out8)
            {
                let bond: [R; L] = bond.try_into().expect("a whole chunk");
                let inv: [R; L] = inv.try_into().expect("a whole chunk");
                let inc: [R; L] = inc.try_into().expect("a whole chunk");
                let mut t = [R::zero(); L];
                for l in 0..L {
                    t[l] = term(bond[l], inv[l], inc[l]);
                }
                out.copy_from_slice(&t);
            }
            let tail =
                bond8.remainder().iter().zip(inverse8.remainder()).zip(incentive8.remainder());
            for (((&bond, &inv), &inc), out) in tail.zip(out8.into_remainder()) {
                *out = term(bond, inv, inc);
            }
        }
    }
}

/// A stored bond as the epoch reads it: fixed, the chain's u16 storage (`x · 65535` rounded,
/// back to a proportion); float, as stored.
#[inline(always)]
fn stored_bond<R: Real, const FIXED: bool>(ar: Arith<FIXED>, x: R) -> R {
    let u16_max = R::of(65_535.0);
    if ar.fixed() { ar.div((x * u16_max).round(), u16_max) } else { x }
}

/// Yuma3's bond EMA without liquid alpha (step 11): `ema = rate · present(W^b) + keep · old`
/// entry by entry, and the column sums of the new bonds accumulated rows in order (`sums`,
/// zeroed by the caller). Rows walked in chunks of `L` columns, as [`ClipRows`].
struct BondEma<'a, R> {
    bonds: &'a [R],
    bonds_input: &'a [R],
    ema: &'a mut [R],
    sums: &'a mut [R],
    rate: R,
    keep: R,
}

impl<R: Real> BondEma<'_, R> {
    #[inline(always)]
    fn run_with<const L: usize, const FIXED: bool>(self, ar: Arith<FIXED>) {
        let BondEma { bonds, bonds_input, ema, sums, rate, keep } = self;
        let n = sums.len();
        let term = |wb: R, stored: R| {
            ar.mul(rate, present_value(wb)) + ar.mul(keep, stored_bond(ar, stored))
        };
        for ((bonds, bonds_input), ema) in
            bonds.chunks_exact(n).zip(bonds_input.chunks_exact(n)).zip(ema.chunks_exact_mut(n))
        {
            let mut old = bonds.chunks_exact(L);
            let mut wb = bonds_input.chunks_exact(L);
            let mut out = ema.chunks_exact_mut(L);
            let mut sum = sums.chunks_exact_mut(L);
            for (((old, wb), out), sum) in (&mut old).zip(&mut wb).zip(&mut out).zip(&mut sum) {
                let old: [R; L] = old.try_into().expect("a whole chunk");
                let wb: [R; L] = wb.try_into().expect("a whole chunk");
                let mut total: [R; L] = (&*sum).try_into().expect("a whole chunk");
                let mut new = [R::zero(); L];
                for l in 0..L {
                    new[l] = term(wb[l], old[l]);
                    total[l] += present_value(new[l]);
                }
                out.copy_from_slice(&new);
                sum.copy_from_slice(&total);
            }
            let tail = old.remainder().iter().zip(wb.remainder());
            for ((&old, &wb), (out, sum)) in
                tail.zip(out.into_remainder().iter_mut().zip(sum.into_remainder()))
            {
                *out = term(wb, old);
                *sum += present_value(*out);
            }
        }
    }
}

impl<R: Real> crate::simd::LaneKernel for BondEma<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<const L: usize>(self) {
        self.run_with::<L, false>(Arith::<false>);
    }
}

/// Normalises a vector to sum 1 (left as is when it sums to 0).
fn normalize<R: Real, const FIXED: bool>(ar: Arith<FIXED>, x: &mut [R]) {
    let all = x.len();
    normalize_prefix(ar, x, all);
}

/// The length of `x` without its trailing entries that are exactly +0.0. A sum from +0 over `x`
/// and one over this prefix have the same bits: in round-to-nearest a sum that starts at +0 is
/// never −0 (`+0 + −0 = +0`, `a + (−a) = +0`), and adding +0 to anything else changes no bit.
///
/// The scan runs from the end in groups of [`PREFIX_GROUP`], each group tested as a whole with no
/// branch per entry (a vector compare where the build has one), and only the group holding the
/// last staked entry is searched entry by entry. An entry-by-entry scan from the end, through
/// the engine's 32 miners of stake +0, was 1.6% of a Yuma-on run (docs/performance.md, session
/// 25).
fn staked_prefix<R: Real>(x: &[R]) -> usize {
    let staked = |v: &R| *v != R::zero() || v.is_sign_negative();
    let groups = x.rchunks_exact(PREFIX_GROUP);
    let head = groups.remainder();
    for (g, group) in groups.enumerate() {
        let group: &[R; PREFIX_GROUP] = group.try_into().expect("a whole group");
        if group.iter().fold(false, |any, v| any | staked(v)) {
            let start = x.len() - (g + 1) * PREFIX_GROUP;
            return start + group.iter().rposition(staked).expect("a staked entry") + 1;
        }
    }
    head.iter().rposition(staked).map_or(0, |last| last + 1)
}

/// Entries [`staked_prefix`] tests at a time.
const PREFIX_GROUP: usize = 8;

/// [`normalize`] for a vector whose entries from `prefix` on are +0 ([`staked_prefix`]): the sum
/// over the prefix only (the same bits), the scaling over all of it.
fn normalize_prefix<R: Real, const FIXED: bool>(ar: Arith<FIXED>, x: &mut [R], prefix: usize) {
    let mut sum = R::zero();
    for &v in &x[..prefix] {
        sum += v;
    }
    if sum != R::zero() {
        let inverse = R::one() / sum;
        for v in x.iter_mut() {
            *v = ar.div_by_inverse(*v, sum, inverse);
        }
    }
}

/// Runs one Yuma epoch (chain.md §5.2–5.4).
///
/// - `stake_raw[n]`: each uid's stake weight, any non-negative scale (normalised here).
/// - `weights_raw[n_rows × n]`: the weights each of the uids `0..n_rows` has set, any
///   non-negative scale per row (an all-zero row sets no weights).
/// - `bonds[n_rows × n]`: the stored bonds, updated in place: Yuma2 column max-upscaled, Yuma3
///   absolute proportions; with [`BondStorage::ChainU16`] always multiples of 1/65535.
/// - `permits[n]`: the validator permits of the previous epoch (1/0), replaced by this epoch's.
///
/// Outputs are left in `work` ([`YumaWorkspace`]'s public vectors).
pub fn run_epoch<R: Real>(
    params: &YumaParams,
    stake_raw: &[R],
    weights_raw: &[R],
    bonds: &mut [R],
    permits: &mut [u32],
    work: &mut YumaWorkspace<R>,
) {
    let n = work.n;
    let rows = work.n_rows;
    assert_eq!(stake_raw.len(), n, "stake length");
    assert_eq!(weights_raw.len(), rows * n, "weights shape");
    assert_eq!(bonds.len(), rows * n, "bonds shape");
    assert_eq!(permits.len(), n, "permits length");
    match params.bond_storage {
        BondStorage::ChainU16 => {
            run_epoch_in(Arith::<true>, params, stake_raw, weights_raw, bonds, permits, work);
        }
        BondStorage::Float => {
            run_epoch_in(Arith::<false>, params, stake_raw, weights_raw, bonds, permits, work);
        }
    }
}

/// [`run_epoch`] in the arithmetic `ar` (shapes already checked).
fn run_epoch_in<R: Real, const FIXED: bool>(
    ar: Arith<FIXED>,
    params: &YumaParams,
    stake_raw: &[R],
    weights_raw: &[R],
    bonds: &mut [R],
    permits: &mut [u32],
    work: &mut YumaWorkspace<R>,
) {
    let n = work.n;
    let rows = work.n_rows;
    let zero = R::zero();
    let one = R::one();
    let absent = R::of(ABSENT);
    let u16_max = R::of(65_535.0);

    // Stake and permits (steps 2–4): this epoch uses the previous permits, stores new ones.
    // The serial sums over stakes stop at the last uid whose stake is not +0 (`staked_prefix`;
    // in the engine the miners' stakes are +0): the same bits, shorter chains.
    let staked = staked_prefix(stake_raw);
    let mut stake_total = zero;
    for &s in &stake_raw[..staked] {
        stake_total += s;
    }
    for i in 0..n {
        work.stake[i] = ar.snap(safe_div(stake_raw[i], stake_total));
    }
    is_topk_nonzero(&work.stake, params.max_validators as usize, &mut work.new_permits);
    for i in 0..n {
        work.active_stake[i] = if permits[i] != 0 { work.stake[i] } else { zero };
    }
    normalize_prefix(ar, &mut work.active_stake, staked);

    // Weights (step 5): chain storage (u16, row max-upscaled), permit and diagonal masks, rows
    // normalised; absent entries marked.
    if !ar.fixed() {
        // Float: the stored row is the input row, so its sum (the same additions, in the same
        // order, as over the masked row) comes with the off-diagonal sum, and masking and
        // normalising take one more pass instead of two. Were the row masked, its sum would go
        // unused. The diagonal's term, `max(ABSENT, 0) = +0`, is skipped: the sum starts at +0
        // and adds values ≥ ±0, so it is never −0, and adding +0 to it changes no bit. The
        // rows' sums run side by side (`weight_row_sums`).
        let (off_diagonal, row_sum) =
            (&mut work.row_off_diagonal[..rows], &mut work.row_sum[..rows]);
        weight_row_sums(weights_raw, n, off_diagonal, row_sum);
        crate::simd::run_lanes(ScaleRows {
            raw: &weights_raw[..rows * n],
            permits: &permits[..rows],
            off_diagonal,
            row_sum,
            out: &mut work.weights[..rows * n],
        });
    } else {
        // Fixed: rows stored as u16 (max-upscaled) before they are normalised.
        for i in 0..rows {
            let row = &weights_raw[i * n..][..n];
            let out = &mut work.weights[i * n..][..n];
            let mut row_max = zero;
            let mut off_diagonal = zero;
            for (j, &w) in row.iter().enumerate() {
                row_max = row_max.max(w);
                if j != i {
                    off_diagonal += w;
                }
            }
            let row_present = permits[i] != 0 && off_diagonal > zero;
            let mut row_sum = zero;
            for j in 0..n {
                out[j] = if !row_present || j == i {
                    absent
                } else {
                    (row[j] / row_max * u16_max).round()
                };
                row_sum += present_value(out[j]);
            }
            let inverse = safe_div(one, row_sum);
            for w in out.iter_mut() {
                if is_present(*w) {
                    *w = ar.div_by_inverse(*w, row_sum, inverse);
                }
            }
        }
    }

    // Consensus, clip, validator trust, incentive (steps 6–9).
    let kappa = ar.snap(R::of(params.kappa));
    // Uids past `staked` have no stake, so no row of the consensus: the same medians.
    weighted_median_col_with(
        ar,
        &work.active_stake[..staked],
        &work.weights,
        n,
        kappa,
        &mut work.use_stake,
        &mut work.partition,
        MedianScratch {
            side_stake: &mut work.side_stake,
            staked_stake: &mut work.staked_stake,
            scores: &mut work.scores,
            lower: &mut work.lower,
            lower_stake: &mut work.lower_stake,
            upper: &mut work.upper,
            upper_stake: &mut work.upper_stake,
            undecided_columns: &mut work.undecided_columns,
        },
        &mut work.consensus,
    );
    // Per row: the clip and the incentive terms in one loop without a sequential sum (it
    // vectorises); then the rows' trust sums side by side (`row_sums`), each in column order.
    let clip = ClipRows {
        weights: &work.weights[..rows * n],
        consensus: &work.consensus[..n],
        stake: &work.active_stake[..rows],
        clipped: &mut work.clipped[..rows * n],
        incentive: &mut work.incentive[..n],
    };
    if ar.fixed() {
        clip.run_with::<1, FIXED>(ar);
    } else {
        crate::simd::run_lanes(clip);
    }
    row_sums(&work.clipped, n, &mut work.validator_trust[..rows], |wc, _| present_value(wc));
    for i in rows..n {
        work.validator_trust[i] = zero;
    }
    normalize(ar, &mut work.incentive);

    // Bonds input (step 10), `interpolate_sparse`. With β = 0 it is the weights and with β = 1
    // the clipped weights, entry for entry: Yuma3 then reads that matrix in place (no copy);
    // Yuma2, which overwrites `clipped`, and any other β get the matrix in `bonds_input`.
    let beta = ar.snap(R::of(params.bonds_penalty));
    let (weights, clipped) = (&work.weights[..rows * n], &work.clipped[..rows * n]);
    let bonds_input_in_place =
        params.version == YumaVersion::Yuma3 && (beta == zero || beta == one);
    if !bonds_input_in_place {
        let bonds_input = &mut work.bonds_input[..rows * n];
        for k in 0..rows * n {
            let w = weights[k];
            let wc = clipped[k];
            bonds_input[k] = if beta == zero {
                w
            } else if beta == one {
                wc
            } else {
                let (a, b) = (present_value(w), present_value(wc));
                let mixed = a + ar.mul(beta, b - a);
                if mixed > zero { mixed } else { absent }
            };
        }
    }
    let bonds_input: &[R] = if !bonds_input_in_place {
        &work.bonds_input
    } else if beta == zero {
        &work.weights
    } else {
        &work.clipped
    };

    // Bonds and dividends (step 11, chain.md §5.4). `use_stake` is free now: column sums.
    let keep = ar.snap(R::of(params.bonds_moving_average));
    let rate = one - keep;
    let sums = &mut work.use_stake;
    let ema = &mut work.ema;
    match params.version {
        YumaVersion::Yuma2 => {
            // Stored bonds (u16 integers on the chain), column-normalised.
            for k in 0..rows * n {
                ema[k] = if ar.fixed() { (bonds[k] * u16_max).round() } else { bonds[k] };
            }
            col_normalize(ar, ema, rows, n, sums);
            // ΔB = col_normalize(W^b ∘ A), kept in `clipped` (no longer needed).
            let delta = &mut work.clipped;
            for i in 0..rows {
                for j in 0..n {
                    let wb = work.bonds_input[i * n + j];
                    delta[i * n + j] =
                        if is_present(wb) { ar.mul(wb, work.active_stake[i]) } else { zero };
                }
            }
            col_normalize(ar, delta, rows, n, sums);
            for k in 0..rows * n {
                ema[k] = ar.mul(rate, delta[k]) + ar.mul(keep, ema[k]);
            }
            col_normalize(ar, ema, rows, n, sums);
            for i in 0..n {
                let mut d = zero;
                if i < rows {
                    for j in 0..n {
                        d += ar.mul(work.incentive[j], ema[i * n + j]);
                    }
                }
                work.dividends[i] = d;
            }
            normalize(ar, &mut work.dividends);
            // Column max-upscale for storage.
            for j in 0..n {
                sums[j] = zero;
                for i in 0..rows {
                    sums[j] = sums[j].max(ema[i * n + j]);
                }
            }
            for i in 0..rows {
                for j in 0..n {
                    ema[i * n + j] = ar.div(ema[i * n + j], sums[j]);
                }
            }
        }
        YumaVersion::Yuma3 => {
            let mut any_consensus = false;
            for &c in &work.consensus {
                any_consensus |= c != zero;
            }
            let liquid = params.liquid_alpha.enabled && any_consensus;
            // Column sums of the new bonds (`col_normalize`'s first step) accumulate as they
            // are produced, rows in order.
            let sums = &mut sums[..n];
            for j in 0..n {
                sums[j] = zero;
            }
            if liquid {
                for i in 0..rows {
                    let bonds = &bonds[i * n..][..n];
                    let bonds_input = &bonds_input[i * n..][..n];
                    let ema = &mut ema[i * n..][..n];
                    for column in 0..n {
                        let old = stored_bond(ar, bonds[column]);
                        let wb = bonds_input[column];
                        ema[column] = if is_present(wb) {
                            let alpha = ar.snap(liquid_alpha_rate(
                                &params.liquid_alpha,
                                work.consensus[column],
                                wb,
                                old,
                            ));
                            let decayed = ar.mul(one - alpha, old);
                            let increment = ar.mul(alpha, wb).max(zero);
                            (decayed + increment).min(one)
                        } else {
                            // The sparse liquid-alpha EMA only emits entries of the W^b row.
                            zero
                        };
                        sums[column] += present_value(ema[column]);
                    }
                }
            } else {
                let ema_rows = BondEma {
                    bonds: &bonds[..rows * n],
                    bonds_input: &bonds_input[..rows * n],
                    ema: &mut ema[..rows * n],
                    sums,
                    rate,
                    keep,
                };
                if ar.fixed() {
                    ema_rows.run_with::<1, FIXED>(ar);
                } else {
                    crate::simd::run_lanes(ema_rows);
                }
            }
            // Dividends from the column-normalised bonds, each entry normalised as it is read
            // (as `col_normalize` would: present entries of a column with a nonzero sum).
            let inverse = &mut work.column_inverse[..n];
            let incentive = &work.incentive[..n];
            if !ar.fixed() {
                // Float: a column with a zero sum leaves its entries as they are, i.e.
                // multiplies them by an inverse of exactly 1 (`x · 1 = x` for every x that is
                // not NaN, and a NaN is not present), so one select per entry remains. The
                // products come from a lane kernel (`DividendTerms`) into `bonds_input`, free
                // once the EMA has run; then the rows' sums add them side by side (`row_sums`),
                // each in column order. Formed inside the sums (SSE2, a select per entry), the
                // products cost more than this vector pass does (docs/performance.md, session
                // 26).
                for j in 0..n {
                    inverse[j] = if sums[j] == zero { one } else { one / sums[j] };
                }
                let terms = &mut work.bonds_input[..rows * n];
                crate::simd::run_lanes(DividendTerms {
                    ema: &ema[..rows * n],
                    inverse: &inverse[..n],
                    incentive,
                    terms,
                });
                row_sums(&work.bonds_input, n, &mut work.dividends[..rows], |term, _| term);
                for i in 0..rows {
                    work.dividends[i] = work.dividends[i] * work.active_stake[i];
                }
                for i in rows..n {
                    work.dividends[i] = zero * work.active_stake[i];
                }
            } else {
                for j in 0..n {
                    inverse[j] = if sums[j] == zero { zero } else { one / sums[j] };
                }
                for i in 0..n {
                    let mut total = zero;
                    if i < rows {
                        let ema = &ema[i * n..][..n];
                        for j in 0..n {
                            let bond = ema[j];
                            let normalized = if sums[j] != zero && is_present(bond) {
                                ar.div_by_inverse(bond, sums[j], inverse[j])
                            } else {
                                bond
                            };
                            total += ar.mul(normalized, incentive[j]);
                        }
                    }
                    work.dividends[i] = ar.mul(total, work.active_stake[i]);
                }
            }
            normalize(ar, &mut work.dividends);
        }
    }

    // Storage: rows with a new permit take the new bonds, rows losing a permit are cleared.
    for i in 0..rows {
        let row = i * n..(i + 1) * n;
        if work.new_permits[i] != 0 {
            if ar.fixed() {
                for k in row {
                    bonds[k] = R::of(ar.to_u16(ema[k]) / 65_535.0);
                }
            } else {
                bonds[row.clone()].copy_from_slice(&ema[row]);
            }
        } else if permits[i] != 0 {
            bonds[row].fill(zero);
        }
    }
    permits.copy_from_slice(&work.new_permits);
}

/// The zero-incentive fallback and dividend split of `distribute_emission` (chain.md §3.5 steps
/// 1, 2, 4 with TaoWeight 0: no root dividends, no childkeys, no take).
///
/// The epoch ran on `pending_server + pending_validator`, giving `server_emission` and
/// `validator_emission` per uid. Miners receive `server_emission`; validators share
/// `pending_validator` (plus `pending_server` when the epoch paid no incentive) pro rata to
/// `validator_emission`.
pub fn distribute_epoch_alpha<R: Real>(
    server_emission: &[R],
    validator_emission: &[R],
    pending_server: R,
    pending_validator: R,
    incentive_out: &mut [R],
    dividend_out: &mut [R],
) {
    let mut incentive_total = R::zero();
    let mut dividend_total = R::zero();
    for i in 0..server_emission.len() {
        incentive_total += server_emission[i];
        dividend_total += validator_emission[i];
    }
    let validator_alpha = if incentive_total == R::zero() {
        pending_validator + pending_server
    } else {
        pending_validator
    };
    for i in 0..server_emission.len() {
        incentive_out[i] = server_emission[i];
        dividend_out[i] = validator_alpha * safe_div(validator_emission[i], dividend_total);
    }
}

/// One subnet's Yuma state and workspace, allocated once (tests, CLI, scenario replay).
#[derive(Clone, Debug)]
pub struct YumaSubnet<R: Real> {
    /// The subnet's parameters.
    pub params: YumaParams,
    /// Stored bonds, `n_rows × n` row-major (see [`run_epoch`]).
    pub bonds: Vec<R>,
    /// Validator permits from the last epoch (1/0); all 0 before the first epoch.
    pub permits: Vec<u32>,
    /// Work arrays and the last epoch's outputs.
    pub work: YumaWorkspace<R>,
}

impl<R: Real> YumaSubnet<R> {
    /// A fresh subnet: no bonds, no permits.
    pub fn new(params: YumaParams, n: usize, n_rows: usize) -> Self {
        Self {
            params,
            bonds: vec![R::zero(); n_rows * n],
            permits: vec![0; n],
            work: YumaWorkspace::new(n, n_rows),
        }
    }

    /// Runs one epoch on `stake[n]` and `weights[n_rows × n]`; outputs are in `self.work`.
    pub fn epoch(&mut self, stake: &[R], weights: &[R]) {
        run_epoch(&self.params, stake, weights, &mut self.bonds, &mut self.permits, &mut self.work);
    }

    /// The stored bond of row `i` on uid `j` in u16 units (`bond × 65535`, rounded).
    pub fn bond_u16(&self, i: usize, j: usize) -> u16 {
        (self.bonds[i * self.work.n + j].f64() * 65_535.0).round() as u16
    }
}

/// Splits validator dividends into alpha and root parts by each validator's stake mix
/// (chain.md §3.5 step 4, `calculate_dividend_distribution`).
///
/// Validator `h` with alpha stake `a_h` and root stake `r_h` has root fraction
/// `τw·r_h / (a_h + τw·r_h)`; its dividend `d_h` splits into `d_h·root_frac` (root) and the rest
/// (alpha). Each part is then scaled so the alpha parts share `pending_validator` and the root
/// parts share `pending_root` pro rata: `alpha_out[h] = pending_validator·alphadiv_h/Σalphadiv`,
/// `root_out[h] = pending_root·rootdiv_h/Σrootdiv`. Two passes, no scratch (the root fraction is
/// recomputed rather than stored, as a shader would).
#[expect(clippy::too_many_arguments, reason = "one slice per chain input, in the chain's order")]
pub fn dividend_distribution<R: Real>(
    pending_validator: R,
    pending_root: R,
    tao_weight: f64,
    alpha_stake: &[R],
    root_stake: &[R],
    dividends: &[R],
    alpha_out: &mut [R],
    root_out: &mut [R],
) {
    let tw = R::of(tao_weight);
    let root_fraction =
        |h: usize| safe_div(tw * root_stake[h], alpha_stake[h] + tw * root_stake[h]);
    let (mut alpha_sum, mut root_sum) = (R::zero(), R::zero());
    for h in 0..dividends.len() {
        let root_div = dividends[h] * root_fraction(h);
        root_sum += root_div;
        alpha_sum += dividends[h] - root_div;
    }
    for h in 0..dividends.len() {
        let root_div = dividends[h] * root_fraction(h);
        alpha_out[h] = pending_validator * safe_div(dividends[h] - root_div, alpha_sum);
        root_out[h] = pending_root * safe_div(root_div, root_sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consensus over few and many staked rows, against the definition of chain.md §5.3 evaluated by sorting: with
    /// distinct scores, the median is the first score, ascending, whose inclusive cumulative
    /// stake exceeds `minority = s_sum − κ`.
    /// [`weighted_median_col`] with fresh scratch: the consensus of each column and the
    /// renormalised stakes it used.
    fn column_consensus<R: Real>(
        stake: &[R],
        weights: &[R],
        cols: usize,
        kappa: R,
    ) -> (Vec<R>, Vec<R>) {
        let rows = stake.len();
        let (mut use_stake, mut partition) = (vec![R::zero(); rows], vec![0_u32; rows]);
        let mut median = vec![R::zero(); cols];
        weighted_median_col(
            stake,
            weights,
            cols,
            kappa,
            &mut use_stake,
            &mut partition,
            &mut median,
        );
        (median, use_stake)
    }

    #[test]
    fn column_consensus_matches_the_sorted_definition_for_few_and_many_rows() {
        let rng = crate::rng::PathRng::new(42, 0, 0);
        for rows in [7_usize, 64, 65, 150] {
            let cols = 5;
            let draw = |k: usize| {
                crate::rng::uniform_open::<f64>(rng.block(rows as u32, (k / 4) as u32, 9)[k % 4])
            };
            let stake: Vec<f64> = (0..rows).map(|i| 0.1 + draw(i)).collect();
            let weights: Vec<f64> = (0..rows * cols).map(|k| draw(1_000 + k)).collect();
            let kappa = 0.5;
            let (median, _) = column_consensus(&stake, &weights, cols, kappa);
            let total: f64 = stake.iter().sum();
            for j in 0..cols {
                let mut column: Vec<(f64, f64)> =
                    (0..rows).map(|i| (weights[i * cols + j], stake[i] / total)).collect();
                column.sort_by(|a, b| a.0.total_cmp(&b.0));
                let s_sum: f64 = column.iter().map(|c| c.1).sum();
                let minority = s_sum - kappa;
                let mut cumulative = 0.0;
                let expected = column
                    .iter()
                    .find(|c| {
                        cumulative += c.1;
                        cumulative > minority
                    })
                    .map_or(0.0, |c| c.0);
                assert_eq!(median[j], expected, "{rows} rows, column {j}");
            }
        }
    }

    /// The epoch's column consensus (gathered, first pass fused) against the chain-named
    /// `weighted_median` per column, bit for bit: unstaked rows, staked rows beyond the weight
    /// matrix (score 0), tied and absent scores.
    #[test]
    fn column_consensus_matches_weighted_median_per_column() {
        // Staked rows (every fifth unstaked): 1, 2, 3, 3 (one weighted), 5 (two weighted), 6, 8,
        // 8, 9, 32, 56: the lane form (2-8 staked) and the compact one; scores on a grid of
        // quarters (ties) or continuous, some absent or `−0`; `f64` and `f32`.
        for (rows, weight_rows) in [
            (1, 1),
            (2, 1),
            (3, 3),
            (3, 1),
            (6, 2),
            (7, 4),
            (9, 9),
            (10, 10),
            (11, 11),
            (40, 8),
            (70, 67),
        ] {
            for quarters in [true, false] {
                column_consensus_case::<f64>(rows, weight_rows, quarters);
                column_consensus_case::<f32>(rows, weight_rows, quarters);
            }
        }
    }

    fn column_consensus_case<R: Real>(rows: usize, weight_rows: usize, quarters: bool) {
        let rng = crate::rng::PathRng::new(43, 0, 0);
        let cols = 6;
        let draw = |k: usize| {
            crate::rng::uniform_open::<f64>(rng.block(rows as u32, (k / 4) as u32, 3)[k % 4])
        };
        let stake: Vec<R> =
            (0..rows).map(|i| R::of(if i % 5 == 3 { 0.0 } else { 0.1 + draw(i) })).collect();
        let weights: Vec<R> = (0..weight_rows * cols)
            .map(|k| {
                let u = draw(1_000 + k);
                R::of(if u < 0.1 {
                    ABSENT
                } else if u < 0.15 {
                    -0.0
                } else if quarters {
                    (u * 4.0).floor() / 4.0
                } else {
                    u
                })
            })
            .collect();
        let kappa = R::of(0.5);
        let (median, use_stake) = column_consensus(&stake, &weights, cols, kappa);
        let s_sum = use_stake.iter().fold(R::zero(), |a, &b| a + b);
        let mut staked: Vec<u32> =
            (0..rows as u32).filter(|&i| stake[i as usize] > R::zero()).collect();
        for j in 0..cols {
            let score: Vec<R> =
                (0..rows)
                    .map(|i| {
                        if i < weight_rows {
                            present_value(weights[i * cols + j])
                        } else {
                            R::zero()
                        }
                    })
                    .collect();
            let expected =
                weighted_median(&use_stake, &score, &mut staked, s_sum - kappa, R::zero(), s_sum);
            assert_eq!(
                median[j].f64().to_bits(),
                expected.f64().to_bits(),
                "{rows} rows, column {j}, quarters {quarters}"
            );
        }
    }

    /// Every entry of the side-sum table is the side sum a partition pass makes over that lane
    /// set (`+0`, then each member's stake in lane order), bit for bit, for 1-8 lanes; stakes of
    /// very different sizes make the order visible in the last bits.
    #[test]
    fn side_stake_table_is_the_side_sum_in_lane_order() {
        let rng = crate::rng::PathRng::new(44, 0, 0);
        for lanes in 1..=LANES {
            let stake: Vec<f64> = (0..lanes)
                .map(|k| {
                    let u = crate::rng::uniform_open::<f64>(rng.block(lanes as u32, 0, 5)[k % 4]);
                    u * 10f64.powi(k as i32 % 5 - 2) / 3.0
                })
                .collect();
            let mut table = [f64::NAN; 1 << LANES];
            side_stake_table(&stake, &mut table);
            for m in 0..1_usize << lanes {
                let mut sum = 0.0;
                for (k, &w) in stake.iter().enumerate() {
                    sum += if m >> k & 1 == 1 { w } else { 0.0 };
                }
                assert_eq!(table[m].to_bits(), sum.to_bits(), "{lanes} lanes, set {m:#b}");
            }
            assert!(table[1 << lanes..].iter().all(|t| t.is_nan()), "only 2^lanes entries set");
        }
    }

    /// [`weighted_median_by_rank`], where it answers, is the partition's result bit for bit
    /// ([`weighted_median_lanes`] on the same lanes), on 2-8 lanes of continuous, tied (quarters)
    /// and zero scores with random, equal and Zipf stakes, and `minority` anywhere: random, on a
    /// stake boundary (a sum of the lowest-scoring lanes' stakes), a few ulps from one (where the
    /// rounded sums of the two forms can disagree) or up to 1,024 ulps from one (either side of
    /// the margin). Both outcomes must occur often.
    fn rank_consensus_case<R: Real>(answered: &mut usize, declined: &mut usize) {
        let rng = crate::rng::PathRng::new(46, 0, 0);
        let draw = |case: usize, k: usize| {
            crate::rng::uniform_open::<f64>(rng.block(case as u32, (k / 4) as u32, 7)[k % 4])
        };
        // `x` moved by about `ulps` units in the last place of `R`.
        let nudge = |x: f64, ulps: f64| R::of(x + ulps * R::EPS * x.abs() / 2.0);
        for case in 0..6_000 {
            let lanes = 2 + case % (LANES - 1);
            let raw: Vec<f64> = (0..lanes)
                .map(|k| match case / 7 % 3 {
                    0 => 0.05 + draw(case, k),
                    1 => 1.0,
                    _ => 1.0 / (k + 1) as f64,
                })
                .collect();
            let raw_sum: f64 = raw.iter().sum();
            let mut stake = [R::zero(); LANES];
            for k in 0..lanes {
                stake[k] = R::of(raw[k]) / R::of(raw_sum);
            }
            let stake_sum = stake.iter().fold(R::zero(), |a, &b| a + b);
            let mut score = [R::zero(); LANES];
            for k in 0..lanes {
                let u = draw(case, 8 + k);
                score[k] = R::of(match case / 21 % 3 {
                    0 => u,
                    1 => (u * 4.0).floor() / 4.0,
                    _ => {
                        if u < 0.3 {
                            0.0
                        } else {
                            u
                        }
                    }
                });
            }
            // A boundary: the stake of the lanes scoring below a random lane's score.
            let pivot = score[(draw(case, 20) * lanes as f64) as usize % lanes];
            let boundary: f64 =
                (0..lanes).filter(|&k| score[k] < pivot).map(|k| stake[k].f64()).sum();
            let minority = match case / 63 % 4 {
                0 => R::of(draw(case, 21) * stake_sum.f64()),
                1 => R::of(boundary),
                2 => nudge(boundary, (draw(case, 22) * 16.0).floor() - 8.0),
                _ => nudge(boundary, (draw(case, 22) * 2_048.0).floor() - 1_024.0),
            };
            let mut table = [R::zero(); 1 << LANES];
            side_stake_table(&stake[..lanes], &mut table);
            let mut key = [0; LANES];
            for k in 0..lanes {
                key[k] = score_key(score[k]);
            }
            let partition = weighted_median_lanes(
                &score[..lanes],
                &key,
                &stake[..lanes],
                &table,
                (1 << lanes) - 1,
                minority,
                R::zero(),
                stake_sum,
            );
            let column = score.map(|s| [s]);
            let (margin, near_all) = rank_margin(minority, stake_sum);
            match weighted_median_by_rank(&column, &stake, minority, margin, near_all) {
                ([median], [true]) => {
                    assert_eq!(
                        median.f64().to_bits(),
                        partition.f64().to_bits(),
                        "case {case}: {lanes} lanes, minority {minority:?}"
                    );
                    *answered += 1;
                }
                _ => *declined += 1,
            }
        }
    }

    #[test]
    fn rank_consensus_is_the_partition_where_it_answers() {
        for f32_lanes in [false, true] {
            let (mut answered, mut declined) = (0, 0);
            if f32_lanes {
                rank_consensus_case::<f32>(&mut answered, &mut declined);
            } else {
                rank_consensus_case::<f64>(&mut answered, &mut declined);
            }
            assert!(
                answered > 1_000 && declined > 1_000,
                "{answered} answered, {declined} declined"
            );
        }
    }

    /// The column blocks give the same medians, bit for bit, and leave the same columns to the
    /// partition at every SIMD level this CPU runs, and in the AVX-512 intrinsics form
    /// (`simd::ConsensusBlocks`) as in the generic kernel: 2-8 staked rows of which some may score
    /// 0 without a weight row, row lengths that are and are not multiples of the block, absent,
    /// zero, tied (quarters) and continuous scores, random and equal stakes, κ random or on a
    /// stake boundary. Both outcomes (decided, undecided) must occur often.
    #[test]
    fn consensus_blocks_agree_at_every_level_and_in_avx512() {
        use crate::simd::{ConsensusBlocks, SimdLevel, run_at};
        let rng = crate::rng::PathRng::new(47, 0, 0);
        let draw = |case: usize, k: usize| {
            crate::rng::uniform_open::<f64>(rng.block(case as u32, (k / 4) as u32, 9)[k % 4])
        };
        let levels: Vec<SimdLevel> =
            SimdLevel::ALL.into_iter().filter(|level| level.is_available()).collect();
        let wide = SimdLevel::detected() >= SimdLevel::Avx512;
        let (mut decided, mut undecided) = (0, 0);
        for case in 0..2_000 {
            let staked = 2 + case % (LANES - 1);
            let weighted = if case / 7 % 3 == 0 { staked - staked / 3 } else { staked };
            let cols = [40, 13, 8, 37][case / 21 % 4];
            let weights: Vec<f64> = (0..weighted * cols)
                .map(|e| {
                    let u = draw(case, 16 + e);
                    match case / 84 % 4 {
                        _ if e % cols < 3 => ABSENT,
                        0 => u,
                        1 => (u * 4.0).floor() / 4.0,
                        2 if u < 0.3 => 0.0,
                        _ => u,
                    }
                })
                .collect();
            let mut stake = [0.0; LANES];
            for k in 0..staked {
                stake[k] = if case % 5 == 0 { 1.0 } else { 0.05 + draw(case, k) };
            }
            let raw: f64 = stake.iter().sum();
            stake.iter_mut().for_each(|w| *w /= raw);
            let stake_sum = stake.iter().fold(0.0, |a, &b| a + b);
            let kappa =
                if case % 3 == 0 { stake[..staked / 2].iter().sum() } else { draw(case, 9) };
            let minority = stake_sum - kappa;
            let rows: Vec<u32> = (0..weighted as u32).collect();
            let run = |level: Option<SimdLevel>| {
                let (mut median, mut columns) = (vec![0.0; cols], vec![0; cols]);
                let (margin, near_all) = rank_margin(minority, stake_sum);
                let mut blocks = ConsensusBlocks {
                    weights: &weights,
                    cols,
                    rows: &rows,
                    staked,
                    stake,
                    minority,
                    margin,
                    near_all,
                    median: &mut median,
                    undecided: &mut columns,
                };
                let count = match level {
                    Some(level) => run_at(level, blocks),
                    None => blocks.run_avx512().expect("the CPU runs AVX-512"),
                };
                columns.truncate(count);
                let decided: Vec<(usize, u64)> = (0..cols)
                    .filter(|j| !columns.contains(&(*j as u32)))
                    .map(|j| (j, median[j].to_bits()))
                    .collect();
                (decided, columns)
            };
            let generic = run(Some(SimdLevel::Baseline));
            for &level in &levels {
                assert_eq!(run(Some(level)), generic, "case {case}, level {level}");
            }
            if wide {
                assert_eq!(run(None), generic, "case {case}, AVX-512 intrinsics");
            }
            decided += generic.0.len();
            undecided += generic.1.len();
        }
        assert!(decided > 10_000 && undecided > 1_000, "{decided} decided, {undecided} undecided");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert!(wide, "AVX-512F detected but not the avx512 level");
        }
    }

    /// `staked_prefix` keeps every entry that can change a sum from +0: normalising over the
    /// prefix gives the bits of normalising over all, on vectors with trailing +0s, a trailing
    /// −0 (kept), values whose partial sums cancel to zero, all zeros, and none.
    #[test]
    fn staked_prefix_sums_equal_the_whole_sums() {
        let cases: Vec<Vec<f64>> = vec![
            vec![0.3, 0.2, 0.0, 0.0, 0.0],
            vec![0.3, 0.2, 0.0, -0.0, 0.0],
            vec![1.0, -1.0, 0.0, 0.0],
            vec![-0.0, 0.0],
            vec![0.0; 6],
            vec![],
            vec![1e-300, 5.0, 0.0, 7.0, 0.0],
            (0..40).map(|k| if k < 8 { 0.1 * (k + 1) as f64 } else { 0.0 }).collect(),
        ];
        for x in cases {
            let prefix = staked_prefix(&x);
            assert!(x[prefix..].iter().all(|v| v.to_bits() == 0), "{x:?}: prefix {prefix}");
            let mut whole = x.clone();
            let mut by_prefix = x.clone();
            normalize(Arith::<false>, &mut whole);
            normalize_prefix(Arith::<false>, &mut by_prefix, prefix);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&by_prefix), bits(&whole), "{x:?}");
        }
        assert_eq!(staked_prefix(&[0.5, -0.0]), 2);
        // Every length past two groups, with the last staked entry (a value, −0 or NaN) at every
        // place, in front of +0s: the group scan against the entry-by-entry definition.
        for len in 0..2 * PREFIX_GROUP + 5 {
            for last in 0..=len {
                for staked in [0.25, -0.0, f64::NAN] {
                    let mut x = vec![0.0_f64; len];
                    if last > 0 {
                        x[last - 1] = staked;
                        x[0] = if last > 1 { 1.0 } else { staked };
                    }
                    assert_eq!(staked_prefix(&x), last, "length {len}, last staked {last}");
                }
            }
        }
        assert_eq!(staked_prefix(&[0.0, 0.0]), 0);
    }

    /// The epoch's lane kernels (`ClipRows`, `ScaleRows`, `BondEma`, `DividendTerms`) at every
    /// SIMD level give, bit for bit, what the per-entry formulas give in plain loops (written
    /// out here): rows of 1-9 (at most the length), lengths below, at and around multiples of
    /// eight (so chunks and remainders both run), entries absent, zero, tied with the consensus
    /// and continuous, rows without a permit or without weight.
    #[test]
    fn epoch_lane_kernels_match_the_per_entry_formulas_at_every_level() {
        use crate::simd::{SimdLevel, run_lanes_at};
        let rng = crate::rng::PathRng::new(53, 0, 0);
        let draw = |case: usize, k: usize| {
            crate::rng::uniform_open::<f64>(rng.block(case as u32, (k / 4) as u32, 11)[k % 4])
        };
        let levels: Vec<SimdLevel> =
            SimdLevel::ALL.into_iter().filter(|level| level.is_available()).collect();
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let (mut clipped_entries, mut absent_rows) = (0, 0);
        for case in 0..300 {
            // At most one row per column: a row's diagonal is one of its columns.
            let n = [40, 1, 7, 8, 9, 16, 41, 13][case / 9 % 8];
            let rows = (1 + case % 9).min(n);
            let entry = |k: usize| {
                let u = draw(case, k);
                match (k * 7 + case) % 6 {
                    0 => ABSENT,
                    1 => 0.0,
                    _ => u,
                }
            };
            let weights: Vec<f64> = (0..rows * n).map(entry).collect();
            let consensus: Vec<f64> = (0..n)
                .map(|j| match j % 4 {
                    0 => 0.0,
                    1 => weights[j],
                    _ => draw(case, 5_000 + j),
                })
                .collect();
            let stake: Vec<f64> = (0..rows).map(|i| draw(case, 7_000 + i)).collect();
            let bonds: Vec<f64> = (0..rows * n).map(|k| draw(case, 9_000 + k)).collect();
            let permits: Vec<u32> = (0..rows).map(|i| u32::from((i + case) % 4 != 0)).collect();
            let off_diagonal: Vec<f64> =
                (0..rows).map(|i| if (i + case) % 5 == 0 { 0.0 } else { 1.0 }).collect();
            let row_sum: Vec<f64> = (0..rows).map(|i| 0.5 + draw(case, 11_000 + i)).collect();
            let (rate, keep) = (0.1, 0.9);
            // Column inverses as the dividends form them: 1 for a zero-sum column.
            let inverse: Vec<f64> = (0..n)
                .map(|j| if j % 3 == 0 { 1.0 } else { 1.0 / (0.25 + draw(case, 13_000 + j)) })
                .collect();

            // The per-entry formulas.
            let mut clip_ref = vec![0.0; rows * n];
            let mut incentive_ref = vec![0.0; n];
            let mut scaled_ref = vec![0.0; rows * n];
            let mut ema_ref = vec![0.0; rows * n];
            let mut sums_ref = vec![0.0; n];
            let mut terms_ref = vec![0.0; rows * n];
            for i in 0..rows {
                let present_row = permits[i] != 0 && off_diagonal[i] > 0.0;
                absent_rows += usize::from(!present_row);
                for j in 0..n {
                    let (k, w, c) = (i * n + j, weights[i * n + j], consensus[j]);
                    let wc = if w >= 0.0 && c < w { if c > 0.0 { c } else { ABSENT } } else { w };
                    clipped_entries += usize::from(wc != w);
                    clip_ref[k] = wc;
                    incentive_ref[j] += stake[i] * wc.max(0.0);
                    scaled_ref[k] = if !present_row || j == i {
                        ABSENT
                    } else if w >= 0.0 {
                        w * (1.0 / row_sum[i])
                    } else {
                        w
                    };
                    ema_ref[k] = rate * w.max(0.0) + keep * bonds[k];
                    sums_ref[j] += ema_ref[k].max(0.0);
                }
            }
            // The dividends' terms, of the weights read as bonds (absent, zero or not).
            for (k, term) in terms_ref.iter_mut().enumerate() {
                let (w, j) = (weights[k], k % n);
                let bond = if w >= 0.0 { w * inverse[j] } else { w };
                *term = bond * incentive_ref[j];
            }

            for &level in &levels {
                let tag = format!("case {case} ({rows} × {n}), {level}");
                let (mut clipped, mut incentive) = (vec![7.0; rows * n], vec![7.0; n]);
                run_lanes_at(
                    level,
                    ClipRows {
                        weights: &weights,
                        consensus: &consensus,
                        stake: &stake,
                        clipped: &mut clipped,
                        incentive: &mut incentive,
                    },
                );
                assert_eq!(bits(&clipped), bits(&clip_ref), "{tag}: clipped");
                assert_eq!(bits(&incentive), bits(&incentive_ref), "{tag}: incentive");

                let mut scaled = vec![7.0; rows * n];
                run_lanes_at(
                    level,
                    ScaleRows {
                        raw: &weights,
                        permits: &permits,
                        off_diagonal: &off_diagonal,
                        row_sum: &row_sum,
                        out: &mut scaled,
                    },
                );
                assert_eq!(bits(&scaled), bits(&scaled_ref), "{tag}: scaled");

                let (mut ema, mut sums) = (vec![7.0; rows * n], vec![0.0; n]);
                run_lanes_at(
                    level,
                    BondEma {
                        bonds: &bonds,
                        bonds_input: &weights,
                        ema: &mut ema,
                        sums: &mut sums,
                        rate,
                        keep,
                    },
                );
                assert_eq!(bits(&ema), bits(&ema_ref), "{tag}: ema");
                assert_eq!(bits(&sums), bits(&sums_ref), "{tag}: sums");

                let mut terms = vec![7.0; rows * n];
                run_lanes_at(
                    level,
                    DividendTerms {
                        ema: &weights,
                        inverse: &inverse,
                        incentive: &incentive_ref,
                        terms: &mut terms,
                    },
                );
                assert_eq!(bits(&terms), bits(&terms_ref), "{tag}: dividend terms");
            }
        }
        assert!(clipped_entries > 1_000 && absent_rows > 100, "{clipped_entries} {absent_rows}");
    }

    /// The lane form (2-8 staked rows) against the chain-named `weighted_median` on adversarial
    /// columns: all equal, all zero or absent, one nonzero, two values tied in halves, distinct
    /// values ascending and descending, and equal stakes (tied side sums at the boundary).
    #[test]
    fn lane_consensus_matches_weighted_median_on_adversarial_columns() {
        for rows in 2..=LANES {
            let columns: Vec<Vec<f64>> = vec![
                vec![0.25; rows],
                vec![0.0; rows],
                (0..rows).map(|i| if i % 2 == 0 { ABSENT } else { -0.0 }).collect(),
                (0..rows).map(|i| if i == rows / 2 { 0.5 } else { 0.0 }).collect(),
                (0..rows).map(|i| if i < rows / 2 { 0.125 } else { 0.75 }).collect(),
                (0..rows).map(|i| if i % 2 == 0 { 0.75 } else { 0.125 }).collect(),
                (0..rows).map(|i| i as f64 / 8.0).collect(),
                (0..rows).map(|i| (rows - i) as f64 / 8.0).collect(),
            ];
            let cols = columns.len();
            let weights: Vec<f64> = (0..rows * cols).map(|k| columns[k % cols][k / cols]).collect();
            for stake in [vec![1.0; rows], (0..rows).map(|i| 1.0 + i as f64).collect()] {
                for kappa in [0.5, 0.49999237048905165, 0.25, 0.75] {
                    let (median, use_stake) = column_consensus(&stake, &weights, cols, kappa);
                    let s_sum = use_stake.iter().fold(0.0, |a, &b| a + b);
                    for (j, column) in columns.iter().enumerate() {
                        let score: Vec<f64> = column.iter().map(|&w| present_value(w)).collect();
                        let mut staked: Vec<u32> = (0..rows as u32).collect();
                        let expected = weighted_median(
                            &use_stake,
                            &score,
                            &mut staked,
                            s_sum - kappa,
                            0.0,
                            s_sum,
                        );
                        assert_eq!(
                            median[j].to_bits(),
                            expected.to_bits(),
                            "{rows} rows, column {j}, stake {stake:?}, kappa {kappa}"
                        );
                    }
                }
            }
        }
    }

    /// Entries for the row-sum tests: magnitudes spread over 20 decades (so a changed order of
    /// additions shows in the last bits), zeros of both signs, and absent (negative) entries.
    fn row_sum_matrix(rows: usize, cols: usize, seed: u32) -> Vec<f64> {
        let rng = crate::rng::PathRng::new(45, 0, 0);
        (0..rows * cols)
            .map(|k| {
                let u = crate::rng::uniform_open::<f64>(rng.block(seed, (k / 4) as u32, 6)[k % 4]);
                match (u * 100.0) as u32 {
                    0..=7 => 0.0,
                    8..=14 => -0.0,
                    15..=21 => ABSENT,
                    _ => u * 10f64.powi((k * 7 % 21) as i32 - 10),
                }
            })
            .collect()
    }

    /// [`row_sums`] against one plain loop per row in column order, bit for bit: row counts
    /// below, at and around multiples of [`SUM_ROWS`], a term that reads the column.
    #[test]
    fn row_sums_are_plain_row_loops() {
        for rows in 0..=13 {
            for cols in [1, 3, 8, 40] {
                let m = row_sum_matrix(rows, cols, (rows * 64 + cols) as u32);
                let term = |x: f64, j: usize| present_value(x) * (1.0 + j as f64 / 7.0);
                let mut sums = vec![f64::NAN; rows];
                row_sums(&m, cols, &mut sums, term);
                for i in 0..rows {
                    let mut plain = 0.0;
                    for j in 0..cols {
                        plain += term(m[i * cols + j], j);
                    }
                    assert_eq!(sums[i].to_bits(), plain.to_bits(), "{rows}x{cols}, row {i}");
                }
            }
        }
    }

    /// [`weight_row_sums`] against the plain loops around each row's diagonal, bit for bit, for
    /// 1-13 rows of up to 40 columns (square and wide; groups of [`SUM_ROWS`] and leftovers),
    /// with zeros of both signs and absent entries on and off the diagonal.
    #[test]
    fn weight_row_sums_are_plain_loops_around_the_diagonal() {
        for rows in 1..=13 {
            for cols in [rows, rows + 1, rows + 5, 40.max(rows)] {
                let m = row_sum_matrix(rows, cols, (1_000 + rows * 64 + cols) as u32);
                let (mut off, mut present) = (vec![f64::NAN; rows], vec![f64::NAN; rows]);
                weight_row_sums(&m, cols, &mut off, &mut present);
                for i in 0..rows {
                    let (mut plain_off, mut plain_present) = (0.0, 0.0);
                    for j in (0..cols).filter(|&j| j != i) {
                        plain_off += m[i * cols + j];
                        plain_present += present_value(m[i * cols + j]);
                    }
                    let at = format!("{rows}x{cols}, row {i}");
                    assert_eq!(off[i].to_bits(), plain_off.to_bits(), "off-diagonal, {at}");
                    assert_eq!(present[i].to_bits(), plain_present.to_bits(), "present, {at}");
                }
            }
        }
    }

    #[test]
    fn fixed_arith_truncates_like_i32f32() {
        let ar = Arith::<true>;
        // 1/10 in I32F32 is floor(2^32/10)/2^32 = 429496729/2^32.
        let tenth: f64 = ar.div(1.0, 10.0);
        assert_eq!(tenth, 429_496_729.0 / I32F32_ONE);
        // 0.1 · 1e9 with the I32F32 tenth truncates to 99,999,999 rao (subtensor test_10_graph).
        assert_eq!((tenth * 1.0e9).floor(), 99_999_999.0);
        // A product floors onto the grid.
        let third: f64 = ar.div(1.0, 3.0);
        let p: f64 = ar.mul(third, 3.0);
        assert!(p < 1.0 && 1.0 - p <= 3.0 / I32F32_ONE);
        assert_eq!(ar.to_u16(1.0_f64), 65_535.0);
        assert_eq!(ar.to_u16(0.25_f64), 16_383.0);
    }

    #[test]
    fn topk_ties_lower_uids_lose() {
        let mut permit = [0; 4];
        is_topk_nonzero(&[0.5_f64, 0.5, 0.5, 0.0], 2, &mut permit);
        assert_eq!(permit, [0, 1, 1, 0]);
        is_topk_nonzero(&[0.5_f64, 0.5, 0.0], 8, &mut permit[..3]);
        assert_eq!(permit[..3], [1, 1, 0]);
    }

    /// The shader's form: every uid ranked against every other.
    fn topk_by_full_ranks(stake: &[f64], k: usize) -> Vec<u32> {
        let n = stake.len();
        (0..n)
            .map(|i| {
                let rank = (0..n)
                    .filter(|&j| stake[j] < stake[i] || (stake[j] == stake[i] && j < i))
                    .count();
                u32::from(stake[i] != 0.0 && !(n >= k && rank < n - k))
            })
            .collect()
    }

    #[test]
    fn topk_shortcuts_match_the_full_rank_definition() {
        let rng = crate::rng::PathRng::new(7, 0, 0);
        // Few distinct values so ties are common; a zero, a negative and a NaN class.
        let values = [0.0, 0.0, -0.0, 0.25, 0.5, 0.5, 1.0, -0.5, f64::NAN, 3.0];
        for case in 0..4_000_u32 {
            let words = rng.block(case, 0, 0);
            let n = 1 + (words[0] % 12) as usize;
            let k = (words[1] % 14) as usize;
            let sparse = words[2].is_multiple_of(2);
            let stake: Vec<f64> = (0..n)
                .map(|i| {
                    let w = rng.block(case, 1 + i as u32, 0)[0];
                    let v = values[(w % values.len() as u32) as usize];
                    if sparse && !(w >> 8).is_multiple_of(3) { 0.0 } else { v }
                })
                .collect();
            let mut permit = vec![9; n];
            is_topk_nonzero(&stake, k, &mut permit);
            assert_eq!(permit, topk_by_full_ranks(&stake, k), "stake {stake:?}, k {k}");
        }
    }

    fn yuma3_liquid(beta: f64, storage: BondStorage) -> YumaParams {
        YumaParams {
            version: YumaVersion::Yuma3,
            kappa: 0.5,
            bonds_moving_average: 0.975,
            bonds_penalty: beta,
            max_validators: 3,
            liquid_alpha: LiquidAlpha {
                enabled: true,
                alpha_low: 0.1,
                alpha_high: 0.3,
                steepness: 1000.0,
            },
            bond_storage: storage,
        }
    }

    #[test]
    fn f32_float_mode_tracks_f64() {
        // kappa_moves_first-like schedule, 3 validators and 2 servers.
        let params = yuma3_liquid(0.0, BondStorage::Float);
        let stake = [8.0, 1.0, 1.0, 0.0, 0.0];
        let s1 = [0.0, 0.0, 0.0, 1.0, 0.0];
        let s2 = [0.0, 0.0, 0.0, 0.0, 1.0];
        let schedule = [[s1; 3], [s2, s1, s1], [s2, s2, s1], [s2; 3], [s2; 3]];
        let mut wide = YumaSubnet::<f64>::new(params, 5, 3);
        let mut narrow = YumaSubnet::<f32>::new(params, 5, 3);
        wide.epoch(&stake, &[0.0; 15]);
        narrow.epoch(&stake.map(|x| x as f32), &[0.0; 15]);
        for rows in schedule {
            let w: Vec<f64> = rows.concat();
            let w32: Vec<f32> = w.iter().map(|&x| x as f32).collect();
            wide.epoch(&stake, &w);
            narrow.epoch(&stake.map(|x| x as f32), &w32);
            for i in 0..5 {
                let d = (f64::from(narrow.work.dividends[i]) - wide.work.dividends[i]).abs();
                assert!(d < 1e-5, "uid {i}: f32 off by {d}");
            }
        }
    }

    #[test]
    fn liquid_alpha_drops_bonds_of_clipped_away_entries() {
        // Epoch 1: all validators weight server 3 and bond to it. Epoch 2: only the small
        // validator 2 keeps weighting server 3, whose consensus falls to 0; with β = 1 its
        // clipped entry is removed, so the sparse liquid-alpha EMA drops that bond (chain.md §5.4
        // sparse caveat) instead of decaying it. Validator 0, whose entry is an explicit 0, decays.
        for storage in [BondStorage::ChainU16, BondStorage::Float] {
            let mut subnet = YumaSubnet::<f64>::new(yuma3_liquid(1.0, storage), 5, 3);
            let stake = [8.0, 1.0, 1.0, 0.0, 0.0];
            subnet.epoch(&stake, &[0.0; 15]);
            let s3 = [0.0, 0.0, 0.0, 1.0, 0.0];
            let s4 = [0.0, 0.0, 0.0, 0.0, 1.0];
            subnet.epoch(&stake, &[s3, s3, s3].concat());
            let before = subnet.bonds[3];
            assert!(before > 0.1 && subnet.bonds[2 * 5 + 3] == before);
            subnet.epoch(&stake, &[s4, s4, s3].concat());
            assert_eq!(subnet.work.consensus[3], 0.0);
            assert_eq!(subnet.bonds[2 * 5 + 3], 0.0, "{storage:?}: clipped-away bond dropped");
            let decayed = subnet.bonds[3];
            assert!(decayed > 0.6 * before && decayed < before, "{storage:?}: {decayed}");
        }
    }
}
