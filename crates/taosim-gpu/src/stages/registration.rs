//! GPU stage `registration` (shaders/registration.wgsl; CPU twin `taosim_core::cpu::registration`
//! plus the engine's pruning rules and events): its parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters: the lock rules (`min_lock_cost`, the reduction interval as the
/// twin's `R::of(interval as f64)`), the new pool's TAO, and the block counts the twin converts
/// to `u32` (immunity and start-call delay saturating as there; the rate limit too, where a
/// `u32` block difference can never reach a limit above `u32::MAX` anyway).
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let chain = &plan.step.chain;
    p.real("min_lock_cost", chain.min_lock_cost);
    p.real("lock_reduction_interval", chain.lock_reduction_interval as f64);
    p.real("start_pool_tao", plan.step.start_pool_tao);
    p.int("network_rate_limit", saturating_u32(chain.network_rate_limit));
    p.int("immunity_period", saturating_u32(chain.immunity_period));
    p.int("start_call_blocks", saturating_u32(chain.start_call_blocks));
}

/// `u32::try_from(n).unwrap_or(u32::MAX)`, as the twin converts block counts.
fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
