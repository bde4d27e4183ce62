//! What the hub says about itself at `/v1/health`.

use serde::{Deserialize, Serialize};

/// Whether the hub can serve requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Everything the hub depends on answers.
    Ok,
    /// The hub answers but something it depends on (its database) does not.
    Degraded,
}

/// The hub's answer to a health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: HealthStatus,
    /// The hub's version, so that support can tell which build a desktop talks to.
    pub version: String,
    /// Whether the hub runs in demo mode with seeded, simulated data.
    pub demo: bool,
    /// On a demo hub, a login anyone may use; never set on a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo_login: Option<DemoLogin>,
}

/// The public login of a demo hub, which the desktop offers so that a demo needs no set-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoLogin {
    pub login: String,
    pub password: String,
}
