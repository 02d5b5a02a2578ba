//! `taosim run` end to end: the outputs pass the pyarrow check, bytes do not depend on threads
//! or batch size, and bad input fails cleanly (exit 2, one line naming the key or the file's
//! row and column, no output folder).

mod common;

use common::{repo, taosim};
use std::path::{Path, PathBuf};
use std::process::Command;
use taosim_core::simd::SimdLevel;

fn scratch(name: &str) -> PathBuf {
    common::scratch("run", name)
}

/// Runs `config` into `out` with extra flags; panics with stderr on failure.
fn run_ok(config: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["run", config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = taosim(&args);
    assert!(o.status.success(), "taosim {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn outputs_pass_the_pyarrow_check() {
    let dir = scratch("pyarrow");
    let out = dir.join("out");
    run_ok(&repo().join("configs/tests/small.toml"), &out, &[]);
    for f in ["summary.arrow", "subnets.arrow", "events.arrow", "traces.arrow", "manifest.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(!dir.join("out.incomplete").exists(), "the staging folder must be renamed away");
    check_with_pyarrow(&out, 6);
    // One path: `spirals_se` is NaN, as outputs.md says, and the check requires exactly that.
    let one = dir.join("one-path");
    run_ok(&repo().join("configs/tests/small.toml"), &one, &["--paths", "1", "--days", "2"]);
    check_with_pyarrow(&one, 1);
}

/// `tests/python/check_outputs.py` (every invariant of docs/outputs.md) passes on `out`.
fn check_with_pyarrow(out: &std::path::Path, paths: u32) {
    let check = Command::new("python3")
        .arg(repo().join("tests/python/check_outputs.py"))
        .arg(out)
        .args(["--paths", &paths.to_string()])
        .output()
        .expect("python3 runs (scripts/test.sh installs pyarrow)");
    assert!(
        check.status.success(),
        "check_outputs.py failed (is pyarrow installed? scripts/test.sh installs it):\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn bytes_do_not_depend_on_threads_or_batch_size() {
    let dir = scratch("bytes");
    let small = std::fs::read_to_string(repo().join("configs/tests/small.toml")).unwrap();
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    let base = small.replace("../snapshots/2026-04-11.csv", snapshot.to_str().unwrap());
    let batch1 = dir.join("batch1.toml");
    let batch4 = dir.join("batch4.toml");
    std::fs::write(&batch1, base.replace("batch_paths = 4", "batch_paths = 1")).unwrap();
    std::fs::write(&batch4, &base).unwrap();
    let runs = [
        (batch4.clone(), "1", dir.join("t1-b4")),
        (batch4, "2", dir.join("t2-b4")),
        (batch1, "2", dir.join("t2-b1")),
    ];
    for (config, threads, out) in &runs {
        run_ok(config, out, &["--threads", threads]);
    }
    for file in ["summary.arrow", "subnets.arrow", "events.arrow", "traces.arrow"] {
        let reference = std::fs::read(runs[0].2.join(file)).unwrap();
        assert!(reference.len() > 100, "{file} is too small to be a real table");
        for (_, threads, out) in &runs[1..] {
            let other = std::fs::read(out.join(file)).unwrap();
            assert!(
                reference == other,
                "{file} differs with {threads} threads in {}",
                out.display()
            );
        }
    }
}

/// The wide kernels (taosim-core `simd`: the Yuma weight noise and consensus; behaviour's, the
/// payouts' and the swaps' lanes and the moving price's series, which run with Yuma off) run at
/// the CPU's widest SIMD level; capping it with `TAOSIM_SIMD` must not change a byte of a Yuma-on
/// or a Yuma-off run.
#[test]
fn bytes_do_not_depend_on_the_simd_level() {
    let dir = scratch("simd");
    let small = std::fs::read_to_string(repo().join("configs/tests/small.toml")).unwrap();
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    let text = small.replace("../snapshots/2026-04-11.csv", snapshot.to_str().unwrap());
    let levels: Vec<SimdLevel> =
        SimdLevel::ALL.into_iter().filter(|level| level.is_available()).collect();
    if cfg!(target_arch = "x86_64") {
        assert!(levels.len() > 1, "no AVX2 on this x86-64 CPU: nothing to compare");
    }
    for (name, yuma) in
        [("yuma-on", "enabled = true\nweight_noise = 0.3"), ("yuma-off", "enabled = false")]
    {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, format!("{text}\n[yuma]\n{yuma}\n")).unwrap();
        let out = |level: SimdLevel| dir.join(format!("{name}-{}", level.name()));
        for &level in &levels {
            let o = Command::new(env!("CARGO_BIN_EXE_taosim"))
                .args(["run", config.to_str().unwrap(), "--out"])
                .arg(out(level))
                .env("TAOSIM_SIMD", level.name())
                .output()
                .unwrap();
            assert!(o.status.success(), "{name} {level}: {}", String::from_utf8_lossy(&o.stderr));
        }
        for file in ["summary.arrow", "subnets.arrow", "events.arrow", "traces.arrow"] {
            let reference = std::fs::read(out(levels[0]).join(file)).unwrap();
            for &level in &levels[1..] {
                let other = std::fs::read(out(level).join(file)).unwrap();
                assert!(reference == other, "{name}: {file} differs at SIMD level {level}");
            }
        }
    }
}

#[test]
fn an_unknown_simd_level_is_bad_input() {
    let dir = scratch("simd-bad");
    let out = dir.join("out");
    let config = repo().join("configs/tests/small.toml");
    let args = ["run", config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let o = Command::new(env!("CARGO_BIN_EXE_taosim"))
        .args(args)
        .env("TAOSIM_SIMD", "avx1024")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {stderr}");
    for needle in ["TAOSIM_SIMD", "`avx1024`", "baseline, avx2, avx512"] {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
    assert!(!out.exists(), "no output folder may be left");
}

/// `taosim run ... | true`: the reader is gone before the result table is printed. The outputs
/// are already in place, so the run ends with status 0 and no panic (before, `println!`
/// panicked: status 101); a full disk for stdout is a failure (status 1) naming the cause.
#[test]
fn a_closed_or_full_stdout_ends_a_run_by_its_kind() {
    use std::process::Stdio;
    let dir = scratch("stdout");
    let config = repo().join("configs/tests/small.toml");
    let run = |out: &Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_taosim"));
        command.args(["run", config.to_str().unwrap(), "--out"]).arg(out).stderr(Stdio::piped());
        command
    };
    let out = dir.join("closed");
    let mut child = run(&out).stdout(Stdio::piped()).spawn().expect("spawn taosim");
    drop(child.stdout.take());
    let finished = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(finished.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("manifest.json").is_file(), "the outputs are complete");

    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let finished = run(&dir.join("full")).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(finished.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to standard output"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

/// One bad input: the config text (and an optional snapshot), what stderr must name.
fn assert_bad_input(name: &str, config: &str, snapshot: Option<&str>, must_name: &[&str]) {
    let dir = scratch(name);
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, config).unwrap();
    if let Some(text) = snapshot {
        std::fs::write(dir.join("snap.csv"), text).unwrap();
    }
    let out = dir.join("out");
    let args = ["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()];
    common::assert_rejected(name, &args, &out, must_name);
}

#[test]
fn bad_input_fails_with_one_line_naming_the_problem() {
    let header = "netuid,name,price,tao_in,alpha_in,alpha_out,moving_price,registered_at_block,tempo,immunity_period,reg_cost_tao,subnet_volume";
    let good_row = "1,Apex,0.011118274,29628.4935,2665006.7118,2070591.3997,0.011290281,1497824,99,7200,0.001021,753178.773";
    let snap = |row: &str| format!("{header}\n{row}\n");
    let uses_snapshot = "[init]\nsnapshot = \"snap.csv\"\n[run]\npaths = 2\ndays = 1.0\n";
    assert_bad_input("unknown-key", "[run]\npathz = 3\n", None, &["run.pathz", "line 2"]);
    assert_bad_input(
        "out-of-range",
        "[behaviour]\npanic_drawdown = 1.5\n",
        None,
        &["behaviour.panic_drawdown", "(0, 1]"],
    );
    assert_bad_input(
        "bad-regime",
        "[chain]\nregime = \"flow\"\n",
        None,
        &["chain.regime", "taoflow"],
    );
    // The config is parsed from the file's tables merged (a point over the rest), so the
    // parser's positions are the merged text's: the error gives the key's place in the file.
    assert_bad_input(
        "unknown-key-after-comments",
        "# a comment\n# another\n\n[run]\n# the paths\npathz = 3\n",
        None,
        &["line 6, column 1, key `run.pathz`"],
    );
    assert_bad_input(
        "bad-point-regime",
        "[init.synthetic]\nsubnets = 4\n\n[[point]]\nchain.regime = \"taoflow\"\n\n[[point]]\nchain.regime = \"flow\"\n",
        None,
        &["bad.toml, point 1: line 8, column 16, key `chain.regime`", "taoflow"],
    );
    assert_bad_input("missing-snapshot", uses_snapshot, None, &["snap.csv"]);
    assert_bad_input(
        "wrong-column",
        uses_snapshot,
        Some(&snap(good_row).replace("tao_in,", "tao_inn,")),
        &["snap.csv", "line 1", "tao_in"],
    );
    assert_bad_input(
        "non-numeric",
        uses_snapshot,
        Some(&snap(&good_row.replace("29628.4935", "lots"))),
        &["snap.csv", "line 2", "tao_in", "lots"],
    );
    assert_bad_input(
        "negative-reserve",
        uses_snapshot,
        Some(&snap(&good_row.replace("2665006.7118", "-1"))),
        &["snap.csv", "line 2", "alpha_in", "negative"],
    );
}

/// A negative `--days` or `--seed` is a value of the flag, refused by the config's check or the
/// flag's parser with the key named, not clap's "unexpected argument '-1'" (which suggests
/// `-- -1`, a positional argument).
#[test]
fn negative_and_repeated_flag_values_are_refused_by_name() {
    let dir = scratch("negative-flags");
    let out = dir.join("out");
    let config = repo().join("configs/tests/small.toml");
    let config = config.to_str().unwrap();
    let out_s = out.to_str().unwrap();
    common::assert_rejected(
        "days",
        &["run", config, "--days", "-1", "--out", out_s],
        &out,
        &["`run.days` = -1", "a finite number > 0"],
    );
    let o = taosim(&["run", config, "--seed", "-1", "--out", out_s]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'-1' for '--seed <SEED>'"), "{stderr}");
    assert!(!out.exists());
    let o = taosim(&["compare", config, "--days", "-2", "--paths", "1"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`run.days` = -2"), "{stderr}");
    let o = taosim(&["bench", "--quick", "--days", "-3"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`run.days` = -3"), "{stderr}");
    assert!(o.stdout.is_empty(), "no partial bench report: {}", String::from_utf8_lossy(&o.stdout));
    let o = taosim(&["bench", "--quick", "--threads", "2,1,2"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--threads: 2 is given twice"), "{stderr}");
    assert!(o.stdout.is_empty(), "no partial bench report: {}", String::from_utf8_lossy(&o.stdout));
    // Counts: clap's own range message, naming the flag (not "unexpected argument '-5'" with
    // a tip to write `-- -5`, which would pass it as a positional).
    for (args, flag) in [
        (vec!["run", config, "--paths", "-5", "--out", out_s], "'-5' for '--paths <PATHS>'"),
        (vec!["run", config, "--point-id", "-1", "--out", out_s], "'-1' for '--point-id"),
        (vec!["compare", config, "--paths", "-1"], "'-1' for '--paths <PATHS>'"),
        (vec!["bench", "--quick", "--threads", "-1"], "'-1' for '--threads <N,..>'"),
        (vec!["report", out_s, "--point", "-1"], "'-1' for '--point <POINT>'"),
    ] {
        let o = taosim(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?}");
    }
}

#[test]
fn an_existing_output_folder_is_kept_unless_forced() {
    let dir = scratch("force");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let config = repo().join("configs/tests/small.toml");
    let o = taosim(&["run", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    run_ok(&config, &out, &["--force", "--paths", "2", "--days", "2"]);
    assert!(out.join("summary.arrow").is_file());
}
