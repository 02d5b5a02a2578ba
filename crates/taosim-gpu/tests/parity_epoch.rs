//! GPU stages `payouts` and `epoch` (with the Yuma model twin shaders/model/yuma.wgsl) against
//! their CPU twins on fresh random inputs: perturbed states (`common::random_batch`), the Yuma
//! blocks of `init_batch` (random per path) perturbed further (random bonds, consensus history
//! and permits), random positive pending emissions and holdings, random steps. Every state field
//! is compared, Yuma blocks included: integers (permits, epoch counters) exactly, reals within
//! the stated tolerance. See `common::context` for when a missing adapter skips.

use taosim_core::Real;
use taosim_core::cpu::epoch::{EpochWorkspace, epoch};
use taosim_core::cpu::payouts::payouts;
use taosim_core::engine::RunPlan;
use taosim_core::rng::PathRng;
use taosim_core::state::BatchState;
use taosim_gpu::device::BatchId;
use taosim_gpu::stages::run_step_stage;

mod common;
use common::{Noise, assert_states_match, context, plan, random_batch};

/// The Yuma sections of the cases (sizes, version, liquid alpha, strategies, reveal lag). Every
/// slot `random_batch` leaves live stays live (about all 128 of a path): the epoch runs one
/// workgroup of `EPOCH_LANES` lanes per path, which keeps each lane's loop passes under lavapipe's
/// 65,535 per invocation (docs/gpu.md), so the whole path is checked, every lane included.
const YUMA_CASES: &[(&str, &str)] = &[
    ("yuma3 V8 M32", "enabled = true\nversion = \"yuma3\"\nvalidators = 8\nminers = 32"),
    (
        "yuma3 liquid V8 M32 copiers",
        "enabled = true\nversion = \"yuma3\"\nliquid_alpha = true\nvalidators = 8\nminers = 32\n\
         copier_stake = 0.25\nreveal_epochs = 2",
    ),
    (
        "yuma2 V8 M32 cartel 0.6",
        "enabled = true\nversion = \"yuma2\"\nvalidators = 8\nminers = 32\ncartel_stake = 0.6\n\
         cartel_miners = 3\nbonds_penalty = 0.5",
    ),
    (
        "yuma2 V3 M5 cartel copier",
        "enabled = true\nversion = \"yuma2\"\nvalidators = 3\nminers = 5\ncartel_stake = 0.3\n\
         copier_stake = 0.2\nreveal_epochs = 1\nstake_zipf = 0.7",
    ),
    (
        "yuma3 liquid V3 M5 no noise",
        "enabled = true\nversion = \"yuma3\"\nliquid_alpha = true\nvalidators = 3\nminers = 5\n\
         weight_noise = 0.0\nminer_quality_sigma = 0.0\nbonds_penalty = 0.0",
    ),
];

/// Live slots per path of `state` (at least 100 of 128, so every lane of the epoch has work).
fn live_slots<R: Real>(state: &mut BatchState<R>) -> usize {
    (0..state.paths)
        .map(|p| state.path(p).sub_int.active.iter().filter(|&&a| a != 0).count())
        .min()
        .unwrap_or(0)
}

/// A random batch for `plan` with its Yuma blocks, pending emissions and holdings perturbed, and
/// each path at a random step.
fn epoch_batch<R: Real>(plan: &RunPlan, paths: usize, seed: u64) -> BatchState<R> {
    let mut state = random_batch::<R>(plan, paths, seed);
    let mut noise = Noise::new(1000 + seed);
    let layout = plan.yuma;
    for p in 0..paths {
        let mut st = state.path(p);
        st.global_int.step[0] = (noise.u() * 500.0) as u32;
        st.global.root_tao[0] = R::of(st.global.root_tao[0].f64() * noise.factor(0.5));
        for i in 0..plan.slots {
            if st.sub_int.active[i] == 0 {
                continue;
            }
            let s = &mut st.sub;
            let size = s.alpha[i].f64();
            s.pending_server[i] = R::of(size * 1e-3 * noise.u());
            s.pending_validator[i] = R::of(size * 1e-3 * noise.u());
            s.pending_owner[i] = R::of(size * 1e-3 * noise.u());
            s.pending_root[i] = R::of(size * 1e-3 * noise.u());
            s.held_validators[i] = R::of(size * 0.3 * noise.u());
            s.held_miners[i] = R::of(size * 0.1 * noise.u());
            s.held_owner[i] = R::of(size * 0.05 * noise.u());
            s.miner_burn[i] = R::of(noise.u() * 1.2 - 0.1);
            if layout.uids() == 0 {
                continue;
            }
            let block = layout.block(&mut *st.yuma_real, &mut *st.yuma_int, i);
            // Bonds of a few epochs' history: most entries positive, some exactly zero.
            for b in block.bonds.iter_mut() {
                let u = noise.u();
                *b = R::of(if u < 0.2 { 0.0 } else { u });
            }
            for h in block.consensus_history.iter_mut() {
                *h = R::of(noise.u() * 0.1);
            }
            // Permits: mostly the validators', sometimes one lost (its row masked this epoch).
            for (uid, permit) in block.permits.iter_mut().enumerate() {
                *permit = u32::from(uid < layout.validators && noise.u() < 0.85);
            }
        }
    }
    state
}

/// The CPU twin of the `epoch` stage over every path of `state`.
fn cpu_epoch<R: Real>(plan: &RunPlan, id: BatchId, state: &mut BatchState<R>) {
    let mut work = EpochWorkspace::<R>::new(plan.yuma);
    for p in 0..state.paths {
        let mut st = state.path(p);
        let rng = PathRng::new(id.seed, id.point, id.first_path + p as u32);
        let step = st.global_int.step[0];
        epoch(&plan.step, &plan.config.yuma, &plan.payout, &rng, step, &mut work, &mut st);
    }
}

/// One `epoch` dispatch against its twin: a fresh `epoch_batch` of `paths` paths from `seed`
/// (every path with at least `min_live` live slots), run by the GPU stage and by the CPU twin;
/// both results, the integers' first differences already named (`report_int_diffs`), widened to
/// f64.
fn epoch_on_both<R: Real>(
    ctx: &taosim_gpu::context::Context,
    plan: &RunPlan,
    name: &str,
    paths: usize,
    seed: u64,
    min_live: usize,
) -> (BatchState<f64>, BatchState<f64>) {
    let mut gpu = epoch_batch::<R>(plan, paths, seed);
    let live = live_slots(&mut gpu);
    assert!(live >= min_live, "{name}: {live} live slots");
    let mut cpu = gpu.clone();
    let id = BatchId { seed: plan.config.run.seed, point: 0, first_path: 0 };
    run_step_stage(ctx, "epoch", plan, id, &mut gpu, &[], &[]).expect("dispatch");
    cpu_epoch(plan, id, &mut cpu);
    let (gpu, cpu) = (gpu.to_precision::<f64>(), cpu.to_precision::<f64>());
    report_int_diffs(name, &gpu, &cpu);
    (gpu, cpu)
}

/// Names the first differing integer of each kind (the full vectors are too long to read).
fn report_int_diffs(name: &str, gpu: &BatchState<f64>, cpu: &BatchState<f64>) {
    let s = gpu.subnets;
    let fields = taosim_core::state::SubnetInt::<u32>::NAMES;
    if std::env::var("EPOCH_DEBUG").is_ok() {
        let e = fields.iter().position(|f| *f == "epochs").unwrap();
        let a = fields.iter().position(|f| *f == "active").unwrap();
        let nr = gpu.yuma.reals();
        let m = gpu.yuma.miners;
        for slot in 5..9 {
            let b = slot * nr;
            eprintln!(
                "slot {slot} quality gpu {:?} cpu {:?}",
                &gpu.yuma_real[b..b + 3],
                &cpu.yuma_real[b..b + 3]
            );
            eprintln!(
                "slot {slot} bonds gpu {:?} cpu {:?}",
                &gpu.yuma_real[b + m..b + m + 3],
                &cpu.yuma_real[b + m..b + m + 3]
            );
            eprintln!(
                "slot {slot} history gpu {:?} cpu {:?}",
                &gpu.yuma_real[b + nr - 3..b + nr],
                &cpu.yuma_real[b + nr - 3..b + nr]
            );
        }
        for p in 0..1 {
            let at = |f: usize| (p * fields.len() + f) * s;
            eprintln!("path {p} active {:?}", &cpu.subnet_int[at(a)..at(a) + s]);
            eprintln!("path {p} gpu epochs {:?}", &gpu.subnet_int[at(e)..at(e) + s]);
            eprintln!("path {p} cpu epochs {:?}", &cpu.subnet_int[at(e)..at(e) + s]);
        }
    }
    if let Some(k) = (0..gpu.subnet_int.len()).find(|&k| gpu.subnet_int[k] != cpu.subnet_int[k]) {
        panic!(
            "{name}: subnet int `{}` path {} slot {}: gpu {} cpu {}",
            fields[(k / s) % fields.len()],
            k / (s * fields.len()),
            k % s,
            gpu.subnet_int[k],
            cpu.subnet_int[k]
        );
    }
    let per_path = s * gpu.yuma.ints();
    let differing = (0..gpu.yuma_int.len()).filter(|&k| gpu.yuma_int[k] != cpu.yuma_int[k]);
    let paths: std::collections::BTreeSet<usize> = differing.map(|k| k / per_path).collect();
    assert!(paths.is_empty(), "{name}: permits differ on paths {paths:?}");
}

fn yuma_plan(yuma: &str, extra: &str) -> RunPlan {
    plan(&format!("[yuma]\n{yuma}\n{extra}"))
}

/// The plans of [`YUMA_CASES`] (odd cases on the Balancer AMM), with their index and name; only
/// case `EPOCH_CASE` when that variable is set.
fn yuma_cases() -> impl Iterator<Item = (u64, &'static str, RunPlan)> {
    let only = std::env::var("EPOCH_CASE").ok();
    YUMA_CASES
        .iter()
        .enumerate()
        .filter(move |(case, _)| only.as_ref().is_none_or(|c| *c == case.to_string()))
        .map(|(case, &(name, yuma))| {
            let amm = if case % 2 == 1 { "[chain]\namm = \"balancer\"" } else { "" };
            (case as u64, name, yuma_plan(yuma, amm))
        })
}

/// `payouts` in f64, Yuma off: within 1e-12 relative. The stage is arithmetic plus the AMM sell
/// (Balancer: software ln_1p/expm1/ln/exp within 4 ulps of libm, tests/parity.rs) and the
/// yields' ln_1p, whose few-ulp errors stay ~1e-15 relative in the state.
#[test]
fn payouts_match_their_twin_in_f64() {
    let Some(ctx) = context() else { return };
    for (case, overrides) in [
        (0_u64, ""),
        (1, "[chain]\namm = \"balancer\""),
        (2, "[behaviour]\nroot_claim = \"keep\"\nminer_sell = 0.9"),
    ] {
        let plan = plan(overrides);
        let state = epoch_batch::<f64>(&plan, 37, 10 + case);
        let mut cpu = state.clone();
        for p in 0..cpu.paths {
            payouts(&plan.step, &plan.payout, &mut cpu.path(p));
        }
        let id = BatchId { seed: plan.config.run.seed, point: 0, first_path: 0 };
        // The payouts stage, and the epoch stage with Yuma off (which runs the payouts alone).
        for stage in ["payouts", "epoch"] {
            let mut gpu = state.clone();
            run_step_stage(&ctx, stage, &plan, id, &mut gpu, &[], &[]).expect("dispatch");
            assert_states_match(&format!("{stage} case {case}"), &gpu, &cpu, 1e-12, 1e-300);
        }
    }
}

/// `epoch` with Yuma on, in f64, over the Yuma cases (sizes V = 8, M = 32 and V = 3, M = 5;
/// Yuma2 and Yuma3; liquid alpha on and off; cartel with 0.6 of the stake; copiers; reveal lag 1
/// and 2) and both AMM kinds: within 1e-12 relative, integers (permits, epochs) exact. The
/// weighted medians and clips compare reals with `<`, so a 1-ulp difference upstream could flip a
/// tie; none was seen (integers equal and reals within 1e-12 on every path).
#[test]
fn yuma_epoch_matches_its_twin_in_f64() {
    let Some(ctx) = context() else { return };
    for (case, name, plan) in yuma_cases() {
        let (gpu, cpu) = epoch_on_both::<f64>(&ctx, &plan, name, 37, 20 + case, 100);
        let (worst, _) = common::max_rel_diff(&gpu.yuma_real, &cpu.yuma_real, 1e-300);
        eprintln!("epoch {name}: worst Yuma real difference {worst:e} relative");
        assert_states_match(&format!("epoch {name}"), &gpu, &cpu, 1e-12, 1e-300);
    }
}

/// `epoch` with Yuma on over 45 slots (a synthetic network): a full group of `EPOCH_LANES` = 32
/// slots and a partial one of 13, whose Yuma blocks the device interleaves 13 words wide
/// (`taosim_gpu::slot_groups`, shared/state.wgsl `yuma_slot`). f64, within 1e-12 relative,
/// integers exact; every live slot's bonds, history and permits are compared after the round
/// trip to the device order and back.
#[test]
fn yuma_epoch_matches_its_twin_with_a_partial_lane_group() {
    let Some(ctx) = context() else { return };
    let (name, yuma) = YUMA_CASES[1];
    let plan = yuma_plan(yuma, "[chain]\nsubnet_limit = 45\n[init.synthetic]\nsubnets = 45");
    assert_eq!(plan.slots, 45);
    // More than 32 live slots, so the partial group has work.
    let (gpu, cpu) = epoch_on_both::<f64>(&ctx, &plan, name, 5, 60, 33);
    assert_states_match(&format!("epoch {name}, 45 slots"), &gpu, &cpu, 1e-12, 1e-300);
}

/// `epoch` with Yuma on and more than eight staked validators, where the CPU's column consensus
/// leaves its rank and lane forms (at most `LANES` = 8 staked rows) for the compact partition
/// (`weighted_median_compact`), which the shader's single partition must match. 32 slots, one
/// per epoch lane: at these sizes lavapipe's loop budget allows one slot per invocation (the
/// engine stops a run that needs more, `GpuError::LoopBudget`; at V = 8, M = 32 it allows the four
/// slots of 128). Integers exact in every case.
///
/// - V = 16, M = 64, Yuma3, a cartel with 0.3 of the stake: f64 within 1e-12 relative, f32 within
///   the tolerances of `yuma_epoch_matches_its_twin_in_f32` ([`assert_f32_epoch_matches`]).
/// - V = 12, M = 40, Yuma2, liquid alpha, copiers: f64 within 1e-12. Not f32: there the device's
///   `ln` and `pow` (a few ulps from libm's) move the noisy weights and the Zipf stakes by 1e-7,
///   and with 12 staked rows a column's `minority` falls that close to a stake boundary often
///   enough that a median picks its neighbouring score in a few of the 768 slot-epochs (one
///   consensus moved by 9%).
/// - The same with equal stakes inside each group (`stake_zipf = 0`) and no noise or quality walk:
///   inputs without a transcendental function, so the two backends' inputs are bit-equal, and the
///   honest rows are identical, so most columns hold ties of equal scores (the partition's `<`
///   and `<=` decide them). The Yuma reals are then bit-equal in f64 and in f32.
#[test]
fn yuma_epoch_matches_its_twin_with_more_than_eight_validators() {
    let Some(ctx) = context() else { return };
    let slots32 = "[chain]\nsubnet_limit = 32\n[init.synthetic]\nsubnets = 32";
    let copiers = "enabled = true\nversion = \"yuma2\"\nliquid_alpha = true\nvalidators = 12\n\
                   miners = 40\ncopier_stake = 0.2\nreveal_epochs = 2";
    let cartel = "enabled = true\nversion = \"yuma3\"\nvalidators = 16\nminers = 64\n\
                  cartel_stake = 0.3\ncartel_miners = 4";
    let ties =
        format!("{copiers}\nstake_zipf = 0.0\nweight_noise = 0.0\nminer_quality_sigma = 0.0");
    for (case, (yuma, f32_check, bit_equal)) in
        [(cartel, true, false), (copiers, false, false), (ties.as_str(), true, true)]
            .into_iter()
            .enumerate()
    {
        let plan = yuma_plan(yuma, slots32);
        let name = format!("V {} M {} case {case}", plan.yuma.validators, plan.yuma.miners);
        let seed = 70 + case as u64;
        let (gpu, cpu) = epoch_on_both::<f64>(&ctx, &plan, &name, 24, seed, 24);
        assert_states_match(&format!("epoch {name}"), &gpu, &cpu, 1e-12, 1e-300);
        if bit_equal {
            assert!(gpu.yuma_real == cpu.yuma_real, "{name}: f64 Yuma reals differ");
        }
        if f32_check {
            let (gpu, cpu) = epoch_on_both::<f32>(&ctx, &plan, &name, 24, seed + 10, 24);
            assert_f32_epoch_matches(&name, &gpu, &cpu);
            if bit_equal {
                assert!(gpu.yuma_real == cpu.yuma_real, "{name}: f32 Yuma reals differ");
            }
        }
    }
}

/// `epoch` with Yuma on and at most eight staked validators, where both backends take the rank
/// form of the column consensus (the CPU's `RankBlocks`, the shader's registers) and fall back to
/// the partition near a stake boundary: a cartel, copiers and honest validators with equal stakes
/// inside each group (`stake_zipf = 0`) and no noise or quality walk, so the columns hold ties of
/// equal scores and group stake sums, with V = 8 (full lanes) and V = 5 (padding lanes). And
/// V = 2, a cartel validator and an honest one with half the stake each and κ = 1/2: `minority`
/// then lies exactly on the stake boundary of every column they weight differently, where the
/// rank sums must decline (their answer would be the lower score, the partition's the higher).
/// The inputs involve no transcendental function, so the Yuma reals must be bit-equal in f64 and
/// f32.
#[test]
fn yuma_epoch_matches_its_twin_in_the_rank_form_with_ties() {
    let Some(ctx) = context() else { return };
    let groups = "cartel_stake = 0.3\ncartel_miners = 3\ncopier_stake = 0.2\nreveal_epochs = 1";
    let halves = "cartel_stake = 0.5\ncartel_miners = 2\nkappa = 0.5";
    for (case, (validators, groups)) in
        [(8, groups), (5, groups), (2, halves)].into_iter().enumerate()
    {
        let yuma = format!(
            "enabled = true\nversion = \"yuma3\"\nvalidators = {validators}\nminers = 32\n\
             {groups}\nstake_zipf = 0.0\nweight_noise = 0.0\nminer_quality_sigma = 0.0"
        );
        let plan = yuma_plan(&yuma, "");
        let name = format!("rank form, V {validators}");
        let seed = 90 + case as u64;
        let (gpu, cpu) = epoch_on_both::<f64>(&ctx, &plan, &name, 24, seed, 24);
        assert_states_match(&format!("epoch {name}"), &gpu, &cpu, 1e-12, 1e-300);
        assert!(gpu.yuma_real == cpu.yuma_real, "{name}: f64 Yuma reals differ");
        let (gpu, cpu) = epoch_on_both::<f32>(&ctx, &plan, &name, 24, seed + 10, 24);
        assert_f32_epoch_matches(&name, &gpu, &cpu);
        assert!(gpu.yuma_real == cpu.yuma_real, "{name}: f32 Yuma reals differ");
    }
}

/// `epoch` with Yuma on, in f32, over the same cases; integers exact, Yuma reals within 1e-5 and
/// amounts within 1e-4 relative. f32 runs the device's native `exp`, `ln` and `pow` (lavapipe's are within a few f32
/// ulps of libm's, not bit-equal), and they feed every later quantity: the Zipf stakes (pow), the
/// normal draws of the quality walk and the weight noise (ln, software sin/cos), the liquid-alpha
/// sigmoid (exp), the Balancer AMM and the yields (ln_1p). Yuma reals (fractions of order 0.001-1)
/// are compared above a floor of 1e-6; subnet and path reals (TAO and alpha amounts) above a floor
/// of 0.1, because flow fields are differences of amounts of order 10-1000 whose 1-ulp rounding
/// (≈ 4e-6 at 32) is already 1e-4 of a result of 0.035. Worst differences seen on lavapipe
/// (Mesa 22.3.6, 2026-11-29): Yuma 9.9e-6 in the V = 8, M = 32 Yuma3 case (2.2e-7 to 5.8e-6 in
/// the others), 1% under the tolerance, so a driver with other f32 `ln`/`exp` roundings
/// may need it widened; subnet 3.8e-5 with the floor (protocol_flow); path 7.1e-7.
#[test]
fn yuma_epoch_matches_its_twin_in_f32() {
    let Some(ctx) = context() else { return };
    for (case, name, plan) in yuma_cases() {
        let (gpu, cpu) = epoch_on_both::<f32>(&ctx, &plan, name, 37, 40 + case, 100);
        assert_f32_epoch_matches(name, &gpu, &cpu);
    }
}

/// The f32 comparison of `yuma_epoch_matches_its_twin_in_f32` (its doc gives the reasons):
/// integers exact, Yuma reals within 1e-5 relative above 1e-6, amounts within 1e-4 above 0.1.
fn assert_f32_epoch_matches(name: &str, gpu: &BatchState<f64>, cpu: &BatchState<f64>) {
    const YUMA_TOLERANCE: f64 = 1e-5;
    const AMOUNT_TOLERANCE: f64 = 1e-4;
    const YUMA_FLOOR: f64 = 1e-6;
    const AMOUNT_FLOOR: f64 = 0.1;
    assert_eq!(gpu.subnet_int, cpu.subnet_int, "{name}: subnet integers differ");
    assert_eq!(gpu.global_int, cpu.global_int, "{name}: global integers differ");
    assert_eq!(gpu.yuma_int, cpu.yuma_int, "{name}: Yuma integers differ");
    let fields = taosim_core::state::SubnetReal::<f64>::NAMES;
    let s = gpu.subnets;
    for (what, g, c, tolerance, floor) in [
        ("Yuma real", &gpu.yuma_real, &cpu.yuma_real, YUMA_TOLERANCE, YUMA_FLOOR),
        ("subnet real", &gpu.subnet_real, &cpu.subnet_real, AMOUNT_TOLERANCE, AMOUNT_FLOOR),
        ("path real", &gpu.global_real, &cpu.global_real, AMOUNT_TOLERANCE, AMOUNT_FLOOR),
    ] {
        let (d, k) = common::max_rel_diff(g, c, floor);
        let at = if what == "subnet real" { fields[(k / s) % fields.len()] } else { "" };
        eprintln!("epoch f32 {name}: worst {what} {at} {k}: {d:e} relative (floor {floor})");
        assert!(
            d <= tolerance,
            "epoch f32 {name}: {what} {at} {k} differs by {d:e} (gpu {}, cpu {})",
            g[k],
            c[k]
        );
    }
}
