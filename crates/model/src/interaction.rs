//! Conversations and what happens in them: calls and chats (interactions), chat messages, the
//! notes agents write, and the wrap-up that closes each interaction.
//!
//! A conversation can move from chat to a call and back: each channel's part is an
//! interaction, and all of them belong to one conversation and one timeline.

use serde::{Deserialize, Serialize};

use crate::{
    AgentId, Author, ConversationId, CustomerId, InteractionId, MessageId, NoteId, QueueId,
    WrapUpId,
};

/// The channel an interaction happens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// Tauri's own bindings have a `Channel`, so the schemas call this one by what it is. JSON is the
// same either way: the name of an enum of bare variants never appears in it.
#[serde(rename = "InteractionChannel")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Call,
    Chat,
}

/// Who started the interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Where an interaction is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InteractionState {
    /// Waiting in a queue for an agent.
    Queued,
    /// Offered to an agent who has not accepted yet.
    Offered,
    /// An agent and the customer are connected.
    Active,
    /// The customer has gone; the agent is wrapping up.
    WrapUp,
    Ended,
    /// The customer left before an agent answered.
    Abandoned,
}

impl InteractionState {
    /// The name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionState::Queued => "queued",
            InteractionState::Offered => "offered",
            InteractionState::Active => "active",
            InteractionState::WrapUp => "wrap_up",
            InteractionState::Ended => "ended",
            InteractionState::Abandoned => "abandoned",
        }
    }

    /// Whether the interaction still holds an agent's capacity or waits for one.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            InteractionState::Queued | InteractionState::Offered | InteractionState::Active
        )
    }
}

/// Interactions about one matter, across channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub customer_id: CustomerId,
    /// A short line saying what it is about, when one is known.
    pub topic: Option<String>,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub version: u32,
}

/// One call or one chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interaction {
    pub id: InteractionId,
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    pub channel: Channel,
    pub direction: Direction,
    pub state: InteractionState,
    pub queue_id: Option<QueueId>,
    pub agent_id: Option<AgentId>,
    /// For calls, the number the customer called from or was called on, in E.164.
    pub remote_number: Option<String>,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    /// Agents this interaction has been offered to, in order, so that routing tries someone
    /// else before coming back to them.
    #[serde(default)]
    pub offered_to: Vec<AgentId>,
    pub version: u32,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub interaction_id: InteractionId,
    pub conversation_id: ConversationId,
    pub author: Author,
    /// Untrusted text: shown as text, never as markup.
    pub body: String,
    pub sent_at: String,
}

/// A note an agent wrote about a customer, optionally during an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: NoteId,
    pub customer_id: CustomerId,
    pub interaction_id: Option<InteractionId>,
    pub author: AgentId,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
    pub version: u32,
}

/// How an interaction ended, recorded by the agent after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WrapUp {
    pub id: WrapUpId,
    pub interaction_id: InteractionId,
    pub agent_id: AgentId,
    /// A disposition code from the tenant's list, such as `resolved` or `callback_needed`.
    pub disposition: String,
    pub notes: Option<String>,
    /// Handle time in seconds: from answer to the end of wrap-up.
    pub handle_seconds: u32,
    pub created_at: String,
    pub version: u32,
}
