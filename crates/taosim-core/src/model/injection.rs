//! # Injection and the alpha_out split (chain.md §3; model.md §3 item 4)
//!
//! Follows subtensor `pallets/subtensor/src/coinbase/run_coinbase.rs` (`get_subnet_terms`,
//! `inject_and_maybe_swap`, `emit_to_subnets`, `get_network_root_sell_flag`) and
//! `coinbase/block_step.rs::root_proportion`.
//!
//! Per subnet per block, the TAO emission `tao_emission = share·E` enters the pool as `tao_in`
//! together with `alpha_in = tao_in / p` (price unchanged: proportional liquidity); what the alpha
//! cap does not let in is `excess_tao`, which the chain spends on a fee-less buy of alpha that it
//! recycles. Separately, `alpha_out = alpha_emission` is minted and split into owner, server
//! (miners), validator and root parts.
//!
//! Over an engine step of n blocks all of this is linear: proportional injection leaves the price
//! unchanged, so the per-block terms at the step's price repeat n times. Only the excess chain buy
//! moves the price; the engine performs it once per step with n× the per-block excess (a
//! documented simplification: per block, the chain would buy in n smaller pieces, each at a
//! slightly higher price, and interleaved with the injections). The root proportion and the
//! alpha emission are likewise held at their step-start values.

use crate::Real;
use crate::params::EmissionRegime;
use crate::real::safe_div;

/// The era's rule capping alpha_in (chain.md §3.2, §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectionRule {
    /// Era A (`ae2b37364`): if `p < share` the subnet is "subsidised": `tao_in = p·E`,
    /// `alpha_in = E`, the rest buys alpha. Since `tao_emission = share·E`, this is exactly
    /// `alpha_in = min(tao_emission/p, E)`: a cap of the network block emission E.
    Subsidy,
    /// Era B / B′ (REF-TF, main 2025-12-12 `8834a7c73`): cap `min(alpha_emission, E)`.
    AlphaEmissionCap,
    /// Era C (HEAD, 2026-06-22 on): cap `root_proportion · alpha_emission`.
    RootProportionCap,
}

impl InjectionRule {
    /// The injection rule in force with an emission regime's era.
    pub fn for_regime(regime: EmissionRegime) -> Self {
        match regime {
            EmissionRegime::PriceEma => InjectionRule::Subsidy,
            EmissionRegime::Taoflow | EmissionRegime::NetTaoflow => InjectionRule::AlphaEmissionCap,
            EmissionRegime::PriceBurn => InjectionRule::RootProportionCap,
        }
    }
}

/// What one subnet receives from its TAO emission (TAO and alpha).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Injection<R> {
    /// TAO added to the pool reserve.
    pub tao_in: R,
    /// Alpha added to the pool reserve (`tao_in / p`).
    pub alpha_in: R,
    /// TAO the chain spends on a fee-less alpha buy whose alpha it recycles.
    pub excess_tao: R,
}

impl<R: Real> Injection<R> {
    /// The terms of `n` identical blocks.
    #[inline]
    pub fn times(self, n: u32) -> Self {
        let blocks = R::of(f64::from(n));
        Injection {
            tao_in: self.tao_in * blocks,
            alpha_in: self.alpha_in * blocks,
            excess_tao: self.excess_tao * blocks,
        }
    }
}

/// `root_prop = τw·R / (τw·R + alpha_issuance)` (`block_step.rs::root_proportion`), 0 when both
/// are zero. `tao_weight` is `ChainParams::tao_weight`, `root_tao` the root TAO stake.
#[inline]
pub fn root_proportion<R: Real>(tao_weight: f64, root_tao: R, alpha_issuance: R) -> R {
    let weighted_root = R::of(tao_weight) * root_tao;
    safe_div(weighted_root, weighted_root + alpha_issuance)
}

/// One block's injection terms for one subnet (chain.md §3.2).
///
/// `tao_emission = share·E`, `price` the spot price before injection, `alpha_emission` the
/// subnet's alpha block emission, `network_emission` E, `root_prop` from [`root_proportion`]
/// (read by [`InjectionRule::RootProportionCap`] only). With `p = 0` all TAO goes in and no alpha
/// (the chain's `safe_div`). Otherwise `alpha_in = tao_emission/p` unless that exceeds the cap,
/// then `alpha_in = cap`, `tao_in = cap·p` and the remainder is excess.
pub fn injection_terms<R: Real>(
    rule: InjectionRule,
    tao_emission: R,
    price: R,
    alpha_emission: R,
    network_emission: R,
    root_prop: R,
) -> Injection<R> {
    // Every candidate first, then selects, no early return: the subnet lanes of
    // `cpu/injection.rs` run this as vectors (a division inside a branch would keep the branch).
    let cap = match rule {
        InjectionRule::Subsidy => network_emission,
        InjectionRule::AlphaEmissionCap => alpha_emission.min(network_emission),
        InjectionRule::RootProportionCap => root_prop * alpha_emission,
    };
    let alpha_in = tao_emission / price;
    let capped_tao_in = cap * price;
    // cap·p < tao_emission up to rounding; never report a negative buy.
    let capped = Injection {
        tao_in: capped_tao_in,
        alpha_in: cap,
        excess_tao: (tao_emission - capped_tao_in).max(R::zero()),
    };
    let uncapped = Injection { tao_in: tao_emission, alpha_in, excess_tao: R::zero() };
    let unpriced = Injection { tao_in: tao_emission, alpha_in: R::zero(), excess_tao: R::zero() };
    if price.is_nan() || price <= R::zero() {
        unpriced
    } else if alpha_in > cap {
        capped
    } else {
        uncapped
    }
}

/// The injection terms of `n` blocks at a constant price: n× [`injection_terms`]. The arguments
/// are per-block values (the step's total divided by n where they vary), so a halving inside the
/// step is applied to the cap only on average.
pub fn injection_over_blocks<R: Real>(
    rule: InjectionRule,
    tao_emission: R,
    price: R,
    alpha_emission: R,
    network_emission: R,
    root_prop: R,
    n: u32,
) -> Injection<R> {
    injection_terms(rule, tao_emission, price, alpha_emission, network_emission, root_prop).times(n)
}

/// Where a subnet's alpha_out goes (chain.md §3.3). Linear in alpha_out, so the split of a step's
/// total alpha_out equals the sum of the per-block splits (at a constant root proportion).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlphaSplit<R> {
    /// Owner cut (`PendingOwnerCut`).
    pub owner: R,
    /// Miners' half (`PendingServerEmission`).
    pub server: R,
    /// Validators' half less the root part (`PendingValidatorEmission`).
    pub validator: R,
    /// Root stakers' part (`PendingRootAlphaDivs`), when the root sell flag is set.
    pub root: R,
    /// The root part recycled instead, when the root sell flag is not set.
    pub recycled: R,
}

/// Splits alpha_out: `owner = alpha_out·owner_cut`; with `a = alpha_out − owner`,
/// `server = a/2`, `root = root_prop·a/2` (recycled instead when `!root_sell_flag`),
/// `validator = a/2 − root_prop·a/2`. The parts sum to alpha_out.
pub fn alpha_out_split<R: Real>(
    alpha_out: R,
    owner_cut: f64,
    root_prop: R,
    root_sell_flag: bool,
) -> AlphaSplit<R> {
    let owner = alpha_out * R::of(owner_cut);
    let half = (alpha_out - owner) * R::of(0.5);
    let root_alpha = root_prop * half;
    let (root, recycled) =
        if root_sell_flag { (root_alpha, R::zero()) } else { (R::zero(), root_alpha) };
    AlphaSplit { owner, server: half, validator: half - root_alpha, root, recycled }
}

/// `get_network_root_sell_flag`: root keeps its alpha only when `Σ_eligible P̄ > 1`.
pub fn root_sell_flag<R: Real>(moving_prices: &[R], eligible: &[u32]) -> bool {
    let mut sum = R::zero();
    for i in 0..moving_prices.len() {
        if eligible[i] != 0 {
            sum += moving_prices[i];
        }
    }
    sum > R::one()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_rule_matches_era_a_statement() {
        // share 0.3 of E = 1 at price 0.1 < share: tao_in = p·E, alpha_in = E.
        let inj = injection_terms::<f64>(InjectionRule::Subsidy, 0.3, 0.1, 1.0, 1.0, 0.0);
        assert!((inj.tao_in - 0.1).abs() < 1e-15 && inj.alpha_in == 1.0);
        assert!((inj.excess_tao - 0.2).abs() < 1e-15);
        // price 0.5 >= share 0.3: tao_in = share·E, alpha_in = tao_in/p.
        let inj = injection_terms::<f64>(InjectionRule::Subsidy, 0.3, 0.5, 1.0, 1.0, 0.0);
        assert_eq!(inj, Injection { tao_in: 0.3, alpha_in: 0.6, excess_tao: 0.0 });
    }

    #[test]
    fn root_proportion_cap() {
        let rp = root_proportion::<f64>(0.18, 1.0e6, 0.8e6 * 0.18 / 0.2);
        assert!((rp - 0.2).abs() < 1e-15);
        let inj = injection_terms::<f64>(InjectionRule::RootProportionCap, 1.0, 1.0, 1.0, 1.0, rp);
        assert!((inj.alpha_in - 0.2).abs() < 1e-15 && (inj.excess_tao - 0.8).abs() < 1e-15);
        assert_eq!(root_proportion::<f64>(0.18, 0.0_f64, 0.0), 0.0);
    }

    #[test]
    fn zero_price_takes_all_tao_no_alpha() {
        let inj = injection_terms::<f64>(InjectionRule::AlphaEmissionCap, 0.4, 0.0, 1.0, 1.0, 0.0);
        assert_eq!(inj, Injection { tao_in: 0.4, alpha_in: 0.0, excess_tao: 0.0 });
    }

    #[test]
    fn over_blocks_equals_iteration() {
        for rule in [InjectionRule::Subsidy, InjectionRule::AlphaEmissionCap] {
            for &(tao, p) in &[(0.3, 0.1), (0.01, 2.0), (0.7, 0.35)] {
                let n = 361;
                let mut sum = Injection { tao_in: 0.0, alpha_in: 0.0, excess_tao: 0.0 };
                for _ in 0..n {
                    let b = injection_terms::<f64>(rule, tao, p, 0.5, 1.0, 0.1);
                    sum.tao_in += b.tao_in;
                    sum.alpha_in += b.alpha_in;
                    sum.excess_tao += b.excess_tao;
                }
                let c = injection_over_blocks::<f64>(rule, tao, p, 0.5, 1.0, 0.1, n);
                for (a, b) in [
                    (c.tao_in, sum.tao_in),
                    (c.alpha_in, sum.alpha_in),
                    (c.excess_tao, sum.excess_tao),
                ] {
                    assert!((a - b).abs() <= 1e-12 * a.abs().max(1e-300), "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn alpha_split_parts() {
        let s = alpha_out_split::<f64>(1.0, 0.18, 0.25, true);
        assert!((s.owner - 0.18).abs() < 1e-15);
        assert!((s.server - 0.41).abs() < 1e-15);
        assert!((s.root - 0.1025).abs() < 1e-15 && s.recycled == 0.0);
        assert!((s.validator - 0.3075).abs() < 1e-15);
        let r = alpha_out_split::<f64>(1.0, 0.18, 0.25, false);
        assert_eq!((r.root, r.recycled), (0.0, s.root));
        // Linear: the split of n blocks' alpha_out is n× one block's split.
        let n = alpha_out_split::<f64>(361.0, 0.18, 0.25, true);
        assert!((n.validator - 361.0 * s.validator).abs() < 1e-12);
    }

    #[test]
    fn sell_flag_counts_eligible_only() {
        assert!(!root_sell_flag(&[0.6, 0.6], &[1, 0]));
        assert!(root_sell_flag(&[0.6, 0.6], &[1, 1]));
        assert!(!root_sell_flag(&[0.5, 0.5], &[1, 1]));
    }
}
