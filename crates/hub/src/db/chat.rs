//! Customers' web chat sessions: the token a chat page holds, bound to the one conversation it
//! may read and write. Like agents' tokens, only a digest is stored.

use switchboard_model::{ConversationId, CustomerId, InteractionId, TenantId};

use super::auth::{new_token, token_digest};
use super::{Database, DbError};

/// What a chat page's token gives access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSession {
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub conversation: ConversationId,
    pub interaction: InteractionId,
    /// The feed position just before the chat began; its events start after it.
    pub started_seq: i64,
}

impl Database {
    /// Opens a chat session and returns its token, valid until `expires_at`.
    pub async fn open_chat_session(
        &self,
        session: &ChatSession,
        expires_at: i64,
    ) -> Result<String, DbError> {
        let token = new_token();
        sqlx::query(
            "INSERT INTO chat_sessions (token_hash, tenant_id, customer_id, conversation_id,
                interaction_id, started_seq, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_digest(&token))
        .bind(session.tenant.as_str())
        .bind(session.customer.as_str())
        .bind(session.conversation.as_str())
        .bind(session.interaction.as_str())
        .bind(session.started_seq)
        .bind(expires_at)
        .execute(self.writes())
        .await?;
        Ok(token)
    }

    /// The chat session `token` opens, if it exists and has not expired at `now`.
    pub async fn chat_session(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<ChatSession>, DbError> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT tenant_id, customer_id, conversation_id, interaction_id, started_seq
             FROM chat_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_digest(token))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(tenant, customer, conversation, interaction, started_seq)| ChatSession {
                tenant: TenantId(tenant),
                customer: CustomerId(customer),
                conversation: ConversationId(conversation),
                interaction: InteractionId(interaction),
                started_seq,
            },
        ))
    }
}
