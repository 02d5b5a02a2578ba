// Twin of crates/taosim-core/src/model/yuma.rs in BondStorage::Float mode (the mode the CPU epoch
// stage runs; chain.md §5), plus the normal draws the epoch needs (twins of rng.rs's uniform_open,
// normal_pair and normal_quantile under yuma_* names, so they cannot clash with a shared
// model/rng.wgsl; merge them into it once it exists).
//
// The work arrays of YumaWorkspace / EpochWorkspace live in the path's scratch `work` area
// (shared/state.wgsl `work_real_at` / `work_int_at`, the lanes' regions interleaved);
// `yuma_work()` gives each array's offset in a lane's region, from V and M
// (crates/taosim-gpu/src/stages/epoch.rs::workspace_size documents the same layout). Every
// function here takes those offsets (and the slot's Yuma blocks, shared/state.wgsl `YumaSlot`,
// for the carried bonds and permits) instead of slices. Functions have a single exit (the
// project's WGSL rule; but see the loop budget below for what really truncated loops).
//
// Loop budget on lavapipe (Mesa's llvmpipe, checked on 22.3): gallivm gives each shader
// invocation ONE loop limiter, LP_MAX_TGSI_LOOP_ITERATIONS = 65535, set up once in the (fully
// inlined) main function and decremented by the back-edge of EVERY loop, nested or not. When it
// reaches zero, each loop silently exits after its current iteration: no error, no device loss;
// the rest of the shader runs with truncated loops. One epoch costs about 10⁴ back-edges per slot
// at V = 8, M = 32 (the per-path loop over 128 slots stopped in slot 6) and about 10³ at V = 3,
// M = 5 (slot 68); moving 55 000 iterations of a dummy loop in front of the slot loop made it stop
// in slot 1. Real GPUs have no such limit. Rule: on lavapipe, keep the loop iterations of one
// invocation (all loops, all inlined functions, the Philox rounds included) under 65535; the
// epoch stage runs EPOCH_LANES lanes per path for that (4 of 128 slots per invocation). The
// earlier "early return in an inlined function ends the caller's loop" symptom (37 of 128 slots,
// shared/real_f64.wgsl) fits the same budget: the loop-free rewrite removed back-edges.

const YUMA_ABSENT: f32 = -1.0;

// Offsets of the epoch's work arrays in the path's work area: n = V + M uids, V weight rows.
struct YumaWork {
    // Reals, vectors [n].
    stake: u32,
    active_stake: u32,
    consensus: u32,
    incentive: u32,
    dividends: u32,
    validator_trust: u32,
    use_stake: u32,
    median_score: u32,
    median_stake: u32,
    epoch_stake: u32,
    // Reals, matrices [V × n].
    weights: u32,
    clipped: u32,
    bonds_input: u32,
    ema: u32,
    epoch_weights: u32,
    // Integers [n].
    staked_rows: u32,
    new_permits: u32,
}

// The work arrays' offsets in a lane's region of 10·n + 5·V·n reals and 2·n integers
// (stages/epoch.rs::lane_workspace_size); the same for every lane, whose regions
// shared/state.wgsl interleaves (`work_lane`).
fn yuma_work() -> YumaWork {
    let n = info.yuma_validators + info.yuma_miners;
    let m = info.yuma_validators * n;
    return YumaWork(
        0u, n, 2u * n, 3u * n, 4u * n, 5u * n, 6u * n, 7u * n, 8u * n, 9u * n,
        10u * n, 10u * n + m, 10u * n + 2u * m, 10u * n + 3u * m, 10u * n + 4u * m,
        0u, n,
    );
}

fn present_value(x: Real) -> Real {
    return max(x, Real(0.0));
}

fn is_present(x: Real) -> bool {
    return x >= 0.0;
}

// ---- draws: the weight noise uses shaders/model/rng.wgsl (uniform_open, normal_pair,
// normal_icdf), the twins of taosim_core::rng's.

// ---- Yuma (model/yuma.rs, float mode: ar.mul = ·, ar.div = safe_div, ar.snap = identity,
// div_by_inverse = · inverse)

// Normalises work[x .. x + len) to sum 1 (left as is when it sums to 0).
fn yuma_normalize(p: u32, x: u32, len: u32) {
    var sum = Real(0.0);
    for (var k = 0u; k < len; k = k + 1u) {
        sum = sum + scratch_real[work_real_at(p, x + k)];
    }
    if (sum != 0.0) {
        let inverse = 1.0 / sum;
        for (var k = 0u; k < len; k = k + 1u) {
            let at = work_real_at(p, x + k);
            scratch_real[at] = scratch_real[at] * inverse;
        }
    }
}

fn yuma_col_sums(p: u32, matrix: u32, rows: u32, cols: u32, sums: u32) {
    for (var j = 0u; j < cols; j = j + 1u) {
        scratch_real[work_real_at(p, sums + j)] = Real(0.0);
    }
    for (var i = 0u; i < rows; i = i + 1u) {
        for (var j = 0u; j < cols; j = j + 1u) {
            let at = work_real_at(p, sums + j);
            scratch_real[at] = scratch_real[at] + present_value(scratch_real[work_real_at(p, matrix + i * cols + j)]);
        }
    }
}

fn yuma_col_normalize(p: u32, matrix: u32, rows: u32, cols: u32, sums: u32) {
    yuma_col_sums(p, matrix, rows, cols, sums);
    for (var j = 0u; j < cols; j = j + 1u) {
        let sum = scratch_real[work_real_at(p, sums + j)];
        if (sum != 0.0) {
            let inverse = 1.0 / sum;
            for (var i = 0u; i < rows; i = i + 1u) {
                let at = work_real_at(p, matrix + i * cols + j);
                let x = scratch_real[at];
                if (is_present(x)) {
                    scratch_real[at] = x * inverse;
                }
            }
        }
    }
}

// is_topk_nonzero over work[stake .. stake + n) into work_int[permit .. permit + n). As in the
// twin: when no stake is negative or NaN and at most k are nonzero (the engine's case: only the
// V <= k validators hold stake), the permits are the nonzero stakes and no rank is computed, so
// the epoch reads its n stakes twice instead of n² times; otherwise ranks of nonzero stakes only.
fn yuma_is_topk_nonzero(p: u32, stake: u32, n: u32, k: u32, permit: u32) {
    var nonzero = 0u;
    var all_non_negative = true;
    for (var i = 0u; i < n; i = i + 1u) {
        let s = scratch_real[work_real_at(p, stake + i)];
        nonzero = nonzero + select(0u, 1u, s != 0.0);
        all_non_negative = all_non_negative && s >= 0.0;
    }
    let rank_needed = n >= k && !(all_non_negative && nonzero <= k);
    for (var i = 0u; i < n; i = i + 1u) {
        let si = scratch_real[work_real_at(p, stake + i)];
        var permitted = si != 0.0;
        if (permitted && rank_needed) {
            var rank = 0u;
            for (var j = 0u; j < n; j = j + 1u) {
                let sj = scratch_real[work_real_at(p, stake + j)];
                if (sj < si || (sj == si && j < i)) {
                    rank = rank + 1u;
                }
            }
            if (rank < n - k) {
                permitted = false;
            }
        }
        scratch_int[work_int_at(p, permit + i)] = select(0u, 1u, permitted);
    }
}

// Staked rows that the rank form of the consensus takes (the CPU's LANES), and how many ulps of the
// stake sum a stake boundary must lie from `minority` for it to decide (RANK_MARGIN_ULPS).
const RANK_LANES: u32 = 8u;
const RANK_MARGIN_ULPS: Real = 256.0;

// weighted_median_compact over the compact columns work[score .. + len), work[stake .. + len).
fn yuma_weighted_median_compact(p: u32, score: u32, stake: u32, count: u32, minority: Real, partition_lo: Real, partition_hi: Real) -> Real {
    var len = count;
    var lo = partition_lo;
    var hi = partition_hi;
    let max_iterations = len;
    var result = Real(0.0);
    var done = false;
    for (var iteration = 0u; iteration <= max_iterations; iteration = iteration + 1u) {
        if (done) {
            // Nothing left: the CPU returned (no `continue` / `return` in an inlined loop here).
        } else if (len == 0u) {
            result = Real(0.0);
            done = true;
        } else if (len == 1u) {
            result = scratch_real[work_real_at(p, score)];
            done = true;
        } else {
            let pivot = scratch_real[work_real_at(p, score + len / 2u)];
            var lo_stake = Real(0.0);
            var hi_stake = Real(0.0);
            var n_lower = 0u;
            var n_upper = 0u;
            for (var k = 0u; k < len; k = k + 1u) {
                let s = scratch_real[work_real_at(p, score + k)];
                if (s < pivot) {
                    lo_stake = lo_stake + scratch_real[work_real_at(p, stake + k)];
                    n_lower = n_lower + 1u;
                } else if (s > pivot) {
                    hi_stake = hi_stake + scratch_real[work_real_at(p, stake + k)];
                    n_upper = n_upper + 1u;
                }
            }
            let keep_lower = minority < lo + lo_stake && n_lower > 0u;
            let keep_upper = !keep_lower && hi - hi_stake <= minority && n_upper > 0u;
            if (!keep_lower && !keep_upper) {
                result = pivot;
                done = true;
            } else {
                var kept = 0u;
                for (var k = 0u; k < len; k = k + 1u) {
                    let s = scratch_real[work_real_at(p, score + k)];
                    if ((keep_lower && s < pivot) || (keep_upper && s > pivot)) {
                        scratch_real[work_real_at(p, score + kept)] = s;
                        scratch_real[work_real_at(p, stake + kept)] = scratch_real[work_real_at(p, stake + k)];
                        kept = kept + 1u;
                    }
                }
                if (keep_lower) {
                    hi = lo + lo_stake;
                } else {
                    lo = hi - hi_stake;
                }
                len = kept;
            }
        }
    }
    return result;
}

// Row i's score in column j of the consensus: its weight's present value, 0 for a staked row
// beyond the weight matrix (straight-line, no early return: see r_exp in real_f64.wgsl).
fn yuma_consensus_score(p: u32, weights: u32, weight_rows: u32, n: u32, i: u32, j: u32) -> Real {
    var score = Real(0.0);
    if (i < weight_rows) {
        score = present_value(scratch_real[work_real_at(p, weights + i * n + j)]);
    }
    return score;
}

// weighted_median_col_with: consensus of each column of the `weight_rows × n` matrix at
// work[weights] under the stakes work[stake .. + n), into work[median .. + n).
fn yuma_weighted_median_col(p: u32, w: YumaWork, stake: u32, weights: u32, weight_rows: u32, n: u32, kappa: Real, median: u32) {
    let rows = n;
    var raw_sum = Real(0.0);
    for (var i = 0u; i < rows; i = i + 1u) {
        let s = scratch_real[work_real_at(p, stake + i)];
        if (s > 0.0) {
            raw_sum = raw_sum + s;
        }
    }
    var stake_sum = Real(0.0);
    for (var i = 0u; i < rows; i = i + 1u) {
        let s = scratch_real[work_real_at(p, stake + i)];
        let u = select(Real(0.0), safe_div(s, raw_sum), s > 0.0);
        scratch_real[work_real_at(p, w.use_stake + i)] = u;
        stake_sum = stake_sum + u;
    }
    let minority = stake_sum - kappa;
    var staked = 0u;
    for (var i = 0u; i < rows; i = i + 1u) {
        if (scratch_real[work_real_at(p, stake + i)] > 0.0) {
            scratch_int[work_int_at(p, w.staked_rows + staked)] = i;
            staked = staked + 1u;
        }
    }
    let rank_lanes = staked >= 2u && staked <= RANK_LANES;
    let margin = RANK_MARGIN_ULPS * REAL_EPS * stake_sum;
    for (var j = 0u; j < n; j = j + 1u) {
        var decided = false;
        var answer = Real(0.0);
        if (rank_lanes) {
            // RankBlocks and weighted_median_by_rank (model/yuma.rs) for one column: the staked
            // rows' scores and stakes in registers (padding rows score 0 with zero stake), the
            // pivot when every staked row scores it, else the largest score whose stake below
            // is under `minority`, where no stake boundary lies within the margin of it (there
            // the partition's rounded decisions are the exact ones: the CPU twin's docs).
            var score: array<Real, RANK_LANES>;
            var stake_of: array<Real, RANK_LANES>;
            for (var k = 0u; k < RANK_LANES; k = k + 1u) {
                score[k] = Real(0.0);
                stake_of[k] = Real(0.0);
                if (k < staked) {
                    let i = scratch_int[work_int_at(p, w.staked_rows + k)];
                    score[k] = yuma_consensus_score(p, weights, weight_rows, n, i, j);
                    stake_of[k] = scratch_real[work_real_at(p, w.use_stake + i)];
                }
            }
            let pivot = score[staked / 2u];
            var all_equal = true;
            for (var k = 0u; k < staked; k = k + 1u) {
                all_equal = all_equal && score[k] == pivot;
            }
            var near = minority + margin >= stake_sum;
            var best = Real(0.0);
            for (var k = 0u; k < RANK_LANES; k = k + 1u) {
                var below = Real(0.0);
                for (var l = 0u; l < RANK_LANES; l = l + 1u) {
                    below = below + select(Real(0.0), stake_of[l], score[l] < score[k]);
                }
                near = near || abs(below - minority) <= margin;
                let candidate = select(Real(0.0), score[k], below < minority);
                best = select(best, candidate, candidate > best);
            }
            if (all_equal) {
                answer = pivot;
                decided = true;
            } else if (!near && best > Real(0.0)) {
                answer = best;
                decided = true;
            }
        }
        if (!decided) {
            for (var k = 0u; k < staked; k = k + 1u) {
                let i = scratch_int[work_int_at(p, w.staked_rows + k)];
                let score = yuma_consensus_score(p, weights, weight_rows, n, i, j);
                scratch_real[work_real_at(p, w.median_score + k)] = score;
                scratch_real[work_real_at(p, w.median_stake + k)] = scratch_real[work_real_at(p, w.use_stake + i)];
            }
            answer = yuma_weighted_median_compact(p, w.median_score, w.median_stake, staked, minority, Real(0.0), stake_sum);
        }
        scratch_real[work_real_at(p, median + j)] = answer;
    }
}

// The Yuma parameters of a subnet (YumaParams, float storage).
struct YumaConfig {
    version: u32,
    kappa: Real,
    bonds_moving_average: Real,
    bonds_penalty: Real,
    max_validators: u32,
    liquid_alpha: u32,
    alpha_low: Real,
    alpha_high: Real,
    // steepness / 100, divided on the host as the CPU does.
    slope: Real,
}

const YUMA2: u32 = 0u;
const YUMA3: u32 = 1u;

// liquid_alpha_rate: the per-entry EMA rate of the liquid-alpha sigmoid.
fn yuma_liquid_alpha_rate(cfg: YumaConfig, consensus: Real, weight: Real, bond: Real) -> Real {
    let diff_buy = min(max(weight - consensus, Real(0.0)), Real(1.0));
    let diff_sell = min(max(bond - weight, Real(0.0)), Real(1.0));
    let diff = select(diff_sell, diff_buy, weight >= bond);
    let sigmoid = 1.0 / (1.0 + r_exp(-cfg.slope * (diff - 0.5)));
    return max(min(cfg.alpha_low + sigmoid * (cfg.alpha_high - cfg.alpha_low), cfg.alpha_high), cfg.alpha_low);
}

// run_epoch (float storage) for one subnet: stake work[stake_raw .. + n), weights
// work[weights_raw .. + V·n), bonds words bonds .. + V·n of the slot's Yuma reals, permits its
// Yuma integers 0 .. n (shared/state.wgsl `yuma_slot`). Outputs in the work arrays of `w`, as
// YumaWorkspace's public vectors.
fn yuma_run_epoch(p: u32, w: YumaWork, cfg: YumaConfig, stake_raw: u32, weights_raw: u32, slot: YumaSlot, bonds: u32) {
    let rows = info.yuma_validators;
    let n = rows + info.yuma_miners;
    let zero = Real(0.0);
    let one = Real(1.0);
    let absent = Real(YUMA_ABSENT);

    var stake_total = zero;
    for (var i = 0u; i < n; i = i + 1u) {
        stake_total = stake_total + scratch_real[work_real_at(p, stake_raw + i)];
    }
    for (var i = 0u; i < n; i = i + 1u) {
        scratch_real[work_real_at(p, w.stake + i)] = safe_div(scratch_real[work_real_at(p, stake_raw + i)], stake_total);
    }
    yuma_is_topk_nonzero(p, w.stake, n, cfg.max_validators, w.new_permits);
    for (var i = 0u; i < n; i = i + 1u) {
        scratch_real[work_real_at(p, w.active_stake + i)] =
            select(zero, scratch_real[work_real_at(p, w.stake + i)], yuma_int[yi_at(slot, i)] != 0u);
    }
    yuma_normalize(p, w.active_stake, n);

    // Weights: permit and diagonal masks, rows normalised, absent entries marked. As the twin's
    // float form: the masked row's sum is the raw row's present sum without the diagonal (the
    // same additions in the same order), taken with the off-diagonal sum, so the row is read
    // twice and written once.
    for (var i = 0u; i < rows; i = i + 1u) {
        var off_diagonal = zero;
        var row_sum = zero;
        for (var j = 0u; j < n; j = j + 1u) {
            if (j != i) {
                let x = scratch_real[work_real_at(p, weights_raw + i * n + j)];
                off_diagonal = off_diagonal + x;
                row_sum = row_sum + present_value(x);
            }
        }
        let row_present = yuma_int[yi_at(slot, i)] != 0u && off_diagonal > zero;
        let inverse = safe_div(one, row_sum);
        for (var j = 0u; j < n; j = j + 1u) {
            var x = absent;
            if (row_present && j != i) {
                x = scratch_real[work_real_at(p, weights_raw + i * n + j)];
                if (is_present(x)) {
                    x = x * inverse;
                }
            }
            scratch_real[work_real_at(p, w.weights + i * n + j)] = x;
        }
    }

    // Consensus, clip, validator trust, incentive.
    yuma_weighted_median_col(p, w, w.active_stake, w.weights, rows, n, cfg.kappa, w.consensus);
    // Clip, the row's trust and the incentive terms in one pass (the twin's order: rows in
    // order, each row's columns in order).
    for (var j = 0u; j < n; j = j + 1u) {
        scratch_real[work_real_at(p, w.incentive + j)] = zero;
    }
    for (var i = 0u; i < n; i = i + 1u) {
        var trust = zero;
        if (i < rows) {
            let a = scratch_real[work_real_at(p, w.active_stake + i)];
            for (var j = 0u; j < n; j = j + 1u) {
                let k = i * n + j;
                let x = scratch_real[work_real_at(p, w.weights + k)];
                let c = scratch_real[work_real_at(p, w.consensus + j)];
                var clipped = x;
                if (is_present(x) && c < x) {
                    clipped = select(absent, c, c > zero);
                }
                scratch_real[work_real_at(p, w.clipped + k)] = clipped;
                let term = present_value(clipped);
                trust = trust + term;
                let at = work_real_at(p, w.incentive + j);
                scratch_real[at] = scratch_real[at] + a * term;
            }
        }
        scratch_real[work_real_at(p, w.validator_trust + i)] = trust;
    }
    yuma_normalize(p, w.incentive, n);

    // Bonds input W^b = W + β(W̄ − W) (interpolate_sparse). As in the twin, Yuma3 with β = 0
    // or 1 reads the weights or the clipped weights in place (entry for entry the same matrix);
    // Yuma2, which overwrites `clipped`, and any other β get the matrix in `bonds_input`.
    let beta = cfg.bonds_penalty;
    let in_place = cfg.version != YUMA2 && (beta == zero || beta == one);
    var bonds_input = w.bonds_input;
    if (in_place) {
        bonds_input = select(w.clipped, w.weights, beta == zero);
    } else {
        for (var k = 0u; k < rows * n; k = k + 1u) {
            let x = scratch_real[work_real_at(p, w.weights + k)];
            let xc = scratch_real[work_real_at(p, w.clipped + k)];
            var wb = xc;
            if (beta == zero) {
                wb = x;
            } else if (beta != one) {
                let a = present_value(x);
                let b = present_value(xc);
                let mixed = a + beta * (b - a);
                wb = select(absent, mixed, mixed > zero);
            }
            scratch_real[work_real_at(p, w.bonds_input + k)] = wb;
        }
    }

    // Bonds and dividends. `use_stake` is free now: column sums.
    let keep = cfg.bonds_moving_average;
    let rate = one - keep;
    let sums = w.use_stake;
    if (cfg.version == YUMA2) {
        for (var k = 0u; k < rows * n; k = k + 1u) {
            scratch_real[work_real_at(p, w.ema + k)] = yuma_real[yr_at(slot, bonds + k)];
        }
        yuma_col_normalize(p, w.ema, rows, n, sums);
        // ΔB = col_normalize(W^b ∘ A), kept in `clipped`.
        for (var i = 0u; i < rows; i = i + 1u) {
            let a = scratch_real[work_real_at(p, w.active_stake + i)];
            for (var j = 0u; j < n; j = j + 1u) {
                let wb = scratch_real[work_real_at(p, w.bonds_input + i * n + j)];
                scratch_real[work_real_at(p, w.clipped + i * n + j)] = select(zero, wb * a, is_present(wb));
            }
        }
        yuma_col_normalize(p, w.clipped, rows, n, sums);
        for (var k = 0u; k < rows * n; k = k + 1u) {
            let at = work_real_at(p, w.ema + k);
            scratch_real[at] = rate * scratch_real[work_real_at(p, w.clipped + k)] + keep * scratch_real[at];
        }
        yuma_col_normalize(p, w.ema, rows, n, sums);
        for (var i = 0u; i < n; i = i + 1u) {
            var d = zero;
            if (i < rows) {
                for (var j = 0u; j < n; j = j + 1u) {
                    d = d + scratch_real[work_real_at(p, w.incentive + j)] * scratch_real[work_real_at(p, w.ema + i * n + j)];
                }
            }
            scratch_real[work_real_at(p, w.dividends + i)] = d;
        }
        yuma_normalize(p, w.dividends, n);
        // Column max-upscale for storage.
        for (var j = 0u; j < n; j = j + 1u) {
            var column_max = zero;
            for (var i = 0u; i < rows; i = i + 1u) {
                column_max = max(column_max, scratch_real[work_real_at(p, w.ema + i * n + j)]);
            }
            scratch_real[work_real_at(p, sums + j)] = column_max;
        }
        for (var i = 0u; i < rows; i = i + 1u) {
            for (var j = 0u; j < n; j = j + 1u) {
                let at = work_real_at(p, w.ema + i * n + j);
                scratch_real[at] = safe_div(scratch_real[at], scratch_real[work_real_at(p, sums + j)]);
            }
        }
    } else {
        var any_consensus = false;
        for (var j = 0u; j < n; j = j + 1u) {
            any_consensus = any_consensus || scratch_real[work_real_at(p, w.consensus + j)] != zero;
        }
        let liquid = cfg.liquid_alpha != 0u && any_consensus;
        // Column sums of the new bonds (col_normalize's first step) as they are produced.
        for (var j = 0u; j < n; j = j + 1u) {
            scratch_real[work_real_at(p, sums + j)] = zero;
        }
        for (var i = 0u; i < rows; i = i + 1u) {
            for (var column = 0u; column < n; column = column + 1u) {
                let k = i * n + column;
                let old = yuma_real[yr_at(slot, bonds + k)];
                let wb = scratch_real[work_real_at(p, bonds_input + k)];
                var ema = zero;
                if (liquid) {
                    if (is_present(wb)) {
                        let alpha = yuma_liquid_alpha_rate(cfg, scratch_real[work_real_at(p, w.consensus + column)], wb, old);
                        let decayed = (one - alpha) * old;
                        let increment = max(alpha * wb, zero);
                        ema = min(decayed + increment, one);
                    }
                } else {
                    ema = rate * present_value(wb) + keep * old;
                }
                scratch_real[work_real_at(p, w.ema + k)] = ema;
                let sum = work_real_at(p, sums + column);
                scratch_real[sum] = scratch_real[sum] + present_value(ema);
            }
        }
        // Dividends from the column-normalised bonds, each entry normalised as it is read (as
        // col_normalize would: present entries of a column with a nonzero sum; a zero sum's
        // inverse is 1, and x · 1 = x for every present x), no normalised copy.
        for (var j = 0u; j < n; j = j + 1u) {
            let at = work_real_at(p, sums + j);
            if (scratch_real[at] == zero) {
                scratch_real[at] = one;
            } else {
                scratch_real[at] = one / scratch_real[at];
            }
        }
        for (var i = 0u; i < n; i = i + 1u) {
            var total = zero;
            if (i < rows) {
                for (var j = 0u; j < n; j = j + 1u) {
                    var bond = scratch_real[work_real_at(p, w.ema + i * n + j)];
                    if (is_present(bond)) {
                        bond = bond * scratch_real[work_real_at(p, sums + j)];
                    }
                    total = total + bond * scratch_real[work_real_at(p, w.incentive + j)];
                }
            }
            scratch_real[work_real_at(p, w.dividends + i)] = total * scratch_real[work_real_at(p, w.active_stake + i)];
        }
        yuma_normalize(p, w.dividends, n);
    }

    // Storage: rows with a new permit take the new bonds, rows losing a permit are cleared.
    for (var i = 0u; i < rows; i = i + 1u) {
        for (var j = 0u; j < n; j = j + 1u) {
            let k = i * n + j;
            if (scratch_int[work_int_at(p, w.new_permits + i)] != 0u) {
                yuma_real[yr_at(slot, bonds + k)] = scratch_real[work_real_at(p, w.ema + k)];
            } else if (yuma_int[yi_at(slot, i)] != 0u) {
                yuma_real[yr_at(slot, bonds + k)] = zero;
            }
        }
    }
    for (var i = 0u; i < n; i = i + 1u) {
        yuma_int[yi_at(slot, i)] = scratch_int[work_int_at(p, w.new_permits + i)];
    }
}
