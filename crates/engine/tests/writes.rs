//! A conflict from end to end through the engine and a real hub: the desk solves a ticket while
//! the hub is away, someone else raises its priority at the hub meanwhile, and when the hub
//! returns the desk's write comes back as a conflict with both versions; the agent keeps
//! theirs on top of the hub's, and the hub ends with both changes.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use switchboard_engine::writes::{Resolution, WriteProblem};
use switchboard_engine::{Engine, Settings};
use switchboard_hub::db::Database;
use switchboard_hub::db::records::Expect;
use switchboard_hub::{
    DEMO_LOGIN, DEMO_PASSWORD, HubState, base_url, demo_tenant, seed_demo, serve,
};
use switchboard_model::{Change, Priority, Record, TicketChange, TicketStatus};
use switchboard_store::Action;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A guard against hanging, not a measure: each step takes milliseconds.
const GUARD: Duration = Duration::from_secs(30);

/// The hub served in this process on `address`, until the sender is used.
fn serve_on(
    listener: TcpListener,
    db: Database,
) -> (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, HubState::new(db, true, 64), async {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// Waits, following the desk's sync, until `check` holds.
async fn until<F, Fut>(engine: &Engine, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut sync = engine.sync_view();
    let waited = tokio::time::timeout(GUARD, async {
        loop {
            if check().await {
                return;
            }
            // The sync's view changes whenever a page arrives or a write is answered.
            let _ = tokio::time::timeout(Duration::from_millis(200), sync.changed()).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "gave up waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_keeps_both_versions_until_the_agent_decides() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let db = Database::open_folder(data.path())
        .await
        .expect("a hub database");
    seed_demo(&db, 5, 12).await.expect("demo data seeds");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address: SocketAddr = listener.local_addr().expect("a bound address");
    let url = base_url(address);
    let (stop, hub) = serve_on(listener, db.clone());

    let mut settings = Settings::resolve(None, None, Some(url));
    settings.cache_path = Some(data.path().join("desk").join("cache.db"));
    let engine = Engine::new(settings).expect("a valid hub address");
    engine
        .sign_in(DEMO_LOGIN, DEMO_PASSWORD)
        .await
        .expect("the demo agent signs in");
    until(&engine, "the cache to sync", || async {
        engine
            .sync_view()
            .borrow()
            .as_ref()
            .is_some_and(|view| view.state == switchboard_engine::cache::SyncState::Synced)
    })
    .await;

    let tenant = demo_tenant();
    let ticket = db
        .changes(&tenant, 0, 100_000)
        .await
        .expect("the feed reads")
        .changes
        .into_iter()
        .find_map(|change| match change {
            Change::Upsert { record, .. } => match *record {
                Record::Ticket(ticket) if ticket.status.is_open() => Some(ticket),
                _ => None,
            },
            _ => None,
        })
        .expect("the demo has an open ticket");
    let ticket_id = ticket.id.clone();
    until(&engine, "the desk to have the ticket", || async {
        engine
            .customer_file(&ticket.customer_id)
            .await
            .is_ok_and(|file| file.tickets.iter().any(|t| t.id == ticket_id))
    })
    .await;

    // The hub goes; meanwhile someone raises the ticket's priority there.
    let _ = stop.send(());
    hub.await
        .expect("the hub task ends")
        .expect("the hub stops cleanly");
    db.write::<()>(
        &tenant,
        ticket_id.as_str(),
        None,
        Expect::Existing,
        |current| {
            let Some(Record::Ticket(mut ticket)) = current.map(|stored| stored.record.clone())
            else {
                unreachable!("the ticket exists");
            };
            ticket.priority = Priority::Urgent;
            Ok(Record::Ticket(ticket))
        },
    )
    .await
    .expect("someone else changes the ticket");

    engine
        .act(Action::ChangeTicket {
            id: ticket_id.clone(),
            change: TicketChange {
                status: Some(TicketStatus::Solved),
                ..TicketChange::default()
            },
        })
        .await
        .expect("the agent solves the ticket, offline");

    // The hub returns where it was.
    let listener = TcpListener::bind(address)
        .await
        .expect("the hub's port again");
    let (_stop, _hub) = serve_on(listener, db.clone());
    until(&engine, "the write to come back as a conflict", || async {
        engine
            .writes_needing_agent()
            .await
            .is_ok_and(|writes| !writes.is_empty())
    })
    .await;
    let conflicts = engine.writes_needing_agent().await.expect("the list reads");
    let conflict = &conflicts[0];
    assert_eq!(conflict.problem, WriteProblem::Conflict, "{conflict:?}");
    assert!(
        conflict
            .mine
            .as_deref()
            .is_some_and(|mine| mine.contains("solved")),
        "the agent's version is kept: {conflict:?}"
    );
    assert!(
        conflict
            .theirs
            .as_deref()
            .is_some_and(|theirs| theirs.contains("urgent")),
        "and so is the hub's: {conflict:?}"
    );

    engine
        .resolve_write(conflict.op_id.clone(), Resolution::KeepMine)
        .await
        .expect("the agent keeps their change");
    until(&engine, "the change to reach the hub", || async {
        matches!(
            db.record(&tenant, ticket_id.as_str()).await,
            Ok(Some(stored)) if matches!(&stored.record, Record::Ticket(t) if t.status == TicketStatus::Solved)
        )
    })
    .await;
    let Ok(Some(stored)) = db.record(&tenant, ticket_id.as_str()).await else {
        panic!("the ticket is still at the hub");
    };
    let Record::Ticket(at_hub) = stored.record else {
        panic!("a ticket stays a ticket");
    };
    assert_eq!(
        (at_hub.status, at_hub.priority),
        (TicketStatus::Solved, Priority::Urgent),
        "keeping mine lays the agent's change over the other one, losing neither"
    );
    assert!(
        engine
            .writes_needing_agent()
            .await
            .expect("the list reads")
            .is_empty(),
        "nothing waits for the agent any more"
    );
}
