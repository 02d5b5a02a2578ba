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
//!
//! # CPU form (the shader's arithmetic; the totals in its order at 8 lanes)
//! One expression, `settle_books`, settles a subnet on plain values; [`settle_subnet`] evaluates
//! it for one subnet with [`amm::sell`]. With Yuma off, a constant-product pool and root
//! dividends swapped (the default), [`payouts`] evaluates it for 8 subnets at a time
//! (`settle_lanes`) with the branch-free sale [`amm::constant_product_sale`] and `ln(1 + x)`'s
//! series, and redoes by [`settle_subnet`] any subnet where either is not what the per-subnet form
//! computes (an order its cap may cut, a dividend rate beyond the series' range). The path's
//! totals add each subnet's amounts into its slot lane ([`PayoutSums`], the shader's lane order
//! at 8 lanes), as one subnet at a time does: independent chains of additions where one chain
//! through every slot bounded the stage (docs/performance.md, session 23). The Yuma path
//! ([`epoch`](super::epoch)) settles one subnet after each epoch with [`settle_subnet`].

use serde::{Deserialize, Serialize};

use crate::Real;
use crate::lanes::{LaneGroup, SlotSum, subnet_lanes};
use crate::model::amm::{self, Pool, SwapOutcome};
use crate::params::AmmKind;
use crate::real::{SMALL_ARGUMENT, ln_1p, ln_1p_series, safe_div};
use crate::simd::{self, Kernel, SimdLevel};
use crate::state::{PathState, SubnetReal};

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

/// The path's [`PayoutTotals`] while its subnets are settled: each total in slot lanes
/// (`lanes::SlotSum`). [`PayoutSums::totals`] gives the totals.
#[derive(Clone, Copy, Debug, Default)]
pub struct PayoutSums<R: Real> {
    paid_out: SlotSum<R>,
    root_restaked: SlotSum<R>,
    root_claimed: SlotSum<R>,
    burned: SlotSum<R>,
    organic_dividends: SlotSum<R>,
}

impl<R: Real> PayoutSums<R> {
    /// The path's totals: each sum's lanes added in lane order.
    pub fn totals(&self) -> PayoutTotals<R> {
        PayoutTotals {
            paid_out: self.paid_out.value(),
            root_restaked: self.root_restaked.value(),
            root_claimed: self.root_claimed.value(),
            burned: self.burned.value(),
            organic_dividends: self.organic_dividends.value(),
        }
    }
}

/// Settles subnet `i`'s epoch: pays its pending alpha by `incentive` (module docs, steps 1-4),
/// zeroes the pending amounts and adds the TAO and alpha moved to `totals` (subnets in slot
/// order within each of its lanes).
pub fn settle_subnet<R: Real>(
    params: &StepParams,
    payout: &PayoutParams,
    st: &mut PathState<'_, R>,
    i: usize,
    incentive: MinerIncentive<R>,
    totals: &mut PayoutSums<R>,
) -> EpochSplit<R> {
    settle_one(&SettleTerms::of(params, payout), &mut st.sub, i, incentive, totals)
}

/// [`settle_subnet`] with the step's constants already converted.
fn settle_one<R: Real>(
    terms: &SettleTerms<R>,
    s: &mut SubnetReal<'_, R>,
    i: usize,
    incentive: MinerIncentive<R>,
    totals: &mut PayoutSums<R>,
) -> EpochSplit<R> {
    let mut books = SubnetBooks::read(s, i);
    let (split, added) = settle_books(
        &mut books,
        incentive,
        terms,
        terms.root_claim,
        |pool, amount, fee| amm::sell(terms.amm, pool, amount, fee, terms.min_reserve),
        ln_1p,
    );
    books.write(s, i);
    added.add_to(totals, i, terms.root_claim);
    split
}

/// A step's settlement constants, converted once per path-step rather than once per subnet.
#[derive(Clone, Copy, Debug)]
struct SettleTerms<R> {
    amm: AmmKind,
    fee: R,
    min_reserve: R,
    miner_sell: R,
    validator_sell: R,
    owner_sell: R,
    root_claim: RootClaim,
}

impl<R: Real> SettleTerms<R> {
    fn of(params: &StepParams, payout: &PayoutParams) -> Self {
        let chain = &params.chain;
        Self {
            amm: chain.amm,
            fee: R::of(chain.fee_rate),
            min_reserve: R::of(chain.min_reserve),
            miner_sell: R::of(payout.miner_sell),
            validator_sell: R::of(payout.validator_sell),
            owner_sell: R::of(payout.owner_sell),
            root_claim: payout.root_claim,
        }
    }
}

// A subnet's settlement columns as plain values (`SubnetBooks`), a lane group of them borrowed
// in place (`BookLanes`) and its local copy (`BookColumns`).
subnet_lanes!(
    SubnetBooks,
    BookLanes,
    BookColumns,
    SETTLE_LANES;
    pending_server,
    pending_validator,
    pending_owner,
    pending_root,
    held_organic,
    held_validators,
    held_miners,
    held_owner,
    held_root,
    dividend_rate,
    yield_log,
    alpha_out,
    protocol_flow,
    flow,
    tao,
    alpha,
    w_quote,
);

/// What one subnet's settlement adds to the path's [`PayoutTotals`].
#[derive(Clone, Copy, Debug, Default)]
struct SubnetPayout<R> {
    burned: R,
    organic_dividends: R,
    /// TAO value of the root claim (re-staked too when swapped).
    root_claimed: R,
    /// TAO that left the pool in the miners', validators' and owner's sales, added in this order.
    paid_out: [R; 3],
}

impl<R: Real> SubnetPayout<R> {
    /// Adds slot `slot`'s amounts to the path's sums (each lane's slots must come in slot order:
    /// the sums are not associative).
    fn add_to(&self, totals: &mut PayoutSums<R>, slot: usize, root_claim: RootClaim) {
        totals.burned.add(slot, self.burned);
        totals.organic_dividends.add(slot, self.organic_dividends);
        if root_claim == RootClaim::Swap {
            totals.root_restaked.add(slot, self.root_claimed);
        }
        totals.root_claimed.add(slot, self.root_claimed);
        for paid in self.paid_out {
            totals.paid_out.add(slot, paid);
        }
    }
}

/// One subnet's settlement (module docs, steps 1-4) on its plain values: the expression both
/// forms evaluate. `sell(pool, amount, fee_rate)` swaps alpha for TAO and `ln_1p` is `ln(1 + x)`:
/// [`settle_subnet`] passes [`amm::sell`] and [`ln_1p`], the lanes their branch-free forms.
/// `root_claim` comes apart from `terms` so the lanes can pass it as a constant (`Swap`), leaving
/// no branch on it in their loop.
#[inline(always)]
fn settle_books<R: Real>(
    b: &mut SubnetBooks<R>,
    incentive: MinerIncentive<R>,
    terms: &SettleTerms<R>,
    root_claim: RootClaim,
    mut sell: impl FnMut(&mut Pool<R>, R, R) -> SwapOutcome<R>,
    ln_1p: impl Fn(R) -> R,
) -> (EpochSplit<R>, SubnetPayout<R>) {
    let split = EpochSplit::of(b.pending_server, b.pending_validator, incentive);
    let owner = b.pending_owner;
    let root = b.pending_root;
    b.pending_server = R::zero();
    b.pending_validator = R::zero();
    b.pending_owner = R::zero();
    b.pending_root = R::zero();

    // Delegation: nominators' share of the dividends by stake, less the take.
    let organic_held = b.held_organic;
    let nominated = safe_div(organic_held, organic_held + b.held_validators);
    let organic = split.validators * nominated * (R::one() - R::of(DELEGATE_TAKE));
    let validators = split.validators - organic;
    let dividend_rate = safe_div(organic, organic_held);
    b.dividend_rate = dividend_rate;
    b.yield_log += ln_1p(dividend_rate);
    b.held_organic += organic;
    b.held_miners += split.miners;
    b.held_validators += validators;
    b.held_owner += owner;

    let mut pool = Pool::weighted(b.tao, b.alpha, b.w_quote);
    let root_claimed = match root_claim {
        RootClaim::Keep => {
            b.held_root += root;
            root * amm::price(terms.amm, &pool)
        }
        RootClaim::Swap => {
            let claim = sell(&mut pool, root, R::zero());
            // Alpha the pool could not take (minimum reserve) stays with root claimers.
            b.held_root += root - claim.input_used;
            b.alpha_out -= claim.input_used;
            b.protocol_flow -= claim.output;
            claim.output
        }
    };

    // Written out: a loop over an array of the three (its iterator was not unrolled) kept them
    // apart from the rest of the body, 4% of the light step's Ir.
    let mut sale_of = |amount: R, held: &mut R| {
        let sale = sell(&mut pool, amount.min(*held), terms.fee);
        *held -= sale.input_used;
        b.alpha_out -= sale.input_used;
        b.flow -= sale.output;
        sale.output + sale.author_tao
    };
    let paid_out = [
        sale_of(split.miners * terms.miner_sell, &mut b.held_miners),
        sale_of(validators * terms.validator_sell, &mut b.held_validators),
        sale_of(owner * terms.owner_sell, &mut b.held_owner),
    ];
    b.tao = pool.tao;
    b.alpha = pool.alpha;
    b.w_quote = pool.w_quote;
    let added =
        SubnetPayout { burned: split.burned, organic_dividends: organic, root_claimed, paid_out };
    (split, added)
}

/// Subnets per call of [`settle_lanes`].
const SETTLE_LANES: usize = 8;

/// Settles the active subnets among `first .. first + SETTLE_LANES` of a constant-product path
/// with Yuma off, bit for bit as [`settle_subnet`] one after the other.
///
/// One subnet at a time, a settlement is four calls of [`amm::sell`] whose early returns and
/// returned structs cost more than their arithmetic, and the totals' sums are interleaved with
/// them. Here every lane is first evaluated with the branch-free sale
/// ([`amm::constant_product_sale`]) and `ln(1 + x)`'s series, all inline; a lane where either is
/// not what [`settle_subnet`] computes (an order that may be cut, a dividend rate outside the
/// series' range) keeps its values and is then redone by [`settle_subnet`]. The lanes are the
/// group's columns, and the totals take each subnet's amounts in its slot lane. With `on_copy` (the
/// caller's choice on AVX-512 CPUs) the lanes run on a local copy of the columns in a [`Kernel`]
/// ([`SettleCopy`]), which the compiler vectorises eight lanes wide; else in place, one lane
/// after the other (the baseline target's cost model keeps the loop scalar, and the copy did not
/// pay at AVX2: docs/performance.md, sessions 7 and 20). Same bits either way.
fn settle_lanes<R: Real>(
    terms: &SettleTerms<R>,
    s: &mut SubnetReal<'_, R>,
    active: &[u32],
    first: usize,
    on_copy: bool,
    totals: &mut PayoutSums<R>,
) {
    let miner_burn: [R; SETTLE_LANES] =
        s.miner_burn[first..first + SETTLE_LANES].try_into().expect("a whole lane group");
    let lane_active: [bool; SETTLE_LANES] = core::array::from_fn(|k| active[first + k] != 0);
    let mut lanes = BookLanes::of(s, first);
    let (added, settled) = if on_copy {
        simd::run(SettleCopy { terms, lanes, miner_burn, lane_active: &lane_active })
    } else {
        settle_group(terms, &mut lanes, &miner_burn, &lane_active)
    };
    for k in 0..SETTLE_LANES {
        if settled[k] {
            added[k].add_to(totals, first + k, terms.root_claim);
        } else if lane_active[k] {
            let i = first + k;
            settle_one(terms, s, i, yuma_off_incentive(s.miner_burn[i]), totals);
        }
    }
}

/// [`settle_lanes`]'s evaluation of every lane of `lanes` (the columns in place or a local
/// copy): each lane's payout and whether the lane was settled here.
#[inline(always)]
fn settle_group<R: Real>(
    terms: &SettleTerms<R>,
    lanes: &mut impl LaneGroup<SubnetBooks<R>>,
    miner_burn: &[R; SETTLE_LANES],
    lane_active: &[bool; SETTLE_LANES],
) -> ([SubnetPayout<R>; SETTLE_LANES], [bool; SETTLE_LANES]) {
    let mut added = [SubnetPayout::default(); SETTLE_LANES];
    let mut settled = [false; SETTLE_LANES];
    for k in 0..SETTLE_LANES {
        let unsettled = lanes.lane(k);
        let mut books = unsettled;
        let mut sales_exact = true;
        let (_, payout) = settle_books(
            &mut books,
            yuma_off_incentive(miner_burn[k]),
            terms,
            RootClaim::Swap,
            |pool, amount, fee| {
                let (sold, sale, uncut) =
                    amm::constant_product_sale(*pool, amount, fee, terms.min_reserve);
                *pool = sold;
                sales_exact &= uncut;
                sale
            },
            ln_1p_series,
        );
        let exact = sales_exact & (books.dividend_rate.abs() < R::of(SMALL_ARGUMENT));
        settled[k] = exact & lane_active[k];
        // An inactive or inexact lane keeps its values (the per-subnet form redoes the latter).
        lanes.set_lane(k, if settled[k] { books } else { unsettled });
        added[k] = payout;
    }
    (added, settled)
}

/// [`settle_group`] on a local copy of the group's columns, a [`Kernel`] (run at AVX-512, where
/// the compiler vectorises the loop on the copy; in place it stays scalar).
struct SettleCopy<'a, 'b, R> {
    terms: &'a SettleTerms<R>,
    lanes: BookLanes<'b, R>,
    miner_burn: [R; SETTLE_LANES],
    lane_active: &'a [bool; SETTLE_LANES],
}

impl<R: Real> Kernel for SettleCopy<'_, '_, R> {
    type Output = ([SubnetPayout<R>; SETTLE_LANES], [bool; SETTLE_LANES]);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let SettleCopy { terms, mut lanes, miner_burn, lane_active } = self;
        let mut columns = BookColumns::of(&lanes);
        let result = settle_group(terms, &mut columns, &miner_burn, lane_active);
        columns.store(&mut lanes);
        result
    }
}

/// The Yuma-off epoch's trivial incentive: everything to miners, `miner_burn` of it burned.
fn yuma_off_incentive<R: Real>(miner_burn: R) -> MinerIncentive<R> {
    MinerIncentive { total: R::one(), owner: miner_burn }
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
    let terms = SettleTerms::of(params, payout);
    let mut totals = PayoutSums::default();
    let slots = st.sub.tao.len();
    // The lanes' sale is the constant product's; the rest of the slots go one at a time.
    let lanes_apply = terms.amm == AmmKind::ConstantProduct && terms.root_claim == RootClaim::Swap;
    let lane_slots = if lanes_apply { slots - slots % SETTLE_LANES } else { 0 };
    // The copy pays only where the lanes' loop then runs eight wide; at AVX2 and below they run
    // in place (docs/performance.md, session 20). The two give the same bits.
    let on_copy = SimdLevel::current() == SimdLevel::Avx512;
    for first in (0..lane_slots).step_by(SETTLE_LANES) {
        settle_lanes(&terms, &mut st.sub, st.sub_int.active, first, on_copy, &mut totals);
    }
    for i in lane_slots..slots {
        if st.sub_int.active[i] != 0 {
            let incentive = yuma_off_incentive(st.sub.miner_burn[i]);
            settle_one(&terms, &mut st.sub, i, incentive, &mut totals);
        }
    }
    let totals = totals.totals();
    finish_payouts(st, &totals);
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::{assert_same_path_bits, real_bits};
    use crate::params::MIN_RESERVE;
    use crate::state::BatchState;

    /// Slot `i`'s situation in [`mixed_path`] is `i % SITUATIONS`: odd, so over
    /// `SITUATIONS · SETTLE_LANES` slots each situation meets every lane position, beside others.
    const SITUATIONS: usize = 15;

    /// One path of `slots` subnets covering every branch of a settlement: a typical subnet, an
    /// inactive one, nothing pending, no root dividends, no stake with validators, only organic
    /// stake, a dividend rate beyond the series' range, a TAO reserve at or just above the floor,
    /// a sale beyond the cap, an empty alpha reserve, a negative holding, sub-2^-100 amounts, NaN.
    fn mixed_path(slots: usize) -> BatchState<f64> {
        let mut batch = BatchState::<f64>::zeroed(1, slots);
        let mut st = batch.path(0);
        let s = &mut st.sub;
        for i in 0..slots {
            let jitter = 1.0 + 0.013 * i as f64;
            st.sub_int.active[i] = 1;
            s.tao[i] = 5_000.0 * jitter;
            s.alpha[i] = 2.0e6 / jitter;
            s.w_quote[i] = 0.5;
            s.pending_server[i] = 300.0 * jitter;
            s.pending_validator[i] = 280.0 / jitter;
            s.pending_owner[i] = 90.0 * jitter;
            s.pending_root[i] = 45.0 / jitter;
            s.held_organic[i] = 1.0e6 * jitter;
            s.held_validators[i] = 5.0e5 / jitter;
            s.held_miners[i] = 1.0e4;
            s.held_owner[i] = 2.0e4 * jitter;
            s.held_root[i] = 1.0e3;
            s.yield_log[i] = 0.01 * jitter;
            s.alpha_out[i] = 3.0e6;
            s.protocol_flow[i] = -2.0 * jitter;
            s.flow[i] = 7.0 / jitter;
            s.miner_burn[i] = 0.1 * jitter;
            match i % SITUATIONS {
                1 => st.sub_int.active[i] = 0,
                2 => {
                    s.pending_server[i] = 0.0;
                    s.pending_validator[i] = 0.0;
                    s.pending_owner[i] = 0.0;
                    s.pending_root[i] = 0.0;
                }
                3 => s.pending_root[i] = 0.0,
                4 => {
                    s.held_organic[i] = 0.0;
                    s.held_validators[i] = 0.0;
                }
                5 => {
                    s.held_organic[i] = 100.0;
                    s.held_validators[i] = 100.0;
                }
                6 => s.tao[i] = 0.5 * MIN_RESERVE,
                7 => s.tao[i] = MIN_RESERVE * (1.0 + 1e-9),
                8 => s.pending_server[i] = 1.0e14,
                9 => s.alpha[i] = 0.0,
                10 => s.held_miners[i] = -5.0e3,
                11 => {
                    s.pending_server[i] = 1.0e-35;
                    s.pending_root[i] = 1.0e-35;
                }
                12 => s.pending_validator[i] = f64::NAN,
                13 => s.held_organic[i] = f64::NAN,
                14 => s.held_validators[i] = 0.0,
                _ => {}
            }
        }
        batch
    }

    /// [`payouts`] (lanes where they apply) against [`settle_subnet`] slot by slot: the same bits
    /// in every state word and total, for the default sell fractions and for selling everything,
    /// with both root-claim kinds and both pool kinds (the latter two go one subnet at a time).
    #[test]
    fn lanes_are_the_per_subnet_form_bit_for_bit() {
        // Every situation in every lane position, and a partial group at the end.
        let slots = SITUATIONS * SETTLE_LANES + 5;
        let mut params = StepParams::default();
        for amm in [AmmKind::ConstantProduct, AmmKind::Balancer] {
            params.chain.amm = amm;
            for root_claim in [RootClaim::Swap, RootClaim::Keep] {
                for sell in [None, Some(1.0)] {
                    let mut payout = PayoutParams { root_claim, ..PayoutParams::default() };
                    if let Some(all) = sell {
                        payout.miner_sell = all;
                        payout.validator_sell = all;
                        payout.owner_sell = all;
                    }
                    let mut by_lanes = mixed_path(slots);
                    let mut by_subnet = by_lanes.clone();
                    let lane_totals = payouts(&params, &payout, &mut by_lanes.path(0));

                    let mut st = by_subnet.path(0);
                    let mut sums = PayoutSums::default();
                    for i in 0..slots {
                        if st.sub_int.active[i] != 0 {
                            let incentive = yuma_off_incentive(st.sub.miner_burn[i]);
                            settle_subnet(&params, &payout, &mut st, i, incentive, &mut sums);
                        }
                    }
                    let totals = sums.totals();
                    finish_payouts(&mut st, &totals);

                    let case = format!("{amm:?} {root_claim:?} sell {sell:?}");
                    assert_same_path_bits(&by_lanes, &by_subnet, &case);
                    let t = |t: &PayoutTotals<f64>| {
                        real_bits(&[
                            t.paid_out,
                            t.root_restaked,
                            t.root_claimed,
                            t.burned,
                            t.organic_dividends,
                        ])
                    };
                    assert_eq!(t(&lane_totals), t(&totals), "{case}: totals");
                }
            }
        }
    }

    /// The lanes' two forms, in place and on a local copy in a [`Kernel`] (the latter at every
    /// SIMD level this CPU runs), settle every group of the mixed path to the same bits.
    #[test]
    fn lanes_in_place_and_on_a_copy_agree_at_every_level() {
        let slots = SITUATIONS * SETTLE_LANES;
        let mut params = StepParams::default();
        params.chain.amm = AmmKind::ConstantProduct;
        let payout = PayoutParams { root_claim: RootClaim::Swap, ..PayoutParams::default() };
        let terms = SettleTerms::<f64>::of(&params, &payout);
        let payout_bits = |p: &[SubnetPayout<f64>; SETTLE_LANES]| {
            let values: Vec<f64> = p
                .iter()
                .flat_map(|p| [[p.burned, p.organic_dividends, p.root_claimed], p.paid_out])
                .flatten()
                .collect();
            real_bits(&values)
        };
        for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
            let mut in_place = mixed_path(slots);
            let mut copied = in_place.clone();
            let (mut a, mut b) = (in_place.path(0), copied.path(0));
            for first in (0..slots).step_by(SETTLE_LANES) {
                let miner_burn: [f64; SETTLE_LANES] =
                    a.sub.miner_burn[first..first + SETTLE_LANES].try_into().unwrap();
                let lane_active: [bool; SETTLE_LANES] =
                    core::array::from_fn(|k| a.sub_int.active[first + k] != 0);
                let (added_a, settled_a) = settle_group(
                    &terms,
                    &mut BookLanes::of(&mut a.sub, first),
                    &miner_burn,
                    &lane_active,
                );
                let copy = SettleCopy {
                    terms: &terms,
                    lanes: BookLanes::of(&mut b.sub, first),
                    miner_burn,
                    lane_active: &lane_active,
                };
                let (added_b, settled_b) = simd::run_at(level, copy);
                assert_eq!(settled_a, settled_b, "{level}, group at {first}: settled lanes");
                assert!(
                    settled_a.contains(&true) && settled_a.contains(&false),
                    "group at {first}"
                );
                assert_eq!(
                    payout_bits(&added_a),
                    payout_bits(&added_b),
                    "{level}, group at {first}"
                );
            }
            assert_same_path_bits(&in_place, &copied, level.name());
        }
    }
}
