//! The customer's side of web chat: `/chat`, a plain page that works without a framework, and
//! the small API it uses under `/v1/chat`. A customer names themselves by e-mail or phone,
//! writes, and sees the agent's replies live.
//!
//! A chat session's token opens exactly one conversation: its messages and whether an agent
//! has joined. Nothing else of the tenant (notes, other customers, internal fields) reaches
//! the page.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{self, AUTHORIZATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use switchboard_model::{
    Author, Change, Channel, Conversation, ConversationId, Customer, CustomerId, Direction,
    Identity, IdentityKind, Interaction, InteractionId, InteractionState, Message, MessageId,
    Record, RecordKind, TenantId, Typing, TypingParty,
};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::customers::normalise_identity;
use super::error::{ApiError, ErrorBody};
use super::write::{json_body, require_text};
use crate::db::chat::ChatSession;
use crate::db::records::Expect;
use crate::live::{LiveChange, TypingSignal};
use crate::{HubState, now_rfc3339, now_rfc3339_millis, now_unix, routing};

/// How long a chat page's token works: long enough for any chat, short enough not to linger.
const CHAT_LIFETIME_SECONDS: i64 = 12 * 60 * 60;
const MAX_MESSAGE: usize = 4_000;

/// A customer starting a chat.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChat {
    /// The contact centre; the hub's default when absent.
    pub tenant: Option<TenantId>,
    pub name: String,
    /// An e-mail address or a phone number in international form.
    pub contact: String,
    /// The first message.
    pub message: String,
}

/// A started chat: the token the page sends as `Authorization: Bearer …` from now on.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct StartedChat {
    pub token: String,
    pub interaction_id: InteractionId,
}

/// A message from the customer.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatLine {
    pub body: String,
}

/// Who wrote a chat message, as the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatParty {
    Customer,
    Agent,
    System,
}

/// Where the chat stands, as the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// Waiting for an agent.
    Waiting,
    /// An agent has joined.
    Connected,
    Ended,
}

/// What the chat page hears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    Message {
        id: String,
        from: ChatParty,
        /// The agent's name, for their messages.
        agent_name: Option<String>,
        body: String,
        sent_at: String,
    },
    State {
        state: ChatState,
        agent_name: Option<String>,
    },
}

/// The chat's place in its queue, for the "you are number 2" line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatStatus {
    pub state: ChatState,
    /// 1 when next; absent once an agent has joined.
    pub position: Option<u32>,
    pub waited_seconds: u64,
}

/// The chat session a request's token opens.
#[derive(Debug, Clone)]
pub struct Chatter(ChatSession);

impl FromRequestParts<HubState> for Chatter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        state
            .db
            .chat_session(token.trim(), now_unix())
            .await?
            .map(Chatter)
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Starts a chat: finds the customer by their contact (or records a new one), opens a
/// conversation and a chat in the first queue that takes chats, with the first message.
#[utoipa::path(
    post,
    path = "/v1/chat/sessions",
    tag = "chat",
    request_body = NewChat,
    responses(
        (status = 201, description = "The chat waits for an agent", body = StartedChat),
        (status = 400, description = "A field is invalid; the message names it", body = ErrorBody),
        (status = 404, description = "The contact centre does not exist or takes no chats", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<HubState>,
    body: Bytes,
) -> Result<(StatusCode, Json<StartedChat>), ApiError> {
    let request: NewChat = json_body(&body)?;
    let name = require_text("name", &request.name, 100)?;
    let message = require_text("message", &request.message, MAX_MESSAGE)?;
    let contact = request.contact.trim();
    let kind = if contact.contains('@') {
        IdentityKind::Email
    } else {
        IdentityKind::Phone
    };
    let contact = normalise_identity(kind, contact).map_err(|_| ApiError::InvalidInput {
        field: "contact",
        reason: "must be an e-mail address or a phone number with its country code, such as +44 7700 900123".to_owned(),
    })?;
    let tenant = request
        .tenant
        .or_else(|| state.chat_tenant.clone())
        .ok_or_else(|| ApiError::InvalidInput {
            field: "tenant",
            reason: "this hub serves several contact centres; say which".to_owned(),
        })?;
    if state.db.tenant(&tenant).await?.is_none() {
        return Err(ApiError::NotFound {
            what: "contact centre",
            id: tenant.to_string(),
        });
    }
    let queue = state
        .db
        .records_of_kind(&tenant, RecordKind::Queue)
        .await?
        .into_iter()
        .find_map(|stored| match stored.record {
            Record::Queue(queue) if queue.channels.contains(&Channel::Chat) => Some(queue),
            _ => None,
        })
        .ok_or_else(|| ApiError::NotFound {
            what: "chat queue of",
            id: tenant.to_string(),
        })?;

    // FIXME(chat-identity): when several customers share the contact, the chat goes to the one
    // whose name matches, else the first; the agent sees every candidate in the desktop. A
    // verified identity (a link sent to the address) would settle it.
    let candidates = state
        .db
        .customers_by_identity(&tenant, kind, &contact)
        .await?;
    let known = candidates
        .iter()
        .find(|candidate| candidate.display_name.eq_ignore_ascii_case(&name))
        .or(candidates.first())
        .map(|candidate| candidate.id.clone());

    let now = now_rfc3339();
    let mut changes = Vec::new();
    let customer = match known {
        Some(id) => id,
        None => {
            let id = CustomerId::from_number(rand::random());
            changes.push((
                Record::Customer(Customer {
                    id: id.clone(),
                    display_name: name,
                    company: None,
                    language: "en".to_owned(),
                    city: None,
                    country: None,
                    tier: "standard".to_owned(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                    identities: vec![Identity {
                        kind,
                        value: contact,
                        label: Some("web chat".to_owned()),
                        primary: true,
                    }],
                }),
                Expect::Absent,
            ));
            id
        }
    };
    let conversation = Conversation {
        id: ConversationId::from_number(rand::random()),
        customer_id: customer.clone(),
        topic: None,
        opened_at: now.clone(),
        closed_at: None,
        version: 0,
    };
    let interaction = Interaction {
        id: InteractionId::from_number(rand::random()),
        conversation_id: conversation.id.clone(),
        customer_id: customer.clone(),
        channel: Channel::Chat,
        direction: Direction::Inbound,
        state: InteractionState::Queued,
        queue_id: Some(queue.id.clone()),
        agent_id: None,
        remote_number: None,
        started_at: now.clone(),
        answered_at: None,
        ended_at: None,
        offered_to: Vec::new(),
        version: 0,
    };
    let first = Message {
        id: MessageId::from_number(rand::random()),
        interaction_id: interaction.id.clone(),
        conversation_id: conversation.id.clone(),
        author: Author::Customer(customer.clone()),
        body: message,
        sent_at: now_rfc3339_millis(),
    };

    let started_seq = state.db.last_seq(&tenant).await?;
    changes.push((Record::Conversation(conversation.clone()), Expect::Absent));
    changes.push((Record::Interaction(interaction.clone()), Expect::Absent));
    changes.push((Record::Message(first), Expect::Absent));
    state
        .db
        .write_together(&tenant, changes)
        .await
        .map_err(|error| match error {
            crate::db::records::WriteError::Db(error) => ApiError::Db(error),
            other => ApiError::Conflict {
                code: "conflict",
                message: format!("the chat could not start ({other}); try again"),
            },
        })?;

    let session = ChatSession {
        tenant: tenant.clone(),
        customer,
        conversation: conversation.id,
        interaction: interaction.id.clone(),
        started_seq,
    };
    let token = state
        .db
        .open_chat_session(&session, now_unix() + CHAT_LIFETIME_SECONDS)
        .await?;
    tracing::info!(%tenant, interaction = %interaction.id, queue = %queue.id, "web chat started");
    Ok((
        StatusCode::CREATED,
        Json(StartedChat {
            token,
            interaction_id: interaction.id,
        }),
    ))
}

/// Says the customer is typing; the agent who holds the chat sees it for a few seconds. The
/// page sends it again every few seconds while the customer goes on typing.
#[utoipa::path(
    post,
    path = "/v1/chat/typing",
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Passed on to the agents' streams"),
        (status = 401, description = "No valid chat token", body = ErrorBody),
    )
)]
pub async fn typing(
    State(state): State<HubState>,
    Chatter(session): Chatter,
) -> Result<StatusCode, ApiError> {
    // Only the agent who holds the chat hears it, so the signal says who that is.
    let holder = match state
        .db
        .record(&session.tenant, session.interaction.as_str())
        .await?
    {
        Some(stored) => match stored.record {
            Record::Interaction(interaction) if interaction.state.is_open() => interaction.agent_id,
            _ => None,
        },
        None => None,
    };
    state.live.typing(TypingSignal {
        tenant: session.tenant.clone(),
        holder,
        typing: Typing {
            conversation_id: session.conversation.clone(),
            interaction_id: session.interaction.clone(),
            party: TypingParty::Customer,
        },
    });
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the customer's next message.
#[utoipa::path(
    post,
    path = "/v1/chat/messages",
    tag = "chat",
    security(("bearer" = [])),
    request_body = ChatLine,
    responses(
        (status = 201, description = "Sent"),
        (status = 400, description = "The message is empty or too long", body = ErrorBody),
        (status = 401, description = "No valid chat token", body = ErrorBody),
        (status = 409, description = "The chat has ended", body = ErrorBody),
    )
)]
pub async fn send(
    State(state): State<HubState>,
    Chatter(session): Chatter,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let line: ChatLine = json_body(&body)?;
    let text = require_text("body", &line.body, MAX_MESSAGE)?;
    if let Some(stored) = state
        .db
        .record(&session.tenant, session.interaction.as_str())
        .await?
        && let Record::Interaction(interaction) = stored.record
        && !interaction.state.is_open()
    {
        return Err(ApiError::Conflict {
            code: "already_ended",
            message: "this chat has ended; start a new one".to_owned(),
        });
    }
    let message = Message {
        id: MessageId::from_number(rand::random()),
        interaction_id: session.interaction.clone(),
        conversation_id: session.conversation.clone(),
        author: Author::Customer(session.customer.clone()),
        body: text,
        sent_at: now_rfc3339_millis(),
    };
    let id = message.id.to_string();
    state
        .db
        .write::<ApiError>(&session.tenant, &id, None, Expect::Absent, |_| {
            Ok(Record::Message(message))
        })
        .await
        .map_err(|error| match error {
            crate::db::records::WriteError::Db(error) => ApiError::Db(error),
            crate::db::records::WriteError::Refused(error) => error,
            other => ApiError::Conflict {
                code: "conflict",
                message: format!("the message could not be sent ({other}); try again"),
            },
        })?;
    Ok(StatusCode::CREATED)
}

/// Ends the chat from the customer's side.
#[utoipa::path(
    post,
    path = "/v1/chat/end",
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid chat token", body = ErrorBody),
    )
)]
pub async fn end(
    State(state): State<HubState>,
    Chatter(session): Chatter,
) -> Result<StatusCode, ApiError> {
    match routing::end(&state.db, &session.tenant, session.interaction.as_str()).await {
        Ok(_) | Err(routing::RoutingError::AlreadyEnded) => Ok(StatusCode::NO_CONTENT),
        Err(error) => Err(error.into()),
    }
}

/// Where the chat stands and its place in the queue.
#[utoipa::path(
    get,
    path = "/v1/chat/status",
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chat's state", body = ChatStatus),
        (status = 401, description = "No valid chat token", body = ErrorBody),
    )
)]
pub async fn status(
    State(state): State<HubState>,
    Chatter(session): Chatter,
) -> Result<Json<ChatStatus>, ApiError> {
    let Some(Record::Interaction(interaction)) = state
        .db
        .record(&session.tenant, session.interaction.as_str())
        .await?
        .map(|stored| stored.record)
    else {
        return Err(ApiError::NotFound {
            what: "chat",
            id: session.interaction.to_string(),
        });
    };
    let chat_state = chat_state(&interaction);
    let place = if chat_state == ChatState::Waiting {
        routing::stats(&state.db, &session.tenant)
            .await?
            .into_iter()
            .flat_map(|queue| queue.line)
            .find(|waiting| waiting.interaction_id == interaction.id)
    } else {
        None
    };
    Ok(Json(ChatStatus {
        state: chat_state,
        position: place.as_ref().map(|place| place.position),
        waited_seconds: place.map_or(0, |place| place.waited_seconds),
    }))
}

/// The chat's live events, as server-sent events: messages both ways and the agent joining or
/// the chat ending. Resumes after `Last-Event-ID`.
#[utoipa::path(
    get,
    path = "/v1/chat/events",
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A stream of chat events", content_type = "text/event-stream", body = ChatEvent),
        (status = 401, description = "No valid chat token", body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<HubState>,
    Chatter(session): Chatter,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(id) => super::changes::parse_cursor(Some(id), "Last-Event-ID")?,
        None => session.started_seq,
    };

    let (sender, mut receiver) = mpsc::channel::<Vec<Arc<LiveChange>>>(64);
    let live = Arc::clone(&state.live);
    let conversation = session.conversation.clone();
    let interaction = session.interaction.clone();
    let tenant = session.tenant.clone();
    tokio::spawn(async move {
        let keep = move |change: &Change| match change {
            Change::Upsert { record, .. } => match &**record {
                Record::Message(message) => message.conversation_id == conversation,
                Record::Interaction(changed) => changed.id == interaction,
                _ => false,
            },
            Change::Delete { .. } => false,
        };
        if let Err(error) = live.follow(tenant, after, sender, keep).await {
            tracing::warn!(%error, "chat event stream ended by a database error");
        }
    });

    // Agents' names are looked up once per stream, not once per message.
    let (out, events) = mpsc::channel::<Event>(64);
    let out_for_typing = out.clone();
    let db = state.db.clone();
    let tenant = session.tenant.clone();
    tokio::spawn(async move {
        let mut names: HashMap<String, Option<String>> = HashMap::new();
        let mut last_state = None;
        let mut waiting = std::collections::VecDeque::new();
        loop {
            let Some(live) = waiting.pop_front() else {
                match receiver.recv().await {
                    Some(batch) => {
                        waiting.extend(batch);
                        continue;
                    }
                    None => return,
                }
            };
            let seq = live.seq;
            let Change::Upsert { record, .. } = &live.change else {
                continue;
            };
            let record = record.clone();
            let agent = match &*record {
                Record::Message(Message {
                    author: Author::Agent(agent),
                    ..
                }) => Some(agent.clone()),
                Record::Interaction(interaction) => interaction.agent_id.clone(),
                _ => None,
            };
            let agent_name = match agent {
                Some(agent) => {
                    if !names.contains_key(agent.as_str()) {
                        let name = match db.record(&tenant, agent.as_str()).await {
                            Ok(Some(stored)) => match stored.record {
                                Record::Agent(agent) => Some(agent.display_name),
                                _ => None,
                            },
                            _ => None,
                        };
                        names.insert(agent.to_string(), name);
                    }
                    names.get(agent.as_str()).cloned().flatten()
                }
                None => None,
            };
            let event = match *record {
                Record::Message(message) => ChatEvent::Message {
                    id: message.id.to_string(),
                    from: match message.author {
                        Author::Customer(_) => ChatParty::Customer,
                        Author::Agent(_) => ChatParty::Agent,
                        Author::System => ChatParty::System,
                    },
                    agent_name,
                    body: message.body,
                    sent_at: message.sent_at,
                },
                Record::Interaction(interaction) => {
                    let state = chat_state(&interaction);
                    // Offers come and go while the customer waits; they only hear changes.
                    if last_state == Some(state) {
                        continue;
                    }
                    last_state = Some(state);
                    ChatEvent::State {
                        state,
                        agent_name: (state == ChatState::Connected)
                            .then_some(agent_name)
                            .flatten(),
                    }
                }
                _ => continue,
            };
            let event = Event::default()
                .id(seq.to_string())
                .event("chat")
                .json_data(&event)
                .unwrap_or_else(|_| Event::default().comment("unencodable event"));
            if out.send(event).await.is_err() {
                return;
            }
        }
    });

    // The agent typing in this conversation, between the records.
    let (tenant, conversation) = (session.tenant.clone(), session.conversation.clone());
    state.live.forward_typing(out_for_typing, move |signal| {
        let for_us = signal.tenant == tenant
            && signal.typing.party == TypingParty::Agent
            && signal.typing.conversation_id == conversation;
        for_us.then(|| {
            Event::default()
                .event("typing")
                .json_data(&signal.typing)
                .unwrap_or_else(|_| Event::default().comment("unencodable event"))
        })
    });

    // The stream ends when the hub stops, so that open chats do not hold the stop up.
    let mut closing = state.closing.subscribe();
    let stop = async move {
        let _ = closing.wait_for(|closing| *closing).await;
    };
    let stream = futures_util::StreamExt::take_until(ReceiverStream::new(events), stop).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn chat_state(interaction: &Interaction) -> ChatState {
    match interaction.state {
        InteractionState::Queued | InteractionState::Offered => ChatState::Waiting,
        InteractionState::Active => ChatState::Connected,
        InteractionState::WrapUp | InteractionState::Ended | InteractionState::Abandoned => {
            ChatState::Ended
        }
    }
}

/// The page's own files, compiled in so that the hub is one binary.
const PAGE: &str = include_str!("../chat/index.html");
const SCRIPT: &str = include_str!("../chat/chat.js");
const STYLE: &str = include_str!("../chat/chat.css");

/// Only the page's own files run, and it talks only to this hub.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; \
    frame-ancestors 'self'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// `GET /chat`: the page a customer chats on. `?tenant=ten_…` picks the contact centre.
pub async fn page(Query(_): Query<HashMap<String, String>>) -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}
