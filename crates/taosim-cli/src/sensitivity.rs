//! `sensitivity.arrow`: how much each swept key moves each estimate of a sweep (docs/sweeps.md,
//! "Sensitivity"; schema in docs/outputs.md). The statistics are `taosim_core::sensitivity`;
//! this module picks them by design and writes the long table.
//!
//! | design | methods (one row per estimate x key x method) |
//! | --- | --- |
//! | grid | `main_effect` (spread of the level means), `variance_share` (eta^2) |
//! | zip, lhs, sobol | `spearman` (rank correlation with a Fisher-z interval) |
//! | saltelli | `sobol_first`, `sobol_total` (bootstrap intervals) |

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use taosim_core::records::PointSummary;
use taosim_core::sensitivity::{main_effect, rank_descending, sobol_indices, spearman};
use taosim_core::sweep::Design;

use crate::output::SCHEMA_VERSION;

/// File name of the sensitivity table.
pub(crate) const SENSITIVITY_FILE: &str = "sensitivity.arrow";

/// Bootstrap resamples behind the Sobol indices' intervals.
const RESAMPLES: u32 = 1000;

/// The estimates of `summary.arrow` whose sensitivity is measured, with how to read each.
type Getter = fn(&PointSummary) -> f64;
pub(crate) const ESTIMATES: [(&str, Getter); 7] = [
    ("p_any_spiral", |s| s.p_any_spiral.p),
    ("p_top10_spiral", |s| s.p_top10_spiral.p),
    ("spirals_mean", |s| s.spirals_mean),
    ("prunings_mean", |s| s.prunings_mean),
    ("spiral_days_q50", |s| s.spiral_days_q50),
    ("pool_tao_end_mean", |s| s.pool_tao_end_mean),
    ("zero_share_end_mean", |s| s.zero_share_end_mean),
];

/// What the sensitivity table needs from a sweep's design.
pub(crate) struct SensitivityInput {
    /// The design that laid out the points.
    pub(crate) design: Design,
    /// The swept keys, in file order.
    pub(crate) keys: Vec<String>,
    /// `coords[k][i]`: key `k`'s value at point `i` as a number (a word: its index in the list).
    pub(crate) coords: Vec<Vec<f64>>,
    /// Seed of the bootstrap (the run seed).
    pub(crate) seed: u64,
}

/// One row of the table.
struct Row {
    estimate: &'static str,
    key: String,
    method: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    rank: u32,
    points: u32,
}

/// The rows for `summaries` (one per point, in point order).
fn rows(input: &SensitivityInput, summaries: &[PointSummary]) -> Vec<Row> {
    let mut rows = Vec::new();
    let dims = input.keys.len();
    for (estimate, get) in ESTIMATES {
        let y: Vec<f64> = summaries.iter().map(get).collect();
        // (method, per key: value, lo, hi, points, strength used for the rank)
        let mut methods: Vec<(&'static str, Vec<[f64; 5]>)> = Vec::new();
        match input.design {
            Design::Grid => {
                let effects: Vec<_> = input.coords.iter().map(|c| main_effect(c, &y)).collect();
                let nan = f64::NAN;
                methods.push((
                    "main_effect",
                    effects
                        .iter()
                        .map(|e| [e.spread, nan, nan, e.points.into(), e.spread])
                        .collect(),
                ));
                methods.push((
                    "variance_share",
                    effects
                        .iter()
                        .map(|e| [e.variance_share, nan, nan, e.points.into(), e.variance_share])
                        .collect(),
                ));
            }
            Design::Zip | Design::Lhs | Design::Sobol => {
                methods.push((
                    "spearman",
                    input
                        .coords
                        .iter()
                        .map(|c| {
                            let (r, n) = spearman(c, &y);
                            [r.value, r.lo, r.hi, n.into(), r.value.abs()]
                        })
                        .collect(),
                ));
            }
            Design::Saltelli => {
                let (indices, used) = sobol_indices(&y, dims, RESAMPLES, input.seed);
                let used = f64::from(used);
                methods.push((
                    "sobol_first",
                    indices
                        .iter()
                        .map(|s| [s.first.value, s.first.lo, s.first.hi, used, s.first.value])
                        .collect(),
                ));
                methods.push((
                    "sobol_total",
                    indices
                        .iter()
                        .map(|s| [s.total.value, s.total.lo, s.total.hi, used, s.total.value])
                        .collect(),
                ));
            }
        }
        for (method, per_key) in methods {
            let strength: Vec<f64> = per_key.iter().map(|v| v[4]).collect();
            let ranks = rank_descending(&strength);
            for ((key, v), rank) in input.keys.iter().zip(&per_key).zip(ranks) {
                rows.push(Row {
                    estimate,
                    key: key.clone(),
                    method,
                    value: v[0],
                    lo: v[1],
                    hi: v[2],
                    rank,
                    points: v[3] as u32,
                });
            }
        }
    }
    rows
}

/// Schema of `sensitivity.arrow`.
pub(crate) fn sensitivity_schema() -> SchemaRef {
    use DataType::{Float64, UInt32, Utf8};
    let fields = vec![
        Field::new("estimate", Utf8, false),
        Field::new("key", Utf8, false),
        Field::new("method", Utf8, false),
        Field::new("value", Float64, true),
        Field::new("lo", Float64, true),
        Field::new("hi", Float64, true),
        Field::new("rank", UInt32, false),
        Field::new("points", UInt32, false),
    ];
    let metadata = [
        ("taosim.table".to_string(), "sensitivity".to_string()),
        ("taosim.schema_version".to_string(), SCHEMA_VERSION.to_string()),
    ];
    Arc::new(Schema::new(fields).with_metadata(metadata.into_iter().collect()))
}

/// Writes `dir/sensitivity.arrow` for the sweep's points.
pub(crate) fn write(
    dir: &Path,
    input: &SensitivityInput,
    summaries: &[PointSummary],
) -> anyhow::Result<()> {
    let rows = rows(input, summaries);
    // NaN (no variation, too few points, no interval) is written as null: "not defined".
    let nullable = |get: fn(&Row) -> f64| -> ArrayRef {
        Arc::new(
            rows.iter().map(|r| Some(get(r)).filter(|v| v.is_finite())).collect::<Float64Array>(),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.estimate))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.key.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.method))),
        nullable(|r| r.value),
        nullable(|r| r.lo),
        nullable(|r| r.hi),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.rank))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.points))),
    ];
    let path = dir.join(SENSITIVITY_FILE);
    let schema = sensitivity_schema();
    let file = File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut writer = FileWriter::try_new_buffered(file, &schema)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if !rows.is_empty() {
        writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
    }
    writer.finish().with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
