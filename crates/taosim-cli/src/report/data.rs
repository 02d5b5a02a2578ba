//! Loading a run's output folder (docs/outputs.md) into the plain values the report draws.
//!
//! The Arrow files are read record batch by record batch and reduced as they stream past, so a
//! sweep's traces (points × traced paths × samples × slots rows) never sit in memory whole: only
//! the chosen subnets' prices and pool TAO, and one top-10 share per (path, sample), are kept.
//! Every failure here is about the input folder, and names the file and column.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use arrow_array::{
    Array, BooleanArray, Float64Array, ListArray, RecordBatch, StringArray, UInt16Array,
    UInt32Array,
};
use arrow_ipc::reader::FileReader;
use arrow_schema::DataType;
use taosim_core::params::BLOCKS_PER_DAY;
use taosim_core::records::Proportion;

use super::stats::{PointSpirals, top_k_share};
use crate::output::{MANIFEST_FILE, SUBNETS_FILE, SUMMARY_FILE, TRACES_FILE};

/// Subnets counted in the emission-share concentration.
pub(crate) const TOP_SHARE_K: usize = 10;

/// The values of one swept key, one per summary row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum KeyValues {
    /// A numeric key (Float64 column).
    Numbers(Vec<f64>),
    /// A key whose values are words, such as `chain.regime` (Utf8 column).
    Words(Vec<String>),
}

/// One swept key: its dotted config path and its value per point.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SweepKey {
    /// Dotted config path, e.g. `behaviour.panic_rate_per_day`.
    pub(crate) name: String,
    /// Its value at each summary row.
    pub(crate) values: KeyValues,
}

/// One row of summary.arrow, reduced to what the report shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PointRow {
    /// Sweep point id.
    pub(crate) point: u32,
    /// Paths of the point.
    pub(crate) paths: u32,
    /// Probability that any subnet spiralled, with its Wilson interval.
    pub(crate) any_spiral: Proportion,
    /// Probability that a top-10 subnet spiralled, with its Wilson interval.
    pub(crate) top10_spiral: Proportion,
    /// Median days to a spiral (NaN without spirals).
    pub(crate) spiral_days_median: f64,
    /// Per initial netuid: its spiral probability.
    pub(crate) spiral_p: Vec<(u16, f64)>,
}

/// summary.arrow: the swept keys and one row per point.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Summary {
    /// Swept keys, in column order (none for a plain run).
    pub(crate) keys: Vec<SweepKey>,
    /// One row per point, in point order.
    pub(crate) rows: Vec<PointRow>,
}

impl Summary {
    /// Per-point spiral probabilities by netuid.
    pub(crate) fn point_spirals(&self) -> Vec<PointSpirals> {
        self.rows.iter().map(|r| (r.point, r.paths, r.spiral_p.clone())).collect()
    }
}

/// What the manifest says about the run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Manifest {
    /// taosim version that wrote the run.
    pub(crate) version: String,
    /// Seed.
    pub(crate) seed: u64,
    /// Paths in all.
    pub(crate) paths: u64,
    /// Design of a sweep (`grid`, `lhs`, ...); `None` for `taosim run`.
    pub(crate) design: Option<String>,
    /// Config file the run was started from.
    pub(crate) config_file: String,
    /// Days per engine step, per point (in manifest order, i.e. summary row order).
    pub(crate) days_per_step: Vec<f64>,
    /// Horizon in days of the first point.
    pub(crate) days: f64,
}

/// One traced subnet's samples: per sample step, its day and the values over traced paths where
/// the slot was active.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SubnetSeries {
    /// step → (day, prices, pool TAO).
    pub(crate) by_step: BTreeMap<u32, (f64, Vec<f64>, Vec<f64>)>,
}

/// What the report takes from traces.arrow.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Traces {
    /// Traced paths (distinct (point, path) pairs) that were read.
    pub(crate) paths: u64,
    /// Chosen netuid → its series.
    pub(crate) subnets: BTreeMap<u16, SubnetSeries>,
    /// step → (day, top-10 emission share of each traced path at that sample).
    pub(crate) top_share: BTreeMap<u32, (f64, Vec<f64>)>,
}

/// What the report takes from subnets.arrow.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Subnets {
    /// Initial subnets' names by netuid.
    pub(crate) names: BTreeMap<u16, String>,
    /// Initial netuids by pool TAO at the start, largest first.
    pub(crate) by_start_tao: Vec<u16>,
    /// Days from the start of the path to each spiral entry (any occupant) of the chosen points.
    pub(crate) spiral_days: Vec<f64>,
}

/// The checked input folder.
#[derive(Clone, Debug)]
pub(crate) struct RunFolder {
    /// The folder.
    pub(crate) dir: PathBuf,
}

impl RunFolder {
    /// Checks that `dir` is a finished taosim output folder: it exists, is not a run's
    /// `*.incomplete` staging folder, and holds summary.arrow (with its taosim table tag) and
    /// manifest.json.
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Self> {
        let shown = dir.display();
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".incomplete") {
            bail!(
                "{shown} is the staging folder of a run that has not finished (or failed): report on the finished folder, without `.incomplete`"
            );
        }
        if !dir.is_dir() {
            bail!("output folder {shown} does not exist (or is not a folder)");
        }
        for file in [SUMMARY_FILE, MANIFEST_FILE] {
            if !dir.join(file).is_file() {
                bail!("{shown} is not a taosim output folder: it has no {file}");
            }
        }
        let folder = Self { dir: dir.to_path_buf() };
        let reader = folder.open_table(SUMMARY_FILE)?;
        let table = reader.schema().metadata().get("taosim.table").cloned();
        if table.as_deref() != Some("summary") {
            bail!("{shown}/{SUMMARY_FILE} is not a taosim summary (no `taosim.table` = summary)");
        }
        Ok(folder)
    }

    fn open_table(&self, file: &str) -> anyhow::Result<FileReader<File>> {
        let path = self.dir.join(file);
        let handle =
            File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        FileReader::try_new(handle, None)
            .with_context(|| format!("{} is not a complete Arrow file", path.display()))
    }

    /// Whether the folder holds `file`.
    pub(crate) fn has(&self, file: &str) -> bool {
        self.dir.join(file).is_file()
    }

    /// Every record batch of `file`.
    fn batches(&self, file: &str) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Batch>>> {
        let reader = self.open_table(file)?;
        let file = file.to_string();
        Ok(reader.map(move |b| {
            b.map(|batch| Batch { file: file.clone(), batch })
                .with_context(|| format!("cannot read a record batch of {file}"))
        }))
    }

    /// Reads manifest.json.
    pub(crate) fn manifest(&self) -> anyhow::Result<Manifest> {
        let path = self.dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let configs = json["config"].as_array().cloned().unwrap_or_default();
        if configs.is_empty() {
            bail!("{} has no `config` list: not a taosim manifest", path.display());
        }
        let days_per_step = configs
            .iter()
            .map(|c| c["run"]["blocks_per_step"].as_f64().unwrap_or(361.0) / BLOCKS_PER_DAY as f64)
            .collect();
        Ok(Manifest {
            version: json["version"].as_str().unwrap_or("?").to_string(),
            seed: json["seed"].as_u64().unwrap_or(0),
            paths: json["paths"].as_u64().unwrap_or(0),
            design: json["sweep"]["design"].as_str().map(str::to_string),
            config_file: json["config_file"].as_str().unwrap_or("?").to_string(),
            days_per_step,
            days: configs[0]["run"]["days"].as_f64().unwrap_or(f64::NAN),
        })
    }

    /// Reads summary.arrow.
    pub(crate) fn summary(&self) -> anyhow::Result<Summary> {
        let mut keys: Vec<SweepKey> = Vec::new();
        let mut rows = Vec::new();
        for batch in self.batches(SUMMARY_FILE)? {
            let b = batch?;
            let schema = b.batch.schema();
            let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
            let paths_at = names
                .iter()
                .position(|n| *n == "paths")
                .ok_or_else(|| anyhow!("{SUMMARY_FILE} has no `paths` column"))?;
            if keys.is_empty() && paths_at > 1 {
                for name in &names[1..paths_at] {
                    let values = match schema.field_with_name(name)?.data_type() {
                        DataType::Utf8 => KeyValues::Words(Vec::new()),
                        _ => KeyValues::Numbers(Vec::new()),
                    };
                    keys.push(SweepKey { name: (*name).clone(), values });
                }
            }
            for key in &mut keys {
                match &mut key.values {
                    KeyValues::Numbers(v) => {
                        let column = b.f64s(&key.name)?;
                        v.extend(column.iter().map(|x| x.unwrap_or(f64::NAN)));
                    }
                    KeyValues::Words(v) => {
                        let column = b.column::<StringArray>(&key.name)?;
                        v.extend(column.iter().map(|x| x.unwrap_or("").to_string()));
                    }
                }
            }
            let point = b.column::<UInt32Array>("point")?;
            let paths = b.column::<UInt32Array>("paths")?;
            let proportion = |name: &str| -> anyhow::Result<Vec<Proportion>> {
                let (p, lo, hi) =
                    (b.f64s(name)?, b.f64s(&format!("{name}_lo"))?, b.f64s(&format!("{name}_hi"))?);
                Ok((0..p.len())
                    .map(|i| Proportion { p: p.value(i), lo: lo.value(i), hi: hi.value(i) })
                    .collect())
            };
            let any = proportion("p_any_spiral")?;
            let top10 = proportion("p_top10_spiral")?;
            let median = b.f64s("spiral_days_q50")?;
            let netuids = b.column::<ListArray>("spiral_netuid")?;
            let spiral_p = b.column::<ListArray>("spiral_p")?;
            for i in 0..b.batch.num_rows() {
                let n = netuids.value(i);
                let n = n.as_any().downcast_ref::<UInt16Array>().ok_or_else(|| {
                    anyhow!("{SUMMARY_FILE}: `spiral_netuid` is not a list of uint16")
                })?;
                let p = spiral_p.value(i);
                let p = p.as_any().downcast_ref::<Float64Array>().ok_or_else(|| {
                    anyhow!("{SUMMARY_FILE}: `spiral_p` is not a list of float64")
                })?;
                if n.len() != p.len() {
                    bail!("{SUMMARY_FILE}: `spiral_netuid` and `spiral_p` differ in length");
                }
                rows.push(PointRow {
                    point: point.value(i),
                    paths: paths.value(i),
                    any_spiral: any[i],
                    top10_spiral: top10[i],
                    spiral_days_median: median.value(i),
                    spiral_p: n.values().iter().copied().zip(p.values().iter().copied()).collect(),
                });
            }
        }
        if rows.is_empty() {
            bail!("{}/{SUMMARY_FILE} has no rows", self.dir.display());
        }
        Ok(Summary { keys, rows })
    }

    /// Reads subnets.arrow: initial names and start sizes (from the first point's path 0, since
    /// every path starts from the same snapshot) and the days to each spiral of the points
    /// `keep` accepts. `days_per_step` maps a point id to its step length in days.
    pub(crate) fn subnets(
        &self,
        keep: impl Fn(u32) -> bool,
        days_per_step: impl Fn(u32) -> f64,
    ) -> anyhow::Result<Subnets> {
        let mut out = Subnets::default();
        let mut first: Option<(u32, u32)> = None;
        let mut start_tao: Vec<(u16, f64)> = Vec::new();
        for batch in self.batches(SUBNETS_FILE)? {
            let b = batch?;
            let (point, path) =
                (b.column::<UInt32Array>("point")?, b.column::<UInt32Array>("path")?);
            let netuid = b.column::<UInt16Array>("netuid")?;
            let occupant = b.column::<UInt32Array>("occupant")?;
            let name = b.column::<StringArray>("name")?;
            let tao = b.f64s("start_tao")?;
            let spiral = b.column::<BooleanArray>("spiral")?;
            let spiral_step = b.column::<UInt32Array>("spiral_step")?;
            for i in 0..b.batch.num_rows() {
                let key = (point.value(i), path.value(i));
                if *first.get_or_insert(key) == key && occupant.value(i) == 0 {
                    out.names.insert(netuid.value(i), name.value(i).to_string());
                    start_tao.push((netuid.value(i), tao.value(i)));
                }
                if spiral.value(i) && keep(key.0) && spiral_step.is_valid(i) {
                    out.spiral_days.push(f64::from(spiral_step.value(i)) * days_per_step(key.0));
                }
            }
        }
        start_tao.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.by_start_tao = start_tao.into_iter().map(|(n, _)| n).collect();
        Ok(out)
    }

    /// Reads traces.arrow for the points `keep` accepts: the price and pool TAO samples of the
    /// `chosen` netuids, and the top-10 emission share of every traced path at every sample.
    pub(crate) fn traces(
        &self,
        keep: impl Fn(u32) -> bool,
        chosen: &[u16],
    ) -> anyhow::Result<Traces> {
        let mut out = Traces::default();
        for &n in chosen {
            out.subnets.insert(n, SubnetSeries::default());
        }
        // Rows of one (point, path, step) sample are contiguous (docs/outputs.md: path order,
        // then (step, netuid)), so the shares of one sample are summed as soon as the key moves.
        let mut current: Option<(u32, u32, u32, f64)> = None;
        let mut last_path: Option<(u32, u32)> = None;
        let mut shares: Vec<f64> = Vec::new();
        let mut flush = |sample: Option<(u32, u32, u32, f64)>, shares: &mut Vec<f64>| {
            // A sample with no emission at all (step 0, before the first block) says nothing
            // about concentration.
            if let Some((_, _, step, day)) = sample.filter(|_| shares.iter().any(|&s| s > 0.0)) {
                let top = top_k_share(shares, TOP_SHARE_K);
                out.top_share.entry(step).or_insert((day, Vec::new())).1.push(top);
            }
            shares.clear();
        };
        let mut paths = 0u64;
        let mut subnets = std::mem::take(&mut out.subnets);
        for batch in self.batches(TRACES_FILE)? {
            let b = batch?;
            let (point, path) =
                (b.column::<UInt32Array>("point")?, b.column::<UInt32Array>("path")?);
            let step = b.column::<UInt32Array>("step")?;
            let day = b.f64s("day")?;
            let netuid = b.column::<UInt16Array>("netuid")?;
            let active = b.column::<BooleanArray>("active")?;
            let (price, tao, share) = (b.f64s("price")?, b.f64s("tao")?, b.f64s("share")?);
            for i in 0..b.batch.num_rows() {
                if !keep(point.value(i)) {
                    continue;
                }
                let key = (point.value(i), path.value(i), step.value(i), day.value(i));
                if current.map(|c| (c.0, c.1, c.2)) != Some((key.0, key.1, key.2)) {
                    flush(current, &mut shares);
                    current = Some(key);
                    if last_path != Some((key.0, key.1)) {
                        last_path = Some((key.0, key.1));
                        paths += 1;
                    }
                }
                if !active.value(i) {
                    continue;
                }
                shares.push(share.value(i));
                if let Some(series) = subnets.get_mut(&netuid.value(i)) {
                    let entry =
                        series.by_step.entry(key.2).or_insert((key.3, Vec::new(), Vec::new()));
                    entry.1.push(price.value(i));
                    entry.2.push(tao.value(i));
                }
            }
        }
        flush(current, &mut shares);
        out.subnets = subnets;
        out.paths = paths;
        Ok(out)
    }
}

/// One record batch and the file it came from (for error messages).
struct Batch {
    file: String,
    batch: RecordBatch,
}

impl Batch {
    fn column<T: Array + 'static>(&self, name: &str) -> anyhow::Result<&T> {
        let column = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| anyhow!("{} has no `{name}` column", self.file))?;
        column.as_any().downcast_ref::<T>().ok_or_else(|| {
            anyhow!(
                "{}: column `{name}` has type {}, not the documented one",
                self.file,
                column.data_type()
            )
        })
    }

    fn f64s(&self, name: &str) -> anyhow::Result<&Float64Array> {
        self.column::<Float64Array>(name)
    }
}
