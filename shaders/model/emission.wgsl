// Twin of crates/taosim-core/src/model/emission.rs (chain.md §1, §3.1): block emission with the
// halvings at 21M·(1 − 2^−k), and its sum over a step of blocks with halvings crossed mid-step.
// Single-exit functions (see model/amm.wgsl).

// MAX_HALVINGS, TOTAL_SUPPLY and RAO_PER_TAO · DEFAULT_BLOCK_EMISSION of the CPU (abstract floats,
// exact in both precisions).
const MAX_HALVINGS: u32 = 30u;
const TOTAL_SUPPLY = 21000000.0;
const BLOCK_EMISSION_RAO = 1000000000.0;
const RAO_PER_TAO = 1000000000.0;

// 21M·(1 − 2^−k) as 21M − 21M·2^−k: both terms are exact, so the subtraction rounds once, as the
// CPU's f64 value (exact for k ≤ 30) rounded into Real.
fn halving_threshold(k: u32) -> Real {
    let supply = Real(TOTAL_SUPPLY);
    return supply - ldexp(supply, -i32(k));
}

// Number of halvings at `issuance`, saturating at MAX_HALVINGS (also for NaN and at/above 21M).
fn halvings(issuance: Real) -> u32 {
    var k = MAX_HALVINGS;
    // `issuance < supply` is false for NaN, which goes to the zero-emission end as on the CPU.
    if (issuance < Real(TOTAL_SUPPLY)) {
        k = 0u;
        while (k < MAX_HALVINGS && issuance >= halving_threshold(k + 1u)) {
            k = k + 1u;
        }
    }
    return k;
}

// floor(1e9 / 2^k) rao in TAO; zero from MAX_HALVINGS on. 1e9·2^−k and its floor are exact in both
// precisions; f32 then divides once (the CPU divides in f64 and rounds to f32; the parity test
// checks all 31 values agree).
fn emission_for_halvings(k: u32) -> Real {
    let rao = floor(ldexp(Real(BLOCK_EMISSION_RAO), -i32(min(k, MAX_HALVINGS))));
    return select(rao / Real(RAO_PER_TAO), Real(0.0), k >= MAX_HALVINGS);
}

// Per-block emission at `issuance`: 1 below 10.5M, then 0.5, 0.25, ..., 0 at 21M.
fn block_emission(issuance: Real) -> Real {
    return emission_for_halvings(halvings(issuance));
}

struct EmissionOverBlocks {
    emitted: Real,
    issuance: Real,
}

// Number of blocks j in 0..max_blocks with issuance + j·growth < threshold (issuance < threshold,
// growth > 0).
fn blocks_below_threshold(issuance: Real, growth: Real, threshold: Real, max_blocks: u32) -> u32 {
    let room = (threshold - issuance) / growth;
    var blocks = max_blocks;
    // Not finite: NaN (the CPU's is_nan) or +inf (≥ max_blocks on the CPU too).
    if (r_is_finite(room) && room < Real(max_blocks)) {
        blocks = u32(max(ceil(room), 1.0));
        // The division may round across an integer; settle the count by the per-block comparison.
        if (blocks > 1u && issuance + growth * Real(blocks - 1u) >= threshold) {
            blocks = blocks - 1u;
        }
        if (blocks < max_blocks && issuance + growth * Real(blocks) < threshold) {
            blocks = blocks + 1u;
        }
    }
    return blocks;
}

// Emission summed over n blocks while the issuance grows by growth_per_emission·E + growth_per_block
// per block (model/emission.rs emission_over_blocks).
fn emission_over_blocks(issuance: Real, n: u32, growth_per_emission: Real, growth_per_block: Real) -> EmissionOverBlocks {
    var issued = issuance;
    var emitted = Real(0.0);
    var blocks_left = n;
    var k = halvings(issued);
    // One pass per halving level at most.
    for (var level = 0u; level <= MAX_HALVINGS; level = level + 1u) {
        if (blocks_left == 0u) {
            break;
        }
        let emission = emission_for_halvings(k);
        let growth = growth_per_emission * emission + growth_per_block;
        var blocks_at_level = blocks_left;
        if (!(k >= MAX_HALVINGS || growth <= 0.0)) {
            blocks_at_level = blocks_below_threshold(issued, growth, halving_threshold(k + 1u), blocks_left);
        }
        let blocks = Real(blocks_at_level);
        emitted = emitted + emission * blocks;
        issued = issued + growth * blocks;
        blocks_left = blocks_left - blocks_at_level;
        // A large growth can jump several thresholds in one block; always make progress.
        k = max(halvings(issued), k + 1u);
    }
    return EmissionOverBlocks(emitted, issued);
}
