//! taosim's integration tests: one binary (wgpu style), one module per topic.
//!
//! - `vectors::*`: the chain's own test vectors (`docs/reference/chain-vectors.md`), one named
//!   test each, citing the subtensor test it comes from.
//! - `properties::*`: property tests (proptest) of the mechanisms' invariants.
//! - `precision`: f32 against f64 instantiations of the stages.
//! - `behaviour`: the staker behaviour stage against closed forms (OU, diffusion, Poisson, flows).
//! - `config_init`: config parsing and validation, snapshots and the synthetic network.
//! - `epoch`: the Yuma epoch stage and its payout (closed forms, κ threshold, copiers, accounting).
//! - `guards`: the engine's runtime guards, each fault injected and named.
//! - `fuzz_parsers`: proptest fuzzing of the config, snapshot and Yuma scenario parsers.
//! - `fuzz_engine`: random valid configs run to their horizon with every guard holding.
//! - `stages`: the CPU stages over many steps (conservation, pruning, closed-form step).
//! - `draws`: the inverse-CDF normal against a high-precision reference, the weight-noise draws.
//! - `observed`: the model against observed mainnet data (the TAO issuance of a week in 2025-11).

mod behaviour;
mod config_init;
mod draws;
mod epoch;
mod fuzz_engine;
mod fuzz_parsers;
mod guards;
mod observed;
mod precision;
mod properties;
mod runs;
mod spill;
mod stages;
mod sweep;
mod sweep_configs;
mod vectors;
