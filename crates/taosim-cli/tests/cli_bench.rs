//! `taosim bench --quick --json` end to end: the record fields and their consistency, not the
//! timings (a debug build on a shared CI machine times nothing useful).

use std::process::Command;
use taosim_core::simd::{PeakIsa, SimdLevel};

/// Runs the quick bench with a one-day horizon (the hidden `--days` keeps a debug build fast) and
/// checks one record per workload and thread count with the documented fields.
#[test]
fn quick_bench_prints_json_records() {
    let out = Command::new(env!("CARGO_BIN_EXE_taosim"))
        .args(["bench", "--quick", "--json", "--days", "1"])
        .output()
        .expect("run taosim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let all = json.as_array().expect("array of records");
    let (records, gpu): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        all.iter().partition(|r| r["backend"] == "cpu");
    // GPU rows (one per workload the adapter can run): consistent fields, a measured device peak.
    for r in &gpu {
        let rate = r["subnet_steps_per_s"].as_f64().expect("subnet_steps_per_s");
        let wall = r["wall_s"].as_f64().unwrap();
        let work = r["paths"].as_f64().unwrap() * r["steps"].as_f64().unwrap() * 128.0;
        assert!(rate > 0.0 && (rate * wall / work - 1.0).abs() < 1e-9, "{r}");
        assert_eq!(r["wall_s_runs"], serde_json::json!([wall]), "GPU rows run once: {r}");
        assert!(r.get("stages").is_none(), "stage times only with --stages: {r}");
        assert!(r["machine"]["cpu"].is_string(), "the adapter's host is named: {r}");
        let (peak, fraction) =
            (r["peak_gflops"].as_f64().unwrap(), r["peak_fraction"].as_f64().unwrap());
        let ops = r["ops_per_subnet_step"].as_f64().unwrap();
        assert!(
            peak > 0.0 && (fraction - rate * ops / (peak * 1e9)).abs() <= 1e-9 * fraction,
            "{r}"
        );
    }
    if std::env::var("TAOSIM_REQUIRE_GPU").as_deref() == Ok("1") {
        assert!(gpu.iter().any(|r| r["workload"] == "light"), "no GPU row for light: {json}");
    }
    // A GPU row's ratio is against the same workload's CPU row with the most threads.
    for r in &gpu {
        let widest = records
            .iter()
            .filter(|c| c["workload"] == r["workload"])
            .max_by_key(|c| c["threads"].as_u64())
            .expect("a CPU row of the workload");
        let ratio = r["vs_cpu"]["ratio"].as_f64().expect("vs_cpu.ratio");
        let expected = r["subnet_steps_per_s"].as_f64().unwrap()
            / widest["subnet_steps_per_s"].as_f64().unwrap();
        assert_eq!(r["vs_cpu"]["threads"], widest["threads"], "{r}");
        assert!((ratio / expected - 1.0).abs() < 1e-12, "{r}");
    }
    assert!(records.iter().all(|r| r.get("vs_cpu").is_none()), "vs_cpu only on GPU rows");
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let per_workload = if cores > 1 { 2 } else { 1 };
    assert_eq!(records.len(), 2 * per_workload, "{json}");
    let mut workloads = Vec::new();
    for r in records {
        let workload = r["workload"].as_str().expect("workload");
        workloads.push(workload.to_string());
        assert_eq!(r["backend"], "cpu");
        // The host is named: CPU model, the cores this process sees, the build's vector set.
        let machine = &r["machine"];
        assert!(!machine["cpu"].as_str().expect("machine.cpu").is_empty(), "{r}");
        assert_eq!(machine["logical_cores"].as_u64(), Some(cores as u64), "{r}");
        let simd = machine["build_simd"].as_str().expect("machine.build_simd");
        if cfg!(target_arch = "x86_64") {
            // x86-64 always has SSE2; a default build targets exactly that.
            assert_ne!(simd, "scalar", "{r}");
        }
        // The dispatched kernels' level: the widest this CPU runs, or the cap of a
        // `TAOSIM_SIMD` the test process inherited (the bench runs with its environment).
        let kernels = machine["kernel_simd"].as_str().expect("machine.kernel_simd");
        let expected = std::env::var("TAOSIM_SIMD")
            .ok()
            .and_then(|cap| cap.parse::<SimdLevel>().ok())
            .map_or(SimdLevel::detected(), |cap| cap.min(SimdLevel::detected()));
        assert_eq!(kernels, expected.name(), "{r}");
        // The peak is the machine's: the CPU's widest multiply-add, whatever the kernels use.
        assert_eq!(machine["peak_isa"], PeakIsa::detected().name(), "{r}");
        let threads = r["threads"].as_u64().expect("threads");
        assert!(threads == 1 || threads == cores as u64, "threads {threads}");
        let rate = r["subnet_steps_per_s"].as_f64().expect("subnet_steps_per_s");
        assert!(rate.is_finite() && rate > 0.0, "rate {rate}");
        let fraction = r["peak_fraction"].as_f64().expect("peak_fraction");
        assert!(fraction.is_finite() && fraction > 0.0, "peak fraction {fraction}");
        // The fields agree with each other: rate = paths · steps · subnets / wall, and the
        // fraction of peak is rate · ops / peak.
        let (paths, steps, subnets, wall) = (
            r["paths"].as_f64().unwrap(),
            r["steps"].as_f64().unwrap(),
            r["subnets"].as_f64().unwrap(),
            r["wall_s"].as_f64().unwrap(),
        );
        assert_eq!(steps, 20.0, "one day of 361-block steps");
        // --quick times each row once.
        assert_eq!(r["wall_s_runs"], serde_json::json!([wall]), "{r}");
        assert_eq!(subnets, 128.0);
        assert!((rate * wall / (paths * steps * subnets) - 1.0).abs() < 1e-9);
        let ops = r["ops_per_subnet_step"].as_f64().unwrap();
        let peak = r["peak_gflops"].as_f64().unwrap();
        assert!(peak > 0.0);
        assert!((fraction - rate * ops / (peak * 1e9)).abs() <= 1e-9 * fraction);
        if workload == "baseline" {
            // Yuma on costs far more operations per subnet-step than the light workload.
            assert!(ops > 10_000.0, "ops {ops}");
        } else {
            assert_eq!(workload, "light");
            assert!(ops < 10_000.0, "ops {ops}");
        }
    }
    workloads.dedup();
    assert_eq!(workloads, ["baseline", "light"]);
}

/// `--threads` picks the CPU rows' thread counts, `--gpu-paths` the GPU rows' paths (the
/// device check's 2-thread CPU rows against a full GPU), `--repeats` the runs of each CPU row,
/// whose fastest gives the rates, and `--stages` adds the time by stage to the first CPU row and
/// each GPU row (every step stage in order, one lap per path-step on the CPU and one timed pass
/// per step on the GPU, shares summing to 1); a zero count is refused by name.
#[test]
fn bench_threads_gpu_paths_and_repeats_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_taosim"))
        .args([
            "bench",
            "--quick",
            "--json",
            "--days",
            "1",
            "--threads",
            "2",
            "--gpu-paths",
            "3",
            "--repeats",
            "3",
            "--stages",
        ])
        .output()
        .expect("run taosim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let all = json.as_array().expect("array of records");
    let (cpu, gpu): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        all.iter().partition(|r| r["backend"] == "cpu");
    assert_eq!(cpu.len(), 2, "one 2-thread row per workload: {json}");
    for r in &cpu {
        assert_eq!(r["threads"], 2, "{r}");
        // No 1-thread row to compare against.
        assert_eq!(r["speedup_vs_1_thread"], 0.0, "{r}");
        let runs: Vec<f64> = r["wall_s_runs"]
            .as_array()
            .expect("wall_s_runs")
            .iter()
            .map(|w| w.as_f64().expect("a wall time"))
            .collect();
        assert_eq!(runs.len(), 3, "{r}");
        let fastest = runs.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(r["wall_s"].as_f64(), Some(fastest), "{r}");
        let work = r["paths"].as_f64().unwrap() * r["steps"].as_f64().unwrap() * 128.0;
        let rate = r["subnet_steps_per_s"].as_f64().unwrap();
        assert!((rate * fastest / work - 1.0).abs() < 1e-9, "{r}");
    }
    for r in &gpu {
        assert_eq!(r["paths"], 3, "{r}");
        // One device batch: one timed pass per step.
        assert_stages(r, r["steps"].as_u64().unwrap());
    }
    for r in &cpu {
        // Every path-step runs every stage once.
        let path_steps = r["paths"].as_u64().unwrap() * r["steps"].as_u64().unwrap();
        assert_stages(r, path_steps);
    }
    if std::env::var("TAOSIM_REQUIRE_GPU").as_deref() == Ok("1") {
        assert_eq!(gpu.len(), 2, "a GPU row per workload: {json}");
    }

    // A zero count is refused with the flag's name and its range.
    for (flag, range) in [("--threads", "1..=4096"), ("--repeats", "1..=100")] {
        let refused = Command::new(env!("CARGO_BIN_EXE_taosim"))
            .args(["bench", "--quick", flag, "0"])
            .output()
            .expect("run taosim");
        assert!(!refused.status.success(), "{flag} 0 accepted");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(flag) && stderr.contains(range), "{stderr}");
    }
}

/// A `--stages` record's `stages`: every step stage in order, run `count` times each, positive
/// seconds where the stage does real work, shares summing to 1.
fn assert_stages(r: &serde_json::Value, count: u64) {
    let stages = r["stages"].as_array().expect("stages with --stages");
    let names: Vec<&str> = stages.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, taosim_core::stage_clock::STEP_STAGES, "{r}");
    let mut shares = 0.0;
    for s in stages {
        assert_eq!(s["count"], count, "{s}");
        let seconds = s["seconds"].as_f64().unwrap();
        assert!(seconds >= 0.0, "{s}");
        if ["behaviour", "epoch"].contains(&s["stage"].as_str().unwrap()) {
            assert!(seconds > 0.0, "{s}");
        }
        shares += s["share"].as_f64().unwrap();
    }
    assert!((shares - 1.0).abs() < 1e-9, "shares sum to {shares}");
}
