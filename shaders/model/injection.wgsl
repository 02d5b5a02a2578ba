// Twin of crates/taosim-core/src/model/injection.rs (chain.md §3): the era's injection rule, one
// block's injection terms, the root proportion, the root sell flag and the alpha_out split; and of
// crates/taosim-core/src/real.rs CompensatedSum (the injection stage's TAO total).
// Single-exit functions (see model/amm.wgsl).

// InjectionRule as `params_int[PI_INJECTION_RULE]` (derived on the host by
// InjectionRule::for_regime, as the CPU stage does).
const RULE_SUBSIDY: u32 = 0u;
const RULE_ALPHA_EMISSION_CAP: u32 = 1u;
const RULE_ROOT_PROPORTION_CAP: u32 = 2u;

struct Injection {
    tao_in: Real,
    alpha_in: Real,
    excess_tao: Real,
}

struct AlphaSplit {
    owner: Real,
    server: Real,
    validator: Real,
    root: Real,
    recycled: Real,
}

// root_prop = τw·R / (τw·R + alpha_issuance), 0 when both are zero.
fn root_proportion(tao_weight: Real, root_tao: Real, alpha_issuance: Real) -> Real {
    let weighted_root = tao_weight * root_tao;
    return safe_div(weighted_root, weighted_root + alpha_issuance);
}

// One block's injection terms for one subnet (model/injection.rs injection_terms).
fn injection_terms(rule: u32, tao_emission: Real, price: Real, alpha_emission: Real, network_emission: Real, root_prop: Real) -> Injection {
    // `price > 0` is false for NaN: all TAO goes in and no alpha, as the CPU's is_nan test.
    var result = Injection(tao_emission, Real(0.0), Real(0.0));
    if (price > 0.0) {
        var cap = network_emission;
        if (rule == RULE_ALPHA_EMISSION_CAP) {
            cap = min(alpha_emission, network_emission);
        } else if (rule == RULE_ROOT_PROPORTION_CAP) {
            cap = root_prop * alpha_emission;
        }
        let alpha_in = tao_emission / price;
        if (alpha_in > cap) {
            let tao_in = cap * price;
            // cap·p < tao_emission up to rounding; never report a negative buy.
            result = Injection(tao_in, cap, max(tao_emission - tao_in, 0.0));
        } else {
            result = Injection(tao_emission, alpha_in, Real(0.0));
        }
    }
    return result;
}

// Splits alpha_out into owner, server, validator and root (or recycled) parts.
fn alpha_out_split(alpha_out: Real, owner_cut: Real, root_prop: Real, root_sell_flag: bool) -> AlphaSplit {
    let owner = alpha_out * owner_cut;
    let half = (alpha_out - owner) * 0.5;
    let root_alpha = root_prop * half;
    let root = select(Real(0.0), root_alpha, root_sell_flag);
    let recycled = select(root_alpha, Real(0.0), root_sell_flag);
    return AlphaSplit(owner, half, half - root_alpha, root, recycled);
}

// get_network_root_sell_flag: root keeps its alpha only when Σ_eligible P̄ > 1 (path p).
fn root_sell_flag(p: u32) -> bool {
    var sum = Real(0.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (scratch_int[eligible_at(p, i)] != 0u) {
            sum = sum + subnet_real[sr_at(p, SR_MOVING_PRICE, i)];
        }
    }
    return sum > 1.0;
}

// Kahan–Babuška (Neumaier) sum, as real.rs CompensatedSum. Mesa's NIR may fold the compensation
// terms `(sum − t) + x` to zero (inexact algebra is allowed there): then the sum is the naive one,
// which in f64 stays far inside the stages' 1e-12 tolerance; in f32 it is within the stated one.
struct CompensatedSum {
    sum: Real,
    compensation: Real,
}

fn compensated_add(c: ptr<function, CompensatedSum>, x: Real) {
    let t = (*c).sum + x;
    if (abs((*c).sum) >= abs(x)) {
        (*c).compensation = (*c).compensation + (((*c).sum - t) + x);
    } else {
        (*c).compensation = (*c).compensation + ((x - t) + (*c).sum);
    }
    (*c).sum = t;
}

fn compensated_value(c: CompensatedSum) -> Real {
    return c.sum + c.compensation;
}
