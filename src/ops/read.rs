//! The read of a judged snapshot for the one-shot commands: one read, its duplicate
//! check and (when asked) its throughput history, judged by the thresholds. One-shot
//! commands have no history, so hold times come from the holders' idle time only (a
//! lower bound). The console's worker reads incrementally (`tui/worker`) and judges
//! with its hold history (`app::absorb`).

use crate::db::DbError;
use crate::db::connect::{Pooling, Session};
use crate::db::{progress, queue, snapshot};
use crate::model::stuck::Thresholds;
use crate::model::{Assessment, HoldTracker, Snapshot, assess};

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
    let mut thresholds = options.thresholds.clone();
    // Only a transaction pooler strands locks: its address is one to judge holders by.
    thresholds.poolers.extend(session.pooler_addr.clone().filter(|_| session.pooling == Pooling::Transaction));
    let assessment = assess(&snap, &holds, &thresholds);
    Ok((snap, assessment))
}
