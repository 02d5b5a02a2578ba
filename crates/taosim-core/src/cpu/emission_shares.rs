//! Stage `emission_shares` (model.md §3 item 3): advances the flow EMAs over the step and sets
//! each subnet's emission share by the configured regime (model.md §4, chain.md §2).
//!
//! Only eligible subnets (active, at or past the first-emission block) have their EMAs advanced
//! and receive a share; a not-yet-eligible subnet keeps accumulating flow until its first update,
//! as on the chain. The step's accumulated flow is spread evenly over its blocks (closed form).
//! Shares are computed once per step from the EMAs at the step's end: within a step the chain
//! would re-split every block as the EMAs move, a change of order `n·α_f ≈ 1e-3` relative.

use crate::Real;
use crate::model::shares::{self, EmaFactors, ShareInputs};
use crate::state::PathState;

use super::{StepParams, eligible};

/// Advances flow EMAs and writes `share`; fills `eligible_out` (one 0/1 flag per slot) for the
/// later stages of the step.
pub fn emission_shares<R: Real>(
    params: &StepParams,
    st: &mut PathState<'_, R>,
    eligible_out: &mut [u32],
) {
    let chain = &params.chain;
    let n = params.blocks_per_step;
    let factors = EmaFactors::constant_alpha(chain.flow_ema_alpha, n);
    let block = st.global_int.block[0];
    let s = &mut st.sub;
    for i in 0..s.tao.len() {
        eligible_out[i] = eligible(st.sub_int.active[i], st.sub_int.first_emission_block[i], block);
        if eligible_out[i] != 0 {
            s.flow_ema[i] = shares::flow_ema_over_blocks(s.flow_ema[i], s.flow[i], factors, n);
            s.flow[i] = R::zero();
            s.protocol_flow_ema[i] = shares::flow_ema_over_blocks(
                s.protocol_flow_ema[i],
                s.protocol_flow[i],
                factors,
                n,
            );
            s.protocol_flow[i] = R::zero();
        }
    }
    let inputs = ShareInputs {
        moving_price: &*s.moving_price,
        flow_ema: &*s.flow_ema,
        protocol_flow_ema: &*s.protocol_flow_ema,
        miner_burn: &*s.miner_burn,
        eligible: &*eligible_out,
    };
    shares::emission_shares(chain.regime, &inputs, chain.flow_cutoff, chain.flow_exponent, s.share);
}
