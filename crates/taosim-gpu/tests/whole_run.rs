//! Whole runs on the GPU against the CPU reference (issue 4, must-show 5): the same paths of the
//! baseline config through every step stage on the device, compared at the horizon field by field
//! (`taosim_core::parity`), in their discrete decisions (event lists) and in their records.

use taosim_core::engine::{PathRecords, run_batch};
use taosim_core::params::TOTAL_SUPPLY;
use taosim_core::parity::{divergence, field_diffs};
use taosim_core::state::BatchState;
use taosim_gpu::engine::GpuEngine;
use taosim_gpu::shaders::Precision;

mod common;
use common::{context, plan_from};

/// 64 paths x 30 days of the baseline (Yuma off, the default) in f64: every real state field within
/// 1e-9 relative (values below 1e-6 in magnitude compared absolutely at 1e-15), every integer field
/// equal, the same events in every path, and the same records. The stages agree to ~1e-15 per
/// step (the per-stage parity tests); 120 steps of a contracting map keep that far below 1e-9,
/// unless a discrete decision (a registration, a swap cut, a zero share) flips, which this
/// test would show as a diverged path.
#[test]
fn baseline_64_paths_30_days_match_in_f64() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let plan = plan_from("configs/baseline.toml", "[run]\npaths = 64\ndays = 30.0");
    let (cpu, cpu_records) = run_batch::<f64>(&plan, 0, 0, 64).expect("CPU run");
    let (gpu, gpu_records) = engine.run_batch::<f64>(&plan, 0, 0, 64).expect("GPU run");
    assert_run_matches("baseline", &cpu, &cpu_records, &gpu, &gpu_records);
}

/// The lanes shapes end to end: on a CPU adapter (lavapipe) the engine runs the `LANES` stages
/// one invocation per path, so the test above checks that shape there; this one forces every stage
/// into its table shape (64 lanes per path; what GPUs run) and holds 16 paths x 30 days of the
/// baseline to the same standard against the CPU: reals within 1e-9, integers, events and records
/// equal.
#[test]
fn baseline_in_lanes_shapes_matches_in_f64() {
    if context().is_none() {
        return;
    }
    let engine =
        GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64").with_table_shapes();
    let plan = plan_from("configs/baseline.toml", "[run]\npaths = 16\ndays = 30.0");
    let (cpu, cpu_records) = run_batch::<f64>(&plan, 0, 0, 16).expect("CPU run");
    let (gpu, gpu_records) = engine.run_batch::<f64>(&plan, 0, 0, 16).expect("GPU run");
    assert_run_matches("lanes shapes", &cpu, &cpu_records, &gpu, &gpu_records);
}

/// f32 mode runs the whole baseline horizon on the device and stays a faithful approximation of
/// the f64 reference: every path completes with finite records, and the pool TAO at the horizon is
/// within 1e-3 relative of the f64 CPU run path by path (f32 has 24 bits; the runtime guard's f32
/// conservation tolerance is 1e-3), unless the path's discrete decisions diverged.
#[test]
fn f32_mode_runs_and_stays_close_to_f64() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F32)).expect("adapter");
    let plan = plan_from("configs/baseline.toml", "[run]\npaths = 16\ndays = 30.0");
    let (_, cpu_records) = run_batch::<f64>(&plan, 0, 0, 16).expect("CPU run");
    let (_, gpu_records) = engine.run_batch::<f32>(&plan, 0, 0, 16).expect("GPU f32 run");
    let div = divergence(&cpu_records, &gpu_records);
    let diverged: Vec<u32> = div.first_steps.iter().map(|d| d.0).collect();
    eprintln!("f32 vs f64: {} of 16 paths diverged ({:?})", div.paths, div.first_steps);
    for (c, g) in cpu_records.iter().zip(&gpu_records) {
        let (a, b) = (c.outcome.pool_tao_end, g.outcome.pool_tao_end);
        assert!(b.is_finite() && b > 0.0, "path {}: pool TAO {b}", c.outcome.path);
        if !diverged.contains(&c.outcome.path) {
            assert!((a - b).abs() <= 1e-3 * a, "path {}: f64 {a} vs f32 {b}", c.outcome.path);
        }
    }
    assert!(div.paths <= 8, "most paths keep the f64 decisions: {} diverged", div.paths);
}

/// Yuma on at the default size (V = 8, M = 32, 128 slots) runs on every adapter and matches the
/// CPU: every real field within 1e-9 relative, integers and decisions equal. On lavapipe, whose
/// llvmpipe stops every loop of an invocation after 65,535 passes, this needs the epoch's lanes
/// (one workgroup of `EPOCH_LANES` invocations per path, 4 slots each); before them the one
/// invocation per path ran out of its budget in slot 6 and the run stopped with the loop-budget
/// error.
#[test]
fn yuma_on_runs_and_matches_the_cpu() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let plan =
        plan_from("configs/baseline.toml", "[run]\npaths = 4\ndays = 1.0\n[yuma]\nenabled = true");
    let (gpu, gpu_records) = engine.run_batch::<f64>(&plan, 0, 0, 4).expect("GPU run");
    let (cpu, cpu_records) = run_batch::<f64>(&plan, 0, 0, 4).expect("CPU run");
    assert_eq!(divergence(&cpu_records, &gpu_records).paths, 0);
    assert_states_match("Yuma on", &cpu, &gpu);
    assert_eq!(gpu.yuma_int, cpu.yuma_int, "permits");
    let (worst, at) = yuma_real_diff(&gpu.yuma_real, &cpu.yuma_real);
    eprintln!("Yuma on, worst Yuma block real: {worst:e} at {at}");
    assert!(worst <= 1e-9, "Yuma block real {at}: {worst:e} relative");
}

/// Extreme but valid flows (`configs/tests/extreme_flows.toml`: whale orders of ~1e11 TAO
/// against pools of ~1e4, ~4e14 TAO paid in over half a day): the device's conservation guard
/// (`guards.wgsl`), like its twin, measures the identity's rounding against its largest term, so
/// the run completes with every path's residual within the tolerance. Against the pools (the old
/// scale) that rounding is 8e-9 to 1.5e-8 (`guards::flows_that_dwarf_the_pools_are_no_breach`),
/// which made the device flag the path and the CPU replay stop the run.
#[test]
fn extreme_flows_run_without_a_guard_stop() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let plan = plan_from("configs/tests/extreme_flows.toml", "");
    let (_, records) = engine.run_batch::<f64>(&plan, 0, 0, 2).expect("no guard stops the run");
    for r in &records {
        assert!(r.outcome.conservation_residual.abs() <= 1e-9, "{:?}", r.outcome);
    }
}

/// The `guards` stage's finiteness check of the Yuma reals fits lavapipe's loop budget (65,535
/// passes per invocation, one invocation per path on CPU adapters) for a network of 256 slots
/// with 100 reveal epochs of consensus history: 256 × (2 + 1·3 + 100·3) = 78,080 values, which
/// one pass per value exceeded (the run stopped with `GpuError::LoopBudget`, found by the engine
/// fuzz). The run completes, registering new subnets into the free slots (each starting its
/// 100-epoch history), and its state and events match the CPU's.
#[test]
fn the_guards_fit_the_loop_budget_of_a_long_history() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let plan = plan_from(
        "configs/tests/small.toml",
        "[run]\npaths = 2\ndays = 1.0\n[chain]\nsubnet_limit = 256\nnetwork_rate_limit = 0\n\
         [yuma]\nenabled = true\nvalidators = 1\nminers = 2\nreveal_epochs = 100\n\
         [registration]\nrate_per_day = 20.0",
    );
    assert_eq!(plan.yuma.reveal, 100);
    let (cpu, cpu_records) = run_batch::<f64>(&plan, 0, 0, 2).expect("CPU run");
    let (gpu, gpu_records) = engine.run_batch::<f64>(&plan, 0, 0, 2).expect("within the budget");
    assert_run_matches("long history", &cpu, &cpu_records, &gpu, &gpu_records);
}

/// A pool drained towards zero at a negative size elasticity
/// (`configs/tests/drained_pool_inflow.toml`): the device caps the inflow at the TAO supply as
/// its twin does (`MAX_STEP_INFLOW`, a generated constant), so no stake is infinite and the run
/// completes. Before, the swap of step 4 made a pool's TAO NaN.
#[test]
fn a_drained_pool_takes_a_finite_inflow() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let plan = plan_from("configs/tests/drained_pool_inflow.toml", "");
    let (state, _) = engine.run_batch::<f64>(&plan, 0, 0, 3).expect("no guard stops the run");
    assert!(state.subnet_real.iter().all(|x| x.is_finite()), "a non-finite subnet real");
}

/// Whale orders of median the TAO supply at log-sd 30: half the sizes lie above the supply (most
/// past the f32 range), and the device caps each at the supply as its twin does
/// (`MAX_WHALE_ORDER`, a generated constant). In f64 the states match the CPU's (without the
/// shader's cap both paths diverge); in f32 every subnet real stays finite. Orders of the
/// supply's size entered: the TAO paid in is over 1e8 and below five orders of the supply per
/// subnet-step.
#[test]
fn whale_orders_are_capped_at_the_supply() {
    if context().is_none() {
        return;
    }
    let plan = plan_from(
        "configs/tests/small.toml",
        "[run]\npaths = 2\ndays = 2.0\n[behaviour]\nwhale_rate_per_year = 2000.0\n\
         whale_size_median = 21000000.0\nwhale_size_sigma = 30.0",
    );
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let (mut cpu, cpu_records) = run_batch::<f64>(&plan, 0, 0, 2).expect("CPU run");
    let (gpu, gpu_records) = engine.run_batch::<f64>(&plan, 0, 0, 2).expect("GPU run");
    let div = divergence(&cpu_records, &gpu_records);
    assert_eq!(div.paths, 0, "paths whose decisions diverged: {:?}", div.first_steps);
    assert_states_match("capped whales", &cpu, &gpu);
    let subnet_steps = f64::from(plan.steps) * plan.slots as f64;
    for p in 0..2 {
        let paid_in = cpu.path(p).global.tao_paid_in[0];
        assert!(paid_in > 1e8 && paid_in < 5.0 * subnet_steps * TOTAL_SUPPLY, "{paid_in:e}");
    }
    let engine = GpuEngine::new(Some(Precision::F32)).expect("an adapter");
    let (state, _) = engine.run_batch::<f32>(&plan, 0, 0, 2).expect("no guard stops the run");
    assert!(state.subnet_real.iter().all(|x| x.is_finite()), "a non-finite subnet real");
}

/// In f32 a buy that dwarfs a pool rounded `alpha − output` to zero with `chain.min_reserve = 0`
/// (`configs/tests/drained_reserve_f32.toml`, the CLI fuzz on lavapipe): the pool kept all of the
/// TAO and no alpha, at a price of 0. The device, like its twin, now keeps at least a rao in every
/// reserve (`ChainParams::reserve_floor`, the `min_reserve` parameter).
#[test]
fn no_reserve_is_rounded_away_in_f32() {
    if context().is_none() {
        return;
    }
    let engine = GpuEngine::new(Some(Precision::F32)).expect("an adapter");
    let plan = plan_from("configs/tests/drained_reserve_f32.toml", "");
    let paths = plan.config.run.paths;
    let (_, records) = engine.run_batch::<f32>(&plan, 0, 0, paths).expect("no guard stops the run");
    for s in records.iter().flat_map(|r| &r.subnets) {
        assert!(s.end_tao > 0.0 && s.end_alpha > 0.0 && s.end_price > 0.0, "{s:?}");
    }
}

/// No diverged path, the states within [`assert_states_match`], and the same events (values
/// within 1e-9 relative), subnet rows and outcome counts in every path; the run must have events.
fn assert_run_matches(
    label: &str,
    cpu: &BatchState<f64>,
    cpu_records: &[PathRecords],
    gpu: &BatchState<f64>,
    gpu_records: &[PathRecords],
) {
    let div = divergence(cpu_records, gpu_records);
    assert_eq!(div.paths, 0, "{label}: paths whose decisions diverged: {:?}", div.first_steps);
    assert_states_match(label, cpu, gpu);
    let events: usize = cpu_records.iter().map(|r| r.events.len()).sum();
    assert!(events > 0, "{label}: the run should register, prune or spiral");
    for (c, g) in cpu_records.iter().zip(gpu_records) {
        assert_eq!(c.events.len(), g.events.len(), "path {}", c.outcome.path);
        for (e, f) in c.events.iter().zip(&g.events) {
            assert_eq!((e.step, e.block, e.netuid, e.kind), (f.step, f.block, f.netuid, f.kind));
            assert!((e.value - f.value).abs() <= 1e-9 * e.value.abs().max(1e-6), "{e:?} vs {f:?}");
        }
        assert_eq!(c.subnets.len(), g.subnets.len(), "path {}", c.outcome.path);
        assert_eq!(c.outcome.prunings, g.outcome.prunings);
        assert_eq!(c.outcome.spirals, g.outcome.spirals);
    }
}

/// Every real state field within 1e-9 relative (values below 1e-6 in magnitude absolutely),
/// every integer field equal (`field_diffs`).
fn assert_states_match(label: &str, cpu: &BatchState<f64>, gpu: &BatchState<f64>) {
    let diffs = field_diffs(cpu, gpu, 1e-6);
    let worst = diffs.iter().max_by(|a, b| a.max_rel.total_cmp(&b.max_rel)).expect("fields");
    eprintln!("{label}, worst field: {} {:e} at {:?}", worst.field, worst.max_rel, worst.at);
    for d in &diffs {
        assert!(d.max_rel <= 1e-9, "{label}, {}: {:e} relative at {:?}", d.field, d.max_rel, d.at);
    }
}

/// The largest relative difference of two Yuma block buffers (values below 1e-12 absolutely).
fn yuma_real_diff(a: &[f64], b: &[f64]) -> (f64, usize) {
    let mut worst = (0.0, 0);
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let d = (x - y).abs() / x.abs().max(y.abs()).max(1e-12);
        if d > worst.0 {
            worst = (d, k);
        }
    }
    worst
}
