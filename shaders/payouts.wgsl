// Stage `payouts` (model.md §3 items 6-7): the epoch pays the pending alpha out, then miners,
// validators and owners sell their configured fractions. settle_subnet is shared with the Yuma
// path (shaders/epoch.wgsl); `payouts(p, lane)` is the Yuma-off form with the trivial incentive
// { total: 1, owner: miner_burn }. CPU twin: crates/taosim-core/src/cpu/payouts.rs
// Dispatch: one workgroup of EPOCH_LANES lanes per path; lane l settles slots l, l + EPOCH_LANES,
// ...; the totals are summed per lane, then over the lanes by lane 0 (finish_lane_payouts), so
// their summation order differs from the twin's (the path-wide sums agree to ~1e-16 relative).

const ROOT_CLAIM_SWAP: u32 = 0u;
const ROOT_CLAIM_KEEP: u32 = 1u;

// PayoutTotals: one path's payout totals of a step.
struct PayoutTotals {
    paid_out: Real,
    root_restaked: Real,
    root_claimed: Real,
    burned: Real,
    organic_dividends: Real,
}

// EpochSplit: how one subnet's epoch divides its pending server and validator alpha.
struct EpochSplit {
    miners: Real,
    burned: Real,
    validators: Real,
}

// EpochSplit::of with the incentive (total, owner).
fn epoch_split_of(pending_server: Real, pending_validator: Real, incentive_total: Real, incentive_owner: Real) -> EpochSplit {
    var split = EpochSplit(Real(0.0), Real(0.0), pending_validator + pending_server);
    if (incentive_total != 0.0) {
        let burned = pending_server * min(incentive_owner / incentive_total, Real(1.0));
        split = EpochSplit(pending_server - burned, burned, pending_validator);
    }
    return split;
}

// One post-payout sale of `amount` (at most what field `held` of slot i holds) into `pool`.
fn payout_sale(p: u32, i: u32, pool: ptr<function, Pool>, amount: Real, held: u32, totals: ptr<function, PayoutTotals>) {
    let held_at = sr_at(p, held, i);
    let sale = amm_sell(params_int[PI_AMM], pool, min(amount, subnet_real[held_at]), params_real[P_FEE_RATE], params_real[P_MIN_RESERVE]);
    subnet_real[held_at] = subnet_real[held_at] - sale.input_used;
    let alpha_out = sr_at(p, SR_ALPHA_OUT, i);
    subnet_real[alpha_out] = subnet_real[alpha_out] - sale.input_used;
    let flow = sr_at(p, SR_FLOW, i);
    subnet_real[flow] = subnet_real[flow] - sale.output;
    (*totals).paid_out = (*totals).paid_out + (sale.output + sale.author_tao);
}

// settle_subnet: pays slot i's pending alpha by the incentive (total, owner), zeroes the pending
// amounts and adds the TAO and alpha moved to `totals`.
fn settle_subnet(p: u32, i: u32, incentive_total: Real, incentive_owner: Real, totals: ptr<function, PayoutTotals>) -> EpochSplit {
    let kind = params_int[PI_AMM];
    let split = epoch_split_of(
        subnet_real[sr_at(p, SR_PENDING_SERVER, i)],
        subnet_real[sr_at(p, SR_PENDING_VALIDATOR, i)],
        incentive_total,
        incentive_owner,
    );
    let owner = subnet_real[sr_at(p, SR_PENDING_OWNER, i)];
    let root = subnet_real[sr_at(p, SR_PENDING_ROOT, i)];
    subnet_real[sr_at(p, SR_PENDING_SERVER, i)] = Real(0.0);
    subnet_real[sr_at(p, SR_PENDING_VALIDATOR, i)] = Real(0.0);
    subnet_real[sr_at(p, SR_PENDING_OWNER, i)] = Real(0.0);
    subnet_real[sr_at(p, SR_PENDING_ROOT, i)] = Real(0.0);
    (*totals).burned = (*totals).burned + split.burned;

    // Delegation: nominators' share of the dividends by stake, less the take.
    let organic_held = subnet_real[sr_at(p, SR_HELD_ORGANIC, i)];
    let nominated = safe_div(organic_held, organic_held + subnet_real[sr_at(p, SR_HELD_VALIDATORS, i)]);
    let organic = split.validators * nominated * (1.0 - params_real[P_PAYOUT_DELEGATE_TAKE]);
    let validators = split.validators - organic;
    let dividend_rate = safe_div(organic, organic_held);
    subnet_real[sr_at(p, SR_DIVIDEND_RATE, i)] = dividend_rate;
    subnet_real[sr_at(p, SR_YIELD_LOG, i)] = subnet_real[sr_at(p, SR_YIELD_LOG, i)] + r_ln_1p(dividend_rate);
    (*totals).organic_dividends = (*totals).organic_dividends + organic;
    subnet_real[sr_at(p, SR_HELD_ORGANIC, i)] = subnet_real[sr_at(p, SR_HELD_ORGANIC, i)] + organic;
    subnet_real[sr_at(p, SR_HELD_MINERS, i)] = subnet_real[sr_at(p, SR_HELD_MINERS, i)] + split.miners;
    subnet_real[sr_at(p, SR_HELD_VALIDATORS, i)] = subnet_real[sr_at(p, SR_HELD_VALIDATORS, i)] + validators;
    subnet_real[sr_at(p, SR_HELD_OWNER, i)] = subnet_real[sr_at(p, SR_HELD_OWNER, i)] + owner;

    var pool = pool_of(p, i);
    if (params_int[PI_PAYOUT_ROOT_CLAIM] == ROOT_CLAIM_KEEP) {
        subnet_real[sr_at(p, SR_HELD_ROOT, i)] = subnet_real[sr_at(p, SR_HELD_ROOT, i)] + root;
        (*totals).root_claimed = (*totals).root_claimed + root * amm_price(kind, pool);
    } else {
        let claim = amm_sell(kind, &pool, root, Real(0.0), params_real[P_MIN_RESERVE]);
        // Alpha the pool could not take (minimum reserve) stays with root claimers.
        subnet_real[sr_at(p, SR_HELD_ROOT, i)] = subnet_real[sr_at(p, SR_HELD_ROOT, i)] + (root - claim.input_used);
        subnet_real[sr_at(p, SR_ALPHA_OUT, i)] = subnet_real[sr_at(p, SR_ALPHA_OUT, i)] - claim.input_used;
        subnet_real[sr_at(p, SR_PROTOCOL_FLOW, i)] = subnet_real[sr_at(p, SR_PROTOCOL_FLOW, i)] - claim.output;
        (*totals).root_restaked = (*totals).root_restaked + claim.output;
        (*totals).root_claimed = (*totals).root_claimed + claim.output;
    }

    // The three amounts are fixed before the sales, as the CPU builds its array first.
    let miner_sale = split.miners * params_real[P_PAYOUT_MINER_SELL];
    let validator_sale = validators * params_real[P_PAYOUT_VALIDATOR_SELL];
    let owner_sale = owner * params_real[P_PAYOUT_OWNER_SELL];
    payout_sale(p, i, &pool, miner_sale, SR_HELD_MINERS, totals);
    payout_sale(p, i, &pool, validator_sale, SR_HELD_VALIDATORS, totals);
    payout_sale(p, i, &pool, owner_sale, SR_HELD_OWNER, totals);
    store_pool(p, i, pool);
    return split;
}

// finish_payouts: root re-stake, TAO paid out, root yield.
fn finish_payouts(p: u32, totals: PayoutTotals) {
    let root_tao = gr_at(p, GR_ROOT_TAO);
    let yield_log = gr_at(p, GR_ROOT_YIELD_LOG);
    global_real[yield_log] = global_real[yield_log] + r_ln_1p(safe_div(totals.root_claimed, global_real[root_tao]));
    global_real[gr_at(p, GR_ROOT_CLAIMED_LAST)] = totals.root_claimed;
    global_real[root_tao] = global_real[root_tao] + totals.root_restaked;
    let paid_out = gr_at(p, GR_TAO_PAID_OUT);
    global_real[paid_out] = global_real[paid_out] + (totals.paid_out + totals.root_restaked);
}

// Each lane's payout totals, for lane 0 to combine.
var<workgroup> lane_payout_totals: array<PayoutTotals, EPOCH_LANES>;

// The path's totals from every lane's `totals`: after a barrier, lane 0 sums them in lane order
// and runs finish_payouts. Call from uniform control flow, every lane.
fn finish_lane_payouts(p: u32, lane: u32, totals: PayoutTotals) {
    lane_payout_totals[lane] = totals;
    workgroupBarrier();
    if (lane == 0u) {
        var sum = PayoutTotals(Real(0.0), Real(0.0), Real(0.0), Real(0.0), Real(0.0));
        for (var l = 0u; l < EPOCH_LANES; l = l + 1u) {
            let t = lane_payout_totals[l];
            sum.paid_out = sum.paid_out + t.paid_out;
            sum.root_restaked = sum.root_restaked + t.root_restaked;
            sum.root_claimed = sum.root_claimed + t.root_claimed;
            sum.burned = sum.burned + t.burned;
            sum.organic_dividends = sum.organic_dividends + t.organic_dividends;
        }
        finish_payouts(p, sum);
    }
}

// Stage entry: the Yuma-off payout of lane `lane`'s live subnets of path p, then the path's totals.
fn payouts(p: u32, lane: u32) {
    var totals = PayoutTotals(Real(0.0), Real(0.0), Real(0.0), Real(0.0), Real(0.0));
    for (var i = lane; i < info.subnets; i = i + EPOCH_LANES) {
        if (subnet_int[si_at(p, SI_ACTIVE, i)] == 0u) {
            continue;
        }
        _ = settle_subnet(p, i, Real(1.0), subnet_real[sr_at(p, SR_MINER_BURN, i)], &totals);
    }
    finish_lane_payouts(p, lane, totals);
}
