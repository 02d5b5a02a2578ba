//! GPU stage `behaviour` (shaders/behaviour.wgsl; CPU twin `taosim_core::cpu::behaviour`): its
//! parameters, the step constants of [`BehaviourCoefficients`] computed on the host in f64 by the
//! twin's own code.

use taosim_core::Real;
use taosim_core::cpu::behaviour::BehaviourCoefficients;
use taosim_core::engine::RunPlan;

use crate::params::Params;

/// Adds the stage's parameters: every [`BehaviourCoefficients`] field the twin converts with
/// `R::of` (as `beh_<field>`), and the zero-share streak at which the exodus hazard starts
/// ([`exodus_min_streak`]).
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let c =
        BehaviourCoefficients::new(&plan.step, &plan.config.behaviour, &plan.config.registration);
    p.real("beh_dt", c.dt);
    p.real("beh_quality_drift_step", c.quality_drift_step);
    p.real("beh_quality_sd_step", c.quality_sd_step);
    p.real("beh_jump_mean", c.jump_mean);
    p.real("beh_jump_sigma", c.jump_sigma);
    p.real("beh_market_keep", c.market_keep);
    p.real("beh_market_sd_step", c.market_sd_step);
    p.real("beh_momentum_keep", c.momentum_keep);
    p.real("beh_steps_per_year", c.steps_per_year);
    p.real("beh_beta_quality", c.beta_quality);
    p.real("beh_beta_momentum", c.beta_momentum);
    p.real("beh_beta_yield", c.beta_yield);
    p.real("beh_beta_zero_share", c.beta_zero_share);
    p.real("beh_attractiveness_cap", c.attractiveness_cap);
    p.real("beh_inflow_step", c.inflow_step);
    p.real("beh_size_elasticity", c.size_elasticity);
    p.real("beh_flow_sigma", c.flow_sigma);
    p.real("beh_outflow_hazard_step", c.outflow_hazard_step);
    p.real("beh_panic_drawdown", c.panic_drawdown);
    p.real("beh_panic_hazard_step", c.panic_hazard_step);
    p.real("beh_exodus_hazard_step", c.exodus_hazard_step);
    p.real("beh_whale_mean", c.whale_mean);
    p.real("beh_whale_log_median", c.whale_log_median);
    p.real("beh_whale_sigma", c.whale_sigma);
    p.real("beh_registration_mean", c.registration_mean);
    p.real("beh_willingness_log_median", c.willingness_log_median);
    p.real("beh_willingness_sigma", c.willingness_sigma);
    p.int("beh_exodus_min_streak", exodus_min_streak(c.dt, c.patience_days));
}

/// The smallest zero-share streak `s ≥ 1` with `f64(s)·dt ≥ patience_days`, the twin's exodus
/// test (done there in f64 whatever the precision, which an f32 shader cannot), or 0 when no
/// `u32` streak passes it (NaN or too large a patience). `f64(s)·dt` never decreases in `s` for
/// `dt ≥ 0`, so the test is `streak ≥ threshold` exactly.
pub fn exodus_min_streak(dt: f64, patience_days: f64) -> u32 {
    let passes = |s: u32| f64::from(s) * dt >= patience_days;
    if passes(1) {
        return 1;
    }
    if !passes(u32::MAX) {
        return 0;
    }
    // passes(lo) is false, passes(hi) true.
    let (mut lo, mut hi) = (1_u32, u32::MAX);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if passes(mid) { hi = mid } else { lo = mid }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::exodus_min_streak;

    /// The threshold reproduces the twin's f64 test on every streak around it.
    #[test]
    fn exodus_threshold_matches_the_f64_test() {
        for (dt, patience) in [
            (361.0 / 7200.0, 14.0),
            (361.0 / 7200.0, 0.0),
            (7.0 / 7200.0, 3.3),
            (0.1, 0.3),
            (1.0, 1e12),
            (0.0, 1.0),
            (0.05, f64::NAN),
            (0.05, -1.0),
        ] {
            let t = exodus_min_streak(dt, patience);
            let passes = |s: u32| s > 0 && f64::from(s) * dt >= patience;
            if t == 0 {
                assert!(!passes(u32::MAX) && !passes(1), "dt {dt}, patience {patience}");
                continue;
            }
            for s in t.saturating_sub(3)..=t.saturating_add(3) {
                assert_eq!(s >= t && s > 0, passes(s), "dt {dt}, patience {patience}, streak {s}");
            }
        }
        // 0.3 / 0.1 = 2.9999999999999996: three steps of 0.1 days make 0.30000000000000004.
        assert_eq!(exodus_min_streak(0.1, 0.3), 3);
    }
}
