//! GPU stage `moving_price` (shaders/moving_price.wgsl; CPU twin `taosim_core::cpu::moving_price`):
//! its parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters: the chain's moving-price smoothing and ramp half-life.
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let chain = &plan.step.chain;
    p.real("moving_alpha", chain.moving_alpha);
    p.real("ema_price_halving_blocks", chain.ema_price_halving_blocks);
}
