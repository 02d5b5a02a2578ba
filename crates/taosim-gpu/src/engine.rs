//! The GPU run loop: a batch of paths lives on the device for the whole horizon.
//!
//! Per batch: the initial state (`taosim_core::engine::init_batch`, the same as the CPU's) is
//! uploaded once with the step's parameters; each chunk of steps is one submission in which every
//! step dispatches the step stages in order (each in its shape for the adapter,
//! `Dispatch::on_adapter`: one invocation per path, or one workgroup of lanes per path); after a
//! chunk the host reads back only the per-path event counts and the records of the paths that had
//! events (state snapshots of the slots involved), the state of the traced paths when the chunk
//! ends on a trace sample, and, after the last chunk, the whole state for the per-path records and the runtime
//! guards. Records are built by the same [`PathRecorder`] the CPU engine uses, so both backends
//! write the same rows, in the same order. With a spill in the plan, a path hands its subnet rows
//! and events over after any chunk that leaves it holding [`RECORD_SPILL_ROWS`] or more, so the
//! host's memory does not grow with the horizon (issue 6).
//!
//! Batches: `run.device_batch_paths` paths at most, lowered to what the adapter's buffer limits
//! hold ([`GpuEngine::batch_paths`]); each path's draws depend only on (seed, point, path), so the
//! outputs do not depend on the batch size.
//!
//! Guards: the `guards` stage checks every path at the end of every step on the device and keeps
//! the first failing step in the path's `guard_step`; the host reads these flags after every
//! chunk, and a path that failed is replayed on the CPU with the checks after every stage
//! ([`replay_with_guards`]), whose error names the point, path, step, subnet, stage and field.

use std::cell::RefCell;
use std::ops::Range;

use taosim_core::engine::{
    PathRecorder, PathRecords, RECORD_SPILL_ROWS, RunPlan, fold_batch, init_batch,
    replay_with_guards,
};
use taosim_core::estimate::PointAccumulator;
use taosim_core::records::{BatchRecords, EventKind};
use taosim_core::state::{BatchState, GlobalInt, GlobalReal, SubnetInt, SubnetReal};
use taosim_core::{Error, Real};

use crate::device::{BatchId, DeviceState, ScratchLayout, binding};
use crate::params::step_params;
use crate::shaders::{EVENT_INTS, EVENT_REALS, Precision, STEP_SEQUENCE};
use crate::stage_timing::{PassTimer, StageTimes};
use crate::stages::{Pipeline, dispatch};
use crate::types::LOOP_BUDGET_EXHAUSTED;
use crate::{Context, GpuError};

/// Steps per submission at most (also bounds the event log: see [`event_capacity`]).
pub const CHUNK_STEPS: u32 = 16;

/// Events one path may log in a chunk of `steps` steps: a registration logs at most three (a
/// spiral at pruning, the pruning, the registration) and each occupant spirals at most once.
pub fn event_capacity(steps: u32, slots: usize) -> u32 {
    3 * steps + slots as u32
}

/// A device and its compiled step pipelines, for one precision.
#[derive(Debug)]
pub struct GpuEngine {
    /// The device.
    pub ctx: Context,
    /// Precision of the step stages.
    pub precision: Precision,
    pipelines: RefCell<Option<Vec<Pipeline>>>,
    /// Run every stage in its table shape even on a CPU adapter (see [`Self::with_table_shapes`]).
    table_shapes: bool,
    /// Rows a path holds before they go to the plan's spill (see [`Self::with_spill_rows`]).
    spill_rows: usize,
    /// The stage times since [`Self::start_stage_timing`], while timing is on.
    stage_times: RefCell<Option<StageTimes>>,
}

impl GpuEngine {
    /// The adapter from the environment at `precision` (default: f64 when the adapter has
    /// `SHADER_F64`, else f32). Asking for f64 on an adapter without it is an error.
    pub fn new(precision: Option<Precision>) -> Result<Self, GpuError> {
        let ctx = Context::from_env()?;
        let precision = match precision {
            Some(Precision::F64) if !ctx.adapter.f64 => {
                return Err(GpuError::Unsupported {
                    adapter: ctx.adapter.name.clone(),
                    what: "f64 (SHADER_F64); use --precision f32".into(),
                });
            }
            Some(p) => p,
            None if ctx.adapter.f64 => Precision::F64,
            None => Precision::F32,
        };
        Ok(Self {
            ctx,
            precision,
            pipelines: RefCell::new(None),
            table_shapes: false,
            spill_rows: RECORD_SPILL_ROWS,
            stage_times: RefCell::new(None),
        })
    }

    /// This engine with every stage in its table's [`crate::shaders::Dispatch`] shape (lanes)
    /// even on a CPU adapter, where it would otherwise run the `LANES` stages per path: lets
    /// lavapipe test the shapes GPUs run.
    pub fn with_table_shapes(mut self) -> Self {
        self.table_shapes = true;
        *self.pipelines.borrow_mut() = None;
        self
    }

    /// This engine with paths handing their subnet rows and events to the plan's spill once they
    /// hold `rows` of them (default [`RECORD_SPILL_ROWS`]; at least 1): lets short test runs
    /// hand rows over while they run, as long runs do.
    pub fn with_spill_rows(mut self, rows: usize) -> Self {
        self.spill_rows = rows;
        self
    }

    /// Times every step stage's passes from now on, with timestamp queries, until
    /// [`Self::take_stage_times`] (restarting from zero if already on). An adapter without
    /// `TIMESTAMP_QUERY` is an error.
    pub fn start_stage_timing(&self) -> Result<(), GpuError> {
        if !self.ctx.adapter.timestamps {
            return Err(GpuError::Unsupported {
                adapter: self.ctx.adapter.name.clone(),
                what: "timestamp queries (TIMESTAMP_QUERY)".into(),
            });
        }
        *self.stage_times.borrow_mut() = Some(StageTimes::of(STEP_SEQUENCE));
        Ok(())
    }

    /// The stage times since [`Self::start_stage_timing`] (`None` when timing was off), and
    /// timing off.
    pub fn take_stage_times(&self) -> Option<StageTimes> {
        self.stage_times.borrow_mut().take()
    }

    /// The adapter's name.
    pub fn adapter(&self) -> &str {
        &self.ctx.adapter.name
    }

    /// Paths per device batch for `plan`: `run.device_batch_paths`, lowered so that every buffer
    /// of the batch fits the adapter's `max_storage_buffer_binding_size` and `max_buffer_size`,
    /// and to 65,535 (the workgroups of one dispatch dimension; the lane stages run one
    /// workgroup per path).
    pub fn batch_paths(&self, plan: &RunPlan) -> u32 {
        let per_path = per_path_bytes(plan, self.precision);
        let a = &self.ctx.adapter;
        let limit = a.max_storage_buffer_binding_size.min(a.max_buffer_size);
        let fit = per_path.iter().map(|&b| limit / b.max(1)).min().unwrap_or(u64::MAX);
        let most = plan.config.run.device_batch_paths.clamp(1, MAX_WORKGROUPS);
        u32::try_from(fit).unwrap_or(u32::MAX).clamp(1, most)
    }

    fn with_pipelines<T>(
        &self,
        plan: &RunPlan,
        f: impl FnOnce(&[Pipeline]) -> T,
    ) -> Result<T, GpuError> {
        let mut cache = self.pipelines.borrow_mut();
        if cache.is_none() {
            // Parameter names (hence the generated constants) are the same for every plan.
            let params = step_params::<f64>(plan);
            let cpu_adapter = self.ctx.adapter.device_type == "Cpu" && !self.table_shapes;
            let built = STEP_SEQUENCE
                .iter()
                .map(|name| {
                    let stage = crate::shaders::stage(name).expect("step stages are in the table");
                    let shape = stage.dispatch().on_adapter(cpu_adapter);
                    Pipeline::step_as(&self.ctx.device, stage, shape, self.precision, &params)
                })
                .collect::<Result<Vec<_>, _>>()?;
            *cache = Some(built);
        }
        Ok(f(cache.as_ref().expect("built above")))
    }

    /// Runs paths `paths` of `point` batch by batch, handing each batch's records to `sink` in path
    /// order (as `taosim_core::engine::run_point` does on the CPU). `R` must match the precision.
    pub fn run_point<R: Real, E: From<Error> + From<GpuError>>(
        &self,
        plan: &RunPlan,
        point: u32,
        paths: Range<u32>,
        mut sink: impl FnMut(BatchRecords) -> core::result::Result<(), E>,
    ) -> core::result::Result<PointAccumulator, E> {
        let mut acc = plan.accumulator(point);
        let batch = self.batch_paths(plan);
        let mut first = paths.start;
        while first < paths.end {
            let n = batch.min(paths.end - first);
            let (_, results) = self.run_batch::<R>(plan, point, first, n).map_err(|e| match e {
                RunError::Model(e) => E::from(e),
                RunError::Gpu(e) => E::from(e),
            })?;
            sink(fold_batch(&mut acc, point, first, results))?;
            first += n;
        }
        Ok(acc)
    }

    /// Runs paths `first .. first + n` of `point` over the whole horizon on the device and returns
    /// the final state and each path's records.
    pub fn run_batch<R: Real>(
        &self,
        plan: &RunPlan,
        point: u32,
        first: u32,
        n: u32,
    ) -> Result<(BatchState<R>, Vec<PathRecords>), RunError> {
        assert_eq!(size_of::<R>() as u64, self.precision.bytes(), "R must match the precision");
        let ctx = &self.ctx;
        let mut state = init_batch::<R>(plan, point, first, n as usize);
        let params = step_params::<R>(plan);
        let cap = event_capacity(CHUNK_STEPS, plan.slots);
        let id = BatchId { seed: plan.config.run.seed, point, first_path: first };
        let device = DeviceState::upload(ctx, id, &state, &params, cap);
        ctx.check()?;
        let mut recorders: Vec<PathRecorder> =
            (0..n).map(|i| PathRecorder::new(plan, point, first + i)).collect();
        let traced = recorders.iter().filter(|r| r.traced()).count();
        for (i, rec) in recorders.iter_mut().enumerate().take(traced) {
            rec.trace(0, &state.path(i));
        }
        let mut snapshot = BatchState::<R>::with_yuma(1, plan.slots, Default::default());
        // Every pass of a chunk timed, when stage timing is on.
        let timer = self
            .stage_times
            .borrow()
            .is_some()
            .then(|| PassTimer::new(ctx, CHUNK_STEPS * STEP_SEQUENCE.len() as u32));
        let mut step = 0;
        while step < plan.steps {
            let mut end = (step + CHUNK_STEPS).min(plan.steps);
            if traced > 0 {
                let next_sample = (step / plan.trace_every + 1) * plan.trace_every;
                end = end.min(next_sample);
            }
            let passes = self.with_pipelines(plan, |pipelines| {
                let binds: Vec<wgpu::BindGroup> =
                    pipelines.iter().map(|p| device.bind_group(ctx, &p.layout)).collect();
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                let mut passes = 0;
                for _ in step..end {
                    for (pipeline, bind) in pipelines.iter().zip(&binds) {
                        let timestamps = timer.as_ref().map(|t| t.writes(passes));
                        dispatch(&mut encoder, pipeline, bind, n, timestamps);
                        passes += 1;
                    }
                }
                if let Some(timer) = &timer {
                    timer.resolve(&mut encoder, passes);
                }
                ctx.queue.submit([encoder.finish()]);
                passes
            })?;
            ctx.check()?;
            if let (Some(timer), Some(times)) = (&timer, self.stage_times.borrow_mut().as_mut()) {
                timer.collect(ctx, passes, times)?;
            }
            read_events(&device, ctx, plan, n, cap, &mut snapshot, &mut recorders)?;
            // Every path runs to the horizon before any finishes: without this, the batch would
            // hold each path's pruned occupants and events for the whole horizon (issue 6).
            for rec in &mut recorders {
                rec.spill_rows(self.spill_rows);
            }
            // The device-side guard flag of every path (stage `guards`, each step's end).
            let globals: Vec<u32> =
                device.read(ctx, binding::GLOBAL_INT, n as usize * GI, "global_int")?;
            let guard = guard_step_field();
            let failed = (0..n as usize).find(|&i| globals[i * GI + guard] != 0);
            if let Some(i) = failed {
                if globals[i * GI + guard] == LOOP_BUDGET_EXHAUSTED {
                    return Err(RunError::Gpu(GpuError::LoopBudget {
                        adapter: ctx.adapter.name.clone(),
                        path: first + i as u32,
                    }));
                }
                return Err(guard_failure::<R>(plan, point, first + i as u32));
            }
            if traced > 0 && recorders[0].traces_after(end - 1) {
                device.download_paths(ctx, &mut state, traced)?;
                for (i, rec) in recorders.iter_mut().enumerate().take(traced) {
                    rec.trace(end, &state.path(i));
                }
            }
            step = end;
        }
        device.download(ctx, &mut state)?;
        let layout = ScratchLayout::new(plan.slots, plan.yuma);
        let eligible: Vec<u32> =
            device.read(ctx, binding::SCRATCH_INT, n as usize * layout.ints, "scratch_int")?;
        let mut out = Vec::with_capacity(n as usize);
        for (i, rec) in recorders.into_iter().enumerate() {
            let flags = &eligible[i * layout.ints..i * layout.ints + plan.slots];
            out.push(rec.finish(&state.path(i), flags));
        }
        Ok((state, out))
    }
}

/// Workgroups per dispatch dimension that every adapter allows
/// (`max_compute_workgroups_per_dimension` of wgpu's default limits).
const MAX_WORKGROUPS: u32 = 65_535;

/// `GlobalInt` fields per path.
const GI: usize = GlobalInt::<u32>::FIELDS;

/// Index of `guard_step` among a path's `GlobalInt` fields.
fn guard_step_field() -> usize {
    GlobalInt::<u32>::NAMES.iter().position(|&n| n == "guard_step").expect("a GlobalInt field")
}

/// The error of path `path`, whose device state failed a guard: a CPU replay with the checks
/// after every stage names the stage (its draws are the same); a clean replay means the device
/// diverged from the CPU reference.
fn guard_failure<R: Real>(plan: &RunPlan, point: u32, path: u32) -> RunError {
    match replay_with_guards::<R>(plan, point, path) {
        Err(e) => RunError::Model(e),
        Ok(()) => RunError::Gpu(GpuError::Diverged { path }),
    }
}

/// Bytes per path of every device buffer of `plan` at `precision` (the batch limit's input).
pub fn per_path_bytes(plan: &RunPlan, precision: Precision) -> Vec<u64> {
    let r = precision.bytes();
    let s = plan.slots as u64;
    let scratch = ScratchLayout::new(plan.slots, plan.yuma);
    let cap = u64::from(event_capacity(CHUNK_STEPS, plan.slots));
    vec![
        SubnetReal::<f64>::FIELDS as u64 * s * r,
        SubnetInt::<u32>::FIELDS as u64 * s * 4,
        s * plan.yuma.reals() as u64 * r,
        s * plan.yuma.ints() as u64 * 4,
        scratch.reals as u64 * r,
        scratch.ints as u64 * 4,
        cap * EVENT_REALS as u64 * r,
        (1 + cap * EVENT_INTS as u64) * 4,
    ]
}

/// Reads the event log of a chunk, hands each event to its path's recorder (with the snapshot of
/// the slot's state it carries), and resets the counts.
fn read_events<R: Real>(
    device: &DeviceState,
    ctx: &Context,
    plan: &RunPlan,
    n: u32,
    cap: u32,
    snapshot: &mut BatchState<R>,
    recorders: &mut [PathRecorder],
) -> Result<(), GpuError> {
    let n = n as usize;
    let counts: Vec<u32> = device.read_range(ctx, binding::EVENTS_INT, 0, n, "event counts")?;
    if counts.iter().all(|&c| c == 0) {
        return Ok(());
    }
    let cap = cap as usize;
    for (p, &count) in counts.iter().enumerate() {
        let count = count as usize;
        if count == 0 {
            continue;
        }
        if count > cap {
            return Err(GpuError::EventOverflow { path: p as u32, events: count as u32 });
        }
        let ints: Vec<u32> = device.read_range(
            ctx,
            binding::EVENTS_INT,
            n + p * cap * EVENT_INTS,
            count * EVENT_INTS,
            "event records",
        )?;
        let reals: Vec<R> = device.read_range(
            ctx,
            binding::EVENTS_REAL,
            p * cap * EVENT_REALS,
            count * EVENT_REALS,
            "event values",
        )?;
        for k in 0..count {
            let int = &ints[k * EVENT_INTS..(k + 1) * EVENT_INTS];
            let real = &reals[k * EVENT_REALS..(k + 1) * EVENT_REALS];
            let (kind, step, block, slot) = (int[0], int[1], int[2], int[3] as usize);
            // The slot's fields and the path's globals as they were when the event was logged.
            let mut st = snapshot.path(0);
            let mut f = 0;
            st.sub.for_each_field(|xs| {
                xs[slot] = real[2 + f];
                f += 1;
            });
            let mut f = 0;
            st.sub_int.for_each_field(|xs| {
                xs[slot] = int[4 + f];
                f += 1;
            });
            let mut f = 0;
            st.global.for_each_field(|xs| {
                xs[0] = real[2 + SubnetReal::<R>::FIELDS + f];
                f += 1;
            });
            let _ = GlobalReal::<R>::FIELDS;
            let rec = &mut recorders[p];
            match kind {
                k if k == EventKind::Spiral as u32 => rec.spiral(step, block, slot, &st),
                k if k == EventKind::Pruned as u32 => rec.pruned(step, block, slot, &st),
                k if k == EventKind::Registered as u32 => {
                    rec.registered(step, block, slot, real[0].f64(), real[1].f64())
                }
                other => return Err(GpuError::BadEvent { path: p as u32, kind: other }),
            }
        }
    }
    device.write(ctx, binding::EVENTS_INT, &vec![0_u32; n]);
    let _ = plan;
    Ok(())
}

/// A GPU run's failure: the model's (a runtime guard) or the device's.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A runtime guard fired (named by the CPU replay).
    #[error(transparent)]
    Model(#[from] Error),
    /// The device failed.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}
