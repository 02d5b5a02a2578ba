//! Invariants of the pool (chain.md §4, model.md §5), f64, both kinds.
//!
//! Reserves are drawn log-uniformly in 1e-3..1e7 (the minimum reserve up to a large subnet), Balancer
//! quote weights in 0.01..0.99, amounts log-uniformly as 1e-6..1e3 times the input reserve, fee
//! rates in 0..1% (zero a third of the time).
//!
//! Float slack: a pool stores its reserves rounded to the nearest double, and a swap's output is a
//! difference of reserves, so results carry an absolute error of a few ulps of the reserves
//! amplified by the curve's exponent (`w1/w2` up to 99). The round-trip bounds allow exactly that
//! and nothing relative to the amount.

use proptest::prelude::*;
use taosim_core::model::amm::{Pool, buy, inject, price, sell};
use taosim_core::params::{AmmKind, MIN_RESERVE};

fn kind_strategy() -> impl Strategy<Value = AmmKind> {
    prop_oneof![Just(AmmKind::ConstantProduct), Just(AmmKind::Balancer)]
}

fn log_uniform(lo_exp: f64, hi_exp: f64) -> impl Strategy<Value = f64> {
    (lo_exp..hi_exp).prop_map(|e: f64| 10f64.powf(e))
}

/// Fee rates in 0..1%, with the fee-less protocol swap (`drop_fees`) drawn often.
fn fee_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 0.0f64..0.01]
}

fn pool_strategy() -> impl Strategy<Value = (AmmKind, Pool<f64>)> {
    (kind_strategy(), log_uniform(-3.0, 7.0), log_uniform(-3.0, 7.0), 0.01f64..0.99).prop_map(
        |(kind, tao, alpha, w)| {
            let w_quote = if kind == AmmKind::Balancer { w } else { 0.5 };
            (kind, Pool::weighted(tao, alpha, w_quote))
        },
    )
}

/// Absolute rounding slack on an amount of the token whose largest reserve during the trade is
/// `reserve`.
fn slack(pool: &Pool<f64>, reserve: f64) -> f64 {
    let w2 = pool.w_quote;
    let amplification = ((1.0 - w2) / w2).max(w2 / (1.0 - w2)).max(1.0);
    64.0 * f64::EPSILON * amplification * reserve
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A buy followed by selling all the alpha received never returns more TAO than it took.
    #[test]
    fn buy_then_sell_never_profits(
        (kind, start) in pool_strategy(),
        frac in log_uniform(-6.0, 3.0),
        fee_rate in fee_strategy(),
    ) {
        let mut pool = start;
        let bought = buy(kind, &mut pool, frac * start.tao, fee_rate, MIN_RESERVE);
        let sold = sell(kind, &mut pool, bought.output, fee_rate, MIN_RESERVE);
        let bound = bought.input_used + slack(&start, start.tao + bought.input_used);
        prop_assert!(
            sold.output <= bound,
            "paid {} TAO, got back {} (bound {bound})", bought.input_used, sold.output
        );
    }

    /// A sell followed by buying with all the TAO received never returns more alpha than it took.
    #[test]
    fn sell_then_buy_never_profits(
        (kind, start) in pool_strategy(),
        frac in log_uniform(-6.0, 3.0),
        fee_rate in fee_strategy(),
    ) {
        let mut pool = start;
        let sold = sell(kind, &mut pool, frac * start.alpha, fee_rate, MIN_RESERVE);
        let bought = buy(kind, &mut pool, sold.output, fee_rate, MIN_RESERVE);
        let bound = sold.input_used + slack(&start, start.alpha + sold.input_used);
        prop_assert!(
            bought.output <= bound,
            "paid {} alpha, got back {} (bound {bound})", sold.input_used, bought.output
        );
    }

    /// Injection leaves the price unchanged (relative 1e-12), whatever the proportions.
    #[test]
    fn injection_keeps_price(
        (kind, start) in pool_strategy(),
        tao_frac in log_uniform(-6.0, 1.0),
        alpha_frac in log_uniform(-6.0, 1.0),
    ) {
        let mut pool = start;
        let before = price(kind, &pool);
        let added = inject(kind, &mut pool, tao_frac * start.tao, alpha_frac * start.alpha);
        let after = price(kind, &pool);
        prop_assert!(
            (after - before).abs() <= 1e-12 * before,
            "price {before} → {after} after adding {added:?}"
        );
        prop_assert!(added.tao_added >= 0.0 && added.alpha_added >= 0.0);
        prop_assert!(pool.w_quote >= 0.01 && pool.w_quote <= 0.99);
    }

    /// Swaps never take a reserve below the minimum, never pay more than the output reserve held,
    /// move the price the right way, and account for every token.
    #[test]
    fn swaps_respect_reserves_and_direction(
        (kind, start) in pool_strategy(),
        frac in log_uniform(-6.0, 3.0),
        fee_rate in fee_strategy(),
        is_buy in any::<bool>(),
    ) {
        let mut pool = start;
        let before = price(kind, &pool);
        if is_buy {
            let outcome = buy(kind, &mut pool, frac * start.tao, fee_rate, MIN_RESERVE);
            prop_assert!(outcome.output >= 0.0 && outcome.output <= start.alpha);
            prop_assert!(pool.alpha >= MIN_RESERVE);
            prop_assert!(price(kind, &pool) >= before * (1.0 - 1e-12));
            prop_assert!(outcome.input_used <= frac * start.tao);
            let tao_gain = outcome.input_used - outcome.author_tao;
            prop_assert!((pool.tao - start.tao - tao_gain).abs() <= 4.0 * f64::EPSILON * pool.tao);
            prop_assert!(
                (start.alpha - pool.alpha - outcome.output).abs() <= 4.0 * f64::EPSILON * start.alpha
            );
        } else {
            let outcome = sell(kind, &mut pool, frac * start.alpha, fee_rate, MIN_RESERVE);
            prop_assert!(outcome.output >= 0.0 && outcome.output <= start.tao);
            prop_assert!(outcome.author_tao >= 0.0);
            prop_assert!(pool.tao >= MIN_RESERVE);
            prop_assert!(price(kind, &pool) <= before * (1.0 + 1e-12));
            prop_assert!(outcome.input_used <= frac * start.alpha);
            let tao_loss = outcome.output + outcome.author_tao;
            prop_assert!((start.tao - pool.tao - tao_loss).abs() <= 4.0 * f64::EPSILON * start.tao);
            prop_assert!(
                (pool.alpha - start.alpha - outcome.input_used).abs() <= 4.0 * f64::EPSILON * pool.alpha
            );
        }
    }
}
