//! The run configuration (`taosim run CONFIG.toml`): every key, its default and its meaning.
//!
//! The TOML maps onto [`RunConfig`] (serde, unknown keys rejected). Every field has a default, so
//! an empty file is a valid config: the Taoflow-era baseline from the bundled 2026-04-11
//! snapshot. `configs/example.toml` lists every key with its default and is parsed by a test, so
//! this module and that file cannot drift apart. [`RunConfig::validate`] checks ranges and
//! cross-field rules and names the key and the allowed values in its error.
//!
//! Units: amounts in TAO / alpha, rates per day unless the key says otherwise (`_per_year`),
//! times in days (converted to steps of `blocks_per_step` blocks, 7,200 blocks a day).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cpu::payouts::RootClaim;
use crate::model::yuma::YumaVersion;
use crate::params::{BLOCKS_PER_DAY, ChainParams, TOTAL_SUPPLY};
use crate::{Error, Result};

/// A whole run: what to simulate, how long, how many paths, what to write.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Paths, horizon, seed, step length.
    pub run: RunSection,
    /// The chain's parameters (emission regime, AMM, fees, EMAs, lock, pruning).
    pub chain: ChainParams,
    /// Initial state: a snapshot CSV or a synthetic network.
    pub init: InitConfig,
    /// Staker behaviour (model.md §8).
    pub behaviour: BehaviourParams,
    /// Yuma consensus inside each subnet and the validators' strategies (model.md §7).
    pub yuma: YumaRunParams,
    /// New-subnet arrivals (model.md §6).
    pub registration: RegistrationParams,
    /// Death-spiral definition (model.md §9).
    pub death_spiral: DeathSpiralParams,
    /// Sampled time series.
    pub output: OutputParams,
}

/// Paths, horizon, seed and step length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSection {
    /// Monte Carlo paths per point.
    pub paths: u32,
    /// Horizon in days.
    pub days: f64,
    /// Seed of every random draw (Philox key).
    pub seed: u64,
    /// Blocks per step: 361 (one Taoflow-era epoch window) or any divisor-free count down to 1.
    pub blocks_per_step: u32,
    /// Paths per batch (a batch is the unit of parallel work and of output streaming). Results do
    /// not depend on it.
    pub batch_paths: u32,
    /// Paths per device batch on the GPU backend (more paths keep a GPU busier), lowered
    /// automatically to what the adapter's buffer limits hold. Results do not depend on it.
    pub device_batch_paths: u32,
}

impl Default for RunSection {
    fn default() -> Self {
        Self {
            paths: 256,
            days: 180.0,
            seed: 1,
            blocks_per_step: 361,
            batch_paths: 64,
            device_batch_paths: 4096,
        }
    }
}

/// Initial state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InitConfig {
    /// Snapshot CSV, relative to the config file's folder (ignored when `synthetic` is set).
    pub snapshot: String,
    /// A synthetic network instead of a snapshot.
    pub synthetic: Option<SyntheticInit>,
    /// TAO total issuance at the start (2026-04-11: about 10.92M, after the Dec 2025 halving).
    pub issuance: f64,
    /// TAO staked on root at the start (2026-04-11: 5,025,713.5).
    pub root_tao: f64,
    /// Start block (2026-04-11: about 7,947,100).
    pub block: u32,
}

impl Default for InitConfig {
    fn default() -> Self {
        Self {
            snapshot: "snapshots/2026-04-11.csv".to_string(),
            synthetic: None,
            issuance: 10_920_000.0,
            root_tao: 5_025_713.5,
            block: 7_947_100,
        }
    }
}

/// A synthetic network: lognormal pool sizes and prices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticInit {
    /// Number of active subnets (at most `chain.subnet_limit`).
    pub subnets: u32,
    /// Median pool TAO.
    pub pool_tao_median: f64,
    /// Log-sd of pool TAO.
    pub pool_tao_sigma: f64,
    /// Median spot price (TAO per alpha).
    pub price_median: f64,
    /// Log-sd of the price.
    pub price_sigma: f64,
}

impl Default for SyntheticInit {
    fn default() -> Self {
        // Fitted to the 2026-04-11 snapshot's quantiles (data README): median pool 7,910 TAO,
        // median price 0.0059.
        Self {
            subnets: 128,
            pool_tao_median: 7_910.0,
            pool_tao_sigma: 1.3,
            price_median: 0.0059,
            price_sigma: 0.7,
        }
    }
}

/// Staker behaviour (model.md §8). Every key is sweepable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourParams {
    /// Drift of latent quality q per day.
    pub quality_drift: f64,
    /// Volatility of latent quality per sqrt(day).
    pub quality_sigma: f64,
    /// Quality jumps per year (Poisson).
    pub jump_rate_per_year: f64,
    /// Standard deviation of a quality jump.
    pub jump_sigma: f64,
    /// Volatility of the global market factor g per sqrt(day) (an OU process).
    pub market_sigma: f64,
    /// Half-life of the market factor's mean reversion, days.
    pub market_halflife_days: f64,
    /// Half-life of momentum (EMA of log price returns), days.
    pub momentum_halflife_days: f64,
    /// Weight of quality in attractiveness.
    pub beta_quality: f64,
    /// Weight of momentum in attractiveness (per unit of daily log return).
    pub beta_momentum: f64,
    /// Weight of excess yield (annualised) in attractiveness.
    pub beta_yield: f64,
    /// Penalty on attractiveness while the emission share is zero.
    pub beta_zero_share: f64,
    /// Bound on |attractiveness|: organic flows move at most `e^max_attractiveness` times their
    /// baseline. Without it the feedbacks run away on new subnets, whose first stakers see
    /// enormous annualised yields and price momentum.
    pub max_attractiveness: f64,
    /// Organic inflow per day into a subnet of mean pool size at attractiveness 0, TAO.
    pub inflow_tao_per_day: f64,
    /// Elasticity of inflow to pool size (size = pool TAO / mean pool TAO).
    pub size_elasticity: f64,
    /// Log-sd of the lognormal noise on organic flows.
    pub flow_noise: f64,
    /// Fraction of organic holders' alpha sold per day at attractiveness 0.
    pub outflow_rate_per_day: f64,
    /// Drawdown from the running peak price at which holders panic (0.5 = price halved).
    pub panic_drawdown: f64,
    /// Fraction of organic alpha sold per day while in panic.
    pub panic_rate_per_day: f64,
    /// Days of zero emission share before holders start leaving.
    pub zero_emission_patience_days: f64,
    /// Fraction of organic alpha sold per day once patience has run out.
    pub zero_emission_exit_per_day: f64,
    /// Whale orders per subnet per year (Poisson), entering or exiting with equal odds.
    pub whale_rate_per_year: f64,
    /// Median whale order, TAO.
    pub whale_size_median: f64,
    /// Log-sd of whale order size.
    pub whale_size_sigma: f64,
    /// Fraction of received incentive miners sell at once.
    pub miner_sell: f64,
    /// Fraction of received dividends validators sell at once.
    pub validator_sell: f64,
    /// Fraction of the owner cut the owner sells at once.
    pub owner_sell: f64,
    /// Root dividends: `"swap"` (claimed as TAO, the chain default) or `"keep"` (kept as alpha).
    pub root_claim: RootClaim,
    /// Off-chain revenue staked into the subnet's own pool each day, TAO, for every subnet.
    pub buyback_tao_per_day: f64,
    /// Per-netuid revenue buybacks, TAO per day (overrides `buyback_tao_per_day`), e.g.
    /// `{ 64 = 100.0 }`.
    pub buyback_by_netuid: std::collections::BTreeMap<String, f64>,
}

impl Default for BehaviourParams {
    fn default() -> Self {
        // Calibrated against the 2026-04-11 → 2026-09-30 observations (docs/calibration.md).
        Self {
            quality_drift: 0.0,
            quality_sigma: 0.02,
            jump_rate_per_year: 1.0,
            jump_sigma: 0.5,
            market_sigma: 0.05,
            market_halflife_days: 30.0,
            momentum_halflife_days: 7.0,
            beta_quality: 1.0,
            beta_momentum: 2.0,
            beta_yield: 2.0,
            beta_zero_share: 0.1,
            max_attractiveness: 3.0,
            inflow_tao_per_day: 70.0,
            size_elasticity: 0.8,
            flow_noise: 0.5,
            outflow_rate_per_day: 0.002,
            panic_drawdown: 0.6,
            panic_rate_per_day: 0.005,
            zero_emission_patience_days: 21.0,
            zero_emission_exit_per_day: 0.001,
            whale_rate_per_year: 4.0,
            whale_size_median: 2_000.0,
            whale_size_sigma: 1.0,
            miner_sell: 0.8,
            validator_sell: 0.5,
            owner_sell: 0.5,
            root_claim: RootClaim::Swap,
            buyback_tao_per_day: 0.0,
            buyback_by_netuid: std::collections::BTreeMap::new(),
        }
    }
}

/// Yuma consensus inside each subnet (model.md §7, chain.md §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YumaRunParams {
    /// Run Yuma per subnet each epoch; off (the default): the pending miner and validator halves
    /// go to miners and validators directly (model.md §3 item 6). Ecosystem estimates (spirals,
    /// prunings, pool TAO) need only that split; Yuma at V = 8, M = 32 costs about 20 times the
    /// rest of a step on the CPU, so it is switched on where the question is inside a subnet
    /// (cartels, weight copiers, incentive concentration).
    pub enabled: bool,
    /// `"yuma2"` (original bonds) or `"yuma3"`.
    pub version: YumaVersion,
    /// Validators per subnet V (the chain allows up to 64).
    pub validators: u32,
    /// Miners per subnet M (the chain allows up to 256 uids).
    pub miners: u32,
    /// Consensus majority kappa.
    pub kappa: f64,
    /// Per-epoch bond EMA keep factor.
    pub bonds_moving_average: f64,
    /// Bonds penalty beta.
    pub bonds_penalty: f64,
    /// Liquid alpha on (Yuma3).
    pub liquid_alpha: bool,
    /// Zipf exponent of the validator stake split.
    pub stake_zipf: f64,
    /// Noise of honest validators' weights around miner quality.
    pub weight_noise: f64,
    /// Volatility of miner quality per sqrt(epoch) (a slow random walk).
    pub miner_quality_sigma: f64,
    /// Fraction of validator stake held by a cartel that weights only its own miners.
    pub cartel_stake: f64,
    /// Number of miners the cartel owns (the last uids).
    pub cartel_miners: u32,
    /// Fraction of validator stake held by weight copiers.
    pub copier_stake: f64,
    /// Epochs between commit and reveal: copiers see the consensus this many epochs old.
    pub reveal_epochs: u32,
}

impl Default for YumaRunParams {
    fn default() -> Self {
        Self {
            enabled: false,
            version: YumaVersion::Yuma3,
            validators: 8,
            miners: 32,
            kappa: crate::params::KAPPA,
            bonds_moving_average: 0.975,
            bonds_penalty: 1.0,
            liquid_alpha: false,
            stake_zipf: 1.0,
            weight_noise: 0.1,
            miner_quality_sigma: 0.02,
            cartel_stake: 0.0,
            cartel_miners: 2,
            copier_stake: 0.0,
            reveal_epochs: 1,
        }
    }
}

/// New-subnet arrivals (model.md §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationParams {
    /// Registrants arriving per day (Poisson); each registers if the rate limit allows and the
    /// lock cost is below its willingness to pay.
    pub rate_per_day: f64,
    /// Median willingness to pay, TAO (lognormal).
    pub willingness_median: f64,
    /// Log-sd of the willingness to pay.
    pub willingness_sigma: f64,
    /// TAO a new subnet's pool starts with: the chain's rule puts `chain.min_lock_cost` there and
    /// recycles the rest; mainnet subnets were seen starting with 270-630 TAO (the lock's TAO
    /// was then staked by the owner), so this default is 450 and is paid out of the lock.
    pub start_pool_tao: f64,
}

impl Default for RegistrationParams {
    fn default() -> Self {
        Self {
            rate_per_day: 0.25,
            willingness_median: 1_500.0,
            willingness_sigma: 0.5,
            start_pool_tao: 450.0,
        }
    }
}

/// Death-spiral definition (model.md §9): all three must hold at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeathSpiralParams {
    /// Days of zero emission share, at least.
    pub zero_share_days: f64,
    /// Spot price at most this fraction of its running peak.
    pub price_fraction: f64,
    /// Pool TAO at most this fraction of its start value.
    pub pool_fraction: f64,
}

impl Default for DeathSpiralParams {
    fn default() -> Self {
        Self { zero_share_days: 30.0, price_fraction: 0.3, pool_fraction: 0.5 }
    }
}

/// Sampled time series (`traces.arrow`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputParams {
    /// Days between trace samples.
    pub every_days: f64,
    /// Number of paths traced (the first ones; all of them when above `run.paths`); 0 writes no
    /// traces.
    pub trace_paths: u32,
}

impl Default for OutputParams {
    fn default() -> Self {
        Self { every_days: 1.0, trace_paths: 8 }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------------

/// Most validators a subnet may have (`MaxAllowedValidators` upper bound on the chain).
pub const MAX_VALIDATORS: u32 = 64;
/// Most uids a subnet may have (validators plus miners; `MaxAllowedUids`).
pub const MAX_UIDS: u32 = 256;
/// Most subnet slots the model supports (model.md: up to 256).
pub const MAX_SUBNET_LIMIT: u32 = 256;
/// Largest swap fee the chain accepts (`FeeRate` at most 10,000 / 65,535, about 15%).
pub const MAX_FEE_RATE: f64 = 10_000.0 / 65_535.0;
/// Most epochs between commit and reveal the model accepts.
pub const MAX_REVEAL_EPOCHS: u32 = 100;

const FRACTION: &str = "a number in [0, 1]";
const FRACTION_POSITIVE: &str = "a number in (0, 1]";
const NON_NEGATIVE: &str = "a finite number >= 0";
const POSITIVE: &str = "a finite number > 0";
const FINITE: &str = "a finite number";

fn out_of_range(key: &str, value: impl ToString, allowed: impl Into<String>) -> Error {
    Error::OutOfRange { key: key.to_string(), value: value.to_string(), allowed: allowed.into() }
}

/// `value` must be finite and satisfy `ok`; NaN and infinities never pass.
fn real(key: &str, value: f64, ok: bool, allowed: &str) -> Result<()> {
    if value.is_finite() && ok { Ok(()) } else { Err(out_of_range(key, value, allowed)) }
}

fn finite(key: &str, value: f64) -> Result<()> {
    real(key, value, true, FINITE)
}

fn fraction(key: &str, value: f64) -> Result<()> {
    real(key, value, (0.0..=1.0).contains(&value), FRACTION)
}

fn fraction_positive(key: &str, value: f64) -> Result<()> {
    real(key, value, value > 0.0 && value <= 1.0, FRACTION_POSITIVE)
}

fn non_negative(key: &str, value: f64) -> Result<()> {
    real(key, value, value >= 0.0, NON_NEGATIVE)
}

fn positive(key: &str, value: f64) -> Result<()> {
    real(key, value, value > 0.0, POSITIVE)
}

fn integer(key: &str, value: u64, low: u64, high: u64) -> Result<()> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(out_of_range(key, value, format!("an integer in {low}..={high}")))
    }
}

/// A block count: it is added to `u32` block numbers, so it must fit in one.
fn blocks(key: &str, value: u64, low: u64) -> Result<()> {
    integer(key, value, low, u64::from(u32::MAX))
}

impl RunConfig {
    /// Parses a TOML run configuration (missing keys take their defaults, unknown keys are
    /// rejected). Does not validate ranges: call [`RunConfig::validate`].
    ///
    /// Errors are [`Error::Parse`] on one line: `line L, column C, key `section.key`: message`.
    pub fn from_toml(text: &str) -> Result<RunConfig> {
        toml::from_str(text).map_err(|e| Error::Parse(one_line_toml_error(text, &e)))
    }

    /// Reads, parses and validates the config file at `path`. Read and parse errors name the
    /// file; validation errors name the key (as [`RunConfig::validate`]).
    pub fn load(path: &Path) -> Result<RunConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Parse(format!("{}: cannot read: {e}", path.display())))?;
        let config = RunConfig::from_toml(&text).map_err(|e| match e {
            Error::Parse(message) => Error::Parse(format!("{}: {message}", path.display())),
            other => other,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every numeric key's range and the cross-field rules. The error names the dotted key
    /// (both keys, joined by `+` or `,`, for a cross-field rule), the value and what is allowed.
    /// NaN and infinities are rejected everywhere.
    pub fn validate(&self) -> Result<()> {
        self.validate_run()?;
        self.validate_chain()?;
        self.validate_init()?;
        self.validate_behaviour()?;
        self.validate_yuma()?;
        self.validate_registration()?;
        self.validate_death_spiral()?;
        self.validate_output()
    }

    fn validate_run(&self) -> Result<()> {
        let r = &self.run;
        integer("run.paths", r.paths.into(), 1, u32::MAX.into())?;
        positive("run.days", r.days)?;
        integer("run.blocks_per_step", r.blocks_per_step.into(), 1, BLOCKS_PER_DAY)?;
        integer("run.batch_paths", r.batch_paths.into(), 1, u32::MAX.into())?;
        integer("run.device_batch_paths", r.device_batch_paths.into(), 1, u32::MAX.into())?;
        // The last block of the run must still be a u32 block number.
        let last_block = f64::from(self.init.block) + r.days * BLOCKS_PER_DAY as f64;
        if last_block > f64::from(u32::MAX) {
            // Say how many days fit, not only the block bound: `run.days` is what users change.
            let max_days = (f64::from(u32::MAX - self.init.block) / BLOCKS_PER_DAY as f64).floor();
            return Err(out_of_range(
                "init.block + run.days",
                format!("{} + {} days", self.init.block, r.days),
                format!(
                    "at most {max_days} days after block {}: the last block must be at most {} \
                     (u32 block numbers)",
                    self.init.block,
                    u32::MAX
                ),
            ));
        }
        Ok(())
    }

    fn validate_chain(&self) -> Result<()> {
        let c = &self.chain;
        real(
            "chain.fee_rate",
            c.fee_rate,
            (0.0..=MAX_FEE_RATE).contains(&c.fee_rate),
            "a number in [0, 10000/65535] (the chain's FeeRate bound)",
        )?;
        non_negative("chain.min_reserve", c.min_reserve)?;
        fraction("chain.flow_ema_alpha", c.flow_ema_alpha)?;
        finite("chain.flow_cutoff", c.flow_cutoff)?;
        positive("chain.flow_exponent", c.flow_exponent)?;
        fraction("chain.moving_alpha", c.moving_alpha)?;
        non_negative("chain.ema_price_halving_blocks", c.ema_price_halving_blocks)?;
        fraction("chain.owner_cut", c.owner_cut)?;
        fraction("chain.tao_weight", c.tao_weight)?;
        blocks("chain.start_call_blocks", c.start_call_blocks, 0)?;
        // Tempo is a u16 on the chain; tempo 0 means "never run an epoch".
        integer("chain.tempo", c.tempo, 1, u16::MAX.into())?;
        non_negative("chain.min_lock_cost", c.min_lock_cost)?;
        // A new subnet's pool starts with as little as the minimum lock, TAO and alpha alike
        // (`cpu::registration`), and a live pool must hold the minimum reserve, one rao at least
        // (`ChainParams::reserve_floor`): a lock of 0 would start a pool with no TAO.
        if c.reserve_floor() > c.min_lock_cost {
            return Err(out_of_range(
                "chain.min_reserve, chain.min_lock_cost",
                format!("{}, {}", c.min_reserve, c.min_lock_cost),
                "min_reserve at most min_lock_cost, and min_lock_cost at least one rao (1e-9) \
                 (a new subnet's pool may start with only the minimum lock, and a live pool \
                 keeps at least the minimum reserve and a rao)",
            ));
        }
        // The lock cost divides by this interval (chain.md §10).
        blocks("chain.lock_reduction_interval", c.lock_reduction_interval, 1)?;
        blocks("chain.network_rate_limit", c.network_rate_limit, 0)?;
        blocks("chain.immunity_period", c.immunity_period, 0)?;
        integer("chain.subnet_limit", c.subnet_limit.into(), 1, MAX_SUBNET_LIMIT.into())
    }

    fn validate_init(&self) -> Result<()> {
        let i = &self.init;
        match &i.synthetic {
            None if i.snapshot.trim().is_empty() => {
                return Err(out_of_range(
                    "init.snapshot",
                    "\"\"",
                    "a path to a snapshot CSV (or set [init.synthetic])",
                ));
            }
            None => {}
            Some(s) => {
                let limit = self.chain.subnet_limit;
                if !(1..=limit).contains(&s.subnets) {
                    return Err(out_of_range(
                        "init.synthetic.subnets, chain.subnet_limit",
                        format!("{} (limit {limit})", s.subnets),
                        format!("an integer in 1..=chain.subnet_limit ({limit})"),
                    ));
                }
                positive("init.synthetic.pool_tao_median", s.pool_tao_median)?;
                non_negative("init.synthetic.pool_tao_sigma", s.pool_tao_sigma)?;
                positive("init.synthetic.price_median", s.price_median)?;
                non_negative("init.synthetic.price_sigma", s.price_sigma)?;
            }
        }
        real(
            "init.issuance",
            i.issuance,
            (0.0..=TOTAL_SUPPLY).contains(&i.issuance),
            "a number in [0, 21000000] TAO",
        )?;
        non_negative("init.root_tao", i.root_tao)?;
        if i.root_tao > i.issuance {
            return Err(out_of_range(
                "init.root_tao, init.issuance",
                format!("{} > {}", i.root_tao, i.issuance),
                "root TAO at most the total issuance",
            ));
        }
        Ok(())
    }

    fn validate_behaviour(&self) -> Result<()> {
        let b = &self.behaviour;
        finite("behaviour.quality_drift", b.quality_drift)?;
        non_negative("behaviour.quality_sigma", b.quality_sigma)?;
        non_negative("behaviour.jump_rate_per_year", b.jump_rate_per_year)?;
        non_negative("behaviour.jump_sigma", b.jump_sigma)?;
        non_negative("behaviour.market_sigma", b.market_sigma)?;
        positive("behaviour.market_halflife_days", b.market_halflife_days)?;
        positive("behaviour.momentum_halflife_days", b.momentum_halflife_days)?;
        finite("behaviour.beta_quality", b.beta_quality)?;
        finite("behaviour.beta_momentum", b.beta_momentum)?;
        finite("behaviour.beta_yield", b.beta_yield)?;
        non_negative("behaviour.beta_zero_share", b.beta_zero_share)?;
        positive("behaviour.max_attractiveness", b.max_attractiveness)?;
        non_negative("behaviour.inflow_tao_per_day", b.inflow_tao_per_day)?;
        finite("behaviour.size_elasticity", b.size_elasticity)?;
        non_negative("behaviour.flow_noise", b.flow_noise)?;
        fraction("behaviour.outflow_rate_per_day", b.outflow_rate_per_day)?;
        fraction_positive("behaviour.panic_drawdown", b.panic_drawdown)?;
        fraction("behaviour.panic_rate_per_day", b.panic_rate_per_day)?;
        non_negative("behaviour.zero_emission_patience_days", b.zero_emission_patience_days)?;
        fraction("behaviour.zero_emission_exit_per_day", b.zero_emission_exit_per_day)?;
        non_negative("behaviour.whale_rate_per_year", b.whale_rate_per_year)?;
        real(
            "behaviour.whale_size_median",
            b.whale_size_median,
            b.whale_size_median > 0.0 && b.whale_size_median <= TOTAL_SUPPLY,
            "a number in (0, 21000000] TAO (the TAO supply)",
        )?;
        non_negative("behaviour.whale_size_sigma", b.whale_size_sigma)?;
        fraction("behaviour.miner_sell", b.miner_sell)?;
        fraction("behaviour.validator_sell", b.validator_sell)?;
        fraction("behaviour.owner_sell", b.owner_sell)?;
        non_negative("behaviour.buyback_tao_per_day", b.buyback_tao_per_day)?;
        let limit = self.chain.subnet_limit;
        for (netuid, &tao) in &b.buyback_by_netuid {
            let key = format!("behaviour.buyback_by_netuid.{netuid}");
            match netuid.trim().parse::<u32>() {
                Ok(n) if (1..=limit).contains(&n) => {}
                _ => {
                    return Err(Error::Shape {
                        key,
                        message: format!(
                            "the key must be a netuid in 1..=chain.subnet_limit ({limit})"
                        ),
                    });
                }
            }
            non_negative(&key, tao)?;
        }
        Ok(())
    }

    fn validate_yuma(&self) -> Result<()> {
        let y = &self.yuma;
        integer("yuma.validators", y.validators.into(), 1, MAX_VALIDATORS.into())?;
        integer("yuma.miners", y.miners.into(), 1, MAX_UIDS.into())?;
        if y.validators + y.miners > MAX_UIDS {
            return Err(out_of_range(
                "yuma.validators + yuma.miners",
                format!("{} + {} = {}", y.validators, y.miners, y.validators + y.miners),
                format!("at most {MAX_UIDS} uids per subnet"),
            ));
        }
        fraction("yuma.kappa", y.kappa)?;
        fraction("yuma.bonds_moving_average", y.bonds_moving_average)?;
        fraction("yuma.bonds_penalty", y.bonds_penalty)?;
        non_negative("yuma.stake_zipf", y.stake_zipf)?;
        non_negative("yuma.weight_noise", y.weight_noise)?;
        non_negative("yuma.miner_quality_sigma", y.miner_quality_sigma)?;
        fraction("yuma.cartel_stake", y.cartel_stake)?;
        fraction("yuma.copier_stake", y.copier_stake)?;
        if y.cartel_stake + y.copier_stake > 1.0 {
            return Err(out_of_range(
                "yuma.cartel_stake + yuma.copier_stake",
                format!(
                    "{} + {} = {}",
                    y.cartel_stake,
                    y.copier_stake,
                    y.cartel_stake + y.copier_stake
                ),
                "at most 1 (fractions of the same validator stake)",
            ));
        }
        if y.cartel_miners > y.miners {
            return Err(out_of_range(
                "yuma.cartel_miners, yuma.miners",
                format!("{} > {}", y.cartel_miners, y.miners),
                "cartel_miners at most miners",
            ));
        }
        if y.cartel_stake > 0.0 && y.cartel_miners == 0 {
            return Err(out_of_range(
                "yuma.cartel_miners, yuma.cartel_stake",
                format!("0 with cartel_stake {}", y.cartel_stake),
                "at least 1 cartel miner when cartel_stake > 0",
            ));
        }
        integer("yuma.reveal_epochs", y.reveal_epochs.into(), 1, MAX_REVEAL_EPOCHS.into())
    }

    fn validate_registration(&self) -> Result<()> {
        let r = &self.registration;
        non_negative("registration.rate_per_day", r.rate_per_day)?;
        positive("registration.willingness_median", r.willingness_median)?;
        non_negative("registration.willingness_sigma", r.willingness_sigma)?;
        positive("registration.start_pool_tao", r.start_pool_tao)
    }

    fn validate_death_spiral(&self) -> Result<()> {
        let d = &self.death_spiral;
        non_negative("death_spiral.zero_share_days", d.zero_share_days)?;
        fraction_positive("death_spiral.price_fraction", d.price_fraction)?;
        fraction_positive("death_spiral.pool_fraction", d.pool_fraction)
    }

    fn validate_output(&self) -> Result<()> {
        let o = &self.output;
        // `trace_paths` above `run.paths` traces every path (a `--paths` override may cut a run
        // below the configured number of traced paths; that is not an error).
        positive("output.every_days", o.every_days)
    }
}

/// toml's error as one line: position, the dotted key it concerns (when the line has one) and
/// the message, e.g. ``line 3, column 1, key `run.pathz`: unknown field `pathz`, expected ...``.
fn one_line_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(span) = error.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    // The table the line belongs to: the last `[header]` above it.
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let header = line.trim();
    let key = match line.split_once('=') {
        _ if header.starts_with('[') => {
            Some(header.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        }
        Some((k, _)) => {
            let k = k.trim().trim_matches('"');
            Some(match &table {
                Some(t) => format!("{t}.{k}"),
                None => k.to_string(),
            })
        }
        _ => table,
    };
    match key {
        Some(key) => format!("line {line_no}, column {column}, key `{key}`: {message}"),
        None => format!("line {line_no}, column {column}: {message}"),
    }
}

/// Merges `over` into `base`, table by table; values in `over` win. This is how a partial config
/// (a `[[point]]` table, a sweep point) applies over the rest of a file.
pub fn merge_tables(base: &mut toml::Table, over: &toml::Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A config error without the line and column of a parse error, for configs parsed from a merged
/// table (a sweep or `[[point]]` point over the file's other keys): there the position points
/// into the merged text, not into the user's file, so only the key it names is kept.
pub fn without_position(error: &impl std::fmt::Display) -> String {
    let message = error.to_string();
    match message.split_once(", key ") {
        Some((at, rest)) if at.starts_with("line ") => format!("key {rest}"),
        _ => message,
    }
}

/// The dotted paths of every leaf value in `table` (`behaviour.panic_rate_per_day`), in table
/// order.
pub fn dotted_keys(table: &toml::Table) -> Vec<String> {
    fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(t) => walk(t, &path, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    walk(table, "", &mut out);
    out
}

/// A partial config setting one dotted key: `dotted_table("a.b", v)` is `{ a = { b = v } }`.
pub fn dotted_table(key: &str, value: toml::Value) -> toml::Table {
    let mut table = toml::Table::new();
    match key.split_once('.') {
        None => table.insert(key.to_string(), value),
        Some((head, rest)) => {
            table.insert(head.to_string(), toml::Value::Table(dotted_table(rest, value)))
        }
    };
    table
}
