//! GPU stages `swaps`, `emission_shares` and `injection` against their CPU twins on fresh random
//! inputs (see `common::context` for when a missing adapter skips and when it fails), in f64 and
//! f32. Each case perturbs the initial network at random (`common::random_batch`) plus what the
//! stage needs (orders large enough for the minimum-reserve cut and the Balancer input cap,
//! Balancer weights, miner burns, protocol flows, issuances at a halving threshold, root sell flag
//! both ways), runs the stage on the device and the twin on a copy, and compares every state field
//! (integers exactly, reals within the stated tolerance) and the eligibility flags the
//! `emission_shares` stage leaves in the scratch.
//!
//! Tolerances: reals are compared relative to `max(|gpu|, |cpu|, floor)`. The floor is the
//! magnitude below which a value is the rounding residue of a cancellation of larger terms
//! (`x − output` at the minimum reserve, `flow` after `+buy −sell`), stated per stage in f64 and
//! f32 units.

use taosim_core::Real;
use taosim_core::cpu::swaps::Orders;
use taosim_core::engine::RunPlan;
use taosim_core::state::{BatchState, SubnetReal};
use taosim_gpu::device::{BatchId, ScratchLayout, binding};
use taosim_gpu::stages::run_step_stage;

mod common;
use common::{Noise, context, max_rel_diff, plan, random_batch, random_eligible};

fn batch_id(plan: &RunPlan) -> BatchId {
    BatchId { seed: plan.config.run.seed, point: 0, first_path: 0 }
}

/// Compares every field of `gpu` and `cpu`: integers exactly, reals within `tolerance` relative
/// to `max(|a|, |b|, floor)`, or for subnet reals to `max(|a|, |b|, floor, slot_scale[path, slot])`
/// when a per-slot scale is given (the magnitude of the slot's largest intermediate). Returns the
/// worst relative difference seen.
fn compare<R: Real>(
    what: &str,
    gpu: &BatchState<R>,
    cpu: &BatchState<R>,
    tolerance: f64,
    floor: f64,
    slot_scale: Option<&[f64]>,
) -> f64 {
    assert_eq!(gpu.subnet_int, cpu.subnet_int, "{what}: subnet integers differ");
    assert_eq!(gpu.global_int, cpu.global_int, "{what}: global integers differ");
    assert_eq!(gpu.yuma_int, cpu.yuma_int, "{what}: Yuma integers differ");
    let wide = |v: &[R]| v.iter().map(|x| x.f64()).collect::<Vec<f64>>();
    let s = gpu.subnets;
    let (d, k) = match slot_scale {
        None => max_rel_diff(&wide(&gpu.subnet_real), &wide(&cpu.subnet_real), floor),
        Some(scale) => {
            let mut worst = (0.0_f64, 0);
            for (k, (a, b)) in gpu.subnet_real.iter().zip(&cpu.subnet_real).enumerate() {
                let (a, b) = (a.f64(), b.f64());
                let path = k / (s * SubnetReal::<f64>::FIELDS);
                let at_scale = floor.max(scale[path * s + k % s]);
                let d =
                    if a == b { 0.0 } else { (a - b).abs() / a.abs().max(b.abs()).max(at_scale) };
                if d > worst.0 || d.is_nan() {
                    worst = (d, k);
                }
            }
            worst
        }
    };
    let field = SubnetReal::<f64>::NAMES[(k / s) % SubnetReal::<f64>::FIELDS];
    assert!(
        d <= tolerance,
        "{what}: subnet field `{field}` (path {}, slot {}) differs by {d:e} relative (gpu {}, cpu {}), tolerance {tolerance:e}",
        k / (s * SubnetReal::<f64>::FIELDS),
        k % s,
        gpu.subnet_real[k].f64(),
        cpu.subnet_real[k].f64(),
    );
    let (dg, k) = max_rel_diff(&wide(&gpu.global_real), &wide(&cpu.global_real), floor);
    assert!(
        dg <= tolerance,
        "{what}: global real {k} differs by {dg:e} relative (gpu {}, cpu {})",
        gpu.global_real[k].f64(),
        cpu.global_real[k].f64(),
    );
    let (dy, k) = max_rel_diff(&wide(&gpu.yuma_real), &wide(&cpu.yuma_real), floor);
    assert!(dy <= tolerance, "{what}: Yuma real {k} differs by {dy:e} relative");
    eprintln!("{what}: worst relative difference {:e} (subnet field `{field}`)", d.max(dg).max(dy));
    d.max(dg).max(dy)
}

const PATHS: usize = 37;

// ---------------------------------------------------------------------------------------------
// swaps

/// Random orders in the scratch and for the twin: ordinary ones (a fraction of the reserve or the
/// holdings), buys far beyond the constant product's minimum-reserve bound (`y·(x − m)/m`) and
/// the Balancer's 1000× cap, sells of huge organic holdings (the TAO reserve's floor), none; plus
/// random Balancer weights and a few pools already at the alpha floor.
fn swaps_case<R: Real>(plan: &RunPlan, seed: u64) -> (BatchState<R>, Vec<R>, Vec<Vec<Orders<R>>>) {
    let mut state = random_batch::<R>(plan, PATHS, seed);
    let mut noise = Noise::new(1000 + seed);
    let layout = ScratchLayout::new(plan.slots, plan.yuma);
    let mut scratch = vec![R::zero(); state.paths * layout.reals];
    let mut orders = Vec::new();
    let min_reserve = plan.step.chain.min_reserve;
    for p in 0..state.paths {
        let mut st = state.path(p);
        let mut path_orders = vec![Orders::default(); plan.slots];
        for i in 0..plan.slots {
            let s = &mut st.sub;
            s.w_quote[i] = R::of(0.1 + 0.8 * noise.u());
            if noise.u() < 0.03 {
                s.alpha[i] = R::of(0.5 * min_reserve);
            }
            let (tao, held) = (s.tao[i].f64(), s.held_organic[i].f64());
            let r = noise.u();
            let stake = if r < 0.55 {
                tao * 0.1 * noise.u()
            } else if r < 0.7 {
                tao * 1e10 * (1.0 + noise.u())
            } else if r < 0.85 {
                tao * 1e3 * (1.0 + 4.0 * noise.u())
            } else {
                0.0
            };
            let r = noise.u();
            let unstake = if r < 0.55 {
                held * 1.2 * noise.u()
            } else if r < 0.75 {
                s.held_organic[i] = R::of(s.alpha[i].f64() * 1e10 * (1.0 + noise.u()));
                s.held_organic[i].f64()
            } else {
                0.0
            };
            path_orders[i] = Orders { stake_tao: R::of(stake), unstake_alpha: R::of(unstake) };
            scratch[p * layout.reals + i] = path_orders[i].stake_tao;
            scratch[p * layout.reals + plan.slots + i] = path_orders[i].unstake_alpha;
        }
        orders.push(path_orders);
    }
    (state, scratch, orders)
}

/// Per (path, slot): the largest magnitude the slot's swaps pass through (reserves after the buy,
/// the organic holdings, the order sizes), in f64 through the model's own swap functions. The
/// final reserves after a buy of up to 1000× the reserve and a sell of it back are the difference
/// of such magnitudes, so their rounding is relative to this scale, not to the result.
fn swaps_scales<R: Real>(
    plan: &RunPlan,
    state: &mut BatchState<R>,
    orders: &[Vec<Orders<R>>],
) -> Vec<f64> {
    use taosim_core::model::amm::{Pool, buy};
    let chain = &plan.step.chain;
    let mut scale = vec![0.0; state.paths * plan.slots];
    for (p, path_orders) in orders.iter().enumerate() {
        let st = state.path(p);
        for i in 0..plan.slots {
            let s = &st.sub;
            let mut pool = Pool::weighted(s.tao[i].f64(), s.alpha[i].f64(), s.w_quote[i].f64());
            let start = pool;
            let bought = buy(
                chain.amm,
                &mut pool,
                path_orders[i].stake_tao.f64(),
                chain.fee_rate,
                chain.min_reserve,
            );
            let held = s.held_organic[i].f64() + bought.output;
            let sold = path_orders[i].unstake_alpha.f64().min(held);
            scale[p * plan.slots + i] = [start.tao, start.alpha, pool.tao, pool.alpha, held, sold]
                .into_iter()
                .fold(0.0, f64::max);
        }
    }
    scale
}

fn check_swaps<R: Real>(ctx: &taosim_gpu::Context, tolerance: f64, floor: f64) -> f64 {
    let mut worst = 0.0_f64;
    for (case, overrides) in [
        (0, ""),
        (1, "[chain]\namm = \"balancer\""),
        (2, "[chain]\namm = \"balancer\"\nfee_rate = 0.01"),
    ] {
        let plan = plan(overrides);
        let (mut gpu, scratch, orders) = swaps_case::<R>(&plan, case);
        let mut cpu = gpu.clone();
        let scale = swaps_scales(&plan, &mut cpu, &orders);
        let mut cut_paths = 0;
        run_step_stage(ctx, "swaps", &plan, batch_id(&plan), &mut gpu, &scratch, &[])
            .expect("dispatch");
        for (p, path_orders) in orders.iter().enumerate() {
            let totals = taosim_core::cpu::swaps::swaps(&plan.step, path_orders, &mut cpu.path(p));
            cut_paths += totals.cut;
        }
        let what = format!("swaps {} case {case}", std::any::type_name::<R>());
        assert!(cut_paths > 0, "{what}: no order was cut: the test misses the reserve/cap paths");
        worst = worst.max(compare(&what, &gpu, &cpu, tolerance, floor, Some(&scale)));
    }
    worst
}

/// `swaps` in f64. Constant product: arithmetic only (measured bit-identical). Balancer: the
/// payout fraction and the reserve bound go through software exp/ln (≤ 4 ulps of libm, see
/// parity.rs), each amplified by the size of its argument (`e·ln(1 + u)` up to ~30 for a 1e10×
/// order), and the flow `+net − output` cancels: measured worst 4e-16 relative to the slot's
/// scale (see [`swaps_scales`]); 1e-12 leaves room. Floor 1e-9 TAO/alpha (one rao).
#[test]
fn swaps_match_their_twin_in_f64() {
    let Some(ctx) = context() else { return };
    let worst = check_swaps::<f64>(&ctx, 1e-12, 1e-9);
    eprintln!("swaps f64: worst {worst:e}");
}

/// `swaps` in f32: the same operations in f32 (constant product: measured bit-identical); the
/// Balancer's transcendental ones are the native f32 built-ins (a few ulps from libm), amplified
/// as in f64 by `e·ln(1 + u)` up to ~30, and compared relative to the slot's scale (a buy of
/// 1000× the reserve sold back leaves a reserve that is a difference of numbers 1000× larger):
/// measured worst 1.6e-6, tolerance 2e-5 relative. Floor 1e-3 (the minimum reserve).
#[test]
fn swaps_match_their_twin_in_f32() {
    let Some(ctx) = context() else { return };
    let worst = check_swaps::<f32>(&ctx, 2e-5, 1e-3);
    eprintln!("swaps f32: worst {worst:e}");
}

// ---------------------------------------------------------------------------------------------
// emission_shares

/// Inputs for the share regimes: a few slots deactivated, protocol flows and EMAs of both signs,
/// miner burns in [-0.2, 1.2] (clamped by the stage), and one path where every subnet burns all
/// (the price fallback of `price_burn`).
fn shares_case<R: Real>(plan: &RunPlan, seed: u64) -> BatchState<R> {
    let mut state = random_batch::<R>(plan, PATHS, seed);
    let mut noise = Noise::new(2000 + seed);
    for p in 0..state.paths {
        let mut st = state.path(p);
        for i in 0..plan.slots {
            if noise.u() < 0.05 {
                st.sub_int.active[i] = 0;
            }
            let s = &mut st.sub;
            s.protocol_flow_ema[i] = R::of(50.0 * (noise.u() - 0.4));
            s.protocol_flow[i] = R::of(1e2 * (noise.u() - 0.2));
            s.miner_burn[i] = R::of(if p == 3 { 1.0 } else { 1.4 * noise.u() - 0.2 });
        }
    }
    state
}

fn check_emission_shares<R: Real>(ctx: &taosim_gpu::Context, tolerance: f64, floor: f64) -> f64 {
    let mut worst = 0.0_f64;
    for (case, overrides) in [
        (0, "[chain]\nregime = \"price_ema\""),
        (1, "[chain]\nregime = \"taoflow\""),
        (2, "[chain]\nregime = \"taoflow\"\nflow_exponent = 1.7\nflow_cutoff = -2.0"),
        (3, "[chain]\nregime = \"net_taoflow\""),
        (4, "[chain]\nregime = \"net_taoflow\"\nflow_exponent = 0.6\nflow_cutoff = 0.5"),
        (5, "[chain]\nregime = \"price_burn\""),
        (6, "[chain]\nregime = \"taoflow\"\n[run]\nblocks_per_step = 7"),
    ] {
        let plan = plan(overrides);
        let mut gpu = shares_case::<R>(&plan, case);
        let mut cpu = gpu.clone();
        let layout = ScratchLayout::new(plan.slots, plan.yuma);
        // Stale flags in the scratch: the stage must overwrite every one.
        let stale = vec![1_u32; gpu.paths * layout.ints];
        let device =
            run_step_stage(ctx, "emission_shares", &plan, batch_id(&plan), &mut gpu, &[], &stale)
                .expect("dispatch");
        let flags: Vec<u32> = device
            .read(ctx, binding::SCRATCH_INT, gpu.paths * layout.ints, "scratch_int")
            .expect("read back");
        let what = format!("emission_shares {} case {case}", std::any::type_name::<R>());
        for p in 0..cpu.paths {
            let mut eligible = vec![0_u32; plan.slots];
            taosim_core::cpu::emission_shares::emission_shares(
                &plan.step,
                &mut cpu.path(p),
                &mut eligible,
            );
            assert_eq!(
                &flags[p * layout.ints..p * layout.ints + plan.slots],
                &eligible[..],
                "{what}: eligibility flags of path {p} differ"
            );
        }
        worst = worst.max(compare(&what, &gpu, &cpu, tolerance, floor, None));
    }
    worst
}

/// `emission_shares` in f64. The EMA factors come from the host (the twin's own f64 code), so
/// the EMAs are arithmetic only. The shares: price regimes are arithmetic only; the flow regimes
/// raise `z/max` to the exponent by software `exp(p·ln x)` (≤ 4 ulps of libm each, amplified by
/// `|p·ln x|` up to ~40 for the smallest shares), where libm's `powf` is correctly rounded (and
/// exact for p = 1): measured worst 1.8e-15, 1e-12 leaves room. Floor 1e-300: shares and EMAs
/// have no cancellation.
#[test]
fn emission_shares_match_their_twin_in_f64() {
    let Some(ctx) = context() else { return };
    let worst = check_emission_shares::<f64>(&ctx, 1e-12, 1e-300);
    eprintln!("emission_shares f64: worst {worst:e}");
}

/// `emission_shares` in f32: native f32 `pow` (a few ulps) amplified by `|p·ln x|` up to ~40 on
/// the smallest shares: measured worst 9.6e-7, tolerance 2e-5 relative.
#[test]
fn emission_shares_match_their_twin_in_f32() {
    let Some(ctx) = context() else { return };
    let worst = check_emission_shares::<f32>(&ctx, 2e-5, 1e-30);
    eprintln!("emission_shares f32: worst {worst:e}");
}

// ---------------------------------------------------------------------------------------------
// injection

/// Inputs for the injection: the TAO issuance and some subnets' alpha issuance just below the
/// first halving (10.5M), so the step crosses it; shares and moving prices scaled so the root sell
/// flag is set on some paths and not on others; random Balancer weights.
fn injection_case<R: Real>(plan: &RunPlan, seed: u64) -> BatchState<R> {
    let mut state = random_batch::<R>(plan, PATHS, seed);
    let mut noise = Noise::new(3000 + seed);
    for p in 0..state.paths {
        let mut st = state.path(p);
        if p % 3 == 0 {
            st.global.issuance[0] = R::of(10_500_000.0 - 400.0 * noise.u());
        }
        let price_sum = if p % 2 == 0 { 0.6 } else { 3.0 };
        let mut sum = 0.0;
        for i in 0..plan.slots {
            if st.sub_int.active[i] != 0 {
                sum += st.sub.moving_price[i].f64();
            }
        }
        let mut share_sum = 0.0;
        for i in 0..plan.slots {
            let s = &mut st.sub;
            s.moving_price[i] = R::of(s.moving_price[i].f64() * price_sum / sum.max(1e-12));
            s.w_quote[i] = R::of(0.2 + 0.6 * noise.u());
            if noise.u() < 0.2 {
                let issuance = 10_500_000.0 - 300.0 * noise.u();
                s.alpha_out[i] = R::of((issuance - s.alpha[i].f64()).max(0.0));
            }
            share_sum += s.share[i].f64();
        }
        // Shares summing to one, as emission_shares leaves them.
        for i in 0..plan.slots {
            st.sub.share[i] = R::of(st.sub.share[i].f64() / share_sum.max(1e-12));
        }
    }
    state
}

fn check_injection<R: Real>(ctx: &taosim_gpu::Context, tolerance: f64, floor: f64) -> f64 {
    let mut worst = 0.0_f64;
    for (case, overrides) in [
        (0, "[chain]\nregime = \"price_ema\""),
        (1, "[chain]\nregime = \"taoflow\""),
        (2, "[chain]\nregime = \"price_burn\""),
        (3, "[chain]\nregime = \"price_ema\"\namm = \"balancer\""),
        (4, "[chain]\nregime = \"net_taoflow\"\namm = \"balancer\""),
        (5, "[chain]\nregime = \"price_burn\"\namm = \"balancer\"\n[run]\nblocks_per_step = 7200"),
    ] {
        let plan = plan(overrides);
        let mut gpu = injection_case::<R>(&plan, case);
        let mut noise = Noise::new(4000 + case);
        let (scratch, flags) = random_eligible(&plan, &mut gpu, &mut noise);
        let mut cpu = gpu.clone();
        run_step_stage(ctx, "injection", &plan, batch_id(&plan), &mut gpu, &[], &scratch)
            .expect("dispatch");
        let mut crossed = 0;
        for (p, eligible) in flags.iter().enumerate() {
            let mut st = cpu.path(p);
            let before = st.global.issuance[0].f64();
            taosim_core::cpu::injection::injection(&plan.step, &mut st, eligible);
            crossed +=
                u32::from(before < 10_500_000.0 && st.global.issuance[0].f64() >= 10_500_000.0);
        }
        let what = format!("injection {} case {case}", std::any::type_name::<R>());
        assert!(crossed > 0, "{what}: no path crossed the halving: the test misses it");
        worst = worst.max(compare(&what, &gpu, &cpu, tolerance, floor, None));
    }
    worst
}

/// `injection` in f64. Constant product: arithmetic only (block emission, emission over blocks,
/// terms, proportional injection, the fee-less chain buy). Balancer: the re-weighting is
/// arithmetic, the chain buy's payout goes through software exp/ln (≤ 4 ulps, small arguments):
/// 1e-12. The compensated TAO total is mirrored; if NIR folds its compensation the naive sum of
/// ≤ 128 terms differs by ~1e-14 relative, inside 1e-12. Measured worst 2.2e-16 (constant
/// product bit-identical). Floor 1e-300.
#[test]
fn injection_matches_its_twin_in_f64() {
    let Some(ctx) = context() else { return };
    let worst = check_injection::<f64>(&ctx, 1e-12, 1e-300);
    eprintln!("injection f64: worst {worst:e}");
}

/// `injection` in f32: arithmetic within a few ulps but for the Balancer chain buy (native f32
/// exp/ln) and a folded compensation (naive f32 sum of ≤ 128 terms): measured worst 2.6e-7
/// (constant product bit-identical), tolerance 2e-5 relative.
#[test]
fn injection_matches_its_twin_in_f32() {
    let Some(ctx) = context() else { return };
    let worst = check_injection::<f32>(&ctx, 2e-5, 1e-30);
    eprintln!("injection f32: worst {worst:e}");
}

/// The block emission of every halving level in f32 as the CPU computes it (f64, rounded once)
/// equals the division the shader does in f32: the step stages' emission is exact in both.
#[test]
fn f32_emission_levels_round_like_the_cpu() {
    for k in 0..=taosim_core::model::emission::MAX_HALVINGS {
        let cpu = taosim_core::model::emission::emission_for_halvings::<f32>(k);
        let rao = (1.0e9_f32 * 0.5_f32.powi(k as i32)).floor();
        let shader = if k >= 30 { 0.0 } else { rao / 1.0e9_f32 };
        assert_eq!(cpu.to_bits(), shader.to_bits(), "k = {k}");
    }
}
