//! `taosim`: Monte Carlo engine for the economy of Bittensor's subnets.
//!
//! The binary is a thin layer over `taosim-core`: it parses flags (clap), loads TOML, chooses a
//! backend and writes outputs. It is the only crate that uses `anyhow`; errors print their whole
//! chain and exit with status 2 (bad input) or 1 (a run or check that failed).

#[allow(dead_code, reason = "used by `taosim run`, which the engine branch wires in")]
mod output;
mod yuma_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// taosim: Monte Carlo simulation of Bittensor subnet economics.
#[derive(Debug, Parser)]
#[command(name = "taosim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a Yuma consensus scenario epoch by epoch and print each epoch's outputs.
    Yuma(yuma_cmd::YumaArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Yuma(args) => yuma_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
