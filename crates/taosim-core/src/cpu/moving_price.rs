//! Stage `moving_price` (model.md §3 item 5, chain.md §2.2): the EMA price over the step.
//!
//! Runs after injection (the chain updates P̄ after the coinbase, with the price it then sees).
//! The spot price is held constant over the step's blocks and the b/(b+h) ramp's product of
//! per-block factors is taken in closed form (see [`moving_price_factors_closed_form`]).
//!
//! # CPU form (same bits as the shader's per-subnet form)
//! The shader computes one subnet's factors per invocation. Here the factors of
//! [`FACTOR_LANES`] subnets come from one call of [`moving_price_factors_lanes`], whose
//! branch-free lanes overlap the closed form's dependent divisions and series; each lane's
//! factors are the per-subnet form's, bit for bit.

use crate::Real;
use crate::model::amm::{self, Pool};
#[cfg(doc)]
use crate::model::moving_price::moving_price_factors_closed_form;
use crate::model::moving_price::{
    FACTOR_LANES, moving_price_factors_lanes, moving_price_over_blocks,
};
use crate::state::PathState;

use super::StepParams;

/// Advances P̄ of every eligible subnet of one path over the step.
pub fn moving_price<R: Real>(params: &StepParams, st: &mut PathState<'_, R>, eligible: &[u32]) {
    let chain = &params.chain;
    let block = st.global_int.block[0];
    let s = &mut st.sub;
    let slots = s.tao.len();
    for first in (0..slots).step_by(FACTOR_LANES) {
        let lanes = (slots - first).min(FACTOR_LANES);
        let mut first_emission_blocks = [0; FACTOR_LANES];
        let mut wanted = [false; FACTOR_LANES];
        for k in 0..lanes {
            first_emission_blocks[k] = st.sub_int.first_emission_block[first + k];
            wanted[k] = eligible[first + k] != 0;
        }
        if !wanted.contains(&true) {
            continue;
        }
        let factors = moving_price_factors_lanes(
            chain.moving_alpha,
            chain.ema_price_halving_blocks,
            block,
            params.blocks_per_step,
            &first_emission_blocks,
            &wanted,
        );
        // Every lane's update, kept where wanted: no branch, so the loop runs in vector lanes.
        for k in 0..lanes {
            let i = first + k;
            let spot = amm::price(chain.amm, &Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]));
            let next = moving_price_over_blocks(s.moving_price[i], spot, factors[k]);
            s.moving_price[i] = if wanted[k] { next } else { s.moving_price[i] };
        }
    }
}
