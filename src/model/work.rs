//! What is happening to each `processing` month, from its lock and its live message:
//! the evidence that tells a consumer stall (its message still waits in the queue) from
//! a dead consumer (a consumer took the message and left) from an abandoned month
//! (no message, no worker: nothing will ever finish it). Pure.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lock_key::YearMonth;
use super::snapshot::Snapshot;
use super::time::since;

/// A `processing` month's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Work {
    /// A session holds the month's lock: a worker on it.
    Held,
    /// Its message waits in the queue to be taken (never read, or visible again after a
    /// consumer's visibility timeout ended), `for` this long.
    Waiting {
        msg_id: i64,
        #[serde(serialize_with = "secs")]
        waited: Duration,
        redelivery: bool,
    },
    /// A consumer took its message (read, invisible) but no session holds the lock: the
    /// consumer went away; the queue hands the message out again at `visible_at`.
    TakenAndLeft { msg_id: i64, visible_at: DateTime<Utc> },
    /// No live message and no lock holder: nothing will finish it.
    Abandoned,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// One `processing` month and what is happening to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthWork {
    #[serde(serialize_with = "super::months::as_text::one")]
    pub month: YearMonth,
    /// How long it has been `processing` (`None`: no `started_at`).
    #[serde(serialize_with = "opt_secs")]
    pub processing_for: Option<Duration>,
    #[serde(flatten)]
    pub work: Work,
    /// Its message's deliveries so far.
    #[serde(skip)]
    read_count: i32,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

impl MonthWork {
    /// How many times its message was delivered (0 when it has none).
    pub fn read_count(&self) -> i32 {
        self.read_count
    }
}

/// Every `processing` month's work; `None` when where its message is is not known (a
/// deployment whose queue is not the `backfill_queue` table).
pub fn processing_work(snapshot: &Snapshot) -> Option<Vec<MonthWork>> {
    let queued = snapshot.processing.as_ref()?;
    let now = snapshot.taken_at;
    let held: BTreeSet<YearMonth> = snapshot.locks.iter().filter(|l| l.granted).filter_map(|l| l.month()).collect();
    let mut all: Vec<MonthWork> = queued
        .iter()
        .filter_map(|q| {
            let month = q.year_month()?;
            let row = snapshot.month(month);
            let processing_for = row.and_then(|r| r.started_at).map(|s| since(s, now));
            let work = match (held.contains(&month), q.msg_id) {
                (true, _) => Work::Held,
                (false, None) => Work::Abandoned,
                (false, Some(msg_id)) => {
                    let read = q.read_count.unwrap_or(0) > 0;
                    let visible_at = q.visible_at.unwrap_or(now);
                    if read && visible_at > now {
                        Work::TakenAndLeft { msg_id, visible_at }
                    } else {
                        // Waiting since it became visible (a delayed one: not yet).
                        let from = q.enqueued_at.unwrap_or(now).max(visible_at);
                        Work::Waiting { msg_id, waited: since(from, now), redelivery: read }
                    }
                }
            };
            Some(MonthWork { month, processing_for, work, read_count: q.read_count.unwrap_or(0) })
        })
        .collect();
    all.sort_by_key(|w| std::cmp::Reverse(w.month));
    Some(all)
}
