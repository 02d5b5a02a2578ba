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
//! CPU twin of shaders/guards.wgsl. The finiteness test differs in form, not in answer: sums of
//! `x·0` over eight lanes (SIMD) instead of one `is_finite` per value.

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

/// Whether every value of `xs` is finite. `x · 0` is ±0 for a finite `x` and NaN otherwise, and a
/// sum of such terms stays ±0 until one is NaN: the same answer as testing each value, in eight
/// independent sums the compiler can run in SIMD lanes (a per-value `is_finite` fold compiled to
/// scalar code). The shader keeps the per-value test.
#[inline]
fn all_finite<R: Real>(xs: &[R]) -> bool {
    const LANES: usize = 8;
    let mut sums = [R::zero(); LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for k in 0..LANES {
            sums[k] += chunk[k] * R::zero();
        }
    }
    let mut finite = true;
    for &x in chunks.remainder() {
        finite &= x.is_finite();
    }
    for sum in sums {
        finite &= sum == R::zero();
    }
    finite
}

/// Checks one path's state; returns `true` when every guard holds. On the first failure,
/// `guard_step` is set to the path's step counter (the failing step + 1 after the metrics stage).
pub fn guards<R: Real>(limits: &GuardLimits, yuma: bool, st: &mut PathState<'_, R>) -> bool {
    let mut finite = true;
    st.sub.for_each_field(|xs| finite &= all_finite(xs));
    st.global.for_each_field(|xs| finite &= xs[0].is_finite());
    if yuma {
        finite &= all_finite(st.yuma_real);
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

#[cfg(test)]
mod tests {
    use super::all_finite;

    /// One bad value anywhere (inside the SIMD chunks or in the remainder) is found, in slices
    /// of every length around the lane count; huge finite values are not flagged.
    #[test]
    fn all_finite_finds_each_bad_value() {
        for len in 0..27 {
            let clean: Vec<f64> = (0..len).map(|k| (k as f64 - 5.0) * 1e300).collect();
            assert!(all_finite(&clean));
            for at in 0..len {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let mut xs = clean.clone();
                    xs[at] = bad;
                    assert!(!all_finite(&xs), "len {len}, {bad} at {at}");
                    let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
                    assert!(!all_finite(&xs32), "f32: len {len}, {bad} at {at}");
                }
            }
        }
        assert!(all_finite(&[f32::MAX, -f32::MAX, 0.0, -0.0, f32::MIN_POSITIVE]));
    }
}
