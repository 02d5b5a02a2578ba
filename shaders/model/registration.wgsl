// Twin of crates/taosim-core/src/model/registration.rs (chain.md §6, model.md §6): the lock cost
// in TAO, the network rate limit, the prune candidate and the model's dissolution. Block numbers
// are the state's u32 (the CPU widens them to u64 and back; every value fits). Uses RAO_PER_TAO
// of model/emission.wgsl and CompensatedSum of model/injection.wgsl. Single-exit functions.

// No slot: the `None` of prune_candidate.
const NO_SLOT: u32 = 0xFFFFFFFFu;
// Holder classes of a subnet, in the order dissolution pays them (cpu::registration).
const HOLDER_CLASSES: u32 = 5u;

// a + b, saturating at u32::MAX (Rust's u32::saturating_add).
fn saturating_add_u32(a: u32, b: u32) -> u32 {
    return select(a + b, 0xFFFFFFFFu, a > 0xFFFFFFFFu - b);
}

// a − b, saturating at 0.
fn saturating_sub_u32(a: u32, b: u32) -> u32 {
    return select(0u, a - b, a > b);
}

// The network lock cost in TAO at `block` (model::registration::lock_cost): the last lock, doubled
// after the first registration, less a per-block decay floored in rao, at least min_lock.
// `reduction_interval` is the chain's integer interval as a Real (the CPU's R::of of it).
fn lock_cost(last_lock: Real, last_lock_block: u32, block: u32, min_lock: Real, reduction_interval: Real, block_emission: Real) -> Real {
    let mult = select(Real(2.0), Real(1.0), last_lock_block == 0u);
    let eff_interval = floor(reduction_interval * block_emission);
    let rao = Real(RAO_PER_TAO);
    var per_block_rao = Real(0.0);
    if (eff_interval > 0.0) {
        per_block_rao = floor(last_lock * rao / eff_interval);
    }
    let elapsed = Real(saturating_sub_u32(block, last_lock_block));
    let decayed = max(last_lock * mult - per_block_rao * elapsed / rao, Real(0.0));
    return max(decayed, min_lock);
}

// Whether a registration may happen at `block` under the network rate limit
// (model::registration::registration_allowed; last = 0 means never).
fn registration_allowed(block: u32, last_registration_block: u32, rate_limit: u32) -> bool {
    return last_registration_block == 0u || saturating_sub_u32(block, last_registration_block) >= rate_limit;
}

// The slot to prune among path p's slots (model::registration::prune_candidate over the path's
// active, moving_price and registered_block columns), or NO_SLOT: the lowest moving price among
// the active slots past immunity, ties to the earliest registration, then the lowest slot.
fn prune_candidate(p: u32, block: u32, immunity: u32) -> u32 {
    var candidate = NO_SLOT;
    var candidate_price = Real(0.0);
    var candidate_registered = 0xFFFFFFFFu;
    for (var k = 0u; k < info.subnets; k = k + 1u) {
        let registered = subnet_int[si_at(p, SI_REGISTERED_BLOCK, k)];
        if (subnet_int[si_at(p, SI_ACTIVE, k)] == 0u || block < saturating_add_u32(registered, immunity)) {
            continue;
        }
        let price = subnet_real[sr_at(p, SR_MOVING_PRICE, k)];
        // The first eligible slot is admitted at any price (the CPU starts from +inf and `None`).
        if (candidate == NO_SLOT
            || price < candidate_price
            || (price == candidate_price && registered < candidate_registered))
        {
            candidate = k;
            candidate_price = price;
            candidate_registered = registered;
        }
    }
    return candidate;
}

// What model::registration::dissolve computes: each holder class's payout and the part of the pot
// paid to no one.
struct Dissolution {
    payout: array<Real, 5>,
    unclaimed: Real,
}

// The pot paid pro rata to the holder classes' positive alpha (model::registration::dissolve): all
// but the last positive holder get pot·(alpha/Σ), summed with compensation; the last gets the rest
// (floored at 0). Unclaimed: the pot when nobody holds positive alpha, else 0.
fn dissolve(pot: Real, alpha: array<Real, 5>) -> Dissolution {
    var out = Dissolution(array<Real, 5>(Real(0.0), Real(0.0), Real(0.0), Real(0.0), Real(0.0)), pot);
    var total = Real(0.0);
    var last_holder = NO_SLOT;
    for (var k = 0u; k < HOLDER_CLASSES; k = k + 1u) {
        if (alpha[k] > 0.0) {
            total = total + alpha[k];
            last_holder = k;
        }
    }
    if (last_holder != NO_SLOT) {
        var paid = CompensatedSum(Real(0.0), Real(0.0));
        for (var k = 0u; k < HOLDER_CLASSES; k = k + 1u) {
            if (alpha[k] > 0.0 && k != last_holder) {
                out.payout[k] = pot * (alpha[k] / total);
                compensated_add(&paid, out.payout[k]);
            }
        }
        out.payout[last_holder] = max(pot - compensated_value(paid), Real(0.0));
        out.unclaimed = Real(0.0);
    }
    return out;
}
