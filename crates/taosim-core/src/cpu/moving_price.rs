//! Stage `moving_price` (model.md §3 item 5, chain.md §2.2): the EMA price over the step.
//!
//! Runs after injection (the chain updates P̄ after the coinbase, with the price it then sees).
//! The spot price is held constant over the step's blocks and the b/(b+h) ramp's product of
//! per-block factors is taken in closed form (see
//! [`moving_price_factors_closed_form`](crate::model::moving_price::moving_price_factors_closed_form)).

use crate::Real;
use crate::model::amm::{self, Pool};
use crate::model::moving_price::{moving_price_factors_closed_form, moving_price_over_blocks};
use crate::state::PathState;

use super::StepParams;

/// Advances P̄ of every eligible subnet of one path over the step.
pub fn moving_price<R: Real>(params: &StepParams, st: &mut PathState<'_, R>, eligible: &[u32]) {
    let chain = &params.chain;
    let block = u64::from(st.global_int.block[0]);
    let s = &mut st.sub;
    for i in 0..s.tao.len() {
        if eligible[i] == 0 {
            continue;
        }
        let factors = moving_price_factors_closed_form(
            chain.moving_alpha,
            chain.ema_price_halving_blocks,
            block,
            params.blocks_per_step,
            u64::from(st.sub_int.first_emission_block[i]),
        );
        let spot = amm::price(chain.amm, &Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]));
        s.moving_price[i] = moving_price_over_blocks(s.moving_price[i], spot, factors);
    }
}
