//! The launch delay of an app version after its instances fail, as
//! Marathon's rate limiter keeps it: the first failure delays the next
//! launch by `backoffSeconds`, each further one multiplies the delay by
//! `backoffFactor`, never past `maxLaunchDelaySeconds`. A kill does not
//! count; a new version, an operator's reset, or a quiet spell of
//! `delay + maxLaunchDelay` after the last failure starts over.

use std::time::Duration;

/// The delay of one app version. Times are the scheduler's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    delay: Duration,
    /// When the delay ends: no launch before.
    until: Duration,
    last_failure: Duration,
}

/// An app's backoff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub seconds: u64,
    pub factor: f64,
    pub max_seconds: u64,
}

impl Policy {
    fn max(&self) -> Duration {
        Duration::from_secs(self.max_seconds)
    }
}

impl Backoff {
    /// An instance of the version failed at `now`: the delay grows (or
    /// starts), counted from now. `previous` is the delay so far, if any.
    pub fn failed(previous: Option<Backoff>, policy: Policy, now: Duration) -> Backoff {
        let fresh = Duration::from_secs(policy.seconds).min(policy.max());
        let delay = match previous {
            // A quiet spell past delay + max since the last failure: over.
            Some(b) if now >= b.last_failure + b.delay + policy.max() => fresh,
            Some(b) => b.delay.mul_f64(policy.factor.max(1.0)).min(policy.max()),
            None => fresh,
        };
        Backoff {
            delay,
            until: now + delay,
            last_failure: now,
        }
    }

    /// Whether the version may launch at `now`.
    pub fn allows(&self, now: Duration) -> bool {
        now >= self.until
    }

    /// What is left of the delay at `now` (`delay.timeLeftSeconds`).
    pub fn left(&self, now: Duration) -> Duration {
        self.until.saturating_sub(now)
    }

    pub fn delay(&self) -> Duration {
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        seconds: 1,
        factor: 1.15,
        max_seconds: 300,
    };

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn the_delay_grows_by_the_factor_up_to_the_maximum() {
        let mut b = Backoff::failed(None, POLICY, s(0.0));
        assert_eq!(b.delay(), s(1.0));
        assert!(!b.allows(s(0.5)));
        assert!(b.allows(s(1.0)));
        let mut delays = vec![b.delay().as_secs_f64()];
        for i in 1..60 {
            b = Backoff::failed(Some(b), POLICY, s(i as f64));
            delays.push(b.delay().as_secs_f64());
        }
        assert!((delays[1] - 1.15).abs() < 1e-6, "{delays:?}");
        assert!((delays[2] - 1.3225).abs() < 1e-6, "{delays:?}");
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(
            *delays.last().unwrap(),
            300.0,
            "capped at maxLaunchDelaySeconds"
        );
        assert_eq!(b.left(s(59.0)), s(300.0));
    }

    #[test]
    fn a_quiet_spell_starts_over() {
        let b = Backoff::failed(None, POLICY, s(0.0));
        let b = Backoff::failed(Some(b), POLICY, s(1.0));
        assert!(b.delay() > s(1.0));
        let later = Backoff::failed(Some(b), POLICY, s(1.0) + b.delay() + s(300.0));
        assert_eq!(later.delay(), s(1.0));
    }

    #[test]
    fn the_first_delay_is_capped_too() {
        let tight = Policy {
            seconds: 10,
            factor: 2.0,
            max_seconds: 5,
        };
        assert_eq!(Backoff::failed(None, tight, s(0.0)).delay(), s(5.0));
    }
}
