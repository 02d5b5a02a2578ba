// Stage `rng_blocks`: the Philox words of (path, subnet) at one (step, stream), for every path of
// a batch and every subnet slot: out[(p * subnets + i) * 4 + k] = word k of
// PathRng::new(seed, point, first_path + p).block(step, i, stream).
// CPU twin: crates/taosim-core/src/cpu/rng_blocks.rs

@group(0) @binding(0) var<uniform> params: RngBlocksParams;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.x;
    if (index >= params.paths * params.subnets) {
        return;
    }
    let p = index / params.subnets;
    let i = index % params.subnets;
    let key = vec2<u32>(params.seed_lo, params.seed_hi);
    let words = path_block(key, params.point, params.first_path + p, params.step, i, params.stream);
    out[index * 4u + 0u] = words.x;
    out[index * 4u + 1u] = words.y;
    out[index * 4u + 2u] = words.z;
    out[index * 4u + 3u] = words.w;
}
