//! The bodies of the hub's write routes, shared by the hub that reads them and the desktop that
//! sends them, so that both always agree on every field.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    AgentId, AgentState, Channel, ConversationId, CustomerId, Direction, Interaction,
    InteractionId, InteractionState, MessageId, NoteId, Priority, TicketId, TicketStatus, WrapUpId,
};

/// A note to add to a customer's record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// An id chosen by the client (`not_…`), or absent for the hub to choose.
    pub id: Option<NoteId>,
    pub customer_id: CustomerId,
    /// The interaction the note was written during, if any.
    pub interaction_id: Option<InteractionId>,
    pub body: String,
}

/// A note's new text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoteChange {
    pub body: String,
}

/// A chat message from the agent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// An id chosen by the client (`msg_…`), or absent for the hub to choose.
    pub id: Option<MessageId>,
    /// The chat interaction the message belongs to.
    pub interaction_id: InteractionId,
    pub body: String,
}

/// The wrap-up of an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWrapUp {
    /// An id chosen by the client (`wrp_…`), or absent for the hub to choose.
    pub id: Option<WrapUpId>,
    pub interaction_id: InteractionId,
    /// A disposition code such as `resolved` or `callback_needed`.
    pub disposition: String,
    pub notes: Option<String>,
    /// Handle time in seconds, from answer to the end of wrap-up.
    pub handle_seconds: u32,
}

/// A call the agent's own phone took or placed, as the phone knows it now: sent when the call
/// is answered and again when it ends. The hub keeps it as a call interaction of the agent's,
/// in the conversation named (made when new), so that the timeline holds calls that never went
/// through the hub's routing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallLog {
    /// The conversation the call belongs to: an existing one it continues (a chat that moved
    /// to a call), or a new one with an id chosen by the desk (`cnv_…`).
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    pub direction: Direction,
    /// The other party's number, in E.164 when it is a telephone number.
    pub remote_number: Option<String>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub answered_at: Option<String>,
    /// Absent while the call goes on.
    pub ended_at: Option<String>,
}

impl CallLog {
    /// The call interaction this log describes, on top of what was known of it (`earlier`),
    /// as the hub stores it and the desk shows it before the hub answers: routing's trail is
    /// kept, and an ended call is never reopened by a log that does not know the end.
    pub fn interaction(
        &self,
        id: &InteractionId,
        earlier: Option<&Interaction>,
        agent: &AgentId,
    ) -> Interaction {
        let ended_at = self
            .ended_at
            .clone()
            .or_else(|| earlier.and_then(|earlier| earlier.ended_at.clone()));
        let answered_at = self
            .answered_at
            .clone()
            .or_else(|| earlier.and_then(|earlier| earlier.answered_at.clone()));
        let state = match (&ended_at, &answered_at) {
            (Some(_), Some(_)) => InteractionState::Ended,
            (Some(_), None) => InteractionState::Abandoned,
            (None, _) => InteractionState::Active,
        };
        Interaction {
            id: id.clone(),
            conversation_id: self.conversation_id.clone(),
            customer_id: self.customer_id.clone(),
            channel: Channel::Call,
            direction: self.direction,
            state,
            queue_id: earlier.and_then(|earlier| earlier.queue_id.clone()),
            agent_id: Some(agent.clone()),
            remote_number: self.remote_number.clone(),
            started_at: self.started_at.clone(),
            answered_at,
            ended_at,
            offered_to: earlier.map_or_else(Vec::new, |earlier| earlier.offered_to.clone()),
            version: earlier.map_or(0, |earlier| earlier.version),
        }
    }
}

/// A ticket to open.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// An id chosen by the client (`tkt_…`), or absent for the hub to choose.
    pub id: Option<TicketId>,
    pub customer_id: CustomerId,
    pub subject: String,
    /// `normal` when absent.
    pub priority: Option<Priority>,
    /// Absent to leave the ticket unassigned.
    pub assignee: Option<AgentId>,
    /// A first, internal comment.
    pub comment: Option<String>,
}

/// A change to a ticket; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TicketChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// An agent id to assign, `null` to unassign, absent to leave as it is.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable))]
    pub assignee: Option<Option<AgentId>>,
}

impl TicketChange {
    /// Whether the change changes nothing.
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.assignee.is_none()
    }
}

/// A comment to add to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
    /// Whether the customer may see it; internal when absent.
    #[serde(default)]
    pub public: bool,
}

/// An agent's new state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    pub state: AgentState,
}

/// Tells a field that is present with `null` from one that is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_change_tells_unassign_from_leave_alone() {
        let unassign: TicketChange =
            serde_json::from_str(r#"{"assignee": null}"#).expect("null is accepted");
        assert_eq!(unassign.assignee, Some(None), "null means unassign");
        let untouched: TicketChange = serde_json::from_str("{}").expect("empty is accepted");
        assert_eq!(untouched.assignee, None, "absent means leave it");
        assert!(untouched.is_empty(), "and nothing else changes either");

        assert_eq!(
            serde_json::to_string(&unassign).expect("serialises"),
            r#"{"assignee":null}"#,
            "unassigning survives the trip to the hub"
        );
        assert_eq!(
            serde_json::to_string(&untouched).expect("serialises"),
            "{}",
            "and absent fields stay absent"
        );
    }
}
