// Structs shared with Rust, mirrored by hand from crates/taosim-gpu/src/types.rs; the layout test
// (tests/tests/gpu_layout.rs) checks member names, order, offsets and sizes with naga.

// Uniforms of the `rng_blocks` stage.
struct RngBlocksParams {
    seed_lo: u32,
    seed_hi: u32,
    point: u32,
    first_path: u32,
    paths: u32,
    subnets: u32,
    step: u32,
    stream: u32,
}

const WORKGROUP_SIZE: u32 = 32u;

// Lanes per path of the stages dispatched with one workgroup per path (taosim_gpu::types::LANES);
// lane l handles slots l, l + LANES, ... .
const LANES: u32 = 64u;

// Lanes per path of the epoch and payouts stages (taosim_gpu::types::EPOCH_LANES): each lane owns
// one Yuma workspace in scratch.
const EPOCH_LANES: u32 = 32u;

// Sizes of a batch on the device, shared by every step stage (binding 0).
struct StepInfo {
    paths: u32,
    subnets: u32,
    first_path: u32,
    point: u32,
    seed_lo: u32,
    seed_hi: u32,
    yuma_validators: u32,
    yuma_miners: u32,
    yuma_reveal: u32,
    yuma_reals: u32,
    yuma_ints: u32,
    scratch_reals: u32,
    scratch_ints: u32,
    event_capacity: u32,
    loop_probe: u32,
    _pad1: u32,
}

// Reals and integers per path in the scratch mailbox (see shared/state.wgsl).
const SCRATCH_MAILBOX: u32 = 8u;

// guard_step value of a path whose invocation ran out of the driver's loop budget (lavapipe stops
// every loop of an invocation after 65,535 passes in all; see assemble_step in shaders.rs).
const LOOP_BUDGET_EXHAUSTED: u32 = 0xFFFFFFFFu;
