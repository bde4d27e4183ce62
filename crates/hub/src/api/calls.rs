//! Calls the agents' own phones handle: the desk logs each call it answers or places, once when
//! it starts and once when it ends, so that the customer's timeline and the wrap-up have an
//! interaction to hang from even when the call never went through the hub's routing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use switchboard_model::{CallLog, Channel, Conversation, Interaction, InteractionId, Record};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::write::{answer, idempotency_key, json_body, new_id, referenced_customer};
use crate::HubState;
use crate::db::records::{Expect, WriteError};

/// The longest number the hub keeps; SIP addresses can be long, E.164 numbers are short.
const MAX_NUMBER: usize = 256;

/// Records a call the agent's phone handles, as the phone knows it now.
#[utoipa::path(
    put,
    path = "/v1/calls/{id}",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = CallLog,
    params(
        ("id" = String, Path, description = "The call's interaction, `int_…`, chosen by the desk"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    responses(
        (status = 201, description = "Logged; ETag holds its version", body = Interaction),
        (status = 200, description = "Updated (the call ended); ETag holds its version", body = Interaction),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 403, description = "The interaction is another agent's", body = ErrorBody),
        (status = 422, description = "The customer or conversation does not fit", body = ErrorBody),
    )
)]
pub async fn log(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, &format!("PUT /v1/calls/{id}"), &body)?;
    let id = new_id(Some(&id), InteractionId::PREFIX)?;
    let log: CallLog = json_body(&body)?;
    check_times(&log)?;
    if log
        .remote_number
        .as_ref()
        .is_some_and(|number| number.len() > MAX_NUMBER)
    {
        return Err(ApiError::InvalidInput {
            field: "remote_number",
            reason: format!("must be at most {MAX_NUMBER} characters"),
        });
    }
    new_id(
        Some(log.conversation_id.as_str()),
        switchboard_model::ConversationId::PREFIX,
    )
    .map_err(|_| ApiError::InvalidInput {
        field: "conversation_id",
        reason: "must be cnv_ followed by letters, digits or dashes".to_owned(),
    })?;
    referenced_customer(&state.db, caller.tenant(), &log.customer_id).await?;
    open_conversation(&state, &caller, &log).await?;

    let agent = caller.agent().clone();
    let outcome = state
        .db
        .write(caller.tenant(), &id, key.as_ref(), Expect::Any, |current| {
            let earlier = match current.map(|stored| &stored.record) {
                None => None,
                Some(Record::Interaction(interaction)) => Some(interaction),
                Some(_) => {
                    return Err(ApiError::InvalidInput {
                        field: "id",
                        reason: "names a record that is not an interaction".to_owned(),
                    });
                }
            };
            if let Some(earlier) = earlier {
                if earlier.agent_id.as_ref() != Some(&agent) {
                    return Err(ApiError::Forbidden(
                        "this call is another agent's; only its agent's desk logs it".to_owned(),
                    ));
                }
                if earlier.channel != Channel::Call
                    || earlier.customer_id != log.customer_id
                    || earlier.conversation_id != log.conversation_id
                {
                    return Err(ApiError::InvalidInput {
                        field: "id",
                        reason: "names another customer's or another channel's interaction"
                            .to_owned(),
                    });
                }
            }
            Ok(Record::Interaction(log.interaction(
                &InteractionId(id.clone()),
                earlier,
                &agent,
            )))
        })
        .await;
    answer("call", &id, outcome)
}

/// Makes the log's conversation when it is new; an existing one must be the same customer's.
async fn open_conversation(
    state: &HubState,
    caller: &Caller,
    log: &CallLog,
) -> Result<(), ApiError> {
    let conversation = Conversation {
        id: log.conversation_id.clone(),
        customer_id: log.customer_id.clone(),
        topic: None,
        opened_at: log.started_at.clone(),
        closed_at: None,
        version: 0,
    };
    let written = state
        .db
        .write(
            caller.tenant(),
            log.conversation_id.as_str(),
            None,
            Expect::Absent,
            |_| Ok::<_, ApiError>(Record::Conversation(conversation)),
        )
        .await;
    match written {
        Ok(_) => Ok(()),
        Err(WriteError::AlreadyExists(stored)) => match &stored.record {
            Record::Conversation(existing) if existing.customer_id == log.customer_id => Ok(()),
            _ => Err(ApiError::UnknownReference {
                field: "conversation_id",
                id: log.conversation_id.to_string(),
            }),
        },
        Err(WriteError::Db(error)) => Err(error.into()),
        Err(WriteError::Refused(error)) => Err(error),
        Err(_) => Err(ApiError::UnknownReference {
            field: "conversation_id",
            id: log.conversation_id.to_string(),
        }),
    }
}

/// Refuses times that are not RFC 3339, or that run backwards.
fn check_times(log: &CallLog) -> Result<(), ApiError> {
    let parse = |field: &'static str, text: &str| {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|_| ApiError::InvalidInput {
            field,
            reason: "must be an RFC 3339 time, such as 2026-12-04T10:00:00Z".to_owned(),
        })
    };
    let started = parse("started_at", &log.started_at)?;
    let answered = log
        .answered_at
        .as_deref()
        .map(|text| parse("answered_at", text))
        .transpose()?;
    let ended = log
        .ended_at
        .as_deref()
        .map(|text| parse("ended_at", text))
        .transpose()?;
    if answered.is_some_and(|answered| answered < started) {
        return Err(ApiError::InvalidInput {
            field: "answered_at",
            reason: "is before started_at".to_owned(),
        });
    }
    if ended.is_some_and(|ended| ended < answered.unwrap_or(started)) {
        return Err(ApiError::InvalidInput {
            field: "ended_at",
            reason: "is before the call was answered or started".to_owned(),
        });
    }
    Ok(())
}
