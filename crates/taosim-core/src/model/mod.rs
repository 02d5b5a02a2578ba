//! The chain's mechanisms as pure functions, generic over [`Real`](crate::Real).
//!
//! Nothing here knows about paths, batches or buffers: the stages in [`crate::cpu`] (and their
//! WGSL twins) call these functions per subnet. Each function names the section of `docs/chain.md`
//! (and the subtensor source file) that it follows.

pub mod amm;
pub mod emission;
pub mod injection;
pub mod moving_price;
pub mod registration;
pub mod shares;
pub mod yuma;
