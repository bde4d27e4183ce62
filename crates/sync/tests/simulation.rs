//! The deterministic simulation: a seeded schedule of faults (the hub down, requests dropped
//! before or after the hub saw them, 429 and 5xx storms, stale pages served again, hub and
//! desktop restarts) under a seeded agent workload, around the real engine, the real cache and
//! a real hub served in-process. At the end, with the faults stopped, all six guarantees of the
//! outbox and the feed are checked.
//!
//! The engine is driven one step at a time on a simulated clock, one request at a time, so
//! that a seed decides every request and every fault: a failing seed replays exactly with
//! `SIM_SEED=<seed>`. `SIM_SEEDS=<n>` runs more seeds (the bench command runs thousands).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard_client::{ClientError, HubClient, WriteAnswer, WriteRequest};
use switchboard_hub::db::Database;
use switchboard_hub::{DEMO_PASSWORD, HubState, base_url, seed_demo, serve};
use switchboard_model::{
    AgentId, AgentState, ChangePage, Cursor, CustomerId, NewComment, NewNote, NewTicket,
    NoteChange, NoteId, Priority, Record, StateChange, TicketChange, TicketId, TicketStatus,
};
use switchboard_store::feed::Origin;
use switchboard_store::{Action, Actor, OpState, Store};
use switchboard_sync::{Backoff, Clock, Events, Hub, SyncConfig, SyncEngine};
use tokio::net::TcpListener;

/// Seeds CI runs; the bench command raises it with `SIM_SEEDS`.
const CI_SEEDS: u64 = 300;

/// Steps of workload and faults per seed.
const STEPS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::print_stderr,
    reason = "the bench command reads how many faults the seeds injected"
)]
async fn the_outbox_and_the_feed_keep_their_guarantees_under_seeded_faults() -> anyhow::Result<()> {
    let template = Template::make().await?;
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(seed) => vec![seed.parse().context("SIM_SEED is a number")?],
        Err(_) => {
            let count = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|count| count.parse().ok())
                .unwrap_or(CI_SEEDS);
            (1..=count).collect()
        }
    };

    let mut totals = Totals::default();
    for seed in seeds {
        let report = run_seed(&template, seed)
            .await
            .with_context(|| format!("seed {seed} failed; replay it with SIM_SEED={seed} cargo test -p switchboard-sync --test simulation"))?;
        totals.add(&report);
    }
    // The simulation proves nothing if its faults never happened; these say they did.
    ensure!(totals.accepted > 0, "some writes were accepted: {totals:?}");
    ensure!(
        totals.faults > 0 && totals.dropped_after_send > 0,
        "faults were injected, answers among them lost after the hub acted: {totals:?}"
    );
    ensure!(
        totals.conflicts > 0 && totals.parked > 0,
        "conflicts and refusals happened and were resolved: {totals:?}"
    );
    eprintln!("simulation: {totals:?}");
    Ok(())
}

/// What one seed did, summed over seeds to show that the faults were real.
#[derive(Debug, Default)]
struct Report {
    accepted: usize,
    conflicts: usize,
    parked: usize,
    faults: usize,
    dropped_after_send: usize,
    restarts: usize,
}

type Totals = Report;

impl Report {
    fn add(&mut self, other: &Report) {
        self.accepted += other.accepted;
        self.conflicts += other.conflicts;
        self.parked += other.parked;
        self.faults += other.faults;
        self.dropped_after_send += other.dropped_after_send;
        self.restarts += other.restarts;
    }
}

/// A demo hub database seeded once, with two agents signed in; every seed starts from a copy,
/// so that seeds share nothing and the slow password hashing happens once.
struct Template {
    folder: tempfile::TempDir,
    desk_token: String,
    other_token: String,
    desk_agent: AgentId,
}

impl Template {
    async fn make() -> anyhow::Result<Template> {
        let folder = tempfile::tempdir()?;
        let db = Database::open_folder(folder.path()).await?;
        seed_demo(&db, 11, 6).await?;
        let now = switchboard_hub::now_unix();
        let lifetime = 24 * 60 * 60;
        let desk = db
            .sign_in("maya@demo.example.com", DEMO_PASSWORD, now, lifetime)
            .await?
            .context("the demo agent signs in")?;
        let other = db
            .sign_in("tomas@demo.example.com", DEMO_PASSWORD, now, lifetime)
            .await?
            .context("a second demo agent signs in")?;
        db.close().await;
        Ok(Template {
            folder,
            desk_token: desk.token,
            other_token: other.token,
            desk_agent: desk.session.agent,
        })
    }

    /// A fresh copy of the template's database in its own folder.
    fn copy(&self) -> anyhow::Result<tempfile::TempDir> {
        let copy = tempfile::tempdir()?;
        for entry in std::fs::read_dir(self.folder.path())? {
            let entry = entry?;
            std::fs::copy(entry.path(), copy.path().join(entry.file_name()))?;
        }
        Ok(copy)
    }
}

/// A hub served in-process, restartable on the same database.
struct SimHub {
    state: HubState,
    url: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHub {
    async fn start(db: Database) -> anyhow::Result<SimHub> {
        let state = HubState::new(db, true, 64);
        Self::serve(state).await
    }

    async fn serve(state: HubState) -> anyhow::Result<SimHub> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = base_url(listener.local_addr()?);
        let task = tokio::spawn(serve(listener, state.clone(), std::future::pending()));
        Ok(SimHub { state, url, task })
    }

    /// Kills the server as a crash would (connections cut, nothing finished) and serves the
    /// same database again on a new port.
    async fn restart(&mut self) -> anyhow::Result<()> {
        self.task.abort();
        let _ = (&mut self.task).await;
        let state = HubState {
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            ..self.state.clone()
        };
        *self = Self::serve(state).await?;
        Ok(())
    }
}

impl Drop for SimHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The simulated clock: time moves only when the simulation says.
#[derive(Debug, Default)]
struct SimClock(AtomicI64);

impl Clock for SimClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl SimClock {
    fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

/// The faults in force, decided from the seed, one draw per request.
#[derive(Debug)]
struct Faults {
    rng: ChaCha8Rng,
    enabled: bool,
    /// Requests left in an outage, all refused.
    down_for: u32,
    /// Requests left in a storm of this status.
    storm: Option<(u16, u32)>,
    /// The last page served, to serve again as a stale duplicate.
    last_page: Option<ChangePage>,
    injected: usize,
    dropped_after_send: usize,
}

/// What the faults decided for one request.
enum Fate {
    Pass,
    Refuse,
    Answer(u16, Option<u64>),
    LoseAnswer,
    Stale,
}

impl Faults {
    fn fate(&mut self, is_page: bool) -> Fate {
        if !self.enabled {
            return Fate::Pass;
        }
        if self.down_for > 0 {
            self.down_for -= 1;
            self.injected += 1;
            return Fate::Refuse;
        }
        if let Some((status, left)) = self.storm {
            self.storm = (left > 1).then_some((status, left - 1));
            self.injected += 1;
            let retry_after = (status == 429).then(|| self.rng.random_range(1..=3));
            return Fate::Answer(status, retry_after);
        }

        let roll: f64 = self.rng.random();
        let fate = match roll {
            r if r < 0.03 => {
                self.down_for = self.rng.random_range(2..12);
                Fate::Refuse
            }
            r if r < 0.05 => {
                let status = [429, 503, 500, 502][self.rng.random_range(0..4)];
                self.storm = Some((status, self.rng.random_range(1..6)));
                let retry_after = (status == 429).then(|| self.rng.random_range(1..=3));
                Fate::Answer(status, retry_after)
            }
            r if r < 0.10 => Fate::Refuse,
            r if r < 0.18 => Fate::LoseAnswer,
            r if r < 0.22 && is_page && self.last_page.is_some() => Fate::Stale,
            _ => return Fate::Pass,
        };
        self.injected += 1;
        fate
    }
}

/// The engine's hub: the real one, behind the faults.
#[derive(Debug, Clone)]
struct FaultyHub {
    client: Arc<Mutex<HubClient>>,
    faults: Arc<Mutex<Faults>>,
}

impl FaultyHub {
    fn client(&self) -> HubClient {
        self.client.lock().expect("the client lock").clone()
    }

    fn fate(&self, is_page: bool) -> Fate {
        self.faults.lock().expect("the faults lock").fate(is_page)
    }

    fn lost(&self) -> ClientError {
        let mut faults = self.faults.lock().expect("the faults lock");
        faults.dropped_after_send += 1;
        ClientError::Timeout {
            url: "simulated".to_owned(),
            seconds: 10,
        }
    }
}

fn refused() -> ClientError {
    ClientError::Unreachable {
        url: "simulated".to_owned(),
        reason: "Connection refused (simulated)".to_owned(),
    }
}

fn answer(status: u16, retry_after: Option<u64>) -> WriteAnswer {
    WriteAnswer {
        status,
        version: None,
        retry_after,
        body: format!(r#"{{"code":"simulated","message":"simulated {status}"}}"#),
    }
}

/// The simulation follows no live stream: its pulls are explicit steps.
#[derive(Debug)]
struct NoEvents;

impl Events for NoEvents {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(None)
    }
}

impl Hub for FaultyHub {
    type Events = NoEvents;

    async fn changes(
        &self,
        after: Option<&Cursor>,
        limit: u32,
        count: bool,
    ) -> Result<ChangePage, ClientError> {
        match self.fate(true) {
            Fate::Pass => {}
            Fate::Refuse => return Err(refused()),
            Fate::Answer(status, _) => {
                return Err(ClientError::Rejected {
                    status,
                    code: "simulated".to_owned(),
                    message: "simulated".to_owned(),
                });
            }
            Fate::LoseAnswer => {
                let _ = self.client().changes(after, limit, count).await;
                return Err(self.lost());
            }
            Fate::Stale => {
                let stale = self
                    .faults
                    .lock()
                    .expect("the faults lock")
                    .last_page
                    .clone();
                if let Some(page) = stale {
                    return Ok(page);
                }
            }
        }
        let page = self.client().changes(after, limit, count).await?;
        self.faults.lock().expect("the faults lock").last_page = Some(page.clone());
        Ok(page)
    }

    async fn write(&self, write: &WriteRequest<'_>) -> Result<WriteAnswer, ClientError> {
        match self.fate(false) {
            Fate::Pass | Fate::Stale => self.client().write(write).await,
            Fate::Refuse => Err(refused()),
            Fate::Answer(status, retry_after) => Ok(answer(status, retry_after)),
            Fate::LoseAnswer => {
                // The hub acts on it; the desk never hears.
                let _ = self.client().write(write).await;
                Err(self.lost())
            }
        }
    }

    async fn events(&self, _after: Option<&Cursor>) -> Result<NoEvents, ClientError> {
        Ok(NoEvents)
    }
}

/// One desk: its cache and its engine, which a restart drops and opens again.
struct Desk {
    engine: SyncEngine<FaultyHub>,
}

impl Desk {
    fn open(
        path: &Path,
        hub: &FaultyHub,
        clock: &Arc<SimClock>,
        seed: u64,
    ) -> anyhow::Result<Desk> {
        let store = Arc::new(Store::open(path, None)?);
        store.bind(&Origin {
            hub: "sim".to_owned(),
            tenant: "ten_1".to_owned(),
        })?;
        let config = SyncConfig {
            page_size: 50,
            push_parallel: 1,
            backoff: Backoff {
                base: Duration::from_millis(200),
                cap: Duration::from_secs(20),
            },
            poll_every: Duration::from_secs(5),
            seed: Some(seed),
        };
        let clock: Arc<dyn Clock> = Arc::clone(clock) as Arc<dyn Clock>;
        let engine = SyncEngine::new(store, hub.clone(), config, clock);
        Ok(Desk { engine })
    }

    fn store(&self) -> &Store {
        self.engine.store()
    }
}

/// What the simulation knows the hub must hold.
#[derive(Debug, Default)]
struct Ledger {
    /// Successful writes by the other agent, per record.
    other_writes: HashMap<String, u64>,
    /// The record's version at the hub before the seed began.
    initial_versions: HashMap<String, u64>,
    /// Every cursor the cache stood at after a pull, in order.
    cursors: Vec<i64>,
}

async fn run_seed(template: &Template, seed: u64) -> anyhow::Result<Report> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = template.copy()?;
    let db = Database::open_folder(data.path()).await?;
    let mut hub = SimHub::start(db).await?;

    let client = HubClient::new(&hub.url, Duration::from_secs(10))?;
    client.set_token(Some(template.desk_token.clone()));
    let mut other = HubClient::new(&hub.url, Duration::from_secs(10))?;
    other.set_token(Some(template.other_token.clone()));
    let faults = Arc::new(Mutex::new(Faults {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17),
        enabled: true,
        down_for: 0,
        storm: None,
        last_page: None,
        injected: 0,
        dropped_after_send: 0,
    }));
    let faulty = FaultyHub {
        client: Arc::new(Mutex::new(client)),
        faults: Arc::clone(&faults),
    };

    let clock = Arc::new(SimClock(AtomicI64::new(1_800_000_000_000)));
    let cache = tempfile::tempdir()?;
    let cache_path = cache.path().join("cache.db");
    let mut desk = Desk::open(&cache_path, &faulty, &clock, seed)?;

    // What the desk can act on: the demo's tickets, notes and customers, read from the hub.
    let world = other.changes(None, 1000, false).await?;
    let mut ledger = Ledger::default();
    let mut tickets = Vec::new();
    let mut notes = Vec::new();
    let mut customers = Vec::new();
    for change in &world.changes {
        if let switchboard_model::Change::Upsert {
            version, record, ..
        } = change
        {
            ledger
                .initial_versions
                .insert(record.id().to_owned(), *version);
            match &**record {
                Record::Ticket(ticket) => tickets.push(ticket.id.clone()),
                Record::Note(note) => notes.push(note.id.clone()),
                Record::Customer(customer) => customers.push(customer.id.clone()),
                _ => {}
            }
        }
    }
    ensure!(
        !tickets.is_empty() && !customers.is_empty(),
        "the demo world has tickets and customers"
    );

    let mut report = Report::default();
    for step in 0..STEPS {
        clock.advance(rng.random_range(0..1500));
        match rng.random_range(0..100) {
            0..35 => {
                let action = workload(&mut rng, template, &tickets, &notes, &customers);
                let actor = Actor {
                    agent: template.desk_agent.clone(),
                    now: switchboard_hub::now_rfc3339(),
                };
                match desk.store().act(action, &actor) {
                    Ok(acted) => {
                        if let Record::Note(note) = &acted.record {
                            notes.push(note.id.clone());
                        }
                        if let Record::Ticket(ticket) = &acted.record
                            && !tickets.contains(&ticket.id)
                        {
                            tickets.push(ticket.id.clone());
                        }
                    }
                    // The cache refused it as invalid (say, an edit of a note it does not
                    // hold yet); an agent would see the message and nothing is queued.
                    Err(error) if error.is_invalid_action() => {}
                    Err(error) => return Err(error.into()),
                }
            }
            35..45 => other_agent_writes(&mut rng, &other, &tickets, &mut ledger).await?,
            45..75 => {
                let _ = desk.engine.push().await;
            }
            75..90 => {
                let _ = desk.engine.pull().await;
                record_cursor(desk.store(), &mut ledger)?;
            }
            90..94 => resolve_waiting(&mut rng, desk.store(), false)?,
            94..97 => {
                // The desktop restarts: the process is gone, the cache file stays.
                report.restarts += 1;
                drop(desk);
                desk = Desk::open(&cache_path, &faulty, &clock, seed.wrapping_add(step as u64))?;
            }
            _ => {
                report.restarts += 1;
                hub.restart().await?;
                let restarted = HubClient::new(&hub.url, Duration::from_secs(10))?;
                restarted.set_token(Some(template.desk_token.clone()));
                *faulty.client.lock().expect("the client lock") = restarted;
                other = HubClient::new(&hub.url, Duration::from_secs(10))?;
                other.set_token(Some(template.other_token.clone()));
            }
        }
    }

    // The faults stop. The engine must now bring everything to an end state.
    {
        let mut faults = faults.lock().expect("the faults lock");
        faults.enabled = false;
        report.faults = faults.injected;
        report.dropped_after_send = faults.dropped_after_send;
    }
    drain(&desk, &clock).await?;

    // Guarantee 4: every row is accepted, a conflict with both versions, or parked with the
    // hub's words; none is left pending once the hub is reachable again.
    let mut waiting_records = std::collections::HashSet::new();
    for entry in desk.store().entries(&[])? {
        match entry.state {
            // A row behind a conflict or a parked row of the same record waits for the agent
            // to resolve that one first; any other pending row is a row the engine lost.
            OpState::Pending if waiting_records.contains(&entry.record_id) => {}
            OpState::Pending => bail!(
                "row {} is still pending after the faults stopped",
                entry.op_id
            ),
            OpState::Conflict => {
                waiting_records.insert(entry.record_id.clone());
                report.conflicts += 1;
                ensure!(
                    entry.theirs.is_some() && entry.theirs_version.is_some(),
                    "conflict {} keeps the hub's version to show",
                    entry.op_id
                );
            }
            OpState::Parked => {
                waiting_records.insert(entry.record_id.clone());
                report.parked += 1;
                ensure!(
                    entry
                        .last_error
                        .as_deref()
                        .is_some_and(|error| !error.is_empty()),
                    "parked row {} keeps the hub's message",
                    entry.op_id
                );
            }
            OpState::Accepted | OpState::Discarded => {}
        }
    }

    // The agent resolves what waits for them, row after row (each resolution lets the
    // record's next row go, which may need resolving in turn); then nothing is left.
    for _ in 0..STEPS {
        resolve_waiting(&mut rng, desk.store(), true)?;
        drain(&desk, &clock).await?;
        if desk.store().outbox()?.pending
            + desk.store().outbox()?.conflicts
            + desk.store().outbox()?.parked
            == 0
        {
            break;
        }
    }
    let summary = desk.store().outbox()?;
    ensure!(
        summary.pending == 0 && summary.conflicts == 0 && summary.parked == 0,
        "every row ended once resolved: {summary:?}"
    );
    desk.engine.pull().await?;
    record_cursor(desk.store(), &mut ledger)?;

    // Guarantee 6: cursors only moved forward.
    ensure!(
        ledger.cursors.windows(2).all(|pair| pair[0] <= pair[1]),
        "the cursor went back: {:?}",
        ledger.cursors
    );

    // Guarantee 5: the cache and the hub hold the same records.
    let hub_records = everything(&other).await?;
    let cached: BTreeMap<String, (u64, serde_json::Value)> = desk
        .store()
        .all_records()?
        .into_iter()
        .map(|(record, version)| {
            (
                record.id().to_owned(),
                (version, serde_json::to_value(&record).unwrap_or_default()),
            )
        })
        .collect();
    for (id, (version, body)) in &hub_records {
        let Some((cached_version, cached_body)) = cached.get(id) else {
            bail!("the hub holds {id} and the cache does not");
        };
        ensure!(
            cached_version == version && cached_body == body,
            "{id} differs: cache v{cached_version} {cached_body}, hub v{version} {body}"
        );
    }
    for id in cached.keys() {
        ensure!(
            hub_records.contains_key(id),
            "the cache holds {id} and the hub does not"
        );
    }

    // Guarantee 6 again: applying the whole feed a second time changes nothing.
    let again = other.changes(None, 1000, false).await?;
    let applied = desk.store().apply_page(&again.changes, &again.cursor)?;
    ensure!(
        applied.applied == 0 && applied.rebased == 0,
        "a page applied twice changed the cache: {applied:?}"
    );

    // Guarantees 2 and 3, from the outbox's record of what the hub answered: per record, the
    // accepted rows got strictly increasing versions in the order the agent made them, and the
    // hub's version is exactly what those rows and the other agent's writes account for, so
    // no row took effect twice and none was lost.
    let mut accepted: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for entry in desk.store().entries(&[OpState::Accepted])? {
        report.accepted += 1;
        let version = entry
            .hub_version
            .with_context(|| format!("accepted row {} keeps its version", entry.op_id))?;
        accepted.entry(entry.record_id).or_default().push(version);
    }
    for (record, versions) in &accepted {
        ensure!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "the hub saw {record}'s writes out of order: versions {versions:?}"
        );
        let Some((version, _)) = hub_records.get(record) else {
            bail!("{record} was accepted but the hub does not hold it");
        };
        let expected = ledger.initial_versions.get(record).copied().unwrap_or(0)
            + versions.len() as u64
            + ledger.other_writes.get(record).copied().unwrap_or(0);
        ensure!(
            *version == expected,
            "{record} is at version {version} on the hub but {} accepted write(s) and {} by the other agent account for {expected}: a write took effect twice or was lost",
            versions.len(),
            ledger.other_writes.get(record).copied().unwrap_or(0)
        );
    }

    ensure!(
        desk.store().integrity_check()?,
        "the cache passes SQLite's integrity check"
    );
    drop(desk);
    drop(hub);
    Ok(report)
}

/// One agent action, drawn from the seed.
fn workload(
    rng: &mut ChaCha8Rng,
    template: &Template,
    tickets: &[TicketId],
    notes: &[NoteId],
    customers: &[CustomerId],
) -> Action {
    let customer = customers[rng.random_range(0..customers.len())].clone();
    let ticket = tickets[rng.random_range(0..tickets.len())].clone();
    let words = [
        "Called about",
        "Parcel",
        "Refund",
        "Address change",
        "Follow-up",
    ];
    let text = format!(
        "{} {}",
        words[rng.random_range(0..words.len())],
        rng.random_range(0..10_000)
    );
    match rng.random_range(0..100) {
        0..25 => Action::AddNote(NewNote {
            id: None,
            customer_id: customer,
            interaction_id: None,
            body: text,
        }),
        25..40 if !notes.is_empty() => Action::EditNote {
            id: notes[rng.random_range(0..notes.len())].clone(),
            change: NoteChange { body: text },
        },
        40..55 => Action::OpenTicket(NewTicket {
            id: None,
            customer_id: customer,
            subject: text,
            priority: Some(Priority::Normal),
            // Now and then an assignee the hub does not know: it refuses, the row is parked.
            assignee: (rng.random_range(0..6) == 0)
                .then(|| AgentId("agt_nobody_at_all".to_owned())),
            comment: None,
        }),
        55..80 => Action::ChangeTicket {
            id: ticket,
            change: TicketChange {
                subject: None,
                status: Some(
                    [
                        TicketStatus::Open,
                        TicketStatus::Pending,
                        TicketStatus::Solved,
                    ][rng.random_range(0..3)],
                ),
                priority: Some([Priority::Low, Priority::High][rng.random_range(0..2)]),
                assignee: None,
            },
        },
        80..92 => Action::CommentOnTicket {
            id: ticket,
            comment: NewComment {
                body: text,
                public: false,
            },
        },
        _ => Action::SetState {
            agent: template.desk_agent.clone(),
            change: StateChange {
                state: [AgentState::Available, AgentState::Break, AgentState::Busy]
                    [rng.random_range(0..3)],
            },
        },
    }
}

/// Another agent changes a ticket at the hub, on its latest version: the desk's edits made
/// on an older one must then become conflicts.
async fn other_agent_writes(
    rng: &mut ChaCha8Rng,
    other: &HubClient,
    tickets: &[TicketId],
    ledger: &mut Ledger,
) -> anyhow::Result<()> {
    let ticket = &tickets[rng.random_range(0..tickets.len())];
    let page = everything(other).await?;
    let Some((version, _)) = page.get(ticket.as_str()) else {
        // A ticket the desk opened that the hub has not got yet.
        return Ok(());
    };
    let body = serde_json::json!({ "priority": "urgent" }).to_string();
    let key = format!("other-{}-{}", ticket, rng.random::<u64>());
    let path = format!("v1/tickets/{ticket}");
    let answer = other
        .write(&WriteRequest {
            method: "PATCH",
            path: &path,
            body: &body,
            idempotency_key: &key,
            if_match: Some(*version),
        })
        .await?;
    ensure!(
        answer.status == 200,
        "the other agent's edit on the latest version is accepted: {answer:?}"
    );
    *ledger.other_writes.entry(ticket.to_string()).or_default() += 1;
    Ok(())
}

/// Every record the hub holds for the tenant, with its version, as JSON.
async fn everything(
    client: &HubClient,
) -> anyhow::Result<BTreeMap<String, (u64, serde_json::Value)>> {
    let mut records = BTreeMap::new();
    let mut after = None;
    loop {
        let page = client.changes(after.as_ref(), 1000, false).await?;
        for change in &page.changes {
            match change {
                switchboard_model::Change::Upsert {
                    version, record, ..
                } => {
                    records.insert(
                        record.id().to_owned(),
                        (*version, serde_json::to_value(&**record)?),
                    );
                }
                switchboard_model::Change::Delete { id, .. } => {
                    records.remove(id);
                }
            }
        }
        if !page.has_more {
            return Ok(records);
        }
        after = Some(page.cursor);
    }
}

fn record_cursor(store: &Store, ledger: &mut Ledger) -> anyhow::Result<()> {
    if let Some(cursor) = store.cursor()? {
        ledger.cursors.push(cursor.0.parse()?);
    }
    Ok(())
}

/// Pushes and pulls on the simulated clock until nothing is pending.
async fn drain(desk: &Desk, clock: &SimClock) -> anyhow::Result<()> {
    for _ in 0..500 {
        let pushed = desk.engine.push().await?;
        if pushed.sent > 0 {
            continue;
        }
        match desk.store().next_due()? {
            Some(due) if due > clock.now_ms() => clock.advance(due - clock.now_ms()),
            _ => {
                desk.engine.pull().await?;
                return Ok(());
            }
        }
    }
    bail!(
        "the outbox did not drain in 500 rounds: {:?}",
        desk.store().outbox()?
    )
}

/// The agent deals with what waits for them: every row, or each with an even chance.
fn resolve_waiting(rng: &mut ChaCha8Rng, store: &Store, every: bool) -> anyhow::Result<()> {
    for entry in store.entries(&[OpState::Conflict, OpState::Parked])? {
        if every || rng.random_range(0..2) == 0 {
            resolve(rng, store, &entry.op_id, entry.state)?;
        }
    }
    Ok(())
}

fn resolve(rng: &mut ChaCha8Rng, store: &Store, op_id: &str, state: OpState) -> anyhow::Result<()> {
    match (state, rng.random_range(0..2)) {
        (OpState::Conflict, 0) => store.keep_mine(op_id)?,
        (OpState::Conflict, _) => store.take_theirs(op_id)?,
        // A refused row sent again unchanged is refused again; the agent gives it up.
        (OpState::Parked, _) => store.discard_parked(op_id)?,
        _ => {}
    }
    Ok(())
}
