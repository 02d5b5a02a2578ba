//! GPU stage `metrics` (shaders/metrics.wgsl; CPU twin `taosim_core::cpu::metrics`): its
//! parameters, the death-spiral rule of the plan ([`SpiralRule`](taosim_core::cpu::metrics::SpiralRule),
//! already in steps).

use taosim_core::Real;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters: the spiral rule's zero-share steps and its price and pool
/// fractions (converted with `R::of`, as the twin converts them).
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let rule = &plan.spiral;
    p.int("spiral_zero_share_steps", rule.zero_share_steps);
    p.real("spiral_price_fraction", rule.price_fraction);
    p.real("spiral_pool_fraction", rule.pool_fraction);
}
