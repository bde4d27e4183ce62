//! What agents write around a conversation: notes about the customer, chat messages, and the
//! wrap-up after an interaction.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use switchboard_model::{
    Author, Message, MessageId, NewMessage, NewNote, NewWrapUp, Note, NoteChange, NoteId, Record,
    RecordKind, WrapUp, WrapUpId,
};

use super::auth::Caller;
use super::error::{ApiError, ConflictBody, ErrorBody};
use super::write::{
    answer, current_as, idempotency_key, json_body, new_id, referenced, referenced_customer,
    require_text, required_if_match,
};
use crate::db::records::Expect;
use crate::{HubState, now_rfc3339, now_rfc3339_millis};

const MAX_NOTE: usize = 20_000;
const MAX_MESSAGE: usize = 4_000;
const MAX_DISPOSITION: usize = 64;

/// Adds a note to a customer's record.
#[utoipa::path(
    post,
    path = "/v1/notes",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = NewNote,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Added; ETag holds its version", body = Note),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 409, description = "A record with the chosen id exists", body = ConflictBody),
        (status = 422, description = "An id refers to nothing, or the key was used for another request", body = ErrorBody),
    )
)]
pub async fn create_note(
    State(state): State<HubState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, "POST /v1/notes", &body)?;
    let request: NewNote = json_body(&body)?;
    let id = new_id(request.id.as_ref().map(NoteId::as_str), NoteId::PREFIX)?;
    let text = require_text("body", &request.body, MAX_NOTE)?;
    referenced_customer(&state.db, caller.tenant(), &request.customer_id).await?;
    if let Some(interaction) = &request.interaction_id {
        referenced(
            &state.db,
            caller.tenant(),
            "interaction_id",
            RecordKind::Interaction,
            interaction.as_str(),
        )
        .await?;
    }

    let now = now_rfc3339();
    let note = Note {
        id: NoteId(id.clone()),
        customer_id: request.customer_id,
        interaction_id: request.interaction_id,
        author: caller.agent().clone(),
        body: text,
        created_at: now.clone(),
        updated_at: now,
        version: 0,
    };
    let outcome = state
        .db
        .write(caller.tenant(), &id, key.as_ref(), Expect::Absent, |_| {
            Ok(Record::Note(note))
        })
        .await;
    answer("note", &id, outcome)
}

/// Rewrites a note. Only its author, a supervisor or an admin may.
#[utoipa::path(
    patch,
    path = "/v1/notes/{id}",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = NoteChange,
    params(
        ("id" = String, Path, description = "The note, `not_…`"),
        ("If-Match" = String, Header, description = "The ETag of the version this change is based on"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    responses(
        (status = 200, description = "Changed; ETag holds the new version", body = Note),
        (status = 403, description = "The note is another agent's", body = ErrorBody),
        (status = 404, description = "No such note", body = ErrorBody),
        (status = 412, description = "The note changed since it was read", body = ConflictBody),
        (status = 428, description = "If-Match is missing", body = ErrorBody),
    )
)]
pub async fn update_note(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, &format!("PATCH /v1/notes/{id}"), &body)?;
    let expected = required_if_match(&headers)?;
    let change: NoteChange = json_body(&body)?;
    let text = require_text("body", &change.body, MAX_NOTE)?;

    let outcome = state
        .db
        .write(
            caller.tenant(),
            &id,
            key.as_ref(),
            Expect::Version(expected),
            |current| {
                let mut note = current_as(current, "note", &id, |record| match record {
                    Record::Note(note) => Some(note),
                    _ => None,
                })?;
                if &note.author != caller.agent() {
                    caller.require_supervisor("change another agent's note")?;
                }
                note.body = text;
                note.updated_at = now_rfc3339();
                Ok(Record::Note(note))
            },
        )
        .await;
    answer("note", &id, outcome)
}

/// Sends a chat message from the signed-in agent into a chat interaction.
#[utoipa::path(
    post,
    path = "/v1/messages",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = NewMessage,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Sent; the customer sees it live", body = Message),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 409, description = "A record with the chosen id exists", body = ConflictBody),
        (status = 422, description = "An id refers to nothing, or the key was used for another request", body = ErrorBody),
    )
)]
pub async fn create_message(
    State(state): State<HubState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, "POST /v1/messages", &body)?;
    let request: NewMessage = json_body(&body)?;
    let id = new_id(
        request.id.as_ref().map(MessageId::as_str),
        MessageId::PREFIX,
    )?;
    let text = require_text("body", &request.body, MAX_MESSAGE)?;
    let interaction = match referenced(
        &state.db,
        caller.tenant(),
        "interaction_id",
        RecordKind::Interaction,
        request.interaction_id.as_str(),
    )
    .await?
    {
        Record::Interaction(interaction) => interaction,
        _ => unreachable_kind()?,
    };
    if interaction.channel != switchboard_model::Channel::Chat {
        return Err(ApiError::InvalidInput {
            field: "interaction_id",
            reason: "is a call; messages go into chats".to_owned(),
        });
    }

    let message = Message {
        id: MessageId(id.clone()),
        interaction_id: interaction.id,
        conversation_id: interaction.conversation_id,
        author: Author::Agent(caller.agent().clone()),
        body: text,
        sent_at: now_rfc3339_millis(),
    };
    let outcome = state
        .db
        .write(caller.tenant(), &id, key.as_ref(), Expect::Absent, |_| {
            Ok(Record::Message(message))
        })
        .await;
    answer("message", &id, outcome)
}

/// Records how an interaction ended.
#[utoipa::path(
    post,
    path = "/v1/wrap-ups",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = NewWrapUp,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Recorded; ETag holds its version", body = WrapUp),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 409, description = "A record with the chosen id exists", body = ConflictBody),
        (status = 422, description = "An id refers to nothing, or the key was used for another request", body = ErrorBody),
    )
)]
pub async fn create_wrap_up(
    State(state): State<HubState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, "POST /v1/wrap-ups", &body)?;
    let request: NewWrapUp = json_body(&body)?;
    let id = new_id(request.id.as_ref().map(WrapUpId::as_str), WrapUpId::PREFIX)?;
    let disposition = require_text("disposition", &request.disposition, MAX_DISPOSITION)?;
    if !disposition
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ApiError::InvalidInput {
            field: "disposition",
            reason: "must be a code of lower-case letters, digits and underscores".to_owned(),
        });
    }
    let notes = request
        .notes
        .as_deref()
        .map(|text| require_text("notes", text, MAX_NOTE))
        .transpose()?;
    referenced(
        &state.db,
        caller.tenant(),
        "interaction_id",
        RecordKind::Interaction,
        request.interaction_id.as_str(),
    )
    .await?;

    let wrap_up = WrapUp {
        id: WrapUpId(id.clone()),
        interaction_id: request.interaction_id,
        agent_id: caller.agent().clone(),
        disposition,
        notes,
        handle_seconds: request.handle_seconds,
        created_at: now_rfc3339(),
        version: 0,
    };
    let outcome = state
        .db
        .write(caller.tenant(), &id, key.as_ref(), Expect::Absent, |_| {
            Ok(Record::WrapUp(wrap_up))
        })
        .await;
    answer("wrap-up", &id, outcome)
}

/// `referenced` checked the kind already; this arm cannot be reached.
fn unreachable_kind<T>() -> Result<T, ApiError> {
    Err(ApiError::InvalidInput {
        field: "interaction_id",
        reason: "names a record of another kind".to_owned(),
    })
}
