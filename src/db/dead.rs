//! The dead-letter table (`backfill_queue_dead`): read it, move messages back to the
//! queue (redrive), delete them (purge).
//!
//! A redrive moves its messages in chunks, each ONE transaction that deletes them from
//! the dead table and inserts them into the queue in one statement (ready now,
//! `read_count` 0, the same `msg_id`) and writes its audit row: a message is in exactly
//! one of the two tables whatever happens — a cancel between chunks, a lost link in the
//! middle of one (that chunk rolls back). A message whose month is `completed` since is
//! left where it is unless forced.

use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::Client;

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::txn;
use crate::db::param::p;
use crate::model::Status;
pub use crate::model::dead::{DeadMessage, PurgeReport, RedriveReport, RedriveSkip, SkippedMessage, compact_ids};
use crate::model::lock_key::YearMonth;

/// The grouping key of a reason: blank or missing reads "(no reason)".
pub const REASON_KEY: &str = "coalesce(nullif(btrim(d.reason), ''), '(no reason)')";

pub async fn list(client: &Client, reason: Option<&str>) -> Result<Vec<DeadMessage>, DbError> {
    let rows = client
        .query_typed(
            &format!(
                "SELECT d.msg_id, d.read_count, d.enqueued_at, d.dead_at, d.reason, d.message, y, mo, b.status::text
                 FROM backfill_queue_dead d
                 CROSS JOIN LATERAL (SELECT CASE WHEN d.message ->> 'year' ~ '^[0-9]{{4}}$'
                                                  AND d.message ->> 'month' ~ '^[0-9]{{1,2}}$'
                                             THEN (d.message ->> 'year')::int END AS y,
                                            CASE WHEN d.message ->> 'year' ~ '^[0-9]{{4}}$'
                                                  AND d.message ->> 'month' ~ '^[0-9]{{1,2}}$'
                                             THEN (d.message ->> 'month')::int END AS mo) m
                 LEFT JOIN backfill_log b ON b.year = m.y AND b.month = m.mo
                 WHERE $1::text IS NULL OR {REASON_KEY} = $1
                 ORDER BY d.dead_at DESC, d.msg_id DESC"
            ),
            &[p(&reason)],
        )
        .await
        .map_err(|e| DbError::query("read the dead-letter table", e))?;
    Ok(rows
        .iter()
        .map(|r| DeadMessage {
            msg_id: r.get(0),
            read_count: r.get(1),
            enqueued_at: r.get(2),
            dead_at: r.get(3),
            reason: r.get(4),
            message: r.get(5),
            month: r.get::<_, Option<i32>>(6).zip(r.get::<_, Option<i32>>(7)).and_then(|(y, m)| YearMonth::new(y, m)),
            month_status: r.get::<_, Option<String>>(8).map(|s| Status::parse(&s)),
        })
        .collect())
}

/// One chunk's SQL: lock the chosen dead letters and read their month's status.
const CHOSEN: &str = "SELECT d.msg_id, b.status::text
    FROM backfill_queue_dead d
    LEFT JOIN backfill_log b
      ON d.message ->> 'year' ~ '^[0-9]{4}$' AND d.message ->> 'month' ~ '^[0-9]{1,2}$'
     AND b.year = (d.message ->> 'year')::int AND b.month = (d.message ->> 'month')::int
    WHERE d.msg_id = ANY($1) FOR UPDATE OF d";

/// Out of the dead table and into the queue in one statement: ready now, read_count 0.
const MOVE: &str = "WITH moved AS (DELETE FROM backfill_queue_dead WHERE msg_id = ANY($1) RETURNING msg_id, message)
    INSERT INTO backfill_queue (msg_id, message) SELECT msg_id, message FROM moved ORDER BY msg_id
    RETURNING msg_id";

/// What the operator chose, for the audit rows.
#[derive(Debug, Clone)]
pub struct RedriveRequest<'a> {
    pub ids: &'a [i64],
    /// Also messages whose month is `completed` since.
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
/// turns true, and tells `progress` after each chunk.
pub async fn redrive(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RedriveRequest<'_>,
    cancel: &mut watch::Receiver<bool>,
    progress: &mut (dyn FnMut(&RedriveReport) + Send),
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
        redrive_chunk(client, local_settings, actor, request, chunk, (i + 1, chunks.len()), &mut report).await?;
        progress(&report);
        if i + 1 < chunks.len() && !request.pause.is_zero() {
            // The pause ends early on a cancel (then the loop stops at its top).
            let _ = tokio::time::timeout(request.pause, cancel.wait_for(|stop| *stop)).await;
        }
    }
    Ok(report)
}

async fn redrive_chunk(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RedriveRequest<'_>,
    chunk: &[i64],
    (number, of): (usize, usize),
    report: &mut RedriveReport,
) -> Result<(), DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let ids: Vec<i64> = chunk.to_vec();
    let tx = txn::begin(client, local_settings, "begin the redrive").await?;
    let found = tx.query_typed(CHOSEN, &[p(&ids)]).await.map_err(q("read the chosen dead letters"))?;
    let mut movable = Vec::new();
    let mut skipped = Vec::new();
    for id in &ids {
        match found.iter().find(|r| r.get::<_, i64>(0) == *id) {
            None => skipped.push(SkippedMessage { msg_id: *id, why: RedriveSkip::Gone }),
            Some(row) if !request.force && row.get::<_, Option<String>>(1).as_deref() == Some("completed") => {
                skipped.push(SkippedMessage { msg_id: *id, why: RedriveSkip::MonthCompleted })
            }
            Some(_) => movable.push(*id),
        }
    }
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
        let outcome = format!("done: moved {}, skipped {}", moved.len(), skipped.len());
        let entry = AuditEntry {
            action: "dead.redrive",
            target: None,
            target_pid: None,
            parameters: serde_json::json!({
                "selection": request.selection,
                "ids": compact_ids(&ids),
                "force": request.force,
                "chunk": format!("{number}/{of}"),
            }),
            outcome: &outcome,
            detail: Some(serde_json::json!({ "moved": moved, "skipped": skipped })),
        };
        audit::record(&tx, actor, &entry).await?;
        tx.commit().await.map_err(q("commit the redrive"))?;
    }
    report.moved.extend(moved);
    report.skipped.extend(skipped);
    report.chunks += 1;
    Ok(())
}

/// Deletes the chosen dead letters, in one transaction with its audit row.
pub async fn purge(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    ids: &[i64],
    selection: &str,
) -> Result<PurgeReport, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let ids: Vec<i64> = ids.to_vec();
    let tx = txn::begin(client, local_settings, "begin the purge").await?;
    let purged: Vec<i64> = tx
        .query_typed("DELETE FROM backfill_queue_dead WHERE msg_id = ANY($1) RETURNING msg_id", &[p(&ids)])
        .await
        .map_err(q("delete the dead letters"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut gone: Vec<i64> = ids.iter().copied().filter(|id| !purged.contains(id)).collect();
    gone.sort_unstable();
    let outcome = format!("done: purged {}, gone already {}", purged.len(), gone.len());
    let entry = AuditEntry {
        action: "dead.purge",
        target: None,
        target_pid: None,
        parameters: serde_json::json!({ "selection": selection, "ids": compact_ids(&ids) }),
        outcome: &outcome,
        detail: Some(serde_json::json!({ "purged": purged })),
    };
    let id = audit::record(&tx, actor, &entry).await?;
    tx.commit().await.map_err(q("commit the purge"))?;
    let mut purged = purged;
    purged.sort_unstable();
    Ok(PurgeReport { purged, gone, audit_id: Some(id) })
}
