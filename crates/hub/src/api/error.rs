//! The one error type every handler returns, and the JSON bodies clients receive for it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchboard_model::Record;

use crate::db::DbError;
use crate::db::records::Stored;

/// The body of every error response: a stable code for programs, a sentence for people.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `not_found` or `invalid_input`.
    pub code: String,
    /// What went wrong and what to do about it, in a sentence.
    pub message: String,
}

/// The body of a 409 or 412: the record as the hub now holds it, so that the client can show
/// both versions or retry on top of this one.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConflictBody {
    pub code: String,
    pub message: String,
    /// The version to send in `If-Match` to update on top of `current`.
    pub version: u64,
    pub current: Record,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{what} {id} does not exist on this hub")]
    NotFound { what: &'static str, id: String },
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{field}: {id} does not exist on this hub")]
    UnknownReference { field: &'static str, id: String },
    #[error("no route for {0}; see /v1/openapi.json for what this hub serves")]
    NoRoute(String),
    #[error("sign in again: this request carries no token, or one that expired or was revoked")]
    Unauthenticated,
    #[error("the login or the password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error(
        "Idempotency-Key: this key was already used with a different request; use a new key for a new request"
    )]
    KeyReused,
    #[error(
        "If-Match: an update must say which version it changes; read the record and send its ETag"
    )]
    PreconditionRequired,
    #[error("the record changed since you read it; it is now at version {}", .0.version)]
    VersionMismatch(Box<Stored>),
    #[error("a record with this id already exists")]
    AlreadyExists(Box<Stored>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the hub is busy; retry after {0} second(s)")]
    Overloaded(u32),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::routing::RoutingError> for ApiError {
    fn from(error: crate::routing::RoutingError) -> Self {
        use crate::routing::RoutingError;
        match error {
            RoutingError::Db(error) => ApiError::Db(error),
            RoutingError::NoSuchOffer(id) => ApiError::NotFound { what: "offer", id },
            RoutingError::NoSuchInteraction(id) => ApiError::NotFound {
                what: "interaction",
                id,
            },
            RoutingError::NotYours => ApiError::Forbidden(
                "this offer is for another agent; only they can answer it".to_owned(),
            ),
            error @ RoutingError::Closed(_) => ApiError::Conflict {
                code: "offer_closed",
                message: error.to_string(),
            },
            error @ RoutingError::AlreadyEnded => ApiError::Conflict {
                code: "already_ended",
                message: error.to_string(),
            },
            error @ RoutingError::Raced => ApiError::Conflict {
                code: "conflict",
                message: error.to_string(),
            },
        }
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "no_route"),
            ApiError::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "invalid_input"),
            ApiError::UnknownReference { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_reference")
            }
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::KeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            ApiError::PreconditionRequired => {
                (StatusCode::PRECONDITION_REQUIRED, "precondition_required")
            }
            ApiError::VersionMismatch(_) => (StatusCode::PRECONDITION_FAILED, "version_mismatch"),
            ApiError::AlreadyExists(_) => (StatusCode::CONFLICT, "already_exists"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Overloaded(_) => (StatusCode::TOO_MANY_REQUESTS, "overloaded"),
            ApiError::Db(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            // The database's own words may name files and queries; log them, and tell the
            // client only what it can act on.
            ApiError::Db(error) => {
                tracing::error!(%error, "request failed in the hub database");
                "the hub cannot reach its database; retry later".to_owned()
            }
            other => other.to_string(),
        };

        match self {
            ApiError::VersionMismatch(current) | ApiError::AlreadyExists(current) => {
                let etag = super::write::etag(current.version);
                let body = ConflictBody {
                    code: code.to_owned(),
                    message,
                    version: current.version,
                    current: current.record,
                };
                (status, [(header::ETAG, etag)], Json(body)).into_response()
            }
            other => {
                let body = Json(ErrorBody {
                    code: code.to_owned(),
                    message,
                });
                let mut response = (status, body).into_response();
                let headers = response.headers_mut();
                match other {
                    ApiError::Unauthenticated | ApiError::InvalidCredentials => {
                        headers.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer realm=\"switchboard\""),
                        );
                    }
                    ApiError::Overloaded(seconds) => {
                        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                    }
                    _ => {}
                }
                response
            }
        }
    }
}
