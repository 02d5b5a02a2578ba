//! Stage `guards`: the fast check of the runtime guards (see `engine` for what they guarantee).
//!
//! One pass over a path's state: every per-subnet real, every path-wide real and (with Yuma on)
//! every Yuma real must be finite; no pool reserve may be negative, nor, in a live subnet, below
//! the minimum reserve (less a 1e-6 relative margin for the rounding of the pool arithmetic); and
//! TAO must be conserved: `Σ live pools + paid_out − paid_in + recycled` equals
//! `start pools + minted` within `tolerance`, relative to `max(|start pools + minted|, 1)`. The
//! first failing step is kept in `guard_step` (step + 1; 0 while clean), which is what the GPU
//! reads back per chunk; the CPU engine uses the returned flag, and on failure locates the value
//! to name it (`engine`).
//!
//! CPU twin of shaders/guards.wgsl.

use crate::Real;
use crate::state::PathState;

/// The constants of the check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuardLimits {
    /// Σ pool TAO at the start of the path.
    pub start_pools: f64,
    /// The chain's minimum reserve.
    pub min_reserve: f64,
    /// Relative tolerance of the conservation identity.
    pub tolerance: f64,
}

/// The conservation residual of one path, relative to `max(|start pools + minted|, 1)`.
pub fn conservation_residual<R: Real>(limits: &GuardLimits, st: &PathState<'_, R>) -> f64 {
    let mut pools = R::zero();
    for i in 0..st.sub.tao.len() {
        if st.sub_int.active[i] != 0 {
            pools += st.sub.tao[i];
        }
    }
    let g = &st.global;
    let lhs =
        pools.f64() + g.tao_paid_out[0].f64() - g.tao_paid_in[0].f64() + g.tao_recycled[0].f64();
    let rhs = limits.start_pools + g.tao_minted[0].f64();
    (lhs - rhs) / rhs.abs().max(1.0)
}

/// Checks one path's state; returns `true` when every guard holds. On the first failure,
/// `guard_step` is set to the path's step counter (the failing step + 1 after the metrics stage).
pub fn guards<R: Real>(limits: &GuardLimits, yuma: bool, st: &mut PathState<'_, R>) -> bool {
    let mut finite = true;
    st.sub.for_each_field(|xs| {
        for &x in xs.iter() {
            finite &= x.is_finite();
        }
    });
    st.global.for_each_field(|xs| finite &= xs[0].is_finite());
    if yuma {
        for &x in st.yuma_real.iter() {
            finite &= x.is_finite();
        }
    }
    let floor = R::of(limits.min_reserve * (1.0 - 1e-6));
    let mut reserves = true;
    for i in 0..st.sub.tao.len() {
        let (tao, alpha) = (st.sub.tao[i], st.sub.alpha[i]);
        reserves &= tao >= R::zero() && alpha >= R::zero();
        if st.sub_int.active[i] != 0 {
            reserves &= tao >= floor && alpha >= floor;
        }
    }
    let conserved = conservation_residual(limits, st).abs() <= limits.tolerance;
    let ok = finite && reserves && conserved;
    if !ok && st.global_int.guard_step[0] == 0 {
        st.global_int.guard_step[0] = st.global_int.step[0];
    }
    ok
}
