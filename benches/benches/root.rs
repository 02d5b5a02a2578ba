//! Criterion benchmarks of taosim's stages, one group per layer.
//!
//! - `model/*`: single mechanisms (an AMM swap, a standard normal draw, a subnet-epoch's weight
//!   noise at each SIMD level, one Yuma epoch at the standard V = 8, M = 32, `exp` and `ln` of
//!   1,024 lanes by libm and by `vecmath` at each SIMD level).
//! - `cpu_stage/*` and `gpu_stage/<precision>/*`: every step stage and a whole step, its CPU twin
//!   and its WGSL stage, on the standard workload's state (module `step_stages`).
//!
//! `TAOSIM_BENCH_QUICK=1` shrinks sample counts and sizes so CI checks the harness, not timing.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod step_stages;
use taosim_core::model::amm::{self, Pool};
use taosim_core::model::yuma::{BondStorage, YumaParams, YumaSubnet, YumaVersion};
use taosim_core::params::AmmKind;
use taosim_core::rng;
use taosim_core::simd::{self, Kernel, SimdLevel};
use taosim_core::vecmath;

fn quick() -> bool {
    std::env::var_os("TAOSIM_BENCH_QUICK").is_some()
}

fn configure(c: &mut Criterion) -> Criterion {
    let c = std::mem::take(c);
    if quick() {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(200))
    } else {
        c
    }
}

fn model_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("model");
    g.throughput(Throughput::Elements(1));
    for kind in [AmmKind::ConstantProduct, AmmKind::Balancer] {
        g.bench_function(format!("amm_buy_sell/{kind:?}"), |b| {
            b.iter(|| {
                let mut pool = Pool::new(black_box(10_000.0_f64), black_box(1.0e6));
                let bought = amm::buy(kind, &mut pool, 10.0, 5.0e-4, 1.0e-3);
                amm::sell(kind, &mut pool, bought.output, 5.0e-4, 1.0e-3)
            });
        });
    }
    // The standard Yuma workload: V = 8 validators, M = 32 miners, Yuma3 with liquid alpha.
    let (v, m) = (8, 32);
    let n = v + m;
    let mut params = YumaParams { version: YumaVersion::Yuma3, ..YumaParams::default() };
    params.liquid_alpha.enabled = true;
    params.bond_storage = BondStorage::Float;
    let stake: Vec<f64> = (0..n).map(|i| if i < v { 1.0 / (i + 1) as f64 } else { 0.0 }).collect();
    let weights: Vec<f64> = (0..v * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            if j < v { 0.0 } else { 1.0 + ((i * 7 + j * 13) % 17) as f64 }
        })
        .collect();
    // One standard normal per call: Box–Muller (half a pair, as the weight noise drew it before)
    // against the inverse CDF of one word.
    g.bench_function("normal/box_muller_pair", |b| {
        let mut w = 0x9E37_79B9_u32;
        b.iter(|| {
            w = w.wrapping_mul(0x0019_660D).wrapping_add(0x3C6E_F35F);
            rng::normal_pair::<f64>(black_box(w), black_box(w ^ 0xA5A5_A5A5))
        });
    });
    g.bench_function("normal/inverse_cdf", |b| {
        let mut w = 0x9E37_79B9_u32;
        b.iter(|| {
            w = w.wrapping_mul(0x0019_660D).wrapping_add(0x3C6E_F35F);
            rng::normal_icdf::<f64>(black_box(w))
        });
    });
    // The standard subnet-epoch's weight noise: 64 Philox blocks inverted into 256 normals, at
    // each vector level this CPU runs (the same numbers at each).
    g.throughput(Throughput::Elements(256));
    let step_rng = rng::PathRng::new(20_260_411, 0, 0).at_step(7);
    let mut normals = [0.0_f64; 256];
    for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
        g.bench_function(format!("weight_noise_256/{level}"), |b| {
            b.iter(|| {
                step_rng.fill_normals_at(
                    level,
                    black_box(3),
                    rng::stream::YUMA_NOISE,
                    &mut normals,
                );
                normals[255]
            });
        });
    }
    // `eˣ + ln x` over 1,024 lanes of the ranges the behaviour stage sees: libm's calls, and
    // `vecmath` at each level (the same numbers at each).
    g.throughput(Throughput::Elements(1024));
    let x: Vec<f64> = (0..1024).map(|k| 0.05 + f64::from(k) / 200.0).collect();
    let mut y = vec![0.0_f64; 1024];
    g.bench_function("exp_ln_1024/libm", |b| {
        b.iter(|| {
            for (y, &x) in y.iter_mut().zip(black_box(&x)) {
                *y = x.exp() + x.ln();
            }
            y[1023]
        });
    });
    for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
        g.bench_function(format!("exp_ln_1024/vecmath/{level}"), |b| {
            b.iter(|| {
                simd::run_at(level, ExpLn { x: black_box(&x), y: &mut y });
                y[1023]
            });
        });
    }
    g.throughput(Throughput::Elements(1));
    let mut subnet = YumaSubnet::<f64>::new(params, n, v);
    g.bench_function("yuma3_epoch/v8_m32", |b| {
        b.iter(|| subnet.epoch(black_box(&stake), black_box(&weights)));
    });
    g.finish();
}

/// `y = eˣ + ln x` lane by lane with `vecmath`, compiled per SIMD level.
struct ExpLn<'a> {
    x: &'a [f64],
    y: &'a mut [f64],
}

impl Kernel for ExpLn<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        for (y, &x) in self.y.iter_mut().zip(self.x) {
            *y = vecmath::exp(x) + vecmath::ln(x);
        }
    }
}

fn benches(c: &mut Criterion) {
    let mut c = configure(c);
    model_benches(&mut c);
    step_stages::cpu_stage_benches(&mut c, quick());
    step_stages::gpu_stage_benches(&mut c, quick());
}

criterion_group!(root, benches);
criterion_main!(root);
