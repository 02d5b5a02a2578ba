//! Yuma scenario format (to be written)
