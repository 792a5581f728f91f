//! Resetting stuck months (SPEC §4): `processing` for longer than a threshold
//! goes back to `retry` with `retry_count + 1` (or to `failed` when the five
//! retries are used up — the table's check allows no sixth).
//!
//! It must not race a live worker: in one transaction, per month, take the
//! month's lock with a transaction-scoped TRY-lock first; a month whose lock a
//! live session holds is left alone. The UPDATE re-checks status and age, and
//! each reset month is audited in the same transaction.

use crate::db::param::p;
use crate::model::audit::Action;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::txn;
use crate::model::lock_key::YearMonth;
pub use crate::model::reset::{QueuedMonth, ResetReport, StuckMonthRow};

const STUCK: &str = "SELECT id, year, month, started_at, coalesce(retry_count, 0) FROM backfill_log
    WHERE status = 'processing' AND (started_at IS NULL OR started_at < now() - make_interval(secs => $1))
    ORDER BY year DESC, month DESC";

const RESET: &str = concat!(
    "UPDATE backfill_log
    SET status = CASE WHEN coalesce(retry_count, 0) >= ",
    crate::retry_cap!(),
    " THEN 'failed' ELSE 'retry' END,
        retry_count = LEAST(coalesce(retry_count, 0) + 1, ",
    crate::retry_cap!(),
    "),
        error_message = $3
    WHERE id = $1 AND status = 'processing'
      AND (started_at IS NULL OR started_at < now() - make_interval(secs => $2))
    RETURNING status::text"
);

/// The months a reset would consider (for the confirmation).
pub async fn stuck_months(client: &Client, older_than: Duration) -> Result<Vec<StuckMonthRow>, DbError> {
    let rows = client
        .query_typed(STUCK, &[p(&older_than.as_secs_f64())])
        .await
        .map_err(|e| DbError::query("list stuck months", e))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(StuckMonthRow {
                month: YearMonth::new(r.get(1), r.get(2))?,
                started_at: r.get(3),
                retry_count: r.get(4),
            })
        })
        .collect())
}

/// Resets the stuck months, or only those in `only` when given (what the operator confirmed).
/// A failure (a missing privilege, say) rolls everything back and is audited on its own.
pub async fn reset_stuck(
    client: &mut Client,
    actor: &Actor,
    older_than: Duration,
    only: Option<&[YearMonth]>,
) -> Result<ResetReport, DbError> {
    reset_stuck_with(client, None, actor, older_than, only, false).await
}

/// [`reset_stuck`], running `local_settings` (`SET LOCAL …`) first in its transaction
/// (a session through a transaction pooler: [`Session::per_transaction`](crate::db::connect::Session)).
/// A `dry_run` is the same routine — the same locks tried, the same guarded updates —
/// rolled back at the end: exactly what the reset would do now, with nothing changed or audited.
pub async fn reset_stuck_with(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    older_than: Duration,
    only: Option<&[YearMonth]>,
    dry_run: bool,
) -> Result<ResetReport, DbError> {
    let result = transact(client, local_settings, actor, older_than, only, dry_run, true).await;
    if let Err(e) = &result
        && !e.is_connection_loss()
    {
        let outcome = format!("refused: {e}");
        let entry = AuditEntry {
            action: Action::ResetStuck,
            target: None,
            target_pid: None,
            parameters: serde_json::json!({ "older_than_secs": older_than.as_secs(), "dry_run": dry_run }),
            outcome: &outcome,
            detail: None,
        };
        audit::record_best_effort(client, actor, &entry).await;
    }
    result
}

/// The reset without its live-message guard: a month whose message is still queued is
/// reset too (the defect the guard prevents; tests only).
#[cfg(feature = "test-support")]
pub async fn reset_stuck_unguarded(
    client: &mut Client,
    actor: &Actor,
    older_than: Duration,
    only: Option<&[YearMonth]>,
) -> Result<ResetReport, DbError> {
    transact(client, None, actor, older_than, only, false, false).await
}

async fn transact(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    older_than: Duration,
    only: Option<&[YearMonth]>,
    dry_run: bool,
    live_guard: bool,
) -> Result<ResetReport, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let secs = older_than.as_secs_f64();
    let tx = txn::begin(client, local_settings, "begin the reset").await?;
    let rows = tx.query_typed(STUCK, &[p(&secs)]).await.map_err(q("list stuck months"))?;
    let mut report = ResetReport { dry_run, ..ResetReport::default() };
    let mut outcomes = serde_json::Map::new();
    for row in rows {
        let id: i32 = row.get(0);
        let Some(month) = YearMonth::new(row.get(1), row.get(2)) else {
            continue;
        };
        if only.is_some_and(|list| !list.contains(&month)) {
            continue;
        }
        let free = txn::try_month_lock(&tx, month).await?;
        if !free {
            report.skipped_locked.push(month);
            outcomes.insert(month.to_string(), "left alone: a live worker holds its lock".into());
            continue;
        }
        // After the lock: a month whose message is still queued is not stuck, and a reset
        // would let the claim routine queue its work a second time.
        if let Some(msg_id) = txn::live_message(&tx, month).await?.filter(|_| live_guard) {
            let queued = QueuedMonth { month, msg_id };
            outcomes.insert(month.to_string(), format!("left alone: {}", queued.describe()).into());
            report.skipped_queued.push(queued);
            continue;
        }
        let started: Option<DateTime<Utc>> = row.get(3);
        let note = match started {
            Some(at) => {
                format!("reset by backfill-console: stuck in processing since {}", at.format("%Y-%m-%d %H:%M:%SZ"))
            }
            None => "reset by backfill-console: stuck in processing (no started_at)".to_string(),
        };
        let updated = tx.query_typed_opt(RESET, &[p(&id), p(&secs), p(&note)]).await.map_err(q("reset the month"))?;
        let Some(updated) = updated else {
            report.skipped_changed.push(month);
            outcomes.insert(month.to_string(), "left alone: no longer stuck when reached".into());
            continue;
        };
        let new_status: String = updated.get(0);
        let since = started
            .map_or("no started_at".into(), |at| format!("processing since {}", at.format("%Y-%m-%d %H:%M:%SZ")));
        outcomes.insert(month.to_string(), format!("processing -> {new_status} ({since})").into());
        report.reset.push((month, new_status));
    }
    // One audit row for the whole action, with every month's outcome.
    if !outcomes.is_empty() {
        let considered: Vec<YearMonth> = outcomes.keys().filter_map(|m| YearMonth::parse(m)).collect();
        let outcome = format!(
            "done: reset {}, left alone {}",
            report.reset.len(),
            report.skipped_locked.len() + report.skipped_changed.len() + report.skipped_queued.len()
        );
        let entry = AuditEntry {
            action: Action::ResetStuck,
            target: None,
            target_pid: None,
            parameters: serde_json::json!({
                "older_than_secs": older_than.as_secs(),
                "months": crate::model::months::compact(&considered),
            }),
            outcome: &outcome,
            detail: Some(serde_json::Value::Object(outcomes)),
        };
        audit::record(&tx, actor, &entry).await?;
    }
    if dry_run {
        // Nothing stays: the updates, the audit row and the month locks all go with the rollback.
        tx.rollback().await.map_err(q("end the dry run"))?;
        return Ok(report);
    }
    // COMMIT releases the transaction-scoped month locks.
    tx.commit().await.map_err(q("commit the reset"))?;
    Ok(report)
}

/// The reset's statements exactly as they are sent, to be read whole in review.
#[cfg(test)]
mod statements {
    #[test]
    fn the_reset_statements_as_sent() {
        insta::assert_snapshot!("stuck", super::STUCK);
        insta::assert_snapshot!("reset", super::RESET);
    }
}
