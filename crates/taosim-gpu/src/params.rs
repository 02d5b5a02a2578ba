//! The step's parameters on the device: named reals and integers in two flat arrays (bindings 9
//! and 10), indexed in WGSL by constants generated from the names (`P_<NAME>` for reals,
//! `PI_<NAME>` for integers; see [`crate::shaders::generated_constants`]).
//!
//! Every value is derived on the host by the same Rust code the CPU twins use (in f64, then
//! converted with `R::of` exactly where the twin converts), so a shader never re-derives a constant
//! with different rounding. Each stage module adds its own entries in [`step_params`]; the order is
//! fixed by the code, so names and indices cannot drift apart.

use taosim_core::Real;
use taosim_core::engine::RunPlan;

/// Named parameters of a step, in index order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params<R> {
    /// Real parameters: (name, value).
    pub reals: Vec<(&'static str, R)>,
    /// Integer parameters: (name, value).
    pub ints: Vec<(&'static str, u32)>,
}

impl<R: Real> Params<R> {
    /// Adds a real parameter, converted from f64 as the CPU twin converts it (`R::of`).
    pub fn real(&mut self, name: &'static str, value: f64) {
        self.reals.push((name, R::of(value)));
    }

    /// Adds an integer parameter.
    pub fn int(&mut self, name: &'static str, value: u32) {
        self.ints.push((name, value));
    }

    /// The real values, in index order (at least one element: buffers cannot be empty).
    pub fn real_values(&self) -> Vec<R> {
        let mut v: Vec<R> = self.reals.iter().map(|&(_, x)| x).collect();
        if v.is_empty() {
            v.push(R::zero());
        }
        v
    }

    /// The integer values, in index order (at least one element).
    pub fn int_values(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.ints.iter().map(|&(_, x)| x).collect();
        if v.is_empty() {
            v.push(0);
        }
        v
    }

    /// The names, reals then integers (what the WGSL constants are generated from).
    pub fn names(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        (self.reals.iter().map(|p| p.0).collect(), self.ints.iter().map(|p| p.0).collect())
    }
}

/// Every stage's parameters for `plan`.
pub fn step_params<R: Real>(plan: &RunPlan) -> Params<R> {
    let mut p = Params::default();
    let chain = &plan.step.chain;
    // Shared by several stages.
    p.int("blocks_per_step", plan.step.blocks_per_step);
    p.int("amm", chain.amm as u32);
    p.real("fee_rate", chain.fee_rate);
    p.real("min_reserve", chain.min_reserve);
    crate::stages::behaviour::params(&mut p, plan);
    crate::stages::swaps::params(&mut p, plan);
    crate::stages::emission_shares::params(&mut p, plan);
    crate::stages::injection::params(&mut p, plan);
    crate::stages::moving_price::params(&mut p, plan);
    crate::stages::epoch::params(&mut p, plan);
    crate::stages::registration::params(&mut p, plan);
    crate::stages::metrics::params(&mut p, plan);
    p
}
