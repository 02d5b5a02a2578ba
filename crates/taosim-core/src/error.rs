//! Errors of the model library.

use thiserror::Error;

/// An error from parsing or validating model input (configs, scenarios, snapshots), or a run
/// stopped by a runtime guard ([`Error::Guard`]).
#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A value is outside the range the model accepts.
    #[error("`{key}` = {value}: {allowed}")]
    OutOfRange {
        /// The config key, dotted (`liquid_alpha.alpha_low`).
        key: String,
        /// The offending value, as written.
        value: String,
        /// What is allowed, in words.
        allowed: String,
    },
    /// Two inputs disagree in shape (a weight row longer than the uid count, say).
    #[error("`{key}`: {message}")]
    Shape {
        /// The config key, dotted.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The input could not be parsed at all.
    #[error("{0}")]
    Parse(String),
    /// A runtime guard of the engine stopped a run: a state value went NaN or infinite, a pool
    /// reserve went negative, or TAO stopped being conserved (`engine` module docs).
    #[error(
        "run stopped by a guard: {kind}: `{field}` = {value:e} at point {point}, path {path}, \
         step {step}, {}, after stage `{stage}`",
        subnet_label(*subnet)
    )]
    Guard {
        /// What the guard found.
        kind: GuardKind,
        /// Sweep point.
        point: u32,
        /// Path id.
        path: u32,
        /// Step (0-based; the state after `stage` of this step was checked).
        step: u32,
        /// Netuid of the subnet slot, or `None` for a path-wide value (issuance, TAO counters).
        subnet: Option<u16>,
        /// The stage after which the value was seen (`init`, `behaviour`, ..., `metrics`).
        stage: &'static str,
        /// The state field (`tao`, `moving_price`, `tao_minted`, ...), or
        /// `conservation_residual` for a conservation breach.
        field: &'static str,
        /// The offending value (for a breach: the relative residual).
        value: f64,
    },
}

/// What a runtime guard found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GuardKind {
    /// A NaN or an infinity.
    NotFinite,
    /// A pool reserve (TAO or alpha) below zero.
    NegativeReserve,
    /// A live subnet's pool reserve below the chain's minimum reserve (zero, say).
    ReserveBelowMinimum {
        /// The minimum reserve (`chain.min_reserve`).
        minimum: f64,
    },
    /// pools + paid out − paid in + recycled ≠ start pools + minted beyond `tolerance` (relative).
    ConservationBreach {
        /// The relative tolerance that was exceeded.
        tolerance: f64,
    },
}

impl core::fmt::Display for GuardKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotFinite => f.write_str("a value is not finite"),
            Self::NegativeReserve => f.write_str("a pool reserve is negative"),
            Self::ReserveBelowMinimum { minimum } => {
                write!(f, "a live pool's reserve is below the minimum reserve {minimum:e}")
            }
            Self::ConservationBreach { tolerance } => write!(
                f,
                "TAO conservation breached (pools + paid out - paid in + recycled != start pools + \
                 minted, relative tolerance {tolerance:e})"
            ),
        }
    }
}

/// `netuid N`, or `path-wide` for values that belong to no subnet.
fn subnet_label(subnet: Option<u16>) -> String {
    subnet.map_or_else(|| "path-wide".to_string(), |n| format!("netuid {n}"))
}

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
