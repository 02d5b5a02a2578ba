//! Monte Carlo estimates with honest intervals (model.md §9).
//!
//! Per-path outcomes are folded, in path order, into a [`PointAccumulator`]; its
//! [`summary`](PointAccumulator::summary) gives each probability with a Wilson 95% score
//! interval, means with standard errors, and time-to-spiral quantiles. Folding in path order makes
//! the floating-point sums independent of batch size and thread count.

use crate::records::{PathOutcome, PointSummary, Proportion};

/// The 97.5% quantile of the standard normal (two-sided 95%).
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `successes` out of `trials` at normal quantile `z`.
///
/// `p̂ = k/n`, centre `(p̂ + z²/2n)/(1 + z²/n)`, half-width
/// `z·sqrt(p̂(1−p̂)/n + z²/4n²)/(1 + z²/n)`. Unlike the normal (Wald) interval it stays inside
/// [0, 1] and is not degenerate at 0 or n successes, which is where spiral probabilities live.
/// With no trials the interval is the whole [0, 1] and the estimate NaN.
pub fn wilson(successes: u64, trials: u64, z: f64) -> Proportion {
    if trials == 0 {
        return Proportion { p: f64::NAN, lo: 0.0, hi: 1.0 };
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At 0 or n successes one end is exactly p; rounding must not put it on the wrong side.
    Proportion { p, lo: (centre - half).clamp(0.0, p), hi: (centre + half).clamp(p, 1.0) }
}

/// Linear-interpolation quantile (type 7) of sorted data; NaN for no data.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// [`quantile`] of the multiset in which value `k · scale` occurs `counts[k]` times (bit for bit
/// the number sorting those values and calling [`quantile`] gives); NaN for no data.
pub fn quantile_of_counts(counts: &[u64], scale: f64, q: f64) -> f64 {
    let n: u64 = counts.iter().sum();
    // The i-th smallest value (0-based).
    let nth = |i: u64| {
        let mut seen = 0;
        for (k, &c) in counts.iter().enumerate() {
            seen += c;
            if seen > i {
                return k as f64 * scale;
            }
        }
        f64::NAN
    };
    match n {
        0 => f64::NAN,
        1 => nth(0),
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as u64;
            let hi = (lo + 1).min(n - 1);
            let (a, b) = (nth(lo), nth(hi));
            a + (h - lo as f64) * (b - a)
        }
    }
}

/// Running totals of one sweep point's path outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct PointAccumulator {
    point: u32,
    days_per_step: f64,
    netuids: Vec<u16>,
    paths: u64,
    any_spiral: u64,
    top10_spiral: u64,
    spirals_sum: f64,
    spirals_sq_sum: f64,
    prunings_sum: f64,
    pool_end_sum: f64,
    zero_share_end_sum: f64,
    spiral_by_slot: Vec<u64>,
    /// Spiral entries per step index (the time-to-spiral quantiles are order statistics of the
    /// steps, so counts give them exactly in memory that grows with the steps of the horizon,
    /// not with the number of spirals).
    spiral_step_counts: Vec<u64>,
}

impl PointAccumulator {
    /// An empty accumulator for `point`; `netuids` are the initial subnets (slot = netuid − 1)
    /// whose spiral probabilities are reported; `days_per_step` converts steps to days.
    pub fn new(point: u32, netuids: Vec<u16>, subnet_slots: usize, days_per_step: f64) -> Self {
        Self {
            point,
            days_per_step,
            netuids,
            paths: 0,
            any_spiral: 0,
            top10_spiral: 0,
            spirals_sum: 0.0,
            spirals_sq_sum: 0.0,
            prunings_sum: 0.0,
            pool_end_sum: 0.0,
            zero_share_end_sum: 0.0,
            spiral_by_slot: vec![0; subnet_slots],
            spiral_step_counts: Vec::new(),
        }
    }

    /// Folds one path in (call in path order).
    pub fn add(&mut self, o: &PathOutcome) {
        self.paths += 1;
        self.any_spiral += u64::from(o.spirals > 0);
        self.top10_spiral += u64::from(o.top10_spiral);
        let s = f64::from(o.spirals);
        self.spirals_sum += s;
        self.spirals_sq_sum += s * s;
        self.prunings_sum += f64::from(o.prunings);
        self.pool_end_sum += o.pool_tao_end;
        self.zero_share_end_sum += f64::from(o.zero_share_end);
        for (count, &hit) in self.spiral_by_slot.iter_mut().zip(&o.spiral_by_slot) {
            *count += u64::from(hit);
        }
        for &k in &o.spiral_steps {
            let k = k as usize;
            if k >= self.spiral_step_counts.len() {
                self.spiral_step_counts.resize(k + 1, 0);
            }
            self.spiral_step_counts[k] += 1;
        }
    }

    /// Paths folded in so far.
    pub fn paths(&self) -> u64 {
        self.paths
    }

    /// The point's estimates.
    pub fn summary(&self) -> PointSummary {
        let n = self.paths as f64;
        let mean = |sum: f64| if self.paths == 0 { f64::NAN } else { sum / n };
        let spirals_mean = mean(self.spirals_sum);
        let spirals_se = if self.paths > 1 {
            let var = (self.spirals_sq_sum - n * spirals_mean * spirals_mean) / (n - 1.0);
            (var.max(0.0) / n).sqrt()
        } else {
            f64::NAN
        };
        let days = |q| quantile_of_counts(&self.spiral_step_counts, self.days_per_step, q);
        PointSummary {
            point: self.point,
            paths: u32::try_from(self.paths).unwrap_or(u32::MAX),
            p_any_spiral: wilson(self.any_spiral, self.paths, Z95),
            p_top10_spiral: wilson(self.top10_spiral, self.paths, Z95),
            spirals_mean,
            spirals_se,
            prunings_mean: mean(self.prunings_sum),
            spiral_days_q10: days(0.1),
            spiral_days_q50: days(0.5),
            spiral_days_q90: days(0.9),
            pool_tao_end_mean: mean(self.pool_end_sum),
            zero_share_end_mean: mean(self.zero_share_end_sum),
            spiral_by_netuid: self
                .netuids
                .iter()
                .map(|&u| {
                    let hits = self.spiral_by_slot[usize::from(u) - 1];
                    (u, wilson(hits, self.paths, Z95))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantiles_of_counts_equal_quantiles_of_the_sorted_values() {
        let counts = [0_u64, 3, 0, 1, 5, 0, 0, 2];
        let mut values = Vec::new();
        for (k, &c) in counts.iter().enumerate() {
            values.extend(std::iter::repeat_n(k as f64 * 0.05, c as usize));
        }
        for q in [0.0, 0.1, 0.25, 0.5, 0.77, 0.9, 1.0] {
            let a = super::quantile(&values, q);
            let b = super::quantile_of_counts(&counts, 0.05, q);
            assert_eq!(a.to_bits(), b.to_bits(), "q = {q}: {a} vs {b}");
        }
        assert!(super::quantile_of_counts(&[], 0.05, 0.5).is_nan());
        assert_eq!(super::quantile_of_counts(&[0, 0, 1], 0.5, 0.9), 1.0);
    }

    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // Wilson (1927) / Newcombe (1998) Table I: 81 of 263 → 0.2553 to 0.3662 (95%).
        let w = wilson(81, 263, Z95);
        assert!((w.lo - 0.2553).abs() < 5e-5 && (w.hi - 0.3662).abs() < 5e-5, "{w:?}");
        // 0 of 10 → [0, 0.2775] (Newcombe's example 5).
        let w = wilson(0, 10, Z95);
        assert_eq!(w.lo, 0.0);
        assert!((w.hi - 0.2775).abs() < 5e-5, "{w:?}");
    }

    #[test]
    fn quantile_interpolates() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&xs, 0.5), 2.5);
        assert_eq!(quantile(&xs, 0.0), 1.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
