//! # taosim-core: the model of Bittensor subnet economics and its CPU reference stages
//!
//! This crate is everything taosim knows about the chain, with no GPU and no I/O dependency:
//!
//! - [`model`]: the chain's mechanisms as pure functions, generic over [`Real`] (f32 / f64):
//!   block and alpha emission with halvings, the four emission-share regimes, injection and the
//!   alpha_out split, the moving price, the AMMs, Yuma consensus, lock cost, pruning, dissolution.
//!   Each cites the section of `docs/chain.md` it implements.
//! - [`state`]: one batch of paths in kernel shape: field-major struct-of-arrays buffers of
//!   `Pod` scalars, one path independent of every other, the layout the WGSL shaders read.
//! - [`cpu`]: the CPU twins of the step stages (model.md §3), loops over the state buffers that a
//!   shader mirrors line for line, parallel over paths with rayon. Where a twin also runs
//!   groups of subnets side by side (payouts, swaps, injection), `lanes` declares the column
//!   groups it uses, and the path-wide sums over slots in the shaders' lane order.
//! - [`rng`]: Philox4x32-10 keyed by (seed, point, path) with counters (step, subnet, stream).
//! - [`simd`]: the vector level (baseline, AVX2 or AVX-512) of the CPU kernels compiled once per
//!   level and chosen at run time, with the same bits at every level.
//! - [`engine`]: the CPU run loop; [`stage_clock`]: its optional per-stage timing.
//! - [`sweep`]: the `[sweep]` designs (grid, zip, Latin hypercube, Sobol) of `taosim sweep`.
//! - [`yuma_scenario`]: the `taosim yuma` scenario format.
//!
//! The reference path runs in f64. Amounts are TAO / alpha as floats (1 = 1e9 rao).

pub mod config;
pub mod cpu;
mod csv;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod init;
mod lanes;
pub mod model;
pub mod params;
pub mod parity;
pub mod real;
pub mod records;
pub mod rng;
pub mod sensitivity;
pub mod simd;
pub mod stage_clock;
pub mod state;
pub mod sweep;
pub mod vecmath;
pub mod workload;
pub mod yuma_scenario;

pub use error::{Error, Result};
pub use params::ChainParams;
pub use real::Real;
