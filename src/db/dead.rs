//! The dead-letter table (`backfill_queue_dead`): read it (reasons counted in the
//! database, the newest messages a page at a time), move messages back to the queue
//! (redrive), delete them (purge).
//!
//! A redrive moves its messages in chunks, each ONE transaction that deletes them from
//! the dead table and inserts them into the queue in one statement (ready now,
//! `read_count` 0, the same `msg_id`) and writes its audit row: a message is in exactly
//! one of the two tables whatever happens — a cancel between chunks, a lost link in the
//! middle of one (that chunk rolls back).
//!
//! A redrive never gives a month a second live message. In each chunk it first takes
//! the chosen months' locks (transaction-scoped try-locks: a month a live session holds
//! is left alone), and only then — in a later statement, so it sees whatever a claim
//! committed before the lock was taken — reads each month's status and live messages:
//! - a month with a live message (ready, in flight or delayed) keeps only that one;
//! - a `completed` or `processing` month is left alone unless forced;
//! - a `pending`, `retry` or `failed` month is claimed for the message in the same
//!   transaction (`processing`, as the claim routine would), so no claim queues it again;
//! - two dead letters of one month in one redrive: the first goes, the second stays.

use crate::model::audit::Action;
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_postgres::{Client, GenericClient};

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::txn;
use crate::db::param::p;
use crate::model::Status;
use crate::model::dead::{Chosen, Claim, MonthState, redrive_decisions};
pub use crate::model::dead::{
    ClaimedFor, DeadLetters, DeadMessage, DeadReason, PurgeReport, RedriveReport, RedriveSkip, SkippedMessage, Which,
    compact_ids,
};
use crate::model::lock_key::YearMonth;
use crate::model::payload::Payload;

/// The grouping key of a reason: blank or missing reads "(no reason)".
pub const REASON_KEY: &str = "coalesce(nullif(btrim(d.reason), ''), '(no reason)')";

/// The messages `dead list` and the console's view read at most by default.
pub const PAGE: i64 = 200;

/// Every reason with its count, and the newest `limit` messages (of `reason` when given).
pub async fn list(client: &Client, reason: Option<&str>, limit: i64) -> Result<DeadLetters, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let reasons = client
        .query_typed(
            &format!(
                "SELECT {REASON_KEY}, count(*), max(d.dead_at), now() FROM backfill_queue_dead d
                 GROUP BY 1 ORDER BY 2 DESC, 1"
            ),
            &[],
        )
        .await
        .map_err(q("count the dead letters by reason"))?;
    let read_at: Option<DateTime<Utc>> = reasons.first().map(|r| r.get(3));
    let reasons: Vec<DeadReason> =
        reasons.iter().map(|r| DeadReason { reason: r.get(0), count: r.get(1), newest: r.get(2) }).collect();
    let rows = client
        .query_typed(
            &format!(
                "SELECT d.msg_id, d.read_count, d.enqueued_at, d.dead_at, d.reason, d.message::text, b.year, b.month,
                        b.status::text
                 FROM backfill_queue_dead d
                 LEFT JOIN backfill_log b ON b.year = backfill_message_month(d.message) / 100
                                         AND b.month = backfill_message_month(d.message) % 100
                 WHERE $1::text IS NULL OR {REASON_KEY} = $1
                 ORDER BY d.dead_at DESC, d.msg_id DESC LIMIT $2"
            ),
            &[p(&reason), p(&limit.max(0))],
        )
        .await
        .map_err(q("read the dead-letter table"))?;
    let messages = rows
        .iter()
        .map(|r| DeadMessage {
            msg_id: r.get(0),
            read_count: r.get(1),
            enqueued_at: r.get(2),
            dead_at: r.get(3),
            reason: r.get(4),
            message: Payload::parse(&r.get::<_, String>(5)),
            month: r.get::<_, Option<i32>>(6).zip(r.get::<_, Option<i32>>(7)).and_then(|(y, m)| YearMonth::new(y, m)),
            month_status: r.get::<_, Option<String>>(8).map(|s| Status::parse(&s)),
        })
        .collect();
    let total = reasons.iter().map(|r| r.count).sum();
    Ok(DeadLetters { total, reasons, messages, read_at })
}

/// The ids `which` names now (no payload read): every dead letter, those of a reason,
/// or the ids given. `until`: none that died after it (what the operator saw).
pub async fn ids<C: GenericClient>(
    client: &C,
    which: &Which,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<i64>, DbError> {
    let (reason, all) = match which {
        Which::Ids(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            return Ok(ids);
        }
        Which::All => (None, true),
        Which::Reason(r) => (Some(r.as_str()), false),
    };
    let rows = client
        .query_typed(
            &format!(
                "SELECT d.msg_id FROM backfill_queue_dead d
                 WHERE ($1 OR {REASON_KEY} = $2) AND ($3::timestamptz IS NULL OR d.dead_at <= $3)
                 ORDER BY d.msg_id"
            ),
            &[p(&all), p(&reason), p(&until)],
        )
        .await
        .map_err(|e| DbError::query("choose the dead letters", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// One chunk, step 1: lock the chosen dead letters, and try the month lock of each one's
/// month (the same key as the fleet's session locks).
const LOCK: &str = "WITH chosen AS MATERIALIZED (
      SELECT d.msg_id, backfill_message_month(d.message) AS key FROM backfill_queue_dead d
      WHERE d.msg_id = ANY($1) ORDER BY d.msg_id FOR UPDATE)
    SELECT c.msg_id, c.key, CASE WHEN c.key IS NULL THEN true ELSE pg_try_advisory_xact_lock(c.key::bigint) END
    FROM chosen c ORDER BY c.msg_id";

/// Step 2, a statement after the locks: each locked month's status and a live message of it.
const STATE: &str = "SELECT k.key, b.id, b.status::text,
      (SELECT q.msg_id FROM backfill_queue q WHERE backfill_message_month(q.message) = k.key LIMIT 1)
    FROM unnest($1::int[]) AS k(key)
    LEFT JOIN backfill_log b ON b.year = k.key / 100 AND b.month = k.key % 100";

/// Ids already in the queue (a message in both tables would make the move fail).
const QUEUED: &str = "SELECT msg_id FROM backfill_queue WHERE msg_id = ANY($1)";

/// Step 3: the months given a message are claimed for it, as the claim routine does.
const CLAIM: &str = "UPDATE backfill_log SET status = 'processing', started_at = now(), completed_at = NULL,
      error_message = NULL,
      last_retry_at = CASE WHEN status IN ('retry', 'failed') THEN now() ELSE last_retry_at END
    WHERE id = ANY($1) AND status IN ('pending', 'retry', 'failed')
    RETURNING id";

/// Step 4: out of the dead table and into the queue in one statement: ready now, read_count 0.
const MOVE: &str = "WITH moved AS (DELETE FROM backfill_queue_dead WHERE msg_id = ANY($1) RETURNING msg_id, message)
    INSERT INTO backfill_queue (msg_id, message) SELECT msg_id, message FROM moved ORDER BY msg_id
    RETURNING msg_id";

/// What the operator chose, for the audit rows.
#[derive(Debug, Clone)]
pub struct RedriveRequest<'a> {
    pub ids: &'a [i64],
    /// Also messages whose month is `completed` or `processing` (never one whose month
    /// has a live message).
    pub force: bool,
    pub dry_run: bool,
    /// Messages per chunk (each chunk one transaction).
    pub chunk: usize,
    /// The pause between two chunks (a rate).
    pub pause: Duration,
    /// How the messages were chosen (`--all`, `--reason …`, `--ids …`).
    pub selection: &'a str,
}

/// Redrives the messages chunk by chunk; stops before the next chunk when `cancel`
/// turns true, and tells `progress` after each chunk. A chunk that fails (a lost link)
/// ends the redrive: the report says what the chunks before it did, and the error
/// (`report.error`); `Err` only when the very first chunk failed (nothing was done).
pub async fn redrive(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RedriveRequest<'_>,
    cancel: &mut watch::Receiver<bool>,
    progress: &mut (dyn FnMut(&RedriveReport) + Send),
) -> Result<RedriveReport, DbError> {
    redrive_with(client, local_settings, actor, request, cancel, progress, true).await
}

/// The redrive as it was before its month guard: every chosen message moves as it is (the
/// defect the guard prevents; tests only).
#[cfg(feature = "test-support")]
pub async fn redrive_unguarded(
    client: &mut Client,
    actor: &Actor,
    request: &RedriveRequest<'_>,
) -> Result<RedriveReport, DbError> {
    let (_stop, mut never) = watch::channel(false);
    redrive_with(client, None, actor, request, &mut never, &mut |_| {}, false).await
}

async fn redrive_with(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RedriveRequest<'_>,
    cancel: &mut watch::Receiver<bool>,
    progress: &mut (dyn FnMut(&RedriveReport) + Send),
    guarded: bool,
) -> Result<RedriveReport, DbError> {
    let mut ids = request.ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let chunks: Vec<&[i64]> = ids.chunks(request.chunk.max(1)).collect();
    let mut report = RedriveReport { dry_run: request.dry_run, ..Default::default() };
    for (i, chunk) in chunks.iter().enumerate() {
        if *cancel.borrow() {
            report.stopped = true;
            report.remaining = chunks[i..].concat();
            break;
        }
        let at = (i + 1, chunks.len());
        if let Err(e) = redrive_chunk(client, local_settings, actor, request, chunk, at, guarded, &mut report).await {
            if i == 0 {
                return Err(e);
            }
            report.stopped = true;
            report.remaining = chunks[i..].concat();
            report.error = Some(super::error::one_line(&e.to_string()));
            return Ok(report);
        }
        progress(&report);
        if i + 1 < chunks.len() && !request.pause.is_zero() {
            // The pause ends early on a cancel (then the loop stops at its top).
            let _ = tokio::time::timeout(request.pause, cancel.wait_for(|stop| *stop)).await;
        }
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn redrive_chunk(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RedriveRequest<'_>,
    chunk: &[i64],
    (number, of): (usize, usize),
    guarded: bool,
    report: &mut RedriveReport,
) -> Result<(), DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let ids: Vec<i64> = chunk.to_vec();
    let tx = txn::begin(client, local_settings, "begin the redrive").await?;
    let locked = tx.query_typed(LOCK, &[p(&ids)]).await.map_err(q("lock the chosen dead letters"))?;
    let found: BTreeMap<i64, Chosen> =
        locked.iter().map(|r| (r.get::<_, i64>(0), Chosen { key: r.get(1), locked: r.get(2) })).collect();
    let keys: Vec<i32> = found.values().filter(|c| c.locked).filter_map(|c| c.key).collect();
    let state: BTreeMap<i32, MonthState> = tx
        .query_typed(STATE, &[p(&keys)])
        .await
        .map_err(q("read the months of the chosen dead letters"))?
        .iter()
        .map(|r| {
            let status = r.get::<_, Option<String>>(2).map(|s| Status::parse(&s));
            (r.get::<_, i32>(0), MonthState { row: r.get(1), status, live: r.get(3) })
        })
        .collect();
    let queued: Vec<i64> = tx
        .query_typed(QUEUED, &[p(&ids)])
        .await
        .map_err(q("look for ids in the queue"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut decided = redrive_decisions(&ids, &found, &state, &queued, request.force);
    if !guarded {
        // Before the guard: every message found goes as it is, its month untouched.
        decided.movable = ids.iter().copied().filter(|id| found.contains_key(id) && !queued.contains(id)).collect();
        decided.claim.clear();
        decided.skipped.retain(|s| s.why == RedriveSkip::Gone || s.why == RedriveSkip::AlreadyQueued);
    }
    let claim_ids: Vec<i32> = decided.claim.iter().map(|c| c.row).collect();
    let claimed: Vec<i32> = if claim_ids.is_empty() {
        Vec::new()
    } else {
        tx.query_typed(CLAIM, &[p(&claim_ids)]).await.map_err(q("claim the months"))?.iter().map(|r| r.get(0)).collect()
    };
    // A month whose row changed under us (its lock held all along: only a writer that
    // ignores the locks) keeps its message out of the queue.
    let mut movable = decided.movable;
    let mut skipped = decided.skipped;
    let mut claims = Vec::new();
    for Claim { msg_id, row: id, month, was } in decided.claim {
        if claimed.contains(&id) {
            movable.push(msg_id);
            claims.push(ClaimedFor { msg_id, month, was });
        } else {
            skipped.push(SkippedMessage { msg_id, why: RedriveSkip::MonthProcessing });
        }
    }
    movable.sort_unstable();
    let moved: Vec<i64> = if movable.is_empty() {
        Vec::new()
    } else {
        tx.query_typed(MOVE, &[p(&movable)])
            .await
            .map_err(q("move the messages back to the queue"))?
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    if request.dry_run {
        tx.rollback().await.map_err(q("end the dry run"))?;
    } else {
        let outcome = format!("done: moved {}, left alone {}", moved.len(), skipped.len());
        let entry = AuditEntry {
            action: Action::DeadRedrive,
            target: None,
            target_pid: None,
            parameters: serde_json::json!({
                "selection": request.selection,
                "ids": compact_ids(&ids),
                "force": request.force,
                "chunk": format!("{number}/{of}"),
            }),
            outcome: &outcome,
            detail: Some(serde_json::json!({ "moved": moved, "claimed": claims, "skipped": skipped })),
        };
        audit::record(&tx, actor, &entry).await?;
        tx.commit().await.map_err(q("commit the redrive"))?;
    }
    report.moved.extend(moved);
    report.claimed.extend(claims);
    report.skipped.extend(skipped);
    report.chunks += 1;
    Ok(())
}

/// Deletes the chosen dead letters, in one transaction with its audit row. `which` is
/// resolved inside that transaction; `until` keeps out those that died after the
/// operator looked (a reason's count in the confirmation stays the most it deletes).
pub async fn purge(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    which: &Which,
    until: Option<DateTime<Utc>>,
    selection: &str,
) -> Result<PurgeReport, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let tx = txn::begin(client, local_settings, "begin the purge").await?;
    let ids = ids(&tx, which, until).await?;
    let purged: Vec<i64> = tx
        .query_typed("DELETE FROM backfill_queue_dead WHERE msg_id = ANY($1) RETURNING msg_id", &[p(&ids)])
        .await
        .map_err(q("delete the dead letters"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut purged = purged;
    purged.sort_unstable();
    let gone: Vec<i64> = ids.iter().copied().filter(|id| purged.binary_search(id).is_err()).collect();
    let outcome = format!("done: purged {}, gone already {}", purged.len(), gone.len());
    let entry = AuditEntry {
        action: Action::DeadPurge,
        target: None,
        target_pid: None,
        parameters: serde_json::json!({ "selection": selection, "ids": compact_ids(&ids) }),
        outcome: &outcome,
        detail: Some(serde_json::json!({ "purged": compact_ids(&purged) })),
    };
    let id = audit::record(&tx, actor, &entry).await?;
    tx.commit().await.map_err(q("commit the purge"))?;
    Ok(PurgeReport { purged, gone, audit_id: Some(id) })
}
