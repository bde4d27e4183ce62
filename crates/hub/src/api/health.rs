//! `/v1/health`: whether this hub can serve, for desktops, load balancers and monitoring.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use switchboard_model::{DemoLogin, Health, HealthStatus};

use crate::HubState;

/// Reports whether the hub and its database answer.
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "health",
    responses(
        (status = 200, description = "The hub serves requests", body = Health),
        (status = 503, description = "The hub runs but its database does not answer", body = Health),
    )
)]
pub async fn health(State(state): State<HubState>) -> (StatusCode, Json<Health>) {
    let database = sqlx::query("SELECT 1").execute(state.db.pool()).await;

    let (code, status) = match database {
        Ok(_) => (StatusCode::OK, HealthStatus::Ok),
        Err(error) => {
            tracing::warn!(%error, "health check found the database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, HealthStatus::Degraded)
        }
    };
    let health = Health {
        status,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo: state.demo,
        demo_login: state.demo.then(|| DemoLogin {
            login: crate::DEMO_LOGIN.to_owned(),
            password: crate::DEMO_PASSWORD.to_owned(),
        }),
    };
    (code, Json(health))
}
