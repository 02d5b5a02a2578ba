//! GPU stage `injection` (shaders/injection.wgsl; CPU twin `taosim_core::cpu::injection`): its
//! parameters.

use taosim_core::Real;
use taosim_core::engine::RunPlan;
use taosim_core::model::injection::InjectionRule;

use crate::params::Params;

/// Adds the stage's parameters: the era's injection rule (the twin's
/// `InjectionRule::for_regime`), the TAO weight of the root proportion and the owner cut.
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let chain = &plan.step.chain;
    p.int("injection_rule", InjectionRule::for_regime(chain.regime) as u32);
    p.real("tao_weight", chain.tao_weight);
    p.real("owner_cut", chain.owner_cut);
}
