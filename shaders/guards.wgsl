// Stage `guards`: the runtime guards' fast check at the end of each step (finite reals,
// non-negative reserves, live reserves above the minimum, TAO conservation); the first failing
// step is kept in guard_step (step + 1), which the host reads back after every chunk of steps.
// CPU twin: crates/taosim-core/src/cpu/guards.rs
fn conservation_residual(p: u32) -> Real {
    var pools = Real(0.0);
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] != 0u) {
            pools = pools + subnet_real[sr_at(p, SR_TAO, i)];
        }
    }
    let lhs = pools + global_real[gr_at(p, GR_TAO_PAID_OUT)] - global_real[gr_at(p, GR_TAO_PAID_IN)]
        + global_real[gr_at(p, GR_TAO_RECYCLED)];
    let rhs = params_real[P_GUARD_START_POOLS] + global_real[gr_at(p, GR_TAO_MINTED)];
    return (lhs - rhs) / max(abs(rhs), 1.0);
}

fn guards(p: u32) {
    var finite = true;
    for (var f = 0u; f < SR_FIELDS; f = f + 1u) {
        for (var i = 0u; i < info.subnets; i = i + 1u) {
            finite = finite && r_is_finite(subnet_real[sr_at(p, f, i)]);
        }
    }
    for (var f = 0u; f < GR_FIELDS; f = f + 1u) {
        finite = finite && r_is_finite(global_real[gr_at(p, f)]);
    }
    let yuma_reals = info.subnets * info.yuma_reals;
    for (var k = 0u; k < yuma_reals; k = k + 1u) {
        finite = finite && r_is_finite(yuma_real[p * yuma_reals + k]);
    }
    let floor = params_real[P_GUARD_RESERVE_FLOOR];
    var reserves = true;
    for (var i = 0u; i < info.subnets; i = i + 1u) {
        let tao = subnet_real[sr_at(p, SR_TAO, i)];
        let alpha = subnet_real[sr_at(p, SR_ALPHA, i)];
        reserves = reserves && tao >= 0.0 && alpha >= 0.0;
        if (subnet_int[si_at(p, SI_ACTIVE, i)] != 0u) {
            reserves = reserves && tao >= floor && alpha >= floor;
        }
    }
    let conserved = abs(conservation_residual(p)) <= params_real[P_GUARD_TOLERANCE];
    let ok = finite && reserves && conserved;
    if (!ok && global_int[gi_at(p, GI_GUARD_STEP)] == 0u) {
        global_int[gi_at(p, GI_GUARD_STEP)] = global_int[gi_at(p, GI_STEP)];
    }
}
