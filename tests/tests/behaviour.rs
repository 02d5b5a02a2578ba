//! The behaviour stage (model.md §3 item 1, §8) against closed forms.
//!
//! Statistical checks use fixed seeds and tolerances in standard errors (5 SE unless stated), so
//! they are reproducible and a wrong formula fails them by a wide margin:
//! - the market factor's stationary variance `σ²/(2κ)` and lag-one-step autocorrelation `e^{−κdt}`;
//! - latent quality's mean `μt` and variance `σ²t` (and `σ²t + λt·σ_J²` with jumps);
//! - registration arrival probability `1 − e^{−λ}` and willingness median; whale counts mean `λ`;
//! - inflow mean `inflow·dt·size^e·e^a` (mean-one noise), with `a` from every term;
//! - outflow fraction `1 − e^{−r·dt·e^{−a}}`, exact, and its compounding over steps;
//! - panic only at drawdown ≥ threshold; exodus only after the patience;
//! - the draws of a subnet's step (normals and counts that share a Philox block) independent;
//! - determinism over path order and batch position; f32 against f64.

use taosim_core::Real;
use taosim_core::config::{BehaviourParams, RegistrationParams};
use taosim_core::cpu::{StepParams, behaviour::behaviour, registration::Arrival, swaps::Orders};
use taosim_core::params::TOTAL_SUPPLY;
use taosim_core::rng::PathRng;
use taosim_core::state::{BatchState, PathState};

const SEED: u64 = 0x5EED_BE4A_0000_0001;

/// Days per step at the default 361 blocks.
fn dt() -> f64 {
    361.0 / 7_200.0
}

/// Everything off: no noise, no flows, no jumps, no whales; attractiveness weights zero.
fn quiet() -> BehaviourParams {
    BehaviourParams {
        quality_drift: 0.0,
        quality_sigma: 0.0,
        jump_rate_per_year: 0.0,
        jump_sigma: 0.0,
        market_sigma: 0.0,
        market_halflife_days: 30.0,
        momentum_halflife_days: 7.0,
        beta_quality: 0.0,
        beta_momentum: 0.0,
        beta_yield: 0.0,
        beta_zero_share: 0.0,
        inflow_tao_per_day: 0.0,
        size_elasticity: 0.0,
        flow_noise: 0.0,
        outflow_rate_per_day: 0.0,
        panic_drawdown: 0.5,
        panic_rate_per_day: 0.0,
        zero_emission_patience_days: 14.0,
        zero_emission_exit_per_day: 0.0,
        whale_rate_per_year: 0.0,
        whale_size_median: 1.0,
        whale_size_sigma: 0.0,
        ..BehaviourParams::default()
    }
}

fn no_registrations() -> RegistrationParams {
    RegistrationParams { rate_per_day: 0.0, ..RegistrationParams::default() }
}

/// Sets up subnet `i` of a path: active, pool at `price` with `tao` TAO, price history flat,
/// a positive share, `held` organic alpha.
fn set_subnet<R: Real>(p: &mut PathState<'_, R>, i: usize, tao: f64, price: f64, held: f64) {
    p.sub_int.active[i] = 1;
    p.sub.tao[i] = R::of(tao);
    p.sub.alpha[i] = R::of(tao / price);
    p.sub.w_quote[i] = R::of(0.5);
    p.sub.prev_price[i] = R::of(price);
    p.sub.peak_price[i] = R::of(price);
    p.sub.share[i] = R::of(0.01);
    p.sub.held_organic[i] = R::of(held);
    p.sub.alpha_out[i] = R::of(held);
}

/// A batch of `paths` identical paths with `subnets` active subnets of 1,000 TAO at price 0.01.
fn uniform_batch(paths: usize, subnets: usize) -> BatchState<f64> {
    let mut b = BatchState::<f64>::zeroed(paths, subnets);
    for path in 0..paths {
        let mut p = b.path(path);
        for i in 0..subnets {
            set_subnet(&mut p, i, 1_000.0, 0.01, 50_000.0);
        }
    }
    b
}

/// Runs the stage once on path `path` of `b` at `step`, returning the orders and the arrival.
fn run_once<R: Real>(
    params: &StepParams,
    beh: &BehaviourParams,
    reg: &RegistrationParams,
    b: &mut BatchState<R>,
    path: usize,
    step: u32,
) -> (Vec<Orders<R>>, Arrival<R>) {
    let mut orders = vec![Orders::default(); b.subnets];
    let rng = PathRng::new(SEED, 0, path as u32);
    let mut p = b.path(path);
    let arrival = behaviour(params, beh, reg, &rng, step, &mut p, &mut orders);
    (orders, arrival)
}

/// Sample mean and (population) variance.
fn moments(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

/// The market factor, started at 0 and run 20 half-lives, has the OU stationary variance
/// `σ²/(2κ)`, and consecutive steps correlate by `e^{−κ dt}` (exact discretisation: no
/// discretisation bias to allow for). 20,000 paths: SE of the variance `√(2/n)·var` (1%), of the
/// correlation `(1 − ρ²)/√n`.
#[test]
fn market_factor_is_ou_with_stated_variance_and_autocorrelation() {
    let params = StepParams::default();
    let halflife = 0.25;
    let sigma = 0.05;
    let beh = BehaviourParams { market_sigma: sigma, market_halflife_days: halflife, ..quiet() };
    let reg = no_registrations();
    let paths = 20_000;
    let mut b = BatchState::<f64>::zeroed(paths, 1);
    let burn_in = (20.0 * halflife / dt()).ceil() as u32;
    let mut last = Vec::with_capacity(paths);
    let mut next = Vec::with_capacity(paths);
    for path in 0..paths {
        for step in 0..=burn_in {
            run_once(&params, &beh, &reg, &mut b, path, step);
            if step == burn_in - 1 {
                last.push(b.path(path).global.market[0]);
            }
        }
        next.push(b.path(path).global.market[0]);
    }
    let kappa = std::f64::consts::LN_2 / halflife;
    let stationary_var = sigma * sigma / (2.0 * kappa);
    let rho = (-kappa * dt()).exp();
    let n = paths as f64;

    let (mean, var) = moments(&last);
    assert!(mean.abs() < 5.0 * (stationary_var / n).sqrt(), "mean {mean}");
    let var_se = (2.0 / n).sqrt() * stationary_var;
    assert!((var - stationary_var).abs() < 5.0 * var_se, "var {var} vs {stationary_var}");

    let (mean2, var2) = moments(&next);
    let cov = last.iter().zip(&next).map(|(x, y)| (x - mean) * (y - mean2)).sum::<f64>() / n;
    let corr = cov / (var * var2).sqrt();
    let corr_se = (1.0 - rho * rho) / n.sqrt();
    assert!((corr - rho).abs() < 5.0 * corr_se, "lag-1 corr {corr} vs {rho}");
}

/// Latent quality without jumps: `q_t − q_0 ~ N(μt, σ²t)`. 2,000 paths × 16 subnets, 200 steps.
/// With jumps: variance `σ²t + (jump_rate/365)·t·σ_J²` (compound Poisson), same mean.
#[test]
fn quality_mean_and_variance_grow_linearly() {
    let params = StepParams::default();
    let reg = no_registrations();
    let (drift, sigma, steps) = (0.01, 0.05, 200_u32);
    let t = f64::from(steps) * dt();
    for (jump_rate, jump_sigma) in [(0.0, 0.0), (365.0 * 0.5, 0.1)] {
        let beh = BehaviourParams {
            quality_drift: drift,
            quality_sigma: sigma,
            jump_rate_per_year: jump_rate,
            jump_sigma,
            ..quiet()
        };
        let (paths, subnets) = (2_000, 16);
        let mut b = uniform_batch(paths, subnets);
        let mut qs = Vec::with_capacity(paths * subnets);
        for path in 0..paths {
            for step in 0..steps {
                run_once(&params, &beh, &reg, &mut b, path, step);
            }
            qs.extend_from_slice(b.path(path).sub.quality);
        }
        let expected_var = sigma * sigma * t + jump_rate / 365.0 * t * jump_sigma * jump_sigma;
        let n = qs.len() as f64;
        let (mean, var) = moments(&qs);
        assert!(
            (mean - drift * t).abs() < 5.0 * (expected_var / n).sqrt(),
            "jumps {jump_rate}: mean {mean} vs {}",
            drift * t
        );
        // Jumps make q_t heavier-tailed than normal; 6 SE of the normal-theory SE leaves room.
        let var_se = (2.0 / n).sqrt() * expected_var;
        assert!(
            (var - expected_var).abs() < 6.0 * var_se,
            "jumps {jump_rate}: var {var} vs {expected_var}"
        );
    }
}

/// Registration: `arrived` is 1 with probability `1 − e^{−rate·dt}` (a Poisson count ≥ 1), and the
/// willingness has log-mean `ln(median)` and log-sd `sigma`. 100,000 steps of one path.
#[test]
fn registration_arrivals_follow_poisson_with_lognormal_willingness() {
    let params = StepParams::default();
    let beh = quiet();
    let reg = RegistrationParams {
        rate_per_day: 10.0,
        willingness_median: 1_500.0,
        willingness_sigma: 0.5,
        ..RegistrationParams::default()
    };
    let mut b = BatchState::<f64>::zeroed(1, 1);
    let steps = 100_000_u32;
    let mut arrived = 0.0;
    let mut log_w = Vec::new();
    for step in 0..steps {
        let (_, a) = run_once(&params, &beh, &reg, &mut b, 0, step);
        assert!(a.arrived <= 1);
        if a.arrived == 1 {
            arrived += 1.0;
            log_w.push(a.willingness.ln());
        } else {
            assert_eq!(a.willingness, 0.0);
        }
    }
    let n = f64::from(steps);
    let p = 1.0 - (-reg.rate_per_day * dt()).exp();
    let frac = arrived / n;
    assert!((frac - p).abs() < 5.0 * (p * (1.0 - p) / n).sqrt(), "arrival prob {frac} vs {p}");
    let (m, v) = moments(&log_w);
    let k = log_w.len() as f64;
    assert!((m - 1_500.0_f64.ln()).abs() < 5.0 * 0.5 / k.sqrt(), "log-mean {m}");
    assert!((v - 0.25).abs() < 5.0 * (2.0 / k).sqrt() * 0.25, "log-var {v}");
}

/// Whales of exactly 1 TAO (sigma 0): stake TAO counts entries and unstaked alpha × price counts
/// exits. Mean count per step `λ = rate·dt/365`, half entering and half exiting.
#[test]
fn whale_counts_have_poisson_mean_and_equal_odds() {
    let params = StepParams::default();
    let lambda = 0.4;
    let beh = BehaviourParams {
        whale_rate_per_year: lambda * 365.0 / dt(),
        whale_size_median: 1.0,
        whale_size_sigma: 0.0,
        ..quiet()
    };
    let reg = no_registrations();
    let (subnets, steps) = (16, 4_000_u32);
    let mut b = uniform_batch(1, subnets);
    let (mut entries, mut exits) = (0.0, 0.0);
    for step in 0..steps {
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, step);
        for o in &orders {
            entries += o.stake_tao;
            exits += o.unstake_alpha * 0.01;
        }
    }
    let n = f64::from(steps) * subnets as f64;
    let (mean_in, mean_out) = (entries / n, exits / n);
    // Entries and exits are each Poisson(λ/2) (thinning); counts are whole numbers of 1-TAO whales.
    let se = (lambda / 2.0 / n).sqrt();
    assert!((mean_in - lambda / 2.0).abs() < 5.0 * se, "entries {mean_in}");
    assert!((mean_out - lambda / 2.0).abs() < 5.0 * se, "exits {mean_out}");
    assert!((entries - entries.round()).abs() < 1e-6);
}

/// Whale orders at the largest median the config accepts (the TAO supply) with a log-sd of 30:
/// half the sizes lie above the supply (most by far more than the f32 range) and are capped at
/// [`MAX_WHALE_ORDER`], so a step's entries are at most four orders of the supply, in both
/// precisions, and a step whose one whale enters a quiet subnet stakes exactly the supply.
/// Without the cap, sizes of e^100 and more were staked (∞ in f32).
#[test]
fn whale_orders_are_at_most_the_supply() {
    fn entries<R: Real>(b: &mut BatchState<R>, beh: &BehaviourParams) -> Vec<f64> {
        let (params, reg) = (StepParams::default(), no_registrations());
        let mut stakes = Vec::new();
        for step in 0..2_000 {
            let (orders, _) = run_once(&params, beh, &reg, b, 0, step);
            stakes.extend(orders.iter().map(|o| o.stake_tao.f64()));
        }
        stakes
    }
    use taosim_core::cpu::behaviour::{MAX_WHALE_ORDER, WHALES_PER_STEP_MAX};
    let beh = BehaviourParams {
        whale_rate_per_year: 0.5 * 365.0 / dt(),
        whale_size_median: TOTAL_SUPPLY,
        whale_size_sigma: 30.0,
        ..quiet()
    };
    assert_eq!(MAX_WHALE_ORDER, TOTAL_SUPPLY);
    let mut b64 = uniform_batch(1, 16);
    let mut b32 = b64.to_precision::<f32>();
    for (precision, stakes) in [("f64", entries(&mut b64, &beh)), ("f32", entries(&mut b32, &beh))]
    {
        let most = f64::from(WHALES_PER_STEP_MAX) * MAX_WHALE_ORDER;
        assert!(stakes.iter().all(|&s| (0.0..=most).contains(&s)), "{precision}: {stakes:?}");
        let capped = stakes.iter().filter(|&&s| s == MAX_WHALE_ORDER).count();
        let below = stakes.iter().filter(|&&s| s > 0.0 && s < MAX_WHALE_ORDER).count();
        // About a quarter of the entries are capped lone whales; some sizes lie below the cap.
        assert!(capped > 500 && below > 500, "{precision}: {capped} capped, {below} below");
    }
}

/// Four subnets whose attractiveness has every term non-zero: quality, momentum (price moved
/// since `prev_price`), excess yield, and (subnet 2) the zero-share penalty.
struct InflowCase {
    tao: [f64; 4],
    price: [f64; 4],
    prev_price: [f64; 4],
    quality: [f64; 4],
    dividend_rate: [f64; 4],
    share: [f64; 4],
}

const CASE: InflowCase = InflowCase {
    tao: [500.0, 2_000.0, 8_000.0, 30_000.0],
    price: [0.01, 0.02, 0.005, 0.05],
    prev_price: [0.0102, 0.019, 0.005, 0.05],
    quality: [0.3, -0.2, 0.0, 0.1],
    dividend_rate: [1.0e-4, 3.0e-4, 0.0, 2.0e-4],
    share: [0.01, 0.02, 0.0, 0.05],
};

fn inflow_state(paths: usize) -> BatchState<f64> {
    let mut b = BatchState::<f64>::zeroed(paths, 4);
    for path in 0..paths {
        let mut p = b.path(path);
        for i in 0..4 {
            set_subnet(&mut p, i, CASE.tao[i], CASE.price[i], 1.0e5);
            p.sub.prev_price[i] = CASE.prev_price[i];
            p.sub.quality[i] = CASE.quality[i];
            p.sub.dividend_rate[i] = CASE.dividend_rate[i];
            p.sub.share[i] = CASE.share[i];
        }
        p.global.market[0] = 0.15;
    }
    b
}

/// `a_i` from the closed form of the module docs, with `m_0 = 0`, `g` constant (market sigma 0).
fn expected_attractiveness(beh: &BehaviourParams, i: usize) -> f64 {
    let dt = dt();
    let keep = 0.5_f64.powf(dt / beh.momentum_halflife_days);
    let momentum = (1.0 - keep) * (CASE.price[i] / CASE.prev_price[i]).ln() / dt;
    let tao_sum: f64 = CASE.tao.iter().sum();
    let mean_div: f64 =
        CASE.tao.iter().zip(&CASE.dividend_rate).map(|(t, d)| t * d).sum::<f64>() / tao_sum;
    let excess_yield = (CASE.dividend_rate[i] - mean_div) * 365.0 / dt;
    let g = 0.15 * 0.5_f64.powf(dt / beh.market_halflife_days);
    beh.beta_quality * CASE.quality[i]
        + beh.beta_momentum * momentum
        + beh.beta_yield * excess_yield
        + g
        - beh.beta_zero_share * f64::from(u8::from(CASE.share[i] == 0.0))
}

/// Organic inflow has mean `inflow·dt·size^e·e^a`: the noise is mean-one. Subnets of four sizes,
/// each attractiveness term active; 20,000 paths; SE from the lognormal's variance `e^{σ²} − 1`.
/// Without noise it is exactly that value.
#[test]
fn inflow_mean_matches_closed_form() {
    let params = StepParams::default();
    let reg = no_registrations();
    let base = BehaviourParams {
        beta_quality: 1.0,
        beta_momentum: 10.0,
        beta_yield: 2.0,
        beta_zero_share: 0.5,
        inflow_tao_per_day: 60.0,
        size_elasticity: 0.8,
        ..quiet()
    };
    let mean_tao = CASE.tao.iter().sum::<f64>() / 4.0;
    let expected: Vec<f64> = (0..4)
        .map(|i| {
            60.0 * dt()
                * (CASE.tao[i] / mean_tao).powf(0.8)
                * expected_attractiveness(&base, i).exp()
        })
        .collect();

    let mut b = inflow_state(1);
    let (orders, _) = run_once(&params, &base, &reg, &mut b, 0, 0);
    for i in 0..4 {
        let rel = (orders[i].stake_tao / expected[i] - 1.0).abs();
        assert!(rel < 1e-12, "noise-free subnet {i}: {} vs {}", orders[i].stake_tao, expected[i]);
    }

    let sigma = 0.5;
    let beh = BehaviourParams { flow_noise: sigma, ..base };
    let paths = 20_000;
    let mut b = inflow_state(paths);
    let mut sums = [0.0; 4];
    for path in 0..paths {
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, path, 7);
        for i in 0..4 {
            sums[i] += orders[i].stake_tao;
        }
    }
    let se_rel = ((sigma * sigma).exp_m1() / paths as f64).sqrt();
    for i in 0..4 {
        let ratio = sums[i] / paths as f64 / expected[i];
        assert!((ratio - 1.0).abs() < 5.0 * se_rel, "subnet {i}: mean/expected {ratio}");
    }
}

/// A pool drained towards zero at a negative size elasticity: `size^e` overflows, and the inflow
/// is the TAO supply (`MAX_STEP_INFLOW`) rather than infinite; at a zero inflow rate it is 0,
/// not `0·∞ = NaN`. The other subnet's inflow is the closed form, unchanged by the cap.
#[test]
fn a_drained_pool_takes_at_most_the_supply() {
    use taosim_core::cpu::behaviour::MAX_STEP_INFLOW;
    let params = StepParams::default();
    let reg = no_registrations();
    let beh = BehaviourParams { inflow_tao_per_day: 60.0, size_elasticity: -2.0, ..quiet() };
    let drained = 1e-300;
    let fresh = |b: &mut BatchState<f64>| {
        let mut p = b.path(0);
        set_subnet(&mut p, 0, drained, 0.01, 1.0e5);
        set_subnet(&mut p, 1, 1_000.0, 0.01, 1.0e5);
    };
    let mut b = BatchState::<f64>::zeroed(1, 2);
    fresh(&mut b);
    let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, 0);
    // size = 1e-300 / 500 (the mean pool): size^-2 = 2.5e605, beyond f64.
    assert_eq!(MAX_STEP_INFLOW, TOTAL_SUPPLY);
    assert_eq!(orders[0].stake_tao, TOTAL_SUPPLY);
    let size: f64 = 1_000.0 / ((drained + 1_000.0) / 2.0);
    let expected = 60.0 * dt() * size.powf(-2.0);
    assert!((orders[1].stake_tao / expected - 1.0).abs() < 1e-12, "{:?}", orders[1]);

    let still = BehaviourParams { inflow_tao_per_day: 0.0, ..beh };
    let mut b = BatchState::<f64>::zeroed(1, 2);
    fresh(&mut b);
    let (orders, _) = run_once(&params, &still, &reg, &mut b, 0, 0);
    assert_eq!((orders[0].stake_tao, orders[1].stake_tao), (0.0, 0.0));
}

/// Outflow without noise sells exactly `held·(1 − e^{−r·dt·e^{−a}})`, and two steps of
/// `dt` sell what one step of `2dt` does (the hazard form compounds exactly).
#[test]
fn outflow_fraction_follows_hazard_rule_and_compounds() {
    let reg = no_registrations();
    let rate = 0.3;
    let beh = BehaviourParams { outflow_rate_per_day: rate, beta_quality: 1.0, ..quiet() };
    let held = 50_000.0;
    for quality in [-1.0, 0.0, 0.7] {
        let mut b = uniform_batch(1, 1);
        b.path(0).sub.quality[0] = quality;
        let params = StepParams::default();
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, 0);
        let expected = held * (1.0 - (-rate * dt() * (-quality).exp()).exp());
        assert!((orders[0].unstake_alpha / expected - 1.0).abs() < 1e-12, "q {quality}");

        // Two steps of 361 blocks (holders sell in between) against one of 722.
        let mut two = uniform_batch(1, 1);
        two.path(0).sub.quality[0] = quality;
        let (o1, _) = run_once(&params, &beh, &reg, &mut two, 0, 0);
        two.path(0).sub.held_organic[0] -= o1[0].unstake_alpha;
        let (o2, _) = run_once(&params, &beh, &reg, &mut two, 0, 1);
        let mut one = uniform_batch(1, 1);
        one.path(0).sub.quality[0] = quality;
        let long = StepParams { blocks_per_step: 722, ..StepParams::default() };
        let (o, _) = run_once(&long, &beh, &reg, &mut one, 0, 0);
        let sold_two = o1[0].unstake_alpha + o2[0].unstake_alpha;
        assert!((sold_two / o[0].unstake_alpha - 1.0).abs() < 1e-12, "q {quality}");
    }
    // Even an absurd rate never sells more than is held.
    let huge = BehaviourParams { outflow_rate_per_day: 1.0e6, ..beh };
    let mut b = uniform_batch(1, 1);
    let (orders, _) = run_once(&StepParams::default(), &huge, &reg, &mut b, 0, 0);
    assert!(orders[0].unstake_alpha <= held && orders[0].unstake_alpha > 0.999 * held);
}

/// Panic sells `held·(1 − e^{−panic_rate·dt})` exactly when `1 − p/peak ≥ panic_drawdown`, and
/// nothing otherwise (outflow off).
#[test]
fn panic_only_at_or_beyond_drawdown_threshold() {
    let params = StepParams::default();
    let reg = no_registrations();
    let beh = BehaviourParams { panic_drawdown: 0.5, panic_rate_per_day: 0.2, ..quiet() };
    let held = 50_000.0;
    let panic_sale = held * (1.0 - (-0.2 * dt()).exp());
    // Price 0.01 (1,000 TAO / 100,000 alpha); peaks give drawdowns 0.4, 0.4999, 0.5, 0.6.
    for (peak, panics) in [(1.0 / 60.0, false), (0.01 / 0.5001, false), (0.02, true), (0.025, true)]
    {
        let mut b = uniform_batch(1, 1);
        b.path(0).sub.peak_price[0] = peak;
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, 0);
        let want = if panics { panic_sale } else { 0.0 };
        assert!(
            (orders[0].unstake_alpha - want).abs() <= 1e-9 * held,
            "peak {peak}: sold {} want {want}",
            orders[0].unstake_alpha
        );
    }
    // An unset peak (0) never panics.
    let mut b = uniform_batch(1, 1);
    b.path(0).sub.peak_price[0] = 0.0;
    let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, 0);
    assert_eq!(orders[0].unstake_alpha, 0.0);
}

/// The exodus starts at the first streak with `steps·dt ≥ patience` (14 days = 279.2 steps of
/// 361 blocks: step 280), sells `held·(1 − e^{−exit·dt})`, and a zero patience does not make
/// holders of an earning subnet (streak 0) leave.
#[test]
fn exodus_only_after_patience() {
    let params = StepParams::default();
    let reg = no_registrations();
    let beh = BehaviourParams {
        zero_emission_patience_days: 14.0,
        zero_emission_exit_per_day: 0.1,
        ..quiet()
    };
    let held = 50_000.0;
    let exit_sale = held * (1.0 - (-0.1 * dt()).exp());
    let first = (14.0 / dt()).ceil() as u32;
    assert_eq!(first, 280);
    for (streak, leaves) in
        [(0, false), (1, false), (first - 1, false), (first, true), (5_000, true)]
    {
        let mut b = uniform_batch(1, 1);
        b.path(0).sub_int.zero_share_steps[0] = streak;
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, 0);
        let want = if leaves { exit_sale } else { 0.0 };
        assert!(
            (orders[0].unstake_alpha - want).abs() <= 1e-9 * held,
            "streak {streak}: sold {}",
            orders[0].unstake_alpha
        );
    }
    let impatient = BehaviourParams { zero_emission_patience_days: 0.0, ..beh };
    let mut b = uniform_batch(1, 1);
    let (orders, _) = run_once(&params, &impatient, &reg, &mut b, 0, 0);
    assert_eq!(orders[0].unstake_alpha, 0.0);
    b.path(0).sub_int.zero_share_steps[0] = 1;
    let (orders, _) = run_once(&params, &impatient, &reg, &mut b, 0, 1);
    assert!((orders[0].unstake_alpha - exit_sale).abs() <= 1e-9 * held);
}

/// Pearson correlation of two equally long samples.
fn correlation(xs: &[f64], ys: &[f64]) -> f64 {
    let (mx, vx) = moments(xs);
    let (my, vy) = moments(ys);
    let n = xs.len() as f64;
    let cov = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>() / n;
    cov / (vx * vy).sqrt()
}

/// Each draw of a subnet's step reads a word of its own. Three of the four normals sharing a
/// block (quality diffusion, inflow noise, outflow noise) are recovered from the stage's outputs
/// by the closed forms: each is standard normal and the three are pairwise uncorrelated. The two
/// Poisson counts sharing a block: the squared quality step `k·σ_J²·z²` (jumps only) is
/// uncorrelated with the whale count. Two draws wired to one word would correlate by 1 (the
/// normals) or by 0.5 (the counts at these means). 16 subnets × 4,000 steps: SE of a correlation
/// `1/√n` = 0.004.
#[test]
fn the_draws_of_a_subnet_step_are_independent() {
    let params = StepParams::default();
    let reg = no_registrations();
    let (subnets, steps) = (16, 4_000_u32);
    let n = f64::from(steps) * subnets as f64;

    // Attractiveness 0 (every weight 0, the market factor 0): inflow `60·dt·LN`, outflow hazard
    // `0.3·dt·LN'`, quality step `√dt·z` (sigma 1 per √day).
    let sigma = 0.5;
    let beh = BehaviourParams {
        quality_sigma: 1.0,
        inflow_tao_per_day: 60.0,
        outflow_rate_per_day: 0.3,
        flow_noise: sigma,
        ..quiet()
    };
    let mut b = uniform_batch(1, subnets);
    let held = 50_000.0;
    let (mut z_quality, mut z_in, mut z_out) = (Vec::new(), Vec::new(), Vec::new());
    for step in 0..steps {
        let before: Vec<f64> = b.path(0).sub.quality.to_vec();
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, step);
        let after = b.path(0).sub.quality.to_vec();
        for i in 0..subnets {
            z_quality.push((after[i] - before[i]) / dt().sqrt());
            let noise_in = orders[i].stake_tao / (60.0 * dt());
            z_in.push((noise_in.ln() + 0.5 * sigma * sigma) / sigma);
            let hazard = -(-orders[i].unstake_alpha / held).ln_1p();
            z_out.push(((hazard / (0.3 * dt())).ln() + 0.5 * sigma * sigma) / sigma);
        }
    }
    for (name, z) in [("quality", &z_quality), ("inflow", &z_in), ("outflow", &z_out)] {
        let (mean, var) = moments(z);
        assert!(mean.abs() < 5.0 / n.sqrt(), "{name} noise mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "{name} noise variance {var}");
    }
    for (name, x, y) in [
        ("quality/inflow", &z_quality, &z_in),
        ("quality/outflow", &z_quality, &z_out),
        ("inflow/outflow", &z_in, &z_out),
    ] {
        let r = correlation(x, y);
        assert!(r.abs() < 5.0 / n.sqrt(), "{name} correlation {r}");
    }

    // Jumps of N(0, 1) at 0.5 a step (no diffusion, so every jump's normal is drawn), whales of
    // exactly 1 TAO at 0.5 a step: the whale count is stake TAO plus unstaked alpha × price.
    let (jump_mean, whale_mean) = (0.5, 0.5);
    let beh = BehaviourParams {
        jump_rate_per_year: jump_mean * 365.0 / dt(),
        jump_sigma: 1.0,
        whale_rate_per_year: whale_mean * 365.0 / dt(),
        whale_size_median: 1.0,
        whale_size_sigma: 0.0,
        ..quiet()
    };
    let mut b = uniform_batch(1, subnets);
    let (mut jump_square, mut whales) = (Vec::new(), Vec::new());
    for step in 0..steps {
        let before: Vec<f64> = b.path(0).sub.quality.to_vec();
        let (orders, _) = run_once(&params, &beh, &reg, &mut b, 0, step);
        let after = b.path(0).sub.quality.to_vec();
        for i in 0..subnets {
            jump_square.push((after[i] - before[i]).powi(2));
            whales.push((orders[i].stake_tao + orders[i].unstake_alpha * 0.01).round());
        }
    }
    // E[k·z²] = λ_J and E[count] = λ_W: both draws are live, not stuck at zero.
    let (mean_jump_square, _) = moments(&jump_square);
    let (mean_whales, _) = moments(&whales);
    // Var(k·z²) = 3(λ + λ²) − λ² = 2 at λ = 0.5; Var(count) = λ_W.
    assert!((mean_jump_square - jump_mean).abs() < 5.0 * (2.0 / n).sqrt(), "{mean_jump_square}");
    assert!((mean_whales - whale_mean).abs() < 5.0 * (whale_mean / n).sqrt(), "{mean_whales}");
    let r = correlation(&jump_square, &whales);
    assert!(r.abs() < 5.0 / n.sqrt(), "jump/whale correlation {r}");
}

/// The stage leaves the pools, the peak, the zero-share streak and inactive slots alone, and
/// writes empty orders for inactive slots; buybacks add `buyback_per_day·dt` to the stake.
#[test]
fn stage_writes_only_its_own_fields() {
    let params = StepParams::default();
    let reg = no_registrations();
    let beh = BehaviourParams::default();
    let mut b = uniform_batch(1, 3);
    {
        let p = b.path(0);
        p.sub_int.active[2] = 0;
        p.sub.quality[2] = 0.7;
        p.sub.buyback_per_day[1] = 100.0;
        p.sub_int.zero_share_steps[0] = 9;
    }
    let before = b.clone();
    let mut orders = vec![Orders { stake_tao: 1.0, unstake_alpha: 1.0 }; 3];
    let rng = PathRng::new(SEED, 0, 0);
    behaviour(&params, &beh, &reg, &rng, 0, &mut b.path(0), &mut orders);
    assert_eq!(orders[2], Orders::default());
    assert!(orders[1].stake_tao >= 100.0 * dt());
    // Undo the fields the stage owns: what is left must equal the state before.
    let mut after = b.clone();
    let mut before = before;
    {
        let a = after.path(0);
        let p = before.path(0);
        assert_eq!(a.sub.quality[2], 0.7, "inactive slot's quality changed");
        a.sub.quality.copy_from_slice(p.sub.quality);
        a.sub.momentum.copy_from_slice(p.sub.momentum);
        a.sub.prev_price.copy_from_slice(p.sub.prev_price);
        a.global.market[0] = p.global.market[0];
    }
    assert_eq!(after, before);
    assert_ne!(b, before, "the stage changed nothing");

    // Buyback alone (everything else quiet): exactly buyback·dt.
    let mut b = uniform_batch(1, 1);
    b.path(0).sub.buyback_per_day[0] = 100.0;
    let (orders, _) = run_once(&params, &quiet(), &reg, &mut b, 0, 0);
    assert!((orders[0].stake_tao - 100.0 * dt()).abs() < 1e-12);
}

/// A varied batch of `paths` paths (every path different) run with the default behaviour.
fn varied_batch(paths: usize, subnets: usize) -> BatchState<f64> {
    let mut b = BatchState::<f64>::zeroed(paths, subnets);
    for path in 0..paths {
        let mut p = b.path(path);
        for i in 0..subnets {
            let k = (path * subnets + i) as f64;
            let price = 0.004 + 0.001 * (k % 17.0);
            set_subnet(&mut p, i, 500.0 + 300.0 * (k % 23.0), price, 2.0e5 + 1.0e3 * k);
            p.sub.peak_price[i] = price * (1.0 + (k % 5.0) * 0.3);
            p.sub.prev_price[i] = price * (1.0 + 0.01 * ((k % 7.0) - 3.0));
            p.sub.dividend_rate[i] = 1.0e-5 * (k % 11.0);
            p.sub.share[i] = if k % 4.0 == 0.0 { 0.0 } else { 0.01 };
            p.sub_int.zero_share_steps[i] = (k as u32 * 37) % 600;
        }
    }
    b
}

/// Busy behaviour: many whales and jumps, so every draw is exercised.
fn busy() -> (BehaviourParams, RegistrationParams) {
    let beh = BehaviourParams {
        whale_rate_per_year: 2_000.0,
        jump_rate_per_year: 200.0,
        ..BehaviourParams::default()
    };
    (beh, RegistrationParams { rate_per_day: 5.0, ..RegistrationParams::default() })
}

/// What one path drew at one step: (path id, step, orders, arrival).
type Record = (u32, u32, Vec<Orders<f64>>, Arrival<f64>);

/// Runs `steps` steps on the paths of `b` in the order `order`, `b`'s path `k` being the engine's
/// path `ids[k]`. Returns every (path id, step) → (orders, arrival).
fn run_in_order(b: &mut BatchState<f64>, ids: &[u32], order: &[usize], steps: u32) -> Vec<Record> {
    let (beh, reg) = busy();
    let params = StepParams::default();
    let mut out = Vec::new();
    for step in 0..steps {
        for &k in order {
            let rng = PathRng::new(SEED, 3, ids[k]);
            let mut orders = vec![Orders::default(); b.subnets];
            let arrival = behaviour(&params, &beh, &reg, &rng, step, &mut b.path(k), &mut orders);
            out.push((ids[k], step, orders, arrival));
        }
    }
    out.sort_by_key(|(id, step, _, _)| (*id, *step));
    out
}

/// The same (seed, path, step) gives bit-identical orders, arrivals and states whether paths run
/// forwards, backwards, in another batch position, or in parallel (rayon).
#[test]
fn orders_are_independent_of_path_order_and_batch_position() {
    let (paths, subnets, steps) = (12, 8, 30);
    let ids: Vec<u32> = (0..paths as u32).collect();
    let mut forward = varied_batch(paths, subnets);
    let fwd = run_in_order(&mut forward, &ids, &(0..paths).collect::<Vec<_>>(), steps);
    let mut backward = varied_batch(paths, subnets);
    let bwd = run_in_order(&mut backward, &ids, &(0..paths).rev().collect::<Vec<_>>(), steps);
    assert_eq!(fwd, bwd);
    assert_eq!(forward, backward);

    // A second batch holding the same paths in a shuffled order (path id ids2[k] at position k).
    let perm = [5_usize, 11, 0, 7, 3, 9, 1, 10, 2, 8, 4, 6];
    let source = varied_batch(paths, subnets);
    let mut shuffled = varied_batch(paths, subnets);
    for (k, &src) in perm.iter().enumerate() {
        let n = shuffled.subnet_real.len() / paths;
        shuffled.subnet_real[k * n..(k + 1) * n]
            .copy_from_slice(&source.subnet_real[src * n..(src + 1) * n]);
        let n = shuffled.subnet_int.len() / paths;
        shuffled.subnet_int[k * n..(k + 1) * n]
            .copy_from_slice(&source.subnet_int[src * n..(src + 1) * n]);
    }
    let ids2: Vec<u32> = perm.iter().map(|&p| p as u32).collect();
    let shf = run_in_order(&mut shuffled, &ids2, &(0..paths).collect::<Vec<_>>(), steps);
    assert_eq!(fwd, shf);

    // In parallel through the batch's own rayon loop: same final states.
    let (beh, reg) = busy();
    let params = StepParams::default();
    let mut parallel = varied_batch(paths, subnets);
    for step in 0..steps {
        parallel.for_each_path(|k, mut p| {
            let rng = PathRng::new(SEED, 3, k as u32);
            let mut orders = vec![Orders::default(); subnets];
            behaviour(&params, &beh, &reg, &rng, step, &mut p, &mut orders);
        });
    }
    assert_eq!(parallel, forward);
    // Something actually happened.
    assert!(fwd.iter().any(|(_, _, o, _)| o.iter().any(|o| o.unstake_alpha > 0.0)));
    assert!(fwd.iter().any(|(_, _, _, a)| a.arrived == 1));
}

/// f32 against f64 on the same state and draws, one step from the same start over 200 (path,
/// step) pairs with busy behaviour: orders within 1e-4 relative (f32 rounds each of ~20 operations
/// at 6e-8, and `exp(a)` multiplies an absolute error in `a` of ~1e-6 into a relative one), the
/// updated quality, momentum and market factor within 1e-4 absolute, arrivals identical. A Poisson
/// count that lands on a rounding boundary could flip; the seeds here have none.
#[test]
fn f32_agrees_with_f64() {
    let (beh, reg) = busy();
    let params = StepParams::default();
    let (paths, subnets) = (20, 16);
    let mut worst_order = 0.0_f64;
    let mut worst_state = 0.0_f64;
    for step in 0..10 {
        let mut b64 = varied_batch(paths, subnets);
        let mut b32 = b64.to_precision::<f32>();
        for path in 0..paths {
            let (o64, a64) = run_once(&params, &beh, &reg, &mut b64, path, step);
            let (o32, a32) = run_once(&params, &beh, &reg, &mut b32, path, step);
            assert_eq!(a64.arrived, a32.arrived);
            if a64.arrived == 1 {
                let rel = (f64::from(a32.willingness) / a64.willingness - 1.0).abs();
                assert!(rel < 1e-5, "willingness {rel}");
            }
            for i in 0..subnets {
                for (x, y) in [
                    (o64[i].stake_tao, o32[i].stake_tao),
                    (o64[i].unstake_alpha, o32[i].unstake_alpha),
                ] {
                    let err = (f64::from(y) - x).abs() / x.abs().max(1e-3);
                    worst_order = worst_order.max(err);
                }
            }
            let p64 = b64.path(path);
            let p32 = b32.path(path);
            for i in 0..subnets {
                for (x, y) in [
                    (p64.sub.quality[i], p32.sub.quality[i]),
                    (p64.sub.momentum[i], p32.sub.momentum[i]),
                ] {
                    worst_state = worst_state.max((f64::from(y) - x).abs());
                }
            }
            worst_state =
                worst_state.max((f64::from(p32.global.market[0]) - p64.global.market[0]).abs());
        }
    }
    assert!(worst_order < 1e-4, "worst order error {worst_order:e}");
    assert!(worst_state < 1e-4, "worst state error {worst_state:e}");
}
