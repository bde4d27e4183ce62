//! What the window shows of sync: whether the hub is reachable, the outbox's size and age, the
//! initial sync's progress, and whether the agent must sign in again.

use serde::Serialize;
use switchboard_store::Outbox;

/// How the link to the hub stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    /// The hub answers and the live stream runs.
    Online,
    /// The hub answers, but slowly, with overload or server errors, or without the live
    /// stream (changes then come by polling).
    Degraded,
    /// The hub cannot be reached; the desk works from its cache and queues writes.
    #[default]
    Offline,
}

/// One contact with the hub, as the connectivity tracker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// A request answered as it should be.
    Answered,
    /// An answer, but a strained one: 429, 5xx.
    Strained,
    /// No answer: refused, reset, or timed out.
    Unreachable,
}

/// Turns contacts into a connectivity state, so that one lost packet does not flash "offline".
#[derive(Debug, Clone, Default)]
pub struct ConnectivityTracker {
    unreachable_in_a_row: u32,
    strained_in_a_row: u32,
    stream_up: bool,
    ever_answered: bool,
}

impl ConnectivityTracker {
    /// Failures in a row after which the hub counts as gone.
    const OFFLINE_AFTER: u32 = 2;

    pub fn record(&mut self, contact: Contact) {
        match contact {
            Contact::Answered => {
                self.unreachable_in_a_row = 0;
                self.strained_in_a_row = 0;
                self.ever_answered = true;
            }
            Contact::Strained => {
                self.unreachable_in_a_row = 0;
                self.strained_in_a_row += 1;
                self.ever_answered = true;
            }
            Contact::Unreachable => self.unreachable_in_a_row += 1,
        }
    }

    /// Whether the live stream is connected.
    pub fn stream(&mut self, up: bool) {
        self.stream_up = up;
        if up {
            self.unreachable_in_a_row = 0;
            self.ever_answered = true;
        }
    }

    pub fn state(&self) -> Connectivity {
        if !self.ever_answered || self.unreachable_in_a_row >= Self::OFFLINE_AFTER {
            Connectivity::Offline
        } else if self.unreachable_in_a_row > 0 || self.strained_in_a_row > 0 || !self.stream_up {
            Connectivity::Degraded
        } else {
            Connectivity::Online
        }
    }
}

/// How far an initial sync has come.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    /// Changes applied so far.
    pub done: u64,
    /// All changes of this sync, when the hub said.
    pub total: Option<u64>,
    /// Changes applied per second, over the sync so far.
    pub per_second: f64,
    /// Every change is in; the cache builds the customer pane's indexes, which takes a while
    /// at a million customers.
    pub indexing: bool,
    /// Whether the cache has caught up with the hub and is fully usable.
    pub finished: bool,
}

/// Everything the window shows of sync, sent whenever it changes.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    pub connectivity: Connectivity,
    pub outbox: Outbox,
    /// Where the cache stands in the hub's change feed; it moves whenever changes arrive.
    pub cursor: Option<String>,
    /// The initial sync, while one runs and after it finished.
    pub progress: Option<Progress>,
    /// The hub refused the token: writes wait until the agent signs in again.
    pub needs_sign_in: bool,
    /// The last failure talking to the hub, in words for the agent.
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_degrades_and_two_go_offline() {
        let mut tracker = ConnectivityTracker::default();
        assert_eq!(
            tracker.state(),
            Connectivity::Offline,
            "a desk that never reached the hub is offline"
        );

        tracker.record(Contact::Answered);
        tracker.stream(true);
        assert_eq!(tracker.state(), Connectivity::Online);

        tracker.record(Contact::Unreachable);
        assert_eq!(
            tracker.state(),
            Connectivity::Degraded,
            "one lost request is not yet offline"
        );
        tracker.record(Contact::Unreachable);
        assert_eq!(tracker.state(), Connectivity::Offline);

        tracker.record(Contact::Strained);
        assert_eq!(
            tracker.state(),
            Connectivity::Degraded,
            "an overloaded hub answers, so it is degraded, not offline"
        );
        tracker.record(Contact::Answered);
        assert_eq!(tracker.state(), Connectivity::Online);

        tracker.stream(false);
        assert_eq!(
            tracker.state(),
            Connectivity::Degraded,
            "polling without the live stream is degraded"
        );
    }
}
