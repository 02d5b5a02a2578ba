//! GPU stage `swaps` (shaders/swaps.wgsl; CPU twin `taosim_core::cpu::swaps`): its parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters: none of its own (it reads the shared `amm`, `fee_rate` and
/// `min_reserve`; the orders come in the scratch, `order_stake_at` / `order_unstake_at`).
pub fn params<R: Real>(_p: &mut Params<R>, _plan: &RunPlan) {}
