// Twin of crates/taosim-core/src/model/amm.rs (model.md §5, chain.md §4): pool state, spot price,
// swaps with fee, minimum-reserve cut and Balancer input cap, price-neutral injection.
// AMM kinds as `params_int[PI_AMM]`: 0 constant product, 1 Balancer (taosim_core::params::AmmKind).
// Every function has a single exit (result variable, select): swaps run inside the stages' loop
// over slots, where lavapipe miscompiled inlined functions with early returns.

const AMM_CONSTANT_PRODUCT: u32 = 0u;
const AMM_BALANCER: u32 = 1u;
// MAX_SWAP_INPUT_RESERVE_MULTIPLIER and MIN_WEIGHT of model/amm.rs (abstract floats, so Real(·)
// rounds them once into the precision, as R::of does).
const MAX_SWAP_INPUT_RESERVE_MULTIPLIER = 1000.0;
const MIN_WEIGHT = 0.01;

struct Pool {
    tao: Real,
    alpha: Real,
    w_quote: Real,
}

// What a swap did (model/amm.rs SwapOutcome); the pool passed to amm_buy / amm_sell is updated.
struct SwapOutcome {
    input_used: Real,
    fee: Real,
    output: Real,
    author_tao: Real,
    cut: bool,
}

// What an injection added (model/amm.rs InjectOutcome).
struct InjectOutcome {
    tao_added: Real,
    alpha_added: Real,
}

fn swap_outcome_none(cut: bool) -> SwapOutcome {
    return SwapOutcome(Real(0.0), Real(0.0), Real(0.0), Real(0.0), cut);
}

// The chain's safe_div: a / b, or zero when b is zero.
fn safe_div(a: Real, b: Real) -> Real {
    return select(a / b, Real(0.0), b == 0.0);
}

// Spot price in TAO per alpha: T/A (constant product) or (w1/w2)·(y/x) (Balancer).
fn amm_price(kind: u32, pool: Pool) -> Real {
    let reserve_ratio = safe_div(pool.tao, pool.alpha);
    return select(reserve_ratio, (1.0 - pool.w_quote) / pool.w_quote * reserve_ratio, kind == AMM_BALANCER);
}

// 1 − (1 + u)^(−e) for u ≥ 0, e > 0, precise for small u.
fn payout_fraction(u: Real, e: Real) -> Real {
    return -r_exp_m1(-e * r_ln_1p(u));
}

// r^e − 1 for r > 0, precise when r is near one.
fn pow_minus_one(r: Real, e: Real) -> Real {
    return r_exp_m1(e * r_ln(r));
}

// Buys alpha with tao_amount TAO (model/amm.rs buy). The constant product has no input cap (the CPU
// uses +inf); here that case is a `kind` test instead of an infinite literal.
fn amm_buy(kind: u32, pool: ptr<function, Pool>, tao_amount: Real, fee_rate: Real, min_reserve: Real) -> SwapOutcome {
    let x = (*pool).alpha;
    let y = (*pool).tao;
    var result = swap_outcome_none(false);
    if (tao_amount <= 0.0 || y <= 0.0) {
        result = swap_outcome_none(false);
    } else if (x <= min_reserve) {
        result = swap_outcome_none(true);
    } else {
        let net_share = 1.0 - fee_rate;
        let balancer = kind == AMM_BALANCER;
        let w2 = (*pool).w_quote;
        let w1 = 1.0 - w2;
        var net_max_reserve: Real;
        var net_cap = Real(0.0);
        if (balancer) {
            // x·(y/(y+Δ))^(w2/w1) = m  ⇔  Δ = y·((x/m)^(w1/w2) − 1)
            net_max_reserve = y * pow_minus_one(x / min_reserve, w1 / w2);
            net_cap = y * Real(MAX_SWAP_INPUT_RESERVE_MULTIPLIER);
        } else {
            // x·y/(y+Δ) = m  ⇔  Δ = y·(x − m)/m
            net_max_reserve = y * (x - min_reserve) / min_reserve;
        }
        let gross_max_reserve = net_max_reserve / net_share;
        let gross_max = select(gross_max_reserve, min(gross_max_reserve, net_cap / net_share), balancer);
        let cut = tao_amount > gross_max;
        let cut_by_reserve = cut && (!balancer || gross_max_reserve <= net_cap / net_share);
        let gross = min(tao_amount, gross_max);
        let fee = gross * fee_rate;
        let net = gross - fee;

        var output: Real;
        if (balancer) {
            output = x * payout_fraction(net / y, w2 / (1.0 - w2));
        } else {
            output = x * net / (y + net);
        }
        // Pin the reserve to the floor when cut there, and guard the floor against rounding.
        if (cut_by_reserve || x - output < min_reserve) {
            output = x - min_reserve;
            (*pool).alpha = min_reserve;
        } else {
            (*pool).alpha = x - output;
        }
        let author_tao = select(Real(0.0), fee, balancer);
        (*pool).tao = y + (gross - author_tao);
        result = SwapOutcome(gross, fee, output, author_tao, cut);
    }
    return result;
}

// Sells alpha_amount alpha for TAO (model/amm.rs sell); a Balancer alpha fee is sold fee-less for
// the block author.
fn amm_sell(kind: u32, pool: ptr<function, Pool>, alpha_amount: Real, fee_rate: Real, min_reserve: Real) -> SwapOutcome {
    let x = (*pool).alpha;
    let y = (*pool).tao;
    var result = swap_outcome_none(false);
    if (alpha_amount <= 0.0 || x <= 0.0) {
        result = swap_outcome_none(false);
    } else if (y <= min_reserve) {
        result = swap_outcome_none(true);
    } else {
        let net_share = 1.0 - fee_rate;
        let balancer = kind == AMM_BALANCER;
        let w2 = (*pool).w_quote;
        let w1 = 1.0 - w2;
        var gross_max_reserve: Real;
        var gross_cap = Real(0.0);
        if (balancer) {
            // y·(x/(x+G))^(w1/w2) = m  ⇔  G = x·((y/m)^(w2/w1) − 1)
            gross_max_reserve = x * pow_minus_one(y / min_reserve, w2 / w1);
            gross_cap = x * Real(MAX_SWAP_INPUT_RESERVE_MULTIPLIER) / net_share;
        } else {
            // y·x/(x+Δ) = m  ⇔  Δ = x·(y − m)/m, on the net input
            gross_max_reserve = x * (y - min_reserve) / min_reserve / net_share;
        }
        let gross_max = select(gross_max_reserve, min(gross_max_reserve, gross_cap), balancer);
        let cut = alpha_amount > gross_max;
        let cut_by_reserve = cut && (!balancer || gross_max_reserve <= gross_cap);
        let gross = min(alpha_amount, gross_max);
        let fee = gross * fee_rate;
        let net = gross - fee;

        var output: Real;
        var total_out: Real;
        if (balancer) {
            let exponent = (1.0 - w2) / w2;
            output = y * payout_fraction(net / x, exponent);
            total_out = y * payout_fraction(gross / x, exponent);
        } else {
            output = y * net / (x + net);
            total_out = output;
        }
        if (cut_by_reserve || y - total_out < min_reserve) {
            total_out = y - min_reserve;
            (*pool).tao = min_reserve;
        } else {
            (*pool).tao = y - total_out;
        }
        output = min(output, total_out);
        (*pool).alpha = x + gross;
        result = SwapOutcome(gross, fee, output, total_out - output, cut);
    }
    return result;
}

// Adds emission liquidity without moving the price (model/amm.rs inject): the proportional part
// (constant product), or both amounts with the weights re-set (Balancer; nothing if the new weight
// would leave [MIN_WEIGHT, 1 − MIN_WEIGHT]).
fn amm_inject(kind: u32, pool: ptr<function, Pool>, tao_in_raw: Real, alpha_in_raw: Real) -> InjectOutcome {
    let tao_in = max(tao_in_raw, 0.0);
    let alpha_in = max(alpha_in_raw, 0.0);
    var result = InjectOutcome(Real(0.0), Real(0.0));
    if (kind == AMM_CONSTANT_PRODUCT) {
        let spot = amm_price(kind, *pool);
        var tao_added: Real;
        var alpha_added: Real;
        if (spot <= 0.0) {
            // An unpriced pool takes both as they come (it has no price to keep).
            tao_added = tao_in;
            alpha_added = alpha_in;
        } else if (alpha_in * spot <= tao_in) {
            tao_added = alpha_in * spot;
            alpha_added = alpha_in;
        } else {
            tao_added = tao_in;
            alpha_added = tao_in / spot;
        }
        (*pool).tao = (*pool).tao + tao_added;
        (*pool).alpha = (*pool).alpha + alpha_added;
        result = InjectOutcome(tao_added, alpha_added);
    } else {
        let x = (*pool).alpha;
        let y = (*pool).tao;
        let w2 = (*pool).w_quote;
        let w1 = 1.0 - w2;
        let quote_term = w2 * x * (y + tao_in);
        let base_term = w1 * y * (x + alpha_in);
        let denominator = base_term + quote_term;
        let new_w2 = select(Real(0.5), quote_term / select(Real(1.0), denominator, denominator > 0.0), denominator > 0.0);
        let min_weight = Real(MIN_WEIGHT);
        // `new_w2 >= min_weight && ...` is false for NaN, as the CPU's is_nan test.
        if (new_w2 >= min_weight && 1.0 - new_w2 >= min_weight) {
            (*pool).w_quote = new_w2;
            (*pool).tao = y + tao_in;
            (*pool).alpha = x + alpha_in;
            result = InjectOutcome(tao_in, alpha_in);
        }
    }
    return result;
}

// The pool of slot i of path p.
fn pool_of(p: u32, i: u32) -> Pool {
    return Pool(
        subnet_real[sr_at(p, SR_TAO, i)],
        subnet_real[sr_at(p, SR_ALPHA, i)],
        subnet_real[sr_at(p, SR_W_QUOTE, i)],
    );
}

// Writes `pool` back into slot i of path p.
fn store_pool(p: u32, i: u32, pool: Pool) {
    subnet_real[sr_at(p, SR_TAO, i)] = pool.tao;
    subnet_real[sr_at(p, SR_ALPHA, i)] = pool.alpha;
    subnet_real[sr_at(p, SR_W_QUOTE, i)] = pool.w_quote;
}
