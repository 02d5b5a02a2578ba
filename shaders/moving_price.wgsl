// Stage `moving_price` (model.md §3 item 5, chain.md §2.2): the EMA price over the step, for every
// eligible subnet of path p, after injection. CPU twin: crates/taosim-core/src/cpu/moving_price.rs
// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters; lane l:
// slots l, l + PATH_LANES, ...).
fn moving_price(p: u32, lane: u32) {
    let block = global_int[gi_at(p, GI_BLOCK)];
    let kind = params_int[PI_AMM];
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        if (scratch_int[eligible_at(p, i)] == 0u) {
            continue;
        }
        let factors = moving_price_factors_closed_form(
            params_real[P_MOVING_ALPHA],
            params_real[P_EMA_PRICE_HALVING_BLOCKS],
            block,
            params_int[PI_BLOCKS_PER_STEP],
            subnet_int[si_at(p, SI_FIRST_EMISSION_BLOCK, i)],
        );
        let spot = amm_price(kind, pool_of(p, i));
        let at = sr_at(p, SR_MOVING_PRICE, i);
        subnet_real[at] = ema_factors_apply(factors, subnet_real[at], min(spot, 1.0));
    }
}
