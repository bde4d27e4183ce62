//! The agent's writes the hub did not take as they were: conflicts (someone changed the record
//! first; both versions are kept) and parked writes (the hub refused them; its words are kept).
//! Nothing here is dropped by itself: each waits for the agent to keep theirs, take the hub's,
//! send again or give up.

use serde::{Deserialize, Serialize};
use switchboard_model::{AgentState, Priority, Record, TicketStatus};
use switchboard_store::{OpState, OutboxEntry};

use crate::{Engine, EngineError};

/// One write waiting for the agent, as the window lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WriteView {
    pub op_id: String,
    pub problem: WriteProblem,
    /// What the write was, in words: "Ticket change", "Note".
    pub what: String,
    pub record_id: String,
    /// The record as this desk shows it, with the agent's change.
    pub mine: Option<String>,
    /// For a conflict: the record as the hub holds it now.
    pub theirs: Option<String>,
    /// The hub's words.
    pub message: Option<String>,
    /// When the agent made it, in milliseconds since the epoch.
    pub made_at_ms: f64,
}

/// Why a write waits for the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum WriteProblem {
    /// Someone changed the record first.
    Conflict,
    /// The hub refused it as it is.
    Parked,
}

/// What the agent decides about a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A conflict: send my change again, on top of the hub's version.
    KeepMine,
    /// A conflict: give my change up for the hub's version.
    TakeTheirs,
    /// A parked write: send it again (its cause has gone).
    Retry,
    /// A parked write: give it up.
    Discard,
}

/// The window's view of one outbox row, with the agent's version read from the cache.
pub fn view_of(entry: &OutboxEntry, mine: Option<&Record>) -> Option<WriteView> {
    let problem = match entry.state {
        OpState::Conflict => WriteProblem::Conflict,
        OpState::Parked => WriteProblem::Parked,
        _ => return None,
    };
    Some(WriteView {
        op_id: entry.op_id.clone(),
        problem,
        what: action_words(&entry.action).to_owned(),
        record_id: entry.record_id.clone(),
        mine: mine.map(describe),
        theirs: entry.theirs.as_ref().map(describe),
        message: entry.last_error.clone(),
        made_at_ms: entry.created_at as f64,
    })
}

/// An action's name as the agent reads it.
fn action_words(action: &str) -> &'static str {
    match action {
        "add_note" => "Note",
        "edit_note" => "Note change",
        "open_ticket" => "New ticket",
        "change_ticket" => "Ticket change",
        "comment_on_ticket" => "Ticket comment",
        "send_message" => "Chat message",
        "wrap_up" => "Wrap-up",
        "set_state" => "Your state",
        "log_call" => "Call log",
        _ => "Change",
    }
}

/// A record in one line, as far as a conflict needs: what the two versions say.
pub fn describe(record: &Record) -> String {
    match record {
        Record::Ticket(ticket) => format!(
            "{} ({}, {} priority)",
            ticket.subject,
            status_words(ticket.status),
            priority_words(ticket.priority)
        ),
        Record::Note(note) => note.body.clone(),
        Record::Agent(agent) => state_words(agent.state).to_owned(),
        Record::WrapUp(wrap_up) => wrap_up.disposition.replace('_', " "),
        Record::Message(message) => message.body.clone(),
        Record::Interaction(interaction) => interaction.state.as_str().replace('_', " "),
        other => other.id().to_owned(),
    }
}

fn status_words(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending => "pending",
        TicketStatus::Solved => "solved",
        TicketStatus::Closed => "closed",
    }
}

fn priority_words(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

fn state_words(state: AgentState) -> &'static str {
    match state {
        AgentState::Available => "available",
        AgentState::Busy => "busy",
        AgentState::AfterCallWork => "after-call work",
        AgentState::Break => "on break",
        AgentState::Offline => "offline",
    }
}

impl Engine {
    /// The agent's writes that wait for their decision, oldest first.
    pub async fn writes_needing_agent(&self) -> Result<Vec<WriteView>, EngineError> {
        let Some(cache) = self.desk_cache() else {
            return Ok(Vec::new());
        };
        cache.writes_needing_agent().await
    }

    /// Carries out the agent's decision about write `op_id`.
    pub async fn resolve_write(
        &self,
        op_id: String,
        resolution: Resolution,
    ) -> Result<(), EngineError> {
        let cache = self.desk_cache().ok_or_else(|| {
            EngineError::Cache("the desk's cache is not open; sign in again".to_owned())
        })?;
        cache.resolve(op_id, resolution).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicts_and_parked_writes_need_the_agent() {
        let entry = |state: OpState| OutboxEntry {
            op_id: "op-1".to_owned(),
            state,
            action: "change_ticket".to_owned(),
            record_id: "tkt_1".to_owned(),
            record_kind: "ticket".to_owned(),
            attempts: 1,
            last_error: Some("the ticket changed since it was read".to_owned()),
            created_at: 1_700_000_000_000,
            theirs: None,
            theirs_version: None,
            hub_version: None,
        };
        assert!(
            view_of(&entry(OpState::Pending), None).is_none(),
            "pending rows wait alone"
        );
        assert!(view_of(&entry(OpState::Accepted), None).is_none());
        let conflict = view_of(&entry(OpState::Conflict), None).expect("a conflict is listed");
        assert_eq!(conflict.problem, WriteProblem::Conflict);
        assert_eq!(conflict.what, "Ticket change", "named in the agent's words");
        assert_eq!(
            view_of(&entry(OpState::Parked), None).map(|view| view.problem),
            Some(WriteProblem::Parked)
        );
    }
}
