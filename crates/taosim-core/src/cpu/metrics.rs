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
    for i in 0..s.tao.len() {
        if si.active[i] == 0 {
            continue;
        }
        let price =
            amm::price(params.chain.amm, &Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]));
        s.peak_price[i] = s.peak_price[i].max(price);
        s.min_price[i] = s.min_price[i].min(price);
        s.share_sum[i] += s.share[i];
        si.steps_alive[i] += 1;
        si.zero_share_steps[i] = if eligible[i] != 0 && s.share[i] <= R::zero() {
            si.zero_share_steps[i] + 1
        } else {
            0
        };
        if si.spiral[i] == 0
            && si.zero_share_steps[i] >= rule.zero_share_steps
            && price <= R::of(rule.price_fraction) * s.peak_price[i]
            && s.tao[i] <= R::of(rule.pool_fraction) * s.start_tao[i]
        {
            si.spiral[i] = 1;
            si.spiral_step[i] = step;
            on_spiral(i);
        }
    }
    // The bounds fold in slot order, in locals: through the state's words each fold waited on
    // the previous one's store (the same values, in the same order).
    let g = &mut st.global;
    let (mut min_reserve, mut max_issuance) = (g.min_reserve_seen[0], g.max_alpha_issuance_seen[0]);
    for i in 0..s.tao.len() {
        if si.active[i] != 0 {
            min_reserve = min_reserve.min(s.tao[i]).min(s.alpha[i]);
            max_issuance = max_issuance.max(s.alpha[i] + s.alpha_out[i]);
        }
    }
    g.min_reserve_seen[0] = min_reserve;
    g.max_alpha_issuance_seen[0] = max_issuance;
    st.global_int.block[0] += params.blocks_per_step;
    st.global_int.step[0] = step + 1;
}
