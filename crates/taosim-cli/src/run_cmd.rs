//! `taosim run CONFIG [--paths N] [--days D] [--seed S] [--out DIR] [--threads T]`: the main job.
//!
//! Loads and validates the config (flags override its `[run]` keys), builds the initial network,
//! runs every path on the CPU (rayon) batch by batch, streams each batch to the Arrow files and
//! finishes with `summary.arrow` and `manifest.json`. Everything is written into `DIR.incomplete/`
//! and renamed to `DIR` only when the run succeeded, so a folder named `DIR` is always complete.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use taosim_core::config::RunConfig;
use taosim_core::engine::{RunPlan, run_point};
use taosim_core::records::PointSummary;

use crate::Failure;
use crate::output::{RunWriter, write_manifest};

/// Arguments of `taosim run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Run config (TOML); `configs/example.toml` documents every key.
    config: PathBuf,
    /// Paths to simulate (overrides `run.paths`).
    #[arg(long)]
    paths: Option<u32>,
    /// Horizon in days (overrides `run.days`).
    #[arg(long)]
    days: Option<f64>,
    /// Seed (overrides `run.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder [default: out/<config name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Replace the output folder if it exists.
    #[arg(long)]
    force: bool,
}

/// Loads, validates and plans the run described by `args` (every failure here is bad input).
pub(crate) fn plan(args: &RunArgs) -> anyhow::Result<RunPlan> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read config {}", args.config.display()))?;
    let mut config = RunConfig::from_toml(&text)
        .with_context(|| format!("invalid config {}", args.config.display()))?;
    if let Some(p) = args.paths {
        config.run.paths = p;
    }
    if let Some(d) = args.days {
        config.run.days = d;
    }
    if let Some(s) = args.seed {
        config.run.seed = s;
    }
    config.validate().with_context(|| format!("invalid config {}", args.config.display()))?;
    let dir = args.config.parent().unwrap_or(Path::new("."));
    let network = taosim_core::init::initial_network(&config, dir)
        .with_context(|| format!("invalid initial state for {}", args.config.display()))?;
    Ok(RunPlan::new(config, network)?)
}

/// Runs the `run` subcommand.
pub(crate) fn run(args: &RunArgs) -> Result<(), Failure> {
    let plan = plan(args).map_err(Failure::BadInput)?;
    if let Some(t) = args.threads {
        if t == 0 {
            return Err(Failure::BadInput(anyhow::anyhow!("`--threads` = 0: must be at least 1")));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| Failure::Failed(e.into()))?;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args.config.file_stem().map(|s| s.to_string_lossy().into_owned());
        PathBuf::from("out").join(stem.unwrap_or_else(|| "run".into()))
    });
    if out.exists() && !args.force {
        return Err(Failure::BadInput(anyhow::anyhow!(
            "output folder {} exists: pass --force to replace it, or choose another --out",
            out.display()
        )));
    }
    execute(&plan, args, &out).map_err(Failure::Failed)
}

fn execute(plan: &RunPlan, args: &RunArgs, out: &Path) -> anyhow::Result<()> {
    let staging = staging_dir(out);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let cfg = &plan.config;
    let total = cfg.run.paths;
    let threads = rayon::current_num_threads();
    eprintln!(
        "taosim: {} paths x {} days ({} steps of {} blocks), {:?} from {}, {threads} threads",
        total,
        cfg.run.days,
        plan.steps,
        cfg.run.blocks_per_step,
        cfg.chain.regime,
        if cfg.init.synthetic.is_some() { "a synthetic network" } else { &cfg.init.snapshot },
    );
    let mut writer = RunWriter::create(&staging, cfg.output.trace_paths > 0)?;
    let mut progress = Progress::new(total);
    let started = Instant::now();
    let mut write_time = 0.0;
    let acc = run_point::<f64, anyhow::Error>(plan, 0, 0..total, |batch| {
        let t = Instant::now();
        let worst = batch.outcomes.iter().map(|o| o.conservation_residual.abs()).fold(0.0, f64::max);
        if worst > 1e-6 {
            bail!("TAO conservation broken by {worst:e} (relative) in batch from path {}", batch.first_path);
        }
        writer.append_batch(&batch)?;
        write_time += t.elapsed().as_secs_f64();
        progress.advance(batch.outcomes.len() as u32);
        Ok(())
    })?;
    let summary = acc.summary();
    let t = Instant::now();
    writer.finish(std::slice::from_ref(&summary))?;
    write_time += t.elapsed().as_secs_f64();
    let wall = started.elapsed().as_secs_f64();
    progress.finish();
    let manifest = serde_json::json!({
        "taosim_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("TAOSIM_GIT_COMMIT"),
        "config_file": args.config.display().to_string(),
        "config": cfg,
        "seed": cfg.run.seed,
        "paths": total,
        "steps": plan.steps,
        "backend": "cpu",
        "adapter": null,
        "precision": "f64",
        "threads": threads,
        "timings": { "wall_s": wall, "write_s": write_time, "paths_per_s": f64::from(total) / wall },
    });
    write_manifest(&staging, &manifest)?;
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(&staging, out)
        .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()))?;
    print_summary(plan, &summary, out, wall);
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
fn print_summary(plan: &RunPlan, s: &PointSummary, out: &Path, wall: f64) {
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
        println!("\ntop spiral risks (initial subnets)\n  netuid  name                  P(spiral)  95% interval");
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
    println!(
        "\noutputs: {}/{{summary,subnets,events{}}}.arrow, manifest.json",
        out.display(),
        if plan.config.output.trace_paths > 0 { ",traces" } else { "" }
    );
}
