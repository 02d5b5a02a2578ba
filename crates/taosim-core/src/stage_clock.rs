//! Per-stage CPU time of a run (`taosim bench --stages`): where a step's time goes on the CPU
//! path, stage by stage, without a profiler.
//!
//! A [`RunPlan`](crate::engine::RunPlan) carrying a [`StageClock`] has each path read the clock
//! (`Instant`) after every stage of every step, add the laps to its own counters and, when the
//! path ends, add those to the clock's, so threads do not contend per stage. Thread time is
//! summed over the threads that ran paths. The step's host bookkeeping between steps (trace
//! samples) falls outside every lap. Without a clock (every run but the bench's timed extra
//! run) a path pays one branch per stage; the clock changes no result.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The stages of a step, in the order the engine runs them (the CPU twins' module names, and
/// the order the GPU dispatches their shaders in). `guards` is the end-of-step check.
pub const STEP_STAGES: &[&str] = &[
    "behaviour",
    "swaps",
    "emission_shares",
    "injection",
    "moving_price",
    "epoch",
    "registration",
    "metrics",
    "guards",
];

/// Indices of [`STEP_STAGES`] for the engine's laps.
pub(crate) mod index {
    pub(crate) const BEHAVIOUR: usize = 0;
    pub(crate) const SWAPS: usize = 1;
    pub(crate) const EMISSION_SHARES: usize = 2;
    pub(crate) const INJECTION: usize = 3;
    pub(crate) const MOVING_PRICE: usize = 4;
    pub(crate) const EPOCH: usize = 5;
    pub(crate) const REGISTRATION: usize = 6;
    pub(crate) const METRICS: usize = 7;
    pub(crate) const GUARDS: usize = 8;
}

const STAGES: usize = 9;
const _: () = assert!(STEP_STAGES.len() == STAGES);

/// The summed CPU time of each step stage over the paths run with it.
#[derive(Debug, Default)]
pub struct StageClock {
    nanos: [AtomicU64; STAGES],
    laps: [AtomicU64; STAGES],
}

/// One stage's total in a [`StageClock`] (and in the GPU backend's stage timing).
#[derive(Clone, Debug, PartialEq)]
pub struct StageTotal {
    /// The stage (a name of [`STEP_STAGES`]).
    pub stage: &'static str,
    /// Time in the stage, seconds: on the CPU thread time summed over paths and threads, on
    /// the GPU device time of its passes.
    pub seconds: f64,
    /// Times the stage ran: on the CPU one per step of every path, on the GPU one pass per step
    /// of every device batch.
    pub laps: u64,
}

impl StageClock {
    /// Each stage's total so far, in step order.
    pub fn totals(&self) -> Vec<StageTotal> {
        STEP_STAGES
            .iter()
            .enumerate()
            .map(|(k, &stage)| StageTotal {
                stage,
                seconds: self.nanos[k].load(Ordering::Relaxed) as f64 * 1e-9,
                laps: self.laps[k].load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// Each total's part of their summed seconds, in order (all 0 when nothing was timed).
pub fn shares(totals: &[StageTotal]) -> Vec<f64> {
    let sum: f64 = totals.iter().map(|t| t.seconds).sum();
    totals.iter().map(|t| if sum > 0.0 { t.seconds / sum } else { 0.0 }).collect()
}

/// One path's laps, added to its [`StageClock`] when the path ends.
#[derive(Debug)]
pub(crate) struct PathClock {
    last: Instant,
    nanos: [u64; STAGES],
    laps: [u64; STAGES],
}

impl PathClock {
    /// A path's counters, started now.
    pub(crate) fn start() -> Self {
        Self { last: Instant::now(), nanos: [0; STAGES], laps: [0; STAGES] }
    }

    /// Restarts the lap without counting the time since the last one.
    pub(crate) fn restart(&mut self) {
        self.last = Instant::now();
    }

    /// Counts the time since the last lap towards stage `k` (an index of [`index`]).
    pub(crate) fn lap(&mut self, k: usize) {
        let now = Instant::now();
        self.nanos[k] += u64::try_from((now - self.last).as_nanos()).unwrap_or(u64::MAX);
        self.laps[k] += 1;
        self.last = now;
    }

    /// Adds this path's counters to `clock`.
    pub(crate) fn add_to(&self, clock: &StageClock) {
        for k in 0..STAGES {
            clock.nanos[k].fetch_add(self.nanos[k], Ordering::Relaxed);
            clock.laps[k].fetch_add(self.laps[k], Ordering::Relaxed);
        }
    }
}

/// [`PathClock::lap`] when the path is clocked.
#[inline]
pub(crate) fn lap(clock: &mut Option<PathClock>, k: usize) {
    if let Some(clock) = clock {
        clock.lap(k);
    }
}

#[cfg(test)]
mod tests {
    use super::{STEP_STAGES, StageTotal, index, shares};
    use crate::engine::Stage;

    /// The engine's laps count towards the stage it just ran: each index names the same stage
    /// as the engine's own [`Stage`] (its guard errors' names), and `guards` is the last.
    #[test]
    fn lap_indices_name_the_engine_stages() {
        for (k, stage) in [
            (index::BEHAVIOUR, Stage::Behaviour),
            (index::SWAPS, Stage::Swaps),
            (index::EMISSION_SHARES, Stage::EmissionShares),
            (index::INJECTION, Stage::Injection),
            (index::MOVING_PRICE, Stage::MovingPrice),
            (index::EPOCH, Stage::Epoch),
            (index::REGISTRATION, Stage::Registration),
            (index::METRICS, Stage::Metrics),
        ] {
            assert_eq!(STEP_STAGES[k], stage.name());
        }
        assert_eq!(index::GUARDS, STEP_STAGES.len() - 1);
        assert_eq!(STEP_STAGES[index::GUARDS], "guards");
    }

    /// Shares are each stage's seconds over their sum (1/8, 3/8, 1/2 here, exact in binary),
    /// and all 0 when nothing was timed.
    #[test]
    fn shares_divide_by_the_sum() {
        let total = |stage, seconds| StageTotal { stage, seconds, laps: 1 };
        let timed = [total("behaviour", 0.5), total("swaps", 1.5), total("epoch", 2.0)];
        assert_eq!(shares(&timed), [0.125, 0.375, 0.5]);
        let untimed = [total("behaviour", 0.0), total("epoch", 0.0)];
        assert_eq!(shares(&untimed), [0.0, 0.0]);
    }
}
