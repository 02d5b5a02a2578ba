//! The subnet pool: spot price, swaps with fee and minimum reserve, and emission injection
//! (chain.md §4; model.md §5).
//!
//! Two pool kinds ([`AmmKind`]):
//!
//! - **Constant product** (chain.md §4.2, subtensor `pallets/swap/src/pallet/{impls.rs,swap_step.rs}`
//!   @ REF-TF). The Taoflow-era Uniswap-v3 pool holds only the full-range protocol position, which
//!   is exactly a constant-product pool in its (virtual) reserves `x = L/√p`, `y = L·√p`. The
//!   model keeps the reserves directly and uses the rational formulas `out = x·Δ/(y+Δ)` (buy) and
//!   `out = y·Δ/(x+Δ)` (sell). The v3 pool's `MAX_SWAP_ITERATIONS` and its 1e-6…1e6 price bounds
//!   are not modelled (a full-range pool never crosses a tick).
//! - **Balancer** (chain.md §4.3, subtensor `pallets/swap/src/pallet/balancer.rs` @ HEAD): weighted
//!   pool with quote (TAO) weight `w2` and base (alpha) weight `w1 = 1 − w2`, price
//!   `(w1/w2)·(y/x)`, price-neutral injection by re-weighting.
//!
//! **Fees.** `fee = amount · fee_rate` is taken from the gross input; the swap curve sees the net
//! `Δ = amount − fee`. The chain floors the fee to whole rao (`calculate_fee_amount`); the float
//! model does not floor ([`chain_fee_rao`] gives the chain's integer fee for rao-level checks).
//! Protocol swaps (chain buys of excess TAO, root-claim sells: `drop_fees = true`) are the same
//! functions with `fee_rate = 0`.
//!
//! Where the fee goes differs by kind, and [`SwapOutcome::author_tao`] says how much TAO left the
//! pool for the block author:
//!
//! - Constant product: the fee accrues to the protocol position and is re-added as liquidity at
//!   the next `adjust_protocol_liquidity` (chain.md §4.2), so it stays in the pool. The model adds
//!   it to the input reserve at once (the input reserve grows by the full gross input); the chain
//!   holds it aside until the next block's injection, a one-block difference of 0.05% of a trade.
//! - Balancer: 100% of the fee goes to the block author and leaves the pool. A TAO fee (buy) is
//!   simply not added to the TAO reserve. An alpha fee (sell) is, on chain, swapped fee-less to
//!   TAO right after the trader's swap and the TAO paid to the author; the model does exactly
//!   that. Because a fee-less Balancer swap preserves the invariant `x^w1·y^w2`, the pool ends
//!   where one fee-less sale of the whole gross alpha would leave it, so the minimum-reserve cut
//!   on a sell is on the gross input.
//!
//! **Limits.** A swap never takes the output reserve below `min_reserve` (`MinimumReserve`,
//! 1e6 rao): an order that would is cut to the largest input that leaves exactly `min_reserve`
//! (the swap formula inverted in closed form) and flagged [`SwapOutcome::cut`]. Balancer orders
//! are also cut to a net input of at most [`MAX_SWAP_INPUT_RESERVE_MULTIPLIER`] × input reserve.
//! The chain rejects such an order (`ReservesTooLow`) or fills it partially up to a price limit;
//! the model fills what the pool allows and counts the cut (model.md §5).
//!
//! **Numerics.** Balancer powers are written as `exp_m1(e·ln_1p(u))` so a trade that is tiny
//! against the reserve keeps its relative precision (`1 − (y/(y+Δ))^e` cancels catastrophically
//! in f32). A WGSL twin needs `log1p`/`expm1` helpers for this. Everything is closed form: no
//! iteration, no allocation.
//!
//! **CPU fast path.** A constant-product order that is surely below its minimum-reserve cap skips
//! the cap's two divisions (`surely_below_cap`, an exact test by products; the shader computes the
//! cap). The result is bit for bit the same: such an order is never cut. This path is
//! [`constant_product_purchase`] for a buy and [`constant_product_sale`] for a sale, branch-free
//! so that the swaps and the payouts can run them over lanes of subnets; [`buy`] and [`sell`] use
//! them too.

use crate::Real;
use crate::params::AmmKind;

/// `MAX_SWAP_INPUT_RESERVE_MULTIPLIER`: a Balancer swap's net input is at most this many times
/// the input reserve (chain.md §4.3).
pub const MAX_SWAP_INPUT_RESERVE_MULTIPLIER: f64 = 1000.0;

/// `MIN_WEIGHT`: neither Balancer weight may fall below 0.01 (chain.md §4.3).
pub const MIN_WEIGHT: f64 = 0.01;

/// One subnet's pool: reserves and, for the Balancer, the quote (TAO) weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pool<R> {
    /// TAO reserve `y` (`SubnetTAO`), in TAO.
    pub tao: R,
    /// Alpha reserve `x` (`SubnetAlphaIn`), in alpha.
    pub alpha: R,
    /// Balancer quote weight `w2` (TAO side); `w1 = 1 − w2`. Unused by the constant product
    /// (keep it at 0.5 there so switching kinds keeps the price).
    pub w_quote: R,
}

impl<R: Real> Pool<R> {
    /// A pool with equal weights (the constant product's and a fresh Balancer's state).
    pub fn new(tao: R, alpha: R) -> Self {
        Self { tao, alpha, w_quote: R::of(0.5) }
    }

    /// A Balancer pool with the given quote (TAO) weight.
    pub fn weighted(tao: R, alpha: R, w_quote: R) -> Self {
        Self { tao, alpha, w_quote }
    }
}

/// The result of one swap. The caller applies nothing: the pool passed to [`buy`] / [`sell`] is
/// already updated; this says what the trader paid and received and where the fee went.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct SwapOutcome<R> {
    /// Gross input taken from the trader, fee included, in the input token (less than the order
    /// when `cut`).
    pub input_used: R,
    /// The fee, in the input token (part of `input_used`).
    pub fee: R,
    /// Paid to the trader, in the output token.
    pub output: R,
    /// TAO paid out of the pool to the block author (Balancer fees); zero for the constant
    /// product, whose fee stays in the pool. Conservation: on a buy the TAO reserve grows by
    /// `input_used − author_tao`; on a sell it shrinks by `output + author_tao`.
    pub author_tao: R,
    /// The order was reduced to respect the minimum reserve or the input cap.
    pub cut: bool,
}

/// The amounts an injection actually added to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct InjectOutcome<R> {
    /// TAO added to the reserve.
    pub tao_added: R,
    /// Alpha added to the reserve.
    pub alpha_added: R,
}

/// Spot price in TAO per alpha: `T/A` (constant product) or `(w1/w2)·(y/x)` (Balancer); zero for
/// an empty alpha reserve (the chain's `safe_div`).
pub fn price<R: Real>(kind: AmmKind, pool: &Pool<R>) -> R {
    let reserve_ratio = crate::real::safe_div(pool.tao, pool.alpha);
    match kind {
        AmmKind::ConstantProduct => reserve_ratio,
        AmmKind::Balancer => (R::one() - pool.w_quote) / pool.w_quote * reserve_ratio,
    }
}

/// `1 − (1 + u)^(−e)` for `u ≥ 0`, `e > 0`: the fraction of the output reserve a Balancer swap pays
/// out, precise for small `u` (`u` = net input / input reserve).
#[inline]
fn payout_fraction<R: Real>(u: R, e: R) -> R {
    -(-e * u.ln_1p()).exp_m1()
}

/// `r^e − 1` for `r > 0`, precise when `r` is near one.
#[inline]
fn pow_minus_one<R: Real>(r: R, e: R) -> R {
    (e * r.ln()).exp_m1()
}

/// Whether a constant-product order of `amount` certainly stays under its minimum-reserve cap
/// `reserve·room/min_reserve/net_share` (`room` = the other reserve less `min_reserve`), decided
/// without the cap's two divisions (on the swap's critical path).
///
/// `true` implies `amount < cap` as the caller computes it, in f32 and f64. With `s =
/// net_share ∈ [1/2, 1]`, `amount ≥ 2^-100` and `L = amount·m·s ≥ 2^-100` (rounded), every
/// rounded value on both sides is normal (`amount·m ≥ L`, `reserve·room > L`, `cap ≳ amount/2`)
/// or an overflow to +∞ that only raises the cap, so each of the at most three roundings per side
/// is within `(1 ± u)`, `u ≤ 2^-24`; with the margin `1 − 2^-10`, `L < reserve·room·(1 − 2^-10)`
/// gives `amount < cap·(1 − 2^-10)(1 + u)²/(1 − u)⁵ < cap`. Otherwise (NaN, tiny values, a fee
/// outside `[0, 1/2]`, near the cap) it answers `false` and the caller computes the cap. The
/// swap's result is then bit for bit the same: `amount < cap` means no cut and `gross =
/// amount.min(cap) = amount`.
#[inline]
fn surely_below_cap<R: Real>(amount: R, reserve: R, room: R, min_reserve: R, net_share: R) -> bool {
    let tiny = R::of(1.0 / 1_267_650_600_228_229_401_496_703_205_376.0); // 2^-100
    let lhs = amount * min_reserve * net_share;
    // `&`, not `&&`: every operand is cheap, and no branch lets the payout lanes vectorise.
    (net_share >= R::of(0.5))
        & (net_share <= R::one())
        & (amount >= tiny)
        & (lhs >= tiny)
        & (lhs < reserve * room * R::of(1.0 - 1.0 / 1024.0))
}

/// Buys alpha with `tao_amount` TAO (stake): fee `tao_amount·fee_rate` from the input, alpha out,
/// the pool updated in place. The order is cut so the alpha reserve stays at least `min_reserve`
/// (and, for the Balancer, so the net input is at most 1000× the TAO reserve). A non-positive
/// amount, or a pool whose alpha reserve is already at or below `min_reserve`, swaps nothing.
pub fn buy<R: Real>(
    kind: AmmKind,
    pool: &mut Pool<R>,
    tao_amount: R,
    fee_rate: R,
    min_reserve: R,
) -> SwapOutcome<R> {
    if kind == AmmKind::ConstantProduct {
        let (after, outcome, exact) =
            constant_product_purchase(*pool, tao_amount, fee_rate, min_reserve);
        if exact {
            *pool = after;
            return outcome;
        }
    }
    buy_with_cap(kind, pool, tao_amount, fee_rate, min_reserve)
}

/// [`buy`] computing the order's cap whatever the order (no fast path).
fn buy_with_cap<R: Real>(
    kind: AmmKind,
    pool: &mut Pool<R>,
    tao_amount: R,
    fee_rate: R,
    min_reserve: R,
) -> SwapOutcome<R> {
    let zero = R::zero();
    let (x, y) = (pool.alpha, pool.tao);
    if tao_amount <= zero || y <= zero {
        return SwapOutcome::default();
    }
    if x <= min_reserve {
        return SwapOutcome { cut: true, ..SwapOutcome::default() };
    }
    let net_share = R::one() - fee_rate;
    let (gross, cut, cut_by_reserve) = buy_cut(kind, pool, tao_amount, net_share, min_reserve);
    let fee = gross * fee_rate;
    let net = gross - fee;

    let mut output = match kind {
        AmmKind::ConstantProduct => x * net / (y + net),
        AmmKind::Balancer => {
            let w2 = pool.w_quote;
            x * payout_fraction(net / y, w2 / (R::one() - w2))
        }
    };
    // Pin the reserve to the floor when cut there, and guard the floor against rounding.
    if cut_by_reserve || x - output < min_reserve {
        output = x - min_reserve;
        pool.alpha = min_reserve;
    } else {
        pool.alpha = x - output;
    }
    let author_tao = match kind {
        AmmKind::ConstantProduct => zero,
        AmmKind::Balancer => fee,
    };
    pool.tao = y + (gross - author_tao);
    SwapOutcome { input_used: gross, fee, output, author_tao, cut }
}

/// [`buy`] on a constant-product pool, without a branch: the pool after the purchase, the
/// outcome, and whether they are exactly what [`buy`] gives.
///
/// They are whenever the order trades nothing (a non-positive amount or an empty TAO reserve,
/// [`buy`]'s first early return, chosen here by selects) or is surely below its minimum-reserve
/// cap (`surely_below_cap`) and leaves at least the floor in the alpha reserve; otherwise
/// (`false`) the caller must call [`buy`], which computes the cap. The mirror of
/// [`constant_product_sale`], with the same float operations as [`buy`]'s uncut path; [`buy`]
/// takes its constant-product result from here whenever it is exact, so the two forms cannot
/// drift apart, and the swaps' CPU lanes (`cpu/swaps.rs`) evaluate it for several pools at once.
#[inline(always)]
pub fn constant_product_purchase<R: Real>(
    pool: Pool<R>,
    tao_amount: R,
    fee_rate: R,
    min_reserve: R,
) -> (Pool<R>, SwapOutcome<R>, bool) {
    let zero = R::zero();
    let (x, y) = (pool.alpha, pool.tao);
    let trades = !((tao_amount <= zero) | (y <= zero));
    let gross = tao_amount;
    let fee = gross * fee_rate;
    let net = gross - fee;
    let output = x * net / (y + net);
    // [`buy`] pins the reserve at the floor when rounding would take it below.
    let below_floor = x - output < min_reserve;
    // `surely_below_cap` is false for `x ≤ min_reserve` (no room), [`buy`]'s second early return.
    let uncut = surely_below_cap(gross, y, x - min_reserve, min_reserve, R::one() - fee_rate)
        & !below_floor;
    // The constant product's fee stays in the pool: no TAO leaves for the author.
    let author_tao = zero;
    let bought = Pool { tao: y + (gross - author_tao), alpha: x - output, w_quote: pool.w_quote };
    let outcome = SwapOutcome { input_used: gross, fee, output, author_tao, cut: false };
    if trades { (bought, outcome, uncut) } else { (pool, SwapOutcome::default(), true) }
}

/// Sells `alpha_amount` alpha for TAO (unstake): fee `alpha_amount·fee_rate` from the input, TAO
/// out, the pool updated in place. Cut so the TAO reserve stays at least `min_reserve` (and, for
/// the Balancer, so the net input is at most 1000× the alpha reserve). On a Balancer pool the
/// alpha fee is sold fee-less after the trader's swap and its TAO goes to the block author
/// ([`SwapOutcome::author_tao`]).
pub fn sell<R: Real>(
    kind: AmmKind,
    pool: &mut Pool<R>,
    alpha_amount: R,
    fee_rate: R,
    min_reserve: R,
) -> SwapOutcome<R> {
    if kind == AmmKind::ConstantProduct {
        let (after, outcome, exact) =
            constant_product_sale(*pool, alpha_amount, fee_rate, min_reserve);
        if exact {
            *pool = after;
            return outcome;
        }
    }
    sell_with_cap(kind, pool, alpha_amount, fee_rate, min_reserve)
}

/// [`sell`] computing the order's cap whatever the order (no fast path).
fn sell_with_cap<R: Real>(
    kind: AmmKind,
    pool: &mut Pool<R>,
    alpha_amount: R,
    fee_rate: R,
    min_reserve: R,
) -> SwapOutcome<R> {
    let zero = R::zero();
    let (x, y) = (pool.alpha, pool.tao);
    if alpha_amount <= zero || x <= zero {
        return SwapOutcome::default();
    }
    if y <= min_reserve {
        return SwapOutcome { cut: true, ..SwapOutcome::default() };
    }
    let net_share = R::one() - fee_rate;
    let (gross, cut, cut_by_reserve) = sell_cut(kind, pool, alpha_amount, net_share, min_reserve);
    let fee = gross * fee_rate;
    let net = gross - fee;

    let (mut output, mut total_out) = match kind {
        AmmKind::ConstantProduct => {
            let out = y * net / (x + net);
            (out, out)
        }
        AmmKind::Balancer => {
            let w2 = pool.w_quote;
            let exponent = (R::one() - w2) / w2;
            (y * payout_fraction(net / x, exponent), y * payout_fraction(gross / x, exponent))
        }
    };
    if cut_by_reserve || y - total_out < min_reserve {
        total_out = y - min_reserve;
        pool.tao = min_reserve;
    } else {
        pool.tao = y - total_out;
    }
    output = output.min(total_out);
    pool.alpha = x + gross;
    SwapOutcome { input_used: gross, fee, output, author_tao: total_out - output, cut }
}

/// [`sell`] on a constant-product pool, without a branch: the pool after the sale, the outcome,
/// and whether they are exactly what [`sell`] gives.
///
/// They are whenever the order trades nothing (a non-positive amount or an empty alpha reserve,
/// [`sell`]'s first early return, chosen here by selects) or is surely below its minimum-reserve
/// cap (`surely_below_cap`) and leaves at least the floor in the TAO reserve; otherwise
/// (`false`) the caller must call [`sell`], which computes the cap. [`sell`] takes its
/// constant-product result from here whenever it is exact, so the two forms cannot drift apart;
/// having no branch, this also evaluates in lanes of several pools at once (the payouts' CPU
/// form, `cpu/payouts.rs`).
#[inline(always)]
pub fn constant_product_sale<R: Real>(
    pool: Pool<R>,
    alpha_amount: R,
    fee_rate: R,
    min_reserve: R,
) -> (Pool<R>, SwapOutcome<R>, bool) {
    let zero = R::zero();
    let (x, y) = (pool.alpha, pool.tao);
    let trades = !((alpha_amount <= zero) | (x <= zero));
    let gross = alpha_amount;
    let fee = gross * fee_rate;
    let net = gross - fee;
    let output = y * net / (x + net);
    // The pool pays `total_out`; uncut, all of it goes to the trader (`output.min(total_out)` is
    // `output`) and the fee stays in the pool, so [`sell`]'s `author_tao = total_out − output`
    // is 0 (NaN for an infinite output, as there).
    let total_out = output;
    // [`sell`] pins the reserve at the floor when rounding would take it below.
    let below_floor = y - total_out < min_reserve;
    // `surely_below_cap` is false for `y ≤ min_reserve` (no room), [`sell`]'s second early return.
    let uncut = surely_below_cap(gross, x, y - min_reserve, min_reserve, R::one() - fee_rate)
        & !below_floor;
    let sold = Pool { tao: y - total_out, alpha: x + gross, w_quote: pool.w_quote };
    let author_tao = total_out - output;
    let outcome = SwapOutcome { input_used: gross, fee, output, author_tao, cut: false };
    if trades { (sold, outcome, uncut) } else { (pool, SwapOutcome::default(), true) }
}

/// [`buy`]'s order cut: the gross input taken, whether the order was cut, and whether the
/// minimum reserve (rather than the input cap) cut it.
fn buy_cut<R: Real>(
    kind: AmmKind,
    pool: &Pool<R>,
    tao_amount: R,
    net_share: R,
    min_reserve: R,
) -> (R, bool, bool) {
    let (x, y) = (pool.alpha, pool.tao);
    // Largest net input that leaves exactly `min_reserve` alpha, and whether the reserve or the
    // input cap binds.
    let (net_max_reserve, net_cap) = match kind {
        // x·y/(y+Δ) = m  ⇔  Δ = y·(x − m)/m
        AmmKind::ConstantProduct => (y * (x - min_reserve) / min_reserve, R::infinity()),
        // x·(y/(y+Δ))^(w2/w1) = m  ⇔  Δ = y·((x/m)^(w1/w2) − 1)
        AmmKind::Balancer => {
            let w2 = pool.w_quote;
            let w1 = R::one() - w2;
            (
                y * pow_minus_one(x / min_reserve, w1 / w2),
                y * R::of(MAX_SWAP_INPUT_RESERVE_MULTIPLIER),
            )
        }
    };
    let gross_max_reserve = net_max_reserve / net_share;
    let gross_max = gross_max_reserve.min(net_cap / net_share);
    let cut = tao_amount > gross_max;
    let cut_by_reserve = cut && gross_max_reserve <= net_cap / net_share;
    let gross = tao_amount.min(gross_max);
    (gross, cut, cut_by_reserve)
}

/// [`sell`]'s order cut: the gross input taken, whether the order was cut, and whether the
/// minimum reserve (rather than the input cap) cut it.
fn sell_cut<R: Real>(
    kind: AmmKind,
    pool: &Pool<R>,
    alpha_amount: R,
    net_share: R,
    min_reserve: R,
) -> (R, bool, bool) {
    let (x, y) = (pool.alpha, pool.tao);
    // Largest gross input that leaves exactly `min_reserve` TAO, and the input cap (gross).
    let (gross_max_reserve, gross_cap) = match kind {
        // Only the net alpha moves the curve (the fee alpha just sits in the reserve):
        // y·x/(x+Δ) = m  ⇔  Δ = x·(y − m)/m
        AmmKind::ConstantProduct => {
            (x * (y - min_reserve) / min_reserve / net_share, R::infinity())
        }
        // The whole gross alpha ends up sold (trader's net + author's fee):
        // y·(x/(x+G))^(w1/w2) = m  ⇔  G = x·((y/m)^(w2/w1) − 1)
        AmmKind::Balancer => {
            let w2 = pool.w_quote;
            let w1 = R::one() - w2;
            (
                x * pow_minus_one(y / min_reserve, w2 / w1),
                x * R::of(MAX_SWAP_INPUT_RESERVE_MULTIPLIER) / net_share,
            )
        }
    };
    let gross_max = gross_max_reserve.min(gross_cap);
    let cut = alpha_amount > gross_max;
    let cut_by_reserve = cut && gross_max_reserve <= gross_cap;
    let gross = alpha_amount.min(gross_max);
    (gross, cut, cut_by_reserve)
}

/// Gross TAO (fee included) a buy must spend to move the spot price up to `target_price`; zero if
/// the target is not above the current price. Balancer: the net `Δy = y·((p'/p)^w1 − 1)`
/// (chain.md §4.3) grossed up by the fee, which leaves the pool. Constant product: the fee stays
/// in the pool and lifts the price too, so with `u = G/y`, `k = p'/p` the gross solves
/// `(1 + u)(1 + (1 − r)u) = k` (for `r = 0`, the v3 `Δy = y·(√(p'/p) − 1)`). Ignores the
/// minimum-reserve and input caps ([`buy`] applies them).
pub fn buy_for_target_price<R: Real>(
    kind: AmmKind,
    pool: &Pool<R>,
    target_price: R,
    fee_rate: R,
) -> R {
    let spot = price(kind, pool);
    if target_price.is_nan() || target_price <= spot || spot <= R::zero() {
        return R::zero();
    }
    let ratio = target_price / spot;
    match kind {
        AmmKind::ConstantProduct => pool.tao * fee_in_pool_growth(ratio, fee_rate),
        AmmKind::Balancer => {
            let w1 = R::one() - pool.w_quote;
            pool.tao * pow_minus_one(ratio, w1) / (R::one() - fee_rate)
        }
    }
}

/// Gross alpha (fee included) a sell must spend to move the spot price down to `target_price`;
/// zero if the target is not below the current price (or not positive). Balancer: the whole
/// gross alpha ends up sold (the fee is sold for the author), so `G = x·((p/p')^w2 − 1)`
/// (chain.md §4.3, applied to the gross). Constant product: the fee alpha stays in the pool, so
/// with `u = G/x`, `k = p/p'` the gross solves `(1 + u)(1 + (1 − r)u) = k`. Ignores the caps.
pub fn sell_for_target_price<R: Real>(
    kind: AmmKind,
    pool: &Pool<R>,
    target_price: R,
    fee_rate: R,
) -> R {
    let spot = price(kind, pool);
    if target_price.is_nan() || target_price >= spot || target_price <= R::zero() {
        return R::zero();
    }
    let ratio = spot / target_price;
    match kind {
        AmmKind::ConstantProduct => pool.alpha * fee_in_pool_growth(ratio, fee_rate),
        AmmKind::Balancer => pool.alpha * pow_minus_one(ratio, pool.w_quote),
    }
}

/// The root `u ≥ 0` of `(1 + u)(1 + (1 − r)u) = k` for `k ≥ 1`: the gross input, relative to the
/// input reserve, that moves a constant-product price by the factor `k` when the fee `r` stays in
/// the pool. Written in the cancellation-free form `2(k−1) / (b + √(b² + 4a(k−1)))`.
fn fee_in_pool_growth<R: Real>(k: R, fee_rate: R) -> R {
    let two = R::of(2.0);
    let a = R::one() - fee_rate;
    let b = two - fee_rate;
    let c = k - R::one();
    two * c / (b + (b * b + R::of(4.0) * a * c).sqrt())
}

/// Exit slippage of selling `alpha_amount` now: `1 − (TAO received)/(alpha_amount · spot price)`,
/// fee included, on the bare curve (no minimum-reserve cut). Zero for a non-positive amount or
/// an unpriced pool.
pub fn exit_slippage<R: Real>(kind: AmmKind, pool: &Pool<R>, alpha_amount: R, fee_rate: R) -> R {
    let spot = price(kind, pool);
    if alpha_amount <= R::zero() || spot <= R::zero() {
        return R::zero();
    }
    R::one() - exit_proceeds(kind, pool, alpha_amount, fee_rate) / (alpha_amount * spot)
}

/// The TAO received for selling `alpha_amount` now, fee included, on the bare curve (no
/// minimum-reserve cut): [`exit_slippage`]'s numerator. Zero for a non-positive amount or an
/// unpriced pool.
///
/// An amount past the float range (a stake compounded beyond it in an extreme config) sells
/// as the largest finite one. On the Balancer that is cut at the input cap like any large
/// order; on the constant product, where `y·n` overflows for such amounts, the proceeds are the
/// curve's limit `y·n/(x + n) → y`, the whole TAO reserve. Without that, the sale's `∞/∞` would
/// make the proceeds NaN although they are bounded by the reserve.
pub fn exit_proceeds<R: Real>(kind: AmmKind, pool: &Pool<R>, alpha_amount: R, fee_rate: R) -> R {
    if alpha_amount <= R::zero() || price(kind, pool) <= R::zero() {
        return R::zero();
    }
    let amount = if alpha_amount.is_finite() { alpha_amount } else { R::max_value() };
    let mut scratch = *pool;
    let output = sell(kind, &mut scratch, amount, fee_rate, R::zero()).output;
    if output.is_finite() { output } else { pool.tao }
}

/// Adds emission liquidity without moving the price (`adjust_protocol_liquidity`, chain.md §3.2,
/// §4.2, §4.3).
///
/// - Constant product: only the part proportional at the current price is added (the float form
///   of [`proportional_alpha_tao_and_remainders`]); callers pass amounts at the current price, so
///   normally both are added in full. The chain keeps a non-proportional leftover in its scrap
///   reservoir for the next block; the model drops it (the caller sees it as the difference
///   from the returned amounts), since the injection is proportional by construction.
/// - Balancer: both amounts are added in full and the weights re-set,
///   `w2' = w2·x·(y+Δy) / (w1·y·(x+Δx) + w2·x·(y+Δy))`, which keeps the price for any
///   proportions. If `w2'` would leave `[0.01, 0.99]` the chain refuses the injection and adds
///   nothing; so does the model (both returned amounts zero).
///
/// Non-positive amounts are treated as zero.
pub fn inject<R: Real>(
    kind: AmmKind,
    pool: &mut Pool<R>,
    tao_in: R,
    alpha_in: R,
) -> InjectOutcome<R> {
    let zero = R::zero();
    let tao_in = tao_in.max(zero);
    let alpha_in = alpha_in.max(zero);
    match kind {
        AmmKind::ConstantProduct => {
            let spot = price(kind, pool);
            // Both candidates first, then selects (no division inside a branch: the subnet
            // lanes of `cpu/injection.rs` run this as vectors).
            let (tao_at_spot, alpha_at_spot) = (alpha_in * spot, tao_in / spot);
            let (tao_added, alpha_added) = if spot <= zero {
                // An unpriced pool takes both as they come (it has no price to keep).
                (tao_in, alpha_in)
            } else if tao_at_spot <= tao_in {
                (tao_at_spot, alpha_in)
            } else {
                (tao_in, alpha_at_spot)
            };
            pool.tao += tao_added;
            pool.alpha += alpha_added;
            InjectOutcome { tao_added, alpha_added }
        }
        AmmKind::Balancer => {
            let (x, y) = (pool.alpha, pool.tao);
            let w2 = pool.w_quote;
            let w1 = R::one() - w2;
            let quote_term = w2 * x * (y + tao_in);
            let base_term = w1 * y * (x + alpha_in);
            let denominator = base_term + quote_term;
            let new_w2 = if denominator > zero { quote_term / denominator } else { R::of(0.5) };
            let min_weight = R::of(MIN_WEIGHT);
            if new_w2.is_nan() || new_w2 < min_weight || R::one() - new_w2 < min_weight {
                return InjectOutcome::default();
            }
            pool.w_quote = new_w2;
            pool.tao = y + tao_in;
            pool.alpha = x + alpha_in;
            InjectOutcome { tao_added: tao_in, alpha_added: alpha_in }
        }
    }
}

/// The chain's swap fee in rao: `amount · (fee_rate/65535)` in `U64F64`, truncated
/// (`calculate_fee_amount`, chain.md §4.2).
pub fn chain_fee_rao(amount_rao: u64, fee_rate: u16) -> u64 {
    let rate_bits = (u128::from(fee_rate) << 64) / u128::from(u16::MAX);
    ((u128::from(amount_rao) * rate_bits) >> 64) as u64
}

/// `get_proportional_alpha_tao_and_remainders` (REF-TF `pallets/swap/src/pallet/impls.rs`), in rao
/// and `U64F64` as on chain: splits an injection `(tao, alpha)` into the part proportional at the
/// price `sqrt_price²` and the leftovers. Returns `(used_tao, used_alpha, rem_tao, rem_alpha)`.
/// `sqrt_price` is converted to `U64F64` by truncation.
pub fn proportional_alpha_tao_and_remainders(
    sqrt_price: f64,
    tao: u64,
    alpha: u64,
) -> (u64, u64, u64, u64) {
    let sqrt_bits = u64f64_from_f64(sqrt_price);
    let price_bits = u64f64_mul(sqrt_bits, sqrt_bits);
    // tao_equivalent = floor(alpha · price)
    let tao_equivalent = saturate_u64(u64f64_mul(u128::from(alpha) << 64, price_bits) >> 64);
    if tao_equivalent <= tao {
        (tao_equivalent, alpha, tao - tao_equivalent, 0)
    } else {
        // alpha_equivalent = floor(tao / price); safe_div gives 0 for a zero price.
        let alpha_equivalent =
            (u128::from(tao) << 64).checked_div(price_bits).map_or(0, saturate_u64);
        (tao, alpha_equivalent, 0, alpha.saturating_sub(alpha_equivalent))
    }
}

/// `U64F64::saturating_from_num(f64)` up to rounding direction (truncates), as raw bits.
fn u64f64_from_f64(v: f64) -> u128 {
    // The cast saturates at 0 and u128::MAX, as the chain's conversion does.
    (v * 18_446_744_073_709_551_616.0) as u128
}

/// `U64F64` saturating multiplication on raw bits, truncating the fraction.
fn u64f64_mul(a: u128, b: u128) -> u128 {
    let (a_hi, a_lo) = (a >> 64, a & u128::from(u64::MAX));
    let (b_hi, b_lo) = (b >> 64, b & u128::from(u64::MAX));
    // (a_hi·2^64 + a_lo)(b_hi·2^64 + b_lo) / 2^64
    let high = a_hi.checked_mul(b_hi).and_then(|v| v.checked_mul(1u128 << 64));
    let cross = (a_hi * b_lo).checked_add(a_lo * b_hi);
    let low = (a_lo * b_lo) >> 64;
    match (high, cross) {
        (Some(h), Some(c)) => {
            h.checked_add(c).and_then(|v| v.checked_add(low)).unwrap_or(u128::MAX)
        }
        _ => u128::MAX,
    }
}

fn saturate_u64(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `surely_below_cap` never says "below" for an amount at or above the cap the swap computes
    /// (`reserve·room/m/s`), in either precision: amounts straddling the cap by a few ulps to a
    /// few percent, over reserves, floors and fees spanning the allowed range and beyond it.
    fn check_cap_test<R: Real>() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut below = 0;
        for _ in 0..200_000 {
            let reserve = R::of(10f64.powf(next() * 90.0 - 45.0));
            let other = R::of(10f64.powf(next() * 90.0 - 45.0));
            let m = R::of(10f64.powf(next() * 90.0 - 50.0));
            let s = R::one() - R::of(next() * 0.6);
            let room = other - m;
            let cap = reserve * room / m / s;
            let sign = if next() < 0.5 { -1.0 } else { 1.0 };
            let amount = cap * R::of(1.0 + sign * 0.9 * 10f64.powf(-next() * 8.0));
            if surely_below_cap(amount, reserve, room, m, s) {
                below += 1;
                assert!(amount < cap, "{amount:?} vs cap {cap:?} (r {reserve:?}, room {room:?})");
            }
        }
        assert!(below > 5_000, "the fast path is taken ({below})");
    }

    #[test]
    fn surely_below_cap_is_exact_f64() {
        check_cap_test::<f64>();
    }

    #[test]
    fn surely_below_cap_is_exact_f32() {
        check_cap_test::<f32>();
    }

    /// Whenever [`constant_product_sale`] (`purchase`: [`constant_product_purchase`]) says it is
    /// exact, its pool and outcome are those of the swap with the cap computed, bit for bit: over
    /// orders from nothing (zero, negative) to far beyond the cap, output reserves from below the
    /// floor to barely above it to large, empty input reserves, tiny amounts and NaN, in both
    /// precisions.
    fn check_fast_swap_test<R: Real>(purchase: bool) {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut exact, mut inexact) = (0, 0);
        for n in 0..200_000 {
            let m = R::of(10f64.powf(next() * 12.0 - 9.0));
            // `input` is the reserve of the token paid in, `output` the one paid out.
            let input = match n % 10 {
                0 => R::zero(),
                _ => R::of(10f64.powf(next() * 30.0 - 10.0)),
            };
            let output = match n % 7 {
                0 => m * R::of(next()),
                1 => m * (R::one() + R::of(2f64.powf(-60.0 * next()))),
                _ => R::of(10f64.powf(next() * 30.0 - 10.0)),
            };
            let fee = R::of(if n % 5 == 0 { 0.0 } else { next() * 0.6 });
            let cap = input * (output - m) / m / (R::one() - fee);
            let amount = match n % 11 {
                0 => R::zero(),
                1 => -R::of(next()),
                2 => R::of(1e-35),
                3 => R::nan(),
                _ => cap * R::of(1.0 + (next() - 0.5) * 10f64.powf(-next() * 8.0)),
            };
            let kind = AmmKind::ConstantProduct;
            let mut slow_pool;
            let (fast_pool, fast, is_exact, slow) = if purchase {
                let pool = Pool::new(input, output);
                slow_pool = pool;
                let (p, o, e) = constant_product_purchase(pool, amount, fee, m);
                (p, o, e, buy_with_cap(kind, &mut slow_pool, amount, fee, m))
            } else {
                let pool = Pool::new(output, input);
                slow_pool = pool;
                let (p, o, e) = constant_product_sale(pool, amount, fee, m);
                (p, o, e, sell_with_cap(kind, &mut slow_pool, amount, fee, m))
            };
            if !is_exact {
                inexact += 1;
                continue;
            }
            exact += 1;
            let bits = |p: &Pool<R>, o: &SwapOutcome<R>| {
                let v = [p.tao, p.alpha, p.w_quote, o.input_used, o.fee, o.output, o.author_tao];
                (v.map(|r| r.to_f64().map(f64::to_bits)), o.cut)
            };
            assert_eq!(
                bits(&fast_pool, &fast),
                bits(&slow_pool, &slow),
                "in {input:?} out {output:?} m {m:?} fee {fee:?} amount {amount:?}"
            );
        }
        assert!(exact > 50_000 && inexact > 50_000, "both sides taken ({exact}, {inexact})");
    }

    #[test]
    fn constant_product_sale_is_the_sale_with_cap_f64() {
        check_fast_swap_test::<f64>(false);
    }

    #[test]
    fn constant_product_sale_is_the_sale_with_cap_f32() {
        check_fast_swap_test::<f32>(false);
    }

    #[test]
    fn constant_product_purchase_is_the_purchase_with_cap_f64() {
        check_fast_swap_test::<f64>(true);
    }

    #[test]
    fn constant_product_purchase_is_the_purchase_with_cap_f32() {
        check_fast_swap_test::<f32>(true);
    }

    #[test]
    fn u64f64_mul_matches_small_products() {
        let one = 1u128 << 64;
        assert_eq!(u64f64_mul(2 * one, 3 * one), 6 * one);
        assert_eq!(u64f64_mul(one / 2, one / 2), one / 4);
        assert_eq!(u64f64_mul(u128::MAX, 2 * one), u128::MAX);
    }

    #[test]
    fn chain_fee_floors_in_rao() {
        // 123_456 · 33 / 65_535 = 62.16…
        assert_eq!(chain_fee_rao(123_456, 33), 62);
        assert_eq!(chain_fee_rao(1_000, 33), 0);
        // A rate of 65535/65535 is exactly one in U64F64.
        assert_eq!(chain_fee_rao(65_535, 65_535), 65_535);
    }

    #[test]
    fn zero_fee_constant_product_target_is_square_root() {
        let pool = Pool::new(4.0_f64, 2.0);
        // p = 2 → 8: y must double (√4 = 2), Δ = y.
        let d = buy_for_target_price(AmmKind::ConstantProduct, &pool, 8.0, 0.0);
        assert!((d - 4.0).abs() < 1e-12);
        let d = sell_for_target_price(AmmKind::ConstantProduct, &pool, 0.5, 0.0);
        assert!((d - 2.0).abs() < 1e-12);
    }

    #[test]
    fn small_balancer_trade_keeps_precision_in_f32() {
        // 1 TAO into a 1e6 TAO pool: the payout fraction is ~1e-6, where 1 − powf would keep only
        // about one significant digit in f32.
        let mut pool32 = Pool::weighted(1.0e6_f32, 2.0e6, 0.4);
        let mut pool64 = Pool::weighted(1.0e6_f64, 2.0e6, 0.4);
        let out32 = buy(AmmKind::Balancer, &mut pool32, 1.0, 0.0, 1.0e-3).output;
        let out64 = buy(AmmKind::Balancer, &mut pool64, 1.0, 0.0, 1.0e-3).output;
        let rel = (f64::from(out32) - out64).abs() / out64;
        assert!(rel < 1e-5, "f32 payout off by {rel:e} relative");
    }

    #[test]
    fn target_price_inputs_land_on_the_target_with_fees() {
        for kind in [AmmKind::ConstantProduct, AmmKind::Balancer] {
            let w = if kind == AmmKind::Balancer { 0.3 } else { 0.5 };
            let start = Pool::weighted(250.0_f64, 900.0, w);
            let spot = price(kind, &start);

            let target = spot * 1.7;
            let gross = buy_for_target_price(kind, &start, target, 0.01);
            let mut pool = start;
            buy(kind, &mut pool, gross, 0.01, 1.0e-3);
            let reached = price(kind, &pool);
            assert!(
                (reached - target).abs() < 1e-12 * target,
                "{kind:?} buy: {reached} vs {target}"
            );

            let target = spot / 1.7;
            let gross = sell_for_target_price(kind, &start, target, 0.01);
            let mut pool = start;
            sell(kind, &mut pool, gross, 0.01, 1.0e-3);
            let reached = price(kind, &pool);
            assert!(
                (reached - target).abs() < 1e-12 * target,
                "{kind:?} sell: {reached} vs {target}"
            );
        }
    }

    /// The proceeds of an exit grow with the amount towards their limit and stay there (finite,
    /// never NaN) for amounts past the float range: checked against the closed forms `y·n/(x + n)`
    /// (constant product, limit `y`) and `y·(1 − (x/(x + n))^((1−w)/w))` with the net input `n`
    /// cut at `MAX_SWAP_INPUT_RESERVE_MULTIPLIER·x` (Balancer), `n` the amount net of the fee, for
    /// amounts from one alpha to `MAX` and infinity, in f64 and f32.
    fn check_exit_proceeds_test<R: Real>() {
        let (x, y, fee) = (2.0e4, 1.5e3, 0.05);
        let cap = MAX_SWAP_INPUT_RESERVE_MULTIPLIER * x;
        let curves =
            [(AmmKind::ConstantProduct, 0.5), (AmmKind::Balancer, 0.5), (AmmKind::Balancer, 0.9)];
        for (kind, w) in curves {
            let pool = Pool::weighted(R::of(y), R::of(x), R::of(w));
            let closed = |amount: f64| {
                let net = amount * (1.0 - fee);
                match kind {
                    AmmKind::ConstantProduct if net.is_finite() => y / (1.0 + x / net),
                    AmmKind::ConstantProduct => y,
                    // `1 − (x/(x + n))^e` without the cancellation near `n = 0`.
                    AmmKind::Balancer => {
                        -y * (-(1.0 - w) / w * (net.min(cap) / x).ln_1p()).exp_m1()
                    }
                }
            };
            let mut last = 0.0;
            for amount in [1.0, 1e3, 1e6, 1e12, 1e30, R::max_value().f64(), f64::INFINITY] {
                let got = exit_proceeds(kind, &pool, R::of(amount), R::of(fee)).f64();
                let want = closed(amount);
                let rel = (got - want).abs() / want;
                assert!(rel < 1e4 * R::EPS, "{kind:?} {amount}: {got} vs {want} (rel {rel:e})");
                assert!(got >= last, "{kind:?}: the proceeds fall at {amount}: {got} < {last}");
                last = got;
            }
        }
    }

    #[test]
    fn exit_proceeds_reach_the_reserve_and_stay_finite_f64() {
        check_exit_proceeds_test::<f64>();
    }

    #[test]
    fn exit_proceeds_reach_the_reserve_and_stay_finite_f32() {
        check_exit_proceeds_test::<f32>();
    }
}
