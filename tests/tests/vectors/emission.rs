//! Emission vectors: block emission and halvings, flow EMA, Taoflow share normalisation, moving
//! price, injection cap (chain-vectors.md V9, V10, V11, C, F).

use taosim_core::model::emission::{block_emission, emission_over_blocks};
use taosim_core::model::injection::{InjectionRule, injection_terms};
use taosim_core::model::moving_price::moving_price_block;
use taosim_core::model::shares::{
    EmaFactors, flow_ema_over_blocks, pow_normalize, shares_net_taoflow, shares_taoflow,
};
use taosim_core::params::{BLOCKS_PER_DAY, EmissionRegime, FLOW_EMA_ALPHA, RAO_PER_TAO};

fn rao(tao: f64) -> f64 {
    tao * RAO_PER_TAO
}

fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want} ± {tol}");
}

/// Derived E(I) table, chain-vectors.md §F (chain.md §1 `get_block_emission_for_issuance`).
#[test]
fn block_emission_table() {
    let below = |x: f64| f64::from_bits(x.to_bits() - 1);
    let table = [
        (0.0, 1.0e9),
        (1.0e6, 1.0e9),
        (below(10.5e6), 1.0e9),
        (10.5e6, 5.0e8),
        (below(15.75e6), 5.0e8),
        (15.75e6, 2.5e8),
        (18.375e6, 1.25e8),
        (21.0e6, 0.0),
        (25.0e6, 0.0),
    ];
    for (issuance_tao, want_rao) in table {
        assert_eq!(rao(block_emission(issuance_tao)), want_rao, "E({issuance_tao} TAO)");
    }
}

/// Mainnet fact, chain-vectors.md §F: 7,200 TAO/day issued before the first halving, 3,600 after.
#[test]
fn daily_emission_before_and_after_halving() {
    let day = BLOCKS_PER_DAY as u32;
    let before = emission_over_blocks(10.0e6, day, 1.0, 0.0);
    assert_eq!(before.emitted, 7_200.0);
    assert_eq!(before.issuance, 10.0e6 + 7_200.0);
    let after = emission_over_blocks(10.5e6, day, 1.0, 0.0);
    assert_eq!(after.emitted, 3_600.0);
}

/// Flow EMA smoothing, chain-vectors.md §F: α_f = 29,597,889,189,277 / (2^63 − 1) = 3.2090096e-6,
/// half-life 216,000 blocks (chain.md §2.3 `FlowEmaSmoothingFactor`).
#[test]
fn flow_ema_alpha_and_half_life() {
    assert_close(FLOW_EMA_ALPHA, 3.2090096e-6, 5e-14, "alpha_f");
    let half = EmaFactors::constant_alpha(FLOW_EMA_ALPHA, 216_000);
    assert_close(half.keep, 0.5, 1e-6, "(1 - alpha_f)^216000");
    assert_close(half.gain, 0.5, 1e-6, "1 - (1 - alpha_f)^216000");
}

/// subtensor `tests/subnet_emissions.rs` `inplace_pow_normalize`, z = {2,3,5}, p = 1 (REF-TF `6e3d24cea`,
/// HEAD `14bc6f9f9`; chain-vectors.md V9, C): {0.2, 0.3, 0.5} ± 0.001, sum 1 ± 1e-12.
#[test]
fn pow_normalize_p1() {
    let mut z = [2.0, 3.0, 5.0];
    pow_normalize(&mut z, 1.0);
    for (got, want) in z.iter().zip([0.2, 0.3, 0.5]) {
        assert_close(*got, want, 1e-3, "share");
    }
    assert_close(z.iter().sum(), 1.0, 1e-12, "sum");
}

/// subtensor `tests/subnet_emissions.rs` `inplace_pow_normalize` with p = 2 and p = 1.5 (`c3841130c^`;
/// chain-vectors.md C): {0.105263, 0.236842, 0.657895} and {0.147276, 0.270564, 0.582160}, within 1%.
#[test]
fn pow_normalize_p2_and_p1_5() {
    for (p, want) in [
        (2.0, [4.0 / 38.0, 9.0 / 38.0, 25.0 / 38.0]),
        (2.0, [0.105263, 0.236842, 0.657895]),
        (1.5, [0.147276, 0.270564, 0.582160]),
    ] {
        let mut z = [2.0, 3.0, 5.0];
        pow_normalize(&mut z, p);
        for (got, want) in z.iter().zip(want) {
            assert_close(*got, want, 0.01 * want, "share");
        }
    }
}

/// subtensor `tests/subnet_emissions.rs` `inplace_pow_normalize` for p ∈ {1.0, …, 2.0}
/// (chain-vectors.md V9): zᵖ/Σzᵖ within 1% (the expectation computed independently here).
#[test]
fn pow_normalize_exponent_sweep() {
    for step in 0..=10 {
        let p = 1.0 + 0.1 * f64::from(step);
        let mut z = [2.0, 3.0, 5.0];
        pow_normalize(&mut z, p);
        let denominator = 2.0_f64.powf(p) + 3.0_f64.powf(p) + 5.0_f64.powf(p);
        for (got, x) in z.iter().zip([2.0_f64, 3.0, 5.0]) {
            let want = x.powf(p) / denominator;
            assert_close(*got, want, 0.01 * want, "share");
        }
    }
}

/// subtensor `tests/subnet_emissions.rs` `inplace_pow_normalize`, tiny z = {1e-9, 2e-9, 3e-9}, p = 2
/// (chain-vectors.md V9): {1/14, 4/14, 9/14} ± 1%.
#[test]
fn pow_normalize_tiny_values() {
    let mut z = [1e-9, 2e-9, 3e-9];
    pow_normalize(&mut z, 2.0);
    for (got, want) in z.iter().zip([1.0 / 14.0, 4.0 / 14.0, 9.0 / 14.0]) {
        assert_close(*got, want, 0.01 * want, "share");
    }
}

/// subtensor `tests/subnet_emissions.rs` `inplace_pow_normalize`, all-zero input stays zero
/// (chain-vectors.md V9).
#[test]
fn pow_normalize_all_zero() {
    let mut z = [0.0; 4];
    pow_normalize(&mut z, 1.0);
    assert_eq!(z, [0.0; 4]);
    pow_normalize(&mut z, 2.0);
    assert_eq!(z, [0.0; 4]);
}

/// subtensor `tests/subnet_emissions.rs` `inplace_pow_normalize`, z = {1e9, 5e9, 1e10}, p = 2
/// (chain-vectors.md V9): sums to 1 ± 1e-9.
#[test]
fn pow_normalize_large_values() {
    let mut z = [1e9, 5e9, 1e10];
    pow_normalize(&mut z, 2.0);
    assert_close(z.iter().sum(), 1.0, 1e-9, "sum");
    assert_close(z[2], 100.0 / 126.0, 1e-12, "largest share");
}

/// Derived Taoflow share example, chain-vectors.md §F (chain.md §2.3 with L = 0, p = 1):
/// S = {5e12, 3e12, −1e12, 0} rao → {0.625, 0.375, 0, 0}.
#[test]
fn taoflow_share_example() {
    let s = [5e12, 3e12, -1e12, 0.0];
    let mut shares = [0.0; 4];
    shares_taoflow(&s, &[1; 4], 0.0, 1.0, &mut shares);
    for (got, want) in shares.iter().zip([0.625, 0.375, 0.0, 0.0]) {
        assert_close(*got, want, 1e-12, "share");
    }
}

/// subtensor `tests/subnet_emissions.rs::protocol_normalization_keeps_eligible_subnet_count_from_collapsing`
/// (NETFLOW `486037ba4`, file at `c3841130c^`; chain-vectors.md C): 70 subnets, user flow 100
/// each, protocol flow 40 + 4i, p = 1, cutoff 0, smoothing 1. Total emission 1e9 rao ± 1; the
/// number of subnets with emission is at least half the positive user EMAs and above the count
/// without protocol normalisation.
#[test]
fn protocol_normalization_keeps_eligible_subnet_count_from_collapsing() {
    const N: usize = 70;
    // Smoothing factor 1: one block's EMA update returns that block's flow.
    let one_block = EmaFactors::constant_alpha(1.0, 1);
    let mut user = [0.0; N];
    let mut protocol = [0.0; N];
    for i in 0..N {
        user[i] = flow_ema_over_blocks(0.0, 100.0, one_block, 1);
        protocol[i] = flow_ema_over_blocks(0.0, 40.0 + 4.0 * i as f64, one_block, 1);
    }
    let eligible = [1_u32; N];
    let mut shares = [0.0; N];
    shares_net_taoflow(&user, &protocol, &eligible, 0.0, 1.0, &mut shares);
    let network_emission = block_emission(0.0);
    let total: f64 = shares.iter().map(|s| rao(s * network_emission)).sum();
    assert_close(total, 1e9, 1.0, "total emission (rao)");

    let with_emission = shares.iter().filter(|&&s| s > 0.0).count();
    let positive_user = user.iter().filter(|&&s| s > 0.0).count();
    assert!(with_emission * 2 >= positive_user, "{with_emission} of {positive_user}");

    // Without normalisation the net flow is S − P.
    let mut raw_net = [0.0; N];
    for i in 0..N {
        raw_net[i] = user[i] - protocol[i];
    }
    let mut raw_shares = [0.0; N];
    shares_taoflow(&raw_net, &eligible, 0.0, 1.0, &mut raw_shares);
    let without_norm = raw_shares.iter().filter(|&&s| s > 0.0).count();
    assert!(with_emission > without_norm, "{with_emission} vs {without_norm}");
    // Closed form: 100 − (7000/12460)(40 + 4i) > 0 for i ≤ 34; 60 − 4i > 0 for i ≤ 14.
    assert_eq!((with_emission, without_norm), (35, 15));
}

/// subtensor `tests/coinbase.rs::test_coinbase_moving_prices` (REF-TF `6e3d24cea`; chain-vectors.md V10):
/// spot 1.0, SubnetMovingAlpha 0.1, h = 201,600, block 201,600, first emission block 1
/// (α_eff = 0.05): 14 updates from P̄ = 0 give 0.512325 ± 0.001.
#[test]
fn moving_price_fourteen_updates() {
    let mut p = 0.0;
    for _ in 0..14 {
        p = moving_price_block(p, 1.0, 0.1, 201_600.0, 201_600, 1);
    }
    assert_close(p, 0.512325, 1e-3, "moving price");
}

/// subtensor `tests/coinbase.rs::test_update_moving_price_after_time` (REF-TF; chain-vectors.md V10):
/// α = 0.5, block 144,000,500, first emission block 500, P̄ = 0, spot 1.0: one update gives 0.5 ± 0.001.
#[test]
fn moving_price_after_time() {
    let p = moving_price_block(0.0, 1.0, 0.5, 201_600.0, 144_000_500, 500);
    assert_close(p, 0.5, 1e-3, "moving price");
}

/// subtensor `tests/coinbase.rs::test_update_moving_price_initial` (REF-TF; chain-vectors.md V10):
/// α = 0.5, block 510, first emission block 500, P̄ = 0, spot 1.0: one update stays below 0.001.
#[test]
fn moving_price_initial() {
    let p = moving_price_block(0.0, 1.0, 0.5, 201_600.0, 510, 500);
    assert!(p < 1e-3, "moving price {p}");
    assert!(p > 0.0, "the ramp has started: {p}");
}

/// subtensor `tests/coinbase.rs::test_get_subnet_terms_alpha_emissions_cap` (REF-TF `6e3d24cea`;
/// chain-vectors.md V11): price 1.0, E = 1e9 rao, alpha emission 1e9 rao; tao_emission 1e8 →
/// alpha_in 1e8; tao_emission 1e10 → alpha_in 1e9 (capped).
#[test]
fn injection_alpha_emissions_cap() {
    let rule = InjectionRule::for_regime(EmissionRegime::Taoflow);
    let uncapped = injection_terms(rule, 1e8, 1.0, 1e9, 1e9, 0.0);
    assert_close(uncapped.alpha_in, 1e8, 1.0, "alpha_in (rao)");
    assert_close(uncapped.tao_in, 1e8, 1.0, "tao_in (rao)");
    let capped = injection_terms(rule, 1e10, 1.0, 1e9, 1e9, 0.0);
    assert_close(capped.alpha_in, 1e9, 1.0, "alpha_in (rao)");
    assert_close(capped.excess_tao, 9e9, 1.0, "excess (rao)");
}

/// subtensor `tests/coinbase.rs::test_coinbase_subnet_terms_with_alpha_in_gt_alpha_emission`
/// (REF-TF; chain-vectors.md V11): price 0.01, tao_emission = alpha_emission·0.01 + 0.01 →
/// alpha_in = alpha_out = alpha_emission, tao_in = alpha_in·0.01, excess = tao_emission − tao_in.
#[test]
fn injection_alpha_in_gt_alpha_emission() {
    let rule = InjectionRule::for_regime(EmissionRegime::Taoflow);
    let alpha_emission = 1e9;
    let price = 0.01;
    let tao_emission = alpha_emission * price + 0.01;
    let inj = injection_terms(rule, tao_emission, price, alpha_emission, 1e9, 0.0);
    let alpha_out = alpha_emission;
    assert_close(inj.alpha_in, alpha_emission, 1.0, "alpha_in (rao)");
    assert_close(inj.alpha_in, alpha_out, 1.0, "alpha_in = alpha_out (rao)");
    assert_close(inj.tao_in, inj.alpha_in * price, 1.0, "tao_in (rao)");
    assert_close(inj.excess_tao, tao_emission - inj.tao_in, 1.0, "excess (rao)");
    assert!(inj.excess_tao > 0.0);
}
