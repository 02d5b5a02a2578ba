//! # Block emission and halvings (chain.md §1, §3.1)
//!
//! Follows subtensor `pallets/subtensor/src/coinbase/block_emission.rs`
//! (`get_block_emission_for_issuance`): the per-block emission halves each time the issuance
//! crosses `21M·(1 − 2^−k)`, and is zero at or above 21M. The same law gives the network's TAO
//! block emission E from `TotalIssuance` and each subnet's alpha emission from its alpha issuance.
//!
//! The chain computes `k = floor(log2(1/(1 − I/21M)))` with a fixed-point `log2`; here `k` is
//! found by comparing the issuance against the thresholds `21M·(1 − 2^−k)` in a bounded loop, so
//! the exact thresholds (10.5M, 15.75M, ...) give the halved value with no float-log error. The
//! chain floors `1e9 / 2^k` to whole rao; so does [`emission_for_halvings`].
//!
//! The engine advances `n` blocks at a time; [`emission_over_blocks`] sums the per-block emission
//! over such a step in closed form, with a halving crossed mid-step handled block-exactly.

use crate::Real;
use crate::params::{DEFAULT_BLOCK_EMISSION, RAO_PER_TAO, TOTAL_SUPPLY};

/// Halvings after which the per-block emission, floored to whole rao, is zero (`1e9 / 2^30 < 1`).
pub const MAX_HALVINGS: u32 = 30;

/// `0.5^k`, exactly (a power of two): the same value as `0.5_f64.powi(k)`, without the
/// `powi` call on the per-subnet path (`1 / 2^k` is exact for `k ≤ 63`).
const fn half_power(k: u32) -> f64 {
    if k < 64 {
        1.0 / (1_u64 << k) as f64
    } else {
        // `0.5^k` underflows to 0 from k = 1075 on; below that it is a subnormal or normal power
        // of two, reached by exact halvings.
        let mut x = 1.0 / (1_u64 << 63) as f64;
        let mut i = 63;
        while i < k && x > 0.0 {
            x *= 0.5;
            i += 1;
        }
        x
    }
}

/// Issuance (TAO or alpha) at which the `k`-th halving takes effect: `21M·(1 − 2^−k)`.
///
/// Computed in f64 as `21M − 21M·2^−k`, which is exact for every `k ≤ MAX_HALVINGS`, then rounded
/// once into `R`.
pub fn halving_threshold<R: Real>(k: u32) -> R {
    match HALVING_THRESHOLDS.get(k as usize) {
        Some(&threshold) => R::of(threshold),
        None => R::of(threshold_f64(k)),
    }
}

/// [`halving_threshold`] in f64.
const fn threshold_f64(k: u32) -> f64 {
    let below_supply = TOTAL_SUPPLY * half_power(k);
    TOTAL_SUPPLY - below_supply
}

/// Per-block emission after `k < MAX_HALVINGS` halvings, in f64 (see [`emission_for_halvings`]).
const fn emission_f64(k: u32) -> f64 {
    // `floor` of a non-negative value below 2^64 is its truncation, which a const fn can take
    // (`f64::floor` is const only from Rust 1.90, above the workspace's MSRV).
    let rao = (DEFAULT_BLOCK_EMISSION * RAO_PER_TAO * half_power(k)) as u64 as f64;
    rao / RAO_PER_TAO
}

/// The thresholds and emissions of halvings `0..=MAX_HALVINGS`, made once at compile time by the
/// same f64 expressions: [`halvings`] and [`emission_for_halvings`] run for every subnet and step,
/// and computing them on the way put a division (`half_power`) and a `floor` on each call's
/// dependent chain (5% of the light step).
const HALVING_THRESHOLDS: [f64; MAX_HALVINGS as usize + 1] = {
    let mut table = [0.0; MAX_HALVINGS as usize + 1];
    let mut k = 0;
    while k <= MAX_HALVINGS {
        table[k as usize] = threshold_f64(k);
        k += 1;
    }
    table
};

/// See [`HALVING_THRESHOLDS`]; entry [`MAX_HALVINGS`] is 0.
const HALVING_EMISSIONS: [f64; MAX_HALVINGS as usize + 1] = {
    let mut table = [0.0; MAX_HALVINGS as usize + 1];
    let mut k = 0;
    while k < MAX_HALVINGS {
        table[k as usize] = emission_f64(k);
        k += 1;
    }
    table
};

/// Number of halvings `k = floor(log2(1/(1 − I/21M)))` at issuance `I`, saturating at
/// [`MAX_HALVINGS`] (also at or above the 21M supply, where the emission is zero).
pub fn halvings<R: Real>(issuance: R) -> u32 {
    // NaN goes to the zero-emission end rather than minting from garbage.
    if issuance.is_nan() || issuance >= R::of(TOTAL_SUPPLY) {
        return MAX_HALVINGS;
    }
    let mut k = 0;
    while k < MAX_HALVINGS && issuance >= halving_threshold::<R>(k + 1) {
        k += 1;
    }
    k
}

/// Thresholds [`halvings_below`] compares against: below the fifth halving (issuance under
/// 20.34M), every subnet's alpha for years to come.
pub const LANE_HALVINGS: u32 = 4;

/// A halving level found by [`halvings_below`], with the level's values that the per-subnet form
/// looks up in tables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneLevel<R> {
    /// [`halvings`] of the issuance.
    pub halvings: u32,
    /// [`emission_for_halvings`] of it.
    pub emission: R,
    /// [`halving_threshold`] of the next level.
    pub next_threshold: R,
    /// Whether the fields are those (the issuance is below threshold `LANE_HALVINGS + 1`); if
    /// not (NaN included), the caller must call [`halvings`].
    pub exact: bool,
}

/// [`halvings`] and the level's table values without a loop, a branch or an indexed load, for
/// the CPU's subnet lanes (an index that differs between lanes is a gather).
///
/// Below threshold `LANE_HALVINGS + 1` the loop of [`halvings`] stops at the first threshold
/// above the issuance, and the thresholds increase, so its count is the number of thresholds
/// `1..=LANE_HALVINGS` at or below the issuance, which the compares here add up; each reached
/// threshold also selects its level's table entries, the last (highest) one reached winning.
#[inline(always)]
pub fn halvings_below<R: Real>(issuance: R) -> LaneLevel<R> {
    let mut level = LaneLevel {
        halvings: 0,
        emission: R::of(HALVING_EMISSIONS[0]),
        next_threshold: R::of(HALVING_THRESHOLDS[1]),
        exact: issuance < R::of(HALVING_THRESHOLDS[LANE_HALVINGS as usize + 1]),
    };
    for k in 1..=LANE_HALVINGS as usize {
        let reached = issuance >= R::of(HALVING_THRESHOLDS[k]);
        level.halvings += u32::from(reached);
        if reached {
            level.emission = R::of(HALVING_EMISSIONS[k]);
            level.next_threshold = R::of(HALVING_THRESHOLDS[k + 1]);
        }
    }
    level
}

/// Per-block emission after `k` halvings: `floor(1e9 / 2^k)` rao, in TAO (zero from
/// [`MAX_HALVINGS`] on).
pub fn emission_for_halvings<R: Real>(k: u32) -> R {
    // Entry MAX_HALVINGS is the zero of every level from there on (a clamped index, not a branch
    // around the load: the subnet lanes of `cpu/injection.rs` run this as vectors).
    R::of(HALVING_EMISSIONS[k.min(MAX_HALVINGS) as usize])
}

/// Per-block emission at the given issuance (TAO per block from TAO issuance, or a subnet's alpha
/// per block from its alpha issuance): 1 below 10.5M, then 0.5, 0.25, ..., 0 at 21M.
pub fn block_emission<R: Real>(issuance: R) -> R {
    emission_for_halvings(halvings(issuance))
}

/// Result of [`emission_over_blocks`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmissionOverBlocks<R> {
    /// Sum of the per-block emission `E(I_b)` over the blocks (what the shares split).
    pub emitted: R,
    /// Issuance after the blocks: the input plus everything the growth rule added.
    pub issuance: R,
}

/// Emission summed over `n` blocks while the issuance grows block by block.
///
/// Per block `b` (the per-block rule this closes over): `E_b = block_emission(I_b)`, then
/// `I_{b+1} = I_b + growth_per_emission·E_b + growth_per_block`. Both growth coefficients are
/// held constant over the `n` blocks. What the engine passes:
///
/// - TAO: `growth_per_emission = Σ shares` (1, or 0 when every share is zero: then no TAO is
///   minted, chain.md §1, although `emitted` still reports the E the shares would have split);
///   `growth_per_block = 0`. `tao_in + excess = share·E`, so the minted TAO is `Σ shares · E`.
/// - A subnet's alpha: the issuance grows by `alpha_out + alpha_in` per block, with
///   `alpha_out = alpha_emission`: `growth_per_emission = 1` and `growth_per_block = alpha_in`
///   when alpha_in is not capped by the alpha emission; `growth_per_emission = 2`,
///   `growth_per_block = 0` when it is capped at the alpha emission itself. A cap switching
///   between those cases inside one step is not followed (a documented simplification).
///
/// Between thresholds the growth is linear, so the number of blocks at each halving level is
/// counted in closed form; a threshold crossed mid-step gives the blocks before the crossing `E`
/// and those after `E/2` (further crossings likewise, at most one pass per level).
pub fn emission_over_blocks<R: Real>(
    issuance: R,
    n: u32,
    growth_per_emission: R,
    growth_per_block: R,
) -> EmissionOverBlocks<R> {
    emission_over_blocks_at(issuance, halvings(issuance), n, growth_per_emission, growth_per_block)
}

/// [`emission_over_blocks`] for a caller that already holds `k = `[`halvings`]`(issuance)` (the
/// injection computes it for the block emission too): the same result without recomputing it.
pub fn emission_over_blocks_at<R: Real>(
    issuance: R,
    halvings_now: u32,
    n: u32,
    growth_per_emission: R,
    growth_per_block: R,
) -> EmissionOverBlocks<R> {
    let mut issued = issuance;
    let mut emitted = R::zero();
    let mut blocks_left = n;
    let mut k = halvings_now;
    // One pass per halving level at most; the bound keeps the loop shader-friendly.
    for _ in 0..=MAX_HALVINGS {
        if blocks_left == 0 {
            break;
        }
        let emission = emission_for_halvings::<R>(k);
        let growth = growth_per_emission * emission + growth_per_block;
        let blocks_at_level = if k >= MAX_HALVINGS || growth <= R::zero() {
            blocks_left
        } else {
            blocks_below_threshold(issued, growth, halving_threshold::<R>(k + 1), blocks_left)
        };
        let blocks = R::of(f64::from(blocks_at_level));
        emitted += emission * blocks;
        issued += growth * blocks;
        blocks_left -= blocks_at_level;
        // Usually the first level takes every block: done, without looking up the next level.
        if blocks_left == 0 {
            break;
        }
        // A large growth can jump several thresholds in one block; always make progress.
        k = halvings(issued).max(k + 1);
    }
    EmissionOverBlocks { emitted, issuance: issued }
}

/// [`emission_over_blocks_at`] when all `n` blocks stay at `level` ([`halvings_below`]'s),
/// without a loop, a branch or a table lookup, for the CPU's subnet lanes: `(result, true)` where
/// they do (and `n > 0`), with the result [`emission_over_blocks_at`] returns, else `(_, false)`
/// and the caller must call it.
///
/// The loop's first pass, when it takes every block: the same growth, the same test of
/// `blocks_below_threshold` (`room`, NaN or not below `n`), the same sums from `+0` and from
/// the issuance.
#[inline(always)]
pub fn emission_whole_level<R: Real>(
    issuance: R,
    level: &LaneLevel<R>,
    n: u32,
    growth_per_emission: R,
    growth_per_block: R,
) -> (EmissionOverBlocks<R>, bool) {
    let emission = level.emission;
    let growth = growth_per_emission * emission + growth_per_block;
    let blocks = R::of(f64::from(n));
    let room = (level.next_threshold - issuance) / growth;
    // `room.is_nan() || room >= blocks`, the loop's test, as one operation per term.
    let room_enough = room.is_nan() | (room >= blocks);
    let whole = (level.halvings >= MAX_HALVINGS) | (growth <= R::zero()) | room_enough;
    let result = EmissionOverBlocks {
        emitted: R::zero() + emission * blocks,
        issuance: issuance + growth * blocks,
    };
    (result, whole & (n > 0))
}

/// Number of blocks `j` in `0..max_blocks` with `issuance + j·growth < threshold`
/// (`issuance < threshold`, `growth > 0`): the blocks still emitted at the current level.
fn blocks_below_threshold<R: Real>(issuance: R, growth: R, threshold: R, max_blocks: u32) -> u32 {
    let room = (threshold - issuance) / growth;
    if room.is_nan() || room >= R::of(f64::from(max_blocks)) {
        return max_blocks;
    }
    let mut blocks = room.ceil().f64().max(1.0) as u32;
    // The division may round across an integer; settle the count by the comparison the per-block
    // rule itself makes.
    if blocks > 1 && issuance + growth * R::of(f64::from(blocks - 1)) >= threshold {
        blocks -= 1;
    }
    if blocks < max_blocks && issuance + growth * R::of(f64::from(blocks)) < threshold {
        blocks += 1;
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issuances around every threshold a lane compares against (each exactly, and a step
    /// either side), zero, the supply and beyond, a negative one and NaN.
    fn lane_issuances<R: Real>() -> Vec<R> {
        let mut xs = vec![0.0, -1.0, 1.0, 5.0e6, TOTAL_SUPPLY, 2.0 * TOTAL_SUPPLY, f64::NAN];
        for k in 1..=LANE_HALVINGS + 2 {
            let t = halving_threshold::<f64>(k);
            xs.extend([t, t - 1.0, t + 1.0, t * (1.0 - 1e-12), t * (1.0 + 1e-12)]);
        }
        xs.into_iter().map(R::of).collect()
    }

    /// Where [`halvings_below`] says it is exact, its level and table values are [`halvings`],
    /// [`emission_for_halvings`] and [`halving_threshold`]'s; below the fifth threshold it is
    /// exact. In f64 and f32 (whose thresholds round).
    fn check_halvings_below<R: Real>() {
        let limit = halving_threshold::<R>(LANE_HALVINGS + 1);
        for x in lane_issuances::<R>() {
            let level = halvings_below(x);
            assert_eq!(level.exact, x < limit, "{x:?}");
            if level.exact {
                let k = halvings(x);
                assert_eq!(level.halvings, k, "{x:?}");
                assert_eq!(level.emission, emission_for_halvings::<R>(k), "{x:?}");
                assert_eq!(level.next_threshold, halving_threshold::<R>(k + 1), "{x:?}");
            }
        }
    }

    #[test]
    fn halvings_below_is_halvings_where_exact() {
        check_halvings_below::<f64>();
        check_halvings_below::<f32>();
    }

    /// Where [`emission_whole_level`] says every block stays at the level, it is
    /// [`emission_over_blocks_at`] bit for bit, and it says so in the common case and not where a
    /// threshold is crossed within the blocks.
    #[test]
    fn emission_whole_level_is_the_loop_where_whole() {
        let (mut whole_seen, mut crossing_seen) = (false, false);
        for x in lane_issuances::<f64>() {
            let level = halvings_below(x);
            if !level.exact {
                continue;
            }
            for growth_per_block in [0.0, 0.3, 1e3, -2.0] {
                for n in [0, 1, 361, 100_000] {
                    let (lanes, whole) = emission_whole_level(x, &level, n, 1.0, growth_per_block);
                    let exact =
                        emission_over_blocks_at(x, level.halvings, n, 1.0, growth_per_block);
                    if whole {
                        assert_eq!(lanes.emitted.to_bits(), exact.emitted.to_bits(), "{x} {n}");
                        assert_eq!(lanes.issuance.to_bits(), exact.issuance.to_bits(), "{x} {n}");
                    }
                    whole_seen |= whole;
                    crossing_seen |= !whole && n > 0;
                }
            }
        }
        assert!(whole_seen && crossing_seen);
    }

    #[test]
    fn half_power_is_powi() {
        for k in 0..1_100 {
            assert_eq!(half_power(k).to_bits(), 0.5_f64.powi(k as i32).to_bits(), "k = {k}");
        }
    }

    /// The compile-time tables against independent forms: whole rao by an integer shift
    /// (`floor(1e9 / 2^k)`), thresholds through `powi`, in f64 and f32.
    #[test]
    fn halving_tables_are_the_chain_values() {
        for k in 0..=MAX_HALVINGS + 3 {
            let rao = if k < MAX_HALVINGS { (1_000_000_000_u64 >> k) as f64 } else { 0.0 };
            assert_eq!(emission_for_halvings::<f64>(k), rao / 1e9, "emission, k = {k}");
            assert_eq!(emission_for_halvings::<f32>(k), (rao / 1e9) as f32, "emission, k = {k}");
            let threshold = 21e6 - 21e6 * 0.5_f64.powi(k as i32);
            assert_eq!(halving_threshold::<f64>(k), threshold, "threshold, k = {k}");
            assert_eq!(halving_threshold::<f32>(k), threshold as f32, "threshold, k = {k}");
        }
        assert_eq!(halving_threshold::<f64>(1), 10_500_000.0);
        assert_eq!(halving_threshold::<f64>(2), 15_750_000.0);
        assert_eq!(emission_for_halvings::<f64>(29), 1e-9);
    }

    /// Reference: apply the per-block rule `n` times.
    fn iterate(issuance: f64, n: u32, per_emission: f64, per_block: f64) -> (f64, f64) {
        let mut issued = issuance;
        let mut emitted = 0.0;
        for _ in 0..n {
            let e = block_emission(issued);
            emitted += e;
            issued += per_emission * e + per_block;
        }
        (emitted, issued)
    }

    fn assert_rel(a: f64, b: f64, tol: f64) {
        let scale = a.abs().max(b.abs()).max(1e-300);
        assert!((a - b).abs() <= tol * scale, "{a} vs {b}");
    }

    #[test]
    fn thresholds_are_exact() {
        assert_eq!(halving_threshold::<f64>(1), 10_500_000.0);
        assert_eq!(halving_threshold::<f64>(2), 15_750_000.0);
        assert_eq!(halving_threshold::<f64>(3), 18_375_000.0);
        assert_eq!(halvings(10_500_000.0_f64), 1);
        assert_eq!(halvings(f64::from_bits(10_500_000.0_f64.to_bits() - 1)), 0);
        assert_eq!(halvings(21_000_000.0_f64), MAX_HALVINGS);
        assert_eq!(block_emission(21_000_000.0_f64), 0.0);
        assert_eq!(block_emission(f64::NAN), 0.0);
    }

    #[test]
    fn rao_floor_below_one_rao_is_zero() {
        // 1e9 / 2^10 = 976_562.5 rao, floored.
        assert_eq!(emission_for_halvings::<f64>(10), 976_562.0 / 1e9);
        assert_eq!(emission_for_halvings::<f64>(29), 1.0 / 1e9);
        assert_eq!(emission_for_halvings::<f64>(30), 0.0);
    }

    #[test]
    fn closed_form_matches_iteration_without_crossing() {
        for &(i, n) in &[(0.0, 1_u32), (1.0e6, 361), (12.0e6, 361), (20.9e6, 7_200)] {
            let (e, iss) = iterate(i, n, 1.0, 0.0);
            let c = emission_over_blocks(i, n, 1.0, 0.0);
            assert_rel(c.emitted, e, 1e-12);
            assert_rel(c.issuance, iss, 1e-12);
        }
    }

    #[test]
    fn closed_form_matches_iteration_across_halvings() {
        // Dyadic start offsets so the crossing block is unambiguous in both computations.
        let cases = [
            (10_500_000.0 - 100.0, 361_u32, 1.0, 0.0),
            (10_500_000.0 - 100.5, 361, 1.0, 0.0),
            (10_500_000.0 - 0.25, 1, 1.0, 0.0),
            (15_750_000.0 - 17.0, 361, 2.0, 0.125),
            (18_375_000.0 - 3.0, 1_000, 1.0, 0.5),
            // Large growth: several thresholds inside one step.
            (10_000_000.0, 100, 0.0, 250_000.0),
            (20_999_990.0, 1_000, 1.0, 0.03125),
        ];
        for &(i, n, a, b) in &cases {
            let (e, iss) = iterate(i, n, a, b);
            let c = emission_over_blocks(i, n, a, b);
            assert_rel(c.emitted, e, 1e-12);
            assert_rel(c.issuance, iss, 1e-12);
        }
    }

    #[test]
    fn halving_mid_day_splits_the_day() {
        // 100 blocks at 1 TAO reach 10.5M, the other 7_100 blocks emit 0.5.
        let c = emission_over_blocks(10_500_000.0 - 100.0, 7_200, 1.0, 0.0);
        assert_eq!(c.emitted, 100.0 + 3_550.0);
        assert_eq!(c.issuance, 10_500_000.0 + 3_550.0);
    }

    #[test]
    fn nothing_minted_keeps_issuance() {
        let c = emission_over_blocks(10_500_000.0 - 1.0, 361, 0.0, 0.0);
        assert_eq!(c.emitted, 361.0);
        assert_eq!(c.issuance, 10_500_000.0 - 1.0);
    }

    #[test]
    fn f32_instantiation_agrees() {
        let c = emission_over_blocks(1.0e6_f32, 361, 1.0, 0.0);
        assert_eq!(c.emitted, 361.0);
        assert_eq!(block_emission(10_500_000.0_f32), 0.5);
    }
}
