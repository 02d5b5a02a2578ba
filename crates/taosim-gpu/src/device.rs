//! A batch of paths on the device: the buffers of `BatchState` plus scratch, parameters and the
//! event log (the bindings of `shaders/shared/state.wgsl`), with upload and download.
//!
//! The state buffers hold exactly the values of [`BatchState`]'s vectors, in the same layout
//! except the Yuma blocks, which are reordered by slot groups on the way ([`crate::slot_groups`]:
//! coalesced access for the epoch's lanes), so a parity test compares the two backends field by
//! field.

use taosim_core::Real;
use taosim_core::state::{BatchState, YumaLayout};
use wgpu::util::DeviceExt;

use crate::params::Params;
use crate::shaders::{EVENT_INTS, EVENT_REALS, Precision};
use crate::stages::read_back;
use crate::types::{LOOP_PROBE, SCRATCH_MAILBOX, StepInfo};
use crate::{Context, GpuError, slot_groups};

/// Sizes of the per-path scratch (shared/state.wgsl): orders, eligibility, mailbox and the epoch's
/// workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchLayout {
    /// Reals per path.
    pub reals: usize,
    /// Integers per path.
    pub ints: usize,
}

impl ScratchLayout {
    /// The layout for `subnets` slots and Yuma blocks of `yuma`'s sizes.
    pub fn new(subnets: usize, yuma: YumaLayout) -> Self {
        let mailbox = SCRATCH_MAILBOX as usize;
        let (work_reals, work_ints) = crate::stages::epoch::workspace_size(yuma);
        Self { reals: 2 * subnets + mailbox + work_reals, ints: subnets + mailbox + work_ints }
    }
}

/// Where a batch comes from: its place in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchId {
    /// Run seed.
    pub seed: u64,
    /// Sweep point.
    pub point: u32,
    /// Path id of the batch's first path.
    pub first_path: u32,
}

/// The device buffers of one batch (bindings 0-12 of every step stage).
#[derive(Debug)]
pub struct DeviceState {
    /// Precision of the real buffers.
    pub precision: Precision,
    /// The sizes in the uniform.
    pub info: StepInfo,
    /// The buffers, in binding order (0-12).
    pub buffers: Vec<wgpu::Buffer>,
    /// Bytes of each buffer.
    pub sizes: Vec<u64>,
}

/// Binding indices of the buffers of [`DeviceState::buffers`].
pub mod binding {
    /// `info` (uniform).
    pub const INFO: usize = 0;
    /// `subnet_real`.
    pub const SUBNET_REAL: usize = 1;
    /// `subnet_int`.
    pub const SUBNET_INT: usize = 2;
    /// `global_real`.
    pub const GLOBAL_REAL: usize = 3;
    /// `global_int`.
    pub const GLOBAL_INT: usize = 4;
    /// `yuma_real`.
    pub const YUMA_REAL: usize = 5;
    /// `yuma_int`.
    pub const YUMA_INT: usize = 6;
    /// `scratch_real`.
    pub const SCRATCH_REAL: usize = 7;
    /// `scratch_int`.
    pub const SCRATCH_INT: usize = 8;
    /// `params_real`.
    pub const PARAMS_REAL: usize = 9;
    /// `params_int`.
    pub const PARAMS_INT: usize = 10;
    /// `events_real`.
    pub const EVENTS_REAL: usize = 11;
    /// `events_int`.
    pub const EVENTS_INT: usize = 12;
}

/// Buffers must not be empty: pad to one element.
fn padded(bytes: &[u8], element: usize) -> Vec<u8> {
    if bytes.is_empty() { vec![0; element.max(4)] } else { bytes.to_vec() }
}

/// The bytes of Yuma blocks in device order ([`slot_groups`]), [`padded`] when there are none.
fn yuma_bytes<T: bytemuck::Pod>(host: &[T], slots: usize, words: usize) -> Vec<u8> {
    if host.is_empty() {
        padded(&[], size_of::<T>())
    } else {
        slot_groups::device_bytes(host, slots, words)
    }
}

fn precision_of<R: Real>() -> Precision {
    if size_of::<R>() == 8 { Precision::F64 } else { Precision::F32 }
}

impl DeviceState {
    /// Uploads `state` (with zeroed scratch and events) and `params`.
    pub fn upload<R: Real>(
        ctx: &Context,
        id: BatchId,
        state: &BatchState<R>,
        params: &Params<R>,
        event_capacity: u32,
    ) -> Self {
        let scratch = ScratchLayout::new(state.subnets, state.yuma);
        let y = state.yuma;
        let info = StepInfo {
            paths: state.paths as u32,
            subnets: state.subnets as u32,
            first_path: id.first_path,
            point: id.point,
            seed_lo: id.seed as u32,
            seed_hi: (id.seed >> 32) as u32,
            yuma_validators: y.validators as u32,
            yuma_miners: y.miners as u32,
            yuma_reveal: y.reveal as u32,
            yuma_reals: y.reals() as u32,
            yuma_ints: y.ints() as u32,
            scratch_reals: scratch.reals as u32,
            scratch_ints: scratch.ints as u32,
            event_capacity,
            loop_probe: LOOP_PROBE,
            _pad1: 0,
        };
        let paths = state.paths;
        let cap = event_capacity as usize;
        let rsize = size_of::<R>();
        let contents: Vec<Vec<u8>> = vec![
            bytemuck::bytes_of(&info).to_vec(),
            padded(bytemuck::cast_slice(&state.subnet_real), rsize),
            padded(bytemuck::cast_slice(&state.subnet_int), 4),
            padded(bytemuck::cast_slice(&state.global_real), rsize),
            padded(bytemuck::cast_slice(&state.global_int), 4),
            yuma_bytes(&state.yuma_real, state.subnets, y.reals()),
            yuma_bytes(&state.yuma_int, state.subnets, y.ints()),
            vec![0; (paths * scratch.reals * rsize).max(rsize)],
            vec![0; (paths * scratch.ints * 4).max(4)],
            bytemuck::cast_slice(&params.real_values()).to_vec(),
            bytemuck::cast_slice(&params.int_values()).to_vec(),
            vec![0; (paths * cap * EVENT_REALS * rsize).max(rsize)],
            vec![0; (paths * (1 + cap * EVENT_INTS) * 4).max(4)], // counts, then records
        ];
        let names = [
            "info",
            "subnet_real",
            "subnet_int",
            "global_real",
            "global_int",
            "yuma_real",
            "yuma_int",
            "scratch_real",
            "scratch_int",
            "params_real",
            "params_int",
            "events_real",
            "events_int",
        ];
        let buffers = contents
            .iter()
            .zip(names)
            .enumerate()
            .map(|(k, (bytes, name))| {
                // `info` is read-only storage (shared/state.wgsl says why it is not a uniform).
                let usage = if k == binding::INFO {
                    wgpu::BufferUsages::STORAGE
                } else {
                    wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST
                };
                ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(name),
                    contents: bytes,
                    usage,
                })
            })
            .collect();
        let sizes = contents.iter().map(|c| c.len() as u64).collect();
        Self { precision: precision_of::<R>(), info, buffers, sizes }
    }

    /// The bind group of a pipeline with the step bindings.
    pub fn bind_group(&self, ctx: &Context, layout: &wgpu::BindGroupLayout) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = self
            .buffers
            .iter()
            .enumerate()
            .map(|(k, b)| wgpu::BindGroupEntry {
                binding: k as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("taosim.step"),
            layout,
            entries: &entries,
        })
    }

    /// Reads buffer `k` back as elements of `T`, `len` of them.
    pub fn read<T: bytemuck::Pod>(
        &self,
        ctx: &Context,
        k: usize,
        len: usize,
        what: &'static str,
    ) -> Result<Vec<T>, GpuError> {
        let bytes = read_back(&ctx.device, &ctx.queue, &self.buffers[k], self.sizes[k], what)?;
        let mut v: Vec<T> = bytemuck::pod_collect_to_vec(&bytes);
        v.truncate(len);
        Ok(v)
    }

    /// Reads `len` elements of `T` of buffer `k`, starting at element `first`.
    pub fn read_range<T: bytemuck::Pod>(
        &self,
        ctx: &Context,
        k: usize,
        first: usize,
        len: usize,
        what: &'static str,
    ) -> Result<Vec<T>, GpuError> {
        let size = size_of::<T>() as u64;
        let bytes = crate::stages::read_back_range(
            &ctx.device,
            &ctx.queue,
            &self.buffers[k],
            first as u64 * size,
            len as u64 * size,
            what,
        )?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Downloads the first `paths` paths' state into `state` (whose batch holds at least as many
    /// paths; the rest of it is left as it is). Paths are contiguous prefixes of every buffer.
    pub fn download_paths<R: Real>(
        &self,
        ctx: &Context,
        state: &mut BatchState<R>,
        paths: usize,
    ) -> Result<(), GpuError> {
        use binding::*;
        let n = state.paths.max(1);
        let parts: [(usize, &'static str); 6] = [
            (SUBNET_REAL, "subnet_real"),
            (SUBNET_INT, "subnet_int"),
            (GLOBAL_REAL, "global_real"),
            (GLOBAL_INT, "global_int"),
            (YUMA_REAL, "yuma_real"),
            (YUMA_INT, "yuma_int"),
        ];
        for (k, what) in parts {
            match k {
                SUBNET_REAL | GLOBAL_REAL | YUMA_REAL => {
                    let v = match k {
                        SUBNET_REAL => &mut state.subnet_real,
                        GLOBAL_REAL => &mut state.global_real,
                        _ => &mut state.yuma_real,
                    };
                    let per = v.len() / n;
                    let got: Vec<R> = self.read_range(ctx, k, 0, per * paths, what)?;
                    if k == YUMA_REAL {
                        slot_groups::to_host(&got, v, state.subnets, state.yuma.reals());
                    } else {
                        v[..per * paths].copy_from_slice(&got);
                    }
                }
                _ => {
                    let v = match k {
                        SUBNET_INT => &mut state.subnet_int,
                        GLOBAL_INT => &mut state.global_int,
                        _ => &mut state.yuma_int,
                    };
                    let per = v.len() / n;
                    let got: Vec<u32> = self.read_range(ctx, k, 0, per * paths, what)?;
                    if k == YUMA_INT {
                        slot_groups::to_host(&got, v, state.subnets, state.yuma.ints());
                    } else {
                        v[..per * paths].copy_from_slice(&got);
                    }
                }
            }
        }
        Ok(())
    }

    /// Downloads the state buffers into `state` (of the batch's sizes).
    pub fn download<R: Real>(
        &self,
        ctx: &Context,
        state: &mut BatchState<R>,
    ) -> Result<(), GpuError> {
        use binding::*;
        state.subnet_real = self.read(ctx, SUBNET_REAL, state.subnet_real.len(), "subnet_real")?;
        state.subnet_int = self.read(ctx, SUBNET_INT, state.subnet_int.len(), "subnet_int")?;
        state.global_real = self.read(ctx, GLOBAL_REAL, state.global_real.len(), "global_real")?;
        state.global_int = self.read(ctx, GLOBAL_INT, state.global_int.len(), "global_int")?;
        let (slots, yuma) = (state.subnets, state.yuma);
        let yuma_real: Vec<R> = self.read(ctx, YUMA_REAL, state.yuma_real.len(), "yuma_real")?;
        slot_groups::to_host(&yuma_real, &mut state.yuma_real, slots, yuma.reals());
        let yuma_int: Vec<u32> = self.read(ctx, YUMA_INT, state.yuma_int.len(), "yuma_int")?;
        slot_groups::to_host(&yuma_int, &mut state.yuma_int, slots, yuma.ints());
        Ok(())
    }

    /// Overwrites scratch buffer `k` (`SCRATCH_REAL` or `SCRATCH_INT`) from the host (tests feed a
    /// stage the inputs an earlier stage would have left there).
    pub fn write<T: bytemuck::Pod>(&self, ctx: &Context, k: usize, data: &[T]) {
        ctx.queue.write_buffer(&self.buffers[k], 0, bytemuck::cast_slice(data));
    }
}
