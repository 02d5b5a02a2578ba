//! The floating-point abstraction every model function is generic over.
//!
//! The reference path runs in `f64`; the GPU path runs `f32` where the adapter lacks `SHADER_F64`.
//! Writing each mechanism once, generic over [`Real`], gives the f32 GPU twin a precise CPU target
//! (the same function instantiated at `f32`) and lets a test bound the f32-vs-f64 divergence.

use core::fmt::{Debug, Display};
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point scalar usable in model state and stage arithmetic (`f32` or `f64`).
pub trait Real:
    num_traits::Float
    + num_traits::FloatConst
    + bytemuck::Pod
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// Machine epsilon of the type, as f64 (for tolerances stated in ulps).
    const EPS: f64;
    /// Converts an `f64` constant or parameter into this type (rounding to nearest).
    fn of(x: f64) -> Self;
    /// Widens this value to `f64` (exact for both instantiations).
    fn f64(self) -> f64;
    /// Converts a count or index into this type.
    fn of_usize(n: usize) -> Self {
        Self::of(n as f64)
    }
    /// `eˣ` in a form a loop over lanes can vectorise: [`crate::vecmath::exp`] in f64 (within an
    /// ulp of libm's); libm's in f32, whose CPU runs check the GPU twin and are not a speed path.
    fn exp_lanes(self) -> Self;
    /// `ln x` as [`Real::exp_lanes`]: [`crate::vecmath::ln`] in f64, libm's in f32.
    fn ln_lanes(self) -> Self;
    /// `eˣ − 1` as [`Real::exp_lanes`]: [`crate::vecmath::exp_m1`] in f64, [`exp_m1`] in f32.
    fn exp_m1_lanes(self) -> Self;
}

impl Real for f64 {
    const EPS: f64 = f64::EPSILON;
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
    #[inline]
    fn f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_lanes(self) -> Self {
        crate::vecmath::exp(self)
    }
    #[inline(always)]
    fn ln_lanes(self) -> Self {
        crate::vecmath::ln(self)
    }
    #[inline(always)]
    fn exp_m1_lanes(self) -> Self {
        crate::vecmath::exp_m1(self)
    }
}

impl Real for f32 {
    const EPS: f64 = f32::EPSILON as f64;
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn exp_lanes(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn ln_lanes(self) -> Self {
        self.ln()
    }
    #[inline(always)]
    fn exp_m1_lanes(self) -> Self {
        exp_m1(self)
    }
}

/// `a / b`, or zero when `b` is zero: the chain's `safe_div` convention (chain.md §0).
///
/// The quotient is taken first and then selected: a division in one arm of a branch is too
/// costly for the compiler to speculate, so the branch would stay, and it keeps the subnet lanes
/// of the CPU stages (e.g. `cpu/injection.rs`) from running as vectors.
#[inline]
pub fn safe_div<R: Real>(a: R, b: R) -> R {
    let quotient = a / b;
    if b == R::zero() { R::zero() } else { quotient }
}

/// Below this magnitude [`ln_1p`] and [`exp_m1`] sum a short series instead of calling libm.
///
/// The model's per-step rates (an EMA's smoothing over a step, a dividend per staked alpha, a
/// step's selling hazard) are mostly far below it, and libm's general `log1p`/`expm1` were a
/// sixth of the light step's time.
pub const SMALL_ARGUMENT: f64 = 1.0 / 256.0;

/// `ln(1 + x)`, within an ulp or two of libm's `ln_1p`: the Taylor series to `x⁷` for
/// `|x| < 2^-8` (the next term is below `2^-56·|x|`), libm's `ln_1p` otherwise.
#[inline]
pub fn ln_1p<R: Real>(x: R) -> R {
    if x.abs() < R::of(SMALL_ARGUMENT) { ln_1p_series(x) } else { x.ln_1p() }
}

/// [`ln_1p`]'s series, for `|x| < SMALL_ARGUMENT`: branch-free, so a loop over subnets that has
/// checked the range can vectorise it (and gets [`ln_1p`]'s bits).
#[inline(always)]
pub fn ln_1p_series<R: Real>(x: R) -> R {
    let c = |k: f64| R::of(1.0 / k);
    let tail = c(5.0) + x * (-c(6.0) + x * c(7.0));
    x * (R::one() + x * (-c(2.0) + x * (c(3.0) + x * (-c(4.0) + x * tail))))
}

/// `eˣ − 1`, within an ulp or two of libm's `exp_m1`: the Taylor series to `x⁶` for `|x| < 2^-8`
/// (the next term is below `2^-58·|x|`), libm's `exp_m1` otherwise.
#[inline]
pub fn exp_m1<R: Real>(x: R) -> R {
    if x.abs() < R::of(SMALL_ARGUMENT) { exp_m1_series(x) } else { x.exp_m1() }
}

/// [`exp_m1`]'s series, for `|x| < SMALL_ARGUMENT` (see [`ln_1p_series`]).
#[inline(always)]
pub fn exp_m1_series<R: Real>(x: R) -> R {
    let c = |k: f64| R::of(1.0 / k);
    let tail = c(24.0) + x * (c(120.0) + x * c(720.0));
    x * (R::one() + x * (c(2.0) + x * (c(6.0) + x * tail)))
}

/// Neumaier-compensated running sum, for money accumulators in f32 mode (model.md §1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CompensatedSum<R: Real> {
    sum: R,
    compensation: R,
}

impl<R: Real> CompensatedSum<R> {
    /// Adds `x` to the sum, carrying the rounding error of the addition.
    #[inline]
    pub fn add(&mut self, x: R) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated value of the sum.
    #[inline]
    pub fn value(&self) -> R {
        self.sum + self.compensation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place of `want`.
    fn ulps<R: Real>(got: R, want: R) -> f64 {
        let scale = want.abs().f64().max(f64::MIN_POSITIVE);
        (got.f64() - want.f64()).abs() / (scale * R::EPS)
    }

    /// The series forms against libm over magnitudes 1e-300 … 2^-8 and both signs, at the edge
    /// of the series region and past it (libm's own there): within 2 ulps in f64 and f32.
    fn check_against_libm<R: Real>() {
        let mut worst = [0.0_f64; 2];
        let mut x = 1e-300_f64;
        while x < 0.01 {
            for signed in [x, -x, SMALL_ARGUMENT * (1.0 - 1e-9), -SMALL_ARGUMENT * (1.0 - 1e-9)] {
                let v = R::of(signed);
                if v == R::zero() {
                    continue;
                }
                worst[0] = worst[0].max(ulps(ln_1p(v), v.ln_1p()));
                worst[1] = worst[1].max(ulps(exp_m1(v), v.exp_m1()));
            }
            x *= 1.01;
        }
        assert!(worst[0] <= 2.0 && worst[1] <= 2.0, "ulps from libm: {worst:?}");
    }

    #[test]
    fn series_forms_match_libm() {
        check_against_libm::<f64>();
        check_against_libm::<f32>();
        assert_eq!(ln_1p(0.0_f64), 0.0);
        assert_eq!(exp_m1(-0.0_f64).to_bits(), (-0.0_f64).to_bits());
        assert!(ln_1p(f64::NAN).is_nan() && exp_m1(f64::NAN).is_nan());
    }

    #[test]
    fn safe_div_by_zero_is_zero() {
        assert_eq!(safe_div(1.0_f64, 0.0), 0.0);
        assert_eq!(safe_div(1.0_f32, 4.0), 0.25);
    }

    #[test]
    fn compensated_sum_keeps_small_increments_in_f32() {
        // A 1e6 TAO pool receiving 1e5 increments of 1e-3 TAO: each increment is below half an ulp
        // of 1e6 in f32 (0.0625), so naive summation loses all of them; the compensated sum keeps
        // them (exact: 1e6 + 100).
        let mut naive = 1.0e6_f32;
        let mut comp = CompensatedSum::<f32>::default();
        comp.add(1.0e6);
        for _ in 0..100_000 {
            naive += 1.0e-3;
            comp.add(1.0e-3);
        }
        let exact = 1.0e6_f64 + 100_000.0 * f64::from(1.0e-3_f32);
        assert_eq!(naive, 1.0e6, "naive f32 sum should lose every increment");
        let rel = (f64::from(comp.value()) - exact).abs() / exact;
        assert!(rel < f64::from(f32::EPSILON), "compensated sum off by {rel:e} relative");
    }
}
