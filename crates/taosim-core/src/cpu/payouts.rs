//! Stage `payouts` (model.md §3 items 6-7): the epoch pays the pending alpha out, then miners,
//! validators and owners sell their configured fractions of what they received.
//!
//! With Yuma off (this stage's form) the pending server part goes to miners and the pending
//! validator part to validators directly; miner alpha captured by owner-associated miners
//! (`miner_burn`) is burned, which on the chain changes no counter (chain.md §3.1), so it stays in
//! `alpha_out`. Root dividends are claimed per `root_claim`: swapped fee-less for TAO that is
//! re-staked on root (not a Taoflow flow; a protocol outflow in the net-flow era, chain.md §2.4),
//! or kept as alpha. The post-payout sales are ordinary unstakes: they pay the fee and count as
//! flow (model.md §3 item 7).

use serde::{Deserialize, Serialize};

use crate::Real;
use crate::model::amm::{self, Pool};
use crate::state::PathState;

use super::StepParams;

/// What root stakers do with their alpha dividends (`RootClaimTypeEnum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootClaim {
    /// Swap to TAO fee-less and re-stake on root (the chain default).
    #[default]
    Swap,
    /// Keep as alpha stake on the subnet.
    Keep,
}

/// Payout behaviour: who sells how much of what they receive (model.md §8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PayoutParams {
    /// Fraction of received incentive miners sell at once.
    pub miner_sell: f64,
    /// Fraction of received dividends validators sell at once.
    pub validator_sell: f64,
    /// Fraction of the owner cut the owner sells at once.
    pub owner_sell: f64,
    /// Root dividend handling.
    pub root_claim: RootClaim,
}

impl Default for PayoutParams {
    fn default() -> Self {
        Self { miner_sell: 0.5, validator_sell: 0.2, owner_sell: 0.3, root_claim: RootClaim::Swap }
    }
}

/// Pays one path's pending alpha and executes the post-payout sales.
pub fn payouts<R: Real>(params: &StepParams, payout: &PayoutParams, st: &mut PathState<'_, R>) {
    let chain = &params.chain;
    let (fee, min_reserve) = (R::of(chain.fee_rate), R::of(chain.min_reserve));
    let s = &mut st.sub;
    let mut paid_out = R::zero();
    let mut root_restaked = R::zero();
    for i in 0..s.tao.len() {
        if st.sub_int.active[i] == 0 {
            continue;
        }
        let miners = s.pending_server[i] * (R::one() - s.miner_burn[i]);
        let validators = s.pending_validator[i];
        let owner = s.pending_owner[i];
        let root = s.pending_root[i];
        s.pending_server[i] = R::zero();
        s.pending_validator[i] = R::zero();
        s.pending_owner[i] = R::zero();
        s.pending_root[i] = R::zero();
        s.held_miners[i] += miners;
        s.held_validators[i] += validators;
        s.held_owner[i] += owner;

        let mut pool = Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]);
        match payout.root_claim {
            RootClaim::Keep => s.held_root[i] += root,
            RootClaim::Swap => {
                let claim = amm::sell(chain.amm, &mut pool, root, R::zero(), min_reserve);
                // Alpha the pool could not take (minimum reserve) stays with root claimers.
                s.held_root[i] += root - claim.input_used;
                s.alpha_out[i] -= claim.input_used;
                s.protocol_flow[i] -= claim.output;
                root_restaked += claim.output;
            }
        }

        let sales = [
            (miners * R::of(payout.miner_sell), &mut s.held_miners[i]),
            (validators * R::of(payout.validator_sell), &mut s.held_validators[i]),
            (owner * R::of(payout.owner_sell), &mut s.held_owner[i]),
        ];
        for (amount, held) in sales {
            let sale = amm::sell(chain.amm, &mut pool, amount.min(*held), fee, min_reserve);
            *held -= sale.input_used;
            s.alpha_out[i] -= sale.input_used;
            s.flow[i] -= sale.output;
            paid_out += sale.output + sale.author_tao;
        }
        s.tao[i] = pool.tao;
        s.alpha[i] = pool.alpha;
        s.w_quote[i] = pool.w_quote;
    }
    st.global.root_tao[0] += root_restaked;
    st.global.tao_paid_out[0] += paid_out + root_restaked;
}
