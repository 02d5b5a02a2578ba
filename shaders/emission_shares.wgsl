// Stage `emission_shares` (model.md §3 item 3): advances the flow EMAs of path p's eligible
// subnets over the step and sets every share by the regime; writes the eligibility flags into
// scratch_int[eligible_at(p, i)] for the later stages of the step.
// CPU twin: crates/taosim-core/src/cpu/emission_shares.rs

// cpu::eligible: an active subnet at or past its first-emission block (chain.md §2.1).
fn eligible_for_emission(is_active: u32, first_emission_block: u32, block: u32) -> u32 {
    return select(0u, 1u, is_active != 0u && block >= first_emission_block);
}

// Dispatch: one workgroup of PATH_LANES lanes per path (PATH_LANES = 1 on CPU adapters): lane l
// advances the flow EMAs of slots l, l + PATH_LANES, ...; then, after a barrier, lane 0 sets the
// shares for the whole path in the twin's slot order (its normalising sums stay the twin's, bit for
// bit; the regimes need several cross-slot reductions in turn, each a barrier with lanes).
fn emission_shares(p: u32, lane: u32) {
    let n = params_int[PI_BLOCKS_PER_STEP];
    let factors = EmaFactors(params_real[P_FLOW_EMA_KEEP], params_real[P_FLOW_EMA_GAIN]);
    let block = global_int[gi_at(p, GI_BLOCK)];
    for (var i = lane; i < info.subnets; i = i + PATH_LANES) {
        let eligible = eligible_for_emission(
            subnet_int[si_at(p, SI_ACTIVE, i)],
            subnet_int[si_at(p, SI_FIRST_EMISSION_BLOCK, i)],
            block,
        );
        scratch_int[eligible_at(p, i)] = eligible;
        if (eligible != 0u) {
            let ema_at = sr_at(p, SR_FLOW_EMA, i);
            let flow_at = sr_at(p, SR_FLOW, i);
            subnet_real[ema_at] = flow_ema_over_blocks(subnet_real[ema_at], subnet_real[flow_at], factors, n);
            subnet_real[flow_at] = Real(0.0);
            let protocol_ema_at = sr_at(p, SR_PROTOCOL_FLOW_EMA, i);
            let protocol_at = sr_at(p, SR_PROTOCOL_FLOW, i);
            subnet_real[protocol_ema_at] = flow_ema_over_blocks(
                subnet_real[protocol_ema_at],
                subnet_real[protocol_at],
                factors,
                n,
            );
            subnet_real[protocol_at] = Real(0.0);
        }
    }
    // Lane 0 reads every lane's EMAs and eligibility flags (storage memory).
    if (PATH_LANES > 1u) {
        storageBarrier();
    }
    if (lane == 0u) {
        shares_for_regime(p, params_int[PI_EMISSION_REGIME], params_real[P_FLOW_CUTOFF], params_real[P_FLOW_EXPONENT]);
    }
}
