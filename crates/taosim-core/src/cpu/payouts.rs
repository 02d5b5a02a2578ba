//! Stage `payouts` (model.md §3 items 6-7): the epoch pays the pending alpha out, then miners,
//! validators and owners sell their configured fractions of what they received.
//!
//! One implementation settles a subnet's epoch whatever produced its incentive: [`settle_subnet`]
//! takes the epoch's miner incentive as two numbers ([`MinerIncentive`]: the total and the part
//! on the owner-associated miner) and does the rest, the same for the Yuma path
//! ([`epoch`](super::epoch)) and this stage's Yuma-off form ([`payouts`]), which is the Yuma path
//! with the trivial incentive `{ total: 1, owner: miner_burn }`:
//!
//! 1. **Split** ([`EpochSplit::of`], chain.md §3.5 steps 1-2, 5): miners receive the pending server
//!    alpha in proportion to incentive; the owner-associated miner's incentive is burned, which on
//!    the chain changes no counter (chain.md §3.1), so it stays in `alpha_out`. When the epoch paid
//!    no incentive at all, validators receive the server part too (the zero-incentive fallback).
//!    The chain runs the epoch on `server + validator + root` and pays miners `ΣI/(ΣI + ΣD)` of it,
//!    one half, which is the pending server part; paying exactly `pending_server` by normalised
//!    incentive and `pending_validator` as dividends is the same split with exact accounting.
//! 2. **Dividends and delegation** (chain.md §3.5 step 5): the validator part goes to the validator
//!    class and its nominators. Organic stakers hold `held_organic` of the `held_organic +
//!    held_validators` alpha staked to validators and receive that share of the dividends, less the
//!    delegate take ([`DELEGATE_TAKE`], the chain's `DefaultTake`), which stays with the
//!    validators. `dividend_rate` = organic dividends / organic alpha (the per-epoch yield of one
//!    staked alpha), and `yield_log` accumulates `ln(1 + dividend_rate)`.
//! 3. **Root claim** (chain.md §3.5 step 6): the pending root dividends are swapped fee-less for TAO
//!    that is re-staked on root (not a Taoflow flow; a protocol outflow in the net-flow era, chain.md
//!    §2.4), or kept as alpha. The claim's TAO value (the swap's output, or kept alpha at the spot
//!    price) feeds the global root yield: `root_claimed_last`, and `root_yield_log += ln(1 +
//!    claimed / root_tao)` with root stake before the re-stake ([`finish_payouts`]).
//! 4. **Post-payout selling** (model.md §3 item 7): miners sell `miner_sell` of what they received,
//!    validators `validator_sell` of theirs (dividends plus take), the owner `owner_sell` of the
//!    owner cut. These are ordinary unstakes: they pay the fee and count as flow. Organic
//!    dividends are not sold here; organic holders act through the behaviour stage.

use serde::{Deserialize, Serialize};

use crate::Real;
use crate::model::amm::{self, Pool};
use crate::real::{ln_1p, safe_div};
use crate::state::PathState;

use super::StepParams;

/// The delegate take on nominators' dividends (`DefaultTake` 11,796 / 65,535 ≈ 18%, chain.md
/// §5.1), kept by the validator.
pub const DELEGATE_TAKE: f64 = 11_796.0 / 65_535.0;

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

/// An epoch's miner incentive, as far as the payout needs it: any scale, only ratios matter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinerIncentive<R> {
    /// Total incentive over all uids (0: the epoch paid no incentive).
    pub total: R,
    /// Incentive of the owner-associated miner (burned).
    pub owner: R,
}

/// How one subnet's epoch divides its pending server and validator alpha.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochSplit<R> {
    /// Alpha paid to miners other than the owner-associated one.
    pub miners: R,
    /// Alpha of the owner-associated miner's incentive, burned.
    pub burned: R,
    /// Alpha paid to the validator class and its nominators (dividends before the take).
    pub validators: R,
}

impl<R: Real> EpochSplit<R> {
    /// Splits `pending_server + pending_validator` by the epoch's incentive (chain.md §3.5 steps
    /// 1-2): the sum of the three parts is exactly the pending sum.
    pub fn of(pending_server: R, pending_validator: R, incentive: MinerIncentive<R>) -> Self {
        if incentive.total == R::zero() {
            return Self {
                miners: R::zero(),
                burned: R::zero(),
                validators: pending_validator + pending_server,
            };
        }
        let burned = pending_server * (incentive.owner / incentive.total).min(R::one());
        Self { miners: pending_server - burned, burned, validators: pending_validator }
    }
}

/// One path's payout totals of a step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PayoutTotals<R> {
    /// TAO that left the pools to holders (post-payout sales and their block-author fees).
    pub paid_out: R,
    /// TAO from swapped root dividends, re-staked on root.
    pub root_restaked: R,
    /// TAO value of the root dividends claimed (swapped TAO, or kept alpha at the spot price).
    pub root_claimed: R,
    /// Alpha burned (owner-associated miners' incentive).
    pub burned: R,
    /// Alpha paid as organic stakers' dividends (after the take).
    pub organic_dividends: R,
}

/// Settles subnet `i`'s epoch: pays its pending alpha by `incentive` (module docs, steps 1-4),
/// zeroes the pending amounts and adds the TAO and alpha moved to `totals`.
pub fn settle_subnet<R: Real>(
    params: &StepParams,
    payout: &PayoutParams,
    st: &mut PathState<'_, R>,
    i: usize,
    incentive: MinerIncentive<R>,
    totals: &mut PayoutTotals<R>,
) -> EpochSplit<R> {
    let chain = &params.chain;
    let (fee, min_reserve) = (R::of(chain.fee_rate), R::of(chain.min_reserve));
    let s = &mut st.sub;
    let split = EpochSplit::of(s.pending_server[i], s.pending_validator[i], incentive);
    let owner = s.pending_owner[i];
    let root = s.pending_root[i];
    s.pending_server[i] = R::zero();
    s.pending_validator[i] = R::zero();
    s.pending_owner[i] = R::zero();
    s.pending_root[i] = R::zero();
    totals.burned += split.burned;

    // Delegation: nominators' share of the dividends by stake, less the take.
    let organic_held = s.held_organic[i];
    let nominated = safe_div(organic_held, organic_held + s.held_validators[i]);
    let organic = split.validators * nominated * (R::one() - R::of(DELEGATE_TAKE));
    let validators = split.validators - organic;
    let dividend_rate = safe_div(organic, organic_held);
    s.dividend_rate[i] = dividend_rate;
    s.yield_log[i] += ln_1p(dividend_rate);
    totals.organic_dividends += organic;
    s.held_organic[i] += organic;
    s.held_miners[i] += split.miners;
    s.held_validators[i] += validators;
    s.held_owner[i] += owner;

    let mut pool = Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]);
    match payout.root_claim {
        RootClaim::Keep => {
            s.held_root[i] += root;
            totals.root_claimed += root * amm::price(chain.amm, &pool);
        }
        RootClaim::Swap => {
            let claim = amm::sell(chain.amm, &mut pool, root, R::zero(), min_reserve);
            // Alpha the pool could not take (minimum reserve) stays with root claimers.
            s.held_root[i] += root - claim.input_used;
            s.alpha_out[i] -= claim.input_used;
            s.protocol_flow[i] -= claim.output;
            totals.root_restaked += claim.output;
            totals.root_claimed += claim.output;
        }
    }

    let sales = [
        (split.miners * R::of(payout.miner_sell), &mut s.held_miners[i]),
        (validators * R::of(payout.validator_sell), &mut s.held_validators[i]),
        (owner * R::of(payout.owner_sell), &mut s.held_owner[i]),
    ];
    for (amount, held) in sales {
        let sale = amm::sell(chain.amm, &mut pool, amount.min(*held), fee, min_reserve);
        *held -= sale.input_used;
        s.alpha_out[i] -= sale.input_used;
        s.flow[i] -= sale.output;
        totals.paid_out += sale.output + sale.author_tao;
    }
    s.tao[i] = pool.tao;
    s.alpha[i] = pool.alpha;
    s.w_quote[i] = pool.w_quote;
    split
}

/// The path-wide bookkeeping after every subnet is settled: root re-stake, TAO paid out, root
/// yield (module docs, step 3).
pub fn finish_payouts<R: Real>(st: &mut PathState<'_, R>, totals: &PayoutTotals<R>) {
    let g = &mut st.global;
    g.root_yield_log[0] += ln_1p(safe_div(totals.root_claimed, g.root_tao[0]));
    g.root_claimed_last[0] = totals.root_claimed;
    g.root_tao[0] += totals.root_restaked;
    g.tao_paid_out[0] += totals.paid_out + totals.root_restaked;
}

/// Pays one path's pending alpha with Yuma off and executes the post-payout sales: the pending
/// server part goes to miners, `miner_burn` of it burned (the trivial incentive `{ total: 1,
/// owner: miner_burn }`), the validator part to validators and their nominators.
pub fn payouts<R: Real>(
    params: &StepParams,
    payout: &PayoutParams,
    st: &mut PathState<'_, R>,
) -> PayoutTotals<R> {
    let mut totals = PayoutTotals::default();
    for i in 0..st.sub.tao.len() {
        if st.sub_int.active[i] == 0 {
            continue;
        }
        let incentive = MinerIncentive { total: R::one(), owner: st.sub.miner_burn[i] };
        settle_subnet(params, payout, st, i, incentive, &mut totals);
    }
    finish_payouts(st, &totals);
    totals
}
