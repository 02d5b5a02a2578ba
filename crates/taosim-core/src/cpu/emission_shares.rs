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
use crate::simd::{self, Kernel};
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
    let slots = s.tao.len();
    let (active, first_emission) =
        (&st.sub_int.active[..slots], &st.sub_int.first_emission_block[..slots]);
    let eligible_out = &mut eligible_out[..slots];
    for i in 0..slots {
        eligible_out[i] = eligible(active[i], first_emission[i], block);
    }
    // The EMAs of every slot, kept where eligible: no branch, so the loops run in vector lanes
    // (one subnet at a time, the two divisions and the updates were a fifth of the stage).
    simd::run(FlowEmas {
        flow: &mut *s.flow,
        ema: &mut *s.flow_ema,
        eligible: eligible_out,
        factors,
        n,
    });
    simd::run(FlowEmas {
        flow: &mut *s.protocol_flow,
        ema: &mut *s.protocol_flow_ema,
        eligible: eligible_out,
        factors,
        n,
    });
    let inputs = ShareInputs {
        moving_price: &*s.moving_price,
        flow_ema: &*s.flow_ema,
        protocol_flow_ema: &*s.protocol_flow_ema,
        miner_burn: &*s.miner_burn,
        eligible: &*eligible_out,
    };
    shares::emission_shares(chain.regime, &inputs, chain.flow_cutoff, chain.flow_exponent, s.share);
}

/// One flow EMA over the step for every eligible slot (its accumulated flow then reset), a
/// [`Kernel`]: the branch-free form of `if eligible { ema ← ...; flow ← 0 }`, the same bits.
struct FlowEmas<'a, R> {
    flow: &'a mut [R],
    ema: &'a mut [R],
    eligible: &'a [u32],
    factors: EmaFactors,
    n: u32,
}

impl<R: Real> Kernel for FlowEmas<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let FlowEmas { flow, ema, eligible, factors, n } = self;
        let slots = eligible.len();
        let (flow, ema) = (&mut flow[..slots], &mut ema[..slots]);
        for i in 0..slots {
            let live = eligible[i] != 0;
            let next = shares::flow_ema_over_blocks(ema[i], flow[i], factors, n);
            ema[i] = if live { next } else { ema[i] };
            flow[i] = if live { R::zero() } else { flow[i] };
        }
    }
}
