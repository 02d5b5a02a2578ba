//! `#[repr(C)]` `Pod` structs and constants shared with the WGSL prelude
//! (`shaders/shared/types.wgsl`). The layout test (`tests/tests/gpu_layout.rs`) parses the WGSL
//! with naga and checks every pair: member names, order, offsets, sizes, and each constant.

use bytemuck::{Pod, Zeroable};

/// Invocations per workgroup of the stages run one invocation per path (`WORKGROUP_SIZE` in WGSL):
/// one warp on NVIDIA; smaller groups spread a small batch over more cores (lavapipe runs a
/// workgroup on one thread).
pub const WORKGROUP_SIZE: u32 = 32;

/// Invocations (lanes) per path of a stage dispatched with one workgroup per path
/// ([`crate::shaders::Dispatch::Lanes`], WGSL `LANES`): lane `l` handles subnet slots `l, l +
/// LANES, ...`, so neighbouring lanes touch neighbouring words of the field-major state. 64 covers
/// the 128 slots in two passes; on NVIDIA it is two warps.
pub const LANES: u32 = 64;

/// Lanes per path of the `epoch` (and `payouts`) stage (WGSL `EPOCH_LANES`). Fewer than [`LANES`]
/// because each lane owns a Yuma workspace in scratch (`stages::epoch::workspace_size`); 32 lanes
/// give each lane 4 of 128 slots, about 4·10⁴ loop passes at V = 8, M = 32, under lavapipe's
/// 65,535 per invocation.
pub const EPOCH_LANES: u32 = 32;

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

/// Sizes of a batch on the device, shared by every step stage (WGSL `StepInfo`, binding 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct StepInfo {
    /// Paths in the batch.
    pub paths: u32,
    /// Subnet slots per path.
    pub subnets: u32,
    /// Path id of the batch's first path.
    pub first_path: u32,
    /// Sweep point.
    pub point: u32,
    /// Low word of the run seed.
    pub seed_lo: u32,
    /// High word of the run seed.
    pub seed_hi: u32,
    /// Yuma validators V (0 with Yuma off).
    pub yuma_validators: u32,
    /// Yuma miners M.
    pub yuma_miners: u32,
    /// Epochs of consensus history.
    pub yuma_reveal: u32,
    /// Reals per subnet's Yuma block.
    pub yuma_reals: u32,
    /// Integers per subnet's Yuma block.
    pub yuma_ints: u32,
    /// Scratch reals per path.
    pub scratch_reals: u32,
    /// Scratch integers per path.
    pub scratch_ints: u32,
    /// Event records per path per chunk of steps.
    pub event_capacity: u32,
    /// Passes of the loop-budget probe after each stage (2; see `shaders::assemble_step`).
    pub loop_probe: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
}

const _: () = assert!(size_of::<StepInfo>().is_multiple_of(16), "uniforms pad to 16 bytes");

/// Reals and integers per path in the scratch mailbox (WGSL `SCRATCH_MAILBOX`): small results a
/// stage hands to a later stage of the same step.
pub const SCRATCH_MAILBOX: u32 = 8;

/// Passes of the loop-budget probe each step-stage invocation runs last. Mesa's llvmpipe
/// (lavapipe) stops every loop of an invocation once it has made 65,535 loop passes in all (its
/// `LP_MAX_TGSI_LOOP_ITERATIONS`), silently; a probe loop of a count the compiler cannot see
/// that makes fewer passes than this reveals it (`guard_step` = [`LOOP_BUDGET_EXHAUSTED`]).
pub const LOOP_PROBE: u32 = 2;

/// `guard_step` value of a path whose invocation ran out of the driver's loop budget (WGSL
/// `LOOP_BUDGET_EXHAUSTED`).
pub const LOOP_BUDGET_EXHAUSTED: u32 = u32::MAX;
