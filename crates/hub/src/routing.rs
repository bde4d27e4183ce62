//! Routing: chats and calls wait in a queue and are offered to an available agent with room on
//! that channel, longest idle first; an offer not accepted in time passes to the next agent.
//!
//! The choice itself ([`choose`]) and the queue picture ([`queue_stats`]) are pure. The
//! [`Router`] task applies them to the database a few times a second. On PostgreSQL only the
//! instance holding an advisory lock routes, so that two hubs never offer one chat twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use switchboard_model::{
    Agent, AgentId, AgentState, Channel, Interaction, InteractionState, Offer, OfferId, OfferState,
    Queue, QueueId, QueueStats, Record, RecordKind, TenantId, WaitingInteraction,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db::records::{Expect, Stored, WriteError};
use crate::db::{Backend, Database, DbError};

/// How often the router looks for work to offer and offers to expire.
const TICK: Duration = Duration::from_millis(250);

/// How many chats and calls an agent holds now, per channel (offered ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub calls: u8,
    pub chats: u8,
}

impl Load {
    fn of(self, channel: Channel) -> u8 {
        match channel {
            Channel::Call => self.calls,
            Channel::Chat => self.chats,
        }
    }

    fn add(&mut self, channel: Channel) {
        match channel {
            Channel::Call => self.calls = self.calls.saturating_add(1),
            Channel::Chat => self.chats = self.chats.saturating_add(1),
        }
    }

    fn total(self) -> u16 {
        u16::from(self.calls) + u16::from(self.chats)
    }
}

/// Whether `agent` may be offered work of `channel` from `queue` now.
fn can_take(agent: &Agent, queue: &QueueId, channel: Channel, load: Load) -> bool {
    agent.state == AgentState::Available
        && agent.queues.contains(queue)
        && load.of(channel) < agent.capacity.of(channel)
}

/// The agent to offer `interaction` to: among those who can take it, the ones it has not been
/// offered to yet come first; then the least loaded; then whoever has been idle longest.
/// `idle_since` holds when each agent last had nothing to do.
pub fn choose<'a>(
    interaction: &Interaction,
    queue: &QueueId,
    agents: &'a [Agent],
    loads: &HashMap<AgentId, Load>,
    idle_since: &HashMap<AgentId, OffsetDateTime>,
) -> Option<&'a Agent> {
    agents
        .iter()
        .filter(|agent| {
            let load = loads.get(&agent.id).copied().unwrap_or_default();
            can_take(agent, queue, interaction.channel, load)
        })
        .min_by_key(|agent| {
            let tried = interaction.offered_to.contains(&agent.id);
            let load = loads.get(&agent.id).copied().unwrap_or_default().total();
            let idle = idle_since
                .get(&agent.id)
                .copied()
                .or_else(|| parse_time(&agent.state_since))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            (tried, load, idle, agent.id.clone())
        })
}

/// What each queue looks like now, from the open interactions and the agents.
pub fn queue_stats(
    queues: &[Queue],
    open: &[Interaction],
    agents: &[Agent],
    now: OffsetDateTime,
) -> Vec<QueueStats> {
    let loads = loads_of(open);
    queues
        .iter()
        .map(|queue| {
            let mut waiting: Vec<&Interaction> = open
                .iter()
                .filter(|interaction| interaction.queue_id.as_ref() == Some(&queue.id))
                .filter(|interaction| {
                    matches!(
                        interaction.state,
                        InteractionState::Queued | InteractionState::Offered
                    )
                })
                .collect();
            waiting.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
            let line: Vec<WaitingInteraction> = waiting
                .iter()
                .enumerate()
                .map(|(index, interaction)| WaitingInteraction {
                    interaction_id: interaction.id.clone(),
                    customer_id: interaction.customer_id.clone(),
                    channel: interaction.channel,
                    position: index as u32 + 1,
                    waited_seconds: waited(interaction, now),
                    offered: interaction.state == InteractionState::Offered,
                })
                .collect();
            let available_agents = agents
                .iter()
                .filter(|agent| {
                    let load = loads.get(&agent.id).copied().unwrap_or_default();
                    queue
                        .channels
                        .iter()
                        .any(|channel| can_take(agent, &queue.id, *channel, load))
                })
                .count() as u32;
            QueueStats {
                queue_id: queue.id.clone(),
                name: queue.name.clone(),
                waiting: line.len() as u32,
                longest_wait_seconds: line.first().map_or(0, |first| first.waited_seconds),
                available_agents,
                line,
            }
        })
        .collect()
}

/// Each agent's load from the interactions offered to or held by them.
fn loads_of(open: &[Interaction]) -> HashMap<AgentId, Load> {
    let mut loads: HashMap<AgentId, Load> = HashMap::new();
    for interaction in open {
        if matches!(
            interaction.state,
            InteractionState::Offered | InteractionState::Active
        ) && let Some(agent) = &interaction.agent_id
        {
            loads
                .entry(agent.clone())
                .or_default()
                .add(interaction.channel);
        }
    }
    loads
}

fn waited(interaction: &Interaction, now: OffsetDateTime) -> u64 {
    parse_time(&interaction.started_at).map_or(0, |started| {
        (now - started).whole_seconds().max(0).unsigned_abs()
    })
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn format_time(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Why a routing action by an agent was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("offer {0} does not exist")]
    NoSuchOffer(String),
    #[error("interaction {0} does not exist")]
    NoSuchInteraction(String),
    #[error("this offer is for another agent")]
    NotYours,
    #[error("this offer is {0} and can no longer be answered")]
    Closed(&'static str),
    #[error("this interaction has already ended")]
    AlreadyEnded,
    #[error("someone else changed this at the same moment; try again")]
    Raced,
}

impl From<WriteError<()>> for RoutingError {
    fn from(error: WriteError<()>) -> Self {
        match error {
            WriteError::Db(error) => RoutingError::Db(error),
            _ => RoutingError::Raced,
        }
    }
}

/// The offer `id` and the interaction it offers, as stored.
async fn offer_and_interaction(
    db: &Database,
    tenant: &TenantId,
    id: &str,
) -> Result<(Offer, u64, Interaction, u64), RoutingError> {
    let Some(Stored {
        record: Record::Offer(offer),
        version: offer_version,
        ..
    }) = db.record(tenant, id).await?
    else {
        return Err(RoutingError::NoSuchOffer(id.to_owned()));
    };
    let Some(Stored {
        record: Record::Interaction(interaction),
        version: interaction_version,
        ..
    }) = db.record(tenant, offer.interaction_id.as_str()).await?
    else {
        return Err(RoutingError::NoSuchInteraction(
            offer.interaction_id.to_string(),
        ));
    };
    Ok((offer, offer_version, interaction, interaction_version))
}

/// `agent` takes the work offered: the offer is accepted, the interaction becomes the agent's,
/// and an agent who takes a call is busy. Returns the interaction as it now is.
pub async fn accept(
    db: &Database,
    tenant: &TenantId,
    offer_id: &str,
    agent: &AgentId,
) -> Result<Interaction, RoutingError> {
    let (mut offer, offer_version, mut interaction, interaction_version) =
        offer_and_interaction(db, tenant, offer_id).await?;
    if &offer.agent_id != agent {
        return Err(RoutingError::NotYours);
    }
    if offer.state != OfferState::Pending {
        return Err(RoutingError::Closed(offer.state.as_str()));
    }

    let now = format_time(OffsetDateTime::now_utc());
    offer.state = OfferState::Accepted;
    interaction.state = InteractionState::Active;
    interaction.agent_id = Some(agent.clone());
    interaction.answered_at = Some(now.clone());
    let mut changes = vec![
        (Record::Offer(offer), Expect::Version(offer_version)),
        (
            Record::Interaction(interaction.clone()),
            Expect::Version(interaction_version),
        ),
    ];
    if interaction.channel == Channel::Call
        && let Some(Stored {
            record: Record::Agent(mut person),
            version,
            ..
        }) = db.record(tenant, agent.as_str()).await?
    {
        person.state = AgentState::Busy;
        person.state_since = now;
        changes.push((Record::Agent(person), Expect::Version(version)));
    }
    db.write_together(tenant, changes).await?;
    tracing::info!(offer = offer_id, %agent, interaction = %interaction.id, "offer accepted");
    Ok(interaction)
}

/// `agent` passes on the work offered; it goes back to its queue for someone else.
pub async fn decline(
    db: &Database,
    tenant: &TenantId,
    offer_id: &str,
    agent: &AgentId,
) -> Result<(), RoutingError> {
    let (mut offer, offer_version, mut interaction, interaction_version) =
        offer_and_interaction(db, tenant, offer_id).await?;
    if &offer.agent_id != agent {
        return Err(RoutingError::NotYours);
    }
    if offer.state != OfferState::Pending {
        return Err(RoutingError::Closed(offer.state.as_str()));
    }
    offer.state = OfferState::Declined;
    requeue(&mut interaction, agent);
    db.write_together(
        tenant,
        vec![
            (Record::Offer(offer), Expect::Version(offer_version)),
            (
                Record::Interaction(interaction),
                Expect::Version(interaction_version),
            ),
        ],
    )
    .await?;
    tracing::info!(offer = offer_id, %agent, "offer declined");
    Ok(())
}

/// Ends an interaction: the agent's capacity is freed, a pending offer of it is withdrawn. One
/// that nobody answered ends as abandoned.
pub async fn end(
    db: &Database,
    tenant: &TenantId,
    interaction_id: &str,
) -> Result<Interaction, RoutingError> {
    let Some(Stored {
        record: Record::Interaction(mut interaction),
        version,
        ..
    }) = db.record(tenant, interaction_id).await?
    else {
        return Err(RoutingError::NoSuchInteraction(interaction_id.to_owned()));
    };
    if !interaction.state.is_open() {
        return Err(RoutingError::AlreadyEnded);
    }

    let mut changes = Vec::new();
    if interaction.state == InteractionState::Offered {
        for stored in db
            .records_in_state(tenant, RecordKind::Offer, &[OfferState::Pending.as_str()])
            .await?
        {
            if let Record::Offer(mut offer) = stored.record
                && offer.interaction_id == interaction.id
            {
                offer.state = OfferState::Withdrawn;
                changes.push((Record::Offer(offer), Expect::Version(stored.version)));
            }
        }
    }
    interaction.state = if interaction.answered_at.is_some() {
        InteractionState::Ended
    } else {
        InteractionState::Abandoned
    };
    interaction.ended_at = Some(format_time(OffsetDateTime::now_utc()));
    changes.push((
        Record::Interaction(interaction.clone()),
        Expect::Version(version),
    ));
    db.write_together(tenant, changes).await?;
    tracing::info!(
        interaction = interaction_id,
        state = interaction.state.as_str(),
        "interaction ended"
    );
    Ok(interaction)
}

/// Puts an interaction back in its queue after `agent` let it pass.
fn requeue(interaction: &mut Interaction, agent: &AgentId) {
    interaction.state = InteractionState::Queued;
    interaction.agent_id = None;
    if !interaction.offered_to.contains(agent) {
        interaction.offered_to.push(agent.clone());
    }
}

/// The queues of `tenant` as they stand now.
pub async fn stats(db: &Database, tenant: &TenantId) -> Result<Vec<QueueStats>, DbError> {
    let world = World::load(db, tenant).await?;
    Ok(queue_stats(
        &world.queues,
        &world
            .open
            .iter()
            .map(|(i, _)| i.clone())
            .collect::<Vec<_>>(),
        &world.agents,
        OffsetDateTime::now_utc(),
    ))
}

/// What routing needs to know about one tenant.
struct World {
    agents: Vec<Agent>,
    queues: Vec<Queue>,
    /// Open interactions with their versions.
    open: Vec<(Interaction, u64)>,
}

impl World {
    async fn load(db: &Database, tenant: &TenantId) -> Result<World, DbError> {
        let agents = db
            .records_of_kind(tenant, RecordKind::Agent)
            .await?
            .into_iter()
            .filter_map(|stored| match stored.record {
                Record::Agent(agent) => Some(agent),
                _ => None,
            })
            .collect();
        let queues = db
            .records_of_kind(tenant, RecordKind::Queue)
            .await?
            .into_iter()
            .filter_map(|stored| match stored.record {
                Record::Queue(queue) => Some(queue),
                _ => None,
            })
            .collect();
        let open = db
            .records_in_state(
                tenant,
                RecordKind::Interaction,
                &[
                    InteractionState::Queued.as_str(),
                    InteractionState::Offered.as_str(),
                    InteractionState::Active.as_str(),
                ],
            )
            .await?
            .into_iter()
            .filter_map(|stored| match stored.record {
                Record::Interaction(interaction) => Some((interaction, stored.version)),
                _ => None,
            })
            .collect();
        Ok(World {
            agents,
            queues,
            open,
        })
    }
}

/// The task that offers waiting work and expires unanswered offers.
#[derive(Debug)]
pub struct Router {
    db: Database,
    /// When each agent last finished an interaction, as seen by this router.
    idle_since: HashMap<AgentId, OffsetDateTime>,
    /// Who held each open interaction at the last look, to notice when one ends.
    holders: HashMap<(TenantId, String), AgentId>,
}

impl Router {
    /// Starts routing on `db` until the runtime ends.
    pub fn start(db: Database) {
        let router = Router {
            db,
            idle_since: HashMap::new(),
            holders: HashMap::new(),
        };
        tokio::spawn(router.run());
    }

    async fn run(mut self) {
        let mut leadership: Option<sqlx::pool::PoolConnection<sqlx::Any>> = None;
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if self.db.pool().is_closed() {
                return;
            }
            if self.db.backend() == Backend::Postgres && !self.lead(&mut leadership).await {
                continue;
            }
            if let Err(error) = self.tick().await {
                tracing::warn!(%error, "routing pass failed; retrying");
            }
        }
    }

    /// Whether this instance routes: it must hold the routing lock on a connection of its own,
    /// which PostgreSQL releases if the instance dies.
    async fn lead(&self, held: &mut Option<sqlx::pool::PoolConnection<sqlx::Any>>) -> bool {
        if let Some(connection) = held.as_mut() {
            if sqlx::query("SELECT 1")
                .execute(&mut **connection)
                .await
                .is_ok()
            {
                return true;
            }
            *held = None;
        }
        let Ok(mut connection) = self.db.pool().acquire().await else {
            return false;
        };
        let won: Result<(bool,), _> = sqlx::query_as("SELECT pg_try_advisory_lock(7301)")
            .fetch_one(&mut *connection)
            .await;
        if matches!(won, Ok((true,))) {
            tracing::info!("this hub instance now routes chats and calls");
            *held = Some(connection);
            true
        } else {
            false
        }
    }

    async fn tick(&mut self) -> Result<(), DbError> {
        for tenant in self.db.tenants().await? {
            self.route(&tenant).await?;
        }
        Ok(())
    }

    async fn route(&mut self, tenant: &TenantId) -> Result<(), DbError> {
        let now = OffsetDateTime::now_utc();
        self.expire(tenant, now).await?;

        let world = World::load(&self.db, tenant).await?;
        self.notice_ended(tenant, &world, now);
        let open: Vec<Interaction> = world.open.iter().map(|(i, _)| i.clone()).collect();
        let mut loads = loads_of(&open);

        let mut queued: Vec<&(Interaction, u64)> = world
            .open
            .iter()
            .filter(|(interaction, _)| interaction.state == InteractionState::Queued)
            .collect();
        queued.sort_by(|(a, _), (b, _)| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));

        for (interaction, version) in queued {
            let Some(queue) = interaction
                .queue_id
                .as_ref()
                .and_then(|id| world.queues.iter().find(|queue| &queue.id == id))
            else {
                continue;
            };
            let Some(agent) = choose(
                interaction,
                &queue.id,
                &world.agents,
                &loads,
                &self.idle_since,
            ) else {
                continue;
            };

            let offer = Offer {
                id: OfferId::from_number(rand::random()),
                interaction_id: interaction.id.clone(),
                customer_id: interaction.customer_id.clone(),
                queue_id: queue.id.clone(),
                channel: interaction.channel,
                agent_id: agent.id.clone(),
                state: OfferState::Pending,
                offered_at: format_time(now),
                expires_at: format_time(
                    now + time::Duration::seconds(i64::from(queue.offer_timeout_seconds)),
                ),
                version: 0,
            };
            let mut offered = interaction.clone();
            offered.state = InteractionState::Offered;
            offered.agent_id = Some(agent.id.clone());
            if !offered.offered_to.contains(&agent.id) {
                offered.offered_to.push(agent.id.clone());
            }
            let written = self
                .db
                .write_together(
                    tenant,
                    vec![
                        (Record::Offer(offer.clone()), Expect::Absent),
                        (Record::Interaction(offered), Expect::Version(*version)),
                    ],
                )
                .await;
            match written {
                Ok(_) => {
                    loads
                        .entry(agent.id.clone())
                        .or_default()
                        .add(interaction.channel);
                    tracing::info!(%tenant, offer = %offer.id, agent = %agent.id, interaction = %interaction.id, "offered");
                }
                // The interaction changed under us (the customer left); next pass sees it.
                Err(WriteError::Db(error)) => return Err(error),
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Expires pending offers whose time is up and puts their work back in the queue.
    async fn expire(&mut self, tenant: &TenantId, now: OffsetDateTime) -> Result<(), DbError> {
        let pending = self
            .db
            .records_in_state(tenant, RecordKind::Offer, &[OfferState::Pending.as_str()])
            .await?;
        for stored in pending {
            let Record::Offer(mut offer) = stored.record else {
                continue;
            };
            if parse_time(&offer.expires_at).is_none_or(|expires| expires > now) {
                continue;
            }
            let interaction = self
                .db
                .record(tenant, offer.interaction_id.as_str())
                .await?;
            offer.state = OfferState::Expired;
            let mut changes = vec![(
                Record::Offer(offer.clone()),
                Expect::Version(stored.version),
            )];
            if let Some(Stored {
                record: Record::Interaction(mut interaction),
                version,
                ..
            }) = interaction
                && interaction.state == InteractionState::Offered
                && interaction.agent_id.as_ref() == Some(&offer.agent_id)
            {
                requeue(&mut interaction, &offer.agent_id);
                changes.push((Record::Interaction(interaction), Expect::Version(version)));
            }
            match self.db.write_together(tenant, changes).await {
                Ok(_) => {
                    tracing::info!(%tenant, offer = %offer.id, agent = %offer.agent_id, "offer expired; back in the queue")
                }
                Err(WriteError::Db(error)) => return Err(error),
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Notes when agents' interactions end, so that "longest idle" counts from then.
    fn notice_ended(&mut self, tenant: &TenantId, world: &World, now: OffsetDateTime) {
        let open: HashSet<String> = world
            .open
            .iter()
            .map(|(interaction, _)| interaction.id.to_string())
            .collect();
        let ended: Vec<(TenantId, String)> = self
            .holders
            .keys()
            .filter(|(t, id)| t == tenant && !open.contains(id))
            .cloned()
            .collect();
        for key in ended {
            if let Some(agent) = self.holders.remove(&key) {
                self.idle_since.insert(agent, now);
            }
        }
        for (interaction, _) in &world.open {
            if interaction.state == InteractionState::Active
                && let Some(agent) = &interaction.agent_id
            {
                self.holders
                    .insert((tenant.clone(), interaction.id.to_string()), agent.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_model::{Capacity, ConversationId, CustomerId, Direction, InteractionId};

    fn agent(number: u64, state: AgentState, since: &str) -> Agent {
        Agent {
            id: AgentId::from_number(number),
            display_name: format!("Agent {number}"),
            login: format!("a{number}@example.com"),
            role: switchboard_model::Role::Agent,
            state,
            state_since: since.to_owned(),
            capacity: Capacity { calls: 1, chats: 2 },
            queues: vec![QueueId::from_number(1)],
            version: 1,
        }
    }

    fn chat(number: u64, started: &str) -> Interaction {
        Interaction {
            id: InteractionId::from_number(number),
            conversation_id: ConversationId::from_number(number),
            customer_id: CustomerId::from_number(number),
            channel: Channel::Chat,
            direction: Direction::Inbound,
            state: InteractionState::Queued,
            queue_id: Some(QueueId::from_number(1)),
            agent_id: None,
            remote_number: None,
            started_at: started.to_owned(),
            answered_at: None,
            ended_at: None,
            offered_to: Vec::new(),
            version: 1,
        }
    }

    fn pick(
        agents: &[Agent],
        interaction: &Interaction,
        loads: &HashMap<AgentId, Load>,
    ) -> Option<u64> {
        choose(
            interaction,
            &QueueId::from_number(1),
            agents,
            loads,
            &HashMap::new(),
        )
        .map(|a| u64::from_str_radix(a.id.as_str().trim_start_matches("agt_"), 16).unwrap_or(0))
    }

    #[test]
    fn the_agent_idle_longest_gets_the_offer() {
        let agents = [
            agent(1, AgentState::Available, "2026-12-01T10:05:00Z"),
            agent(2, AgentState::Available, "2026-12-01T10:01:00Z"),
            agent(3, AgentState::Available, "2026-12-01T10:03:00Z"),
        ];
        let work = chat(1, "2026-12-01T10:10:00Z");
        assert_eq!(
            pick(&agents, &work, &HashMap::new()),
            Some(2),
            "available since 10:01"
        );
    }

    #[test]
    fn only_available_agents_with_room_on_the_channel_in_the_queue_are_offered_work() {
        let mut outside = agent(4, AgentState::Available, "2026-12-01T09:00:00Z");
        outside.queues.clear();
        let agents = [
            agent(1, AgentState::Break, "2026-12-01T09:00:00Z"),
            agent(2, AgentState::Available, "2026-12-01T09:30:00Z"),
            agent(3, AgentState::Available, "2026-12-01T09:10:00Z"),
            outside,
        ];
        let work = chat(1, "2026-12-01T10:10:00Z");
        let mut loads = HashMap::new();
        loads.insert(AgentId::from_number(3), Load { calls: 0, chats: 2 });
        assert_eq!(
            pick(&agents, &work, &loads),
            Some(2),
            "1 is on a break, 3 holds two chats already, 4 is not in the queue"
        );
        loads.insert(AgentId::from_number(2), Load { calls: 0, chats: 2 });
        assert_eq!(
            pick(&agents, &work, &loads),
            None,
            "nobody has room: the chat waits"
        );
    }

    #[test]
    fn an_agent_who_let_an_offer_pass_is_tried_after_everyone_else() {
        let agents = [
            agent(1, AgentState::Available, "2026-12-01T09:00:00Z"),
            agent(2, AgentState::Available, "2026-12-01T09:30:00Z"),
        ];
        let mut work = chat(1, "2026-12-01T10:10:00Z");
        work.offered_to.push(AgentId::from_number(1));
        assert_eq!(
            pick(&agents, &work, &HashMap::new()),
            Some(2),
            "the next agent"
        );
        work.offered_to.push(AgentId::from_number(2));
        assert_eq!(
            pick(&agents, &work, &HashMap::new()),
            Some(1),
            "once everyone was tried, the round starts again rather than leaving it waiting"
        );
    }

    #[test]
    fn queue_stats_give_each_waiting_customer_a_place_in_line() {
        let queue = Queue {
            id: QueueId::from_number(1),
            name: "Orders".to_owned(),
            channels: vec![Channel::Chat],
            offer_timeout_seconds: 20,
            version: 1,
        };
        let mut offered = chat(1, "2026-12-01T10:00:00Z");
        offered.state = InteractionState::Offered;
        offered.agent_id = Some(AgentId::from_number(1));
        let open = [
            chat(2, "2026-12-01T10:02:00Z"),
            offered,
            chat(3, "2026-12-01T10:03:00Z"),
        ];
        let agents = [
            agent(1, AgentState::Available, "2026-12-01T09:00:00Z"),
            agent(2, AgentState::Offline, "2026-12-01T09:00:00Z"),
        ];
        let now = parse_time("2026-12-01T10:05:00Z").unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let stats = queue_stats(&[queue], &open, &agents, now);

        assert_eq!(
            stats[0].waiting, 3,
            "offered work still waits until accepted"
        );
        assert_eq!(
            stats[0].longest_wait_seconds, 300,
            "the first has waited five minutes"
        );
        let order: Vec<u32> = stats[0].line.iter().map(|w| w.position).collect();
        assert_eq!(order, [1, 2, 3], "positions count from one");
        assert_eq!(
            stats[0].line[1].interaction_id,
            InteractionId::from_number(2),
            "in the order they arrived"
        );
        assert_eq!(
            stats[0].available_agents, 1,
            "agent 1 still has room for a chat"
        );
    }
}
