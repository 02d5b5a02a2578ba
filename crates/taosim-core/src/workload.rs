//! The standard workload of `docs/performance.md` (issue 6): `configs/baseline.toml` and its
//! snapshot, compiled in, so `taosim bench` and the criterion benches time the same runs from any
//! folder. `baseline` is 128 subnet slots with Yuma on (V = 8, M = 32) and 361 blocks per step;
//! `light` is the same with Yuma off.

use crate::Result;
use crate::config::RunConfig;
use crate::engine::RunPlan;
use crate::init::parse_snapshot;

/// The baseline config (its snapshot path is resolved to [`SNAPSHOT`]).
const BASELINE_TOML: &str = include_str!("../../../configs/baseline.toml");
/// The baseline's snapshot CSV.
const SNAPSHOT: &str = include_str!("../../../configs/snapshots/2026-04-11.csv");

/// The plan of the standard workload: the baseline with `paths` paths over `days` days, Yuma on
/// or off.
pub fn baseline_plan(yuma: bool, paths: u32, days: f64) -> Result<RunPlan> {
    let mut config = RunConfig::from_toml(BASELINE_TOML)?;
    config.run.paths = paths;
    config.run.days = days;
    config.yuma.enabled = yuma;
    let network = parse_snapshot(&config.init.snapshot, SNAPSHOT, &config)?;
    RunPlan::new(config, network)
}
