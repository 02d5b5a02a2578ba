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
//! inactive slots' blocks are computed too and not read.

use crate::Real;
use crate::config::{BehaviourParams, RegistrationParams};
use crate::model::amm::{self, Pool};
use crate::params::BLOCKS_PER_DAY;
use crate::real::{exp_m1, safe_div};
use crate::rng::{GLOBAL_SUBNET, PathRng, Poisson, normal_icdf, normal_icdf_pair, poisson, stream};
use crate::state::PathState;

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
/// call (32 blocks, 512 bytes on the stack): enough for the vectorised loop's passes of four.
const SLOTS_PER_FILL: usize = 16;

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

/// `exp(log_level + σz − σ²/2)`: the factor `e^{log_level}` times a mean-one lognormal of
/// log-sd `σ`, in one `exp` (the flows multiply several exponential factors; one `exp` of the
/// summed exponents is the same number to rounding and costs a third of three).
#[inline]
fn with_lognormal_noise<R: Real>(log_level: R, sigma: R, z: R) -> R {
    (log_level + sigma * z - R::of(0.5) * sigma * sigma).exp()
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
    let kind = params.chain.amm;

    let w = rng.block(step, GLOBAL_SUBNET, stream::MARKET);
    let z_market = normal_icdf::<R>(w[0]);
    let g = st.global.market[0] * R::of(c.market_keep) + R::of(c.market_sd_step) * z_market;
    st.global.market[0] = g;

    let step_rng = rng.at_step(step);
    let s = &mut st.sub;
    let active = &st.sub_int.active;
    let zero_share_steps = &st.sub_int.zero_share_steps;

    // First loop: the means the subnets are compared against (pool size, stake-weighted yield).
    let mut active_count = R::zero();
    let mut tao_sum = R::zero();
    let mut dividend_weighted = R::zero();
    for i in 0..s.tao.len() {
        if active[i] == 0 {
            continue;
        }
        active_count += R::one();
        tao_sum += s.tao[i];
        dividend_weighted += s.tao[i] * s.dividend_rate[i];
    }
    let mean_tao = safe_div(tao_sum, active_count);
    let mean_dividend = safe_div(dividend_weighted, tao_sum);

    let dt = R::of(c.dt);
    let flow_sigma = R::of(c.flow_sigma);
    let limit = R::of(c.attractiveness_cap);
    // Same mean in every slot: the samplers hold `e^{−λ}` once for the step.
    let jump_count = Poisson::new(R::of(c.jump_mean));
    let whale_count = Poisson::new(R::of(c.whale_mean));
    let jump_sigma = R::of(c.jump_sigma);
    // The two blocks of every slot, the step's four normals and its two Poisson counts, filled
    // for SLOTS_PER_FILL slots at a time (the same words as `PathRng::block`): computed side by
    // side in vector registers, they cost about half of two blocks drawn slot by slot. An
    // inactive slot's blocks are computed and not read.
    let mut blocks = [[0_u32; 4]; 2 * SLOTS_PER_FILL];
    let slots = s.tao.len();
    for i in 0..slots {
        let k = i % SLOTS_PER_FILL;
        if k == 0 {
            let len = 2 * (slots - i).min(SLOTS_PER_FILL);
            step_rng.fill_block_pairs(
                i as u32,
                [stream::BEHAVIOUR_NORMALS, stream::BEHAVIOUR_COUNTS],
                &mut blocks[..len],
            );
        }
        if active[i] == 0 {
            orders[i] = Orders::default();
            continue;
        }
        let subnet = i as u32;
        let (w_normals, w_counts) = (blocks[2 * k], blocks[2 * k + 1]);
        let z_quality = normal_icdf::<R>(w_normals[0]);
        // The flow noises are inverted side by side (the same numbers as one at a time).
        let (z_in, z_out) = normal_icdf_pair::<R>(w_normals[1], w_normals[2]);
        let jumps = jump_count.draw(w_counts[0], w_counts[1]);
        let diffusion = R::of(c.quality_drift_step) + R::of(c.quality_sd_step) * z_quality;
        // Without a jump, `jump = √0·σ·z` is ±0 (σ finite, |z| ≤ 5.5), and adding ±0 to a nonzero
        // `diffusion` returns it unchanged: the jump's normal is drawn only where it can change a
        // bit (the shader always draws it; the results are identical).
        let quality_step = if jumps == 0 && diffusion != R::zero() && jump_sigma.is_finite() {
            diffusion
        } else {
            let z_jump = normal_icdf::<R>(w_normals[3]);
            diffusion + R::of(f64::from(jumps)).sqrt() * jump_sigma * z_jump
        };
        s.quality[i] += quality_step;

        let price = amm::price(kind, &Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]));
        let prev = s.prev_price[i];
        let log_return_per_day = if price > R::zero() && prev > R::zero() {
            (price / prev).ln() / dt
        } else {
            R::zero()
        };
        let keep = R::of(c.momentum_keep);
        s.momentum[i] = keep * s.momentum[i] + (R::one() - keep) * log_return_per_day;
        s.prev_price[i] = price;

        let excess_yield = (s.dividend_rate[i] - mean_dividend) * R::of(c.steps_per_year);
        let zero_share = if s.share[i] == R::zero() { R::one() } else { R::zero() };
        let attractiveness = (R::of(c.beta_quality) * s.quality[i]
            + R::of(c.beta_momentum) * s.momentum[i]
            + R::of(c.beta_yield) * excess_yield
            + g
            - R::of(c.beta_zero_share) * zero_share)
            .max(-limit)
            .min(limit);

        // `size^elasticity·e^a·LN` as one `exp` of `elasticity·ln size + a + σz − σ²/2`.
        let size = safe_div(s.tao[i], mean_tao);
        // No inflow without a pool or a rate (the latter also keeps `0·∞` out when the size
        // factor overflows), and at most `MAX_STEP_INFLOW` (`∞` included).
        let inflow = if size > R::zero() && c.inflow_step > 0.0 {
            let log_level = R::of(c.size_elasticity) * size.ln() + attractiveness;
            (R::of(c.inflow_step) * with_lognormal_noise(log_level, flow_sigma, z_in))
                .min(R::of(MAX_STEP_INFLOW))
        } else {
            R::zero()
        };

        let mut hazard =
            R::of(c.outflow_hazard_step) * with_lognormal_noise(-attractiveness, flow_sigma, z_out);
        let peak = s.peak_price[i];
        if peak > R::zero() && R::one() - price / peak >= R::of(c.panic_drawdown) {
            hazard += R::of(c.panic_hazard_step);
        }
        let streak = zero_share_steps[i];
        if streak > 0 && f64::from(streak) * c.dt >= c.patience_days {
            hazard += R::of(c.exodus_hazard_step);
        }
        let held = s.held_organic[i];
        let sold = held * -exp_m1(-hazard);

        let whales = whale_count.draw(w_counts[2], w_counts[3]).min(WHALES_PER_STEP_MAX);
        let mut whale_in = R::zero();
        let mut whale_out_alpha = R::zero();
        if whales > 0 {
            // Drawn only in the rare step with whale orders (~5e-4 of subnet-steps by default).
            let [w_directions, w_sizes] =
                step_rng.blocks(subnet, [stream::WHALE, stream::WHALE_SIZE]);
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
        }

        orders[i] = Orders {
            stake_tao: inflow + whale_in + s.buyback_per_day[i] * dt,
            unstake_alpha: (sold + whale_out_alpha).min(held),
        };
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
