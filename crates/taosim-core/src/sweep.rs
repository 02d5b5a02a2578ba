//! Sweep designs: the `[sweep]` table of `taosim sweep CONFIG` and the point sets it describes.
//!
//! ```toml
//! [sweep]
//! design = "grid"        # "grid" (cartesian), "zip", "lhs" (Latin hypercube), "sobol"
//! points = 16            # lhs / sobol: number of points; saltelli: base rows
//! paths = 64             # paths per point (overrides run.paths; --paths overrides both)
//! [sweep.keys]           # any config key, dotted: a list of values, or a range {min, max}
//! "behaviour.panic_rate_per_day" = [0.0, 0.01, 0.05]
//! "chain.regime" = ["taoflow", "price_ema"]
//! "behaviour.miner_sell" = { min = 0.2, max = 1.0 }
//! ```
//!
//! Each design turns the keys into a list of points; a point is a list of (dotted key, value)
//! that the CLI merges over the rest of the file ([`crate::config::merge_tables`]), exactly as a
//! `[[point]]` table, and runs as sweep point `id` = its index in the list. Keys keep their order
//! in the file.
//!
//! - `grid`: the cartesian product of the lists, the last key varying fastest.
//! - `zip`: the lists side by side (all of one length); point `i` takes element `i` of each.
//! - `lhs`: Latin hypercube of `points` points: each key's range is cut into `points` equal
//!   strata and every stratum holds exactly one point; the strata are paired across keys by one
//!   random permutation per key, and each value sits at a random place inside its stratum. The
//!   permutations and offsets come from Philox keyed by the run seed
//!   ([`crate::rng::stream::SWEEP_LHS`]), so a design is a function of (seed, keys, points).
//! - `sobol`: the first `points` points of the Sobol sequence with the Joe–Kuo direction numbers
//!   (`new-joe-kuo-6.21201`, S. Joe and F. Y. Kuo, SIAM J. Sci. Comput. 30, 2635–2654, 2008), in
//!   Gray-code order, **including the first point 0** (all keys at their minimum): keeping it
//!   keeps the balance of every power-of-two prefix (each of the first 2^m points falls in its own
//!   interval of width 2^-m in every key; Owen, "On dropping the first Sobol' point", 2022). At
//!   most [`SOBOL_MAX_DIMS`] keys.
//! - `saltelli`: `points` base rows of Saltelli's A/B/AB_i arrangement on the Sobol sequence
//!   ([`saltelli_unit`]), `points (keys + 2)` points in all, for Sobol indices
//!   ([`crate::sensitivity::sobol_indices`]). At most [`SALTELLI_MAX_DIMS`] keys.
//!
//! Mapping from the unit interval `u` in [0, 1) (lhs, sobol): a float range `{min, max}` maps
//! linearly to `min + u (max - min)`, in [min, max); an integer range (both ends integers) picks
//! the integer `min + floor(u (max - min + 1))`, in [min, max] inclusive; a list picks element
//! `floor(u len)`.
//!
//! # What stays stable when a sweep grows (the results of a point depend on its id, not its rank)
//!
//! - Paths: path `k` of point `i` draws from Philox at (seed, `i`, `k`), so adding paths keeps
//!   the existing paths' results.
//! - `sobol`: point `i` depends only on `i` and the key list, so raising `points` keeps the first
//!   points and their results. `saltelli` likewise: block `j` depends only on `j`.
//! - `grid` / `zip`: point ids are indices; appending values to the *first* key (grid) or to every
//!   list (zip) keeps the existing ids. Changing any other list renumbers points.
//! - `lhs`: **not** prefix-stable: the strata depend on `points`, so a design with more points is
//!   a different design. Rerun it whole.

use crate::config::{RunConfig, dotted_table, merge_tables, without_position};
use crate::rng::{DESIGN_ADDRESS, PathRng, stream, uniform_open};
use crate::{Error, Result};

/// Keys a Sobol design supports: the first 16 dimensions of `new-joe-kuo-6.21201`.
pub const SOBOL_MAX_DIMS: usize = 16;

/// Most points a design may hold (a grid's product grows fast; this catches a typo early).
pub const MAX_POINTS: usize = 1_000_000;

/// How the points of a sweep are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    /// Cartesian product of the lists (last key fastest).
    Grid,
    /// Lists of one length, side by side.
    Zip,
    /// Latin hypercube (stratified random).
    Lhs,
    /// Sobol low-discrepancy sequence (Joe–Kuo).
    Sobol,
    /// Saltelli's A/B/AB_i arrangement on a Sobol sequence, for Sobol indices.
    Saltelli,
}

/// One value a swept key takes at a point.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepValue {
    /// A float.
    Float(f64),
    /// An integer (kept an integer so that integer keys still parse).
    Integer(i64),
    /// A boolean.
    Bool(bool),
    /// A word (`"taoflow"`).
    Text(String),
}

impl SweepValue {
    /// The value as TOML, to merge into a config.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            SweepValue::Float(x) => toml::Value::Float(*x),
            SweepValue::Integer(i) => toml::Value::Integer(*i),
            SweepValue::Bool(b) => toml::Value::Boolean(*b),
            SweepValue::Text(t) => toml::Value::String(t.clone()),
        }
    }

    fn from_toml(key: &str, value: &toml::Value) -> Result<Self> {
        match value {
            toml::Value::Float(x) => Ok(SweepValue::Float(*x)),
            toml::Value::Integer(i) => Ok(SweepValue::Integer(*i)),
            toml::Value::Boolean(b) => Ok(SweepValue::Bool(*b)),
            toml::Value::String(s) => Ok(SweepValue::Text(s.clone())),
            other => {
                Err(shape(key, format!("a list holds numbers, booleans or words, not {other}")))
            }
        }
    }
}

/// The values one key sweeps over.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyValues {
    /// An explicit list.
    List(Vec<SweepValue>),
    /// A range `{ min, max }` (lhs, sobol and saltelli only); `integer` when both ends are integers.
    Range {
        /// Lower end (included).
        min: f64,
        /// Upper end (excluded for floats, included for integers).
        max: f64,
        /// Both ends were written as integers: the key takes integer values.
        integer: bool,
    },
}

/// A swept key and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepKey {
    /// The dotted config key (`behaviour.panic_rate_per_day`).
    pub key: String,
    /// What it sweeps over.
    pub values: KeyValues,
}

/// A parsed `[sweep]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// The design.
    pub design: Design,
    /// Number of points (lhs and sobol; base rows for saltelli; `None` for grid and zip, whose size the lists fix).
    pub points: Option<u32>,
    /// Paths per point (overrides `run.paths`).
    pub paths: Option<u32>,
    /// The swept keys, in file order.
    pub keys: Vec<SweepKey>,
}

/// One point of a design: a value for every swept key, in key order.
pub type SweepPoint = Vec<(String, SweepValue)>;

fn shape(key: &str, message: impl Into<String>) -> Error {
    Error::Shape { key: key.to_string(), message: message.into() }
}

impl SweepSpec {
    /// Parses the `[sweep]` table. Keys may be quoted dotted strings (`"chain.regime" = [...]`) or
    /// nested tables (`chain.regime = [...]`); a table holding exactly `min` and `max` is a range.
    pub fn from_toml(table: &toml::Table) -> Result<Self> {
        for key in table.keys() {
            if !["design", "points", "paths", "keys"].contains(&key.as_str()) {
                return Err(shape(
                    &format!("sweep.{key}"),
                    "unknown key: `[sweep]` takes design, points, paths and keys",
                ));
            }
        }
        let design = match table.get("design") {
            Some(toml::Value::String(s)) => match s.as_str() {
                "grid" => Design::Grid,
                "zip" => Design::Zip,
                "lhs" => Design::Lhs,
                "sobol" => Design::Sobol,
                "saltelli" => Design::Saltelli,
                _ => {
                    return Err(Error::OutOfRange {
                        key: "sweep.design".into(),
                        value: format!("\"{s}\""),
                        allowed: "one of \"grid\", \"zip\", \"lhs\", \"sobol\", \"saltelli\""
                            .into(),
                    });
                }
            },
            None => Design::Grid,
            Some(other) => {
                return Err(shape("sweep.design", format!("must be a word, not {other}")));
            }
        };
        let count = |name: &str| -> Result<Option<u32>> {
            match table.get(name) {
                None => Ok(None),
                Some(toml::Value::Integer(i)) if (1..=i64::from(u32::MAX)).contains(i) => {
                    Ok(Some(*i as u32))
                }
                Some(other) => Err(Error::OutOfRange {
                    key: format!("sweep.{name}"),
                    value: other.to_string(),
                    allowed: "a positive integer".into(),
                }),
            }
        };
        let points = count("points")?;
        let paths = count("paths")?;
        match (design, points) {
            (Design::Lhs | Design::Sobol | Design::Saltelli, None) => {
                return Err(shape("sweep.points", "lhs, sobol and saltelli designs need `points`"));
            }
            (Design::Grid | Design::Zip, Some(_)) => {
                return Err(shape(
                    "sweep.points",
                    "grid and zip designs take their size from the lists; remove `points`",
                ));
            }
            _ => {}
        }
        let Some(toml::Value::Table(key_table)) = table.get("keys") else {
            return Err(shape("sweep.keys", "a `[sweep.keys]` table of swept keys is required"));
        };
        let mut keys = Vec::new();
        collect_keys(key_table, "", &mut keys)?;
        if keys.is_empty() {
            return Err(shape("sweep.keys", "sweeps no key"));
        }
        for k in &keys {
            if matches!(k.values, KeyValues::Range { .. })
                && matches!(design, Design::Grid | Design::Zip)
            {
                return Err(shape(
                    &k.key,
                    "a range {min, max} needs an lhs, sobol or saltelli design; grid and zip take lists",
                ));
            }
        }
        Ok(SweepSpec { design, points, paths, keys })
    }

    /// The design's points (the run seed keys the Latin hypercube's permutations).
    pub fn points(&self, seed: u64) -> Result<Vec<SweepPoint>> {
        match self.design {
            Design::Grid => grid(&self.keys),
            Design::Zip => zip(&self.keys),
            Design::Lhs => lhs(&self.keys, self.points.unwrap_or(1), seed),
            Design::Sobol => sobol(&self.keys, self.points.unwrap_or(1)),
            Design::Saltelli => saltelli(&self.keys, self.points.unwrap_or(1)),
        }
    }
}

/// Flattens nested key tables into dotted keys; `{min, max}` tables are ranges.
fn collect_keys(table: &toml::Table, prefix: &str, out: &mut Vec<SweepKey>) -> Result<()> {
    for (name, value) in table {
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let values = match value {
            toml::Value::Array(items) => {
                if items.is_empty() {
                    return Err(shape(&key, "an empty list sweeps nothing"));
                }
                let list = items
                    .iter()
                    .map(|v| SweepValue::from_toml(&key, v))
                    .collect::<Result<Vec<_>>>()?;
                KeyValues::List(list)
            }
            toml::Value::Table(t)
                if t.len() == 2 && t.contains_key("min") && t.contains_key("max") =>
            {
                range(&key, &t["min"], &t["max"])?
            }
            // No config table has a `min` or `max` key: this is a range written wrong, not a
            // nested key (it would otherwise be read as the key `KEY.min`).
            toml::Value::Table(t) if t.contains_key("min") || t.contains_key("max") => {
                let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                return Err(shape(
                    &key,
                    format!("a range is a table of exactly `min` and `max`, not {keys:?}"),
                ));
            }
            toml::Value::Table(t) => {
                collect_keys(t, &key, out)?;
                continue;
            }
            other => {
                return Err(shape(
                    &key,
                    format!("must be a list of values or a range {{min, max}}, not {other}"),
                ));
            }
        };
        out.push(SweepKey { key, values });
    }
    Ok(())
}

fn range(key: &str, min: &toml::Value, max: &toml::Value) -> Result<KeyValues> {
    let number = |v: &toml::Value| match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    };
    let (Some(lo), Some(hi)) = (number(min), number(max)) else {
        return Err(shape(key, "a range's min and max must be finite numbers"));
    };
    if lo > hi {
        return Err(shape(key, format!("range min {lo} is above max {hi}")));
    }
    let integer = min.is_integer() && max.is_integer();
    Ok(KeyValues::Range { min: lo, max: hi, integer })
}

fn too_many(n: usize) -> Error {
    shape("sweep", format!("the design has {n} points, more than the limit {MAX_POINTS}"))
}

/// The cartesian product of the keys' lists, the last key varying fastest; point `i` has id `i`.
pub fn grid(keys: &[SweepKey]) -> Result<Vec<SweepPoint>> {
    let lists = lists(keys, "grid")?;
    let mut total: usize = 1;
    for list in &lists {
        total = total.checked_mul(list.len()).filter(|n| *n <= MAX_POINTS).ok_or_else(|| {
            too_many(lists.iter().map(|l| l.len()).fold(1usize, usize::saturating_mul))
        })?;
    }
    let mut points = Vec::with_capacity(total);
    for i in 0..total {
        // Mixed-radix digits of i, the last key the least significant.
        let mut rest = i;
        let mut point = vec![(String::new(), SweepValue::Bool(false)); keys.len()];
        for (j, list) in lists.iter().enumerate().rev() {
            point[j] = (keys[j].key.clone(), list[rest % list.len()].clone());
            rest /= list.len();
        }
        points.push(point);
    }
    Ok(points)
}

/// The keys' lists side by side: point `i` takes element `i` of every list.
pub fn zip(keys: &[SweepKey]) -> Result<Vec<SweepPoint>> {
    let lists = lists(keys, "zip")?;
    let n = lists[0].len();
    if lists.iter().any(|l| l.len() != n) {
        let lengths: Vec<String> =
            keys.iter().zip(&lists).map(|(k, l)| format!("`{}` has {}", k.key, l.len())).collect();
        return Err(shape(
            "sweep.keys",
            format!("a zip design needs lists of one length: {}", lengths.join(", ")),
        ));
    }
    Ok((0..n)
        .map(|i| keys.iter().zip(&lists).map(|(k, l)| (k.key.clone(), l[i].clone())).collect())
        .collect())
}

fn lists<'a>(keys: &'a [SweepKey], design: &str) -> Result<Vec<&'a [SweepValue]>> {
    if keys.is_empty() {
        return Err(shape("sweep.keys", "sweeps no key"));
    }
    keys.iter()
        .map(|k| match &k.values {
            KeyValues::List(l) => Ok(l.as_slice()),
            KeyValues::Range { .. } => {
                Err(shape(&k.key, format!("a {design} design needs a list, not a range")))
            }
        })
        .collect()
}

/// The unit-cube Latin hypercube: `n` points in `dims` dimensions, `u[i][j]` in stratum
/// `[p_j(i)/n, (p_j(i)+1)/n)` for a random permutation `p_j` of `0..n` per dimension, at a random
/// offset inside it. Deterministic in (seed, n, dims).
pub fn lhs_unit(n: u32, dims: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
    if dims >= 0x1_0000 {
        return Err(shape("sweep.keys", "an lhs design takes at most 65535 keys"));
    }
    if n as usize > MAX_POINTS {
        return Err(too_many(n as usize));
    }
    let rng = PathRng::new(seed, DESIGN_ADDRESS, DESIGN_ADDRESS);
    let mut unit = vec![Vec::with_capacity(dims); n as usize];
    let mut perm: Vec<u32> = Vec::with_capacity(n as usize);
    for key in 0..dims as u32 {
        perm.clear();
        perm.extend(0..n);
        // Fisher–Yates from the top; the swap index is the high word of w * (i + 1), which is
        // uniform on 0..=i up to a bias below 2^-32 * n (irrelevant for a design).
        for i in (1..n).rev() {
            let w = rng.block(i, key, stream::SWEEP_LHS)[0];
            let swap = ((u64::from(w) * u64::from(i + 1)) >> 32) as usize;
            perm.swap(i as usize, swap);
        }
        for (i, (point, stratum)) in unit.iter_mut().zip(&perm).enumerate() {
            let offset: f64 = uniform_open(rng.block(i as u32, key, stream::SWEEP_LHS)[1]);
            point.push((f64::from(*stratum) + offset) / f64::from(n));
        }
    }
    Ok(unit)
}

/// A Latin hypercube of `n` points over the keys (see [`lhs_unit`]); point `i` has id `i`.
pub fn lhs(keys: &[SweepKey], n: u32, seed: u64) -> Result<Vec<SweepPoint>> {
    let unit = lhs_unit(n, keys.len(), seed)?;
    Ok(unit.iter().map(|u| map_unit(keys, u)).collect())
}

/// Joe–Kuo `new-joe-kuo-6.21201`, dimensions 2..=16: (degree s, coefficients a, initial m_i).
/// Dimension 1 is the van der Corput sequence (all m_i = 1).
const JOE_KUO: [(u32, u32, &[u32]); SOBOL_MAX_DIMS - 1] = [
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
    (5, 4, &[1, 1, 5, 5, 5]),
    (5, 7, &[1, 1, 7, 11, 19]),
    (5, 11, &[1, 1, 5, 1, 1]),
    (5, 13, &[1, 1, 1, 3, 11]),
    (5, 14, &[1, 3, 5, 5, 31]),
    (6, 1, &[1, 3, 3, 9, 7, 49]),
    (6, 13, &[1, 1, 1, 15, 21, 21]),
    (6, 16, &[1, 3, 1, 13, 27, 49]),
];

/// The 32 direction numbers of Sobol dimension `dim` (0-based), scaled by 2^32.
fn sobol_directions(dim: usize) -> [u32; 32] {
    let mut v = [0_u32; 32];
    if dim == 0 {
        for (k, vk) in v.iter_mut().enumerate() {
            *vk = 1 << (31 - k);
        }
        return v;
    }
    let (s, a, m) = JOE_KUO[dim - 1];
    let s = s as usize;
    for k in 0..32 {
        v[k] = if k < s {
            m[k] << (31 - k)
        } else {
            // Bratley–Fox recurrence of the primitive polynomial x^s + a_1 x^(s-1) + ... + 1.
            let mut x = v[k - s] ^ (v[k - s] >> s);
            for j in 1..s {
                if (a >> (s - 1 - j)) & 1 == 1 {
                    x ^= v[k - j];
                }
            }
            x
        };
    }
    v
}

/// Point `index` of the `dims`-dimensional Sobol sequence in Gray-code order (point 0 is the
/// origin; point 1 is 0.5 in every dimension). A function of `index` alone.
pub fn sobol_point(index: u32, dims: usize) -> Result<Vec<f64>> {
    if dims > SOBOL_MAX_DIMS {
        return Err(shape(
            "sweep.keys",
            format!("a sobol design supports at most {SOBOL_MAX_DIMS} keys, this one has {dims}"),
        ));
    }
    let gray = index ^ (index >> 1);
    Ok((0..dims)
        .map(|d| {
            let v = sobol_directions(d);
            let mut x = 0_u32;
            for (bit, vb) in v.iter().enumerate() {
                if (gray >> bit) & 1 == 1 {
                    x ^= vb;
                }
            }
            f64::from(x) / 4_294_967_296.0
        })
        .collect())
}

/// The first `n` Sobol points over the keys (point 0 included); point `i` has id `i`.
pub fn sobol(keys: &[SweepKey], n: u32) -> Result<Vec<SweepPoint>> {
    if n as usize > MAX_POINTS {
        return Err(too_many(n as usize));
    }
    (0..n).map(|i| Ok(map_unit(keys, &sobol_point(i, keys.len())?))).collect()
}

/// Keys a saltelli design supports: A and B take one Sobol dimension per key each.
pub const SALTELLI_MAX_DIMS: usize = SOBOL_MAX_DIMS / 2;

/// Saltelli's arrangement of `n` base rows over `dims` unit dimensions, `n (dims + 2)` points in
/// base-row blocks: point `j (dims + 2) + k` is A_j for k = 0, B_j for k = 1 and AB_j^i (A_j with
/// coordinate i from B_j) for k = 2 + i, where A_j and B_j are the first and last `dims`
/// coordinates of point `j` of the `2 dims`-dimensional Sobol sequence. Block `j` depends on `j`
/// alone, so raising `n` keeps every existing point.
pub fn saltelli_unit(n: u32, dims: usize) -> Result<Vec<Vec<f64>>> {
    if dims > SALTELLI_MAX_DIMS {
        return Err(shape(
            "sweep.keys",
            format!(
                "a saltelli design supports at most {SALTELLI_MAX_DIMS} keys, this one has {dims}"
            ),
        ));
    }
    let total = (n as usize).saturating_mul(dims + 2);
    if total > MAX_POINTS {
        return Err(too_many(total));
    }
    let mut out = Vec::with_capacity(total);
    for j in 0..n {
        let ab = sobol_point(j, 2 * dims)?;
        let (a, b) = ab.split_at(dims);
        out.push(a.to_vec());
        out.push(b.to_vec());
        for i in 0..dims {
            let mut mixed = a.to_vec();
            mixed[i] = b[i];
            out.push(mixed);
        }
    }
    Ok(out)
}

/// The saltelli design over the keys (see [`saltelli_unit`]); `n` base rows, point `i` has id `i`.
pub fn saltelli(keys: &[SweepKey], n: u32) -> Result<Vec<SweepPoint>> {
    Ok(saltelli_unit(n, keys.len())?.iter().map(|u| map_unit(keys, u)).collect())
}

/// Maps a unit-cube point onto the keys' ranges and lists.
fn map_unit(keys: &[SweepKey], unit: &[f64]) -> SweepPoint {
    keys.iter()
        .zip(unit)
        .map(|(k, &u)| {
            let value = match &k.values {
                KeyValues::Range { min, max, integer: false } => {
                    SweepValue::Float(min + u * (max - min))
                }
                KeyValues::Range { min, max, integer: true } => {
                    let span = max - min + 1.0;
                    SweepValue::Integer((min + (u * span).floor()).min(*max) as i64)
                }
                KeyValues::List(list) => {
                    let i = ((u * list.len() as f64).floor() as usize).min(list.len() - 1);
                    list[i].clone()
                }
            };
            (k.key.clone(), value)
        })
        .collect()
}

/// A point as a partial config, to merge over the rest of the file.
pub fn point_table(point: &SweepPoint) -> toml::Table {
    let mut table = toml::Table::new();
    for (key, value) in point {
        merge_tables(&mut table, &dotted_table(key, value.to_toml()));
    }
    table
}

/// Checks that every swept key is a config key taking values of its kind: each key's first value
/// (a list's first element, a range's min) merged alone over `base` must parse and validate,
/// and every further element of a list must parse (a word the key does not know, a value of
/// the wrong type). Later values are not validated alone: a value may be valid only beside
/// another key's value at the same point, and each point is validated whole before anything
/// runs. The error names the key.
pub fn check_keys(base: &toml::Table, spec: &SweepSpec) -> Result<()> {
    for k in &spec.keys {
        let first = match &k.values {
            KeyValues::List(list) => list[0].clone(),
            KeyValues::Range { min, integer: true, .. } => SweepValue::Integer(*min as i64),
            KeyValues::Range { min, integer: false, .. } => SweepValue::Float(*min),
        };
        let rest = match &k.values {
            KeyValues::List(list) => &list[1..],
            KeyValues::Range { .. } => &[],
        };
        let name = format!("sweep.keys.\"{}\"", k.key);
        let key_error = |e: Error| shape(&name, without_position(&e));
        let parsed = merged_config(base, &k.key, &first);
        if let (Err(_), KeyValues::Range { min, max, integer: false }) = (&parsed, &k.values) {
            // A float range for a key that takes integers: say to write both ends as integers.
            let as_integer = SweepValue::Integer(*min as i64);
            if min.fract() == 0.0 && merged_config(base, &k.key, &as_integer).is_ok() {
                return Err(shape(
                    &name,
                    format!(
                        "the key takes integers: write both ends of its range as integers \
                         (min = {min}, max = {max} has a float end)"
                    ),
                ));
            }
        }
        parsed.and_then(|c| c.validate()).map_err(key_error)?;
        for value in rest {
            merged_config(base, &k.key, value).map_err(key_error)?;
        }
    }
    Ok(())
}

/// `base` with `key` set to `value`, parsed (not validated).
fn merged_config(base: &toml::Table, key: &str, value: &SweepValue) -> Result<RunConfig> {
    let mut merged = base.clone();
    merge_tables(&mut merged, &dotted_table(key, value.to_toml()));
    let text = toml::to_string(&merged).map_err(|e| Error::Parse(e.to_string()))?;
    RunConfig::from_toml(&text)
}
