//! f32 against f64: the same stages, instantiated at both precisions, on the same random inputs.
//!
//! The GPU runs f32 where an adapter lacks `SHADER_F64`; its CPU target is the f32 instantiation of
//! the very functions the f64 reference runs. These tests bound how far the two drift apart, so the
//! GPU twin's tolerance and the f32 mode's divergence have a stated, tested basis.
//!
//! Inputs are drawn from Philox (seeded, so failures reproduce) at mainnet scale: pools of 1e2 to
//! 2e5 TAO at prices 0.002 to 0.08, issuance near 1.1e7 TAO, root 5e6 TAO.

use taosim_core::Real;
use taosim_core::cpu::{
    StepParams, emission_shares::emission_shares, injection::injection, moving_price::moving_price,
    payouts, payouts::PayoutParams, swaps, swaps::Orders,
};
use taosim_core::params::{AmmKind, EmissionRegime};
use taosim_core::rng::{PathRng, uniform_open};
use taosim_core::state::{BatchState, GlobalReal, SubnetReal};

const SUBNETS: usize = 32;

/// Uniform in `[lo, hi)` from the `k`-th word of a Philox block.
fn draw(rng: &PathRng, subnet: usize, stream: u32, lo: f64, hi: f64) -> f64 {
    let w = rng.block(0, subnet as u32, stream)[0];
    lo + (hi - lo) * uniform_open::<f64>(w)
}

/// A random mainnet-scale state in f64.
fn random_state(seed: u64) -> BatchState<f64> {
    let rng = PathRng::new(seed, 0, 0);
    let mut b = BatchState::<f64>::zeroed(1, SUBNETS);
    let p = b.path(0);
    for i in 0..SUBNETS {
        let tao = draw(&rng, i, 1, 1.0e2, 2.0e5);
        let price = draw(&rng, i, 2, 0.002, 0.08);
        p.sub.tao[i] = tao;
        p.sub.alpha[i] = tao / price;
        p.sub.w_quote[i] = 0.5;
        let out = p.sub.alpha[i] * draw(&rng, i, 3, 0.5, 3.0);
        p.sub.alpha_out[i] = out;
        p.sub.held_organic[i] = out * 0.6;
        p.sub.held_miners[i] = out * 0.15;
        p.sub.held_validators[i] = out * 0.15;
        p.sub.held_owner[i] = out * 0.1;
        p.sub.moving_price[i] = price * draw(&rng, i, 4, 0.8, 1.2);
        p.sub.flow_ema[i] = draw(&rng, i, 5, -0.05, 0.1);
        p.sub.protocol_flow_ema[i] = draw(&rng, i, 6, 0.0, 0.02);
        p.sub.miner_burn[i] = draw(&rng, i, 7, 0.0, 1.0);
        p.sub_int.active[i] = 1;
        p.sub_int.registered_block[i] = 1_000_000;
        p.sub_int.first_emission_block[i] = 1_050_400;
    }
    p.global.issuance[0] = 1.1e7;
    p.global.root_tao[0] = 5.0e6;
    p.global_int.block[0] = 8_000_000;
    b
}

/// Random orders for one step (TAO staked, alpha unstaked per subnet).
fn orders<R: Real>(seed: u64, step: u32) -> Vec<Orders<R>> {
    let rng = PathRng::new(seed, 1, 0);
    (0..SUBNETS)
        .map(|i| {
            let w = rng.block(step, i as u32, 0);
            Orders {
                stake_tao: R::of(500.0 * uniform_open::<f64>(w[0])),
                unstake_alpha: R::of(20_000.0 * uniform_open::<f64>(w[1])),
            }
        })
        .collect()
}

/// Runs `steps` steps of the mechanics stages (swaps, shares, injection, moving price, payouts).
fn run<R: Real>(params: &StepParams, mut b: BatchState<R>, seed: u64, steps: u32) -> BatchState<R> {
    let mut eligible = vec![0_u32; SUBNETS];
    for step in 0..steps {
        let step_orders = orders::<R>(seed, step);
        let mut p = b.path(0);
        swaps::swaps(params, &step_orders, &mut p);
        emission_shares(params, &mut p, &mut eligible);
        injection(params, &mut p, &eligible);
        moving_price(params, &mut p, &eligible);
        payouts::payouts(params, &PayoutParams::default(), &mut p);
        p.global_int.block[0] += params.blocks_per_step;
    }
    b
}

/// Largest difference between the two runs per field, relative to the field's largest f64
/// magnitude over the subnets (a field-wide scale, so values that pass near zero, such as the flow
/// EMAs, are not judged by their own tiny size).
fn worst_field_error(b64: &BatchState<f64>, b32: &BatchState<f32>) -> (String, f64) {
    let mut worst = (String::new(), 0.0_f64);
    let mut check = |name: &str, xs: &[f64], ys: &[f32]| {
        let scale = xs.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        if scale == 0.0 {
            return;
        }
        for (x, y) in xs.iter().zip(ys) {
            let err = (f64::from(*y) - x).abs() / scale;
            if err > worst.1 {
                worst = (name.to_string(), err);
            }
        }
    };
    let s = SUBNETS;
    for (f, name) in SubnetReal::<f64>::NAMES.iter().enumerate() {
        check(name, &b64.subnet_real[f * s..(f + 1) * s], &b32.subnet_real[f * s..(f + 1) * s]);
    }
    for (f, name) in GlobalReal::<f64>::NAMES.iter().enumerate() {
        check(name, &b64.global_real[f..=f], &b32.global_real[f..=f]);
    }
    worst
}

/// One step of every mechanics stage: f32 within 1e-6 of f64, field-wide relative (8 f32 ulps;
/// measured worst 3.8e-7, in the flow accumulator, a difference of buys and sells). Each stage is
/// a short chain of roundings on inputs already rounded once to f32; the closed-form EMA factors
/// are computed in f64 for both, so the tiny per-block α costs f32 nothing.
#[test]
fn one_step_f32_tracks_f64_within_8_ulps() {
    for regime in EmissionRegime::ALL {
        for amm in [AmmKind::ConstantProduct, AmmKind::Balancer] {
            let mut params = StepParams::default();
            params.chain.regime = regime;
            params.chain.amm = amm;
            for seed in 0..4 {
                let b64 = random_state(seed);
                let b32 = b64.to_precision::<f32>();
                let (r64, r32) = (run(&params, b64, seed, 1), run(&params, b32, seed, 1));
                let (field, err) = worst_field_error(&r64, &r32);
                assert!(err < 1.0e-6, "{regime:?}/{amm:?} seed {seed}: `{field}` off by {err:e}");
            }
        }
    }
}

/// Thirty days (720 steps) of the mechanics: f32 within 2e-4 of f64, field-wide relative
/// (measured worst 4.5e-5, in the flow EMA). The rounding of each step compounds through the pools
/// (every swap and injection reads the reserves the last one left), so the bound grows with the
/// horizon; this is the divergence f32 mode must report, and the target of the f32 GPU twin.
#[test]
fn thirty_days_f32_tracks_f64_within_2e_4() {
    for regime in EmissionRegime::ALL {
        let mut params = StepParams::default();
        params.chain.regime = regime;
        let b64 = random_state(99);
        let b32 = b64.to_precision::<f32>();
        let steps = 720;
        let (r64, r32) = (run(&params, b64, 99, steps), run(&params, b32, 99, steps));
        let (field, err) = worst_field_error(&r64, &r32);
        assert!(err < 2.0e-4, "{regime:?}: `{field}` off by {err:e} after {steps} steps");
    }
}
