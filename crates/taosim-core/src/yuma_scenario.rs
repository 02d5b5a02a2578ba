//! The `taosim yuma` scenario format: one subnet's Yuma parameters, stakes and a weight schedule,
//! replayed epoch by epoch through [`crate::model::yuma`] (chain.md §5; `docs/yuma.md`).
//!
//! ```toml
//! version = "yuma3"            # "yuma2" (original bonds) or "yuma3"
//! kappa = 0.5
//! bonds_moving_average = 0.975 # per-epoch EMA keep factor (chain 975_000 / 1e6)
//! bonds_penalty = 0.0
//! max_validators = 3
//! stakes = [8.0, 1.0, 1.0, 0.0, 0.0]
//! [liquid_alpha]
//! enabled = true
//! alpha_low = 0.1
//! alpha_high = 0.3
//! steepness = 1000.0
//! [[epoch]]
//! weights = []                 # no weights this epoch
//! [[epoch]]
//! weights = [[0,0,0,1,0],[0,0,0,1,0],[0,0,0,1,0]]
//! ```
//!
//! Every key but `stakes` and `epoch` is optional with the chain default (see
//! [`YumaParams::default`]). Parsing rejects unknown keys and validates every value, naming the
//! key ([`crate::Error`]). Replay runs in `f64`; the number of uids is `stakes.len()`, and every
//! uid may set weights (rows beyond those an epoch lists set none).
//!
//! # A real metagraph
//!
//! Instead of `stakes` and `[[epoch]]`, a `[metagraph]` table reads a subnet's stakes and weights
//! from two CSV files (paths relative to the scenario file), as exported from the chain, and
//! replays the same weights for `epochs` epochs:
//!
//! ```toml
//! [metagraph]
//! stakes = "sn15_2025-01-23/stakes.csv"   # columns `uid`, `stake_tao` (uids 0..n, once each)
//! weights = "sn15_2025-01-23/weights.csv" # columns `validator_uid`, `miner_uid`, `weight`
//! epochs = 20                             # default 1
//! ```
//!
//! Other columns are ignored; pairs not listed weigh 0. A (validator, miner) pair given twice, a
//! uid outside the stakes file, or a negative or non-finite number is an error naming the file,
//! the line and the column.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::csv::CsvTable;
use crate::model::yuma::{BondStorage, LiquidAlpha, YumaParams, YumaSubnet, YumaVersion};
use crate::{Error, Result};

/// Most epochs a `[metagraph]` table may replay.
pub const METAGRAPH_EPOCHS_MAX: i64 = 10_000;

/// A parsed and validated Yuma scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct YumaScenario {
    /// The subnet's Yuma parameters.
    pub params: YumaParams,
    /// Stake per uid (any non-negative scale); its length is the number of uids.
    pub stakes: Vec<f64>,
    /// The weight matrix of each epoch, in order.
    pub epochs: Vec<ScenarioEpoch>,
}

/// One weight matrix of a scenario, set for one or more consecutive epochs.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioEpoch {
    /// Row `i` = the weights uid `i` sets over all uids; missing rows set no weights.
    pub weights: Vec<Vec<f64>>,
    /// Consecutive epochs with these weights: 1 for an `[[epoch]]` table, a metagraph's `epochs`.
    pub repeat: usize,
}

/// The outputs of one replayed epoch (the JSON object `taosim yuma --format json` prints).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochReport {
    /// Epoch index, from 0.
    pub epoch: usize,
    /// Consensus per uid.
    pub consensus: Vec<f64>,
    /// Incentive per uid (sums to 1, or all 0).
    pub incentive: Vec<f64>,
    /// Dividends per uid (sums to 1, or all 0).
    pub dividends: Vec<f64>,
    /// Validator trust per uid.
    pub validator_trust: Vec<f64>,
    /// Stored bonds after the epoch, `n × n` (proportions u16/65535 under chain storage).
    pub bonds: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    version: Option<String>,
    kappa: Option<f64>,
    bonds_moving_average: Option<f64>,
    bonds_penalty: Option<f64>,
    max_validators: Option<i64>,
    bond_storage: Option<String>,
    stakes: Option<Vec<f64>>,
    liquid_alpha: Option<RawLiquidAlpha>,
    epoch: Option<Vec<RawEpoch>>,
    metagraph: Option<RawMetagraph>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetagraph {
    stakes: String,
    weights: String,
    epochs: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLiquidAlpha {
    enabled: Option<bool>,
    alpha_low: Option<f64>,
    alpha_high: Option<f64>,
    steepness: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEpoch {
    weights: Vec<Vec<f64>>,
}

fn out_of_range(key: &str, value: impl ToString, allowed: &str) -> Error {
    Error::OutOfRange {
        key: key.to_string(),
        value: value.to_string(),
        allowed: allowed.to_string(),
    }
}

fn unit_interval(key: &str, value: Option<f64>, default: f64) -> Result<f64> {
    let x = value.unwrap_or(default);
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(out_of_range(key, x, "must be a number in [0, 1]"))
    }
}

/// Parses and validates a scenario from TOML text; `dir` is the folder a `[metagraph]` table's
/// paths are relative to.
pub fn parse_scenario(text: &str, dir: &Path) -> Result<YumaScenario> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| Error::Parse(e.to_string()))?;
    let defaults = YumaParams::default();

    let version = match raw.version.as_deref() {
        None => defaults.version,
        Some("yuma2") => YumaVersion::Yuma2,
        Some("yuma3") => YumaVersion::Yuma3,
        Some(other) => {
            return Err(out_of_range(
                "version",
                format!("{other:?}"),
                "must be \"yuma2\" or \"yuma3\"",
            ));
        }
    };
    let bond_storage = match raw.bond_storage.as_deref() {
        None => defaults.bond_storage,
        Some("chain_u16") => BondStorage::ChainU16,
        Some("float") => BondStorage::Float,
        Some(other) => {
            return Err(out_of_range(
                "bond_storage",
                format!("{other:?}"),
                "must be \"chain_u16\" or \"float\"",
            ));
        }
    };
    let kappa = unit_interval("kappa", raw.kappa, defaults.kappa)?;
    let bonds_moving_average = unit_interval(
        "bonds_moving_average",
        raw.bonds_moving_average,
        defaults.bonds_moving_average,
    )?;
    let bonds_penalty = unit_interval("bonds_penalty", raw.bonds_penalty, defaults.bonds_penalty)?;
    let max_validators = match raw.max_validators {
        None => defaults.max_validators,
        Some(k) if k >= 1 && k <= i64::from(u32::MAX) => k as u32,
        Some(k) => return Err(out_of_range("max_validators", k, "must be an integer >= 1")),
    };

    let la_default = LiquidAlpha::default();
    let liquid_alpha = match raw.liquid_alpha {
        None => la_default,
        Some(la) => {
            let alpha_low =
                unit_interval("liquid_alpha.alpha_low", la.alpha_low, la_default.alpha_low)?;
            let alpha_high =
                unit_interval("liquid_alpha.alpha_high", la.alpha_high, la_default.alpha_high)?;
            if alpha_low > alpha_high {
                return Err(out_of_range(
                    "liquid_alpha.alpha_low",
                    alpha_low,
                    &format!("must not exceed liquid_alpha.alpha_high = {alpha_high}"),
                ));
            }
            let steepness = la.steepness.unwrap_or(la_default.steepness);
            if !steepness.is_finite() || steepness < 0.0 {
                return Err(out_of_range(
                    "liquid_alpha.steepness",
                    steepness,
                    "must be a finite number >= 0",
                ));
            }
            LiquidAlpha {
                enabled: la.enabled.unwrap_or(la_default.enabled),
                alpha_low,
                alpha_high,
                steepness,
            }
        }
    };

    let (stakes, epochs) = match (raw.metagraph, raw.stakes, raw.epoch) {
        (Some(metagraph), None, None) => load_metagraph(&metagraph, dir)?,
        (Some(_), _, _) => {
            return Err(Error::Shape {
                key: "metagraph".into(),
                message: "replaces `stakes` and `[[epoch]]`: give the table or the two keys".into(),
            });
        }
        (None, Some(stakes), Some(epoch)) => {
            check_inline(&stakes, &epoch)?;
            let epochs = epoch.into_iter().map(|e| ScenarioEpoch { weights: e.weights, repeat: 1 });
            (stakes, epochs.collect())
        }
        (None, None, _) => {
            return Err(Error::Shape {
                key: "stakes".into(),
                message: "is required (one stake per uid), unless a `[metagraph]` table is given"
                    .into(),
            });
        }
        (None, Some(_), None) => {
            return Err(Error::Shape {
                key: "epoch".into(),
                message: "needs at least one [[epoch]] table".into(),
            });
        }
    };

    Ok(YumaScenario {
        params: YumaParams {
            version,
            kappa,
            bonds_moving_average,
            bonds_penalty,
            max_validators,
            liquid_alpha,
            bond_storage,
        },
        stakes,
        epochs,
    })
}

/// Checks inline `stakes` and `[[epoch]]` tables: at least one uid and one epoch, stakes and
/// weights finite and non-negative, at most `n` rows of `n` entries.
fn check_inline(stakes: &[f64], epoch: &[RawEpoch]) -> Result<()> {
    let n = stakes.len();
    if n == 0 {
        return Err(Error::Shape {
            key: "stakes".into(),
            message: "needs at least one uid".into(),
        });
    }
    for (i, &s) in stakes.iter().enumerate() {
        if !s.is_finite() || s < 0.0 {
            return Err(out_of_range(&format!("stakes[{i}]"), s, "must be a finite number >= 0"));
        }
    }
    if epoch.is_empty() {
        return Err(Error::Shape {
            key: "epoch".into(),
            message: "needs at least one [[epoch]] table".into(),
        });
    }
    for (e, epoch) in epoch.iter().enumerate() {
        if epoch.weights.len() > n {
            return Err(Error::Shape {
                key: format!("epoch[{e}].weights"),
                message: format!("has {} rows, at most {n} (one per uid)", epoch.weights.len()),
            });
        }
        for (i, row) in epoch.weights.iter().enumerate() {
            let key = format!("epoch[{e}].weights[{i}]");
            if row.len() != n {
                return Err(Error::Shape {
                    key,
                    message: format!("has {} entries, expected {n} (one per uid)", row.len()),
                });
            }
            for (j, &w) in row.iter().enumerate() {
                if !w.is_finite() || w < 0.0 {
                    return Err(out_of_range(
                        &format!("{key}[{j}]"),
                        w,
                        "must be a finite number >= 0",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Reads a `[metagraph]` table's stakes and weights files (module docs): the stakes, and the one
/// weight matrix set for `epochs` epochs.
fn load_metagraph(raw: &RawMetagraph, dir: &Path) -> Result<(Vec<f64>, Vec<ScenarioEpoch>)> {
    let repeat = match raw.epochs {
        None => 1,
        Some(k) if (1..=METAGRAPH_EPOCHS_MAX).contains(&k) => k as usize,
        Some(k) => {
            let allowed = format!("must be an integer in 1..={METAGRAPH_EPOCHS_MAX}");
            return Err(out_of_range("metagraph.epochs", k, &allowed));
        }
    };
    let read = |key: &str, name: &str| {
        let path = dir.join(name);
        let file = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((file, text)),
            Err(e) => Err(Error::Parse(format!("`{key}` = {name:?}: cannot read {file}: {e}"))),
        }
    };

    let (file, text) = read("metagraph.stakes", &raw.stakes)?;
    let table = CsvTable::parse(&file, &text, "uid,stake_tao")?;
    let (uid_col, stake_col) = (table.required("uid")?, table.required("stake_tao")?);
    let n = table.rows().count();
    if n == 0 {
        return Err(Error::Parse(format!("{file}: no uid rows after the header")));
    }
    let mut stakes = vec![0.0; n];
    let mut line_of = vec![0; n];
    for row in table.rows() {
        let uid = row.integer(uid_col, "uid")? as usize;
        if uid >= n {
            return Err(row.error("uid", format!("uid {uid} outside 0..{n} (one row per uid)")));
        }
        if line_of[uid] != 0 {
            return Err(row.error("uid", format!("uid {uid} repeats line {}", line_of[uid])));
        }
        line_of[uid] = row.line;
        let stake = row.number(stake_col, "stake_tao")?;
        stakes[uid] = row.check(stake >= 0.0, "stake_tao", stake, "a negative stake")?;
    }

    let (file, text) = read("metagraph.weights", &raw.weights)?;
    let table = CsvTable::parse(&file, &text, "validator_uid,miner_uid,weight")?;
    let validator_col = table.required("validator_uid")?;
    let miner_col = table.required("miner_uid")?;
    let weight_col = table.required("weight")?;
    // Rows up to the highest weight-setting uid; `line_of` catches a pair given twice.
    let mut weights: Vec<Vec<f64>> = Vec::new();
    let mut line_of: Vec<Vec<usize>> = Vec::new();
    for row in table.rows() {
        let uid = |col, name| {
            let uid = row.integer(col, name)? as usize;
            if uid < n {
                Ok(uid)
            } else {
                Err(row.error(name, format!("uid {uid} is not in the stakes file (uids 0..{n})")))
            }
        };
        let (i, j) = (uid(validator_col, "validator_uid")?, uid(miner_col, "miner_uid")?);
        let weight = row.number(weight_col, "weight")?;
        let weight = row.check(weight >= 0.0, "weight", weight, "a negative weight")?;
        if weights.len() <= i {
            weights.resize(i + 1, vec![0.0; n]);
            line_of.resize(i + 1, vec![0; n]);
        }
        if line_of[i][j] != 0 {
            let message = format!("the pair ({i}, {j}) repeats line {}", line_of[i][j]);
            return Err(row.error("miner_uid", message));
        }
        line_of[i][j] = row.line;
        weights[i][j] = weight;
    }
    Ok((stakes, vec![ScenarioEpoch { weights, repeat }]))
}

impl YumaScenario {
    /// Number of uids.
    pub fn n(&self) -> usize {
        self.stakes.len()
    }

    /// Replays every epoch in `f64`, handing each epoch's outputs to `each` as soon as they are
    /// computed, so memory stays that of one epoch however many are replayed (a metagraph's
    /// `n × n` bonds are 0.5 MB an epoch at 256 uids). Stops at the first error `each` returns.
    pub fn replay_each<E>(
        &self,
        mut each: impl FnMut(EpochReport) -> core::result::Result<(), E>,
    ) -> core::result::Result<(), E> {
        let n = self.n();
        let mut subnet = YumaSubnet::<f64>::new(self.params, n, n);
        let mut weights = vec![0.0; n * n];
        let mut epoch_index = 0;
        for epoch in &self.epochs {
            weights.iter_mut().for_each(|w| *w = 0.0);
            for (i, row) in epoch.weights.iter().enumerate() {
                weights[i * n..(i + 1) * n].copy_from_slice(row);
            }
            for _ in 0..epoch.repeat {
                subnet.epoch(&self.stakes, &weights);
                let work = &subnet.work;
                each(EpochReport {
                    epoch: epoch_index,
                    consensus: work.consensus.clone(),
                    incentive: work.incentive.clone(),
                    dividends: work.dividends.clone(),
                    validator_trust: work.validator_trust.clone(),
                    bonds: subnet.bonds.chunks(n).map(<[f64]>::to_vec).collect(),
                })?;
                epoch_index += 1;
            }
        }
        Ok(())
    }

    /// Every epoch's outputs ([`Self::replay_each`], collected).
    pub fn replay(&self) -> Vec<EpochReport> {
        let mut reports = Vec::with_capacity(self.epochs.iter().map(|e| e.repeat).sum());
        let done: core::result::Result<(), core::convert::Infallible> =
            self.replay_each(|report| {
                reports.push(report);
                Ok(())
            });
        let Ok(()) = done;
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "stakes = [1.0, 1.0]\n[[epoch]]\nweights = []\n";

    /// An inline scenario (no files).
    fn parse(text: &str) -> Result<YumaScenario> {
        parse_scenario(text, Path::new("."))
    }

    #[test]
    fn defaults_are_the_chains() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.params, YumaParams::default());
        assert_eq!(s.n(), 2);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse(&format!("kappa = 2.0\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("`kappa`"), "{e}");
        let e = parse(&format!("colour = 1\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = parse("stakes = [1.0, 1.0]\n[[epoch]]\nweights = [[1.0]]\n").unwrap_err();
        assert!(e.to_string().contains("epoch[0].weights[0]"), "{e}");
        let e = parse(&format!("version = \"yuma9\"\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("`version`"), "{e}");
        let e = parse(&format!("max_validators = 0\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("`max_validators`"), "{e}");
        let e = parse("stakes = [1.0, -1.0]\n[[epoch]]\nweights = []\n").unwrap_err();
        assert!(e.to_string().contains("`stakes[1]`"), "{e}");
        let e = parse("[[epoch]]\nweights = []\n").unwrap_err();
        assert!(e.to_string().contains("`stakes`"), "{e}");
        let e = parse("stakes = [1.0]\n").unwrap_err();
        assert!(e.to_string().contains("`epoch`"), "{e}");
    }

    /// A folder under the system's temp dir holding `files`, removed when dropped.
    struct Folder(std::path::PathBuf);

    impl Folder {
        fn with(name: &str, files: &[(&str, &str)]) -> Self {
            let dir = std::env::temp_dir().join(format!("taosim-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for (file, text) in files {
                std::fs::write(dir.join(file), text).unwrap();
            }
            Self(dir)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const METAGRAPH: &str = "[metagraph]\nstakes = \"s.csv\"\nweights = \"w.csv\"\nepochs = 3\n";

    /// A metagraph becomes the inline scenario with the same stakes and weights, repeated: the
    /// uids in any row order, unlisted pairs 0, rows up to the highest weight-setting uid.
    #[test]
    fn a_metagraph_is_the_inline_scenario_it_lists() {
        let folder = Folder::with(
            "metagraph-ok",
            &[
                ("s.csv", "uid,hotkey,stake_tao\n2,c,0\n0,a,8.5\n1,\"b, quoted\",1.5\n"),
                ("w.csv", "validator_uid,miner_uid,weight\n1,2,0.25\n0,2,1\n1,0,0.75\n"),
            ],
        );
        let from_files = parse_scenario(METAGRAPH, &folder.0).unwrap();
        let inline = parse(
            "stakes = [8.5, 1.5, 0.0]\n[[epoch]]\nweights = [[0, 0, 1], [0.75, 0, 0.25]]\n\
             [[epoch]]\nweights = [[0, 0, 1], [0.75, 0, 0.25]]\n\
             [[epoch]]\nweights = [[0, 0, 1], [0.75, 0, 0.25]]\n",
        )
        .unwrap();
        assert_eq!(from_files.stakes, inline.stakes);
        assert_eq!(from_files.epochs.len(), 1);
        assert_eq!(from_files.epochs[0].repeat, 3);
        assert_eq!(from_files.epochs[0].weights, inline.epochs[0].weights);
        let (a, b) = (from_files.replay(), inline.replay());
        assert_eq!(a.len(), 3);
        assert_eq!(a, b);
    }

    /// Bad metagraph input is refused naming the key, or the file, line and column.
    #[test]
    fn metagraph_errors_name_the_key_or_the_cell() {
        let stakes = "uid,stake_tao\n0,1\n1,2\n";
        let weights = "validator_uid,miner_uid,weight\n0,1,1\n";
        let cases: [(&str, &str, &str, &[&str]); 8] = [
            (
                METAGRAPH,
                "uid,stake_tao\n0,1\n0,2\n",
                weights,
                &["s.csv", "line 3", "`uid`", "repeats line 2"],
            ),
            (METAGRAPH, "uid,stake_tao\n0,1\n5,2\n", weights, &["line 3", "`uid`", "outside 0..2"]),
            (
                METAGRAPH,
                "uid,stake_tao\n0,1\n1,-2\n",
                weights,
                &["line 3", "`stake_tao`", "negative"],
            ),
            (
                METAGRAPH,
                "uid,stake\n0,1\n",
                weights,
                &["s.csv", "missing required column `stake_tao`"],
            ),
            (
                METAGRAPH,
                stakes,
                "validator_uid,miner_uid,weight\n0,1,1\n0,1,2\n",
                &["w.csv", "line 3", "repeats line 2"],
            ),
            (
                METAGRAPH,
                stakes,
                "validator_uid,miner_uid,weight\n0,2,1\n",
                &["w.csv", "`miner_uid`", "not in the stakes file"],
            ),
            (
                METAGRAPH,
                stakes,
                "validator_uid,miner_uid,weight\n0,1,nan\n",
                &["`weight`", "not a finite number"],
            ),
            (
                "[metagraph]\nstakes = \"s.csv\"\nweights = \"w.csv\"\nepochs = 0\n",
                stakes,
                weights,
                &["`metagraph.epochs` = 0", "1..=10000"],
            ),
        ];
        for (k, (scenario, stakes, weights, wanted)) in cases.iter().enumerate() {
            let folder = Folder::with(
                &format!("metagraph-bad-{k}"),
                &[("s.csv", stakes), ("w.csv", weights)],
            );
            let e = parse_scenario(scenario, &folder.0).unwrap_err().to_string();
            for w in *wanted {
                assert!(e.contains(w), "case {k}: {w:?} not in {e}");
            }
        }
        let e = parse_scenario(METAGRAPH, Path::new("/nonexistent")).unwrap_err().to_string();
        assert!(e.contains("`metagraph.stakes` = \"s.csv\": cannot read"), "{e}");
        let e = parse(&format!("stakes = [1.0]\n{METAGRAPH}")).unwrap_err().to_string();
        assert!(e.contains("`metagraph`"), "{e}");
    }
}
