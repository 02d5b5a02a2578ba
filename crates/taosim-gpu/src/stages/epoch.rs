//! GPU stage `epoch` (shaders/epoch.wgsl; CPU twin `taosim_core::cpu::epoch`): its parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters (none yet: the shader is being written).
pub fn params<R: Real>(_p: &mut Params<R>, _plan: &RunPlan) {}

/// Reals and integers of the epoch's per-path workspace (scratch `work`) for Yuma blocks of
/// `yuma`'s sizes (none with Yuma off).
pub fn workspace_size(yuma: taosim_core::state::YumaLayout) -> (usize, usize) {
    let _ = yuma;
    (0, 0)
}
