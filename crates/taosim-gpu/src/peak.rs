//! The device's multiply-add peak, for `taosim bench`'s fraction of peak on the GPU.
//!
//! A compute kernel in which every invocation runs `ITERATIONS` rounds of `CHAINS` independent
//! multiply-add chains (`x ← x·a + b`, two operations each) in the run's precision, timed from
//! submission to completion and repeated, keeping the best. The chains are independent so the
//! device's pipelines stay full; the result is written back so the compiler cannot drop the loop.
//! `ITERATIONS` stays under lavapipe's 65,535 loop passes per invocation (docs/gpu.md).

use std::time::Instant;

use wgpu::util::DeviceExt;

use crate::shaders::Precision;
use crate::{Context, GpuError};

/// Rounds per invocation.
const ITERATIONS: u32 = 4096;
/// Independent chains per invocation.
const CHAINS: u32 = 16;
/// Invocations per dispatch.
const INVOCATIONS: u32 = 64 * 1024;

fn source(precision: Precision) -> String {
    let real = precision.name();
    let mut chains = String::new();
    for k in 0..CHAINS {
        chains.push_str(&format!("    var x{k} = {real}(gid.x + {k}u) * 1e-9;\n"));
    }
    let mut body = String::new();
    for k in 0..CHAINS {
        body.push_str(&format!("        x{k} = x{k} * a + b;\n"));
    }
    let sum: Vec<String> = (0..CHAINS).map(|k| format!("x{k}")).collect();
    format!(
        "@group(0) @binding(0) var<storage, read_write> out: array<{real}>;\n\
         @compute @workgroup_size(64)\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         let a = {real}(0.999999);\n    let b = {real}(1e-7);\n{chains}\
         for (var i = 0u; i < {ITERATIONS}u; i = i + 1u) {{\n{body}    }}\n\
         out[gid.x] = {};\n}}\n",
        sum.join(" + ")
    )
}

/// The best of `repeats` timed dispatches, in GFLOP/s (a multiply and an add count two).
pub fn peak_gflops(ctx: &Context, precision: Precision, repeats: u32) -> Result<f64, GpuError> {
    let device = &ctx.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("taosim.peak"),
        source: wgpu::ShaderSource::Wgsl(source(precision).into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("taosim.peak"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bytes = u64::from(INVOCATIONS) * precision.bytes();
    let out = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("taosim.peak.out"),
        contents: &vec![0_u8; bytes as usize],
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry { binding: 0, resource: out.as_entire_binding() }],
    });
    let flops = 2.0 * f64::from(CHAINS) * f64::from(ITERATIONS) * f64::from(INVOCATIONS);
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(INVOCATIONS / 64, 1, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback { what: "peak", message: e.to_string() })?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    // Read one value so the work is observable (and a device fault surfaces here).
    crate::stages::read_back_range(device, &ctx.queue, &out, 0, precision.bytes(), "peak")?;
    ctx.check()?;
    Ok(flops / best / 1e9)
}
