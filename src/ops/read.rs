//! Judged reads. [`judged`] is the one-shot commands' read: one read, its duplicate check
//! and (when asked) its throughput history, judged by the thresholds with no history of
//! its own, so hold times come from the holders' idle time only (a lower bound). [`Kept`]
//! is the read of a reader that comes back to the same database again and again without
//! push (`serve`): what did not change since its last read costs only a fingerprint, the
//! costlier reads are made when due, and it judges with its own hold and queue history —
//! as the console's worker (`tui/worker`) and `app::absorb` do.

use std::time::{Duration, Instant};

use super::occasional::Occasional;
use crate::db::DbError;
use crate::db::connect::{Pooling, Session};
use crate::db::{progress, queue, snapshot};
use crate::model::queue_history::QueueHistory;
use crate::model::stuck::{Thresholds, assess_with};
use crate::model::verdict::QueueRates;
use crate::model::{Assessment, HoldTracker, Snapshot};

/// What a judged read needs besides the session.
pub struct ReadOptions<'a> {
    pub thresholds: &'a Thresholds,
    /// The site's own queue-depth query (no duplicate check then: the queue is not ours).
    pub queue_depth_query: Option<&'a str>,
    /// Also the throughput history (the rate and the ETA band).
    pub with_history: bool,
}

/// Reads one snapshot on `session` and judges it.
pub async fn judged(session: &Session, options: &ReadOptions<'_>) -> Result<(Snapshot, Assessment), DbError> {
    let (mut snap, _) = snapshot::read_incremental_with(
        &session.client,
        session.per_transaction.as_deref(),
        options.queue_depth_query,
        None,
    )
    .await?;
    if options.queue_depth_query.is_none() {
        snap.duplicates = queue::duplicates(&session.client).await?;
    }
    if options.with_history {
        snap.history = Some(progress::history(&session.client).await?);
    }
    let mut holds = HoldTracker::default();
    holds.observe(&snap);
    let assessment = judge(&snap, &holds, session, options, None);
    Ok((snap, assessment))
}

/// A judged read kept up from one read to the next (see the module's text).
pub struct Kept {
    reader: snapshot::Reader,
    plan: snapshot::ReadPlan,
    occasional: Occasional,
    holds: HoldTracker,
    queue: QueueHistory,
}

impl Kept {
    /// For a database whose queue depth comes from `queue_depth_query` when it has one.
    pub fn new(queue_depth_query: Option<&str>) -> Self {
        Self {
            reader: snapshot::Reader::new(queue_depth_query.map(str::to_string)),
            // No push: every read asks for every part, and gets back only what changed.
            plan: snapshot::ReadPlan::new(false, queue_depth_query.is_none()),
            occasional: Occasional::default(),
            holds: HoldTracker::default(),
            queue: QueueHistory::default(),
        }
    }

    /// Reads anew on `session` (any session: a new one is prepared for on first use) and
    /// judges. The duplicate check and the throughput history are read when due (every
    /// 30 s and every minute), each within `deadline`; a failure of either keeps its last
    /// value. The history is always read here (`options.with_history` is for [`judged`]).
    pub async fn read(
        &mut self,
        session: &Session,
        options: &ReadOptions<'_>,
        deadline: Duration,
    ) -> Result<(Snapshot, Assessment), DbError> {
        let started = Instant::now();
        let parts = self.plan.regular(started);
        let read = match self.reader.read(session, parts).await {
            Ok(read) => read,
            Err(e) => {
                self.plan.failed();
                return Err(e);
            }
        };
        self.plan.read(parts, started, read.snapshot.taken_at, self.reader.cache());
        let mut snap = read.snapshot;
        self.occasional.read_when_due(session, options.queue_depth_query.is_none(), deadline).await;
        snap.duplicates = self.occasional.duplicates();
        snap.history = self.occasional.history();
        snap.sort_months();
        self.holds.observe(&snap);
        self.queue.push(snap.taken_at, &snap.queue);
        let assessment = judge(&snap, &self.holds, session, options, self.queue.steady_rates());
        Ok((snap, assessment))
    }
}

fn judge(
    snap: &Snapshot,
    holds: &HoldTracker,
    session: &Session,
    options: &ReadOptions<'_>,
    rates: Option<QueueRates>,
) -> Assessment {
    let mut thresholds = options.thresholds.clone();
    // Only a transaction pooler strands locks: its address is one to judge holders by.
    thresholds.poolers.extend(session.pooler_addr.clone().filter(|_| session.pooling == Pooling::Transaction));
    assess_with(snap, holds, &thresholds, rates)
}
