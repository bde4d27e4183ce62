//! Signing in and out, and the [`Caller`] every other route requires: the agent a bearer
//! token names, with its tenant and role.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use switchboard_model::{AgentId, LoginAnswer, LoginRequest, Me, Record, Role, TenantId};

use super::error::{ApiError, ErrorBody};
use crate::db::auth::Session;
use crate::{HubState, TOKEN_LIFETIME_SECONDS, now_unix};

/// The signed-in agent a request acts for. Taking this as an argument is what makes a route
/// require a valid token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub session: Session,
    /// The token itself, so that logout can revoke it.
    token: String,
}

impl Caller {
    pub fn tenant(&self) -> &TenantId {
        &self.session.tenant
    }

    pub fn agent(&self) -> &AgentId {
        &self.session.agent
    }

    pub fn role(&self) -> Role {
        self.session.role
    }

    /// Refuses unless the caller's role is at least supervisor.
    pub fn require_supervisor(&self, what: &str) -> Result<(), ApiError> {
        if self.role().supervises() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "only a supervisor or an admin may {what}; ask one to do it"
            )))
        }
    }

    /// Refuses unless the caller is an admin.
    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        if self.role() == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "only an admin may {what}; ask your admin"
            )))
        }
    }
}

impl FromRequestParts<HubState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let session = state
            .db
            .session(token, now_unix())
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Caller {
            session,
            token: token.to_owned(),
        })
    }
}

/// Signs an agent in with login and password and issues a bearer token.
//
// FIXME(hub-auth): failed logins are not throttled per login or per address; Argon2's cost
// slows guessing, but a lockout or back-off belongs here.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginAnswer),
        (status = 401, description = "The login or the password is wrong", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<HubState>,
    Json(request): Json<LoginRequest>,
) -> Result<Json<LoginAnswer>, ApiError> {
    let issued = state
        .db
        .sign_in(
            &request.login,
            &request.password,
            now_unix(),
            TOKEN_LIFETIME_SECONDS,
        )
        .await?;
    let Some(issued) = issued else {
        tracing::info!("refused a login with wrong credentials");
        return Err(ApiError::InvalidCredentials);
    };
    let me = me_of(&state, &issued.session).await?;
    tracing::info!(agent = %me.agent.id, tenant = %me.tenant.id, "agent signed in");
    Ok(Json(LoginAnswer {
        token: issued.token,
        expires_at: issued.session.expires_at,
        agent: me.agent,
        tenant: me.tenant,
    }))
}

/// Revokes the token the request carries.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The token no longer works"),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn logout(State(state): State<HubState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state.db.revoke(&caller.token).await?;
    tracing::info!(agent = %caller.agent(), "agent signed out");
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in agent and its tenant.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who the token names", body = Me),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn me(State(state): State<HubState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&state, &caller.session).await?))
}

async fn me_of(state: &HubState, session: &Session) -> Result<Me, ApiError> {
    let agent = match state
        .db
        .record(&session.tenant, session.agent.as_str())
        .await?
    {
        Some(stored) => match stored.record {
            Record::Agent(agent) => agent,
            _ => return Err(ApiError::Unauthenticated),
        },
        // A login whose agent was removed signs nobody in.
        None => return Err(ApiError::Unauthenticated),
    };
    let tenant = state
        .db
        .tenant(&session.tenant)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(Me {
        agent,
        tenant,
        expires_at: session.expires_at,
    })
}
