//! GPU stage `swaps` (shaders/swaps.wgsl; CPU twin `taosim_core::cpu::swaps`): its parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters (none yet: the shader is being written).
pub fn params<R: Real>(_p: &mut Params<R>, _plan: &RunPlan) {}
