//! Per-stage device times (`taosim bench --stages`, `taosim_gpu::stage_timing`): every pass
//! of every step stage is timed, the times fit inside the run that produced them, timing changes
//! no result, and the stage the model makes expensive (the epoch, with Yuma on) is the one the
//! times show.

use std::time::Instant;

use taosim_core::engine::{PathRecords, RunPlan};
use taosim_core::stage_clock::shares;
use taosim_core::state::BatchState;
use taosim_gpu::engine::GpuEngine;
use taosim_gpu::shaders::{Precision, STEP_SEQUENCE};
use taosim_gpu::stage_timing::StageTimes;

mod common;
use common::{context, plan_from};

/// One batch of `paths` paths of `plan`, timed by stage, and its wall time in seconds.
fn timed_run(
    engine: &GpuEngine,
    plan: &RunPlan,
    paths: u32,
) -> (BatchState<f64>, Vec<PathRecords>, StageTimes, f64) {
    engine.start_stage_timing().expect("an adapter with TIMESTAMP_QUERY");
    let started = Instant::now();
    let (state, records) = engine.run_batch::<f64>(plan, 0, 0, paths).expect("timed GPU run");
    let wall = started.elapsed().as_secs_f64();
    let times = engine.take_stage_times().expect("timing was on");
    (state, records, times, wall)
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|x| x.to_bits()).collect()
}

/// The light baseline, 4 paths x 2 days (40 steps: three chunks of up to 16): each step stage,
/// in step order, has one timed pass per step and a positive time; the times sum to no more
/// than the run's wall time; the timed run's state and records are those of an untimed run, bit
/// for bit; and timing is off again once the times are taken.
#[test]
fn every_pass_is_timed_inside_the_run_and_timing_changes_nothing() {
    let Some(ctx) = context() else { return };
    assert!(ctx.adapter.timestamps, "{} has no TIMESTAMP_QUERY", ctx.adapter.name);
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let plan = plan_from("configs/baseline.toml", "[run]\npaths = 4\ndays = 2.0");
    let (plain, plain_records) = engine.run_batch::<f64>(&plan, 0, 0, 4).expect("GPU run");
    let (timed, timed_records, times, wall) = timed_run(&engine, &plan, 4);

    let names: Vec<&str> = times.stages.iter().map(|s| s.stage).collect();
    assert_eq!(names, STEP_SEQUENCE, "the step's stages, in order");
    for s in &times.stages {
        assert_eq!(s.laps, u64::from(plan.steps), "{}: one pass per step", s.stage);
        assert!(s.seconds > 0.0, "{}: {} s", s.stage, s.seconds);
    }
    let total: f64 = times.stages.iter().map(|s| s.seconds).sum();
    eprintln!("stage times: {total:.4} s of a {wall:.4} s run: {times:?}");
    assert!(total <= wall, "the passes' {total} s within the run's {wall} s");

    assert_eq!(bits(&timed.subnet_real), bits(&plain.subnet_real), "subnet reals");
    assert_eq!(bits(&timed.global_real), bits(&plain.global_real), "global reals");
    assert_eq!(timed.subnet_int, plain.subnet_int, "subnet integers");
    assert_eq!(timed.global_int, plain.global_int, "global integers");
    assert_eq!(timed_records, plain_records, "records");

    assert_eq!(engine.take_stage_times(), None, "timing stops when its times are taken");
    engine.run_batch::<f64>(&plan, 0, 0, 1).expect("an untimed run after timing");
}

/// With Yuma on, the epoch computes every subnet's consensus, bonds and dividends (V = 8
/// validators, M = 32 miners) besides its payouts, so its share of the step's device time is
/// larger than without Yuma, where it only pays out.
#[test]
fn the_epoch_takes_a_larger_share_with_yuma_on() {
    let Some(_ctx) = context() else { return };
    let engine = GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64");
    let light = plan_from("configs/baseline.toml", "[run]\npaths = 2\ndays = 1.0");
    let yuma =
        plan_from("configs/baseline.toml", "[run]\npaths = 2\ndays = 1.0\n[yuma]\nenabled = true");
    let (_, _, light_times, _) = timed_run(&engine, &light, 2);
    let (_, _, yuma_times, _) = timed_run(&engine, &yuma, 2);
    let epoch = STEP_SEQUENCE.iter().position(|&s| s == "epoch").expect("an epoch stage");
    let (off, on) = (shares(&light_times.stages)[epoch], shares(&yuma_times.stages)[epoch]);
    eprintln!("epoch share: Yuma off {off:.3}, Yuma on {on:.3}");
    assert!(on > off, "epoch share with Yuma on {on} vs off {off}");
}
