// Twin of crates/taosim-core/src/model/moving_price.rs and of EmaFactors in model/shares.rs
// (chain.md §2.2): the b/(b+h) ramp's factors over a step, exact loop or closed form. The CPU
// computes them in f64 whatever the state's precision; here they are computed in Real (f64 mode:
// the same, up to the software ln_1p; f32 mode: f32, see the stage's parity test).

struct EmaFactors {
    keep: Real,
    gain: Real,
}

fn ema_factors_from_log_keep(log_keep: Real) -> EmaFactors {
    return EmaFactors(r_exp(log_keep), -r_exp_m1(log_keep));
}

fn ema_factors_apply(f: EmaFactors, state: Real, input: Real) -> Real {
    return f.keep * state + f.gain * input;
}

// b = block − (first_emission_block − 1), saturating at 0 before the first emission block.
fn blocks_since_start(block: u32, first_emission_block: u32) -> Real {
    if (block + 1u < first_emission_block) {
        return Real(0.0);
    }
    return Real(block + 1u - first_emission_block);
}

fn moving_alpha_eff(moving_alpha: Real, halving_blocks: Real, block: u32, first_emission_block: u32) -> Real {
    let b = blocks_since_start(block, first_emission_block);
    let denominator = b + halving_blocks;
    if (denominator > 0.0) {
        return moving_alpha * b / denominator;
    }
    return Real(0.0);
}

fn moving_price_factors(moving_alpha: Real, halving_blocks: Real, first_block: u32, n: u32, first_emission_block: u32) -> EmaFactors {
    var log_keep = Real(0.0);
    for (var j = 0u; j < n; j = j + 1u) {
        let a = moving_alpha_eff(moving_alpha, halving_blocks, first_block + j, first_emission_block);
        log_keep = log_keep + r_ln_1p(-a);
    }
    return ema_factors_from_log_keep(log_keep);
}

const CLOSED_FORM_MIN_OFFSET: f32 = 1024.0;

// u − ln(1 + u) for u ≥ 0, by its series where the direct form cancels.
fn u_minus_ln_1p(u: Real) -> Real {
    if (u >= 1e-2) {
        return u - r_ln_1p(u);
    }
    // u²/2 − u³/3 + … − u⁹/9 by Horner's rule, as the twin.
    let inner = Real(1.0 / 6.0) + u * (-Real(1.0 / 7.0) + u * (Real(1.0 / 8.0) - u * Real(1.0 / 9.0)));
    return u * u * (Real(1.0 / 2.0) + u * (-Real(1.0 / 3.0) + u * (Real(1.0 / 4.0) + u * (-Real(1.0 / 5.0) + u * inner))));
}

fn constant_alpha_factors(alpha: Real, n: u32) -> EmaFactors {
    if (n == 0u || alpha <= 0.0) {
        return EmaFactors(Real(1.0), Real(0.0));
    }
    if (alpha >= 1.0) {
        return EmaFactors(Real(0.0), Real(1.0));
    }
    return ema_factors_from_log_keep(Real(n) * r_ln_1p(-alpha));
}

fn moving_price_factors_closed_form(moving_alpha: Real, halving_blocks: Real, first_block: u32, n: u32, first_emission_block: u32) -> EmaFactors {
    if (n == 0u) {
        return EmaFactors(Real(1.0), Real(0.0));
    }
    let b0 = blocks_since_start(first_block, first_emission_block);
    let starts_in_range = first_block + 1u >= first_emission_block;
    if (halving_blocks <= 0.0) {
        if (starts_in_range && b0 >= 1.0) {
            return constant_alpha_factors(moving_alpha, n);
        }
        return moving_price_factors(moving_alpha, halving_blocks, first_block, n, first_emission_block);
    }
    if (!starts_in_range || b0 + halving_blocks < Real(CLOSED_FORM_MIN_OFFSET)) {
        return moving_price_factors(moving_alpha, halving_blocks, first_block, n, first_emission_block);
    }
    let blocks = Real(n);
    let lo = b0 + halving_blocks - 0.5;
    // Two reciprocals serve every quotient, as in the twin.
    let inverse_lo = 1.0 / lo;
    let inverse_hi = 1.0 / (lo + blocks);
    let u = blocks * inverse_lo;
    let midpoint_correction = halving_blocks * Real(1.0 / 24.0) * (inverse_lo * inverse_lo - inverse_hi * inverse_hi);
    let ramp_sum = (b0 - 0.5) * u + halving_blocks * u_minus_ln_1p(u) + midpoint_correction;
    let mean_alpha = moving_alpha * ramp_sum / blocks;
    return ema_factors_from_log_keep(blocks * r_ln_1p(-mean_alpha));
}
