//! Queue depth over the session: a bounded ring (flat memory for days of
//! `watch`), with enqueue/dequeue rates from the id sequence.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::model::QueueDepth;

/// One hour at a 1 s refresh; older samples are dropped.
pub const CAPACITY: usize = 3600;
const RATE_WINDOW_SECS: i64 = 60;
const STEADY_WINDOW_SECS: i64 = 300;
const STEADY_MIN_SECS: i64 = 180;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub depth: i64,
    pub dead: i64,
    pub enqueued_total: i64,
}

#[derive(Debug, Clone, Default)]
pub struct QueueHistory {
    samples: VecDeque<Sample>,
}

/// Messages a minute in and out (the verdicts judge a consumer stall by them too).
pub type Rates = crate::model::verdict::QueueRates;

impl QueueHistory {
    pub fn push(&mut self, at: DateTime<Utc>, q: &QueueDepth) {
        let depth = q.ready + q.in_flight + q.delayed;
        if self.samples.back().is_some_and(|s| s.at >= at) {
            return; // the same snapshot twice, or a clock step back
        }
        if self.samples.len() == CAPACITY {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { at, depth, dead: q.dead, enqueued_total: q.enqueued_total });
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The last `n` depths, oldest first (for a sparkline `n` cells wide).
    pub fn depths(&self, n: usize) -> Vec<u64> {
        let skip = self.samples.len().saturating_sub(n);
        self.samples.iter().skip(skip).map(|s| u64::try_from(s.depth).unwrap_or(0)).collect()
    }

    /// Rates over the last minute (or what there is of it); `None` before two samples.
    pub fn rates(&self) -> Option<Rates> {
        self.rates_within(RATE_WINDOW_SECS)
    }

    /// Rates over the last five minutes, once at least three have been watched: steady
    /// enough to call a stall by (a scheduler's burst makes the last minute's lopsided).
    pub fn steady_rates(&self) -> Option<Rates> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        ((last.at - first.at).num_seconds() >= STEADY_MIN_SECS).then(|| self.rates_within(STEADY_WINDOW_SECS)).flatten()
    }

    fn rates_within(&self, window: i64) -> Option<Rates> {
        let last = self.samples.back()?;
        let first = self.samples.iter().find(|s| (last.at - s.at).num_seconds() <= window)?;
        let secs = (last.at - first.at).num_milliseconds() as f64 / 1000.0;
        if secs <= 0.0 {
            return None;
        }
        let enqueued = (last.enqueued_total - first.enqueued_total).max(0) as f64;
        // What left the queue: what came in minus what it grew by (dead-lettered counts as left).
        let dequeued = (enqueued - (last.depth - first.depth) as f64).max(0.0);
        Some(Rates { enqueued: enqueued * 60.0 / secs, dequeued: dequeued * 60.0 / secs })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn q(ready: i64, total: i64) -> QueueDepth {
        QueueDepth { ready, enqueued_total: total, ..QueueDepth::default() }
    }

    #[test]
    fn bounded_and_rated() {
        let mut h = QueueHistory::default();
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        for i in 0..(CAPACITY as i64 + 50) {
            // 2 in, 1 out per second: depth grows by 1/s.
            h.push(t0 + chrono::Duration::seconds(i), &q(i, 2 * i));
        }
        assert_eq!(h.len(), CAPACITY, "never grows past its capacity");
        let r = h.rates().unwrap();
        assert!((r.enqueued - 120.0).abs() < 0.01, "{r:?}");
        assert!((r.dequeued - 60.0).abs() < 0.01, "{r:?}");
        assert_eq!(h.depths(3).len(), 3);
        h.push(t0, &q(0, 0));
        assert_eq!(h.len(), CAPACITY, "an older sample is ignored");
    }
}
