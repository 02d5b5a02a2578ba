//! Properties of dissolution and lock cost (chain.md §6.1, §6.3).

use proptest::prelude::*;
use taosim_core::model::registration::{dissolve, dissolve_rao, lock_cost, lock_cost_rao};

/// Holder alpha in rao: up to 5 classes, some possibly zero.
fn alpha_rao() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(
        prop_oneof![Just(0_u64), 1_u64..1_000, 1_u64..21_000_000_000_000_000],
        1..8,
    )
}

/// Holder alpha in alpha units (f64), some possibly zero.
fn alpha_f64() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![Just(0.0_f64), 1e-9_f64..1.0, 1.0_f64..2.1e7], 1..8)
}

proptest! {
    /// Integer dissolution pays exactly the pot (when anyone holds alpha).
    #[test]
    fn dissolve_rao_pays_exactly_the_pot(pot in 0_u64..=u64::MAX / 2, alpha in alpha_rao()) {
        let mut out = vec![0_u64; alpha.len()];
        let unpaid = dissolve_rao(pot, &alpha, &mut out);
        let paid: u128 = out.iter().map(|&x| u128::from(x)).sum();
        if alpha.iter().all(|&a| a == 0) {
            prop_assert_eq!(unpaid, pot);
            prop_assert_eq!(paid, 0);
        } else {
            prop_assert_eq!(unpaid, 0);
            prop_assert_eq!(paid, u128::from(pot));
        }
    }

    /// No holder gets more than its pro-rata share plus one rao, nor less than its floor.
    #[test]
    fn dissolve_rao_is_within_one_rao_of_pro_rata(pot in 0_u64..=u64::MAX / 2, alpha in alpha_rao()) {
        let mut out = vec![0_u64; alpha.len()];
        dissolve_rao(pot, &alpha, &mut out);
        let total: u128 = alpha.iter().map(|&a| u128::from(a)).sum();
        prop_assume!(total > 0);
        for (k, &a) in alpha.iter().enumerate() {
            let exact_floor = u128::from(pot) * u128::from(a) / total;
            let exact_has_fraction = u128::from(pot) * u128::from(a) % total != 0;
            let got = u128::from(out[k]);
            prop_assert!(got >= exact_floor);
            // floor + 1 only where the exact share has a fractional part.
            prop_assert!(got <= exact_floor + u128::from(exact_has_fraction));
        }
    }

    /// A holder with more alpha never gets less than one with less alpha.
    #[test]
    fn dissolve_rao_is_monotone_across_holders(pot in 0_u64..=u64::MAX / 2, alpha in alpha_rao()) {
        let mut out = vec![0_u64; alpha.len()];
        dissolve_rao(pot, &alpha, &mut out);
        for i in 0..alpha.len() {
            for j in 0..alpha.len() {
                if alpha[i] > alpha[j] {
                    prop_assert!(out[i] >= out[j], "alpha {:?} out {:?}", alpha, out);
                }
            }
        }
    }

    /// Raising one holder's alpha never lowers its payout by more than the 1 rao bonus.
    #[test]
    fn dissolve_rao_is_monotone_in_own_alpha(
        pot in 0_u64..=1_000_000_000_000_000,
        alpha in alpha_rao(),
        pick in any::<prop::sample::Index>(),
        extra in 1_u64..1_000_000_000_000,
    ) {
        let k = pick.index(alpha.len());
        let mut before = vec![0_u64; alpha.len()];
        dissolve_rao(pot, &alpha, &mut before);
        let mut more = alpha.clone();
        more[k] += extra;
        let mut after = vec![0_u64; alpha.len()];
        dissolve_rao(pot, &more, &mut after);
        prop_assert!(after[k] + 1 >= before[k], "before {} after {}", before[k], after[k]);
    }

    /// Float dissolution pays the pot to 1e-12 relative in f64 and nobody more than pro rata
    /// + 1 rao (plus a few ulps of the pot: at 1e7 TAO one f64 ulp is already 2 rao); payouts are
    /// non-negative.
    #[test]
    fn dissolve_f64_pays_the_pot(pot in 0.0_f64..1e7, alpha in alpha_f64()) {
        let mut out = vec![0.0_f64; alpha.len()];
        let unpaid = dissolve(pot, &alpha, &mut out);
        let total: f64 = alpha.iter().sum();
        let paid: f64 = out.iter().sum();
        if total == 0.0 {
            prop_assert_eq!(unpaid, pot);
            prop_assert_eq!(paid, 0.0);
        } else {
            prop_assert_eq!(unpaid, 0.0);
            prop_assert!((paid - pot).abs() <= 1e-12 * pot, "paid {} pot {}", paid, pot);
            for (k, &a) in alpha.iter().enumerate() {
                prop_assert!(out[k] >= 0.0);
                prop_assert!(out[k] <= pot * a / total + 1e-9 + 1e-15 * pot, "holder {} got {}", k, out[k]);
            }
        }
    }

    /// Float payouts are ordered like the alpha (up to the 1e-12·pot rounding of the last share).
    #[test]
    fn dissolve_f64_is_monotone_across_holders(pot in 0.0_f64..1e7, alpha in alpha_f64()) {
        let mut out = vec![0.0_f64; alpha.len()];
        dissolve(pot, &alpha, &mut out);
        for i in 0..alpha.len() {
            for j in 0..alpha.len() {
                if alpha[i] > alpha[j] {
                    prop_assert!(out[i] >= out[j] - 1e-12 * pot, "alpha {:?} out {:?}", alpha, out);
                }
            }
        }
    }

    /// Float dissolution agrees with the exact rao version to a rao and a relative 1e-12.
    #[test]
    fn dissolve_f64_matches_rao(pot in 0_u64..1_000_000_000_000_000, alpha in prop::collection::vec(0_u64..1_000_000_000_000_000, 1..6)) {
        let mut exact = vec![0_u64; alpha.len()];
        dissolve_rao(pot, &alpha, &mut exact);
        let alpha_f: Vec<f64> = alpha.iter().map(|&a| a as f64).collect();
        let mut float = vec![0.0_f64; alpha.len()];
        dissolve(pot as f64, &alpha_f, &mut float);
        for k in 0..alpha.len() {
            let diff = (float[k] - exact[k] as f64).abs();
            prop_assert!(diff <= 1.0 + 1e-12 * pot as f64, "holder {}: {} vs {}", k, float[k], exact[k]);
        }
    }

    /// Lock cost never falls below the minimum nor exceeds max(min_lock, 2·last_lock), in rao and
    /// in f64/f32 TAO.
    #[test]
    fn lock_cost_is_bounded(
        last_lock in 0_u64..100_000_000_000_000,
        min_lock in 0_u64..10_000_000_000_000,
        last_block in 0_u64..10_000_000,
        elapsed in 0_u64..1_000_000,
        interval in 0_u64..200_000,
        halvings in 0_u32..5,
    ) {
        let e_rao = 1_000_000_000_u64 >> halvings;
        let block = last_block + elapsed;
        let cap = min_lock.max(2 * last_lock);
        let exact = lock_cost_rao(last_lock, last_block, block, min_lock, interval, e_rao);
        prop_assert!(exact >= min_lock && exact <= cap);
        let tao = |x: u64| x as f64 / 1e9;
        let e_tao = tao(e_rao);
        let f = lock_cost(tao(last_lock), last_block, block, tao(min_lock), interval, e_tao);
        prop_assert!(f >= tao(min_lock) && f <= tao(cap) * (1.0 + 1e-15), "{} not in [{}, {}]", f, tao(min_lock), tao(cap));
        // f64 follows the exact chain value to about a rao (inputs converted from rao round).
        prop_assert!((f * 1e9 - exact as f64).abs() <= 2.0 + 1e-12 * exact as f64, "{} vs {}", f * 1e9, exact);
        let g = lock_cost(tao(last_lock) as f32, last_block, block, tao(min_lock) as f32, interval, e_tao as f32);
        prop_assert!(g >= tao(min_lock) as f32 && f64::from(g) <= tao(cap) * (1.0 + 1e-6));
    }

    /// Lock cost never increases with time since the last registration.
    #[test]
    fn lock_cost_is_non_increasing_in_time(
        last_lock in 0_u64..100_000_000_000_000,
        last_block in 1_u64..10_000_000,
        e1 in 0_u64..500_000,
        e2 in 0_u64..500_000,
    ) {
        let (a, b) = (e1.min(e2), e1.max(e2));
        let c = |e| lock_cost_rao(last_lock, last_block, last_block + e, 1_000_000_000, 57_600, 500_000_000);
        prop_assert!(c(a) >= c(b));
    }
}
