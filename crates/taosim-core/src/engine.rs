//! The CPU run loop: paths in fixed batches, each path through every step's stages, outputs
//! streamed per batch (model.md §3, §9, §11).
//!
//! Memory: the state is per path (paths × subnets, plus V × M per subnet with Yuma); a batch's
//! rows wait in its [`PathRecords`] until the batch is handed to the sink, unless the plan has a
//! [`RecordSpill`] (the CLI's), which takes traced paths' trace rows every
//! [`TRACE_SPILL_ROWS`] rows and each finished path's other rows (and, on the GPU, whose paths
//! run side by side for the whole horizon, a running path's subnet rows and events every
//! [`RECORD_SPILL_ROWS`] rows), so that memory does not grow with the horizon (issue 6).
//!
//! A [`RunPlan`] is a validated config plus the initial network, with everything derived once
//! (steps, stage parameters, the spiral rule, the Yuma layout, trace spacing, the start's top 10).
//! [`run_point`] cuts a range of path ids into batches of `run.batch_paths`, runs each batch's
//! paths in parallel (rayon, one path per task: a path's whole horizon runs on one thread with
//! its state hot in cache), and hands each finished batch's [`BatchRecords`] to a sink in path
//! order, folding its outcomes into a [`PointAccumulator`].
//!
//! Reproducibility: every draw of path `k` comes from Philox keyed by (seed, point, k) with
//! counters (step, subnet, stream), and outcomes are folded in path order, so results do not
//! depend on the thread count, the batch size or how the paths are sharded.
//!
//! Runtime guards: after `init` and after every stage of every step, the path's state is checked
//! (see `check_state`): every per-subnet real of every slot, every path-wide real and every Yuma
//! real (miner quality, bonds, consensus history) must be finite; no pool reserve (`tao`, `alpha`)
//! may be negative, nor, in a live subnet, below `chain.min_reserve` (the AMM keeps every live pool
//! above it, so a zero reserve is a bug, not a state); and TAO must be conserved, `Σ active pools +
//! paid_out − paid_in + recycled = start pools + minted`, to a relative tolerance of
//! [`CONSERVATION_TOLERANCE_F64`] (f64) or [`CONSERVATION_TOLERANCE_F32`] (f32), relative to
//! the identity's largest term ([`relative_residual`]). A violation stops the run with
//! [`Error::Guard`] naming the point, path, step, subnet, stage and field, so a run never ends
//! with a silently wrong number.
//! The checks are branch-light sums over the state (a slow scan that locates the value runs only
//! once one has failed). To stay cheap (by callgrind, 1.2% of a path's instructions with Yuma on,
//! 3.5% with Yuma off, whose steps are short) they run at the end of every step; a path that fails
//! one is replayed from its start (its draws depend only on seed, point and path, so the replay is
//! the same run) with the checks after every stage, and the error names the first stage after which
//! the state was bad. A value that goes bad and is overwritten again within the same step, without
//! leaving a trace in the state, is not seen. For tests, a [`RunPlan::fault`] corrupts one value at
//! a chosen place so each guard can be seen to fire.
//!
//! Lock state at the start: the chain's lock history before a snapshot is not in the data, so a
//! path starts as if a 1,250 TAO lock had been paid one reduction interval ago (cost at the
//! start: 1,250 TAO, halving-adjusted), about the level of mid-2026 registrations.

use std::ops::Range;
use std::sync::Arc;

use crate::config::RunConfig;
use crate::cpu::StepParams;
use crate::cpu::behaviour::behaviour;
use crate::cpu::emission_shares::emission_shares;
use crate::cpu::epoch::{EpochDraws, EpochWorkspace, epoch, init_yuma_block};
use crate::cpu::guards::{GuardLimits, conservation_residual, guards, relative_residual};
use crate::cpu::injection::injection;
use crate::cpu::metrics::{SpiralRule, in_zero_emission, metrics};
use crate::cpu::moving_price::moving_price;
use crate::cpu::payouts::PayoutParams;
use crate::cpu::registration::{apply_registration, registration_decision};
use crate::cpu::swaps::{Orders, swaps};
use crate::error::GuardKind;
use crate::estimate::PointAccumulator;
use crate::init::InitialNetwork;
use crate::model::amm::{self, Pool};
use crate::params::{AmmKind, BLOCKS_PER_DAY, ChainParams};
use crate::records::{
    BatchRecords, EventKind, EventRecord, PathOutcome, SubnetRecord, TraceRecord,
};
use crate::rng::PathRng;
use crate::stage_clock::{PathClock, StageClock, index, lap};
use crate::state::{BatchState, PathState, YumaBlock, YumaLayout};
use crate::state::{GlobalReal, SubnetReal};
use crate::{Error, Real, Result};

/// Relative tolerance of the per-stage TAO conservation guard in f64. The baseline's largest
/// residual is about 1e-15: rounding alone stays six orders of magnitude below it.
pub const CONSERVATION_TOLERANCE_F64: f64 = 1e-9;
/// Relative tolerance of the conservation guard in f32: 24-bit sums of a ~1e6 TAO network drift
/// by ~1e-7 per operation over thousands of steps, so only gross breaches are caught.
pub const CONSERVATION_TOLERANCE_F32: f64 = 1e-3;

/// The place in a step after which the guards check the state; `name()` is what errors print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// After the initial network was put into the path (step 0).
    Init,
    /// After the behaviour stage.
    Behaviour,
    /// After the swaps stage.
    Swaps,
    /// After the emission-shares stage.
    EmissionShares,
    /// After the injection stage.
    Injection,
    /// After the moving-price stage.
    MovingPrice,
    /// After the epoch (Yuma and payout) stage.
    Epoch,
    /// After the registration stage (pruning, registration, Yuma block reset).
    Registration,
    /// After the metrics stage and the block advance: the end of the step.
    Metrics,
}

impl Stage {
    /// The stage's name, as the `cpu/<stage>.rs` module is called.
    pub fn name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::Behaviour => "behaviour",
            Self::Swaps => "swaps",
            Self::EmissionShares => "emission_shares",
            Self::Injection => "injection",
            Self::MovingPrice => "moving_price",
            Self::Epoch => "epoch",
            Self::Registration => "registration",
            Self::Metrics => "metrics",
        }
    }
}

/// How a [`Fault`] corrupts its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultValue {
    /// Overwrite the value.
    Set(f64),
    /// Add to the value (a conservation breach with finite, positive numbers).
    Add(f64),
}

/// TEST FACILITY: a deliberate corruption of one state value, applied right after `stage` of
/// `step` in path `path` (every point), before the guards run. It exists only so tests can show
/// each guard fires and names the right place; a normal run has [`RunPlan::fault`] = `None`, and
/// no config key sets it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Path id.
    pub path: u32,
    /// Step.
    pub step: u32,
    /// Stage after which the value is corrupted.
    pub stage: Stage,
    /// Netuid whose [`SubnetReal`] field is corrupted, or `None` for a [`GlobalReal`] field.
    pub subnet: Option<u16>,
    /// Field name, as in `SubnetReal::NAMES` / `GlobalReal::NAMES` (`tao`, `tao_minted`, ...),
    /// or a Yuma part of `YumaBlock::REAL_NAMES` (`bonds`, ...; its first value) with `subnet`.
    pub field: &'static str,
    /// The corruption.
    pub value: FaultValue,
}

/// A validated run: the config, the initial network and everything derived from them.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The resolved config.
    pub config: RunConfig,
    /// The network every path starts from.
    pub network: InitialNetwork,
    /// Stage parameters.
    pub step: StepParams,
    /// Payout behaviour.
    pub payout: PayoutParams,
    /// Death-spiral rule in steps.
    pub spiral: SpiralRule,
    /// Sizes of each subnet's Yuma block (all zero with Yuma off).
    pub yuma: YumaLayout,
    /// Steps in the horizon.
    pub steps: u32,
    /// Days per step.
    pub days_per_step: f64,
    /// Steps between trace samples.
    pub trace_every: u32,
    /// Subnet slots per path.
    pub slots: usize,
    /// Initial names per slot (empty for slots that start free).
    names: Vec<String>,
    /// Slots of the ten largest pools at the start.
    top10: Vec<usize>,
    /// TEST FACILITY ([`Fault`]): one value to corrupt during the run; `None` from [`RunPlan::new`].
    pub fault: Option<Fault>,
    /// Where finished paths' rows and traced paths' trace rows go while the run goes on (see
    /// [`RecordSpill`]); `None` from [`RunPlan::new`]: every row stays in the [`PathRecords`].
    pub spill: Option<Arc<dyn RecordSpill>>,
    /// Where each path adds its time per stage ([`StageClock`], `taosim bench --stages`); `None`
    /// from [`RunPlan::new`]: no clock is read.
    pub stage_clock: Option<Arc<StageClock>>,
}

/// Rows a traced path holds before it hands them to the plan's [`RecordSpill`]
/// (about 100 bytes each).
pub const TRACE_SPILL_ROWS: usize = 4_096;

/// Subnet rows and events together that a path running on the GPU holds before it hands them
/// to the plan's [`RecordSpill`] ([`PathRecorder::spill_rows`]; 100 to 250 bytes each). A
/// device batch runs thousands of paths for the whole horizon, so this bounds what they hold to
/// about 32 × 200 bytes × paths (26 MB at 4,096 paths) instead of ~20 KB per path-year; a
/// smaller value costs more, smaller writes and index entries in the spill.
pub const RECORD_SPILL_ROWS: usize = 32;

/// Takes a path's rows out of memory while the run goes on, so that memory does not grow with
/// the horizon (issue 6): a traced path's trace rows are handed over every [`TRACE_SPILL_ROWS`]
/// rows (their number is `samples × slots`), and every path's subnet rows and events once the
/// path is finished (they grow with the registrations and spirals of the horizon), instead of
/// being held in its [`PathRecords`] until its whole batch is written. The CLI writes them to
/// files next to the run's part files and gathers them in path order when it writes the batch.
///
/// A backend whose paths run for the whole horizon side by side (the GPU's device batches) also
/// hands over a running path's subnet rows (its pruned occupants) and events every
/// [`RECORD_SPILL_ROWS`] rows ([`RecordSpill::running`]). A path's subnet rows are ordered by
/// (netuid, occupant) only once it finished, so the spill puts each path's subnet rows in order
/// when it gathers them: a stable sort by (netuid, occupant) of every row the path handed over,
/// in the order handed over. That is the order [`PathRecorder::finish`] gives a path that held
/// all its rows: a stable sort keeps rows of equal keys in their relative order, so sorting the
/// last handover first (as `finish` does) changes nothing.
///
/// Called from the threads that run the paths, for different paths at once. A path whose run
/// is repeated (a guard's replay, a backend's fallback) hands its first trace rows, and its first
/// subnet rows and events, over again with `fresh` set: they replace what that path handed over
/// before. The implementation keeps its own I/O errors and reports them when the batch is
/// gathered.
pub trait RecordSpill: Send + Sync + core::fmt::Debug {
    /// Trace rows of path `path` of `point`, in (step, netuid) order, following the rows handed
    /// over before for that path unless `fresh`.
    fn traces(&self, point: u32, path: u32, fresh: bool, rows: &[TraceRecord]);
    /// Subnet rows (of pruned occupants, in the order they were pruned) and events (in the order
    /// they happened) of path `path` of `point`, still running, following the rows handed over
    /// before for that path unless `fresh`.
    fn running(
        &self,
        point: u32,
        path: u32,
        fresh: bool,
        subnets: &[SubnetRecord],
        events: &[EventRecord],
    );
    /// The finished path's last subnet rows (ordered by (netuid, occupant); with those handed
    /// over by [`RecordSpill::running`] before, unless `fresh`, they are all its rows) and
    /// events (in the order they happened, following those handed over before unless `fresh`).
    /// By default they are handed over as a running path's are: a spill that sorts each path's
    /// rows when it gathers them needs nothing else.
    fn finished(
        &self,
        point: u32,
        path: u32,
        fresh: bool,
        subnets: &[SubnetRecord],
        events: &[EventRecord],
    ) {
        self.running(point, path, fresh, subnets, events);
    }
}

impl RunPlan {
    /// Validates `config` and derives the plan.
    pub fn new(config: RunConfig, network: InitialNetwork) -> Result<Self> {
        config.validate()?;
        let slots = config.chain.subnet_limit as usize;
        let mut names = vec![String::new(); slots];
        for s in &network.subnets {
            let slot = usize::from(s.netuid).wrapping_sub(1);
            if slot >= slots {
                return Err(Error::OutOfRange {
                    key: "init.snapshot".into(),
                    value: format!("netuid {}", s.netuid),
                    allowed: format!("netuids 1..={} (chain.subnet_limit)", slots),
                });
            }
            names[slot] = s.name.clone();
        }
        let run = &config.run;
        let days_per_step = f64::from(run.blocks_per_step) / BLOCKS_PER_DAY as f64;
        let steps = (run.days / days_per_step).round().max(1.0) as u32;
        let trace_every = (config.output.every_days / days_per_step).round().max(1.0) as u32;
        let mut by_size: Vec<(f64, usize)> =
            network.subnets.iter().map(|s| (s.tao, usize::from(s.netuid) - 1)).collect();
        by_size.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let top10 = by_size.iter().take(10).map(|&(_, slot)| slot).collect();
        let yuma = if config.yuma.enabled {
            YumaLayout {
                validators: config.yuma.validators as usize,
                miners: config.yuma.miners as usize,
                reveal: config.yuma.reveal_epochs as usize,
            }
        } else {
            YumaLayout::default()
        };
        // Every stage and the guards take the reserve floor from here (one rao at least).
        let chain =
            ChainParams { min_reserve: config.chain.reserve_floor(), ..config.chain.clone() };
        let step = StepParams {
            chain,
            blocks_per_step: run.blocks_per_step,
            start_pool_tao: config.registration.start_pool_tao,
        };
        let b = &config.behaviour;
        let payout = PayoutParams {
            miner_sell: b.miner_sell,
            validator_sell: b.validator_sell,
            owner_sell: b.owner_sell,
            root_claim: b.root_claim,
        };
        let spiral = SpiralRule::new(&config.death_spiral, run.blocks_per_step);
        Ok(Self {
            config,
            network,
            step,
            payout,
            spiral,
            yuma,
            steps,
            days_per_step,
            trace_every,
            slots,
            names,
            top10,
            fault: None,
            spill: None,
            stage_clock: None,
        })
    }

    /// Netuids of the initial subnets, ascending.
    pub fn initial_netuids(&self) -> Vec<u16> {
        self.network.subnets.iter().map(|s| s.netuid).collect()
    }

    /// An empty accumulator for `point`.
    pub fn accumulator(&self, point: u32) -> PointAccumulator {
        PointAccumulator::new(point, self.initial_netuids(), self.slots, self.days_per_step)
    }

    /// Revenue buyback of `netuid`, TAO per day.
    fn buyback(&self, netuid: u16) -> f64 {
        let b = &self.config.behaviour;
        b.buyback_by_netuid.get(&netuid.to_string()).copied().unwrap_or(b.buyback_tao_per_day)
    }
}

/// Runs paths `paths` of sweep point `point`, batch by batch, handing each batch's records to
/// `sink` in path order. Returns the point's accumulated estimates.
///
/// A runtime guard that fires (module docs) stops the run before the failing batch reaches the
/// sink, with the [`Error::Guard`] of the lowest failing path id of that batch (so the error does
/// not depend on the thread count).
pub fn run_point<R: Real, E: From<Error>>(
    plan: &RunPlan,
    point: u32,
    paths: Range<u32>,
    mut sink: impl FnMut(BatchRecords) -> core::result::Result<(), E>,
) -> core::result::Result<PointAccumulator, E> {
    let mut acc = plan.accumulator(point);
    let batch = plan.config.run.batch_paths.max(1);
    let mut first = paths.start;
    while first < paths.end {
        let n = batch.min(paths.end - first);
        let mut state = BatchState::<R>::with_yuma(n as usize, plan.slots, plan.yuma);
        let results = state.map_paths(|i, mut st| {
            let path = first + i as u32;
            match simulate_path(plan, point, path, &mut st, false) {
                // The step-end guard saw a bad value: replay the path (deterministic: its draws
                // depend only on seed, point and path) checking after every stage, to name the
                // stage that produced it.
                Err(Error::Guard { .. }) => {
                    zero_path(&mut st);
                    simulate_path(plan, point, path, &mut st, true)
                }
                done => done,
            }
        });
        let paths = results.into_iter().collect::<Result<Vec<_>>>()?;
        sink(fold_batch(&mut acc, point, first, paths))?;
        first += n;
    }
    Ok(acc)
}

/// One batch's records from its paths' records in path order, each path's outcome folded into
/// `acc` (what every backend hands its sink).
pub fn fold_batch(
    acc: &mut PointAccumulator,
    point: u32,
    first_path: u32,
    paths: Vec<PathRecords>,
) -> BatchRecords {
    let mut records = BatchRecords { point, first_path, ..BatchRecords::default() };
    for r in paths {
        acc.add(&r.outcome);
        records.subnets.extend(r.subnets);
        records.events.extend(r.events);
        records.traces.extend(r.traces);
        records.outcomes.push(r.outcome);
    }
    records
}

/// The initial state of paths `first_path .. first_path + paths` of sweep point `point`: every
/// path holds the plan's network (and, with Yuma on, Yuma blocks drawn from its own RNG), exactly
/// as a CPU run starts it. The GPU backend uploads this state.
pub fn init_batch<R: Real>(
    plan: &RunPlan,
    point: u32,
    first_path: u32,
    paths: usize,
) -> BatchState<R> {
    let mut state = BatchState::<R>::with_yuma(paths, plan.slots, plan.yuma);
    state.map_paths(|i, mut st| {
        let rng = PathRng::new(plan.config.run.seed, point, first_path + i as u32);
        init_path(plan, &rng, &mut st);
    });
    state
}

/// Runs paths `first .. first + n` of `point` on the CPU and returns their final state and
/// records (what `taosim compare` and the parity tests hold the GPU to). A guard that fires is
/// returned as its error, without the replay [`run_point`] does.
pub fn run_batch<R: Real>(
    plan: &RunPlan,
    point: u32,
    first: u32,
    n: u32,
) -> Result<(BatchState<R>, Vec<PathRecords>)> {
    let mut state = BatchState::<R>::with_yuma(n as usize, plan.slots, plan.yuma);
    let results =
        state.map_paths(|i, mut st| simulate_path(plan, point, first + i as u32, &mut st, false));
    let records = results.into_iter().collect::<Result<Vec<_>>>()?;
    Ok((state, records))
}

/// Checks one path's state with the runtime guards (module docs), as after `stage` of `step`.
/// Backends that do not run the checks stage by stage (the GPU) call it on the states they read
/// back, then [`replay_with_guards`] to name the stage.
pub fn check_path<R: Real>(
    plan: &RunPlan,
    point: u32,
    path: u32,
    step: u32,
    stage: Stage,
    st: &mut PathState<'_, R>,
) -> Result<()> {
    let start_pools = plan.network.subnets.iter().map(|s| s.tao).sum();
    let guard =
        Guard::<R> { plan, point, path, start_pools, every_stage: true, _real: Default::default() };
    guard.check(step, stage, st)
}

/// Replays path `path` of `point` on the CPU with the guards after every stage: the error names
/// the first stage after which its state was bad (`Ok` when the CPU run is clean).
pub fn replay_with_guards<R: Real>(plan: &RunPlan, point: u32, path: u32) -> Result<()> {
    let mut state = BatchState::<R>::with_yuma(1, plan.slots, plan.yuma);
    let mut st = state.path(0);
    simulate_path(plan, point, path, &mut st, true).map(|_| ())
}

/// Where and when an event happens in a run.
#[derive(Clone, Copy, Debug)]
struct At {
    point: u32,
    path: u32,
    step: u32,
    block: u32,
}

impl At {
    /// The event of `kind` at subnet slot `slot`.
    fn event(self, slot: usize, kind: EventKind, value: f64, value2: f64) -> EventRecord {
        let At { point, path, step, block } = self;
        EventRecord { point, path, step, block, netuid: (slot + 1) as u16, kind, value, value2 }
    }
}

/// Everything one path produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathRecords {
    /// Subnet rows, ordered by (netuid, occupant).
    pub subnets: Vec<SubnetRecord>,
    /// Events in the order they happened.
    pub events: Vec<EventRecord>,
    /// Trace rows, ordered by (step, netuid).
    pub traces: Vec<TraceRecord>,
    /// The path's outcome.
    pub outcome: PathOutcome,
}

/// Builds one path's records from what its state shows at each event, the same way on every
/// backend: the CPU engine calls it as the stages run; the GPU engine calls it with the state
/// snapshots its event log carries (a pruned slot, the traced paths at sample steps, the end).
#[derive(Debug)]
pub struct PathRecorder<'p> {
    plan: &'p RunPlan,
    point: u32,
    path: u32,
    start_pools: f64,
    /// Trace rows were handed to the plan's spill already (later ones follow them).
    traces_spilled: bool,
    /// Subnet rows or events were handed to the plan's spill already (later ones follow them).
    rows_spilled: bool,
    /// The records so far (with a spill in the plan: the trace rows not yet handed over).
    pub records: PathRecords,
}

impl<'p> PathRecorder<'p> {
    /// An empty recorder for `path` of `point`.
    pub fn new(plan: &'p RunPlan, point: u32, path: u32) -> Self {
        let mut records = PathRecords::default();
        records.outcome.path = path;
        records.outcome.spiral_by_slot = vec![false; plan.slots];
        let start_pools = plan.network.subnets.iter().map(|s| s.tao).sum();
        Self { plan, point, path, start_pools, traces_spilled: false, rows_spilled: false, records }
    }

    /// Whether this path writes trace rows.
    pub fn traced(&self) -> bool {
        self.path < self.plan.config.output.trace_paths
    }

    fn at(&self, step: u32, block: u32) -> At {
        At { point: self.point, path: self.path, step, block }
    }

    /// Slot `slot` entered a death spiral at `step` (block `block` at the step's start); `st`
    /// holds its state at that moment.
    pub fn spiral<R: Real>(&mut self, step: u32, block: u32, slot: usize, st: &PathState<'_, R>) {
        record_spiral(self.plan, self.at(step, block), slot, st, &mut self.records);
    }

    /// Slot `slot` is pruned at `step`; `st` holds its state just before the dissolution.
    pub fn pruned<R: Real>(&mut self, step: u32, block: u32, slot: usize, st: &PathState<'_, R>) {
        let (pool, moving) = (st.sub.tao[slot].f64(), st.sub.moving_price[slot].f64());
        let at = self.at(step, block);
        self.records.events.push(at.event(slot, EventKind::Pruned, pool, moving));
        let record = occupant_record(self.plan, self.point, self.path, st, slot, Some(step));
        self.records.subnets.push(record);
        self.records.outcome.prunings += 1;
    }

    /// A subnet registered into `slot` at `step`, paying `cost` for a pool of `start_pool` TAO.
    pub fn registered(&mut self, step: u32, block: u32, slot: usize, cost: f64, start_pool: f64) {
        let at = self.at(step, block);
        self.records.events.push(at.event(slot, EventKind::Registered, cost, start_pool));
    }

    /// Trace rows of every slot at the end of `step` steps (0 = the start).
    pub fn trace<R: Real>(&mut self, step: u32, st: &PathState<'_, R>) {
        trace(self.plan, self.point, self.path, step, st, &mut self.records.traces);
        if self.records.traces.len() >= TRACE_SPILL_ROWS {
            self.spill_traces();
        }
    }

    /// Hands the trace rows held so far to the plan's spill, if it has one.
    fn spill_traces(&mut self) {
        if let Some(spill) = &self.plan.spill {
            spill.traces(self.point, self.path, !self.traces_spilled, &self.records.traces);
            self.traces_spilled = true;
            self.records.traces.clear();
        }
    }

    /// Hands the subnet rows (pruned occupants) and events held so far to the plan's spill, if it
    /// has one and they are `at_least` (normally [`RECORD_SPILL_ROWS`]) or more, and at least
    /// one. For backends that run paths side by side for the whole horizon (the GPU calls it
    /// after each chunk of steps); the CPU runs a path start to end on one thread, so
    /// [`Self::finish`] hands them over once.
    pub fn spill_rows(&mut self, at_least: usize) {
        let held = self.records.subnets.len() + self.records.events.len();
        if held < at_least.max(1) {
            return;
        }
        if let Some(spill) = &self.plan.spill {
            let out = &mut self.records;
            spill.running(self.point, self.path, !self.rows_spilled, &out.subnets, &out.events);
            self.rows_spilled = true;
            out.subnets.clear();
            out.events.clear();
        }
    }

    /// Whether the end of step `step` (0-based) is a trace sample.
    pub fn traces_after(&self, step: u32) -> bool {
        (step + 1).is_multiple_of(self.plan.trace_every) || step + 1 == self.plan.steps
    }

    /// The records, completed from the state at the horizon (`eligible`: the last step's flags).
    pub fn finish<R: Real>(mut self, st: &PathState<'_, R>, eligible: &[u32]) -> PathRecords {
        let (plan, point, path) = (self.plan, self.point, self.path);
        let out = &mut self.records;
        out.outcome.min_reserve = st.global.min_reserve_seen[0].f64();
        out.outcome.max_alpha_issuance = st.global.max_alpha_issuance_seen[0].f64();
        let mut pools = 0.0;
        for (i, &is_eligible) in eligible.iter().enumerate() {
            if st.sub_int.active[i] != 0 {
                out.subnets.push(occupant_record(plan, point, path, st, i, None));
                pools += st.sub.tao[i].f64();
                if is_eligible != 0 && st.sub.share[i] <= R::zero() {
                    out.outcome.zero_share_end += 1;
                }
            }
        }
        out.subnets.sort_by_key(|r| (r.netuid, r.occupant));
        let g = &st.global;
        out.outcome.pool_tao_end = pools;
        out.outcome.conservation_residual = relative_residual(
            pools,
            g.tao_paid_out[0].f64(),
            g.tao_paid_in[0].f64(),
            g.tao_recycled[0].f64(),
            self.start_pools + g.tao_minted[0].f64(),
        );
        if let Some(spill) = &plan.spill {
            if self.traced() {
                self.spill_traces();
            }
            let out = &mut self.records;
            spill.finished(point, path, !self.rows_spilled, &out.subnets, &out.events);
            out.subnets = Vec::new();
            out.events = Vec::new();
        }
        self.records
    }
}

/// Puts the initial network into one path's state.
fn init_path<R: Real>(plan: &RunPlan, rng: &PathRng, st: &mut PathState<'_, R>) {
    let net = &plan.network;
    for s in &net.subnets {
        let i = usize::from(s.netuid) - 1;
        let price = s.tao / s.alpha;
        let sub = &mut st.sub;
        sub.tao[i] = R::of(s.tao);
        sub.alpha[i] = R::of(s.alpha);
        sub.w_quote[i] = R::of(0.5);
        sub.moving_price[i] = R::of(s.moving_price);
        sub.flow_ema[i] = R::of(s.flow_ema);
        sub.miner_burn[i] = R::of(s.miner_burn);
        sub.held_organic[i] = R::of(s.held_organic);
        sub.held_miners[i] = R::of(s.held_miners);
        sub.held_validators[i] = R::of(s.held_validators);
        sub.held_owner[i] = R::of(s.held_owner);
        sub.held_root[i] = R::of(s.held_root);
        sub.alpha_out[i] =
            R::of(s.held_organic + s.held_miners + s.held_validators + s.held_owner + s.held_root);
        for f in
            [&mut *sub.start_price, &mut *sub.prev_price, &mut *sub.peak_price, &mut *sub.min_price]
        {
            f[i] = R::of(price);
        }
        sub.start_tao[i] = R::of(s.tao);
        sub.start_alpha[i] = R::of(s.alpha);
        sub.buyback_per_day[i] = R::of(plan.buyback(s.netuid));
        st.sub_int.active[i] = 1;
        st.sub_int.registered_block[i] = s.registered_block;
        st.sub_int.first_emission_block[i] = s.first_emission_block;
        if plan.yuma.uids() > 0 {
            let draws = EpochDraws { rng: *rng, step: 0, subnet: i as u32 };
            init_yuma_block(&plan.yuma, st.yuma_real, st.yuma_int, draws);
        }
    }
    let reduction = plan.step.chain.lock_reduction_interval;
    st.global.issuance[0] = R::of(net.issuance);
    st.global.root_tao[0] = R::of(net.root_tao);
    st.global.last_lock[0] = R::of(1_250.0);
    st.global.min_reserve_seen[0] = R::max_value();
    st.global_int.block[0] = net.block;
    st.global_int.last_lock_block[0] =
        net.block.saturating_sub(u32::try_from(reduction / 2).unwrap_or(0));
    st.global_int.last_registration_block[0] = st.global_int.last_lock_block[0];
}

/// The pool of slot `i`.
fn pool_of<R: Real>(st: &PathState<'_, R>, i: usize) -> Pool<R> {
    Pool::weighted(st.sub.tao[i], st.sub.alpha[i], st.sub.w_quote[i])
}

/// The record of the occupant of slot `i` as it stands (at the horizon, or about to be pruned).
fn occupant_record<R: Real>(
    plan: &RunPlan,
    point: u32,
    path: u32,
    st: &PathState<'_, R>,
    i: usize,
    pruned_step: Option<u32>,
) -> SubnetRecord {
    let kind = plan.step.chain.amm;
    let fee = R::of(plan.step.chain.fee_rate);
    let pool = pool_of(st, i);
    let price = amm::price(kind, &pool).f64();
    let (s, si) = (&st.sub, &st.sub_int);
    let netuid = (i + 1) as u16;
    let occupant = si.occupant[i];
    let staked_return =
        staker_return(kind, &pool, s.yield_log[i].f64(), s.start_price[i].f64(), fee);
    let ratio = |a: f64, b: u32| if b == 0 { 0.0 } else { a / f64::from(b) };
    SubnetRecord {
        point,
        path,
        netuid,
        occupant,
        name: if occupant == 0 {
            plan.names[i].clone()
        } else {
            format!("new-{netuid}-{occupant}")
        },
        start_step: si.start_step[i],
        start_price: s.start_price[i].f64(),
        end_price: price,
        start_tao: s.start_tao[i].f64(),
        end_tao: s.tao[i].f64(),
        start_alpha: s.start_alpha[i].f64(),
        end_alpha: s.alpha[i].f64(),
        // A pruned occupant's record is taken mid-step, before the metrics stage has seen this
        // step's price: fold it in.
        min_price: s.min_price[i].f64().min(price),
        peak_price: s.peak_price[i].f64().max(price),
        spiral: si.spiral[i] != 0,
        spiral_step: (si.spiral[i] != 0).then_some(si.spiral_step[i]),
        pruned: pruned_step.is_some(),
        pruned_step,
        mean_share: ratio(s.share_sum[i].f64(), si.steps_alive[i]),
        cartel_share: ratio(s.cartel_share_sum[i].f64(), si.epochs[i]),
        staker_return: staked_return,
        root_return: (st.global.root_yield_log[0] - s.root_yield_log_start[i]).f64().exp_m1(),
        exit_slippage_1pct: amm::exit_slippage(kind, &pool, s.alpha[i] * R::of(0.01), fee).f64(),
        exit_slippage_10pct: amm::exit_slippage(kind, &pool, s.alpha[i] * R::of(0.1), fee).f64(),
    }
}

/// The return of 1 TAO staked into a subnet at price `start_price`, its dividends compounded
/// (`yield_log`, the log of the stake's growth in alpha) and unstaked from `pool` now, fee and
/// slippage included: the TAO the sale pays, less the 1 TAO staked.
///
/// The TAO is taken from the sale itself ([`amm::exit_proceeds`]), never as alpha × price ×
/// (1 − slippage): a stake compounded past the float range (`exp(yield_log)` overflows in
/// extreme configs, all organic alpha sold) would make that `∞ · 0`, NaN, where the sale pays a
/// bounded amount, at most the pool's TAO.
fn staker_return<R: Real>(
    kind: AmmKind,
    pool: &Pool<R>,
    yield_log: f64,
    start_price: f64,
    fee: R,
) -> f64 {
    let staked_alpha = yield_log.exp() / start_price;
    amm::exit_proceeds(kind, pool, R::of(staked_alpha), fee).f64() - 1.0
}

/// Runs one path over the whole horizon. The guards check the state at the end of every step, and
/// after every stage too when `every_stage` (the replay of a path that failed a guard).
fn simulate_path<R: Real>(
    plan: &RunPlan,
    point: u32,
    path: u32,
    st: &mut PathState<'_, R>,
    every_stage: bool,
) -> Result<PathRecords> {
    let cfg = &plan.config;
    let rng = PathRng::new(cfg.run.seed, point, path);
    init_path(plan, &rng, st);
    let slots = plan.slots;
    let mut orders = vec![Orders::<R>::default(); slots];
    let mut eligible = vec![0_u32; slots];
    let mut yuma_work = EpochWorkspace::<R>::new(plan.yuma);
    let mut rec = PathRecorder::new(plan, point, path);
    let guard = Guard::<R> {
        plan,
        point,
        path,
        start_pools: rec.start_pools,
        every_stage,
        _real: core::marker::PhantomData,
    };
    guard.check(0, Stage::Init, st)?;
    let mut new_spirals = Vec::new();
    if rec.traced() {
        rec.trace(0, st);
    }

    let mut clock = plan.stage_clock.as_ref().map(|_| PathClock::start());
    for step in 0..plan.steps {
        if let Some(clock) = &mut clock {
            clock.restart();
        }
        let block = st.global_int.block[0];
        let arrival =
            behaviour(&plan.step, &cfg.behaviour, &cfg.registration, &rng, step, st, &mut orders);
        lap(&mut clock, index::BEHAVIOUR);
        guard.check(step, Stage::Behaviour, st)?;
        swaps(&plan.step, &orders, st);
        lap(&mut clock, index::SWAPS);
        guard.check(step, Stage::Swaps, st)?;
        emission_shares(&plan.step, st, &mut eligible);
        lap(&mut clock, index::EMISSION_SHARES);
        guard.check(step, Stage::EmissionShares, st)?;
        injection(&plan.step, st, &eligible);
        lap(&mut clock, index::INJECTION);
        guard.check(step, Stage::Injection, st)?;
        moving_price(&plan.step, st, &eligible);
        lap(&mut clock, index::MOVING_PRICE);
        guard.check(step, Stage::MovingPrice, st)?;
        epoch(&plan.step, &cfg.yuma, &plan.payout, &rng, step, &mut yuma_work, st);
        lap(&mut clock, index::EPOCH);
        guard.check(step, Stage::Epoch, st)?;
        if let Some(reg) = registration_decision(&plan.step, arrival, st) {
            let slot = reg.slot;
            if reg.prunes {
                // A subnet pruned while in zero emission counts as a death spiral (model.md §9).
                if in_zero_emission(st, slot) && st.sub_int.spiral[slot] == 0 {
                    st.sub_int.spiral[slot] = 1;
                    st.sub_int.spiral_step[slot] = step;
                    rec.spiral(step, block, slot, st);
                }
                rec.pruned(step, block, slot, st);
            }
            let done = apply_registration(&plan.step, reg, st);
            if plan.yuma.uids() > 0 {
                let draws = EpochDraws { rng, step, subnet: slot as u32 };
                init_yuma_block(&plan.yuma, st.yuma_real, st.yuma_int, draws);
            }
            let (cost, start_pool) = (done.registration.cost.f64(), done.start_pool.f64());
            rec.registered(step, block, slot, cost, start_pool);
        }
        lap(&mut clock, index::REGISTRATION);
        guard.check(step, Stage::Registration, st)?;
        new_spirals.clear();
        metrics(&plan.step, &plan.spiral, &eligible, st, |slot| new_spirals.push(slot));
        for &slot in &new_spirals {
            rec.spiral(step, block, slot, st);
        }
        lap(&mut clock, index::METRICS);
        guard.check(step, Stage::Metrics, st)?;
        lap(&mut clock, index::GUARDS);
        if rec.traced() && rec.traces_after(step) {
            rec.trace(step + 1, st);
        }
    }
    if let (Some(clock), Some(total)) = (&clock, &plan.stage_clock) {
        clock.add_to(total);
    }
    Ok(rec.finish(st, &eligible))
}

/// The runtime guards of one path (module docs).
struct Guard<'p, R> {
    plan: &'p RunPlan,
    point: u32,
    path: u32,
    /// Σ pool TAO at the start, the conservation identity's constant.
    start_pools: f64,
    /// Check after every stage, not only at the end of each step (and after `init`).
    every_stage: bool,
    _real: core::marker::PhantomData<R>,
}

impl<R: Real> Guard<'_, R> {
    /// Applies the test fault due after `stage` of `step`, then checks the state if due.
    #[inline]
    fn check(&self, step: u32, stage: Stage, st: &mut PathState<'_, R>) -> Result<()> {
        if let Some(fault) = &self.plan.fault
            && fault.path == self.path
            && fault.step == step
            && fault.stage == stage
        {
            inject(fault, self.plan.yuma, st);
        }
        if !(self.every_stage || matches!(stage, Stage::Init | Stage::Metrics)) {
            return Ok(());
        }
        let minimum = self.plan.step.chain.min_reserve;
        check_state(st, self.plan.yuma, self.start_pools, minimum).map_err(|found| Error::Guard {
            kind: found.kind,
            point: self.point,
            path: self.path,
            step,
            subnet: found.subnet,
            stage: stage.name(),
            field: found.field,
            value: found.value,
        })
    }
}

/// Where a guard found a bad value, before the run context is added.
#[derive(Clone, Copy, Debug)]
struct Finding {
    kind: GuardKind,
    subnet: Option<u16>,
    field: &'static str,
    value: f64,
}

/// Checks one path's state (module docs): finite reals, the Yuma reals of `yuma`'s layout among
/// them, at every check (as the GPU's guards stage does every step: a NaN the epoch swallows, such
/// as a miner quality under `max(0, ·)`, would otherwise stop a GPU run and not the CPU's),
/// non-negative reserves, live reserves at least `min_reserve`, TAO conservation. The fast path is
/// three branch-free folds; only when one fails does [`locate`] scan for the value to name.
fn check_state<R: Real>(
    st: &mut PathState<'_, R>,
    yuma: YumaLayout,
    start_pools: f64,
    min_reserve: f64,
) -> core::result::Result<(), Finding> {
    let tolerance = if R::epsilon().f64() < 1e-10 {
        CONSERVATION_TOLERANCE_F64
    } else {
        CONSERVATION_TOLERANCE_F32
    };
    let limits = GuardLimits { start_pools, min_reserve, tolerance };
    if guards(&limits, yuma.uids() > 0, st) {
        return Ok(());
    }
    let residual = conservation_residual(&limits, st);
    // Rounding in the pool arithmetic may land a hair under the floor it clamps to.
    let floor = R::of(min_reserve * (1.0 - 1e-6));
    Err(locate(st, yuma, residual, tolerance, floor, min_reserve))
}

/// The first bad value of a state the fast check rejected, in the order: non-finite subnet
/// fields (field order, then slot), path-wide fields, Yuma reals, negative reserves, live
/// reserves below `floor`, conservation.
fn locate<R: Real>(
    st: &mut PathState<'_, R>,
    yuma: YumaLayout,
    residual: f64,
    tolerance: f64,
    floor: R,
    min_reserve: f64,
) -> Finding {
    let mut found = None;
    let mut k = 0;
    st.sub.for_each_field(|xs| {
        if found.is_none()
            && let Some(i) = xs.iter().position(|x| !x.is_finite())
        {
            found = Some(Finding {
                kind: GuardKind::NotFinite,
                subnet: Some((i + 1) as u16),
                field: SubnetReal::<R>::NAMES[k],
                value: xs[i].f64(),
            });
        }
        k += 1;
    });
    let mut k = 0;
    st.global.for_each_field(|xs| {
        if found.is_none() && !xs[0].is_finite() {
            found = Some(Finding {
                kind: GuardKind::NotFinite,
                subnet: None,
                field: GlobalReal::<R>::NAMES[k],
                value: xs[0].f64(),
            });
        }
        k += 1;
    });
    if let Some(f) = found {
        return f;
    }
    for i in 0..st.sub.tao.len() {
        let mut block = yuma.block(&mut *st.yuma_real, &mut *st.yuma_int, i);
        for (k, part) in block.real_parts().into_iter().enumerate() {
            if let Some(x) = part.iter().find(|x| !x.is_finite()) {
                return Finding {
                    kind: GuardKind::NotFinite,
                    subnet: Some((i + 1) as u16),
                    field: YumaBlock::<R>::REAL_NAMES[k],
                    value: x.f64(),
                };
            }
        }
    }
    for (field, xs) in [("tao", &*st.sub.tao), ("alpha", &*st.sub.alpha)] {
        if let Some(i) = xs.iter().position(|&x| x < R::zero()) {
            return Finding {
                kind: GuardKind::NegativeReserve,
                subnet: Some((i + 1) as u16),
                field,
                value: xs[i].f64(),
            };
        }
    }
    for (field, xs) in [("tao", &*st.sub.tao), ("alpha", &*st.sub.alpha)] {
        let below = (0..xs.len()).find(|&i| st.sub_int.active[i] != 0 && xs[i] < floor);
        if let Some(i) = below {
            return Finding {
                kind: GuardKind::ReserveBelowMinimum { minimum: min_reserve },
                subnet: Some((i + 1) as u16),
                field,
                value: xs[i].f64(),
            };
        }
    }
    Finding {
        kind: GuardKind::ConservationBreach { tolerance },
        subnet: None,
        field: "conservation_residual",
        value: residual,
    }
}

/// Zeroes one path's state, as [`BatchState::with_yuma`] leaves it, for a replay.
fn zero_path<R: Real>(st: &mut PathState<'_, R>) {
    st.sub.for_each_field(|xs| xs.fill(R::zero()));
    st.global.for_each_field(|xs| xs.fill(R::zero()));
    st.sub_int.for_each_field(|xs| xs.fill(0));
    st.global_int.for_each_field(|xs| xs.fill(0));
    st.yuma_real.fill(R::zero());
    st.yuma_int.fill(0);
}

/// Applies a test [`Fault`] to one path's state.
///
/// # Panics
/// If the fault names a field or netuid that does not exist: a bug in the test that set it.
fn inject<R: Real>(fault: &Fault, yuma: YumaLayout, st: &mut PathState<'_, R>) {
    let apply = |x: &mut R| {
        *x = match fault.value {
            FaultValue::Set(v) => R::of(v),
            FaultValue::Add(v) => *x + R::of(v),
        };
    };
    let mut hit = false;
    let mut k = 0;
    match fault.subnet {
        Some(netuid) => {
            let i = usize::from(netuid).checked_sub(1).expect("fault netuid is at least 1");
            st.sub.for_each_field(|xs| {
                if SubnetReal::<R>::NAMES[k] == fault.field {
                    apply(&mut xs[i]);
                    hit = true;
                }
                k += 1;
            });
            if let Some(part) = YumaBlock::<R>::REAL_NAMES.iter().position(|&n| n == fault.field) {
                let mut block = yuma.block(&mut *st.yuma_real, &mut *st.yuma_int, i);
                let first = block.real_parts()[part].first_mut();
                apply(first.expect("a fault on a Yuma part needs Yuma on"));
                hit = true;
            }
        }
        None => st.global.for_each_field(|xs| {
            if GlobalReal::<R>::NAMES[k] == fault.field {
                apply(&mut xs[0]);
                hit = true;
            }
            k += 1;
        }),
    }
    assert!(hit, "fault names an unknown field `{}`", fault.field);
}

/// Records a spiral entry of slot `slot` at `at`.
fn record_spiral<R: Real>(
    plan: &RunPlan,
    at: At,
    slot: usize,
    st: &PathState<'_, R>,
    out: &mut PathRecords,
) {
    let price = amm::price(plan.step.chain.amm, &pool_of(st, slot)).f64();
    out.events.push(at.event(slot, EventKind::Spiral, price, st.sub.tao[slot].f64()));
    let o = &mut out.outcome;
    o.spirals += 1;
    o.spiral_steps.push(at.step);
    if st.sub_int.occupant[slot] == 0 {
        o.spiral_by_slot[slot] = true;
        o.top10_spiral |= plan.top10.contains(&slot);
    }
}

/// Appends one trace row per slot at `step`.
fn trace<R: Real>(
    plan: &RunPlan,
    point: u32,
    path: u32,
    step: u32,
    st: &PathState<'_, R>,
    rows: &mut Vec<TraceRecord>,
) {
    for i in 0..plan.slots {
        let active = st.sub_int.active[i] != 0;
        let pool = pool_of(st, i);
        rows.push(TraceRecord {
            point,
            path,
            step,
            day: f64::from(step) * plan.days_per_step,
            netuid: (i + 1) as u16,
            active,
            price: if active { amm::price(plan.step.chain.amm, &pool).f64() } else { 0.0 },
            moving_price: st.sub.moving_price[i].f64(),
            tao: st.sub.tao[i].f64(),
            alpha: st.sub.alpha[i].f64(),
            share: st.sub.share[i].f64(),
            flow_ema: st.sub.flow_ema[i].f64(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The staker's return against the closed form of the constant-product sale of the
    /// compounded stake, `y·n/(x + n) − 1` with `n = e^yield_log/p₀·(1 − fee)`; and, for a stake
    /// compounded past the float range (`e^800`), the limit `y − 1` in both precisions, where the
    /// form alpha × price × (1 − slippage) gave `∞ · 0`, NaN.
    #[test]
    fn staker_return_is_the_sale_of_the_compounded_stake() {
        let (x, y, fee, p0) = (2.0e4, 1.5e3, 0.003, 0.05);
        let kind = AmmKind::ConstantProduct;
        let pool = Pool::new(y, x);
        for yield_log in [0.0_f64, 0.2, 5.0] {
            let net = yield_log.exp() / p0 * (1.0 - fee);
            let want = y * net / (x + net) - 1.0;
            let got = staker_return(kind, &pool, yield_log, p0, fee);
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{yield_log}: {got} vs {want}"
            );
        }
        assert_eq!(staker_return(kind, &pool, 800.0, p0, fee), y - 1.0);
        let pool32 = Pool::new(y as f32, x as f32);
        assert_eq!(staker_return(kind, &pool32, 800.0, p0, fee as f32), y - 1.0);
        assert_eq!(staker_return(kind, &pool32, 100.0, p0, fee as f32), y - 1.0);
    }
}
