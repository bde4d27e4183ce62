//! Routing's vocabulary: offers of waiting work to agents, and what a queue looks like from
//! outside (how many wait, for how long, in what order).

use serde::{Deserialize, Serialize};

use crate::{AgentId, Channel, CustomerId, InteractionId, OfferId, QueueId};

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    /// Waiting for the agent to accept or decline.
    Pending,
    Accepted,
    Declined,
    /// Not answered in time; the work went back to its queue.
    Expired,
    /// Taken back because the customer left.
    Withdrawn,
}

impl OfferState {
    /// The name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Pending => "pending",
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Expired => "expired",
            OfferState::Withdrawn => "withdrawn",
        }
    }
}

/// A chat or call offered to one agent: the event that makes a desktop ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub id: OfferId,
    pub interaction_id: InteractionId,
    pub customer_id: CustomerId,
    pub queue_id: QueueId,
    pub channel: Channel,
    pub agent_id: AgentId,
    pub state: OfferState,
    pub offered_at: String,
    /// When the offer passes to the next agent if not accepted.
    pub expires_at: String,
    pub version: u32,
}

/// One queue's load now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueStats {
    pub queue_id: QueueId,
    pub name: String,
    /// Chats and calls waiting for an agent, offered ones included.
    pub waiting: u32,
    /// How long the longest-waiting one has waited, in seconds.
    pub longest_wait_seconds: u64,
    /// Agents in this queue who are available with room on some channel.
    pub available_agents: u32,
    /// Everything waiting, first in line first.
    pub line: Vec<WaitingInteraction>,
}

/// One chat or call waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitingInteraction {
    pub interaction_id: InteractionId,
    pub customer_id: CustomerId,
    pub channel: Channel,
    /// 1 for the next to be served.
    pub position: u32,
    pub waited_seconds: u64,
    /// Whether it is being offered to an agent right now.
    pub offered: bool,
}
