//! `/v1/events`: the live event stream of the signed-in agent's tenant, as server-sent events.
//!
//! Each event is one change of the feed (records, chat messages, agent states), with the
//! change's cursor as its SSE id; a desktop that reconnects sends `Last-Event-ID` (or `after`)
//! and resumes without gaps.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use switchboard_model::{Change, Record};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::auth::Caller;
use super::changes::parse_cursor;
use super::error::{ApiError, ErrorBody};
use crate::HubState;

/// How many events may wait for a slow client before the stream stops reading ahead.
const BUFFER: usize = 256;

/// The query string of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Resume after this cursor; `Last-Event-ID` wins when both are sent. Absent to start with
    /// changes made from now on.
    pub after: Option<String>,
}

/// Streams the tenant's changes as they commit, as `text/event-stream`. Each event is named
/// `change`, its data a change as in `/v1/changes`, its id the change's cursor.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "sync",
    security(("bearer" = [])),
    params(
        EventsParams,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received"),
    ),
    responses(
        (status = 200, description = "A stream of server-sent events", content_type = "text/event-stream", body = String),
        (status = 400, description = "The cursor is not one this hub issued", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn stream(
    State(state): State<HubState>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<EventsParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or(params.after);
    let after = match resume.as_deref() {
        Some(cursor) => parse_cursor(Some(cursor), "Last-Event-ID")?,
        None => state.db.last_seq(caller.tenant()).await?,
    };

    // FIXME(hub-auth): a stream stays open after its token expires or is revoked; it should
    // end then, so that a signed-out desk stops hearing the tenant's changes.
    let (sender, receiver) = mpsc::channel(BUFFER);
    let tenant = caller.tenant().clone();
    let agent = caller.agent().clone();
    let supervises = caller.role().supervises();
    let live = Arc::clone(&state.live);
    tokio::spawn(async move {
        tracing::debug!(%agent, after, "event stream opened");
        // An agent hears its own offers; supervisors watch everyone's.
        let keep = {
            let agent = agent.clone();
            move |change: &Change| match change {
                Change::Upsert { record, .. } => match &**record {
                    Record::Offer(offer) => supervises || offer.agent_id == agent,
                    _ => true,
                },
                Change::Delete { .. } => true,
            }
        };
        if let Err(error) = live.follow(tenant, after, sender, keep).await {
            tracing::warn!(%error, %agent, "event stream ended by a database error");
        }
        tracing::debug!(%agent, "event stream closed");
    });

    let events = ReceiverStream::new(receiver).map(|(seq, change)| {
        let event = Event::default()
            .id(seq.to_string())
            .event("change")
            .json_data(&change)
            .unwrap_or_else(|_| Event::default().comment("unencodable change"));
        Ok(event)
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
