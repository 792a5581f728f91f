//! Which parts a refresh reads. Without push every refresh reads everything. With push
//! (the session LISTENs and the triggers of `sql/004` are in force) the months and the
//! queue are read only when a notification says their table changed — or when the queue
//! changes with nothing written (an invisible message becomes ready again at a time the
//! last read told), or as a safety net every [`FULL_EVERY`] — while the locks and their
//! sessions, which nothing notifies of, are read at every regular refresh. A pushed
//! change of the months is read at once (the screen follows within the push latency);
//! a pushed change of the queue waits for the next regular refresh (a busy fleet changes
//! it many times a second; its figures are at most one refresh old).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Parts, ReadCache};

/// With push, everything is read at least this often anyway (a writer with
/// `session_replication_role = replica`, or a trigger disabled by hand, notifies nobody).
pub const FULL_EVERY: Duration = Duration::from_secs(30);
/// A queue beyond the exact cap is sampled again at most this often; in between its
/// estimates scale the last sample's shares to the catalogue's row count.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// Notifications tell of changes to the months.
    months_pushed: bool,
    /// ... and to the queue (our own queue table).
    queue_pushed: bool,
    months_dirty: bool,
    queue_dirty: bool,
    last_full: Option<Instant>,
    last_sample: Option<Instant>,
    /// When an invisible message becomes ready again (as a local instant).
    queue_due: Option<Instant>,
}

impl ReadPlan {
    /// `push`: the session LISTENs and the triggers are in force; `own_queue`: the queue is
    /// our `backfill_queue` table (a deployment's own queue notifies nobody).
    pub fn new(push: bool, own_queue: bool) -> Self {
        Self {
            months_pushed: push,
            queue_pushed: push && own_queue,
            months_dirty: true,
            queue_dirty: true,
            last_full: None,
            last_sample: None,
            queue_due: None,
        }
    }

    /// A notification's payload (the table that changed). Returns whether it asks for a
    /// read before the next regular refresh (the months changed).
    pub fn pushed(&mut self, payload: &str) -> bool {
        match payload {
            "backfill_log" => self.months_dirty = true,
            "backfill_queue" | "backfill_queue_dead" => self.queue_dirty = true,
            _ => {
                self.months_dirty = true;
                self.queue_dirty = true;
            }
        }
        self.months_dirty && self.months_pushed
    }

    /// The parts of a regular refresh at `now`.
    pub fn regular(&self, now: Instant) -> Parts {
        let full = self.last_full.is_none_or(|at| now.duration_since(at) >= FULL_EVERY);
        let due = self.queue_due.is_some_and(|at| now >= at);
        Parts {
            locks: true,
            months: full || !self.months_pushed || self.months_dirty,
            queue: full || !self.queue_pushed || self.queue_dirty || due,
            sample: self.sample_due(now),
        }
    }

    /// The parts of a refresh a push brought forward: the months (and the processing
    /// months' messages with them), nothing else.
    pub fn early(&self, now: Instant) -> Parts {
        Parts { locks: false, months: true, queue: false, sample: self.sample_due(now) }
    }

    fn sample_due(&self, now: Instant) -> bool {
        self.last_sample.is_none_or(|at| now.duration_since(at) >= SAMPLE_EVERY)
    }

    /// After a read of `parts` at `now` that left `cache` (the server's clock said `taken_at`).
    pub fn read(&mut self, parts: Parts, now: Instant, taken_at: DateTime<Utc>, cache: &ReadCache) {
        if parts.months {
            self.months_dirty = false;
        }
        if parts.queue {
            self.queue_dirty = false;
            if parts.sample && cache.queue_sampled() {
                self.last_sample = Some(now);
            }
            self.queue_due = cache.next_visible_at().map(|at| now + (at - taken_at).to_std().unwrap_or(Duration::ZERO));
        }
        if parts.locks && parts.months && parts.queue {
            self.last_full = Some(now);
        }
    }

    /// A read that failed: everything is read again next time.
    pub fn failed(&mut self) {
        self.months_dirty = true;
        self.queue_dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn without_push_every_refresh_reads_everything() {
        let mut plan = ReadPlan::new(false, true);
        let t0 = Instant::now();
        plan.read(Parts::ALL, t0, Utc::now(), &ReadCache::default());
        let parts = plan.regular(t0 + secs(1));
        assert!(parts.locks && parts.months && parts.queue);
    }

    #[test]
    fn with_push_a_quiet_refresh_reads_only_the_locks() {
        let mut plan = ReadPlan::new(true, true);
        let t0 = Instant::now();
        assert_eq!(plan.regular(t0), Parts::ALL, "the first read is whole");
        plan.read(Parts::ALL, t0, Utc::now(), &ReadCache::default());
        let quiet = plan.regular(t0 + secs(1));
        assert!(quiet.locks && !quiet.months && !quiet.queue, "{quiet:?}");
        // A change to the queue waits for the regular refresh; one to the months asks now.
        assert!(!plan.pushed("backfill_queue"));
        let parts = plan.regular(t0 + secs(2));
        assert!(parts.queue && !parts.months);
        assert!(plan.pushed("backfill_log"));
        assert!(plan.early(t0 + secs(2)).months);
        assert!(!plan.early(t0 + secs(2)).locks);
        plan.read(plan.regular(t0 + secs(2)), t0 + secs(2), Utc::now(), &ReadCache::default());
        let quiet = plan.regular(t0 + secs(3));
        assert!(!quiet.months && !quiet.queue);
        // The safety net.
        assert_eq!(plan.regular(t0 + secs(2) + FULL_EVERY), Parts::ALL);
    }

    #[test]
    fn a_deployments_own_queue_is_read_at_every_refresh() {
        let mut plan = ReadPlan::new(true, false);
        let t0 = Instant::now();
        plan.read(Parts::ALL, t0, Utc::now(), &ReadCache::default());
        let parts = plan.regular(t0 + secs(1));
        assert!(parts.queue && !parts.months);
    }

    #[test]
    fn a_failed_read_reads_everything_next() {
        let mut plan = ReadPlan::new(true, true);
        let t0 = Instant::now();
        plan.read(Parts::ALL, t0, Utc::now(), &ReadCache::default());
        plan.failed();
        let parts = plan.regular(t0 + secs(1));
        assert!(parts.months && parts.queue);
    }
}
