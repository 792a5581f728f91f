//! Retrying failed months: `failed` → `retry`, keeping `retry_count` (it counts failed
//! deliveries, not operator decisions), so the claim routine takes them again.
//!
//! Race-safe like the reset: in ONE transaction, per month, its transaction-scoped
//! TRY-lock first (a month a live session holds is left alone), then an UPDATE guarded
//! on the status and the cap, so a month whose status changed meanwhile — even by a
//! transaction that commits while we wait for its row — is left as it is and reported.
//! A dry run is the same routine rolled back. One audit row for the whole action, in
//! the same transaction, with every month's outcome.

use crate::model::audit::Action;
use tokio_postgres::Client;

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::txn;
use crate::db::param::p;
use crate::model::lock_key::YearMonth;
pub use crate::model::retry::{RetryReport, RetrySkip, Skipped};
use crate::model::{RETRY_CAP, Status, months};

const RETRY: &str = concat!(
    "UPDATE backfill_log SET status = 'retry', retry_count = CASE WHEN $3 THEN 0 ELSE retry_count END
    WHERE year = $1 AND month = $2 AND status = 'failed' AND ($3 OR coalesce(retry_count, 0) < ",
    crate::retry_cap!(),
    ") RETURNING id"
);

const CURRENT: &str = "SELECT status::text, coalesce(retry_count, 0) FROM backfill_log WHERE year = $1 AND month = $2";

/// What the operator chose, for the audit row.
#[derive(Debug, Clone)]
pub struct RetryRequest<'a> {
    pub months: &'a [YearMonth],
    pub reset_count: bool,
    pub dry_run: bool,
    /// How the months were chosen (`--months`, `--cause …`, `--all-failed`, the console's marks).
    pub selection: &'a str,
}

/// Retries the months; `local_settings` (`SET LOCAL …`) first in its transaction when
/// the session is behind a transaction pooler.
pub async fn retry(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RetryRequest<'_>,
) -> Result<RetryReport, DbError> {
    let result = transact(client, local_settings, actor, request, true).await;
    if let Err(e) = &result
        && !e.is_connection_loss()
        && !request.dry_run
    {
        let outcome = format!("refused: {e}");
        audit::record_best_effort(client, actor, &entry(request, &outcome, None)).await;
    }
    result
}

fn entry<'a>(request: &RetryRequest<'_>, outcome: &'a str, detail: Option<serde_json::Value>) -> AuditEntry<'a> {
    AuditEntry {
        action: if request.reset_count { Action::RetryResetCount } else { Action::Retry },
        target: None,
        target_pid: None,
        parameters: serde_json::json!({
            "months": months::compact(request.months),
            "count": request.months.len(),
            "reset_count": request.reset_count,
            "selection": request.selection,
        }),
        outcome,
        detail,
    }
}

/// The retry without its live-message guard (the defect the guard prevents; tests only).
#[cfg(feature = "test-support")]
pub async fn retry_unguarded(
    client: &mut Client,
    actor: &Actor,
    request: &RetryRequest<'_>,
) -> Result<RetryReport, DbError> {
    transact(client, None, actor, request, false).await
}

async fn transact(
    client: &mut Client,
    local_settings: Option<&str>,
    actor: &Actor,
    request: &RetryRequest<'_>,
    live_guard: bool,
) -> Result<RetryReport, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let mut months = request.months.to_vec();
    months.sort();
    months.dedup();
    let tx = txn::begin(client, local_settings, "begin the retry").await?;
    let mut report = RetryReport { dry_run: request.dry_run, reset_count: request.reset_count, ..Default::default() };
    for month in months {
        let free = txn::try_month_lock(&tx, month).await?;
        if !free {
            report.skipped.push(Skipped { month, why: RetrySkip::Locked });
            continue;
        }
        // After the lock: a failed month whose message is still queued would be claimed and
        // queued a second time.
        if let Some(msg_id) = txn::live_message(&tx, month).await?.filter(|_| live_guard) {
            report.skipped.push(Skipped { month, why: RetrySkip::Queued { msg_id } });
            continue;
        }
        let updated = tx
            .query_typed_opt(RETRY, &[p(&month.year), p(&month.month), p(&request.reset_count)])
            .await
            .map_err(q("retry the month"))?;
        if updated.is_some() {
            report.retried.push(month);
            continue;
        }
        let current =
            tx.query_typed_opt(CURRENT, &[p(&month.year), p(&month.month)]).await.map_err(q("read the month"))?;
        let why = match current {
            None => RetrySkip::Missing,
            Some(row) => match Status::parse(row.get(0)) {
                Status::Failed => RetrySkip::AtRetryCap { retry_count: row.get::<_, i32>(1).min(RETRY_CAP) },
                status => RetrySkip::Status { status },
            },
        };
        report.skipped.push(Skipped { month, why });
    }
    if request.dry_run {
        tx.rollback().await.map_err(q("end the dry run"))?;
        return Ok(report);
    }
    let detail: serde_json::Map<String, serde_json::Value> = report
        .retried
        .iter()
        .map(|m| (m.to_string(), serde_json::Value::from("retried")))
        .chain(report.skipped.iter().map(|s| (s.month.to_string(), format!("skipped: {}", s.why.describe()).into())))
        .collect();
    let outcome = format!("done: retried {}, left alone {}", report.retried.len(), report.skipped.len());
    let id = audit::record(&tx, actor, &entry(request, &outcome, Some(detail.into()))).await?;
    report.audit_id = Some(id);
    tx.commit().await.map_err(q("commit the retry"))?;
    Ok(report)
}
