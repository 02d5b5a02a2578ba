//! One module per stage with a shader: pipeline, buffers, dispatch, readback (same stems as
//! `taosim_core::cpu`).

pub mod rng_blocks;

use crate::GpuError;
use crate::shaders::{BindType, Stage};

/// A compute pipeline built from the stage table (explicit layout, not reflection).
#[derive(Debug)]
pub struct Pipeline {
    /// The stage.
    pub stage: &'static Stage,
    /// Its bind group layout (group 0).
    pub layout: wgpu::BindGroupLayout,
    /// The pipeline.
    pub pipeline: wgpu::ComputePipeline,
}

impl Pipeline {
    /// Compiles `stage` (prelude + stage) on `device`, catching validation errors.
    pub fn new(device: &wgpu::Device, stage: &'static Stage) -> Result<Self, GpuError> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let source = crate::shaders::assemble(stage);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(stage.name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = stage
            .bindings
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match b {
                        BindType::Uniform => wgpu::BufferBindingType::Uniform,
                        BindType::StorageRead => {
                            wgpu::BufferBindingType::Storage { read_only: true }
                        }
                        BindType::Storage => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(stage.name),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(stage.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&format!("taosim.{}", stage.name)),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Stage { stage: stage.name, message: error.to_string() });
        }
        Ok(Self { stage, layout, pipeline })
    }
}

/// Copies `buffer` (`bytes` long, `COPY_SRC`) back to the host.
pub fn read_back(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    bytes: u64,
    what: &'static str,
) -> Result<Vec<u8>, GpuError> {
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("taosim.readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
    queue.submit([encoder.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Readback { what, message: e.to_string() })?;
    rx.recv()
        .map_err(|e| GpuError::Readback { what, message: e.to_string() })?
        .map_err(|e| GpuError::Readback { what, message: e.to_string() })?;
    let data = staging
        .get_mapped_range(..)
        .map_err(|e| GpuError::Readback { what, message: e.to_string() })?
        .to_vec();
    staging.unmap();
    Ok(data)
}
