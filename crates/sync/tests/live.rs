//! The engine's loops against a real hub: an initial sync from zero with its progress, changes
//! made by another agent arriving over the live event stream, the desk's own writes reaching
//! the hub, and the connectivity going offline and back when the hub stops and returns.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use switchboard_client::{HubClient, WriteRequest};
use switchboard_hub::db::Database;
use switchboard_hub::{DEMO_PASSWORD, HubState, base_url, seed_demo, serve};
use switchboard_model::{Change, CustomerId, NewNote, Record};
use switchboard_store::feed::Origin;
use switchboard_store::{Action, Actor, Store};
use switchboard_sync::{Connectivity, SyncConfig, SyncEngine, SyncStatus, SystemClock};
use tokio::sync::watch;

/// How long a condition may take before the test gives up on it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until the status satisfies `wanted`, on the engine's own status events.
async fn until_status(
    status: &mut watch::Receiver<SyncStatus>,
    what: &str,
    wanted: impl FnMut(&SyncStatus) -> bool,
) -> anyhow::Result<SyncStatus> {
    let seen = tokio::time::timeout(PATIENCE, status.wait_for(wanted))
        .await
        .map(|seen| seen.map(|seen| seen.clone()));
    match seen {
        Ok(seen) => Ok(seen?),
        Err(_) => anyhow::bail!("waiting for {what}: last status {:?}", *status.borrow()),
    }
}

/// Waits until the cache satisfies `wanted`, looking again each time the engine publishes a
/// new status (it does after every page applied and every push round).
async fn until_cache(
    store: &Store,
    status: &mut watch::Receiver<SyncStatus>,
    what: &str,
    mut wanted: impl FnMut(&Store) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    status.borrow_and_update();
    while !wanted(store)? {
        tokio::time::timeout_at(deadline, status.changed())
            .await
            .with_context(|| format!("waiting for {what} in the cache"))??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_syncs_from_zero_follows_live_changes_and_rides_out_a_hub_outage()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let db = Database::open_folder(data.path()).await?;
    seed_demo(&db, 3, 40).await?;
    let now = switchboard_hub::now_unix();
    let maya = db
        .sign_in("maya@demo.example.com", DEMO_PASSWORD, now, 3600)
        .await?
        .context("maya signs in")?;
    let tomas = db
        .sign_in("tomas@demo.example.com", DEMO_PASSWORD, now, 3600)
        .await?
        .context("tomas signs in")?;
    let everything = db
        .changes(&switchboard_hub::demo_tenant(), 0, 1_000_000)
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let url = base_url(address);
    let state = HubState::new(db.clone(), true, 64);
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let hub = tokio::spawn(serve(listener, state, async {
        let _ = hub_stopped.await;
    }));

    let cache = tempfile::tempdir()?;
    let store = Arc::new(Store::open(&cache.path().join("cache.db"), None)?);
    store.bind(&Origin {
        hub: url.clone(),
        tenant: "ten_1".to_owned(),
    })?;
    let client = HubClient::new(&url, Duration::from_secs(5))?;
    client.set_token(Some(maya.token.clone()));
    let config = SyncConfig {
        page_size: 100,
        poll_every: Duration::from_millis(500),
        ..SyncConfig::default()
    };
    let engine = Arc::new(SyncEngine::new(
        Arc::clone(&store),
        client,
        config,
        Arc::new(SystemClock),
    ));
    let mut status = engine.status();
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(Arc::clone(&engine).run(stopped));

    // The initial sync: progress to the end, with the total the hub counted.
    let synced = until_status(&mut status, "the initial sync", |status| {
        status
            .progress
            .as_ref()
            .is_some_and(|progress| progress.finished)
    })
    .await?;
    let progress = synced.progress.context("an initial sync has progress")?;
    ensure!(
        progress.total == Some(everything.changes.len() as u64)
            && progress.done == everything.changes.len() as u64,
        "the progress counts every change of the feed: {progress:?}, feed {}",
        everything.changes.len()
    );
    ensure!(
        store.all_records()?.len() == everything.changes.len(),
        "the cache holds every record of the feed"
    );
    until_status(&mut status, "the live stream", |status| {
        status.connectivity == Connectivity::Online
    })
    .await?;

    // Another agent changes a ticket; the desk hears it live.
    let (ticket, version) = everything
        .changes
        .iter()
        .find_map(|change| match change {
            Change::Upsert {
                record, version, ..
            } => match &**record {
                Record::Ticket(ticket) => Some((ticket.id.clone(), *version)),
                _ => None,
            },
            Change::Delete { .. } => None,
        })
        .context("the demo has tickets")?;
    let other = HubClient::new(&url, Duration::from_secs(5))?;
    other.set_token(Some(tomas.token.clone()));
    let path = format!("v1/tickets/{ticket}");
    let answer = other
        .write(&WriteRequest {
            method: "PATCH",
            path: &path,
            body: r#"{"subject":"Changed by another agent"}"#,
            idempotency_key: "live-test-1",
            if_match: Some(version),
        })
        .await?;
    ensure!(answer.status == 200, "the other agent's edit is accepted");
    until_cache(&store, &mut status, "the other agent's edit", |store| {
        Ok(store
            .record(ticket.as_str())?
            .is_some_and(|(_, cached)| cached == version + 1))
    })
    .await?;

    // The desk's own note reaches the hub.
    let customer = everything
        .changes
        .iter()
        .find_map(|change| match change {
            Change::Upsert { record, .. } => match &**record {
                Record::Customer(customer) => Some(customer.id.clone()),
                _ => None,
            },
            Change::Delete { .. } => None,
        })
        .context("the demo has customers")?;
    let actor = Actor {
        agent: maya.session.agent.clone(),
        now: switchboard_hub::now_rfc3339(),
    };
    let note = |body: &str, customer: &CustomerId| {
        Action::AddNote(NewNote {
            id: None,
            customer_id: customer.clone(),
            interaction_id: None,
            body: body.to_owned(),
        })
    };
    let acted = store.act(note("Asked for a call back", &customer), &actor)?;
    engine.wake();
    until_cache(&store, &mut status, "the note to be accepted", |store| {
        Ok(store.op_state(&acted.op_id)? == Some(switchboard_store::OpState::Accepted))
    })
    .await?;
    ensure!(
        db.record(&switchboard_hub::demo_tenant(), acted.record.id())
            .await?
            .is_some(),
        "the hub holds the desk's note"
    );

    // The hub goes away: the desk goes offline and keeps taking notes.
    let _ = stop_hub.send(());
    let _ = hub.await;
    until_status(&mut status, "offline", |status| {
        status.connectivity == Connectivity::Offline
    })
    .await?;
    let offline = store.act(note("Written while the hub was away", &customer), &actor)?;
    engine.wake();
    let waiting = until_status(&mut status, "the queued note", |status| {
        status.outbox.pending == 1 && status.outbox.oldest_at.is_some()
    })
    .await?;
    ensure!(
        waiting.last_error.is_some(),
        "the status says why the note waits"
    );

    // The hub returns on the same address: the note arrives, once, and the desk is online.
    let listener = tokio::net::TcpListener::bind(address).await?;
    let state = HubState::new(db.clone(), true, 64);
    let hub = tokio::spawn(serve(listener, state, std::future::pending()));
    until_status(&mut status, "the queued note to be sent", |status| {
        status.outbox.pending == 0 && status.connectivity == Connectivity::Online
    })
    .await?;
    let stored = db
        .record(&switchboard_hub::demo_tenant(), offline.record.id())
        .await?
        .context("the note written offline reached the hub")?;
    ensure!(stored.version == 1, "the offline note was written once");

    stop.send_replace(true);
    running.await?;
    hub.abort();
    Ok(())
}
