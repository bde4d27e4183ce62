//! `switchboard-hub`: the backend Switchboard desktops sync with.
//!
//! Layout: [`api`] holds the REST routes and the OpenAPI document generated from them;
//! [`store`] is the hub's embedded SQLite database; [`demo`] makes the reproducible customers a
//! demo hub is seeded with. [`serve`] ties them to a listening socket.

pub mod api;
pub mod demo;
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

/// Seeds `count` demo customers from `seed` into an empty database; a database that already
/// holds customers is left as it is, so that a restarted demo hub keeps what agents changed.
///
/// Returns how many customers were added.
pub fn seed_demo(store: &HubStore, seed: u64, count: usize) -> Result<usize, StoreError> {
    store.with(|connection| {
        if store::count_customers(connection)? > 0 {
            return Ok(0);
        }
        let people = demo::customers(seed, count, time::OffsetDateTime::now_utc());
        // Large populations go in chunks so that one transaction does not hold them all in RAM.
        for chunk in people.chunks(5_000) {
            store::insert_customers(connection, chunk)?;
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
