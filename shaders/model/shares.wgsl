// Twin of crates/taosim-core/src/model/shares.rs (chain.md §2, model.md §4): flow EMAs over a step
// and the emission shares of the four regimes. The CPU functions take one path's slices; here
// they take the path p and work on its state columns (subnet_real[sr_at(p, SR_*, i)]), with the
// eligibility mask in scratch_int[eligible_at(p, i)] and the `shares` slice being SR_SHARE.
// EmaFactors and ema_factors_apply come from model/moving_price.wgsl (the flow factors are
// computed on the host, in f64, by the CPU's EmaFactors::constant_alpha, as the CPU does).
// Single-exit functions (see model/amm.wgsl).

// EmissionRegime as `params_int[PI_EMISSION_REGIME]` (taosim_core::params::EmissionRegime).
const REGIME_PRICE_EMA: u32 = 0u;
const REGIME_TAOFLOW: u32 = 1u;
const REGIME_NET_TAOFLOW: u32 = 2u;
const REGIME_PRICE_BURN: u32 = 3u;

// The flow EMA after n blocks whose total flow is spread evenly over them.
fn flow_ema_over_blocks(ema: Real, flow_total: Real, factors: EmaFactors, n: u32) -> Real {
    var result = ema;
    if (n != 0u) {
        result = ema_factors_apply(factors, ema, flow_total / Real(n));
    }
    return result;
}

fn share_eligible(p: u32, i: u32) -> bool {
    return scratch_int[eligible_at(p, i)] != 0u;
}

// Power normalisation z ← zᵖ/Σzᵖ of the shares column, divided by the maximum first.
fn pow_normalize(p: u32, exponent: Real) {
    var max_z = Real(0.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        let x = subnet_real[sr_at(p, SR_SHARE, i)];
        if (x > max_z) {
            max_z = x;
        }
    }
    if (max_z <= 0.0) {
        for (var i = 0u; i < info.subnets; i = i + 1u) {
            subnet_real[sr_at(p, SR_SHARE, i)] = Real(0.0);
        }
    } else {
        // The largest entry contributes exactly 1, so the sum is >= 1 and safe to divide by.
        // Slot i adds into lane i % 8, then the lanes in order: the twin's `SlotSum`.
        var lanes = array<Real, 8>(Real(0.0), Real(0.0), Real(0.0), Real(0.0), Real(0.0), Real(0.0),
            Real(0.0), Real(0.0));
        for (var i = 0u; i < info.subnets; i = i + 1u) {
            let at = sr_at(p, SR_SHARE, i);
            let scaled = max(subnet_real[at] / max_z, 0.0);
            var powered = Real(0.0);
            // x¹ = x exactly (the CPU twin's libm `pow` returns it; `r_pow` rounds).
            if (scaled > 0.0) {
                if (exponent == 1.0) {
                    powered = scaled;
                } else {
                    powered = r_pow(scaled, exponent);
                }
            }
            subnet_real[at] = powered;
            lanes[i % 8u] = lanes[i % 8u] + powered;
        }
        var sum = Real(0.0);
        for (var l = 0u; l < 8u; l = l + 1u) {
            sum = sum + lanes[l];
        }
        for (var i = 0u; i < info.subnets; i = i + 1u) {
            let at = sr_at(p, SR_SHARE, i);
            subnet_real[at] = safe_div(subnet_real[at], sum);
        }
    }
}

// Divides the eligible shares (non-negative) by their sum, zero elsewhere; false (all zero) when
// the sum is zero.
fn normalize_eligible(p: u32) -> bool {
    var sum = Real(0.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        let at = sr_at(p, SR_SHARE, i);
        let w = select(Real(0.0), max(subnet_real[at], 0.0), share_eligible(p, i));
        subnet_real[at] = w;
        sum = sum + w;
    }
    var normalized = true;
    if (sum <= 0.0) {
        for (var i = 0u; i < info.subnets; i = i + 1u) {
            subnet_real[sr_at(p, SR_SHARE, i)] = Real(0.0);
        }
        normalized = false;
    } else {
        for (var i = 0u; i < info.subnets; i = i + 1u) {
            let at = sr_at(p, SR_SHARE, i);
            subnet_real[at] = subnet_real[at] / sum;
        }
    }
    return normalized;
}

// Copies column `field` of path p into the shares column.
fn shares_copy_from(p: u32, field: u32) {
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        subnet_real[sr_at(p, SR_SHARE, i)] = subnet_real[sr_at(p, field, i)];
    }
}

// Era-A shares: P̄_i / Σ_eligible P̄_j.
fn shares_price_ema(p: u32) {
    shares_copy_from(p, SR_MOVING_PRICE);
    normalize_eligible(p);
}

// L = max(cutoff, min_eligible min(S_i, 0)), z = max(S − L, 0), share = zᵖ/Σzᵖ, on the flow values
// already in the shares column.
fn clamp_and_pow_normalize(p: u32, cutoff: Real, exponent: Real) {
    var lowest = Real(0.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (share_eligible(p, i)) {
            lowest = min(lowest, subnet_real[sr_at(p, SR_SHARE, i)]);
        }
    }
    let lower_limit = max(cutoff, lowest);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        let at = sr_at(p, SR_SHARE, i);
        subnet_real[at] = select(Real(0.0), max(subnet_real[at] - lower_limit, 0.0), share_eligible(p, i));
    }
    pow_normalize(p, exponent);
}

// Era-B Taoflow shares from the flow EMAs.
fn shares_taoflow(p: u32, cutoff: Real, exponent: Real) {
    shares_copy_from(p, SR_FLOW_EMA);
    clamp_and_pow_normalize(p, cutoff, exponent);
}

// Era-B′ net-flow shares: S − (P > 0 ? norm·P : P), norm = min(1, Σmax(S,0)/Σmax(P,0)).
fn shares_net_taoflow(p: u32, cutoff: Real, exponent: Real) {
    var positive_user = Real(0.0);
    var positive_protocol = Real(0.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (share_eligible(p, i)) {
            positive_user = positive_user + max(subnet_real[sr_at(p, SR_FLOW_EMA, i)], 0.0);
            positive_protocol = positive_protocol + max(subnet_real[sr_at(p, SR_PROTOCOL_FLOW_EMA, i)], 0.0);
        }
    }
    let norm = min(safe_div(positive_user, positive_protocol), 1.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        let protocol = subnet_real[sr_at(p, SR_PROTOCOL_FLOW_EMA, i)];
        let offset = select(protocol, norm * protocol, protocol > 0.0);
        subnet_real[sr_at(p, SR_SHARE, i)] = subnet_real[sr_at(p, SR_FLOW_EMA, i)] - offset;
    }
    clamp_and_pow_normalize(p, cutoff, exponent);
}

// Era-C shares: P̄·(1 − miner_burn) renormalised, falling back to price shares when all are zero.
fn shares_price_burn(p: u32) {
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        let kept = 1.0 - min(max(subnet_real[sr_at(p, SR_MINER_BURN, i)], 0.0), 1.0);
        subnet_real[sr_at(p, SR_SHARE, i)] = max(subnet_real[sr_at(p, SR_MOVING_PRICE, i)], 0.0) * kept;
    }
    if (!normalize_eligible(p)) {
        shares_price_ema(p);
    }
}

// Emission shares of path p under `regime` (model/shares.rs emission_shares), into SR_SHARE.
fn shares_for_regime(p: u32, regime: u32, flow_cutoff: Real, flow_exponent: Real) {
    switch (regime) {
        case REGIME_PRICE_EMA: {
            shares_price_ema(p);
        }
        case REGIME_TAOFLOW: {
            shares_taoflow(p, flow_cutoff, flow_exponent);
        }
        case REGIME_NET_TAOFLOW: {
            shares_net_taoflow(p, flow_cutoff, flow_exponent);
        }
        default: {
            shares_price_burn(p);
        }
    }
}
