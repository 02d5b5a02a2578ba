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

use serde::{Deserialize, Serialize};

use crate::cpu::payouts::RootClaim;
use crate::model::yuma::YumaVersion;
use crate::params::ChainParams;

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
}

impl Default for RunSection {
    fn default() -> Self {
        Self { paths: 256, days: 180.0, seed: 1, blocks_per_step: 361, batch_paths: 64 }
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
            quality_sigma: 0.05,
            jump_rate_per_year: 2.0,
            jump_sigma: 0.5,
            market_sigma: 0.05,
            market_halflife_days: 30.0,
            momentum_halflife_days: 7.0,
            beta_quality: 1.0,
            beta_momentum: 10.0,
            beta_yield: 2.0,
            beta_zero_share: 0.5,
            inflow_tao_per_day: 60.0,
            size_elasticity: 0.8,
            flow_noise: 0.5,
            outflow_rate_per_day: 0.004,
            panic_drawdown: 0.5,
            panic_rate_per_day: 0.02,
            zero_emission_patience_days: 14.0,
            zero_emission_exit_per_day: 0.01,
            whale_rate_per_year: 4.0,
            whale_size_median: 2_000.0,
            whale_size_sigma: 1.0,
            miner_sell: 0.6,
            validator_sell: 0.3,
            owner_sell: 0.3,
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
    /// Run Yuma per subnet each epoch; off: pending alpha goes 50/50 to miners and validators.
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
            enabled: true,
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
    /// Number of paths traced (the first ones); 0 writes no traces.
    pub trace_paths: u32,
}

impl Default for OutputParams {
    fn default() -> Self {
        Self { every_days: 1.0, trace_paths: 8 }
    }
}
