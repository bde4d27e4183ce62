//! One agent's session with the hub: the client, the connectivity it observes, and the status
//! the window is told about whenever it changes.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use switchboard_client::{ClientError, HubClient};
use switchboard_model::{
    AgentId, Customer, CustomerId, CustomerSummary, DemoLogin, HealthStatus, Record, Role, Typing,
};
use switchboard_store::{Action, Actor, CustomerFile};
use tokio::sync::{broadcast, watch};

use crate::cache::{DeskCache, SyncView};
use crate::connectivity::{ConnectivityTracker, Outcome};
use crate::{Connectivity, EngineError, Settings, SettingsSource};

/// The most customers the list shows at once; the search narrows it.
pub const CUSTOMER_LIST_LIMIT: u32 = 200;

/// Typing signals a slow window may fall behind by before it skips some.
const TYPING_BUFFER: usize = 64;

/// What the window shows about the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HubStatus {
    pub connectivity: Connectivity,
    pub hub_url: String,
    pub hub_url_source: SettingsSource,
    /// Why the hub is not online, in words an agent can act on; absent when online.
    pub detail: Option<String>,
    /// Whether the hub runs in demo mode, as it last said.
    pub demo: bool,
    /// The hub's version, as it last said.
    pub hub_version: Option<String>,
    /// The demo login a demo hub offers, so that a demo needs no set-up.
    pub demo_login: Option<DemoLogin>,
    /// Who is signed in; absent until a login succeeds and after the session ends.
    pub agent: Option<SignedInAgent>,
}

/// The agent the desktop acts for, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SignedInAgent {
    pub id: AgentId,
    pub display_name: String,
    pub login: String,
    pub role: Role,
    pub tenant_name: String,
}

/// The engine of one desktop session. Share it behind an `Arc`.
#[derive(Debug)]
pub struct Engine {
    client: HubClient,
    settings: Settings,
    tracker: Mutex<ConnectivityTracker>,
    status: watch::Sender<HubStatus>,
    /// The signed-in agent's cache and its sync; none while signed out.
    cache: Mutex<Option<Arc<DeskCache>>>,
    /// What the window shows of the cache; none while signed out or without a cache.
    sync: watch::Sender<Option<SyncView>>,
    /// The agent's chats as last shown, and the ones that ended since and wait for a wrap-up.
    pub(crate) chats: Mutex<crate::work::ChatMemory>,
    /// Customers typing in the agent's chats, heard through whichever cache is open.
    typing: broadcast::Sender<Typing>,
}

impl Engine {
    /// An engine for the hub named in `settings`. It does not contact the hub until asked.
    pub fn new(settings: Settings) -> Result<Engine, EngineError> {
        let client = HubClient::new(&settings.hub_url, settings.request_timeout)?;
        let status = HubStatus {
            connectivity: Connectivity::Connecting,
            hub_url: settings.hub_url.clone(),
            hub_url_source: settings.hub_url_source,
            detail: None,
            demo: false,
            hub_version: None,
            demo_login: None,
            agent: None,
        };
        Ok(Engine {
            client,
            settings,
            tracker: Mutex::new(ConnectivityTracker::default()),
            status: watch::channel(status).0,
            cache: Mutex::new(None),
            sync: watch::channel(None).0,
            chats: Mutex::new(crate::work::ChatMemory::default()),
            typing: broadcast::channel(TYPING_BUFFER).0,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The hub status now.
    pub fn status(&self) -> HubStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change from now on.
    pub fn subscribe(&self) -> watch::Receiver<HubStatus> {
        self.status.subscribe()
    }

    /// Probes the hub's health once and records what it found.
    pub async fn probe(&self) {
        match self.client.health().await {
            Ok(health) => {
                let outcome = match health.status {
                    HealthStatus::Ok => Outcome::Healthy,
                    HealthStatus::Degraded => Outcome::Unhealthy,
                };
                let detail = (outcome == Outcome::Unhealthy)
                    .then(|| "the hub answers but reports a problem with its database".to_owned());
                self.record(outcome, detail, Some((health.demo, health.version)));
                self.status.send_if_modified(|status| {
                    let changed = status.demo_login != health.demo_login;
                    status.demo_login = health.demo_login;
                    changed
                });
            }
            Err(error) => self.record_failure(&error),
        }
    }

    /// Probes the hub every health interval until the returned future is dropped.
    pub async fn watch_connectivity(&self) {
        let mut ticks = tokio::time::interval(self.settings.health_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.probe().await;
        }
    }

    /// Signs the agent in; from then on every request acts for them.
    //
    // FIXME(desktop-auth): the token lives only in memory, so each start asks for a login;
    // keeping it in the OS keyring belongs with the managed-install work.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<HubStatus, EngineError> {
        let answer = match self.client.sign_in(login.trim(), password).await {
            Ok(answer) => answer,
            Err(error) if error.is_unauthenticated() => {
                return Err(EngineError::InvalidCredentials);
            }
            Err(error) => {
                if error.is_unreachable() {
                    self.record_failure(&error);
                }
                return Err(error.into());
            }
        };
        self.record(Outcome::Healthy, None, None);
        tracing::info!(agent = %answer.agent.id, tenant = %answer.tenant.id, "signed in");
        self.open_cache(answer.tenant.id.to_string()).await;
        self.status.send_modify(|status| {
            status.agent = Some(SignedInAgent {
                id: answer.agent.id,
                display_name: answer.agent.display_name,
                login: answer.agent.login,
                role: answer.agent.role,
                tenant_name: answer.tenant.name,
            });
        });
        Ok(self.status())
    }

    /// Signs the agent out: the hub revokes the token, and the desktop forgets it either way.
    pub async fn sign_out(&self) -> Result<HubStatus, EngineError> {
        let revoked = self.client.sign_out().await;
        self.status.send_modify(|status| status.agent = None);
        self.close_cache();
        if let Ok(mut chats) = self.chats.lock() {
            chats.clear();
        }
        if let Err(error) = &revoked {
            // The token is gone from this desk; a hub that did not hear of it lets it expire.
            tracing::warn!(%error, "sign-out did not reach the hub");
        }
        tracing::info!("signed out");
        Ok(self.status())
    }

    /// What the window shows of the cache, now and at every change.
    pub fn sync_view(&self) -> watch::Receiver<Option<SyncView>> {
        self.sync.subscribe()
    }

    /// The customers a caller's number points at, read from the cache alone (none while
    /// signed out): the screen pop of a ringing call.
    pub fn screen_pop(&self, number: &str) -> Vec<CustomerSummary> {
        self.desk_cache()
            .map(|cache| cache.screen_pop(number))
            .unwrap_or_default()
    }

    /// Opens the agent's cache and starts its sync; a desk whose cache cannot open still
    /// works online, and says why in the log.
    async fn open_cache(&self, tenant: String) {
        let Some(path) = self.settings.cache_path.clone() else {
            return;
        };
        let opened = DeskCache::start(
            path,
            self.settings.hub_url.clone(),
            tenant,
            self.client.clone(),
        )
        .await;
        let cache = match opened {
            Ok(cache) => Arc::new(cache),
            Err(error) => {
                tracing::warn!(%error, "the desk's cache did not open; working online only");
                return;
            }
        };

        // The window's view follows the sync engine's status until this cache is replaced.
        let mut status = cache.status();
        let sync = self.sync.clone();
        let following = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                let view = SyncView::of(&status.borrow_and_update());
                sync.send_replace(Some(view));
                if status.changed().await.is_err() || following.strong_count() == 0 {
                    return;
                }
            }
        });
        // Typing heard through this cache's stream reaches whoever listens to the engine,
        // until the cache closes (its sync engine, and with it the signals, end then).
        let mut heard = cache.typing();
        let typing = self.typing.clone();
        tokio::spawn(async move {
            loop {
                match heard.recv().await {
                    Ok(signal) => {
                        let _ = typing.send(signal);
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });

        if let Ok(mut current) = self.cache.lock() {
            *current = Some(cache);
        }
    }

    /// Customers typing in the agent's chats from now on, across sign-ins.
    pub fn typing_heard(&self) -> broadcast::Receiver<Typing> {
        self.typing.subscribe()
    }

    fn close_cache(&self) {
        if let Ok(mut current) = self.cache.lock() {
            current.take();
        }
        self.sync.send_replace(None);
    }

    /// The customers `query` finds: from the cache when it is filled (by name, company, phone,
    /// e-mail, or an order number, ticket subject or tracking number of theirs, with the hub
    /// away too), else from the hub (by name, company or identity). Without a query, the first
    /// customers in name order, from the hub.
    pub async fn customers(
        &self,
        query: Option<&str>,
    ) -> Result<Vec<CustomerSummary>, EngineError> {
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if let (Some(query), Some(cache)) = (query, self.desk_cache())
            && let Some(found) = cache
                .search_customers(query, CUSTOMER_LIST_LIMIT as usize)
                .await
        {
            return Ok(found);
        }
        let page = self
            .client
            .customers(query, CUSTOMER_LIST_LIMIT, None)
            .await;
        Ok(self.observe_request(page)?.items)
    }

    /// The signed-in agent's cache, if one is open.
    pub(crate) fn desk_cache(&self) -> Option<Arc<DeskCache>> {
        self.cache.lock().ok().and_then(|cache| cache.clone())
    }

    /// Who acts now: the signed-in agent, stamped with the time.
    pub(crate) fn actor(&self) -> Result<Actor, EngineError> {
        let agent = self
            .status
            .borrow()
            .agent
            .as_ref()
            .map(|agent| agent.id.clone())
            .ok_or(EngineError::NotSignedIn)?;
        Ok(Actor {
            agent,
            now: now_rfc3339(),
        })
    }

    /// The hub client, signed in as the agent.
    pub(crate) fn client(&self) -> &HubClient {
        &self.client
    }

    /// Lets a request's outcome inform connectivity and the session (see `observe_request`).
    pub(crate) fn observed<T>(&self, result: Result<T, ClientError>) -> Result<T, EngineError> {
        Ok(self.observe_request(result)?)
    }

    /// Takes one of the agent's actions through the cache's outbox: shown at once, sent to
    /// the hub when it can be, never lost. Returns the record as the window now shows it.
    pub async fn act(&self, action: Action) -> Result<Record, EngineError> {
        let actor = self.actor()?;
        let cache = self.desk_cache().ok_or_else(|| {
            EngineError::Cache(
                "the desk's cache is not open, so the write cannot be kept; see the log".to_owned(),
            )
        })?;
        cache.act(action, actor).await
    }

    /// Everything about one customer for the pane: from the cache when it has them (with the
    /// writes still on their way marked), else from the hub.
    pub async fn customer_file(&self, id: &CustomerId) -> Result<CustomerFile, EngineError> {
        if let Some(cache) = self.desk_cache()
            && let Some(file) = cache.customer_file(id).await
        {
            return Ok(file);
        }
        let customer = self.client.customer(id).await;
        let customer = self.observe_request(customer)?;
        let records = self.client.customer_records(id).await;
        let records = self.observe_request(records)?;
        Ok(CustomerFile::assemble(customer, records, Vec::new()))
    }

    /// One customer's whole profile: from the cache when it has them (at once, and with the
    /// hub away too), else from the hub.
    pub async fn customer(&self, id: &CustomerId) -> Result<Customer, EngineError> {
        if let Some(cache) = self.desk_cache()
            && let Some(customer) = cache.customer(id).await
        {
            return Ok(customer);
        }
        let customer = self.client.customer(id).await;
        Ok(self.observe_request(customer)?)
    }

    /// Lets ordinary requests inform connectivity too, so that a dead link shows as soon as the
    /// agent's own click fails instead of at the next probe.
    ///
    /// A 401 means the hub ended the session (expired, revoked): the window is told nobody is
    /// signed in, so that it shows the sign-in form instead of failing request after request.
    fn observe_request<T>(&self, result: Result<T, ClientError>) -> Result<T, ClientError> {
        match &result {
            Ok(_) => self.record(Outcome::Healthy, None, None),
            Err(error) if error.is_unreachable() => self.record_failure(error),
            Err(error) if error.is_unauthenticated() => {
                self.record(Outcome::Healthy, None, None);
                self.client.set_token(None);
                self.status
                    .send_if_modified(|status| status.agent.take().is_some());
            }
            Err(_) => {}
        }
        result
    }

    fn record_failure(&self, error: &ClientError) {
        let outcome = if error.is_unreachable() {
            Outcome::NoAnswer
        } else {
            Outcome::Unhealthy
        };
        self.record(outcome, Some(error.to_string()), None);
    }

    fn record(&self, outcome: Outcome, detail: Option<String>, hub: Option<(bool, String)>) {
        let connectivity = {
            let mut tracker = self
                .tracker
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if let Some(changed) = tracker.observe(outcome) {
                tracing::info!(connectivity = ?changed, hub = %self.settings.hub_url, "hub connectivity changed");
            }
            tracker.state()
        };

        self.status.send_if_modified(|status| {
            let before = status.clone();
            status.connectivity = connectivity;
            status.detail = if connectivity == Connectivity::Online {
                None
            } else {
                detail
            };
            if let Some((demo, version)) = hub {
                status.demo = demo;
                status.hub_version = Some(version);
            }
            *status != before
        });
    }
}

/// Now as RFC 3339 in UTC, to the second, as the hub writes times.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|now| {
            now.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
