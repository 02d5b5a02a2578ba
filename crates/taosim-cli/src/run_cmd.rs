//! `taosim run CONFIG [--paths N] [--days D] [--seed S] [--point-id K] [--out DIR] [--threads T]`:
//! the main job, and the execution that `taosim sweep` shares.
//!
//! Loads and validates the config (flags override its `[run]` keys), builds the initial network,
//! runs every path on the CPU (rayon) batch by batch, streams each batch to the Arrow files and
//! finishes with `summary.arrow` and `manifest.json`. Everything is written into `DIR.incomplete/`
//! and renamed to `DIR` only when the run succeeded, so a folder named `DIR` is always complete.
//!
//! A config may list `[[point]]` tables: each is a partial config merged over the rest of the file
//! (`[[point]]` with `chain = { regime = "price_ema" }`), run as its own sweep point. Every key a
//! point sets becomes a column of `summary.arrow`. Without `[[point]]` the file is one point.
//!
//! Point ids and random numbers: the points are numbered from `--point-id` (default 0), and path
//! `k` of point `i` draws from Philox keyed by (seed, `i`, `k`) (`taosim_core::rng`): points draw
//! *independent* random numbers, and a point's results depend only on its config, seed and id.
//! So point `i` of a sweep (`taosim sweep`, or the `i`-th `[[point]]`) is reproduced on its own by
//! `taosim run` of the same config with that point's keys set and `--point-id i`, row for row.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use taosim_core::config::{RunConfig, dotted_keys, merge_tables};
use taosim_core::engine::RunPlan;
use taosim_core::records::PointSummary;

use crate::Failure;
use crate::backend::{Backend, BackendChoice, PrecisionChoice};
use crate::output::{ParamValue, RunWriter, write_manifest};
use crate::sensitivity::SensitivityInput;

/// The runs a config describes: one plan per point, and the keys its points set.
pub(crate) struct Points {
    /// Dotted keys the points set, in first-seen order.
    pub(crate) keys: Vec<String>,
    /// Id of the first point; point `j` of `plans` runs as point `first_id + j`.
    pub(crate) first_id: u32,
    /// One plan per point, with the value of each key at that point.
    pub(crate) plans: Vec<(RunPlan, Vec<ParamValue>)>,
}

/// Flags shared by `taosim run` and `taosim sweep`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunFlags {
    /// Paths per point (overrides `run.paths` and `sweep.paths`).
    #[arg(long)]
    pub(crate) paths: Option<u32>,
    /// Horizon in days (overrides `run.days`).
    #[arg(long)]
    pub(crate) days: Option<f64>,
    /// Seed (overrides `run.seed`).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Output folder [default: out/<config name>].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Replace the output folder if it exists.
    #[arg(long)]
    pub(crate) force: bool,
    /// Engine: `cpu`, `gpu`, or `auto` (the GPU when an adapter exists, else the CPU).
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    pub(crate) backend: BackendChoice,
    /// Precision of the state [default: f64; on a GPU without SHADER_F64: f32].
    #[arg(long, value_enum)]
    pub(crate) precision: Option<PrecisionChoice>,
}

/// Arguments of `taosim run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Run config (TOML); `configs/example.toml` documents every key.
    config: PathBuf,
    /// Id of the (first) point: its paths draw the random numbers of that sweep point, so
    /// `--point-id i` with point i's keys set reproduces point i of a sweep [default: 0].
    #[arg(long, default_value_t = 0)]
    point_id: u32,
    #[command(flatten)]
    flags: RunFlags,
}

/// Reads and parses a config file into a TOML table (every failure here is bad input).
pub(crate) fn load_table(config: &Path) -> anyhow::Result<toml::Table> {
    let file = config.display().to_string();
    let text =
        std::fs::read_to_string(config).with_context(|| format!("cannot read config {file}"))?;
    text.parse().map_err(|e: toml::de::Error| {
        anyhow::anyhow!("invalid config {file}: {}", e.to_string().replace('\n', " "))
    })
}

/// Loads, validates and plans the runs described by `args` (every failure here is bad input).
fn plan(args: &RunArgs) -> anyhow::Result<Points> {
    let file = args.config.display().to_string();
    let mut base = load_table(&args.config)?;
    if base.contains_key("sweep") {
        bail!("config {file} has a [sweep] table: run it with `taosim sweep`");
    }
    let points = match base.remove("point") {
        None => vec![toml::Table::new()],
        Some(toml::Value::Array(items)) if !items.is_empty() => items
            .into_iter()
            .enumerate()
            .map(|(k, item)| match item {
                toml::Value::Table(t) => Ok(t),
                _ => bail!("invalid config {file}: `point[{k}]` must be a table of config keys"),
            })
            .collect::<anyhow::Result<_>>()?,
        Some(_) => bail!("invalid config {file}: `point` must be an array of tables ([[point]])"),
    };
    plan_points(&args.config, &base, &points, args.point_id, &args.flags)
}

/// Plans one run per partial config in `points`, each merged over `base` (the config file without
/// its `[[point]]` / `[sweep]` tables) with the flags applied last, numbered from `first_id`.
pub(crate) fn plan_points(
    config: &Path,
    base: &toml::Table,
    points: &[toml::Table],
    first_id: u32,
    flags: &RunFlags,
) -> anyhow::Result<Points> {
    let file = config.display().to_string();
    let mut keys = Vec::new();
    for point in points {
        for key in dotted_keys(point) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let dir = config.parent().unwrap_or(Path::new("."));
    let mut plans = Vec::with_capacity(points.len());
    for (k, point) in points.iter().enumerate() {
        let id = u64::from(first_id) + k as u64;
        let at = if keys.is_empty() { file.clone() } else { format!("{file}, point {id}") };
        let mut merged = base.clone();
        merge_tables(&mut merged, point);
        let mut config = RunConfig::from_toml(&toml::to_string(&merged)?)
            .with_context(|| format!("invalid config {at}"))?;
        if let Some(p) = flags.paths {
            config.run.paths = p;
        }
        if let Some(d) = flags.days {
            config.run.days = d;
        }
        if let Some(s) = flags.seed {
            config.run.seed = s;
        }
        config.validate().with_context(|| format!("invalid config {at}"))?;
        let resolved = toml::Table::try_from(&config)?;
        let values = keys.iter().map(|key| param_value(&resolved, key)).collect();
        let network = taosim_core::init::initial_network(&config, dir)
            .with_context(|| format!("invalid initial state for {at}"))?;
        plans.push((RunPlan::new(config, network)?, values));
    }
    if u64::from(first_id) + plans.len() as u64 > u64::from(u32::MAX) {
        bail!("point ids from {first_id} for {} points do not fit in 32 bits", plans.len());
    }
    Ok(Points { keys, first_id, plans })
}

/// The resolved value of dotted `key`, as a summary column value.
fn param_value(resolved: &toml::Table, key: &str) -> ParamValue {
    let mut value: Option<&toml::Value> = None;
    let mut table = Some(resolved);
    for part in key.split('.') {
        value = table.and_then(|t| t.get(part));
        table = value.and_then(toml::Value::as_table);
    }
    match value {
        Some(toml::Value::Float(x)) => ParamValue::Number(*x),
        Some(toml::Value::Integer(i)) => ParamValue::Number(*i as f64),
        Some(toml::Value::Boolean(b)) => ParamValue::Number(f64::from(u8::from(*b))),
        Some(toml::Value::String(s)) => ParamValue::Text(s.clone()),
        Some(other) => ParamValue::Text(other.to_string()),
        None => ParamValue::Text(String::new()),
    }
}

/// Runs the `run` subcommand.
pub(crate) fn run(args: &RunArgs) -> Result<(), Failure> {
    let points = plan(args).map_err(Failure::BadInput)?;
    execute_points(&args.config, &points, &args.flags, serde_json::Value::Null, None)
}

/// Runs planned points into the output folder the flags name (shared by `run` and `sweep`);
/// `sweep` goes into the manifest as is (`null` for `taosim run`); with `sensitivity` (a sweep's
/// design) `sensitivity.arrow` is written too.
pub(crate) fn execute_points(
    config: &Path,
    points: &Points,
    flags: &RunFlags,
    sweep: serde_json::Value,
    sensitivity: Option<&SensitivityInput>,
) -> Result<(), Failure> {
    if let Some(t) = flags.threads {
        if t == 0 {
            return Err(Failure::BadInput(anyhow::anyhow!("`--threads` = 0: must be at least 1")));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| Failure::Failed(e.into()))?;
    }
    let out = flags.out.clone().unwrap_or_else(|| {
        let stem = config.file_stem().map(|s| s.to_string_lossy().into_owned());
        PathBuf::from("out").join(stem.unwrap_or_else(|| "run".into()))
    });
    if out.exists() && !flags.force {
        return Err(Failure::BadInput(anyhow::anyhow!(
            "output folder {} exists: pass --force to replace it, or choose another --out",
            out.display()
        )));
    }
    let backend = Backend::select(flags.backend, flags.precision).map_err(Failure::Failed)?;
    execute(points, config, &out, sweep, sensitivity, &backend).map_err(Failure::Failed)
}

fn execute(
    points: &Points,
    config: &Path,
    out: &Path,
    sweep: serde_json::Value,
    sensitivity: Option<&SensitivityInput>,
    backend: &Backend,
) -> anyhow::Result<()> {
    let staging = staging_dir(out);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let (first, _) = &points.plans[0];
    let cfg = &first.config;
    let total: u32 = points.plans.iter().map(|(p, _)| p.config.run.paths).sum();
    let threads = rayon::current_num_threads();
    eprintln!(
        "taosim: {} point(s), {} paths x {} days ({} steps of {} blocks), {:?} from {}, {threads} threads",
        points.plans.len(),
        cfg.run.paths,
        cfg.run.days,
        first.steps,
        cfg.run.blocks_per_step,
        cfg.chain.regime,
        if cfg.init.synthetic.is_some() { "a synthetic network" } else { &cfg.init.snapshot },
    );
    if let Some(adapter) = backend.adapter() {
        eprintln!("taosim: GPU {adapter}, {}", backend.precision().name());
    }
    let traces = points.plans.iter().any(|(p, _)| p.config.output.trace_paths > 0);
    let mut writer = RunWriter::create(&staging, traces)?;
    let mut progress = Progress::new(total);
    let started = Instant::now();
    let mut write_time = 0.0;
    let mut summaries = Vec::with_capacity(points.plans.len());
    for (k, (plan, _)) in points.plans.iter().enumerate() {
        let point = points.first_id + k as u32;
        let acc = backend.run_point(plan, point, 0..plan.config.run.paths, |batch| {
            // TAO conservation, finiteness and reserves are checked by the engine's runtime
            // guards after every stage; a violation comes back as an error from run_point.
            let t = Instant::now();
            writer.append_batch(&batch)?;
            write_time += t.elapsed().as_secs_f64();
            progress.advance(batch.outcomes.len() as u32);
            Ok(())
        })?;
        summaries.push(acc.summary());
    }
    let t = Instant::now();
    let values: Vec<Vec<ParamValue>> = points.plans.iter().map(|(_, v)| v.clone()).collect();
    writer.finish_with_parameters(&points.keys, &values, &summaries)?;
    if let Some(input) = sensitivity {
        crate::sensitivity::write(&staging, input, &summaries)?;
    }
    write_time += t.elapsed().as_secs_f64();
    let wall = started.elapsed().as_secs_f64();
    progress.finish();
    let configs: Vec<&RunConfig> = points.plans.iter().map(|(p, _)| &p.config).collect();
    let mut manifest = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("TAOSIM_GIT_COMMIT"),
        "config_file": config.display().to_string(),
        "config": configs,
        "swept_keys": points.keys,
        "seed": cfg.run.seed,
        "paths": total,
        "steps": first.steps,
        "backend": backend.name(),
        "adapter": backend.adapter(),
        "precision": backend.precision().name(),
        "threads": threads,
        "timings": { "wall_s": wall, "write_s": write_time, "paths_per_s": f64::from(total) / wall },
    });
    if !sweep.is_null() {
        manifest["sweep"] = sweep;
    }
    write_manifest(&staging, &manifest)?;
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(&staging, out)
        .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()))?;
    for ((plan, values), summary) in points.plans.iter().zip(&summaries) {
        if !points.keys.is_empty() {
            let label: Vec<String> = points
                .keys
                .iter()
                .zip(values)
                .map(|(k, v)| match v {
                    ParamValue::Number(x) => format!("{k} = {x}"),
                    ParamValue::Text(t) => format!("{k} = {t}"),
                })
                .collect();
            println!("\n== point {}: {}", summary.point, label.join(", "));
        }
        print_summary(plan, summary, wall);
    }
    println!(
        "\noutputs: {}/{{summary,subnets,events{}{}}}.arrow, manifest.json",
        out.display(),
        if traces { ",traces" } else { "" },
        if sensitivity.is_some() { ",sensitivity" } else { "" }
    );
    Ok(())
}

/// `DIR.incomplete` beside `DIR`.
fn staging_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "run".into());
    name.push(".incomplete");
    out.with_file_name(name)
}

/// Progress on stderr: a redrawn bar on a terminal, one plain line per batch otherwise.
struct Progress {
    total: u32,
    done: u32,
    started: Instant,
    terminal: bool,
}

impl Progress {
    fn new(total: u32) -> Self {
        Self { total, done: 0, started: Instant::now(), terminal: std::io::stderr().is_terminal() }
    }

    fn advance(&mut self, paths: u32) {
        self.done += paths;
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = f64::from(self.done) / secs;
        let eta = f64::from(self.total - self.done) / rate.max(1e-9);
        let frac = f64::from(self.done) / f64::from(self.total.max(1));
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 30;
            let filled = (frac * f64::from(width)).round() as usize;
            let bar: String = "#".repeat(filled) + &" ".repeat(width as usize - filled);
            let _ = write!(
                err,
                "\r[{bar}] {}/{} paths  {rate:.1} paths/s  ETA {eta:.0} s ",
                self.done, self.total
            );
            let _ = err.flush();
        } else {
            let _ = writeln!(
                err,
                "taosim: {}/{} paths ({:.0}%), {rate:.1} paths/s, ETA {eta:.0} s",
                self.done,
                self.total,
                100.0 * frac
            );
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

/// The one-screen result table.
fn print_summary(plan: &RunPlan, s: &PointSummary, wall: f64) {
    let pct = |x: f64| 100.0 * x;
    println!(
        "\n{} paths x {:.0} days in {wall:.1} s ({:.1} paths/s)",
        s.paths,
        plan.config.run.days,
        f64::from(s.paths) / wall
    );
    println!(
        "P(any subnet spirals)    {:5.1}%  [{:.1}, {:.1}]",
        pct(s.p_any_spiral.p),
        pct(s.p_any_spiral.lo),
        pct(s.p_any_spiral.hi)
    );
    println!(
        "P(a top-10 subnet spirals) {:3.1}%  [{:.1}, {:.1}]",
        pct(s.p_top10_spiral.p),
        pct(s.p_top10_spiral.lo),
        pct(s.p_top10_spiral.hi)
    );
    println!("spirals per path         {:.2} ± {:.2}", s.spirals_mean, s.spirals_se);
    println!("prunings per path        {:.2}", s.prunings_mean);
    println!(
        "time to spiral (days)    q10 {:.0}  median {:.0}  q90 {:.0}",
        s.spiral_days_q10, s.spiral_days_q50, s.spiral_days_q90
    );
    println!("pool TAO at the horizon  {:.0} (mean)", s.pool_tao_end_mean);
    let mut ranked: Vec<_> = s.spiral_by_netuid.iter().filter(|(_, p)| p.p > 0.0).collect();
    ranked.sort_by(|a, b| b.1.p.total_cmp(&a.1.p).then(a.0.cmp(&b.0)));
    if ranked.is_empty() {
        println!("\nno initial subnet spiralled in any path");
    } else {
        println!(
            "\ntop spiral risks (initial subnets)\n  netuid  name                  P(spiral)  95% interval"
        );
        for (netuid, p) in ranked.iter().take(10) {
            let name = plan
                .network
                .subnets
                .iter()
                .find(|x| x.netuid == *netuid)
                .map_or("", |x| x.name.as_str());
            println!(
                "  {netuid:>6}  {name:<20}  {:>8.1}%  [{:.1}, {:.1}]",
                pct(p.p),
                pct(p.lo),
                pct(p.hi)
            );
        }
    }
}
