//! Philox4x32-10 (to be written)
