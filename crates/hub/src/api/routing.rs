//! Routing from the agent's side: the offers waiting for an answer, accepting or declining
//! them, ending an interaction, and the queues' picture for supervisors and wallboards.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use switchboard_model::{
    Interaction, Offer, OfferState, QueueStats, Record, RecordKind, Typing, TypingParty,
};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use crate::live::TypingSignal;
use crate::{HubState, routing};

/// The offers waiting for the signed-in agent's answer, for a desktop that just started.
#[utoipa::path(
    get,
    path = "/v1/offers",
    tag = "routing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending offers to this agent, oldest first", body = Vec<Offer>),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn mine(
    State(state): State<HubState>,
    caller: Caller,
) -> Result<Json<Vec<Offer>>, ApiError> {
    let offers = state
        .db
        .records_in_state(
            caller.tenant(),
            RecordKind::Offer,
            &[OfferState::Pending.as_str()],
        )
        .await?
        .into_iter()
        .filter_map(|stored| match stored.record {
            Record::Offer(offer) if &offer.agent_id == caller.agent() => Some(offer),
            _ => None,
        })
        .collect();
    Ok(Json(offers))
}

/// Takes the chat or call offered; it becomes the agent's.
#[utoipa::path(
    post,
    path = "/v1/offers/{id}/accept",
    tag = "routing",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The offer, `ofr_…`")),
    responses(
        (status = 200, description = "Accepted; the interaction as it now is", body = Interaction),
        (status = 403, description = "The offer is another agent's", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
        (status = 409, description = "The offer expired, was declined or withdrawn", body = ErrorBody),
    )
)]
pub async fn accept(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        routing::accept(&state.db, caller.tenant(), &id, caller.agent()).await?,
    ))
}

/// Passes on the chat or call offered; it goes to the next agent.
#[utoipa::path(
    post,
    path = "/v1/offers/{id}/decline",
    tag = "routing",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The offer, `ofr_…`")),
    responses(
        (status = 204, description = "Declined; the work is back in its queue"),
        (status = 403, description = "The offer is another agent's", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
        (status = 409, description = "The offer was already answered or expired", body = ErrorBody),
    )
)]
pub async fn decline(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    routing::decline(&state.db, caller.tenant(), &id, caller.agent()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a chat or call. The agent holding it may; so may a supervisor.
#[utoipa::path(
    post,
    path = "/v1/interactions/{id}/end",
    tag = "routing",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The interaction, `int_…`")),
    responses(
        (status = 200, description = "Ended; the agent's capacity is free", body = Interaction),
        (status = 403, description = "Another agent holds it", body = ErrorBody),
        (status = 404, description = "No such interaction", body = ErrorBody),
        (status = 409, description = "It had already ended", body = ErrorBody),
    )
)]
pub async fn end(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Interaction>, ApiError> {
    if let Some(stored) = state.db.record(caller.tenant(), &id).await?
        && let Record::Interaction(interaction) = &stored.record
        && interaction.agent_id.as_ref() != Some(caller.agent())
    {
        caller.require_supervisor("end another agent's interaction")?;
    }
    Ok(Json(routing::end(&state.db, caller.tenant(), &id).await?))
}

/// Says the agent is typing in a chat they hold; the customer's page shows it for a few
/// seconds. The desk sends it again every few seconds while the agent goes on typing.
#[utoipa::path(
    post,
    path = "/v1/interactions/{id}/typing",
    tag = "routing",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The chat's interaction")),
    responses(
        (status = 204, description = "Passed on to the customer's page"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Another agent holds this chat", body = ErrorBody),
        (status = 404, description = "No such interaction", body = ErrorBody),
    )
)]
pub async fn typing(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let stored = state.db.record(caller.tenant(), &id).await?;
    let Some(Record::Interaction(interaction)) = stored.map(|stored| stored.record) else {
        return Err(ApiError::NotFound {
            what: "interaction",
            id,
        });
    };
    if interaction.agent_id.as_ref() != Some(caller.agent()) {
        return Err(ApiError::Forbidden(
            "another agent holds this chat; only they can type in it".to_owned(),
        ));
    }
    state.live.typing(TypingSignal {
        tenant: caller.tenant().clone(),
        holder: Some(caller.agent().clone()),
        typing: Typing {
            conversation_id: interaction.conversation_id,
            interaction_id: interaction.id,
            party: TypingParty::Agent,
        },
    });
    Ok(StatusCode::NO_CONTENT)
}

/// Every queue's load now: how many wait, the longest wait, who could take work, and the line.
#[utoipa::path(
    get,
    path = "/v1/queues/stats",
    tag = "routing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One entry per queue", body = Vec<QueueStats>),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn stats(
    State(state): State<HubState>,
    caller: Caller,
) -> Result<Json<Vec<QueueStats>>, ApiError> {
    Ok(Json(routing::stats(&state.db, caller.tenant()).await?))
}
