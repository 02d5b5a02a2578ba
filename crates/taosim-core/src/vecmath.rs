//! `eˣ`, `ln x` and `eˣ − 1` in f64 without a libm call or a branch, so that a loop over subnets
//! can run them in vector lanes.
//!
//! libm's `exp` and `log` are scalar calls: a loop that calls them per subnet runs one lane at a
//! time, and in the light workload's `behaviour` stage (two `ln` and two `exp` per subnet-step)
//! they and the loop around them were about a third of the step (docs/performance.md, session
//! 20). These forms use only `+ − × ÷`, comparisons and integer operations on the bits, which IEEE
//! 754 rounds exactly at every vector width, so they give the same bits at every
//! [`SimdLevel`](crate::simd::SimdLevel) and are usable inside a [`Kernel`](crate::simd::Kernel).
//!
//! **Accuracy.** Within 1 ulp of libm's (glibc's correctly rounded-in-practice) `exp` and `ln`
//! over their whole domains and within 2 ulps for [`exp_m1`], special values included; the tests
//! below check it on a million arguments each. Rust never fuses `a·b + c`, so the bits do not
//! depend on whether the CPU has FMA.
//!
//! **Method.** The textbook ones (Cody–Waite reduction, as in fdlibm):
//! - `exp`: `x = k·ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ − 1` by its Taylor polynomial to `r¹³`
//!   (the next term is below 2⁻⁵⁶ of `eʳ`), scaled by `2ᵏ` as two powers of two so that
//!   subnormal results and `k = 1024` need no branch;
//! - `ln`: `x = 2ᵏ·m` with `m ∈ [√½, √2)`, `ln m = 2·atanh(s)`, `s = (m − 1)/(m + 1)`, by
//!   fdlibm's minimax polynomial in `s²`;
//! - `exp_m1`: `2ᵏ·(eʳ − 1) + (2ᵏ − 1)`, which keeps the polynomial's relative accuracy where the
//!   result is small.
//!
//! Integer ↔ float conversions go through the bits of `2⁵² + n` (exact for the small integers
//! used here), since SSE2 and AVX2 have no vector conversion between f64 and i64.

/// `2⁵²`: adding it to a float in `[0, 2⁵²)` puts its integer part in the low bits.
const TWO_52: f64 = 4_503_599_627_370_496.0;

/// `1.5·2⁵²`: adding it rounds a float of magnitude below `2⁵¹` to the nearest integer.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// `ln 2` in two parts (fdlibm's, by their bits): `LN2_HI` has 32 significant bits, so `k·LN2_HI`
/// is exact for every `|k| < 2²⁰`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// Above it `eˣ` overflows (libm's threshold).
const EXP_OVERFLOW: f64 = 709.782_712_893_384;

/// Below it `eˣ` rounds to zero (half the smallest subnormal).
const EXP_UNDERFLOW: f64 = -745.133_219_101_941_1;

/// Below it `eˣ − 1` rounds to `−1` (`e⁻⁴⁰ < 2⁻⁵⁷`).
const EXP_M1_FLOOR: f64 = -40.0;

/// `2ⁿ` for an integer-valued `n ∈ [−1022, 1023]`, from the bits.
#[inline(always)]
fn pow2(n: f64) -> f64 {
    // (2⁵² + n + 1023)'s low bits hold the biased exponent; shifting them up drops 2⁵²'s own.
    f64::from_bits((n + (TWO_52 + 1023.0)).to_bits() << 52)
}

/// `k = round(x / ln 2)`, `r = x − k·ln 2` and `p = eʳ − 1`, for `|x| ≤ 746`.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let k = (x * core::f64::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor to r¹³ by Horner (|r| ≤ 0.3466, and r¹⁴/14! < 2⁻⁵⁶), written out: as a loop over
    // the coefficients it was left rolled in a large caller, whose loop over lanes then stayed
    // scalar.
    let c = |n: f64| 1.0 / n;
    let q = c(479_001_600.0) + r * c(6_227_020_800.0);
    let q = c(39_916_800.0) + r * q;
    let q = c(3_628_800.0) + r * q;
    let q = c(362_880.0) + r * q;
    let q = c(40_320.0) + r * q;
    let q = c(5_040.0) + r * q;
    let q = c(720.0) + r * q;
    let q = c(120.0) + r * q;
    let q = c(24.0) + r * q;
    let q = c(6.0) + r * q;
    let q = c(2.0) + r * q;
    (k, r + r * (r * q))
}

/// `eˣ` (module docs): within 1 ulp of libm's, `+∞` above ~709.78, `0` below ~−745.13, NaN for
/// NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let clamped = x.clamp(EXP_UNDERFLOW - 1.0, EXP_OVERFLOW + 1.0);
    let (k, p) = reduce(clamped);
    // 2ᵏ as 2^⌊k/2⌉·2^(k−⌊k/2⌉): each factor stays a normal number for k ∈ [−1077, 1025].
    let half = (k * 0.5 + ROUND) - ROUND;
    let value = ((1.0 + p) * pow2(half)) * pow2(k - half);
    let value = if x > EXP_OVERFLOW { f64::INFINITY } else { value };
    let value = if x < EXP_UNDERFLOW { 0.0 } else { value };
    if x.is_nan() { x } else { value }
}

/// `eˣ − 1` (module docs): within 2 ulps of libm's `exp_m1`, `−1` below −40, `+∞` above ~709.78.
#[inline(always)]
pub fn exp_m1(x: f64) -> f64 {
    let clamped = x.clamp(EXP_M1_FLOOR, EXP_OVERFLOW);
    let (k, p) = reduce(clamped);
    // k ≤ 1024 here: 2ᵏ in two factors again, of which 2ᵏ − 1 is formed in one rounding.
    let half = (k * 0.5 + ROUND) - ROUND;
    let (a, b) = (pow2(half), pow2(k - half));
    let value = (p * a) * b + (a * b - 1.0);
    // Near overflow `a·b` alone overflows; there the `− 1` is far below an ulp anyway.
    let value = if k > 1000.0 { ((1.0 + p) * a) * b } else { value };
    let value = if x > EXP_OVERFLOW { f64::INFINITY } else { value };
    let value = if x < EXP_M1_FLOOR { -1.0 } else { value };
    // −0 and the tiny arguments whose result is the argument itself keep their bits.
    let value = if x.abs() < 1e-300 { x } else { value };
    if x.is_nan() { x } else { value }
}

/// `ln x` (module docs): within 1 ulp of libm's, `−∞` at ±0, NaN below zero, `+∞` at `+∞`.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    // fdlibm's e_log.c Lg1..Lg7, by their bits.
    const LG: [f64; 7] = [
        f64::from_bits(0x3fe5_5555_5555_5593),
        f64::from_bits(0x3fd9_9999_9997_fa04),
        f64::from_bits(0x3fd2_4924_9422_9359),
        f64::from_bits(0x3fcc_71c5_1d8e_78af),
        f64::from_bits(0x3fc7_4664_96cb_03de),
        f64::from_bits(0x3fc3_9a09_d078_c69f),
        f64::from_bits(0x3fc2_f112_df3e_5244),
    ];
    // Subnormals scaled into the normal range first (and their exponent corrected below).
    let subnormal = x < f64::MIN_POSITIVE;
    let scaled = if subnormal { x * TWO_52 * 4.0 } else { x };
    let bits = scaled.to_bits();
    // The mantissa m ∈ [√½, √2): fdlibm's trick moves those above √2 down an octave.
    let mantissa = bits & 0x000f_ffff_ffff_ffff;
    let octave = (mantissa + 0x0009_5f64_0000_0000) & 0x0010_0000_0000_0000;
    let m = f64::from_bits(mantissa | (octave ^ 0x3ff0_0000_0000_0000));
    let biased = (bits >> 52) + (octave >> 52);
    let k = f64::from_bits(0x4330_0000_0000_0000 | biased)
        - (TWO_52 + 1023.0)
        - if subnormal { 54.0 } else { 0.0 };

    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    // fdlibm's split of the polynomial into odd and even powers of w, for two short chains.
    let t1 = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let value = k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f);

    let value = if x == f64::INFINITY { x } else { value };
    let value = if x == 0.0 { f64::NEG_INFINITY } else { value };
    if x < 0.0 || x.is_nan() { f64::NAN } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance from `want` in units of its last place (subnormals count in the smallest one).
    fn ulps(got: f64, want: f64) -> f64 {
        if got == want || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        let ulp = want.abs().max(f64::MIN_POSITIVE) * f64::EPSILON;
        (got - want).abs() / ulp
    }

    /// A SplitMix64 stream of arguments (the test's own, not the model's generator).
    fn arguments(n: usize, seed: u64, mut map: impl FnMut(u64) -> f64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                map(z ^ (z >> 31))
            })
            .collect()
    }

    fn uniform(bits: u64, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((bits >> 11) as f64 / (1_u64 << 53) as f64)
    }

    fn worst(xs: &[f64], got: fn(f64) -> f64, want: fn(f64) -> f64) -> (f64, f64) {
        xs.iter()
            .map(|&x| (ulps(got(x), want(x)), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    }

    #[test]
    fn exp_is_within_an_ulp_of_libm_everywhere() {
        let mut xs = arguments(1_000_000, 1, |b| uniform(b, -746.0, 710.0));
        xs.extend(arguments(1_000_000, 2, |b| uniform(b, -2.0, 2.0)));
        xs.extend(arguments(100_000, 3, |b| uniform(b, -1e-6, 1e-6)));
        xs.extend(arguments(100_000, 4, |b| uniform(b, -745.2, -700.0)));
        let (err, at) = worst(&xs, exp, f64::exp);
        assert!(err <= 1.0, "exp off by {err} ulps at {at:e}");
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert!(ulps(exp(1.0), core::f64::consts::E) <= 1.0);
        assert_eq!(exp(709.79), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-745.0), f64::from_bits(1), "the smallest subnormal, as libm");
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::MAX), f64::INFINITY);
        assert_eq!(exp(f64::MIN), 0.0);
    }

    #[test]
    fn ln_is_within_an_ulp_of_libm_everywhere() {
        // Every binade: random bit patterns of positive finite floats, subnormals included.
        let mut xs = arguments(1_000_000, 5, |b| f64::from_bits(b % 0x7ff0_0000_0000_0000));
        xs.extend(arguments(1_000_000, 6, |b| uniform(b, 0.5, 2.0)));
        xs.extend(arguments(100_000, 7, |b| 1.0 + uniform(b, -1e-6, 1e-6)));
        xs.extend(arguments(100_000, 8, |b| f64::from_bits(b % 0x0010_0000_0000_0000)));
        xs.retain(|&x| x > 0.0);
        let (err, at) = worst(&xs, ln, f64::ln);
        assert!(err <= 1.0, "ln off by {err} ulps at {at:e}");
    }

    #[test]
    fn ln_special_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(2.0), core::f64::consts::LN_2);
        assert_eq!(ln(core::f64::consts::E), 1.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert_eq!(ln(f64::from_bits(1)), f64::from_bits(1).ln());
        assert_eq!(ln(f64::MAX), f64::MAX.ln());
        assert!(ln(-1.0).is_nan() && ln(f64::NEG_INFINITY).is_nan() && ln(f64::NAN).is_nan());
    }

    #[test]
    fn exp_m1_is_within_two_ulps_of_libm_everywhere() {
        let mut xs = arguments(1_000_000, 9, |b| uniform(b, -50.0, 710.0));
        xs.extend(arguments(1_000_000, 10, |b| uniform(b, -2.0, 2.0)));
        xs.extend(arguments(100_000, 11, |b| uniform(b, -1e-3, 1e-3)));
        xs.extend(arguments(100_000, 12, |b| uniform(b, -1e-12, 1e-12)));
        let (err, at) = worst(&xs, exp_m1, f64::exp_m1);
        assert!(err <= 2.0, "exp_m1 off by {err} ulps at {at:e}");
    }

    #[test]
    fn exp_m1_special_values() {
        assert_eq!(exp_m1(0.0).to_bits(), 0.0_f64.to_bits());
        assert_eq!(exp_m1(-0.0).to_bits(), (-0.0_f64).to_bits());
        assert_eq!(exp_m1(1e-310), 1e-310);
        assert_eq!(exp_m1(-41.0), -1.0);
        assert_eq!(exp_m1(f64::NEG_INFINITY), -1.0);
        assert_eq!(exp_m1(710.0), f64::INFINITY);
        assert_eq!(exp_m1(f64::INFINITY), f64::INFINITY);
        assert!(exp_m1(f64::NAN).is_nan());
    }

    /// The three functions over many lanes, compiled at every SIMD level this CPU runs (a
    /// [`Kernel`](crate::simd::Kernel), as the stages call them): the same bits as the plain
    /// scalar calls. Plain Rust arithmetic guarantees it; an operation that rounds differently
    /// in vector lanes (an approximate-reciprocal intrinsic at one level, a fast-math build
    /// flag) would fail it.
    #[test]
    fn every_simd_level_gives_the_same_bits() {
        use crate::simd::{self, Kernel, SimdLevel};
        struct Lanes<'a> {
            x: &'a [f64],
            out: &'a mut [[u64; 3]],
        }
        impl Kernel for Lanes<'_> {
            type Output = ();
            #[inline(always)]
            fn run(self) {
                for (o, &x) in self.out.iter_mut().zip(self.x) {
                    *o = [exp(x).to_bits(), ln(x.abs()).to_bits(), exp_m1(x).to_bits()];
                }
            }
        }
        let mut xs = arguments(4096, 13, |b| uniform(b, -746.0, 710.0));
        xs.extend(arguments(4096, 14, |b| uniform(b, -1.0, 1.0)));
        xs.extend([0.0, -0.0, 1e-310, -1e-310, f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
        let scalar: Vec<[u64; 3]> = xs
            .iter()
            .map(|&x| [exp(x).to_bits(), ln(x.abs()).to_bits(), exp_m1(x).to_bits()])
            .collect();
        for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
            let mut out = vec![[0_u64; 3]; xs.len()];
            simd::run_at(level, Lanes { x: &xs, out: &mut out });
            for ((got, want), x) in out.iter().zip(&scalar).zip(&xs) {
                assert_eq!(got, want, "{level} at {x:e}");
            }
        }
    }
}
