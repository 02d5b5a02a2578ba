//! # Emission shares: splitting the block emission among subnets (chain.md §2; model.md §4)
//!
//! Follows subtensor `pallets/subtensor/src/coinbase/subnet_emissions.rs` (`get_shares`,
//! `get_shares_flow`, `get_ema_flow`, `get_lower_limit`, `inplace_pow_normalize`) for the four
//! regimes of [`EmissionRegime`]:
//!
//! - `price_ema` (§2.2): share ∝ moving price P̄ (the chain's `SubnetMovingPrice`).
//! - `taoflow` (§2.3): share ∝ `max(S − L, 0)^p`, S the flow EMA, `L = max(cutoff, min(0, min S))`.
//! - `net_taoflow` (§2.4): as taoflow on `S − norm·P` with the protocol-flow EMA P.
//! - `price_burn` (§2.5): share ∝ `P̄·(1 − miner_burn)`, renormalised.
//!
//! Every function works on the slices of one path's subnets, writes into a caller-given `shares`
//! slice (which doubles as scratch) and never allocates. Non-eligible subnets (mask value 0) get
//! share 0 and take no part in sums, minima or normalisers. Shares sum to 1 or are all zero.
//!
//! The flow EMA is advanced per block on the chain; [`flow_ema_over_blocks`] is its closed form
//! over an engine step of `n` blocks with the step's flow spread evenly over the blocks.

use crate::Real;
use crate::lanes::SlotSum;
use crate::params::EmissionRegime;
use crate::real::{SMALL_ARGUMENT, exp_m1_series, ln_1p, safe_div};
use crate::simd::{self, Kernel};

/// Decay factors of an EMA advanced over several blocks with a constant input:
/// `s_n = keep·s_0 + gain·x` (`gain = 1 − keep`, computed without cancellation).
///
/// Computed in f64 once per step (they depend only on parameters and block numbers), so the f32
/// instantiation does not suffer `1 − α` rounding for the tiny per-block α of the chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmaFactors {
    /// Weight of the old state, `Π(1 − α_b)`.
    pub keep: f64,
    /// Weight of the constant input, `1 − Π(1 − α_b)`.
    pub gain: f64,
}

impl EmaFactors {
    /// The identity (no blocks).
    pub const IDENTITY: EmaFactors = EmaFactors { keep: 1.0, gain: 0.0 };

    /// Factors from `ln keep = Σ ln(1 − α_b)`, keeping `gain = −expm1(ln keep)` accurate when
    /// `keep` is close to 1.
    ///
    /// For a small `ln keep` (a step's worth of a slow EMA) `keep = 1 − gain`, which is `e^{ln
    /// keep}` to an ulp and spares the `exp`.
    pub fn from_log_keep(log_keep: f64) -> Self {
        if log_keep.abs() < SMALL_ARGUMENT {
            Self::from_small_log_keep(log_keep)
        } else {
            EmaFactors { keep: log_keep.exp(), gain: -log_keep.exp_m1() }
        }
    }

    /// [`EmaFactors::from_log_keep`] for `|ln keep| < SMALL_ARGUMENT`: `gain` by the series of
    /// [`exp_m1_series`] and `keep = 1 − gain`, with no branch, so a loop over subnets that has
    /// checked the range vectorises it (the moving price's lanes).
    #[inline(always)]
    pub fn from_small_log_keep(log_keep: f64) -> Self {
        let gain = -exp_m1_series(log_keep);
        EmaFactors { keep: 1.0 - gain, gain }
    }

    /// Factors of `n` blocks of an EMA with constant smoothing `alpha` (in `[0, 1]`):
    /// `keep = (1 − α)^n`.
    pub fn constant_alpha(alpha: f64, n: u32) -> Self {
        if n == 0 || alpha <= 0.0 {
            return Self::IDENTITY;
        }
        if alpha >= 1.0 {
            return EmaFactors { keep: 0.0, gain: 1.0 };
        }
        Self::from_log_keep(f64::from(n) * ln_1p(-alpha))
    }

    /// Applies the factors: `keep·state + gain·input`.
    #[inline(always)]
    pub fn apply<R: Real>(self, state: R, input: R) -> R {
        R::of(self.keep) * state + R::of(self.gain) * input
    }
}

/// One block of the flow EMA: `S ← (1 − α_f)·S + α_f·F` (chain.md §2.3, `get_ema_flow`).
///
/// On the chain `F` is the net TAO staked into the subnet since the previous update, i.e. the TAO
/// flow of one block, so S is in TAO per block (rao per block on the chain, where the cutoff L is
/// stated in the same unit).
#[inline]
pub fn flow_ema_block<R: Real>(ema: R, flow: R, alpha: f64) -> R {
    // `S + α(F − S)` equals `(1 − α)S + αF` but keeps α exact: `1 − α` rounds α by up to
    // 1e-16/α relative (3e-11 at the chain's α_f, and fatal in f32).
    ema + R::of(alpha) * (flow - ema)
}

/// The flow EMA after `n` blocks whose total flow `flow_total` is spread evenly over the blocks
/// (`F_b = flow_total / n`): `S_n = (1 − α_f)^n·S + (1 − (1 − α_f)^n)·flow_total/n`, with
/// `factors = EmaFactors::constant_alpha(α_f, n)`. Equals `n` applications of
/// [`flow_ema_block`] with that per-block flow.
#[inline(always)]
pub fn flow_ema_over_blocks<R: Real>(ema: R, flow_total: R, factors: EmaFactors, n: u32) -> R {
    if n == 0 {
        return ema;
    }
    factors.apply(ema, flow_total / R::of(f64::from(n)))
}

/// Running extrema of [`pow_normalize`] and [`clamp_and_pow_normalize`]: one AVX-512 register of
/// f64 (a chain of 128 dependent selects per step was 3% of the light step).
const REDUCE_LANES: usize = 8;

/// Power normalisation `z_i ← z_iᵖ / Σ_j z_jᵖ` (chain.md §2.3, `inplace_pow_normalize`), `p > 0`.
///
/// This is the exact intent. The chain rescales z (max to 1, then by `sqrt(i32::MAX/(n·max²))`)
/// and evaluates the power as `exp(p·ln x)` in I32F32, which carries about 1e-3 relative error
/// (its tests allow 1%) and flushes values whose `ln` underflows to 0; we do not reproduce that.
/// Values are divided by the maximum first so `zᵖ` cannot overflow; negative entries count as 0.
/// All-zero (or all non-positive) input gives all zeros.
#[inline(always)]
pub fn pow_normalize<R: Real>(z: &mut [R], p: R) {
    // The largest entry above +0 (else +0), in REDUCE_LANES running maxima: `>` from +0 keeps
    // the first of equal values, and equal values above +0 have equal bits, so the order does
    // not change the result (NaN never wins a `>`).
    // Whole chunks as fixed-size arrays (as in `clamp_and_pow_normalize`), so that the maxima
    // stay in a register: over `chunks` they were kept on the stack, each chunk's masked store
    // read back by the next.
    let mut lane_max = [R::zero(); REDUCE_LANES];
    let chunks = z.chunks_exact(REDUCE_LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        let chunk: &[R; REDUCE_LANES] = chunk.try_into().expect("a whole chunk");
        raise_maxima(&mut lane_max, chunk);
    }
    raise_maxima(&mut lane_max, rest);
    let mut max = R::zero();
    for m in lane_max {
        if m > max {
            max = m;
        }
    }
    if max <= R::zero() {
        for x in z.iter_mut() {
            *x = R::zero();
        }
        return;
    }
    // The largest entry contributes exactly 1, so the sum is >= 1 and safe to divide by.
    // `x¹ = x` is exact, and what libm's `pow` returns; skipping the call at the chain's default
    // exponent 1 spares a `pow` per subnet-step (2% of the light step) and the GPU's
    // `exp(ln x)` rounding. The sum runs in slot lanes (`SlotSum`, as the shader's): one chain
    // of dependent additions through the slots was half the stage's time.
    let identity = p == R::one();
    for x in z.iter_mut() {
        let scaled = (*x / max).max(R::zero());
        *x = if scaled > R::zero() { scaled } else { R::zero() };
    }
    if !identity {
        for x in z.iter_mut() {
            if *x > R::zero() {
                *x = x.powf(p);
            }
        }
    }
    let mut lanes = SlotSum::default();
    for (i, &x) in z.iter().enumerate() {
        lanes.add(i, x);
    }
    let sum = lanes.value();
    for x in z.iter_mut() {
        *x = safe_div(*x, sum);
    }
}

/// Raises lane `l` of `lane_max` to `xs[l]` where that is larger (`>`: NaN never wins).
#[inline(always)]
fn raise_maxima<R: Real>(lane_max: &mut [R; REDUCE_LANES], xs: &[R]) {
    for (m, &x) in lane_max.iter_mut().zip(xs) {
        *m = if x > *m { x } else { *m };
    }
}

/// Lowers lane `l` of `lane_lowest` to `flows[l]` where `flags[l]` marks it eligible (`min`,
/// which skips NaN).
#[inline(always)]
fn lower_minima<R: Real>(lane_lowest: &mut [R; REDUCE_LANES], flows: &[R], flags: &[u32]) {
    for (l, (&flow, &flag)) in flows.iter().zip(flags).enumerate() {
        let counted = if flag != 0 { flow } else { R::zero() };
        lane_lowest[l] = lane_lowest[l].min(counted);
    }
}

#[inline]
fn is_eligible(eligible: &[u32], i: usize) -> bool {
    eligible[i] != 0
}

/// Divides the eligible entries of `weights` (non-negative) by their sum; zero elsewhere.
/// Returns false (leaving every entry zero) when the sum is zero.
fn normalize_eligible<R: Real>(weights: &mut [R], eligible: &[u32]) -> bool {
    let mut sum = R::zero();
    for (i, w) in weights.iter_mut().enumerate() {
        *w = if is_eligible(eligible, i) { w.max(R::zero()) } else { R::zero() };
        sum += *w;
    }
    if sum <= R::zero() {
        for w in weights.iter_mut() {
            *w = R::zero();
        }
        return false;
    }
    for w in weights.iter_mut() {
        *w /= sum;
    }
    true
}

/// Era-A shares (chain.md §2.2): `share_i = P̄_i / Σ_eligible P̄_j`.
pub fn shares_price_ema<R: Real>(moving_price: &[R], eligible: &[u32], shares: &mut [R]) {
    shares.copy_from_slice(&moving_price[..shares.len()]);
    normalize_eligible(shares, eligible);
}

/// Clamp and power-normalise flow values already written into `shares` (chain.md §2.3):
/// `L = max(cutoff, min_eligible min(S_i, 0))`, `z = max(S − L, 0)`, `share = zᵖ/Σzᵖ`.
fn clamp_and_pow_normalize<R: Real>(
    shares: &mut [R],
    eligible: &[u32],
    cutoff: f64,
    exponent: f64,
) {
    simd::run(ClampPowNormalize { shares, eligible, cutoff, exponent });
}

/// [`clamp_and_pow_normalize`] as a [`Kernel`]: its loops (two divisions per entry, the extrema
/// and the sum in lanes) at the CPU's widest vectors.
struct ClampPowNormalize<'a, R> {
    shares: &'a mut [R],
    eligible: &'a [u32],
    cutoff: f64,
    exponent: f64,
}

impl<R: Real> Kernel for ClampPowNormalize<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let ClampPowNormalize { shares, eligible, cutoff, exponent } = self;
        let eligible = &eligible[..shares.len()];
        // The lowest eligible flow below +0 (else ±0), in REDUCE_LANES running minima: `min` skips
        // NaN in any order and distinct values are distinct bits, so only the sign of a zero result
        // can depend on the order, and a zero limit's sign changes no share (entries at or below
        // zero become +0 in [`pow_normalize`]).
        // Whole chunks as fixed-size arrays, so that the loop is vectorised; entry `k` in lane
        // `k % REDUCE_LANES`.
        let mut lane_lowest = [R::zero(); REDUCE_LANES];
        let (flows, flags) =
            (shares.chunks_exact(REDUCE_LANES), eligible.chunks_exact(REDUCE_LANES));
        let (rest_flows, rest_flags) = (flows.remainder(), flags.remainder());
        for (flows, flags) in flows.zip(flags) {
            let (flows, flags): (&[R; REDUCE_LANES], &[u32; REDUCE_LANES]) = (
                flows.try_into().expect("a whole chunk"),
                flags.try_into().expect("a whole chunk"),
            );
            lower_minima(&mut lane_lowest, flows, flags);
        }
        lower_minima(&mut lane_lowest, rest_flows, rest_flags);
        let lowest = lane_lowest.into_iter().fold(R::zero(), R::min);
        let lower_limit = R::of(cutoff).max(lowest);
        for (i, z) in shares.iter_mut().enumerate() {
            *z = if is_eligible(eligible, i) {
                (*z - lower_limit).max(R::zero())
            } else {
                R::zero()
            };
        }
        pow_normalize(shares, R::of(exponent));
    }
}

/// Era-B Taoflow shares (chain.md §2.3) from the flow EMAs `S`, with `TaoFlowCutoff` `cutoff`
/// (same unit as S) and `FlowNormExponent` `exponent`: negative or sub-cutoff flow gets 0.
pub fn shares_taoflow<R: Real>(
    flow_ema: &[R],
    eligible: &[u32],
    cutoff: f64,
    exponent: f64,
    shares: &mut [R],
) {
    shares.copy_from_slice(&flow_ema[..shares.len()]);
    clamp_and_pow_normalize(shares, eligible, cutoff, exponent);
}

/// Era-B′ net-flow shares (chain.md §2.4): `norm = min(1, Σmax(S,0)/Σmax(P,0))` over eligible
/// subnets, `net_i = S_i − (P_i > 0 ? norm·P_i : P_i)`, then as [`shares_taoflow`] on `net`.
pub fn shares_net_taoflow<R: Real>(
    flow_ema: &[R],
    protocol_flow_ema: &[R],
    eligible: &[u32],
    cutoff: f64,
    exponent: f64,
    shares: &mut [R],
) {
    let mut positive_user = R::zero();
    let mut positive_protocol = R::zero();
    for i in 0..shares.len() {
        if is_eligible(eligible, i) {
            positive_user += flow_ema[i].max(R::zero());
            positive_protocol += protocol_flow_ema[i].max(R::zero());
        }
    }
    // Scaling the protocol flow down (never up) keeps a large protocol flow from pushing every
    // subnet's net flow negative.
    let norm = safe_div(positive_user, positive_protocol).min(R::one());
    for i in 0..shares.len() {
        let protocol = protocol_flow_ema[i];
        let offset = if protocol > R::zero() { norm * protocol } else { protocol };
        shares[i] = flow_ema[i] - offset;
    }
    clamp_and_pow_normalize(shares, eligible, cutoff, exponent);
}

/// Era-C shares (chain.md §2.5): `w_i = (P̄_i/ΣP̄)·(1 − miner_burn_i)` renormalised; falls back to
/// pure price shares when every weight is zero (every eligible subnet burns all).
pub fn shares_price_burn<R: Real>(
    moving_price: &[R],
    miner_burn: &[R],
    eligible: &[u32],
    shares: &mut [R],
) {
    for i in 0..shares.len() {
        let kept = R::one() - miner_burn[i].max(R::zero()).min(R::one());
        shares[i] = moving_price[i].max(R::zero()) * kept;
    }
    // The 1/ΣP̄ factor cancels in the renormalisation.
    if !normalize_eligible(shares, eligible) {
        shares_price_ema(moving_price, eligible, shares);
    }
}

/// Per-subnet inputs of [`emission_shares`], one entry per subnet slot of a path. A slice the
/// chosen regime does not read may be empty.
#[derive(Clone, Copy, Debug)]
pub struct ShareInputs<'a, R> {
    /// Moving (EMA) price P̄ (price regimes).
    pub moving_price: &'a [R],
    /// User flow EMA S (flow regimes).
    pub flow_ema: &'a [R],
    /// Protocol flow EMA P (net-flow regime).
    pub protocol_flow_ema: &'a [R],
    /// Miner-burn fraction in `[0, 1]` (price-burn regime).
    pub miner_burn: &'a [R],
    /// Eligibility mask: 1 = receives emission, 0 = not (chain.md §2.1).
    pub eligible: &'a [u32],
}

/// Emission shares under `regime`, written into `shares` (sum 1 or all zero); `flow_cutoff` and
/// `flow_exponent` are `ChainParams::{flow_cutoff, flow_exponent}` (flow regimes only).
pub fn emission_shares<R: Real>(
    regime: EmissionRegime,
    inputs: &ShareInputs<'_, R>,
    flow_cutoff: f64,
    flow_exponent: f64,
    shares: &mut [R],
) {
    match regime {
        EmissionRegime::PriceEma => shares_price_ema(inputs.moving_price, inputs.eligible, shares),
        EmissionRegime::Taoflow => {
            shares_taoflow(inputs.flow_ema, inputs.eligible, flow_cutoff, flow_exponent, shares);
        }
        EmissionRegime::NetTaoflow => shares_net_taoflow(
            inputs.flow_ema,
            inputs.protocol_flow_ema,
            inputs.eligible,
            flow_cutoff,
            flow_exponent,
            shares,
        ),
        EmissionRegime::PriceBurn => {
            shares_price_burn(inputs.moving_price, inputs.miner_burn, inputs.eligible, shares);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `shares_taoflow` (lane extrema in `clamp_and_pow_normalize` and `pow_normalize`) gives the
    /// bits of the one-entry-at-a-time form written out here (its sum in the shader's eight slot
    /// lanes), over lengths around the lanes,
    /// ineligible entries, negative, zero (both signs), tied and NaN flows, cutoffs of zero and
    /// above and below (where the lowest flow sets the limit), and exponents 1 and 1.5.
    #[test]
    fn lane_extrema_give_the_serial_shares() {
        fn serial(flow: &[f64], eligible: &[u32], cutoff: f64, p: f64) -> Vec<f64> {
            let mut lowest = 0.0_f64;
            for (i, &f) in flow.iter().enumerate() {
                if eligible[i] != 0 {
                    lowest = lowest.min(f);
                }
            }
            let limit = cutoff.max(lowest);
            let z: Vec<f64> = (0..flow.len())
                .map(|i| if eligible[i] != 0 { (flow[i] - limit).max(0.0) } else { 0.0 })
                .collect();
            let mut max = 0.0;
            for &x in &z {
                if x > max {
                    max = x;
                }
            }
            if max <= 0.0 {
                return vec![0.0; z.len()];
            }
            let powered: Vec<f64> = z
                .iter()
                .map(|&x| {
                    let scaled = (x / max).max(0.0);
                    if scaled > 0.0 { if p == 1.0 { scaled } else { scaled.powf(p) } } else { 0.0 }
                })
                .collect();
            // Slot i adds into lane i % 8, then the lanes in order (the shader's lanes).
            let mut lanes = [0.0_f64; 8];
            for (i, &x) in powered.iter().enumerate() {
                lanes[i % 8] += x;
            }
            let sum = lanes.iter().fold(0.0, |a, &b| a + b);
            powered.iter().map(|&x| if sum == 0.0 { 0.0 } else { x / sum }).collect()
        }
        for len in [0, 1, 7, 8, 9, 17, 64, 128, 131] {
            for case in 0..6 {
                let flow: Vec<f64> = (0..len)
                    .map(|i| match (i * 31 + case * 7) % 13 {
                        0 => f64::NAN,
                        1 => -0.0,
                        2 => 0.0,
                        3 => -250.0 - case as f64,
                        4 | 5 => 900.0,
                        k => (k as f64 - 6.0) * 37.0 * (1.0 + case as f64),
                    })
                    .collect();
                let eligible: Vec<u32> = (0..len).map(|i| u32::from((i + case) % 4 != 0)).collect();
                for cutoff in [0.0, 10.0, -100.0, -1e4] {
                    for p in [1.0, 1.5] {
                        let mut lanes = vec![0.0; len];
                        shares_taoflow(&flow, &eligible, cutoff, p, &mut lanes);
                        let want = serial(&flow, &eligible, cutoff, p);
                        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&lanes),
                            bits(&want),
                            "len {len} case {case} L {cutoff} p {p}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn flow_ema_closed_form_matches_iteration() {
        let alpha = crate::params::FLOW_EMA_ALPHA;
        for &(s0, total, n) in &[
            (0.0, 1_000.0, 361_u32),
            (5.0, -3_000.0, 361),
            (-2.5, 7.0, 1),
            (123.0, 0.0, 7_200),
            (1.0e3, 4.0e6, 216_000),
        ] {
            let mut s = s0;
            for _ in 0..n {
                s = flow_ema_block(s, total / f64::from(n), alpha);
            }
            let c = flow_ema_over_blocks(s0, total, EmaFactors::constant_alpha(alpha, n), n);
            let scale = s0.abs().max((total / f64::from(n)).abs());
            assert!((c - s).abs() <= 1e-12 * scale, "n={n}: {c} vs {s}");
        }
    }

    #[test]
    fn ema_factors_edge_cases() {
        assert_eq!(EmaFactors::constant_alpha(1.0, 3), EmaFactors { keep: 0.0, gain: 1.0 });
        assert_eq!(EmaFactors::constant_alpha(0.3, 0), EmaFactors::IDENTITY);
        let f = EmaFactors::constant_alpha(0.25, 2);
        assert!((f.keep - 0.5625).abs() < 1e-15 && (f.gain - 0.4375).abs() < 1e-15);
        assert_eq!(flow_ema_over_blocks(3.0, 5.0, EmaFactors::IDENTITY, 0), 3.0);
    }

    #[test]
    fn eligibility_mask_excludes_from_minimum_and_sums() {
        // A deeply negative non-eligible subnet must not lower the cutoff.
        let s = [4.0, 1.0, -100.0];
        let mut out = [0.0; 3];
        shares_taoflow::<f64>(&s, &[1, 1, 0], -10.0, 1.0, &mut out);
        // L = max(-10, min(0, 4, 1)) = 0.
        assert_eq!(out, [0.8, 0.2, 0.0]);
        // With the -100 subnet eligible, L = max(-10, -100) = -10: z = {14, 11, 0}.
        shares_taoflow::<f64>(&s, &[1, 1, 1], -10.0, 1.0, &mut out);
        assert!((out[0] - 14.0 / 25.0).abs() < 1e-15 && (out[1] - 11.0 / 25.0).abs() < 1e-15);
        assert_eq!(out[2], 0.0);
    }

    #[test]
    fn price_burn_falls_back_to_price() {
        let p = [1.0, 3.0];
        let mut out = [0.0; 2];
        shares_price_burn::<f64>(&p, &[1.0, 1.0], &[1, 1], &mut out);
        assert_eq!(out, [0.25, 0.75]);
        shares_price_burn::<f64>(&p, &[0.5, 0.0], &[1, 1], &mut out);
        assert!((out[0] - 0.5 / 3.5).abs() < 1e-15);
    }

    #[test]
    fn net_flow_norm_caps_at_one() {
        // Σmax(S,0) = 10 > Σmax(P,0) = 2: norm = 1, net = S − P.
        let mut out = [0.0; 2];
        shares_net_taoflow::<f64>(&[6.0, 4.0], &[2.0, -1.0], &[1, 1], 0.0, 1.0, &mut out);
        // net = {4, 5}
        assert!((out[0] - 4.0 / 9.0).abs() < 1e-15 && (out[1] - 5.0 / 9.0).abs() < 1e-15);
    }
}
