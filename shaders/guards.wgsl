// Stage `guards`: the runtime guards' fast check at the end of each step (finite reals,
// non-negative reserves, live reserves above the minimum, TAO conservation); the first failing
// step is kept in guard_step (step + 1), which the host reads back after every chunk of steps.
// CPU twin: crates/taosim-core/src/cpu/guards.rs
// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters): lane l
// checks slots l, l + PATH_LANES, ... (and every PATH_LANES-th Yuma real); the lanes' failures and
// pool TAO are lanes_sum partial sums; lane 0 checks the path's fields and conservation and writes
// the flag.

// The relative TAO conservation residual of path p, with `pools` its live pools' TAO: relative to
// the largest of the identity's terms, at least 1 (twin: `relative_residual`).
fn conservation_residual(p: u32, pools: Real) -> Real {
    let paid_out = global_real[gr_at(p, GR_TAO_PAID_OUT)];
    let paid_in = global_real[gr_at(p, GR_TAO_PAID_IN)];
    let recycled = global_real[gr_at(p, GR_TAO_RECYCLED)];
    let lhs = pools + paid_out - paid_in + recycled;
    let rhs = params_real[P_GUARD_START_POOLS] + global_real[gr_at(p, GR_TAO_MINTED)];
    let scale = max(max(max(abs(pools), abs(paid_out)), max(abs(paid_in), abs(recycled))), max(abs(rhs), 1.0));
    return (lhs - rhs) / scale;
}

fn guards(p: u32, lane: u32) {
    var finite = true;
    for (var f = 0u; f < SR_FIELDS; f = f + 1u) {
        for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
            finite = finite && r_is_finite(subnet_real[sr_at(p, f, i)]);
        }
    }
    // Eight Yuma reals a pass: lavapipe counts loop passes per invocation (65,535 in all, docs/
    // gpu.md), and with one invocation per path on CPU adapters a network's Yuma reals alone
    // can exceed that (256 slots with 100 reveal epochs hold 78k). An index past the path's last
    // value re-reads the last one.
    let yuma_reals = info.subnets * info.yuma_reals;
    if (yuma_reals > 0u) {
        let first = p * yuma_reals;
        let last = first + yuma_reals - 1u;
        for (var k = lane * 8u; k < yuma_reals; k = k + PATH_LANES * 8u) {
            let at = first + k;
            finite = finite && r_is_finite(yuma_real[at]) && r_is_finite(yuma_real[min(at + 1u, last)])
                && r_is_finite(yuma_real[min(at + 2u, last)]) && r_is_finite(yuma_real[min(at + 3u, last)])
                && r_is_finite(yuma_real[min(at + 4u, last)]) && r_is_finite(yuma_real[min(at + 5u, last)])
                && r_is_finite(yuma_real[min(at + 6u, last)]) && r_is_finite(yuma_real[min(at + 7u, last)]);
        }
    }
    let floor = params_real[P_GUARD_RESERVE_FLOOR];
    var reserves = true;
    var pools = Real(0.0);
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        let tao = subnet_real[sr_at(p, SR_TAO, i)];
        let alpha = subnet_real[sr_at(p, SR_ALPHA, i)];
        reserves = reserves && tao >= 0.0 && alpha >= 0.0;
        if (subnet_int[si_at(p, SI_ACTIVE, i)] != 0u) {
            reserves = reserves && tao >= floor && alpha >= floor;
            pools = pools + tao;
        }
    }
    let sums = lanes_sum(lane, array<Real, LANE_SUMS>(
        select(Real(0.0), Real(1.0), !finite),
        select(Real(0.0), Real(1.0), !reserves),
        pools,
        Real(0.0),
    ));
    if (lane == 0u) {
        for (var f = 0u; f < GR_FIELDS; f = f + 1u) {
            finite = finite && r_is_finite(global_real[gr_at(p, f)]);
        }
        let conserved = abs(conservation_residual(p, sums[2])) <= params_real[P_GUARD_TOLERANCE];
        let ok = finite && sums[0] == 0.0 && sums[1] == 0.0 && conserved;
        if (!ok && global_int[gi_at(p, GI_GUARD_STEP)] == 0u) {
            global_int[gi_at(p, GI_GUARD_STEP)] = global_int[gi_at(p, GI_STEP)];
        }
    }
}
