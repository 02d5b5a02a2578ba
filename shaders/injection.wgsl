// Stage `injection` (model.md §3 item 4, chain.md §3): mints the step's emission into path p's
// eligible pools (flags from emission_shares in scratch_int[eligible_at(p, i)]): tao_in and
// alpha_in with the era's cap, the excess bought fee-less and recycled, alpha_out minted and split
// into pending parts; the TAO issuance grows by what was minted.
// CPU twin: crates/taosim-core/src/cpu/injection.rs
// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters; lane l:
// slots l, l + PATH_LANES, ...); the share sum and the minted TAO are lanes_sum partial sums (each
// lane's minted TAO compensated, as the twin's), the path-wide fields written by lane 0.
fn injection(p: u32, lane: u32) {
    let kind = params_int[PI_AMM];
    let n = params_int[PI_BLOCKS_PER_STEP];
    let blocks = Real(n);
    let rule = params_int[PI_INJECTION_RULE];

    var lane_share_sum = Real(0.0);
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        lane_share_sum = lane_share_sum + subnet_real[sr_at(p, SR_SHARE, i)];
    }
    // The issuance as the step found it (lane 0 adds to it at the end).
    let issuance_before = global_real[gr_at(p, GR_ISSUANCE)];
    let share_sum = lanes_sum(lane, array<Real, LANE_SUMS>(lane_share_sum, Real(0.0), Real(0.0), Real(0.0)))[0];
    // TAO grows by Σshares·E per block (1·E, or nothing when every share is zero, chain.md §1).
    let network = emission_over_blocks(issuance_before, n, share_sum, 0.0);
    let emission_per_block = network.emitted / blocks;
    // Every lane sums the moving prices over all slots in slot order, as the twin does: the flag is
    // a threshold decision, so its sum must be the twin's to the last bit.
    let sell_root = root_sell_flag(p);
    let root_tao = global_real[gr_at(p, GR_ROOT_TAO)];

    var minted = CompensatedSum(Real(0.0), Real(0.0));
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        if (scratch_int[eligible_at(p, i)] == 0u) {
            continue;
        }
        var pool = pool_of(p, i);
        let price = amm_price(kind, pool);
        let alpha_out_at = sr_at(p, SR_ALPHA_OUT, i);
        let issuance = subnet_real[sr_at(p, SR_ALPHA, i)] + subnet_real[alpha_out_at];
        let root_prop = root_proportion(params_real[P_TAO_WEIGHT], root_tao, issuance);
        let terms = injection_terms(
            rule,
            subnet_real[sr_at(p, SR_SHARE, i)] * emission_per_block,
            price,
            block_emission(issuance),
            emission_per_block,
            root_prop,
        );
        let added = amm_inject(kind, &pool, terms.tao_in * blocks, terms.alpha_in * blocks);
        // The chain buy is fee-less and its alpha is recycled (it never reaches a holder).
        let chain_buy = amm_buy(kind, &pool, terms.excess_tao * blocks, 0.0, params_real[P_MIN_RESERVE]);
        // alpha_out = the alpha block emission, every block, whatever the TAO share.
        let alpha_out = emission_over_blocks(issuance, n, 1.0, terms.alpha_in).emitted;
        let split = alpha_out_split(alpha_out, params_real[P_OWNER_CUT], root_prop, sell_root);

        store_pool(p, i, pool);
        // Recycled root alpha and the chain buy's alpha leave the counters (and so the issuance).
        subnet_real[alpha_out_at] = subnet_real[alpha_out_at] + (alpha_out - split.recycled);
        let owner_at = sr_at(p, SR_PENDING_OWNER, i);
        let server_at = sr_at(p, SR_PENDING_SERVER, i);
        let validator_at = sr_at(p, SR_PENDING_VALIDATOR, i);
        let root_at = sr_at(p, SR_PENDING_ROOT, i);
        subnet_real[owner_at] = subnet_real[owner_at] + split.owner;
        subnet_real[server_at] = subnet_real[server_at] + split.server;
        subnet_real[validator_at] = subnet_real[validator_at] + split.validator;
        subnet_real[root_at] = subnet_real[root_at] + split.root;
        // Net-flow era: injected TAO and chain buys count as protocol inflow (chain.md §2.4).
        let tao_minted = added.tao_added + chain_buy.input_used;
        let protocol_at = sr_at(p, SR_PROTOCOL_FLOW, i);
        subnet_real[protocol_at] = subnet_real[protocol_at] + tao_minted;
        compensated_add(&minted, tao_minted);
    }
    if (PATH_LANES == 1u) {
        finish_injection(p, compensated_value(minted));
    } else {
        lane_minted[lane] = compensated_value(minted);
        workgroupBarrier();
        if (lane == 0u) {
            var total = CompensatedSum(Real(0.0), Real(0.0));
            for (var l = 0u; l < PATH_LANES; l = l + 1u) {
                compensated_add(&total, lane_minted[l]);
            }
            finish_injection(p, compensated_value(total));
        }
    }
}

// Each lane's minted TAO (compensated within the lane).
var<workgroup> lane_minted: array<Real, LANES>;

// The path's issuance and minted TAO grow by what the lanes minted (lane 0).
fn finish_injection(p: u32, minted_total: Real) {
    global_real[gr_at(p, GR_ISSUANCE)] = global_real[gr_at(p, GR_ISSUANCE)] + minted_total;
    global_real[gr_at(p, GR_TAO_MINTED)] = global_real[gr_at(p, GR_TAO_MINTED)] + minted_total;
}
