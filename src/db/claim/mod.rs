//! The one claim routine (SPEC §2), used by the console, the headless `claim`
//! command and the demo fleet.
//!
//! Everything happens in ONE transaction on ONE session: read candidates, take
//! each month's advisory lock (retrying), flip the row with a guarded UPDATE,
//! and — only when exactly one row was updated — enqueue the message into the
//! queue table in the same transaction, audit, commit.
//!
//! The month locks are taken with `pg_try_advisory_xact_lock(key::bigint)`: the
//! same lock space and key as the fleet's session-level
//! `pg_try_advisory_lock(key::bigint)`, so the two exclude each other, but the
//! server itself releases them at COMMIT or ROLLBACK on the session that took
//! them. That makes the release hold on every path — an error (the transaction
//! is rolled back), a panic or a dropped future (`Transaction`'s drop queues a
//! ROLLBACK on the same connection), a dead connection (the server ends the
//! session) — where a session lock needs an `unlock` that a dropped future can
//! never run.

mod dry_run;
pub mod params;
pub mod report;
pub mod steps;

use std::time::{Duration, Instant};

use tokio_postgres::{Client, Transaction};
use uuid::Uuid;

pub use params::{ClaimParams, YearRange};
pub use report::{Candidate, ClaimReport, Claimed};
pub use steps::{Step, StepObserver};

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::lock_key::YearMonth;

/// The candidate query; `$1` statuses, `$2..$3` years, `$4` batch size.
pub(crate) const CANDIDATES: &str = "SELECT id, year, month, status, retry_count FROM backfill_log
    WHERE status = ANY($1) AND (status <> 'failed' OR retry_count < 5) AND year BETWEEN $2 AND $3
    ORDER BY year DESC, month DESC LIMIT $4";

const TRY_LOCK: &str = "SELECT pg_try_advisory_xact_lock($1::bigint)";

/// SPEC §2 step 4, guarded so a month claimed meanwhile updates 0 rows.
const UPDATE: &str = "UPDATE backfill_log SET status = 'processing', started_at = now(), completed_at = NULL,
    error_message = NULL, last_retry_at = CASE WHEN status = 'retry' THEN now() ELSE last_retry_at END
    WHERE id = $1 AND status = ANY($2) AND (status <> 'failed' OR retry_count < 5)";

const ENQUEUE: &str = "INSERT INTO backfill_queue (message) VALUES ($1) RETURNING msg_id";

/// Whether the UPDATE's row count is honoured. Only the tests ever use the
/// defective variant, to prove the checks catch the duplicate it causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowCount {
    Checked,
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    Unchecked,
}

/// Runs the claim routine once. `actor` = `Some` writes the audit row in the
/// claim's own transaction (the demo fleet, standing in for the production
/// schedulers, passes `None`).
pub async fn claim(client: &mut Client, params: &ClaimParams, actor: Option<&Actor>) -> Result<ClaimReport, DbError> {
    run(client, params, actor, None, RowCount::Checked).await
}

/// [`claim`], pausing at every [`Step`] for the observer (deterministic interleaving tests).
#[cfg(feature = "test-support")]
pub async fn claim_observed(
    client: &mut Client,
    params: &ClaimParams,
    actor: Option<&Actor>,
    observer: &dyn StepObserver,
) -> Result<ClaimReport, DbError> {
    run(client, params, actor, Some(observer), RowCount::Checked).await
}

/// The existing scheduler's defect, kept for the tests only: it enqueues even
/// when the UPDATE changed no row.
#[cfg(feature = "test-support")]
pub async fn claim_unchecked_row_count(
    client: &mut Client,
    params: &ClaimParams,
    observer: Option<&dyn StepObserver>,
) -> Result<ClaimReport, DbError> {
    run(client, params, None, observer, RowCount::Unchecked).await
}

async fn run(
    client: &mut Client,
    params: &ClaimParams,
    actor: Option<&Actor>,
    observer: Option<&dyn StepObserver>,
    row_count: RowCount,
) -> Result<ClaimReport, DbError> {
    params.validate().map_err(|e| DbError::Refused(format!("claim refused: {e}")))?;
    if params.dry_run {
        return dry_run::report(client, params).await;
    }
    let result = transact(client, params, actor, observer, row_count).await;
    if let (Err(e), Some(actor)) = (&result, actor) {
        // The transaction is gone (rolled back); record the failure on its own.
        if !e.is_connection_loss() {
            let outcome = format!("failed: {e}");
            let entry = claim_audit_entry(params, &outcome, None);
            audit::record_best_effort(client, actor, &entry).await;
        }
    }
    result
}

async fn transact(
    client: &mut Client,
    params: &ClaimParams,
    actor: Option<&Actor>,
    observer: Option<&dyn StepObserver>,
    row_count: RowCount,
) -> Result<ClaimReport, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, &e);
    let statuses = params.claimable_statuses();
    let tx = client.transaction().await.map_err(q("begin the claim"))?;
    let rows = tx
        .query(CANDIDATES, &[&statuses, &params.years.from, &params.years.to, &params.batch_size])
        .await
        .map_err(q("read candidate months"))?;
    pause(observer, Step::CandidatesRead).await;
    let mut report = ClaimReport::default();
    for row in rows {
        let id: i32 = row.get("id");
        let month = YearMonth { year: row.get("year"), month: row.get("month") };
        if !try_lock(&tx, month, params.lock_wait, params.lock_retry_interval).await? {
            report.skipped_locked.push(month);
            continue;
        }
        pause(observer, Step::Locked(month)).await;
        let updated = tx.execute(UPDATE, &[&id, &statuses]).await.map_err(q("mark the month processing"))?;
        pause(observer, Step::Updated(month)).await;
        if updated != 1 && row_count == RowCount::Checked {
            report.skipped_raced.push(month);
            continue;
        }
        let job_id = Uuid::new_v4();
        let message = report::message(job_id, month);
        let msg_id: i64 = tx.query_one(ENQUEUE, &[&message]).await.map_err(q("enqueue the month"))?.get(0);
        report.claimed.push(Claimed {
            year: month.year,
            month: month.month,
            job_id,
            prompt_variant: report::prompt_variant(month.year).to_string(),
            msg_id,
        });
    }
    pause(observer, Step::BeforeCommit).await;
    if let Some(actor) = actor {
        let summary = report.summary();
        let detail = serde_json::to_value(&report).ok();
        let entry = claim_audit_entry(params, &summary, detail);
        report.audit_id = Some(audit::record(&tx, actor, &entry).await?);
    }
    // COMMIT releases every month lock taken above, on this same session.
    tx.commit().await.map_err(q("commit the claim"))?;
    Ok(report)
}

/// Tries the month's lock every `interval` for up to `wait` (0 = one try).
async fn try_lock(tx: &Transaction<'_>, month: YearMonth, wait: Duration, interval: Duration) -> Result<bool, DbError> {
    let started = Instant::now();
    loop {
        let got: bool = tx
            .query_one(TRY_LOCK, &[&month.lock_key()])
            .await
            .map_err(|e| DbError::query("try the month's advisory lock", &e))?
            .get(0);
        let waited = started.elapsed();
        if got || waited >= wait {
            return Ok(got);
        }
        tokio::time::sleep(interval.min(wait - waited)).await;
    }
}

async fn pause(observer: Option<&dyn StepObserver>, step: Step) {
    if let Some(observer) = observer {
        observer.at(step).await;
    }
}

fn claim_audit_entry<'a>(params: &ClaimParams, outcome: &'a str, detail: Option<serde_json::Value>) -> AuditEntry<'a> {
    AuditEntry {
        action: "claim",
        target: None,
        target_pid: None,
        parameters: serde_json::to_value(params).unwrap_or_default(),
        outcome,
        detail,
    }
}
