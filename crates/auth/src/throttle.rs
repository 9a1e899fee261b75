//! Failed logins per client address: more than a set number within a window and the address
//! is refused (without checking any password) until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// Most addresses remembered; beyond, the ones with the oldest last failure are forgotten
/// (bounded memory under a spray from many addresses).
const MAX_ADDRESSES: usize = 100_000;

/// Failures per address.
#[derive(Debug, Default)]
pub struct IpThrottle {
    failures: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
}

impl IpThrottle {
    /// Seconds until `ip` may try again, when it has `max` failures within `window`.
    pub fn blocked_for(
        &mut self,
        ip: IpAddr,
        now: DateTime<Utc>,
        max: u32,
        window: Duration,
    ) -> Option<u64> {
        let q = self.failures.get_mut(&ip)?;
        while q.front().is_some_and(|t| *t + window <= now) {
            q.pop_front();
        }
        if q.is_empty() {
            self.failures.remove(&ip);
            return None;
        }
        if q.len() < max as usize {
            return None;
        }
        let oldest = *q.front()?;
        Some(((oldest + window - now).num_seconds()).max(1) as u64)
    }

    /// Records a failure from `ip`.
    pub fn fail(&mut self, ip: IpAddr, now: DateTime<Utc>, max: u32) {
        if self.failures.len() >= MAX_ADDRESSES && !self.failures.contains_key(&ip) {
            self.evict();
        }
        let q = self.failures.entry(ip).or_default();
        q.push_back(now);
        while q.len() > max as usize {
            q.pop_front();
        }
    }

    /// Forgets the address whose last failure is oldest... in bulk: a tenth of them.
    fn evict(&mut self) {
        let mut last: Vec<(DateTime<Utc>, IpAddr)> = self
            .failures
            .iter()
            .filter_map(|(ip, q)| q.back().map(|t| (*t, *ip)))
            .collect();
        last.sort();
        for (_, ip) in last.into_iter().take(MAX_ADDRESSES / 10) {
            self.failures.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_the_window_passes() {
        let mut t = IpThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let start = Utc::now();
        let w = Duration::minutes(10);
        for i in 0..3 {
            assert_eq!(t.blocked_for(ip, start, 3, w), None);
            t.fail(ip, start + Duration::seconds(i), 3);
        }
        assert_eq!(
            t.blocked_for(ip, start + Duration::seconds(10), 3, w),
            Some(590)
        );
        assert_eq!(t.blocked_for(other, start, 3, w), None);
        assert_eq!(
            t.blocked_for(ip, start + Duration::seconds(601), 3, w),
            None
        );
    }
}
