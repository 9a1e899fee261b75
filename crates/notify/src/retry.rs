//! The wait before the next attempt, from a [`RetryPolicy`].

use std::time::Duration;

use crate::config::RetryPolicy;

impl RetryPolicy {
    /// The wait after `failed` failed attempts (1 = after the first failure), without jitter:
    /// `min(max_backoff, initial_backoff × multiplier^(failed-1))`.
    pub fn backoff(&self, failed: u32) -> Duration {
        let exp = failed.saturating_sub(1).min(64) as i32;
        let factor = self.multiplier.max(1.0).powi(exp);
        let secs = self.initial_backoff.as_secs_f64() * factor;
        let max = self.max_backoff.as_secs_f64();
        if !secs.is_finite() || secs >= max {
            self.max_backoff
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// [`backoff`](Self::backoff) with jitter when configured: uniformly between half of it
    /// and all of it.
    pub fn backoff_jittered(&self, failed: u32) -> Duration {
        let full = self.backoff(failed);
        if !self.jitter {
            return full;
        }
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            max_age: Duration::from_secs(60),
            jitter: false,
        }
    }

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let p = policy();
        let waits: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        let p = RetryPolicy {
            jitter: true,
            ..policy()
        };
        for _ in 0..200 {
            let w = p.backoff_jittered(3);
            assert!(w >= Duration::from_millis(200) && w <= Duration::from_millis(400));
        }
    }
}
