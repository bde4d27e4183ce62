//! Who may call the hub: agents' logins with their password hashes, and the bearer tokens a
//! successful login issues.
//!
//! Passwords are kept only as Argon2id hashes; tokens only as SHA-256 digests, so that a copy
//! of the database lets nobody sign in.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_model::{AgentId, Role, TenantId};

use super::{Database, DbError};

/// A signed-in agent, as a token names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub tenant: TenantId,
    pub agent: AgentId,
    pub role: Role,
    /// When the token stops working, in seconds since the Unix epoch.
    pub expires_at: i64,
}

/// A new bearer token and the session it opens. The token itself is shown once, here.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub session: Session,
}

impl Database {
    /// Creates or replaces the login `login` for `agent` of `tenant` with `password`.
    pub async fn put_login(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        login: &str,
        role: Role,
        password: &str,
    ) -> Result<(), DbError> {
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|join| DbError::Task(join.to_string()))??;
        sqlx::query(
            "INSERT INTO logins (login, tenant_id, agent_id, role, password_hash)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (login) DO UPDATE SET tenant_id = excluded.tenant_id,
                agent_id = excluded.agent_id, role = excluded.role,
                password_hash = excluded.password_hash",
        )
        .bind(normalise_login(login))
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(role.as_str())
        .bind(hash)
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// Whether `login` is taken, by an agent of any tenant.
    pub async fn login_exists(&self, login: &str) -> Result<bool, DbError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT login FROM logins WHERE login = $1")
            .bind(normalise_login(login))
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Checks `password` for `login` and, when it matches, issues a token valid for
    /// `lifetime_seconds`. `None` when the login is unknown or the password wrong; the two
    /// are not told apart, so that logins cannot be discovered by guessing.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        now: i64,
        lifetime_seconds: i64,
    ) -> Result<Option<IssuedToken>, DbError> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT tenant_id, agent_id, role, password_hash FROM logins WHERE login = $1",
        )
        .bind(normalise_login(login))
        .fetch_optional(self.pool())
        .await?;

        // An unknown login still costs one verification, so that its answer takes as long as
        // a wrong password's.
        let stored_hash = row
            .as_ref()
            .map_or_else(|| DECOY_HASH.clone(), |(_, _, _, hash)| hash.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored_hash))
            .await
            .map_err(|join| DbError::Task(join.to_string()))?;
        let Some((tenant, agent, role, _)) = row.filter(|_| matches) else {
            return Ok(None);
        };

        let role = Role::parse(&role).ok_or_else(|| DbError::Corrupt(format!("role {role:?}")))?;
        let token = new_token();
        let session = Session {
            tenant: TenantId(tenant),
            agent: AgentId(agent),
            role,
            expires_at: now + lifetime_seconds,
        };
        sqlx::query(
            "INSERT INTO tokens (token_hash, tenant_id, agent_id, role, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_digest(&token))
        .bind(session.tenant.as_str())
        .bind(session.agent.as_str())
        .bind(role.as_str())
        .bind(session.expires_at)
        .execute(self.writes())
        .await?;
        Ok(Some(IssuedToken { token, session }))
    }

    /// The session `token` opens, if it exists and has not expired at `now`.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>, DbError> {
        let row: Option<(String, String, String, i64)> = sqlx::query_as(
            "SELECT tenant_id, agent_id, role, expires_at FROM tokens
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_digest(token))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(tenant, agent, role, expires_at)| {
            Ok(Session {
                tenant: TenantId(tenant),
                agent: AgentId(agent),
                role: Role::parse(&role)
                    .ok_or_else(|| DbError::Corrupt(format!("role {role:?}")))?,
                expires_at,
            })
        })
        .transpose()
    }

    /// Ends the session of `token`; later requests with it get 401.
    pub async fn revoke(&self, token: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
            .bind(token_digest(token))
            .execute(self.writes())
            .await?;
        Ok(())
    }
}

/// Logins are e-mail addresses; case never makes two of them different.
fn normalise_login(login: &str) -> String {
    login.trim().to_lowercase()
}

fn hash_password(password: &str) -> Result<String, DbError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|error| DbError::Hash(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| DbError::Hash(error.to_string()))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A valid Argon2id hash of a random password nobody knows, verified against when a login is
/// unknown. Made once per process, on first use.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password(&new_token()).unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot make the decoy password hash");
        String::new()
    })
});

/// 32 random bytes as hex, prefixed so that a leaked token is recognisable in a scan.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut token = String::with_capacity(4 + 64);
    token.push_str("sbt_");
    for byte in bytes {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

pub(crate) fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse").expect("hashing works");
        assert!(
            hash.starts_with("$argon2id$"),
            "Argon2id, self-describing: {hash}"
        );
        assert!(
            verify_password("correct horse", &hash),
            "the right password matches"
        );
        assert!(
            !verify_password("correct horsE", &hash),
            "a wrong one does not"
        );
        assert!(
            !verify_password("anything", "not a hash"),
            "garbage never matches"
        );
    }

    #[test]
    fn the_decoy_hash_parses_so_unknown_logins_cost_a_real_verification() {
        assert!(
            PasswordHash::new(&DECOY_HASH).is_ok(),
            "otherwise an unknown login would answer faster than a wrong password"
        );
    }

    #[test]
    fn tokens_are_unique_and_stored_only_as_digests() {
        let first = new_token();
        let second = new_token();
        assert_ne!(first, second, "each login gets its own token");
        assert_eq!(first.len(), 68, "prefix and 64 hex digits");
        let digest = token_digest(&first);
        assert_eq!(digest.len(), 64, "SHA-256 in hex");
        assert!(
            !digest.contains(&first[4..]),
            "the digest does not contain the token"
        );
    }
}
