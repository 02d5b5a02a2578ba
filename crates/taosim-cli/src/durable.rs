//! Durable, resumable and shardable runs (docs/reliability.md).
//!
//! A run is cut into *units*: batch `b` of point `k` (paths `b·B .. min((b+1)·B, paths)` with
//! `B = run.batch_paths`), numbered in (point, batch) order. Every finished unit is written to
//! `DIR.incomplete/parts/` as one *part file* (its rows and per-path outcomes in a small binary
//! encoding, with a checksum) through a temporary file, `fsync` and an atomic rename, so a part
//! file that exists is complete whatever kills the process. `job.json` (written first) says which
//! run the folder belongs to: a hash per component of its identity (config, seed, flags, initial
//! network, version), the shard, and what [`finalize`] needs to build the outputs without the
//! config. `state.json` says `running`, `interrupted` or `failed`.
//!
//! While a unit runs, its paths' rows leave memory through the unit's [`Spill`] (a scratch file,
//! `parts/spill-<unit>.tmp`), and its part is written and later read as a stream, so memory does
//! not grow with the horizon (issue 6). Parts are written by a [`PartWriter`] thread while the
//! path threads run the next unit, so the run does not wait for encoding, checksums and `fsync`.
//!
//! [`finalize`] reads the part files in unit order and streams them through the one writer
//! (`output::RunWriter`), folding the outcomes in path order into each point's accumulator: so
//! the outputs of a run, of a resumed run and of merged shards are the same bytes, because they
//! are made by the same code from the same rows in the same order. Shard `I/N` runs the units
//! whose number is `I` modulo `N` (round robin over (point, batch), which balances points of
//! different cost).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use taosim_core::engine::RecordSpill;
use taosim_core::estimate::PointAccumulator;
use taosim_core::records::{
    BatchRecords, EventKind, EventRecord, PathOutcome, PointSummary, SubnetRecord, TraceRecord,
};
use taosim_core::sweep::Design;

use crate::output::{ParamValue, RunWriter};
use crate::sensitivity::SensitivityInput;

/// File in a staging or shard folder that names the run it belongs to.
pub(crate) const JOB_FILE: &str = "job.json";
/// File in a staging folder with the run's status.
pub(crate) const STATE_FILE: &str = "state.json";
/// Folder of part files (one per finished unit).
pub(crate) const PARTS_DIR: &str = "parts";
/// Version of the `job.json` layout and of the part encoding (2: parts checksummed by
/// [`PartHash`] instead of byte-wise FNV-1a; a folder of another version is refused on resume and
/// merge with a message naming both versions).
const JOB_FORMAT: &str = "taosim-job/2";
const PART_MAGIC: &[u8; 8] = b"TSPART02";

/// `--shard I/N`: shard `I` (0-based) of `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shard {
    /// Which shard, `0 <= index < count`.
    pub(crate) index: u32,
    /// How many shards.
    pub(crate) count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}`: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A sweep parameter value stored exactly (numbers as their bits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum StoredParam {
    NumberBits(u64),
    Text(String),
}

/// What `finalize` needs of one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct JobPoint {
    /// Point id.
    pub(crate) point: u32,
    /// Paths of the point.
    pub(crate) paths: u32,
    /// Paths per unit (`run.batch_paths`).
    pub(crate) batch_paths: u32,
    /// Initial netuids (accumulator).
    pub(crate) netuids: Vec<u16>,
    /// Subnet slots (accumulator).
    pub(crate) slots: usize,
    /// Days per step, as f64 bits (accumulator).
    pub(crate) days_per_step_bits: u64,
}

impl JobPoint {
    fn units(&self) -> u32 {
        self.paths.div_ceil(self.batch_paths.max(1))
    }
}

/// The contents of `job.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Job {
    format: String,
    /// Hash of each component of the run's identity (config, seed, flags, network, version).
    pub(crate) identity: BTreeMap<String, String>,
    /// The shard this folder runs, if any.
    pub(crate) shard: Option<Shard>,
    /// Whether `traces.arrow` is written.
    pub(crate) traces: bool,
    /// Swept keys.
    pub(crate) keys: Vec<String>,
    values: Vec<Vec<StoredParam>>,
    /// The points in order.
    pub(crate) points: Vec<JobPoint>,
    /// The manifest without its run-specific fields (`threads`, `timings`).
    pub(crate) manifest: serde_json::Value,
    /// A sweep's design, for `sensitivity.arrow` (`None` for `taosim run`).
    #[serde(default)]
    sensitivity: Option<StoredSensitivity>,
}

/// `SensitivityInput` stored exactly (the design by name, coordinates as f64 bits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StoredSensitivity {
    design: String,
    keys: Vec<String>,
    coords_bits: Vec<Vec<u64>>,
    seed: u64,
}

/// One unit of work: batch `batch` of `points[point_index]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unit {
    /// Number in (point, batch) order over the whole run.
    pub(crate) number: u64,
    /// Index into `Job::points`.
    pub(crate) point_index: usize,
    /// Point id.
    pub(crate) point: u32,
    /// Batch within the point.
    pub(crate) batch: u32,
    /// First path id.
    pub(crate) first_path: u32,
    /// One past the last path id.
    pub(crate) end_path: u32,
}

impl Unit {
    /// File name of the unit's part.
    pub(crate) fn file_name(&self) -> String {
        format!("{:010}-{:010}.part", self.point, self.batch)
    }
}

impl Job {
    /// Describes a run. `identity` lists the components that must agree for a folder to be
    /// resumed or merged (each is hashed from its JSON text).
    pub(crate) fn new(
        identity: &[(&str, serde_json::Value)],
        shard: Option<Shard>,
        traces: bool,
        keys: &[String],
        values: &[Vec<ParamValue>],
        points: Vec<JobPoint>,
        manifest: serde_json::Value,
    ) -> Self {
        let identity = identity
            .iter()
            .map(|(k, v)| (k.to_string(), format!("{:016x}", fnv1a(v.to_string().as_bytes()))))
            .collect();
        let values = values
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        ParamValue::Number(x) => StoredParam::NumberBits(x.to_bits()),
                        ParamValue::Text(t) => StoredParam::Text(t.clone()),
                    })
                    .collect()
            })
            .collect();
        Self {
            format: JOB_FORMAT.into(),
            identity,
            shard,
            traces,
            keys: keys.to_vec(),
            values,
            points,
            manifest,
            sensitivity: None,
        }
    }

    /// Records the sweep design that `sensitivity.arrow` is computed from.
    pub(crate) fn set_sensitivity(&mut self, input: Option<&SensitivityInput>) {
        self.sensitivity = input.map(|i| StoredSensitivity {
            design: match i.design {
                Design::Grid => "grid",
                Design::Zip => "zip",
                Design::Lhs => "lhs",
                Design::Sobol => "sobol",
                Design::Saltelli => "saltelli",
            }
            .into(),
            keys: i.keys.clone(),
            coords_bits: i.coords.iter().map(|c| c.iter().map(|x| x.to_bits()).collect()).collect(),
            seed: i.seed,
        });
    }

    /// The sweep design for `sensitivity.arrow`, if this is a sweep.
    pub(crate) fn sensitivity(&self) -> Option<SensitivityInput> {
        self.sensitivity.as_ref().map(|s| SensitivityInput {
            design: match s.design.as_str() {
                "zip" => Design::Zip,
                "lhs" => Design::Lhs,
                "sobol" => Design::Sobol,
                "saltelli" => Design::Saltelli,
                _ => Design::Grid,
            },
            keys: s.keys.clone(),
            coords: s
                .coords_bits
                .iter()
                .map(|c| c.iter().map(|&b| f64::from_bits(b)).collect())
                .collect(),
            seed: s.seed,
        })
    }

    /// The swept values per point.
    pub(crate) fn param_values(&self) -> Vec<Vec<ParamValue>> {
        self.values
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        StoredParam::NumberBits(b) => ParamValue::Number(f64::from_bits(*b)),
                        StoredParam::Text(t) => ParamValue::Text(t.clone()),
                    })
                    .collect()
            })
            .collect()
    }

    /// Every unit of the run, in (point, batch) order.
    pub(crate) fn all_units(&self) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut number = 0;
        for (point_index, p) in self.points.iter().enumerate() {
            let b = p.batch_paths.max(1);
            for batch in 0..p.units() {
                let first_path = batch * b;
                units.push(Unit {
                    number,
                    point_index,
                    point: p.point,
                    batch,
                    first_path,
                    end_path: (first_path + b).min(p.paths),
                });
                number += 1;
            }
        }
        units
    }

    /// The units this folder runs (all, or its shard's).
    pub(crate) fn my_units(&self) -> Vec<Unit> {
        let mut units = self.all_units();
        if let Some(s) = self.shard {
            units.retain(|u| u.number % u64::from(s.count) == u64::from(s.index));
        }
        units
    }

    /// The identity components that differ from `other`'s, comma-separated (empty if none).
    pub(crate) fn identity_difference(&self, other: &Job) -> String {
        let mut keys: Vec<&String> = self.identity.keys().chain(other.identity.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| self.identity.get(*k) != other.identity.get(*k))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads `dir/job.json`.
    pub(crate) fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(JOB_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("{} is not a taosim run folder (no {JOB_FILE})", dir.display())
        })?;
        let job: Job = serde_json::from_str(&text)
            .with_context(|| format!("{} is unreadable", path.display()))?;
        if job.format != JOB_FORMAT {
            bail!("{} has format {:?}, expected {JOB_FORMAT:?}", path.display(), job.format);
        }
        Ok(job)
    }

    /// Writes `dir/job.json` durably.
    pub(crate) fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        write_durable(&dir.join(JOB_FILE), text.as_bytes())
    }
}

/// Writes `bytes` to `path` through `path.tmp`, `fsync` and a rename, then syncs the folder:
/// after it returns the file is complete on disk, and before, `path` does not exist.
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_durable_with(path, |mut file| {
        file.write_all(bytes)?;
        Ok(file)
    })
}

/// [`write_durable`] of what `write` writes to the (temporary) file it gets and hands back.
fn write_durable_with(
    path: &Path,
    write: impl FnOnce(File) -> anyhow::Result<File>,
) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let file = write(file).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {}", tmp.display()))?;
    if let Some(dir) = path.parent() {
        // The rename is durable only once the folder's entry is.
        File::open(dir).and_then(|d| d.sync_all()).ok();
    }
    Ok(())
}

/// Writes `state.json` (`running`, `interrupted`, `failed`) with units done and a message.
pub(crate) fn write_state(
    dir: &Path,
    status: &str,
    done: usize,
    total: usize,
    message: &str,
) -> anyhow::Result<()> {
    let value = serde_json::json!({
        "status": status, "units_done": done, "units_total": total, "message": message,
    });
    write_durable(&dir.join(STATE_FILE), format!("{value:#}\n").as_bytes())
}

/// The unit part files present in `dir/parts` (names only; contents are checked when read).
pub(crate) fn parts_present(dir: &Path) -> anyhow::Result<std::collections::HashSet<String>> {
    let parts = dir.join(PARTS_DIR);
    let mut names = std::collections::HashSet::new();
    if !parts.exists() {
        return Ok(names);
    }
    for entry in
        std::fs::read_dir(&parts).with_context(|| format!("cannot list {}", parts.display()))?
    {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") {
            names.insert(name);
        } else if name.ends_with(".tmp") {
            // A part being written when the run died: never renamed, so never counted.
            std::fs::remove_file(parts.join(&name)).ok();
        }
    }
    Ok(names)
}

// ---- part encoding -------------------------------------------------------------------------
//
// A part is: magic, (point, batch, first path, end path), the subnet rows, the events, the trace
// rows (each section a count and the rows), the per-path outcomes, and a [`PartHash`] checksum of all
// that. It is written and read as a stream, never held whole: its rows come from the engine's
// batch in memory and from the run's [`Spill`] file, and go to the writer in chunks.

/// FNV-1a's 64-bit offset basis and prime (shared by [`fnv1a`] and [`PartHash`]).
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a, 64 bits: a stable hash (unlike std's) of the run identity's components.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The part files' checksum: FNV-1a's xor-multiply over little-endian 64-bit words instead of
/// bytes, each step followed by a rotation so high bits reach the low ones, then the byte length.
/// Byte-wise FNV-1a spent one dependent multiply per byte: it was about 40% of writing a part and
/// 30% of reading one back (perf, 4,096 paths × 30 daily steps); this is one per 8 bytes. Each
/// step is a bijection of the state, so any change confined to one word is always detected.
/// The result does not depend on how the stream is split into `update` calls.
#[derive(Clone, Copy, Debug)]
struct PartHash {
    state: u64,
    /// Bytes of an incomplete word carried to the next `update`.
    tail: [u8; 8],
    tail_len: usize,
    len: u64,
}

impl PartHash {
    fn new() -> Self {
        Self { state: FNV_OFFSET, tail: [0; 8], tail_len: 0, len: 0 }
    }

    fn word(&mut self, w: u64) {
        self.state = (self.state ^ w).wrapping_mul(FNV_PRIME).rotate_left(29);
    }

    fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(bytes.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&bytes[..take]);
            self.tail_len += take;
            bytes = &bytes[take..];
            if self.tail_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().expect("chunks of 8 bytes")));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The checksum of everything passed to `update`.
    fn finish(mut self) -> u64 {
        if self.tail_len > 0 {
            self.tail[self.tail_len..].fill(0);
            self.word(u64::from_le_bytes(self.tail));
        }
        self.word(self.len);
        self.state
    }
}

/// A writer that hashes what passes through it (the part's checksum).
struct Hashing<W> {
    inner: W,
    hash: PartHash,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u16(&mut self, x: u16) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn bool(&mut self, x: bool) {
        self.u8(u8::from(x));
    }
    fn opt_u32(&mut self, x: Option<u32>) {
        self.bool(x.is_some());
        self.u32(x.unwrap_or(0));
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn subnet(&mut self, s: &SubnetRecord) {
        self.u32(s.point);
        self.u32(s.path);
        self.u16(s.netuid);
        self.u32(s.occupant);
        self.str(&s.name);
        self.u32(s.start_step);
        for x in [
            s.start_price,
            s.end_price,
            s.start_tao,
            s.end_tao,
            s.start_alpha,
            s.end_alpha,
            s.min_price,
            s.peak_price,
        ] {
            self.f64(x);
        }
        self.bool(s.spiral);
        self.opt_u32(s.spiral_step);
        self.bool(s.pruned);
        self.opt_u32(s.pruned_step);
        for x in [
            s.mean_share,
            s.cartel_share,
            s.staker_return,
            s.root_return,
            s.exit_slippage_1pct,
            s.exit_slippage_10pct,
        ] {
            self.f64(x);
        }
    }

    fn event(&mut self, v: &EventRecord) {
        self.u32(v.point);
        self.u32(v.path);
        self.u32(v.step);
        self.u32(v.block);
        self.u16(v.netuid);
        self.u8(kind_code(v.kind));
        self.f64(v.value);
        self.f64(v.value2);
    }

    fn trace(&mut self, t: &TraceRecord) {
        self.u32(t.point);
        self.u32(t.path);
        self.u32(t.step);
        self.f64(t.day);
        self.u16(t.netuid);
        self.bool(t.active);
        for x in [t.price, t.moving_price, t.tao, t.alpha, t.share, t.flow_ema] {
            self.f64(x);
        }
    }

    fn outcome(&mut self, o: &PathOutcome) {
        self.u32(o.path);
        self.u32(o.spirals);
        self.bool(o.top10_spiral);
        self.len(o.spiral_by_slot.len());
        for &b in &o.spiral_by_slot {
            self.bool(b);
        }
        self.len(o.spiral_steps.len());
        for &s in &o.spiral_steps {
            self.u32(s);
        }
        self.u32(o.prunings);
        self.f64(o.pool_tao_end);
        self.u32(o.zero_share_end);
        self.f64(o.min_reserve);
        self.f64(o.max_alpha_issuance);
        self.f64(o.conservation_residual);
    }

    /// Writes what was encoded to `w` and starts over (the buffer's capacity is kept).
    fn drain_to(&mut self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.0)?;
        self.0.clear();
        Ok(())
    }
}

/// Encoded bytes gathered before they are written (bounds the encoder's buffer).
const ENCODE_CHUNK_BYTES: usize = 1 << 16;

/// Rows decoded from a part before they are handed on to the writer (which gathers them into
/// record batches of its own fixed size, so this only bounds the decoder's buffer).
const DECODE_CHUNK_ROWS: usize = 1_024;

struct Dec<R> {
    r: R,
    /// Bytes of the part's body not read yet.
    left: u64,
}

/// A part file that does not decode (truncated, corrupt or of another format).
#[derive(Debug, thiserror::Error)]
#[error("corrupt part file")]
struct Corrupt;

type DecResult<T> = Result<T, Corrupt>;

impl<R: std::io::Read> Dec<R> {
    fn take<const N: usize>(&mut self) -> DecResult<[u8; N]> {
        if self.left < N as u64 {
            return Err(Corrupt);
        }
        let mut b = [0; N];
        self.r.read_exact(&mut b).map_err(|_| Corrupt)?;
        self.left -= N as u64;
        Ok(b)
    }
    fn u8(&mut self) -> DecResult<u8> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> DecResult<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> DecResult<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> DecResult<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> DecResult<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn bool(&mut self) -> DecResult<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Corrupt),
        }
    }
    fn opt_u32(&mut self) -> DecResult<Option<u32>> {
        let some = self.bool()?;
        let x = self.u32()?;
        Ok(some.then_some(x))
    }
    fn len(&mut self) -> DecResult<usize> {
        let n = self.u64()?;
        // A length can never exceed the bytes left: refuse before allocating.
        if n > self.left { Err(Corrupt) } else { usize::try_from(n).map_err(|_| Corrupt) }
    }
    fn str(&mut self) -> DecResult<String> {
        let n = self.len()?;
        let mut bytes = vec![0; n];
        self.r.read_exact(&mut bytes).map_err(|_| Corrupt)?;
        self.left -= n as u64;
        String::from_utf8(bytes).map_err(|_| Corrupt)
    }

    fn subnet(&mut self) -> DecResult<SubnetRecord> {
        let (point, path, netuid, occupant) = (self.u32()?, self.u32()?, self.u16()?, self.u32()?);
        let name = self.str()?;
        let start_step = self.u32()?;
        let mut a = [0.0; 8];
        for x in &mut a {
            *x = self.f64()?;
        }
        let (spiral, spiral_step, pruned, pruned_step) =
            (self.bool()?, self.opt_u32()?, self.bool()?, self.opt_u32()?);
        let mut b = [0.0; 6];
        for x in &mut b {
            *x = self.f64()?;
        }
        Ok(SubnetRecord {
            point,
            path,
            netuid,
            occupant,
            name,
            start_step,
            start_price: a[0],
            end_price: a[1],
            start_tao: a[2],
            end_tao: a[3],
            start_alpha: a[4],
            end_alpha: a[5],
            min_price: a[6],
            peak_price: a[7],
            spiral,
            spiral_step,
            pruned,
            pruned_step,
            mean_share: b[0],
            cartel_share: b[1],
            staker_return: b[2],
            root_return: b[3],
            exit_slippage_1pct: b[4],
            exit_slippage_10pct: b[5],
        })
    }

    fn event(&mut self) -> DecResult<EventRecord> {
        let (point, path, step, block, netuid) =
            (self.u32()?, self.u32()?, self.u32()?, self.u32()?, self.u16()?);
        let kind = match self.u8()? {
            0 => EventKind::Registered,
            1 => EventKind::Pruned,
            2 => EventKind::Spiral,
            _ => return Err(Corrupt),
        };
        let (value, value2) = (self.f64()?, self.f64()?);
        Ok(EventRecord { point, path, step, block, netuid, kind, value, value2 })
    }

    fn trace(&mut self) -> DecResult<TraceRecord> {
        let (point, path, step, day, netuid, active) =
            (self.u32()?, self.u32()?, self.u32()?, self.f64()?, self.u16()?, self.bool()?);
        let mut a = [0.0; 6];
        for x in &mut a {
            *x = self.f64()?;
        }
        Ok(TraceRecord {
            point,
            path,
            step,
            day,
            netuid,
            active,
            price: a[0],
            moving_price: a[1],
            tao: a[2],
            alpha: a[3],
            share: a[4],
            flow_ema: a[5],
        })
    }

    fn outcome(&mut self) -> DecResult<PathOutcome> {
        let (path, spirals, top10_spiral) = (self.u32()?, self.u32()?, self.bool()?);
        let spiral_by_slot = (0..self.len()?).map(|_| self.bool()).collect::<DecResult<_>>()?;
        let spiral_steps = (0..self.len()?).map(|_| self.u32()).collect::<DecResult<_>>()?;
        Ok(PathOutcome {
            path,
            spirals,
            top10_spiral,
            spiral_by_slot,
            spiral_steps,
            prunings: self.u32()?,
            pool_tao_end: self.f64()?,
            zero_share_end: self.u32()?,
            min_reserve: self.f64()?,
            max_alpha_issuance: self.f64()?,
            conservation_residual: self.f64()?,
        })
    }

    /// Decodes a section of `n` rows, handing them to `push` in chunks of [`DECODE_CHUNK_ROWS`].
    fn rows<T>(
        &mut self,
        row: fn(&mut Self) -> DecResult<T>,
        mut push: impl FnMut(&[T]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let n = self.len()?;
        let mut chunk = Vec::with_capacity(n.min(DECODE_CHUNK_ROWS));
        for _ in 0..n {
            chunk.push(row(self)?);
            if chunk.len() == DECODE_CHUNK_ROWS {
                push(&chunk)?;
                chunk.clear();
            }
        }
        if !chunk.is_empty() {
            push(&chunk)?;
        }
        Ok(())
    }
}

fn kind_code(kind: EventKind) -> u8 {
    match kind {
        EventKind::Registered => 0,
        EventKind::Pruned => 1,
        EventKind::Spiral => 2,
    }
}

/// The sections of a part that a [`Spill`] can hold rows of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Subnets,
    Events,
    Traces,
}

/// A part being written: the hashed output and the encoder's buffer.
struct PartOut<W> {
    w: Hashing<W>,
    e: Enc,
}

impl<W: Write> PartOut<W> {
    /// Writes one section (count, then the rows of each path in path order: the rows the spill
    /// holds for it, then those of `rows` that belong to it).
    fn section<T>(
        &mut self,
        unit: &Unit,
        (section, spill): (Section, Option<&Spill>),
        rows: &[T],
        path_of: fn(&T) -> u32,
        encode: fn(&mut Enc, &T),
    ) -> anyhow::Result<()> {
        let Self { w, e } = self;
        let paths = unit.first_path..unit.end_path;
        let spilled: u64 = spill.map_or(0, |s| s.rows(unit.point, paths.clone(), section));
        e.len(rows.len() + spilled as usize);
        let mut k = 0;
        for path in paths {
            if let Some(s) = spill {
                e.drain_to(w)?;
                s.copy(unit.point, path, section, w)?;
            }
            while k < rows.len() && path_of(&rows[k]) == path {
                encode(e, &rows[k]);
                k += 1;
                if e.0.len() >= ENCODE_CHUNK_BYTES {
                    e.drain_to(w)?;
                }
            }
        }
        // Rows outside the unit's paths cannot come from the engine; keep them all the same so
        // the count stays true.
        for r in &rows[k..] {
            encode(e, r);
        }
        e.drain_to(w)?;
        Ok(())
    }
}

/// Writes one finished unit (its rows and outcomes, with those `spill` holds for its paths)
/// to `w`, then the checksum.
fn encode_part_into<W: Write>(
    w: W,
    unit: &Unit,
    r: &BatchRecords,
    spill: Option<&Spill>,
) -> anyhow::Result<W> {
    let mut out = PartOut {
        w: Hashing { inner: w, hash: PartHash::new() },
        e: Enc(Vec::with_capacity(ENCODE_CHUNK_BYTES + 4096)),
    };
    let e = &mut out.e;
    e.0.extend_from_slice(PART_MAGIC);
    e.u32(unit.point);
    e.u32(unit.batch);
    e.u32(unit.first_path);
    e.u32(unit.end_path);
    out.section(unit, (Section::Subnets, spill), &r.subnets, |s| s.path, Enc::subnet)?;
    out.section(unit, (Section::Events, spill), &r.events, |v| v.path, Enc::event)?;
    out.section(unit, (Section::Traces, spill), &r.traces, |t| t.path, Enc::trace)?;
    let PartOut { mut w, mut e } = out;
    e.len(r.outcomes.len());
    for o in &r.outcomes {
        e.outcome(o);
    }
    e.drain_to(&mut w)?;
    let Hashing { mut inner, hash } = w;
    inner.write_all(&hash.finish().to_le_bytes())?;
    Ok(inner)
}

/// Encodes one finished unit (its rows and outcomes) with a trailing FNV-1a checksum.
#[cfg(test)]
fn encode_part(unit: &Unit, r: &BatchRecords) -> Vec<u8> {
    encode_part_into(Vec::new(), unit, r, None).expect("writing to memory does not fail")
}

/// Where a part's rows go while it is read.
trait PartRows {
    fn subnets(&mut self, rows: &[SubnetRecord]) -> anyhow::Result<()>;
    fn events(&mut self, rows: &[EventRecord]) -> anyhow::Result<()>;
    fn traces(&mut self, rows: &[TraceRecord]) -> anyhow::Result<()>;
    fn outcome(&mut self, outcome: &PathOutcome);
}

impl PartRows for BatchRecords {
    fn subnets(&mut self, rows: &[SubnetRecord]) -> anyhow::Result<()> {
        self.subnets.extend_from_slice(rows);
        Ok(())
    }
    fn events(&mut self, rows: &[EventRecord]) -> anyhow::Result<()> {
        self.events.extend_from_slice(rows);
        Ok(())
    }
    fn traces(&mut self, rows: &[TraceRecord]) -> anyhow::Result<()> {
        self.traces.extend_from_slice(rows);
        Ok(())
    }
    fn outcome(&mut self, outcome: &PathOutcome) {
        self.outcomes.push(outcome.clone());
    }
}

/// Decodes the body (`body_len` bytes, checksum already checked) of a part of `unit` from `r`.
fn decode_body(
    unit: &Unit,
    r: impl std::io::Read,
    body_len: u64,
    out: &mut impl PartRows,
) -> anyhow::Result<()> {
    let mut d = Dec { r, left: body_len };
    if d.take::<8>()? != *PART_MAGIC {
        return Err(Corrupt.into());
    }
    let head = [d.u32()?, d.u32()?, d.u32()?, d.u32()?];
    if head != [unit.point, unit.batch, unit.first_path, unit.end_path] {
        return Err(Corrupt.into());
    }
    d.rows(Dec::subnet, |rows| out.subnets(rows))?;
    d.rows(Dec::event, |rows| out.events(rows))?;
    d.rows(Dec::trace, |rows| out.traces(rows))?;
    let n = d.len()?;
    for _ in 0..n {
        out.outcome(&d.outcome()?);
    }
    if d.left != 0 || n as u64 != u64::from(unit.end_path - unit.first_path) {
        return Err(Corrupt.into());
    }
    Ok(())
}

/// Decodes a part of `unit`, checking the checksum and that it is that unit's.
#[cfg(test)]
fn decode_part(unit: &Unit, bytes: &[u8]) -> anyhow::Result<BatchRecords> {
    let body_len = bytes.len().checked_sub(8).ok_or(Corrupt)?;
    let (body, sum) = bytes.split_at(body_len);
    let mut hash = PartHash::new();
    hash.update(body);
    if hash.finish() != u64::from_le_bytes(sum.try_into().map_err(|_| Corrupt)?) {
        return Err(Corrupt.into());
    }
    let mut r =
        BatchRecords { point: unit.point, first_path: unit.first_path, ..BatchRecords::default() };
    decode_body(unit, body, body_len as u64, &mut r)?;
    Ok(r)
}

/// Writes unit `unit`'s records, with the rows `spill` holds for its paths, durably into
/// `dir/parts/`, as a stream (memory does not hold the part).
pub(crate) fn write_part(
    dir: &Path,
    unit: &Unit,
    records: &BatchRecords,
    spill: Option<&Spill>,
) -> anyhow::Result<()> {
    write_durable_with(&dir.join(PARTS_DIR).join(unit.file_name()), |file| {
        let w = std::io::BufWriter::with_capacity(ENCODE_CHUNK_BYTES, file);
        let w = encode_part_into(w, unit, records, spill)?;
        w.into_inner().map_err(|e| e.into_error().into())
    })
}

/// What a [`PartWriter`] did: the parts it saved and the time it spent.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PartsWritten {
    /// Parts saved (every part handed over, unless writing failed).
    pub(crate) parts: usize,
    /// Seconds the writer thread spent writing parts (in the background of the path threads).
    pub(crate) writer_s: f64,
    /// Seconds the path threads spent spilling rows to the units' spill files (summed).
    pub(crate) spill_s: f64,
}

/// A finished unit handed to the [`PartWriter`].
type PartJob = (Unit, BatchRecords, Arc<Spill>);

/// What the [`PartWriter`]'s thread gives back: what it did, its finalizer, the first error.
type WriterEnd = (PartsWritten, Option<Finalizer>, anyhow::Result<()>);

/// Writes finished units' parts ([`write_part`]) on a thread of its own while the path threads
/// run the next unit: encoding, the checksum and `fsync` no longer stall the run between units
/// (they took 6% of a 4,096 × 30-daily-step run's wall time, the pool idle meanwhile). The hand
/// over is a rendezvous: a unit is taken only once the previous part is saved, so memory holds at
/// most the unit being written and the unit being run, and a part that is reported saved is on
/// disk. The first error ends the thread; it is returned by the next [`PartWriter::submit`] or by
/// [`PartWriter::finish`].
pub(crate) struct PartWriter {
    jobs: Option<std::sync::mpsc::SyncSender<PartJob>>,
    thread: Option<std::thread::JoinHandle<WriterEnd>>,
    /// The tables being built, given back when the thread is joined.
    finalizer: Option<Finalizer>,
    /// What the thread did, once it is joined.
    done: PartsWritten,
    /// Seconds the run waited for the writer: handing a part over while the previous one was
    /// still being written, and the wait for the last one.
    pub(crate) waited_s: f64,
}

impl PartWriter {
    /// Starts the writer of parts into `dir/parts/`; with a `finalizer`, each saved part is
    /// also read into the output tables.
    pub(crate) fn start(dir: &Path, finalizer: Option<Finalizer>) -> anyhow::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<PartJob>(0);
        let dir = dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("taosim-parts".into())
            .spawn(move || {
                let mut finalizer = finalizer;
                let mut done = PartsWritten::default();
                for (unit, records, spill) in queue {
                    let started = std::time::Instant::now();
                    let written = spill
                        .take_error()
                        .and_then(|()| write_part(&dir, &unit, &records, Some(&spill)));
                    spill.close();
                    done.spill_s += spill.busy_s();
                    if let Err(e) = written {
                        done.writer_s += started.elapsed().as_secs_f64();
                        return (done, finalizer, Err(e));
                    }
                    done.parts += 1;
                    drop(records);
                    let read = finalizer.as_mut().map_or(Ok(()), |f| f.read_through(&unit));
                    done.writer_s += started.elapsed().as_secs_f64();
                    if let Err(e) = read {
                        return (done, finalizer, Err(e));
                    }
                }
                (done, finalizer, Ok(()))
            })
            .context("cannot start the part writer thread")?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
            finalizer: None,
            done: PartsWritten::default(),
            waited_s: 0.0,
        })
    }

    /// Hands unit `unit`'s records and spill over, waiting while the previous part is written.
    pub(crate) fn submit(
        &mut self,
        unit: Unit,
        records: BatchRecords,
        spill: Arc<Spill>,
    ) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        // The job itself is not needed back when the thread has ended.
        let sent = self.jobs.as_ref().map(|jobs| jobs.send((unit, records, spill)).is_ok());
        self.waited_s += started.elapsed().as_secs_f64();
        match sent {
            Some(true) => Ok(()),
            // The thread ended early: it met an error, which finishing returns.
            _ => self.finish().and(Err(anyhow::anyhow!("the part writer stopped"))),
        }
    }

    /// Waits until every part handed over is written and returns what was done, or the first
    /// error (once; later calls return what was done).
    pub(crate) fn finish(&mut self) -> anyhow::Result<PartsWritten> {
        self.jobs = None;
        let Some(thread) = self.thread.take() else { return Ok(self.done) };
        let started = std::time::Instant::now();
        let joined = thread.join();
        self.waited_s += started.elapsed().as_secs_f64();
        let (done, finalizer, result) = joined.unwrap_or_else(|_| {
            let panicked = anyhow::anyhow!("the part writer thread panicked");
            (PartsWritten::default(), None, Err(panicked))
        });
        self.done = done;
        self.finalizer = finalizer;
        result.map(|()| done)
    }

    /// The finalizer given to [`PartWriter::start`], once [`PartWriter::finish`] is `Ok`.
    pub(crate) fn take_finalizer(&mut self) -> Option<Finalizer> {
        self.finalizer.take()
    }

    /// Parts saved so far, as far as known (all handed over once [`PartWriter::finish`] is
    /// `Ok`).
    pub(crate) fn saved(&self) -> usize {
        self.done.parts
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        // An early return of the run still waits for the part in flight (it stays valid).
        self.finish().ok();
    }
}

/// Reads unit `unit`'s part from `dir/parts/` as a stream, after checking its checksum, handing
/// its rows to `out` in chunks.
fn read_part(dir: &Path, unit: &Unit, out: &mut impl PartRows) -> anyhow::Result<()> {
    use std::io::{BufReader, Read as _, Seek as _, SeekFrom};
    let path = dir.join(PARTS_DIR).join(unit.file_name());
    let cannot_read = || format!("cannot read {}", path.display());
    let corrupt = || format!("{} is corrupt", path.display());
    let file = File::open(&path).with_context(cannot_read)?;
    let len = file.metadata().with_context(cannot_read)?.len();
    let body_len = len.checked_sub(8).ok_or(Corrupt).with_context(corrupt)?;
    let mut reader = BufReader::with_capacity(ENCODE_CHUNK_BYTES, file);
    let mut hash = PartHash::new();
    let mut buf = vec![0; ENCODE_CHUNK_BYTES];
    let mut left = body_len;
    while left > 0 {
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        reader.read_exact(&mut buf[..n]).with_context(cannot_read)?;
        hash.update(&buf[..n]);
        left -= n as u64;
    }
    let mut sum = [0; 8];
    reader.read_exact(&mut sum).with_context(cannot_read)?;
    if hash.finish() != u64::from_le_bytes(sum) {
        return Err(Corrupt).with_context(corrupt);
    }
    reader.seek(SeekFrom::Start(0)).with_context(cannot_read)?;
    decode_body(unit, reader, body_len, out)
        .map_err(|e| if e.is::<Corrupt>() { e.context(corrupt()) } else { e })
}

/// The finalizing writer and the unit's point's accumulator, as a part's reader.
struct Finalizing<'a> {
    writer: &'a mut RunWriter,
    acc: &'a mut PointAccumulator,
}

impl PartRows for Finalizing<'_> {
    fn subnets(&mut self, rows: &[SubnetRecord]) -> anyhow::Result<()> {
        Ok(self.writer.append_subnets(rows)?)
    }
    fn events(&mut self, rows: &[EventRecord]) -> anyhow::Result<()> {
        Ok(self.writer.append_events(rows)?)
    }
    fn traces(&mut self, rows: &[TraceRecord]) -> anyhow::Result<()> {
        Ok(self.writer.append_traces(rows)?)
    }
    fn outcome(&mut self, outcome: &PathOutcome) {
        self.acc.add(outcome);
    }
}

// ---- spill ---------------------------------------------------------------------------------

/// The file in `parts/` that holds the spilled rows of unit `number` while it runs and its part
/// is written (a `.tmp`, so a stopped run's is deleted on resume like any other).
fn spill_file(number: u64) -> String {
    format!("spill-{number:010}.tmp")
}

/// Bytes of a spill file: where one path's rows of one section lie.
#[derive(Clone, Copy, Debug)]
struct Extent {
    offset: u64,
    len: u64,
    rows: u64,
}

/// What the spill holds of one path: each section's rows, in the order handed over.
#[derive(Debug, Default)]
struct SpilledPath {
    /// Subnet rows: one extent from a CPU path (sorted), one per handover from a GPU path (see
    /// [`RecordSpill`]: [`Spill::copy`] sorts them together).
    subnets: Vec<Extent>,
    events: Vec<Extent>,
    traces: Vec<Extent>,
}

impl SpilledPath {
    /// Where the rows of `section` lie, in the order they were handed over.
    fn extents(&self, section: Section) -> &[Extent] {
        match section {
            Section::Subnets => &self.subnets,
            Section::Events => &self.events,
            Section::Traces => &self.traces,
        }
    }

    /// Notes subnet rows and events handed over at `offset` (`fresh`: replacing those before).
    fn rows(&mut self, fresh: bool, offset: u64, subnets: (u64, u64), events: (u64, u64)) {
        if fresh {
            self.subnets.clear();
            self.events.clear();
        }
        let (len, rows) = subnets;
        self.subnets.push(Extent { offset, len, rows });
        let (events_len, events_rows) = events;
        self.events.push(Extent { offset: offset + len, len: events_len, rows: events_rows });
    }
}

#[derive(Debug, Default)]
struct SpillState {
    file: Option<Arc<File>>,
    /// Bytes reserved in the file so far.
    end: u64,
    paths: std::collections::HashMap<(u32, u32), SpilledPath>,
    /// The first I/O error (reported when the unit is gathered).
    error: Option<anyhow::Error>,
}

/// A unit's [`RecordSpill`] (issue 6, memory flat in the horizon): the rows the engine hands
/// over while the unit runs (traced paths' trace rows every few thousand rows, every finished
/// path's subnet rows and events) are written, encoded as in a part, to the unit's file
/// `parts/spill-<unit>.tmp`, with an index of where each path's rows lie; [`write_part`] copies
/// them into the unit's part in path order, and [`Spill::close`] removes the file. One file per
/// unit, because the [`PartWriter`] copies a unit's rows while the next unit spills its own.
/// The file is scratch space, not a durable record: a run that stops loses it and reruns the
/// unit, as it always did.
///
/// The lock covers only the index and the reservation of a byte range; each thread writes its
/// range itself (`pwrite`), so a thread descheduled mid-write does not stall the others.
#[derive(Debug)]
pub(crate) struct Spill {
    path: PathBuf,
    state: std::sync::Mutex<SpillState>,
    /// Nanoseconds spent writing (summed over the threads).
    busy_ns: std::sync::atomic::AtomicU64,
}

impl Spill {
    /// The spill of unit `number` in `dir/parts/` (the file is created on the first rows).
    pub(crate) fn new(dir: &Path, number: u64) -> Self {
        Self {
            path: dir.join(PARTS_DIR).join(spill_file(number)),
            state: Default::default(),
            busy_ns: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SpillState> {
        // A panicking path thread ends the run anyway; its half-written rows are never read.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reserves room for `bytes` at the end of the file, lets `index` note the offset, and
    /// writes them there; an error is kept for [`Spill::take_error`].
    fn write(&self, bytes: &[u8], index: impl FnOnce(&mut SpillState, u64)) {
        use std::os::unix::fs::FileExt as _;
        let reserved = {
            let mut s = self.lock();
            if s.error.is_some() {
                return;
            }
            if s.file.is_none() {
                let opened = File::options()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&self.path)
                    .with_context(|| format!("cannot create {}", self.path.display()));
                match opened {
                    Ok(file) => s.file = Some(Arc::new(file)),
                    Err(e) => {
                        s.error = Some(e);
                        return;
                    }
                }
                s.end = 0;
            }
            let offset = s.end;
            s.end += bytes.len() as u64;
            index(&mut s, offset);
            (Arc::clone(s.file.as_ref().expect("opened above")), offset)
        };
        let (file, offset) = reserved;
        let started = std::time::Instant::now();
        let written = file.write_all_at(bytes, offset);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(ns, Ordering::Relaxed);
        if let Err(e) = written {
            let mut s = self.lock();
            if s.error.is_none() {
                s.error = Some(
                    anyhow::Error::new(e).context(format!("cannot write {}", self.path.display())),
                );
            }
        }
    }

    /// The first error the spill met since the last call, if any.
    pub(crate) fn take_error(&self) -> anyhow::Result<()> {
        self.lock().error.take().map_or(Ok(()), Err)
    }

    /// Seconds spent writing spilled rows so far (summed over the threads).
    pub(crate) fn busy_s(&self) -> f64 {
        self.busy_ns.load(Ordering::Relaxed) as f64 * 1e-9
    }

    /// Rows of `section` held for the paths of `paths` of `point`.
    fn rows(&self, point: u32, paths: std::ops::Range<u32>, section: Section) -> u64 {
        let s = self.lock();
        paths
            .filter_map(|path| s.paths.get(&(point, path)))
            .flat_map(|p| p.extents(section))
            .map(|e| e.rows)
            .sum()
    }

    /// Copies the rows of `section` held for `path` of `point` to `w` (once the unit's paths are
    /// done: every reserved range is written by then). Subnet rows handed over in more than one
    /// piece (a GPU path's) are decoded and put in (netuid, occupant) order, as the path would
    /// have handed them over at once (see [`RecordSpill`]); a path's rows are few (~50 a year).
    fn copy(
        &self,
        point: u32,
        path: u32,
        section: Section,
        w: &mut impl Write,
    ) -> anyhow::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let (extents, file) = {
            let s = self.lock();
            let Some(p) = s.paths.get(&(point, path)) else { return Ok(()) };
            let extents = p.extents(section).to_vec();
            let Some(file) = s.file.clone() else { return Ok(()) };
            (extents, file)
        };
        let cannot_read = || format!("cannot read {}", self.path.display());
        if section == Section::Subnets && extents.len() > 1 {
            let mut rows = Vec::new();
            for e in &extents {
                let mut bytes = vec![0; usize::try_from(e.len)?];
                file.read_exact_at(&mut bytes, e.offset).with_context(cannot_read)?;
                let mut d = Dec { r: bytes.as_slice(), left: e.len };
                for _ in 0..e.rows {
                    rows.push(d.subnet()?);
                }
                if d.left != 0 {
                    return Err(Corrupt.into());
                }
            }
            // Stable, as PathRecorder::finish's sort: equal keys keep the order handed over.
            rows.sort_by_key(|r| (r.netuid, r.occupant));
            let mut e = Enc(Vec::with_capacity(rows.len() * 200));
            for r in &rows {
                e.subnet(r);
            }
            return Ok(e.drain_to(w)?);
        }
        let mut buf = vec![0; ENCODE_CHUNK_BYTES];
        for e in extents {
            let mut at = e.offset;
            while at < e.offset + e.len {
                let n = buf.len().min(usize::try_from(e.offset + e.len - at).unwrap_or(usize::MAX));
                file.read_exact_at(&mut buf[..n], at).with_context(cannot_read)?;
                w.write_all(&buf[..n])?;
                at += n as u64;
            }
        }
        Ok(())
    }

    /// Removes the file (once the unit's part is written, or at the end of the run).
    pub(crate) fn close(&self) {
        let mut s = self.lock();
        s.paths.clear();
        if s.file.take().is_some() {
            std::fs::remove_file(&self.path).ok();
        }
    }
}

impl RecordSpill for Spill {
    fn traces(&self, point: u32, path: u32, fresh: bool, rows: &[TraceRecord]) {
        let mut e = Enc(Vec::with_capacity(rows.len() * 72));
        for t in rows {
            e.trace(t);
        }
        let (len, rows) = (e.0.len() as u64, rows.len() as u64);
        self.write(&e.0, |s, offset| {
            let p = s.paths.entry((point, path)).or_default();
            if fresh {
                p.traces.clear();
            }
            p.traces.push(Extent { offset, len, rows });
        });
    }

    /// Writes a path's subnet rows and events (one extent each, side by side in the file).
    /// `finished` is the trait's default (the same handover): the part sorts each path's subnet
    /// rows when it gathers them.
    fn running(
        &self,
        point: u32,
        path: u32,
        fresh: bool,
        subnets: &[SubnetRecord],
        events: &[EventRecord],
    ) {
        let mut e = Enc(Vec::with_capacity(subnets.len() * 200 + events.len() * 40));
        for r in subnets {
            e.subnet(r);
        }
        let subnet_bytes = e.0.len() as u64;
        for v in events {
            e.event(v);
        }
        let event_bytes = e.0.len() as u64 - subnet_bytes;
        let (subnets, events) =
            ((subnet_bytes, subnets.len() as u64), (event_bytes, events.len() as u64));
        self.write(&e.0, |s, offset| {
            s.paths.entry((point, path)).or_default().rows(fresh, offset, subnets, events);
        });
    }
}

/// Builds the output tables in `staging` from the part files of every unit of `job`, found by
/// `part_dir(unit)`, and returns each point's summary (see the module docs). Each part is read
/// as a stream: memory holds a chunk of rows per table, not a unit.
pub(crate) fn finalize(
    job: &Job,
    staging: &Path,
    part_dir: impl Fn(&Unit) -> PathBuf,
) -> anyhow::Result<Vec<PointSummary>> {
    let mut finalizer = Finalizer::new(job, staging)?;
    finalizer.read_all(part_dir)?;
    finalizer.finish()
}

/// The output tables of a run being built from its parts in unit order, possibly while the run
/// goes on: a [`PartWriter`] with a finalizer reads each part right after saving it (and any
/// part saved before, e.g. by a resumed run, when its turn comes), so at the end of the run only
/// the summaries are left to write. The tables are the same bytes whenever the parts are read,
/// because they are read in the same order.
pub(crate) struct Finalizer {
    job: Job,
    staging: PathBuf,
    writer: RunWriter,
    accs: Vec<PointAccumulator>,
    /// Every unit of the job, in the order their parts are read.
    units: Vec<Unit>,
    /// Units read so far: a prefix of `units`.
    read: usize,
}

impl Finalizer {
    /// Starts the tables of `job` in `staging`.
    pub(crate) fn new(job: &Job, staging: &Path) -> anyhow::Result<Self> {
        let writer = RunWriter::create(staging, job.traces)?;
        let accs = job
            .points
            .iter()
            .map(|p| {
                PointAccumulator::new(
                    p.point,
                    p.netuids.clone(),
                    p.slots,
                    f64::from_bits(p.days_per_step_bits),
                )
            })
            .collect();
        let units = job.all_units();
        Ok(Self { job: job.clone(), staging: staging.to_path_buf(), writer, accs, units, read: 0 })
    }

    /// Reads, in unit order, the parts not read yet of the units before `end` (a unit number),
    /// each found in `part_dir(unit)`.
    fn read_until(&mut self, end: u64, part_dir: impl Fn(&Unit) -> PathBuf) -> anyhow::Result<()> {
        while let Some(unit) = self.units.get(self.read).filter(|u| u.number < end) {
            let mut out =
                Finalizing { writer: &mut self.writer, acc: &mut self.accs[unit.point_index] };
            read_part(&part_dir(unit), unit, &mut out)?;
            self.read += 1;
        }
        Ok(())
    }

    /// Reads the parts of every unit up to and including `last` (all saved by now) from
    /// `dir/parts/`.
    fn read_through(&mut self, last: &Unit) -> anyhow::Result<()> {
        let staging = self.staging.clone();
        self.read_until(last.number + 1, |_| staging.clone())
    }

    /// Reads the parts not read yet, each found in `part_dir(unit)`.
    pub(crate) fn read_all(&mut self, part_dir: impl Fn(&Unit) -> PathBuf) -> anyhow::Result<()> {
        self.read_until(u64::MAX, part_dir)
    }

    /// Writes the summaries (and the sensitivity table of a design that has one) once every part
    /// is read, and returns each point's summary.
    pub(crate) fn finish(mut self) -> anyhow::Result<Vec<PointSummary>> {
        let staging = self.staging.clone();
        self.read_all(|_| staging.clone())?;
        let summaries: Vec<PointSummary> =
            self.accs.iter().map(PointAccumulator::summary).collect();
        self.writer.finish_with_parameters(&self.job.keys, &self.job.param_values(), &summaries)?;
        if let Some(input) = self.job.sensitivity() {
            crate::sensitivity::write(&self.staging, &input, &summaries)?;
        }
        Ok(summaries)
    }
}

/// SIGINT / SIGTERM: the first asks the run to stop after its current unit; a second one ends
/// the process at once (exit 130 / 143). The finished units are durable either way.
pub(crate) struct Interrupt {
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers.
    pub(crate) fn install() -> anyhow::Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let signal = Arc::new(AtomicUsize::new(0));
        let asked = Arc::new(AtomicBool::new(false));
        for (sig, code) in [(SIGINT, 130), (SIGTERM, 143)] {
            // Registered before the flag, so the first signal only sets the flag.
            signal_hook::flag::register_conditional_shutdown(sig, code, Arc::clone(&asked))?;
            signal_hook::flag::register(sig, Arc::clone(&asked))?;
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)?;
        }
        Ok(Self { signal })
    }

    /// The signal received so far, if any.
    pub(crate) fn received(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => i32::try_from(s).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the part of `unit` from `left` (the batch without what went to `spill`) and checks
    /// that its bytes are those of `full` held in memory, and that it reads back as `full`.
    /// Returns the part's bytes.
    fn assert_part_is_the_batch(
        dir: &Path,
        unit: &Unit,
        left: &BatchRecords,
        spill: &Spill,
        full: &BatchRecords,
    ) -> Vec<u8> {
        write_part(dir, unit, left, Some(spill)).unwrap();
        let bytes = std::fs::read(dir.join(PARTS_DIR).join(unit.file_name())).unwrap();
        assert_eq!(bytes, encode_part(unit, full), "the same bytes as from memory");
        let mut back =
            BatchRecords { point: full.point, first_path: full.first_path, ..Default::default() };
        read_part(dir, unit, &mut back).unwrap();
        assert_eq!(&back, full);
        bytes
    }

    /// An empty job folder with its parts folder, unique to this process and `name`.
    fn scratch_job_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taosim-{name}-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(PARTS_DIR)).unwrap();
        dir
    }

    #[test]
    fn shard_parses_and_refuses() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "0/0", "1", "a/2", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    fn subnet(path: u32, occupant: u32) -> SubnetRecord {
        let x = f64::from(path) + f64::from(occupant) / 8.0;
        SubnetRecord {
            point: 1,
            path,
            netuid: 3,
            occupant,
            name: format!("sn-{path}-{occupant}"),
            start_step: occupant,
            start_price: x,
            end_price: x + 1.0,
            start_tao: x + 2.0,
            end_tao: x + 3.0,
            start_alpha: x + 4.0,
            end_alpha: x + 5.0,
            min_price: x + 6.0,
            peak_price: x + 7.0,
            spiral: occupant.is_multiple_of(2),
            spiral_step: occupant.is_multiple_of(2).then_some(occupant),
            pruned: occupant > 0,
            pruned_step: (occupant > 0).then_some(occupant + 1),
            mean_share: x / 10.0,
            cartel_share: 0.0,
            staker_return: -x,
            root_return: x / 3.0,
            exit_slippage_1pct: 0.01,
            exit_slippage_10pct: 0.1,
        }
    }

    fn event(path: u32, step: u32) -> EventRecord {
        EventRecord {
            point: 1,
            path,
            step,
            block: 1_000 + step,
            netuid: 5,
            kind: EventKind::Pruned,
            value: f64::from(step) / 7.0,
            value2: f64::from(path),
        }
    }

    fn trace(path: u32, row: u32) -> TraceRecord {
        TraceRecord {
            point: 1,
            path,
            step: row / 4,
            day: f64::from(row / 4) * 0.5,
            netuid: (row % 4 + 1) as u16,
            active: !row.is_multiple_of(3),
            price: f64::from(row) * 1e-3,
            moving_price: f64::from(path),
            tao: 1e6 + f64::from(row),
            alpha: 2e6 - f64::from(row),
            share: 0.25,
            flow_ema: -f64::from(row),
        }
    }

    /// Rows handed to a [`Spill`] out of path order (with a path whose first run is replaced by
    /// a fresh one, and a path whose rows stay in memory) make the very part the same rows held
    /// in memory make; the part reads back as a stream, across several chunks.
    #[test]
    fn part_writer_saves_in_the_background_and_reports_the_first_error() {
        let dir = scratch_job_dir("writer");
        let unit = |number, batch: u32| Unit {
            number,
            point_index: 0,
            point: 0,
            batch,
            first_path: 2 * batch,
            end_path: 2 * batch + 2,
        };
        let records = |u: &Unit| BatchRecords {
            point: 0,
            first_path: u.first_path,
            subnets: vec![subnet(u.first_path, 0)],
            outcomes: (u.first_path..u.end_path)
                .map(|path| PathOutcome { path, ..PathOutcome::default() })
                .collect(),
            ..BatchRecords::default()
        };
        let mut writer = PartWriter::start(&dir, None).unwrap();
        for u in [unit(0, 0), unit(1, 1)] {
            let spill = Arc::new(Spill::new(&dir, u.number));
            spill.finished(0, u.first_path + 1, true, &[subnet(u.first_path + 1, 3)], &[]);
            writer.submit(u, records(&u), spill).unwrap();
        }
        let done = writer.finish().unwrap();
        assert_eq!(done.parts, 2);
        for u in [unit(0, 0), unit(1, 1)] {
            let mut back = BatchRecords { first_path: u.first_path, ..BatchRecords::default() };
            read_part(&dir, &u, &mut back).unwrap();
            let mut expected = records(&u);
            expected.subnets.push(subnet(u.first_path + 1, 3));
            assert_eq!(back, expected, "unit {}", u.number);
            assert!(!dir.join(PARTS_DIR).join(spill_file(u.number)).exists(), "spill removed");
        }

        // Parts that cannot be saved (the folder is gone): the error comes back, nothing counts.
        std::fs::remove_dir_all(&dir).unwrap();
        let mut writer = PartWriter::start(&dir, None).unwrap();
        let u = unit(2, 2);
        let handed = writer.submit(u, records(&u), Arc::new(Spill::new(&dir, 2)));
        let finished = writer.finish();
        assert!(handed.is_err() || finished.is_err(), "a failed part is reported");
        assert_eq!(writer.saved(), 0);
    }

    #[test]
    fn spilled_rows_make_the_same_part_as_rows_in_memory() {
        let dir = scratch_job_dir("spill");
        let unit =
            Unit { number: 0, point_index: 0, point: 1, batch: 2, first_path: 10, end_path: 13 };
        let traces10: Vec<TraceRecord> = (0..40_000).map(|r| trace(10, r)).collect();
        let traces12: Vec<TraceRecord> = (0..7).map(|r| trace(12, r)).collect();
        let outcome = |path| PathOutcome {
            path,
            spiral_by_slot: vec![true, false],
            spiral_steps: vec![path],
            ..PathOutcome::default()
        };
        let full = BatchRecords {
            point: 1,
            first_path: 10,
            subnets: vec![subnet(10, 0), subnet(10, 1), subnet(11, 0), subnet(12, 0)],
            events: vec![event(10, 4), event(11, 2), event(11, 3)],
            traces: traces10.iter().chain(&traces12).cloned().collect(),
            outcomes: vec![outcome(10), outcome(11), outcome(12)],
        };

        let spill = Spill::new(&dir, unit.number);
        spill.traces(1, 12, true, &[trace(12, 99), trace(12, 98)]);
        spill.traces(1, 10, true, &traces10[..5_000]);
        spill.finished(1, 12, true, &[subnet(12, 0)], &[]);
        spill.traces(1, 12, true, &traces12);
        spill.traces(1, 10, false, &traces10[5_000..]);
        spill.finished(1, 10, true, &[subnet(10, 0), subnet(10, 1)], &[event(10, 4)]);
        spill.take_error().unwrap();
        // Path 11 kept its rows in memory.
        let left = BatchRecords {
            subnets: vec![subnet(11, 0)],
            events: vec![event(11, 2), event(11, 3)],
            traces: Vec::new(),
            ..full.clone()
        };
        let bytes = assert_part_is_the_batch(&dir, &unit, &left, &spill, &full);

        let spill_path = dir.join(PARTS_DIR).join(spill_file(unit.number));
        assert!(spill_path.exists());
        spill.close();
        assert_eq!(spill.rows(1, 10..13, Section::Traces), 0);
        assert!(!spill_path.exists());

        let mut flipped = bytes;
        flipped[100] ^= 1;
        std::fs::write(dir.join(PARTS_DIR).join(unit.file_name()), flipped).unwrap();
        let err = read_part(&dir, &unit, &mut BatchRecords::default()).unwrap_err();
        assert!(format!("{err:#}").contains("is corrupt"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A GPU path hands its subnet rows and events over in pieces while it runs (pruned occupants
    /// in the order pruned, events in order), then its last rows sorted; a replayed path starts
    /// afresh. The part is byte for byte the one from each path's rows held in memory to the end
    /// (subnet rows stably sorted by (netuid, occupant), as `PathRecorder::finish` sorts them),
    /// and nothing of a replaced run is left in it.
    #[test]
    fn rows_handed_over_in_pieces_make_the_same_part_as_at_once() {
        let dir = scratch_job_dir("pieces");
        let unit =
            Unit { number: 7, point_index: 0, point: 1, batch: 0, first_path: 10, end_path: 12 };
        let at = |path, netuid, occupant| SubnetRecord { netuid, ..subnet(path, occupant) };
        // Path 10, in the order its recorder collects them: pruned occupants as they go, then
        // the occupants alive at the horizon (slot order).
        let pruned = [at(10, 7, 0), at(10, 2, 0), at(10, 7, 1), at(10, 2, 1), at(10, 9, 3)];
        let alive = [at(10, 2, 2), at(10, 7, 2), at(10, 9, 4), at(10, 12, 0)];
        let events: Vec<EventRecord> = (0..9).map(|k| event(10, k)).collect();
        let mut sorted10: Vec<SubnetRecord> = pruned.iter().chain(&alive).cloned().collect();
        sorted10.sort_by_key(|r| (r.netuid, r.occupant));
        let rows11 = [at(11, 1, 0), at(11, 4, 1)];
        let outcomes = vec![
            PathOutcome { path: 10, ..PathOutcome::default() },
            PathOutcome { path: 11, ..PathOutcome::default() },
        ];
        let full = BatchRecords {
            point: 1,
            first_path: 10,
            subnets: sorted10.iter().chain(&rows11).cloned().collect(),
            events: events.iter().chain(&[event(11, 5)]).cloned().collect(),
            traces: Vec::new(),
            outcomes: outcomes.clone(),
        };
        assert_ne!(pruned.to_vec(), sorted10[..5].to_vec(), "the pieces are out of order");

        let spill = Spill::new(&dir, unit.number);
        // A first run of path 10 that is replayed (its rows must not stay).
        spill.running(1, 10, true, &[at(10, 3, 9)], &[event(10, 99)]);
        // Path 11: a run that handed rows over, then its replay, which hands all over at its end.
        spill.running(1, 11, true, &[at(11, 6, 6)], &[event(11, 98)]);
        spill.running(1, 10, true, &pruned[..2], &events[..3]);
        spill.running(1, 10, false, &[], &events[3..4]);
        spill.running(1, 10, false, &pruned[2..4], &events[4..7]);
        spill.finished(1, 11, true, &rows11, &[event(11, 5)]);
        let mut last: Vec<SubnetRecord> = pruned[4..].iter().chain(&alive).cloned().collect();
        last.sort_by_key(|r| (r.netuid, r.occupant));
        spill.finished(1, 10, false, &last, &events[7..]);
        spill.take_error().unwrap();
        assert_eq!(spill.rows(1, 10..12, Section::Subnets), 11);
        assert_eq!(spill.rows(1, 10..12, Section::Events), 10);

        let left = BatchRecords { outcomes, ..BatchRecords::default() };
        assert_part_is_the_batch(&dir, &unit, &left, &spill, &full);
        spill.close();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parts_round_trip_bit_for_bit_and_detect_corruption() {
        let unit =
            Unit { number: 3, point_index: 0, point: 2, batch: 1, first_path: 4, end_path: 5 };
        let records = BatchRecords {
            point: 2,
            first_path: 4,
            subnets: vec![SubnetRecord {
                point: 2,
                path: 4,
                netuid: 7,
                occupant: 1,
                name: "sn-7".into(),
                start_step: 3,
                start_price: 0.1,
                end_price: f64::NAN,
                start_tao: 1e300,
                end_tao: -0.0,
                start_alpha: 5.0,
                end_alpha: 6.0,
                min_price: f64::INFINITY,
                peak_price: 8.5,
                spiral: true,
                spiral_step: Some(9),
                pruned: false,
                pruned_step: None,
                mean_share: 0.25,
                cartel_share: 0.5,
                staker_return: -0.125,
                root_return: 1.0 / 3.0,
                exit_slippage_1pct: 0.01,
                exit_slippage_10pct: 0.1,
            }],
            events: vec![EventRecord {
                point: 2,
                path: 4,
                step: 9,
                block: 100,
                netuid: 7,
                kind: EventKind::Spiral,
                value: 1.5,
                value2: 2.5,
            }],
            traces: vec![TraceRecord {
                point: 2,
                path: 4,
                step: 0,
                day: 0.0,
                netuid: 7,
                active: true,
                price: 1.0,
                moving_price: 2.0,
                tao: 3.0,
                alpha: 4.0,
                share: 0.5,
                flow_ema: -1.0,
            }],
            outcomes: vec![PathOutcome {
                path: 4,
                spirals: 1,
                top10_spiral: true,
                spiral_by_slot: vec![false, true],
                spiral_steps: vec![9],
                prunings: 0,
                pool_tao_end: 123.456,
                zero_share_end: 2,
                min_reserve: 1e-3,
                max_alpha_issuance: 1e6,
                conservation_residual: 1e-16,
            }],
        };
        let bytes = encode_part(&unit, &records);
        let back = decode_part(&unit, &bytes).unwrap();
        // NaN != NaN: compare the one NaN field by bits, the rest with PartialEq.
        assert_eq!(back.subnets[0].end_price.to_bits(), f64::NAN.to_bits());
        let mut a = records.clone();
        let mut b = back;
        a.subnets[0].end_price = 0.0;
        b.subnets[0].end_price = 0.0;
        assert_eq!(a, b);
        assert_eq!(b.subnets[0].end_tao.to_bits(), (-0.0_f64).to_bits());
        for cut in [0, 8, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_part(&unit, &bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert!(decode_part(&unit, &flipped).is_err(), "a flipped bit");
        let other = Unit { batch: 2, ..unit };
        assert!(decode_part(&other, &bytes).is_err(), "another unit's part");
    }

    /// The checksum by its definition, one word at a time over the zero-padded bytes, then the
    /// length: an independent statement of [`PartHash`] to check the streaming form against.
    fn part_hash_by_definition(bytes: &[u8]) -> u64 {
        let mut padded = bytes.to_vec();
        padded.resize(bytes.len().div_ceil(8) * 8, 0);
        let mut state: u64 = 0xcbf2_9ce4_8422_2325;
        let words = padded.chunks(8).map(|w| u64::from_le_bytes(w.try_into().unwrap()));
        for w in words.chain([bytes.len() as u64]) {
            state = (state ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
        }
        state
    }

    #[test]
    fn part_hash_ignores_how_the_stream_is_split_and_sees_every_bit() {
        let bytes: Vec<u8> =
            (0..203_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = part_hash_by_definition(&bytes);
        for split in [1, 3, 7, 8, 9, 64, 200] {
            let mut h = PartHash::new();
            for chunk in bytes.chunks(split) {
                h.update(chunk);
            }
            assert_eq!(h.finish(), whole, "chunks of {split}");
        }
        // Every single flipped bit and every truncation changes the checksum (zero padding alone
        // would not tell `ab` from `ab\0`: the length does).
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(part_hash_by_definition(&flipped), whole, "bit {bit}");
        }
        for cut in 0..bytes.len() {
            assert_ne!(part_hash_by_definition(&bytes[..cut]), whole, "cut at {cut}");
        }
        assert_ne!(part_hash_by_definition(&[1, 0]), part_hash_by_definition(&[1]));
    }

    #[test]
    fn shards_cover_every_unit_once() {
        let point = |point, paths| JobPoint {
            point,
            paths,
            batch_paths: 3,
            netuids: vec![],
            slots: 0,
            days_per_step_bits: 0,
        };
        let mut job = Job::new(
            &[],
            None,
            false,
            &[],
            &[],
            vec![point(0, 7), point(1, 6)],
            serde_json::Value::Null,
        );
        let all = job.all_units();
        assert_eq!(all.len(), 3 + 2);
        assert_eq!((all[2].first_path, all[2].end_path), (6, 7));
        let mut seen = Vec::new();
        for index in 0..3 {
            job.shard = Some(Shard { index, count: 3 });
            seen.extend(job.my_units().iter().map(|u| u.number));
        }
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }
}
