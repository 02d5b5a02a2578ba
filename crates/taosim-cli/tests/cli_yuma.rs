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
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("yuma_no_such_file.toml");
    let out = taosim(&["yuma", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("yuma_no_such_file.toml"));
}
