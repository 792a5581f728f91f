//! Reads that cost more than a refresh, kept between snapshots and made every so often:
//! the duplicate check and the throughput history.

use std::time::{Duration, Instant};

use crate::db::connect::Session;
use crate::db::{DbError, progress, queue};
use crate::model::progress::History;
use crate::model::snapshot::Duplicate;

/// How often the queue is walked for duplicate messages (issue 21: found within a minute).
const DUPLICATES_EVERY: Duration = Duration::from_secs(30);
/// The throughput history changes by the minute (its buckets are hours and ten minutes).
const HISTORY_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Occasional {
    duplicates: Slot<Vec<Duplicate>>,
    history: Slot<History>,
}

/// Which of them one call read anew.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fresh {
    pub duplicates: bool,
    pub history: bool,
}

impl Occasional {
    /// Reads what is due (the duplicate check only for our own queue table).
    pub async fn read_when_due(&mut self, s: &Session, own_queue: bool, deadline: Duration) -> Fresh {
        let mut fresh = Fresh::default();
        if own_queue {
            let read = || queue::duplicates(&s.client);
            fresh.duplicates =
                when_due(&mut self.duplicates, DUPLICATES_EVERY, deadline, "duplicate queue messages", read).await;
        }
        let read = || progress::history(&s.client);
        fresh.history = when_due(&mut self.history, HISTORY_EVERY, deadline, "throughput history", read).await;
        fresh
    }

    pub fn duplicates(&self) -> Vec<Duplicate> {
        self.duplicates.value.clone().unwrap_or_default()
    }

    pub fn history(&self) -> Option<History> {
        self.history.value.clone()
    }

    /// What another console read (the relay's leader), kept as if read here.
    pub fn store(&mut self, duplicates: Option<Vec<Duplicate>>, history: Option<History>) {
        let now = Some(Instant::now());
        if let Some(d) = duplicates {
            self.duplicates = Slot { tried: now, value: Some(d) };
        }
        if let Some(h) = history {
            self.history = Slot { tried: now, value: Some(h) };
        }
    }
}

/// The last value read, and when it was last tried.
struct Slot<T> {
    tried: Option<Instant>,
    value: Option<T>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self { tried: None, value: None }
    }
}

/// Reads into `slot` when it was never tried or `every` has passed since; a failure keeps
/// the old value and is logged (once per period): these are extras, never a reason to
/// drop the session. Returns whether a new value was read.
async fn when_due<T, F, Fut>(slot: &mut Slot<T>, every: Duration, deadline: Duration, what: &str, read: F) -> bool
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    if slot.tried.is_some_and(|at| at.elapsed() < every) {
        return false;
    }
    slot.tried = Some(Instant::now());
    match tokio::time::timeout(deadline, read()).await {
        Ok(Ok(found)) => {
            slot.value = Some(found);
            true
        }
        Ok(Err(e)) => {
            tracing::warn!("could not read the {what}: {e}");
            false
        }
        Err(_) => {
            tracing::warn!("reading the {what} took over {}s", deadline.as_secs());
            false
        }
    }
}
