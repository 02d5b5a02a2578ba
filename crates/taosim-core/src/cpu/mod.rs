//! CPU twins of the step stages (model.md §3).
//!
//! A step advances every path by `blocks_per_step` blocks through the stages below, in this order
//! on every backend. Each stage is a function over one path's [`PathState`] (plus, for the swaps,
//! that path's orders); [`BatchState::for_each_path`] runs it over a batch in parallel. A stage's
//! WGSL twin (GPU issue) carries the same stem: `shaders/<stage>.wgsl` mirrors `cpu/<stage>.rs`.
//!
//! | order | stage | model.md §3 item |
//! |---|---|---|
//! | 1 | [`behaviour`] (staker draws: quality, market, momentum, orders, arrivals) | 1 |
//! | 2 | [`swaps`] | 2 |
//! | 3 | [`emission_shares`] | 3 |
//! | 4 | [`injection`] | 4 |
//! | 5 | [`moving_price`] | 5 |
//! | 6-7 | [`epoch`] (Yuma per subnet, then the payout and post-payout selling; with Yuma off: [`payouts`]) | 6, 7 |
//! | 8 | [`registration`] | 8 |
//! | 9 | [`metrics`] | 9 |
//! | - | [`guards`] (the runtime guards' fast check, after a stage or at the step's end) | - |
//!
//! Per-block rules are applied in closed form over the step (model.md §1): EMAs with constant input
//! through [`EmaFactors`](crate::model::shares::EmaFactors), emission over a possible halving
//! through [`emission_over_blocks`](crate::model::emission::emission_over_blocks), injection as n
//! identical blocks at the (unchanged) pool price. All subnets step together: the chain's per-netuid
//! stagger of epochs is dropped, and with the default 361 blocks per step every step is one epoch.
//!
//! [`PathState`]: crate::state::PathState
//! [`BatchState::for_each_path`]: crate::state::BatchState::for_each_path

#![expect(
    clippy::needless_range_loop,
    reason = "the twins index subnets by slot, as their WGSL shaders index by invocation id"
)]

pub mod behaviour;
pub mod emission_shares;
pub mod epoch;
pub mod guards;
pub mod injection;
pub mod metrics;
pub mod moving_price;
pub mod payouts;
pub mod registration;
pub mod rng_blocks;
pub mod swaps;

use crate::params::ChainParams;

/// Parameters of one step shared by every stage: the chain's and the step length.
#[derive(Clone, Debug, PartialEq)]
pub struct StepParams {
    /// Chain parameters (regime, AMM, fees, EMAs, lock and pruning rules).
    pub chain: ChainParams,
    /// Blocks per step (default 361 = one Taoflow-era epoch window; 1 works, exactly ordered).
    pub blocks_per_step: u32,
    /// TAO a newly registered subnet's pool starts with (see the `registration` stage).
    pub start_pool_tao: f64,
}

impl Default for StepParams {
    fn default() -> Self {
        let chain = ChainParams::default();
        Self { start_pool_tao: chain.min_lock_cost, chain, blocks_per_step: 361 }
    }
}

/// Eligibility for emission (chain.md §2.1): an active subnet at or past its first-emission block.
#[inline]
pub fn eligible(active: u32, first_emission_block: u32, block: u32) -> u32 {
    u32::from(active != 0 && block >= first_emission_block)
}
