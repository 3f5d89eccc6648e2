//! Every failed request gets a JSON body `{"error": {"code": .., "message": ..}}` whose code is
//! a small stable word and whose HTTP status follows from it (a bad query adds `line`, `column`
//! and `excerpt`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: bad parameter, bad cursor, bad cluster name.
    #[error("{0}")]
    BadRequest(String),
    /// Nothing at this address.
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The query text does not parse (or names columns its pipes do not have).
    #[error("{}", .0.message)]
    Query(kec_query::ParseError),
    /// The body's encoding is not one the server reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The store failed; retrying later may work.
    #[error("{0}")]
    Store(#[source] kec_store::Error),
    /// Something else on the server failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code and HTTP status of this error.
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::BadRequest(_) => ("bad_request", StatusCode::BAD_REQUEST),
            ApiError::Query(_) => ("bad_query", StatusCode::BAD_REQUEST),
            ApiError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            ApiError::PayloadTooLarge(_) => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ApiError::Store(error) if error.is_client_error() => {
                ("bad_request", StatusCode::BAD_REQUEST)
            }
            ApiError::Store(_) => ("store_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The parse error of a bad query.
    fn query_error(&self) -> Option<&kec_query::ParseError> {
        match self {
            ApiError::Query(error) => Some(error),
            _ => None,
        }
    }

    /// True when the same request may succeed later.
    pub fn retryable(&self) -> bool {
        matches!(
            self.code().1,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR
        )
    }
}

impl From<kec_store::Error> for ApiError {
    fn from(error: kec_store::Error) -> ApiError {
        ApiError::Store(error)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    retryable: bool,
    /// Where a bad query goes wrong: 1-based line and column, and the line with a caret.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    excerpt: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        if status.is_server_error() {
            tracing::error!(error = %self, code, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                retryable: self.retryable(),
                line: self.query_error().map(|error| error.line),
                column: self.query_error().map(|error| error.column),
                excerpt: self.query_error().map(|error| error.excerpt.clone()),
            },
        };
        (status, Json(body)).into_response()
    }
}
