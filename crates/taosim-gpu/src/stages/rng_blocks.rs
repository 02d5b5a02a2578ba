//! GPU stage `rng_blocks` (shaders/rng_blocks.wgsl; CPU twin `taosim_core::cpu::rng_blocks`).

use wgpu::util::DeviceExt;

use super::{Pipeline, read_back};
use crate::types::{RngBlocksParams, WORKGROUP_SIZE};
use crate::{Context, GpuError};

/// Runs `rng_blocks` for `params` and returns the words (`paths · subnets · 4`).
pub fn rng_blocks(
    ctx: &Context,
    params: &taosim_core::cpu::rng_blocks::RngBlocksParams,
) -> Result<Vec<u32>, GpuError> {
    let stage = crate::shaders::stage("rng_blocks").expect("in the stage table");
    let pipeline = Pipeline::new(&ctx.device, stage)?;
    let uniforms = RngBlocksParams::from(params);
    let n = u64::from(params.paths) * u64::from(params.subnets);
    let bytes = n * 16;
    let device = &ctx.device;
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("rng_blocks.params"),
        contents: bytemuck::bytes_of(&uniforms),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("rng_blocks.out"),
        size: bytes.max(16),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("rng_blocks"),
        layout: &pipeline.layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
        ],
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(n.div_ceil(u64::from(WORKGROUP_SIZE)) as u32, 1, 1);
    }
    ctx.queue.submit([encoder.finish()]);
    let data = read_back(device, &ctx.queue, &out, bytes.max(16), "rng_blocks.out")?;
    Ok(bytemuck::cast_slice::<u8, u32>(&data)[..n as usize * 4].to_vec())
}
