//! Backend parity: how far two runs of the same paths (e.g. GPU and CPU, or f32 and f64) are from
//! each other, field by field, in their discrete decisions, and in their estimates.
//!
//! `taosim compare` prints these; the GPU whole-run parity tests assert on them.

use crate::Real;
use crate::engine::PathRecords;
use crate::records::PathOutcome;
use crate::state::{BatchState, GlobalInt, GlobalReal, SubnetInt, SubnetReal};

/// Net-flow accumulators: signed sums of inflows and outflows of similar size, so a slot's value
/// can be many orders of magnitude below the terms that made it, and its own relative error is
/// the summation error of those terms over a nearly cancelled result (`protocol_flow` showed
/// 5.5e-7 at one slot of a 512-path, 180-day run whose every other field agreed within 1.5e-9).
/// They are compared normwise per path: relative to the largest magnitude of the field over the
/// path's slots, the scale of the flows the sums are made of.
pub const NET_FLOW_FIELDS: &[&str] = &["flow", "flow_ema", "protocol_flow", "protocol_flow_ema"];

/// The largest difference of one state field over every path and slot.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    /// Field name (`tao`, `issuance`, `yuma`, ...), as in the state's column lists.
    pub field: &'static str,
    /// Largest `|a − b| / max(|a|, |b|, floor)` (0 for integer fields that agree, 1 when not);
    /// for [`NET_FLOW_FIELDS`] the scale also includes the field's largest magnitude over the
    /// path's slots (normwise relative difference).
    pub max_rel: f64,
    /// Path (index in the batch) and slot where it is largest.
    pub at: (usize, usize),
}

/// Relative difference with a floor on the scale, so values near zero compare absolutely.
fn rel(a: f64, b: f64, floor: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    let d = (a - b).abs() / a.abs().max(b.abs()).max(floor);
    if d.is_nan() { f64::INFINITY } else { d }
}

/// Per-field differences between two batches of the same shape. Reals are compared relative to
/// `max(|a|, |b|, floor)` (for [`NET_FLOW_FIELDS`], `floor` raised to the field's largest
/// magnitude over the path's slots); integer fields report 1 where any value differs.
pub fn field_diffs<A: Real, B: Real>(
    a: &BatchState<A>,
    b: &BatchState<B>,
    floor: f64,
) -> Vec<FieldDiff> {
    assert_eq!((a.paths, a.subnets), (b.paths, b.subnets), "batches of different shape");
    let s = a.subnets;
    let mut out = Vec::new();
    let mut real_fields = |names: &[&'static str], xa: &[A], xb: &[B], len: usize| {
        let fields = names.len();
        for (f, &field) in names.iter().enumerate() {
            let mut worst = FieldDiff { field, max_rel: 0.0, at: (0, 0) };
            for p in 0..a.paths {
                let row = (p * fields + f) * len..(p * fields + f + 1) * len;
                let scale = if NET_FLOW_FIELDS.contains(&field) {
                    let largest = |x: f64, y: f64| x.max(y.abs());
                    let a_max = xa[row.clone()].iter().map(|x| x.f64()).fold(0.0, largest);
                    let b_max = xb[row].iter().map(|x| x.f64()).fold(0.0, largest);
                    floor.max(a_max).max(b_max)
                } else {
                    floor
                };
                for i in 0..len {
                    let k = (p * fields + f) * len + i;
                    let d = rel(xa[k].f64(), xb[k].f64(), scale);
                    if d > worst.max_rel {
                        worst.max_rel = d;
                        worst.at = (p, i);
                    }
                }
            }
            out.push(worst);
        }
    };
    real_fields(SubnetReal::<A>::NAMES, &a.subnet_real, &b.subnet_real, s);
    real_fields(GlobalReal::<A>::NAMES, &a.global_real, &b.global_real, 1);
    let mut int_fields = |names: &[&'static str], xa: &[u32], xb: &[u32], len: usize| {
        let fields = names.len();
        for (f, &field) in names.iter().enumerate() {
            let mut worst = FieldDiff { field, max_rel: 0.0, at: (0, 0) };
            'paths: for p in 0..a.paths {
                for i in 0..len {
                    let k = (p * fields + f) * len + i;
                    if xa[k] != xb[k] {
                        worst = FieldDiff { field, max_rel: 1.0, at: (p, i) };
                        break 'paths;
                    }
                }
            }
            out.push(worst);
        }
    };
    int_fields(SubnetInt::<u32>::NAMES, &a.subnet_int, &b.subnet_int, s);
    int_fields(GlobalInt::<u32>::NAMES, &a.global_int, &b.global_int, 1);
    let per_path = a.yuma_real.len() / a.paths.max(1);
    let mut yuma = FieldDiff { field: "yuma", max_rel: 0.0, at: (0, 0) };
    for (k, (x, y)) in a.yuma_real.iter().zip(&b.yuma_real).enumerate() {
        let d = rel(x.f64(), y.f64(), floor);
        if d > yuma.max_rel {
            yuma = FieldDiff {
                field: "yuma",
                max_rel: d,
                at: (k / per_path.max(1), k % per_path.max(1)),
            };
        }
    }
    out.push(yuma);
    out
}

/// Where two runs of the same paths took different discrete decisions (registrations, prunings,
/// spirals: their event lists, or the integer state at the horizon).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Divergence {
    /// Paths whose events or final integer state differ.
    pub paths: usize,
    /// Per diverged path: (path id, the first step at which its events differ, or `None` when
    /// only the final integer state does).
    pub first_steps: Vec<(u32, Option<u32>)>,
}

/// Compares the event lists (kind, step, netuid) of two runs' paths, in path order.
pub fn divergence(a: &[PathRecords], b: &[PathRecords]) -> Divergence {
    let mut out = Divergence::default();
    for (x, y) in a.iter().zip(b) {
        let key = |r: &PathRecords| {
            r.events.iter().map(|e| (e.step, e.netuid, e.kind.name())).collect::<Vec<_>>()
        };
        let (kx, ky) = (key(x), key(y));
        let same_end = x.outcome.spirals == y.outcome.spirals
            && x.outcome.prunings == y.outcome.prunings
            && x.outcome.zero_share_end == y.outcome.zero_share_end;
        if kx == ky && same_end {
            continue;
        }
        let first =
            kx.iter().zip(&ky).find(|(e, f)| e != f).map(|(e, f)| e.0.min(f.0)).or_else(|| {
                // One list is a prefix of the other: the first extra event.
                kx.get(ky.len()).or_else(|| ky.get(kx.len())).map(|e| e.0)
            });
        out.paths += 1;
        out.first_steps.push((x.outcome.path, first));
    }
    out
}

/// A per-path mean with its standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanSe {
    /// Mean over paths.
    pub mean: f64,
    /// Standard error of the mean.
    pub se: f64,
}

/// Mean and standard error of `x` over the outcomes.
pub fn mean_se(outcomes: &[PathOutcome], x: impl Fn(&PathOutcome) -> f64) -> MeanSe {
    let n = outcomes.len() as f64;
    if outcomes.is_empty() {
        return MeanSe { mean: f64::NAN, se: f64::NAN };
    }
    let mean = outcomes.iter().map(&x).sum::<f64>() / n;
    let var = if outcomes.len() > 1 {
        outcomes.iter().map(|o| (x(o) - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    MeanSe { mean, se: (var / n).sqrt() }
}

/// A per-path quantity whose mean over paths is an estimate.
pub type PerPath = fn(&PathOutcome) -> f64;

/// The estimates `taosim compare` holds two backends to: name and per-path value.
pub const ESTIMATES: &[(&str, PerPath)] = &[
    ("p_any_spiral", |o| f64::from(u8::from(o.spirals > 0))),
    ("p_top10_spiral", |o| f64::from(u8::from(o.top10_spiral))),
    ("spirals_mean", |o| f64::from(o.spirals)),
    ("prunings_mean", |o| f64::from(o.prunings)),
    ("pool_tao_end_mean", |o| o.pool_tao_end),
    ("zero_share_end_mean", |o| f64::from(o.zero_share_end)),
];

/// Whether two estimates agree: within `k` combined standard errors, or within `rel` of the
/// larger magnitude (equal values always agree).
///
/// The relative floor is for estimates whose standard error is zero or below the backends'
/// rounding: one path, or paths whose values coincide. Without it a one-path comparison failed
/// on a mean pool TAO that differed in the 16th digit (found by the engine fuzz).
pub fn agree(a: MeanSe, b: MeanSe, k: f64, rel: f64) -> bool {
    let diff = (a.mean - b.mean).abs();
    a.mean == b.mean
        || diff <= k * (a.se * a.se + b.se * b.se).sqrt()
        || diff <= rel * a.mean.abs().max(b.mean.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agreement by standard errors, and by the relative floor where the errors are zero.
    #[test]
    fn estimates_agree_by_standard_errors_or_the_relative_floor() {
        let est = |mean, se| MeanSe { mean, se };
        // One path on each side: se 0; a difference in the 16th digit agrees at 1e-9 relative.
        let (a, b) = (est(14_560_485.031_288, 0.0), est(14_560_485.031_288 * (1.0 + 2e-16), 0.0));
        assert!(a.mean != b.mean);
        assert!(!agree(a, b, 2.0, 0.0));
        assert!(agree(a, b, 2.0, 1e-9));
        // 1e-6 relative is beyond that floor.
        assert!(!agree(a, est(a.mean * (1.0 + 1e-6), 0.0), 2.0, 1e-9));
        // Within 2 combined SE: |1.0 − 1.25| = 0.25 ≤ 2·√(0.1² + 0.1²) = 0.283; 0.3 is not.
        assert!(agree(est(1.0, 0.1), est(1.25, 0.1), 2.0, 0.0));
        assert!(!agree(est(1.0, 0.1), est(1.3, 0.1), 2.0, 0.0));
        assert!(agree(est(0.0, 0.0), est(0.0, 0.0), 2.0, 0.0));
    }

    fn worst(diffs: &[FieldDiff], field: &str) -> f64 {
        diffs.iter().find(|d| d.field == field).map(|d| d.max_rel).unwrap()
    }

    /// A nearly cancelled flow is measured against the path's flow scale; the same difference on
    /// an ordinary field stays element-wise relative.
    #[test]
    fn net_flows_compare_normwise_other_fields_elementwise() {
        let mut a = BatchState::<f64>::zeroed(2, 3);
        for p in 0..2 {
            let st = a.path(p);
            st.sub.flow.copy_from_slice(&[1e-3, -2.0e3, 5.0e2]);
            st.sub.tao.copy_from_slice(&[1e-3, 2.0e3, 5.0e2]);
        }
        let mut b = a.clone();
        {
            let st = b.path(1);
            st.sub.flow[0] += 1e-8;
            st.sub.tao[0] += 1e-8;
        }
        let diffs = field_diffs(&a, &b, 1e-6);
        let (small, perturbed) = (1e-3_f64, 1e-3_f64 + 1e-8);
        let delta = perturbed - small;
        // Normwise: |Δ| over the path's largest |flow| (2e3), about 5e-12.
        let flow = worst(&diffs, "flow");
        assert!((flow - delta / 2.0e3).abs() <= 1e-12 * flow, "{flow}");
        // Element-wise: |Δ| over the slot's own value, about 1e-5.
        let tao = worst(&diffs, "tao");
        assert!((tao - delta / perturbed).abs() <= 1e-12 * tao, "{tao}");
        assert_eq!(diffs.iter().find(|d| d.field == "flow").unwrap().at, (1, 0));
    }
}
