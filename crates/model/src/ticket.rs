//! Support tickets: the usual answer to "why is this person calling".

use serde::{Deserialize, Serialize};

use crate::{AgentId, CustomerId, TicketId};

/// Where a ticket stands. Open tickets (new, open, pending) come first in the customer pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Open,
    /// Waiting on the customer or a third party.
    Pending,
    Solved,
    Closed,
}

impl TicketStatus {
    /// Whether the ticket still needs work.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketStatus::New | TicketStatus::Open | TicketStatus::Pending
        )
    }
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// Who wrote something: the customer, an agent, or the system itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Author {
    Customer(CustomerId),
    Agent(AgentId),
    System,
}

/// One entry in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketComment {
    pub author: Author,
    pub body: String,
    /// Whether the customer can see it; internal comments are for agents only.
    pub public: bool,
    pub created_at: String,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: TicketId,
    pub customer_id: CustomerId,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub assignee: Option<AgentId>,
    pub comments: Vec<TicketComment>,
    pub created_at: String,
    pub updated_at: String,
    /// Bumped by every change; the ETag an update must match.
    pub version: u32,
}
