//! `taosim`: Monte Carlo engine for the economy of Bittensor's subnets.
//!
//! The binary is a thin layer over `taosim-core`: it parses flags (clap), loads TOML, chooses a
//! backend and writes outputs. It is the only crate that uses `anyhow`; errors print their whole
//! chain on one line and exit with status 2 (bad input: a config, a snapshot, a flag), 1 (a run
//! that failed) or 130 / 143 (a run stopped by SIGINT / SIGTERM, resumable with `--resume`).
//! A reader that closes standard output early (`taosim bench | head`) ends a command quietly with
//! status 0: every report line goes through `outln!` (below), whose broken pipe is not a failure.

/// `println!` that returns the write's `io::Result` instead of panicking when standard output
/// is gone: a command's report lines use it with `?`, and `main` treats a broken pipe as the
/// reader having had enough.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod backend;
mod bench_cmd;
mod compare_cmd;
mod devices_cmd;
mod durable;
mod merge_cmd;
mod output;
mod report;
mod report_cmd;
mod run_cmd;
mod sensitivity;
mod sweep_cmd;
mod yuma_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use taosim_core::simd::{self, SimdLevel, UnknownSimdLevel};

/// taosim: Monte Carlo simulation of Bittensor subnet economics.
#[derive(Debug, Parser)]
#[command(name = "taosim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Monte Carlo paths from a config and write Arrow outputs (the main job).
    Run(run_cmd::RunArgs),
    /// Run every point of a config's `[sweep]` design (grid, zip, lhs, sobol, saltelli) like `run`,
    /// plus `sensitivity.arrow`.
    Sweep(sweep_cmd::SweepArgs),
    /// Combine the folders of `--shard I/N` runs into the outputs of the unsharded run.
    Merge(merge_cmd::MergeArgs),
    /// Replay a Yuma consensus scenario epoch by epoch and print each epoch's outputs.
    Yuma(yuma_cmd::YumaArgs),
    /// List the GPU adapters (name, backend, type, f64/int64 support, key limits).
    Devices(devices_cmd::DevicesArgs),
    /// Measure the standard workloads (docs/performance.md) on the CPU with one thread and all
    /// threads, and on the GPU adapter: subnet-steps/s, their ratios, and the fraction of the
    /// machine's measured multiply-add peak.
    Bench(bench_cmd::BenchArgs),
    /// Plot a run's or sweep's output folder into an HTML page with PNG and SVG figures.
    Report(report_cmd::ReportArgs),
    /// Run the same paths on the CPU and the GPU and print their parity (exit 1 when outside the
    /// documented tolerances).
    Compare(compare_cmd::CompareArgs),
}

/// Caps the CPU kernels' vector level at `TAOSIM_SIMD` when it is set (`baseline`, `avx2` or
/// `avx512`;
/// taosim-core's `simd` module): for measuring one level against another with one
/// binary. The output is the same at every level.
fn cap_simd_from_env() -> Result<(), Failure> {
    let Some(value) = std::env::var_os("TAOSIM_SIMD") else {
        return Ok(());
    };
    let bad = |why: String| Failure::BadInput(anyhow::anyhow!("TAOSIM_SIMD: {why}"));
    let value = value.into_string().map_err(|v| bad(format!("{v:?} is not UTF-8")))?;
    let level: SimdLevel = value.parse().map_err(|e: UnknownSimdLevel| bad(e.to_string()))?;
    if !level.is_available() {
        return Err(bad(format!(
            "this CPU does not run `{level}`; its widest level is `{}`",
            SimdLevel::detected()
        )));
    }
    simd::cap(level);
    Ok(())
}

/// The first value of a list flag (`--subnets 1,64,1`, `--threads 2,1,2`) that repeats an
/// earlier one: clap parses each value alone, so a repeat is only visible in the whole list.
pub(crate) fn first_repeated<T: PartialEq>(values: &[T]) -> Option<&T> {
    values.iter().enumerate().find(|(k, v)| values[..*k].contains(v)).map(|(_, v)| v)
}

/// Whether `error` is stdout's reader having gone away (directly, or inside a JSON write).
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == broken
            || cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

/// Why a command failed, which decides the exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input was wrong (exit 2).
    BadInput(anyhow::Error),
    /// The work itself failed (exit 1).
    Failed(anyhow::Error),
    /// SIGINT or SIGTERM stopped a run after its current batch (exit 128 + the signal: 130 or
    /// 143); the finished batches are kept for `--resume`.
    Interrupted {
        /// The signal number.
        signal: i32,
        /// What was kept and how to continue.
        message: String,
    },
}

/// A failed write of a command's report to standard output (a broken pipe ends it quietly).
impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Failure::Failed(anyhow::Error::new(err).context("cannot write to standard output"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = cap_simd_from_env().and_then(|()| match cli.command {
        Command::Run(args) => run_cmd::run(&args),
        Command::Sweep(args) => sweep_cmd::run(&args),
        Command::Merge(args) => merge_cmd::run(&args),
        Command::Yuma(args) => yuma_cmd::run(&args),
        Command::Devices(args) => devices_cmd::run(&args).map_err(Failure::Failed),
        Command::Bench(args) => bench_cmd::run(&args),
        Command::Report(args) => report_cmd::run(&args),
        Command::Compare(args) => compare_cmd::run(&args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(err) | Failure::Failed(err)) if is_broken_pipe(&err) => {
            ExitCode::SUCCESS
        }
        Err(Failure::BadInput(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
        Err(Failure::Interrupted { signal, message }) => {
            eprintln!("taosim: {message}");
            ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
        }
    }
}
