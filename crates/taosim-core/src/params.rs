//! Chain parameters with their on-chain defaults (chain.md), shared by every stage.
//!
//! Parameters are stored as `f64` (they come from configs) and converted with [`Real::of`] at the
//! point of use, so one parameter set drives both the f32 and the f64 instantiations.
//! Amounts are in TAO / alpha (1 = 1e9 rao), times in blocks.
//!
//! [`Real::of`]: crate::Real::of

use serde::{Deserialize, Serialize};

/// One TAO (or alpha) in rao.
pub const RAO_PER_TAO: f64 = 1.0e9;
/// Blocks per day at 12 s per block.
pub const BLOCKS_PER_DAY: u64 = 7_200;
/// `TotalSupply`: 21M TAO (also the alpha cap per subnet), in TAO.
pub const TOTAL_SUPPLY: f64 = 21_000_000.0;
/// `DefaultBlockEmission`: 1 TAO per block before the first halving.
pub const DEFAULT_BLOCK_EMISSION: f64 = 1.0;
/// `FlowEmaSmoothingFactor` default as a proportion of `i64::MAX` (half-life 216,000 blocks).
pub const FLOW_EMA_ALPHA: f64 = 29_597_889_189_277.0 / 9_223_372_036_854_775_807.0;
/// `SubnetOwnerCut` default 11,796 / 65,535 (about 18%).
pub const OWNER_CUT: f64 = 11_796.0 / 65_535.0;
/// `FeeRate` default 33 / 65,535 (about 0.05%), taken from the swap input.
pub const FEE_RATE: f64 = 33.0 / 65_535.0;
/// `MinimumReserve` 1,000,000 rao on a swap's output reserve, in TAO.
pub const MIN_RESERVE: f64 = 1.0e-3;
/// `Kappa` default 32,767 / 65,535.
pub const KAPPA: f64 = 32_767.0 / 65_535.0;

/// Emission-share rule (model.md §4, chain.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EmissionRegime {
    /// Era A (2025-02-13 to 2025-11-04): shares proportional to the moving price.
    PriceEma,
    /// Era B (2025-11-04 to 2026-05-27): shares from the EMA of net TAO staking flow.
    #[default]
    Taoflow,
    /// Era B' (2026-05-27 to 2026-06-22): user flow EMA minus normalised protocol flow EMA.
    NetTaoflow,
    /// Era C (2026-06-22 on): moving price times one minus the miner-burn fraction.
    PriceBurn,
}

impl EmissionRegime {
    /// All regimes, in chronological order.
    pub const ALL: [EmissionRegime; 4] = [
        EmissionRegime::PriceEma,
        EmissionRegime::Taoflow,
        EmissionRegime::NetTaoflow,
        EmissionRegime::PriceBurn,
    ];

    /// The config spelling of the regime.
    pub fn name(self) -> &'static str {
        match self {
            EmissionRegime::PriceEma => "price_ema",
            EmissionRegime::Taoflow => "taoflow",
            EmissionRegime::NetTaoflow => "net_taoflow",
            EmissionRegime::PriceBurn => "price_burn",
        }
    }
}

/// Pool kind (model.md §5, chain.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AmmKind {
    /// Constant product with protocol-only liquidity (the Taoflow-era v3 pool at full range).
    #[default]
    ConstantProduct,
    /// Weighted (Balancer) pool with price-neutral injection by re-weighting (2026-06-25 on).
    Balancer,
}

/// The chain's economic parameters, defaults as on mainnet in the Taoflow era (chain.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainParams {
    /// Emission-share rule.
    pub regime: EmissionRegime,
    /// Pool kind.
    pub amm: AmmKind,
    /// Swap fee as a fraction of the input (`FeeRate / 65535`).
    pub fee_rate: f64,
    /// Minimum output reserve a swap may leave, in TAO / alpha.
    pub min_reserve: f64,
    /// Per-block flow EMA smoothing `alpha_f` (chain.md §2.3).
    pub flow_ema_alpha: f64,
    /// `TaoFlowCutoff` L in TAO per block (the flow EMA's unit); the effective cutoff is
    /// `max(L, min(0, min S))`.
    pub flow_cutoff: f64,
    /// `FlowNormExponent` p.
    pub flow_exponent: f64,
    /// `SubnetMovingAlpha` (per block, before the ramp).
    pub moving_alpha: f64,
    /// `EMAPriceHalvingBlocks` h of the b/(b+h) ramp.
    pub ema_price_halving_blocks: f64,
    /// Owner cut of alpha_out.
    pub owner_cut: f64,
    /// `TaoWeight` tau_w: weight of root TAO in validator stake and root proportion.
    pub tao_weight: f64,
    /// Blocks after registration until the first emission (`DurationOfStartCall`).
    pub start_call_blocks: u64,
    /// Subnet tempo; an epoch runs every `tempo + 1` blocks.
    pub tempo: u64,
    /// `NetworkMinLockCost` in TAO.
    pub min_lock_cost: f64,
    /// `NetworkLockReductionInterval` in blocks at 1 TAO/block (halves with emission).
    pub lock_reduction_interval: u64,
    /// `NetworkRateLimit`: blocks between subnet registrations, network-wide.
    pub network_rate_limit: u64,
    /// `NetworkImmunityPeriod` in blocks.
    pub immunity_period: u64,
    /// `SubnetLimit`: number of subnet slots.
    pub subnet_limit: u32,
}

impl ChainParams {
    /// The least reserve a live pool keeps, TAO / alpha: `min_reserve`, and never below one
    /// rao. The chain's integer swaps always leave at least a rao in the output reserve (the
    /// output `y·n/(x + n)` is floored below `y`); the model's float swaps would round a reserve
    /// to exactly zero when an order dwarfs the pool by more than the precision (2^24 in f32,
    /// found by the fuzz with `min_reserve = 0`), and a pool with a zero reserve has no price.
    pub fn reserve_floor(&self) -> f64 {
        self.min_reserve.max(1.0 / RAO_PER_TAO)
    }
}

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            regime: EmissionRegime::Taoflow,
            amm: AmmKind::ConstantProduct,
            fee_rate: FEE_RATE,
            min_reserve: MIN_RESERVE,
            flow_ema_alpha: FLOW_EMA_ALPHA,
            flow_cutoff: 0.0,
            flow_exponent: 1.0,
            moving_alpha: 3.0e-6,
            ema_price_halving_blocks: 201_600.0,
            owner_cut: OWNER_CUT,
            tao_weight: 0.18,
            start_call_blocks: 50_400,
            tempo: 360,
            min_lock_cost: 1.0,
            lock_reduction_interval: 57_600,
            network_rate_limit: 28_800,
            immunity_period: 864_000,
            subnet_limit: 128,
        }
    }
}
