//! Shared helpers of the GPU test suites: the device (or a skip), plans and random stage inputs.

#![allow(dead_code, unreachable_pub, reason = "each suite uses a subset of the helpers")]

use std::path::PathBuf;

use taosim_core::Real;
use taosim_core::config::RunConfig;
use taosim_core::engine::{RunPlan, init_batch};
use taosim_core::rng::{PathRng, uniform_open};
use taosim_core::state::{BatchState, SubnetReal};
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

/// A plan from the config `file` (relative to the repo root) with `overrides` (TOML) merged.
pub fn plan_from(file: &str, overrides: &str) -> RunPlan {
    let path = repo().join(file);
    let base = std::fs::read_to_string(&path).expect("config");
    let mut table: toml::Table = base.parse().expect("config parses");
    let extra: toml::Table = overrides.parse().expect("overrides parse");
    taosim_core::config::merge_tables(&mut table, &extra);
    let config = RunConfig::from_toml(&toml::to_string(&table).expect("toml")).expect("config");
    let dir = path.parent().expect("config folder");
    let network = taosim_core::init::initial_network(&config, dir).expect("snapshot");
    RunPlan::new(config, network).expect("plan")
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
        let same = x == y || x.to_bits() == y.to_bits();
        let d = if same { 0.0 } else { (x - y).abs() / x.abs().max(y.abs()).max(floor) };
        if d > worst.0 || d.is_nan() {
            worst = (d, k);
        }
    }
    worst
}

/// A random stream for perturbing test inputs (not the model's streams: stream 0xFFFF).
pub struct Noise {
    rng: PathRng,
    n: u32,
}

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self { rng: PathRng::new(seed, 0, 0), n: 0 }
    }

    /// Uniform on (0, 1).
    pub fn u(&mut self) -> f64 {
        self.n += 1;
        uniform_open::<f64>(self.rng.block(self.n, 0, 0xFFFF)[0])
    }

    /// A factor in [1/(1+s), 1+s), log-uniform.
    pub fn factor(&mut self, s: f64) -> f64 {
        ((2.0 * self.u() - 1.0) * s.ln_1p()).exp()
    }
}

/// A batch of `paths` paths of `plan` whose state is the initial network perturbed at random: every
/// live subnet's reserves, moving price, flow EMAs, pending flows and holdings scaled by random
/// factors, random first-emission blocks around the current block, random flows of both signs.
pub fn random_batch<R: Real>(plan: &RunPlan, paths: usize, seed: u64) -> BatchState<R> {
    let mut state = init_batch::<R>(plan, 0, 0, paths);
    let mut noise = Noise::new(seed);
    for p in 0..paths {
        let mut st = state.path(p);
        let block = st.global_int.block[0];
        for i in 0..plan.slots {
            if st.sub_int.active[i] == 0 {
                continue;
            }
            let s = &mut st.sub;
            for x in [&mut *s.tao, &mut *s.alpha, &mut *s.moving_price, &mut *s.held_organic] {
                x[i] = R::of(x[i].f64() * noise.factor(0.5));
            }
            s.flow_ema[i] = R::of(s.flow_ema[i].f64() * noise.factor(1.0) * (noise.u() - 0.3));
            s.flow[i] = R::of(1e3 * (noise.u() - 0.4));
            s.protocol_flow[i] = R::of(1e2 * noise.u());
            s.share[i] = R::of(noise.u() / 64.0);
            // Half the subnets just past (or before) their first emission block, where the
            // moving-price ramp and the closed form's fallback matter.
            st.sub_int.first_emission_block[i] = if noise.u() < 0.5 {
                block + 400 - (noise.u() * 800.0) as u32
            } else {
                st.sub_int.first_emission_block[i]
            };
        }
    }
    state
}

/// Per-path eligibility flags as the scratch integers of shared/state.wgsl lay them out (eligible
/// first, then the mailbox and work areas, zero), and the flags per path for the CPU twin.
pub fn random_eligible<R: Real>(
    plan: &RunPlan,
    state: &mut BatchState<R>,
    noise: &mut Noise,
) -> (Vec<u32>, Vec<Vec<u32>>) {
    let layout = taosim_gpu::device::ScratchLayout::new(plan.slots, plan.yuma);
    let mut scratch = vec![0_u32; state.paths * layout.ints];
    let mut flags = Vec::new();
    for p in 0..state.paths {
        let st = state.path(p);
        let f: Vec<u32> = (0..plan.slots)
            .map(|i| u32::from(st.sub_int.active[i] != 0 && noise.u() < 0.8))
            .collect();
        scratch[p * layout.ints..p * layout.ints + plan.slots].copy_from_slice(&f);
        flags.push(f);
    }
    (scratch, flags)
}

/// Compares every state field of `gpu` and `cpu`: integers exactly, reals within `tolerance`
/// relative (values below `floor` in magnitude compared absolutely against `floor`).
pub fn assert_states_match(
    stage: &str,
    gpu: &BatchState<f64>,
    cpu: &BatchState<f64>,
    tolerance: f64,
    floor: f64,
) {
    assert_eq!(gpu.subnet_int, cpu.subnet_int, "{stage}: subnet integers differ");
    assert_eq!(gpu.global_int, cpu.global_int, "{stage}: global integers differ");
    assert_eq!(gpu.yuma_int, cpu.yuma_int, "{stage}: Yuma integers differ");
    let s = gpu.subnets;
    let differing = gpu.subnet_real.iter().zip(&cpu.subnet_real).filter(|(a, b)| a != b).count();
    eprintln!(
        "{stage}: {differing} of {} subnet reals differ in their bits",
        gpu.subnet_real.len()
    );
    let (d, k) = max_rel_diff(&gpu.subnet_real, &cpu.subnet_real, floor);
    let field = SubnetReal::<f64>::NAMES[(k / s) % SubnetReal::<f64>::FIELDS];
    assert!(
        d <= tolerance,
        "{stage}: subnet field `{field}` (path {}, slot {}) differs by {d:e} relative (gpu {}, cpu {}), tolerance {tolerance:e}",
        k / (s * SubnetReal::<f64>::FIELDS),
        k % s,
        gpu.subnet_real[k],
        cpu.subnet_real[k]
    );
    let (d, k) = max_rel_diff(&gpu.global_real, &cpu.global_real, floor);
    assert!(d <= tolerance, "{stage}: global real {k} differs by {d:e} relative");
    let (d, k) = max_rel_diff(&gpu.yuma_real, &cpu.yuma_real, floor);
    assert!(d <= tolerance, "{stage}: Yuma real {k} differs by {d:e} relative");
}
