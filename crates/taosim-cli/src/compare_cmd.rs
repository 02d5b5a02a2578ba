//! `taosim compare CONFIG`: runs the same paths on the CPU (f64, the reference) and on the GPU and
//! prints a parity table: per state field the largest relative difference at the horizon, the
//! paths whose discrete decisions (registrations, prunings, spirals) diverged with their first
//! divergent step, and each estimate on both backends with its standard error. Exit code 1 when
//! the result is outside the documented tolerances (docs/performance.md, "GPU parity"):
//!
//! - GPU in f64: every real field within [`F64_TOLERANCE`] relative (values below
//!   [`FLOOR`] in magnitude compared absolutely at `F64_TOLERANCE · FLOOR`; the net-flow
//!   accumulators of [`NET_FLOW_FIELDS`](taosim_core::parity::NET_FLOW_FIELDS) normwise, relative to the field's largest magnitude over
//!   the path's slots, because their values are nearly cancelled sums), every integer field
//!   equal, no diverged path, every estimate equal within two standard errors (or within
//!   `F64_TOLERANCE` relative, for estimates without spread, e.g. of one path);
//! - GPU in f32 (`--precision f32`): every estimate within two standard errors (or within
//!   [`F32_ESTIMATE_TOLERANCE`] relative); the field
//!   differences and diverged paths are reported as the f32 path's divergence from f64.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use taosim_core::engine::run_batch;
use taosim_core::parity::{ESTIMATES, FieldDiff, agree, divergence, field_diffs, mean_se};
use taosim_core::records::PathOutcome;
use taosim_gpu::engine::GpuEngine;
use taosim_gpu::shaders::Precision;

use crate::Failure;
use crate::backend::PrecisionChoice;
use crate::run_cmd::{self, RunFlags};

/// Relative tolerance of every real field in f64 mode.
pub(crate) const F64_TOLERANCE: f64 = 1e-9;
/// Relative floor of the estimates' agreement in f32 mode (where their standard errors vanish):
/// the f32 path's conservation tolerance (`taosim_core::engine::CONSERVATION_TOLERANCE_F32`).
pub(crate) const F32_ESTIMATE_TOLERANCE: f64 = taosim_core::engine::CONSERVATION_TOLERANCE_F32;
/// Magnitude below which fields are compared absolutely (at `F64_TOLERANCE · FLOOR`).
pub(crate) const FLOOR: f64 = 1e-6;

/// Arguments of `taosim compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// Run config (TOML); `[[point]]` / `[sweep]` tables are ignored (the base config is compared).
    config: PathBuf,
    /// Paths to compare.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    paths: u32,
    /// Horizon in days.
    #[arg(long, default_value_t = 30.0, allow_negative_numbers = true)]
    days: f64,
    /// Seed (overrides `run.seed`).
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Precision of the GPU side [default: f64 when the adapter has SHADER_F64].
    #[arg(long, value_enum)]
    precision: Option<PrecisionChoice>,
    /// Sweep point id whose random numbers the paths draw.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    point_id: u32,
}

/// Runs the `compare` subcommand.
pub(crate) fn run(args: &CompareArgs) -> Result<(), Failure> {
    let mut base = run_cmd::load_table(&args.config).map_err(Failure::BadInput)?;
    base.remove("point");
    base.remove("sweep");
    let flags = RunFlags {
        paths: Some(args.paths),
        days: Some(args.days),
        seed: args.seed,
        out: None,
        threads: None,
        force: false,
        resume: false,
        shard: None,
        backend: crate::backend::BackendChoice::Cpu,
        precision: None,
    };
    let points =
        run_cmd::plan_points(&args.config, &base, &[toml::Table::new()], args.point_id, &flags)
            .map_err(Failure::BadInput)?;
    let (plan, _) = &points.plans[0];
    let precision = args.precision.map(|p| match p {
        PrecisionChoice::F64 => Precision::F64,
        PrecisionChoice::F32 => Precision::F32,
    });
    let engine = GpuEngine::new(precision).map_err(|e| Failure::Failed(e.into()))?;
    let (point, n) = (args.point_id, args.paths);
    outln!(
        "taosim compare {}: {n} paths x {} days ({} steps), point {point}, seed {}",
        args.config.display(),
        args.days,
        plan.steps,
        plan.config.run.seed
    )?;
    outln!(
        "reference: CPU f64 ({} threads); candidate: GPU {} ({})",
        rayon::current_num_threads(),
        engine.adapter(),
        engine.precision.name()
    )?;
    // Batch by batch, as `taosim run` does on the device: all paths in one device batch can
    // exceed the adapter's buffer limits (a wgpu validation error), which `batch_paths` lowers
    // the batch to. The CPU runs the same ranges; the field differences are the largest over
    // the batches, located by path id.
    let batch = engine.batch_paths(plan);
    outln!("device batches: {} of at most {batch} paths", n.div_ceil(batch))?;
    let (mut cpu_s, mut gpu_s) = (0.0, 0.0);
    let mut diffs: Vec<FieldDiff> = Vec::new();
    let (mut cpu_records, mut gpu_records) = (Vec::new(), Vec::new());
    let mut first = 0;
    while first < n {
        let m = batch.min(n - first);
        let t = Instant::now();
        let (cpu_state, records) =
            run_batch::<f64>(plan, point, first, m).context("CPU run").map_err(Failure::Failed)?;
        cpu_s += t.elapsed().as_secs_f64();
        cpu_records.extend(records);
        let t = Instant::now();
        let result = match engine.precision {
            Precision::F64 => engine
                .run_batch::<f64>(plan, point, first, m)
                .map(|(s, r)| (field_diffs(&cpu_state, &s, FLOOR), r)),
            Precision::F32 => engine
                .run_batch::<f32>(plan, point, first, m)
                .map(|(s, r)| (field_diffs(&cpu_state, &s, FLOOR), r)),
        };
        let (batch_diffs, records) = result.context("GPU run").map_err(Failure::Failed)?;
        gpu_s += t.elapsed().as_secs_f64();
        gpu_records.extend(records);
        merge_diffs(&mut diffs, batch_diffs, first as usize);
        first += m;
    }
    outln!("time: CPU {cpu_s:.2} s, GPU {gpu_s:.2} s")?;

    let f64_mode = engine.precision == Precision::F64;
    // What broke the tolerances: real fields, or anything else (integer fields, decisions,
    // estimates); a FAIL of real fields only gets a note.
    let (mut reals_failed, mut others_failed) = (false, false);
    outln!("\n{:<26} {:>14}  at (path, slot)", "state field", "max rel diff")?;
    for d in &diffs {
        let integer = taosim_core::state::SubnetInt::<u32>::NAMES.contains(&d.field)
            || taosim_core::state::GlobalInt::<u32>::NAMES.contains(&d.field);
        let limit = if integer { 0.0 } else { F64_TOLERANCE };
        let bad = f64_mode && d.max_rel > limit;
        if bad {
            if integer { others_failed = true } else { reals_failed = true }
        }
        outln!(
            "{:<26} {:>14.3e}  ({}, {}){}",
            d.field,
            d.max_rel,
            d.at.0,
            d.at.1,
            if bad { "  <-- outside tolerance" } else { "" }
        )?;
    }
    let div = divergence(&cpu_records, &gpu_records);
    outln!("\ndiscrete decisions: {} of {n} paths diverged", div.paths)?;
    for (path, step) in div.first_steps.iter().take(10) {
        match step {
            Some(s) => outln!("  path {path}: first divergent step {s}")?,
            None => outln!("  path {path}: events agree, final counts differ")?,
        }
    }
    if f64_mode && div.paths > 0 {
        others_failed = true;
    }
    let cpu_out: Vec<PathOutcome> = cpu_records.iter().map(|r| r.outcome.clone()).collect();
    let gpu_out: Vec<PathOutcome> = gpu_records.iter().map(|r| r.outcome.clone()).collect();
    // The estimates' relative floor: where standard errors vanish (one path), the fields'
    // tolerance in f64; the f32 path's documented divergence in f32.
    let floor = if f64_mode { F64_TOLERANCE } else { F32_ESTIMATE_TOLERANCE };
    outln!(
        "\n{:<22} {:>24} {:>24}  within 2 SE or {floor:e} rel",
        "estimate",
        "CPU f64 (se)",
        "GPU (se)"
    )?;
    for (name, f) in ESTIMATES {
        let (a, b) = (mean_se(&cpu_out, f), mean_se(&gpu_out, f));
        let ok = agree(a, b, 2.0, floor);
        others_failed |= !ok;
        outln!(
            "{name:<22} {:>13.6} ({:>8.2e}) {:>13.6} ({:>8.2e})  {}",
            a.mean,
            a.se,
            b.mean,
            b.se,
            if ok { "yes" } else { "NO" }
        )?;
    }
    if f64_mode {
        outln!(
            "\ntolerances (f64): reals within {F64_TOLERANCE:e} relative, integers equal, no \
             diverged path, estimates within 2 SE or {floor:e} relative"
        )?;
    } else {
        outln!(
            "\ntolerances ({}): estimates within 2 SE or {floor:e} relative (field differences \
             are the f32 path's divergence from f64)",
            engine.precision.name()
        )?;
    }
    if !reals_failed && !others_failed {
        outln!("result: PASS")?;
        Ok(())
    } else {
        outln!("result: FAIL")?;
        if !others_failed {
            outln!(
                "note: only real fields differ; every integer field, discrete decision and \
                 estimate agrees. That is the pattern of configs whose flows dwarf their pools \
                 (whale orders near the TAO supply, or many a year at a large log-sd), where the \
                 backends' few-ulp exp/ln differences grow step after step (docs/gpu.md, \
                 \"taosim compare's tolerances\"); in other configs it is a parity bug"
            )?;
        }
        Err(Failure::Failed(anyhow::anyhow!("GPU and CPU differ beyond the tolerances above")))
    }
}

/// Folds one batch's field differences into `diffs` (the same fields in the same order for every
/// batch): the larger difference of each field wins, its path shifted by the batch's `first`
/// path to a path id.
fn merge_diffs(diffs: &mut Vec<FieldDiff>, batch: Vec<FieldDiff>, first: usize) {
    let batch = batch.into_iter().map(|d| FieldDiff { at: (d.at.0 + first, d.at.1), ..d });
    if diffs.is_empty() {
        diffs.extend(batch);
        return;
    }
    for (d, b) in diffs.iter_mut().zip(batch) {
        debug_assert_eq!(d.field, b.field);
        if b.max_rel > d.max_rel {
            *d = b;
        }
    }
}
