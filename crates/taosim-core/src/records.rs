//! The rows a run produces, before any file format (model.md §9, §12).
//!
//! The engine emits one [`BatchRecords`] per batch of paths; the CLI writes each batch to the
//! Arrow files as it completes (`subnets.arrow`, `events.arrow`, `traces.arrow`) and folds it into
//! the per-point [`PointSummary`] (`summary.arrow`). Nothing here holds a whole run; with a
//! record spill in the plan (`engine::RecordSpill`) a batch holds only its paths' outcomes.

use serde::Serialize;

/// One subnet slot occupant of one path: an initial subnet, or one registered during the path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubnetRecord {
    /// Sweep point id.
    pub point: u32,
    /// Path id within the point.
    pub path: u32,
    /// Netuid (slot + 1).
    pub netuid: u16,
    /// 0 for the subnet present at the start; k for the k-th registration into this slot.
    pub occupant: u32,
    /// Subnet name (from the snapshot; `new-<netuid>-<occupant>` for registrations).
    pub name: String,
    /// Step at which the occupant started (0 for initial subnets).
    pub start_step: u32,
    /// Spot price at its start.
    pub start_price: f64,
    /// Spot price at its end (horizon, or just before pruning).
    pub end_price: f64,
    /// Pool TAO at its start.
    pub start_tao: f64,
    /// Pool TAO at its end.
    pub end_tao: f64,
    /// Pool alpha at its start.
    pub start_alpha: f64,
    /// Pool alpha at its end.
    pub end_alpha: f64,
    /// Lowest spot price seen.
    pub min_price: f64,
    /// Highest spot price seen.
    pub peak_price: f64,
    /// Entered a death spiral.
    pub spiral: bool,
    /// Step of the spiral entry, when `spiral`.
    pub spiral_step: Option<u32>,
    /// Pruned before the horizon.
    pub pruned: bool,
    /// Step of the pruning, when `pruned`.
    pub pruned_step: Option<u32>,
    /// Mean emission share over the occupant's life.
    pub mean_share: f64,
    /// Share of miner incentive captured by the cartel's miners (mean over epochs; 0 without one).
    pub cartel_share: f64,
    /// Return of 1 TAO staked at its start, held to the end and unstaked (price change plus
    /// dividends, after exit slippage), minus 1.
    pub staker_return: f64,
    /// Return of 1 TAO staked on root over the same span, minus 1.
    pub root_return: f64,
    /// Slippage to unstake 1% of the pool's alpha at its end.
    pub exit_slippage_1pct: f64,
    /// Slippage to unstake 10% of the pool's alpha at its end.
    pub exit_slippage_10pct: f64,
}

/// What an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A subnet registered (value: lock cost paid, TAO; value2: start pool TAO).
    Registered,
    /// A subnet was pruned and dissolved (value: pool TAO paid out; value2: its moving price).
    Pruned,
    /// A subnet entered a death spiral (value: spot price; value2: pool TAO).
    Spiral,
}

impl EventKind {
    /// The spelling written to `events.arrow`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Registered => "registered",
            EventKind::Pruned => "pruned",
            EventKind::Spiral => "spiral",
        }
    }
}

/// One event of one path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRecord {
    /// Sweep point id.
    pub point: u32,
    /// Path id.
    pub path: u32,
    /// Step at which it happened.
    pub step: u32,
    /// Chain block at which it happened.
    pub block: u32,
    /// Netuid.
    pub netuid: u16,
    /// What happened.
    pub kind: EventKind,
    /// Main value (see [`EventKind`]).
    pub value: f64,
    /// Second value (see [`EventKind`]).
    pub value2: f64,
}

/// One sampled time-series row: one subnet of one traced path at one sample time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceRecord {
    /// Sweep point id.
    pub point: u32,
    /// Path id.
    pub path: u32,
    /// Step.
    pub step: u32,
    /// Day since the start.
    pub day: f64,
    /// Netuid.
    pub netuid: u16,
    /// Slot active.
    pub active: bool,
    /// Spot price.
    pub price: f64,
    /// Moving price P̄.
    pub moving_price: f64,
    /// Pool TAO.
    pub tao: f64,
    /// Pool alpha.
    pub alpha: f64,
    /// Emission share this step.
    pub share: f64,
    /// Flow EMA (TAO per block).
    pub flow_ema: f64,
}

/// Per-path totals the estimates need (one per path, folded into [`PointSummary`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PathOutcome {
    /// Path id.
    pub path: u32,
    /// Death spirals in the path (any occupant).
    pub spirals: u32,
    /// Whether any subnet that was top-10 by pool TAO at the start spiralled.
    pub top10_spiral: bool,
    /// Per initial netuid (index = slot): spiralled by the horizon.
    pub spiral_by_slot: Vec<bool>,
    /// Steps to each spiral entry, for the time-to-spiral quantiles.
    pub spiral_steps: Vec<u32>,
    /// Prunings in the path.
    pub prunings: u32,
    /// Total pool TAO at the horizon.
    pub pool_tao_end: f64,
    /// Subnets with zero emission share at the horizon (active ones).
    pub zero_share_end: u32,
    /// Smallest pool reserve (TAO or alpha) of any active subnet after any step.
    pub min_reserve: f64,
    /// Largest alpha issuance (pool alpha + outstanding) of any subnet after any step.
    pub max_alpha_issuance: f64,
    /// TAO conservation residual relative to the total (pools + out − in + recycled vs start +
    /// minted), for the guard and the tests.
    pub conservation_residual: f64,
}

/// All rows of one batch of paths.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchRecords {
    /// Sweep point id.
    pub point: u32,
    /// First path id of the batch.
    pub first_path: u32,
    /// Subnet rows, ordered by (path, netuid, occupant).
    pub subnets: Vec<SubnetRecord>,
    /// Events, ordered by (path, step, netuid).
    pub events: Vec<EventRecord>,
    /// Trace rows, ordered by (path, step, netuid).
    pub traces: Vec<TraceRecord>,
    /// Per-path outcomes, ordered by path.
    pub outcomes: Vec<PathOutcome>,
}

/// A probability estimate with its Wilson 95% interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Proportion {
    /// Successes / trials.
    pub p: f64,
    /// Lower end of the Wilson 95% interval.
    pub lo: f64,
    /// Upper end of the Wilson 95% interval.
    pub hi: f64,
}

/// The estimates of one sweep point (model.md §9): one row of `summary.arrow`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PointSummary {
    /// Sweep point id.
    pub point: u32,
    /// Paths that contributed.
    pub paths: u32,
    /// Probability that at least one subnet spirals by the horizon.
    pub p_any_spiral: Proportion,
    /// Probability that a subnet in the start's top 10 by pool TAO spirals.
    pub p_top10_spiral: Proportion,
    /// Expected number of spirals per path.
    pub spirals_mean: f64,
    /// Its standard error.
    pub spirals_se: f64,
    /// Expected prunings per path.
    pub prunings_mean: f64,
    /// Time to spiral in days: 10%, 50%, 90% quantiles (NaN when no spiral happened).
    pub spiral_days_q10: f64,
    /// Median time to spiral, days.
    pub spiral_days_q50: f64,
    /// 90% quantile of time to spiral, days.
    pub spiral_days_q90: f64,
    /// Mean total pool TAO at the horizon.
    pub pool_tao_end_mean: f64,
    /// Mean number of active subnets with zero share at the horizon.
    pub zero_share_end_mean: f64,
    /// Per initial netuid: probability of spiralling by the horizon, with intervals.
    pub spiral_by_netuid: Vec<(u16, Proportion)>,
}
