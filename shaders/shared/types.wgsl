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

const WORKGROUP_SIZE: u32 = 64u;
