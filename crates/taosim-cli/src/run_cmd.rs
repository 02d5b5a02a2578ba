//! `taosim run CONFIG [--paths N] [--days D] [--seed S] [--point-id K] [--out DIR] [--threads T]
//! [--force] [--resume] [--shard I/N]`: the main job, and the execution that `taosim sweep` shares.
//!
//! Loads and validates the config (flags override its `[run]` keys), builds the initial network,
//! runs every path on the CPU (rayon) batch by batch, saves each finished batch durably as a part
//! file and, once all are saved, builds the Arrow files, `summary.arrow` and `manifest.json` from
//! them (`durable`, docs/reliability.md). Everything is written into `DIR.incomplete/` and renamed
//! to `DIR` only when the run succeeded, so a folder named `DIR` is always complete; SIGINT/SIGTERM
//! stop after the current batch, and `--resume` continues from the saved batches. `--shard I/N`
//! runs every N-th batch into a shard folder for `taosim merge`.
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
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use taosim_core::config::{RunConfig, dotted_keys, merge_tables, without_position};
use taosim_core::engine::{RecordSpill, RunPlan};
use taosim_core::records::{BatchRecords, PointSummary};

use crate::Failure;
use crate::backend::{Backend, BackendChoice, PrecisionChoice};
use crate::durable::{self, Interrupt, Job, JobPoint, PARTS_DIR, Shard, Unit, write_state};
use crate::output::{ParamValue, write_manifest};
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
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) paths: Option<u32>,
    /// Horizon in days (overrides `run.days`).
    // Negative numbers are values here, so that `--days -1` reaches the config's check and its
    // message ("`run.days` = -1: a finite number > 0") instead of clap's "unexpected argument".
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) days: Option<f64>,
    /// Seed (overrides `run.seed`).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) seed: Option<u64>,
    /// Output folder [default: `out/` and the config file's name without its extension].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threads: Option<usize>,
    /// Replace the output folder if it exists (and discard an unfinished `DIR.incomplete`).
    #[arg(long)]
    pub(crate) force: bool,
    /// Continue the interrupted run in `DIR.incomplete` (same config, seed and flags): only
    /// the batches not yet saved are run, and the outputs are the bytes of an uninterrupted run.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Run only shard I of N (0-based): the (point, batch) units whose number is I modulo N,
    /// into a shard folder for `taosim merge` (docs/reliability.md).
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,
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
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
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

/// A config parse error, positioned in the user's file. The config was parsed from the file's
/// tables merged (a `[[point]]`, sweep point or flag over the rest), so the parser's line and
/// column point into that merged text, not into the file: they are replaced by the position of
/// the key in the file (in `[[point]]` table `point` if it is there, else at the top level; the
/// key for an unknown field, the value otherwise, as the parser does), or dropped when the file
/// does not hold the key (a value a sweep design made).
fn parse_error_in_file(config: &Path, point: usize, error: &taosim_core::Error) -> String {
    let message = without_position(error);
    let key = message.strip_prefix("key `").and_then(|rest| rest.split_once('`'));
    let Some((key, _)) = key else { return message };
    let Ok(text) = std::fs::read_to_string(config) else { return message };
    let at_key = message.contains("unknown field");
    match position_in_file(&text, point, key, at_key) {
        Some((line, column)) => format!("line {line}, column {column}, {message}"),
        None => message,
    }
}

/// Line and column (from 1, in characters) of dotted `key` in TOML `text`: in the `point`-th
/// `[[point]]` table if that holds it, else at the top level; of the key itself when `at_key`,
/// else of its value.
fn position_in_file(text: &str, point: usize, key: &str, at_key: bool) -> Option<(usize, usize)> {
    use toml::Spanned;
    use toml::de::{DeString, DeTable, DeValue};
    type Entry<'t, 'i> = (&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>);
    fn entry<'t, 'i>(table: &'t DeTable<'i>, name: &str) -> Option<Entry<'t, 'i>> {
        table.iter().find(|(k, _)| k.get_ref().as_ref() == name)
    }
    fn span_in(table: &DeTable<'_>, key: &str, at_key: bool) -> Option<std::ops::Range<usize>> {
        let (first, rest) = key.split_once('.').map_or((key, None), |(f, r)| (f, Some(r)));
        let (k, v) = entry(table, first)?;
        match (rest, v.get_ref()) {
            (None, _) => Some(if at_key { k.span() } else { v.span() }),
            (Some(rest), DeValue::Table(inner)) => span_in(inner, rest, at_key),
            (Some(_), _) => None,
        }
    }
    let doc = DeTable::parse(text).ok()?;
    let root = doc.get_ref();
    let point_table = match entry(root, "point").map(|(_, v)| v.get_ref()) {
        Some(DeValue::Array(items)) => match items.get(point).map(|t| t.get_ref()) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        },
        _ => None,
    };
    let span =
        point_table.and_then(|t| span_in(t, key, at_key)).or_else(|| span_in(root, key, at_key))?;
    let before = text.get(..span.start)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some((before.matches('\n').count() + 1, before[line_start..].chars().count() + 1))
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
            .map_err(|e| anyhow!("invalid config {at}: {}", parse_error_in_file(config, k, &e)))?;
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
    let backend = Backend::select(flags.backend, flags.precision).map_err(Failure::Failed)?;
    let job = describe_job(points, config, flags.shard, sweep, sensitivity, &backend);
    if out.exists() && flags.resume && !flags.force && job.shard.is_some() {
        // A requeued shard that already finished: nothing to do (schedulers rerun commands).
        if let Ok(done) = Job::read(&out)
            && done.identity_difference(&job).is_empty()
            && done.shard == job.shard
        {
            eprintln!("taosim: shard folder {} is already complete", out.display());
            return Ok(());
        }
    }
    if out.exists() && !flags.force {
        return Err(Failure::BadInput(anyhow::anyhow!(
            "output folder {} exists: pass --force to replace it, or choose another --out",
            out.display()
        )));
    }
    let staging = staging_dir(&out);
    prepare_staging(&staging, &job, flags)?;
    execute(points, &job, &out, &staging, &backend)
}

/// The job description of a run: its identity and what `finalize` and the manifest need.
fn describe_job(
    points: &Points,
    config: &Path,
    shard: Option<Shard>,
    sweep: serde_json::Value,
    sensitivity: Option<&SensitivityInput>,
    backend: &Backend,
) -> Job {
    let (first, _) = &points.plans[0];
    let cfg = &first.config;
    let configs: Vec<&RunConfig> = points.plans.iter().map(|(p, _)| &p.config).collect();
    let total: u32 = points.plans.iter().map(|(p, _)| p.config.run.paths).sum();
    let traces = points.plans.iter().any(|(p, _)| p.config.output.trace_paths > 0);
    let values: Vec<Vec<ParamValue>> = points.plans.iter().map(|(_, v)| v.clone()).collect();
    let networks: Vec<String> =
        points.plans.iter().map(|(p, _)| format!("{:?}", p.network)).collect();
    let seeds: Vec<u64> = configs.iter().map(|c| c.run.seed).collect();
    let identity = [
        ("version", serde_json::json!([env!("CARGO_PKG_VERSION"), env!("TAOSIM_GIT_COMMIT")])),
        ("config", serde_json::json!(configs)),
        ("seed", serde_json::json!(seeds)),
        ("initial_network", serde_json::json!(networks)),
        ("points", serde_json::json!([points.first_id, points.keys, format!("{values:?}")])),
        ("sweep", sweep.clone()),
        // The GPU and f32 give other numbers than the CPU in f64: never mix them.
        ("backend", serde_json::json!([backend.name(), backend.precision().name()])),
    ];
    let job_points = points
        .plans
        .iter()
        .enumerate()
        .map(|(k, (plan, _))| JobPoint {
            point: points.first_id + k as u32,
            paths: plan.config.run.paths,
            batch_paths: backend.unit_paths(plan),
            netuids: plan.initial_netuids(),
            slots: plan.slots,
            days_per_step_bits: plan.days_per_step.to_bits(),
        })
        .collect();
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
    });
    if !sweep.is_null() {
        manifest["sweep"] = sweep;
    }
    let mut job = Job::new(&identity, shard, traces, &points.keys, &values, job_points, manifest);
    job.set_sensitivity(sensitivity);
    job
}

/// Creates the staging folder with its `job.json`, or, with `--resume`, checks that the one
/// there belongs to this run.
fn prepare_staging(staging: &Path, job: &Job, flags: &RunFlags) -> Result<(), Failure> {
    let bad = |e: anyhow::Error| Failure::BadInput(e);
    if staging.exists() {
        if flags.resume {
            let old = Job::read(staging).map_err(bad)?;
            let differ = job.identity_difference(&old);
            if !differ.is_empty() {
                return Err(bad(anyhow::anyhow!(
                    "cannot resume {}: it belongs to a different run ({differ} differ); use the \
                     same config, seed and flags, or --force without --resume to discard it",
                    staging.display()
                )));
            }
            if old.shard != job.shard {
                let show = |s: Option<Shard>| s.map_or("none".to_string(), |s| s.to_string());
                return Err(bad(anyhow::anyhow!(
                    "cannot resume {}: it runs shard {} but --shard is {}",
                    staging.display(),
                    show(old.shard),
                    show(job.shard)
                )));
            }
            return Ok(());
        }
        if !flags.force {
            return Err(bad(anyhow::anyhow!(
                "{} holds an unfinished run: pass --resume to continue it, or --force to discard it",
                staging.display()
            )));
        }
        std::fs::remove_dir_all(staging)
            .with_context(|| format!("cannot clear {}", staging.display()))
            .map_err(Failure::Failed)?;
    }
    std::fs::create_dir_all(staging.join(PARTS_DIR))
        .with_context(|| format!("cannot create {}", staging.display()))
        .and_then(|()| job.write(staging))
        .map_err(Failure::Failed)
}

fn execute(
    points: &Points,
    job: &Job,
    out: &Path,
    staging: &Path,
    backend: &Backend,
) -> Result<(), Failure> {
    let failed = Failure::Failed;
    let units = job.my_units();
    let present = durable::parts_present(staging).map_err(failed)?;
    let todo: Vec<Unit> =
        units.iter().copied().filter(|u| !present.contains(&u.file_name())).collect();
    let already = units.len() - todo.len();
    let (first, _) = &points.plans[0];
    let cfg = &first.config;
    let threads = rayon::current_num_threads();
    eprintln!(
        "taosim: {} point(s), {} paths x {} days ({} steps of {} blocks), {:?} from {}, {threads} threads{}{}",
        points.plans.len(),
        cfg.run.paths,
        cfg.run.days,
        first.steps,
        cfg.run.blocks_per_step,
        cfg.chain.regime,
        if cfg.init.synthetic.is_some() { "a synthetic network" } else { &cfg.init.snapshot },
        job.shard.map_or(String::new(), |s| format!(", shard {s} ({} batches)", units.len())),
        if already > 0 {
            format!(", resuming: {already} of {} batches done", units.len())
        } else {
            String::new()
        },
    );
    if let Some(adapter) = backend.adapter() {
        eprintln!("taosim: GPU {adapter}, {}", backend.precision().name());
    }
    write_state(staging, "running", already, units.len(), "").map_err(failed)?;
    let interrupt = Interrupt::install().map_err(failed)?;
    let todo_paths: u32 = todo.iter().map(|u| u.end_path - u.first_path).sum();
    let mut progress = Progress::new(todo_paths);
    let started = Instant::now();
    // Each unit's finished paths' rows and traced paths' trace rows leave memory while it runs
    // (its durable::Spill), so memory does not grow with the horizon; its part is written by the
    // PartWriter thread while the next unit runs.
    let mut plans: Vec<RunPlan> = points.plans.iter().map(|(plan, _)| plan.clone()).collect();
    // An unsharded run builds its output tables while it runs (a shard's are built by merge).
    let finalizer = match job.shard {
        None => Some(durable::Finalizer::new(job, staging).map_err(failed)?),
        Some(_) => None,
    };
    let mut writer = durable::PartWriter::start(staging, finalizer).map_err(failed)?;
    for (handed, unit) in (already..).zip(&todo) {
        if let Some(signal) = interrupt.received() {
            progress.finish();
            // The part in flight is finished: only then are `handed` parts saved.
            let done = match writer.finish() {
                Ok(_) => handed,
                Err(err) => {
                    let done = already + writer.saved();
                    write_state(staging, "failed", done, units.len(), &format!("{err:#}")).ok();
                    return Err(failed(err));
                }
            };
            let message = format!(
                "interrupted by {}: {done} of {} batches are saved in {}; run the same command \
                 with --resume to continue",
                signal_name(signal),
                units.len(),
                staging.display()
            );
            write_state(staging, "interrupted", done, units.len(), &message).map_err(failed)?;
            return Err(Failure::Interrupted { signal, message });
        }
        let spill = Arc::new(durable::Spill::new(staging, unit.number));
        plans[unit.point_index].spill = Some(Arc::clone(&spill) as Arc<dyn RecordSpill>);
        let plan = &plans[unit.point_index];
        // A unit is one part file; an engine may hand it over in several batches (the GPU's
        // device batches are bounded by the adapter's limits), gathered here in path order.
        let mut records = BatchRecords {
            point: unit.point,
            first_path: unit.first_path,
            ..BatchRecords::default()
        };
        let result = backend
            .run_point(plan, unit.point, unit.first_path..unit.end_path, |batch| {
                // TAO conservation, finiteness and reserves are checked by the engine's runtime
                // guards; a violation comes back as an error from run_point.
                progress.advance(batch.outcomes.len() as u32);
                records.subnets.extend(batch.subnets);
                records.events.extend(batch.events);
                records.traces.extend(batch.traces);
                records.outcomes.extend(batch.outcomes);
                Ok(())
            })
            .and_then(|_| writer.submit(*unit, records, spill));
        if let Err(err) = result {
            let message = format!("{err:#}");
            writer.finish().ok();
            write_state(staging, "failed", already + writer.saved(), units.len(), &message).ok();
            return Err(failed(err));
        }
    }
    progress.finish();
    let written = writer.finish().map_err(failed)?;
    // What the run waited for: handing parts to the writer and the last part; the spilling on
    // the path threads (summed over them) counts as writing too. The writer's own time (parts
    // and the tables built from them) ran alongside the path threads and is reported apart.
    let mut write_time = writer.waited_s + written.spill_s;
    drop(plans);
    let run_time = started.elapsed().as_secs_f64();
    if let Some(shard) = job.shard {
        let manifest = serde_json::json!({
            "status": "complete",
            "shard": shard,
            "batches": units.len(),
            "paths": units.iter().map(|u| u.end_path - u.first_path).sum::<u32>(),
            "threads": threads,
            "timings": { "run_s": run_time, "write_s": write_time, "part_writer_s": written.writer_s },
        });
        let finish = || -> anyhow::Result<()> {
            write_manifest(staging, &manifest)?;
            std::fs::remove_file(staging.join(durable::STATE_FILE))?;
            move_into_place(staging, out)
        };
        finish().map_err(failed)?;
        outln!(
            "shard {shard}: {} batches in {run_time:.1} s; merge all {} shards with `taosim merge`: {}",
            units.len(),
            shard.count,
            out.display()
        )?;
        return Ok(());
    }
    let t = Instant::now();
    let finalizer = writer.take_finalizer().context("the part writer lost the output tables");
    let summaries = finalizer.and_then(durable::Finalizer::finish).map_err(failed)?;
    write_time += t.elapsed().as_secs_f64();
    let wall = started.elapsed().as_secs_f64();
    let total: u32 = job.points.iter().map(|p| p.paths).sum();
    let mut manifest = job.manifest.clone();
    manifest["threads"] = serde_json::json!(threads);
    manifest["timings"] = serde_json::json!({
        "wall_s": wall, "write_s": write_time, "part_writer_s": written.writer_s,
        "paths_per_s": f64::from(total) / wall,
    });
    write_manifest(staging, &manifest)
        .map_err(anyhow::Error::from)
        .and_then(|()| move_into_place(staging, out))
        .and_then(|()| remove_bookkeeping(out))
        .map_err(failed)?;
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
            outln!("\n== point {}: {}", summary.point, label.join(", "))?;
        }
        print_summary(plan, summary, wall)?;
    }
    outln!(
        "\noutputs: {}/{{summary,subnets,events{}{}}}.arrow, manifest.json",
        out.display(),
        if job.traces { ",traces" } else { "" },
        if job.sensitivity().is_some() { ",sensitivity" } else { "" }
    )?;
    Ok(())
}

/// `SIGINT` / `SIGTERM` by name.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Renames the finished `staging` folder to `out`, replacing an `out` that exists (`--force`).
pub(crate) fn move_into_place(staging: &Path, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(staging, out)
        .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()))
}

/// Removes the part files and job files from a finished output folder: the folder is complete
/// (renamed) before they go, so a crash here leaves extra files, never missing ones.
pub(crate) fn remove_bookkeeping(out: &Path) -> anyhow::Result<()> {
    let parts = out.join(PARTS_DIR);
    if parts.exists() {
        std::fs::remove_dir_all(&parts)
            .with_context(|| format!("cannot remove {}", parts.display()))?;
    }
    for file in [durable::JOB_FILE, durable::STATE_FILE] {
        match std::fs::remove_file(out.join(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::Error::from(e).context(format!("cannot remove {file}")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `DIR.incomplete` beside `DIR`.
pub(crate) fn staging_dir(out: &Path) -> PathBuf {
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
fn print_summary(plan: &RunPlan, s: &PointSummary, wall: f64) -> std::io::Result<()> {
    let pct = |x: f64| 100.0 * x;
    outln!(
        "\n{} paths x {:.0} days in {wall:.1} s ({:.1} paths/s)",
        s.paths,
        plan.config.run.days,
        f64::from(s.paths) / wall
    )?;
    outln!(
        "P(any subnet spirals)    {:5.1}%  [{:.1}, {:.1}]",
        pct(s.p_any_spiral.p),
        pct(s.p_any_spiral.lo),
        pct(s.p_any_spiral.hi)
    )?;
    outln!(
        "P(a top-10 subnet spirals) {:3.1}%  [{:.1}, {:.1}]",
        pct(s.p_top10_spiral.p),
        pct(s.p_top10_spiral.lo),
        pct(s.p_top10_spiral.hi)
    )?;
    outln!("spirals per path         {:.2} ± {:.2}", s.spirals_mean, s.spirals_se)?;
    outln!("prunings per path        {:.2}", s.prunings_mean)?;
    outln!(
        "time to spiral (days)    q10 {:.0}  median {:.0}  q90 {:.0}",
        s.spiral_days_q10,
        s.spiral_days_q50,
        s.spiral_days_q90
    )?;
    outln!("pool TAO at the horizon  {:.0} (mean)", s.pool_tao_end_mean)?;
    let mut ranked: Vec<_> = s.spiral_by_netuid.iter().filter(|(_, p)| p.p > 0.0).collect();
    ranked.sort_by(|a, b| b.1.p.total_cmp(&a.1.p).then(a.0.cmp(&b.0)));
    if ranked.is_empty() {
        outln!("\nno initial subnet spiralled in any path")?;
    } else {
        outln!(
            "\ntop spiral risks (initial subnets)\n  netuid  name                  P(spiral)  95% interval"
        )?;
        for (netuid, p) in ranked.iter().take(10) {
            let name = plan
                .network
                .subnets
                .iter()
                .find(|x| x.netuid == *netuid)
                .map_or("", |x| x.name.as_str());
            outln!(
                "  {netuid:>6}  {name:<20}  {:>8.1}%  [{:.1}, {:.1}]",
                pct(p.p),
                pct(p.lo),
                pct(p.hi)
            )?;
        }
    }
    Ok(())
}
