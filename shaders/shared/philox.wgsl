// Philox4x32-10, the WGSL twin of crates/taosim-core/src/rng.rs (key/counter scheme there).
// WGSL has no 64-bit integers on every adapter, so the 32x32->64 multiply is emulated from
// 16-bit halves (`mul_hi_lo_emulated` in rng.rs, tested against the native product).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;
const PHILOX_ROUNDS: u32 = 10u;

// (high, low) words of the 64-bit product a * b.
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_lo = a_hi * b_lo;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 16u) + (lo_hi & 0xFFFFu) + (hi_lo & 0xFFFFu);
    let low = (lo_lo & 0xFFFFu) | (middle << 16u);
    let high = hi_hi + (lo_hi >> 16u) + (hi_lo >> 16u) + (middle >> 16u);
    return vec2<u32>(high, low);
}

fn philox4x32_10(counter: vec4<u32>, seed_key: vec2<u32>) -> vec4<u32> {
    var ctr = counter;
    var key = seed_key;
    for (var round = 0u; round < PHILOX_ROUNDS; round = round + 1u) {
        // The key is bumped between rounds, not before the first (Random123 `philox4x32_R`).
        if (round > 0u) {
            key = key + vec2<u32>(PHILOX_W0, PHILOX_W1);
        }
        let p0 = mul_hi_lo(PHILOX_M0, ctr.x);
        let p1 = mul_hi_lo(PHILOX_M1, ctr.z);
        ctr = vec4<u32>(p1.x ^ ctr.y ^ key.x, p1.y, p0.x ^ ctr.w ^ key.y, p0.y);
    }
    return ctr;
}

// The four words at (step, subnet, stream) of path `path` of point `point` (PathRng::block).
fn path_block(seed_key: vec2<u32>, point: u32, path: u32, step: u32, subnet: u32, stream: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(step, (stream << 16u) | subnet, point, path), seed_key);
}
