//! State in kernel shape (to be written)
