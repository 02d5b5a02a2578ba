// The state of a batch of paths on the device, for every step stage: the buffers of
// taosim_core::state::BatchState with the same layout (path-major; field-major within a path), plus
// per-path scratch (what one stage hands the next within a step), the step's parameters and the
// per-path event log. The field index constants (SR_*, SI_*, GR_*, GI_*), the parameter index
// constants (P_*, PI_*) and the event kinds (EVENT_*) are generated from the Rust lists by
// `taosim_gpu::shaders::generated_constants` and precede this file.
// Rust side: crates/taosim-gpu/src/device.rs (buffers) and params.rs (parameters).

// A storage buffer, not a uniform one: lavapipe (Mesa 22.3) kept a shader variant per dispatch
// for uniform contents, 6.8 MB of host memory per simulated day (docs/performance.md).
@group(0) @binding(0) var<storage, read> info: StepInfo;
@group(0) @binding(1) var<storage, read_write> subnet_real: array<Real>;
@group(0) @binding(2) var<storage, read_write> subnet_int: array<u32>;
@group(0) @binding(3) var<storage, read_write> global_real: array<Real>;
@group(0) @binding(4) var<storage, read_write> global_int: array<u32>;
@group(0) @binding(5) var<storage, read_write> yuma_real: array<Real>;
@group(0) @binding(6) var<storage, read_write> yuma_int: array<u32>;
@group(0) @binding(7) var<storage, read_write> scratch_real: array<Real>;
@group(0) @binding(8) var<storage, read_write> scratch_int: array<u32>;
@group(0) @binding(9) var<storage, read> params_real: array<Real>;
@group(0) @binding(10) var<storage, read> params_int: array<u32>;
@group(0) @binding(11) var<storage, read_write> events_real: array<Real>;
@group(0) @binding(12) var<storage, read_write> events_int: array<u32>;

// Index of field f (SR_*) of subnet slot i of path p in subnet_real.
fn sr_at(p: u32, f: u32, i: u32) -> u32 {
    return (p * SR_FIELDS + f) * info.subnets + i;
}

// Index of field f (SI_*) of subnet slot i of path p in subnet_int.
fn si_at(p: u32, f: u32, i: u32) -> u32 {
    return (p * SI_FIELDS + f) * info.subnets + i;
}

// Index of path-wide field f (GR_*) of path p in global_real.
fn gr_at(p: u32, f: u32) -> u32 {
    return p * GR_FIELDS + f;
}

// Index of path-wide field f (GI_*) of path p in global_int.
fn gi_at(p: u32, f: u32) -> u32 {
    return p * GI_FIELDS + f;
}

// Subnet i's Yuma blocks (taosim_core::state::YumaLayout) of path p: word k of its reals at
// yuma_real[yr_at(slot, k)], of its integers at yuma_int[yi_at(slot, k)]. The slots come in groups
// of EPOCH_LANES (the epoch's lane l runs slots l, l + EPOCH_LANES, ...), and a group's blocks are
// interleaved word by word: word k of the group's slot l at k · stride + l after the group's
// start, stride being the group's slot count (EPOCH_LANES, less in a last partial group). The
// lanes reading word k of their slots then touch consecutive words (crates/taosim-gpu/src/
// slot_groups.rs, which reorders the host's slot-after-slot blocks on upload and download).
struct YumaSlot {
    real: u32,
    int: u32,
    stride: u32,
}

fn yuma_slot(p: u32, i: u32) -> YumaSlot {
    let first = i - i % EPOCH_LANES;
    let group = p * info.subnets + first;
    let lane = i - first;
    return YumaSlot(group * info.yuma_reals + lane, group * info.yuma_ints + lane, min(EPOCH_LANES, info.subnets - first));
}

fn yr_at(slot: YumaSlot, k: u32) -> u32 {
    return slot.real + k * slot.stride;
}

fn yi_at(slot: YumaSlot, k: u32) -> u32 {
    return slot.int + k * slot.stride;
}

// Per-path scratch, reals: [stake orders S][unstake orders S][mailbox SCRATCH_MAILBOX][work ...];
// integers: [eligible S][mailbox SCRATCH_MAILBOX][work ...]. The mailbox carries a stage's small
// results to a later stage of the same step (MAILBOX_* constants); `work` is the epoch's workspace.
fn xr_at(p: u32, k: u32) -> u32 {
    return p * info.scratch_reals + k;
}

fn xi_at(p: u32, k: u32) -> u32 {
    return p * info.scratch_ints + k;
}

// Orders of slot i (cpu::swaps::Orders): TAO staked in, alpha unstaked.
fn order_stake_at(p: u32, i: u32) -> u32 {
    return xr_at(p, i);
}

fn order_unstake_at(p: u32, i: u32) -> u32 {
    return xr_at(p, info.subnets + i);
}

// The eligibility flag of slot i (written by emission_shares, read by the later stages).
fn eligible_at(p: u32, i: u32) -> u32 {
    return xi_at(p, i);
}

fn mailbox_real_at(p: u32, k: u32) -> u32 {
    return xr_at(p, 2u * info.subnets + k);
}

fn mailbox_int_at(p: u32, k: u32) -> u32 {
    return xi_at(p, info.subnets + k);
}

// The epoch lane whose work region `work_real_at` / `work_int_at` address; the epoch stage sets
// it before it touches its workspace. The lanes' regions are interleaved: element k of lane l is
// word k · EPOCH_LANES + l of the work area, so when the lanes of a warp read or write element k
// of their own arrays they touch EPOCH_LANES consecutive words (one coalesced 256-byte access in
// f64) instead of words one region (16 KiB at V = 8, M = 32) apart.
var<private> work_lane: u32;

fn work_real_at(p: u32, k: u32) -> u32 {
    return xr_at(p, 2u * info.subnets + SCRATCH_MAILBOX + k * EPOCH_LANES + work_lane);
}

fn work_int_at(p: u32, k: u32) -> u32 {
    return xi_at(p, info.subnets + SCRATCH_MAILBOX + k * EPOCH_LANES + work_lane);
}

// Events: events_int[p] counts path p's events of the current chunk of steps (the host reads and
// resets the counts after each chunk); record k of path p holds EVENT_INTS integers at
// events_int[info.paths + (p · cap + k) · EVENT_INTS] (kind, step, block, slot, then the slot's
// SubnetInt fields) and EVENT_REALS reals at events_real[(p · cap + k) · EVENT_REALS] (value,
// value2, the slot's SubnetReal fields, then the path's GlobalReal fields). The snapshot lets the
// host build a pruned occupant's record exactly as the CPU engine does. A count past `cap` is an
// overflow the host reports (the record is dropped). Event step and block are the step's and the
// block at the step's start (the metrics stage advances them last).
fn push_event(p: u32, kind: u32, slot: u32, value: Real, value2: Real) {
    let k = events_int[p];
    events_int[p] = k + 1u;
    if (k < info.event_capacity) {
        let ri = info.paths + (p * info.event_capacity + k) * EVENT_INTS;
        events_int[ri] = kind;
        events_int[ri + 1u] = global_int[gi_at(p, GI_STEP)];
        events_int[ri + 2u] = global_int[gi_at(p, GI_BLOCK)];
        events_int[ri + 3u] = slot;
        for (var f = 0u; f < SI_FIELDS; f = f + 1u) {
            events_int[ri + 4u + f] = subnet_int[si_at(p, f, slot)];
        }
        let rr = (p * info.event_capacity + k) * EVENT_REALS;
        events_real[rr] = value;
        events_real[rr + 1u] = value2;
        for (var f = 0u; f < SR_FIELDS; f = f + 1u) {
            events_real[rr + 2u + f] = subnet_real[sr_at(p, f, slot)];
        }
        for (var f = 0u; f < GR_FIELDS; f = f + 1u) {
            events_real[rr + 2u + SR_FIELDS + f] = global_real[gr_at(p, f)];
        }
    }
}

// The path's Philox words at (step, subnet, stream) (taosim_core::rng::PathRng::block).
fn rng_block(p: u32, step: u32, subnet: u32, stream: u32) -> vec4<u32> {
    let key = vec2<u32>(info.seed_lo, info.seed_hi);
    return path_block(key, info.point, info.first_path + p, step, subnet, stream);
}

// Lane stages (taosim_gpu::shaders::Dispatch::Lanes(LANES)): one workgroup of PATH_LANES
// invocations per path, lane l handling slots l, l + PATH_LANES, ... . PATH_LANES is generated per
// module: LANES, or 1 where such a stage runs one invocation per path (CPU adapters such as
// lavapipe, whose SIMD is already full with one path per invocation; shaders::assemble_step); with
// 1 the stage uses no workgroup memory and no barrier (conditions on a constant). Cross-slot sums
// are per-lane partial sums combined here: LANE_SUMS reals per lane in workgroup memory, one
// barrier, then every lane adds the partials in lane order (all lanes get the same sums; no tree:
// barriers are costly on lavapipe). The summation order differs from the CPU twins' slot order
// (~1e-16 relative).
const LANE_SUMS: u32 = 4u;
var<workgroup> lane_partials: array<array<Real, LANE_SUMS>, LANES>;

// The sums over the lanes of each lane's `partial`. Call from uniform control flow on every lane,
// at most once per stage (a second call would overwrite partials other lanes may still read).
fn lanes_sum(lane: u32, partial: array<Real, LANE_SUMS>) -> array<Real, LANE_SUMS> {
    var sum = partial;
    if (PATH_LANES > 1u) {
        lane_partials[lane] = partial;
        workgroupBarrier();
        sum = array<Real, LANE_SUMS>(Real(0.0), Real(0.0), Real(0.0), Real(0.0));
        for (var l = 0u; l < PATH_LANES; l = l + 1u) {
            let part = lane_partials[l];
            sum[0] = sum[0] + part[0];
            sum[1] = sum[1] + part[1];
            sum[2] = sum[2] + part[2];
            sum[3] = sum[3] + part[3];
        }
    }
    return sum;
}
