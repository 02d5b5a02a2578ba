// Stage `registration` (model.md §3 item 8, §6, §9; chain.md §6) for path p: the arrival drawn by
// `behaviour` (mailbox MAILBOX_ARRIVED / MAILBOX_WILLINGNESS) registers a subnet if the network
// rate limit and the registrant's willingness allow, in the first free slot or, when every slot is
// taken, in the prune candidate's. This kernel does what the CPU engine does around the twin
// (engine::simulate_path): the decision (registration_decision); on a prune, the spiral-on-prune
// rule (a subnet pruned in zero emission counts as a death spiral: EVENT_SPIRAL with spot price
// and pool TAO), EVENT_PRUNED (pool TAO, moving price) with the occupant's fields snapshotted
// before anything changes (the host builds the pruned occupant's record from them); then
// apply_registration, the Yuma block reset (init_yuma_block, Yuma on only) and EVENT_REGISTERED
// (lock cost, start pool TAO).
// CPU twin: crates/taosim-core/src/cpu/registration.rs (and engine.rs's registration block)
fn registration(p: u32) {
    let block = global_int[gi_at(p, GI_BLOCK)];
    let step = global_int[gi_at(p, GI_STEP)];
    let arrived = scratch_int[mailbox_int_at(p, MAILBOX_ARRIVED)];
    let willingness = scratch_real[mailbox_real_at(p, MAILBOX_WILLINGNESS)];

    // registration_decision
    var slot = NO_SLOT;
    var cost = Real(0.0);
    var prunes = false;
    if (arrived != 0u
        && registration_allowed(block, global_int[gi_at(p, GI_LAST_REGISTRATION_BLOCK)], params_int[PI_NETWORK_RATE_LIMIT]))
    {
        cost = lock_cost(
            global_real[gr_at(p, GR_LAST_LOCK)],
            global_int[gi_at(p, GI_LAST_LOCK_BLOCK)],
            block,
            params_real[P_MIN_LOCK_COST],
            params_real[P_LOCK_REDUCTION_INTERVAL],
            block_emission(global_real[gr_at(p, GR_ISSUANCE)]),
        );
        if (!(cost > willingness)) {
            for (var i = 0u; i < info.subnets; i = i + 1u) {
                if (slot == NO_SLOT && subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
                    slot = i;
                }
            }
            if (slot == NO_SLOT) {
                slot = prune_candidate(p, block, params_int[PI_IMMUNITY_PERIOD]);
                prunes = slot != NO_SLOT;
            }
        }
    }
    if (slot == NO_SLOT) {
        return;
    }

    if (prunes) {
        // A subnet pruned while in zero emission counts as a death spiral (metrics::in_zero_emission).
        if (subnet_int[si_at(p, SI_ZERO_SHARE_STEPS, slot)] > 0u && subnet_int[si_at(p, SI_SPIRAL, slot)] == 0u) {
            subnet_int[si_at(p, SI_SPIRAL, slot)] = 1u;
            subnet_int[si_at(p, SI_SPIRAL_STEP, slot)] = step;
            push_event(p, EVENT_SPIRAL, slot, amm_price(params_int[PI_AMM], pool_of(p, slot)), subnet_real[sr_at(p, SR_TAO, slot)]);
        }
        push_event(p, EVENT_PRUNED, slot, subnet_real[sr_at(p, SR_TAO, slot)], subnet_real[sr_at(p, SR_MOVING_PRICE, slot)]);
    }

    // apply_registration
    let occupant = subnet_int[si_at(p, SI_OCCUPANT, slot)];
    if (prunes) {
        let pot = subnet_real[sr_at(p, SR_TAO, slot)];
        let held = array<Real, 5>(
            subnet_real[sr_at(p, SR_HELD_ORGANIC, slot)],
            subnet_real[sr_at(p, SR_HELD_MINERS, slot)],
            subnet_real[sr_at(p, SR_HELD_VALIDATORS, slot)],
            subnet_real[sr_at(p, SR_HELD_OWNER, slot)],
            subnet_real[sr_at(p, SR_HELD_ROOT, slot)],
        );
        let dissolved = dissolve(pot, held);
        let paid = pot - dissolved.unclaimed;
        global_real[gr_at(p, GR_TAO_PAID_OUT)] = global_real[gr_at(p, GR_TAO_PAID_OUT)] + paid;
        global_real[gr_at(p, GR_TAO_RECYCLED)] = global_real[gr_at(p, GR_TAO_RECYCLED)] + dissolved.unclaimed;
        global_int[gi_at(p, GI_PRUNINGS)] = global_int[gi_at(p, GI_PRUNINGS)] + 1u;
    }
    for (var f = 0u; f < SI_FIELDS; f = f + 1u) {
        subnet_int[si_at(p, f, slot)] = 0u;
    }
    for (var f = 0u; f < SR_FIELDS; f = f + 1u) {
        subnet_real[sr_at(p, f, slot)] = Real(0.0);
    }

    let min_lock = params_real[P_MIN_LOCK_COST];
    let start_pool = max(min(params_real[P_START_POOL_TAO], cost), min_lock);
    subnet_real[sr_at(p, SR_TAO, slot)] = start_pool;
    subnet_real[sr_at(p, SR_ALPHA, slot)] = start_pool;
    subnet_real[sr_at(p, SR_W_QUOTE, slot)] = Real(0.5);
    subnet_real[sr_at(p, SR_START_PRICE, slot)] = Real(1.0);
    subnet_real[sr_at(p, SR_PREV_PRICE, slot)] = Real(1.0);
    subnet_real[sr_at(p, SR_PEAK_PRICE, slot)] = Real(1.0);
    subnet_real[sr_at(p, SR_MIN_PRICE, slot)] = Real(1.0);
    subnet_real[sr_at(p, SR_START_TAO, slot)] = start_pool;
    subnet_real[sr_at(p, SR_START_ALPHA, slot)] = start_pool;
    subnet_real[sr_at(p, SR_ROOT_YIELD_LOG_START, slot)] = global_real[gr_at(p, GR_ROOT_YIELD_LOG)];
    subnet_int[si_at(p, SI_ACTIVE, slot)] = 1u;
    subnet_int[si_at(p, SI_REGISTERED_BLOCK, slot)] = block;
    subnet_int[si_at(p, SI_FIRST_EMISSION_BLOCK, slot)] = saturating_add_u32(block, params_int[PI_START_CALL_BLOCKS]);
    subnet_int[si_at(p, SI_OCCUPANT, slot)] = occupant + 1u;
    subnet_int[si_at(p, SI_START_STEP, slot)] = step;

    let recycled = cost - start_pool;
    global_real[gr_at(p, GR_ISSUANCE)] = global_real[gr_at(p, GR_ISSUANCE)] - recycled;
    global_real[gr_at(p, GR_TAO_RECYCLED)] = global_real[gr_at(p, GR_TAO_RECYCLED)] + recycled;
    global_real[gr_at(p, GR_TAO_PAID_IN)] = global_real[gr_at(p, GR_TAO_PAID_IN)] + cost;
    global_real[gr_at(p, GR_LAST_LOCK)] = cost;
    global_int[gi_at(p, GI_LAST_LOCK_BLOCK)] = block;
    global_int[gi_at(p, GI_LAST_REGISTRATION_BLOCK)] = block;
    global_int[gi_at(p, GI_REGISTRATIONS)] = global_int[gi_at(p, GI_REGISTRATIONS)] + 1u;

    // The engine's Yuma reset of the new subnet's block (the epoch stage's init_yuma_block).
    if (info.yuma_validators + info.yuma_miners > 0u) {
        init_yuma_block(p, slot, step);
    }
    push_event(p, EVENT_REGISTERED, slot, cost, start_pool);
}
