//! The clock of throttled work (the watchlist's file checks) and of expiries (entries of the
//! console's lists), injectable so tests move time instead of sleeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// A source of monotonic time and of the wall-clock time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;

    /// The current UTC time.
    fn utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The real clock ([`Instant::now`], [`Utc::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (for tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<(Instant, DateTime<Utc>)>);

impl ManualClock {
    /// A clock standing at the current instant.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new((Instant::now(), Utc::now()))))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock();
        t.0 += d;
        if let Ok(d) = chrono::Duration::from_std(d) {
            t.1 += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.0.lock().0
    }

    fn utc(&self) -> DateTime<Utc> {
        self.0.lock().1
    }
}
