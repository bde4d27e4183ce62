//! The live side of the change feed: one reader per tenant per hub instance follows the
//! database and fans each change out to every stream of that tenant.
//!
//! The database stays the only truth. A stream first reads what it missed from the database,
//! then takes changes from the fan-out; when it falls behind the fan-out it reads from the
//! database again. So a stream that resumes from a cursor sees every later change exactly once,
//! whichever instance made it: on PostgreSQL, instances learn of each other's commits through
//! LISTEN/NOTIFY, and a sweep every second covers notifications lost while the listening
//! connection was down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use switchboard_model::{AgentId, Change, TenantId, Typing};
use tokio::sync::{broadcast, mpsc};

use crate::db::records::Bell;
use crate::db::{Backend, Database, DbError};

/// The PostgreSQL notification channel commits announce themselves on.
pub const CHANNEL: &str = "switchboard_changes";

/// How many changes a slow stream may fall behind the fan-out before it must read from the
/// database instead.
const FAN_OUT_DEPTH: usize = 4096;

/// How many changes one database read takes.
const PAGE: usize = 500;

/// How many streams may read what they missed from the database at once. Thousands of
/// streams catching up together would hold every connection and starve the writes that
/// agents wait on; in line, each still catches up, a little later.
const CATCHING_UP: usize = 2;

/// How long a stream waits after a change for others to join it in one write.
const COALESCE: Duration = Duration::from_millis(20);

/// The most changes one write to a stream carries.
const BATCH: usize = 256;

/// Typing signals waiting for slow streams; a stream that falls further behind skips some,
/// which costs nothing, since a later signal says the same.
const TYPING_BUFFER: usize = 256;

/// One change on its way to live streams, with its server-sent-event frame encoded once for
/// every agent stream that carries it: with thousands of streams, encoding per stream would
/// cost more than everything else the hub does.
#[derive(Debug)]
pub struct LiveChange {
    pub seq: i64,
    pub change: Change,
    /// `id: SEQ`, `event: change`, `data: JSON`, as one SSE frame.
    pub frame: Bytes,
}

impl LiveChange {
    fn new(seq: i64, change: Change) -> LiveChange {
        let json = serde_json::to_string(&change).unwrap_or_default();
        let frame = Bytes::from(format!("id: {seq}\nevent: change\ndata: {json}\n\n"));
        LiveChange { seq, change, frame }
    }
}

/// Every tenant's fan-out on this instance.
#[derive(Debug)]
pub struct Live {
    db: Database,
    tenants: Mutex<HashMap<TenantId, TenantFanOut>>,
    catching_up: tokio::sync::Semaphore,
    /// Typing signals of every tenant; each stream keeps those meant for it.
    typing: broadcast::Sender<Arc<TypingSignal>>,
}

/// Someone typing, with whom it is for.
#[derive(Debug)]
pub struct TypingSignal {
    pub tenant: TenantId,
    /// The agent who holds the chat, whose desk shows the customer typing; none while the
    /// chat waits for one.
    pub holder: Option<AgentId>,
    pub typing: Typing,
}

#[derive(Debug)]
struct TenantFanOut {
    sender: broadcast::Sender<Arc<LiveChange>>,
    /// Every change up to here has been sent.
    sent: i64,
}

impl Live {
    /// Starts following `db`; the tasks end when the runtime does.
    pub fn start(db: Database) -> Arc<Live> {
        let live = Arc::new(Live {
            db: db.clone(),
            tenants: Mutex::new(HashMap::new()),
            catching_up: tokio::sync::Semaphore::new(CATCHING_UP),
            typing: broadcast::channel(TYPING_BUFFER).0,
        });
        if db.backend() == Backend::Postgres {
            tokio::spawn(listen(db.clone()));
        }
        tokio::spawn(Arc::clone(&live).pump(db.bell().subscribe()));
        live
    }

    /// Tells the streams open on this hub that someone in `tenant` types. A signal that finds
    /// no stream is dropped: typing is worth showing only while it happens.
    // FIXME(typing-fanout): signals stay in this process, so with several hubs behind a load
    // balancer a desk hears only the chats whose page talks to its own hub; PostgreSQL's
    // NOTIFY, which already carries the feed's bell, could carry them across.
    pub fn typing(&self, signal: TypingSignal) {
        let _ = self.typing.send(Arc::new(signal));
    }

    /// Passes the typing signals from now on that `pick` makes something of to `out`, until
    /// `out` closes. A stream too slow to take one skips it: the next says the same.
    pub fn forward_typing<T: Send + 'static>(
        &self,
        out: mpsc::Sender<T>,
        pick: impl Fn(&TypingSignal) -> Option<T> + Send + 'static,
    ) {
        let mut signals = self.typing.subscribe();
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    signal = signals.recv() => signal,
                    () = out.closed() => return,
                };
                match signal {
                    Ok(signal) => {
                        if let Some(item) = pick(&signal) {
                            let _ = out.try_send(item);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// A receiver of `tenant`'s changes from now on, each with its sequence number.
    async fn subscribe(
        &self,
        tenant: &TenantId,
    ) -> Result<broadcast::Receiver<Arc<LiveChange>>, DbError> {
        if let Some(fan_out) = self.fan_outs().get(tenant) {
            return Ok(fan_out.sender.subscribe());
        }

        // Everything up to the tenant's current number is committed; a new fan-out starts
        // there, and a stream reads anything older from the database.
        let last = self.db.last_seq(tenant).await?;
        let mut tenants = self.fan_outs();
        let fan_out = tenants
            .entry(tenant.clone())
            .or_insert_with(|| TenantFanOut {
                sender: broadcast::channel(FAN_OUT_DEPTH).0,
                sent: last,
            });
        Ok(fan_out.sender.subscribe())
    }

    fn fan_outs(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, TenantFanOut>> {
        // The map holds no invariant a panic could break halfway.
        self.tenants
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    async fn pump(self: Arc<Self>, mut bells: broadcast::Receiver<Bell>) {
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut due: Vec<TenantId> = tokio::select! {
                bell = bells.recv() => match bell {
                    Ok(bell) => vec![bell.tenant],
                    Err(broadcast::error::RecvError::Lagged(_)) => self.followed(),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = sweep.tick() => {
                    if self.db.pool().is_closed() {
                        return;
                    }
                    self.followed()
                }
            };

            // Bells come one per commit; take all that are waiting so that a burst of writes
            // costs one read per tenant.
            while let Ok(bell) = bells.try_recv() {
                due.push(bell.tenant);
            }
            due.sort();
            due.dedup();
            for tenant in due {
                if let Err(error) = self.send_new(&tenant).await {
                    tracing::warn!(%error, %tenant, "cannot read new changes for live streams");
                }
            }
        }
    }

    /// The tenants some stream on this instance follows; forgets those nobody follows.
    fn followed(&self) -> Vec<TenantId> {
        let mut tenants = self.fan_outs();
        tenants.retain(|_, fan_out| fan_out.sender.receiver_count() > 0);
        tenants.keys().cloned().collect()
    }

    async fn send_new(&self, tenant: &TenantId) -> Result<(), DbError> {
        loop {
            let Some(sent) = self.fan_outs().get(tenant).map(|fan_out| fan_out.sent) else {
                return Ok(());
            };
            let page = self.db.changes(tenant, sent, PAGE).await?;

            let mut tenants = self.fan_outs();
            let Some(fan_out) = tenants.get_mut(tenant) else {
                return Ok(());
            };
            for change in page.changes {
                let seq = seq_of(&change);
                // A stream that went away is no reason to stop the others.
                let _ = fan_out.sender.send(Arc::new(LiveChange::new(seq, change)));
                fan_out.sent = seq;
            }
            if !page.has_more {
                return Ok(());
            }
        }
    }

    /// Sends `tenant`'s changes after `after` to `events`, first from the database and then
    /// live, until `events` is closed. Only changes `keep` accepts are sent.
    ///
    /// Changes go out in batches: after the first of a burst, the stream waits
    /// [`COALESCE`] for more before it sends. With thousands of streams, one socket write per
    /// change per stream would cost more than everything else the hub does; a few
    /// milliseconds of delay costs a desk nothing.
    pub async fn follow(
        self: Arc<Self>,
        tenant: TenantId,
        mut after: i64,
        events: mpsc::Sender<Vec<Arc<LiveChange>>>,
        keep: impl Fn(&Change) -> bool + Send,
    ) -> Result<(), DbError> {
        let mut live = self.subscribe(&tenant).await?;
        loop {
            loop {
                let page = {
                    let _turn = self.catching_up.acquire().await;
                    self.db.changes(&tenant, after, PAGE).await?
                };
                let has_more = page.has_more;
                let mut batch = Vec::with_capacity(page.changes.len());
                for change in page.changes {
                    let seq = seq_of(&change);
                    if keep(&change) {
                        batch.push(Arc::new(LiveChange::new(seq, change)));
                    }
                    after = seq;
                }
                if !batch.is_empty() && events.send(batch).await.is_err() {
                    return Ok(());
                }
                if !has_more {
                    break;
                }
            }

            'live: loop {
                let first = tokio::select! {
                    first = live.recv() => first,
                    () = events.closed() => return Ok(()),
                };

                // Let the rest of a burst arrive, then take it all in one batch.
                let mut received = vec![first];
                tokio::time::sleep(COALESCE).await;
                while received.len() < BATCH {
                    match live.try_recv() {
                        Ok(change) => received.push(Ok(change)),
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                            received.push(Err(broadcast::error::RecvError::Lagged(missed)));
                            break;
                        }
                        Err(broadcast::error::TryRecvError::Closed) => {
                            received.push(Err(broadcast::error::RecvError::Closed));
                            break;
                        }
                    }
                }

                let mut batch = Vec::with_capacity(received.len());
                let mut lagged = false;
                for next in received {
                    match next {
                        Ok(change) if change.seq > after => {
                            after = change.seq;
                            if keep(&change.change) {
                                batch.push(change);
                            }
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(%tenant, missed, "live stream fell behind; reading from the database");
                            lagged = true;
                        }
                        Err(broadcast::error::RecvError::Closed) => return Ok(()),
                    }
                }
                if !batch.is_empty() && events.send(batch).await.is_err() {
                    return Ok(());
                }
                // Too slow for the fan-out: catch up from the database, then rejoin.
                if lagged {
                    break 'live;
                }
            }
        }
    }
}

/// The sequence number a change's cursor holds.
fn seq_of(change: &Change) -> i64 {
    change.cursor().0.parse().unwrap_or(0)
}

/// Turns PostgreSQL notifications from every instance into bells on this one, reconnecting
/// when the connection drops.
async fn listen(db: Database) {
    while !db.pool().is_closed() {
        match sqlx::postgres::PgListener::connect(db.url()).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(CHANNEL).await {
                    tracing::warn!(%error, "cannot LISTEN for changes; retrying");
                } else {
                    loop {
                        match listener.recv().await {
                            Ok(notification) => {
                                if let Some(bell) = parse_bell(notification.payload()) {
                                    let _ = db.bell().send(bell);
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "lost the LISTEN connection; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot connect to LISTEN for changes; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Reads a notification's `"<tenant> <seq>"` payload.
fn parse_bell(payload: &str) -> Option<Bell> {
    let (tenant, seq) = payload.split_once(' ')?;
    Some(Bell {
        tenant: TenantId(tenant.to_owned()),
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bells_parse_from_their_payload_and_nothing_else() {
        assert_eq!(
            parse_bell("ten_0000000000000001 42"),
            Some(Bell {
                tenant: TenantId::from_number(1),
                seq: 42
            }),
            "the payload names the tenant and the number"
        );
        assert_eq!(parse_bell("ten_1"), None, "a number is required");
        assert_eq!(parse_bell("ten_1 x"), None, "and must be a number");
    }
}
