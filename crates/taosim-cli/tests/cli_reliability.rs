//! Interruption, `--resume`, `--shard I/N` and `taosim merge` end to end (docs/reliability.md):
//! an interrupted run (SIGKILL, SIGINT, SIGTERM) resumed, and 4 shards merged, give the bytes of
//! an uninterrupted, unsharded run in every file; bad shard sets and foreign staging folders are
//! refused with one line and exit 2.

mod common;

use common::{
    assert_rejected, assert_same_outputs, repo, saved_parts, spawn, taosim, wait_for_parts,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

fn scratch(name: &str) -> PathBuf {
    common::scratch("reliability", name)
}

/// `configs/tests/small.toml` with `paths` paths in batches of 1 over `days` days, and `extra`
/// appended, written into `dir` (the snapshot path made absolute).
fn config(dir: &Path, name: &str, paths: u32, days: f64, extra: &str) -> PathBuf {
    let small = std::fs::read_to_string(repo().join("configs/tests/small.toml")).unwrap();
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    let text = small
        .replace("../snapshots/2026-04-11.csv", snapshot.to_str().unwrap())
        .replace("paths = 6", &format!("paths = {paths}"))
        .replace("batch_paths = 4", "batch_paths = 1")
        .replace("days = 20.0", &format!("days = {days:?}"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text + extra).unwrap();
    path
}

fn run_ok(args: &[&str]) {
    let o = taosim(args);
    assert!(o.status.success(), "taosim {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

fn state(staging: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(staging.join("state.json")).unwrap()).unwrap()
}

/// Paths (= batches) of the interrupted runs: enough (about 3 s) that a signal sent after the
/// first saved batch lands long before the last.
const PATHS: u32 = 48;

/// A run killed by SIGKILL, SIGINT or SIGTERM after at least one batch was saved leaves its
/// staging folder with the saved batches; `--resume` finishes it into the exact bytes of an
/// uninterrupted run (reference: the same command run once, uninterrupted).
#[test]
fn interrupted_runs_resume_to_the_bytes_of_an_uninterrupted_run() {
    let dir = scratch("resume");
    let cfg = config(&dir, "long", PATHS, 10.0, "");
    let cfg = cfg.to_str().unwrap();
    let reference = dir.join("reference");
    run_ok(&["run", cfg, "--out", reference.to_str().unwrap()]);

    for (how, expected_code, expected_status) in [
        ("KILL", None, "running"),
        ("INT", Some(130), "interrupted"),
        ("TERM", Some(143), "interrupted"),
    ] {
        let out = dir.join(format!("killed-{how}"));
        let staging = dir.join(format!("killed-{how}.incomplete"));
        let mut child = spawn(&["run", cfg, "--out", out.to_str().unwrap()]);
        wait_for_parts(&mut child, &staging, 1);
        let sent = Command::new("kill")
            .args([format!("-{how}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), expected_code, "SIG{how}: exit; stderr: {stderr}");
        if expected_code.is_some() {
            assert!(
                stderr.contains("--resume") && stderr.contains(&format!("SIG{how}")),
                "{stderr}"
            );
        }
        assert!(!out.exists(), "SIG{how}: an interrupted run must not look complete");
        let saved = saved_parts(&staging);
        assert!((1..PATHS as usize).contains(&saved), "SIG{how}: {saved} batches saved");
        assert_eq!(state(&staging)["status"], expected_status, "SIG{how}");

        // Resuming without --resume is refused; with another seed too.
        let o = taosim(&["run", cfg, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
        let o = taosim(&["run", cfg, "--out", out.to_str().unwrap(), "--resume", "--seed", "99"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("different run") && stderr.contains("seed"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert_eq!(saved_parts(&staging), saved, "a refused resume must keep the saved batches");

        let o = taosim(&["run", cfg, "--out", out.to_str().unwrap(), "--resume"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "SIG{how}: resume failed: {stderr}");
        assert!(stderr.contains(&format!("resuming: {saved} of {PATHS} batches done")), "{stderr}");
        assert!(!staging.exists());
        assert_same_outputs(&reference, &out);
    }
}

/// A sweep (2 points x 5 paths, batches of 1) run as 4 shard processes at once and merged gives
/// the bytes of the unsharded sweep in every file; the shards are given to merge out of order.
#[test]
fn four_shards_merge_to_the_bytes_of_the_unsharded_sweep() {
    let dir = scratch("shards");
    let sweep = "[sweep]\ndesign = \"grid\"\npaths = 5\n[sweep.keys]\n\"behaviour.panic_rate_per_day\" = [0.0, 0.2]\n";
    let cfg = config(&dir, "sweep", 5, 6.0, sweep);
    let cfg = cfg.to_str().unwrap();
    let reference = dir.join("reference");
    run_ok(&["sweep", cfg, "--out", reference.to_str().unwrap()]);
    let shard_dirs: Vec<PathBuf> = (0..4).map(|i| dir.join(format!("shard{i}"))).collect();
    let children: Vec<Child> = (0..4)
        .map(|i| {
            let shard = format!("{i}/4");
            spawn(&["sweep", cfg, "--shard", &shard, "--out", shard_dirs[i].to_str().unwrap()])
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "shard failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    // 10 units round robin over 4 shards: 3, 3, 2, 2 batches.
    let counts: Vec<usize> = shard_dirs.iter().map(|d| saved_parts(d)).collect();
    assert_eq!(counts, [3, 3, 2, 2]);
    let merged = dir.join("merged");
    let order = [&shard_dirs[2], &shard_dirs[0], &shard_dirs[3], &shard_dirs[1]];
    let mut args = vec!["merge"];
    args.extend(order.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    run_ok(&args);
    assert_same_outputs(&reference, &merged);

    // A `taosim run` with `[[point]]`-free config sharded in 2 merges too (a different command).
    let single = config(&dir, "single", 5, 6.0, "");
    let single = single.to_str().unwrap();
    let run_reference = dir.join("run-reference");
    run_ok(&["run", single, "--out", run_reference.to_str().unwrap()]);
    for i in 0..2 {
        let out = dir.join(format!("run-shard{i}"));
        run_ok(&["run", single, "--shard", &format!("{i}/2"), "--out", out.to_str().unwrap()]);
    }
    let run_merged = dir.join("run-merged");
    let (a, b) = (dir.join("run-shard0"), dir.join("run-shard1"));
    run_ok(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        run_merged.to_str().unwrap(),
    ]);
    assert_same_outputs(&run_reference, &run_merged);
}

/// merge refuses a missing shard, a duplicate, shards of another seed or split, an incomplete
/// shard folder (a killed shard's staging folder, a lost part file) and a folder that is not a
/// shard: exit 2, one line, no output.
#[test]
fn merge_refuses_bad_shard_sets() {
    let dir = scratch("refusals");
    let cfg = config(&dir, "cfg", 3, 2.0, "");
    let cfg = cfg.to_str().unwrap();
    let shard = |name: &str, spec: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec!["run", cfg, "--shard", spec, "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        run_ok(&args);
        out.to_str().unwrap().to_string()
    };
    let s0 = shard("s0", "0/3", &[]);
    // A requeued shard that already finished succeeds without work; another seed is refused.
    let o = taosim(&["run", cfg, "--shard", "0/3", "--out", &s0, "--resume"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stderr).contains("already complete"));
    let o = taosim(&["run", cfg, "--shard", "0/3", "--out", &s0, "--resume", "--seed", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let s1 = shard("s1", "1/3", &[]);
    let s2 = shard("s2", "2/3", &[]);
    let other_seed = shard("seed", "2/3", &["--seed", "8"]);
    let other_split = shard("split", "1/2", &[]);
    let plain = dir.join("plain");
    run_ok(&["run", cfg, "--out", plain.to_str().unwrap()]);
    // A shard killed before it finished: its staging folder has no manifest and a state file.
    let killed = dir.join("killed.incomplete");
    copy_dir(Path::new(&s2), &killed);
    std::fs::remove_file(killed.join("manifest.json")).unwrap();
    std::fs::write(killed.join("state.json"), "{\"status\": \"running\"}\n").unwrap();
    let lost = dir.join("lost");
    copy_dir(Path::new(&s2), &lost);
    for entry in std::fs::read_dir(lost.join("parts")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let out = dir.join("merged");
    let o = out.to_str().unwrap();
    let (killed, lost, plain) =
        (killed.to_str().unwrap(), lost.to_str().unwrap(), plain.to_str().unwrap());
    let cases: [(&str, Vec<&str>, &[&str]); 7] = [
        ("missing", vec![&s0, &s2], &["1/3", "missing"]),
        ("duplicate", vec![&s0, &s1, &s1, &s2], &["1/3", "twice"]),
        ("other-seed", vec![&s0, &s1, &other_seed], &["different runs", "seed"]),
        ("other-split", vec![&s0, &s1, &other_split], &["1/2", "different splits"]),
        ("killed", vec![&s0, &s1, killed], &["incomplete", "--resume"]),
        ("lost-part", vec![&s0, &s1, lost], &["incomplete", "missing"]),
        ("not-a-shard", vec![&s0, &s1, &s2, plain], &["not a taosim run folder"]),
    ];
    for (name, dirs, must_name) in cases {
        let mut args = vec!["merge"];
        args.extend(dirs);
        args.extend(["--out", o]);
        assert_rejected(name, &args, &out, must_name);
    }
    // The good set still merges.
    run_ok(&["merge", &s0, &s1, &s2, "--out", o]);
    assert!(out.join("summary.arrow").is_file());
}

/// `--shard` values outside 0 <= I < N are refused by the flag parser (exit 2).
#[test]
fn bad_shard_flags_are_refused() {
    let dir = scratch("bad-shard");
    let cfg = config(&dir, "cfg", 2, 1.0, "");
    let out = dir.join("out");
    for bad in ["4/4", "1", "0/0", "x/2"] {
        let o =
            taosim(&["run", cfg.to_str().unwrap(), "--shard", bad, "--out", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--shard") && stderr.contains("0 <= I < N"), "{bad}: {stderr}");
        assert!(!out.exists());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
