//! The kill harness: a child process takes agent actions and prints each operation id the
//! moment the cache acknowledges it, while its sync engine pushes to a real hub; the parent
//! kills it with SIGKILL at a random moment, again and again on the same cache. Every printed
//! id must have survived, the cache must pass SQLite's integrity check, and once a last engine
//! drains the outbox every write must be on the hub exactly once.
//!
//! `KILL_ROUNDS=<n>` sets how many kills (the bench command runs hundreds).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard_client::HubClient;
use switchboard_hub::db::Database;
use switchboard_hub::{DEMO_PASSWORD, HubState, base_url, seed_demo, serve};
use switchboard_model::{
    AgentId, CustomerId, NewNote, Priority, Record, TicketChange, TicketId, TicketStatus,
};
use switchboard_store::feed::Origin;
use switchboard_store::{Action, Actor, OpState, Store};
use switchboard_sync::{Clock, SyncConfig, SyncEngine, SystemClock};

/// Kills in CI; the bench command raises it with `KILL_ROUNDS`.
const CI_ROUNDS: usize = 25;

const CHILD: &str = "SWITCHBOARD_KILL_CHILD";

/// How long the child may take to acknowledge its next write before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_reach_the_hub_once() -> anyhow::Result<()> {
    // The same test, started by itself with the cache's path, is the child.
    if let Ok(cache) = std::env::var(CHILD) {
        return act_until_killed(&cache).await;
    }

    let rounds = std::env::var("KILL_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(CI_ROUNDS);

    let data = tempfile::tempdir()?;
    let db = Database::open_folder(data.path()).await?;
    seed_demo(&db, 5, 4).await?;
    let session = db
        .sign_in(
            "maya@demo.example.com",
            DEMO_PASSWORD,
            switchboard_hub::now_unix(),
            3600,
        )
        .await?
        .context("the demo agent signs in")?;
    let world = db
        .changes(&switchboard_hub::demo_tenant(), 0, 100_000)
        .await?;
    let customer = world
        .changes
        .iter()
        .find_map(|change| match change {
            switchboard_model::Change::Upsert { record, .. } => match &**record {
                Record::Customer(customer) => Some(customer.id.clone()),
                _ => None,
            },
            _ => None,
        })
        .context("the demo has customers")?;
    let (ticket, ticket_version) = world
        .changes
        .iter()
        .find_map(|change| match change {
            switchboard_model::Change::Upsert {
                record, version, ..
            } => match &**record {
                Record::Ticket(ticket) => Some((ticket.id.clone(), *version)),
                _ => None,
            },
            _ => None,
        })
        .context("the demo has tickets")?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = base_url(listener.local_addr()?);
    let hub = tokio::spawn(serve(
        listener,
        HubState::new(db, true, 64),
        std::future::pending(),
    ));

    let cache = tempfile::tempdir()?;
    let cache_path = cache.path().join("cache.db");
    let mut rng = ChaCha8Rng::seed_from_u64(0x0c0ffee);
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "acknowledged_writes_survive_sigkill_and_reach_the_hub_once",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(CHILD, &cache_path)
            .env("KILL_HUB", &url)
            .env("KILL_TOKEN", &session.token)
            .env("KILL_AGENT", session.session.agent.as_str())
            .env("KILL_CUSTOMER", customer.as_str())
            .env("KILL_TICKET", ticket.as_str())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("the test binary starts itself as the child")?;

        // The child's acknowledgements are read on a thread of their own; what the child
        // flushed before it died is still in the pipe. The kill lands after a random number
        // of them, while the child acts and pushes.
        let stdout = child.stdout.take().context("the child's stdout")?;
        let (acks, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The test harness prints its own lines too; acknowledgements are marked.
                if let Some((op, record)) = line
                    .strip_prefix("ack ")
                    .and_then(|ack| ack.split_once(' '))
                {
                    let _ = acks.send((op.to_owned(), record.to_owned()));
                }
            }
        });
        let kill_after = rng.random_range(1..=80);
        let mut printed: Vec<(String, String)> = Vec::new();
        while printed.len() < kill_after {
            let ack = tokio::time::timeout(PATIENCE, heard.recv())
                .await
                .with_context(|| format!("the child stopped acknowledging (round {round})"))?
                .with_context(|| {
                    format!("the child exited before it was killed (round {round})")
                })?;
            printed.push(ack);
        }
        child.kill()?;
        child.wait()?;
        reader.join().ok().context("the reader thread")?;
        while let Ok(ack) = heard.try_recv() {
            printed.push(ack);
        }

        let store = Store::open(&cache_path, None)?;
        ensure!(
            store.integrity_check()?,
            "the cache is sound after kill {round}"
        );
        for (op_id, record) in &printed {
            ensure!(
                store.op_state(op_id)?.is_some(),
                "acknowledged {op_id} was lost by kill {round}"
            );
            ensure!(
                store.record(record)?.is_some(),
                "the record {record} of acknowledged {op_id} was lost by kill {round}"
            );
        }
        acknowledged.extend(printed);
    }
    ensure!(
        acknowledged.len() >= rounds,
        "every round acknowledged at least one write"
    );

    // A last desk start drains what the kills left.
    let store = Arc::new(Store::open(&cache_path, None)?);
    let client = HubClient::new(&url, Duration::from_secs(10))?;
    client.set_token(Some(session.token.clone()));
    let engine = SyncEngine::new(
        Arc::clone(&store),
        client.clone(),
        SyncConfig::default(),
        Arc::new(DayAhead),
    );
    // Rows the kills caught mid-retry wait out a back-off; the last desk runs a day ahead, so
    // that every one is due now and the drain waits for nothing but the hub.
    for _ in 0..10_000 {
        let pushed = engine.push().await?;
        if store.outbox()?.pending == 0 {
            break;
        }
        ensure!(
            pushed.sent > 0,
            "pending rows that cannot be sent: {:?}",
            store.outbox()?
        );
    }
    let summary = store.outbox()?;
    ensure!(
        summary.pending == 0 && summary.conflicts == 0 && summary.parked == 0,
        "every acknowledged write was accepted: {summary:?}"
    );
    for (op_id, _) in &acknowledged {
        ensure!(
            store.op_state(op_id)? == Some(OpState::Accepted),
            "{op_id} was accepted"
        );
    }

    // Exactly once: each note exists on the hub, and the ticket's version counts each of its
    // accepted edits once.
    let mut hub_records = std::collections::HashMap::new();
    let mut after = None;
    loop {
        let page = client.changes(after.as_ref(), 1000, false).await?;
        for change in &page.changes {
            if let switchboard_model::Change::Upsert {
                record, version, ..
            } = change
            {
                hub_records.insert(record.id().to_owned(), *version);
            }
        }
        if !page.has_more {
            break;
        }
        after = Some(page.cursor);
    }
    // A kill can land after a row committed and before the child printed it: such rows were
    // never acknowledged, but they are real writes and go to the hub like the rest, so the
    // ticket's edits are counted from the outbox.
    let ticket_edits = store
        .entries(&[OpState::Accepted])?
        .iter()
        .filter(|entry| entry.record_id == ticket.as_str())
        .count() as u64;
    for (op_id, record) in &acknowledged {
        if record != ticket.as_str() {
            ensure!(
                hub_records.get(record) == Some(&1),
                "note {record} of {op_id} is on the hub, written once"
            );
        }
    }
    ensure!(
        hub_records.get(ticket.as_str()) == Some(&(ticket_version + ticket_edits)),
        "the ticket's version counts its {ticket_edits} edit(s) once each: hub {:?}, expected {}",
        hub_records.get(ticket.as_str()),
        ticket_version + ticket_edits
    );

    hub.abort();
    Ok(())
}

/// The clock of the desk that drains after the kills.
#[derive(Debug)]
struct DayAhead;

impl Clock for DayAhead {
    fn now_ms(&self) -> i64 {
        switchboard_store::now_ms() + 24 * 60 * 60 * 1000
    }
}

/// The child: acts as fast as the cache acknowledges, printing each operation id and the
/// record it wrote, while the engine pushes, until it is killed.
#[allow(
    clippy::print_stdout,
    reason = "the parent reads the acknowledgements from stdout"
)]
async fn act_until_killed(cache: &str) -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is set"));
    let store = Arc::new(Store::open(std::path::Path::new(cache), None)?);
    store.bind(&Origin {
        hub: var("KILL_HUB")?,
        tenant: "ten_1".to_owned(),
    })?;
    let client = HubClient::new(&var("KILL_HUB")?, Duration::from_secs(10))?;
    client.set_token(Some(var("KILL_TOKEN")?));
    let engine = Arc::new(SyncEngine::new(
        Arc::clone(&store),
        client,
        SyncConfig::default(),
        Arc::new(SystemClock),
    ));
    // The ticket the child edits must be in the cache first, as it would be on a desk.
    engine.pull().await?;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(Arc::clone(&engine).run(stopped));

    let actor = Actor {
        agent: AgentId(var("KILL_AGENT")?),
        now: switchboard_hub::now_rfc3339(),
    };
    let customer = CustomerId(var("KILL_CUSTOMER")?);
    let ticket = TicketId(var("KILL_TICKET")?);
    let mut stdout = std::io::stdout();
    for index in 0u64.. {
        let action = if index % 3 == 2 {
            Action::ChangeTicket {
                id: ticket.clone(),
                change: TicketChange {
                    subject: None,
                    status: Some(TicketStatus::Open),
                    priority: Some([Priority::Low, Priority::High][(index % 2) as usize]),
                    assignee: None,
                },
            }
        } else {
            Action::AddNote(NewNote {
                id: None,
                customer_id: customer.clone(),
                interaction_id: None,
                body: format!("Kill harness note {index}"),
            })
        };
        let store_for_act = Arc::clone(&store);
        let actor = actor.clone();
        let acted =
            tokio::task::spawn_blocking(move || store_for_act.act(action, &actor)).await??;
        writeln!(stdout, "ack {} {}", acted.op_id, acted.record.id())?;
        stdout.flush()?;
        engine.wake();
    }
    Ok(())
}
