//! `#[repr(C)]` `Pod` structs and constants shared with the WGSL prelude
//! (`shaders/shared/types.wgsl`). The layout test (`tests/tests/gpu_layout.rs`) parses the WGSL
//! with naga and checks every pair: member names, order, offsets, sizes, and each constant.

use bytemuck::{Pod, Zeroable};

/// Invocations per workgroup of every stage (`WORKGROUP_SIZE` in WGSL).
pub const WORKGROUP_SIZE: u32 = 64;

/// Uniforms of the `rng_blocks` stage (WGSL `RngBlocksParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct RngBlocksParams {
    /// Low word of the run seed.
    pub seed_lo: u32,
    /// High word of the run seed.
    pub seed_hi: u32,
    /// Sweep point.
    pub point: u32,
    /// Path id of the batch's first path.
    pub first_path: u32,
    /// Paths in the batch.
    pub paths: u32,
    /// Subnet slots per path.
    pub subnets: u32,
    /// Step.
    pub step: u32,
    /// Stream id.
    pub stream: u32,
}

// Uniform buffers are read in 16-byte rows.
const _: () = assert!(size_of::<RngBlocksParams>().is_multiple_of(16), "uniforms pad to 16 bytes");

impl From<&taosim_core::cpu::rng_blocks::RngBlocksParams> for RngBlocksParams {
    fn from(p: &taosim_core::cpu::rng_blocks::RngBlocksParams) -> Self {
        Self {
            seed_lo: p.seed as u32,
            seed_hi: (p.seed >> 32) as u32,
            point: p.point,
            first_path: p.first_path,
            paths: p.paths,
            subnets: p.subnets,
            step: p.step,
            stream: p.stream,
        }
    }
}
