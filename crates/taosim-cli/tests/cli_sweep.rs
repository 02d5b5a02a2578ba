//! `taosim sweep` end to end (issue 5, "Must show" 1): a sweep point's rows equal those of a
//! single `taosim run` of that point (its keys set, `--point-id` its id), every swept key is a
//! summary column, and bad sweeps fail cleanly naming the key.

mod common;

use common::{repo, taosim};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_ipc::reader::FileReader;

fn scratch(name: &str) -> PathBuf {
    common::scratch("sweep", name)
}

fn ok(args: &[&str]) {
    let o = taosim(args);
    assert!(o.status.success(), "taosim {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

/// A 3-path, 6-day run of the bundled snapshot (batches of 2 paths: full and partial batches).
fn base_config() -> String {
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    format!(
        "[run]\npaths = 3\ndays = 6.0\nseed = 7\nbatch_paths = 2\n[init]\nsnapshot = \"{}\"\n[output]\nevery_days = 2.0\ntrace_paths = 1\n",
        snapshot.display()
    )
}

fn read(path: &Path) -> Vec<RecordBatch> {
    let reader = FileReader::try_new(File::open(path).unwrap(), None).unwrap();
    reader.map(|b| b.unwrap()).collect()
}

/// Every row of `file` whose `point` is `point`, one single-row array per column.
fn rows_of_point(file: &Path, point: u32) -> Vec<Vec<ArrayRef>> {
    let mut rows = Vec::new();
    for batch in read(file) {
        let ids = batch.column_by_name("point").unwrap();
        let ids = ids.as_any().downcast_ref::<UInt32Array>().unwrap();
        for r in 0..batch.num_rows() {
            if ids.value(r) == point {
                rows.push(batch.columns().iter().map(|c| c.slice(r, 1)).collect());
            }
        }
    }
    rows
}

fn same_rows(a: &[Vec<ArrayRef>], b: &[Vec<ArrayRef>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.iter().zip(y).all(|(p, q)| p.as_ref() == q.as_ref()))
}

/// Sweep point 1 of a 2-point grid, and `taosim run` of the same config with point 1's key set
/// and `--point-id 1`, give the same subnets, events and traces rows and the same estimates. The
/// same run as point 0 (the default id) draws other random numbers and differs, so the comparison
/// can fail.
#[test]
fn a_sweep_point_equals_a_single_run_of_that_point() {
    let dir = scratch("reproduce");
    let sweep = dir.join("sweep.toml");
    std::fs::write(
        &sweep,
        format!(
            "{}[sweep]\ndesign = \"grid\"\npaths = 3\n[sweep.keys]\n\"behaviour.panic_rate_per_day\" = [0.0, 0.2]\n",
            base_config()
        ),
    )
    .unwrap();
    let single = dir.join("single.toml");
    std::fs::write(&single, format!("{}[behaviour]\npanic_rate_per_day = 0.2\n", base_config()))
        .unwrap();
    let (s_out, r_out, r0_out) = (dir.join("sweep"), dir.join("run"), dir.join("run0"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    ok(&["sweep", &s(&sweep), "--seed", "11", "--out", &s(&s_out)]);
    ok(&["run", &s(&single), "--seed", "11", "--point-id", "1", "--out", &s(&r_out)]);
    ok(&["run", &s(&single), "--seed", "11", "--out", &s(&r0_out)]);

    for file in ["subnets.arrow", "events.arrow", "traces.arrow"] {
        let from_sweep = rows_of_point(&s_out.join(file), 1);
        let from_run = rows_of_point(&r_out.join(file), 1);
        assert!(!from_sweep.is_empty(), "{file}: no rows for point 1");
        assert!(same_rows(&from_sweep, &from_run), "{file}: sweep point 1 differs from the run");
    }
    assert!(rows_of_point(&r_out.join("subnets.arrow"), 0).is_empty());
    let as_point0 = rows_of_point(&r0_out.join("subnets.arrow"), 0);
    let sweep1 = rows_of_point(&s_out.join("subnets.arrow"), 1);
    let values_only = |rows: &[Vec<ArrayRef>]| -> Vec<Vec<ArrayRef>> {
        rows.iter().map(|r| r[1..].to_vec()).collect()
    };
    assert!(
        !same_rows(&values_only(&as_point0), &values_only(&sweep1)),
        "point ids key the random numbers: id 0 must draw differently from id 1"
    );

    // Summary: the sweep's row for point 1 has the run's estimates, plus the swept key column.
    let sweep_summary = &read(&s_out.join("summary.arrow"))[0];
    let run_summary = &read(&r_out.join("summary.arrow"))[0];
    assert_eq!(sweep_summary.num_rows(), 2);
    let key = sweep_summary.column_by_name("behaviour.panic_rate_per_day").expect("key column");
    let key = key.as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
    assert_eq!((key.value(0), key.value(1)), (0.0, 0.2));
    for field in run_summary.schema().fields() {
        let name = field.name();
        let a = sweep_summary.column_by_name(name).unwrap().slice(1, 1);
        let b = run_summary.column_by_name(name).unwrap().slice(0, 1);
        assert!(a.as_ref() == b.as_ref(), "summary column {name} differs");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s_out.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["sweep"]["design"], "grid");
    assert_eq!(manifest["sweep"]["points"], 2);
}

/// One bad sweep: exit 2, one line naming `must_name`, no output folder.
fn assert_bad_sweep(name: &str, sweep: &str, must_name: &[&str]) {
    let dir = scratch(name);
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, format!("{}{sweep}", base_config())).unwrap();
    let out = dir.join("out");
    let args = ["sweep", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()];
    common::assert_rejected(name, &args, &out, must_name);
}

#[test]
fn bad_sweeps_fail_with_one_line_naming_the_key() {
    assert_bad_sweep(
        "unknown-key",
        "[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"behaviour.panic_ratez\" = [0.1]\n",
        &["behaviour.panic_ratez", "unknown field"],
    );
    assert_bad_sweep(
        "zip-lengths",
        "[sweep]\ndesign = \"zip\"\n[sweep.keys]\n\"behaviour.miner_sell\" = [0.1, 0.2]\n\"chain.regime\" = [\"taoflow\"]\n",
        &["behaviour.miner_sell", "chain.regime", "one length"],
    );
    assert_bad_sweep(
        "out-of-range",
        "[sweep]\ndesign = \"lhs\"\npoints = 4\n[sweep.keys]\n\"behaviour.panic_drawdown\" = { min = 0.5, max = 3.0 }\n",
        &["behaviour.panic_drawdown", "point"],
    );
    assert_bad_sweep("no-sweep", "", &["no [sweep] table", "taosim run"]);
}

/// Every bundled sweep config (`configs/sweeps/`) plans and runs (1 path, 1 day per point), with
/// one summary row per design point.
#[test]
fn bundled_sweep_configs_run() {
    let dir = scratch("bundled");
    for entry in std::fs::read_dir(repo().join("configs/sweeps")).unwrap() {
        let config = entry.unwrap().path();
        let out = dir.join(config.file_stem().unwrap());
        ok(&[
            "sweep",
            config.to_str().unwrap(),
            "--paths",
            "1",
            "--days",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]);
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        let rows: usize = read(&out.join("summary.arrow")).iter().map(RecordBatch::num_rows).sum();
        assert_eq!(serde_json::json!(rows), manifest["sweep"]["points"], "{}", config.display());
    }
}
