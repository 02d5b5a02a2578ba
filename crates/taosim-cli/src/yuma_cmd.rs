//! `taosim yuma SCENARIO.toml [--format json|table]`: replays a Yuma scenario epoch by epoch
//! (`taosim_core::yuma_scenario`, format in `docs/yuma.md`) and prints each epoch's consensus,
//! incentive, dividends, validator trust and stored bonds.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use taosim_core::yuma_scenario::{EpochReport, YumaScenario, parse_scenario};

use crate::Failure;

/// Output format of `taosim yuma`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Readable per-epoch blocks of per-uid columns.
    #[default]
    Table,
    /// A JSON array, one object per epoch.
    Json,
}

/// Arguments of `taosim yuma`.
#[derive(Debug, clap::Args)]
pub(crate) struct YumaArgs {
    /// Scenario file (TOML); see docs/yuma.md for the format.
    scenario: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs the `yuma` subcommand: a bad scenario is bad input (exit 2), a failed write a failure
/// (exit 1), and a reader that stops reading (`taosim yuma ... | head`) ends the replay quietly.
pub(crate) fn run(args: &YumaArgs) -> Result<(), Failure> {
    let path = args.scenario.display();
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read scenario {path}"))
        .map_err(Failure::BadInput)?;
    // A `[metagraph]` table's files are relative to the scenario's folder.
    let dir = args.scenario.parent().unwrap_or(Path::new("."));
    let scenario = parse_scenario(&text, dir)
        .with_context(|| format!("invalid scenario {path}"))
        .map_err(Failure::BadInput)?;
    match write_replay(&scenario, args.format) {
        Err(e) if crate::is_broken_pipe(&e) => Ok(()),
        written => written.map_err(Failure::Failed),
    }
}

/// Replays `scenario` onto stdout in `format`, each epoch written as it is replayed: a long
/// metagraph replay never holds every epoch's bonds at once.
fn write_replay(scenario: &YumaScenario, format: Format) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => {
            let mut separator = "[\n";
            scenario.replay_each(|report| -> anyhow::Result<()> {
                out.write_all(separator.as_bytes())?;
                serde_json::to_writer_pretty(&mut out, &report)?;
                separator = ",\n";
                Ok(())
            })?;
            out.write_all(b"\n]\n")?;
        }
        Format::Table => {
            scenario.replay_each(|report| out.write_all(epoch_block(&report).as_bytes()))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Widest subnet whose bond rows are printed whole; a larger one (a real metagraph) lists each
/// bonded row's nonzero entries as `uid:bond`.
const DENSE_BONDS_MAX_UIDS: usize = 16;

/// One epoch's block of the table: one line per uid with any nonzero output (a count of the
/// others), then the nonzero bond rows, then a blank line.
fn epoch_block(r: &EpochReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "epoch {}", r.epoch);
    let _ = writeln!(
        s,
        "  {:>4}  {:>10}  {:>10}  {:>10}  {:>10}",
        "uid", "consensus", "incentive", "dividends", "v_trust"
    );
    let n = r.consensus.len();
    let mut quiet = 0;
    for uid in 0..n {
        let row = [r.consensus[uid], r.incentive[uid], r.dividends[uid], r.validator_trust[uid]];
        if row.iter().all(|&x| x == 0.0) {
            quiet += 1;
            continue;
        }
        let _ = writeln!(
            s,
            "  {:>4}  {:>10.6}  {:>10.6}  {:>10.6}  {:>10.6}",
            uid, row[0], row[1], row[2], row[3]
        );
    }
    if quiet > 0 {
        let _ = writeln!(s, "  ({quiet} of {n} uids with all four 0 not listed)");
    }
    let bonded: Vec<usize> =
        (0..r.bonds.len()).filter(|&i| r.bonds[i].iter().any(|&b| b != 0.0)).collect();
    if bonded.is_empty() {
        let _ = writeln!(s, "  bonds: none");
    } else if n <= DENSE_BONDS_MAX_UIDS {
        let _ = writeln!(s, "  bonds (row = bonding uid, columns = uids 0..n):");
        for i in bonded {
            let cells: Vec<String> = r.bonds[i].iter().map(|b| format!("{b:.6}")).collect();
            let _ = writeln!(s, "  {:>4}  {}", i, cells.join("  "));
        }
    } else {
        let _ = writeln!(s, "  bonds (row = bonding uid, then uid:bond where nonzero):");
        for i in bonded {
            let cells: Vec<String> = (0..n)
                .filter(|&j| r.bonds[i][j] != 0.0)
                .map(|j| format!("{j}:{:.6}", r.bonds[i][j]))
                .collect();
            let _ = writeln!(s, "  {:>4}  {}", i, cells.join(" "));
        }
    }
    s.push('\n');
    s
}
