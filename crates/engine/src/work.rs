//! The agent's own work: the work list (offers to answer, chats with their threads, calls the
//! hub routed to them), each call logged on the customer's timeline, the agent's state
//! following it (busy while talking, after-call work until the wrap-up), and wrap-ups. Writes
//! go through the cache's outbox, so they hold with the hub away; answering an offer and
//! ending an interaction need the hub, where routing is.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use switchboard_model::{
    AgentState, Author, Channel, CustomerSummary, Interaction, InteractionId, Message, MessageId,
    NewMessage, NewWrapUp, Offer, Record, StateChange,
};
use switchboard_store::{Action, AgentDay};

use crate::cache::DeskCache;
use crate::calls::{CallJournal, CallMoment, CallView};
use crate::{Engine, EngineError};

/// A disposition an agent can close an interaction with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Disposition {
    /// The code the hub stores.
    pub code: String,
    /// What the agent reads.
    pub label: String,
}

/// The dispositions the wrap-up form offers.
//
// FIXME(dispositions): these are the demo tenant's codes; a tenant's own list belongs on the
// hub, served with its queues.
pub fn dispositions() -> Vec<Disposition> {
    [
        ("resolved", "Resolved"),
        ("information_given", "Information given"),
        ("refund_issued", "Refund issued"),
        ("escalated", "Escalated"),
        ("callback_needed", "Call back needed"),
    ]
    .into_iter()
    .map(|(code, label)| Disposition {
        code: code.to_owned(),
        label: label.to_owned(),
    })
    .collect()
}

/// The agent's state as the top bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentStateView {
    pub state: AgentState,
    /// Since when, RFC 3339: the top bar's timer counts from here.
    pub since: String,
    /// The change is still on its way to the hub.
    pub unsent: bool,
}

impl Engine {
    /// The signed-in agent's state, as the desk shows it.
    pub async fn agent_state(&self) -> Result<Option<AgentStateView>, EngineError> {
        let actor = self.actor()?;
        let Some(cache) = self.desk_cache() else {
            return Ok(None);
        };
        let Some(Record::Agent(agent)) = cache.record(actor.agent.as_str()).await else {
            return Ok(None);
        };
        Ok(Some(AgentStateView {
            state: agent.state,
            since: agent.state_since,
            unsent: cache.unsent(actor.agent.as_str()).await,
        }))
    }

    /// Sets the agent's state (the top bar's choice, or the desk following a call).
    pub async fn set_state(&self, state: AgentState) -> Result<(), EngineError> {
        let agent = self.actor()?.agent;
        self.act(Action::SetState {
            agent,
            change: StateChange { state },
        })
        .await?;
        tracing::info!(state = ?state, "agent state set");
        Ok(())
    }

    /// Writes the wrap-up of `call` (taken off the board by the caller) and, when no other
    /// call goes on, makes the agent available again.
    pub async fn wrap_up(
        &self,
        call: &CallView,
        disposition: String,
        notes: Option<String>,
        still_busy: bool,
    ) -> Result<(), EngineError> {
        if call.log().is_none() {
            return Err(EngineError::CallLog(
                "this call is not on a customer's timeline yet; choose its customer first"
                    .to_owned(),
            ));
        }
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e6;
        self.act(Action::WrapUp(NewWrapUp {
            id: None,
            interaction_id: call.interaction_id.clone(),
            disposition,
            notes: notes.filter(|notes| !notes.trim().is_empty()),
            handle_seconds: call.handle_seconds(now_ms),
        }))
        .await?;
        if !still_busy {
            self.set_state(AgentState::Available).await?;
        }
        Ok(())
    }
}

impl CallJournal for Engine {
    fn screen_pop(&self, number: &str) -> Vec<CustomerSummary> {
        Engine::screen_pop(self, number)
    }

    fn log_call(&self, call: &CallView, moment: CallMoment) {
        let Some((id, log)) = call.log() else {
            return;
        };
        let (Ok(actor), Some(cache)) = (self.actor(), self.desk_cache()) else {
            tracing::warn!(call = %call.id, "a call could not be logged: nobody is signed in");
            return;
        };
        let state = match moment {
            CallMoment::Answered => AgentState::Busy,
            CallMoment::Ended => AgentState::AfterCallWork,
        };
        let agent = actor.agent.clone();
        tokio::spawn(async move {
            let logged = cache
                .act(Action::LogCall { id, call: log }, actor.clone())
                .await;
            let stated = cache
                .act(
                    Action::SetState {
                        agent,
                        change: StateChange { state },
                    },
                    actor,
                )
                .await;
            for outcome in [logged.map(drop), stated.map(drop)] {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "a call's log was not written");
                }
            }
        });
    }
}

/// One queue's load, as "My day" shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueLoad {
    pub name: String,
    /// Chats and calls waiting for an agent.
    pub waiting: u32,
    pub longest_wait_seconds: u32,
    /// Agents who could take work now.
    pub available_agents: u32,
}

/// The agent's own day and the queues' load: the top bar's "My day".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MyDay {
    /// Interactions the agent wrapped up today (UTC).
    pub handled: u32,
    /// Their average handle time, in seconds; zero before the first.
    pub average_handle_seconds: u32,
    /// Every queue's load now; empty while the hub cannot be asked.
    pub queues: Vec<QueueLoad>,
}

/// An offer of a chat or call waiting for the agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OfferView {
    pub offer: Offer,
    /// Who it is from, as the cache knows them.
    pub customer: Option<CustomerSummary>,
}

/// One of the agent's chats: the interaction, its customer and the conversation's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChatView {
    pub interaction: Interaction,
    pub customer: Option<CustomerSummary>,
    /// The whole conversation, oldest first: earlier chats of it included.
    pub messages: Vec<Message>,
    /// The agent's messages the hub has not accepted yet.
    pub unsent: Vec<MessageId>,
    /// Since when the customer waits for an answer: their oldest message after the agent's
    /// last one (RFC 3339); none when the agent spoke last.
    pub waiting_since: Option<String>,
    /// The chat ended and waits for the agent's wrap-up.
    pub wrap_up_due: bool,
}

/// The agent's work list: offers to answer, chats going on or waiting for a wrap-up, and calls
/// the hub routed to them (in demo mode, its simulated calls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkList {
    pub offers: Vec<OfferView>,
    pub chats: Vec<ChatView>,
    pub routed_calls: Vec<Interaction>,
}

/// What the engine remembers of the agent's chats between two looks at the work list: the
/// ones shown last, so that one that ended since stays until the agent wraps it up.
//
// FIXME(chat-wrap-up): this memory is the process's; a desk restarted between a chat's end
// and its wrap-up forgets the wrap-up is due.
#[derive(Debug, Default)]
pub struct ChatMemory {
    shown: BTreeMap<String, ChatView>,
    ended: BTreeMap<String, ChatView>,
    /// Chats the agent wrapped up: the cache may still show one as going on for a moment
    /// (the hub's end has not come back yet), and it must not come back to the list.
    wrapped: BTreeSet<String>,
}

impl ChatMemory {
    /// Takes the chats open now and returns them with those that ended since the last look
    /// (waiting for a wrap-up), oldest first.
    pub fn look(&mut self, open: Vec<ChatView>) -> Vec<ChatView> {
        let open_now: BTreeMap<String, ChatView> = open
            .into_iter()
            .map(|chat| (chat.interaction.id.to_string(), chat))
            .filter(|(id, _)| !self.wrapped.contains(id))
            .collect();
        let gone: Vec<String> = self
            .shown
            .keys()
            .filter(|id| !open_now.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(mut chat) = self.shown.remove(&id) {
                chat.wrap_up_due = true;
                chat.waiting_since = None;
                self.ended.insert(id, chat);
            }
        }
        self.shown = open_now;
        let mut all: Vec<ChatView> = self
            .shown
            .values()
            .chain(self.ended.values())
            .cloned()
            .collect();
        all.sort_by(|a, b| a.interaction.started_at.cmp(&b.interaction.started_at));
        all
    }

    /// Forgets a chat once it is wrapped up; returns it.
    pub fn wrapped_up(&mut self, id: &str) -> Option<ChatView> {
        self.wrapped.insert(id.to_owned());
        self.ended.remove(id).or_else(|| self.shown.remove(id))
    }

    /// Forgets everything (the agent signed out).
    pub fn clear(&mut self) {
        self.shown.clear();
        self.ended.clear();
        self.wrapped.clear();
    }
}

/// Since when the customer waits: their oldest message after the agent's last one.
pub fn waiting_since(messages: &[Message]) -> Option<String> {
    let after_agent = messages
        .iter()
        .rposition(|message| matches!(message.author, Author::Agent(_)))
        .map_or(0, |last| last + 1);
    messages[after_agent..]
        .iter()
        .find(|message| matches!(message.author, Author::Customer(_)))
        .map(|message| message.sent_at.clone())
}

impl Engine {
    /// The agent's work list now, from the cache: what the work list shows, read again
    /// whenever the sync moves.
    pub async fn work_list(&self) -> Result<WorkList, EngineError> {
        let actor = self.actor()?;
        let Some(cache) = self.desk_cache() else {
            return Ok(WorkList::default());
        };
        let Some((work, threads)) = cache.open_work(actor.agent.as_str()).await else {
            return Ok(WorkList::default());
        };

        let mut offers = Vec::with_capacity(work.offers.len());
        for offer in work.offers {
            let customer = summary_of(&cache, offer.customer_id.as_str()).await;
            offers.push(OfferView { offer, customer });
        }
        let mut open = Vec::new();
        let mut routed_calls = Vec::new();
        for (interaction, messages) in work.interactions.into_iter().zip(threads) {
            if interaction.channel == Channel::Call {
                // The desk's own calls are on the calls bar; only routed ones are listed here.
                if !interaction.id.as_str().starts_with("int_call-") {
                    routed_calls.push(interaction);
                }
                continue;
            }
            let customer = summary_of(&cache, interaction.customer_id.as_str()).await;
            let mut unsent = Vec::new();
            for message in &messages {
                if matches!(message.author, Author::Agent(_))
                    && cache.unsent(message.id.as_str()).await
                {
                    unsent.push(message.id.clone());
                }
            }
            open.push(ChatView {
                waiting_since: waiting_since(&messages),
                interaction,
                customer,
                messages,
                unsent,
                wrap_up_due: false,
            });
        }
        let chats = self
            .chats
            .lock()
            .map(|mut memory| memory.look(open))
            .unwrap_or_default();
        Ok(WorkList {
            offers,
            chats,
            routed_calls,
        })
    }

    /// The agent's day so far (from the cache, so it holds offline) and the queues' load now
    /// (from the hub, so it is left out while the hub is away).
    //
    // FIXME(my-day-zone): days are counted in UTC, as the hub stamps them; an agent far from
    // UTC sees "today" turn over at another hour than their own midnight.
    pub async fn my_day(&self) -> Result<MyDay, EngineError> {
        let agent = self.actor()?.agent;
        let today: String = crate::session::now_rfc3339().chars().take(10).collect();
        let day = match self.desk_cache() {
            Some(cache) => cache.agent_day(agent.as_str(), &today).await,
            None => AgentDay::default(),
        };
        let queues = match self.client().queue_stats().await {
            Ok(stats) => stats
                .into_iter()
                .map(|queue| QueueLoad {
                    name: queue.name,
                    waiting: queue.waiting,
                    longest_wait_seconds: u32::try_from(queue.longest_wait_seconds)
                        .unwrap_or(u32::MAX),
                    available_agents: queue.available_agents,
                })
                .collect(),
            Err(error) => {
                tracing::debug!(%error, "no queue load for My day");
                Vec::new()
            }
        };
        Ok(MyDay {
            handled: day.handled,
            average_handle_seconds: day.handle_seconds.checked_div(day.handled).unwrap_or(0),
            queues,
        })
    }

    /// Takes an offered chat or call; it becomes the agent's. Needs the hub: routing is there.
    pub async fn accept_offer(&self, offer: &str) -> Result<Interaction, EngineError> {
        let accepted = self.client().accept_offer(offer).await;
        let interaction = self.observed(accepted)?;
        tracing::info!(offer, interaction = %interaction.id, "offer accepted");
        Ok(interaction)
    }

    /// Passes an offer on to the next agent.
    pub async fn decline_offer(&self, offer: &str) -> Result<(), EngineError> {
        let declined = self.client().decline_offer(offer).await;
        self.observed(declined)?;
        tracing::info!(offer, "offer declined");
        Ok(())
    }

    /// Sends a chat message: shown at once, delivered when the hub can take it.
    pub async fn send_message(
        &self,
        interaction: InteractionId,
        body: String,
    ) -> Result<(), EngineError> {
        self.act(Action::SendMessage(NewMessage {
            id: None,
            interaction_id: interaction,
            body,
        }))
        .await?;
        Ok(())
    }

    /// Tells the customer's page the agent is typing in chat `interaction`. Worth showing only
    /// now, so it is not kept for later: offline, it is simply not sent.
    pub async fn typing(&self, interaction: &str) -> Result<(), EngineError> {
        let sent = self.client().typing(interaction).await;
        self.observed(sent)?;
        Ok(())
    }

    /// Ends a chat or a routed call the agent holds; a chat then waits for its wrap-up.
    pub async fn end_interaction(&self, interaction: &str) -> Result<(), EngineError> {
        let ended = self.client().end_interaction(interaction).await;
        self.observed(ended)?;
        tracing::info!(interaction, "interaction ended");
        Ok(())
    }

    /// Wraps up a chat (ending it first if it still goes on) with a disposition and notes.
    pub async fn wrap_up_chat(
        &self,
        interaction: InteractionId,
        disposition: String,
        notes: Option<String>,
    ) -> Result<(), EngineError> {
        let chat = self
            .chats
            .lock()
            .ok()
            .and_then(|memory| {
                memory
                    .ended
                    .get(interaction.as_str())
                    .or_else(|| memory.shown.get(interaction.as_str()))
                    .cloned()
            })
            .ok_or_else(|| {
                EngineError::CallLog(format!("chat {interaction} is not on the work list"))
            })?;
        if !chat.wrap_up_due {
            self.end_interaction(interaction.as_str()).await?;
        }
        let started = chat
            .interaction
            .answered_at
            .as_deref()
            .unwrap_or(&chat.interaction.started_at);
        let handle_seconds = seconds_since(started);
        self.act(Action::WrapUp(NewWrapUp {
            id: None,
            interaction_id: interaction.clone(),
            disposition,
            notes: notes.filter(|notes| !notes.trim().is_empty()),
            handle_seconds,
        }))
        .await?;
        if let Ok(mut memory) = self.chats.lock() {
            memory.wrapped_up(interaction.as_str());
        }
        Ok(())
    }
}

/// A customer's summary from the cache.
async fn summary_of(cache: &DeskCache, customer: &str) -> Option<CustomerSummary> {
    match cache.record(customer).await {
        Some(Record::Customer(customer)) => Some(customer.summary()),
        _ => None,
    }
}

/// Whole seconds from `since` (RFC 3339) to now; zero when it cannot be read.
fn seconds_since(since: &str) -> u32 {
    let Ok(since) =
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
    else {
        return 0;
    };
    let elapsed = time::OffsetDateTime::now_utc() - since;
    u32::try_from(elapsed.whole_seconds().max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use switchboard_model::{
        AgentId, ConversationId, CustomerId, Direction, InteractionState, MessageId,
    };

    use super::*;

    fn message(id: u64, author: Author, at: &str) -> Message {
        Message {
            id: MessageId::from_number(id),
            interaction_id: InteractionId::from_number(1),
            conversation_id: ConversationId::from_number(1),
            author,
            body: "text".to_owned(),
            sent_at: at.to_owned(),
        }
    }

    fn chat(id: u64) -> ChatView {
        ChatView {
            interaction: Interaction {
                id: InteractionId::from_number(id),
                conversation_id: ConversationId::from_number(id),
                customer_id: CustomerId::from_number(1),
                channel: Channel::Chat,
                direction: Direction::Inbound,
                state: InteractionState::Active,
                queue_id: None,
                agent_id: Some(AgentId::from_number(1)),
                remote_number: None,
                started_at: format!("2026-12-04T10:00:0{id}Z"),
                answered_at: None,
                ended_at: None,
                offered_to: Vec::new(),
                version: 1,
            },
            customer: None,
            messages: Vec::new(),
            unsent: Vec::new(),
            waiting_since: Some("2026-12-04T10:00:00Z".to_owned()),
            wrap_up_due: false,
        }
    }

    #[test]
    fn the_customer_waits_from_their_first_message_after_the_agents_last() {
        let customer = || Author::Customer(CustomerId::from_number(1));
        let agent = || Author::Agent(AgentId::from_number(1));
        let thread = [
            message(1, customer(), "2026-12-04T10:00:00Z"),
            message(2, agent(), "2026-12-04T10:00:10Z"),
            message(3, customer(), "2026-12-04T10:00:20Z"),
            message(4, customer(), "2026-12-04T10:00:30Z"),
        ];
        assert_eq!(
            waiting_since(&thread).as_deref(),
            Some("2026-12-04T10:00:20Z"),
            "the wait starts at the first unanswered message"
        );
        assert_eq!(
            waiting_since(&thread[..2]),
            None,
            "nobody waits when the agent spoke last"
        );
        assert_eq!(
            waiting_since(&thread[..1]).as_deref(),
            Some("2026-12-04T10:00:00Z"),
            "a new chat waits from its first message"
        );
    }

    #[test]
    fn a_chat_that_ends_stays_on_the_list_until_it_is_wrapped_up() {
        let mut memory = ChatMemory::default();
        let shown = memory.look(vec![chat(1), chat(2)]);
        assert_eq!(shown.len(), 2);
        assert!(shown.iter().all(|chat| !chat.wrap_up_due));

        let shown = memory.look(vec![chat(2)]);
        assert_eq!(shown.len(), 2, "the ended chat is still listed");
        assert!(
            shown[0].wrap_up_due && shown[0].waiting_since.is_none(),
            "it waits for the wrap-up, and the customer no longer waits"
        );
        assert!(!shown[1].wrap_up_due, "the other chat goes on");

        let ended = InteractionId::from_number(1).to_string();
        assert!(memory.wrapped_up(&ended).is_some());
        assert_eq!(
            memory.look(vec![chat(2)]).len(),
            1,
            "a wrapped-up chat leaves the list"
        );

        assert!(
            memory
                .wrapped_up(InteractionId::from_number(2).as_str())
                .is_some()
        );
        assert!(
            memory.look(vec![chat(2)]).is_empty(),
            "a chat wrapped up while the cache still shows it going on does not come back"
        );
    }
}
