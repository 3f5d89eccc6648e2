//! The crate's [`Error`] and what each failure means for a retry.

use std::time::Duration;

/// Everything that can go wrong while exporting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings are invalid; every problem is listed.
    #[error("invalid npd exporter settings: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// No Kubernetes client could be built (kubeconfig, in-cluster files, URL).
    #[error("kubernetes client configuration: {0}")]
    KubeConfig(String),
    /// The client could not be built from a valid configuration.
    #[error("kubernetes client")]
    KubeClient(#[source] kube::Error),
    /// The request never got an answer (connection refused, reset, TLS).
    #[error("{verb} {path}: no answer from the API server")]
    Transport {
        verb: &'static str,
        path: String,
        #[source]
        source: kube::Error,
    },
    /// The API server answered with a status that is not a success.
    #[error("{verb} {path}: HTTP {status}: {message}")]
    Api {
        verb: &'static str,
        path: String,
        status: u16,
        message: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The answer was not the JSON object it should be.
    #[error("{verb} {path}: unreadable answer: {reason}")]
    Decode {
        verb: &'static str,
        path: String,
        reason: String,
    },
    /// A listener (HTTP or Prometheus endpoint) could not be bound or failed.
    #[error("{what} on {address}")]
    Listen {
        what: &'static str,
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether trying the same request again later can succeed: transport failures, 429 and
    /// 5xx (the API server is overloaded or restarting). Other 4xx answers will not change.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Api { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status of an API answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The `Retry-After` the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
