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
}

/// `a / b`, or zero when `b` is zero: the chain's `safe_div` convention (chain.md §0).
#[inline]
pub fn safe_div<R: Real>(a: R, b: R) -> R {
    if b == R::zero() { R::zero() } else { a / b }
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
