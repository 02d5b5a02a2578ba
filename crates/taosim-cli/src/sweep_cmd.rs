//! `taosim sweep CONFIG [--paths N] [--days D] [--seed S] [--out DIR] [--threads T] [--force]`:
//! runs the points of the config's `[sweep]` design (`taosim_core::sweep`, docs/sweeps.md).
//!
//! The `[sweep]` table is taken out of the file, its design turned into one partial config per
//! point, and the points run exactly as `taosim run` runs `[[point]]` tables (the same planning
//! and execution, `run_cmd`): point `i` of the design is sweep point id `i`, and every swept key
//! is a column of `summary.arrow`. `sweep.paths` sets the paths per point (`--paths` wins).
//! `sensitivity.arrow` (crate `sensitivity` module) measures each key's effect on each estimate.

use std::path::PathBuf;

use anyhow::{Context, bail};
use taosim_core::config::{RunConfig, dotted_table, merge_tables};
use taosim_core::sweep::{
    Design, KeyValues, SweepPoint, SweepSpec, SweepValue, check_keys, point_table,
};

use crate::Failure;
use crate::run_cmd::{self, RunFlags};
use crate::sensitivity::SensitivityInput;

/// Arguments of `taosim sweep`.
#[derive(Debug, clap::Args)]
pub(crate) struct SweepArgs {
    /// Sweep config (TOML): a run config with a `[sweep]` table (docs/sweeps.md).
    config: PathBuf,
    #[command(flatten)]
    flags: RunFlags,
}

/// Runs the `sweep` subcommand.
pub(crate) fn run(args: &SweepArgs) -> Result<(), Failure> {
    let (base, tables, manifest, sensitivity) = design(args).map_err(Failure::BadInput)?;
    let points = run_cmd::plan_points(&args.config, &base, &tables, 0, &args.flags)
        .map_err(Failure::BadInput)?;
    run_cmd::execute_points(&args.config, &points, &args.flags, manifest, Some(&sensitivity))
}

/// Key `k`'s value at every point as a number: numbers as they are, booleans 0/1, a word its
/// index in the key's list (the list's order is the only order words have).
fn coordinates(spec: &SweepSpec, points: &[SweepPoint]) -> Vec<Vec<f64>> {
    spec.keys
        .iter()
        .enumerate()
        .map(|(k, key)| {
            points
                .iter()
                .map(|p| match &p[k].1 {
                    SweepValue::Float(x) => *x,
                    SweepValue::Integer(i) => *i as f64,
                    SweepValue::Bool(b) => f64::from(u8::from(*b)),
                    text @ SweepValue::Text(_) => match &key.values {
                        KeyValues::List(list) => {
                            list.iter().position(|v| v == text).map_or(f64::NAN, |i| i as f64)
                        }
                        KeyValues::Range { .. } => f64::NAN,
                    },
                })
                .collect()
        })
        .collect()
}

/// What [`design`] gives: the base config, the points' partial configs, the manifest entry and
/// the sensitivity table's input.
type Designed = (toml::Table, Vec<toml::Table>, serde_json::Value, SensitivityInput);

/// The config without its `[sweep]` table, one partial config per design point, the sweep's
/// manifest entry and what the sensitivity table needs.
fn design(args: &SweepArgs) -> anyhow::Result<Designed> {
    let file = args.config.display().to_string();
    let mut base = run_cmd::load_table(&args.config)?;
    if base.contains_key("point") {
        bail!("invalid config {file}: a sweep config takes a [sweep] table, not [[point]] tables");
    }
    let spec = match base.remove("sweep") {
        Some(toml::Value::Table(t)) => {
            SweepSpec::from_toml(&t).with_context(|| format!("invalid sweep in {file}"))?
        }
        Some(_) => bail!("invalid config {file}: `sweep` must be a table ([sweep])"),
        None => bail!("config {file} has no [sweep] table: run it with `taosim run`"),
    };
    if let Some(paths) = spec.paths {
        merge_tables(&mut base, &dotted_table("run.paths", toml::Value::Integer(i64::from(paths))));
    }
    check_keys(&base, &spec).with_context(|| format!("invalid sweep in {file}"))?;
    let seed = match args.flags.seed {
        Some(s) => s,
        None => {
            RunConfig::from_toml(&toml::to_string(&base)?)
                .with_context(|| format!("invalid config {file}"))?
                .run
                .seed
        }
    };
    let points = spec.points(seed).with_context(|| format!("invalid sweep in {file}"))?;
    let tables = points.iter().map(point_table).collect();
    let design = match spec.design {
        Design::Grid => "grid",
        Design::Zip => "zip",
        Design::Lhs => "lhs",
        Design::Sobol => "sobol",
        Design::Saltelli => "saltelli",
    };
    let manifest = serde_json::json!({
        "design": design,
        "points": points.len(),
        "keys": spec.keys.iter().map(|k| k.key.clone()).collect::<Vec<_>>(),
    });
    let sensitivity = SensitivityInput {
        design: spec.design,
        keys: spec.keys.iter().map(|k| k.key.clone()).collect(),
        coords: coordinates(&spec, &points),
        seed,
    };
    Ok((base, tables, manifest, sensitivity))
}
