//! Stage `swaps` (model.md §3 item 2): executes one step's aggregated stake and unstake orders.
//!
//! Buys first, then sells, each aggregated per holder class, against the subnet's AMM with the
//! input fee. TAO staked in adds to the flow accumulator, TAO unstaked out subtracts (chain.md
//! §2.3, `stake_into_subnet` / `unstake_from_subnet`: the amount that entered the pool net of the
//! fee, the amount paid to the user). Emission, chain buys and root claims never pass here.
//!
//! # CPU form (the shader's arithmetic; the totals in its order at 8 lanes)
//! One expression, `swap_books`, swaps a subnet's orders on plain values; [`swaps_per_subnet`]
//! evaluates it one subnet after the other with [`amm::buy`] and [`amm::sell`], as the WGSL stage
//! does per invocation. On a constant-product pool, [`swaps`] evaluates it for 8 subnets at a
//! time (`swap_lanes`) with the branch-free [`amm::constant_product_purchase`] and
//! [`amm::constant_product_sale`]: one subnet at a time, the two calls' early returns and
//! returned structs cost more than their arithmetic. A lane where either is not what the
//! per-subnet form computes (an order its cap may cut, a reserve at the floor) keeps its values
//! and is redone by the per-subnet form; an inactive lane keeps its values and adds nothing. The
//! path's totals add each subnet's amounts into its slot lane (`lanes::SlotSum`, the shader's
//! `lanes_sum` order at 8 lanes), as one subnet at a time does (the sums are not associative), so
//! both forms give the same bits, which the tests check in f64 and f32.

use crate::Real;
use crate::lanes::{LaneGroup, SlotSum, subnet_lanes};
use crate::model::amm::{self, Pool, SwapOutcome};
use crate::params::AmmKind;
use crate::state::{PathState, SubnetReal};

use super::StepParams;

/// One subnet's orders for a step, aggregated per holder class (filled by the behaviour stage).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Orders<R> {
    /// TAO organic stakers stake in (inflows, whale entries, revenue buybacks).
    pub stake_tao: R,
    /// Alpha organic stakers unstake (outflows, panic, zero-emission exits, whale exits).
    pub unstake_alpha: R,
}

/// What the swaps of one subnet did, for flow and conservation accounting.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SwapTotals<R> {
    /// TAO taken from stakers (fees included).
    pub tao_in: R,
    /// TAO paid to stakers and block authors.
    pub tao_out: R,
    /// 1 when an order was cut by the minimum reserve.
    pub cut: u32,
}

/// Subnets per call of `swap_lanes`.
const SWAP_LANES: usize = 8;

// A subnet's swap columns as plain values (`SwapBooks`) and a lane group of them borrowed in
// place (`SwapLanes`); the lanes run in place (a local copy, `SwapColumns`, was slower here:
// docs/performance.md, session 20).
subnet_lanes!(SwapBooks, SwapLanes, SwapColumns, SWAP_LANES; tao, alpha, w_quote, held_organic, alpha_out, flow);

/// What one subnet's swaps add to the path's [`SwapTotals`].
#[derive(Clone, Copy, Debug, Default)]
struct SwapAdded<R> {
    tao_in: R,
    tao_out: R,
    cut: bool,
}

impl<R: Real> SwapAdded<R> {
    /// Adds slot `slot`'s amounts to the path's sums (each lane's slots must come in slot order).
    fn add_to(&self, sums: &mut SwapSums<R>, slot: usize) {
        sums.tao_in.add(slot, self.tao_in);
        sums.tao_out.add(slot, self.tao_out);
        sums.cut |= u32::from(self.cut);
    }
}

/// The path's [`SwapTotals`] while its subnets are swapped, the sums in slot lanes.
#[derive(Clone, Copy, Debug, Default)]
struct SwapSums<R: Real> {
    tao_in: SlotSum<R>,
    tao_out: SlotSum<R>,
    cut: u32,
}

impl<R: Real> SwapSums<R> {
    fn totals(&self) -> SwapTotals<R> {
        SwapTotals { tao_in: self.tao_in.value(), tao_out: self.tao_out.value(), cut: self.cut }
    }
}

/// One subnet's swaps on its plain values: the expression both forms evaluate. `buy(pool,
/// amount)` and `sell(pool, amount)` swap with the step's fee and floor: [`swap_one`] passes
/// [`amm::buy`] and [`amm::sell`], the lanes their branch-free constant-product forms.
#[inline(always)]
fn swap_books<R: Real>(
    b: &mut SwapBooks<R>,
    orders: Orders<R>,
    buy: impl FnOnce(&mut Pool<R>, R) -> SwapOutcome<R>,
    sell: impl FnOnce(&mut Pool<R>, R) -> SwapOutcome<R>,
) -> SwapAdded<R> {
    let mut pool = Pool::weighted(b.tao, b.alpha, b.w_quote);

    let buy = buy(&mut pool, orders.stake_tao);
    b.held_organic += buy.output;
    b.alpha_out += buy.output;
    b.flow += buy.input_used - buy.fee;

    let want = orders.unstake_alpha.min(b.held_organic);
    let sell = sell(&mut pool, want);
    b.held_organic -= sell.input_used;
    b.alpha_out -= sell.input_used;
    b.flow -= sell.output;

    b.tao = pool.tao;
    b.alpha = pool.alpha;
    b.w_quote = pool.w_quote;
    SwapAdded {
        tao_in: buy.input_used,
        tao_out: sell.output + buy.author_tao + sell.author_tao,
        cut: buy.cut || sell.cut,
    }
}

/// A step's swap constants, converted once per path-step rather than once per subnet.
#[derive(Clone, Copy, Debug)]
struct SwapTerms<R> {
    amm: AmmKind,
    fee: R,
    min_reserve: R,
}

impl<R: Real> SwapTerms<R> {
    fn of(params: &StepParams) -> Self {
        let chain = &params.chain;
        Self { amm: chain.amm, fee: R::of(chain.fee_rate), min_reserve: R::of(chain.min_reserve) }
    }
}

/// Swaps subnet `i`'s orders with [`amm::buy`] and [`amm::sell`] and adds its amounts to
/// `totals` (the caller skips inactive slots).
fn swap_one<R: Real>(
    terms: &SwapTerms<R>,
    s: &mut SubnetReal<'_, R>,
    i: usize,
    orders: Orders<R>,
    totals: &mut SwapSums<R>,
) {
    let (amm, fee, min_reserve) = (terms.amm, terms.fee, terms.min_reserve);
    let mut books = SwapBooks::read(s, i);
    let added = swap_books(
        &mut books,
        orders,
        |pool, amount| amm::buy(amm, pool, amount, fee, min_reserve),
        |pool, amount| amm::sell(amm, pool, amount, fee, min_reserve),
    );
    books.write(s, i);
    added.add_to(totals, i);
}

/// Swaps the active subnets among `first .. first + SWAP_LANES` of a constant-product path, bit
/// for bit as [`swap_one`] one after the other (module docs). Every lane is evaluated without a
/// data-dependent branch, so the compiler keeps the lanes' values in registers and selects; a
/// lane that is inactive or inexact keeps its values, and the latter is then redone by
/// [`swap_one`] in its turn among the totals.
fn swap_lanes<R: Real>(
    terms: &SwapTerms<R>,
    s: &mut SubnetReal<'_, R>,
    active: &[u32],
    orders: &[Orders<R>],
    first: usize,
    totals: &mut SwapSums<R>,
) {
    let (fee, min_reserve) = (terms.fee, terms.min_reserve);
    let mut lanes = SwapLanes::of(s, first);
    let orders: &[Orders<R>; SWAP_LANES] =
        orders[first..first + SWAP_LANES].try_into().expect("a whole lane group");
    let active: &[u32; SWAP_LANES] =
        active[first..first + SWAP_LANES].try_into().expect("a whole lane group");
    let mut added = [SwapAdded::default(); SWAP_LANES];
    let mut settled = [false; SWAP_LANES];
    for k in 0..SWAP_LANES {
        let unswapped = lanes.lane(k);
        let mut books = unswapped;
        let (mut buy_exact, mut sell_exact) = (false, false);
        added[k] = swap_books(
            &mut books,
            orders[k],
            |pool, amount| {
                let (bought, purchase, exact) =
                    amm::constant_product_purchase(*pool, amount, fee, min_reserve);
                *pool = bought;
                buy_exact = exact;
                purchase
            },
            |pool, amount| {
                let (sold, sale, exact) =
                    amm::constant_product_sale(*pool, amount, fee, min_reserve);
                *pool = sold;
                sell_exact = exact;
                sale
            },
        );
        settled[k] = buy_exact & sell_exact & (active[k] != 0);
        lanes.set_lane(k, if settled[k] { books } else { unswapped });
    }
    for k in 0..SWAP_LANES {
        if settled[k] {
            added[k].add_to(totals, first + k);
        } else if active[k] != 0 {
            swap_one(terms, s, first + k, orders[k], totals);
        }
    }
}

/// Applies `orders[i]` to subnet `i` of one path. Inactive slots ignore their orders. A sell is
/// capped at what organic holders hold. The same bits as [`swaps_per_subnet`]; on a
/// constant-product pool, 8 subnets at a time (module docs).
pub fn swaps<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
) -> SwapTotals<R> {
    swap_path(params, orders, st, true)
}

/// [`swaps`] one subnet after the other, as the WGSL stage runs it: the reference form.
pub fn swaps_per_subnet<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
) -> SwapTotals<R> {
    swap_path(params, orders, st, false)
}

/// [`swaps`], with the lanes where they apply (`use_lanes`) or one subnet at a time.
fn swap_path<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
    use_lanes: bool,
) -> SwapTotals<R> {
    let terms = SwapTerms::of(params);
    let mut totals = SwapSums::default();
    let slots = st.sub.tao.len();
    // The lanes' swaps are the constant product's; the rest of the slots go one at a time.
    let lanes_apply = use_lanes && terms.amm == AmmKind::ConstantProduct;
    let lane_slots = if lanes_apply { slots - slots % SWAP_LANES } else { 0 };
    for first in (0..lane_slots).step_by(SWAP_LANES) {
        swap_lanes(&terms, &mut st.sub, st.sub_int.active, orders, first, &mut totals);
    }
    for i in lane_slots..slots {
        if st.sub_int.active[i] != 0 {
            swap_one(&terms, &mut st.sub, i, orders[i], &mut totals);
        }
    }
    let totals = totals.totals();
    st.global.tao_paid_in[0] += totals.tao_in;
    st.global.tao_paid_out[0] += totals.tao_out;
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::{assert_same_path_bits, real_bits};
    use crate::params::MIN_RESERVE;
    use crate::state::BatchState;

    /// Slot `i < SITUATIONS · SWAP_LANES` meets situation `i % SITUATIONS` in [`mixed_path`]:
    /// odd, so each situation meets every lane position, beside others.
    const SITUATIONS: usize = 15;

    /// Slots after the mixed ones: two whole groups of typical subnets (every lane exact) and a
    /// partial group at the end.
    const TYPICAL: usize = 2 * SWAP_LANES + 5;

    /// One path of `SITUATIONS · SWAP_LANES + TYPICAL` subnets covering every branch of a
    /// subnet's swaps: a typical subnet, an inactive one, no orders, no buy, no sell, a buy and a
    /// sell cut by the reserve floor, a sell beyond what organic holders hold, negative orders
    /// and holdings, an alpha or TAO reserve at or just above the floor, an empty TAO reserve,
    /// orders just below the cap (too close for the fast test) and tiny ones. No NaN: the order
    /// `min` and the sums treat it alike in both forms, but it would hide the rest.
    fn mixed_path<R: Real>(orders: &mut Vec<Orders<R>>) -> BatchState<R> {
        let slots = SITUATIONS * SWAP_LANES + TYPICAL;
        let mut batch = BatchState::<R>::zeroed(1, slots);
        let mut st = batch.path(0);
        let s = &mut st.sub;
        let m = MIN_RESERVE;
        orders.clear();
        for i in 0..slots {
            let jitter = 1.0 + 0.013 * i as f64;
            let (mut tao, mut alpha) = (5_000.0 * jitter, 2.0e6 / jitter);
            let mut held = 1.0e6 * jitter;
            let (mut stake, mut unstake) = (40.0 * jitter, 9_000.0 / jitter);
            st.sub_int.active[i] = 1;
            let situation = if i < SITUATIONS * SWAP_LANES { i % SITUATIONS } else { 0 };
            match situation {
                1 => st.sub_int.active[i] = 0,
                2 => (stake, unstake) = (0.0, 0.0),
                3 => stake = 0.0,
                4 => unstake = 0.0,
                5 => stake = 1.0e14,
                6 => unstake = 2.0 * held,
                7 => (held, unstake) = (1.0e14, 1.0e14),
                8 => (stake, unstake, held) = (-3.0, -2.0, -5.0e3),
                9 => alpha = 0.5 * m,
                10 => tao = m * (1.0 + 1e-6),
                11 => tao = 0.0,
                // Just below the buy's cap `tao·(alpha − m)/m/(1 − fee)`, inside the fast test's
                // margin.
                12 => stake = tao * (alpha - m) / m * (1.0 - 1e-5),
                13 => (stake, unstake) = (1.0e-35, 1.0e-35),
                14 => alpha = m * (1.0 + 1e-6),
                _ => {}
            }
            s.tao[i] = R::of(tao);
            s.alpha[i] = R::of(alpha);
            s.w_quote[i] = R::of(0.5 - 0.01 * (i % 3) as f64);
            s.held_organic[i] = R::of(held);
            s.alpha_out[i] = R::of(3.0e6 * jitter);
            s.flow[i] = R::of(7.0 / jitter);
            orders.push(Orders { stake_tao: R::of(stake), unstake_alpha: R::of(unstake) });
        }
        batch
    }

    /// [`swaps`] (lanes where they apply) against [`swaps_per_subnet`]: the same bits in every
    /// state word and total, in both precisions, with both pool kinds (the Balancer goes one
    /// subnet at a time) and with the default fee and none.
    fn check_lanes<R: Real>() {
        let mut params = StepParams::default();
        let mut orders = Vec::new();
        let mut lane_cut = false;
        for amm in [AmmKind::ConstantProduct, AmmKind::Balancer] {
            params.chain.amm = amm;
            for fee in [params.chain.fee_rate, 0.0] {
                params.chain.fee_rate = fee;
                let mut by_lanes = mixed_path::<R>(&mut orders);
                let mut by_subnet = by_lanes.clone();
                let lane_totals = swaps(&params, &orders, &mut by_lanes.path(0));
                let totals = swaps_per_subnet(&params, &orders, &mut by_subnet.path(0));
                lane_cut |= lane_totals.cut != 0;

                let case = format!("{amm:?} fee {fee}");
                assert_same_path_bits(&by_lanes, &by_subnet, &case);
                let t = |t: &SwapTotals<R>| (real_bits(&[t.tao_in, t.tao_out]), t.cut);
                assert_eq!(t(&lane_totals), t(&totals), "{case}: totals");
            }
        }
        assert!(lane_cut, "some order is cut");
    }

    #[test]
    fn lanes_are_the_per_subnet_form_bit_for_bit_f64() {
        check_lanes::<f64>();
    }

    #[test]
    fn lanes_are_the_per_subnet_form_bit_for_bit_f32() {
        check_lanes::<f32>();
    }
}
