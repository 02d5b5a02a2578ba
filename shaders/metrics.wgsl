// Stage `metrics` (model.md §3 item 9, §9): per-occupant running statistics and death-spiral
// detection for path p, after every other stage of the step: peak and minimum price, share sum,
// steps alive, the zero-share streak (counted while eligible, from scratch `eligible_at`), a new
// spiral marked and logged as EVENT_SPIRAL (value = spot price, value2 = pool TAO, as the engine's
// record_spiral), the path's reserve/issuance bounds, then the end of the step (block + blocks per
// step, step + 1). The rule's thresholds are cpu::metrics::SpiralRule (params *_SPIRAL_*).
// CPU twin: crates/taosim-core/src/cpu/metrics.rs
// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters; lane l:
// slots l, l + PATH_LANES, ...). Events must be logged in slot order (the twin's, and one counter
// per path), so each lane marks its slots that spiralled this step in a bit mask (bit k: slot l +
// k·PATH_LANES) and lane 0 logs them in order after a barrier; the reserve/issuance bounds are
// per-lane minima/maxima (exact in any order).

// Each lane's slots that spiralled this step, and its reserve/issuance bounds.
var<workgroup> metrics_spirals: array<u32, LANES>;
var<workgroup> metrics_min_reserve: array<Real, LANES>;
var<workgroup> metrics_max_issuance: array<Real, LANES>;

fn metrics(p: u32, lane: u32) {
    let step = global_int[gi_at(p, GI_STEP)];
    let kind = params_int[PI_AMM];
    var spirals = 0u;
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
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
            if (PATH_LANES == 1u) {
                push_event(p, EVENT_SPIRAL, i, price, subnet_real[sr_at(p, SR_TAO, i)]);
            } else {
                spirals = spirals | (1u << (i / PATH_LANES));
            }
        }
    }
    let min_at = gr_at(p, GR_MIN_RESERVE_SEEN);
    let max_at = gr_at(p, GR_MAX_ALPHA_ISSUANCE_SEEN);
    var min_reserve = global_real[min_at];
    var max_issuance = global_real[max_at];
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] != 0u) {
            let tao = subnet_real[sr_at(p, SR_TAO, i)];
            let alpha = subnet_real[sr_at(p, SR_ALPHA, i)];
            min_reserve = min(min(min_reserve, tao), alpha);
            max_issuance = max(max_issuance, alpha + subnet_real[sr_at(p, SR_ALPHA_OUT, i)]);
        }
    }
    if (PATH_LANES == 1u) {
        finish_metrics(p, step, min_reserve, max_issuance);
    } else {
        metrics_spirals[lane] = spirals;
        metrics_min_reserve[lane] = min_reserve;
        metrics_max_issuance[lane] = max_issuance;
        // Lane 0 reads the other lanes' slots (the events' snapshots): storage and workgroup memory.
        storageBarrier();
        workgroupBarrier();
        if (lane == 0u) {
            log_lane_spirals(p);
            for (var l = 1u; l < PATH_LANES; l = l + 1u) {
                min_reserve = min(min_reserve, metrics_min_reserve[l]);
                max_issuance = max(max_issuance, metrics_max_issuance[l]);
            }
            finish_metrics(p, step, min_reserve, max_issuance);
        }
    }
}

// Lane 0: the step's spiral events of every lane in slot order (with the path's globals as the
// twin logs them, before the bounds and the step advance).
fn log_lane_spirals(p: u32) {
    let kind = params_int[PI_AMM];
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (((metrics_spirals[i % PATH_LANES] >> (i / PATH_LANES)) & 1u) != 0u) {
            push_event(p, EVENT_SPIRAL, i, amm_price(kind, pool_of(p, i)), subnet_real[sr_at(p, SR_TAO, i)]);
        }
    }
}

// The path's reserve/issuance bounds and the end of the step.
fn finish_metrics(p: u32, step: u32, min_reserve: Real, max_issuance: Real) {
    global_real[gr_at(p, GR_MIN_RESERVE_SEEN)] = min_reserve;
    global_real[gr_at(p, GR_MAX_ALPHA_ISSUANCE_SEEN)] = max_issuance;
    global_int[gi_at(p, GI_BLOCK)] = global_int[gi_at(p, GI_BLOCK)] + params_int[PI_BLOCKS_PER_STEP];
    global_int[gi_at(p, GI_STEP)] = step + 1u;
}
