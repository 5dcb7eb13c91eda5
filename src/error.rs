//! One error type for the library: every variant says what went wrong and where
//! (file, key, layer), in a single line, so binaries can print it as is.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// params.json problems: malformed JSON, unknown keys or blocks, bad values.
    #[error("{path}: {msg}")]
    Config { path: String, msg: String },

    /// A Keras H5 file that cannot be read or does not fit the architecture.
    #[error("{path}: {msg}")]
    Keras { path: String, msg: String },

    /// A weights file (safetensors) that does not fit the architecture.
    #[error("{path}: {msg}")]
    Weights { path: String, msg: String },

    /// Input tensors of the wrong shape or content.
    #[error("{0}")]
    Input(String),

    #[error("{0}")]
    Other(String),

    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub fn config(path: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config { path: path.into(), msg: msg.into() }
    }

    /// The message on one line: nested sources and candle's backtraces folded away.
    pub fn one_line(&self) -> String {
        first_line(&self.to_string())
    }
}

/// The first line of a message (nested sources and backtraces dropped).
pub fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim_end().to_string()
}
