//! The REST API under `/v1`: its routes, and the OpenAPI document generated from them.

mod agents;
pub mod auth;
mod calls;
mod changes;
mod chat;
mod conversation;
mod customers;
mod error;
mod events;
mod health;
mod records;
mod routing;
mod tickets;
mod write;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use error::{ApiError, ConflictBody, ErrorBody};

use crate::HubState;

/// The OpenAPI description of every route, built from the handlers' annotations so that the
/// document cannot drift from the code.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Switchboard hub",
        description = "The backend Switchboard desktops sync with. Every route but health, \
            login and this document needs `Authorization: Bearer <token>` from /v1/auth/login. \
            Writes take `Idempotency-Key`; updates take `If-Match` with the record's ETag. \
            A busy hub answers 429 with Retry-After."
    ),
    paths(
        health::health,
        auth::login, auth::logout, auth::me,
        customers::list, customers::by_identity, customers::get, records::of_customer,
        records::get,
        changes::list, events::stream,
        tickets::create, tickets::update, tickets::comment,
        conversation::create_note, conversation::update_note, conversation::create_message,
        conversation::create_wrap_up, calls::log,
        agents::list, agents::queues, agents::set_state, agents::create,
        routing::mine, routing::accept, routing::decline, routing::end, routing::typing, routing::stats,
        chat::start, chat::send, chat::end, chat::typing, chat::status, chat::events,
    ),
    components(schemas(ErrorBody, ConflictBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "health", description = "Whether the hub serves"),
        (name = "auth", description = "Signing in and out"),
        (name = "customers", description = "Customers, their identities and their records"),
        (name = "records", description = "Any record by id"),
        (name = "sync", description = "The change feed and the live event stream"),
        (name = "tickets", description = "Opening and working tickets"),
        (name = "conversations", description = "Notes, chat messages and wrap-ups"),
        (name = "agents", description = "Agents, their state, and queues"),
        (name = "routing", description = "Offers of waiting chats and calls, and queue load"),
        (name = "chat", description = "The customer's side of web chat, used by /chat"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token scheme the routes' `security` entries name.
#[derive(Debug)]
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// All routes, with `state` shared by every handler.
pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/v1/health", get(health::health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/me", get(auth::me))
        .route("/v1/customers", get(customers::list))
        .route("/v1/customers/by-identity", get(customers::by_identity))
        .route("/v1/customers/{id}", get(customers::get))
        .route("/v1/customers/{id}/records", get(records::of_customer))
        .route("/v1/records/{id}", get(records::get))
        .route("/v1/changes", get(changes::list))
        .route("/v1/events", get(events::stream))
        .route("/v1/tickets", post(tickets::create))
        .route("/v1/tickets/{id}", patch(tickets::update))
        .route("/v1/tickets/{id}/comments", post(tickets::comment))
        .route("/v1/notes", post(conversation::create_note))
        .route("/v1/notes/{id}", patch(conversation::update_note))
        .route("/v1/messages", post(conversation::create_message))
        .route("/v1/wrap-ups", post(conversation::create_wrap_up))
        .route("/v1/calls/{id}", put(calls::log))
        .route("/v1/agents", get(agents::list).post(agents::create))
        .route("/v1/agents/{id}/state", put(agents::set_state))
        .route("/v1/queues", get(agents::queues))
        .route("/v1/queues/stats", get(routing::stats))
        .route("/v1/offers", get(routing::mine))
        .route("/v1/offers/{id}/accept", post(routing::accept))
        .route("/v1/offers/{id}/decline", post(routing::decline))
        .route("/v1/interactions/{id}/end", post(routing::end))
        .route("/v1/interactions/{id}/typing", post(routing::typing))
        .route("/v1/chat/sessions", post(chat::start))
        .route("/v1/chat/messages", post(chat::send))
        .route("/v1/chat/end", post(chat::end))
        .route("/v1/chat/typing", post(chat::typing))
        .route("/v1/chat/status", get(chat::status))
        .route("/v1/chat/events", get(chat::events))
        .route("/chat", get(chat::page))
        .route("/chat/chat.js", get(chat::script))
        .route("/chat/chat.css", get(chat::style))
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(state.clone(), admit))
        .with_state(state)
}

/// Back-pressure: a request runs only while a slot is free; beyond that the hub answers 429
/// at once, so that clients back off instead of piling up behind a queue with no end. A
/// stream holds its slot only while it opens.
async fn admit(State(state): State<HubState>, request: Request, next: Next) -> Response {
    let Ok(_slot) = state.capacity.try_acquire() else {
        tracing::warn!(path = %request.uri().path(), "hub at capacity; refused with 429");
        return ApiError::Overloaded(1).into_response();
    };
    next.run(request).await
}

/// A page size from the query string: `default` when absent, refused outside `1..=max` with a
/// message that names the parameter.
fn page_limit(requested: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = requested.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::InvalidInput {
            field: "limit",
            reason: format!("must be between 1 and {max}, got {limit}"),
        });
    }
    Ok(limit)
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}
