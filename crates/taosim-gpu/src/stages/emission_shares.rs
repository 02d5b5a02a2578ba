//! GPU stage `emission_shares` (shaders/emission_shares.wgsl; CPU twin
//! `taosim_core::cpu::emission_shares`): its parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;
use taosim_core::model::shares::EmaFactors;

use crate::params::Params;

/// Adds the stage's parameters: the regime, the flow EMA's factors over one step (computed in f64
/// by the twin's own `EmaFactors::constant_alpha`, converted as its `apply` converts them), the
/// flow cutoff and exponent.
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let chain = &plan.step.chain;
    p.int("emission_regime", chain.regime as u32);
    let factors = EmaFactors::constant_alpha(chain.flow_ema_alpha, plan.step.blocks_per_step);
    p.real("flow_ema_keep", factors.keep);
    p.real("flow_ema_gain", factors.gain);
    p.real("flow_cutoff", chain.flow_cutoff);
    p.real("flow_exponent", chain.flow_exponent);
}
