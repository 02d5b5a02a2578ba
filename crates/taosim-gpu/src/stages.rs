//! One module per stage with a shader (same stems as `taosim_core::cpu`): its parameters and,
//! for tests, a runner of the stage alone on a batch; plus the pipeline, dispatch and readback
//! every stage uses.

pub mod behaviour;
pub mod emission_shares;
pub mod epoch;
pub mod guards;
pub mod injection;
pub mod metrics;
pub mod moving_price;
pub mod registration;
pub mod rng_blocks;
pub mod swaps;

use taosim_core::Real;
use taosim_core::engine::RunPlan;
use taosim_core::state::BatchState;

use crate::device::{BatchId, DeviceState};
use crate::params::{Params, step_params};
use crate::shaders::{BindType, Dispatch, Precision, Stage};
use crate::{Context, GpuError};

/// A compute pipeline built from the stage table (explicit layout, not reflection).
#[derive(Debug)]
pub struct Pipeline {
    /// The stage.
    pub stage: &'static Stage,
    /// Its bind group layout (group 0).
    pub layout: wgpu::BindGroupLayout,
    /// The pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// The shape it was built for (standalone stages: per path).
    pub shape: Dispatch,
}

impl Pipeline {
    /// Compiles the standalone `stage` on `device`, catching validation errors.
    pub fn new(device: &wgpu::Device, stage: &'static Stage) -> Result<Self, GpuError> {
        Self::from_source(device, stage, Dispatch::PerPath, crate::shaders::assemble(stage))
    }

    /// Compiles step stage `stage` in its table shape at `precision` with the parameter names of
    /// `params`.
    pub fn step<R>(
        device: &wgpu::Device,
        stage: &'static Stage,
        precision: Precision,
        params: &Params<R>,
    ) -> Result<Self, GpuError> {
        Self::step_as(device, stage, stage.dispatch(), precision, params)
    }

    /// Compiles step stage `stage` in shape `shape` (see [`crate::shaders::assemble_step_as`]).
    pub fn step_as<R>(
        device: &wgpu::Device,
        stage: &'static Stage,
        shape: Dispatch,
        precision: Precision,
        params: &Params<R>,
    ) -> Result<Self, GpuError> {
        let source = crate::shaders::assemble_step_as(stage, shape, precision, params);
        Self::from_source(device, stage, shape, source)
    }

    fn from_source(
        device: &wgpu::Device,
        stage: &'static Stage,
        shape: Dispatch,
        source: String,
    ) -> Result<Self, GpuError> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(stage.name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = stage
            .bindings()
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
        Ok(Self { stage, layout, pipeline, shape })
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
    read_back_range(device, queue, buffer, 0, bytes, what)
}

/// Copies `bytes` bytes of `buffer` from byte `offset` back to the host (both multiples of 4).
pub fn read_back_range(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    offset: u64,
    bytes: u64,
    what: &'static str,
) -> Result<Vec<u8>, GpuError> {
    if bytes == 0 {
        return Ok(Vec::new());
    }
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("taosim.readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, bytes);
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

/// Records one dispatch of a step stage over `paths` paths into `encoder`, in the pipeline's
/// [`Dispatch`] shape, in a compute pass of its own (with `timestamps` written at its start and
/// end when given: [`crate::stage_timing`]).
pub fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &Pipeline,
    bind: &wgpu::BindGroup,
    paths: u32,
    timestamps: Option<wgpu::ComputePassTimestampWrites<'_>>,
) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(pipeline.stage.name),
        timestamp_writes: timestamps,
    });
    pass.set_pipeline(&pipeline.pipeline);
    pass.set_bind_group(0, bind, &[]);
    pass.dispatch_workgroups(pipeline.shape.workgroups(paths), 1, 1);
}

/// TEST HARNESS: runs step stage `name` once over `state` on the device in its table shape (with
/// `TAOSIM_STAGE_PER_PATH=1`: in the shape of CPU adapters), with `plan`'s parameters
/// and the scratch `scratch_real` / `scratch_int` (per path, as shared/state.wgsl lays it out;
/// empty = zeroed), and returns the device state (downloaded into `state`) so a test can compare
/// it with the CPU twin run on a copy.
pub fn run_step_stage<R: Real>(
    ctx: &Context,
    name: &str,
    plan: &RunPlan,
    id: BatchId,
    state: &mut BatchState<R>,
    scratch_real: &[R],
    scratch_int: &[u32],
) -> Result<DeviceState, GpuError> {
    let stage = crate::shaders::stage(name).expect("stage in the table");
    assert!(stage.is_step(), "{name} is not a step stage");
    let params = step_params::<R>(plan);
    let device = DeviceState::upload(ctx, id, state, &params, 8);
    // The table's shape (lanes), or with TAOSIM_STAGE_PER_PATH=1 the shape a CPU adapter runs.
    let per_path = std::env::var("TAOSIM_STAGE_PER_PATH").is_ok_and(|v| v == "1");
    let shape = stage.dispatch().on_adapter(per_path);
    let pipeline = Pipeline::step_as(&ctx.device, stage, shape, device.precision, &params)?;
    if !scratch_real.is_empty() {
        device.write(ctx, crate::device::binding::SCRATCH_REAL, scratch_real);
    }
    if !scratch_int.is_empty() {
        device.write(ctx, crate::device::binding::SCRATCH_INT, scratch_int);
    }
    let bind = device.bind_group(ctx, &pipeline.layout);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    dispatch(&mut encoder, &pipeline, &bind, state.paths as u32, None);
    ctx.queue.submit([encoder.finish()]);
    device.download(ctx, state)?;
    Ok(device)
}
