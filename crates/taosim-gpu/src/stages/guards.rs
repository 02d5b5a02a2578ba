//! GPU stage `guards` (shaders/guards.wgsl; CPU twin `taosim_core::cpu::guards`): its parameters.

use taosim_core::Real;
use taosim_core::engine::{CONSERVATION_TOLERANCE_F32, CONSERVATION_TOLERANCE_F64, RunPlan};

use crate::params::Params;

/// Adds the stage's parameters: the start pools, the reserve floor and the conservation tolerance
/// of the state's precision (as `taosim_core::engine` sets them).
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let start_pools: f64 = plan.network.subnets.iter().map(|s| s.tao).sum();
    let tolerance = if R::epsilon().f64() < 1e-10 {
        CONSERVATION_TOLERANCE_F64
    } else {
        CONSERVATION_TOLERANCE_F32
    };
    p.real("guard_start_pools", start_pools);
    p.real("guard_reserve_floor", plan.step.chain.min_reserve * (1.0 - 1e-6));
    p.real("guard_tolerance", tolerance);
}
