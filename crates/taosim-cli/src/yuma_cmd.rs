//! `taosim yuma SCENARIO.toml [--format json|table]` (to be written).

use std::path::PathBuf;

/// Arguments of `taosim yuma`.
#[derive(Debug, clap::Args)]
pub(crate) struct YumaArgs {
    /// Scenario file (TOML); see the README for the format.
    scenario: PathBuf,
}

/// Runs the `yuma` subcommand.
pub(crate) fn run(_args: &YumaArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
