//! The sync engine: pulls the hub's change feed into the cache (from zero with progress, then
//! live from the event stream, polling when the stream is down) and pushes the outbox, one
//! request in flight per record, the row's operation id as `Idempotency-Key` on every attempt.
//!
//! Each step ([`SyncEngine::pull`], [`SyncEngine::push`]) is callable on its own, so that the
//! simulation drives the engine one step at a time; [`SyncEngine::run`] loops them for the
//! desktop.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use switchboard_client::{ClientError, WriteRequest};
use switchboard_model::{Change, ChangePage, Cursor, Typing};
use switchboard_store::feed::PreparedPage;
use switchboard_store::{Operation, Outcome, Store, StoreError};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;

use crate::answer::{Verdict, Wait, judge};
use crate::backoff::Backoff;
use crate::hub::{Events, Hub};
use crate::sse::SseParser;
use crate::status::{ConnectivityTracker, Contact, Progress, SyncStatus};

/// A page of the feed as fetched, prepared for the cache.
struct Fetched {
    page: Result<PreparedPage, SyncError>,
    cursor: Cursor,
    has_more: bool,
    remaining: Option<u64>,
}

/// Runs cache work on a blocking thread (every store method is synchronous and may wait for
/// the disk), so that it never holds up the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, SyncError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(error) => Err(SyncError::Task(error.to_string())),
    }
}

/// Why a sync step stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hub(#[from] ClientError),
    #[error("the hub sent a change that could not be read ({0}); the hub may be a newer version")]
    BadEvent(String),
    #[error("the hub wants a new login; sign in again and sync resumes")]
    SignIn,
    #[error("a sync task failed: {0}")]
    Task(String),
}

/// How the engine paces itself.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Changes asked for per page of the feed.
    pub page_size: u32,
    /// Requests in flight at once, each for a different record.
    pub push_parallel: usize,
    /// The back-off of failed writes and of reconnects.
    pub backoff: Backoff,
    /// How often to poll the feed while the live stream is down.
    pub poll_every: Duration,
    /// Seeds the jitter, for runs that must replay exactly; entropy when absent.
    pub seed: Option<u64>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            page_size: 5_000,
            push_parallel: 8,
            backoff: Backoff::default(),
            poll_every: Duration::from_secs(10),
            seed: None,
        }
    }
}

/// The time the engine schedules retries by: the wall clock, or a simulation's.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        switchboard_store::now_ms()
    }
}

/// What one pull did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pulled {
    /// Changes that arrived, whether or not they changed the cache.
    pub changes: u64,
    /// Pages fetched.
    pub pages: u64,
}

/// What one push round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Requests sent.
    pub sent: usize,
    /// Rows that finished: accepted, conflicting or parked.
    pub settled: usize,
    /// Rows that will be sent again later.
    pub retrying: usize,
}

#[derive(Debug, Default)]
struct Inner {
    tracker: ConnectivityTracker,
    progress: Option<Progress>,
    needs_sign_in: bool,
    last_error: Option<String>,
}

/// Keeps one cache and one hub in step.
#[derive(Debug)]
pub struct SyncEngine<H: Hub> {
    store: Arc<Store>,
    hub: H,
    config: SyncConfig,
    clock: Arc<dyn Clock>,
    rng: Mutex<StdRng>,
    inner: Mutex<Inner>,
    status: watch::Sender<SyncStatus>,
    wake: Notify,
    typing: broadcast::Sender<Typing>,
}

/// Typing signals a slow listener may fall behind by before it skips some (a later signal
/// says the same).
const TYPING_BUFFER: usize = 64;

impl<H: Hub> SyncEngine<H> {
    pub fn new(store: Arc<Store>, hub: H, config: SyncConfig, clock: Arc<dyn Clock>) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let (status, _) = watch::channel(SyncStatus::default());
        SyncEngine {
            store,
            hub,
            config,
            clock,
            rng: Mutex::new(rng),
            inner: Mutex::new(Inner::default()),
            status,
            wake: Notify::new(),
            typing: broadcast::channel(TYPING_BUFFER).0,
        }
    }

    /// The cache this engine fills.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The status as it changes, for the window.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// Customers typing in chats, as the live stream hears them from now on. They are not
    /// part of the feed: a stream that is down hears none, and none are kept.
    pub fn typing(&self) -> broadcast::Receiver<Typing> {
        self.typing.subscribe()
    }

    /// Says that the outbox has a new row, so that the push loop sends it now.
    pub fn wake(&self) {
        // The window shows the new row as pending at once, not only once a push round ends.
        self.publish();
        self.wake.notify_one();
    }

    /// Says that the agent signed in again: writes held for the login go out.
    pub fn signed_in(&self) {
        self.inner().needs_sign_in = false;
        self.publish();
        self.wake();
    }

    /// Pulls every change the hub has after the cache's cursor, page by page, fetching the
    /// next page while the current one is applied. From an empty cache this is the initial
    /// sync, and its progress is published.
    ///
    /// FIXME(sync-speed): at a million customers (13.4 million records) an initial sync
    /// applies about 20,000 changes a second on the bench machine, short of the 50,000
    /// target (35,000 at 100,000 customers). What grows with size is the unique index on
    /// record ids: ids are random, so every insert dirties a page of it that the log and then
    /// the file must write. Next: leave that index out of the first fill too (the table must
    /// be rebuilt so that it is a named index), apply tombstones and duplicates at the end,
    /// and refuse reads by id until then.
    pub async fn pull(&self) -> Result<Pulled, SyncError> {
        let start = self.store.cursor()?;
        // An initial sync that stopped half-way (the desk closed, the link dropped) is still
        // one: it shows progress and builds the cache's indexes at its end.
        let store = Arc::clone(&self.store);
        let initial = blocking(move || store.begin_fill()).await?;
        let started = Instant::now();
        if initial {
            self.inner().progress = Some(Progress::default());
            self.publish();
        }

        let mut pulled = Pulled::default();
        let mut next = Some(self.fetch(start, initial));
        while let Some(fetching) = next.take() {
            let fetched = match fetching.await {
                Ok(Ok(fetched)) => fetched,
                Ok(Err(error)) => return Err(self.failed(error)),
                Err(error) => return Err(SyncError::Task(error.to_string())),
            };
            self.contact(Contact::Answered);
            if fetched.has_more {
                next = Some(self.fetch(Some(fetched.cursor.clone()), false));
            }

            let page = fetched.page?;
            let page_len = page.len() as u64;
            pulled.pages += 1;
            pulled.changes += page_len;
            let store = Arc::clone(&self.store);
            blocking(move || store.apply_prepared(page)).await?;

            if initial {
                let mut inner = self.inner();
                if let Some(progress) = &mut inner.progress {
                    progress.done = pulled.changes;
                    if let Some(remaining) = fetched.remaining {
                        progress.total = Some(pulled.changes - page_len + remaining);
                    }
                    let seconds = started.elapsed().as_secs_f64().max(0.001);
                    progress.per_second = pulled.changes as f64 / seconds;
                    progress.indexing = next.is_none();
                }
            }
            self.publish();
        }

        if initial {
            let store = Arc::clone(&self.store);
            blocking(move || store.finish_fill()).await?;
            if let Some(progress) = &mut self.inner().progress {
                progress.indexing = false;
                progress.finished = true;
            }
            self.publish();
            tracing::info!(
                changes = pulled.changes,
                pages = pulled.pages,
                seconds = started.elapsed().as_secs_f64(),
                "initial sync done"
            );
        }
        Ok(pulled)
    }

    /// Fetches the page after `after` and prepares it for the cache, on other threads than the
    /// one applying the page before it: decoding and preparing cost as much as writing.
    fn fetch(
        &self,
        after: Option<Cursor>,
        count: bool,
    ) -> tokio::task::JoinHandle<Result<Fetched, ClientError>> {
        let hub = self.hub.clone();
        let limit = self.config.page_size;
        tokio::spawn(async move {
            let page = hub.changes(after.as_ref(), limit, count).await?;
            let ChangePage {
                changes,
                cursor,
                has_more,
                remaining,
            } = page;
            let prepare_cursor = cursor.clone();
            let page = blocking(move || PreparedPage::new(&changes, prepare_cursor)).await;
            Ok(Fetched {
                page,
                cursor,
                has_more,
                remaining,
            })
        })
    }

    /// Follows the live event stream from the cache's cursor until it ends, fails, or
    /// `stop` turns true. Changes are applied as they come, a chunk's worth per transaction.
    pub async fn follow(&self, stop: &mut watch::Receiver<bool>) -> Result<Pulled, SyncError> {
        let cursor = self.store.cursor()?;
        let mut events = match self.hub.events(cursor.as_ref()).await {
            Ok(events) => events,
            Err(error) => return Err(self.failed(error)),
        };
        self.inner().tracker.stream(true);
        self.contact(Contact::Answered);
        self.publish();

        let mut parser = SseParser::default();
        let mut pulled = Pulled::default();
        let outcome = loop {
            let chunk = tokio::select! {
                chunk = events.next_chunk() => chunk,
                _ = stop.wait_for(|stop| *stop) => break Ok(pulled),
            };
            let chunk = match chunk {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break Ok(pulled),
                Err(error) => break Err(self.failed(error)),
            };

            let mut changes = Vec::new();
            for event in parser.push(&chunk) {
                if event.event == "typing" {
                    // A signal the desk cannot read is not worth ending the stream for.
                    if let Ok(typing) = serde_json::from_str::<Typing>(&event.data) {
                        let _ = self.typing.send(typing);
                    }
                    continue;
                }
                if event.event != "change" {
                    continue;
                }
                let change: Change = serde_json::from_str(&event.data)
                    .map_err(|error| SyncError::BadEvent(error.to_string()))?;
                changes.push(change);
            }
            let Some(last) = changes.last() else {
                continue;
            };
            let cursor = last.cursor().clone();
            pulled.pages += 1;
            pulled.changes += changes.len() as u64;
            let store = Arc::clone(&self.store);
            match blocking(move || store.apply_page(&changes, &cursor)).await {
                Ok(_) => self.publish(),
                Err(error) => break Err(error),
            }
        };
        self.inner().tracker.stream(false);
        self.publish();
        outcome
    }

    /// Sends the rows that are ready now, at most `push_parallel` at once and never two of
    /// one record, and records each answer. Rows that fail go back with a back-off.
    pub async fn push(&self) -> Result<Pushed, SyncError> {
        let mut pushed = Pushed::default();
        if self.inner().needs_sign_in {
            return Ok(pushed);
        }

        let ready = self
            .store
            .ready(self.clock.now_ms(), self.config.push_parallel.max(1))?;
        let mut sending = JoinSet::new();
        for operation in ready {
            let hub = self.hub.clone();
            sending.spawn(async move {
                let answer = hub
                    .write(&WriteRequest {
                        method: operation.method.as_str(),
                        path: &operation.path,
                        body: &operation.body,
                        idempotency_key: &operation.op_id,
                        if_match: operation.if_match,
                    })
                    .await;
                (operation, answer)
            });
        }

        let mut first_error = None;
        while let Some(joined) = sending.join_next().await {
            let (operation, answer) = joined.map_err(|error| SyncError::Task(error.to_string()))?;
            pushed.sent += 1;
            match self.settle(&operation, answer) {
                Ok(true) => pushed.settled += 1,
                Ok(false) => pushed.retrying += 1,
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        self.publish();
        match first_error {
            Some(error) => Err(error),
            None => Ok(pushed),
        }
    }

    /// Records what the hub made of one attempt; `Ok(true)` when the row finished.
    fn settle(
        &self,
        operation: &Operation,
        answer: Result<switchboard_client::WriteAnswer, ClientError>,
    ) -> Result<bool, SyncError> {
        let verdict = match answer {
            Ok(answer) => {
                let contact = if answer.status == 429 || answer.status >= 500 {
                    Contact::Strained
                } else {
                    Contact::Answered
                };
                self.contact(contact);
                judge(&answer, operation.record_kind)
            }
            Err(error) => {
                self.contact(Contact::Unreachable);
                self.inner().last_error = Some(error.to_string());
                Verdict::Retry {
                    wait: Wait::Backoff,
                    error: error.to_string(),
                }
            }
        };

        match verdict {
            Verdict::Settle(outcome) => {
                let state = match &outcome {
                    Outcome::Accepted { .. } => "accepted",
                    Outcome::Conflict { .. } => "conflict",
                    Outcome::Parked { .. } => "parked",
                    Outcome::Retry { .. } => "retry",
                };
                tracing::debug!(op_id = %operation.op_id, record = %operation.record_id, state, "write settled");
                self.store.finish(&operation.op_id, outcome)?;
                Ok(true)
            }
            Verdict::Retry { wait, error } => {
                let wait = match wait {
                    Wait::Told(told) => told.min(self.config.backoff.cap),
                    Wait::Backoff => self
                        .config
                        .backoff
                        .delay(operation.attempts, &mut *self.rng()),
                };
                let not_before =
                    self.clock.now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                tracing::debug!(op_id = %operation.op_id, attempts = operation.attempts + 1, wait_ms = wait.as_millis() as u64, "write will be retried");
                self.store
                    .finish(&operation.op_id, Outcome::Retry { not_before, error })?;
                Ok(false)
            }
            Verdict::SignIn { message } => {
                tracing::warn!(op_id = %operation.op_id, "the hub refused the token; writes wait for a new login");
                let mut inner = self.inner();
                inner.needs_sign_in = true;
                inner.last_error = Some(message);
                Ok(false)
            }
        }
    }

    /// Pulls and pushes until `stop` turns true: the desktop's loop.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let puller = {
            let engine = Arc::clone(&self);
            let stop = stop.clone();
            tokio::spawn(async move { engine.pull_loop(stop).await })
        };
        self.push_loop(stop).await;
        let _ = puller.await;
    }

    async fn pull_loop(&self, mut stop: watch::Receiver<bool>) {
        let mut failures = 0u32;
        while !*stop.borrow() {
            // Catch up by paging (from zero on first start), then follow the live stream;
            // when the stream cannot be had, the next round polls the feed instead.
            let round = Instant::now();
            let outcome = match self.pull().await {
                Ok(_) => self.follow(&mut stop).await.map(drop),
                Err(error) => Err(error),
            };
            let wait = match outcome {
                // A stream that the hub (or a proxy) ends at once would otherwise have the
                // desk asking again in a tight loop.
                Ok(()) => {
                    failures = 0;
                    Duration::from_secs(1).saturating_sub(round.elapsed())
                }
                Err(SyncError::SignIn) => self.config.poll_every,
                Err(error) => {
                    tracing::debug!(%error, failures, "pull failed; polling after a pause");
                    failures = failures.saturating_add(1);
                    let backoff = self.config.backoff.delay(failures, &mut *self.rng());
                    backoff.min(self.config.poll_every)
                }
            };
            if wait > Duration::ZERO {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|stop| *stop) => {}
                }
            }
        }
    }

    async fn push_loop(&self, mut stop: watch::Receiver<bool>) {
        self.publish();
        while !*stop.borrow() {
            let outcome = self.push().await;
            if let Err(error) = &outcome {
                tracing::warn!(%error, "push round failed");
            }
            if matches!(outcome, Ok(pushed) if pushed.sent > 0) {
                continue;
            }

            // Nothing to send now: sleep until the next back-off ends, a new row arrives,
            // or a while passes (to refresh the outbox's age for the window). Rows held for
            // a login, or a cache that failed, wait for a wake-up or the while, since their
            // back-off may long have passed.
            let now = self.clock.now_ms();
            let idle = Duration::from_secs(30);
            let wait = if self.inner().needs_sign_in {
                idle
            } else if outcome.is_err() {
                Duration::from_secs(1)
            } else {
                let due = self.store.next_due().ok().flatten().unwrap_or(i64::MAX);
                Duration::from_millis(u64::try_from(due.saturating_sub(now)).unwrap_or(0)).min(idle)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
        }
    }

    /// Notes a failure talking to the hub and turns it into the step's error.
    fn failed(&self, error: ClientError) -> SyncError {
        if error.is_unauthenticated() {
            let mut inner = self.inner();
            inner.needs_sign_in = true;
            inner.last_error = Some(error.to_string());
            drop(inner);
            self.publish();
            return SyncError::SignIn;
        }
        let contact = if error.is_unreachable() {
            Contact::Unreachable
        } else {
            Contact::Strained
        };
        self.contact(contact);
        self.inner().last_error = Some(error.to_string());
        self.publish();
        SyncError::Hub(error)
    }

    fn contact(&self, contact: Contact) {
        let mut inner = self.inner();
        inner.tracker.record(contact);
        if contact == Contact::Answered {
            inner.last_error = None;
        }
    }

    /// Sends the status to the window when it changed.
    fn publish(&self) {
        let outbox = match self.store.outbox() {
            Ok(outbox) => outbox,
            Err(error) => {
                tracing::warn!(%error, "outbox summary unreadable");
                return;
            }
        };
        let cursor = match self.store.cursor() {
            Ok(cursor) => cursor.map(|cursor| cursor.0),
            Err(error) => {
                tracing::warn!(%error, "cache cursor unreadable");
                return;
            }
        };
        let inner = self.inner();
        let status = SyncStatus {
            connectivity: inner.tracker.state(),
            outbox,
            cursor,
            progress: inner.progress.clone(),
            needs_sign_in: inner.needs_sign_in,
            last_error: inner.last_error.clone(),
        };
        drop(inner);
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn rng(&self) -> MutexGuard<'_, StdRng> {
        self.rng.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
