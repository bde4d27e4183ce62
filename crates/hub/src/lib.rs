//! `switchboard-hub`: the backend Switchboard desktops sync with.
//!
//! Layout: [`api`] holds the REST routes and the OpenAPI document generated from them;
//! [`store`] is the hub's embedded SQLite database and [`feed`] the record log behind the change
//! feed; [`demo`] makes the reproducible data a demo hub is seeded with. [`serve`] ties them to a listening socket.

pub mod api;
pub mod demo;
pub mod feed;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::store::{HubStore, StoreError};

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct HubState {
    pub store: HubStore,
    /// Whether this hub runs in demo mode; desktops show it so nobody mistakes demo data for real.
    pub demo: bool,
}

/// The tenant every record belongs to until agents sign in with tokens that name theirs.
//
// FIXME(hub-auth): there is one tenant; the change feed and the records must be scoped by the
// tenant of the signed-in agent once the hub issues tokens (issue 3).
pub fn demo_tenant() -> switchboard_model::TenantId {
    switchboard_model::TenantId::from_number(1)
}

/// Seeds a demo world of `count` customers from `seed` into an empty database: the customers
/// with their identities, the staff, and every customer's history, all in the change feed. A
/// database that already holds customers is left as it is, so that a restarted demo hub keeps
/// what agents changed.
///
/// Returns how many customers were added.
pub fn seed_demo(store: &HubStore, seed: u64, count: usize) -> Result<usize, StoreError> {
    use switchboard_model::Record;

    store.with(|connection| {
        if store::count_customers(connection)? > 0 {
            return Ok(0);
        }
        // FIXME(hub-demo): the whole world is built in memory before it is written; the
        // million-customer demo that benchmarks need must generate and write it in chunks.
        let (staff, people, history) = demo::world(seed, count, time::OffsetDateTime::now_utc());
        let tenant = demo_tenant();

        // Large populations go in chunks so that no transaction grows without bound.
        for chunk in people.chunks(5_000) {
            store::insert_customers(connection, chunk)?;
            feed::put_records(
                connection,
                &tenant,
                &chunk
                    .iter()
                    .cloned()
                    .map(Record::Customer)
                    .collect::<Vec<_>>(),
            )?;
        }
        let records: Vec<Record> = staff.into_records().chain(history.into_records()).collect();
        for chunk in records.chunks(5_000) {
            feed::put_records(connection, &tenant, chunk)?;
        }
        Ok(people.len())
    })
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = api::router(state).layer(TraceLayer::new_for_http());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The address a listener is bound to, as the URL clients should use.
pub fn base_url(address: SocketAddr) -> String {
    format!("http://{address}")
}
