//! The one error type every handler returns, and the JSON body clients receive for it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// The body of every error response: a stable code for programs, a sentence for people.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `not_found` or `invalid_input`.
    pub code: String,
    /// What went wrong and what to do about it, in a sentence.
    pub message: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{what} {id} does not exist on this hub")]
    NotFound { what: &'static str, id: String },
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("no route for {0}; see /v1/openapi.json for what this hub serves")]
    NoRoute(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "no_route"),
            ApiError::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "invalid_input"),
            ApiError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            // The database's own words may name files and queries; log them, and tell the
            // client only what it can act on.
            ApiError::Store(error) => {
                tracing::error!(%error, "request failed in the hub database");
                "the hub cannot reach its database; retry later".to_owned()
            }
            other => other.to_string(),
        };
        (
            status,
            Json(ErrorBody {
                code: code.to_owned(),
                message,
            }),
        )
            .into_response()
    }
}
