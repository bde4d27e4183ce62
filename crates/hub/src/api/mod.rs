//! The REST API under `/v1`: its routes, and the OpenAPI document generated from them.

mod changes;
mod customers;
mod error;
mod health;

use axum::Json;
use axum::Router;
use axum::http::Uri;
use axum::routing::get;
use utoipa::OpenApi;

pub use error::{ApiError, ErrorBody};

use crate::HubState;

/// The OpenAPI description of every route, built from the handlers' annotations so that the
/// document cannot drift from the code.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Switchboard hub",
        description = "The backend Switchboard desktops sync with."
    ),
    paths(health::health, customers::list, customers::by_identity, customers::get, changes::list),
    components(schemas(ErrorBody)),
    tags(
        (name = "health", description = "Whether the hub serves"),
        (name = "customers", description = "Customers and their identities"),
        (name = "sync", description = "The change feed desktops sync from"),
    )
)]
pub struct ApiDoc;

/// All routes, with `state` shared by every handler.
pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/v1/health", get(health::health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/customers", get(customers::list))
        .route("/v1/customers/by-identity", get(customers::by_identity))
        .route("/v1/customers/{id}", get(customers::get))
        .route("/v1/changes", get(changes::list))
        .fallback(no_route)
        .with_state(state)
}

/// A page size from the query string: `default` when absent, refused outside `1..=max` with a
/// message that names the parameter.
fn page_limit(requested: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = requested.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::InvalidInput {
            field: "limit",
            reason: format!("must be between 1 and {max}, got {limit}"),
        });
    }
    Ok(limit)
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}
