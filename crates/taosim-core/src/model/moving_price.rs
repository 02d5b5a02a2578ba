//! # Moving (EMA) price with the b/(b+h) ramp (chain.md §2.2)
//!
//! Follows subtensor `pallets/subtensor/src/staking/stake_utils.rs::update_moving_price`, run once
//! per block after the coinbase for eligible subnets:
//!
//! ```text
//! b     = block − (FirstEmissionBlockNumber − 1)
//! α_eff = SubnetMovingAlpha · b / (b + h)          h = EMAPriceHalvingBlocks
//! P̄    ← α_eff·min(p, 1) + (1 − α_eff)·P̄
//! ```
//!
//! Over an engine step of n blocks with a constant spot price the update is exact in closed form:
//! `P̄_n = keep·P̄ + (1 − keep)·min(p, 1)` with `keep = Π_b (1 − α_eff(b))`.
//! [`moving_price_factors`] computes the product exactly (a loop over the n blocks, summing
//! `ln(1 − α_eff)` in f64); [`moving_price_factors_closed_form`] replaces the loop by the mean
//! α_eff (a digamma difference approximated by a logarithm) with an error bounded in the tests.
//! Either is computed in f64, so the f32 state does not see `1 − 3e-6` rounding.

use crate::Real;
use crate::model::shares::EmaFactors;
use crate::real::{SMALL_ARGUMENT, ln_1p, ln_1p_series};
use crate::simd::{self, Kernel};

/// `b = block − (first_emission_block − 1)`, saturating at 0 before the first emission block.
#[inline]
fn blocks_since_start(block: u64, first_emission_block: u64) -> f64 {
    (block + 1).saturating_sub(first_emission_block) as f64
}

/// `α_eff = moving_alpha · b/(b + h)` for the update run at `block` (0 when `b + h = 0`).
pub fn moving_alpha_eff(
    moving_alpha: f64,
    halving_blocks: f64,
    block: u64,
    first_emission_block: u64,
) -> f64 {
    let b = blocks_since_start(block, first_emission_block);
    let denominator = b + halving_blocks;
    if denominator > 0.0 { moving_alpha * b / denominator } else { 0.0 }
}

/// One block's moving-price update at `block`: `P̄ ← α_eff·min(p, 1) + (1 − α_eff)·P̄`.
pub fn moving_price_block<R: Real>(
    moving_price: R,
    spot_price: R,
    moving_alpha: f64,
    halving_blocks: f64,
    block: u64,
    first_emission_block: u64,
) -> R {
    let a = R::of(moving_alpha_eff(moving_alpha, halving_blocks, block, first_emission_block));
    a * spot_price.min(R::one()) + (R::one() - a) * moving_price
}

/// Exact factors of the n updates at blocks `first_block .. first_block + n`:
/// `keep = Π (1 − α_eff(b))`, from a sum of `ln(1 − α_eff)` in f64 (n terms).
pub fn moving_price_factors(
    moving_alpha: f64,
    halving_blocks: f64,
    first_block: u64,
    n: u32,
    first_emission_block: u64,
) -> EmaFactors {
    let mut log_keep = 0.0_f64;
    for j in 0..u64::from(n) {
        let a =
            moving_alpha_eff(moving_alpha, halving_blocks, first_block + j, first_emission_block);
        log_keep += ln_1p(-a);
    }
    EmaFactors::from_log_keep(log_keep)
}

/// Below this `b + h` at the step's first block the closed form falls back to the exact loop: the
/// midpoint rule for `Σ 1/(b + h)` is only accurate once `b + h` is large.
const CLOSED_FORM_MIN_OFFSET: f64 = 1_024.0;

/// Closed-form approximation of [`moving_price_factors`]: `ln keep ≈ n·ln(1 − ᾱ)` with the mean
/// `ᾱ = α·(1 − (h/n)·Σ_b 1/(b + h))` and, with `lo = b₀ − ½ + h`, `hi = lo + n`,
/// `Σ_{b=b₀}^{b₀+n−1} 1/(b + h) ≈ ln(hi/lo) − (1/lo² − 1/hi²)/24` (midpoint rule with its
/// Euler–Maclaurin correction).
///
/// Two errors, both bounded in the tests: replacing the mean of `ln(1 − α_b)` by `ln(1 − ᾱ)`
/// (at most `n·Δ²/(8(1−α)²)` with Δ the spread of α_eff over the step, `Δ ≤ α·h·n/(b₀+h)²`), and
/// the sum formula (at most `α·h/(100·lo⁴·(1−α))`, the next Euler–Maclaurin term). At the chain
/// defaults (α = 3e-6, h = 201,600, n = 361) both are below 1e-17 in `ln keep`, a relative error
/// below 1e-9 of the step's gain even right after the first emission block. Falls back to the
/// exact loop when `b₀ + h < 1024`.
pub fn moving_price_factors_closed_form(
    moving_alpha: f64,
    halving_blocks: f64,
    first_block: u64,
    n: u32,
    first_emission_block: u64,
) -> EmaFactors {
    if n == 0 {
        return EmaFactors::IDENTITY;
    }
    let b0 = blocks_since_start(first_block, first_emission_block);
    // Before the first emission block b saturates at 0, which the sum formula does not model.
    let starts_in_range = first_block + 1 >= first_emission_block;
    if halving_blocks <= 0.0 {
        if starts_in_range && b0 >= 1.0 {
            return EmaFactors::constant_alpha(moving_alpha, n);
        }
        return moving_price_factors(
            moving_alpha,
            halving_blocks,
            first_block,
            n,
            first_emission_block,
        );
    }
    if !starts_in_range || b0 + halving_blocks < CLOSED_FORM_MIN_OFFSET {
        return moving_price_factors(
            moving_alpha,
            halving_blocks,
            first_block,
            n,
            first_emission_block,
        );
    }
    let form = closed_form(moving_alpha, halving_blocks, b0, f64::from(n), u_minus_ln_1p, ln_1p);
    EmaFactors::from_log_keep(form.log_keep)
}

/// [`closed_form`]'s result and the two arguments whose ranges choose its series.
struct ClosedForm {
    /// `n/lo`, the argument of `u − ln(1 + u)`.
    u: f64,
    /// `ᾱ`, whose negative is the argument of `ln(1 + x)`.
    mean_alpha: f64,
    /// `n·ln(1 − ᾱ)`.
    log_keep: f64,
}

/// The closed form's `ln keep` once its range checks have passed, with its two small-argument
/// functions passed in: [`moving_price_factors_closed_form`] passes the general ones,
/// [`moving_price_factors_lanes`] their series, so both evaluate the same expression.
#[inline(always)]
fn closed_form(
    moving_alpha: f64,
    halving_blocks: f64,
    b0: f64,
    blocks: f64,
    u_minus_ln_1p: impl Fn(f64) -> f64,
    ln_1p: impl Fn(f64) -> f64,
) -> ClosedForm {
    let lo = b0 + halving_blocks - 0.5;
    // Σ b/(b+h) ≈ ∫ b/(b+h) db over [b₀−½, b₀+n−½] = n − h·ln(1 + u), u = n/lo, rewritten as
    // n(b₀−½)/lo + h·(u − ln(1+u)) so the early-ramp case (b₀ ≪ h) does not lose its digits to
    // cancellation.
    // The Euler–Maclaurin term `(h/24)(1/lo² − 1/hi²)` corrects the midpoint rule.
    // Two reciprocals serve every quotient (this runs for every subnet every step, and its
    // divisions were most of its time).
    let inverse_lo = 1.0 / lo;
    let inverse_hi = 1.0 / (lo + blocks);
    let u = blocks * inverse_lo;
    let midpoint_correction =
        halving_blocks * (1.0 / 24.0) * (inverse_lo * inverse_lo - inverse_hi * inverse_hi);
    let ramp_sum = (b0 - 0.5) * u + halving_blocks * u_minus_ln_1p(u) + midpoint_correction;
    let mean_alpha = moving_alpha * ramp_sum / blocks;
    ClosedForm { u, mean_alpha, log_keep: blocks * ln_1p(-mean_alpha) }
}

/// Subnets per call of [`moving_price_factors_lanes`]: half of a mainnet path's 128 slots. Groups
/// of 8 cost the stage twice as much, of 16 a quarter more, of 32 15% more, of 128 5% less
/// (docs/performance.md, session 22); past 64 a path with few slots computes more unused lanes.
pub const FACTOR_LANES: usize = 64;

/// [`moving_price_factors_closed_form`] for up to [`FACTOR_LANES`] subnets at once (the lanes
/// with `wanted` set), bit for bit.
///
/// The per-subnet form is a chain of dependent divisions and series, so one subnet at a time
/// waits on latency (9% of the light step's time). Here every lane is first evaluated with the
/// three small-argument series and no branch, which the compiler vectorises and overlaps; a lane
/// whose arguments fall outside the series' ranges (the exact-loop cases, or a fast EMA) is
/// then redone by the per-subnet form, so each lane returns what that form returns. Block
/// numbers are `u32` (the state's), exact in f64.
pub fn moving_price_factors_lanes(
    moving_alpha: f64,
    halving_blocks: f64,
    block: u32,
    n: u32,
    first_emission_blocks: &[u32; FACTOR_LANES],
    wanted: &[bool; FACTOR_LANES],
) -> [EmaFactors; FACTOR_LANES] {
    let (keep, gain, done) = if n > 0 && halving_blocks > 0.0 {
        simd::run(SeriesLanes { moving_alpha, halving_blocks, block, n, first_emission_blocks })
    } else {
        ([1.0; FACTOR_LANES], [0.0; FACTOR_LANES], [false; FACTOR_LANES])
    };
    core::array::from_fn(|k| {
        if done[k] || !wanted[k] {
            EmaFactors { keep: keep[k], gain: gain[k] }
        } else {
            moving_price_factors_closed_form(
                moving_alpha,
                halving_blocks,
                u64::from(block),
                n,
                u64::from(first_emission_blocks[k]),
            )
        }
    })
}

/// [`moving_price_factors_lanes`]'s series pass over every lane, a [`Kernel`] (the CPU's widest
/// vectors): each lane's `keep` and `gain`, and whether the series apply there.
struct SeriesLanes<'a> {
    moving_alpha: f64,
    halving_blocks: f64,
    block: u32,
    n: u32,
    first_emission_blocks: &'a [u32; FACTOR_LANES],
}

impl Kernel for SeriesLanes<'_> {
    type Output = ([f64; FACTOR_LANES], [f64; FACTOR_LANES], [bool; FACTOR_LANES]);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let SeriesLanes { moving_alpha, halving_blocks, block, n, first_emission_blocks } = self;
        let mut keep = [1.0; FACTOR_LANES];
        let mut gain = [0.0; FACTOR_LANES];
        let mut done = [false; FACTOR_LANES];
        let blocks = f64::from(n);
        for k in 0..FACTOR_LANES {
            // `block + 1 − first_emission_block` in f64 is exact, so its sign is the closed
            // form's `starts_in_range` and its positive part `blocks_since_start`.
            let since = f64::from(block) + 1.0 - f64::from(first_emission_blocks[k]);
            let b0 = since.max(0.0);
            let ClosedForm { u, mean_alpha, log_keep } = closed_form(
                moving_alpha,
                halving_blocks,
                b0,
                blocks,
                u_minus_ln_1p_series,
                ln_1p_series,
            );
            let factors = EmaFactors::from_small_log_keep(log_keep);
            keep[k] = factors.keep;
            gain[k] = factors.gain;
            // The branches the per-subnet form takes, all on the series' side.
            done[k] = since >= 0.0
                && b0 + halving_blocks >= CLOSED_FORM_MIN_OFFSET
                && u < U_SERIES_MAX
                && mean_alpha.abs() < SMALL_ARGUMENT
                && log_keep.abs() < SMALL_ARGUMENT;
        }
        (keep, gain, done)
    }
}

/// Below this `u` [`u_minus_ln_1p`] sums its series.
const U_SERIES_MAX: f64 = 1e-2;

/// `u − ln(1 + u)` for `u ≥ 0`, by its series where the direct form cancels.
fn u_minus_ln_1p(u: f64) -> f64 {
    if u >= U_SERIES_MAX { u - u.ln_1p() } else { u_minus_ln_1p_series(u) }
}

/// [`u_minus_ln_1p`]'s series, `u²/2 − u³/3 + … − u⁹/9` by Horner's rule (no division); the
/// first omitted term is below 1e-15 relative for `u < U_SERIES_MAX`.
#[inline(always)]
fn u_minus_ln_1p_series(u: f64) -> f64 {
    let c = |k: f64| 1.0 / k;
    let inner = c(6.0) + u * (-c(7.0) + u * (c(8.0) - u * c(9.0)));
    u * u * (c(2.0) + u * (-c(3.0) + u * (c(4.0) + u * (-c(5.0) + u * inner))))
}

/// The moving price after the n blocks `factors` describe, at a constant spot price:
/// `keep·P̄ + gain·min(p, 1)`.
#[inline]
pub fn moving_price_over_blocks<R: Real>(moving_price: R, spot_price: R, factors: EmaFactors) -> R {
    factors.apply(moving_price, spot_price.min(R::one()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALPHA: f64 = 3.0e-6;
    const H: f64 = 201_600.0;

    fn iterate(p0: f64, spot: f64, alpha: f64, h: f64, block: u64, n: u32, start: u64) -> f64 {
        let mut p = p0;
        for j in 0..u64::from(n) {
            p = moving_price_block(p, spot, alpha, h, block + j, start);
        }
        p
    }

    /// `ln keep` recovered from the accurate `gain` (`keep.ln()` would lose the digits of keep ≈ 1).
    fn log_keep(f: EmaFactors) -> f64 {
        if f.keep < 0.5 { f.keep.ln() } else { (-f.gain).ln_1p() }
    }

    #[test]
    fn exact_factors_match_iteration() {
        for &(p0, spot, alpha, h, block, n, start) in &[
            (0.0, 0.8, ALPHA, H, 100_000_u64, 361_u32, 50_000_u64),
            (0.3, 2.5, ALPHA, H, 5_000_000, 361, 1),
            (0.9, 0.1, 0.1, H, 201_600, 1, 1),
            (0.0, 1.0, 0.5, 1_000.0, 499, 7_200, 500),
            (0.2, 0.05, ALPHA, 0.0, 10, 361, 3),
        ] {
            let it = iterate(p0, spot, alpha, h, block, n, start);
            let f = moving_price_factors(alpha, h, block, n, start);
            let c = moving_price_over_blocks(p0, spot, f);
            let scale = p0.max(spot.min(1.0));
            assert!((c - it).abs() <= 1e-12 * scale, "{c} vs {it}");
        }
    }

    /// Every lane of `moving_price_factors_lanes` equals the per-subnet closed form bit for bit,
    /// on the series' side of every branch and off it (no ramp, a short ramp, a fast EMA, a long
    /// step, a subnet not yet emitting), with lanes mixed in one call.
    #[test]
    fn lanes_are_the_closed_form_bit_for_bit() {
        let mut cases = 0;
        for &alpha in &[ALPHA, 1e-3, 0.1, 0.9] {
            for &h in &[H, 2_000.0, 500.0, 0.0] {
                for &n in &[0_u32, 1, 361, 7_200] {
                    for &block in &[0_u32, 360, 1_000, 201_599, 5_000_000, u32::MAX - 1] {
                        // Eight situations, repeated over the lanes: lane 1 (mod 8) starts
                        // emitting 5 blocks after the step's first block, lane 5 is not wanted.
                        let starts: [u32; FACTOR_LANES] = core::array::from_fn(|k| {
                            let offsets = [0, 0, 2, 300, 700, 1_500, 150_000, 4_000_000];
                            if k % 8 == 1 {
                                block.saturating_add(5)
                            } else {
                                block.saturating_sub(offsets[k % 8])
                            }
                        });
                        let wanted = core::array::from_fn(|k| k % 8 != 5);
                        let lanes =
                            moving_price_factors_lanes(alpha, h, block, n, &starts, &wanted);
                        for k in 0..FACTOR_LANES {
                            if !wanted[k] {
                                continue;
                            }
                            let one = moving_price_factors_closed_form(
                                alpha,
                                h,
                                u64::from(block),
                                n,
                                u64::from(starts[k]),
                            );
                            let same = one.keep.to_bits() == lanes[k].keep.to_bits()
                                && one.gain.to_bits() == lanes[k].gain.to_bits();
                            assert!(same, "α {alpha} h {h} n {n} block {block} lane {k}");
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 4 * 4 * 4 * 6 * (FACTOR_LANES - FACTOR_LANES / 8));
    }

    #[test]
    fn closed_form_error_within_bound() {
        for &alpha in &[ALPHA, 0.1, 0.5] {
            for &h in &[H, 2_000.0] {
                for &b0 in &[0_u64, 1, 10, 1_000, 201_600, 10_000_000] {
                    for &n in &[1_u32, 361, 7_200] {
                        let start = 1_000_u64;
                        let block = start - 1 + b0;
                        let exact = moving_price_factors(alpha, h, block, n, start);
                        let approx = moving_price_factors_closed_form(alpha, h, block, n, start);
                        if exact.keep < 1e-300 {
                            // ln keep below −690: both must have decayed to nothing.
                            assert!(approx.keep < 1e-290 && approx.gain == 1.0);
                            continue;
                        }
                        let bf = b0 as f64;
                        let nf = f64::from(n);
                        let spread = alpha * h * nf / ((bf + h) * (bf + h));
                        let jensen = nf * spread * spread / (8.0 * (1.0 - alpha).powi(2));
                        let midpoint = alpha * h / (100.0 * (bf + h - 0.5).powi(4) * (1.0 - alpha));
                        let rounding = 1e-13 * log_keep(exact).abs();
                        let bound = jensen + midpoint + rounding;
                        let err = (log_keep(approx) - log_keep(exact)).abs();
                        assert!(err <= bound, "α={alpha} h={h} b0={b0} n={n}: {err:e} > {bound:e}");
                    }
                }
            }
        }
    }

    #[test]
    fn closed_form_is_tight_at_chain_defaults() {
        for &b0 in &[1_u64, 100, 201_600, 50_000_000] {
            let exact = moving_price_factors(ALPHA, H, b0, 361, 1);
            let approx = moving_price_factors_closed_form(ALPHA, H, b0, 361, 1);
            assert!((log_keep(approx) - log_keep(exact)).abs() < 1e-14);
            let rel = (approx.gain - exact.gain).abs() / exact.gain;
            assert!(rel <= 1e-9, "b0={b0}: gain off by {rel:e} relative");
        }
    }

    #[test]
    fn series_matches_direct_form() {
        for &u in &[1e-2_f64, 5e-3, 1e-3] {
            let direct = u - u.ln_1p();
            let series = u_minus_ln_1p(u);
            assert!((series - direct).abs() <= 1e-12 * direct, "{u}: {series} vs {direct}");
        }
        assert_eq!(u_minus_ln_1p(0.0), 0.0);
    }

    #[test]
    fn before_first_emission_block_alpha_is_zero() {
        assert_eq!(moving_alpha_eff(ALPHA, H, 10, 100), 0.0);
        assert_eq!(moving_alpha_eff(ALPHA, 0.0, 99, 100), 0.0);
        assert_eq!(moving_alpha_eff(ALPHA, 0.0, 100, 100), ALPHA);
    }
}
