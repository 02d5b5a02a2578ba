//! The GPU backend through the binary (issue 4): device batching, sharding and resuming do not
//! change a byte of the outputs, `taosim compare` passes on a small config and runs the device in
//! batches, f32 mode runs and reports its divergence, and a missing adapter is a clear error
//! (`--backend gpu`) or a notice and a CPU run (`auto`).
//!
//! These need an adapter: without one they skip with a message, unless `TAOSIM_REQUIRE_GPU=1`
//! (CI, with lavapipe), which makes a missing adapter a failure.

mod common;

use std::path::Path;

use common::{
    assert_same_outputs, assert_same_tables, repo, saved_parts, scratch, spawn, taosim,
    wait_for_parts,
};

/// Whether a GPU adapter is there (panics when one is required and missing).
fn have_gpu() -> bool {
    let o = taosim(&["devices"]);
    let found = !String::from_utf8_lossy(&o.stdout).contains("no GPU adapter");
    if !found {
        assert_ne!(
            std::env::var("TAOSIM_REQUIRE_GPU").as_deref(),
            Ok("1"),
            "TAOSIM_REQUIRE_GPU=1 but `taosim devices` finds no adapter"
        );
        eprintln!("skipping GPU CLI test: no adapter");
    }
    found
}

/// The small test config with `extra` appended, written into `dir`.
fn config_with(dir: &Path, extra: &str) -> String {
    let base = std::fs::read_to_string(repo().join("configs/tests/small.toml")).unwrap();
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    // 5 days instead of 20: lavapipe runs the GPU path on the CPU, slowly.
    let text = base
        .replace("../snapshots/2026-04-11.csv", &snapshot.display().to_string())
        .replace("days = 20.0", "days = 5.0");
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path.display().to_string()
}

/// The small test config with `run.device_batch_paths` set, written into `dir`.
fn config_with_device_batch(dir: &Path, device_batch_paths: u32) -> String {
    let config = config_with(dir, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let with = format!("batch_paths = 4\ndevice_batch_paths = {device_batch_paths}");
    std::fs::write(&config, text.replace("batch_paths = 4", &with)).unwrap();
    config
}

/// One device batch of 6 paths and three batches of 2 write byte-identical Arrow files.
#[test]
fn device_batches_do_not_change_the_outputs() {
    if !have_gpu() {
        return;
    }
    let dir = scratch("gpu", "batches");
    let whole = config_with(&dir, "");
    let split_dir = dir.join("split");
    std::fs::create_dir_all(&split_dir).unwrap();
    let split = config_with_device_batch(&split_dir, 2);
    let (a, b) = (dir.join("a"), dir.join("b"));
    for (config, out) in [(&whole, &a), (&split, &b)] {
        let o = taosim(&["run", config, "--backend", "gpu", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_same_tables(&a, &b);
    let manifest = std::fs::read_to_string(a.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"gpu\""), "{manifest}");
}

/// A GPU run is as durable as a CPU run: with one path per device unit (six part files), two
/// shards merged, and a run killed after its first saved unit and resumed, write the bytes of
/// the uninterrupted run in every file, the manifest up to its timings and threads
/// (docs/reliability.md; on the GPU a unit is `run.device_batch_paths`).
#[test]
fn sharded_and_resumed_gpu_runs_write_the_same_bytes() {
    if !have_gpu() {
        return;
    }
    let dir = scratch("gpu", "durable");
    let config = config_with_device_batch(&dir, 1);
    let gpu_run = |extra: &[&str], out: &Path| {
        let mut args = vec!["run", &config, "--backend", "gpu", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = taosim(&args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let whole = dir.join("whole");
    gpu_run(&[], &whole);

    let shards = [dir.join("shard0"), dir.join("shard1")];
    gpu_run(&["--shard", "0/2"], &shards[0]);
    gpu_run(&["--shard", "1/2"], &shards[1]);
    let merged = dir.join("merged");
    let o = taosim(&[
        "merge",
        shards[1].to_str().unwrap(),
        shards[0].to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "merge: {}", String::from_utf8_lossy(&o.stderr));
    assert_same_outputs(&whole, &merged);

    let killed = dir.join("killed");
    let staging = dir.join("killed.incomplete");
    let mut child = spawn(&["run", &config, "--backend", "gpu", "--out", killed.to_str().unwrap()]);
    wait_for_parts(&mut child, &staging, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = saved_parts(&staging);
    assert!((1..6).contains(&saved), "{saved} of 6 units saved when killed");
    let stderr = gpu_run(&["--resume"], &killed);
    assert!(stderr.contains(&format!("resuming: {saved} of 6 batches done")), "{stderr}");
    assert_same_outputs(&whole, &killed);
}

/// `taosim compare` on a small config: the GPU (f64) passes the documented tolerances.
#[test]
fn compare_passes_on_a_small_config() {
    if !have_gpu() {
        return;
    }
    let small = repo().join("configs/tests/small.toml");
    let o = taosim(&["compare", small.to_str().unwrap(), "--paths", "8", "--days", "10"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("result: PASS"), "{stdout}");
    assert!(stdout.contains("discrete decisions: 0 of 8 paths diverged"), "{stdout}");
    for field in ["tao", "alpha_out", "moving_price", "issuance", "held_organic", "block"] {
        assert!(stdout.lines().any(|l| l.starts_with(field)), "no row for {field}: {stdout}");
    }
}

/// Flows that dwarf the pools (1e5 whale orders a year per subnet at a log-sd of 5, against pools
/// of ~1e4 TAO) make the real fields differ beyond 1e-9 while every integer field, decision and
/// estimate agrees (docs/gpu.md): `compare` fails with exit 1 and says that this is the pattern
/// of such configs, so a user can tell it from a parity bug.
#[test]
fn compare_names_the_pattern_of_flows_that_dwarf_the_pools() {
    if !have_gpu() {
        return;
    }
    let dir = scratch("gpu", "compare-whales");
    let whales = "[behaviour]\nwhale_rate_per_year = 100000.0\nwhale_size_sigma = 5.0";
    let config = config_with(&dir, whales);
    let o = taosim(&["compare", &config, "--paths", "8", "--days", "10"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("<-- outside tolerance"), "{stdout}");
    assert!(stdout.contains("discrete decisions: 0 of 8 paths diverged"), "{stdout}");
    let estimates = stdout.lines().skip_while(|l| !l.starts_with("estimate")).skip(1);
    let rows: Vec<&str> = estimates.take_while(|l| !l.is_empty()).collect();
    assert!(!rows.is_empty() && rows.iter().all(|l| l.ends_with("yes")), "{stdout}");
    assert!(stdout.contains("result: FAIL\nnote: only real fields differ"), "{stdout}");
}

/// `taosim compare` runs the device in batches of `run.device_batch_paths` (lowered to the
/// adapter's buffer limits), as `taosim run` does: 5 paths at 2 per batch are 3 batches, and the
/// parity is that of the whole. Before, it put every path in one device batch, and a large Yuma
/// config (V = 3, M = 253, 100 reveal epochs: 27 MB of Yuma state a path) exceeded lavapipe's
/// 128 MiB binding limit at 5 paths with a wgpu validation error (found by the engine fuzz).
#[test]
fn compare_runs_the_device_in_batches() {
    if !have_gpu() {
        return;
    }
    let dir = scratch("gpu", "compare-batches");
    let config = config_with_device_batch(&dir, 2);
    let o = taosim(&["compare", &config, "--paths", "5", "--days", "5"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("device batches: 3 of at most 2 paths"), "{stdout}");
    assert!(stdout.contains("discrete decisions: 0 of 5 paths diverged"), "{stdout}");
    assert!(stdout.contains("result: PASS"), "{stdout}");
}

/// f32 mode: a run completes with `--precision f32`, and `compare --precision f32` reports the f32
/// path's divergence from the f64 reference with its estimates within two standard errors.
#[test]
fn f32_mode_runs_and_compare_reports_it() {
    if !have_gpu() {
        return;
    }
    let dir = scratch("gpu", "f32");
    let config = config_with(&dir, "");
    let out = dir.join("out");
    let o = taosim(&[
        "run",
        &config,
        "--backend",
        "gpu",
        "--precision",
        "f32",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"precision\": \"f32\""), "{manifest}");
    let o = taosim(&["compare", &config, "--paths", "8", "--days", "10", "--precision", "f32"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("(f32)"), "{stdout}");
    assert!(stdout.contains("divergence from f64"), "{stdout}");
    assert!(o.status.success(), "{stdout}");
}

/// No adapter: `--backend gpu` fails with one clear line (exit 1, nothing written);
/// `--backend auto` says so and runs on the CPU.
#[test]
fn missing_adapter_is_an_error_or_a_cpu_fallback() {
    let dir = scratch("gpu", "missing");
    let config = config_with(&dir, "");
    let out = dir.join("out");
    let run = |backend: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_taosim"))
            .args(["run", &config, "--backend", backend, "--out", out.to_str().unwrap()])
            .env("WGPU_ADAPTER_NAME", "no-such-adapter-taosim")
            .output()
            .unwrap()
    };
    let o = run("gpu");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no GPU adapter"), "{stderr}");
    assert!(!out.exists());
    let o = run("auto");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("running on the CPU"), "{stderr}");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"cpu\""), "{manifest}");
}
