//! Chain test vectors (`docs/reference/chain-vectors.md`), one module per area.

mod amm;
mod emission;
mod philox;
mod registration;
mod yuma;
