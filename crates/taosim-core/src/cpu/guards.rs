//! Stage `guards`: the fast check of the runtime guards (see `engine` for what they guarantee).
//!
//! One pass over a path's state: every per-subnet real, every path-wide real and (with Yuma on)
//! every Yuma real must be finite; no pool reserve may be negative, nor, in a live subnet, below
//! the minimum reserve (less a 1e-6 relative margin for the rounding of the pool arithmetic); and
//! TAO must be conserved: `Σ live pools + paid_out − paid_in + recycled` equals
//! `start pools + minted` within `tolerance`, relative to the largest term ([`relative_residual`]). The
//! first failing step is kept in `guard_step` (step + 1; 0 while clean), which is what the GPU
//! reads back per chunk; the CPU engine uses the returned flag, and on failure locates the value
//! to name it (`engine`).
//!
//! CPU twin of shaders/guards.wgsl. The finiteness test differs in form, not in answer:
//! 32 lane sums of the values (SIMD), with the per-value test only when a sum is not finite.
//! The pass over the state is a [`Kernel`] at the CPU's widest vectors; the live pools' TAO is
//! summed in the shader's slot lanes (`lanes::SlotSum`).

use crate::Real;
use crate::lanes::SlotSum;
use crate::simd::{self, Kernel};
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

/// The conservation residual of one path ([`relative_residual`]).
pub fn conservation_residual<R: Real>(limits: &GuardLimits, st: &PathState<'_, R>) -> f64 {
    // Slot `i` adds into lane `i % 8`, the shader's `lanes_sum` order; an empty slot adds +0.
    let pools = SlotSum::of_masked(st.sub.tao, st.sub_int.active);
    let g = &st.global;
    relative_residual(
        pools.value().f64(),
        g.tao_paid_out[0].f64(),
        g.tao_paid_in[0].f64(),
        g.tao_recycled[0].f64(),
        limits.start_pools + g.tao_minted[0].f64(),
    )
}

/// TAO conservation's residual, `pools + paid_out − paid_in + recycled − (start pools + minted)`,
/// relative to the largest of those five terms' magnitudes (at least 1 TAO).
///
/// The rounding of the identity grows with its largest term, not with the right-hand side: a
/// path whose stakers put in and take out far more TAO than its pools hold (extreme inflow and
/// outflow rates) cancels large running sums, and measured against `start pools + minted`
/// alone, that cancellation read as a breach of 1e-8 relative and stopped valid runs (found by
/// running random valid configs, docs/fuzzing.md). What a breach must exceed to be seen is
/// `tolerance` times the largest running sum; in the baseline over 180 days that is still the
/// right-hand side (start pools + minted, 2.65e6 TAO; paid in 1.4-2.0e6, paid out 2.2-2.4e6), so
/// a breach of 0.003 TAO is caught as before.
pub fn relative_residual(pools: f64, paid_out: f64, paid_in: f64, recycled: f64, rhs: f64) -> f64 {
    let lhs = pools + paid_out - paid_in + recycled;
    let scale =
        [pools, paid_out, paid_in, recycled, rhs].iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    (lhs - rhs) / scale
}

/// Independent running sums of [`all_finite`]: four AVX-512 registers of f64. With eight (one
/// register, and four SSE2 registers before the pass ran as a [`Kernel`]) the sums were one
/// chain of dependent additions, latency-bound: the stage was 5.5% of the light step
/// (docs/performance.md, session 24).
const FINITE_LANES: usize = 32;

/// Whether every value of `xs` is finite. A sum of finite values is finite unless it overflows,
/// and a NaN or an infinity among the values makes it NaN or infinite (`∞ − ∞` is NaN), so a
/// finite sum proves every value finite with one addition per value, in [`FINITE_LANES`]
/// independent sums the compiler runs in SIMD lanes (a per-value `is_finite` fold compiles to
/// scalar code, and `x · 0` sums cost a multiply more). Only a non-finite sum, a bad value or an
/// overflow of huge ones, pays for the exact per-value test. The shader keeps the per-value test.
#[inline(always)]
fn all_finite<R: Real>(xs: &[R]) -> bool {
    let mut sums = [R::zero(); FINITE_LANES];
    let mut chunks = xs.chunks_exact(FINITE_LANES);
    for chunk in &mut chunks {
        for k in 0..FINITE_LANES {
            sums[k] += chunk[k];
        }
    }
    for &x in chunks.remainder() {
        sums[0] += x;
    }
    let mut finite = true;
    for sum in sums {
        finite &= sum.is_finite();
    }
    finite || xs.iter().all(|x| x.is_finite())
}

/// Checks one path's state; returns `true` when every guard holds. On the first failure,
/// `guard_step` is set to the path's step counter (the failing step + 1 after the metrics stage).
pub fn guards<R: Real>(limits: &GuardLimits, yuma: bool, st: &mut PathState<'_, R>) -> bool {
    let floor = R::of(limits.min_reserve * (1.0 - 1e-6));
    let (finite, reserves) = simd::run(StateScan { st: &mut *st, yuma, floor });
    let conserved = conservation_residual(limits, st).abs() <= limits.tolerance;
    let ok = finite && reserves && conserved;
    if !ok && st.global_int.guard_step[0] == 0 {
        st.global_int.guard_step[0] = st.global_int.step[0];
    }
    ok
}

/// The pass over one path's state, a [`Kernel`]: whether every real is finite, and whether
/// every reserve is above its bound (`floor` in a live slot, zero in an empty one).
struct StateScan<'a, 'b, R> {
    st: &'a mut PathState<'b, R>,
    yuma: bool,
    floor: R,
}

impl<R: Real> Kernel for StateScan<'_, '_, R> {
    type Output = (bool, bool);

    #[inline(always)]
    fn run(self) -> (bool, bool) {
        let StateScan { st, yuma, floor } = self;
        let mut finite = true;
        st.sub.for_each_field(
            #[inline(always)]
            |xs| finite &= all_finite(xs),
        );
        st.global.for_each_field(|xs| finite &= xs[0].is_finite());
        if yuma {
            finite &= all_finite(st.yuma_real);
        }
        let mut reserves = true;
        // Branch-free: a live slot's bound is the floor (`chain.min_reserve` is validated
        // non-negative, so it implies the zero bound), an empty slot's zero.
        let slots = st.sub.tao.len();
        let (tao, alpha, active) =
            (&st.sub.tao[..], &st.sub.alpha[..slots], &st.sub_int.active[..slots]);
        for i in 0..slots {
            let bound = if active[i] != 0 { floor } else { R::zero() };
            reserves &= (tao[i] >= bound) & (alpha[i] >= bound);
        }
        (finite, reserves)
    }
}

#[cfg(test)]
mod tests {
    use super::all_finite;

    /// One bad value anywhere (inside the SIMD chunks or in the remainder) is found, in slices
    /// of every length up to past two chunks; huge finite values, whose lane sums overflow,
    /// are not flagged.
    #[test]
    fn all_finite_finds_each_bad_value() {
        for len in 0..2 * super::FINITE_LANES + 7 {
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
        // Lane sums that overflow to ±∞ (and to NaN in the remainder's lane) fall back to the
        // per-value test.
        for len in [3, 8, 16, 17, 40, 64, 100] {
            assert!(all_finite(&vec![f64::MAX; len]), "len {len}");
            assert!(all_finite(&vec![-f32::MAX; len]), "len {len}");
            let mut mixed: Vec<f64> =
                (0..len).map(|k| if k % 2 == 0 { f64::MAX } else { -f64::MAX }).collect();
            assert!(all_finite(&mixed), "len {len}");
            mixed[len - 1] = f64::NAN;
            assert!(!all_finite(&mixed), "len {len}");
        }
    }
}
