//! `taosim bench [--quick] [--json]`: the standard workloads of `docs/performance.md` on the CPU,
//! with one thread and with all threads, against a measured multiply-add peak.
//!
//! Workloads (both from `configs/baseline.toml` and its snapshot, compiled into the binary so the
//! command runs from any folder): `baseline` (128 subnet slots, Yuma on with V = 8, M = 32, 361
//! blocks per step) and `light` (the same with Yuma off). The unit is the subnet-step: one subnet
//! slot advanced one step, its epoch included. Each measurement runs the engine's
//! [`run_point`] inside its own rayon pool of `threads` threads (never the global pool), with the
//! outputs discarded, so it times the model and not the writer.
//!
//! `--threads` picks the CPU rows' thread counts (default 1 and all) and `--gpu-paths` the GPU
//! rows' paths (default the CPU rows'; a discrete GPU needs thousands to be busy), so that on a
//! lent NVIDIA machine `scripts/device-check.sh` measures the 2-thread CPU rows and a full GPU
//! in one process. Rates are per subnet-step, so rows of different path counts compare.
//!
//! Each CPU row is timed `--repeats` times (default 3, 1 with `--quick`) and reports its fastest
//! run, with every run's wall time in `wall_s_runs`. The rounds interleave the thread counts (1,
//! all, 1, all, ...), so a slow spell of a shared machine (a virtual CPU taken by the host) falls
//! on both rows of a ratio instead of one, and the fastest run is the one least disturbed: noise
//! only ever adds time. GPU rows run once (a device is not shared with the host's other work).
//!
//! `--stages` adds where the time goes: each workload once more on the CPU, at the first thread
//! count, with the engine's stage clock (`taosim_core::stage_clock`), and on the GPU with
//! timestamp queries around every stage's pass (`taosim_gpu::stage_timing`); the seconds and
//! shares by stage go with the first CPU row and each GPU row (`stages` in the JSON). The timed
//! runs are extra, so no rate carries a clock or a query.
//!
//! Peak: the machine's, not the build's. A multiply-add loop over independent f64 accumulators
//! per thread, compiled at run time for the CPU's widest fused multiply-add (taosim-core
//! `simd::PeakIsa`: AVX-512F+FMA, AVX2+FMA, or the build's separate multiply and add), in GFLOP/s
//! counting a multiply and an add as two operations, the best of [`PEAK_TRIALS`] trials at each
//! accumulator count before the workloads and as many after each. The engine itself runs
//! unfused f64 (results must not depend on the instruction set) at SSE2 width outside its AVX2
//! kernels, so its fraction of this peak is a fraction of what the silicon could do, not of what
//! its own instructions could. The fraction of peak is
//! `subnet_steps_per_s · ops_per_subnet_step / peak_flops` with the count of
//! [`ops_per_subnet_step`].

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use taosim_core::engine::{RunPlan, run_point};
use taosim_core::simd::{self, PeakIsa, PeakKernel, SimdLevel};
use taosim_core::stage_clock::{StageClock, StageTotal, shares};
use taosim_core::workload::baseline_plan;
use taosim_gpu::engine::RunError;

use crate::Failure;

/// Arguments of `taosim bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Small workloads (about 10-20 s in all on 2 cores): for smoke tests, rough numbers.
    #[arg(long)]
    quick: bool,
    /// Print a JSON array of records instead of the table.
    #[arg(long)]
    json: bool,
    /// Thread counts of the CPU rows, comma-separated, each at most once [default: 1 and all the
    /// machine's].
    #[arg(long, value_delimiter = ',', value_name = "N,..", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=4096))]
    threads: Vec<u32>,
    /// Paths of each workload on the GPU adapter [default: the CPU rows' paths]. A discrete GPU
    /// needs thousands of paths in flight to be busy; larger counts run in device batches of
    /// `run.device_batch_paths` (4,096), lowered to the adapter's buffer limits.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
    gpu_paths: Option<u32>,
    /// Runs of each CPU row, interleaved across thread counts; each row reports its fastest
    /// [default: 3, or 1 with --quick].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeats: Option<u32>,
    /// Each workload's time by stage, from a second, timed run per row kind (the rows' rates
    /// come from the untimed runs): on the CPU at the first thread count (a clock read after
    /// every stage, thread time summed over threads), on the GPU from device timestamps at each
    /// stage's pass.
    #[arg(long)]
    stages: bool,
    /// Override every workload's horizon in days (tests use it to keep debug builds fast).
    #[arg(long, hide = true, allow_negative_numbers = true)]
    days: Option<f64>,
}

/// One standard workload.
#[derive(Clone, Copy, Debug)]
struct Workload {
    name: &'static str,
    yuma: bool,
    paths: u32,
    days: f64,
}

/// The standard workloads at full or quick size.
fn workloads(quick: bool) -> [Workload; 2] {
    if quick {
        [
            Workload { name: "baseline", yuma: true, paths: 4, days: 5.0 },
            Workload { name: "light", yuma: false, paths: 8, days: 30.0 },
        ]
    } else {
        [
            Workload { name: "baseline", yuma: true, paths: 16, days: 30.0 },
            Workload { name: "light", yuma: false, paths: 64, days: 30.0 },
        ]
    }
}

/// The host a measurement ran on, so a recorded number names its machine (docs/performance.md
/// keeps numbers from more than one kind of VM) and the build that produced it.
#[derive(Clone, Debug, Serialize)]
struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`), or `unknown` where it cannot be read.
    cpu: String,
    /// Logical cores the process may use.
    logical_cores: usize,
    /// The widest vector instruction set this build was compiled for (`RUSTFLAGS="-C
    /// target-cpu=..."` raises it; the default x86-64 build is `sse2`). The CPU may have more.
    build_simd: &'static str,
    /// The vector level the run-time-dispatched CPU kernels used (taosim-core `simd`: the
    /// widest the CPU has, at most `TAOSIM_SIMD`): `baseline`, `avx2` or `avx512`.
    kernel_simd: &'static str,
    /// The instructions of the peak loop: the CPU's widest f64 multiply-add, fused where it can
    /// be (`baseline`, `avx2+fma` or `avx512f+fma`), whatever the build and the kernels use.
    #[serde(serialize_with = "serialize_isa")]
    peak_isa: PeakIsa,
}

/// `peak_isa` by its name.
fn serialize_isa<S: serde::Serializer>(isa: &PeakIsa, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(isa.name())
}

impl Machine {
    fn this() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| cpu_model(&info))
            .unwrap_or_else(|| "unknown".into());
        let logical_cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            cpu,
            logical_cores,
            build_simd: build_simd(),
            kernel_simd: SimdLevel::current().name(),
            peak_isa: PeakIsa::detected(),
        }
    }
}

/// The first `model name` of a `/proc/cpuinfo` text (x86), else its first `Model` / `cpu model`
/// line (some ARM and MIPS kernels).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "cpu model"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
        })
    })
}

/// The widest SIMD extension enabled at compile time.
fn build_simd() -> &'static str {
    if cfg!(target_feature = "avx512f") {
        "avx512f"
    } else if cfg!(target_feature = "avx2") {
        if cfg!(target_feature = "fma") { "avx2+fma" } else { "avx2" }
    } else if cfg!(target_feature = "avx") {
        "avx"
    } else if cfg!(target_feature = "sse4.2") {
        "sse4.2"
    } else if cfg!(target_feature = "sse2") {
        "sse2"
    } else if cfg!(target_feature = "neon") {
        "neon"
    } else {
        "scalar"
    }
}

/// One measurement, as printed by `--json`.
#[derive(Clone, Debug, Serialize)]
struct Record {
    workload: &'static str,
    /// `cpu`, or the GPU adapter's name.
    backend: String,
    threads: usize,
    paths: u32,
    steps: u32,
    subnets: usize,
    /// The fastest run's wall time, which the rates below come from.
    wall_s: f64,
    /// Every run's wall time, in the order run (one entry for a GPU row).
    wall_s_runs: Vec<f64>,
    subnet_steps_per_s: f64,
    paths_per_s: f64,
    /// This thread count's throughput over the 1-thread throughput of the same workload.
    speedup_vs_1_thread: f64,
    ops_per_subnet_step: f64,
    gflops: f64,
    peak_gflops: f64,
    peak_fraction: f64,
    /// The host (for a GPU row, the host of the adapter named in `backend`).
    machine: Machine,
    /// With `--stages` (the first thread count's CPU row and every GPU row): each step stage's
    /// time in a second, timed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    stages: Option<Vec<StageShare>>,
    /// GPU rows: this rate over the same workload's CPU row with the most threads (issue 6's
    /// GPU-to-CPU ratio).
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_cpu: Option<CpuRatio>,
}

/// A GPU row's rate against a CPU row of the same workload.
#[derive(Clone, Copy, Debug, Serialize)]
struct CpuRatio {
    /// The CPU row's thread count.
    threads: usize,
    /// GPU subnet-steps/s over the CPU row's.
    ratio: f64,
}

/// One step stage's time in a `--stages` run.
#[derive(Clone, Debug, Serialize)]
struct StageShare {
    stage: &'static str,
    /// Seconds in the stage: CPU thread time summed over threads, or GPU device time of its
    /// passes (timestamps at each pass's start and end).
    seconds: f64,
    /// Its part of the stages' summed time.
    share: f64,
    /// Times the stage ran: one per step of every path (CPU) or of every device batch (GPU).
    count: u64,
}

impl StageShare {
    /// The seconds, shares and counts of `totals`.
    fn all(totals: &[StageTotal]) -> Vec<Self> {
        totals
            .iter()
            .zip(shares(totals))
            .map(|(t, share)| Self { stage: t.stage, seconds: t.seconds, share, count: t.laps })
            .collect()
    }
}

impl Record {
    /// The slowest run's wall time over the fastest's, minus one (0 for a single run): how much
    /// the machine disturbed the row.
    fn spread(&self) -> f64 {
        let slowest = self.wall_s_runs.iter().copied().fold(0.0, f64::max);
        slowest / self.wall_s - 1.0
    }
}

/// f64 operations of one subnet-step, counted by hand from the stage code (docs/performance.md
/// has the table). Each transcendental (`ln`, `exp`, `sqrt`, `sin`, `cos`, `powf`) counts 20
/// operations (a libm polynomial plus range reduction); comparisons and `max`/`min` count 1;
/// integer work (Philox, indexing) counts nothing.
///
/// - Yuma off: about 500 (behaviour draws and flows ~300, swaps ~60, shares/injection/moving
///   price ~60, payouts ~50, metrics ~30).
/// - Yuma on adds, with `n = V + M` uids: weights `30·V·M` (inverse-CDF normal ~25 plus noise,
///   clamp, sum, scale), quality walk `65·M`, stake split `45·V`, and in the epoch: permits `n²`,
///   per matrix entry `22·V·n` (row normalisation 5, clip 3, trust and incentive 3, bonds input
///   1, Yuma3 EMA 4, column normalisation 3, dividends 2, storage 1), the weighted median
///   `6·V·(log2 V + 1)` per column over `n` columns, and `10·n` for the vector passes.
pub(crate) fn ops_per_subnet_step(yuma: bool, validators: usize, miners: usize) -> f64 {
    let rest = 500.0;
    if !yuma {
        return rest;
    }
    let (v, m) = (validators as f64, miners as f64);
    let n = v + m;
    let weights = 30.0 * v * m + 65.0 * m + 45.0 * v;
    let epoch = n * n + 22.0 * v * n + 6.0 * v * (v.log2() + 1.0) * n + 10.0 * n;
    rest + weights + epoch
}

/// Multiply-adds of one peak-loop call, whatever its accumulator count: about 1 ms at 60
/// GFLOP/s, 10 ms at 6.
const PEAK_MULTIPLY_ADDS: u64 = 1 << 25;

/// The peak loop: `LANES` independent f64 accumulators, each multiplied and added
/// `PEAK_MULTIPLY_ADDS / LANES` times (two operations each). How many accumulators fill the
/// multiply-add units depends on the instruction set, the units' latency and the register file
/// (on the project's Sapphire Rapids VM: 32 for AVX2, 64 for AVX-512, whose 32 registers hold
/// them), so [`peak_gflops`] runs each of [`PEAK_LOOPS`] and keeps the best.
struct MultiplyAddLoop<const LANES: usize> {
    seed: f64,
}

impl<const LANES: usize> PeakKernel for MultiplyAddLoop<LANES> {
    type Output = f64;

    #[inline(always)]
    fn run<const FUSED: bool>(self) -> f64 {
        let mut acc = [0.0_f64; LANES];
        for (k, a) in acc.iter_mut().enumerate() {
            *a = self.seed + k as f64;
        }
        // A contraction factor below 1 keeps the values finite for any iteration count.
        let scale = black_box(0.999_999_9);
        let shift = black_box(1.0e-7);
        for _ in 0..PEAK_MULTIPLY_ADDS / LANES as u64 {
            for a in acc.iter_mut() {
                *a = if FUSED { a.mul_add(scale, shift) } else { *a * scale + shift };
            }
        }
        acc.iter().sum()
    }
}

/// One thread's peak-loop call with `LANES` accumulators, compiled for `isa`.
fn peak_loop<const LANES: usize>(isa: PeakIsa, seed: f64) -> f64 {
    simd::run_peak_at(isa, MultiplyAddLoop::<LANES> { seed })
}

/// The peak loop at each accumulator count it tries.
const PEAK_LOOPS: [fn(PeakIsa, f64) -> f64; 3] =
    [peak_loop::<32>, peak_loop::<64>, peak_loop::<128>];

/// Trials of the peak loop at each accumulator count; the best counts. A trial is short enough
/// for a moment's host interference to halve a 2-thread trial on a virtual machine: three
/// trials were seen to give 20-32 GFLOP/s on the 2-core machine where eight give 33-34 every
/// time.
const PEAK_TRIALS: usize = 8;

/// Measured multiply-add rate of `threads` threads together with the CPU's widest fused
/// multiply-add (`isa`), GFLOP/s: the best of [`PEAK_TRIALS`] trials of each of [`PEAK_LOOPS`].
fn peak_gflops(pool: &rayon::ThreadPool, threads: usize, isa: PeakIsa) -> f64 {
    let flops = 2.0 * PEAK_MULTIPLY_ADDS as f64 * threads as f64;
    let mut best = 0.0_f64;
    for peak_loop in PEAK_LOOPS {
        for _ in 0..PEAK_TRIALS {
            let started = Instant::now();
            let total: f64 = pool.install(|| {
                use rayon::prelude::*;
                (0..threads).into_par_iter().map(|t| peak_loop(isa, black_box(t as f64))).sum()
            });
            black_box(total);
            best = best.max(flops / started.elapsed().as_secs_f64() / 1e9);
        }
    }
    best
}

/// The plan of workload `w` (horizon overridden by `days` when given).
fn plan_of(w: &Workload, paths: u32, days: Option<f64>) -> anyhow::Result<RunPlan> {
    baseline_plan(w.yuma, paths, days.unwrap_or(w.days)).with_context(|| match days {
        Some(d) => format!("--days {d} on the bundled configs/baseline.toml"),
        None => "the bundled configs/baseline.toml and its snapshot".into(),
    })
}

/// Runs `plan`'s paths on `pool` and returns the wall time in seconds (a guard stopping the run
/// is an error: a benchmark of a broken run measures nothing).
fn time_run(pool: &rayon::ThreadPool, plan: &RunPlan) -> anyhow::Result<f64> {
    let started = Instant::now();
    let acc = pool.install(|| {
        run_point::<f64, taosim_core::Error>(plan, 0, 0..plan.config.run.paths, |batch| {
            black_box(&batch);
            Ok(())
        })
    })?;
    black_box(acc);
    Ok(started.elapsed().as_secs_f64())
}

/// The workloads on the GPU adapter the environment selects (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`),
/// at the precision it supports best, against the 1-thread CPU rate of the same workload (in
/// `speedup_vs_1_thread`) and the CPU row with the most threads (`vs_cpu`). No adapter: no GPU rows, with a note. The device's peak comes from a
/// multiply-add kernel in the run's precision (`taosim_gpu::peak`). A workload the adapter cannot
/// run (lavapipe's loop budget at large Yuma sizes) is reported on stderr and skipped.
fn gpu_records(
    args: &BenchArgs,
    machine: &Machine,
    records: &mut Vec<Record>,
) -> anyhow::Result<()> {
    let engine = match taosim_gpu::engine::GpuEngine::new(None) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("bench: no GPU rows ({e})");
            return Ok(());
        }
    };
    let peak = taosim_gpu::peak::peak_gflops(&engine.ctx, engine.precision, 3)?;
    for w in workloads(args.quick) {
        let paths = args.gpu_paths.unwrap_or(w.paths);
        let plan = plan_of(&w, paths, args.days)?;
        let steps = plan.steps;
        let subnet_steps = f64::from(paths) * f64::from(steps) * plan.slots as f64;
        let started = Instant::now();
        if let Err(e) = run_on_gpu(&engine, &plan, paths) {
            eprintln!("bench: {} on {}: skipped ({e})", w.name, engine.adapter());
            continue;
        }
        let wall = started.elapsed().as_secs_f64();
        // The stage profile comes from a second run, so the row's rate carries no query.
        let stages = if args.stages {
            match engine.start_stage_timing() {
                Ok(()) => {
                    run_on_gpu(&engine, &plan, paths)?;
                    engine.take_stage_times().map(|t| StageShare::all(&t.stages))
                }
                Err(e) => {
                    eprintln!("bench: no stage times on {} ({e})", engine.adapter());
                    None
                }
            }
        } else {
            None
        };
        let rate = subnet_steps / wall;
        let cpu_rows = || records.iter().filter(|r| r.workload == w.name && r.backend == "cpu");
        let single = cpu_rows().find(|r| r.threads == 1).map_or(0.0, |r| r.subnet_steps_per_s);
        let vs_cpu = cpu_rows()
            .max_by_key(|r| r.threads)
            .map(|r| CpuRatio { threads: r.threads, ratio: rate / r.subnet_steps_per_s });
        let ops = ops_per_subnet_step(w.yuma, plan.yuma.validators, plan.yuma.miners);
        records.push(Record {
            workload: w.name,
            backend: format!("{} ({})", engine.adapter(), engine.precision.name()),
            threads: 0,
            paths,
            steps,
            subnets: plan.slots,
            wall_s: wall,
            wall_s_runs: vec![wall],
            subnet_steps_per_s: rate,
            paths_per_s: f64::from(paths) / wall,
            speedup_vs_1_thread: if single > 0.0 { rate / single } else { 0.0 },
            ops_per_subnet_step: ops,
            gflops: rate * ops / 1e9,
            peak_gflops: peak,
            peak_fraction: rate * ops / 1e9 / peak,
            machine: machine.clone(),
            stages,
            vs_cpu,
        });
    }
    Ok(())
}

/// Runs `plan`'s `paths` paths on `engine` at its precision, outputs discarded.
fn run_on_gpu(
    engine: &taosim_gpu::engine::GpuEngine,
    plan: &RunPlan,
    paths: u32,
) -> Result<(), RunError> {
    let discard = |batch| {
        black_box(&batch);
        Ok::<(), RunError>(())
    };
    let acc = match engine.precision {
        taosim_gpu::shaders::Precision::F64 => {
            engine.run_point::<f64, RunError>(plan, 0, 0..paths, discard)?
        }
        taosim_gpu::shaders::Precision::F32 => {
            engine.run_point::<f32, RunError>(plan, 0, 0..paths, discard)?
        }
    };
    black_box(acc);
    Ok(())
}

/// Runs the `bench` subcommand. The flags and every workload's plan are checked first, so that
/// bad input (a repeated `--threads` count, a bad `--days`) stops the command with exit 2 before
/// any measurement or output.
pub(crate) fn run(args: &BenchArgs) -> Result<(), Failure> {
    // One row per thread count: a repeated count would make two rows of the same measurement.
    if let Some(t) = crate::first_repeated(&args.threads) {
        return Err(Failure::BadInput(anyhow::anyhow!(
            "--threads: {t} is given twice (each thread count at most once)"
        )));
    }
    let plans = workloads(args.quick)
        .into_iter()
        .map(|w| Ok((plan_of(&w, w.paths, args.days)?, w)))
        .collect::<anyhow::Result<Vec<_>>>()
        // Only `--days` reaches the bundled config; without it a failure is the build's own.
        .map_err(|e| if args.days.is_some() { Failure::BadInput(e) } else { Failure::Failed(e) })?;
    measure(args, plans).map_err(Failure::Failed)
}

/// Measures the planned workloads and prints the report.
fn measure(args: &BenchArgs, plans: Vec<(RunPlan, Workload)>) -> anyhow::Result<()> {
    let mut thread_counts: Vec<usize> = args.threads.iter().map(|&t| t as usize).collect();
    if thread_counts.is_empty() {
        let all = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        thread_counts = if all > 1 { vec![1, all] } else { vec![1] };
    }
    let mut pools = Vec::new();
    for &t in &thread_counts {
        pools.push(rayon::ThreadPoolBuilder::new().num_threads(t).build()?);
    }
    // Read once: every row runs on this host.
    let machine = Machine::this();
    // The peaks are measured before the workloads and again after each, and the best counts:
    // trials spread over the whole run are not all caught by one spell of host interference.
    let mut peaks = vec![0.0_f64; thread_counts.len()];
    let measure_peaks = |peaks: &mut [f64]| {
        for (k, (pool, &t)) in pools.iter().zip(&thread_counts).enumerate() {
            peaks[k] = peaks[k].max(peak_gflops(pool, t, machine.peak_isa));
        }
    };
    measure_peaks(&mut peaks);
    let repeats = args.repeats.unwrap_or(if args.quick { 1 } else { 3 });
    let mut records = Vec::new();
    for (plan, w) in plans {
        let subnets = plan.slots;
        let steps = plan.steps;
        let subnet_steps = f64::from(w.paths) * f64::from(steps) * subnets as f64;
        let ops = ops_per_subnet_step(w.yuma, plan.yuma.validators, plan.yuma.miners);
        // Round by round, every thread count once per round (module docs).
        let mut runs = vec![Vec::with_capacity(repeats as usize); thread_counts.len()];
        for _ in 0..repeats {
            for (k, pool) in pools.iter().enumerate() {
                runs[k].push(time_run(pool, &plan)?);
            }
        }
        measure_peaks(&mut peaks);
        // `--stages`: one more run, at the first thread count, with the stage clock.
        let stages = if args.stages {
            let clock = Arc::new(StageClock::default());
            let mut timed = plan.clone();
            timed.stage_clock = Some(clock.clone());
            time_run(&pools[0], &timed)?;
            Some(StageShare::all(&clock.totals()))
        } else {
            None
        };
        let fastest = |k: usize| runs[k].iter().copied().fold(f64::INFINITY, f64::min);
        // The 1-thread rate, wherever 1 stands in `--threads` (none: no ratios).
        let single =
            thread_counts.iter().position(|&t| t == 1).map_or(0.0, |k| subnet_steps / fastest(k));
        for (k, &threads) in thread_counts.iter().enumerate() {
            let wall = fastest(k);
            let rate = subnet_steps / wall;
            let gflops = rate * ops / 1e9;
            records.push(Record {
                workload: w.name,
                backend: "cpu".into(),
                threads,
                paths: w.paths,
                steps,
                subnets,
                wall_s: wall,
                wall_s_runs: runs[k].clone(),
                subnet_steps_per_s: rate,
                paths_per_s: f64::from(w.paths) / wall,
                speedup_vs_1_thread: if single > 0.0 { rate / single } else { 0.0 },
                ops_per_subnet_step: ops,
                gflops,
                // Set below, from the final peaks.
                peak_gflops: 0.0,
                peak_fraction: 0.0,
                machine: machine.clone(),
                stages: if k == 0 { stages.clone() } else { None },
                vs_cpu: None,
            });
        }
    }
    for r in &mut records {
        let k = thread_counts.iter().position(|&t| t == r.threads).expect("a measured count");
        r.peak_gflops = peaks[k];
        r.peak_fraction = r.gflops / peaks[k];
    }
    gpu_records(args, &machine, &mut records)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&records)?)?;
    } else {
        print_table(&machine, &records, &thread_counts, &peaks)?;
    }
    Ok(())
}

/// The human-readable report.
fn print_table(
    m: &Machine,
    records: &[Record],
    thread_counts: &[usize],
    peaks: &[f64],
) -> std::io::Result<()> {
    outln!(
        "machine: {}, {} logical cores; build: {}; kernels: {}",
        m.cpu,
        m.logical_cores,
        m.build_simd,
        m.kernel_simd
    )?;
    for (t, p) in thread_counts.iter().zip(peaks) {
        outln!(
            "peak (f64 multiply-add loop, {}, {t} thread(s)): {p:.2} GFLOP/s",
            m.peak_isa.name()
        )?;
    }
    outln!("rates from each row's fastest run; spread: its slowest run's time over the fastest's")?;
    outln!(
        "{:<9} {:>7} {:>6} {:>6} {:>8} {:>5} {:>7} {:>14} {:>9} {:>7} {:>9} {:>8} {:>7}",
        "workload",
        "backend",
        "thr",
        "paths",
        "steps",
        "runs",
        "spread",
        "subnet-steps/s",
        "paths/s",
        "vs 1t",
        "ops/s-s",
        "GFLOP/s",
        "peak%"
    )?;
    for r in records {
        outln!(
            "{:<9} {:>7} {:>6} {:>6} {:>8} {:>5} {:>6.1}% {:>14.4e} {:>9.3} {:>7} {:>9.0} {:>8.3} {:>6.2}%",
            r.workload,
            r.backend,
            r.threads,
            r.paths,
            r.steps,
            r.wall_s_runs.len(),
            100.0 * r.spread(),
            r.subnet_steps_per_s,
            r.paths_per_s,
            // No 1-thread row (`--threads` without 1): no ratio to print.
            if r.speedup_vs_1_thread > 0.0 {
                format!("{:.2}", r.speedup_vs_1_thread)
            } else {
                "-".into()
            },
            r.ops_per_subnet_step,
            r.gflops,
            100.0 * r.peak_fraction
        )?;
    }
    for r in records {
        if let Some(CpuRatio { threads, ratio }) = r.vs_cpu {
            outln!(
                "{} on {}: {ratio:.3}x the CPU with {threads} thread(s)",
                r.workload,
                r.backend
            )?;
        }
    }
    for r in records {
        if let Some(stages) = &r.stages {
            let (what, each) = if r.backend == "cpu" {
                (format!("cpu, {} thread(s): thread time", r.threads), "path-steps")
            } else {
                (format!("{}: device time", r.backend), "passes")
            };
            outln!("{} on {what} by stage (a second, timed run)", r.workload)?;
            for s in stages {
                outln!(
                    "  {:<16} {:>10.4} s {:>6.1}%  ({} {each})",
                    s.stage,
                    s.seconds,
                    100.0 * s.share,
                    s.count
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::cpu_model;

    /// The model name comes from the first processor's entry, trimmed; kernels that name it
    /// differently, or not at all, are handled.
    #[test]
    fn cpu_model_reads_proc_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 207\n\
                   model name\t: Intel(R) Xeon(R) Processor\n\nprocessor\t: 1\n\
                   model name\t: Other\n";
        assert_eq!(cpu_model(x86).as_deref(), Some("Intel(R) Xeon(R) Processor"));
        let arm = "processor\t: 0\nBogoMIPS\t: 48.00\n\nModel\t\t: Raspberry Pi 4 Model B\n";
        assert_eq!(cpu_model(arm).as_deref(), Some("Raspberry Pi 4 Model B"));
        assert_eq!(cpu_model("processor\t: 0\nmodel name\t:   \n"), None);
        assert_eq!(cpu_model(""), None);
    }
}
