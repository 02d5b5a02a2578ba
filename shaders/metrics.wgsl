// Stage `metrics` (model.md §3 item 9, §9): per-occupant running statistics and death-spiral
// detection for path p, after every other stage of the step: peak and minimum price, share sum,
// steps alive, the zero-share streak (counted while eligible, from scratch `eligible_at`), a new
// spiral marked and logged as EVENT_SPIRAL (value = spot price, value2 = pool TAO, as the engine's
// record_spiral), the path's reserve/issuance bounds, then the end of the step (block + blocks per
// step, step + 1). The rule's thresholds are cpu::metrics::SpiralRule (params *_SPIRAL_*).
// CPU twin: crates/taosim-core/src/cpu/metrics.rs
fn metrics(p: u32) {
    let step = global_int[gi_at(p, GI_STEP)];
    let kind = params_int[PI_AMM];
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
            continue;
        }
        let price = amm_price(kind, pool_of(p, i));
        let peak_at = sr_at(p, SR_PEAK_PRICE, i);
        subnet_real[peak_at] = max(subnet_real[peak_at], price);
        let min_at = sr_at(p, SR_MIN_PRICE, i);
        subnet_real[min_at] = min(subnet_real[min_at], price);
        let share = subnet_real[sr_at(p, SR_SHARE, i)];
        let share_sum_at = sr_at(p, SR_SHARE_SUM, i);
        subnet_real[share_sum_at] = subnet_real[share_sum_at] + share;
        let alive_at = si_at(p, SI_STEPS_ALIVE, i);
        subnet_int[alive_at] = subnet_int[alive_at] + 1u;
        let streak_at = si_at(p, SI_ZERO_SHARE_STEPS, i);
        var streak = 0u;
        if (scratch_int[eligible_at(p, i)] != 0u && share <= 0.0) {
            streak = subnet_int[streak_at] + 1u;
        }
        subnet_int[streak_at] = streak;
        if (subnet_int[si_at(p, SI_SPIRAL, i)] == 0u
            && streak >= params_int[PI_SPIRAL_ZERO_SHARE_STEPS]
            && price <= params_real[P_SPIRAL_PRICE_FRACTION] * subnet_real[peak_at]
            && subnet_real[sr_at(p, SR_TAO, i)] <= params_real[P_SPIRAL_POOL_FRACTION] * subnet_real[sr_at(p, SR_START_TAO, i)])
        {
            subnet_int[si_at(p, SI_SPIRAL, i)] = 1u;
            subnet_int[si_at(p, SI_SPIRAL_STEP, i)] = step;
            push_event(p, EVENT_SPIRAL, i, price, subnet_real[sr_at(p, SR_TAO, i)]);
        }
    }
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] != 0u) {
            let tao = subnet_real[sr_at(p, SR_TAO, i)];
            let alpha = subnet_real[sr_at(p, SR_ALPHA, i)];
            let min_at = gr_at(p, GR_MIN_RESERVE_SEEN);
            global_real[min_at] = min(min(global_real[min_at], tao), alpha);
            let max_at = gr_at(p, GR_MAX_ALPHA_ISSUANCE_SEEN);
            global_real[max_at] = max(global_real[max_at], alpha + subnet_real[sr_at(p, SR_ALPHA_OUT, i)]);
        }
    }
    global_int[gi_at(p, GI_BLOCK)] = global_int[gi_at(p, GI_BLOCK)] + params_int[PI_BLOCKS_PER_STEP];
    global_int[gi_at(p, GI_STEP)] = step + 1u;
}
