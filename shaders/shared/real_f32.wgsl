// Real = f32 (adapters without SHADER_F64, or `--precision f32`). The transcendental functions are
// the native f32 built-ins (a few ulps from Rust's libm; the parity tests state the tolerance).
// Twin prelude: real_f64.wgsl (same function names, software f64 transcendentals). Single-exit,
// loop-free functions, as there (see r_exp in real_f64.wgsl for why).

alias Real = f32;

// The spacing of Real at 1 (Rust's f32::EPSILON, 2^-23).
const REAL_EPS: f32 = 1.1920928955078125e-7;

fn r_exp(x: Real) -> Real {
    return exp(x);
}

fn r_ln(x: Real) -> Real {
    return log(x);
}

// ln(1 + x), accurate for small x: 2·atanh(s) with s = x/(2 + x) by its series to s⁹ while
// |s| ≤ 0.1716 (next term < 4e-9 relative), else ln(1 + x). (Not ln(u)·x/(u − 1): Mesa's NIR may
// simplify (1 + x) − 1 to x.)
fn r_ln_1p(x: Real) -> Real {
    let small = x > -0.2928 && x < 0.4142;
    let s = select(Real(0.0), x, small) / (2.0 + select(Real(0.0), x, small));
    let s2 = s * s;
    var q = Real(1.0 / 11.0);
    q = q * s2 + Real(1.0 / 9.0);
    q = q * s2 + Real(1.0 / 7.0);
    q = q * s2 + Real(1.0 / 5.0);
    q = q * s2 + Real(1.0 / 3.0);
    return select(log(1.0 + x), 2.0 * s + 2.0 * s * s2 * q, small);
}

// e^x − 1, accurate for small x: Taylor to x⁸/8! below |x| < ln2/2 (next term < 1e-9), else e^x − 1.
fn r_exp_m1(x: Real) -> Real {
    var p = Real(1.0 / 40320.0);
    p = p * x + Real(1.0 / 5040.0);
    p = p * x + Real(1.0 / 720.0);
    p = p * x + Real(1.0 / 120.0);
    p = p * x + Real(1.0 / 24.0);
    p = p * x + Real(1.0 / 6.0);
    p = p * x + Real(0.5);
    p = p * x + Real(1.0);
    return select(exp(x) - 1.0, p * x, abs(x) < 0.3465);
}

fn r_pow(x: Real, y: Real) -> Real {
    return select(pow(x, y), Real(0.0), x == 0.0 && y > 0.0);
}

fn r_is_finite(x: Real) -> bool {
    return abs(x) <= 3.4028234663852886e38; // false for NaN and ±inf
}
