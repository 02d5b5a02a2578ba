//! GPU against CPU twins on fresh random inputs. Needs an adapter: without one the tests skip with
//! a message, unless `TAOSIM_REQUIRE_GPU=1` (CI sets it, with lavapipe), which makes a missing
//! adapter a failure. With `WGPU_BACKEND=vulkan` the adapter must be a Vulkan one (wgpu would
//! otherwise fall back silently to a much slower GL adapter).

use taosim_core::cpu::rng_blocks::{RngBlocksParams, rng_blocks};
use taosim_core::rng::{PathRng, uniform_open};
use taosim_gpu::Context;

/// The device, or `None` (with a message) when there is none and none is required.
fn context() -> Option<Context> {
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
            eprintln!("skipping GPU parity test: {e}");
            None
        }
    }
}

/// RNG words are bit-identical on GPU and CPU, for random seeds and addresses and a batch shape
/// that is not a multiple of the workgroup size.
#[test]
fn rng_blocks_are_bit_identical() {
    let Some(ctx) = context() else { return };
    let draws = PathRng::new(0x5EED, 0, 0);
    for case in 0..8 {
        let w = draws.block(case, 0, 0);
        let params = RngBlocksParams {
            seed: (u64::from(w[0]) << 32) | u64::from(w[1]),
            point: w[2] % 1000,
            first_path: w[3] % 100_000,
            paths: 1 + (uniform_open::<f64>(w[0]) * 40.0) as u32,
            subnets: 129,
            step: w[1] % 10_000,
            stream: w[2] & 0xFFFF,
        };
        let gpu = taosim_gpu::stages::rng_blocks::rng_blocks(&ctx, &params).expect("dispatch");
        let mut cpu = vec![0; gpu.len()];
        rng_blocks(&params, &mut cpu);
        let first_diff = gpu.iter().zip(&cpu).position(|(a, b)| a != b);
        assert_eq!(first_diff, None, "case {case} {params:?}: words differ at {first_diff:?}");
    }
}
