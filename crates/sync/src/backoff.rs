//! When to send a failed write again: exponential back-off with full jitter, so that desks that
//! lost the hub together do not all come back in the same millisecond, and the hub's own
//! `Retry-After` when it names a time.

use std::time::Duration;

use rand::Rng;

/// Exponential back-off with full jitter: the n-th retry waits a uniformly random time between
/// zero and `base · 2ⁿ`, never more than `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The ceiling of the wait after `failures` failed attempts (the first retry has one).
    pub fn ceiling(&self, failures: u32) -> Duration {
        // 2^20 times any sensible base is past any sensible cap; stopping there keeps the
        // multiplication from overflowing.
        let factor = 1u32 << failures.min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random wait under the ceiling for `failures`.
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(failures).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.random_range(0..=ceiling))
    }

    /// The wait the hub asked for, when it did, within reason: a hub that asks for an hour is
    /// held to the cap, so that a desk is never silent longer than that.
    pub fn honour(&self, retry_after_seconds: Option<u64>) -> Option<Duration> {
        retry_after_seconds.map(|seconds| Duration::from_secs(seconds).min(self.cap))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        assert_eq!(
            backoff.ceiling(0),
            Duration::from_millis(100),
            "the first wait is the base"
        );
        assert_eq!(
            backoff.ceiling(3),
            Duration::from_millis(800),
            "each failure doubles the ceiling"
        );
        assert_eq!(
            backoff.ceiling(10),
            Duration::from_secs(2),
            "the ceiling stops at the cap"
        );
        assert_eq!(
            backoff.ceiling(u32::MAX),
            Duration::from_secs(2),
            "a huge failure count cannot overflow past the cap"
        );
    }

    #[test]
    fn delays_are_spread_over_the_whole_range() {
        let backoff = Backoff {
            base: Duration::from_millis(1000),
            cap: Duration::from_secs(60),
        };
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..1000).map(|_| backoff.delay(0, &mut rng)).collect();

        assert!(
            delays
                .iter()
                .all(|delay| *delay <= Duration::from_millis(1000)),
            "no delay passes its ceiling"
        );
        let short = delays
            .iter()
            .filter(|delay| delay.as_millis() < 500)
            .count();
        assert!(
            (350..650).contains(&short),
            "full jitter spreads retries evenly below the ceiling, not near it ({short} of 1000 below half)"
        );
    }

    #[test]
    fn the_hubs_wait_is_honoured_up_to_the_cap() {
        let backoff = Backoff::default();
        assert_eq!(backoff.honour(Some(3)), Some(Duration::from_secs(3)));
        assert_eq!(
            backoff.honour(Some(86_400)),
            Some(backoff.cap),
            "a desk never waits longer than the cap"
        );
        assert_eq!(backoff.honour(None), None);
    }
}
