// Twin of crates/taosim-core/src/model/amm.rs (model.md §5, chain.md §4): pool state and spot price.
// AMM kinds as `params_int[PI_AMM]`: 0 constant product, 1 Balancer (taosim_core::params::AmmKind).

const AMM_CONSTANT_PRODUCT: u32 = 0u;
const AMM_BALANCER: u32 = 1u;

struct Pool {
    tao: Real,
    alpha: Real,
    w_quote: Real,
}

// The chain's safe_div: a / b, or zero when b is zero.
fn safe_div(a: Real, b: Real) -> Real {
    if (b == 0.0) {
        return Real(0.0);
    }
    return a / b;
}

// Spot price in TAO per alpha: T/A (constant product) or (w1/w2)·(y/x) (Balancer).
fn amm_price(kind: u32, pool: Pool) -> Real {
    let reserve_ratio = safe_div(pool.tao, pool.alpha);
    if (kind == AMM_BALANCER) {
        return (1.0 - pool.w_quote) / pool.w_quote * reserve_ratio;
    }
    return reserve_ratio;
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
