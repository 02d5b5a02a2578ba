//! AMM vectors (`docs/reference/chain-vectors.md` V12, V13, D) and constant-product closed forms.
//!
//! Pools are set up directly in rao (the model is unit-free), so the chain's integer results can be
//! compared after truncating the model's float output to whole rao, as the chain does.

use taosim_core::model::amm::{
    Pool, buy, buy_for_target_price, chain_fee_rao, inject, price,
    proportional_alpha_tao_and_remainders, sell, sell_for_target_price,
};
use taosim_core::params::AmmKind;

/// `MinimumReserve` in rao.
const MIN_RESERVE_RAO: f64 = 1.0e6;
/// Chain `FeeRate` default (33/65535).
const FEE_RATE_U16: u16 = 33;

/// subtensor `pallets/swap/src/pallet/tests.rs::test_swap_basic` (HEAD 14bc6f9f9): Balancer pool
/// TAO 1e9, alpha 4e9, w = 0.5, FeeRate 33; fee floored in rao (exact), output ±1 rao.
#[test]
fn balancer_swap_basic() {
    // (is_buy, amount, fee, out)
    let table: [(bool, u64, u64, u64); 8] = [
        (true, 1_000, 0, 3_999),
        (true, 2_000, 1, 7_995),
        (true, 123_456, 62, 493_515),
        (true, 1_000_000_000, 503_547, 1_999_496_326),
        (true, 10_000_000_000, 5_035_477, 3_636_197_098),
        (false, 1_000, 0, 249),
        (false, 2_000, 1, 499),
        (false, 123_456, 62, 30_847),
    ];
    for (is_buy, amount, fee, out) in table {
        let chain_fee = chain_fee_rao(amount, FEE_RATE_U16);
        assert_eq!(chain_fee, fee, "fee of {amount}");
        let net = (amount - chain_fee) as f64;
        let mut pool = Pool::weighted(1.0e9_f64, 4.0e9, 0.5);
        let outcome = if is_buy {
            buy(AmmKind::Balancer, &mut pool, net, 0.0, MIN_RESERVE_RAO)
        } else {
            sell(AmmKind::Balancer, &mut pool, net, 0.0, MIN_RESERVE_RAO)
        };
        assert!(!outcome.cut);
        let got = outcome.output.floor();
        assert!(
            (got - out as f64).abs() <= 1.0,
            "{} {amount}: got {got}, chain {out}",
            if is_buy { "buy" } else { "sell" }
        );
    }
}

/// subtensor `pallets/swap/src/pallet/tests.rs::test_convert_deltas` (HEAD 14bc6f9f9): Balancer
/// (τ 1500, α 1000) for w2 ∈ {0.5, 0.1, 0.9}, Δ ∈ {1, 1e4, 1e6}; the pool pays
/// `x·(1−(y/(y+Δ))^(w2/(1−w2)))` on buys and `y·(1−(x/(x+Δ))^((1−w2)/w2))` on sells, ±2 rao.
#[test]
fn balancer_convert_deltas() {
    let (tao, alpha) = (1500.0_f64, 1000.0_f64);
    for w2 in [0.5_f64, 0.1, 0.9] {
        for delta in [1.0_f64, 1.0e4, 1.0e6] {
            let buy_expected = alpha * (1.0 - (tao / (tao + delta)).powf(w2 / (1.0 - w2)));
            let sell_expected = tao * (1.0 - (alpha / (alpha + delta)).powf((1.0 - w2) / w2));

            // The raw curve: no fee, no minimum reserve (the pool is far below 1e6 rao).
            let mut pool = Pool::weighted(tao, alpha, w2);
            let bought = buy(AmmKind::Balancer, &mut pool, delta, 0.0, 0.0);
            assert!(!bought.cut);
            assert!(
                (bought.output.floor() - buy_expected).abs() <= 2.0,
                "buy w2={w2} Δ={delta}: {} vs {buy_expected}",
                bought.output
            );

            let mut pool = Pool::weighted(tao, alpha, w2);
            let sold = sell(AmmKind::Balancer, &mut pool, delta, 0.0, 0.0);
            assert!(!sold.cut);
            assert!(
                (sold.output.floor() - sell_expected).abs() <= 2.0,
                "sell w2={w2} Δ={delta}: {} vs {sell_expected}",
                sold.output
            );
        }
    }
}

/// subtensor `pallets/swap/src/pallet/balancer.rs::tests::test_calculate_quote_delta_in` (HEAD
/// 14bc6f9f9): w_quote 0.25, price 0.1 → 0.2, y = 1e9: Δy = 1e9·(2^0.75 − 1) = 681,792,830
/// (truncated, exact).
#[test]
fn balancer_quote_delta_in() {
    // price = (w1/w2)·y/x = 3·1e9/x = 0.1
    let pool = Pool::weighted(1.0e9_f64, 3.0e10, 0.25);
    assert!((price(AmmKind::Balancer, &pool) - 0.1).abs() < 1e-15);
    let dy = buy_for_target_price(AmmKind::Balancer, &pool, 0.2, 0.0);
    assert_eq!(dy.floor(), 681_792_830.0);
}

/// subtensor `pallets/swap/src/pallet/balancer.rs::tests::test_calculate_base_delta_in` (HEAD
/// 14bc6f9f9): w_quote 0.25, price 0.2 → 0.1, x = 1e9: Δx = 1e9·(2^0.25 − 1) = 189,207,115
/// (truncated, exact).
#[test]
fn balancer_base_delta_in() {
    // price = 3·y/1e9 = 0.2
    let pool = Pool::weighted(0.2e9_f64 / 3.0, 1.0e9, 0.25);
    assert!((price(AmmKind::Balancer, &pool) - 0.2).abs() < 1e-15);
    let dx = sell_for_target_price(AmmKind::Balancer, &pool, 0.1, 0.0);
    assert_eq!(dx.floor(), 189_207_115.0);
}

/// subtensor `pallets/swap/src/pallet/balancer.rs::tests::test_calculate_delta_in_reverse_swap`
/// (HEAD 14bc6f9f9): w = 0.5, price 0.1 → 0.2, y = 1e9, x = y/0.1; buying with the truncated Δy
/// reaches the target price within 1e-9 relative.
#[test]
fn balancer_delta_in_round_trip() {
    let y = 1.0e9_f64;
    let x = (y / 0.1).floor();
    let pool = Pool::weighted(y, x, 0.5);
    let dy = buy_for_target_price(AmmKind::Balancer, &pool, 0.2, 0.0).floor();

    // As the chain test does it: integer Δy and Δx.
    let dx = (x * (1.0 - y / (y + dy))).floor();
    let chain_price = (x - dx).recip() * (y + dy);
    assert!((chain_price - 0.2).abs() <= 0.2e-9, "chain-style price {chain_price}");

    // Through the model's swap.
    let mut swapped = pool;
    let outcome = buy(AmmKind::Balancer, &mut swapped, dy, 0.0, MIN_RESERVE_RAO);
    assert!(!outcome.cut);
    let model_price = price(AmmKind::Balancer, &swapped);
    assert!((model_price - 0.2).abs() <= 0.2e-9, "model price {model_price}");
}

/// subtensor `pallets/swap/src/pallet/tests.rs::test_convert_deltas` (REF-TF 6e3d24ce): v3 pool
/// with L = 2e12, √p = 1.5, i.e. constant product in x = L/√p, y = L·√p. Δ = 1 → buy 0 α, sell 2 τ;
/// 1e4 → 4,444 / 22,500; 1e6 → 444,444 / 2,250,000 (±2 rao, truncated).
#[test]
fn v3_convert_deltas() {
    let liquidity = 2.0e12_f64;
    let sqrt_price = 1.5_f64;
    let (x, y) = (liquidity / sqrt_price, liquidity * sqrt_price);
    for (delta, buy_out, sell_out) in
        [(1.0_f64, 0.0_f64, 2.0_f64), (1.0e4, 4_444.0, 22_500.0), (1.0e6, 444_444.0, 2_250_000.0)]
    {
        let mut pool = Pool::new(y, x);
        let bought = buy(AmmKind::ConstantProduct, &mut pool, delta, 0.0, MIN_RESERVE_RAO);
        assert!((bought.output.floor() - buy_out).abs() <= 2.0, "buy {delta}: {}", bought.output);

        let mut pool = Pool::new(y, x);
        let sold = sell(AmmKind::ConstantProduct, &mut pool, delta, 0.0, MIN_RESERVE_RAO);
        assert!((sold.output.floor() - sell_out).abs() <= 2.0, "sell {delta}: {}", sold.output);
    }
}

/// subtensor `pallets/swap/src/pallet/tests.rs`, the `get_proportional_alpha_tao_and_remainders`
/// cases (REF-TF 6e3d24ce; chain-vectors.md V13): (√p, τ, α) → used (τ, α), remainders (τ, α),
/// exact.
#[test]
fn v3_proportional_alpha_tao_and_remainders() {
    type Split = (u64, u64, u64, u64);
    let cases: [((f64, u64, u64), Split); 5] = [
        ((1.0, 10, 3), (3, 3, 7, 0)),
        ((1.0, 5, 10), (5, 5, 0, 5)),
        ((2.0, 85, 20), (80, 20, 5, 0)),
        ((2.0, 50, 20), (50, 12, 0, 8)),
        ((2.0, 13, 100), (13, 3, 0, 97)),
    ];
    for ((sqrt_price, tao, alpha), expected) in cases {
        assert_eq!(
            proportional_alpha_tao_and_remainders(sqrt_price, tao, alpha),
            expected,
            "√p={sqrt_price} τ={tao} α={alpha}"
        );
    }
}

/// Closed form, chain.md §4.1/§4.2: constant-product buy α_out = A·Δ/(T+Δ) with Δ net of the fee;
/// the fee stays in the pool, so T grows by the full gross input. T = 100, A = 400, fee 20%,
/// gross 31.25 → fee 6.25, Δ = 25, α_out = 400·25/125 = 80. Sell 100 α fee-less into (100, 400):
/// τ_out = 100·100/500 = 20.
#[test]
fn constant_product_closed_form() {
    let mut pool = Pool::new(100.0_f64, 400.0);
    let outcome = buy(AmmKind::ConstantProduct, &mut pool, 31.25, 0.2, 1.0e-3);
    assert!(!outcome.cut);
    assert!((outcome.fee - 6.25).abs() < 1e-12);
    assert!((outcome.output - 80.0).abs() < 1e-12);
    assert_eq!(outcome.input_used, 31.25);
    assert_eq!(outcome.author_tao, 0.0);
    assert!((pool.tao - 131.25).abs() < 1e-12, "fee must stay in the pool");
    assert!((pool.alpha - 320.0).abs() < 1e-12);

    let mut pool = Pool::new(100.0_f64, 400.0);
    let outcome = sell(AmmKind::ConstantProduct, &mut pool, 100.0, 0.0, 1.0e-3);
    assert!((outcome.output - 20.0).abs() < 1e-12);
    assert!((pool.tao - 80.0).abs() < 1e-12);
    assert!((pool.alpha - 500.0).abs() < 1e-12);
}

/// Closed form, chain.md §4.2 `MinimumReserve`: from T = 100, A = 400 with a floor of 1, the largest
/// net buy is Δ = T·(A − m)/m = 39,900 (gross 39,900/0.8 at a 20% fee); a larger order is cut to
/// it, leaves exactly 1 alpha, and pays out 399. Balancer at w = ½ (same curve, fee to the author):
/// the TAO reserve grows by the net only and the author gets the fee.
#[test]
fn minimum_reserve_cut() {
    let mut pool = Pool::new(100.0_f64, 400.0);
    let outcome = buy(AmmKind::ConstantProduct, &mut pool, 1.0e9, 0.2, 1.0);
    assert!(outcome.cut);
    assert_eq!(pool.alpha, 1.0);
    assert_eq!(outcome.output, 399.0);
    assert!((outcome.input_used - 49_875.0).abs() < 1e-12 * 49_875.0);
    assert!((pool.tao - 49_975.0).abs() < 1e-12 * 49_975.0);

    let mut pool = Pool::weighted(100.0_f64, 400.0, 0.5);
    let outcome = buy(AmmKind::Balancer, &mut pool, 1.0e9, 0.2, 1.0);
    assert!(outcome.cut);
    assert_eq!(pool.alpha, 1.0);
    assert!((outcome.input_used - 49_875.0).abs() < 1e-9);
    assert!((outcome.author_tao - 9_975.0).abs() < 1e-9);
    assert!((pool.tao - 40_000.0).abs() < 1e-9);

    // Sell side: from T = 100, A = 400, floor 1: Δ = A·(T − m)/m = 39,600 fee-less.
    let mut pool = Pool::new(100.0_f64, 400.0);
    let outcome = sell(AmmKind::ConstantProduct, &mut pool, 1.0e9, 0.0, 1.0);
    assert!(outcome.cut);
    assert_eq!(pool.tao, 1.0);
    assert_eq!(outcome.output, 99.0);
    assert!((outcome.input_used - 39_600.0).abs() < 1e-9);
}

/// chain.md §4.3 `MAX_SWAP_INPUT_RESERVE_MULTIPLIER`: a Balancer buy's net input is capped at
/// 1000× the TAO reserve (here far from the minimum reserve): 1 TAO reserve, order 5,000 → net 1,000.
#[test]
fn balancer_input_cap() {
    let mut pool = Pool::weighted(1.0_f64, 1.0e12, 0.5);
    let outcome = buy(AmmKind::Balancer, &mut pool, 5_000.0, 0.0, 1.0e-3);
    assert!(outcome.cut);
    assert!((outcome.input_used - 1_000.0).abs() < 1e-9);
    // x·Δ/(y+Δ) at w = ½
    assert!((outcome.output - 1.0e12 * 1_000.0 / 1_001.0).abs() < 1e-3);
}

/// chain.md §4.3: re-weighting keeps the price for any proportions; (y, x, w2) = (100, 400, 0.5)
/// plus (10, 0): w2' = 0.5·400·110 / (0.5·100·400 + 0.5·400·110) = 22,000/42,000 = 11/21.
#[test]
fn balancer_injection_reweights() {
    let mut pool = Pool::weighted(100.0_f64, 400.0, 0.5);
    let added = inject(AmmKind::Balancer, &mut pool, 10.0, 0.0);
    assert_eq!(added.tao_added, 10.0);
    assert!((pool.w_quote - 11.0 / 21.0).abs() < 1e-15);
    assert!((price(AmmKind::Balancer, &pool) - 0.25).abs() < 1e-15);
}
