//! `taosim yuma` end to end: the four Yuma3 scenarios of chain-vectors §B (V8) replayed by the
//! built binary, and bad scenarios rejected with exit code 2 naming the key.

mod common;

use common::taosim;

use std::path::PathBuf;

fn config(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../configs/yuma/{name}.toml"))
}

/// Replays `name` with `--format json` and checks the dividends of A, B, C in the six epochs after
/// the setup epoch (±1e-3, the chain test's tolerance).
fn check_dividends(name: &str, expected: [[f64; 3]; 6]) {
    let path = config(name);
    let out = taosim(&["yuma", path.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let epochs = json.as_array().expect("array of epochs");
    assert_eq!(epochs.len(), 7, "{name}: setup epoch + 6");
    let n = epochs[0]["consensus"].as_array().unwrap().len();
    for (k, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"].as_u64(), Some(k as u64));
        for key in ["consensus", "incentive", "dividends", "validator_trust"] {
            assert_eq!(e[key].as_array().unwrap().len(), n, "{name} {key}");
        }
        let bonds = e["bonds"].as_array().unwrap();
        assert_eq!(bonds.len(), n, "{name}: bonds rows");
        assert!(bonds.iter().all(|r| r.as_array().unwrap().len() == n));
    }
    for (k, want) in expected.iter().enumerate() {
        let dividends = epochs[k + 1]["dividends"].as_array().unwrap();
        for (v, &w) in want.iter().enumerate() {
            let got = dividends[v].as_f64().unwrap();
            assert!((got - w).abs() <= 1e-3, "{name} epoch {k} validator {v}: {got} vs {w}");
        }
    }
}

/// The four V8 scenarios of `configs/yuma/`, each checked against the published dividends in
/// `tests/fixtures/yuma3_dividends.toml` (sources: subtensor `tests/epoch.rs::test_yuma_3_*`,
/// main 14bc6f9f9).
#[test]
fn published_yuma3_scenarios() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/yuma3_dividends.toml");
    let table: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    assert_eq!(table.len(), 4, "four published scenarios");
    for (name, entry) in &table {
        let rows = entry["dividends"].as_array().expect("dividends");
        let mut expected = [[0.0; 3]; 6];
        for (k, row) in rows.iter().enumerate() {
            for (v, x) in row.as_array().expect("row").iter().enumerate() {
                expected[k][v] = x.as_float().expect("number");
            }
        }
        check_dividends(name, expected);
    }
}

#[test]
fn table_format_exits_zero() {
    let path = config("kappa_moves_first");
    let out = taosim(&["yuma", path.to_str().unwrap(), "--format", "table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("epoch 6") && text.contains("dividends"), "{text}");
}

/// Writes `body` to a scratch scenario file and checks that `taosim yuma` rejects it with exit
/// code 2, naming `key` and the file in stderr.
fn assert_rejected(file: &str, body: &str, key: &str) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file);
    std::fs::write(&path, body).unwrap();
    let out = taosim(&["yuma", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
    assert!(stderr.contains(key), "{file}: stderr does not name `{key}`: {stderr}");
    assert!(stderr.contains(file), "{file}: stderr does not name the file: {stderr}");
}

#[test]
fn bad_scenarios_exit_2_naming_the_key() {
    let ok_tail = "stakes = [1.0, 1.0, 0.0]\n[[epoch]]\nweights = [[0, 0, 1]]\n";
    assert_rejected("yuma_unknown_key.toml", &format!("kappa_typo = 0.5\n{ok_tail}"), "kappa_typo");
    assert_rejected("yuma_kappa_2.toml", &format!("kappa = 2\n{ok_tail}"), "kappa");
    assert_rejected(
        "yuma_short_row.toml",
        "stakes = [1.0, 1.0, 0.0]\n[[epoch]]\nweights = [[0, 1]]\n",
        "epoch[0].weights[0]",
    );
    assert_rejected(
        "yuma_metagraph_missing.toml",
        "[metagraph]\nstakes = \"no_such_stakes.csv\"\nweights = \"w.csv\"\n",
        "`metagraph.stakes` = \"no_such_stakes.csv\": cannot read",
    );
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("yuma_no_such_file.toml");
    let out = taosim(&["yuma", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("yuma_no_such_file.toml"));
}

/// The folder of the SN15 metagraph's CSV files (`configs/yuma/sn15_2025-01-23.toml` names them).
fn sn15_dir() -> PathBuf {
    config("sn15_2025-01-23").with_extension("")
}

/// The SN15 metagraph's files (`configs/yuma/sn15_2025-01-23/`), read here with a plain split:
/// stake per uid and the dense weight matrix `[n][n]`.
fn sn15_inputs() -> (Vec<f64>, Vec<Vec<f64>>) {
    let dir = sn15_dir();
    let rows = |file: &str| -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
    };
    let stakes_rows = rows("stakes.csv");
    let n = stakes_rows.len();
    let mut stakes = vec![0.0; n];
    for r in &stakes_rows {
        stakes[r[0].parse::<usize>().unwrap()] = r[2].parse().unwrap();
    }
    let mut weights = vec![vec![0.0; n]; n];
    for r in rows("weights.csv") {
        let (i, j): (usize, usize) = (r[0].parse().unwrap(), r[1].parse().unwrap());
        weights[i][j] = r[2].parse().unwrap();
    }
    (stakes, weights)
}

/// One epoch's outputs of [`yuma2_reference`].
struct ReferenceEpoch {
    consensus: Vec<f64>,
    incentive: Vec<f64>,
    dividends: Vec<f64>,
    validator_trust: Vec<f64>,
}

/// `x / Σx`, or `x` unchanged when the sum is 0.
fn normalized(x: &[f64]) -> Vec<f64> {
    let sum: f64 = x.iter().sum();
    x.iter().map(|&v| if sum > 0.0 { v / sum } else { v }).collect()
}

/// Each column of `m` (`[n][n]`) divided by its sum (zero columns stay zero).
fn col_normalized(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = m.len();
    let sums: Vec<f64> = (0..n).map(|j| m.iter().map(|row| row[j]).sum()).collect();
    m.iter()
        .map(|row| (0..n).map(|j| if sums[j] > 0.0 { row[j] / sums[j] } else { 0.0 }).collect())
        .collect()
}

/// Yuma2 (original bonds) at the chain's defaults, written from chain.md §5.2-§5.4 in plain f64
/// with dense matrices, independently of `taosim_core::model::yuma`: permits from the previous
/// epoch (top 64 by stake), weights stored as u16 max-upscaled, the diagonal dropped, rows
/// normalised; consensus by the sorted definition (the smallest score whose inclusive stake sum
/// exceeds `s_sum − κ`); clip, trust, incentive; bonds `B' = col_normalize(α·ΔB + (1 − α)·B)`
/// with `α = 0.1`, stored column max-upscaled as truncated u16; dividends `normalize(B'ᵀ·I)`.
fn yuma2_reference(stake_raw: &[f64], raw: &[Vec<f64>], epochs: usize) -> Vec<ReferenceEpoch> {
    let n = stake_raw.len();
    let kappa = 32_767.0 / 65_535.0;
    let alpha = 1.0 - 0.9;
    let stake = normalized(stake_raw);
    // Top 64 nonzero stakes (no ties in this metagraph).
    let mut order: Vec<usize> = (0..n).filter(|&i| stake[i] > 0.0).collect();
    order.sort_by(|&a, &b| stake[b].total_cmp(&stake[a]));
    let mut next_permits = vec![false; n];
    order.iter().take(64).for_each(|&i| next_permits[i] = true);
    let mut permits = vec![false; n];
    let mut stored_bonds = vec![vec![0.0; n]; n];
    let mut out = Vec::new();
    for _ in 0..epochs {
        let active = normalized(
            &(0..n).map(|i| if permits[i] { stake[i] } else { 0.0 }).collect::<Vec<_>>(),
        );
        let weights: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let row = &raw[i];
                let off_diagonal: f64 = (0..n).filter(|&j| j != i).map(|j| row[j]).sum();
                if !permits[i] || off_diagonal <= 0.0 {
                    return vec![0.0; n];
                }
                let max = row.iter().cloned().fold(0.0, f64::max);
                let stored: Vec<f64> = (0..n)
                    .map(|j| if j == i { 0.0 } else { (row[j] / max * 65_535.0).round() })
                    .collect();
                normalized(&stored)
            })
            .collect();
        let voters: Vec<usize> = (0..n).filter(|&i| active[i] > 0.0).collect();
        let s_sum: f64 = voters.iter().map(|&i| active[i]).sum();
        let consensus: Vec<f64> = (0..n)
            .map(|j| {
                let mut column: Vec<(f64, f64)> =
                    voters.iter().map(|&i| (weights[i][j], active[i] / s_sum)).collect();
                column.sort_by(|a, b| a.0.total_cmp(&b.0));
                let minority = column.iter().map(|c| c.1).sum::<f64>() - kappa;
                let mut cumulative = 0.0;
                column
                    .iter()
                    .find(|c| {
                        cumulative += c.1;
                        cumulative > minority
                    })
                    .map_or(0.0, |c| c.0)
            })
            .collect();
        let clipped: Vec<Vec<f64>> =
            weights.iter().map(|row| (0..n).map(|j| row[j].min(consensus[j])).collect()).collect();
        let validator_trust: Vec<f64> = clipped.iter().map(|row| row.iter().sum()).collect();
        let ranks: Vec<f64> =
            (0..n).map(|j| (0..n).map(|i| active[i] * clipped[i][j]).sum()).collect();
        let incentive = normalized(&ranks);
        let delta = col_normalized(
            &(0..n)
                .map(|i| clipped[i].iter().map(|&w| w * active[i]).collect())
                .collect::<Vec<_>>(),
        );
        let old = col_normalized(&stored_bonds);
        let ema: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| alpha * delta[i][j] + (1.0 - alpha) * old[i][j]).collect())
            .collect();
        let bonds = col_normalized(&ema);
        let dividends = normalized(
            &(0..n).map(|i| (0..n).map(|j| bonds[i][j] * incentive[j]).sum()).collect::<Vec<_>>(),
        );
        let col_max: Vec<f64> =
            (0..n).map(|j| bonds.iter().map(|row| row[j]).fold(0.0, f64::max)).collect();
        stored_bonds = (0..n)
            .map(|i| {
                let keep = next_permits[i];
                (0..n)
                    .map(|j| {
                        if keep && col_max[j] > 0.0 {
                            (bonds[i][j] / col_max[j] * 65_535.0).trunc()
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        permits = next_permits.clone();
        out.push(ReferenceEpoch { consensus, incentive, dividends, validator_trust });
    }
    out
}

/// A real metagraph through the binary: `configs/yuma/sn15_2025-01-23.toml` (256 uids, 21
/// validators setting weights) replayed for 10 epochs equals the plain reference
/// ([`yuma2_reference`]) within 1e-7 in consensus, incentive, validator trust and dividends: the
/// engine runs the chain's I32F32 grid and the reference plain f64 (the largest difference seen
/// is 2.5e-8). Storing bonds rounded instead of truncated moves the dividends by 2e-6, so the
/// check sees the storage rule; the weights' u16 rounding moves nothing by more than 2.5e-8. The
/// weights and stakes do not change, so from epoch 2 on the bonds are the EMA of one
/// column-normalised matrix, i.e. that matrix, and the outputs repeat.
#[test]
fn sn15_metagraph_replay_matches_a_plain_reference() {
    let path = config("sn15_2025-01-23");
    let out = taosim(&["yuma", path.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let epochs = json.as_array().expect("array of epochs");
    let (stakes, weights) = sn15_inputs();
    assert_eq!(stakes.len(), 256);
    let reference = yuma2_reference(&stakes, &weights, epochs.len());
    assert_eq!(epochs.len(), 10);
    let column = |e: &serde_json::Value, key: &str| -> Vec<f64> {
        e[key].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    let mut paid_miners = 0;
    for (k, (e, want)) in epochs.iter().zip(&reference).enumerate() {
        for (key, want) in [
            ("consensus", &want.consensus),
            ("incentive", &want.incentive),
            ("validator_trust", &want.validator_trust),
            ("dividends", &want.dividends),
        ] {
            for (uid, (got, want)) in column(e, key).iter().zip(want).enumerate() {
                assert!((got - want).abs() <= 1e-7, "epoch {k} {key}[{uid}]: {got} vs {want}");
            }
        }
        paid_miners = column(e, "incentive").iter().filter(|&&x| x > 0.0).count();
    }
    // The reference is not vacuous: epoch 0 pays nothing (no permits yet), later ones pay many
    // miners and the validators.
    assert!(reference[0].incentive.iter().all(|&x| x == 0.0));
    assert!(paid_miners > 20, "{paid_miners} miners with incentive");
    let last = reference.last().unwrap();
    assert!((last.dividends.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

/// The engine's float bond storage (what the simulator's CPU and GPU epochs run) tracks the
/// chain's u16 storage on the real SN15 metagraph: dividends within 1e-4 (1.1e-5 seen, from the
/// u16 bonds), consensus, incentive and validator trust within 1e-7 (2e-8 seen).
#[test]
fn sn15_float_storage_tracks_chain_storage() {
    let dir = sn15_dir();
    let float = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sn15_float.toml");
    let file = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        &float,
        format!(
            "version = \"yuma2\"\nbond_storage = \"float\"\n[metagraph]\nstakes = {:?}\n\
             weights = {:?}\nepochs = 10\n",
            file("stakes.csv"),
            file("weights.csv")
        ),
    )
    .unwrap();
    let replay = |path: &std::path::Path| -> serde_json::Value {
        let out = taosim(&["yuma", path.to_str().unwrap(), "--format", "json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON output")
    };
    let (float, chain) = (replay(&float), replay(&config("sn15_2025-01-23")));
    let (float, chain) = (float.as_array().unwrap(), chain.as_array().unwrap());
    assert_eq!(float.len(), chain.len());
    for (k, (f, c)) in float.iter().zip(chain).enumerate() {
        for (key, tolerance) in [
            ("consensus", 1e-7),
            ("incentive", 1e-7),
            ("validator_trust", 1e-7),
            ("dividends", 1e-4),
        ] {
            let (f, c) = (f[key].as_array().unwrap(), c[key].as_array().unwrap());
            for (uid, (a, b)) in f.iter().zip(c).enumerate() {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                assert!((a - b).abs() <= tolerance, "epoch {k} {key}[{uid}]: float {a}, chain {b}");
            }
        }
    }
}

/// Output that cannot be written: a reader that stops early (`taosim yuma ... | head`) ends the
/// replay quietly with exit 0, as the SN15 replay's 7 MB of JSON outlasts the pipe's buffer; a
/// full disk (`/dev/full`) is a failure, exit 1, naming the cause.
#[test]
fn output_errors_end_the_replay_by_their_kind() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let path = config("sn15_2025-01-23");
    let replay = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_taosim"));
        command.args(["yuma", path.to_str().unwrap(), "--format", "json"]).stderr(Stdio::piped());
        command
    };
    let mut child = replay().stdout(Stdio::piped()).spawn().expect("spawn taosim");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0_u8; 2];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"[\n");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let out = replay().stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}
