//! `/v1/events`: the live event stream of the signed-in agent's tenant, as server-sent events.
//!
//! Each event is one change of the feed (records, chat messages, agent states), with the
//! change's cursor as its SSE id; a desktop that reconnects sends `Last-Event-ID` (or `after`)
//! and resumes without gaps.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_model::{Change, Record, TypingParty};
use tokio::sync::{mpsc, watch};

use super::auth::Caller;
use super::changes::parse_cursor;
use super::error::{ApiError, ErrorBody};
use crate::HubState;
use crate::live::LiveChange;

/// How many events may wait for a slow client before the stream stops reading ahead.
const BUFFER: usize = 256;

/// A comment line sent when nothing happened for a while, so that proxies and the client's
/// timeout see a live connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The query string of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Resume after this cursor; `Last-Event-ID` wins when both are sent. Absent to start with
    /// changes made from now on.
    pub after: Option<String>,
}

/// Streams the tenant's changes as they commit, as `text/event-stream`. Each event is named
/// `change`, its data a change as in `/v1/changes`, its id the change's cursor. Events named
/// `typing` (a `Typing`, customers typing in chats) come between them without an id: they
/// are not part of the feed and a reconnect does not replay them.
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
) -> Result<Response, ApiError> {
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

    // Customers typing in chats, for the agent who holds each; supervisors hear them all.
    let (typing_sender, typing) = mpsc::channel(TYPING_BUFFER);
    let tenant = caller.tenant().clone();
    let agent = caller.agent().clone();
    state.live.forward_typing(typing_sender, move |signal| {
        let for_us = signal.tenant == tenant
            && signal.typing.party == TypingParty::Customer
            && (supervises || signal.holder.as_ref() == Some(&agent));
        let data = serde_json::to_string(&signal.typing)
            .ok()
            .filter(|_| for_us)?;
        Some(Bytes::from(format!("event: typing\ndata: {data}\n\n")))
    });

    Ok(event_stream(
        receiver,
        typing,
        state.closing.subscribe(),
        |live| live.frame.clone(),
    ))
}

/// Typing frames waiting for a slow stream before newer ones are skipped.
const TYPING_BUFFER: usize = 16;

/// A `text/event-stream` response of the frames `encode` makes of what `events` delivers,
/// with the ready-made `signals` frames between them. Each batch goes out in one write, and a
/// comment keeps a quiet stream alive. The stream ends when the hub shuts down, so that a stop
/// is not held up by open streams.
pub fn event_stream(
    mut events: mpsc::Receiver<Vec<Arc<LiveChange>>>,
    mut signals: mpsc::Receiver<Bytes>,
    mut closing: watch::Receiver<bool>,
    encode: impl Fn(&LiveChange) -> Bytes + Send + 'static,
) -> Response {
    let body = async_stream(move |out| async move {
        loop {
            let first = tokio::select! {
                next = events.recv() => next,
                Some(frame) = signals.recv() => {
                    if out.send(Ok(frame)).await.is_err() {
                        return;
                    }
                    continue;
                }
                () = async {
                    let _ = closing.wait_for(|closing| *closing).await;
                } => return,
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    if out.send(Ok(Bytes::from_static(b":\n\n"))).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let Some(batch) = first else {
                return;
            };
            let mut chunk = Vec::new();
            for change in &batch {
                chunk.extend_from_slice(&encode(change));
            }
            if out.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
        }
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// A body fed by the task `produce`, which sends chunks until it returns or the client goes.
fn async_stream<F, Fut>(produce: F) -> Body
where
    F: FnOnce(mpsc::Sender<Result<Bytes, Infallible>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(produce(sender));
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver))
}
