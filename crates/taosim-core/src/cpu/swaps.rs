//! Stage `swaps` (model.md §3 item 2): executes one step's aggregated stake and unstake orders.
//!
//! Buys first, then sells, each aggregated per holder class, against the subnet's AMM with the
//! input fee. TAO staked in adds to the flow accumulator, TAO unstaked out subtracts (chain.md
//! §2.3, `stake_into_subnet` / `unstake_from_subnet`: the amount that entered the pool net of the
//! fee, the amount paid to the user). Emission, chain buys and root claims never pass here.
//!
//! # CPU form (the shader's arithmetic; the totals in its order at 8 lanes)
//! [`swaps_per_subnet`] swaps one subnet after the other (`swap_one`, with [`amm::buy`] and
//! [`amm::sell`]), as the WGSL stage does per invocation. On a constant-product pool, [`swaps`]
//! takes 32 subnets at a time (`swap_group`): the same steps, the purchase of every lane in one
//! loop and the sale in the next, on a local copy of the group's columns in a [`Kernel`] at the
//! CPU's widest vectors, with the branch-free [`amm::constant_product_purchase`] and
//! [`amm::constant_product_sale`]. One subnet at a time (and in scalar lanes, as before session
//! 23) the stage was some 150 instructions a subnet; one loop with the per-subnet steps inside, or
//! 8 lanes, or the orders interleaved as [`Orders`], each kept the loops scalar or partly so
//! (docs/performance.md, session 23). A lane where a swap is not what the per-subnet form computes
//! (an order its cap may cut, a reserve at the floor) keeps its values and is redone by the
//! per-subnet form; an inactive lane keeps its values and adds nothing. The path's totals add
//! each subnet's amounts into its slot lane (`lanes::SlotSum`, the shader's `lanes_sum` order at
//! 8 lanes), as one subnet at a time does (the sums are not associative), so both forms give the
//! same bits, which the tests check in f64 and f32 at every SIMD level.

use crate::Real;
use crate::lanes::{SlotSum, subnet_lanes};
use crate::model::amm::{self, Pool};
use crate::params::AmmKind;
use crate::simd::{self, Kernel, SimdLevel};
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

/// Subnets per call of `swap_lanes`: four AVX-512 registers of f64. At 8 (one register) the
/// loops stayed scalar; 16 was slower at AVX-512 and at SSE2, a little faster at AVX2
/// (docs/performance.md, session 23).
const SWAP_LANES: usize = 32;

// A subnet's swap columns as plain values (`SwapBooks`), a lane group of them borrowed in place
// (`SwapLanes`) and its local copy (`SwapColumns`), on which the lanes run.
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
/// `totals` (the caller skips inactive slots): buys first, then sells at most what organic
/// holders then hold.
fn swap_one<R: Real>(
    terms: &SwapTerms<R>,
    s: &mut SubnetReal<'_, R>,
    i: usize,
    orders: Orders<R>,
    totals: &mut SwapSums<R>,
) {
    let (amm, fee, min_reserve) = (terms.amm, terms.fee, terms.min_reserve);
    let mut b = SwapBooks::read(s, i);
    let mut pool = Pool::weighted(b.tao, b.alpha, b.w_quote);

    let buy = amm::buy(amm, &mut pool, orders.stake_tao, fee, min_reserve);
    b.held_organic += buy.output;
    b.alpha_out += buy.output;
    b.flow += buy.input_used - buy.fee;

    let want = orders.unstake_alpha.min(b.held_organic);
    let sell = amm::sell(amm, &mut pool, want, fee, min_reserve);
    b.held_organic -= sell.input_used;
    b.alpha_out -= sell.input_used;
    b.flow -= sell.output;

    b.tao = pool.tao;
    b.alpha = pool.alpha;
    b.w_quote = pool.w_quote;
    b.write(s, i);
    let added = SwapAdded {
        tao_in: buy.input_used,
        tao_out: sell.output + buy.author_tao + sell.author_tao,
        cut: buy.cut || sell.cut,
    };
    added.add_to(totals, i);
}

/// Swaps the active subnets among `first .. first + SWAP_LANES` of a constant-product path, bit
/// for bit as [`swap_one`] one after the other (module docs): the lanes in a [`Kernel`] compiled
/// for `level` ([`SwapCopy`]), then each lane's amounts into the totals; a lane that is inactive
/// or inexact kept its values, and the latter is now redone by [`swap_one`].
fn swap_lanes<R: Real>(
    level: SimdLevel,
    terms: &SwapTerms<R>,
    s: &mut SubnetReal<'_, R>,
    active: &[u32],
    orders: &[Orders<R>],
    first: usize,
    totals: &mut SwapSums<R>,
) {
    let group = &orders[first..first + SWAP_LANES];
    let stake = core::array::from_fn(|k| group[k].stake_tao);
    let unstake = core::array::from_fn(|k| group[k].unstake_alpha);
    let lane_active: [bool; SWAP_LANES] = core::array::from_fn(|k| active[first + k] != 0);
    let lanes = SwapLanes::of(s, first);
    let kernel = SwapCopy { terms, lanes, stake, unstake, lane_active };
    let (added, settled) = simd::run_at(level, kernel);
    for k in 0..SWAP_LANES {
        if settled[k] {
            added[k].add_to(totals, first + k);
        } else if lane_active[k] {
            swap_one(terms, s, first + k, orders[first + k], totals);
        }
    }
}

/// [`swap_lanes`]' evaluation of a group on a local copy of its columns, a [`Kernel`]: each
/// lane's amounts and whether the lane was settled here.
struct SwapCopy<'a, 'b, R> {
    terms: &'a SwapTerms<R>,
    lanes: SwapLanes<'b, R>,
    /// The group's orders, a column each ([`Orders`] interleaves them, which kept a lane of
    /// each loop scalar).
    stake: [R; SWAP_LANES],
    unstake: [R; SWAP_LANES],
    lane_active: [bool; SWAP_LANES],
}

impl<R: Real> Kernel for SwapCopy<'_, '_, R> {
    type Output = ([SwapAdded<R>; SWAP_LANES], [bool; SWAP_LANES]);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let SwapCopy { terms, mut lanes, stake, unstake, lane_active } = self;
        let mut columns = SwapColumns::of(&lanes);
        let result = swap_group(terms, &mut columns, (&stake, &unstake), &lane_active);
        columns.store(&mut lanes);
        result
    }
}

/// [`SwapCopy`]'s lanes on the group's local columns `c`: `swap_one`'s steps with the branch-free
/// constant-product swaps, the purchase of every lane in one loop and the sale in the next (one
/// loop around the whole expression stayed scalar).
#[inline(always)]
fn swap_group<R: Real>(
    terms: &SwapTerms<R>,
    c: &mut SwapColumns<R>,
    (stake, unstake): (&[R; SWAP_LANES], &[R; SWAP_LANES]),
    active: &[bool; SWAP_LANES],
) -> ([SwapAdded<R>; SWAP_LANES], [bool; SWAP_LANES]) {
    const L: usize = SWAP_LANES;
    let (fee, min_reserve) = (terms.fee, terms.min_reserve);
    let zeros = [R::zero(); L];
    let (mut tao, mut alpha, mut held, mut alpha_out, mut flow) =
        (zeros, zeros, zeros, zeros, zeros);
    let (mut tao_in, mut buy_author) = (zeros, zeros);
    let mut settled = [false; L];
    for k in 0..L {
        let pool = Pool::weighted(c.tao[k], c.alpha[k], c.w_quote[k]);
        let (bought, buy, exact) = amm::constant_product_purchase(pool, stake[k], fee, min_reserve);
        (tao[k], alpha[k]) = (bought.tao, bought.alpha);
        held[k] = c.held_organic[k] + buy.output;
        alpha_out[k] = c.alpha_out[k] + buy.output;
        flow[k] = c.flow[k] + (buy.input_used - buy.fee);
        (tao_in[k], buy_author[k]) = (buy.input_used, buy.author_tao);
        settled[k] = exact & active[k];
    }
    let mut tao_out = zeros;
    for k in 0..L {
        let pool = Pool::weighted(tao[k], alpha[k], c.w_quote[k]);
        let want = unstake[k].min(held[k]);
        let (sold, sale, exact) = amm::constant_product_sale(pool, want, fee, min_reserve);
        settled[k] &= exact;
        tao_out[k] = sale.output + buy_author[k] + sale.author_tao;
        // A lane not settled keeps its values (the per-subnet form redoes it).
        let keep_or = |old: R, new: R| if settled[k] { new } else { old };
        c.tao[k] = keep_or(c.tao[k], sold.tao);
        c.alpha[k] = keep_or(c.alpha[k], sold.alpha);
        c.held_organic[k] = keep_or(c.held_organic[k], held[k] - sale.input_used);
        c.alpha_out[k] = keep_or(c.alpha_out[k], alpha_out[k] - sale.input_used);
        c.flow[k] = keep_or(c.flow[k], flow[k] - sale.output);
    }
    let added =
        core::array::from_fn(|k| SwapAdded { tao_in: tao_in[k], tao_out: tao_out[k], cut: false });
    (added, settled)
}

/// Applies `orders[i]` to subnet `i` of one path. Inactive slots ignore their orders. A sell is
/// capped at what organic holders hold. The same bits as [`swaps_per_subnet`]; on a
/// constant-product pool, 32 subnets at a time (module docs).
pub fn swaps<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
) -> SwapTotals<R> {
    swap_path(params, orders, st, Some(SimdLevel::current()))
}

/// [`swaps`] one subnet after the other, as the WGSL stage runs it: the reference form.
pub fn swaps_per_subnet<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
) -> SwapTotals<R> {
    swap_path(params, orders, st, None)
}

/// [`swaps`], with the lanes where they apply compiled for `lanes`, or (`None`) one subnet at a
/// time.
fn swap_path<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
    lanes: Option<SimdLevel>,
) -> SwapTotals<R> {
    let terms = SwapTerms::of(params);
    let mut totals = SwapSums::default();
    let slots = st.sub.tao.len();
    // The lanes' swaps are the constant product's; the rest of the slots go one at a time.
    let lanes = lanes.filter(|_| terms.amm == AmmKind::ConstantProduct);
    let lane_slots = if lanes.is_some() { slots - slots % SWAP_LANES } else { 0 };
    if let Some(level) = lanes {
        for first in (0..lane_slots).step_by(SWAP_LANES) {
            let active = &*st.sub_int.active;
            swap_lanes(level, &terms, &mut st.sub, active, orders, first, &mut totals);
        }
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

    /// The lanes at every SIMD level this CPU runs against [`swaps_per_subnet`]: the same bits
    /// in every state word and total, in both precisions, with both pool kinds (the Balancer goes
    /// one subnet at a time) and with the default fee and none.
    fn check_lanes<R: Real>() {
        let mut params = StepParams::default();
        let mut orders = Vec::new();
        let mut lane_cut = false;
        let levels = SimdLevel::ALL.into_iter().filter(|level| level.is_available());
        for level in levels {
            for amm in [AmmKind::ConstantProduct, AmmKind::Balancer] {
                params.chain.amm = amm;
                for fee in [StepParams::default().chain.fee_rate, 0.0] {
                    params.chain.fee_rate = fee;
                    let mut by_lanes = mixed_path::<R>(&mut orders);
                    let mut by_subnet = by_lanes.clone();
                    let lane_totals =
                        swap_path(&params, &orders, &mut by_lanes.path(0), Some(level));
                    let totals = swaps_per_subnet(&params, &orders, &mut by_subnet.path(0));
                    lane_cut |= lane_totals.cut != 0;

                    let case = format!("{level} {amm:?} fee {fee}");
                    assert_same_path_bits(&by_lanes, &by_subnet, &case);
                    let t = |t: &SwapTotals<R>| (real_bits(&[t.tao_in, t.tao_out]), t.cut);
                    assert_eq!(t(&lane_totals), t(&totals), "{case}: totals");
                }
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
