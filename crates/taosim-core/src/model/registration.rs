//! Subnet registration: lock cost, the network rate limit, pruning and dissolution
//! (chain.md §6, model.md §6).
//!
//! Follows subtensor `coinbase/root.rs` (`get_network_lock_cost`, `get_lock_reduction_interval`,
//! `get_network_to_prune`), `utils/rate_limiting.rs` (`check_passes_rate_limit`) and
//! `staking/remove_stake.rs` (`destroy_alpha_in_out_stakes`).
//!
//! Lock cost and dissolution come in two forms: the chain's exact integer version in rao
//! (`*_rao`), used to pin the chain's vectors, and the model's float version in TAO, generic over
//! [`Real`], which the step stages (and their WGSL twins) call. A property test ties the two.
//!
//! Block numbers use the chain's sentinel: a last-registration block of 0 means "never".

use crate::Real;
use crate::params::RAO_PER_TAO;
use crate::real::CompensatedSum;

/// The lock-decay interval `floor(reduction_interval * E / 1 TAO)` in blocks, with `E` the block
/// emission in rao (`get_lock_reduction_interval`; it halves with each TAO halving).
///
/// The chain multiplies in I64F64, whose 64 fractional bits make `E / 1e9` exact for every
/// halving step (`1e9 / 2^k` rao), so the integer form here is the same number.
#[inline]
pub fn lock_reduction_interval_rao(reduction_interval: u64, block_emission_rao: u64) -> u64 {
    let product = u128::from(reduction_interval) * u128::from(block_emission_rao);
    (product / 1_000_000_000).min(u128::from(u64::MAX)) as u64
}

/// The chain's network lock cost in rao (`get_network_lock_cost`), exactly:
/// `max(min_lock, last_lock·mult ⊖ floor(last_lock / eff_interval)·(block ⊖ last_lock_block))`
/// with `mult = 1` if `last_lock_block == 0` else 2, saturating subtraction `⊖`, and a per-block
/// decay of 0 when `eff_interval` is 0 (the chain's `safe_div`).
pub fn lock_cost_rao(
    last_lock: u64,
    last_lock_block: u64,
    block: u64,
    min_lock: u64,
    reduction_interval: u64,
    block_emission_rao: u64,
) -> u64 {
    let mult: u64 = if last_lock_block == 0 { 1 } else { 2 };
    let eff_interval = lock_reduction_interval_rao(reduction_interval, block_emission_rao);
    let per_block = last_lock.checked_div(eff_interval).unwrap_or(0);
    let decay = per_block.saturating_mul(block.saturating_sub(last_lock_block));
    last_lock.saturating_mul(mult).saturating_sub(decay).max(min_lock)
}

/// The network lock cost in TAO at `block` (chain.md §6.1), the float twin of [`lock_cost_rao`].
///
/// `last_lock`, `min_lock` and `block_emission` are in TAO. The per-block decay is floored
/// in **rao**, as the chain does (`floor(last_lock_rao / eff_interval)`), so the cost lands on the
/// chain's rao grid where the float can hold it (f64: exactly up to 2^53 rao, about 9M TAO; f32
/// rounds the rao count to 24 bits, a relative error of 6e-8). `eff_interval =
/// floor(reduction_interval · E)`; when it is 0 (no emission) the cost no longer decays. The
/// result never falls below `min_lock` and never exceeds `max(min_lock, 2·last_lock)`.
pub fn lock_cost<R: Real>(
    last_lock: R,
    last_lock_block: u64,
    block: u64,
    min_lock: R,
    reduction_interval: u64,
    block_emission: R,
) -> R {
    let mult = if last_lock_block == 0 { R::one() } else { R::of(2.0) };
    let eff_interval = (R::of(reduction_interval as f64) * block_emission).floor();
    let rao = R::of(RAO_PER_TAO);
    let per_block_rao =
        if eff_interval > R::zero() { (last_lock * rao / eff_interval).floor() } else { R::zero() };
    let elapsed = R::of(block.saturating_sub(last_lock_block) as f64);
    let decayed = (last_lock * mult - per_block_rao * elapsed / rao).max(R::zero());
    decayed.max(min_lock)
}

/// Whether a subnet registration may happen at `block` under the network-wide rate limit
/// (`check_passes_rate_limit`): the first ever (`last_registration_block == 0`, the chain's
/// sentinel) always may, later ones once `block - last >= rate_limit`.
#[inline]
pub fn registration_allowed(block: u64, last_registration_block: u64, rate_limit: u64) -> bool {
    last_registration_block == 0 || block.saturating_sub(last_registration_block) >= rate_limit
}

/// The subnet slot to prune (`get_network_to_prune`), or `None` if no slot is eligible.
///
/// Eligible: `active[k] != 0` and past immunity (`block >= registered_at[k] + immunity`). Among
/// them the lowest `moving_price` wins; ties go to the earliest `registered_at`, then to the lowest
/// index (the chain keeps the first it meets in storage order, which the model's slot order
/// stands for). The slots are the non-root subnets: the caller leaves root out. Prices must be
/// finite (a NaN never compares lower and so is pruned only if met first).
pub fn prune_candidate<R: Real>(
    active: &[u32],
    moving_price: &[R],
    registered_at: &[u32],
    block: u32,
    immunity: u32,
) -> Option<usize> {
    let mut candidate: Option<usize> = None;
    let mut candidate_price = R::infinity();
    let mut candidate_registered = u32::MAX;
    for k in 0..active.len() {
        if active[k] == 0 || block < registered_at[k].saturating_add(immunity) {
            continue;
        }
        let price = moving_price[k];
        // `candidate.is_none()` admits the first eligible slot even at an infinite price (the
        // chain's start value u128::MAX is above any price it can store).
        if candidate.is_none()
            || price < candidate_price
            || (price == candidate_price && registered_at[k] < candidate_registered)
        {
            candidate = Some(k);
            candidate_price = price;
            candidate_registered = registered_at[k];
        }
    }
    candidate
}

/// Dissolution in rao, exactly as the chain pays it (`destroy_alpha_in_out_stakes`): holder `k`
/// gets `floor(pot·alpha[k] / Σalpha)` (in u128), then the leftover rao go +1 each to the largest
/// remainders `pot·alpha[k] mod Σalpha`. Returns the rao not paid out: the whole pot when
/// `Σalpha == 0` (the chain removes the pot and credits no one), else 0.
///
/// Tie order: the chain sorts by remainder descending with a stable sort, so equal remainders keep
/// storage-iteration order; here they go to the lowest index. No scratch: each bonus round picks
/// the next holder in (remainder desc, index asc) order after the previous pick, O(leftover · n)
/// with leftover < n, the form a shader can run.
pub fn dissolve_rao(pot: u64, alpha: &[u64], out: &mut [u64]) -> u64 {
    assert_eq!(alpha.len(), out.len(), "dissolve_rao: alpha and out differ in length");
    let total: u128 = alpha.iter().map(|&a| u128::from(a)).sum();
    if total == 0 || pot == 0 {
        out.fill(0);
        return if total == 0 { pot } else { 0 };
    }
    let pot_wide = u128::from(pot);
    let mut distributed: u128 = 0;
    for (payout, &a) in out.iter_mut().zip(alpha) {
        // share <= pot, so it fits in u64.
        let share = pot_wide * u128::from(a) / total;
        *payout = share as u64;
        distributed += share;
    }
    // Σ remainders = leftover · total with each remainder < total, so at least `leftover` holders
    // have a positive remainder and every bonus goes to one of them.
    let leftover = pot_wide - distributed;
    let mut previous: Option<(u128, usize)> = None;
    for _ in 0..leftover {
        let mut best: Option<(u128, usize)> = None;
        for (k, &a) in alpha.iter().enumerate() {
            let remainder = pot_wide * u128::from(a) % total;
            let after_previous = match previous {
                None => true,
                Some((prev_rem, prev_k)) => {
                    remainder < prev_rem || (remainder == prev_rem && k > prev_k)
                }
            };
            let better = match best {
                None => true,
                Some((best_rem, _)) => remainder > best_rem,
            };
            if after_previous && better {
                best = Some((remainder, k));
            }
        }
        if let Some((remainder, k)) = best {
            out[k] += 1;
            previous = Some((remainder, k));
        }
    }
    0
}

/// Dissolution in the model (model.md §6): the pot (pool TAO) paid pro rata to the alpha of each
/// holder class (organic stakers, miners, validators, owner, root claimers, in the caller's
/// order). Returns the amount not paid out: the pot when no holder has positive alpha, else 0.
///
/// Every holder but the last with positive alpha gets `pot·alpha[k]/Σalpha`; the last gets the
/// pot minus the others (floored at 0), so the payout sums to the pot up to the rounding of that
/// one subtraction rather than drifting by one rounding per holder; the others are summed with
/// compensation so f32 keeps that property too. Negative alpha is treated as 0.
pub fn dissolve<R: Real>(pot: R, alpha: &[R], out: &mut [R]) -> R {
    assert_eq!(alpha.len(), out.len(), "dissolve: alpha and out differ in length");
    let mut total = R::zero();
    let mut last_holder = usize::MAX;
    for (k, &a) in alpha.iter().enumerate() {
        if a > R::zero() {
            total += a;
            last_holder = k;
        }
    }
    out.fill(R::zero());
    if last_holder == usize::MAX {
        return pot;
    }
    let mut paid = CompensatedSum::<R>::default();
    for (k, (payout, &a)) in out.iter_mut().zip(alpha).enumerate() {
        if a > R::zero() && k != last_holder {
            *payout = pot * (a / total);
            paid.add(*payout);
        }
    }
    out[last_holder] = (pot - paid.value()).max(R::zero());
    R::zero()
}

/// The owner's lock refund on dissolving a legacy subnet (registered before
/// `NetworkRegistrationStartBlock`): `max(0, lock − owner_cut_fraction·alpha_issuance·price)`,
/// i.e. the lock less the value of the owner cut already emitted. Units of `lock` and the result
/// are those of `alpha_issuance·price` (TAO, or rao if both are in rao).
#[inline]
pub fn legacy_owner_refund<R: Real>(
    lock: R,
    owner_cut_fraction: R,
    alpha_issuance: R,
    price: R,
) -> R {
    (lock - owner_cut_fraction * alpha_issuance * price).max(R::zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_interval_halves_with_emission() {
        assert_eq!(lock_reduction_interval_rao(57_600, 1_000_000_000), 57_600);
        assert_eq!(lock_reduction_interval_rao(57_600, 500_000_000), 28_800);
        assert_eq!(lock_reduction_interval_rao(57_600, 250_000_000), 14_400);
        assert_eq!(lock_reduction_interval_rao(57_600, 0), 0);
    }

    #[test]
    fn lock_cost_without_emission_does_not_decay() {
        // eff_interval = 0: the chain's safe_div gives zero decay.
        assert_eq!(lock_cost_rao(1_000, 10, 1_000_000, 1, 57_600, 0), 2_000);
        assert_eq!(lock_cost(1_000.0_f64, 10, 1_000_000, 1.0, 57_600, 0.0), 2_000.0);
    }

    #[test]
    fn first_registration_is_not_doubled() {
        assert_eq!(lock_cost_rao(5_000, 0, 0, 1_000, 100, 1_000_000_000), 5_000);
        assert_eq!(lock_cost(5_000.0_f64, 0, 0, 1_000.0, 100, 1.0), 5_000.0);
    }

    #[test]
    fn dissolve_rao_without_alpha_pays_nobody() {
        let mut out = [7_u64; 3];
        assert_eq!(dissolve_rao(1_000, &[0, 0, 0], &mut out), 1_000);
        assert_eq!(out, [0, 0, 0]);
        let mut out = [7.0_f64; 2];
        assert_eq!(dissolve(5.0, &[0.0, 0.0], &mut out), 5.0);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn dissolve_rao_ties_go_to_the_lowest_index() {
        // pot 2 over three equal holders: floors 0, remainders 2, 2, 2: bonuses to 0 and 1.
        let mut out = [0_u64; 3];
        assert_eq!(dissolve_rao(2, &[5, 5, 5], &mut out), 0);
        assert_eq!(out, [1, 1, 0]);
        // Equal remainders behind a larger one: 10·[1,3,3,3]/10 = [1,3,3,3] exact; use pot 7:
        // 7·[1,3,3,3] = [7,21,21,21], /10 = [0,2,2,2], remainders [7,1,1,1], leftover 1 → holder 0.
        let mut out = [0_u64; 4];
        dissolve_rao(7, &[1, 3, 3, 3], &mut out);
        assert_eq!(out, [1, 2, 2, 2]);
        // pot 9: 9·[1,3,3,3] = [9,27,27,27] → [0,2,2,2], rem [9,7,7,7], leftover 3 → 0, 1, 2.
        dissolve_rao(9, &[1, 3, 3, 3], &mut out);
        assert_eq!(out, [1, 3, 3, 2]);
    }

    #[test]
    fn pruning_skips_inactive_slots() {
        let slot = prune_candidate(&[0, 1], &[0.1_f64, 5.0], &[0, 0], 10, 0);
        assert_eq!(slot, Some(1));
        assert_eq!(prune_candidate::<f64>(&[0, 0], &[1.0, 1.0], &[0, 0], 10, 0), None);
    }

    #[test]
    fn rate_limit_counts_blocks_since_last_registration() {
        assert!(registration_allowed(5, 0, 28_800));
        assert!(!registration_allowed(28_899, 100, 28_800));
        assert!(registration_allowed(28_900, 100, 28_800));
        assert!(!registration_allowed(50, 100, 28_800));
    }
}
