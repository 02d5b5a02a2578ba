//! Property tests of the mechanisms' invariants (proptest).

mod amm;
mod emission;
mod registration;
