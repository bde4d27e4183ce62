//! `/v1/tickets`: opening tickets, changing their status, priority, subject or assignee, and
//! adding comments.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use switchboard_model::{
    Author, NewComment, NewTicket, Priority, Record, RecordKind, Ticket, TicketChange,
    TicketComment, TicketId, TicketStatus,
};

use super::auth::Caller;
use super::error::{ApiError, ConflictBody, ErrorBody};
use super::write::{
    answer, current_as, idempotency_key, json_body, new_id, referenced, referenced_customer,
    require_text, required_if_match,
};
use crate::db::records::{Expect, Stored};
use crate::{HubState, now_rfc3339};

const MAX_SUBJECT: usize = 200;
const MAX_COMMENT: usize = 20_000;

/// Opens a ticket for a customer.
#[utoipa::path(
    post,
    path = "/v1/tickets",
    tag = "tickets",
    security(("bearer" = [])),
    request_body = NewTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Opened; ETag holds its version", body = Ticket),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 409, description = "A record with the chosen id exists", body = ConflictBody),
        (status = 422, description = "An id refers to nothing, or the key was used for another request", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<HubState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, "POST /v1/tickets", &body)?;
    let request: NewTicket = json_body(&body)?;
    let id = new_id(request.id.as_ref().map(TicketId::as_str), TicketId::PREFIX)?;
    let subject = require_text("subject", &request.subject, MAX_SUBJECT)?;
    let comment = request
        .comment
        .as_deref()
        .map(|text| require_text("comment", text, MAX_COMMENT))
        .transpose()?;
    referenced_customer(&state.db, caller.tenant(), &request.customer_id).await?;
    if let Some(assignee) = &request.assignee {
        referenced(
            &state.db,
            caller.tenant(),
            "assignee",
            RecordKind::Agent,
            assignee.as_str(),
        )
        .await?;
    }

    let now = now_rfc3339();
    let ticket = Ticket {
        id: TicketId(id.clone()),
        customer_id: request.customer_id,
        subject,
        status: TicketStatus::New,
        priority: request.priority.unwrap_or(Priority::Normal),
        assignee: request.assignee,
        comments: comment
            .into_iter()
            .map(|body| TicketComment {
                author: Author::Agent(caller.agent().clone()),
                body,
                public: false,
                created_at: now.clone(),
            })
            .collect(),
        created_at: now.clone(),
        updated_at: now,
        version: 0,
    };
    let outcome = state
        .db
        .write(caller.tenant(), &id, key.as_ref(), Expect::Absent, |_| {
            Ok(Record::Ticket(ticket))
        })
        .await;
    answer("ticket", &id, outcome)
}

/// Changes a ticket's subject, status, priority or assignee.
#[utoipa::path(
    patch,
    path = "/v1/tickets/{id}",
    tag = "tickets",
    security(("bearer" = [])),
    request_body = TicketChange,
    params(
        ("id" = String, Path, description = "The ticket, `tkt_…`"),
        ("If-Match" = String, Header, description = "The ETag of the version this change is based on"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    responses(
        (status = 200, description = "Changed; ETag holds the new version", body = Ticket),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 412, description = "The ticket changed since it was read", body = ConflictBody),
        (status = 428, description = "If-Match is missing", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, &format!("PATCH /v1/tickets/{id}"), &body)?;
    let expected = required_if_match(&headers)?;
    let change: TicketChange = json_body(&body)?;
    let subject = change
        .subject
        .as_deref()
        .map(|text| require_text("subject", text, MAX_SUBJECT))
        .transpose()?;
    if let Some(Some(assignee)) = &change.assignee {
        referenced(
            &state.db,
            caller.tenant(),
            "assignee",
            RecordKind::Agent,
            assignee.as_str(),
        )
        .await?;
    }

    let outcome = state
        .db
        .write(
            caller.tenant(),
            &id,
            key.as_ref(),
            Expect::Version(expected),
            |current| {
                let mut ticket = current_ticket(current, &id)?;
                if let Some(subject) = subject {
                    ticket.subject = subject;
                }
                if let Some(status) = change.status {
                    ticket.status = status;
                }
                if let Some(priority) = change.priority {
                    ticket.priority = priority;
                }
                if let Some(assignee) = change.assignee {
                    ticket.assignee = assignee;
                }
                ticket.updated_at = now_rfc3339();
                Ok(Record::Ticket(ticket))
            },
        )
        .await;
    answer("ticket", &id, outcome)
}

/// Adds a comment to a ticket.
#[utoipa::path(
    post,
    path = "/v1/tickets/{id}/comments",
    tag = "tickets",
    security(("bearer" = [])),
    request_body = NewComment,
    params(
        ("id" = String, Path, description = "The ticket, `tkt_…`"),
        ("If-Match" = Option<String>, Header, description = "When present, the comment is added only to this version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    responses(
        (status = 200, description = "Added; the whole ticket, ETag holds its version", body = Ticket),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 412, description = "The ticket changed since it was read", body = ConflictBody),
    )
)]
pub async fn comment(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, &format!("POST /v1/tickets/{id}/comments"), &body)?;
    // Comments only add, so they need not be based on the latest version; a client that wants
    // that guarantee sends If-Match anyway.
    let expect = super::write::if_match(&headers)?.map_or(Expect::Existing, Expect::Version);
    let request: NewComment = json_body(&body)?;
    let text = require_text("body", &request.body, MAX_COMMENT)?;

    let outcome = state
        .db
        .write(caller.tenant(), &id, key.as_ref(), expect, |current| {
            let mut ticket = current_ticket(current, &id)?;
            let now = now_rfc3339();
            ticket.comments.push(TicketComment {
                author: Author::Agent(caller.agent().clone()),
                body: text,
                public: request.public,
                created_at: now.clone(),
            });
            ticket.updated_at = now;
            Ok(Record::Ticket(ticket))
        })
        .await;
    answer("ticket", &id, outcome)
}

fn current_ticket(current: Option<&Stored>, id: &str) -> Result<Ticket, ApiError> {
    current_as(current, "ticket", id, |record| match record {
        Record::Ticket(ticket) => Some(ticket),
        _ => None,
    })
}
