// Twin of the distribution functions of crates/taosim-core/src/rng.rs (model.md §11): the
// conversions of Philox words (shared/philox.wgsl, `rng_block` in shared/state.wgsl) into
// uniforms, normals, Poisson counts and lognormals, with the same formulas at f32 and f64. Also the
// stream ids and GLOBAL_SUBNET of rng.rs (the parity suite checks every value against Rust).
// Every function has a single exit (see real_f64.wgsl for why).

// taosim_core::rng::GLOBAL_SUBNET: the subnet field of draws that belong to the whole path.
const GLOBAL_SUBNET: u32 = 0xFFFFu;

// taosim_core::rng::stream (part of the reproducibility contract: never renumber).
// The retired ids (QUALITY_JUMP, FLOW_NOISE, OUTFLOW_NOISE) are not read and have no constant here.
const STREAM_BEHAVIOUR_NORMALS: u32 = 0x0000u;
const STREAM_MARKET: u32 = 0x0002u;
const STREAM_BEHAVIOUR_COUNTS: u32 = 0x0003u;
const STREAM_PANIC: u32 = 0x0020u;
const STREAM_ZERO_EMISSION_EXIT: u32 = 0x0021u;
const STREAM_WHALE: u32 = 0x0030u;
const STREAM_WHALE_SIZE: u32 = 0x0031u;
const STREAM_BUYBACK: u32 = 0x0040u;
const STREAM_REGISTRATION: u32 = 0x0100u;
const STREAM_NEW_SUBNET: u32 = 0x0101u;
const STREAM_INIT_SYNTHETIC: u32 = 0x0102u;
const STREAM_YUMA_MINER_QUALITY: u32 = 0x1000u;
const STREAM_YUMA_MINER_QUALITY_LEN: u32 = 0x1000u;
const STREAM_YUMA_NOISE: u32 = 0x2000u;
const STREAM_YUMA_NOISE_LEN: u32 = 0x4000u;

// rng::POISSON_INVERSION_MAX_LAMBDA and rng::POISSON_MAX_TERMS.
const POISSON_INVERSION_MAX_LAMBDA: f32 = 32.0;
const POISSON_MAX_TERMS: u32 = 128u;

// A uniform in (0, 1) from the top 24 bits of w: ((w >> 8) + 0.5)·2^-24, clipped to the largest
// Real below one. The Rust clip `min(u, 1 − EPS/2)` only bites where u rounded to 1 (f32, top grid
// point: f64 never gets there), so it is written as that case, without a precision-dependent EPS.
fn uniform_open(w: u32) -> Real {
    let u = (Real(w >> 8u) + 0.5) * Real(1.0 / 16777216.0);
    return select(u, Real(1.0) - Real(1.0 / 16777216.0), u >= 1.0);
}

// cos and sin of a in [0, 2π] (the Box–Muller angle). GLSL.std.450 has no f64 Cos/Sin, so both
// precisions use this: a = k·π/2 + r by a three-part Cody–Waite reduction whose first two parts
// (fdlibm's single-precision split, 17 and 14 bits) are exact in f32 and f64, so k·part is exact
// for k ≤ 4 and the reduction loses nothing in f64 (the third part carries π/2 to ~1e-27); then
// the Taylor series of sin and cos to r¹⁷ and r¹⁸ on |r| ≤ π/4 (next terms < 1e-19 relative),
// and the quadrant's signs.
fn rng_cos_sin(a: Real) -> vec2<Real> {
    let k = floor(a * Real(0.6366197723675814) + 0.5);
    let r = ((a - k * Real(1.5707855224609375)) - k * Real(1.0804273188114166e-05))
        - k * Real(6.077100506506192e-11);
    let r2 = r * r;
    var s = Real(1.0 / 355687428096000.0);
    s = s * r2 - Real(1.0 / 1307674368000.0);
    s = s * r2 + Real(1.0 / 6227020800.0);
    s = s * r2 - Real(1.0 / 39916800.0);
    s = s * r2 + Real(1.0 / 362880.0);
    s = s * r2 - Real(1.0 / 5040.0);
    s = s * r2 + Real(1.0 / 120.0);
    s = s * r2 - Real(1.0 / 6.0);
    let sin_r = r + r * r2 * s;
    var c = Real(-1.0 / 6402373705728000.0);
    c = c * r2 + Real(1.0 / 20922789888000.0);
    c = c * r2 - Real(1.0 / 87178291200.0);
    c = c * r2 + Real(1.0 / 479001600.0);
    c = c * r2 - Real(1.0 / 3628800.0);
    c = c * r2 + Real(1.0 / 40320.0);
    c = c * r2 - Real(1.0 / 720.0);
    c = c * r2 + Real(1.0 / 24.0);
    let cos_r = 1.0 - 0.5 * r2 + r2 * r2 * c;
    let quadrant = u32(k) & 3u;
    var out = vec2<Real>(cos_r, sin_r);
    if (quadrant == 1u) {
        out = vec2<Real>(-sin_r, cos_r);
    } else if (quadrant == 2u) {
        out = vec2<Real>(-cos_r, -sin_r);
    } else if (quadrant == 3u) {
        out = vec2<Real>(sin_r, -cos_r);
    }
    return out;
}

// ln x, accurate next to 1 in both precisions: for x in [½, 2] as ln_1p(x − 1), the same value
// (x − 1 is exact there, Sterbenz), because a native f32 log is only absolutely accurate next to 1
// (lavapipe's was 40% off at x = 1 − 2^-24, which moved a Box–Muller radius by 1e-4); in f64
// both forms are within the prelude's 4 ulps of libm. For uniforms (ln u) and price ratios.
fn ln_near_one(x: Real) -> Real {
    return select(r_ln(x), r_ln_1p(x - 1.0), x >= 0.5 && x <= 2.0);
}

// Two standard normals from two words by Box–Muller (rng::normal_pair): (r cos 2πu1, r sin 2πu1)
// with r = sqrt(−2 ln u0).
fn normal_pair(w0: u32, w1: u32) -> vec2<Real> {
    let u0 = uniform_open(w0);
    let u1 = uniform_open(w1);
    let radius = sqrt(Real(-2.0) * ln_near_one(u0));
    let angle = Real(2.0) * Real(3.14159265358979323846) * u1;
    let cs = rng_cos_sin(angle);
    return vec2<Real>(radius * cs.x, radius * cs.y);
}

// Φ⁻¹(p) for p in (0, 1), Acklam's rational approximation (rng::normal_quantile, same
// coefficients and evaluation order): the central rational function, in x = 29/128 − q², for
// |p − ½| ≤ 0.47575, else the tail one in s = sqrt(−2 ln t), t = min(p, 1 − p), mirrored for p > ½.
fn normal_quantile(p: Real) -> Real {
    let q = p - 0.5;
    var result = Real(0.0);
    if (abs(q) <= Real(0.5 - 0.02425)) {
        // Re-expanded in x = 29/128 − q², where no sum cancels (rng::ACKLAM_NUM, ACKLAM_DEN).
        let x = Real(0.2265625) - q * q;
        let num = ((((Real(39.69683028665376) * x + Real(175.97703286542054)) * x
            + Real(96.07271658121415)) * x + Real(14.24374747531838)) * x
            + Real(0.7070707566296686)) * x + Real(0.010641262768829058);
        let den = ((((Real(54.47609879822406) * x + Real(99.8746311881777)) * x
            + Real(37.22470527644381)) * x + Real(4.4050744078165955)) * x
            + Real(0.18866046727212776)) * x + Real(0.002561856061441628);
        result = num * q / den;
    } else {
        let t = select(1.0 - p, p, q < 0.0);
        let s = sqrt(Real(-2.0) * r_ln(t));
        let num = ((((Real(-7.784894002430293e-3) * s + Real(-3.223964580411365e-1)) * s
            + Real(-2.400758277161838)) * s + Real(-2.549732539343734)) * s
            + Real(4.374664141464968)) * s + Real(2.938163982698783);
        let den = (((Real(7.784695709041462e-3) * s + Real(3.224671290700398e-1)) * s
            + Real(2.445134137142996)) * s + Real(3.754408661907416)) * s + 1.0;
        let lower = num / den;
        result = select(-lower, lower, q < 0.0);
    }
    return result;
}

// One standard normal from one word by inversion (rng::normal_icdf).
fn normal_icdf(w: u32) -> Real {
    return normal_quantile(uniform_open(w));
}

// A unit-mean exponential −ln u (rng::exponential).
fn exponential(w: u32) -> Real {
    return -ln_near_one(uniform_open(w));
}

// exp(mu + sigma·z), z the first normal of normal_pair(w0, w1) (rng::lognormal).
fn lognormal(mu: Real, sigma: Real, w0: u32, w1: u32) -> Real {
    let z = normal_pair(w0, w1).x;
    return r_exp(mu + sigma * z);
}

// A Poisson count with mean lambda (rng::poisson): 0 for lambda ≤ 0 or NaN; inversion of the CDF
// up to POISSON_INVERSION_MAX_LAMBDA (stopping where the CDF stalls, as in Rust); above, the
// normal approximation max(0, floor(lambda + sqrt(lambda)·z + ½)), saturating at u32::MAX.
fn poisson(lambda: Real, w0: u32, w1: u32) -> u32 {
    var k = 0u;
    if (lambda > Real(POISSON_INVERSION_MAX_LAMBDA)) {
        let z = normal_pair(w0, w1).x;
        let count = max(floor(lambda + sqrt(lambda) * z + 0.5), Real(0.0));
        k = select(u32(count), 0xFFFFFFFFu, count >= Real(4294967296.0));
    } else if (lambda > 0.0) {
        let u = uniform_open(w0);
        var term = r_exp(-lambda);
        var cdf = term;
        var searching = u > cdf;
        while (searching && k < POISSON_MAX_TERMS) {
            k = k + 1u;
            term = term * lambda / Real(k);
            let next = cdf + term;
            // Rust breaks here: the CDF stalled below u (rounding), more terms would not move it.
            if (next == cdf) {
                searching = false;
            } else {
                cdf = next;
                searching = u > cdf;
            }
        }
    }
    return k;
}
