//! Pure numbers behind the report's plots: fan-chart bands over paths, the top-k emission share,
//! histogram counts, spiral risks pooled over sweep points and the two-key heatmap grid. Nothing
//! here reads files or draws, so each function is tested against a closed form.

use taosim_core::estimate::{Z95, quantile, wilson};
use taosim_core::records::Proportion;

/// The quantile levels of a fan chart band, outer to inner: 5/95% and 25/75% around the median.
pub(crate) const FAN_LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// The 5, 25, 50, 75 and 95% quantiles of the paths' values at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Band {
    /// Quantiles at [`FAN_LEVELS`], in that order.
    pub(crate) q: [f64; 5],
}

/// The fan band of `values` (any order; NaN and infinities ignored, since an inactive slot has no
/// price): linear-interpolation (type 7) quantiles at [`FAN_LEVELS`]; `None` without finite data.
pub(crate) fn fan_band(values: &[f64]) -> Option<Band> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(Band { q: FAN_LEVELS.map(|level| quantile(&sorted, level)) })
}

/// Sum of the `k` largest of `shares` (all of them when there are fewer): how much of the
/// emission the `k` best-paid subnets take. Reorders `shares`.
pub(crate) fn top_k_share(shares: &mut [f64], k: usize) -> f64 {
    shares.sort_by(|a, b| b.total_cmp(a));
    shares.iter().take(k).sum()
}

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]` (the last bin closed; values
/// outside ignored), and the bin width.
pub(crate) fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> (Vec<u32>, f64) {
    let bins = bins.max(1);
    let width = if hi > lo { (hi - lo) / bins as f64 } else { 1.0 };
    let mut counts = vec![0u32; bins];
    for &v in values {
        if !(lo..=hi).contains(&v) {
            continue;
        }
        let bin = (((v - lo) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    (counts, width)
}

/// One point's id, its paths, and its spiral probability per initial netuid.
pub(crate) type PointSpirals = (u32, u32, Vec<(u16, f64)>);

/// One initial subnet's spiral probability pooled over sweep points.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SpiralRisk {
    /// Initial netuid.
    pub(crate) netuid: u16,
    /// Paths of all points in which it spiralled.
    pub(crate) spirals: u64,
    /// Paths of all points.
    pub(crate) paths: u64,
    /// `spirals / paths` with its Wilson 95% interval.
    pub(crate) pooled: Proportion,
    /// The highest per-point probability and that point's id.
    pub(crate) worst: (f64, u32),
}

/// Spiral risks per initial netuid pooled over points, highest pooled probability first (ties by
/// netuid). `points` gives per point its id, its paths and `(netuid, p)` pairs; each `p` is
/// `k / paths` for a whole `k` (summary.arrow), which is recovered by rounding.
pub(crate) fn pooled_spiral_risks(points: &[PointSpirals]) -> Vec<SpiralRisk> {
    let mut risks: Vec<SpiralRisk> = Vec::new();
    for (point, paths, by_netuid) in points {
        for &(netuid, p) in by_netuid {
            let spirals = (p * f64::from(*paths)).round() as u64;
            let index = match risks.iter().position(|r| r.netuid == netuid) {
                Some(i) => i,
                None => {
                    risks.push(SpiralRisk {
                        netuid,
                        spirals: 0,
                        paths: 0,
                        pooled: wilson(0, 0, Z95),
                        worst: (f64::NEG_INFINITY, *point),
                    });
                    risks.len() - 1
                }
            };
            let risk = &mut risks[index];
            risk.spirals += spirals;
            risk.paths += u64::from(*paths);
            if p > risk.worst.0 {
                risk.worst = (p, *point);
            }
        }
    }
    for risk in &mut risks {
        risk.pooled = wilson(risk.spirals, risk.paths, Z95);
    }
    risks.sort_by(|a, b| b.pooled.p.total_cmp(&a.pooled.p).then(a.netuid.cmp(&b.netuid)));
    risks
}

/// A grid over two swept keys: per cell the paths and spiral paths of the points inside it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HeatGrid {
    /// Cell edges along the first key (`columns + 1` values).
    pub(crate) x_edges: Vec<f64>,
    /// Cell edges along the second key.
    pub(crate) y_edges: Vec<f64>,
    /// Per cell, row-major (`y` outer): (spiral paths, paths) pooled over its points.
    pub(crate) cells: Vec<(u64, u64)>,
}

impl HeatGrid {
    /// The pooled spiral probability of cell (`column`, `row`); `None` for a cell without points.
    pub(crate) fn probability(&self, column: usize, row: usize) -> Option<f64> {
        let (k, n) = self.cells[row * (self.x_edges.len() - 1) + column];
        (n > 0).then(|| k as f64 / n as f64)
    }
}

/// Cell edges for `values`: one cell per distinct value when there are at most `max_cells` of
/// them (a grid design: edges halfway between neighbours), else `max_cells` equal-width cells
/// over the range (a scattered design such as a Latin hypercube).
fn edges(values: &[f64], max_cells: usize) -> Vec<f64> {
    let mut distinct: Vec<f64> = values.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let (lo, hi) = (distinct[0], distinct[distinct.len() - 1]);
    if distinct.len() == 1 {
        return vec![lo - 0.5, lo + 0.5];
    }
    if distinct.len() <= max_cells {
        let mut e = vec![lo - (distinct[1] - lo) / 2.0];
        e.extend(distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        e.push(hi + (hi - distinct[distinct.len() - 2]) / 2.0);
        return e;
    }
    (0..=max_cells).map(|i| lo + (hi - lo) * i as f64 / max_cells as f64).collect()
}

/// Index of the cell of `v` between `edges` (the last cell closed).
fn cell_of(edges: &[f64], v: f64) -> usize {
    let cells = edges.len() - 1;
    (1..cells).take_while(|&i| v >= edges[i]).count().min(cells - 1)
}

/// The heatmap grid of points at (`x`, `y`) with `spirals` of `paths` spiral paths each; `None`
/// for no points.
pub(crate) fn heat_grid(
    x: &[f64],
    y: &[f64],
    spirals: &[u64],
    paths: &[u64],
    max_cells: usize,
) -> Option<HeatGrid> {
    if x.is_empty() {
        return None;
    }
    let (x_edges, y_edges) = (edges(x, max_cells), edges(y, max_cells));
    let columns = x_edges.len() - 1;
    let mut cells = vec![(0u64, 0u64); columns * (y_edges.len() - 1)];
    for i in 0..x.len() {
        let cell = &mut cells[cell_of(&y_edges, y[i]) * columns + cell_of(&x_edges, x[i])];
        cell.0 += spirals[i];
        cell.1 += paths[i];
    }
    Some(HeatGrid { x_edges, y_edges, cells })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Type-7 quantiles of 0, 1, ..., 100 are exactly 100·q.
    #[test]
    fn fan_band_of_0_to_100_is_the_levels_times_100() {
        let mut values: Vec<f64> = (0..=100).map(f64::from).collect();
        values.reverse();
        let band = fan_band(&values).unwrap();
        assert_eq!(band.q, [5.0, 25.0, 50.0, 75.0, 95.0]);
    }

    /// Type-7 quantiles of 0..=10 are 10·q (h = 10q lands between points), NaN ignored.
    #[test]
    fn fan_band_interpolates_and_skips_non_finite() {
        let mut values: Vec<f64> = (0..=10).map(f64::from).collect();
        values.push(f64::NAN);
        values.push(f64::INFINITY);
        let band = fan_band(&values).unwrap();
        for (got, want) in band.q.iter().zip([0.5, 2.5, 5.0, 7.5, 9.5]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(fan_band(&[f64::NAN]), None);
    }

    /// Shares 1..=20 over 210: the top 10 are 11..=20, which sum to 155.
    #[test]
    fn top_10_share_sums_the_largest_ten() {
        let mut shares: Vec<f64> = (1..=20).map(|i| f64::from(i) / 210.0).collect();
        assert!((top_k_share(&mut shares, 10) - 155.0 / 210.0).abs() < 1e-15);
        let mut few = vec![0.25, 0.5];
        assert_eq!(top_k_share(&mut few, 10), 0.75);
    }

    /// 0..100 in 10 bins of width 10 over [0, 100]: 10 each; 100 falls in the closed last bin.
    #[test]
    fn histogram_counts_equal_width_bins() {
        let values: Vec<f64> = (0..=100).map(f64::from).chain([-1.0, 101.0]).collect();
        let (counts, width) = histogram(&values, 0.0, 100.0, 10);
        assert_eq!(width, 10.0);
        let mut want = vec![10u32; 10];
        want[9] = 11;
        assert_eq!(counts, want);
    }

    /// Netuid 3 spirals in 2 of 10 paths at point 0 and 15 of 30 at point 1: 17 of 40 pooled,
    /// with the Wilson interval of 17/40, and its worst point is 1.
    #[test]
    fn spiral_risks_pool_successes_over_points() {
        let points = vec![(0, 10, vec![(3, 0.2), (5, 0.0)]), (1, 30, vec![(3, 0.5), (5, 0.1)])];
        let risks = pooled_spiral_risks(&points);
        assert_eq!(risks.len(), 2);
        assert_eq!((risks[0].netuid, risks[0].spirals, risks[0].paths), (3, 17, 40));
        assert_eq!(risks[0].pooled, wilson(17, 40, Z95));
        assert_eq!(risks[0].worst, (0.5, 1));
        assert_eq!((risks[1].netuid, risks[1].spirals, risks[1].paths), (5, 3, 40));
    }

    /// A 2x2 grid design keeps one cell per value with edges halfway between; scattered values
    /// get equal-width cells and pool the points that share a cell.
    #[test]
    fn heat_grid_cells_follow_the_design() {
        let grid = heat_grid(
            &[0.0, 1.0, 0.0, 1.0],
            &[10.0, 10.0, 20.0, 20.0],
            &[1, 2, 3, 4],
            &[10, 10, 10, 10],
            6,
        )
        .unwrap();
        assert_eq!(grid.x_edges, vec![-0.5, 0.5, 1.5]);
        assert_eq!(grid.y_edges, vec![5.0, 15.0, 25.0]);
        assert_eq!(grid.probability(1, 0), Some(0.2));
        assert_eq!(grid.probability(0, 1), Some(0.3));
        let x: Vec<f64> = (0..8).map(f64::from).collect();
        let scattered = heat_grid(&x, &x, &[1; 8], &[4; 8], 2).unwrap();
        assert_eq!(scattered.x_edges, vec![0.0, 3.5, 7.0]);
        // 0..=3 in the first cell of both keys, 4..=7 in the last: 4 of 16 each; off-diagonal empty.
        assert_eq!(scattered.probability(0, 0), Some(0.25));
        assert_eq!(scattered.probability(1, 1), Some(0.25));
        assert_eq!(scattered.probability(1, 0), None);
    }
}
