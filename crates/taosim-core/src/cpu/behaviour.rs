//! Stage `behaviour` (model.md §3 item 1, §8): the stakers' random decisions for one step.
//!
//! The model's own layer (no chain.md section or subtensor file: the chain only executes the
//! orders drawn here, in [`swaps`](super::swaps)). Per step of `dt = blocks_per_step / 7,200`
//! days, every active subnet slot `i` of a path:
//!
//! 1. **Latent quality** `q += quality_drift·dt + quality_sigma·√dt·N + J`, with `J` the sum of
//!    `k ~ Poisson(jump_rate_per_year·dt/365)` jumps of `N(0, jump_sigma²)`, drawn in one normal
//!    as `√k·jump_sigma·N` (the same law, and no loop over `k`).
//! 2. **Global market factor** `g` (once per path, before the subnets): the OU process
//!    `dg = −κ g dt + market_sigma dW`, `κ = ln 2 / market_halflife_days`, stepped exactly:
//!    `g ← g e^{−κ dt} + market_sigma·√((1 − e^{−2κ dt}) / (2κ))·N`. Its stationary standard
//!    deviation is `market_sigma / √(2κ)`, and its lag-one-step autocorrelation `e^{−κ dt}`.
//! 3. **Momentum** `m`: EMA with half-life `momentum_halflife_days` of the per-day log return
//!    `r = ln(p / prev_price) / dt` over the previous step (`p` = spot price now); `r = 0` while
//!    either price is not positive (a fresh slot). `prev_price` is then set to `p`.
//! 4. **Yield** `y = dividend_rate · 365/dt`: `dividend_rate` is the last payout's dividend per
//!    staked alpha, which at the default 361 blocks per step is one epoch's and is written every
//!    step, so `365/dt` steps a year annualise it. `ȳ` is the pool-TAO-weighted mean over the
//!    active subnets.
//! 5. **Attractiveness** `a = beta_quality·q + beta_momentum·m + beta_yield·(y − ȳ) + g −
//!    beta_zero_share·[share = 0]`, clamped to `±max_attractiveness` (config): the feedbacks
//!    (momentum, and the yield of a new subnet whose first stakers share all dividends) would
//!    otherwise run away, and `exp(±a)` must stay finite in f32.
//! 6. **Organic inflow** (TAO) `inflow_tao_per_day·dt·size^size_elasticity·e^a·LN`, with
//!    `size` = pool TAO / mean pool TAO over the active subnets and `LN = e^{σN − σ²/2}` the
//!    mean-one lognormal of `flow_noise` (so the noise changes no expectation), at most
//!    [`MAX_STEP_INFLOW`] (the TAO supply: the formula is unbounded as a pool drains when the
//!    elasticity is negative).
//! 7. **Selling by organic holders** as competing hazards per day: outflow
//!    `outflow_rate_per_day·e^{−a}·LN'`, plus `panic_rate_per_day` while the drawdown
//!    `1 − p / peak_price ≥ panic_drawdown`, plus `zero_emission_exit_per_day` once the
//!    zero-share streak `zero_share_steps·dt ≥ zero_emission_patience_days` (and the streak is
//!    at least one step, so a zero patience does not make holders leave subnets that earn). The
//!    step sells `held_organic·(1 − e^{−h·dt})` of the alpha for the total hazard `h`: the
//!    spec's `held·rate·dt` to first order, but it never sells more than is held and compounds
//!    over steps exactly as it would per block (two steps of `dt` sell what one of `2dt` does).
//! 8. **Whales**: `Poisson(whale_rate_per_year·dt/365)` orders, at most [`WHALES_PER_STEP_MAX`]
//!    a step, each of lognormal size (median `whale_size_median` TAO, log-sd `whale_size_sigma`)
//!    and at most [`MAX_WHALE_ORDER`] (the TAO supply), entering (stake that TAO) or exiting
//!    (unstake that TAO's worth of alpha at the spot price) with equal odds.
//! 9. **Revenue buybacks**: `buyback_per_day·dt` TAO staked (state field, set by the engine).
//!
//! The orders of slot `i` are `stake_tao` = inflow + whale entries + buyback and
//! `unstake_alpha` = min(sold + whale exits, `held_organic`); inactive slots get empty orders.
//!
//! Once per path: a **registration arrival** when `Poisson(rate_per_day·dt) ≥ 1`, with a
//! willingness to pay `lognormal(ln willingness_median, willingness_sigma)`. Two or more arrivals
//! in one step count as one, because the network rate limit (28,800 blocks = 4 days) lets at most
//! one of them register in a step of any allowed length below that.
//!
//! # Random draws
//! Every draw is one Philox block at `(step, subnet, stream)` (see [`crate::rng`]), so a path's
//! orders do not depend on threads, batches or the order in which paths or subnets are processed:
//!
//! | draw | subnet | stream | words |
//! |---|---|---|---|
//! | market innovation | `GLOBAL_SUBNET` | `MARKET` | 0 (normal) |
//! | quality diffusion, inflow noise, outflow noise, quality jump size | `i` | `BEHAVIOUR_NORMALS` | 0, 1, 2, 3 (one normal each) |
//! | quality jump count, whale count | `i` | `BEHAVIOUR_COUNTS` | 0, 1 (Poisson); 2, 3 (Poisson) |
//! | whale directions (only when the whale count is > 0) | `i` | `WHALE` | bit `j` of word 3 (exit if 1) |
//! | whale sizes (only when the whale count is > 0) | `i` | `WHALE_SIZE` | word `j` for whale `j` (normal) |
//! | registration count, willingness | `GLOBAL_SUBNET` | `REGISTRATION` | 0, 1 (Poisson); 2 (normal) |
//!
//! So an active subnet costs two Philox blocks a step (four in the rare step with whale orders).
//! It used to cost five, one per draw (`QUALITY_JUMP`, `FLOW_NOISE`, `OUTFLOW_NOISE`
//! and `WHALE`'s count, now retired or moved; [`crate::rng::stream`] keeps their ids reserved),
//! of which it read about six words: the same laws, other words (docs/performance.md).
//!
//! Each normal is one word inverted, [`normal_icdf`] (Acklam's quantile: in 95% of draws one
//! rational function and no transcendental call). Box–Muller, used before, spent a `ln`, a
//! `cos` and a `sqrt` per normal with the other half unused: 17% of the light step's time
//! (docs/performance.md).
//!
//! Panic, exodus and buybacks are deterministic given the state, so `PANIC`,
//! `ZERO_EMISSION_EXIT` and `BUYBACK` are not read (they stay reserved for noisy variants).
//!
//! # WGSL twin
//! The step constants ([`BehaviourCoefficients`]) are computed once on the host in f64 and would
//! be uniforms; the kernel is two loops over the slots (the means, then the orders), with no
//! allocation and no data-dependent loop bound beyond the fixed [`WHALES_PER_STEP_MAX`]. This
//! stage never touches the pools, the running peak or the zero-share streak (the metrics stage
//! owns those); it writes `quality`, `momentum`, `prev_price`, the market factor and `orders`.
//! Where this CPU form differs from the shader, for speed, the results are bit for bit the same:
//! the Poisson samplers ([`Poisson`]) take `e^{−λ}` once per step, the quality jump's normal is
//! drawn only when it can change a bit (no jump and a nonzero diffusion add an exact ±0), and the
//! Philox blocks come from [`crate::rng::StepRng`] (the step's fixed part of the first rounds once),
//! the two of every slot filled for a run of slots at a time (vectorised across the slots), so
//! inactive slots' blocks are computed too and not read. The rest of a run of slots is computed
//! side by side too (`SlotRun`, a [`Kernel`] at the CPU's widest vectors): the normals by
//! [`rng::normals_of_words`], the formulas branch-free, and the `ln`/`exp`/`exp_m1` of the
//! momentum, the inflow and the selling by [`crate::vecmath`] in f64 (within an ulp or two of
//! libm's, and the same at every vector width). That last is not libm's bits; the shader's WGSL
//! `exp`/`log` are not either (a few ulps from Rust's), and the parity tests allow for it. The
//! run's kernel also writes every slot's orders as if it had no whale orders; the few slots with
//! whales are redone after it. The means' sums run in slot lanes (`lanes::SlotSum`), the
//! shader's `lanes_sum` order at `PATH_LANES = 8` (one serial chain each before: 2% of the light
//! step, docs/performance.md, session 24).

use crate::Real;
use crate::config::{BehaviourParams, RegistrationParams};
use crate::lanes::SlotSum;
use crate::model::amm::{self, Pool};
use crate::params::{AmmKind, BLOCKS_PER_DAY};
use crate::real::safe_div;
use crate::rng::{self, GLOBAL_SUBNET, PathRng, Poisson, StepRng, normal_icdf, poisson, stream};
use crate::simd::{self, Kernel};
use crate::state::{PathState, SubnetReal};

use super::StepParams;
use super::registration::Arrival;
use super::swaps::Orders;

/// Most whale orders one subnet receives in one step (one Philox block holds four normals).
///
/// The count is clipped here. At the default 4 whales a year and 361 blocks a step the mean count
/// is 5.5e-4, so five or more in one step has probability below 1e-18; the clip only bites for
/// sweeps with thousands of whales a year per subnet.
pub const WHALES_PER_STEP_MAX: u32 = 4;

/// Most organic inflow one subnet receives in one step, TAO: the whole supply.
///
/// The inflow `inflow_step·size^elasticity·e^a·LN` has no bound of its own: with a negative
/// `size_elasticity` and a pool drained towards zero (possible with `chain.min_reserve = 0`),
/// `size^elasticity` overflows, the inflow becomes infinite and the swap that stakes it NaN
/// (found by the engine fuzz, docs/fuzzing.md). No step can stake more TAO than exists; below
/// the cap the inflow is unchanged, bit for bit.
pub const MAX_STEP_INFLOW: f64 = crate::params::TOTAL_SUPPLY;

/// Largest whale order, TAO: the whole supply.
///
/// A lognormal size has no bound of its own: at a large median and log-sd it draws orders of
/// 1e15 TAO and more (overflowing to infinity in f32) against pools of ~1e4, and no one can
/// stake more TAO than exists (the engine fuzz's configs, docs/fuzzing.md, sessions 14 and 18).
/// The config refuses a median above the supply. Below the cap an order is unchanged, bit for
/// bit: the default sizes (median 2000 TAO, log-sd 1) would need a normal of 9.3 to reach it,
/// beyond the largest the draw's 24-bit uniform gives (about 5.4).
pub const MAX_WHALE_ORDER: f64 = crate::params::TOTAL_SUPPLY;

/// Slots whose two Philox blocks are filled in one [`crate::rng::StepRng::fill_block_pairs`]
/// call, and whose orders one [`SlotRun`] computes (128 blocks, 2 KiB on the stack; 128 slots in
/// two runs). A run has fixed costs that longer runs share: the Poisson samplers' `e^{−λ}`, the
/// kernel's call, and a batch of tail words for the normals that a run of 16 slots (48 words,
/// about 2.3 in the tails) filled a third of. Runs of 16 cost the stage a fifth more, runs of 128
/// a tenth more (docs/performance.md, session 22).
const SLOTS_PER_FILL: usize = 64;

/// Days per year, for the per-year rates and the yield's annualisation.
const DAYS_PER_YEAR: f64 = 365.0;

/// The step's constants, derived in f64 from the parameters (a GPU twin's uniforms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BehaviourCoefficients {
    /// Step length dt in days.
    pub dt: f64,
    /// Quality drift over the step, `quality_drift·dt`.
    pub quality_drift_step: f64,
    /// Quality diffusion standard deviation over the step, `quality_sigma·√dt`.
    pub quality_sd_step: f64,
    /// Mean number of quality jumps in the step.
    pub jump_mean: f64,
    /// Standard deviation of one quality jump.
    pub jump_sigma: f64,
    /// Market factor decay over the step, `e^{−κ dt}`.
    pub market_keep: f64,
    /// Market innovation standard deviation, `market_sigma·√((1 − e^{−2κ dt}) / (2κ))`.
    pub market_sd_step: f64,
    /// Momentum EMA keep factor over the step, `2^{−dt / halflife}`.
    pub momentum_keep: f64,
    /// Steps per year, `365 / dt` (annualises a per-step dividend rate).
    pub steps_per_year: f64,
    /// Weight of quality in attractiveness.
    pub beta_quality: f64,
    /// Weight of momentum in attractiveness.
    pub beta_momentum: f64,
    /// Weight of excess annualised yield in attractiveness.
    pub beta_yield: f64,
    /// Attractiveness penalty while the emission share is zero.
    pub beta_zero_share: f64,
    /// Bound on `|a|` (`max_attractiveness`).
    pub attractiveness_cap: f64,
    /// Organic inflow of a mean-size subnet at `a = 0` over the step, TAO.
    pub inflow_step: f64,
    /// Elasticity of inflow to relative pool size.
    pub size_elasticity: f64,
    /// Log-sd of the flow noise.
    pub flow_sigma: f64,
    /// Outflow hazard at `a = 0` over the step, `outflow_rate_per_day·dt`.
    pub outflow_hazard_step: f64,
    /// Drawdown at which holders panic.
    pub panic_drawdown: f64,
    /// Panic hazard over the step, `panic_rate_per_day·dt`.
    pub panic_hazard_step: f64,
    /// Days of zero share before the exodus starts.
    pub patience_days: f64,
    /// Exodus hazard over the step, `zero_emission_exit_per_day·dt`.
    pub exodus_hazard_step: f64,
    /// Mean number of whale orders per subnet in the step.
    pub whale_mean: f64,
    /// Log of the median whale order, TAO.
    pub whale_log_median: f64,
    /// Log-sd of the whale order size.
    pub whale_sigma: f64,
    /// Mean number of registration arrivals in the step.
    pub registration_mean: f64,
    /// Log of the median willingness to pay, TAO.
    pub willingness_log_median: f64,
    /// Log-sd of the willingness to pay.
    pub willingness_sigma: f64,
}

impl BehaviourCoefficients {
    /// The constants of one step of `params.blocks_per_step` blocks.
    pub fn new(params: &StepParams, beh: &BehaviourParams, reg: &RegistrationParams) -> Self {
        let dt = f64::from(params.blocks_per_step) / BLOCKS_PER_DAY as f64;
        // A non-positive half-life means instant reversion (g = 0); an infinite one, a random
        // walk (κ = 0, innovation variance σ²·dt, the κ → 0 limit).
        let (market_keep, market_var) = if beh.market_halflife_days <= 0.0 {
            (0.0, 0.0)
        } else {
            let kappa = core::f64::consts::LN_2 / beh.market_halflife_days;
            if kappa > 0.0 {
                ((-kappa * dt).exp(), -(-2.0 * kappa * dt).exp_m1() / (2.0 * kappa))
            } else {
                (1.0, dt)
            }
        };
        let momentum_keep = if beh.momentum_halflife_days <= 0.0 {
            0.0
        } else {
            (-core::f64::consts::LN_2 * dt / beh.momentum_halflife_days).exp()
        };
        Self {
            dt,
            quality_drift_step: beh.quality_drift * dt,
            quality_sd_step: beh.quality_sigma * dt.sqrt(),
            jump_mean: beh.jump_rate_per_year * dt / DAYS_PER_YEAR,
            jump_sigma: beh.jump_sigma,
            market_keep,
            market_sd_step: beh.market_sigma * market_var.sqrt(),
            momentum_keep,
            steps_per_year: DAYS_PER_YEAR / dt,
            beta_quality: beh.beta_quality,
            beta_momentum: beh.beta_momentum,
            beta_yield: beh.beta_yield,
            beta_zero_share: beh.beta_zero_share,
            attractiveness_cap: beh.max_attractiveness,
            inflow_step: beh.inflow_tao_per_day * dt,
            size_elasticity: beh.size_elasticity,
            flow_sigma: beh.flow_noise,
            outflow_hazard_step: beh.outflow_rate_per_day * dt,
            panic_drawdown: beh.panic_drawdown,
            panic_hazard_step: beh.panic_rate_per_day * dt,
            patience_days: beh.zero_emission_patience_days,
            exodus_hazard_step: beh.zero_emission_exit_per_day * dt,
            whale_mean: beh.whale_rate_per_year * dt / DAYS_PER_YEAR,
            whale_log_median: beh.whale_size_median.ln(),
            whale_sigma: beh.whale_size_sigma,
            registration_mean: reg.rate_per_day * dt,
            willingness_log_median: reg.willingness_median.ln(),
            willingness_sigma: reg.willingness_sigma,
        }
    }
}

/// `log_level + σz − σ²/2`, whose `exp` is the factor `e^{log_level}` times a mean-one lognormal
/// of log-sd `σ` (the flows multiply several exponential factors; one `exp` of the summed
/// exponents is the same number to rounding and costs a third of three).
#[inline(always)]
fn lognormal_exponent<R: Real>(log_level: R, sigma: R, z: R) -> R {
    log_level + sigma * z - R::of(0.5) * sigma * sigma
}

/// `f` of every lane, in a loop of its own (so that the compiler vectorises it).
#[inline(always)]
fn in_lanes<R: Real>(lanes: &mut [R; SLOTS_PER_FILL], f: impl Fn(R) -> R) {
    for x in lanes.iter_mut() {
        *x = f(*x);
    }
}

/// Draws one path's behaviour for step `step`: updates quality, momentum, `prev_price` and the
/// market factor, writes every slot's `orders` (empty for inactive slots) and returns this step's
/// registration arrival. `orders` has one entry per subnet slot.
///
/// # Panics
/// If `orders` is shorter than the number of subnet slots.
pub fn behaviour<R: Real>(
    params: &StepParams,
    beh: &BehaviourParams,
    reg: &RegistrationParams,
    rng: &PathRng,
    step: u32,
    st: &mut PathState<'_, R>,
    orders: &mut [Orders<R>],
) -> Arrival<R> {
    let c = BehaviourCoefficients::new(params, beh, reg);

    let w = rng.block(step, GLOBAL_SUBNET, stream::MARKET);
    let z_market = normal_icdf::<R>(w[0]);
    let g = st.global.market[0] * R::of(c.market_keep) + R::of(c.market_sd_step) * z_market;
    st.global.market[0] = g;

    let step_rng = rng.at_step(step);
    let s = &mut st.sub;
    let active = &st.sub_int.active;
    let zero_share_steps = &st.sub_int.zero_share_steps;

    // First loop: the means the subnets are compared against (pool size, stake-weighted yield),
    // their sums in slot lanes (the shader's `lanes_sum` order at 8 lanes). An inactive slot adds
    // +0, which changes no lane's bits (each starts at +0 and adds no negative zero: pool TAO is
    // never negative, nor is a dividend rate).
    let slots = s.tao.len();
    let active = &active[..slots];
    // The count of ones in lanes is the exact count of live slots.
    let active_count = R::of_usize(active.iter().filter(|&&a| a != 0).count());
    let tao_sum = SlotSum::of_masked(s.tao, active).value();
    let mut dividend_weighted = SlotSum::default();
    let mut weighted = [R::zero(); SLOTS_PER_FILL];
    for first in (0..slots).step_by(SLOTS_PER_FILL) {
        let run = first..slots.min(first + SLOTS_PER_FILL);
        let weighted = &mut weighted[..run.len()];
        for ((w, &tao), &rate) in
            weighted.iter_mut().zip(&s.tao[run.clone()]).zip(&s.dividend_rate[run.clone()])
        {
            *w = tao * rate;
        }
        dividend_weighted.add_masked(first, weighted, &active[run]);
    }
    let means = Means {
        tao: safe_div(tao_sum, active_count),
        dividend: safe_div(dividend_weighted.value(), tao_sum),
        market: g,
    };

    // Then the slots in runs of SLOTS_PER_FILL: their two Philox blocks each (the step's four
    // normals and its two Poisson counts) filled side by side, as `PathRng::block` would give
    // them, then the run's orders in lanes ([`SlotRun`]).
    let mut blocks = [[0_u32; 4]; 2 * SLOTS_PER_FILL];
    let slots = s.tao.len();
    for first in (0..slots).step_by(SLOTS_PER_FILL) {
        let len = (slots - first).min(SLOTS_PER_FILL);
        let blocks = &mut blocks[..2 * len];
        step_rng.fill_block_pairs(
            first as u32,
            [stream::BEHAVIOUR_NORMALS, stream::BEHAVIOUR_COUNTS],
            blocks,
        );
        let run_orders = &mut orders[first..first + len];
        let run = simd::run(SlotRun {
            c: &c,
            kind: params.chain.amm,
            means,
            blocks,
            first,
            s: &mut *s,
            active,
            zero_share_steps,
            orders: run_orders,
        });
        // The rare live slot with whale orders: its orders again, with them.
        for k in 0..len {
            let i = first + k;
            if active[i] == 0 || run.count[k] == 0 {
                continue;
            }
            let (whale_in, whale_out_alpha) =
                whale_orders(&c, &step_rng, i as u32, run.count[k], run.price[k]);
            orders[i] = slot_orders(
                run.inflow[k],
                whale_in,
                s.buyback_per_day[i] * R::of(c.dt),
                run.sold[k] + whale_out_alpha,
                s.held_organic[i],
            );
        }
    }

    let w = rng.block(step, GLOBAL_SUBNET, stream::REGISTRATION);
    let arrivals = poisson(R::of(c.registration_mean), w[0], w[1]);
    if arrivals == 0 {
        return Arrival { arrived: 0, willingness: R::zero() };
    }
    let z_willing = normal_icdf::<R>(w[2]);
    Arrival {
        arrived: 1,
        willingness: (R::of(c.willingness_log_median) + R::of(c.willingness_sigma) * z_willing)
            .exp(),
    }
}

/// A live slot's orders: `stake_tao` = inflow + whale entries + buyback, `unstake_alpha` = what
/// is sold (organic selling plus whale exits), at most what organic holders hold.
#[inline(always)]
fn slot_orders<R: Real>(inflow: R, whale_in: R, buyback: R, sold: R, held: R) -> Orders<R> {
    Orders { stake_tao: inflow + whale_in + buyback, unstake_alpha: sold.min(held) }
}

/// What every slot of a step compares itself against: the active subnets' mean pool TAO and
/// pool-weighted dividend rate, and the market factor.
#[derive(Clone, Copy)]
struct Means<R> {
    tao: R,
    dividend: R,
    market: R,
}

/// One run of at most [`SLOTS_PER_FILL`] consecutive slots from `first`, a [`crate::simd`]
/// kernel: the draws from the run's blocks, then quality, momentum, attractiveness, inflow and
/// selling of every slot side by side. The lane passes have no branch: where a formula does not
/// apply (an inactive slot, no previous price, an empty pool) they compute it on a harmless
/// operand and select, so they run in vector lanes, with the branch-free `exp`/`ln` of
/// [`Real::exp_lanes`]. Inactive slots' state is left as it was.
struct SlotRun<'a, 'b, R> {
    c: &'a BehaviourCoefficients,
    kind: AmmKind,
    means: Means<R>,
    /// Two blocks per slot: `BEHAVIOUR_NORMALS`, `BEHAVIOUR_COUNTS`.
    blocks: &'a [[u32; 4]],
    first: usize,
    s: &'a mut SubnetReal<'b, R>,
    active: &'a [u32],
    zero_share_steps: &'a [u32],
    /// The run's orders, written for every slot as if it had no whale orders (empty for an
    /// inactive slot).
    orders: &'a mut [Orders<R>],
}

/// What [`SlotRun`] leaves for the slots with whale orders, per slot of the run: the count (0
/// for most), the spot price, and the organic inflow and selling.
struct RunOrders<R> {
    count: [u32; SLOTS_PER_FILL],
    price: [R; SLOTS_PER_FILL],
    inflow: [R; SLOTS_PER_FILL],
    sold: [R; SLOTS_PER_FILL],
}

impl<R: Real> Kernel for SlotRun<'_, '_, R> {
    type Output = RunOrders<R>;

    #[inline(always)]
    fn run(self) -> RunOrders<R> {
        const N: usize = SLOTS_PER_FILL;
        let SlotRun { c, kind, means, blocks, first, s, active, zero_share_steps, orders } = self;
        let len = blocks.len() / 2;
        assert!(len <= N && first + len <= s.tao.len(), "behaviour: slot run out of range");
        let range = first..first + len;
        if len == N {
            // A whole run (every run of the standard 128-slot network): the columns in place.
            // Copying them out cost a `memcpy` call per column and run.
            let columns = RunColumns {
                tao: whole(s.tao, first),
                dividend_rate: whole(s.dividend_rate, first),
                share: whole(s.share, first),
                alpha: whole(s.alpha, first),
                w_quote: whole(s.w_quote, first),
                peak: whole(s.peak_price, first),
                held: whole(s.held_organic, first),
                buyback: whole(s.buyback_per_day, first),
                quality: whole_mut(s.quality, first),
                momentum: whole_mut(s.momentum, first),
                prev_price: whole_mut(s.prev_price, first),
            };
            return slot_run(
                c,
                kind,
                means,
                blocks,
                first,
                columns,
                active,
                zero_share_steps,
                orders,
            );
        }
        // A short last run: its columns padded with zeros, on which the padding lanes compute,
        // and what it updates written back.
        let load = |column: &[R]| {
            let mut lanes = [R::zero(); N];
            lanes[..len].copy_from_slice(&column[range.clone()]);
            lanes
        };
        let (tao, dividend_rate, share) = (load(s.tao), load(s.dividend_rate), load(s.share));
        let (alpha, w_quote) = (load(s.alpha), load(s.w_quote));
        let (peak, held, buyback) =
            (load(s.peak_price), load(s.held_organic), load(s.buyback_per_day));
        let (mut quality, mut momentum, mut prev_price) =
            (load(s.quality), load(s.momentum), load(s.prev_price));
        let columns = RunColumns {
            tao: &tao,
            dividend_rate: &dividend_rate,
            share: &share,
            alpha: &alpha,
            w_quote: &w_quote,
            peak: &peak,
            held: &held,
            buyback: &buyback,
            quality: &mut quality,
            momentum: &mut momentum,
            prev_price: &mut prev_price,
        };
        let out =
            slot_run(c, kind, means, blocks, first, columns, active, zero_share_steps, orders);
        s.quality[range.clone()].copy_from_slice(&quality[..len]);
        s.momentum[range.clone()].copy_from_slice(&momentum[..len]);
        s.prev_price[range].copy_from_slice(&prev_price[..len]);
        out
    }
}

/// The whole run of slots from `first` of a column, in place.
#[inline(always)]
fn whole<R>(column: &[R], first: usize) -> &[R; SLOTS_PER_FILL] {
    column[first..first + SLOTS_PER_FILL].try_into().expect("behaviour: whole run")
}

/// [`whole`], to update.
#[inline(always)]
fn whole_mut<R>(column: &mut [R], first: usize) -> &mut [R; SLOTS_PER_FILL] {
    (&mut column[first..first + SLOTS_PER_FILL]).try_into().expect("behaviour: whole run")
}

/// The columns of a [`SlotRun`]'s slots, a whole run's in place or a short run's padded copies.
/// Quality is updated for every slot (inactive ones keep theirs), momentum and the previous
/// price for the live ones alone.
struct RunColumns<'a, R> {
    tao: &'a [R; SLOTS_PER_FILL],
    dividend_rate: &'a [R; SLOTS_PER_FILL],
    share: &'a [R; SLOTS_PER_FILL],
    alpha: &'a [R; SLOTS_PER_FILL],
    w_quote: &'a [R; SLOTS_PER_FILL],
    peak: &'a [R; SLOTS_PER_FILL],
    held: &'a [R; SLOTS_PER_FILL],
    buyback: &'a [R; SLOTS_PER_FILL],
    quality: &'a mut [R; SLOTS_PER_FILL],
    momentum: &'a mut [R; SLOTS_PER_FILL],
    prev_price: &'a mut [R; SLOTS_PER_FILL],
}

/// [`SlotRun`]'s lanes over its `blocks.len() / 2` slots from `first`.
#[expect(clippy::too_many_arguments, reason = "`SlotRun`'s fields, with its columns as lanes")]
#[inline(always)]
fn slot_run<R: Real>(
    c: &BehaviourCoefficients,
    kind: AmmKind,
    means: Means<R>,
    blocks: &[[u32; 4]],
    first: usize,
    columns: RunColumns<'_, R>,
    active: &[u32],
    zero_share_steps: &[u32],
    orders: &mut [Orders<R>],
) -> RunOrders<R> {
    const N: usize = SLOTS_PER_FILL;
    let len = blocks.len() / 2;
    // The quality diffusion and the two flow noises of every slot, by inversion in lanes
    // (`normal_icdf` bit for bit). A run shorter than N pads with a word in the centre.
    let mut words = [1_u32 << 31; 3 * N];
    for (k, pair) in blocks.chunks_exact(2).enumerate() {
        for j in 0..3 {
            words[j * N + k] = pair[0][j];
        }
    }
    let mut z = [R::zero(); 3 * N];
    rng::normals_of_words(&words, &mut z);
    let (z_quality, z_flows) = z.split_at(N);
    let (z_in, z_out) = z_flows.split_at(N);

    // The lanes read the run's columns in place (`&[R; N]`: whole lanes, no bounds checks,
    // no copy); only momentum, updated in every lane but kept for live slots alone, is copied
    // out. Each transcendental runs in a loop of its own ([`in_lanes`]): inside one long loop
    // body the compiler vectorised them at AVX-512 but not at AVX2 (docs/performance.md,
    // session 20).
    let RunColumns {
        tao,
        dividend_rate,
        share,
        alpha,
        w_quote,
        peak,
        held,
        buyback,
        quality,
        momentum: momentum_column,
        prev_price,
    } = columns;
    let mut momentum = *momentum_column;

    // The price, the exodus hazard and the counts' first tests of every slot in lanes; the
    // slots whose counts may be nonzero or whose jump normal must be drawn (about 1e-3 of
    // them by default) then one at a time.
    let jump_count = Poisson::new(R::of(c.jump_mean));
    let whale_count = Poisson::new(R::of(c.whale_mean));
    let jump_sigma = R::of(c.jump_sigma);
    let mut out = RunOrders {
        count: [0; N],
        price: [R::zero(); N],
        inflow: [R::zero(); N],
        sold: [R::zero(); N],
    };
    // The zero-emission exodus's hazard where the streak has run past the patience, else +0.
    let mut exodus_hazard = [R::zero(); N];
    let (mut no_whale, mut no_jump) = ([true; N], [true; N]);
    for (k, pair) in blocks.chunks_exact(2).enumerate() {
        let w_counts = pair[1];
        out.price[k] = amm::price(kind, &Pool::weighted(tao[k], alpha[k], w_quote[k]));
        let streak = zero_share_steps[first + k];
        let exodus = (streak > 0) & (f64::from(streak) * c.dt >= c.patience_days);
        exodus_hazard[k] = if exodus { R::of(c.exodus_hazard_step) } else { R::zero() };
        no_whale[k] = whale_count.surely_zero(w_counts[2]);
        no_jump[k] = jump_count.surely_zero(w_counts[0]);
    }
    // Without a jump, `jump = √0·σ·z` is ±0 (σ finite, |z| ≤ 5.5), and adding ±0 to a
    // nonzero `diffusion` returns it unchanged: the jump's normal is drawn only where it can
    // change a bit (the shader always draws it; the results are identical).
    let mut diffusion = [R::zero(); N];
    let mut plain = [true; N];
    let mut rare = [false; N];
    for k in 0..len {
        diffusion[k] = R::of(c.quality_drift_step) + R::of(c.quality_sd_step) * z_quality[k];
        plain[k] = no_jump[k] & (diffusion[k] != R::zero()) & jump_sigma.is_finite();
        let live = active[first + k] != 0;
        quality[k] = if live & plain[k] { quality[k] + diffusion[k] } else { quality[k] };
        rare[k] = (live & !plain[k]) | !no_whale[k];
    }
    for (k, pair) in blocks.chunks_exact(2).enumerate() {
        if !rare[k] {
            continue;
        }
        let (w_normals, w_counts) = (pair[0], pair[1]);
        out.count[k] = whale_count.draw(w_counts[2], w_counts[3]).min(WHALES_PER_STEP_MAX);
        if active[first + k] == 0 || plain[k] {
            continue;
        }
        let jumps = jump_count.draw(w_counts[0], w_counts[1]);
        let step = diffusion[k];
        let quality_step = if jumps == 0 && step != R::zero() && jump_sigma.is_finite() {
            step
        } else {
            let z_jump = normal_icdf::<R>(w_normals[3]);
            step + R::of(f64::from(jumps)).sqrt() * jump_sigma * z_jump
        };
        quality[k] += quality_step;
    }

    let dt = R::of(c.dt);
    let flow_sigma = R::of(c.flow_sigma);
    let limit = R::of(c.attractiveness_cap);
    let keep = R::of(c.momentum_keep);
    let inflows = c.inflow_step > 0.0;
    let returns: [bool; N] =
        core::array::from_fn(|k| out.price[k] > R::zero() && prev_price[k] > R::zero());
    let size: [R; N] = core::array::from_fn(|k| safe_div(tao[k], means.tao));
    let mut log_ratio: [R; N] =
        core::array::from_fn(|k| if returns[k] { out.price[k] / prev_price[k] } else { R::one() });
    let mut log_size: [R; N] =
        core::array::from_fn(|k| if size[k] > R::zero() { size[k] } else { R::one() });
    in_lanes(&mut log_ratio, R::ln_lanes);
    in_lanes(&mut log_size, R::ln_lanes);
    let mut inflow_factor = [R::zero(); N];
    let mut outflow_factor = [R::zero(); N];
    for k in 0..N {
        let log_return_per_day = if returns[k] { log_ratio[k] / dt } else { R::zero() };
        momentum[k] = keep * momentum[k] + (R::one() - keep) * log_return_per_day;
        let excess_yield = (dividend_rate[k] - means.dividend) * R::of(c.steps_per_year);
        let zero_share = if share[k] == R::zero() { R::one() } else { R::zero() };
        let a = (R::of(c.beta_quality) * quality[k]
            + R::of(c.beta_momentum) * momentum[k]
            + R::of(c.beta_yield) * excess_yield
            + means.market
            - R::of(c.beta_zero_share) * zero_share)
            .max(-limit)
            .min(limit);
        // `size^elasticity·e^a·LN` as one `exp` of `elasticity·ln size + a + σz − σ²/2`.
        let log_level = R::of(c.size_elasticity) * log_size[k] + a;
        inflow_factor[k] = lognormal_exponent(log_level, flow_sigma, z_in[k]);
        outflow_factor[k] = lognormal_exponent(-a, flow_sigma, z_out[k]);
    }
    in_lanes(&mut inflow_factor, R::exp_lanes);
    in_lanes(&mut outflow_factor, R::exp_lanes);
    let mut neg_hazard = [R::zero(); N];
    for k in 0..N {
        // No inflow without a pool or a rate (the latter also keeps `0·∞` out when the size
        // factor overflows), and at most `MAX_STEP_INFLOW` (`∞` included).
        let flowing = R::of(c.inflow_step) * inflow_factor[k];
        out.inflow[k] = if size[k] > R::zero() && inflows {
            flowing.min(R::of(MAX_STEP_INFLOW))
        } else {
            R::zero()
        };
        // The hazards add in a fixed order; an absent one adds +0, which leaves the (never
        // negative-zero) sum's bits as they were.
        let mut hazard = R::of(c.outflow_hazard_step) * outflow_factor[k];
        // `peak > 0` guards the division's operand only through the select.
        let drawdown = R::one() - out.price[k] / peak[k];
        let panics = peak[k] > R::zero() && drawdown >= R::of(c.panic_drawdown);
        hazard = if panics { hazard + R::of(c.panic_hazard_step) } else { hazard };
        neg_hazard[k] = -(hazard + exodus_hazard[k]);
    }
    in_lanes(&mut neg_hazard, R::exp_m1_lanes);
    for k in 0..N {
        out.sold[k] = held[k] * -neg_hazard[k];
    }
    // Every slot's orders without whales (`+0` for their amounts, as `whale_orders` returns
    // for none): the caller redoes the few with whales.
    let orders = &mut orders[..len];
    for k in 0..len {
        let live = active[first + k] != 0;
        let plain = slot_orders(
            out.inflow[k],
            R::zero(),
            buyback[k] * dt,
            out.sold[k] + R::zero(),
            held[k],
        );
        orders[k] = if live { plain } else { Orders::default() };
        if live {
            momentum_column[k] = momentum[k];
            prev_price[k] = out.price[k];
        }
    }
    out
}

/// The TAO staked and the alpha unstaked by slot `subnet`'s `whales` whale orders this step, at
/// spot price `price`. The blocks are drawn only in the rare step with whale orders (~5e-4 of
/// subnet-steps by default).
fn whale_orders<R: Real>(
    c: &BehaviourCoefficients,
    step_rng: &StepRng,
    subnet: u32,
    whales: u32,
    price: R,
) -> (R, R) {
    let mut whale_in = R::zero();
    let mut whale_out_alpha = R::zero();
    if whales == 0 {
        return (whale_in, whale_out_alpha);
    }
    let [w_directions, w_sizes] = step_rng.blocks(subnet, [stream::WHALE, stream::WHALE_SIZE]);
    let directions = w_directions[3];
    for j in 0..whales {
        let z = normal_icdf::<R>(w_sizes[j as usize]);
        let size_tao = (R::of(c.whale_log_median) + R::of(c.whale_sigma) * z)
            .exp()
            .min(R::of(MAX_WHALE_ORDER));
        if (directions >> j) & 1 == 0 {
            whale_in += size_tao;
        } else {
            whale_out_alpha += safe_div(size_tao, price);
        }
    }
    (whale_in, whale_out_alpha)
}
