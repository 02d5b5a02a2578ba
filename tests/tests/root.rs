//! taosim's integration tests: one binary (wgpu style), one module per topic.
//!
//! - `vectors::*`: the chain's own test vectors (`docs/reference/chain-vectors.md`), one named test each,
//!   citing the subtensor test it comes from.
//! - `properties::*`: property tests (proptest) of the mechanisms' invariants.
//! - `precision`: f32 against f64 instantiations of the stages.
//! - `stages`: the CPU stages over many steps (conservation, pruning, closed-form step).

mod config_init;
mod precision;
mod properties;
mod stages;
mod vectors;
