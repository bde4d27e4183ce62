//! How reachable the hub is, decided from the outcomes of health probes and requests.
//!
//! This is pure logic: it never touches the network, so every transition is tested directly.

use serde::{Deserialize, Serialize};

/// The hub's reachability as the window shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    /// No probe has finished yet.
    Connecting,
    /// The hub answers and is healthy.
    Online,
    /// The hub answers but reports trouble, or a request just failed after a healthy spell.
    Degraded,
    /// The hub does not answer.
    Offline,
}

/// What one probe or request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The hub answered and said it is healthy.
    Healthy,
    /// The hub answered but is unhealthy (its database is down, it is overloaded).
    Unhealthy,
    /// The hub did not answer: connection refused, reset, or timed out.
    NoAnswer,
}

/// Failures in a row after which a hub that was online is called offline. One lost answer on a
/// poor branch link is common and should not flash "offline" at the agent.
pub const FAILURES_BEFORE_OFFLINE: u32 = 2;

/// Folds outcomes into a [`Connectivity`].
#[derive(Debug, Clone)]
pub struct ConnectivityTracker {
    state: Connectivity,
    failures_in_a_row: u32,
}

impl Default for ConnectivityTracker {
    fn default() -> Self {
        ConnectivityTracker {
            state: Connectivity::Connecting,
            failures_in_a_row: 0,
        }
    }
}

impl ConnectivityTracker {
    /// The current state.
    pub fn state(&self) -> Connectivity {
        self.state
    }

    /// Records `outcome` and returns the new state when it changed.
    pub fn observe(&mut self, outcome: Outcome) -> Option<Connectivity> {
        let next = match outcome {
            Outcome::Healthy => {
                self.failures_in_a_row = 0;
                Connectivity::Online
            }
            Outcome::Unhealthy => {
                self.failures_in_a_row = 0;
                Connectivity::Degraded
            }
            Outcome::NoAnswer => {
                self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
                match self.state {
                    // Before the first answer there is no healthy spell to give the benefit of
                    // the doubt to: say offline at once, so a wrong address shows quickly.
                    Connectivity::Connecting => Connectivity::Offline,
                    _ if self.failures_in_a_row >= FAILURES_BEFORE_OFFLINE => Connectivity::Offline,
                    Connectivity::Online => Connectivity::Degraded,
                    other => other,
                }
            }
        };

        let changed = next != self.state;
        self.state = next;
        changed.then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Connectivity::*;
    use Outcome::*;

    /// Feeds `outcomes` to a fresh tracker and returns the state after each.
    fn run(outcomes: &[Outcome]) -> Vec<Connectivity> {
        let mut tracker = ConnectivityTracker::default();
        outcomes
            .iter()
            .map(|outcome| {
                tracker.observe(*outcome);
                tracker.state()
            })
            .collect()
    }

    #[test]
    fn a_healthy_hub_is_online() {
        assert_eq!(run(&[Healthy]), [Online], "one healthy answer is enough");
    }

    #[test]
    fn a_hub_that_never_answered_is_offline_at_once() {
        assert_eq!(
            run(&[NoAnswer]),
            [Offline],
            "a wrong address must show quickly"
        );
    }

    #[test]
    fn one_lost_answer_degrades_and_a_second_goes_offline() {
        assert_eq!(
            run(&[Healthy, NoAnswer, NoAnswer]),
            [Online, Degraded, Offline],
            "a single failure is a blip, two in a row mean the link is down"
        );
    }

    #[test]
    fn a_blip_followed_by_an_answer_recovers_without_going_offline() {
        assert_eq!(
            run(&[Healthy, NoAnswer, Healthy, NoAnswer]),
            [Online, Degraded, Online, Degraded],
            "an answer resets the failure count"
        );
    }

    #[test]
    fn an_unhealthy_answer_is_degraded_not_offline() {
        assert_eq!(
            run(&[Healthy, Unhealthy, Unhealthy, Healthy]),
            [Online, Degraded, Degraded, Online],
            "a hub that answers is reachable, even when it reports trouble"
        );
    }

    #[test]
    fn observe_reports_only_changes() {
        let mut tracker = ConnectivityTracker::default();
        assert_eq!(
            tracker.observe(Healthy),
            Some(Online),
            "connecting to online is a change"
        );
        assert_eq!(tracker.observe(Healthy), None, "online to online is not");
    }
}
