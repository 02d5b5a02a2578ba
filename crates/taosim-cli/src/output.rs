//! The run's output folder (model.md §12; schemas in `docs/outputs.md`).
//!
//! [`RunWriter`] streams rows into Arrow IPC *files* (the random-access file format, not the
//! stream format) as they come (`durable::finalize` reads each batch's part file in chunks):
//! `subnets.arrow`, `events.arrow` and, when tracing is on, `traces.arrow`, re-chunked into record
//! batches of a fixed [`ROWS_PER_RECORD_BATCH`] rows, so memory holds at most one record batch of
//! rows per table whatever the run's size or horizon. [`RunWriter::finish_with_parameters`] writes `summary.arrow` (one row per
//! sweep point) and the footers; [`write_manifest`] writes `manifest.json`.
//!
//! Bytes depend only on the rows: no timestamps, no compression, the footer's metadata in key
//! order, and record batches of a fixed size whatever `run.batch_paths` was. Timings belong in the
//! manifest.
//! A folder whose writer was dropped without `finish` (a run that failed) holds files without
//! footers, which readers reject: a failed run never passes for a complete one.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder, UInt16Builder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt16Array, UInt32Array,
};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use taosim_core::records::{EventRecord, PointSummary, Proportion, SubnetRecord, TraceRecord};

/// File name of the per-occupant table.
pub(crate) const SUBNETS_FILE: &str = "subnets.arrow";
/// File name of the event table.
pub(crate) const EVENTS_FILE: &str = "events.arrow";
/// File name of the sampled time series.
pub(crate) const TRACES_FILE: &str = "traces.arrow";
/// File name of the per-point estimates.
pub(crate) const SUMMARY_FILE: &str = "summary.arrow";
/// File name of the run's manifest.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";

/// Version of the schemas in `docs/outputs.md`, stored in each file's schema metadata under
/// `taosim.schema_version`; bump it whenever a column changes.
pub(crate) const SCHEMA_VERSION: &str = "1";

/// What can go wrong while writing the output folder.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OutputError {
    /// The output folder could not be created.
    #[error("cannot create output folder {path}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file could not be created or written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Arrow refused a batch or the file could not be encoded.
    #[error("cannot write Arrow file {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ArrowError,
    },
    /// The manifest could not be serialized.
    #[error("cannot serialize {path}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A sweep parameter name is empty, repeated, or the name of an estimate column.
    #[error("invalid summary parameter column name {name:?}: {reason}")]
    ParameterName {
        /// The offending name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A summary row carries a different number of parameter values than there are names.
    #[error("summary row {row} (point {point}) has {got} parameter values, expected {expected}")]
    ParameterCount {
        /// Index of the row in the input.
        row: usize,
        /// Its sweep point id.
        point: u32,
        /// Values given.
        got: usize,
        /// Names given.
        expected: usize,
    },
    /// A swept key is a number at some points and a string at others.
    #[error("swept key `{name}` mixes numbers and strings across points")]
    ParameterKind {
        /// The key.
        name: String,
    },
    /// `finish_with_parameters` got a different number of parameter rows than summaries.
    #[error("{values} parameter rows for {summaries} summary rows")]
    ParameterRows {
        /// Parameter rows given.
        values: usize,
        /// Summary rows given.
        summaries: usize,
    },
}

/// The value of one swept key at one point: a number (`Float64` column) or a word such as an
/// emission regime (`Utf8` column). A key's column takes one kind for every point.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParamValue {
    /// A numeric key.
    Number(f64),
    /// A string key.
    Text(String),
}

impl ParamValue {
    fn data_type(&self) -> DataType {
        match self {
            ParamValue::Number(_) => DataType::Float64,
            ParamValue::Text(_) => DataType::Utf8,
        }
    }
}

/// Result alias of this module.
pub(crate) type Result<T, E = OutputError> = std::result::Result<T, E>;

/// One open Arrow IPC file with its fixed schema.
struct TableWriter {
    path: PathBuf,
    schema: SchemaRef,
    writer: FileWriter<BufWriter<File>>,
}

impl TableWriter {
    fn create(path: PathBuf, schema: SchemaRef) -> Result<Self> {
        let file =
            File::create(&path).map_err(|source| OutputError::Io { path: path.clone(), source })?;
        let writer = FileWriter::try_new_buffered(file, &schema)
            .map_err(|source| OutputError::Arrow { path: path.clone(), source })?;
        Ok(Self { path, schema, writer })
    }

    /// Writes `columns` (in schema order) as one record batch; nothing for zero rows, since an
    /// empty batch only adds bytes and every reader handles a file with no batches.
    fn write(&mut self, rows: usize, columns: Vec<ArrayRef>) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .and_then(|batch| self.writer.write(&batch));
        batch.map_err(|source| self.arrow_error(source))
    }

    /// Writes the footer and flushes the file.
    fn finish(mut self) -> Result<()> {
        self.writer.finish().map_err(|source| self.arrow_error(source))
    }

    fn arrow_error(&self, source: ArrowError) -> OutputError {
        OutputError::Arrow { path: self.path.clone(), source }
    }
}

/// Rows per Arrow record batch. Rows are re-chunked to this fixed size whatever the engine's
/// batch of paths, so the files' bytes do not depend on `run.batch_paths` (nor on sharding), and
/// at most this many rows per table wait in memory.
pub(crate) const ROWS_PER_RECORD_BATCH: usize = 16_384;

/// A table's rows waiting to fill a record batch of [`ROWS_PER_RECORD_BATCH`].
struct Chunked<T> {
    table: TableWriter,
    pending: Vec<T>,
    columns: fn(&[T]) -> Vec<ArrayRef>,
}

impl<T: Clone> Chunked<T> {
    fn new(table: TableWriter, columns: fn(&[T]) -> Vec<ArrayRef>) -> Self {
        Self { table, pending: Vec::new(), columns }
    }

    /// Queues `rows` and writes every full record batch. Rows are copied only into the one
    /// pending record batch (its capacity reserved once): memory holds at most
    /// [`ROWS_PER_RECORD_BATCH`] rows and one record batch's columns per table.
    fn push(&mut self, mut rows: &[T]) -> Result<()> {
        while !rows.is_empty() {
            if self.pending.is_empty() && rows.len() >= ROWS_PER_RECORD_BATCH {
                let (full, rest) = rows.split_at(ROWS_PER_RECORD_BATCH);
                self.table.write(full.len(), (self.columns)(full))?;
                rows = rest;
                continue;
            }
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(ROWS_PER_RECORD_BATCH);
            }
            let take = rows.len().min(ROWS_PER_RECORD_BATCH - self.pending.len());
            let (now, rest) = rows.split_at(take);
            self.pending.extend_from_slice(now);
            rows = rest;
            if self.pending.len() == ROWS_PER_RECORD_BATCH {
                self.table.write(self.pending.len(), (self.columns)(&self.pending))?;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Writes the last, partial record batch and the footer.
    fn finish(mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.pending);
        self.table.write(rows.len(), (self.columns)(&rows))?;
        self.table.finish()
    }
}

/// Streams a run's records into its output folder (see the module docs).
pub(crate) struct RunWriter {
    dir: PathBuf,
    subnets: Chunked<SubnetRecord>,
    events: Chunked<EventRecord>,
    traces: Option<Chunked<TraceRecord>>,
}

impl RunWriter {
    /// Creates `dir` (and its parents) if needed and opens `subnets.arrow`, `events.arrow` and,
    /// when `traces` is true, `traces.arrow`, replacing files of an earlier run.
    pub(crate) fn create(dir: &Path, traces: bool) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|source| OutputError::CreateDir { path: dir.to_path_buf(), source })?;
        // An earlier run's summary and manifest next to this run's files would make a failed
        // rerun look finished, and its traces would read as this run's.
        for stale in [SUMMARY_FILE, MANIFEST_FILE] {
            remove_if_present(&dir.join(stale))?;
        }
        let traces = if traces {
            let table = TableWriter::create(dir.join(TRACES_FILE), traces_schema())?;
            Some(Chunked::new(table, trace_columns))
        } else {
            remove_if_present(&dir.join(TRACES_FILE))?;
            None
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            subnets: Chunked::new(
                TableWriter::create(dir.join(SUBNETS_FILE), subnets_schema())?,
                subnet_columns,
            ),
            events: Chunked::new(
                TableWriter::create(dir.join(EVENTS_FILE), events_schema())?,
                event_columns,
            ),
            traces,
        })
    }

    /// Appends one batch's rows (written in record batches of [`ROWS_PER_RECORD_BATCH`] rows).
    /// Trace rows are dropped when the writer was created without traces.
    #[cfg(test)]
    pub(crate) fn append_batch(
        &mut self,
        batch: &taosim_core::records::BatchRecords,
    ) -> Result<()> {
        self.append_subnets(&batch.subnets)?;
        self.append_events(&batch.events)?;
        self.append_traces(&batch.traces)
    }

    /// Appends rows of `subnets.arrow` (after every row appended before).
    pub(crate) fn append_subnets(&mut self, rows: &[SubnetRecord]) -> Result<()> {
        self.subnets.push(rows)
    }

    /// Appends rows of `events.arrow`.
    pub(crate) fn append_events(&mut self, rows: &[EventRecord]) -> Result<()> {
        self.events.push(rows)
    }

    /// Appends rows of `traces.arrow` (dropped when the writer was created without traces).
    pub(crate) fn append_traces(&mut self, rows: &[TraceRecord]) -> Result<()> {
        match &mut self.traces {
            Some(traces) => traces.push(rows),
            None => Ok(()),
        }
    }

    /// Writes `summary.arrow` with one `Float64` column per name in `parameter_names` (the swept
    /// keys, e.g. `"death_spiral.zero_share_days"`) between `point` and the estimates, where
    /// `parameter_values[i][k]` is the value of key `k` at `summaries[i]`; then closes every file.
    pub(crate) fn finish_with_parameters(
        self,
        parameter_names: &[String],
        parameter_values: &[Vec<ParamValue>],
        summaries: &[PointSummary],
    ) -> Result<()> {
        // Validate before closing anything, so a caller's mistake leaves no half-written folder
        // that looks finished.
        check_parameter_rows(parameter_names, parameter_values, summaries)?;
        let types: Vec<DataType> = match parameter_values.first() {
            Some(row) => row.iter().map(ParamValue::data_type).collect(),
            None => vec![DataType::Float64; parameter_names.len()],
        };
        let schema = summary_schema(parameter_names, &types)?;
        self.subnets.finish()?;
        self.events.finish()?;
        if let Some(traces) = self.traces {
            traces.finish()?;
        }
        let mut summary = TableWriter::create(self.dir.join(SUMMARY_FILE), schema)?;
        summary.write(
            summaries.len(),
            summary_columns(parameter_names.len(), parameter_values, summaries),
        )?;
        summary.finish()
    }
}

/// Writes `value` to `dir/manifest.json`, pretty-printed with a final newline.
pub(crate) fn write_manifest(dir: &Path, value: &serde_json::Value) -> Result<()> {
    write_json_pretty(&dir.join(MANIFEST_FILE), value)
}

/// Writes `value` to `path` as pretty-printed JSON with a final newline.
pub(crate) fn write_json_pretty(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let io_error = |source| OutputError::Io { path: path.to_path_buf(), source };
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|source| OutputError::Json { path: path.to_path_buf(), source })?;
    text.push('\n');
    let mut file = BufWriter::new(File::create(path).map_err(io_error)?);
    file.write_all(text.as_bytes()).map_err(io_error)?;
    file.flush().map_err(io_error)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(OutputError::Io { path: path.to_path_buf(), source: err })
        }
        _ => Ok(()),
    }
}

fn check_parameter_rows(
    parameter_names: &[String],
    values: &[Vec<ParamValue>],
    summaries: &[PointSummary],
) -> Result<()> {
    let names = parameter_names.len();
    if values.len() != summaries.len() {
        return Err(OutputError::ParameterRows {
            values: values.len(),
            summaries: summaries.len(),
        });
    }
    for (row, (values, summary)) in values.iter().zip(summaries).enumerate() {
        if values.len() != names {
            return Err(OutputError::ParameterCount {
                row,
                point: summary.point,
                got: values.len(),
                expected: names,
            });
        }
    }
    if let Some(first) = values.first() {
        for row in values {
            for (k, value) in row.iter().enumerate() {
                if value.data_type() != first[k].data_type() {
                    return Err(OutputError::ParameterKind { name: parameter_names[k].clone() });
                }
            }
        }
    }
    Ok(())
}

/// Schema metadata naming the table and the schema version, so readers can tell files apart
/// and notice a layout change.
fn schema_with_metadata(table: &str, fields: Vec<Field>) -> SchemaRef {
    let metadata = [
        ("taosim.table".to_string(), table.to_string()),
        ("taosim.schema_version".to_string(), SCHEMA_VERSION.to_string()),
    ];
    Arc::new(Schema::new(fields).with_metadata(metadata.into_iter().collect()))
}

fn required(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, false)
}

/// Schema of `subnets.arrow`: one row per (point, path, slot occupant).
pub(crate) fn subnets_schema() -> SchemaRef {
    use DataType::{Boolean, Float64, UInt16, UInt32, Utf8};
    schema_with_metadata(
        "subnets",
        vec![
            required("point", UInt32),
            required("path", UInt32),
            required("netuid", UInt16),
            required("occupant", UInt32),
            required("name", Utf8),
            required("start_step", UInt32),
            required("start_price", Float64),
            required("end_price", Float64),
            required("start_tao", Float64),
            required("end_tao", Float64),
            required("start_alpha", Float64),
            required("end_alpha", Float64),
            required("min_price", Float64),
            required("peak_price", Float64),
            required("spiral", Boolean),
            Field::new("spiral_step", UInt32, true),
            required("pruned", Boolean),
            Field::new("pruned_step", UInt32, true),
            required("mean_share", Float64),
            required("cartel_share", Float64),
            required("staker_return", Float64),
            required("root_return", Float64),
            required("exit_slippage_1pct", Float64),
            required("exit_slippage_10pct", Float64),
        ],
    )
}

/// Schema of `events.arrow`: one row per registration, pruning or spiral entry.
pub(crate) fn events_schema() -> SchemaRef {
    use DataType::{Float64, UInt16, UInt32, Utf8};
    schema_with_metadata(
        "events",
        vec![
            required("point", UInt32),
            required("path", UInt32),
            required("step", UInt32),
            required("block", UInt32),
            required("netuid", UInt16),
            required("kind", Utf8),
            required("value", Float64),
            required("value2", Float64),
        ],
    )
}

/// Schema of `traces.arrow`: one row per (point, traced path, sample step, netuid).
pub(crate) fn traces_schema() -> SchemaRef {
    use DataType::{Boolean, Float64, UInt16, UInt32};
    schema_with_metadata(
        "traces",
        vec![
            required("point", UInt32),
            required("path", UInt32),
            required("step", UInt32),
            required("day", Float64),
            required("netuid", UInt16),
            required("active", Boolean),
            required("price", Float64),
            required("moving_price", Float64),
            required("tao", Float64),
            required("alpha", Float64),
            required("share", Float64),
            required("flow_ema", Float64),
        ],
    )
}

/// The plain `Float64` estimate columns of `summary.arrow`, in order, after the two flattened
/// proportions.
const SUMMARY_F64_COLUMNS: [&str; 8] = [
    "spirals_mean",
    "spirals_se",
    "prunings_mean",
    "spiral_days_q10",
    "spiral_days_q50",
    "spiral_days_q90",
    "pool_tao_end_mean",
    "zero_share_end_mean",
];

fn list_of(data_type: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(data_type, false)))
}

/// Schema of `summary.arrow` with the given parameter columns; fails on an empty or repeated
/// parameter name or one that is also an estimate column.
pub(crate) fn summary_schema(parameter_names: &[String], types: &[DataType]) -> Result<SchemaRef> {
    use DataType::{Float64, UInt16, UInt32};
    let mut estimates = vec![required("paths", UInt32)];
    for name in ["p_any_spiral", "p_top10_spiral"] {
        for suffix in ["", "_lo", "_hi"] {
            estimates.push(required(&format!("{name}{suffix}"), Float64));
        }
    }
    for name in SUMMARY_F64_COLUMNS {
        estimates.push(required(name, Float64));
    }
    estimates.push(required("spiral_netuid", list_of(UInt16)));
    for name in ["spiral_p", "spiral_p_lo", "spiral_p_hi"] {
        estimates.push(required(name, list_of(Float64)));
    }
    let point = required("point", UInt32);
    for (index, name) in parameter_names.iter().enumerate() {
        let reason = if name.is_empty() {
            "empty"
        } else if parameter_names[..index].contains(name) {
            "repeated"
        } else if name == point.name() || estimates.iter().any(|field| field.name() == name) {
            "clashes with an estimate column"
        } else {
            continue;
        };
        return Err(OutputError::ParameterName { name: name.clone(), reason });
    }
    let parameters = parameter_names.iter().zip(types).map(|(name, ty)| required(name, ty.clone()));
    let fields = std::iter::once(point).chain(parameters).chain(estimates).collect();
    Ok(schema_with_metadata("summary", fields))
}

fn u32_column<T>(rows: &[T], get: impl Fn(&T) -> u32) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(rows.iter().map(get)))
}

fn u16_column<T>(rows: &[T], get: impl Fn(&T) -> u16) -> ArrayRef {
    Arc::new(UInt16Array::from_iter_values(rows.iter().map(get)))
}

fn f64_column<T>(rows: &[T], get: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(get)))
}

fn bool_column<T>(rows: &[T], get: impl Fn(&T) -> bool) -> ArrayRef {
    Arc::new(rows.iter().map(|row| Some(get(row))).collect::<BooleanArray>())
}

fn optional_u32_column<T>(rows: &[T], get: impl Fn(&T) -> Option<u32>) -> ArrayRef {
    Arc::new(rows.iter().map(get).collect::<UInt32Array>())
}

fn string_column<'a, T>(rows: &'a [T], get: impl Fn(&'a T) -> &'a str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(get)))
}

fn subnet_columns(rows: &[SubnetRecord]) -> Vec<ArrayRef> {
    vec![
        u32_column(rows, |r| r.point),
        u32_column(rows, |r| r.path),
        u16_column(rows, |r| r.netuid),
        u32_column(rows, |r| r.occupant),
        string_column(rows, |r| r.name.as_str()),
        u32_column(rows, |r| r.start_step),
        f64_column(rows, |r| r.start_price),
        f64_column(rows, |r| r.end_price),
        f64_column(rows, |r| r.start_tao),
        f64_column(rows, |r| r.end_tao),
        f64_column(rows, |r| r.start_alpha),
        f64_column(rows, |r| r.end_alpha),
        f64_column(rows, |r| r.min_price),
        f64_column(rows, |r| r.peak_price),
        bool_column(rows, |r| r.spiral),
        optional_u32_column(rows, |r| r.spiral_step),
        bool_column(rows, |r| r.pruned),
        optional_u32_column(rows, |r| r.pruned_step),
        f64_column(rows, |r| r.mean_share),
        f64_column(rows, |r| r.cartel_share),
        f64_column(rows, |r| r.staker_return),
        f64_column(rows, |r| r.root_return),
        f64_column(rows, |r| r.exit_slippage_1pct),
        f64_column(rows, |r| r.exit_slippage_10pct),
    ]
}

fn event_columns(rows: &[EventRecord]) -> Vec<ArrayRef> {
    vec![
        u32_column(rows, |r| r.point),
        u32_column(rows, |r| r.path),
        u32_column(rows, |r| r.step),
        u32_column(rows, |r| r.block),
        u16_column(rows, |r| r.netuid),
        string_column(rows, |r| r.kind.name()),
        f64_column(rows, |r| r.value),
        f64_column(rows, |r| r.value2),
    ]
}

fn trace_columns(rows: &[TraceRecord]) -> Vec<ArrayRef> {
    vec![
        u32_column(rows, |r| r.point),
        u32_column(rows, |r| r.path),
        u32_column(rows, |r| r.step),
        f64_column(rows, |r| r.day),
        u16_column(rows, |r| r.netuid),
        bool_column(rows, |r| r.active),
        f64_column(rows, |r| r.price),
        f64_column(rows, |r| r.moving_price),
        f64_column(rows, |r| r.tao),
        f64_column(rows, |r| r.alpha),
        f64_column(rows, |r| r.share),
        f64_column(rows, |r| r.flow_ema),
    ]
}

fn proportion_columns(
    rows: &[PointSummary],
    get: impl Fn(&PointSummary) -> Proportion,
) -> [ArrayRef; 3] {
    [
        f64_column(rows, |r| get(r).p),
        f64_column(rows, |r| get(r).lo),
        f64_column(rows, |r| get(r).hi),
    ]
}

/// `spiral_by_netuid` as four parallel lists per row: netuids, p, lo, hi. Parallel lists (rather
/// than a list of structs) read as plain columns everywhere, e.g. `explode` in polars or
/// `unnest` in DuckDB on all four at once.
fn spiral_list_columns(rows: &[PointSummary]) -> [ArrayRef; 4] {
    let mut netuids = ListBuilder::new(UInt16Builder::new())
        .with_field(Field::new_list_field(DataType::UInt16, false));
    let f64_list = || {
        ListBuilder::new(Float64Builder::new())
            .with_field(Field::new_list_field(DataType::Float64, false))
    };
    let (mut p, mut lo, mut hi) = (f64_list(), f64_list(), f64_list());
    for row in rows {
        for (netuid, proportion) in &row.spiral_by_netuid {
            netuids.values().append_value(*netuid);
            p.values().append_value(proportion.p);
            lo.values().append_value(proportion.lo);
            hi.values().append_value(proportion.hi);
        }
        netuids.append(true);
        p.append(true);
        lo.append(true);
        hi.append(true);
    }
    [Arc::new(netuids.finish()), Arc::new(p.finish()), Arc::new(lo.finish()), Arc::new(hi.finish())]
}

fn summary_columns(
    parameters: usize,
    parameter_values: &[Vec<ParamValue>],
    rows: &[PointSummary],
) -> Vec<ArrayRef> {
    let mut columns = vec![u32_column(rows, |r| r.point)];
    for k in 0..parameters {
        let text = matches!(parameter_values.first().map(|v| &v[k]), Some(ParamValue::Text(_)));
        columns.push(if text {
            string_column(parameter_values, |values| match &values[k] {
                ParamValue::Text(t) => t.as_str(),
                ParamValue::Number(_) => "",
            })
        } else {
            f64_column(parameter_values, |values| match values[k] {
                ParamValue::Number(x) => x,
                ParamValue::Text(_) => f64::NAN,
            })
        });
    }
    columns.push(u32_column(rows, |r| r.paths));
    columns.extend(proportion_columns(rows, |r| r.p_any_spiral));
    columns.extend(proportion_columns(rows, |r| r.p_top10_spiral));
    columns.extend([
        f64_column(rows, |r| r.spirals_mean),
        f64_column(rows, |r| r.spirals_se),
        f64_column(rows, |r| r.prunings_mean),
        f64_column(rows, |r| r.spiral_days_q10),
        f64_column(rows, |r| r.spiral_days_q50),
        f64_column(rows, |r| r.spiral_days_q90),
        f64_column(rows, |r| r.pool_tao_end_mean),
        f64_column(rows, |r| r.zero_share_end_mean),
    ]);
    columns.extend(spiral_list_columns(rows));
    columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt16Type, UInt32Type};
    use arrow_ipc::reader::FileReader;
    use taosim_core::records::{BatchRecords, EventKind};

    /// Closes `writer` with a summary without parameter columns (as `taosim run` on one point).
    fn finish(writer: RunWriter, summaries: &[PointSummary]) {
        let values = vec![Vec::new(); summaries.len()];
        writer.finish_with_parameters(&[], &values, summaries).unwrap();
    }

    /// A fresh folder under the system temp dir, unique per test and process, removed on drop.
    struct ScratchDir(PathBuf);

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl std::ops::Deref for ScratchDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    fn scratch_dir(test: &str) -> ScratchDir {
        let dir =
            std::env::temp_dir().join(format!("taosim-output-test-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ScratchDir(dir)
    }

    fn subnet(point: u32, path: u32, netuid: u16, occupant: u32) -> SubnetRecord {
        let base = f64::from(netuid) + f64::from(path) / 8.0;
        SubnetRecord {
            point,
            path,
            netuid,
            occupant,
            name: format!("sn-{netuid}-{occupant}"),
            start_step: 0,
            start_price: 0.01 * base,
            end_price: 0.009 * base,
            start_tao: 1000.0 * base,
            end_tao: 990.0 * base,
            start_alpha: 100_000.0,
            end_alpha: 110_000.0,
            min_price: 0.008 * base,
            peak_price: 0.012 * base,
            spiral: false,
            spiral_step: None,
            pruned: false,
            pruned_step: None,
            mean_share: 0.25,
            cartel_share: 0.0,
            staker_return: -0.1,
            root_return: 0.02,
            exit_slippage_1pct: 0.0099,
            exit_slippage_10pct: 0.0909,
        }
    }

    fn event(point: u32, path: u32, step: u32, netuid: u16, kind: EventKind) -> EventRecord {
        EventRecord {
            point,
            path,
            step,
            block: 7_000_000 + step * 360,
            netuid,
            kind,
            value: 12.5,
            value2: 3.0,
        }
    }

    fn trace(point: u32, path: u32, step: u32, netuid: u16) -> TraceRecord {
        TraceRecord {
            point,
            path,
            step,
            day: f64::from(step) / 20.0,
            netuid,
            active: netuid != 2,
            price: 0.5,
            moving_price: 0.4,
            tao: 2000.0,
            alpha: 4000.0,
            share: 0.5,
            flow_ema: -0.25,
        }
    }

    /// Rows handed over in pieces of any size (smaller and larger than a record batch, some
    /// ending exactly on a boundary) make the same `traces.arrow`, byte for byte, as all rows at
    /// once, in record batches of [`ROWS_PER_RECORD_BATCH`] rows and one last partial one.
    #[test]
    fn pieces_of_any_size_make_the_same_file() {
        let n = 2 * ROWS_PER_RECORD_BATCH + 1_000;
        let rows: Vec<TraceRecord> =
            (0..n).map(|i| trace(0, (i / 1_000) as u32, (i % 1_000) as u32, 1)).collect();
        let write = |name: &str, pieces: &[usize]| {
            let dir = scratch_dir(name);
            let mut writer = RunWriter::create(&dir, true).unwrap();
            let mut at = 0;
            for &len in pieces {
                writer.append_traces(&rows[at..at + len]).unwrap();
                at += len;
            }
            assert_eq!(at, n);
            finish(writer, &[]);
            let bytes = std::fs::read(dir.join(TRACES_FILE)).unwrap();
            let file = File::open(dir.join(TRACES_FILE)).unwrap();
            let sizes: Vec<usize> =
                FileReader::try_new(file, None).unwrap().map(|b| b.unwrap().num_rows()).collect();
            (bytes, sizes)
        };
        let (whole, sizes) = write("pieces-whole", &[n]);
        assert_eq!(sizes, [ROWS_PER_RECORD_BATCH, ROWS_PER_RECORD_BATCH, 1_000]);
        let r = ROWS_PER_RECORD_BATCH;
        for (k, pieces) in [
            vec![1, r - 1, r, 1_000],
            vec![3, r + 5, 7, r - 15, 1_000],
            vec![1_024; n / 1_024].into_iter().chain([n % 1_024]).collect(),
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(write(&format!("pieces-{k}"), pieces), (whole.clone(), sizes.clone()));
        }
    }

    /// Point 0, paths `first..first + 2`, netuids 1 and 2; path `first` has netuid 2 spiral at
    /// step 40 and get pruned at step 50, replaced by occupant 1.
    fn batch(first: u32, with_traces: bool) -> BatchRecords {
        let mut subnets = Vec::new();
        let mut events = Vec::new();
        for path in first..first + 2 {
            subnets.push(subnet(0, path, 1, 0));
            let mut second = subnet(0, path, 2, 0);
            if path == first {
                second.spiral = true;
                second.spiral_step = Some(40);
                second.pruned = true;
                second.pruned_step = Some(50);
                subnets.push(second);
                let mut replacement = subnet(0, path, 2, 1);
                replacement.start_step = 51;
                subnets.push(replacement);
                events.push(event(0, path, 40, 2, EventKind::Spiral));
                events.push(event(0, path, 50, 2, EventKind::Pruned));
                events.push(event(0, path, 51, 2, EventKind::Registered));
            } else {
                subnets.push(second);
            }
        }
        let traces = if with_traces {
            (0..3)
                .flat_map(|sample| [1, 2].map(|netuid| trace(0, first, sample * 20, netuid)))
                .collect()
        } else {
            Vec::new()
        };
        BatchRecords { point: 0, first_path: first, subnets, events, traces, outcomes: Vec::new() }
    }

    fn proportion(p: f64) -> Proportion {
        Proportion { p, lo: p * 0.5, hi: p * 0.5 + 0.5 }
    }

    fn summary(point: u32, spiral_by_netuid: Vec<(u16, Proportion)>) -> PointSummary {
        PointSummary {
            point,
            paths: 4,
            p_any_spiral: proportion(0.5),
            p_top10_spiral: proportion(0.25),
            spirals_mean: 0.5,
            spirals_se: 0.25,
            prunings_mean: 0.5,
            spiral_days_q10: 1.5,
            spiral_days_q50: 2.0,
            spiral_days_q90: f64::NAN,
            pool_tao_end_mean: 5000.0,
            zero_share_end_mean: 0.75,
            spiral_by_netuid,
        }
    }

    fn read(path: &Path) -> (SchemaRef, Vec<RecordBatch>) {
        let reader = FileReader::try_new(File::open(path).unwrap(), None).unwrap();
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
        (schema, batches)
    }

    /// Every value of primitive `column`, across batches.
    fn values<T: arrow_array::ArrowPrimitiveType>(
        batches: &[RecordBatch],
        column: &str,
    ) -> Vec<T::Native> {
        batches
            .iter()
            .flat_map(|b| b.column_by_name(column).unwrap().as_primitive::<T>().values().to_vec())
            .collect()
    }

    fn u32s(batches: &[RecordBatch], column: &str) -> Vec<u32> {
        values::<UInt32Type>(batches, column)
    }

    fn f64s(batches: &[RecordBatch], column: &str) -> Vec<f64> {
        values::<Float64Type>(batches, column)
    }

    fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                let array = b.column_by_name(column).unwrap().as_string::<i32>();
                (0..array.len()).map(|i| array.value(i).to_string()).collect::<Vec<_>>()
            })
            .collect()
    }

    fn optional_u32s(batches: &[RecordBatch], column: &str) -> Vec<Option<u32>> {
        batches
            .iter()
            .flat_map(|b| {
                let array = b.column_by_name(column).unwrap().as_primitive::<UInt32Type>();
                (0..array.len())
                    .map(|i| array.is_valid(i).then(|| array.value(i)))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn field_summary(schema: &Schema) -> Vec<(String, DataType, bool)> {
        schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
            .collect()
    }

    fn write_sample_run(dir: &Path) {
        let mut writer = RunWriter::create(dir, true).unwrap();
        writer.append_batch(&batch(0, true)).unwrap();
        writer.append_batch(&BatchRecords::default()).unwrap();
        writer.append_batch(&batch(2, false)).unwrap();
        let summaries =
            [summary(0, vec![(1, proportion(0.0)), (2, proportion(0.5))]), summary(1, Vec::new())];
        finish(writer, &summaries);
    }

    #[test]
    fn subnet_rows_round_trip_with_schema_types_and_nulls() {
        let dir = scratch_dir("subnets");
        write_sample_run(&dir);
        let (schema, batches) = read(&dir.join(SUBNETS_FILE));
        assert_eq!(field_summary(&schema), field_summary(&subnets_schema()), "schema on disk");
        assert_eq!(schema.metadata()["taosim.table"], "subnets");
        assert_eq!(schema.metadata()["taosim.schema_version"], SCHEMA_VERSION);
        // Rows are re-chunked: the two non-empty input batches make one record batch.
        assert_eq!(batches.len(), 1);
        let expected: Vec<SubnetRecord> =
            [batch(0, true), batch(2, false)].into_iter().flat_map(|b| b.subnets).collect();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 10);
        assert_eq!(u32s(&batches, "path"), expected.iter().map(|r| r.path).collect::<Vec<_>>());
        let netuids: Vec<u16> = batches
            .iter()
            .flat_map(|b| {
                b.column_by_name("netuid").unwrap().as_primitive::<UInt16Type>().values().to_vec()
            })
            .collect();
        assert_eq!(netuids, [1, 2, 2, 1, 2, 1, 2, 2, 1, 2]);
        assert_eq!(
            strings(&batches, "name"),
            expected.iter().map(|r| r.name.clone()).collect::<Vec<_>>()
        );
        assert_eq!(
            f64s(&batches, "start_tao"),
            expected.iter().map(|r| r.start_tao).collect::<Vec<_>>()
        );
        assert_eq!(
            optional_u32s(&batches, "spiral_step"),
            expected.iter().map(|r| r.spiral_step).collect::<Vec<_>>()
        );
        assert_eq!(optional_u32s(&batches, "pruned_step")[1], Some(50), "pruned occupant");
        let spiral = batches[0].column_by_name("spiral").unwrap().as_boolean();
        assert!(spiral.value(1) && !spiral.value(0));
    }

    #[test]
    fn events_and_traces_round_trip() {
        let dir = scratch_dir("events");
        write_sample_run(&dir);
        let (schema, events) = read(&dir.join(EVENTS_FILE));
        assert_eq!(field_summary(&schema), field_summary(&events_schema()));
        assert_eq!(
            strings(&events, "kind"),
            ["spiral", "pruned", "registered", "spiral", "pruned", "registered"]
        );
        assert_eq!(u32s(&events, "block")[1], 7_000_000 + 50 * 360);
        assert_eq!(u32s(&events, "path"), [0, 0, 0, 2, 2, 2]);

        let (schema, traces) = read(&dir.join(TRACES_FILE));
        assert_eq!(field_summary(&schema), field_summary(&traces_schema()));
        // Only the first batch carried trace rows: 3 samples x 2 netuids.
        assert_eq!(traces.len(), 1);
        assert_eq!(u32s(&traces, "step"), [0, 0, 20, 20, 40, 40]);
        assert_eq!(f64s(&traces, "day"), [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        let active = traces[0].column_by_name("active").unwrap().as_boolean();
        assert_eq!(
            (0..6).map(|i| active.value(i)).collect::<Vec<_>>(),
            [true, false, true, false, true, false]
        );
    }

    #[test]
    fn summary_flattens_proportions_and_lists_spirals_by_netuid() {
        let dir = scratch_dir("summary");
        write_sample_run(&dir);
        let (schema, batches) = read(&dir.join(SUMMARY_FILE));
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "point",
                "paths",
                "p_any_spiral",
                "p_any_spiral_lo",
                "p_any_spiral_hi",
                "p_top10_spiral",
                "p_top10_spiral_lo",
                "p_top10_spiral_hi",
                "spirals_mean",
                "spirals_se",
                "prunings_mean",
                "spiral_days_q10",
                "spiral_days_q50",
                "spiral_days_q90",
                "pool_tao_end_mean",
                "zero_share_end_mean",
                "spiral_netuid",
                "spiral_p",
                "spiral_p_lo",
                "spiral_p_hi",
            ]
        );
        assert_eq!(
            schema.field_with_name("spiral_netuid").unwrap().data_type(),
            &list_of(DataType::UInt16)
        );
        assert_eq!(batches.len(), 1);
        assert_eq!(u32s(&batches, "point"), [0, 1]);
        assert_eq!(f64s(&batches, "p_any_spiral_lo"), [0.25, 0.25]);
        assert_eq!(f64s(&batches, "p_any_spiral_hi"), [0.75, 0.75]);
        assert!(f64s(&batches, "spiral_days_q90")[0].is_nan());
        let netuids = batches[0].column_by_name("spiral_netuid").unwrap().as_list::<i32>();
        assert_eq!(netuids.value_offsets(), [0, 2, 2], "second point has no netuids");
        assert_eq!(netuids.values().as_primitive::<UInt16Type>().values().to_vec(), [1, 2]);
        let p_hi = batches[0].column_by_name("spiral_p_hi").unwrap().as_list::<i32>();
        assert_eq!(p_hi.values().as_primitive::<Float64Type>().values().to_vec(), [0.5, 0.75]);
    }

    #[test]
    fn parameter_columns_sit_between_point_and_estimates() {
        let dir = scratch_dir("parameters");
        let writer = RunWriter::create(&dir, false).unwrap();
        let names = ["death_spiral.zero_share_days".to_string(), "chain.regime".to_string()];
        let values = [
            vec![ParamValue::Number(30.0), ParamValue::Text("taoflow".into())],
            vec![ParamValue::Number(60.0), ParamValue::Text("price_ema".into())],
        ];
        writer
            .finish_with_parameters(
                &names,
                &values,
                &[summary(0, Vec::new()), summary(1, Vec::new())],
            )
            .unwrap();
        let (schema, batches) = read(&dir.join(SUMMARY_FILE));
        let names_on_disk: Vec<&str> =
            schema.fields().iter().take(4).map(|f| f.name().as_str()).collect();
        assert_eq!(
            names_on_disk,
            ["point", "death_spiral.zero_share_days", "chain.regime", "paths"]
        );
        assert_eq!(f64s(&batches, "death_spiral.zero_share_days"), [30.0, 60.0]);
        let regimes = batches[0].column_by_name("chain.regime").unwrap().as_string::<i32>();
        assert_eq!(regimes.value(0), "taoflow");
        assert_eq!(regimes.value(1), "price_ema");
        assert!(!dir.join(TRACES_FILE).exists());
    }

    #[test]
    fn bad_parameter_columns_are_refused() {
        let dir = scratch_dir("bad-parameters");
        let rows = [summary(0, Vec::new())];
        for (names, reason) in [
            (vec![String::new()], "empty"),
            (vec!["x".into(), "x".into()], "repeated"),
            (vec!["paths".into()], "clashes with an estimate column"),
            (vec!["point".into()], "clashes with an estimate column"),
        ] {
            let writer = RunWriter::create(&dir, false).unwrap();
            let values = vec![vec![ParamValue::Number(0.0); names.len()]];
            match writer.finish_with_parameters(&names, &values, &rows) {
                Err(OutputError::ParameterName { reason: got, .. }) => assert_eq!(got, reason),
                other => panic!("{names:?}: expected a name error, got {other:?}"),
            }
        }
        let writer = RunWriter::create(&dir, false).unwrap();
        let err = writer
            .finish_with_parameters(
                &["a".into()],
                &[vec![ParamValue::Number(1.0), ParamValue::Number(2.0)]],
                &rows,
            )
            .unwrap_err();
        assert!(matches!(err, OutputError::ParameterCount { row: 0, got: 2, expected: 1, .. }));
        let writer = RunWriter::create(&dir, false).unwrap();
        let err = writer.finish_with_parameters(&[], &[], &rows).unwrap_err();
        assert!(matches!(err, OutputError::ParameterRows { values: 0, summaries: 1 }));
    }

    #[test]
    fn zero_row_files_are_valid_and_keep_their_schema() {
        let dir = scratch_dir("empty");
        let mut writer = RunWriter::create(&dir, true).unwrap();
        writer.append_batch(&BatchRecords::default()).unwrap();
        finish(writer, &[]);
        for (file, schema) in [
            (SUBNETS_FILE, subnets_schema()),
            (EVENTS_FILE, events_schema()),
            (TRACES_FILE, traces_schema()),
            (SUMMARY_FILE, summary_schema(&[], &[]).unwrap()),
        ] {
            let (on_disk, batches) = read(&dir.join(file));
            assert_eq!(field_summary(&on_disk), field_summary(&schema), "{file}");
            assert!(batches.is_empty(), "{file}");
        }
    }

    #[test]
    fn files_are_byte_identical_for_identical_records() {
        let (a, b) = (scratch_dir("determinism-a"), scratch_dir("determinism-b"));
        write_sample_run(&a);
        write_sample_run(&b);
        for file in [SUBNETS_FILE, EVENTS_FILE, TRACES_FILE, SUMMARY_FILE] {
            let (bytes_a, bytes_b) =
                (std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap());
            assert!(bytes_a.len() > 8, "{file}");
            assert!(bytes_a == bytes_b, "{file} differs between identical runs");
        }
    }

    #[test]
    fn rerun_removes_stale_files_and_untraced_run_ignores_trace_rows() {
        let dir = scratch_dir("untraced");
        write_sample_run(&dir);
        write_manifest(&dir, &serde_json::json!({})).unwrap();
        assert!(dir.join(TRACES_FILE).exists());
        let mut writer = RunWriter::create(&dir, false).unwrap();
        assert!(!dir.join(SUMMARY_FILE).exists() && !dir.join(MANIFEST_FILE).exists());
        writer.append_batch(&batch(0, true)).unwrap();
        finish(writer, &[summary(0, Vec::new())]);
        assert!(!dir.join(TRACES_FILE).exists());
        assert_eq!(read(&dir.join(SUBNETS_FILE)).1.len(), 1);
    }

    #[test]
    fn manifest_is_pretty_json_with_final_newline() {
        let dir = scratch_dir("manifest");
        std::fs::create_dir_all(&*dir).unwrap();
        let value = serde_json::json!({"seed": 7, "backend": "cpu", "timings": {"run_s": 1.5}});
        write_manifest(&dir, &value).unwrap();
        let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        assert!(text.ends_with("}\n") && text.contains("\n  \"seed\": 7"), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }

    /// Wilson 95% interval of `k` successes in `n` trials.
    fn wilson(k: u32, n: u32) -> Proportion {
        let (k, n) = (f64::from(k), f64::from(n));
        let z = 1.959_963_984_540_054_f64;
        let p = k / n;
        let denominator = 1.0 + z * z / n;
        let center = (p + z * z / (2.0 * n)) / denominator;
        let half = z / denominator * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        Proportion { p, lo: (center - half).max(0.0), hi: (center + half).min(1.0) }
    }

    /// A small, internally consistent run (2 points x 4 paths x 3 subnets, spirals, a pruning
    /// and a registration, traces for 2 paths) for `tests/python/check_outputs.py`:
    /// `TAOSIM_SAMPLE_OUTPUT=DIR cargo test -p taosim-cli sample_output -- --ignored`, then
    /// `python3 tests/python/check_outputs.py DIR --paths 4`.
    #[test]
    #[ignore = "writes a sample folder for tests/python/check_outputs.py; needs TAOSIM_SAMPLE_OUTPUT"]
    fn sample_output_folder() {
        let dir =
            PathBuf::from(std::env::var("TAOSIM_SAMPLE_OUTPUT").expect("TAOSIM_SAMPLE_OUTPUT"));
        let paths = 4_u32;
        let mut writer = RunWriter::create(&dir, true).unwrap();
        let mut summaries = Vec::new();
        for point in 0..2_u32 {
            let mut spirals_per_path = Vec::new();
            let mut prunings = 0;
            let mut pool_tao_end = 0.0;
            let mut spiral_days = Vec::new();
            let mut spiral_by_slot = [0_u32; 3];
            for path in 0..paths {
                let mut records =
                    BatchRecords { point, first_path: path, ..BatchRecords::default() };
                for netuid in 1..=3_u16 {
                    let mut row = subnet(point, path, netuid, 0);
                    row.start_tao = 1000.0 * f64::from(4 - netuid);
                    row.end_tao = row.start_tao * 0.95;
                    let spiral_at = match (point, path, netuid) {
                        (0, 1, 3) => Some(200),
                        (0, 3, 2) => Some(500),
                        _ => None,
                    };
                    if let Some(step) = spiral_at {
                        row.spiral = true;
                        row.spiral_step = Some(step);
                        row.mean_share = 0.0;
                        spiral_by_slot[usize::from(netuid - 1)] += 1;
                        spiral_days.push(f64::from(step) / 20.0);
                        records.events.push(event(point, path, step, netuid, EventKind::Spiral));
                    }
                    if (point, path, netuid) == (0, 1, 3) {
                        row.pruned = true;
                        row.pruned_step = Some(300);
                        prunings += 1;
                        records.events.push(event(point, path, 300, netuid, EventKind::Pruned));
                        records.subnets.push(row);
                        let mut replacement = subnet(point, path, netuid, 1);
                        replacement.start_step = 301;
                        replacement.name = format!("new-{netuid}-1");
                        pool_tao_end += replacement.end_tao;
                        records.events.push(event(point, path, 301, netuid, EventKind::Registered));
                        records.subnets.push(replacement);
                    } else {
                        pool_tao_end += row.end_tao;
                        records.subnets.push(row);
                    }
                }
                spirals_per_path.push(
                    u32::try_from(records.subnets.iter().filter(|r| r.spiral).count()).unwrap(),
                );
                records.events.sort_by_key(|e| (e.step, e.netuid));
                if path < 2 {
                    for step in (0..=600).step_by(20) {
                        for netuid in 1..=3_u16 {
                            let mut row = trace(point, path, step, netuid);
                            row.active = true;
                            row.share = [0.5, 0.3, 0.2][usize::from(netuid - 1)];
                            records.traces.push(row);
                        }
                    }
                }
                writer.append_batch(&records).unwrap();
            }
            let any = u32::try_from(spirals_per_path.iter().filter(|&&s| s > 0).count()).unwrap();
            let n = f64::from(paths);
            let mean = f64::from(spirals_per_path.iter().sum::<u32>()) / n;
            let variance =
                spirals_per_path.iter().map(|&s| (f64::from(s) - mean).powi(2)).sum::<f64>()
                    / (n - 1.0);
            spiral_days.sort_by(f64::total_cmp);
            let quantile = |q: f64| {
                if spiral_days.is_empty() {
                    return f64::NAN;
                }
                let position = q * (spiral_days.len() - 1) as f64;
                let (below, above) = (position.floor() as usize, position.ceil() as usize);
                spiral_days[below] + (spiral_days[above] - spiral_days[below]) * position.fract()
            };
            summaries.push(PointSummary {
                point,
                paths,
                p_any_spiral: wilson(any, paths),
                // The start's top 10 holds every subnet here.
                p_top10_spiral: wilson(any, paths),
                spirals_mean: mean,
                spirals_se: (variance / n).sqrt(),
                prunings_mean: f64::from(prunings) / n,
                spiral_days_q10: quantile(0.1),
                spiral_days_q50: quantile(0.5),
                spiral_days_q90: quantile(0.9),
                pool_tao_end_mean: pool_tao_end / n,
                zero_share_end_mean: 0.0,
                spiral_by_netuid: (1..=3_u16)
                    .map(|netuid| (netuid, wilson(spiral_by_slot[usize::from(netuid - 1)], paths)))
                    .collect(),
            });
        }
        finish(writer, &summaries);
        let manifest = serde_json::json!({
            "config": {"paths": paths},
            "seed": 42,
            "version": env!("CARGO_PKG_VERSION"),
            "backend": "cpu",
            "timings": {"total_s": 0.0},
        });
        write_manifest(&dir, &manifest).unwrap();
    }
}
