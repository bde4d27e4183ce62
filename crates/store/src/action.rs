//! What an agent can write, as data: each action knows the record it changes, the request that
//! carries it to the hub, and what it does to the record locally. The local effect is a pure
//! function of the record it starts from, so that the cache can lay unsent actions over a newer
//! state from the hub again (a rebase) without asking anyone.

use serde::{Deserialize, Serialize};
use switchboard_model::{
    AgentId, Author, CallLog, InteractionId, Message, MessageId, NewComment, NewMessage, NewNote,
    NewTicket, NewWrapUp, Note, NoteChange, NoteId, Priority, Record, RecordKind, StateChange,
    Ticket, TicketChange, TicketComment, TicketId, TicketStatus, WrapUp, WrapUpId,
};

/// The longest texts the hub takes; checked here too so that the agent hears at once rather
/// than from a parked outbox row later.
const MAX_NOTE: usize = 20_000;
const MAX_MESSAGE: usize = 4_000;
const MAX_SUBJECT: usize = 200;
const MAX_DISPOSITION: usize = 64;

/// One write an agent makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    AddNote(NewNote),
    EditNote {
        id: NoteId,
        change: NoteChange,
    },
    OpenTicket(NewTicket),
    ChangeTicket {
        id: TicketId,
        change: TicketChange,
    },
    CommentOnTicket {
        id: TicketId,
        comment: NewComment,
    },
    SendMessage(NewMessage),
    WrapUp(NewWrapUp),
    SetState {
        agent: AgentId,
        change: StateChange,
    },
    /// A call the agent's phone took or placed, as it stands (answered, then ended).
    LogCall {
        id: InteractionId,
        call: CallLog,
    },
}

/// Who acts, and when: what the local effect stamps into records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub agent: AgentId,
    /// RFC 3339, UTC.
    pub now: String,
}

/// The HTTP method of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Patch,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "POST" => Some(Method::Post),
            "PATCH" => Some(Method::Patch),
            "PUT" => Some(Method::Put),
            _ => None,
        }
    }
}

/// The request that carries an action to the hub, fixed when the action is made: a retry must
/// send the very same body, since the hub recognises a retry by its key and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Relative to the hub's base URL, such as `v1/notes`.
    pub path: String,
    pub body: String,
    /// Whether the hub needs `If-Match`: the action edits what the agent saw.
    pub needs_if_match: bool,
}

/// Why an action cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{what} {id} is not in this desk's cache; sync first, or check the id")]
    Unknown { what: &'static str, id: String },
    #[error("this ticket change changes nothing")]
    NothingToChange,
    #[error("a call cannot be answered before it starts or end before it is answered")]
    TimesOutOfOrder,
}

impl Action {
    /// The id of the record this action creates or changes. Creations get an id chosen here
    /// when they have none, so that the record has one before the hub has seen it.
    pub fn target(&self) -> (RecordKind, &str) {
        match self {
            Action::AddNote(note) => (RecordKind::Note, id_or_empty(note.id.as_ref())),
            Action::EditNote { id, .. } => (RecordKind::Note, id.as_str()),
            Action::OpenTicket(ticket) => (RecordKind::Ticket, id_or_empty(ticket.id.as_ref())),
            Action::ChangeTicket { id, .. } | Action::CommentOnTicket { id, .. } => {
                (RecordKind::Ticket, id.as_str())
            }
            Action::SendMessage(message) => (RecordKind::Message, id_or_empty(message.id.as_ref())),
            Action::WrapUp(wrap_up) => (RecordKind::WrapUp, id_or_empty(wrap_up.id.as_ref())),
            Action::SetState { agent, .. } => (RecordKind::Agent, agent.as_str()),
            Action::LogCall { id, .. } => (RecordKind::Interaction, id.as_str()),
        }
    }

    /// The record the hub must have before this action can reach it: the interaction a note,
    /// a message or a wrap-up refers to, which may itself still wait in the outbox (a call the
    /// desk logged a moment ago).
    pub fn after(&self) -> Option<&str> {
        match self {
            Action::AddNote(note) => note.interaction_id.as_ref().map(InteractionId::as_str),
            Action::SendMessage(message) => Some(message.interaction_id.as_str()),
            Action::WrapUp(wrap_up) => Some(wrap_up.interaction_id.as_str()),
            _ => None,
        }
    }

    /// Gives a creation without an id a fresh one from `fresh` (the kind's prefix in, an id
    /// out).
    pub fn assign_id(&mut self, fresh: impl FnOnce(&str) -> String) {
        match self {
            Action::AddNote(note) if note.id.is_none() => {
                note.id = Some(NoteId(fresh(NoteId::PREFIX)));
            }
            Action::OpenTicket(ticket) if ticket.id.is_none() => {
                ticket.id = Some(TicketId(fresh(TicketId::PREFIX)));
            }
            Action::SendMessage(message) if message.id.is_none() => {
                message.id = Some(MessageId(fresh(MessageId::PREFIX)));
            }
            Action::WrapUp(wrap_up) if wrap_up.id.is_none() => {
                wrap_up.id = Some(WrapUpId(fresh(WrapUpId::PREFIX)));
            }
            _ => {}
        }
    }

    /// The record this action needs besides its target: the interaction a message or a
    /// wrap-up belongs to.
    pub fn related(&self) -> Option<&str> {
        match self {
            Action::SendMessage(message) => Some(message.interaction_id.as_str()),
            Action::WrapUp(wrap_up) => Some(wrap_up.interaction_id.as_str()),
            _ => None,
        }
    }

    /// Whether this action makes a new record rather than changing one.
    pub fn creates(&self) -> bool {
        matches!(
            self,
            Action::AddNote(_) | Action::OpenTicket(_) | Action::SendMessage(_) | Action::WrapUp(_)
        )
    }

    /// A short name for lists and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Action::AddNote(_) => "add_note",
            Action::EditNote { .. } => "edit_note",
            Action::OpenTicket(_) => "open_ticket",
            Action::ChangeTicket { .. } => "change_ticket",
            Action::CommentOnTicket { .. } => "comment_on_ticket",
            Action::SendMessage(_) => "send_message",
            Action::WrapUp(_) => "wrap_up",
            Action::SetState { .. } => "set_state",
            Action::LogCall { .. } => "log_call",
        }
    }

    /// Refuses what the hub would refuse for its shape alone.
    pub fn validate(&self) -> Result<(), ActionError> {
        match self {
            Action::AddNote(note) => text("body", &note.body, MAX_NOTE),
            Action::EditNote { change, .. } => text("body", &change.body, MAX_NOTE),
            Action::OpenTicket(ticket) => {
                text("subject", &ticket.subject, MAX_SUBJECT)?;
                match &ticket.comment {
                    Some(comment) => text("comment", comment, MAX_NOTE),
                    None => Ok(()),
                }
            }
            Action::ChangeTicket { change, .. } => {
                if change.is_empty() {
                    return Err(ActionError::NothingToChange);
                }
                match &change.subject {
                    Some(subject) => text("subject", subject, MAX_SUBJECT),
                    None => Ok(()),
                }
            }
            Action::CommentOnTicket { comment, .. } => text("body", &comment.body, MAX_NOTE),
            Action::SendMessage(message) => text("body", &message.body, MAX_MESSAGE),
            Action::WrapUp(wrap_up) => {
                text("disposition", &wrap_up.disposition, MAX_DISPOSITION)?;
                match &wrap_up.notes {
                    Some(notes) => text("notes", notes, MAX_NOTE),
                    None => Ok(()),
                }
            }
            Action::SetState { .. } => Ok(()),
            Action::LogCall { call, .. } => {
                let answered = call.answered_at.as_deref().unwrap_or(&call.started_at);
                let backwards = answered < call.started_at.as_str()
                    || call
                        .ended_at
                        .as_deref()
                        .is_some_and(|ended| ended < answered);
                if backwards {
                    return Err(ActionError::TimesOutOfOrder);
                }
                Ok(())
            }
        }
    }

    /// The request that carries this action to the hub.
    pub fn request(&self) -> Request {
        let (method, path, body, needs_if_match) = match self {
            Action::AddNote(note) => (Method::Post, "v1/notes".to_owned(), json(note), false),
            Action::EditNote { id, change } => {
                (Method::Patch, format!("v1/notes/{id}"), json(change), true)
            }
            Action::OpenTicket(ticket) => {
                (Method::Post, "v1/tickets".to_owned(), json(ticket), false)
            }
            Action::ChangeTicket { id, change } => (
                Method::Patch,
                format!("v1/tickets/{id}"),
                json(change),
                true,
            ),
            // Comments only add to a ticket, so they need not be based on the latest version:
            // two agents commenting at once is no conflict.
            Action::CommentOnTicket { id, comment } => (
                Method::Post,
                format!("v1/tickets/{id}/comments"),
                json(comment),
                false,
            ),
            Action::SendMessage(message) => {
                (Method::Post, "v1/messages".to_owned(), json(message), false)
            }
            Action::WrapUp(wrap_up) => {
                (Method::Post, "v1/wrap-ups".to_owned(), json(wrap_up), false)
            }
            // A state is a fact about now, not an edit of what was read.
            Action::SetState { agent, change } => (
                Method::Put,
                format!("v1/agents/{agent}/state"),
                json(change),
                false,
            ),
            // The phone is the only source of a call's facts, so its log is never stale.
            Action::LogCall { id, call } => {
                (Method::Put, format!("v1/calls/{id}"), json(call), false)
            }
        };
        Request {
            method,
            path,
            body,
            needs_if_match,
        }
    }

    /// The record after this action, from `current` (the target as it stands, if it exists)
    /// and `related` (the record [`Action::related`] names). What the hub will hold once it has
    /// the action, as far as the desk can know it.
    pub fn apply(
        &self,
        current: Option<&Record>,
        related: Option<&Record>,
        actor: &Actor,
    ) -> Result<Record, ActionError> {
        let (kind, id) = self.target();
        let unknown = |what: &'static str, id: &str| ActionError::Unknown {
            what,
            id: id.to_owned(),
        };
        match self {
            Action::AddNote(note) => Ok(Record::Note(Note {
                id: NoteId(id.to_owned()),
                customer_id: note.customer_id.clone(),
                interaction_id: note.interaction_id.clone(),
                author: actor.agent.clone(),
                body: note.body.trim().to_owned(),
                created_at: actor.now.clone(),
                updated_at: actor.now.clone(),
                version: 0,
            })),
            Action::EditNote { change, .. } => match current {
                Some(Record::Note(note)) => {
                    let mut note = note.clone();
                    note.body = change.body.trim().to_owned();
                    note.updated_at = actor.now.clone();
                    Ok(Record::Note(note))
                }
                _ => Err(unknown("note", id)),
            },
            Action::OpenTicket(ticket) => Ok(Record::Ticket(Ticket {
                id: TicketId(id.to_owned()),
                customer_id: ticket.customer_id.clone(),
                subject: ticket.subject.trim().to_owned(),
                status: TicketStatus::New,
                priority: ticket.priority.unwrap_or(Priority::Normal),
                assignee: ticket.assignee.clone(),
                comments: ticket
                    .comment
                    .iter()
                    .map(|body| TicketComment {
                        author: Author::Agent(actor.agent.clone()),
                        body: body.trim().to_owned(),
                        public: false,
                        created_at: actor.now.clone(),
                    })
                    .collect(),
                created_at: actor.now.clone(),
                updated_at: actor.now.clone(),
                version: 0,
            })),
            Action::ChangeTicket { change, .. } => match current {
                Some(Record::Ticket(ticket)) => {
                    let mut ticket = ticket.clone();
                    if let Some(subject) = &change.subject {
                        ticket.subject = subject.trim().to_owned();
                    }
                    if let Some(status) = change.status {
                        ticket.status = status;
                    }
                    if let Some(priority) = change.priority {
                        ticket.priority = priority;
                    }
                    if let Some(assignee) = &change.assignee {
                        ticket.assignee = assignee.clone();
                    }
                    ticket.updated_at = actor.now.clone();
                    Ok(Record::Ticket(ticket))
                }
                _ => Err(unknown("ticket", id)),
            },
            Action::CommentOnTicket { comment, .. } => match current {
                Some(Record::Ticket(ticket)) => {
                    let mut ticket = ticket.clone();
                    ticket.comments.push(TicketComment {
                        author: Author::Agent(actor.agent.clone()),
                        body: comment.body.trim().to_owned(),
                        public: comment.public,
                        created_at: actor.now.clone(),
                    });
                    ticket.updated_at = actor.now.clone();
                    Ok(Record::Ticket(ticket))
                }
                _ => Err(unknown("ticket", id)),
            },
            Action::SendMessage(message) => match related {
                Some(Record::Interaction(interaction)) => Ok(Record::Message(Message {
                    id: MessageId(id.to_owned()),
                    interaction_id: message.interaction_id.clone(),
                    conversation_id: interaction.conversation_id.clone(),
                    author: Author::Agent(actor.agent.clone()),
                    body: message.body.trim().to_owned(),
                    sent_at: actor.now.clone(),
                })),
                _ => Err(unknown("interaction", message.interaction_id.as_str())),
            },
            Action::WrapUp(wrap_up) => match related {
                Some(Record::Interaction(_)) => Ok(Record::WrapUp(WrapUp {
                    id: WrapUpId(id.to_owned()),
                    interaction_id: wrap_up.interaction_id.clone(),
                    agent_id: actor.agent.clone(),
                    disposition: wrap_up.disposition.trim().to_owned(),
                    notes: wrap_up.notes.as_ref().map(|notes| notes.trim().to_owned()),
                    handle_seconds: wrap_up.handle_seconds,
                    created_at: actor.now.clone(),
                    version: 0,
                })),
                _ => Err(unknown("interaction", wrap_up.interaction_id.as_str())),
            },
            Action::SetState { change, .. } => match current {
                Some(Record::Agent(agent)) => {
                    let mut agent = agent.clone();
                    if agent.state != change.state {
                        agent.state = change.state;
                        agent.state_since = actor.now.clone();
                    }
                    Ok(Record::Agent(agent))
                }
                _ => Err(unknown(kind.as_str(), id)),
            },
            Action::LogCall { id, call } => {
                let earlier = match current {
                    Some(Record::Interaction(interaction)) => Some(interaction),
                    _ => None,
                };
                Ok(Record::Interaction(call.interaction(
                    id,
                    earlier,
                    &actor.agent,
                )))
            }
        }
    }
}

fn id_or_empty<T: AsRef<str>>(id: Option<&T>) -> &str {
    id.map_or("", AsRef::as_ref)
}

fn text(field: &'static str, value: &str, max: usize) -> Result<(), ActionError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ActionError::Empty { field });
    }
    if value.chars().count() > max {
        return Err(ActionError::TooLong { field, max });
    }
    Ok(())
}

fn json<T: Serialize>(value: &T) -> String {
    // These are plain structs of strings and numbers; serialising them cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use switchboard_model::{CustomerId, TicketStatus};

    use super::*;

    fn actor() -> Actor {
        Actor {
            agent: AgentId::from_number(1),
            now: "2026-12-04T10:00:00Z".to_owned(),
        }
    }

    fn ticket() -> Record {
        Record::Ticket(Ticket {
            id: TicketId::from_number(5),
            customer_id: CustomerId::from_number(9),
            subject: "Parcel late".to_owned(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            assignee: None,
            comments: Vec::new(),
            created_at: "2026-12-01T09:00:00Z".to_owned(),
            updated_at: "2026-12-01T09:00:00Z".to_owned(),
            version: 3,
        })
    }

    #[test]
    fn a_ticket_change_lays_over_whatever_state_it_finds() {
        let action = Action::ChangeTicket {
            id: TicketId::from_number(5),
            change: TicketChange {
                status: Some(TicketStatus::Solved),
                ..TicketChange::default()
            },
        };
        let mut newer = ticket();
        if let Record::Ticket(ticket) = &mut newer {
            ticket.priority = Priority::Urgent;
            ticket.version = 4;
        }

        let Ok(Record::Ticket(result)) = action.apply(Some(&newer), None, &actor()) else {
            panic!("a ticket change applies to a ticket");
        };
        assert_eq!(
            result.status,
            TicketStatus::Solved,
            "the agent's change is made"
        );
        assert_eq!(
            result.priority,
            Priority::Urgent,
            "and someone else's newer change to another field is kept"
        );
        assert!(
            action.apply(None, None, &actor()).is_err(),
            "a change to a ticket the desk does not have cannot be shown"
        );
    }

    #[test]
    fn creations_get_an_id_before_the_hub_sees_them() {
        let mut action = Action::AddNote(NewNote {
            id: None,
            customer_id: CustomerId::from_number(9),
            interaction_id: None,
            body: " Prefers e-mail ".to_owned(),
        });
        action.assign_id(|prefix| format!("{prefix}_local1"));
        assert_eq!(
            action.target(),
            (RecordKind::Note, "not_local1"),
            "the id is chosen with the kind's prefix"
        );
        let request = action.request();
        assert!(
            request.body.contains("not_local1"),
            "the hub is told the id, so that a retry cannot make a second note"
        );
        assert!(!request.needs_if_match, "a new note edits nothing");
        let Ok(Record::Note(note)) = action.apply(None, None, &actor()) else {
            panic!("a note is made");
        };
        assert_eq!(
            note.body, "Prefers e-mail",
            "trimmed, as the hub will store it"
        );
    }

    #[test]
    fn edits_need_if_match_and_additions_do_not() {
        let edit = Action::EditNote {
            id: NoteId::from_number(1),
            change: NoteChange {
                body: "x".to_owned(),
            },
        };
        assert!(
            edit.request().needs_if_match,
            "an edit is based on what was read"
        );
        let comment = Action::CommentOnTicket {
            id: TicketId::from_number(5),
            comment: NewComment {
                body: "Called back".to_owned(),
                public: false,
            },
        };
        assert!(
            !comment.request().needs_if_match,
            "comments commute with other changes"
        );
        assert_eq!(
            comment.request().path,
            "v1/tickets/tkt_0000000000000005/comments"
        );
    }

    #[test]
    fn empty_and_oversized_text_is_refused_before_it_queues() {
        let empty = Action::AddNote(NewNote {
            id: None,
            customer_id: CustomerId::from_number(9),
            interaction_id: None,
            body: "   ".to_owned(),
        });
        assert_eq!(
            empty.validate(),
            Err(ActionError::Empty { field: "body" }),
            "blank notes help nobody"
        );
        let nothing = Action::ChangeTicket {
            id: TicketId::from_number(5),
            change: TicketChange::default(),
        };
        assert_eq!(nothing.validate(), Err(ActionError::NothingToChange));
    }
}
