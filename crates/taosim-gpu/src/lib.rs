//! # taosim-gpu: the WGSL twins of taosim's CPU stages, run through wgpu
//!
//! Every stage in `shaders/<stage>.wgsl` has a CPU twin of the same stem in
//! `taosim_core::cpu::<stage>`; the shader mirrors the twin line for line and a parity test holds
//! them to each other (integers and RNG words bit-exact; arithmetic within stated ulps).
//!
//! - [`context`]: adapter and device from the environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`),
//!   the adapter report of `taosim devices`.
//! - [`shaders`]: the WGSL sources (the shared prelude, then one stage per file), assembled per
//!   stage, and the stage table with each stage's bindings.
//! - [`engine`]: the run loop on the device (batches, chunks of steps, event log, records).
//! - [`device`]: a batch's buffers on the device (state, scratch, parameters, events).
//! - [`slot_groups`]: the device order of the per-slot Yuma blocks (interleaved by lane groups).
//! - [`params`]: the step's parameters as named arrays.
//! - [`peak`]: the device's multiply-add peak (for `taosim bench`).
//! - [`stage_timing`]: per-stage device time from timestamp queries (`taosim bench --stages`).
//! - [`types`]: `#[repr(C)]` `Pod` structs shared with WGSL (the layout test checks them with naga).
//! - [`stages`]: one module per stage: pipeline, buffers, dispatch, readback.

pub mod context;
pub mod device;
pub mod engine;
pub mod params;
pub mod peak;
pub mod shaders;
pub mod slot_groups;
pub mod stage_timing;
pub mod stages;
pub mod types;

pub use context::{AdapterReport, Context, GpuError};
