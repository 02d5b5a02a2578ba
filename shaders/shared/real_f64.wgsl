// Real = f64 (adapters with SHADER_F64). Arithmetic, sqrt, floor and ldexp are native f64,
// but SPIR-V's GLSL.std.450 defines Exp, Log and Pow for 16- and 32-bit floats only, so the
// transcendental functions are computed here from f64 arithmetic: range reduction plus a
// polynomial, about 1 ulp (the parity test bounds them against Rust's libm at 4 ulps).
// Twin prelude: real_f32.wgsl (same function names, native f32 built-ins).

alias Real = f64;

// The spacing of Real at 1 (Rust's f64::EPSILON, 2^-52).
const REAL_EPS: f64 = 2.220446049250313080847263336181640625e-16;

const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.44269504088896338700e+00;
const SQRT_HALF: f64 = 0.70710678118654752440;

// e^x: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to r¹³/13! (next term < 3e-17).
// Every function here has a single exit and no loops: lavapipe (Mesa 22.3) miscompiled an f64
// function with loops and early returns when it was inlined into a caller's loop (the caller's
// loop ended early), and straight-line code is what a GPU runs best anyway.
fn r_exp(x: Real) -> Real {
    // Clamp so k stays a small integer; the result is then fixed up below (inf, 0, NaN pass).
    let xc = clamp(x, -746.0, 710.0);
    let k = floor(xc * INV_LN2 + 0.5);
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    var p = Real(1.0 / 6227020800.0);
    p = p * r + Real(1.0 / 479001600.0);
    p = p * r + Real(1.0 / 39916800.0);
    p = p * r + Real(1.0 / 3628800.0);
    p = p * r + Real(1.0 / 362880.0);
    p = p * r + Real(1.0 / 40320.0);
    p = p * r + Real(1.0 / 5040.0);
    p = p * r + Real(1.0 / 720.0);
    p = p * r + Real(1.0 / 120.0);
    p = p * r + Real(1.0 / 24.0);
    p = p * r + Real(1.0 / 6.0);
    p = p * r + Real(0.5);
    p = p * r + Real(1.0);
    p = p * r + Real(1.0);
    // Scale in two halves so k = 1024 (results just under the overflow) and k < -1021
    // (subnormal results) do not overflow the exponent of an intermediate.
    let k1 = i32(k) / 2;
    var y = ldexp(ldexp(p, k1), i32(k) - k1);
    if (x > 709.8) {
        y = x * ldexp(Real(1.0), 1023); // +inf
    }
    if (x < -745.2) {
        y = Real(0.0);
    }
    if (!(x == x)) {
        y = x; // NaN
    }
    return y;
}

// 2·atanh(s) = ln((1 + s)/(1 − s)) for |s| ≤ 0.1716, by its series to s²³ (next term < 1e-19).
fn r_ln_series(s: Real) -> Real {
    let s2 = s * s;
    var q = Real(1.0 / 23.0);
    q = q * s2 + Real(1.0 / 21.0);
    q = q * s2 + Real(1.0 / 19.0);
    q = q * s2 + Real(1.0 / 17.0);
    q = q * s2 + Real(1.0 / 15.0);
    q = q * s2 + Real(1.0 / 13.0);
    q = q * s2 + Real(1.0 / 11.0);
    q = q * s2 + Real(1.0 / 9.0);
    q = q * s2 + Real(1.0 / 7.0);
    q = q * s2 + Real(1.0 / 5.0);
    q = q * s2 + Real(1.0 / 3.0);
    return 2.0 * s + 2.0 * s * s2 * q;
}

// ln x: x = m·2^e with m in [√½, √2), ln m = 2·atanh(s) with s = (m−1)/(m+1), |s| ≤ 0.172.
fn r_ln(x: Real) -> Real {
    // x = m·2^e by a binary search on the exponent with exact power-of-two scalings (no frexp:
    // naga types an f64 frexp's exponent as i64, which needs SHADER_INT64).
    var y = abs(x);
    var e = 0;
    if (y < ldexp(Real(1.0), -1000)) { y = y * ldexp(Real(1.0), 100); e = e - 100; }
    if (y >= ldexp(Real(1.0), 512)) { y = y * ldexp(Real(1.0), -512); e = e + 512; }
    if (y >= ldexp(Real(1.0), 256)) { y = y * ldexp(Real(1.0), -256); e = e + 256; }
    if (y >= ldexp(Real(1.0), 128)) { y = y * ldexp(Real(1.0), -128); e = e + 128; }
    if (y >= ldexp(Real(1.0), 64)) { y = y * ldexp(Real(1.0), -64); e = e + 64; }
    if (y >= ldexp(Real(1.0), 32)) { y = y * ldexp(Real(1.0), -32); e = e + 32; }
    if (y >= ldexp(Real(1.0), 16)) { y = y * ldexp(Real(1.0), -16); e = e + 16; }
    if (y >= ldexp(Real(1.0), 8)) { y = y * ldexp(Real(1.0), -8); e = e + 8; }
    if (y >= ldexp(Real(1.0), 4)) { y = y * ldexp(Real(1.0), -4); e = e + 4; }
    if (y >= ldexp(Real(1.0), 2)) { y = y * ldexp(Real(1.0), -2); e = e + 2; }
    if (y >= ldexp(Real(1.0), 1)) { y = y * ldexp(Real(1.0), -1); e = e + 1; }
    if (y < ldexp(Real(1.0), -511)) { y = y * ldexp(Real(1.0), 512); e = e - 512; }
    if (y < ldexp(Real(1.0), -255)) { y = y * ldexp(Real(1.0), 256); e = e - 256; }
    if (y < ldexp(Real(1.0), -127)) { y = y * ldexp(Real(1.0), 128); e = e - 128; }
    if (y < ldexp(Real(1.0), -63)) { y = y * ldexp(Real(1.0), 64); e = e - 64; }
    if (y < ldexp(Real(1.0), -31)) { y = y * ldexp(Real(1.0), 32); e = e - 32; }
    if (y < ldexp(Real(1.0), -15)) { y = y * ldexp(Real(1.0), 16); e = e - 16; }
    if (y < ldexp(Real(1.0), -7)) { y = y * ldexp(Real(1.0), 8); e = e - 8; }
    if (y < ldexp(Real(1.0), -3)) { y = y * ldexp(Real(1.0), 4); e = e - 4; }
    if (y < ldexp(Real(1.0), -1)) { y = y * ldexp(Real(1.0), 2); e = e - 2; }
    if (y < 1.0) { y = y * 2.0; e = e - 1; }
    // y in [1, 2): move to [√½, √2).
    if (y > 2.0 * SQRT_HALF) {
        y = y * 0.5;
        e = e + 1;
    }
    let ef = Real(e);
    var result = ef * LN2_HI + (r_ln_series((y - 1.0) / (y + 1.0)) + ef * LN2_LO);
    let zero = x - x;
    if (x == 0.0) {
        result = Real(-1.0) / abs(x); // -inf
    }
    if (x < 0.0) {
        result = zero / zero; // NaN
    }
    if (!(abs(x) <= 1.7976931348623157e308)) {
        result = x; // NaN, +inf (-inf gave NaN above... and is kept NaN below)
        if (x < 0.0) {
            result = zero / zero;
        }
    }
    return result;
}

// ln(1 + x), accurate for small x: 2·atanh(s) with s = x/(2 + x), by the series of r_ln_series
// while |s| ≤ 0.1716, else ln(1 + x). (The classic ln(u)·x/(u − 1) correction with u = 1 + x is not
// used: Mesa's NIR may simplify (1 + x) − 1 to x, which undoes it.)
fn r_ln_1p(x: Real) -> Real {
    let small = x > -0.2928 && x < 0.4142;
    // Both branches are evaluated on safe arguments; select keeps the code straight-line.
    let near = r_ln_series(select(Real(0.0), x, small) / (2.0 + select(Real(0.0), x, small)));
    let far = r_ln(1.0 + x);
    return select(far, near, small);
}

// e^x − 1, accurate for small x: Taylor to x¹⁴/14! below |x| < ln2/2, else e^x − 1.
fn r_exp_m1(x: Real) -> Real {
    var p = Real(1.0 / 87178291200.0);
    p = p * x + Real(1.0 / 6227020800.0);
    p = p * x + Real(1.0 / 479001600.0);
    p = p * x + Real(1.0 / 39916800.0);
    p = p * x + Real(1.0 / 3628800.0);
    p = p * x + Real(1.0 / 362880.0);
    p = p * x + Real(1.0 / 40320.0);
    p = p * x + Real(1.0 / 5040.0);
    p = p * x + Real(1.0 / 720.0);
    p = p * x + Real(1.0 / 120.0);
    p = p * x + Real(1.0 / 24.0);
    p = p * x + Real(1.0 / 6.0);
    p = p * x + Real(0.5);
    p = p * x + Real(1.0);
    return select(r_exp(x) - 1.0, p * x, abs(x) < 0.3465);
}

// x^y for x > 0 (x = 0: 0 for y > 0), as e^(y·ln x).
fn r_pow(x: Real, y: Real) -> Real {
    return select(r_exp(y * r_ln(x)), Real(0.0), x == 0.0 && y > 0.0);
}

fn r_is_finite(x: Real) -> bool {
    return abs(x) <= 1.7976931348623157e308; // false for NaN and ±inf
}
