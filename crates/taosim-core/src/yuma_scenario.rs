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

use serde::{Deserialize, Serialize};

use crate::model::yuma::{BondStorage, LiquidAlpha, YumaParams, YumaSubnet, YumaVersion};
use crate::{Error, Result};

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

/// One epoch of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioEpoch {
    /// Row `i` = the weights uid `i` sets over all uids; missing rows set no weights.
    pub weights: Vec<Vec<f64>>,
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
    stakes: Vec<f64>,
    liquid_alpha: Option<RawLiquidAlpha>,
    epoch: Vec<RawEpoch>,
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

/// Parses and validates a scenario from TOML text.
pub fn parse_scenario(text: &str) -> Result<YumaScenario> {
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

    let n = raw.stakes.len();
    if n == 0 {
        return Err(Error::Shape {
            key: "stakes".into(),
            message: "needs at least one uid".into(),
        });
    }
    for (i, &s) in raw.stakes.iter().enumerate() {
        if !s.is_finite() || s < 0.0 {
            return Err(out_of_range(&format!("stakes[{i}]"), s, "must be a finite number >= 0"));
        }
    }
    if raw.epoch.is_empty() {
        return Err(Error::Shape {
            key: "epoch".into(),
            message: "needs at least one [[epoch]] table".into(),
        });
    }
    for (e, epoch) in raw.epoch.iter().enumerate() {
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
        stakes: raw.stakes,
        epochs: raw.epoch.into_iter().map(|e| ScenarioEpoch { weights: e.weights }).collect(),
    })
}

impl YumaScenario {
    /// Number of uids.
    pub fn n(&self) -> usize {
        self.stakes.len()
    }

    /// Replays every epoch in `f64` and reports each epoch's outputs.
    pub fn replay(&self) -> Vec<EpochReport> {
        let n = self.n();
        let mut subnet = YumaSubnet::<f64>::new(self.params, n, n);
        let mut weights = vec![0.0; n * n];
        let mut reports = Vec::with_capacity(self.epochs.len());
        for (e, epoch) in self.epochs.iter().enumerate() {
            weights.iter_mut().for_each(|w| *w = 0.0);
            for (i, row) in epoch.weights.iter().enumerate() {
                weights[i * n..(i + 1) * n].copy_from_slice(row);
            }
            subnet.epoch(&self.stakes, &weights);
            let work = &subnet.work;
            reports.push(EpochReport {
                epoch: e,
                consensus: work.consensus.clone(),
                incentive: work.incentive.clone(),
                dividends: work.dividends.clone(),
                validator_trust: work.validator_trust.clone(),
                bonds: subnet.bonds.chunks(n).map(<[f64]>::to_vec).collect(),
            });
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "stakes = [1.0, 1.0]\n[[epoch]]\nweights = []\n";

    #[test]
    fn defaults_are_the_chains() {
        let s = parse_scenario(MINIMAL).unwrap();
        assert_eq!(s.params, YumaParams::default());
        assert_eq!(s.n(), 2);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse_scenario(&format!("kappa = 2.0\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("`kappa`"), "{e}");
        let e = parse_scenario(&format!("colour = 1\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = parse_scenario("stakes = [1.0, 1.0]\n[[epoch]]\nweights = [[1.0]]\n").unwrap_err();
        assert!(e.to_string().contains("epoch[0].weights[0]"), "{e}");
        let e = parse_scenario(&format!("version = \"yuma9\"\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("`version`"), "{e}");
        let e = parse_scenario(&format!("max_validators = 0\n{MINIMAL}")).unwrap_err();
        assert!(e.to_string().contains("`max_validators`"), "{e}");
        let e = parse_scenario("stakes = [1.0, -1.0]\n[[epoch]]\nweights = []\n").unwrap_err();
        assert!(e.to_string().contains("`stakes[1]`"), "{e}");
    }
}
