//! `switchboard-hub`: the backend Switchboard desktops sync with.
//!
//! Layout: [`api`] holds the REST routes and the OpenAPI document generated from them; [`db`]
//! is the database (embedded SQLite or PostgreSQL) with the record log, the change feed and
//! the logins; [`live`] fans committed changes out to the agents' event streams; [`demo`] makes
//! the reproducible data a demo hub is seeded with. [`serve`] ties them to a listening socket.

pub mod api;
pub mod db;
pub mod demo;
pub mod live;
pub mod routing;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_model::{Record, RecordKind, Tenant, TenantId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_http::trace::TraceLayer;

use crate::db::{Database, DbError};
use crate::live::Live;

/// The password of every demo login. Demo data is public by nature; a demo hub says so in its
/// health answer so that the desktop can offer it.
pub const DEMO_PASSWORD: &str = "switchboard-demo";

/// The login a demo desktop is offered first: an agent, not an admin.
pub const DEMO_LOGIN: &str = "maya@demo.example.com";

/// How long a token from a login works: a long shift, so that nobody is signed out mid-call.
pub const TOKEN_LIFETIME_SECONDS: i64 = 14 * 60 * 60;

/// What every request handler shares. Making one starts the hub's background work on its
/// database: the live fan-out and routing.
#[derive(Debug, Clone)]
pub struct HubState {
    pub db: Database,
    pub live: Arc<Live>,
    /// Whether this hub runs in demo mode; desktops show it so nobody mistakes demo data for real.
    pub demo: bool,
    /// Requests in flight beyond this many are refused with 429 rather than queued.
    pub capacity: Arc<Semaphore>,
    /// The tenant the web chat page serves when the page does not name one.
    pub chat_tenant: Option<TenantId>,
    /// Becomes true when the hub begins to stop; open event streams end then.
    pub closing: Arc<watch::Sender<bool>>,
}

impl HubState {
    /// The state of a hub over `db`, admitting at most `max_in_flight` requests at once.
    pub fn new(db: Database, demo: bool, max_in_flight: usize) -> HubState {
        routing::Router::start(db.clone());
        HubState {
            live: Live::start(db.clone()),
            db,
            demo,
            capacity: Arc::new(Semaphore::new(max_in_flight)),
            chat_tenant: demo.then(demo_tenant),
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

/// The tenant a demo hub seeds.
pub fn demo_tenant() -> TenantId {
    TenantId::from_number(1)
}

/// Seeds a demo world of `count` customers from `seed` into a database that has no demo
/// tenant yet: the tenant, its staff with their logins, the customers with their identities,
/// and every customer's history, all in the change feed. A database that already holds the
/// demo tenant's customers is left as it is, so that a restarted demo hub keeps what agents
/// changed.
///
/// The world is made and written in batches, so that a million customers take the memory of
/// one batch. Returns how many customers were added.
pub async fn seed_demo(db: &Database, seed: u64, count: usize) -> Result<usize, DbError> {
    /// Customers per batch; each batch is one transaction.
    const BATCH: usize = 2_000;

    let tenant = demo_tenant();
    if db.tenant(&tenant).await?.is_some() && db.count(&tenant, RecordKind::Customer).await? > 0 {
        return Ok(0);
    }

    let mut world = demo::WorldStream::new(seed, OffsetDateTime::now_utc());
    db.put_tenant(&world.staff.tenant).await?;
    for agent in &world.staff.agents {
        db.put_login(&tenant, &agent.id, &agent.login, agent.role, DEMO_PASSWORD)
            .await?;
    }
    let mut staff: Vec<Record> = world.staff.clone().into_records().collect();
    db.insert_new_records(&tenant, &mut staff).await?;

    let started = std::time::Instant::now();
    let mut added = 0;
    while added < count {
        let (people, history) = world.next_batch(BATCH.min(count - added));
        added += people.len();
        let mut records: Vec<Record> = people
            .into_iter()
            .map(Record::Customer)
            .chain(history.into_records())
            .collect();
        db.insert_new_records(&tenant, &mut records).await?;
        if added % 50_000 < BATCH {
            tracing::info!(
                added,
                of = count,
                seconds = started.elapsed().as_secs(),
                "seeding demo customers"
            );
        }
    }
    Ok(added)
}

/// Creates a tenant with its name, for provisioning and tests.
pub async fn create_tenant(db: &Database, id: TenantId, name: &str) -> Result<Tenant, DbError> {
    let tenant = Tenant {
        id,
        name: name.to_owned(),
    };
    db.put_tenant(&tenant).await?;
    Ok(tenant)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = Arc::clone(&state.closing);
    let app = api::router(state).layer(TraceLayer::new_for_http());
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Event streams never end by themselves; tell them to, or the stop waits forever.
            closing.send_replace(true);
        })
        .await
}

/// The address a listener is bound to, as the URL clients should use.
pub fn base_url(address: SocketAddr) -> String {
    format!("http://{address}")
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The current time as RFC 3339, the form every record's timestamps take.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|now| now.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The current time as RFC 3339 to the millisecond, always with three digits, for chat
/// messages: a chat's lines are ordered by when they were sent, and a customer pasting several
/// lines sends them within one second. The fixed width keeps the text in time order.
pub fn now_rfc3339_millis() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .ok()
        .and_then(|whole| whole.format(&Rfc3339).ok())
        .map(|whole| {
            let seconds = whole.trim_end_matches('Z');
            format!("{seconds}.{:03}Z", now.millisecond())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_times_have_fixed_width_milliseconds_and_sort_as_text() {
        let first = now_rfc3339_millis();
        let parsed = OffsetDateTime::parse(&first, &Rfc3339);
        assert!(
            parsed.is_ok(),
            "{first} must be RFC 3339 that readers accept"
        );
        assert_eq!(
            first.len(),
            "2026-12-04T22:35:01.123Z".len(),
            "{first} must always carry three digits, or text order would not be time order"
        );
        let later = now_rfc3339_millis();
        assert!(
            later >= first,
            "a later message's time ({later}) must not sort before an earlier one ({first})"
        );
    }
}
