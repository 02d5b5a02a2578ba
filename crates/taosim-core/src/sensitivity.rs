//! Sensitivity of a sweep's estimates to its swept keys: the statistics behind `sensitivity.arrow`
//! (docs/sweeps.md, "Sensitivity"; schema in docs/outputs.md).
//!
//! Every function takes one estimate's value per sweep point (`y`, in point order; NaN values are
//! left out) and the swept keys' coordinates at those points, and returns plain numbers:
//!
//! - [`main_effect`] (grid designs): the estimate's mean at each level of a key, averaged over the
//!   other keys (every level of a full grid holds the same set of the other keys' combinations);
//!   the spread of those means (max - min) and the share of the variance of `y` they explain
//!   (the correlation ratio eta^2, a grid's first-order index).
//! - [`spearman`] (zip, lhs and plain sobol designs): Spearman's rank correlation between a key
//!   and the estimate, with the Fisher-z interval of Fieller, Hartley and Pearson (1957).
//! - [`sobol_indices`] (saltelli designs, [`crate::sweep::saltelli`]): first-order and total Sobol
//!   indices with the estimators of Saltelli et al. (2010, Comput. Phys. Commun. 181, 259-270,
//!   Table 2: (b) for S_i and Jansen's (f) for S_Ti), and percentile bootstrap intervals over
//!   the base rows.
//!
//! These are post-processing helpers run once per sweep on the host: they allocate freely.

/// An estimate with a 95% interval (NaN bounds when no interval is defined).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Lower end of the 95% interval.
    pub lo: f64,
    /// Upper end of the 95% interval.
    pub hi: f64,
}

/// The main effect of one key on one estimate in a grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MainEffect {
    /// Largest minus smallest level mean, on the estimate's scale.
    pub spread: f64,
    /// Share of the variance of the estimate over the points explained by the level means
    /// (eta^2 in [0, 1]; 0 when the estimate does not vary).
    pub variance_share: f64,
    /// Distinct levels of the key among the points with a finite estimate.
    pub levels: u32,
    /// Points with a finite estimate.
    pub points: u32,
}

/// First-order and total Sobol indices of one key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SobolIndex {
    /// First-order index S_i (share of the variance due to the key alone).
    pub first: Estimate,
    /// Total index S_Ti (share due to the key and all its interactions).
    pub total: Estimate,
}

/// The main effect of the key with coordinates `key` on `y` (same length; points with a
/// non-finite `y` are left out). Levels are the distinct key coordinates.
pub fn main_effect(key: &[f64], y: &[f64]) -> MainEffect {
    let mut pairs: Vec<(f64, f64)> =
        key.iter().zip(y).filter(|(_, v)| v.is_finite()).map(|(&k, &v)| (k, v)).collect();
    let points = pairs.len();
    if points == 0 {
        return MainEffect { spread: f64::NAN, variance_share: f64::NAN, levels: 0, points: 0 };
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mean = pairs.iter().map(|p| p.1).sum::<f64>() / points as f64;
    let total: f64 = pairs.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut between = 0.0;
    let mut levels = 0_u32;
    let mut start = 0;
    while start < points {
        let mut end = start;
        while end < points && pairs[end].0.to_bits() == pairs[start].0.to_bits() {
            end += 1;
        }
        let n = (end - start) as f64;
        let level_mean = pairs[start..end].iter().map(|p| p.1).sum::<f64>() / n;
        lo = lo.min(level_mean);
        hi = hi.max(level_mean);
        between += n * (level_mean - mean).powi(2);
        levels += 1;
        start = end;
    }
    // Guard the ratio against rounding: a constant estimate has neither spread nor share.
    let variance_share = if total > 0.0 { (between / total).clamp(0.0, 1.0) } else { 0.0 };
    MainEffect { spread: hi - lo, variance_share, levels, points: points as u32 }
}

/// Ranks of `values` from 1, ties sharing their average rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Ranks start..end (0-based) share their mean, (start + end - 1) / 2 + 1.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation of `key` and `y` (points with a non-finite `y` left out), with a
/// 95% interval from Fisher's z and the variance 1.06 / (n - 3) of Fieller, Hartley and Pearson
/// (1957). NaN when either side is constant; NaN bounds below 4 points.
pub fn spearman(key: &[f64], y: &[f64]) -> (Estimate, u32) {
    let (xs, ys): (Vec<f64>, Vec<f64>) =
        key.iter().zip(y).filter(|(_, v)| v.is_finite()).map(|(&k, &v)| (k, v)).unzip();
    let n = xs.len();
    let nan = Estimate { value: f64::NAN, lo: f64::NAN, hi: f64::NAN };
    if n < 2 {
        return (nan, n as u32);
    }
    let (rx, ry) = (average_ranks(&xs), average_ranks(&ys));
    let mean = (n as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mean) * (b - mean);
        sxx += (a - mean).powi(2);
        syy += (b - mean).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return (nan, n as u32);
    }
    let rho = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let (lo, hi) = if n > 3 && rho.abs() < 1.0 {
        let z = rho.atanh();
        let se = (1.06 / (n as f64 - 3.0)).sqrt();
        ((z - 1.959_964 * se).tanh(), (z + 1.959_964 * se).tanh())
    } else {
        (f64::NAN, f64::NAN)
    };
    (Estimate { value: rho, lo, hi }, n as u32)
}

/// SplitMix64: a small deterministic generator for the bootstrap resamples (no stream of the
/// model's Philox is spent on post-processing).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// S_i and S_Ti for every key from the base rows in `rows` (indices into `blocks`).
fn indices_of(blocks: &[&[f64]], rows: &[usize], dims: usize, out: &mut [(f64, f64)]) {
    let m = rows.len() as f64;
    let mut mean = 0.0;
    for &r in rows {
        mean += blocks[r][0] + blocks[r][1];
    }
    mean /= 2.0 * m;
    let mut var = 0.0;
    for &r in rows {
        var += (blocks[r][0] - mean).powi(2) + (blocks[r][1] - mean).powi(2);
    }
    var /= 2.0 * m - 1.0;
    for (i, slot) in out.iter_mut().enumerate().take(dims) {
        let (mut first, mut total) = (0.0, 0.0);
        for &r in rows {
            let (fa, fb, fab) = (blocks[r][0], blocks[r][1], blocks[r][2 + i]);
            first += fb * (fab - fa);
            total += (fa - fab).powi(2);
        }
        *slot = if var > 0.0 {
            (first / m / var, total / (2.0 * m) / var)
        } else {
            (f64::NAN, f64::NAN)
        };
    }
}

/// The `q` quantile (linear interpolation) of sorted finite `sorted`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = q * (sorted.len() - 1) as f64;
    let (i, frac) = (at.floor() as usize, at - at.floor());
    let next = sorted[(i + 1).min(sorted.len() - 1)];
    sorted[i] + frac * (next - sorted[i])
}

/// First-order and total Sobol indices of `dims` keys from `y` laid out as the saltelli design
/// lays out its points: base row `j` is the block `y[j (dims + 2) ..][.. dims + 2]` = f(A_j),
/// f(B_j), f(AB_j^1), ..., f(AB_j^dims), where AB^i is A with column i taken from B. Rows with a
/// non-finite value are left out. Intervals: 2.5% and 97.5% quantiles over `resamples` bootstrap
/// resamples of the rows (SplitMix64 seeded by `seed`). Also returns the rows used.
pub fn sobol_indices(y: &[f64], dims: usize, resamples: u32, seed: u64) -> (Vec<SobolIndex>, u32) {
    let nan = Estimate { value: f64::NAN, lo: f64::NAN, hi: f64::NAN };
    let width = dims + 2;
    let blocks: Vec<&[f64]> =
        y.chunks_exact(width).filter(|b| b.iter().all(|v| v.is_finite())).collect();
    let rows = blocks.len();
    if dims == 0 || rows < 2 {
        return (vec![SobolIndex { first: nan, total: nan }; dims], rows as u32);
    }
    let all: Vec<usize> = (0..rows).collect();
    let mut point = vec![(0.0, 0.0); dims];
    indices_of(&blocks, &all, dims, &mut point);
    let mut firsts = vec![Vec::with_capacity(resamples as usize); dims];
    let mut totals = vec![Vec::with_capacity(resamples as usize); dims];
    let mut state = seed;
    let mut draw = vec![0_usize; rows];
    let mut sample = vec![(0.0, 0.0); dims];
    for _ in 0..resamples {
        for d in draw.iter_mut() {
            *d = ((u128::from(splitmix(&mut state)) * rows as u128) >> 64) as usize;
        }
        indices_of(&blocks, &draw, dims, &mut sample);
        for (i, (s, t)) in sample.iter().enumerate() {
            if s.is_finite() && t.is_finite() {
                firsts[i].push(*s);
                totals[i].push(*t);
            }
        }
    }
    let interval = |value: f64, draws: &mut Vec<f64>| {
        draws.sort_by(f64::total_cmp);
        Estimate { value, lo: quantile(draws, 0.025), hi: quantile(draws, 0.975) }
    };
    let out = (0..dims)
        .map(|i| SobolIndex {
            first: interval(point[i].0, &mut firsts[i]),
            total: interval(point[i].1, &mut totals[i]),
        })
        .collect();
    (out, rows as u32)
}

/// Rank of each entry of `strength` from 1 (largest) down; NaN entries come last, ties keep their
/// order.
pub fn rank_descending(strength: &[f64]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..strength.len()).collect();
    order.sort_by(|&a, &b| match (strength[a].is_nan(), strength[b].is_nan()) {
        (false, false) => strength[b].total_cmp(&strength[a]),
        (x, y) => x.cmp(&y),
    });
    let mut ranks = vec![0; strength.len()];
    for (r, &i) in order.iter().enumerate() {
        ranks[i] = r as u32 + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_effect_of_a_two_by_two_grid() {
        // y = 10 a + b on a 2 x 2 grid: a's level means differ by 10, b's by 1; the additive
        // model splits the variance 100 : 1.
        let a = [0.0, 0.0, 1.0, 1.0];
        let b = [0.0, 1.0, 0.0, 1.0];
        let y: Vec<f64> = a.iter().zip(&b).map(|(a, b)| 10.0 * a + b).collect();
        let ea = main_effect(&a, &y);
        let eb = main_effect(&b, &y);
        assert_eq!((ea.spread, eb.spread), (10.0, 1.0));
        assert!((ea.variance_share - 100.0 / 101.0).abs() < 1e-12);
        assert!((eb.variance_share - 1.0 / 101.0).abs() < 1e-12);
        assert_eq!((ea.levels, ea.points), (2, 4));
        let constant = main_effect(&a, &[3.0; 4]);
        assert_eq!((constant.spread, constant.variance_share), (0.0, 0.0));
        let with_nan = main_effect(&a, &[1.0, f64::NAN, 3.0, 3.0]);
        assert_eq!((with_nan.spread, with_nan.points), (2.0, 3));
    }

    #[test]
    fn spearman_of_monotone_and_reversed_data() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (up, n) = spearman(&x, &[1.0, 4.0, 9.0, 16.0, 25.0, 36.0]);
        assert_eq!((up.value, n), (1.0, 6));
        let (down, _) = spearman(&x, &[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        assert_eq!(down.value, -1.0);
        // Textbook value: ranks (1..5) against (2,1,4,3,5): rho = 1 - 6*4/(5*24) = 0.8.
        let (r, _) = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]);
        assert!((r.value - 0.8).abs() < 1e-12);
        let z = 0.8_f64.atanh();
        let se = (1.06_f64 / 2.0).sqrt();
        assert!((r.lo - (z - 1.959_964 * se).tanh()).abs() < 1e-12);
        assert!(spearman(&x, &[2.0; 6]).0.value.is_nan());
        assert_eq!(average_ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn sobol_indices_of_an_additive_function() {
        // f = x1 + 2 x2 with B = A shifted: S1 = 1/5, S2 = 4/5, no interactions (S = ST).
        // Blocks built by hand from pseudo-random columns.
        let mut state = 7_u64;
        let mut u = || (splitmix(&mut state) >> 11) as f64 / (1_u64 << 53) as f64;
        let f = |x1: f64, x2: f64| x1 + 2.0 * x2;
        let mut y = Vec::new();
        for _ in 0..20_000 {
            let (a1, a2, b1, b2) = (u(), u(), u(), u());
            y.extend([f(a1, a2), f(b1, b2), f(b1, a2), f(a1, b2)]);
        }
        let (s, rows) = sobol_indices(&y, 2, 200, 1);
        assert_eq!(rows, 20_000);
        for (i, truth) in [0.2, 0.8].into_iter().enumerate() {
            for e in [s[i].first, s[i].total] {
                assert!(e.lo <= truth && truth <= e.hi, "key {i}: {e:?} vs {truth}");
                assert!(e.hi - e.lo < 0.1, "key {i}: interval too wide {e:?}");
            }
        }
    }

    /// Ishigami, f = sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3 with a = 7, b = 0.1:
    /// closed-form indices (Ishigami and Homma 1990; Saltelli et al. 2010, section 4) evaluated
    /// on the points of the sweep's own saltelli design.
    #[test]
    fn sobol_indices_of_ishigami_on_the_saltelli_design() {
        use crate::sweep::{KeyValues, SweepKey, SweepValue, saltelli};
        use std::f64::consts::PI;
        let (a, b) = (7.0, 0.1);
        let keys: Vec<SweepKey> = (1..=3)
            .map(|i| SweepKey {
                key: format!("x{i}"),
                values: KeyValues::Range { min: -PI, max: PI, integer: false },
            })
            .collect();
        let n = 4096;
        let points = saltelli(&keys, n).unwrap();
        assert_eq!(points.len(), n as usize * 5);
        let y: Vec<f64> = points
            .iter()
            .map(|p| {
                let x: Vec<f64> = p
                    .iter()
                    .map(|(_, v)| match v {
                        SweepValue::Float(x) => *x,
                        other => panic!("a float range gave {other:?}"),
                    })
                    .collect();
                x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
            })
            .collect();
        // Closed forms: V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2, V1 = (1 + b pi^4/5)^2 / 2,
        // V2 = a^2/8, V13 = b^2 pi^8 (1/18 - 1/50).
        let v = a * a / 8.0 + b * PI.powi(4) / 5.0 + b * b * PI.powi(8) / 18.0 + 0.5;
        let v1 = (1.0 + b * PI.powi(4) / 5.0).powi(2) / 2.0;
        let v2 = a * a / 8.0;
        let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
        let first = [v1 / v, v2 / v, 0.0];
        let total = [(v1 + v13) / v, v2 / v, v13 / v];
        // The published rounded values, as a check on the closed forms above.
        let published_first = [0.3139, 0.4424, 0.0];
        let published_total = [0.5576, 0.4424, 0.2437];
        for i in 0..3 {
            assert!((first[i] - published_first[i]).abs() < 1e-4);
            assert!((total[i] - published_total[i]).abs() < 1e-4);
        }
        let (s, rows) = sobol_indices(&y, 3, 500, 42);
        assert_eq!(rows, n);
        for i in 0..3 {
            let (f, t) = (s[i].first, s[i].total);
            assert!(f.lo <= first[i] && first[i] <= f.hi, "S{}: {f:?} vs {}", i + 1, first[i]);
            assert!(t.lo <= total[i] && total[i] <= t.hi, "ST{}: {t:?} vs {}", i + 1, total[i]);
            assert!(f.hi - f.lo < 0.1 && t.hi - t.lo < 0.1, "S{}: intervals {f:?} {t:?}", i + 1);
        }
    }

    #[test]
    fn ranks_put_the_strongest_first_and_nan_last() {
        assert_eq!(rank_descending(&[0.1, f64::NAN, 0.5, 0.2]), vec![3, 4, 1, 2]);
    }
}
