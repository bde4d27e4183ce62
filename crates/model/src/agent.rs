//! Tenants, the people who work in them, and the queues work waits in.

use serde::{Deserialize, Serialize};

use crate::{AgentId, Channel, QueueId, TenantId};

/// One contact centre. Its agents see only its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
}

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles calls and chats and keeps customer records.
    Agent,
    /// An agent who also watches queues and other agents.
    Supervisor,
    /// Manages the tenant's agents, queues and settings.
    Admin,
}

impl Role {
    /// The name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored name; `None` for a role this version does not know.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Agent, Role::Supervisor, Role::Admin]
            .into_iter()
            .find(|role| role.as_str() == name)
    }

    /// Whether this role may act for other agents (change their state, take their work).
    pub fn supervises(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }
}

/// Whether an agent can take work now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Available,
    Busy,
    AfterCallWork,
    Break,
    Offline,
}

/// How many interactions of each channel an agent can hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capacity {
    pub calls: u8,
    pub chats: u8,
}

impl Capacity {
    /// The capacity for `channel`.
    pub fn of(self, channel: Channel) -> u8 {
        match channel {
            Channel::Call => self.calls,
            Channel::Chat => self.chats,
        }
    }
}

/// A person who signs in to a desktop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: AgentId,
    pub display_name: String,
    /// The login name, an e-mail address.
    pub login: String,
    pub role: Role,
    pub state: AgentState,
    /// When the state last changed, for the state timer and longest-idle routing.
    pub state_since: String,
    pub capacity: Capacity,
    pub queues: Vec<QueueId>,
    pub version: u32,
}

/// A queue calls and chats wait in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queue {
    pub id: QueueId,
    pub name: String,
    pub channels: Vec<Channel>,
    /// Seconds an offer waits for an agent to accept before it goes to the next agent.
    pub offer_timeout_seconds: u32,
    pub version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_by_what_they_may_do() {
        assert!(
            Role::Agent < Role::Supervisor,
            "a supervisor may do what an agent may"
        );
        assert!(
            Role::Supervisor < Role::Admin,
            "an admin may do what a supervisor may"
        );
    }

    #[test]
    fn capacity_is_per_channel() {
        let capacity = Capacity { calls: 1, chats: 3 };
        assert_eq!(capacity.of(Channel::Call), 1, "one call at a time");
        assert_eq!(capacity.of(Channel::Chat), 3, "several chats at once");
    }
}
