//! Stage `metrics` (model.md §3 item 9, §9): per-occupant running statistics and death-spiral
//! detection, after every other stage of the step.
//!
//! A subnet enters a **death spiral** at the first step where all three hold (thresholds from
//! [`DeathSpiralParams`]): its emission share has been zero for at least `zero_share_days`, its
//! spot price is at most `price_fraction` of its running peak, and its pool TAO is at most
//! `pool_fraction` of its start value. Zero-share time counts only while the subnet is eligible
//! for emission (a new subnet waiting for its first emission block is not starving). A subnet
//! pruned while its share is zero also counts; the engine applies that rule at pruning, with
//! [`in_zero_emission`].

use crate::Real;
use crate::config::DeathSpiralParams;
use crate::model::amm::{self, Pool};
use crate::simd::{self, Kernel};
use crate::state::PathState;

use super::StepParams;

/// Thresholds of the death-spiral rule in the stage's units (steps, fractions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpiralRule {
    /// Zero-share steps needed.
    pub zero_share_steps: u32,
    /// Price at most this fraction of its peak.
    pub price_fraction: f64,
    /// Pool TAO at most this fraction of its start.
    pub pool_fraction: f64,
}

impl SpiralRule {
    /// Converts the config's days into steps of `blocks_per_step` blocks (rounded up, at least 1).
    pub fn new(rule: &DeathSpiralParams, blocks_per_step: u32) -> Self {
        let steps = rule.zero_share_days * crate::params::BLOCKS_PER_DAY as f64
            / f64::from(blocks_per_step.max(1));
        Self {
            zero_share_steps: (steps.ceil() as u32).max(1),
            price_fraction: rule.price_fraction,
            pool_fraction: rule.pool_fraction,
        }
    }
}

/// Whether the occupant of `slot` is in zero emission now (eligible, share zero for a step or more).
pub fn in_zero_emission<R: Real>(st: &PathState<'_, R>, slot: usize) -> bool {
    st.sub_int.zero_share_steps[slot] > 0
}

/// Updates peak, minimum, previous price, share sums and zero-share streaks; marks new spirals;
/// folds the step's smallest live reserve and largest alpha issuance into the path's bounds; then
/// ends the step (block + `blocks_per_step`, step + 1). Calls `on_spiral(slot)` for each subnet
/// that entered a spiral this step, in slot order.
pub fn metrics<R: Real>(
    params: &StepParams,
    rule: &SpiralRule,
    eligible: &[u32],
    st: &mut PathState<'_, R>,
    mut on_spiral: impl FnMut(usize),
) {
    let step = st.global_int.step[0];
    let s = &mut st.sub;
    let si = &mut st.sub_int;
    // Every column as a slice of exactly the slots' length, so that the loop has no bounds
    // checks (a dozen columns' checks kept their lengths spilled and reloaded per slot).
    let slots = s.tao.len();
    let (tao, alpha, w_quote) = (&s.tao[..], &s.alpha[..slots], &s.w_quote[..slots]);
    let (share, start_tao) = (&s.share[..slots], &s.start_tao[..slots]);
    let (peak_price, min_price) = (&mut s.peak_price[..slots], &mut s.min_price[..slots]);
    let share_sum = &mut s.share_sum[..slots];
    let (active, eligible) = (&si.active[..slots], &eligible[..slots]);
    let (steps_alive, zero_share_steps) =
        (&mut si.steps_alive[..slots], &mut si.zero_share_steps[..slots]);
    let (spiral, spiral_step) = (&mut si.spiral[..slots], &mut si.spiral_step[..slots]);
    for i in 0..slots {
        if active[i] == 0 {
            continue;
        }
        let price = amm::price(params.chain.amm, &Pool::weighted(tao[i], alpha[i], w_quote[i]));
        peak_price[i] = peak_price[i].max(price);
        min_price[i] = min_price[i].min(price);
        share_sum[i] += share[i];
        steps_alive[i] += 1;
        zero_share_steps[i] =
            if eligible[i] != 0 && share[i] <= R::zero() { zero_share_steps[i] + 1 } else { 0 };
        if spiral[i] == 0
            && zero_share_steps[i] >= rule.zero_share_steps
            && price <= R::of(rule.price_fraction) * peak_price[i]
            && tao[i] <= R::of(rule.pool_fraction) * start_tao[i]
        {
            spiral[i] = 1;
            spiral_step[i] = step;
            on_spiral(i);
        }
    }
    // The path's bounds: the smallest live reserve and the largest alpha issuance. Folded one
    // subnet after the other they were a chain of dependent `min`s and `max`es (2.6% of the
    // light step); here in BOUND_LANES running bounds, then folded. The order does not change
    // the bits: `min`/`max` skip NaN in any order, and a live pool's reserves are at least one
    // rao (so positive, its issuance too), so no ±0 tie can pick a sign.
    let (lowest, highest) = simd::run(LiveBounds {
        tao: s.tao,
        alpha: s.alpha,
        alpha_out: s.alpha_out,
        active: si.active,
    });
    let g = &mut st.global;
    g.min_reserve_seen[0] = lowest.into_iter().fold(g.min_reserve_seen[0], R::min);
    g.max_alpha_issuance_seen[0] = highest.into_iter().fold(g.max_alpha_issuance_seen[0], R::max);
    st.global_int.block[0] += params.blocks_per_step;
    st.global_int.step[0] = step + 1;
}

/// Running bounds per lane of [`metrics`]' path bounds: two AVX-512 registers of f64 per bound.
/// (At eight, compiled for SSE2 as the stage is, the pass was 2.7% of the light step.)
const BOUND_LANES: usize = 16;

/// [`live_bounds`] as a [`Kernel`], at the CPU's widest vectors: `min`/`max` that skip NaN take
/// five SSE2 instructions per pair of values.
struct LiveBounds<'a, R> {
    tao: &'a [R],
    alpha: &'a [R],
    alpha_out: &'a [R],
    active: &'a [u32],
}

impl<R: Real> Kernel for LiveBounds<'_, R> {
    type Output = ([R; BOUND_LANES], [R; BOUND_LANES]);

    #[inline(always)]
    fn run(self) -> Self::Output {
        live_bounds(self.tao, self.alpha, self.alpha_out, self.active)
    }
}

/// The smallest reserve (`min(tao, alpha)`) and largest issuance (`alpha + alpha_out`) of the
/// live slots, as [`BOUND_LANES`] running bounds (slot `i` in lane `i % BOUND_LANES`; +∞ and −∞
/// where no live slot fell).
#[inline(always)]
fn live_bounds<R: Real>(
    tao: &[R],
    alpha: &[R],
    alpha_out: &[R],
    active: &[u32],
) -> ([R; BOUND_LANES], [R; BOUND_LANES]) {
    let (inf, neg_inf) = (R::of(f64::INFINITY), R::of(f64::NEG_INFINITY));
    let mut lowest = [inf; BOUND_LANES];
    let mut highest = [neg_inf; BOUND_LANES];
    let slots = tao.len();
    let (alpha, alpha_out, active) = (&alpha[..slots], &alpha_out[..slots], &active[..slots]);
    // Whole groups with the constant length, so that the bounds stay in registers (with a
    // variable one they were kept on the stack, each group's masked stores read back by the
    // next), then the rest.
    let whole = slots - slots % BOUND_LANES;
    for first in (0..whole).step_by(BOUND_LANES) {
        let group = first..first + BOUND_LANES;
        let columns = (&tao[group.clone()], &alpha[group.clone()], &alpha_out[group.clone()]);
        fold_bounds(&mut lowest, &mut highest, columns, &active[group]);
    }
    let columns = (&tao[whole..], &alpha[whole..], &alpha_out[whole..]);
    fold_bounds(&mut lowest, &mut highest, columns, &active[whole..]);
    (lowest, highest)
}

/// Folds slots `0 .. active.len()` of the columns `(tao, alpha, alpha_out)` into lanes
/// `0 .. active.len()` of [`live_bounds`]' bounds.
#[inline(always)]
fn fold_bounds<R: Real>(
    lowest: &mut [R; BOUND_LANES],
    highest: &mut [R; BOUND_LANES],
    (tao, alpha, alpha_out): (&[R], &[R], &[R]),
    active: &[u32],
) {
    let (inf, neg_inf) = (R::of(f64::INFINITY), R::of(f64::NEG_INFINITY));
    let len = active.len();
    let (tao, alpha, alpha_out) = (&tao[..len], &alpha[..len], &alpha_out[..len]);
    for lane in 0..len {
        let live = active[lane] != 0;
        let reserve = if live { tao[lane].min(alpha[lane]) } else { inf };
        let issuance = if live { alpha[lane] + alpha_out[lane] } else { neg_inf };
        lowest[lane] = lowest[lane].min(reserve);
        highest[lane] = highest[lane].max(issuance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`live_bounds`] folded gives the bits of the one-slot-at-a-time fold, over slot counts
    /// below, at and around multiples of the lanes, with inactive slots, NaN reserves and
    /// issuances, and reserves down to one rao.
    #[test]
    fn lane_bounds_fold_to_the_serial_bounds() {
        for slots in [0, 1, 5, 8, 9, 16, 23, 128, 131] {
            let value = |i: usize, salt: usize| {
                let x = ((i * 7919 + salt * 104_729) % 1000) as f64;
                match (i + salt) % 11 {
                    0 => f64::NAN,
                    1 => 1e-9,
                    _ => 1.0 + x * 37.5,
                }
            };
            let tao: Vec<f64> = (0..slots).map(|i| value(i, 1)).collect();
            let alpha: Vec<f64> = (0..slots).map(|i| value(i, 2)).collect();
            let alpha_out: Vec<f64> = (0..slots).map(|i| value(i, 3)).collect();
            let active: Vec<u32> = (0..slots).map(|i| u32::from(i % 5 != 3)).collect();
            let (mut serial_min, mut serial_max) = (f64::MAX, 0.0_f64);
            for i in 0..slots {
                if active[i] != 0 {
                    serial_min = serial_min.min(tao[i]).min(alpha[i]);
                    serial_max = serial_max.max(alpha[i] + alpha_out[i]);
                }
            }
            let (lowest, highest) = live_bounds(&tao, &alpha, &alpha_out, &active);
            let lanes_min = lowest.into_iter().fold(f64::MAX, f64::min);
            let lanes_max = highest.into_iter().fold(0.0, f64::max);
            assert_eq!(lanes_min.to_bits(), serial_min.to_bits(), "{slots} slots: min");
            assert_eq!(lanes_max.to_bits(), serial_max.to_bits(), "{slots} slots: max");
        }
    }
}
