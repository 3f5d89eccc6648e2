//! The crate's error type.

use std::path::PathBuf;

use crate::config::ConfigProblem;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while loading or running a monitor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file could not be read.
    #[error("cannot read config file {path}")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A config file is invalid; every problem found is listed.
    #[error("invalid config file {path}: {}", format_problems(problems))]
    InvalidConfig {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
    /// A file or device a monitor needs could not be used.
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A persisted position could not be decoded.
    #[error("corrupt state file {path}")]
    CorruptState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn format_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
