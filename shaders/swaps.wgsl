// Stage `swaps` (model.md §3 item 2): executes one step's aggregated stake and unstake orders of
// path p (scratch_real: order_stake_at, order_unstake_at), buys first, then sells, against each
// active subnet's AMM with the input fee. CPU twin: crates/taosim-core/src/cpu/swaps.rs (its
// SwapTotals return value is not used by the engine; the path's TAO in/out totals are state).
// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters; lane l:
// slots l, l + PATH_LANES, ...); the TAO totals are lanes_sum partial sums, written by lane 0.
fn swaps(p: u32, lane: u32) {
    let kind = params_int[PI_AMM];
    let fee = params_real[P_FEE_RATE];
    let min_reserve = params_real[P_MIN_RESERVE];
    var tao_in = Real(0.0);
    var tao_out = Real(0.0);
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
            continue;
        }
        var pool = pool_of(p, i);

        let buy = amm_buy(kind, &pool, scratch_real[order_stake_at(p, i)], fee, min_reserve);
        let held_at = sr_at(p, SR_HELD_ORGANIC, i);
        let alpha_out_at = sr_at(p, SR_ALPHA_OUT, i);
        let flow_at = sr_at(p, SR_FLOW, i);
        subnet_real[held_at] = subnet_real[held_at] + buy.output;
        subnet_real[alpha_out_at] = subnet_real[alpha_out_at] + buy.output;
        subnet_real[flow_at] = subnet_real[flow_at] + (buy.input_used - buy.fee);

        let want = min(scratch_real[order_unstake_at(p, i)], subnet_real[held_at]);
        let sell = amm_sell(kind, &pool, want, fee, min_reserve);
        subnet_real[held_at] = subnet_real[held_at] - sell.input_used;
        subnet_real[alpha_out_at] = subnet_real[alpha_out_at] - sell.input_used;
        subnet_real[flow_at] = subnet_real[flow_at] - sell.output;

        store_pool(p, i, pool);
        tao_in = tao_in + buy.input_used;
        tao_out = tao_out + (sell.output + buy.author_tao + sell.author_tao);
    }
    let sums = lanes_sum(lane, array<Real, LANE_SUMS>(tao_in, tao_out, Real(0.0), Real(0.0)));
    if (lane == 0u) {
        global_real[gr_at(p, GR_TAO_PAID_IN)] = global_real[gr_at(p, GR_TAO_PAID_IN)] + sums[0];
        global_real[gr_at(p, GR_TAO_PAID_OUT)] = global_real[gr_at(p, GR_TAO_PAID_OUT)] + sums[1];
    }
}
