//! `taosim merge DIR_0 ... DIR_{N-1} --out DIR [--force]`: combines the folders of `taosim run`
//! or `taosim sweep` with `--shard I/N` into the outputs of the unsharded run, byte for byte
//! (docs/reliability.md).
//!
//! Every folder must be a finished shard (`manifest.json` with status `complete`, no
//! `state.json`) of the same run (equal `job.json` identities), and the shards `0..N` must each
//! be given exactly once; otherwise merge refuses with one line and exit 2 before writing
//! anything. The outputs are built by `durable::finalize` from the shards' part files, in unit
//! order: the same code, rows and order as an unsharded run.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::Failure;
use crate::durable::{self, Job, STATE_FILE};
use crate::output::{MANIFEST_FILE, write_manifest};
use crate::run_cmd::{move_into_place, remove_bookkeeping, staging_dir};

/// Arguments of `taosim merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct MergeArgs {
    /// The shard folders (`--out` of each `--shard I/N` run), in any order.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output folder of the merged run.
    #[arg(long)]
    out: PathBuf,
    /// Replace the output folder if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs the `merge` subcommand.
pub(crate) fn run(args: &MergeArgs) -> Result<(), Failure> {
    let (job, by_index) = check(args).map_err(Failure::BadInput)?;
    merge(args, &job, &by_index).map_err(Failure::Failed)
}

/// Reads and checks the shard folders; returns the job and the folder of each shard index.
fn check(args: &MergeArgs) -> anyhow::Result<(Job, Vec<PathBuf>)> {
    if args.out.exists() && !args.force {
        anyhow::bail!(
            "output folder {} exists: pass --force to replace it, or choose another --out",
            args.out.display()
        );
    }
    let mut jobs: Vec<(PathBuf, Job)> = Vec::new();
    for dir in &args.dirs {
        let show = dir.display();
        if !dir.is_dir() {
            anyhow::bail!("shard folder {show} does not exist");
        }
        let job = Job::read(dir)?;
        let Some(shard) = job.shard else {
            anyhow::bail!("{show} is not a shard folder (it was not run with --shard I/N)");
        };
        let finished = dir.join(MANIFEST_FILE).is_file() && !dir.join(STATE_FILE).exists();
        if !finished || dir.extension().is_some_and(|e| e == "incomplete") {
            anyhow::bail!(
                "shard folder {show} (shard {shard}) is incomplete: finish it with the same \
                 command and --resume"
            );
        }
        jobs.push((dir.clone(), job));
    }
    let (first_dir, first) = &jobs[0];
    let count = first.shard.map_or(1, |s| s.count);
    let mut by_index: Vec<Option<PathBuf>> = vec![None; count as usize];
    for (dir, job) in &jobs {
        let differ = first.identity_difference(job);
        if !differ.is_empty() {
            anyhow::bail!(
                "{} and {} are shards of different runs ({differ} differ)",
                first_dir.display(),
                dir.display()
            );
        }
        let shard = job.shard.unwrap_or(durable::Shard { index: 0, count: 1 });
        if shard.count != count {
            anyhow::bail!(
                "{} is a shard of {count} but {} is shard {shard}: shards of different splits",
                first_dir.display(),
                dir.display()
            );
        }
        let slot = &mut by_index[shard.index as usize];
        if let Some(earlier) = slot {
            anyhow::bail!(
                "shard {shard} is given twice: {} and {}",
                earlier.display(),
                dir.display()
            );
        }
        *slot = Some(dir.clone());
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!("shard(s) {} missing: merge needs all {count} shards", missing.join(", "));
    }
    // Every part a shard owns must be there before anything is written.
    let dirs: Vec<PathBuf> = by_index.into_iter().flatten().collect();
    for (index, dir) in dirs.iter().enumerate() {
        let mut job = first.clone();
        job.shard = Some(durable::Shard { index: index as u32, count });
        let present = durable::parts_present(dir)?;
        if let Some(unit) = job.my_units().iter().find(|u| !present.contains(&u.file_name())) {
            anyhow::bail!(
                "shard folder {} is incomplete: part {} is missing",
                dir.display(),
                unit.file_name()
            );
        }
    }
    Ok((first.clone(), dirs))
}

fn merge(args: &MergeArgs, job: &Job, dirs: &[PathBuf]) -> anyhow::Result<()> {
    let started = Instant::now();
    let staging = staging_dir(&args.out);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let count = dirs.len() as u64;
    let summaries = durable::finalize(job, &staging, |unit| {
        let index = usize::try_from(unit.number % count).unwrap_or(0);
        dirs[index].clone()
    })?;
    let wall = started.elapsed().as_secs_f64();
    let mut manifest = job.manifest.clone();
    manifest["threads"] = serde_json::json!(rayon::current_num_threads());
    manifest["timings"] = serde_json::json!({
        "wall_s": wall,
        "write_s": wall,
        "part_writer_s": serde_json::Value::Null,
        "paths_per_s": serde_json::Value::Null,
    });
    write_manifest(&staging, &manifest)?;
    move_into_place(&staging, &args.out)?;
    remove_bookkeeping(&args.out)?;
    let paths: u32 = summaries.iter().map(|s| s.paths).sum();
    outln!(
        "merged {} shards ({} point(s), {paths} paths) into {}",
        dirs.len(),
        summaries.len(),
        args.out.display()
    )?;
    Ok(())
}
