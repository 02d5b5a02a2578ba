//! Errors of the model library.

use thiserror::Error;

/// An error from parsing or validating model input (configs, scenarios, snapshots).
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
}

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
