//! The agents' stages (`behaviour`, `registration`, `metrics`) and the distribution functions of
//! shaders/model/rng.wgsl against their CPU twins, on fresh random inputs (see `common::context`
//! for when a missing adapter skips and when it fails).
//!
//! - distributions: rng.wgsl's conversions of Philox words against `taosim_core::rng` on random
//!   and edge words: uniforms and Poisson counts bit-identical, normals and lognormals within
//!   stated ulps;
//! - behaviour: state, orders (scratch) and the arrival (mailbox) against `cpu::behaviour`;
//! - registration: state and the event log against what the CPU engine does and records
//!   (`engine::simulate_path`'s registration block);
//! - metrics: state and the spiral events against `cpu::metrics` + the engine's `record_spiral`.
//!
//! Each in f64 and in f32 (the f32 GPU stage against the f32 CPU twin).

use taosim_core::Real;
use taosim_core::engine::RunPlan;
use taosim_core::model::amm::{self, Pool};
use taosim_core::records::EventKind;
use taosim_core::rng::PathRng;
use taosim_core::state::BatchState;
use taosim_gpu::device::{BatchId, DeviceState, ScratchLayout, binding};
use taosim_gpu::shaders::{EVENT_INTS, EVENT_REALS, Precision};
use taosim_gpu::stages::run_step_stage;

mod common;
use common::{Noise, assert_states_match, context, max_rel_diff, plan, random_batch};

// ---------------------------------------------------------------------------------------------
// Helpers

/// One event as the engine records it (`EventRecord` less point/path, slot for netuid), plus the
/// device's snapshot of the slot's integers (empty for CPU events).
#[derive(Clone, Debug)]
struct Event {
    kind: u32,
    step: u32,
    block: u32,
    slot: u32,
    value: f64,
    value2: f64,
    ints: Vec<u32>,
    reals: Vec<f64>,
}

/// The events of every path in the device's log (`push_event` layout, shared/state.wgsl).
fn device_events<R: Real + bytemuck::Pod>(
    ctx: &taosim_gpu::Context,
    device: &DeviceState,
    paths: usize,
) -> Vec<Vec<Event>> {
    let cap = device.info.event_capacity as usize;
    let ints: Vec<u32> = device
        .read(ctx, binding::EVENTS_INT, paths * (1 + cap * EVENT_INTS), "events_int")
        .unwrap();
    let reals: Vec<R> =
        device.read(ctx, binding::EVENTS_REAL, paths * cap * EVENT_REALS, "events_real").unwrap();
    (0..paths)
        .map(|p| {
            // Layout of shared/state.wgsl: the counts first, then `cap` records per path.
            let count = ints[p] as usize;
            assert!(count <= cap, "path {p}: {count} events overflow the capacity {cap}");
            (0..count)
                .map(|k| {
                    let ri = paths + (p * cap + k) * EVENT_INTS;
                    let rr = (p * cap + k) * EVENT_REALS;
                    Event {
                        kind: ints[ri],
                        step: ints[ri + 1],
                        block: ints[ri + 2],
                        slot: ints[ri + 3],
                        value: reals[rr].f64(),
                        value2: reals[rr + 1].f64(),
                        ints: ints[ri + 4..ri + EVENT_INTS].to_vec(),
                        // The slot's fields (the path's globals follow them).
                        reals: reals[rr + 2..rr + 2 + taosim_core::state::SubnetReal::<R>::FIELDS]
                            .iter()
                            .map(|x| x.f64())
                            .collect(),
                    }
                })
                .collect()
        })
        .collect()
}

/// Compares the device's events with the CPU's: kind, step, block, slot exactly, the values within
/// `tolerance` relative. Returns the worst relative difference.
fn assert_events_match(stage: &str, gpu: &[Vec<Event>], cpu: &[Vec<Event>], tolerance: f64) -> f64 {
    let mut worst = 0.0_f64;
    for (p, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        let key = |e: &Event| (e.kind, e.step, e.block, e.slot);
        let gk: Vec<_> = g.iter().map(key).collect();
        let ck: Vec<_> = c.iter().map(key).collect();
        assert_eq!(gk, ck, "{stage}: path {p}: events (kind, step, block, slot) differ");
        for (a, b) in g.iter().zip(c) {
            let (d, _) = max_rel_diff(&[a.value, a.value2], &[b.value, b.value2], 1e-300);
            assert!(
                d <= tolerance,
                "{stage}: path {p}: event {a:?} vs {b:?}: values differ by {d:e} relative"
            );
            worst = worst.max(d);
        }
    }
    worst
}

/// The price of slot `i` as the engine computes it for events.
fn price_of<R: Real>(plan: &RunPlan, st: &taosim_core::state::PathState<'_, R>, i: usize) -> f64 {
    let pool = Pool::weighted(st.sub.tao[i], st.sub.alpha[i], st.sub.w_quote[i]);
    amm::price(plan.step.chain.amm, &pool).f64()
}

fn event(kind: EventKind, step: u32, block: u32, slot: usize, value: f64, value2: f64) -> Event {
    Event {
        kind: kind as u32,
        step,
        block,
        slot: slot as u32,
        value,
        value2,
        ints: Vec::new(),
        reals: Vec::new(),
    }
}

/// The value of the WGSL `const` `name` (a u32 or f32 literal) in `module`, as f64.
fn wgsl_const(module: &naga::Module, name: &str) -> f64 {
    let (_, constant) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("WGSL const {name} missing"));
    match module.global_expressions[constant.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => f64::from(v),
        naga::Expression::Literal(naga::Literal::F32(v)) => f64::from(v),
        ref other => panic!("{name} is not a u32/f32 literal: {other:?}"),
    }
}

/// Distance of `got` from `want` in units in the last place of `want` at the precision.
fn ulps(got: f64, want: f64, eps: f64) -> f64 {
    if got == want {
        return 0.0;
    }
    (got - want).abs() / (want.abs().max(f64::MIN_POSITIVE) * eps)
}

// ---------------------------------------------------------------------------------------------
// Constants and distributions

/// The stream ids, GLOBAL_SUBNET and the Poisson and whale bounds written into the WGSL equal the
/// Rust constants they twin (a renumbered stream would silently draw other words).
#[test]
fn rng_and_behaviour_constants_match_rust() {
    use taosim_core::rng::{
        GLOBAL_SUBNET, POISSON_INVERSION_MAX_LAMBDA, POISSON_MAX_TERMS, stream,
    };
    let plan = plan("");
    let params = taosim_gpu::params::step_params::<f64>(&plan);
    let source = taosim_gpu::shaders::step_library(Precision::F64, &params);
    let module = naga::front::wgsl::parse_str(&source).expect("the step library parses");
    let expected: &[(&str, u32)] = &[
        ("GLOBAL_SUBNET", GLOBAL_SUBNET),
        ("STREAM_BEHAVIOUR_NORMALS", stream::BEHAVIOUR_NORMALS),
        ("STREAM_MARKET", stream::MARKET),
        ("STREAM_BEHAVIOUR_COUNTS", stream::BEHAVIOUR_COUNTS),
        ("STREAM_PANIC", stream::PANIC),
        ("STREAM_ZERO_EMISSION_EXIT", stream::ZERO_EMISSION_EXIT),
        ("STREAM_WHALE", stream::WHALE),
        ("STREAM_WHALE_SIZE", stream::WHALE_SIZE),
        ("STREAM_BUYBACK", stream::BUYBACK),
        ("STREAM_REGISTRATION", stream::REGISTRATION),
        ("STREAM_NEW_SUBNET", stream::NEW_SUBNET),
        ("STREAM_INIT_SYNTHETIC", stream::INIT_SYNTHETIC),
        ("STREAM_YUMA_MINER_QUALITY", stream::YUMA_MINER_QUALITY),
        ("STREAM_YUMA_MINER_QUALITY_LEN", stream::YUMA_MINER_QUALITY_LEN),
        ("STREAM_YUMA_NOISE", stream::YUMA_NOISE),
        ("STREAM_YUMA_NOISE_LEN", stream::YUMA_NOISE_LEN),
        ("POISSON_MAX_TERMS", POISSON_MAX_TERMS),
        ("WHALES_PER_STEP_MAX", taosim_core::cpu::behaviour::WHALES_PER_STEP_MAX),
    ];
    for &(name, value) in expected {
        assert_eq!(wgsl_const(&module, name), f64::from(value), "{name}");
    }
    assert_eq!(wgsl_const(&module, "POISSON_INVERSION_MAX_LAMBDA"), POISSON_INVERSION_MAX_LAMBDA);
}

/// Runs `body` (WGSL statements reading `w: vec4<u32>` and writing `y0..y3: Real`) over `words`
/// on the device with the real prelude of `precision` and shaders/model/rng.wgsl.
fn run_words(
    ctx: &taosim_gpu::Context,
    precision: Precision,
    body: &str,
    words: &[[u32; 4]],
) -> Vec<[f64; 4]> {
    use wgpu::util::DeviceExt;
    let (_, prelude) = precision.prelude();
    let rng = taosim_gpu::shaders::MODEL
        .iter()
        .find(|(name, _)| *name == "model/rng.wgsl")
        .expect("rng.wgsl in MODEL")
        .1;
    let source = format!(
        "{prelude}\n{rng}\n@group(0) @binding(0) var<storage, read> words: array<vec4<u32>>;\n\
         @group(0) @binding(1) var<storage, read_write> out: array<Real>;\n\
         @compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         if (gid.x >= arrayLength(&words)) {{ return; }}\nlet w = words[gid.x];\n\
         var y0 = Real(0.0); var y1 = Real(0.0); var y2 = Real(0.0); var y3 = Real(0.0);\n{body}\n\
         out[4u * gid.x] = y0; out[4u * gid.x + 1u] = y1;\n\
         out[4u * gid.x + 2u] = y2; out[4u * gid.x + 3u] = y3;\n}}\n"
    );
    let device = &ctx.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("rng.words"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("rng.words"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("rng.words.in"),
        contents: bytemuck::cast_slice(words),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let bytes = (words.len() * 4 * precision.bytes() as usize) as u64;
    let output = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("rng.words.out"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: input.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: output.as_entire_binding() },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups((words.len() as u32).div_ceil(64), 1, 1);
    }
    ctx.queue.submit([encoder.finish()]);
    let data = taosim_gpu::stages::read_back(device, &ctx.queue, &output, bytes, "rng.words")
        .expect("read back");
    let flat: Vec<f64> = match precision {
        Precision::F64 => bytemuck::cast_slice::<u8, f64>(&data).to_vec(),
        Precision::F32 => {
            bytemuck::cast_slice::<u8, f32>(&data).iter().map(|&x| f64::from(x)).collect()
        }
    };
    flat.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect()
}

/// Random Philox words plus the edges of the 24-bit uniform grid (0, the top, the points whose
/// Box–Muller angle lands next to a multiple of π/2, both sides of Acklam's central region).
fn test_words(n: u32) -> Vec<[u32; 4]> {
    let rng = PathRng::new(0xD157, 3, 5);
    let mut words: Vec<[u32; 4]> = (0..n).map(|k| rng.block(k, 1, 2)).collect();
    let grid = |k: u32| k << 8;
    let edges = [
        0,
        0xFF,
        u32::MAX,
        grid(1 << 22),
        grid((1 << 22) - 1),
        grid(1 << 23),
        grid((1 << 23) - 1),
        grid(3 << 22),
        grid((3 << 22) - 1),
        grid((0.02425 * 16_777_216.0) as u32),
        grid((0.02425 * 16_777_216.0) as u32 + 1),
        grid(((1.0 - 0.02425) * 16_777_216.0) as u32),
        grid(((1.0 - 0.02425) * 16_777_216.0) as u32 - 1),
    ];
    for &a in &edges {
        for &b in &edges {
            words.push([a, b, b, a]);
        }
    }
    words
}

/// What rng.wgsl computes from one block `w`, in the CPU's functions at precision `R`: uniform of
/// w0, normal pair of (w0, w1), Acklam normal of w2, exponential of w3 (slots 0-4), and lognormal
/// and Poisson draws for the means of [`POISSON_MEANS`].
const POISSON_MEANS: [f64; 9] = [0.0, 5e-4, 0.02, 0.5, 3.0, 17.0, 32.0, 40.0, 1e7];

/// The distribution functions of rng.wgsl against taosim_core::rng, in f64 (software ln/exp and
/// cos/sin on the device): uniforms and Poisson counts bit-identical; Box–Muller normals within
/// 8 ulps relative (the device's ln is within 4 ulps of libm, its polynomial cos/sin within 2,
/// sqrt halves the ln's error; the worst seen is printed), Acklam normals within 4e-15 absolute
/// (their tails go through ln), exponentials within 4 ulps, lognormals within 1e-14 relative
/// (exp of a value of size ≤ 20 carries its argument's absolute error ×1).
#[test]
fn distributions_match_rust_in_f64() {
    let Some(ctx) = context() else { return };
    distributions::<f64>(&ctx, Precision::F64, 8.0, 4e-15, 4.0, 1e-14);
}

/// The same in f32 against the f32 CPU functions: uniforms bit-identical; Poisson counts equal but
/// for the rare draw within an ulp of a CDF step (off by one; by 4 ulps of λ in the normal
/// approximation) or where the f32 CDF sum stalls below
/// u next to 1 (the edge words hit that zone on purpose; at most 1 in 2,000 inversion counts differ; the
/// count seen is printed); normals within 64 f32 ulps relative or 2e-6 absolute (the device's f32 ln is a few
/// ulps from libm's, the Box–Muller angle's reduction rounds k·π/2 in f32); Acklam normals within
/// 2e-6 absolute; exponentials within 16 ulps; lognormals within 2e-5 relative.
#[test]
fn distributions_match_rust_in_f32() {
    let Some(ctx) = context() else { return };
    distributions::<f32>(&ctx, Precision::F32, 64.0, 2e-6, 16.0, 2e-5);
}

fn distributions<R: Real>(
    ctx: &taosim_gpu::Context,
    precision: Precision,
    normal_ulps: f64,
    acklam_abs: f64,
    exp_ulps: f64,
    lognormal_rel: f64,
) {
    use taosim_core::rng::{
        exponential, lognormal, normal_icdf, normal_pair, poisson, uniform_open,
    };
    let words = test_words(20_000);
    let eps = R::EPS;
    let out = run_words(
        ctx,
        precision,
        "let z = normal_pair(w.x, w.y); y0 = uniform_open(w.x); y1 = z.x; y2 = z.y; \
         y3 = normal_icdf(w.z);",
        &words,
    );
    let mut worst = [0.0_f64; 3];
    for (w, got) in words.iter().zip(&out) {
        let u: R = uniform_open(w[0]);
        assert_eq!(got[0], u.f64(), "uniform_open({:#x})", w[0]);
        let (z0, z1) = normal_pair::<R>(w[0], w[1]);
        for (g, want) in [(got[1], z0.f64()), (got[2], z1.f64())] {
            // Relative where the value is not tiny; near a zero of cos/sin compare absolutely at
            // the radius' scale (the angle itself carries one rounding on both sides).
            let d = ulps(g, want, eps).min((g - want).abs() / (8.0 * eps));
            assert!(d <= normal_ulps, "normal_pair({w:x?}): device {g:e}, cpu {want:e} ({d} ulps)");
            worst[0] = worst[0].max(d);
        }
        let want = normal_icdf::<R>(w[2]).f64();
        let d = (got[3] - want).abs();
        assert!(d <= acklam_abs, "normal_icdf({:#x}): device {}, cpu {want} ({d:e})", w[2], got[3]);
        worst[1] = worst[1].max(d);
    }
    let out = run_words(ctx, precision, "y0 = exponential(w.w);", &words);
    for (w, got) in words.iter().zip(&out) {
        let want = exponential::<R>(w[3]).f64();
        let d = ulps(got[0], want, eps);
        assert!(
            d <= exp_ulps,
            "exponential({:#x}): device {}, cpu {want} ({d} ulps)",
            w[3],
            got[0]
        );
        worst[2] = worst[2].max(d);
    }
    eprintln!(
        "{}: worst normal_pair {} ulps, normal_icdf {:e} absolute, exponential {} ulps",
        precision.name(),
        worst[0],
        worst[1],
        worst[2]
    );
    let mut flips = 0;
    let mut worst_lognormal = 0.0_f64;
    for &lambda in &POISSON_MEANS {
        let body = format!(
            "y0 = Real(poisson(Real({lambda:e}), w.x, w.y)); \
             y1 = lognormal(Real(1.5), Real(0.8), w.z, w.w);"
        );
        let out = run_words(ctx, precision, &body, &words);
        for (w, got) in words.iter().zip(&out) {
            let want = poisson(R::of(lambda), w[0], w[1]);
            if got[0] != f64::from(want) {
                // The normal approximation's counts are checked by the bound below only.
                flips += usize::from(lambda <= 32.0);
                // f32: a neighbouring count (above λ = 32, within 4 ulps of λ: the normal
                // approximation rounds λ + √λ·z in f32), or any count where the CDF sum stalls below u
                // (u within 64 grid steps of 1: there the last ulps of exp and the sums decide).
                let stall_zone = uniform_open::<f64>(w[0]) > 1.0 - 64.0 / 16_777_216.0;
                assert!(
                    precision == Precision::F32
                        && ((got[0] - f64::from(want)).abs() <= 1.0 + 4.0 * eps * lambda
                            || stall_zone),
                    "poisson({lambda}, {:#x}, {:#x}): device {}, cpu {want}",
                    w[0],
                    w[1],
                    got[0]
                );
            }
            let want = lognormal(R::of(1.5), R::of(0.8), w[2], w[3]).f64();
            let (d, _) = max_rel_diff(&[got[1]], &[want], 1e-300);
            assert!(d <= lognormal_rel, "lognormal({:#x}, {:#x}): {d:e} relative", w[2], w[3]);
            worst_lognormal = worst_lognormal.max(d);
        }
    }
    let draws = POISSON_MEANS.len() * words.len();
    eprintln!(
        "{}: poisson counts by inversion differing {flips} of {draws}; worst lognormal {worst_lognormal:e}",
        precision.name()
    );
    assert!(flips * 2000 <= draws, "{flips} Poisson counts of {draws} differ");
}

// ---------------------------------------------------------------------------------------------
// behaviour

/// Config overrides of the behaviour cases: frequent quality jumps, whales (up to the clip of
/// four), registrations, panics and exoduses, so every branch of the stage runs on most slots;
/// `behaviour` adds keys to that table, `rest` other tables.
fn busy(behaviour: &str, registrations_per_day: f64, rest: &str) -> String {
    format!(
        "[behaviour]\njump_rate_per_year = 5000.0\nwhale_rate_per_year = 30000.0\n\
         panic_drawdown = 0.3\nzero_emission_patience_days = 3.0\n{behaviour}\n\
         [registration]\nrate_per_day = {registrations_per_day:?}\n{rest}\n"
    )
}

/// A random batch for the agents' stages: `random_batch` plus random latent quality, momentum,
/// previous and peak prices (some fresh: previous price 0), dividend rates, zero shares and
/// streaks, buybacks, market factor and step.
fn agents_batch(plan: &RunPlan, paths: usize, seed: u64) -> BatchState<f64> {
    let mut state = random_batch::<f64>(plan, paths, seed);
    let mut noise = Noise::new(seed ^ 0xA6E7);
    for p in 0..paths {
        let mut st = state.path(p);
        st.global.market[0] = noise.u() - 0.5;
        st.global_int.step[0] = (noise.u() * 20_000.0) as u32;
        for i in 0..plan.slots {
            if st.sub_int.active[i] == 0 {
                continue;
            }
            let price = price_of(plan, &st, i);
            let s = &mut st.sub;
            s.quality[i] = 2.0 * noise.u() - 1.0;
            s.momentum[i] = 0.2 * (noise.u() - 0.5);
            s.prev_price[i] = if noise.u() < 0.1 { 0.0 } else { price * noise.factor(0.3) };
            s.peak_price[i] = price * (1.0 + 2.0 * noise.u());
            s.dividend_rate[i] = 1e-4 * noise.u();
            if noise.u() < 0.3 {
                s.share[i] = 0.0;
            }
            s.buyback_per_day[i] = if noise.u() < 0.2 { 50.0 * noise.u() } else { 0.0 };
            st.sub_int.zero_share_steps[i] =
                if noise.u() < 0.5 { 0 } else { (noise.u() * 200.0) as u32 };
        }
    }
    state
}

/// Runs behaviour on the device and the CPU twin at precision `R` and compares state, orders and
/// arrivals. Returns the worst relative difference of the orders and of the willingness.
fn behaviour_case<R: Real + bytemuck::Pod>(
    ctx: &taosim_gpu::Context,
    plan: &RunPlan,
    start: &BatchState<f64>,
    what: &str,
    (tolerance, floor): (f64, f64),
) -> (f64, f64) {
    let mut gpu = start.to_precision::<R>();
    let mut cpu = gpu.clone();
    let id = BatchId { seed: plan.config.run.seed, point: 2, first_path: 40 };
    let device = run_step_stage(ctx, "behaviour", plan, id, &mut gpu, &[], &[]).expect("dispatch");
    let layout = ScratchLayout::new(plan.slots, plan.yuma);
    let paths = gpu.paths;
    let xr: Vec<R> =
        device.read(ctx, binding::SCRATCH_REAL, paths * layout.reals, "scratch_real").unwrap();
    let xi: Vec<u32> =
        device.read(ctx, binding::SCRATCH_INT, paths * layout.ints, "scratch_int").unwrap();
    let cfg = &plan.config;
    let s = plan.slots;
    let (mut gpu_orders, mut cpu_orders) = (Vec::new(), Vec::new());
    let (mut gpu_will, mut cpu_will) = (Vec::new(), Vec::new());
    let mut arrivals = 0;
    for p in 0..paths {
        let mut st = cpu.path(p);
        let step = st.global_int.step[0];
        let rng = PathRng::new(id.seed, id.point, id.first_path + p as u32);
        let mut orders = vec![taosim_core::cpu::swaps::Orders::<R>::default(); s];
        let arrival = taosim_core::cpu::behaviour::behaviour(
            &plan.step,
            &cfg.behaviour,
            &cfg.registration,
            &rng,
            step,
            &mut st,
            &mut orders,
        );
        let base = p * layout.reals;
        for (i, o) in orders.iter().enumerate() {
            cpu_orders.extend([o.stake_tao.f64(), o.unstake_alpha.f64()]);
            gpu_orders.extend([xr[base + i].f64(), xr[base + s + i].f64()]);
        }
        let mailbox_int = xi[p * layout.ints + s];
        assert_eq!(mailbox_int, arrival.arrived, "{what}: path {p}: arrival flag");
        arrivals += arrival.arrived;
        cpu_will.push(arrival.willingness.f64());
        gpu_will.push(xr[base + 2 * s].f64());
    }
    assert!(arrivals > 0 && (arrivals as usize) < paths, "{what}: arrivals {arrivals}: both kinds");
    assert_states_match(what, &gpu.to_precision(), &cpu.to_precision(), tolerance, floor);
    let (d_orders, k) = max_rel_diff(&gpu_orders, &cpu_orders, floor);
    assert!(
        d_orders <= tolerance,
        "{what}: order {k} (path {}, slot {}, {}) differs by {d_orders:e}: gpu {}, cpu {}",
        k / (2 * s),
        (k / 2) % s,
        if k % 2 == 0 { "stake" } else { "unstake" },
        gpu_orders[k],
        cpu_orders[k]
    );
    let (d_will, _) = max_rel_diff(&gpu_will, &cpu_will, floor);
    assert!(d_will <= tolerance, "{what}: willingness differs by {d_will:e}");
    let orders = cpu_orders.iter().filter(|&&x| x > 0.0).count();
    eprintln!(
        "{what}: {arrivals} arrivals in {paths} paths, {orders} non-zero orders; worst relative \
         difference: orders {d_orders:e}, willingness {d_will:e}"
    );
    (d_orders, d_will)
}

/// The behaviour cases: busy default (constant product), Balancer with short momentum and market
/// memories and another size elasticity, and 7-block steps.
fn behaviour_plans() -> Vec<RunPlan> {
    vec![
        plan(&busy("", 3.0, "")),
        plan(&busy(
            "momentum_halflife_days = 0.5\nmarket_halflife_days = 0.2\nsize_elasticity = 0.7",
            3.0,
            "[chain]\namm = \"balancer\"",
        )),
        plan(&busy("", 150.0, "[run]\nblocks_per_step = 7")),
    ]
}

/// behaviour in f64 within 1e-12 relative (values under 1e-9 compared absolutely): every draw's
/// words are bit-identical and every integer (Poisson counts, arrival flags, whale directions)
/// too; the reals go through the device's software ln/exp/cos/sin (within 1 ulp of libm in the
/// distribution test), exp of an attractiveness up to the cap (error × |a|) and pow (error ×
/// |elasticity·ln size|), a few ulps in all; the worst seen is printed (about 1e-15).
#[test]
fn behaviour_matches_its_twin_in_f64() {
    let Some(ctx) = context() else { return };
    for (case, plan) in behaviour_plans().iter().enumerate() {
        let start = agents_batch(plan, 48, 300 + case as u64);
        behaviour_case::<f64>(
            &ctx,
            plan,
            &start,
            &format!("behaviour f64 case {case}"),
            (1e-12, 1e-9),
        );
    }
}

/// behaviour in f32 against the f32 twin, within 1e-4 relative, values under 1e-3 compared
/// absolutely (an absolute 1e-7): quality and momentum of size ~1 are updated by sums that can
/// cancel to values near zero, whose error is then the inputs' f32 ulps; the device's native f32
/// exp/pow are a few ulps from Rust's, ln near 1 goes through ln_1p (rng.wgsl `ln_near_one`).
/// The arrival flags and Poisson counts must agree exactly on these draws (the distribution test
/// bounds how rarely an f32 count can flip). Worst order difference seen: about 1.4e-6.
#[test]
fn behaviour_matches_its_twin_in_f32() {
    let Some(ctx) = context() else { return };
    for (case, plan) in behaviour_plans().iter().enumerate() {
        let start = agents_batch(plan, 48, 400 + case as u64);
        behaviour_case::<f32>(
            &ctx,
            plan,
            &start,
            &format!("behaviour f32 case {case}"),
            (1e-4, 1e-3),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// registration

/// A batch for registration: every path's arrival forced on (a tenth rate limited by a recent
/// registration, some willingness below the lock cost), random lock state and issuance (both
/// sides of the first halving), registration blocks on both sides of immunity, zero-share streaks
/// and spiral flags (for the spiral-on-prune rule), tied moving prices, a free slot in a third of
/// the paths, and holders with no alpha in some slots (an unclaimed pot). Returns the batch and
/// the scratch (mailbox) the behaviour stage would have left, reals and integers.
fn registration_batch(
    plan: &RunPlan,
    paths: usize,
    seed: u64,
) -> (BatchState<f64>, Vec<f64>, Vec<u32>) {
    let mut state = agents_batch(plan, paths, seed);
    let mut noise = Noise::new(seed ^ 0x2E6);
    let layout = ScratchLayout::new(plan.slots, plan.yuma);
    let mut xr = vec![0.0; paths * layout.reals];
    let mut xi = vec![0_u32; paths * layout.ints];
    let immunity = plan.step.chain.immunity_period as f64;
    for p in 0..paths {
        let mut st = state.path(p);
        let block = st.global_int.block[0];
        st.global.last_lock[0] = 500.0 + 3000.0 * noise.u();
        st.global.issuance[0] = 9e6 + 3e6 * noise.u();
        st.global_int.last_lock_block[0] = block - (noise.u() * 200_000.0) as u32;
        st.global_int.last_registration_block[0] = if noise.u() < 0.1 {
            block - 100
        } else if noise.u() < 0.1 {
            0
        } else {
            block - 28_800 - (noise.u() * 1000.0) as u32
        };
        let tie = (noise.u() * plan.slots as f64) as usize;
        for i in 0..plan.slots {
            let si = &mut st.sub_int;
            si.registered_block[i] = block.saturating_sub((noise.u() * 2.0 * immunity) as u32);
            si.zero_share_steps[i] =
                if noise.u() < 0.5 { 0 } else { 1 + (noise.u() * 50.0) as u32 };
            si.spiral[i] = u32::from(noise.u() < 0.2);
            si.occupant[i] = (noise.u() * 3.0) as u32;
            let s = &mut st.sub;
            // Low moving prices for a few, so the candidate is often one with a streak.
            s.moving_price[i] = if noise.u() < 0.05 { 1e-4 } else { s.moving_price[i] };
            if noise.u() < 0.1 {
                s.held_organic[i] = 0.0;
                s.held_miners[i] = 0.0;
                s.held_validators[i] = 0.0;
                s.held_owner[i] = 0.0;
                s.held_root[i] = 0.0;
            } else {
                s.held_miners[i] = 100.0 * noise.u();
                s.held_validators[i] = 100.0 * noise.u();
            }
        }
        // Ties on the moving price: the earliest registration, then the lowest slot wins.
        for j in [tie, (tie + 7) % plan.slots, (tie + 9) % plan.slots] {
            st.sub.moving_price[j] = 1e-5;
            st.sub_int.registered_block[j] = block.saturating_sub(2 * immunity as u32);
        }
        st.sub_int.registered_block[(tie + 9) % plan.slots] =
            st.sub_int.registered_block[(tie + 7) % plan.slots];
        if p % 3 == 0 {
            let free = (noise.u() * plan.slots as f64) as usize;
            st.sub_int.active[free] = 0;
        }
        xi[p * layout.ints + plan.slots] = 1;
        xr[p * layout.reals + 2 * plan.slots] =
            if noise.u() < 0.15 { 100.0 } else { 1e4 * (1.0 + noise.u()) };
    }
    (state, xr, xi)
}

/// What the CPU engine does and records in its registration block (engine::simulate_path), for
/// every path; pruned events carry the slot's fields as they stood before the apply.
fn registration_cpu<R: Real>(
    plan: &RunPlan,
    state: &mut BatchState<R>,
    xr: &[R],
    xi: &[u32],
) -> Vec<Vec<Event>> {
    use taosim_core::cpu::registration::{Arrival, apply_registration, registration_decision};
    let layout = ScratchLayout::new(plan.slots, plan.yuma);
    let s = plan.slots;
    let mut all = Vec::new();
    for p in 0..state.paths {
        let mut st = state.path(p);
        let (step, block) = (st.global_int.step[0], st.global_int.block[0]);
        let arrival =
            Arrival { arrived: xi[p * layout.ints + s], willingness: xr[p * layout.reals + 2 * s] };
        let mut events = Vec::new();
        if let Some(reg) = registration_decision(&plan.step, arrival, &st) {
            let slot = reg.slot;
            if reg.prunes {
                if taosim_core::cpu::metrics::in_zero_emission(&st, slot)
                    && st.sub_int.spiral[slot] == 0
                {
                    st.sub_int.spiral[slot] = 1;
                    st.sub_int.spiral_step[slot] = step;
                    let price = price_of(plan, &st, slot);
                    let tao = st.sub.tao[slot].f64();
                    events.push(event(EventKind::Spiral, step, block, slot, price, tao));
                }
                let (pool, moving) = (st.sub.tao[slot].f64(), st.sub.moving_price[slot].f64());
                let mut e = event(EventKind::Pruned, step, block, slot, pool, moving);
                // The occupant's record is taken here, after the spiral mark, before the apply.
                st.sub_int.for_each_field(|column| e.ints.push(column[slot]));
                st.sub.for_each_field(|column| e.reals.push(column[slot].f64()));
                events.push(e);
            }
            let done = apply_registration(&plan.step, reg, &mut st);
            let (cost, start_pool) = (done.registration.cost.f64(), done.start_pool.f64());
            events.push(event(EventKind::Registered, step, block, slot, cost, start_pool));
        }
        all.push(events);
    }
    all
}

/// Runs registration on the device and the CPU engine's registration block at precision `R`;
/// compares the state and the events (kinds, steps, blocks, slots exactly; values and the pruned
/// occupant's snapshot within `tolerance`). Returns (registrations, prunings, spirals on prune).
fn registration_case<R: Real + bytemuck::Pod>(
    ctx: &taosim_gpu::Context,
    plan: &RunPlan,
    seed: u64,
    what: &str,
    tolerance: f64,
) -> (usize, usize, usize) {
    let (start, xr, xi) = registration_batch(plan, 48, seed);
    let xr: Vec<R> = xr.iter().map(|&x| R::of(x)).collect();
    let mut gpu = start.to_precision::<R>();
    let mut cpu = gpu.clone();
    let id = BatchId { seed: plan.config.run.seed, point: 0, first_path: 0 };
    let device =
        run_step_stage(ctx, "registration", plan, id, &mut gpu, &xr, &xi).expect("dispatch");
    let gpu_events = device_events::<R>(ctx, &device, gpu.paths);
    let cpu_events = registration_cpu(plan, &mut cpu, &xr, &xi);
    assert_states_match(what, &gpu.to_precision(), &cpu.to_precision(), tolerance, 1e-300);
    let worst = assert_events_match(what, &gpu_events, &cpu_events, tolerance);
    let count = |k: EventKind| cpu_events.iter().flatten().filter(|e| e.kind == k as u32).count();
    // The pruned occupant's snapshot (taken before the apply) equals the CPU's slot before it.
    for (g, c) in gpu_events.iter().flatten().zip(cpu_events.iter().flatten()) {
        if c.kind == EventKind::Pruned as u32 {
            assert_eq!(g.ints, c.ints, "{what}: pruned snapshot integers of slot {}", c.slot);
            let (d, k) = max_rel_diff(&g.reals, &c.reals, 1e-300);
            assert!(d <= tolerance, "{what}: pruned snapshot real {k} differs by {d:e}");
        }
    }
    let counts = (count(EventKind::Registered), count(EventKind::Pruned), count(EventKind::Spiral));
    eprintln!(
        "{what}: {} registrations, {} prunings, {} spirals on prune in {} paths; worst event value \
         difference {worst:e}",
        counts.0, counts.1, counts.2, gpu.paths
    );
    assert!(counts.0 > gpu.paths / 2, "{what}: registrations happen in most paths");
    assert!(
        counts.1 > 0 && counts.1 < counts.0,
        "{what}: both free-slot and pruning registrations"
    );
    assert!(counts.2 > 0, "{what}: some prunings count as spirals");
    counts
}

fn registration_plans() -> Vec<RunPlan> {
    vec![
        plan(""),
        plan("[chain]\namm = \"balancer\"\n[registration]\nstart_pool_tao = 600.0"),
        plan("[run]\nblocks_per_step = 7\n[registration]\nstart_pool_tao = 1e9"),
    ]
}

/// registration in f64, Yuma off: integers (decisions, slots, blocks, counters, event keys)
/// bit-identical; reals within 1e-12 relative. The stage is arithmetic only (lock cost with its
/// floors, dissolution with a compensated sum that Mesa may fold, bookkeeping): in practice equal.
#[test]
fn registration_matches_the_engine_in_f64() {
    let Some(ctx) = context() else { return };
    for (case, plan) in registration_plans().iter().enumerate() {
        let what = format!("registration f64 case {case}");
        registration_case::<f64>(&ctx, plan, 500 + case as u64, &what, 1e-12);
    }
}

/// registration in f32 against the f32 twin, Yuma off: integers bit-identical, reals within 4
/// f32 ulps (5e-7 relative): arithmetic only, as in f64.
#[test]
fn registration_matches_the_engine_in_f32() {
    let Some(ctx) = context() else { return };
    for (case, plan) in registration_plans().iter().enumerate() {
        let what = format!("registration f32 case {case}");
        registration_case::<f32>(
            &ctx,
            plan,
            600 + case as u64,
            &what,
            4.0 * f64::from(f32::EPSILON),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// metrics

/// A batch for metrics: six slots per path on the edge of the spiral rule (streak one short of
/// it or past it, zero or positive share, price around the fraction of its peak, pool around the
/// fraction of its start, some already spiralled), the other slots with random shares and short
/// streaks; random eligibility. At most six spirals a path (the event log holds eight).
fn metrics_batch(plan: &RunPlan, paths: usize, seed: u64) -> (BatchState<f64>, Vec<u32>) {
    let mut state = agents_batch(plan, paths, seed);
    let mut noise = Noise::new(seed ^ 0x3E7);
    let layout = ScratchLayout::new(plan.slots, plan.yuma);
    let mut eligible = vec![0_u32; paths * layout.ints];
    let rule = plan.spiral;
    for p in 0..paths {
        let mut st = state.path(p);
        st.global.min_reserve_seen[0] = if noise.u() < 0.5 { f64::MAX } else { 50.0 * noise.u() };
        st.global.max_alpha_issuance_seen[0] = 1e6 * noise.u();
        let first = (noise.u() * plan.slots as f64) as usize;
        for i in 0..plan.slots {
            eligible[p * layout.ints + i] =
                u32::from(st.sub_int.active[i] != 0 && noise.u() < 0.85);
            let edge = (i + plan.slots - first) % plan.slots < 6;
            let price = price_of(plan, &st, i);
            let (s, si) = (&mut st.sub, &mut st.sub_int);
            s.alpha_out[i] = s.alpha[i] * (1.0 + noise.u());
            s.share_sum[i] = 10.0 * noise.u();
            si.steps_alive[i] = (noise.u() * 1000.0) as u32;
            if edge {
                si.spiral[i] = u32::from(noise.u() < 0.15);
                si.zero_share_steps[i] = rule.zero_share_steps - u32::from(noise.u() < 0.3);
                s.share[i] = if noise.u() < 0.8 { 0.0 } else { 1e-3 };
                s.peak_price[i] = price / rule.price_fraction * (0.9 + 0.3 * noise.u());
                s.start_tao[i] = s.tao[i] / rule.pool_fraction * (0.9 + 0.3 * noise.u());
            } else {
                si.zero_share_steps[i] = (noise.u() * 3.0) as u32;
                si.spiral[i] = 0;
                s.start_tao[i] = s.tao[i];
            }
        }
    }
    (state, eligible)
}

/// Runs metrics on the device and the CPU twin (+ the engine's record_spiral) at precision `R`,
/// compares state and spiral events. Returns the number of spirals.
fn metrics_case<R: Real + bytemuck::Pod>(
    ctx: &taosim_gpu::Context,
    plan: &RunPlan,
    seed: u64,
    what: &str,
    tolerance: f64,
) -> usize {
    let (start, eligible) = metrics_batch(plan, 48, seed);
    let mut gpu = start.to_precision::<R>();
    let mut cpu = gpu.clone();
    let id = BatchId { seed: plan.config.run.seed, point: 0, first_path: 0 };
    let device =
        run_step_stage(ctx, "metrics", plan, id, &mut gpu, &[], &eligible).expect("dispatch");
    let gpu_events = device_events::<R>(ctx, &device, gpu.paths);
    let layout = ScratchLayout::new(plan.slots, plan.yuma);
    let mut cpu_events = Vec::new();
    for p in 0..cpu.paths {
        let mut st = cpu.path(p);
        let (step, block) = (st.global_int.step[0], st.global_int.block[0]);
        let flags = &eligible[p * layout.ints..p * layout.ints + plan.slots];
        let mut spirals = Vec::new();
        taosim_core::cpu::metrics::metrics(&plan.step, &plan.spiral, flags, &mut st, |slot| {
            spirals.push(slot)
        });
        let events: Vec<Event> = spirals
            .iter()
            .map(|&slot| {
                let (price, tao) = (price_of(plan, &st, slot), st.sub.tao[slot].f64());
                event(EventKind::Spiral, step, block, slot, price, tao)
            })
            .collect();
        cpu_events.push(events);
    }
    assert_states_match(what, &gpu.to_precision(), &cpu.to_precision(), tolerance, 1e-300);
    let worst = assert_events_match(what, &gpu_events, &cpu_events, tolerance);
    let spirals = cpu_events.iter().flatten().count();
    eprintln!(
        "{what}: {spirals} spirals in {} paths; worst event value difference {worst:e}",
        cpu.paths
    );
    assert!(spirals >= cpu.paths, "{what}: spirals in most paths ({spirals})");
    spirals
}

fn metrics_plans() -> Vec<RunPlan> {
    vec![
        plan(""),
        plan(
            "[chain]\namm = \"balancer\"\n[death_spiral]\nzero_share_days = 0.5\nprice_fraction = 0.5",
        ),
        plan("[run]\nblocks_per_step = 7\n[death_spiral]\npool_fraction = 0.8"),
    ]
}

/// metrics in f64: integers (streaks, flags, spiral steps, block and step, event keys)
/// bit-identical, reals within 1e-12 relative (min, max, one addition and the spot price: in
/// practice equal).
#[test]
fn metrics_matches_its_twin_in_f64() {
    let Some(ctx) = context() else { return };
    for (case, plan) in metrics_plans().iter().enumerate() {
        let what = format!("metrics f64 case {case}");
        metrics_case::<f64>(&ctx, plan, 700 + case as u64, &what, 1e-12);
    }
}

/// metrics in f32 against the f32 twin: integers bit-identical, reals within 4 f32 ulps
/// (arithmetic only).
#[test]
fn metrics_matches_its_twin_in_f32() {
    let Some(ctx) = context() else { return };
    for (case, plan) in metrics_plans().iter().enumerate() {
        let what = format!("metrics f32 case {case}");
        metrics_case::<f32>(&ctx, plan, 800 + case as u64, &what, 4.0 * f64::from(f32::EPSILON));
    }
}
