//! CPU twins of the step stages (to be written)
