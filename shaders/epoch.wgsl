// Stage `epoch` (model.md §3 items 6-7, §7): one Yuma epoch per live subnet of path p, then the
// payout through settle_subnet (shaders/payouts.wgsl); with Yuma off, the payouts stage alone.
// CPU twin: crates/taosim-core/src/cpu/epoch.rs. The Yuma reals of slot i (yuma_slot(p, i),
// word k at yr_at): miner quality [M], bonds [V × n], consensus history [reveal × n] (newest
// first); its Yuma integers (yi_at): permits [n] (taosim_core::state::YumaLayout). Work arrays:
// model/yuma.wgsl `yuma_work()`, in the lane's region (shared/state.wgsl `work_lane`).
// Dispatch: one workgroup of EPOCH_LANES lanes per path; lane l runs the epochs and payouts of
// slots l, l + EPOCH_LANES, ... in its own work region (a slot's epoch reads only its own Yuma
// block); the pool TAO and the payout totals are per-lane partial sums combined in workgroup
// memory (crates/taosim-gpu/src/stages/epoch.rs).

const VALIDATOR_CARTEL: u32 = 0u;
const VALIDATOR_COPIER: u32 = 1u;
const VALIDATOR_HONEST: u32 = 2u;

// ValidatorGroups::role: cartel first, then copiers, then honest (group sizes from the host).
fn validator_role(i: u32) -> u32 {
    let cartel = params_int[PI_YUMA_CARTEL_VALIDATORS];
    let copiers = params_int[PI_YUMA_COPIER_VALIDATORS];
    var role = VALIDATOR_HONEST;
    if (i < cartel) {
        role = VALIDATOR_CARTEL;
    } else if (i < cartel + copiers) {
        role = VALIDATOR_COPIER;
    }
    return role;
}

// The stake fraction of validator group g (present-renormalised on the host, as the CPU does).
fn validator_group_fraction(g: u32) -> Real {
    var fraction = params_real[P_YUMA_CARTEL_FRACTION];
    if (g == 1u) {
        fraction = params_real[P_YUMA_COPIER_FRACTION];
    } else if (g == 2u) {
        fraction = params_real[P_YUMA_HONEST_FRACTION];
    }
    return fraction;
}

// validator_stakes: splits `total` over the V validators into work[out .. + V).
fn validator_stakes(p: u32, total: Real, out: u32) {
    let validators = info.yuma_validators;
    let cartel = params_int[PI_YUMA_CARTEL_VALIDATORS];
    let copiers = params_int[PI_YUMA_COPIER_VALIDATORS];
    var bounds = array<u32, 4>(0u, cartel, cartel + copiers, validators);
    let exponent = params_real[P_YUMA_ZIPF_EXPONENT];
    for (var g = 0u; g < 3u; g = g + 1u) {
        var zipf_sum = Real(0.0);
        for (var k = bounds[g]; k < bounds[g + 1u]; k = k + 1u) {
            zipf_sum = zipf_sum + r_pow(Real(k + 1u), exponent);
        }
        let group_stake = total * validator_group_fraction(g);
        for (var k = bounds[g]; k < bounds[g + 1u]; k = k + 1u) {
            scratch_real[work_real_at(p, out + k)] = group_stake * safe_div(r_pow(Real(k + 1u), exponent), zipf_sum);
        }
    }
}

// The Philox block of miner j's quality draws (EpochDraws::quality_block).
fn quality_block(p: u32, step: u32, subnet: u32, miner: u32) -> vec4<u32> {
    return rng_block(p, step, subnet, params_int[PI_YUMA_QUALITY_STREAM] + miner / 2u);
}

// pick_normal: word `first + index % 2` of `words`, inverted (normal_icdf).
fn pick_normal(words: vec4<u32>, first: u32, index: u32) -> Real {
    return normal_icdf(words[first + index % 2u]);
}

// walk_miner_quality: u_j ← |u_j + σ z_j| for the M miners of slot i (Yuma blocks `slot`).
fn walk_miner_quality(p: u32, step: u32, i: u32, slot: YumaSlot) {
    if (params_int[PI_YUMA_QUALITY_WALK] != 0u) {
        let sigma = params_real[P_YUMA_MINER_QUALITY_SIGMA];
        for (var j = 0u; j < info.yuma_miners; j = j + 1u) {
            let z = pick_normal(quality_block(p, step, i, j), 0u, j);
            let at = yr_at(slot, j);
            yuma_real[at] = abs(yuma_real[at] + sigma * z);
        }
    }
}

// init_yuma_block: fresh lognormal qualities, no bonds, no history, permits for every validator
// uid, for slot i of path p at engine step `step` (registration and the host's init call it).
fn init_yuma_block(p: u32, i: u32, step: u32) {
    let validators = info.yuma_validators;
    let n = validators + info.yuma_miners;
    let slot = yuma_slot(p, i);
    let sigma = params_real[P_YUMA_INITIAL_QUALITY_LOG_SIGMA];
    for (var j = 0u; j < info.yuma_miners; j = j + 1u) {
        let z = pick_normal(quality_block(p, step, i, j), 2u, j);
        yuma_real[yr_at(slot, j)] = r_exp(sigma * z);
    }
    for (var k = info.yuma_miners; k < info.yuma_reals; k = k + 1u) {
        yuma_real[yr_at(slot, k)] = Real(0.0);
    }
    for (var uid = 0u; uid < n; uid = uid + 1u) {
        yuma_int[yi_at(slot, uid)] = select(0u, 1u, uid < validators);
    }
}

// build_weights: work[weights .. + V·n) for slot i, its Yuma blocks `slot` (module docs of
// cpu/epoch.rs, step 3).
fn build_weights(p: u32, step: u32, i: u32, slot: YumaSlot, weights: u32) {
    let validators = info.yuma_validators;
    let miners = info.yuma_miners;
    let n = validators + miners;
    let cartel_miners = params_int[PI_YUMA_CARTEL_MINERS];
    let lag = params_int[PI_YUMA_LAG];
    let noise = params_real[P_YUMA_WEIGHT_NOISE];
    let noisy = params_int[PI_YUMA_WEIGHT_NOISE_ON] != 0u;
    let burn = min(max(subnet_real[sr_at(p, SR_MINER_BURN, i)], Real(0.0)), Real(1.0));
    let history = miners + validators * n;
    // Each role zeroes the entries it does not set, as the twin does (no zeroing pass first).
    for (var v = 0u; v < validators; v = v + 1u) {
        let row = weights + v * n;
        let role = validator_role(v);
        if (role == VALIDATOR_CARTEL) {
            for (var j = 0u; j < n - cartel_miners; j = j + 1u) {
                scratch_real[work_real_at(p, row + j)] = Real(0.0);
            }
            for (var j = n - cartel_miners; j < n; j = j + 1u) {
                scratch_real[work_real_at(p, row + j)] = Real(1.0) / Real(cartel_miners);
            }
        } else if (role == VALIDATOR_COPIER) {
            let copies = lag <= info.yuma_reveal;
            for (var j = 0u; j < n; j = j + 1u) {
                var x = Real(0.0);
                if (copies && j >= validators) {
                    x = yuma_real[yr_at(slot, history + (lag - 1u) * n + j)];
                }
                scratch_real[work_real_at(p, row + j)] = x;
            }
        } else {
            for (var j = 0u; j < validators; j = j + 1u) {
                scratch_real[work_real_at(p, row + j)] = Real(0.0);
            }
            var sum = Real(0.0);
            // One Philox block serves four consecutive entries; fetched on the first entry of
            // each group of four (and on the row's first miner, mid-group).
            var words = vec4<u32>(0u);
            for (var m = 1u; m < miners; m = m + 1u) {
                var x = yuma_real[yr_at(slot, m)];
                if (noisy) {
                    let entry = v * miners + m;
                    if (m == 1u || entry % 4u == 0u) {
                        words = rng_block(p, step, i, params_int[PI_YUMA_NOISE_STREAM] + entry / 4u);
                    }
                    x = x + noise * normal_icdf(words[entry % 4u]);
                }
                let raw = max(x, Real(0.0));
                scratch_real[work_real_at(p, row + validators + m)] = raw;
                sum = sum + raw;
            }
            let scale = safe_div(1.0 - burn, sum);
            for (var m = 1u; m < miners; m = m + 1u) {
                let at = work_real_at(p, row + validators + m);
                scratch_real[at] = scratch_real[at] * scale;
            }
            scratch_real[work_real_at(p, row + validators)] = burn;
        }
    }
}

// The subnets' Yuma parameters (cpu::epoch::yuma_params, from the host).
fn yuma_config() -> YumaConfig {
    return YumaConfig(
        params_int[PI_YUMA_VERSION],
        params_real[P_YUMA_KAPPA],
        params_real[P_YUMA_BONDS_MOVING_AVERAGE],
        params_real[P_YUMA_BONDS_PENALTY],
        params_int[PI_YUMA_MAX_VALIDATORS],
        params_int[PI_YUMA_LIQUID_ALPHA],
        params_real[P_YUMA_ALPHA_LOW],
        params_real[P_YUMA_ALPHA_HIGH],
        params_real[P_YUMA_LIQUID_SLOPE],
    );
}

// Each lane's partial sum of the live pools' TAO.
var<workgroup> lane_pool_tao: array<Real, EPOCH_LANES>;

// One Yuma epoch and payout for lane `lane`'s live subnets of path p (cpu::epoch::epoch with Yuma
// on), then the path's payout totals (finish_lane_payouts).
fn yuma_epochs(p: u32, lane: u32) {
    let validators = info.yuma_validators;
    let n = validators + info.yuma_miners;
    let reveal = info.yuma_reveal;
    let step = global_int[gi_at(p, GI_STEP)];
    work_lane = lane;
    let w = yuma_work();
    let cfg = yuma_config();
    let cartel_miners = params_int[PI_YUMA_CARTEL_MINERS];
    let tao_weight = params_real[P_EPOCH_TAO_WEIGHT];
    var lane_tao = Real(0.0);
    for (var i = lane; i < info.subnets; i = i + EPOCH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] != 0u) {
            lane_tao = lane_tao + subnet_real[sr_at(p, SR_TAO, i)];
        }
    }
    lane_pool_tao[lane] = lane_tao;
    workgroupBarrier();
    // Every lane sums the partial sums in the same order, so all see the same pool TAO.
    var pool_tao = Real(0.0);
    for (var l = 0u; l < EPOCH_LANES; l = l + 1u) {
        pool_tao = pool_tao + lane_pool_tao[l];
    }
    let root_tao = global_real[gr_at(p, GR_ROOT_TAO)];
    var totals = PayoutTotals(Real(0.0), Real(0.0), Real(0.0), Real(0.0), Real(0.0));
    for (var i = lane; i < info.subnets; i = i + EPOCH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
            continue;
        }
        let root_stake = root_tao * safe_div(subnet_real[sr_at(p, SR_TAO, i)], pool_tao);
        let stake = subnet_real[sr_at(p, SR_HELD_VALIDATORS, i)] + subnet_real[sr_at(p, SR_HELD_ORGANIC, i)] + tao_weight * root_stake;
        validator_stakes(p, stake, w.epoch_stake);
        for (var j = validators; j < n; j = j + 1u) {
            scratch_real[work_real_at(p, w.epoch_stake + j)] = Real(0.0);
        }

        let slot = yuma_slot(p, i);
        walk_miner_quality(p, step, i, slot);
        build_weights(p, step, i, slot, w.epoch_weights);
        let bonds = info.yuma_miners;
        yuma_run_epoch(p, w, cfg, w.epoch_stake, w.epoch_weights, slot, bonds);
        // Newest first: shift the history one epoch back, this epoch's consensus in front.
        let history = bonds + validators * n;
        for (var r = reveal - min(reveal, 1u); r >= 1u; r = r - 1u) {
            for (var j = 0u; j < n; j = j + 1u) {
                yuma_real[yr_at(slot, history + r * n + j)] = yuma_real[yr_at(slot, history + (r - 1u) * n + j)];
            }
        }
        if (reveal > 0u) {
            for (var j = 0u; j < n; j = j + 1u) {
                yuma_real[yr_at(slot, history + j)] = scratch_real[work_real_at(p, w.consensus + j)];
            }
        }

        var incentive_total = Real(0.0);
        var cartel_incentive = Real(0.0);
        for (var j = 0u; j < n; j = j + 1u) {
            let x = scratch_real[work_real_at(p, w.incentive + j)];
            incentive_total = incentive_total + x;
            if (j >= n - cartel_miners) {
                cartel_incentive = cartel_incentive + x;
            }
        }
        let share = sr_at(p, SR_CARTEL_SHARE_SUM, i);
        subnet_real[share] = subnet_real[share] + safe_div(cartel_incentive, incentive_total);
        let epochs = si_at(p, SI_EPOCHS, i);
        subnet_int[epochs] = subnet_int[epochs] + 1u;
        let owner = scratch_real[work_real_at(p, w.incentive + validators)];
        _ = settle_subnet(p, i, incentive_total, owner, &totals);
    }
    finish_lane_payouts(p, lane, totals);
}

// Stage entry: Yuma epochs and payouts, or the Yuma-off payouts (one workgroup per path).
fn epoch(p: u32, lane: u32) {
    if (params_int[PI_YUMA_ENABLED] != 0u) {
        yuma_epochs(p, lane);
    } else {
        payouts(p, lane);
    }
}
