//! The agent's own work around a call: the call logged on the customer's timeline, the agent's
//! state following it (busy while talking, after-call work until the wrap-up), and the wrap-up
//! itself. Everything goes through the cache's outbox, so it holds with the hub away.

use serde::{Deserialize, Serialize};
use switchboard_model::{AgentState, NewWrapUp, Record, StateChange};
use switchboard_store::Action;

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
    fn screen_pop(&self, number: &str) -> Vec<switchboard_model::CustomerSummary> {
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
