//! Invariants of emission shares, injection, the alpha_out split, block emission and the flow EMA.

use proptest::prelude::*;
use taosim_core::model::emission::block_emission;
use taosim_core::model::injection::{InjectionRule, alpha_out_split, injection_terms};
use taosim_core::model::shares::{
    EmaFactors, ShareInputs, emission_shares, flow_ema_block, flow_ema_over_blocks,
};
use taosim_core::params::EmissionRegime;

/// One subnet's inputs: moving price, user flow EMA, protocol flow EMA, miner burn, eligibility.
fn subnet() -> impl Strategy<Value = (f64, f64, f64, f64, u32)> {
    (
        prop_oneof![Just(0.0), 0.0..10.0_f64],
        prop_oneof![Just(0.0), -1.0e4..1.0e4_f64],
        prop_oneof![Just(0.0), -1.0e4..1.0e4_f64],
        prop_oneof![Just(0.0), Just(1.0), 0.0..1.0_f64],
        prop_oneof![Just(0_u32), Just(1_u32)],
    )
}

fn regime() -> impl Strategy<Value = EmissionRegime> {
    prop_oneof![
        Just(EmissionRegime::PriceEma),
        Just(EmissionRegime::Taoflow),
        Just(EmissionRegime::NetTaoflow),
        Just(EmissionRegime::PriceBurn),
    ]
}

fn rule() -> impl Strategy<Value = InjectionRule> {
    prop_oneof![
        Just(InjectionRule::Subsidy),
        Just(InjectionRule::AlphaEmissionCap),
        Just(InjectionRule::RootProportionCap),
    ]
}

proptest! {
    /// Shares are non-negative, zero off the eligible set, and sum to 1 or are all zero.
    #[test]
    fn shares_are_a_distribution(
        subnets in prop::collection::vec(subnet(), 1..48),
        regime in regime(),
        cutoff in prop_oneof![Just(0.0), -50.0..50.0_f64],
        exponent in 0.5..3.0_f64,
    ) {
        let price: Vec<f64> = subnets.iter().map(|s| s.0).collect();
        let flow: Vec<f64> = subnets.iter().map(|s| s.1).collect();
        let protocol: Vec<f64> = subnets.iter().map(|s| s.2).collect();
        let burn: Vec<f64> = subnets.iter().map(|s| s.3).collect();
        let eligible: Vec<u32> = subnets.iter().map(|s| s.4).collect();
        let inputs = ShareInputs {
            moving_price: &price,
            flow_ema: &flow,
            protocol_flow_ema: &protocol,
            miner_burn: &burn,
            eligible: &eligible,
        };
        let mut shares = vec![f64::NAN; subnets.len()];
        emission_shares(regime, &inputs, cutoff, exponent, &mut shares);
        for (i, &s) in shares.iter().enumerate() {
            prop_assert!(s >= 0.0, "share {i} = {s}");
            if eligible[i] == 0 {
                prop_assert_eq!(s, 0.0);
            }
        }
        let sum: f64 = shares.iter().sum();
        prop_assert!(sum == 0.0 || (sum - 1.0).abs() <= 1e-12, "sum {sum}");
        // Price regimes emit whenever an eligible subnet has a positive price.
        let priced = (0..subnets.len()).any(|i| eligible[i] != 0 && price[i] > 0.0);
        if matches!(regime, EmissionRegime::PriceEma | EmissionRegime::PriceBurn) && priced {
            prop_assert!((sum - 1.0).abs() <= 1e-12);
        }
    }

    /// tao_in + excess = tao_emission; tao_in = alpha_in·p; alpha_in never exceeds the cap.
    #[test]
    fn injection_conserves_tao(
        rule in rule(),
        tao_emission in prop_oneof![Just(0.0), 0.0..2.0_f64],
        price in prop_oneof![Just(0.0), 1e-6..1.0e3_f64],
        alpha_emission in 0.0..1.0_f64,
        network_emission in prop_oneof![Just(1.0), Just(0.5), 0.0..1.0_f64],
        root_prop in 0.0..1.0_f64,
    ) {
        let inj = injection_terms(rule, tao_emission, price, alpha_emission, network_emission, root_prop);
        prop_assert!(inj.tao_in >= 0.0 && inj.alpha_in >= 0.0 && inj.excess_tao >= 0.0);
        let total = inj.tao_in + inj.excess_tao;
        prop_assert!((total - tao_emission).abs() <= 1e-12 * tao_emission.max(1e-300), "{total} vs {tao_emission}");
        if price > 0.0 {
            let value = inj.alpha_in * price;
            prop_assert!((inj.tao_in - value).abs() <= 1e-12 * inj.tao_in.max(1e-300), "{} vs {value}", inj.tao_in);
            let cap = match rule {
                InjectionRule::Subsidy => network_emission,
                InjectionRule::AlphaEmissionCap => alpha_emission.min(network_emission),
                InjectionRule::RootProportionCap => root_prop * alpha_emission,
            };
            prop_assert!(inj.alpha_in <= cap, "alpha_in {} over cap {cap}", inj.alpha_in);
            if inj.excess_tao > 0.0 {
                prop_assert_eq!(inj.alpha_in, cap);
            }
        } else {
            prop_assert_eq!(inj.tao_in, tao_emission);
        }
    }

    /// The parts of the alpha_out split sum to alpha_out.
    #[test]
    fn alpha_split_sums_to_alpha_out(
        alpha_out in 0.0..1.0e3_f64,
        owner_cut in 0.0..1.0_f64,
        root_prop in 0.0..1.0_f64,
        sell in any::<bool>(),
    ) {
        let s = alpha_out_split(alpha_out, owner_cut, root_prop, sell);
        for part in [s.owner, s.server, s.validator, s.root, s.recycled] {
            prop_assert!(part >= 0.0);
        }
        let total = s.owner + s.server + s.validator + s.root + s.recycled;
        prop_assert!((total - alpha_out).abs() <= 1e-12 * alpha_out.max(1e-300));
        prop_assert!(s.root == 0.0 || s.recycled == 0.0);
    }

    /// More issuance never gives more block emission.
    #[test]
    fn block_emission_non_increasing(a in 0.0..2.2e7_f64, b in 0.0..2.2e7_f64) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(block_emission(lo) >= block_emission(hi));
    }

    /// The flow EMA's closed form over n blocks equals n per-block updates with the flow spread
    /// evenly over the blocks.
    #[test]
    fn flow_ema_closed_form_equals_iteration(
        ema in -1.0e6..1.0e6_f64,
        flow_total in -1.0e7..1.0e7_f64,
        alpha in prop_oneof![Just(taosim_core::params::FLOW_EMA_ALPHA), 1e-7..0.5_f64],
        n in 1_u32..2_000,
    ) {
        let per_block = flow_total / f64::from(n);
        let mut iterated = ema;
        for _ in 0..n {
            iterated = flow_ema_block(iterated, per_block, alpha);
        }
        let closed = flow_ema_over_blocks(ema, flow_total, EmaFactors::constant_alpha(alpha, n), n);
        let scale = ema.abs().max(per_block.abs()).max(1e-300);
        prop_assert!((closed - iterated).abs() <= 1e-12 * scale, "{closed} vs {iterated}");
    }
}
