//! `taosim sweep CONFIG [--paths N] [--days D] [--seed S] [--out DIR] [--threads T] [--force]`:
//! runs the points of the config's `[sweep]` design (`taosim_core::sweep`, docs/sweeps.md).
//!
//! The `[sweep]` table is taken out of the file, its design turned into one partial config per
//! point, and the points run exactly as `taosim run` runs `[[point]]` tables (the same planning
//! and execution, `run_cmd`): point `i` of the design is sweep point id `i`, and every swept key
//! is a column of `summary.arrow`. `sweep.paths` sets the paths per point (`--paths` wins).

use std::path::PathBuf;

use anyhow::{Context, bail};
use taosim_core::config::{RunConfig, dotted_table, merge_tables};
use taosim_core::sweep::{Design, SweepSpec, check_keys, point_table};

use crate::Failure;
use crate::run_cmd::{self, RunFlags};

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
    let (base, tables, manifest) = design(args).map_err(Failure::BadInput)?;
    let points = run_cmd::plan_points(&args.config, &base, &tables, 0, &args.flags)
        .map_err(Failure::BadInput)?;
    run_cmd::execute_points(&args.config, &points, &args.flags, manifest)
}

/// The config without its `[sweep]` table, one partial config per design point, and the sweep's
/// manifest entry.
fn design(args: &SweepArgs) -> anyhow::Result<(toml::Table, Vec<toml::Table>, serde_json::Value)> {
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
    };
    let manifest = serde_json::json!({
        "design": design,
        "points": points.len(),
        "keys": spec.keys.iter().map(|k| k.key.clone()).collect::<Vec<_>>(),
    });
    Ok((base, tables, manifest))
}
