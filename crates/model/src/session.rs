//! Signing in: what a desktop sends to log an agent in, and what the hub answers.

use serde::{Deserialize, Serialize};

use crate::{Agent, Tenant};

/// A login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The agent's login, an e-mail address.
    pub login: String,
    pub password: String,
}

/// A successful login: the token to send as `Authorization: Bearer …` and who it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginAnswer {
    pub token: String,
    /// When the token stops working, in seconds since the Unix epoch.
    pub expires_at: i64,
    pub agent: Agent,
    pub tenant: Tenant,
}

/// Who a token names, and its tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub agent: Agent,
    pub tenant: Tenant,
    pub expires_at: i64,
}
