//! Stage `injection` (model.md §3 item 4, chain.md §3): mints the step's emission into the pools.
//!
//! Per eligible subnet, for the step's n blocks at the (unchanged) pool price: `tao_in` and
//! `alpha_in` with the era's cap go into the pool (price-neutral), the excess TAO buys alpha
//! fee-less and that alpha is recycled, and the subnet's alpha emission is minted as alpha_out and
//! split into owner, miner, validator and root parts held pending until the epoch. TAO issuance
//! grows by what was actually minted, so a step in which every share is zero mints no TAO.
//! The excess is bought once per step with n blocks' worth (on the chain, once per block): the
//! difference is the curvature of the pool over one step's chain buys.
//!
//! # CPU form (the shader's arithmetic; the sums in its order at 8 lanes)
//! [`injection_per_subnet`] injects one subnet after the other (`inject_one`), as the WGSL stage
//! does per invocation. On a constant-product pool, [`injection`] takes 16 subnets at a time
//! (`inject_group`): the same steps, each over every lane in a loop of its own on the group's
//! columns in place (each loop writes local arrays, and the settled lanes are stored one column
//! per loop), in a [`Kernel`] at the CPU's widest vectors, with the branch-free forms of
//! the per-subnet form's three general calls: [`halvings_below`] for [`halvings`],
//! [`amm::constant_product_purchase`] for [`amm::buy`] and [`emission_whole_level`] for
//! [`emission_over_blocks_at`]. One subnet at a time the stage is a chain of dependent divisions,
//! loops and table lookups (17% of the light step's time); the lanes take a fifth off it
//! (docs/performance.md, session 22). A lane where a branch-free form is not what the general
//! call computes (an issuance past the fifth halving, a halving crossed within the step, a chain
//! buy its cap may cut) keeps its values and is redone by `inject_one`; an ineligible lane keeps
//! its values. The share sum and the TAO minted (compensated) are summed in slot lanes either
//! way (`lanes::SlotSum`, `lanes::CompensatedSlotSum`: the shader's lane order at 8 lanes), so
//! both forms give the same bits, which the tests check in f64 and f32 at every SIMD level.
//!
//! The steps are written out twice, once per subnet and once per lane group, because one loop
//! over the lanes with the per-subnet expression inside (the `swaps` stage's form) was not
//! vectorised: the compiler put the divisions back into branches. The primitives they call are
//! shared, and those with a branch around a division or a table load ([`safe_div`],
//! [`injection_terms`], the constant product's [`amm::inject`], [`emission_for_halvings`]) take
//! every candidate first and then select, so that a lane's loop vectorises.
//!
//! [`safe_div`]: crate::real::safe_div

use crate::Real;
use crate::lanes::{CompensatedSlotSum, SlotSum, subnet_lanes};
use crate::model::amm::{self, Pool};
use crate::model::emission::{
    LaneLevel, emission_for_halvings, emission_over_blocks, emission_over_blocks_at,
    emission_whole_level, halvings, halvings_below,
};
use crate::model::injection::{
    InjectionRule, alpha_out_split, injection_terms, root_proportion, root_sell_flag,
};
use crate::params::AmmKind;
use crate::simd::{self, Kernel, SimdLevel};
use crate::state::{PathState, SubnetReal};

use super::StepParams;

/// Subnets per call of `inject_lanes`: two AVX-512 registers of f64 (at 8, one, the lanes' loops
/// were not vectorised).
const INJECTION_LANES: usize = 16;

// A subnet's injection columns as plain values (`InjectionBooks`) and a lane group of them
// borrowed in place (`InjectionLanes`), on which the lanes run (the macro's local copy,
// `InjectionColumns`, is not used: in place, one column per write-back loop, costs less).
subnet_lanes!(
    InjectionBooks,
    InjectionLanes,
    InjectionColumns,
    INJECTION_LANES;
    tao,
    alpha,
    w_quote,
    alpha_out,
    share,
    pending_owner,
    pending_server,
    pending_validator,
    pending_root,
    protocol_flow,
);

/// A step's injection constants, the same for every subnet of a path.
#[derive(Clone, Copy, Debug)]
struct InjectionTerms<R> {
    amm: AmmKind,
    rule: InjectionRule,
    /// Blocks in the step, `n`, and as a real.
    n: u32,
    blocks: R,
    /// The network's block emission E over the step, per block.
    emission_per_block: R,
    tao_weight: f64,
    root_tao: R,
    owner_cut: f64,
    sell_root: bool,
    min_reserve: R,
}

/// Injects subnet `i`'s emission, one subnet at a time (the reference form), and adds the TAO
/// minted to `minted` (the caller skips ineligible slots).
fn inject_one<R: Real>(
    terms: &InjectionTerms<R>,
    s: &mut SubnetReal<'_, R>,
    i: usize,
    minted: &mut CompensatedSlotSum<R>,
) {
    let mut b = InjectionBooks::read(s, i);
    let mut pool = Pool::weighted(b.tao, b.alpha, b.w_quote);
    let price = amm::price(terms.amm, &pool);
    let issuance = b.alpha + b.alpha_out;
    let root_prop = root_proportion(terms.tao_weight, terms.root_tao, issuance);
    // The subnet's halving level, shared by its block emission and its alpha emission.
    let level = halvings(issuance);
    let injected = injection_terms(
        terms.rule,
        b.share * terms.emission_per_block,
        price,
        emission_for_halvings(level),
        terms.emission_per_block,
        root_prop,
    );
    let blocks = terms.blocks;
    let added =
        amm::inject(terms.amm, &mut pool, injected.tao_in * blocks, injected.alpha_in * blocks);
    // The chain buy is fee-less and its alpha is recycled (it never reaches a holder).
    let excess = injected.excess_tao * blocks;
    let chain_buy = amm::buy(terms.amm, &mut pool, excess, R::zero(), terms.min_reserve);
    // alpha_out = the alpha block emission, every block, whatever the TAO share.
    let alpha_out =
        emission_over_blocks_at(issuance, level, terms.n, R::one(), injected.alpha_in).emitted;
    let split = alpha_out_split(alpha_out, terms.owner_cut, root_prop, terms.sell_root);

    b.tao = pool.tao;
    b.alpha = pool.alpha;
    b.w_quote = pool.w_quote;
    // Recycled root alpha and the chain buy's alpha leave the counters (and so the issuance).
    b.alpha_out += alpha_out - split.recycled;
    b.pending_owner += split.owner;
    b.pending_server += split.server;
    b.pending_validator += split.validator;
    b.pending_root += split.root;
    // Net-flow era: injected TAO and chain buys count as protocol inflow (chain.md §2.4).
    let tao_minted = added.tao_added + chain_buy.input_used;
    b.protocol_flow += tao_minted;
    b.write(s, i);
    minted.add(i, tao_minted);
}

/// Injects the eligible subnets among `first .. first + INJECTION_LANES` of a constant-product
/// path, bit for bit as `inject_one` one after the other (module docs): the lanes on the group's
/// columns in a [`Kernel`] ([`InjectGroup`]), then the minted TAO into the
/// slot lanes, with the lanes the branch-free forms could not settle redone by `inject_one`.
fn inject_lanes<R: Real>(
    level: SimdLevel,
    terms: &InjectionTerms<R>,
    s: &mut SubnetReal<'_, R>,
    eligible: &[u32],
    first: usize,
    minted: &mut CompensatedSlotSum<R>,
) {
    let eligible: [bool; INJECTION_LANES] = core::array::from_fn(|k| eligible[first + k] != 0);
    let (added, settled) =
        simd::run_at(level, InjectGroup { terms, lanes: InjectionLanes::of(s, first), eligible });
    for k in 0..INJECTION_LANES {
        if settled[k] {
            minted.add(first + k, added[k]);
        } else if eligible[k] {
            inject_one(terms, s, first + k, minted);
        }
    }
}

/// [`inject_lanes`]' evaluation of a group on its columns in place, a [`Kernel`]: each
/// lane's TAO minted and whether the lane was settled here. A lane that is ineligible or not
/// settled keeps its values.
struct InjectGroup<'a, 'b, R> {
    terms: &'a InjectionTerms<R>,
    lanes: InjectionLanes<'b, R>,
    eligible: [bool; INJECTION_LANES],
}

impl<R: Real> Kernel for InjectGroup<'_, '_, R> {
    type Output = ([R; INJECTION_LANES], [bool; INJECTION_LANES]);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let InjectGroup { terms, mut lanes, eligible } = self;
        inject_group(terms, &mut lanes, &eligible)
    }
}

/// [`InjectGroup`]'s lanes on the group's columns `c`: the steps of `inject_one`, each over
/// every lane in a loop of its own that writes local arrays, then the settled lanes stored one
/// column per loop, with the branch-free forms of its three general calls (module
/// docs).
#[inline(always)]
fn inject_group<R: Real>(
    terms: &InjectionTerms<R>,
    c: &mut InjectionLanes<'_, R>,
    eligible: &[bool; INJECTION_LANES],
) -> ([R; INJECTION_LANES], [bool; INJECTION_LANES]) {
    const L: usize = INJECTION_LANES;
    let zeros = [R::zero(); L];
    let blocks = terms.blocks;
    let (mut price, mut issuance, mut root_prop) = (zeros, zeros, zeros);
    // The levels' fields in arrays of their own (an array of `LaneLevel`s interleaves them).
    let (mut halvings_now, mut level_exact) = ([0_u32; L], [false; L]);
    let (mut level_emission, mut next_threshold) = (zeros, zeros);
    for k in 0..L {
        let pool = Pool::weighted(c.tao[k], c.alpha[k], c.w_quote[k]);
        price[k] = amm::price(AmmKind::ConstantProduct, &pool);
        issuance[k] = c.alpha[k] + c.alpha_out[k];
        root_prop[k] = root_proportion(terms.tao_weight, terms.root_tao, issuance[k]);
        let level = halvings_below(issuance[k]);
        (halvings_now[k], level_exact[k]) = (level.halvings, level.exact);
        (level_emission[k], next_threshold[k]) = (level.emission, level.next_threshold);
    }
    let (mut tao_in, mut alpha_in, mut excess) = (zeros, zeros, zeros);
    for k in 0..L {
        let injected = injection_terms(
            terms.rule,
            c.share[k] * terms.emission_per_block,
            price[k],
            level_emission[k],
            terms.emission_per_block,
            root_prop[k],
        );
        (tao_in[k], alpha_in[k], excess[k]) =
            (injected.tao_in, injected.alpha_in, injected.excess_tao);
    }
    let (mut pool_tao, mut pool_alpha, mut minted) = (zeros, zeros, zeros);
    for k in 0..L {
        let mut pool = Pool::weighted(c.tao[k], c.alpha[k], c.w_quote[k]);
        let kind = AmmKind::ConstantProduct;
        let added = amm::inject(kind, &mut pool, tao_in[k] * blocks, alpha_in[k] * blocks);
        (pool_tao[k], pool_alpha[k], minted[k]) = (pool.tao, pool.alpha, added.tao_added);
    }
    let mut settled = [false; L];
    for k in 0..L {
        let pool = Pool::weighted(pool_tao[k], pool_alpha[k], c.w_quote[k]);
        let (bought, chain_buy, uncut) =
            amm::constant_product_purchase(pool, excess[k] * blocks, R::zero(), terms.min_reserve);
        (pool_tao[k], pool_alpha[k]) = (bought.tao, bought.alpha);
        minted[k] += chain_buy.input_used;
        settled[k] = uncut & level_exact[k] & eligible[k];
    }
    let mut alpha_out = zeros;
    for k in 0..L {
        let level = LaneLevel {
            halvings: halvings_now[k],
            emission: level_emission[k],
            next_threshold: next_threshold[k],
            exact: level_exact[k],
        };
        let (emitted, whole) =
            emission_whole_level(issuance[k], &level, terms.n, R::one(), alpha_in[k]);
        alpha_out[k] = emitted.emitted;
        settled[k] &= whole;
    }
    let (mut kept, mut owner, mut server) = (zeros, zeros, zeros);
    let (mut validator, mut root) = (zeros, zeros);
    for k in 0..L {
        let split = alpha_out_split(alpha_out[k], terms.owner_cut, root_prop[k], terms.sell_root);
        kept[k] = alpha_out[k] - split.recycled;
        (owner[k], server[k]) = (split.owner, split.server);
        (validator[k], root[k]) = (split.validator, split.root);
    }
    // A lane not settled keeps its values (the per-subnet form redoes it). One loop per column:
    // each touches a single borrowed column (and local arrays), so it vectorises in place,
    // where one loop writing them all cannot tell the columns apart (the local copy the stage
    // used before cost a fifth of its time, docs/performance.md, session 24).
    set_settled(c.tao, &settled, &pool_tao);
    set_settled(c.alpha, &settled, &pool_alpha);
    add_settled(c.alpha_out, &settled, &kept);
    add_settled(c.pending_owner, &settled, &owner);
    add_settled(c.pending_server, &settled, &server);
    add_settled(c.pending_validator, &settled, &validator);
    add_settled(c.pending_root, &settled, &root);
    add_settled(c.protocol_flow, &settled, &minted);
    (minted, settled)
}

/// `column[k] = new[k]` in the settled lanes.
#[inline(always)]
fn set_settled<R: Real>(
    column: &mut [R; INJECTION_LANES],
    settled: &[bool; INJECTION_LANES],
    new: &[R; INJECTION_LANES],
) {
    for k in 0..INJECTION_LANES {
        column[k] = if settled[k] { new[k] } else { column[k] };
    }
}

/// `column[k] += add[k]` in the settled lanes.
#[inline(always)]
fn add_settled<R: Real>(
    column: &mut [R; INJECTION_LANES],
    settled: &[bool; INJECTION_LANES],
    add: &[R; INJECTION_LANES],
) {
    for k in 0..INJECTION_LANES {
        column[k] = if settled[k] { column[k] + add[k] } else { column[k] };
    }
}

/// Injects one step's emission into every eligible subnet of one path. `eligible` comes from the
/// `emission_shares` stage of the same step. Returns the TAO minted. The same bits as
/// [`injection_per_subnet`]; on a constant-product pool, 16 subnets at a time (module docs).
pub fn injection<R: Real>(params: &StepParams, st: &mut PathState<'_, R>, eligible: &[u32]) -> R {
    injection_path(params, st, eligible, Some(SimdLevel::current()))
}

/// [`injection`] one subnet after the other, as the WGSL stage runs it: the reference form.
pub fn injection_per_subnet<R: Real>(
    params: &StepParams,
    st: &mut PathState<'_, R>,
    eligible: &[u32],
) -> R {
    injection_path(params, st, eligible, None)
}

/// [`injection`], with the lanes where they apply compiled for `lanes`, or (`None`) one subnet
/// at a time.
fn injection_path<R: Real>(
    params: &StepParams,
    st: &mut PathState<'_, R>,
    eligible: &[u32],
    lanes: Option<SimdLevel>,
) -> R {
    let chain = &params.chain;
    let n = params.blocks_per_step;
    let blocks = R::of(f64::from(n));
    let s = &mut st.sub;

    let mut share_sum = SlotSum::default();
    for i in 0..s.share.len() {
        share_sum.add(i, s.share[i]);
    }
    let share_sum = share_sum.value();
    // TAO grows by Σshares·E per block (1·E, or nothing when every share is zero, chain.md §1).
    let network = emission_over_blocks(st.global.issuance[0], n, share_sum, R::zero());
    let terms = InjectionTerms {
        amm: chain.amm,
        rule: InjectionRule::for_regime(chain.regime),
        n,
        blocks,
        emission_per_block: network.emitted / blocks,
        tao_weight: chain.tao_weight,
        root_tao: st.global.root_tao[0],
        owner_cut: chain.owner_cut,
        sell_root: root_sell_flag(&*s.moving_price, eligible),
        min_reserve: R::of(chain.min_reserve),
    };

    let mut minted = CompensatedSlotSum::<R>::default();
    let slots = s.tao.len();
    // The lanes' chain buy is the constant product's; the rest of the slots go one at a time.
    let lanes = lanes.filter(|_| terms.amm == AmmKind::ConstantProduct);
    let lane_slots = if lanes.is_some() { slots - slots % INJECTION_LANES } else { 0 };
    if let Some(level) = lanes {
        for first in (0..lane_slots).step_by(INJECTION_LANES) {
            inject_lanes(level, &terms, s, eligible, first, &mut minted);
        }
    }
    for i in lane_slots..slots {
        if eligible[i] != 0 {
            inject_one(&terms, s, i, &mut minted);
        }
    }
    let minted = minted.value();
    st.global.issuance[0] += minted;
    st.global.tao_minted[0] += minted;
    minted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::{assert_same_path_bits, real_bits};
    use crate::model::emission::halving_threshold;
    use crate::params::{EmissionRegime, MIN_RESERVE};
    use crate::state::BatchState;

    /// Slot `i < SITUATIONS · INJECTION_LANES` meets situation `i % SITUATIONS` in
    /// [`mixed_path`]: odd, so each situation meets every lane position, beside others.
    const SITUATIONS: usize = 15;

    /// Slots after the mixed ones: two whole groups of typical subnets (every lane settled by the
    /// lanes) and a partial group at the end (one subnet at a time).
    const TYPICAL: usize = 2 * INJECTION_LANES + 5;

    /// One path covering every branch of a subnet's injection, and its eligibility: a typical
    /// subnet (its alpha in capped), an ineligible one, an empty alpha reserve and an empty TAO
    /// reserve (no price), no share, a share whose alpha in is not capped, a chain buy at the
    /// reserve floor (cut), an alpha issuance just below the first halving (crossed within the
    /// step), at it, at the second level, past the fifth, with no alpha out yet, a pool of a
    /// billion TAO, an issuance at the fifth halving and a NaN one. `moving_price` sets the root sell flag (its sum over the slots is above one
    /// or not).
    fn mixed_path<R: Real>(moving_price: f64) -> (BatchState<R>, Vec<u32>) {
        let slots = SITUATIONS * INJECTION_LANES + TYPICAL;
        let mut batch = BatchState::<R>::zeroed(1, slots);
        let mut st = batch.path(0);
        st.global.issuance[0] = R::of(8.0e6);
        st.global.root_tao[0] = R::of(5.0e6);
        let mut eligible = vec![1_u32; slots];
        let s = &mut st.sub;
        let first_halving = halving_threshold::<f64>(1);
        for i in 0..slots {
            let jitter = 1.0 + 0.013 * i as f64;
            let (mut tao, mut alpha, mut alpha_out) = (5_000.0 * jitter, 2.0e6 / jitter, 3.0e6);
            let mut share = 0.01 / jitter;
            st.sub_int.active[i] = 1;
            let situation = if i < SITUATIONS * INJECTION_LANES { i % SITUATIONS } else { 0 };
            match situation {
                1 => eligible[i] = 0,
                2 => alpha = 0.0,
                3 => tao = 0.0,
                4 => share = 0.0,
                // The price above the share: alpha in below the cap, no chain buy.
                5 => (tao, alpha) = (4.0e6, 1.0e3),
                6 => alpha = MIN_RESERVE * (1.0 + 1e-9),
                // 200 blocks of growth below the first halving.
                7 => alpha_out = first_halving - alpha - 200.0,
                8 => alpha_out = first_halving - alpha,
                9 => alpha_out = 16.0e6 - alpha,
                10 => alpha_out = 20.5e6,
                11 => alpha_out = 0.0,
                12 => tao = 1.0e9,
                // An issuance at the fifth halving, and none at all (NaN: the lanes' level is
                // not exact, and with it their cap would differ).
                13 => alpha_out = halving_threshold::<f64>(5) - alpha,
                14 => alpha_out = f64::NAN,
                _ => {}
            }
            s.tao[i] = R::of(tao);
            s.alpha[i] = R::of(alpha);
            s.w_quote[i] = R::of(0.5 - 0.01 * (i % 3) as f64);
            s.alpha_out[i] = R::of(alpha_out);
            s.share[i] = R::of(share);
            s.moving_price[i] = R::of(moving_price);
            s.pending_owner[i] = R::of(10.0 * jitter);
            s.pending_server[i] = R::of(20.0 / jitter);
            s.pending_validator[i] = R::of(30.0 * jitter);
            s.pending_root[i] = R::of(4.0);
            s.protocol_flow[i] = R::of(-2.0 * jitter);
        }
        (batch, eligible)
    }

    /// [`injection`] (lanes where they apply, at every SIMD level this CPU runs) against
    /// [`injection_per_subnet`]: the same bits in every state word and in the TAO minted, in
    /// every injection rule, with the root sell flag on and off, with and without root weight,
    /// with both pool kinds (the Balancer goes one subnet at a time). The mixed groups' lanes
    /// must include settled and unsettled ones, so both paths are taken.
    fn check_lanes<R: Real>() {
        let mut params = StepParams::default();
        let regimes =
            [EmissionRegime::PriceEma, EmissionRegime::Taoflow, EmissionRegime::PriceBurn];
        for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
            for (amm, regime, moving_price, tao_weight) in every_case(regimes) {
                params.chain.amm = amm;
                params.chain.regime = regime;
                params.chain.tao_weight = tao_weight;
                let (mut by_lanes, eligible) = mixed_path::<R>(moving_price);
                let mut by_subnet = by_lanes.clone();
                let lanes = injection_path(&params, &mut by_lanes.path(0), &eligible, Some(level));
                let per_subnet = injection_per_subnet(&params, &mut by_subnet.path(0), &eligible);
                let case =
                    format!("{level}, {amm:?}, {regime:?}, P̄ {moving_price}, τw {tao_weight}");
                assert_same_path_bits(&by_lanes, &by_subnet, &case);
                assert_eq!(real_bits(&[lanes]), real_bits(&[per_subnet]), "{case}: minted");
            }
        }
    }

    /// Every combination of pool kind, regime, moving price (root sell flag off and on) and root
    /// weight.
    fn every_case(
        regimes: [EmissionRegime; 3],
    ) -> impl Iterator<Item = (AmmKind, EmissionRegime, f64, f64)> {
        [AmmKind::ConstantProduct, AmmKind::Balancer].into_iter().flat_map(move |amm| {
            regimes.into_iter().flat_map(move |regime| {
                [1e-4, 0.5].into_iter().flat_map(move |moving_price| {
                    [0.18, 0.0].map(move |tao_weight| (amm, regime, moving_price, tao_weight))
                })
            })
        })
    }

    #[test]
    fn lanes_are_the_per_subnet_form_bit_for_bit_f64() {
        check_lanes::<f64>();
    }

    #[test]
    fn lanes_are_the_per_subnet_form_bit_for_bit_f32() {
        check_lanes::<f32>();
    }

    /// The mixed groups leave some lanes to the per-subnet form and settle the others, and the
    /// typical groups settle every lane: what [`check_lanes`] compares covers both paths.
    #[test]
    fn mixed_groups_settle_some_lanes_and_typical_groups_all() {
        let params = StepParams::default();
        let (mut batch, eligible) = mixed_path::<f64>(0.5);
        let mut st = batch.path(0);
        let terms = InjectionTerms {
            amm: AmmKind::ConstantProduct,
            rule: InjectionRule::for_regime(params.chain.regime),
            n: params.blocks_per_step,
            blocks: f64::from(params.blocks_per_step),
            emission_per_block: 1.0,
            tao_weight: params.chain.tao_weight,
            root_tao: st.global.root_tao[0],
            owner_cut: params.chain.owner_cut,
            sell_root: true,
            min_reserve: params.chain.min_reserve,
        };
        let slots = st.sub.tao.len();
        for first in (0..slots - slots % INJECTION_LANES).step_by(INJECTION_LANES) {
            let group: [bool; INJECTION_LANES] = core::array::from_fn(|k| eligible[first + k] != 0);
            let lanes = InjectionLanes::of(&mut st.sub, first);
            let (_, settled) = InjectGroup { terms: &terms, lanes, eligible: group }.run();
            if first < SITUATIONS * INJECTION_LANES {
                assert!(settled.contains(&true) && settled.contains(&false), "group {first}");
            } else {
                assert!(!settled.contains(&false), "typical group {first}");
            }
        }
    }
}
