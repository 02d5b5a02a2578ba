//! Registration vectors (chain-vectors.md V14–V16): dissolution, pruning, lock cost.
//!
//! V16 assumption: the chain test reads the current `NetworkLockReductionInterval` and block
//! emission; we take the mainnet values after the Dec-2025 halving, interval 57,600 blocks and
//! E = 0.5 TAO/block, so `eff_interval = floor(57,600 · 0.5) = 28,800` blocks, and min lock 1 TAO.

use taosim_core::model::registration::{
    dissolve, dissolve_rao, legacy_owner_refund, lock_cost, lock_cost_rao,
    lock_reduction_interval_rao, prune_candidate, registration_allowed,
};
use taosim_core::params::OWNER_CUT;

const TAO: u64 = 1_000_000_000;
const INTERVAL: u64 = 57_600;
const E_RAO: u64 = 500_000_000;
const E_TAO: f64 = 0.5;
const EFF: u64 = 28_800;
const MIN_LOCK_RAO: u64 = TAO;

/// subtensor pallets/subtensor/src/tests/networks.rs::dissolve_two_stakers_pro_rata_distribution
/// (REF-TF 6e3d24cea): pot 10,000 rao, alpha 300 / 700 → 3,000 / 7,000 rao (exact).
#[test]
fn v14_dissolve_two_stakers_pro_rata_distribution() {
    let mut out = [0_u64; 2];
    assert_eq!(dissolve_rao(10_000, &[300, 700], &mut out), 0);
    assert_eq!(out, [3_000, 7_000]);
    let mut out = [0.0_f64; 2];
    assert_eq!(dissolve(10_000.0, &[300.0, 700.0], &mut out), 0.0);
    assert!((out[0] - 3_000.0).abs() < 1e-9 && (out[1] - 7_000.0).abs() < 1e-9, "{out:?}");
}

/// subtensor pallets/subtensor/src/tests/networks.rs::dissolve_two_stakers_pro_rata_distribution
/// (REF-TF 6e3d24cea): legacy owner refund = lock 5,000 rao with no emission.
#[test]
fn v14_legacy_owner_refund_without_emission() {
    assert_eq!(legacy_owner_refund(5_000.0_f64, OWNER_CUT, 0.0, 1.0), 5_000.0);
    // Derived: emitted owner alpha worth more than the lock refunds nothing.
    assert_eq!(legacy_owner_refund(5_000.0_f64, 0.5, 20_000.0, 1.0), 0.0);
    assert_eq!(legacy_owner_refund(5_000.0_f64, 0.5, 4_000.0, 2.0), 1_000.0);
}

/// subtensor pallets/subtensor/src/tests/networks.rs::dissolve_rounding_remainder_distribution
/// (REF-TF 6e3d24cea): pot 1 rao, alpha 3 / 2 → 1 rao to the 3-alpha staker, 0 to the other.
#[test]
fn v14_dissolve_rounding_remainder_distribution() {
    let mut out = [0_u64; 2];
    assert_eq!(dissolve_rao(1, &[3, 2], &mut out), 0);
    assert_eq!(out, [1, 0]);
    // Order of the holders must not matter.
    assert_eq!(dissolve_rao(1, &[2, 3], &mut out), 0);
    assert_eq!(out, [0, 1]);
}

/// subtensor pallets/subtensor/src/tests/networks.rs::prune_selects_network_with_lowest_price:
/// moving price 1 vs 10, both past immunity → the price-1 subnet.
#[test]
fn v15_prune_selects_network_with_lowest_price() {
    let block = 1_000_000;
    assert_eq!(prune_candidate(&[1, 1], &[10.0_f64, 1.0], &[10, 20], block, 864_000), Some(1));
    assert_eq!(prune_candidate(&[1, 1], &[1.0_f32, 10.0], &[10, 20], block, 864_000), Some(0));
}

/// subtensor pallets/subtensor/src/tests/networks.rs::prune_ignores_immune_network_even_if_lower_price:
/// the cheaper subnet is still immune, so the other one is pruned; none eligible → None.
#[test]
fn v15_prune_ignores_immune_network_even_if_lower_price() {
    let immunity = 864_000;
    // Subnet 1 registered at block 500,000 is immune until 1,364,000.
    let block = 1_000_000;
    assert_eq!(prune_candidate(&[1, 1], &[10.0_f64, 1.0], &[0, 500_000], block, immunity), Some(0));
    // At the last immune block it is still skipped; one block on, it is eligible and cheaper.
    assert_eq!(
        prune_candidate(&[1, 1], &[10.0_f64, 1.0], &[0, 500_000], 1_363_999, immunity),
        Some(0)
    );
    assert_eq!(
        prune_candidate(&[1, 1], &[10.0_f64, 1.0], &[0, 500_000], 1_364_000, immunity),
        Some(1)
    );
    // Both immune: nothing to prune (the chain's SubnetLimitReached).
    assert_eq!(
        prune_candidate(&[1, 1], &[10.0_f64, 1.0], &[400_000, 500_000], block, immunity),
        None
    );
}

/// subtensor pallets/subtensor/src/tests/networks.rs::prune_tie_on_price_earlier_registration_wins:
/// moving price 7 vs 7 → the earlier registered subnet.
#[test]
fn v15_prune_tie_on_price_earlier_registration_wins() {
    let block = 2_000_000;
    assert_eq!(prune_candidate(&[1, 1], &[7.0_f64, 7.0], &[300, 100], block, 864_000), Some(1));
    assert_eq!(prune_candidate(&[1, 1], &[7.0_f64, 7.0], &[100, 300], block, 864_000), Some(0));
    // Same price and block: the lowest slot (documented assumption).
    assert_eq!(
        prune_candidate(&[1, 1, 1], &[7.0_f64, 7.0, 7.0], &[100, 50, 50], block, 0),
        Some(1)
    );
}

/// subtensor pallets/subtensor/src/tests/migration.rs::test_migrate_network_lock_cost_2500 (HEAD
/// 14bc6f9f9): after the migration last_lock = 1,250 TAO and the cost is 2,500 TAO exactly; one
/// block later max(min_lock, 2,500e9 − floor(1,250e9 / eff_interval)) rao (eff_interval 28,800, see
/// the module doc).
#[test]
fn v16_migrate_network_lock_cost_2500() {
    assert_eq!(lock_reduction_interval_rao(INTERVAL, E_RAO), EFF);
    let last_lock = 1_250 * TAO;
    let migrated_at = 6_500_000;
    assert_eq!(
        lock_cost_rao(last_lock, migrated_at, migrated_at, MIN_LOCK_RAO, INTERVAL, E_RAO),
        2_500 * TAO
    );
    let next = (2_500 * TAO - last_lock / EFF).max(MIN_LOCK_RAO);
    assert_eq!(next, 2_499_956_597_223);
    assert_eq!(
        lock_cost_rao(last_lock, migrated_at, migrated_at + 1, MIN_LOCK_RAO, INTERVAL, E_RAO),
        next
    );
    // The float model on the same grid (f64 holds these rao counts exactly).
    let at = |block| lock_cost(1_250.0_f64, migrated_at, block, 1.0, INTERVAL, E_TAO);
    assert_eq!((at(migrated_at) * 1e9).round(), 2_500e9);
    assert_eq!((at(migrated_at + 1) * 1e9).round(), next as f64);
}

/// Derived from chain.md §6.1: after the migration the cost decays by floor(last_lock/eff) rao per
/// block, linearly, and is at the minimum from block eff_interval·2 on (2·last_lock needs twice the
/// per-block decay of last_lock's interval; it passes last_lock itself after eff_interval blocks).
/// Near 2·eff_interval the floor residue (< 2·eff_interval rao) sits below the 1 TAO minimum.
#[test]
fn v16_derived_cost_decays_linearly_to_the_minimum() {
    let last_lock = 1_250 * TAO;
    let b0 = 6_500_000;
    let per_block = last_lock / EFF;
    for elapsed in [0_u64, 1, 2, 100, 7_200, EFF - 1, EFF, EFF + 1, 2 * EFF - 1] {
        let expected = (2_500 * TAO - per_block * elapsed).max(MIN_LOCK_RAO);
        assert_eq!(
            lock_cost_rao(last_lock, b0, b0 + elapsed, MIN_LOCK_RAO, INTERVAL, E_RAO),
            expected
        );
        let float = lock_cost(1_250.0_f64, b0, b0 + elapsed, 1.0, INTERVAL, E_TAO);
        assert_eq!((float * 1e9).round(), expected as f64, "elapsed {elapsed}");
    }
    // After eff_interval blocks the cost is back near last_lock (floor: a little above).
    let at_eff = lock_cost_rao(last_lock, b0, b0 + EFF, MIN_LOCK_RAO, INTERVAL, E_RAO);
    assert!(at_eff >= last_lock && at_eff - last_lock < EFF);
    // Linear: equal steps.
    let c = |e| lock_cost_rao(last_lock, b0, b0 + e, MIN_LOCK_RAO, INTERVAL, E_RAO);
    assert_eq!(c(10) - c(20), c(1_000) - c(1_010));
    // At 2·eff_interval blocks the remaining cost is only the floor residue (< 2·eff_interval
    // rao), which the 1 TAO minimum dominates.
    assert_eq!(c(2 * EFF), MIN_LOCK_RAO);
    assert_eq!(c(10 * EFF), MIN_LOCK_RAO);
    assert_eq!(lock_cost(1_250.0_f64, b0, b0 + 10 * EFF, 1.0, INTERVAL, E_TAO), 1.0);
}

/// Derived from chain.md §6.1: a registration pays the current cost, which becomes last_lock at
/// the registration block, so the next cost right then is double what was paid.
#[test]
fn v16_derived_cost_doubles_at_registration() {
    let b0 = 6_500_000;
    let paid = lock_cost_rao(1_250 * TAO, b0, b0 + 5_000, MIN_LOCK_RAO, INTERVAL, E_RAO);
    let b1 = b0 + 28_800;
    assert!(registration_allowed(b1, b0, 28_800));
    assert!(!registration_allowed(b1 - 1, b0, 28_800));
    assert_eq!(lock_cost_rao(paid, b1, b1, MIN_LOCK_RAO, INTERVAL, E_RAO), 2 * paid);
    let paid_tao = paid as f64 / 1e9;
    assert_eq!(lock_cost(paid_tao, b1, b1, 1.0, INTERVAL, E_TAO), 2.0 * paid_tao);
}
