// Stage `behaviour` (model.md §3 item 1, §8): the stakers' random decisions for one step of path
// p: market factor, quality, momentum and prev_price of every active slot, the slots' orders
// (scratch: order_stake_at / order_unstake_at; empty for inactive slots) and the step's
// registration arrival (mailbox: MAILBOX_ARRIVED, MAILBOX_WILLINGNESS), for the registration
// stage. The step constants are BehaviourCoefficients (params P_BEH_*, crates/taosim-gpu/src/
// stages/behaviour.rs). Every draw is the Philox block at (step, subnet, stream) of the twin.
// CPU twin: crates/taosim-core/src/cpu/behaviour.rs
// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters; lane l:
// slots l, l + PATH_LANES, ...); lane 0 draws the market factor and the registration arrival; the
// means are lanes_sum partial sums.

// cpu::behaviour::WHALES_PER_STEP_MAX (one Philox block holds four normals).
const WHALES_PER_STEP_MAX: u32 = 4u;

// Mailbox slots of the registration arrival (cpu::registration::Arrival): mailbox_int[0] is 1 when
// a registrant arrives this step, mailbox_real[0] its willingness to pay (TAO, 0 without one).
const MAILBOX_ARRIVED: u32 = 0u;
const MAILBOX_WILLINGNESS: u32 = 0u;

// exp(log_level + σz − σ²/2): e^log_level times a mean-one lognormal, in one exp.
fn with_lognormal_noise(log_level: Real, sigma: Real, z: Real) -> Real {
    return r_exp(log_level + sigma * z - Real(0.5) * sigma * sigma);
}

fn behaviour(p: u32, lane: u32) {
    let step = global_int[gi_at(p, GI_STEP)];
    let kind = params_int[PI_AMM];

    // The market factor: drawn by lane 0, handed to the others with the partial sums.
    var g = Real(0.0);
    if (lane == 0u) {
        let wm = rng_block(p, step, GLOBAL_SUBNET, STREAM_MARKET);
        let z_market = normal_icdf(wm.x);
        g = global_real[gr_at(p, GR_MARKET)] * params_real[P_BEH_MARKET_KEEP]
            + params_real[P_BEH_MARKET_SD_STEP] * z_market;
    }

    // First loop: the means the subnets are compared against (pool size, stake-weighted yield).
    var active_count = Real(0.0);
    var tao_sum = Real(0.0);
    var dividend_weighted = Real(0.0);
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
            continue;
        }
        active_count = active_count + 1.0;
        let tao = subnet_real[sr_at(p, SR_TAO, i)];
        tao_sum = tao_sum + tao;
        dividend_weighted = dividend_weighted + tao * subnet_real[sr_at(p, SR_DIVIDEND_RATE, i)];
    }
    let sums = lanes_sum(lane, array<Real, LANE_SUMS>(active_count, tao_sum, dividend_weighted, g));
    active_count = sums[0];
    tao_sum = sums[1];
    dividend_weighted = sums[2];
    g = sums[3];
    if (lane == 0u) {
        global_real[gr_at(p, GR_MARKET)] = g;
    }
    let mean_tao = safe_div(tao_sum, active_count);
    let mean_dividend = safe_div(dividend_weighted, tao_sum);

    let dt = params_real[P_BEH_DT];
    let flow_sigma = params_real[P_BEH_FLOW_SIGMA];
    let limit = params_real[P_BEH_ATTRACTIVENESS_CAP];
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
            scratch_real[order_stake_at(p, i)] = Real(0.0);
            scratch_real[order_unstake_at(p, i)] = Real(0.0);
            continue;
        }
        let subnet = i;

        // The two blocks of every active slot (the twin's stream table): the step's four normals
        // and its two Poisson counts.
        let wn = rng_block(p, step, subnet, STREAM_BEHAVIOUR_NORMALS);
        let wc = rng_block(p, step, subnet, STREAM_BEHAVIOUR_COUNTS);
        let z_quality = normal_icdf(wn.x);
        let jumps = poisson(params_real[P_BEH_JUMP_MEAN], wc.x, wc.y);
        let z_jump = normal_icdf(wn.w);
        let jump = sqrt(Real(jumps)) * params_real[P_BEH_JUMP_SIGMA] * z_jump;
        let quality_at = sr_at(p, SR_QUALITY, i);
        let quality = subnet_real[quality_at]
            + (params_real[P_BEH_QUALITY_DRIFT_STEP] + params_real[P_BEH_QUALITY_SD_STEP] * z_quality + jump);
        subnet_real[quality_at] = quality;

        let price = amm_price(kind, pool_of(p, i));
        let prev = subnet_real[sr_at(p, SR_PREV_PRICE, i)];
        var log_return_per_day = Real(0.0);
        if (price > 0.0 && prev > 0.0) {
            log_return_per_day = ln_near_one(price / prev) / dt;
        }
        let keep = params_real[P_BEH_MOMENTUM_KEEP];
        let momentum_at = sr_at(p, SR_MOMENTUM, i);
        let momentum = keep * subnet_real[momentum_at] + (1.0 - keep) * log_return_per_day;
        subnet_real[momentum_at] = momentum;
        subnet_real[sr_at(p, SR_PREV_PRICE, i)] = price;

        let dividend_rate = subnet_real[sr_at(p, SR_DIVIDEND_RATE, i)];
        let excess_yield = (dividend_rate - mean_dividend) * params_real[P_BEH_STEPS_PER_YEAR];
        let zero_share = select(Real(0.0), Real(1.0), subnet_real[sr_at(p, SR_SHARE, i)] == 0.0);
        let attractiveness = min(max(params_real[P_BEH_BETA_QUALITY] * quality
            + params_real[P_BEH_BETA_MOMENTUM] * momentum
            + params_real[P_BEH_BETA_YIELD] * excess_yield
            + g
            - params_real[P_BEH_BETA_ZERO_SHARE] * zero_share, -limit), limit);

        let z_in = normal_icdf(wn.y);
        let tao = subnet_real[sr_at(p, SR_TAO, i)];
        let size = safe_div(tao, mean_tao);
        var inflow = Real(0.0);
        if (size > 0.0 && params_real[P_BEH_INFLOW_STEP] > 0.0) {
            // size^elasticity·e^a·LN as one exp (the twin's with_lognormal_noise), at most
            // MAX_STEP_INFLOW (an overflow to infinity included).
            let log_level = params_real[P_BEH_SIZE_ELASTICITY] * r_ln(size) + attractiveness;
            inflow = min(params_real[P_BEH_INFLOW_STEP] * with_lognormal_noise(log_level, flow_sigma, z_in),
                MAX_STEP_INFLOW);
        }

        let z_out = normal_icdf(wn.z);
        var hazard = params_real[P_BEH_OUTFLOW_HAZARD_STEP]
            * with_lognormal_noise(-attractiveness, flow_sigma, z_out);
        let peak = subnet_real[sr_at(p, SR_PEAK_PRICE, i)];
        if (peak > 0.0 && 1.0 - price / peak >= params_real[P_BEH_PANIC_DRAWDOWN]) {
            hazard = hazard + params_real[P_BEH_PANIC_HAZARD_STEP];
        }
        // The twin's `streak > 0 && streak·dt ≥ patience` (in f64), as a threshold (0 = never).
        let streak = subnet_int[si_at(p, SI_ZERO_SHARE_STEPS, i)];
        let exodus_min_streak = params_int[PI_BEH_EXODUS_MIN_STREAK];
        if (exodus_min_streak > 0u && streak >= exodus_min_streak) {
            hazard = hazard + params_real[P_BEH_EXODUS_HAZARD_STEP];
        }
        let held = subnet_real[sr_at(p, SR_HELD_ORGANIC, i)];
        let sold = held * -r_exp_m1(-hazard);

        let whales = min(poisson(params_real[P_BEH_WHALE_MEAN], wc.z, wc.w), WHALES_PER_STEP_MAX);
        var whale_in = Real(0.0);
        var whale_out_alpha = Real(0.0);
        if (whales > 0u) {
            let directions = rng_block(p, step, subnet, STREAM_WHALE).w;
            let ws = rng_block(p, step, subnet, STREAM_WHALE_SIZE);
            for (var j = 0u; j < whales; j = j + 1u) {
                // At most MAX_WHALE_ORDER (the TAO supply; an overflow to infinity included).
                let size_tao = min(r_exp(params_real[P_BEH_WHALE_LOG_MEDIAN]
                    + params_real[P_BEH_WHALE_SIGMA] * normal_icdf(ws[j])), MAX_WHALE_ORDER);
                if (((directions >> j) & 1u) == 0u) {
                    whale_in = whale_in + size_tao;
                } else {
                    whale_out_alpha = whale_out_alpha + safe_div(size_tao, price);
                }
            }
        }

        scratch_real[order_stake_at(p, i)] =
            inflow + whale_in + subnet_real[sr_at(p, SR_BUYBACK_PER_DAY, i)] * dt;
        scratch_real[order_unstake_at(p, i)] = min(sold + whale_out_alpha, held);
    }

    if (lane == 0u) {
        registration_arrival(p, step);
    }
}

// The step's registration arrival (lane 0), to the mailbox.
fn registration_arrival(p: u32, step: u32) {
    let wr = rng_block(p, step, GLOBAL_SUBNET, STREAM_REGISTRATION);
    let arrivals = poisson(params_real[P_BEH_REGISTRATION_MEAN], wr.x, wr.y);
    var arrived = 0u;
    var willingness = Real(0.0);
    if (arrivals != 0u) {
        let z_willing = normal_icdf(wr.z);
        arrived = 1u;
        willingness = r_exp(params_real[P_BEH_WILLINGNESS_LOG_MEDIAN] + params_real[P_BEH_WILLINGNESS_SIGMA] * z_willing);
    }
    scratch_int[mailbox_int_at(p, MAILBOX_ARRIVED)] = arrived;
    scratch_real[mailbox_real_at(p, MAILBOX_WILLINGNESS)] = willingness;
}
