//! The desk's cache for the signed-in agent: the local SQLite copy of the hub's records, kept
//! current by the sync engine from the moment the agent signs in, and read by screen pops so
//! that a ringing call finds its customer without asking the hub.
//!
//! [`SyncView`] is what the window shows of it: the link, the initial sync's progress, and the
//! writes still waiting in the outbox.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchboard_client::HubClient;
use switchboard_model::{
    Customer, CustomerId, CustomerSummary, IdentityKind, Message, Record, Typing,
};
use switchboard_store::feed::Origin;
use switchboard_store::{
    Action, Actor, AgentDay, CustomerFile, OpState, OpenWork, Store, StoreError,
};
use switchboard_sync::{SyncConfig, SyncEngine, SyncStatus, SystemClock};
use tokio::sync::{broadcast, watch};

use crate::EngineError;
use crate::writes::{Resolution, WriteView, view_of};

/// How the desk's link to the hub stands, as sync sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// The first fill of the cache runs; `done` of `total` changes are in.
    Filling,
    /// Caught up, following the hub's live changes.
    Synced,
    /// The hub answers badly or only by polling; the cache lags a little.
    Degraded,
    /// The hub cannot be reached: the desk works from its cache and queues writes.
    Offline,
}

/// What the window shows of the cache and its sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncView {
    pub state: SyncState,
    /// Changes applied by the initial sync so far.
    pub done: u32,
    /// All the changes of the initial sync, when the hub said.
    pub total: Option<u32>,
    /// Writes waiting for the hub.
    pub pending: u32,
    /// Writes the hub refused as conflicts, waiting for the agent.
    pub conflicts: u32,
    /// Writes the hub refused as invalid, kept with its message.
    pub parked: u32,
    /// The hub refused the token: writes wait until the agent signs in again.
    pub needs_sign_in: bool,
    /// The last failure talking to the hub, in words for the agent.
    pub last_error: Option<String>,
    /// Where the cache stands in the hub's feed: it moves whenever changes arrive, so the
    /// window reads what it shows again.
    pub cursor: Option<String>,
}

impl SyncView {
    /// The window's view of the sync engine's status.
    pub fn of(status: &SyncStatus) -> SyncView {
        let filling = status
            .progress
            .as_ref()
            .is_some_and(|progress| !progress.finished);
        let state = match (filling, status.connectivity) {
            (true, _) => SyncState::Filling,
            (false, switchboard_sync::Connectivity::Online) => SyncState::Synced,
            (false, switchboard_sync::Connectivity::Degraded) => SyncState::Degraded,
            (false, switchboard_sync::Connectivity::Offline) => SyncState::Offline,
        };
        let progress = status.progress.as_ref();
        SyncView {
            state,
            done: progress.map_or(0, |progress| saturate(progress.done)),
            total: progress.and_then(|progress| progress.total.map(saturate)),
            pending: status.outbox.pending,
            conflicts: status.outbox.conflicts,
            parked: status.outbox.parked,
            needs_sign_in: status.needs_sign_in,
            last_error: status.last_error.clone(),
            cursor: status.cursor.clone(),
        }
    }
}

/// The cache of one signed-in session and its running sync; stops when dropped.
#[derive(Debug)]
pub struct DeskCache {
    store: Arc<Store>,
    sync: Arc<SyncEngine<HubClient>>,
    stop: watch::Sender<bool>,
}

impl DeskCache {
    /// Opens the cache at `path` for the hub at `hub_url` and the agent's `tenant`, and starts
    /// syncing it with `client` (which carries the agent's token). A cache of another hub or
    /// tenant is emptied first, unless it still holds writes for it.
    pub async fn start(
        path: PathBuf,
        hub_url: String,
        tenant: String,
        client: HubClient,
    ) -> Result<DeskCache, EngineError> {
        let store = tokio::task::spawn_blocking(move || -> Result<Store, EngineError> {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).map_err(|error| {
                    EngineError::Cache(format!(
                        "cannot make the cache's folder {}: {error}; check its permissions",
                        folder.display()
                    ))
                })?;
            }
            let store = Store::open(&path, None).map_err(cache_error)?;
            store
                .bind(&Origin {
                    hub: hub_url,
                    tenant,
                })
                .map_err(cache_error)?;
            Ok(store)
        })
        .await
        .map_err(|error| EngineError::Cache(format!("the cache's opening failed: {error}")))??;

        let store = Arc::new(store);

        // The first calls after a start should not wait for the disk: read the screen-pop
        // index in beside the sync, on a connection of its own.
        let warming = Arc::clone(&store);
        tokio::task::spawn_blocking(move || {
            if let Err(error) = warming.warm_screen_pops() {
                tracing::warn!(%error, "the screen-pop index could not be read ahead");
            }
        });

        let sync = Arc::new(SyncEngine::new(
            Arc::clone(&store),
            client,
            SyncConfig::default(),
            Arc::new(SystemClock),
        ));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(Arc::clone(&sync).run(stopped));
        tracing::info!(cache = %store.path().display(), "the desk's cache syncs");
        Ok(DeskCache { store, sync, stop })
    }

    /// The sync engine's status now and every change after.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.sync.status()
    }

    /// Customers typing in the agent's chats, as the live stream hears them.
    pub fn typing(&self) -> broadcast::Receiver<Typing> {
        self.sync.typing()
    }

    /// Customer `id` as the cache holds them; `None` when it does not, or while the first
    /// fill runs (then the hub answers instead).
    pub async fn customer(&self, id: &CustomerId) -> Option<Customer> {
        let id = id.clone();
        self.read(move |store| store.customer_file(&id))
            .await
            .map(|file| file.customer)
    }

    /// Customer `id`'s whole file as the cache holds it (see [`DeskCache::customer`] for
    /// `None`).
    pub async fn customer_file(&self, id: &CustomerId) -> Option<CustomerFile> {
        let id = id.clone();
        self.read(move |store| store.customer_file(&id)).await
    }

    /// Record `id` as the desk shows it (the hub's state with unsent changes laid over it).
    pub async fn record(&self, id: &str) -> Option<Record> {
        let id = id.to_owned();
        self.read(move |store| Ok(store.record(&id)?.map(|(record, _)| record)))
            .await
    }

    /// The agent's open work, and for each of their chats its thread.
    pub async fn open_work(&self, agent: &str) -> Option<(OpenWork, Vec<Vec<Message>>)> {
        let agent = agent.to_owned();
        self.read(move |store| {
            let work = store.open_work(&agent)?;
            let threads = work
                .interactions
                .iter()
                .map(|interaction| store.thread(interaction.conversation_id.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((work, threads)))
        })
        .await
    }

    /// The customers that `query` finds in the cache (by name, company, phone, e-mail, or one
    /// of their orders, tickets or parcels), best first; `None` while the first fill runs, when
    /// the cache does not know everyone yet.
    pub async fn search_customers(
        &self,
        query: &str,
        limit: usize,
    ) -> Option<Vec<CustomerSummary>> {
        let query = query.to_owned();
        self.read(move |store| {
            if store.is_filling() {
                return Ok(None);
            }
            let mut seen = std::collections::HashSet::new();
            let mut found = Vec::new();
            for hit in store.search(&query, limit * 4)? {
                let Some(customer) = hit.customer_id else {
                    continue;
                };
                if found.len() == limit || !seen.insert(customer.clone()) {
                    continue;
                }
                if let Some((Record::Customer(customer), _)) = store.record(customer.as_str())? {
                    found.push(customer.summary());
                }
            }
            Ok(Some(found))
        })
        .await
    }

    /// What `agent` handled on `day` (UTC), as the cache counts it.
    pub async fn agent_day(&self, agent: &str, day: &str) -> AgentDay {
        let (agent, day) = (agent.to_owned(), day.to_owned());
        self.read(move |store| store.agent_day(&agent, &day).map(Some))
            .await
            .unwrap_or_default()
    }

    /// The writes that wait for the agent's decision, each with the agent's version.
    pub async fn writes_needing_agent(&self) -> Result<Vec<WriteView>, EngineError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || -> Result<Vec<WriteView>, StoreError> {
            let mut views = Vec::new();
            for entry in store.entries(&[OpState::Conflict, OpState::Parked])? {
                let mine = store.record(&entry.record_id)?.map(|(record, _)| record);
                views.extend(view_of(&entry, mine.as_ref()));
            }
            Ok(views)
        })
        .await
        .map_err(|error| EngineError::Cache(format!("the outbox could not be read: {error}")))?
        .map_err(cache_error)
    }

    /// Carries out the agent's decision about a write, and wakes the sync to act on it.
    pub async fn resolve(&self, op_id: String, resolution: Resolution) -> Result<(), EngineError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || match resolution {
            Resolution::KeepMine => store.keep_mine(&op_id),
            Resolution::TakeTheirs => store.take_theirs(&op_id),
            Resolution::Retry => store.retry_parked(&op_id),
            Resolution::Discard => store.discard_parked(&op_id),
        })
        .await
        .map_err(|error| EngineError::Cache(format!("the decision was not saved: {error}")))?
        .map_err(|error| match error {
            StoreError::WrongState { .. } | StoreError::NoSuchOperation(_) => {
                EngineError::CallLog(format!("{error}; the list has changed, look again"))
            }
            error => cache_error(error),
        })?;
        self.sync.wake();
        Ok(())
    }

    /// Runs a read of the cache off the async threads. A read that fails (the first fill
    /// still running, a busy disk) is `None`: the caller then asks the hub or shows nothing,
    /// and the log says why.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<Option<T>, StoreError> + Send + 'static,
    ) -> Option<T> {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || read(&store)).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                tracing::debug!(%error, "the cache cannot answer now");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "a cache read failed");
                None
            }
        }
    }

    /// Whether record `id` has changes the hub has not accepted yet.
    pub async fn unsent(&self, id: &str) -> bool {
        let store = Arc::clone(&self.store);
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || store.has_unsent(&id))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false)
    }

    /// Takes an agent's action: the shown record changes and the write is queued, durably,
    /// before this returns; then the sync engine is woken to send it.
    pub async fn act(&self, action: Action, actor: Actor) -> Result<Record, EngineError> {
        let store = Arc::clone(&self.store);
        let name = action.name();
        let acted = tokio::task::spawn_blocking(move || store.act(action, &actor))
            .await
            .map_err(|error| EngineError::Cache(format!("the write did not finish: {error}")))?;
        let acted = acted.map_err(|error| match error {
            StoreError::Action(error) => EngineError::Action(error.to_string()),
            error => cache_error(error),
        })?;
        tracing::info!(op_id = %acted.op_id, action = name, "agent action queued");
        self.sync.wake();
        Ok(acted.record)
    }

    /// The customers a caller's number points at, from the cache alone: every candidate when
    /// several share it, none when the number is unknown or not a number.
    pub fn screen_pop(&self, number: &str) -> Vec<CustomerSummary> {
        match self.store.lookup(IdentityKind::Phone, number) {
            Ok(lookup) => lookup.candidates,
            Err(error) => {
                tracing::debug!(%error, "no screen pop for a caller");
                Vec::new()
            }
        }
    }
}

impl Drop for DeskCache {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A count for the window, which has no use for more than four billion.
fn saturate(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn cache_error(error: StoreError) -> EngineError {
    EngineError::Cache(error.to_string())
}
