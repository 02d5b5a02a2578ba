//! Stage `rng_blocks`: the Philox words of every (path, subnet) of a batch at one (step,
//! stream), laid out `out[(p · subnets + i) · 4 + k]`. The random draws of the other stages are
//! functions of these words; this stage is their shared source, and its GPU twin proves the WGSL
//! Philox bit-exact.
//!
//! CPU twin of shaders/rng_blocks.wgsl.

use crate::rng::PathRng;

/// Parameters of `rng_blocks` (the WGSL uniform `RngBlocksParams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngBlocksParams {
    /// Run seed.
    pub seed: u64,
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

/// One invocation: the words of flat index `index` (path-major over subnets).
#[inline]
pub fn rng_blocks_invocation(params: &RngBlocksParams, index: u32) -> [u32; 4] {
    let p = index / params.subnets;
    let i = index % params.subnets;
    PathRng::new(params.seed, params.point, params.first_path + p).block(
        params.step,
        i,
        params.stream,
    )
}

/// Fills `out` (`paths · subnets · 4` words) as the shader does.
pub fn rng_blocks(params: &RngBlocksParams, out: &mut [u32]) {
    let n = params.paths * params.subnets;
    assert_eq!(out.len(), n as usize * 4, "rng_blocks: output of wrong size");
    for index in 0..n {
        let words = rng_blocks_invocation(params, index);
        out[index as usize * 4..index as usize * 4 + 4].copy_from_slice(&words);
    }
}
