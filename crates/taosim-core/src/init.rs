//! Initial state of a run: a snapshot CSV or a synthetic network (model.md §10).
//!
//! [`initial_network`] picks [`synthetic`] when `init.synthetic` is set, else [`load_snapshot`]
//! of `init.snapshot` relative to the config file's folder. The bundled snapshots live in
//! `configs/snapshots/` (their README gives sources, blocks and caveats).
//!
//! # Snapshot formats
//!
//! The format is told by the header: a file with an `alpha_out` column is the bittensor SDK's
//! `all_subnets()` export ([`SnapshotFormat::SdkAllSubnets`], 2026-04-11); one with
//! `alpha_outstanding_est` is the archive-node storage export
//! ([`SnapshotFormat::ArchiveStorage`], 2026-09-30). Both need `netuid`, `tao_in`, `alpha_in`
//! and `registered_at_block`; other columns are optional and extra columns are ignored. Cells
//! may be double-quoted (`""` is a quote inside one); a line break inside a quoted cell is not
//! supported. Every error names the file, the 1-based line and the column.
//!
//! # Fill rules (the chain state a snapshot does not carry)
//!
//! - **Pool**: `tao_in` and `alpha_in`, both must be > 0; the spot price is `tao_in / alpha_in`
//!   (the `price` column is not read: it equals that ratio in both files).
//! - **Moving price P̄**: the `moving_price` cell when present, else the spot price clipped at 1
//!   (the chain's EMA input is `min(p, 1)`, chain.md §2.2). On 2026-04-11 that estimate is within
//!   1.7% (mean |log error|) of the published P̄ for the 127 subnets that have one, young subnets
//!   included. A subnet that is not yet emitting and has no cell gets 0, the chain's
//!   `DefaultMovingPrice` for a subnet whose EMA was never advanced.
//! - **registered_block**: `registered_at_block`.
//! - **first_emission_block**: the `first_emission_block` cell; without the column,
//!   `registered_block + chain.start_call_blocks` (owners call `start_call` as soon as allowed).
//!   An empty cell in a file that has the column means `start_call` had not been called yet:
//!   `max(registered_block + chain.start_call_blocks, block)`, i.e. the owner calls it as soon as
//!   allowed from the snapshot on.
//! - **Startup artifact**: a subnet with `tao_in` below [`ARTIFACT_POOL_TAO`] = 10 TAO (SN96 on
//!   2026-04-11: 1.68 TAO and no emission yet; the next smallest pool was 23.8 TAO) keeps its pool but is marked not yet emitting:
//!   `first_emission_block = max(filled value, block + chain.start_call_blocks)`.
//! - **miner_burn**: `miner_burned_share` (0-1) when present, else 0.
//! - **flow_ema**: 0. The chain initialises the EMA from zero; Taostats' `ema_tao_flow` (in
//!   `flows_7subnets_2026-04-11.csv`) is in undocumented units and covers 7 subnets only, so it
//!   cannot seed the EMA, and the 30-day net flows are not an EMA either.
//! - **Held alpha**: `alpha_out` (SDK) or `alpha_outstanding_est` (archive), split among holder
//!   classes by [`DEFAULT_HOLDER_SPLIT`] (organic 0.60, validators 0.25, miners 0.10, owner 0.05,
//!   root 0).
//! - **Root**: a `netuid` 0 row gives `root_tao` from its `tao_in` (2026-04-11: 5,025,713.5) and
//!   is not a subnet. Without it, or when `init.root_tao` differs from its default,
//!   `init.root_tao` is used.
//! - **Block**: `init.block` when it differs from its default, else the file format's known
//!   block ([`SnapshotFormat::known_block`]: 7,947,100 for the SDK export of 2026-04-11,
//!   9,184,186 for the archive export of 2026-09-30).
//! - **Issuance**: `init.issuance` always (its default is the 2026-04-11 value; by 2026-09-30
//!   about 0.6M more TAO had been minted, which only moves the next halving, years away).
//! - **Name**: the `name` cell, or `sn<netuid>` when empty or absent.
//!
//! Netuids must be in `1..=chain.subnet_limit` and appear once.

use std::path::Path;

use crate::config::{InitConfig, RunConfig};
use crate::csv::{CsvTable, Row};
use crate::params::ChainParams;
use crate::rng::{PathRng, lognormal, stream};
use crate::{Error, Result};

/// One subnet at the start of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitialSubnet {
    /// Netuid (1..=subnet_limit); the slot is `netuid - 1`.
    pub netuid: u16,
    /// Name.
    pub name: String,
    /// Pool TAO.
    pub tao: f64,
    /// Pool alpha.
    pub alpha: f64,
    /// Moving price P̄.
    pub moving_price: f64,
    /// Block of registration.
    pub registered_block: u32,
    /// First block with emission.
    pub first_emission_block: u32,
    /// Fraction of miner incentive burned by owner-associated miners.
    pub miner_burn: f64,
    /// Flow EMA S, TAO per block.
    pub flow_ema: f64,
    /// Alpha held by organic stakers.
    pub held_organic: f64,
    /// Alpha held by miners.
    pub held_miners: f64,
    /// Alpha held by validators.
    pub held_validators: f64,
    /// Alpha held by the owner.
    pub held_owner: f64,
    /// Alpha held by root claimers.
    pub held_root: f64,
}

/// The whole network at the start of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitialNetwork {
    /// The active subnets, by netuid ascending (slots not listed start empty).
    pub subnets: Vec<InitialSubnet>,
    /// TAO total issuance.
    pub issuance: f64,
    /// TAO staked on root.
    pub root_tao: f64,
    /// Start block.
    pub block: u32,
}

/// How outstanding alpha is split among the holder classes when a snapshot does not say.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HolderSplit {
    /// Organic stakers (delegators and traders).
    pub organic: f64,
    /// Validators' own stake.
    pub validators: f64,
    /// Miners.
    pub miners: f64,
    /// The subnet owner.
    pub owner: f64,
    /// Root claimers.
    pub root: f64,
}

/// The default split of outstanding alpha (sums to 1).
///
/// Emission pays miners 41%, validators 41% and the owner 18% of alpha_out, but miners and
/// validators sell much of it (`behaviour.miner_sell` 0.6, `validator_sell` 0.3) and most of what
/// validators hold is delegated stake, which behaves like organic holdings; so organic holders
/// are taken as the majority (0.60), validators' own stake 0.25, miners 0.10 and owners 0.05.
/// Root claimers hold none: the default `root_claim = "swap"` turns their alpha into TAO.
pub const DEFAULT_HOLDER_SPLIT: HolderSplit =
    HolderSplit { organic: 0.60, validators: 0.25, miners: 0.10, owner: 0.05, root: 0.0 };

/// Pool TAO below which a snapshot subnet is taken as a startup artifact (not yet emitting).
///
/// SN96 on 2026-04-11 had 1.68 TAO, so "below 1 TAO" would miss it; the next smallest pools were
/// 23.8 TAO (2026-04-11) and 268 TAO (2026-09-30), real subnets, so 10 TAO separates the two.
pub const ARTIFACT_POOL_TAO: f64 = 10.0;

/// Outstanding alpha of a synthetic subnet as a multiple of its pool alpha (the median ratio
/// `alpha_out / alpha_in` was 1.65 on 2026-04-11 and 1.47 on 2026-09-30).
pub const SYNTHETIC_ALPHA_OUT_RATIO: f64 = 1.5;

/// Block of the 2026-04-11 snapshot (about; the SDK export does not record it).
pub const SNAPSHOT_2026_04_11_BLOCK: u32 = 7_947_100;
/// Block of the 2026-09-30 snapshot (archive-node reads at 23:59 UTC).
pub const SNAPSHOT_2026_09_30_BLOCK: u32 = 9_184_186;

/// The two snapshot CSV layouts, told apart by their header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// The bittensor SDK's `all_subnets()` export (column `alpha_out`), 2026-04-11.
    SdkAllSubnets,
    /// Archive-node storage reads (column `alpha_outstanding_est`), 2026-09-30.
    ArchiveStorage,
}

impl SnapshotFormat {
    /// The column holding outstanding alpha.
    pub fn alpha_out_column(self) -> &'static str {
        match self {
            SnapshotFormat::SdkAllSubnets => "alpha_out",
            SnapshotFormat::ArchiveStorage => "alpha_outstanding_est",
        }
    }

    /// The block of the bundled snapshot in this format, used when `init.block` is left at its
    /// default.
    pub fn known_block(self) -> u32 {
        match self {
            SnapshotFormat::SdkAllSubnets => SNAPSHOT_2026_04_11_BLOCK,
            SnapshotFormat::ArchiveStorage => SNAPSHOT_2026_09_30_BLOCK,
        }
    }
}

/// The initial network of a run: synthetic when `init.synthetic` is set (seeded by `run.seed`),
/// else the snapshot `init.snapshot` resolved against `config_dir` (the config file's folder).
///
/// Every pool must hold at least `chain.min_reserve` (and one rao) of TAO and alpha, the runtime
/// guard's bound for a live pool: a snapshot row below it is an error naming its line, a
/// synthetic subnet one naming the keys that set its pool.
pub fn initial_network(config: &RunConfig, config_dir: &Path) -> Result<InitialNetwork> {
    if config.init.synthetic.is_none() {
        return load_snapshot(&config_dir.join(&config.init.snapshot), config);
    }
    let network = synthetic(config, config.run.seed);
    let floor = config.chain.reserve_floor();
    if let Some(s) = network.subnets.iter().find(|s| s.tao < floor || s.alpha < floor) {
        return Err(Error::OutOfRange {
            key: "init.synthetic.pool_tao_median, init.synthetic.price_median, chain.min_reserve"
                .to_string(),
            value: format!("netuid {}: pool {} TAO, {} alpha", s.netuid, s.tao, s.alpha),
            allowed: format!(
                "every synthetic pool at least {} TAO and alpha",
                floor_named(&config.chain)
            ),
        });
    }
    Ok(network)
}

/// A synthetic network from `init.synthetic` (defaults if unset): `subnets` subnets (at most
/// `chain.subnet_limit`) with lognormal pool TAO and spot price around the configured medians.
///
/// Draws come from Philox under `seed` at point 0, path 0, step 0, stream
/// [`stream::INIT_SYNTHETIC`], one block of four words per slot (pool TAO from words 0-1, price
/// from words 2-3), so the network depends only on the seed and is the same for every path.
/// Subnets are registered `immunity_period + start_call_blocks` before the start block (past
/// immunity, emitting), P̄ is the price clipped at 1, outstanding alpha is
/// [`SYNTHETIC_ALPHA_OUT_RATIO`] times pool alpha split by [`DEFAULT_HOLDER_SPLIT`], flow EMA 0,
/// no miner burn; names are `synthetic-<netuid>`.
pub fn synthetic(config: &RunConfig, seed: u64) -> InitialNetwork {
    let params = config.init.synthetic.clone().unwrap_or_default();
    let chain = &config.chain;
    let block = config.init.block;
    let start_call = blocks_u32(chain.start_call_blocks);
    let registered_block =
        block.saturating_sub(blocks_u32(chain.immunity_period).saturating_add(start_call));
    let rng = PathRng::new(seed, 0, 0);
    let count = params.subnets.min(chain.subnet_limit).min(u32::from(u16::MAX));
    let subnets = (0..count)
        .map(|slot| {
            let words = rng.block(0, slot, stream::INIT_SYNTHETIC);
            let tao = lognormal::<f64>(
                params.pool_tao_median.ln(),
                params.pool_tao_sigma,
                words[0],
                words[1],
            );
            let price =
                lognormal::<f64>(params.price_median.ln(), params.price_sigma, words[2], words[3]);
            let alpha = tao / price;
            let netuid = (slot + 1) as u16;
            with_holders(
                InitialSubnet {
                    netuid,
                    name: format!("synthetic-{netuid}"),
                    tao,
                    alpha,
                    moving_price: price.min(1.0),
                    registered_block,
                    first_emission_block: registered_block.saturating_add(start_call),
                    ..InitialSubnet::default()
                },
                SYNTHETIC_ALPHA_OUT_RATIO * alpha,
            )
        })
        .collect();
    InitialNetwork {
        subnets,
        issuance: config.init.issuance,
        root_tao: config.init.root_tao,
        block,
    }
}

/// Loads a snapshot CSV (either [`SnapshotFormat`]) and fills what it lacks by the module's fill
/// rules. Errors ([`Error::Parse`]) name the file, the 1-based line and the column.
pub fn load_snapshot(path: &Path, config: &RunConfig) -> Result<InitialNetwork> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Parse(format!("{file}: cannot read the snapshot: {e}")))?;
    parse_snapshot(&file, &text, config)
}

/// [`load_snapshot`] on text already read; `file` names the source in errors.
pub fn parse_snapshot(file: &str, text: &str, config: &RunConfig) -> Result<InitialNetwork> {
    let table = CsvTable::parse(file, text, "netuid,name,tao_in,...")?;
    let cols = Columns::find(&table)?;
    let defaults = InitConfig::default();
    let block = if config.init.block == defaults.block {
        cols.format.known_block()
    } else {
        config.init.block
    };
    let start_call = blocks_u32(config.chain.start_call_blocks);
    let limit = config.chain.subnet_limit;

    let mut root_from_file: Option<f64> = None;
    let mut seen_on_line = vec![0_usize; limit as usize + 1];
    let mut subnets = Vec::new();
    for row in table.rows() {
        let netuid = row.integer(cols.netuid, "netuid")?;
        if netuid == 0 {
            if let Some(tao) = row.optional_number(Some(cols.tao_in), "tao_in")? {
                root_from_file = Some(row.check(tao >= 0.0, "tao_in", tao, "a negative amount")?);
            }
            continue;
        }
        if netuid > limit {
            return Err(row.error(
                "netuid",
                format!("netuid {netuid} is beyond `chain.subnet_limit` = {limit}"),
            ));
        }
        let slot = netuid as usize;
        if seen_on_line[slot] != 0 {
            return Err(
                row.error("netuid", format!("netuid {netuid} repeats line {}", seen_on_line[slot]))
            );
        }
        seen_on_line[slot] = row.line;

        let tao = reserve(&row, cols.tao_in, "tao_in", &config.chain)?;
        let alpha = reserve(&row, cols.alpha_in, "alpha_in", &config.chain)?;
        let alpha_out_name = cols.format.alpha_out_column();
        let alpha_out = row.number(cols.alpha_out, alpha_out_name)?;
        row.check(alpha_out >= 0.0, alpha_out_name, alpha_out, "a negative amount")?;
        let registered_block = row.integer(cols.registered_at_block, "registered_at_block")?;
        let artifact = tao < ARTIFACT_POOL_TAO;

        let mut first_emission_block = match cols.first_emission_block {
            None => registered_block.saturating_add(start_call),
            Some(col) => match row.optional_integer(col, "first_emission_block")? {
                Some(b) => b,
                None => registered_block.saturating_add(start_call).max(block),
            },
        };
        if artifact {
            first_emission_block = first_emission_block.max(block.saturating_add(start_call));
        }
        let moving_price = match row.optional_number(cols.moving_price, "moving_price")? {
            Some(p) => row.check(p >= 0.0, "moving_price", p, "a negative price")?,
            None if artifact => 0.0,
            None => (tao / alpha).min(1.0),
        };
        let miner_burn = match row.optional_number(cols.miner_burned_share, "miner_burned_share")? {
            Some(b) => {
                row.check((0.0..=1.0).contains(&b), "miner_burned_share", b, "outside [0, 1]")?
            }
            None => 0.0,
        };
        let name = cols
            .name
            .map(|c| row.cell(c).to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("sn{netuid}"));
        subnets.push(with_holders(
            InitialSubnet {
                netuid: netuid as u16,
                name,
                tao,
                alpha,
                moving_price,
                registered_block,
                first_emission_block,
                miner_burn,
                flow_ema: 0.0,
                ..InitialSubnet::default()
            },
            alpha_out,
        ));
    }
    if subnets.is_empty() {
        return Err(Error::Parse(format!(
            "{file}: line 2 and after: no subnet rows (netuid 1 and up) after the header"
        )));
    }
    subnets.sort_by_key(|s| s.netuid);
    let root_tao = match root_from_file {
        Some(tao) if config.init.root_tao == defaults.root_tao => tao,
        _ => config.init.root_tao,
    };
    Ok(InitialNetwork { subnets, issuance: config.init.issuance, root_tao, block })
}

/// Splits `alpha_out` among the holder classes by [`DEFAULT_HOLDER_SPLIT`].
fn with_holders(subnet: InitialSubnet, alpha_out: f64) -> InitialSubnet {
    let s = DEFAULT_HOLDER_SPLIT;
    InitialSubnet {
        held_organic: alpha_out * s.organic,
        held_validators: alpha_out * s.validators,
        held_miners: alpha_out * s.miners,
        held_owner: alpha_out * s.owner,
        held_root: alpha_out * s.root,
        ..subnet
    }
}

/// A block count as `u32` (validation keeps chain block counts within `u32`).
fn blocks_u32(blocks: u64) -> u32 {
    u32::try_from(blocks).unwrap_or(u32::MAX)
}

/// The column indices a snapshot uses.
struct Columns {
    format: SnapshotFormat,
    netuid: usize,
    name: Option<usize>,
    tao_in: usize,
    alpha_in: usize,
    alpha_out: usize,
    registered_at_block: usize,
    first_emission_block: Option<usize>,
    moving_price: Option<usize>,
    miner_burned_share: Option<usize>,
}

impl Columns {
    fn find(table: &CsvTable<'_>) -> Result<Self> {
        let (format, alpha_out) = if let Some(c) = table.column("alpha_out") {
            (SnapshotFormat::SdkAllSubnets, c)
        } else if let Some(c) = table.column("alpha_outstanding_est") {
            (SnapshotFormat::ArchiveStorage, c)
        } else {
            return Err(Error::Parse(format!(
                "{}: line 1 (header): missing required column `alpha_out` (SDK export) or \
                 `alpha_outstanding_est` (archive export)",
                table.file
            )));
        };
        Ok(Self {
            format,
            netuid: table.required("netuid")?,
            name: table.column("name"),
            tao_in: table.required("tao_in")?,
            alpha_in: table.required("alpha_in")?,
            alpha_out,
            registered_at_block: table.required("registered_at_block")?,
            first_emission_block: table.column("first_emission_block"),
            moving_price: table.column("moving_price"),
            miner_burned_share: table.column("miner_burned_share"),
        })
    }
}

/// The reserve floor as an error names it: the key and its value, and the rao that a zero keeps.
fn floor_named(chain: &ChainParams) -> String {
    let floor = chain.reserve_floor();
    if floor > chain.min_reserve {
        format!("`chain.min_reserve` = {} (one rao, {floor}, at least)", chain.min_reserve)
    } else {
        format!("`chain.min_reserve` = {floor}")
    }
}

/// A pool reserve: a number > 0, at least the reserve floor.
fn reserve(row: &Row<'_>, col: usize, name: &str, chain: &ChainParams) -> Result<f64> {
    let v = row.number(col, name)?;
    if v < 0.0 {
        Err(row.error(name, format!("`{v}` is a negative reserve")))
    } else if v == 0.0 {
        Err(row.error(name, "a zero reserve (pools need TAO and alpha above 0)"))
    } else if v < chain.reserve_floor() {
        Err(row
            .error(name, format!("`{v}` is below {}, which a live pool keeps", floor_named(chain))))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_split_sums_to_one() {
        let s = DEFAULT_HOLDER_SPLIT;
        assert!((s.organic + s.validators + s.miners + s.owner + s.root - 1.0).abs() < 1e-15);
    }
}
