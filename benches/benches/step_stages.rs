//! Per-stage benchmarks on the standard workload's state: the CPU twin of every step stage
//! (`cpu_stage/*`) and its WGSL stage on the environment's GPU adapter (`gpu_stage/*`), each
//! over the same batch of baseline paths (128 slots, Yuma on with V = 8, M = 32), plus one whole
//! step on each backend. Throughput is in subnet-steps (paths × slots per call).
//!
//! Both sides start from `init_batch` of `configs/baseline.toml` and run the stage in place again
//! and again: a stage's cost does not depend on the exact state much, and re-running it keeps
//! every call the same shape. The GPU side times dispatch, submission and completion
//! (`poll(wait)`), with the state resident on the device: what a step of the device time loop
//! costs, without readback.
//!
//! Adapter: `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` as everywhere; without one the GPU group says so
//! on stderr and is skipped, unless `TAOSIM_REQUIRE_GPU=1` (CI), where it fails.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use taosim_core::Real;
use taosim_core::cpu::behaviour::behaviour;
use taosim_core::cpu::emission_shares::emission_shares;
use taosim_core::cpu::epoch::{EpochWorkspace, epoch};
use taosim_core::cpu::guards::{GuardLimits, guards};
use taosim_core::cpu::injection::injection;
use taosim_core::cpu::metrics::metrics;
use taosim_core::cpu::moving_price::moving_price;
use taosim_core::cpu::registration::{Arrival, registration};
use taosim_core::cpu::swaps::{Orders, swaps};
use taosim_core::engine::{RunPlan, init_batch};
use taosim_core::rng::PathRng;
use taosim_core::state::PathState;
use taosim_gpu::Context;
use taosim_gpu::device::{BatchId, DeviceState};
use taosim_gpu::params::step_params;
use taosim_gpu::shaders::{Precision, STEP_SEQUENCE};
use taosim_gpu::stages::{Pipeline, dispatch};

/// The standard workload (Yuma on) over one day: the stages run on its initial state.
fn baseline_plan(paths: u32) -> RunPlan {
    taosim_core::workload::baseline_plan(true, paths, 1.0).expect("the bundled baseline plan")
}

/// Paths per batch: small in quick mode (CI checks the harness), a realistic batch otherwise.
fn batch_paths(quick: bool) -> u32 {
    if quick { 4 } else { 256 }
}

/// One path's work arrays between the stages of a step, as the engine keeps them.
struct PathWork<R: Real> {
    rng: PathRng,
    orders: Vec<Orders<R>>,
    eligible: Vec<u32>,
    epoch: EpochWorkspace<R>,
    limits: GuardLimits,
    /// The registration attempt of the last `behaviour` call.
    arrival: Arrival<R>,
}

/// Path `p`'s work arrays, filled by one pass of the stages that produce them (behaviour's
/// orders, the eligibility flags), so every stage benchmarked alone sees realistic inputs.
fn path_work(plan: &RunPlan, p: usize, st: &mut PathState<'_, f64>) -> PathWork<f64> {
    let start_pools = st.sub.tao.iter().sum();
    let mut w = PathWork {
        rng: PathRng::new(plan.config.run.seed, 0, p as u32),
        orders: vec![Orders::default(); plan.slots],
        eligible: vec![0; plan.slots],
        epoch: EpochWorkspace::new(plan.yuma),
        limits: GuardLimits {
            start_pools,
            min_reserve: plan.step.chain.min_reserve,
            // Loose enough for repeated stages on one state: the benches time the check only.
            tolerance: 1e-6,
        },
        arrival: Arrival::default(),
    };
    run_cpu_stage(plan, "behaviour", &mut w, st);
    run_cpu_stage(plan, "emission_shares", &mut w, st);
    w
}

/// Runs CPU stage `name` on one path (the engine's calls, `engine::simulate_path`; the
/// registration stage with the arrival of this step's behaviour draws).
fn run_cpu_stage(plan: &RunPlan, name: &str, w: &mut PathWork<f64>, st: &mut PathState<'_, f64>) {
    let (cfg, step) = (&plan.config, &plan.step);
    match name {
        "behaviour" => {
            w.arrival =
                behaviour(step, &cfg.behaviour, &cfg.registration, &w.rng, 1, st, &mut w.orders);
        }
        "swaps" => {
            black_box(swaps(step, &w.orders, st));
        }
        "emission_shares" => emission_shares(step, st, &mut w.eligible),
        "injection" => {
            black_box(injection(step, st, &w.eligible));
        }
        "moving_price" => moving_price(step, st, &w.eligible),
        "epoch" => {
            black_box(epoch(step, &cfg.yuma, &plan.payout, &w.rng, 1, &mut w.epoch, st));
        }
        "registration" => {
            black_box(registration(step, w.arrival, st));
        }
        "metrics" => metrics(step, &plan.spiral, &w.eligible, st, |slot| {
            black_box(slot);
        }),
        "guards" => {
            black_box(guards(&w.limits, plan.yuma.uids() > 0, st));
        }
        _ => unreachable!("stage {name}"),
    }
}

/// CPU twins of the step stages on one thread, path after path, and one whole step.
pub(crate) fn cpu_stage_benches(c: &mut Criterion, quick: bool) {
    let paths = batch_paths(quick) as usize;
    let plan = baseline_plan(paths as u32);
    let mut batch = init_batch::<f64>(&plan, 0, 0, paths);
    let mut work: Vec<PathWork<f64>> =
        (0..paths).map(|p| path_work(&plan, p, &mut batch.path(p))).collect();
    let mut g = c.benchmark_group("cpu_stage");
    g.throughput(Throughput::Elements((paths * plan.slots) as u64));
    // The CPU twins under their WGSL stages' names, in the step order both engines run.
    for name in STEP_SEQUENCE.iter().copied().chain(["step"]) {
        g.bench_function(name, |b| {
            b.iter(|| {
                for (p, w) in work.iter_mut().enumerate() {
                    let mut st = batch.path(p);
                    if name == "step" {
                        for stage in STEP_SEQUENCE {
                            run_cpu_stage(&plan, stage, w, &mut st);
                        }
                    } else {
                        run_cpu_stage(&plan, name, w, &mut st);
                    }
                }
            })
        });
    }
    g.finish();
}

/// The WGSL step stages on the environment's adapter, over the same batch resident on the
/// device: each stage alone, then a whole step (every stage of `STEP_SEQUENCE` in one submission).
pub(crate) fn gpu_stage_benches(c: &mut Criterion, quick: bool) {
    let ctx = match Context::from_env() {
        Ok(ctx) => ctx,
        Err(e) if std::env::var("TAOSIM_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("TAOSIM_REQUIRE_GPU=1 but no GPU adapter: {e}")
        }
        Err(e) => {
            eprintln!("gpu_stage benches skipped: no GPU adapter ({e})");
            return;
        }
    };
    if ctx.adapter.f64 {
        gpu_stage_benches_in::<f64>(c, &ctx, Precision::F64, quick);
    } else {
        gpu_stage_benches_in::<f32>(c, &ctx, Precision::F32, quick);
    }
}

fn gpu_stage_benches_in<R: Real>(
    c: &mut Criterion,
    ctx: &Context,
    precision: Precision,
    quick: bool,
) {
    let paths = batch_paths(quick);
    let plan = baseline_plan(paths);
    let state = init_batch::<R>(&plan, 0, 0, paths as usize);
    let params = step_params::<R>(&plan);
    let id = BatchId { seed: plan.config.run.seed, point: 0, first_path: 0 };
    // Room for a step's events; the benches never read them (the device drops what overflows).
    let device = DeviceState::upload(ctx, id, &state, &params, 4 * plan.slots as u32);
    let cpu_adapter = ctx.adapter.device_type == "Cpu";
    let pipelines: Vec<Pipeline> = STEP_SEQUENCE
        .iter()
        .map(|name| {
            let stage = taosim_gpu::shaders::stage(name).expect("step stages are in the table");
            let shape = stage.dispatch().on_adapter(cpu_adapter);
            Pipeline::step_as(&ctx.device, stage, shape, precision, &params)
                .unwrap_or_else(|e| panic!("stage {name} does not build: {e}"))
        })
        .collect();
    let binds: Vec<wgpu::BindGroup> =
        pipelines.iter().map(|p| device.bind_group(ctx, &p.layout)).collect();
    // One submission of `stages`, waited for.
    let run = |stages: &[usize]| {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for &k in stages {
            dispatch(&mut encoder, &pipelines[k], &binds[k], paths, None);
        }
        ctx.queue.submit([encoder.finish()]);
        ctx.device.poll(wgpu::PollType::wait_indefinitely()).expect("the device completes");
    };
    // A step first, so every stage's inputs (orders, eligibility) are the device's own.
    run(&(0..pipelines.len()).collect::<Vec<_>>());
    ctx.check().expect("the device ran the step");
    let mut g = c.benchmark_group(format!("gpu_stage/{}", precision.name()));
    g.throughput(Throughput::Elements(u64::from(paths) * plan.slots as u64));
    if !quick {
        // A whole step on lavapipe takes seconds with Yuma on.
        g.sample_size(10).measurement_time(Duration::from_secs(20));
    }
    for (k, name) in STEP_SEQUENCE.iter().enumerate() {
        g.bench_function(*name, |b| b.iter(|| run(&[k])));
    }
    let all: Vec<usize> = (0..pipelines.len()).collect();
    g.bench_function("step", |b| b.iter(|| run(&all)));
    g.finish();
    ctx.check().expect("no device error during the benches");
}
