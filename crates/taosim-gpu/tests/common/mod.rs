//! Shared helpers of the GPU test suites: the device (or a skip), plans and random stage inputs.

#![allow(dead_code, unreachable_pub, reason = "each suite uses a subset of the helpers")]

use std::path::PathBuf;

use taosim_core::config::RunConfig;
use taosim_core::engine::RunPlan;
use taosim_gpu::Context;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The device, or `None` (with a message) when there is none and none is required.
///
/// Without an adapter the GPU tests skip with a message, unless `TAOSIM_REQUIRE_GPU=1` (CI sets it,
/// with lavapipe), which makes a missing adapter a failure. With `WGPU_BACKEND=vulkan` the adapter
/// must be a Vulkan one (wgpu would otherwise fall back silently to a much slower GL adapter).
pub fn context() -> Option<Context> {
    match Context::from_env() {
        Ok(ctx) => {
            if std::env::var("WGPU_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("vulkan")) {
                assert_eq!(ctx.adapter.backend, "Vulkan", "WGPU_BACKEND=vulkan: {:?}", ctx.adapter);
            }
            eprintln!(
                "adapter: {} ({}, {})",
                ctx.adapter.name, ctx.adapter.backend, ctx.adapter.device_type
            );
            Some(ctx)
        }
        Err(e) if std::env::var("TAOSIM_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("TAOSIM_REQUIRE_GPU=1 but no adapter: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// A plan from the small test config (configs/tests/small.toml: the 2026-04-11 snapshot) with
/// `overrides` (TOML) merged over it.
pub fn plan(overrides: &str) -> RunPlan {
    let dir = repo().join("configs/tests");
    let base = std::fs::read_to_string(dir.join("small.toml")).expect("small.toml");
    let mut table: toml::Table = base.parse().expect("small.toml parses");
    let extra: toml::Table = overrides.parse().expect("overrides parse");
    taosim_core::config::merge_tables(&mut table, &extra);
    let config = RunConfig::from_toml(&toml::to_string(&table).expect("toml")).expect("config");
    let network = taosim_core::init::initial_network(&config, &dir).expect("snapshot");
    RunPlan::new(config, network).expect("plan")
}

/// Largest relative difference `|a − b| / max(|a|, |b|, floor)` over two slices, with its index.
pub fn max_rel_diff(a: &[f64], b: &[f64], floor: f64) -> (f64, usize) {
    assert_eq!(a.len(), b.len(), "slices of different length");
    let mut worst = (0.0, 0);
    for (k, (&x, &y)) in a.iter().zip(b).enumerate() {
        let d = if x == y { 0.0 } else { (x - y).abs() / x.abs().max(y.abs()).max(floor) };
        if d > worst.0 || d.is_nan() {
            worst = (d, k);
        }
    }
    worst
}
