//! Releasing a stuck month lock from outside (SPEC §4). `pg_advisory_unlock`
//! only works from the holding session, so the cure is to end that backend —
//! or cancel its query — but only if, at that very instant, the same pid with
//! the same `backend_start` still holds that key. The check, the signal and the
//! audit row are ONE statement: nothing can change between them, and a role
//! that may not write the audit cannot act either.

use crate::db::param::p;
use crate::model::audit::Action;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
pub use crate::model::release::{Method, Outcome, Target};

/// The server function that sends the signal.
fn function(method: Method) -> &'static str {
    match method {
        Method::Terminate => "pg_terminate_backend",
        Method::Cancel => "pg_cancel_backend",
    }
}

/// The audit row's action.
fn action(method: Method) -> Action {
    match method {
        Method::Terminate => Action::ReleaseTerminate,
        Method::Cancel => Action::ReleaseCancel,
    }
}

const REFUSED: &str = "refused: that session no longer holds the lock (it ended, its pid was reused, or it released)";

/// Through a pooler, the holder can be the very server backend the release statement runs
/// on: a backend cannot end itself mid-statement and report it.
pub const OWN_BACKEND: &str = "refused: the holder is the server backend this statement ran on (reached through a pooler); release it over a direct connection: --direct-url URL or direct_url in the config";

fn statement(method: Method) -> String {
    format!(
        "WITH target AS (
           SELECT a.pid FROM pg_stat_activity a
           WHERE a.pid = $1 AND a.backend_start = $2 AND a.pid <> pg_backend_pid()
             AND EXISTS (SELECT 1 FROM pg_locks l
                 WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                   AND l.classid = 0 AND l.objsubid = 1 AND l.objid = $3::bigint::oid
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))),
         acted AS (SELECT pid, {function}(pid) AS ok FROM target)
         INSERT INTO backfill_console_audit
           (os_user, os_host, action, target_year, target_month, target_pid, parameters, outcome, ssh_client, claims)
         SELECT $4, $5, $6, $7, $8, $1, $9,
           coalesce((SELECT CASE WHEN ok THEN 'done' ELSE 'failed: the server did not signal the backend' END
                     FROM acted),
                    CASE WHEN $1 = pg_backend_pid() THEN '{OWN_BACKEND}' ELSE $10 END),
           $11, $12
         RETURNING outcome",
        function = function(method),
        OWN_BACKEND = OWN_BACKEND,
    )
}

/// Terminates (or cancels) the holder, race-free, and audits it in the same statement.
pub async fn release(
    client: &Client,
    actor: &Actor,
    target: &Target,
    method: Method,
    reason: &str,
) -> Result<Outcome, DbError> {
    let params = serde_json::json!({
        "method": method,
        "backend_start": target.backend_start,
        "key": target.month.lock_key(),
        "reason": reason,
    });
    let result = client
        .query_typed_one(
            &statement(method),
            &[
                p(&target.pid),
                p(&target.backend_start),
                p(&target.month.lock_key()),
                p(&actor.os_user),
                p(&actor.os_host),
                p(&action(method).as_str()),
                p(&target.month.year),
                p(&target.month.month),
                p(&params),
                p(&REFUSED),
                p(&actor.claims.ssh_client),
                p(&actor.claims.as_json()),
            ],
        )
        .await;
    let outcome: String = match result {
        Ok(row) => row.get(0),
        Err(e) => {
            let err = refine(DbError::query(&format!("{} pid {}", function(method), target.pid), e));
            if !err.is_connection_loss() {
                let outcome = format!("refused: {err}");
                let entry = AuditEntry {
                    action: action(method),
                    target: Some(target.month),
                    target_pid: Some(target.pid),
                    parameters: params,
                    outcome: &outcome,
                    detail: None,
                };
                audit::record_best_effort(client, actor, &entry).await;
            }
            return Err(err);
        }
    };
    if outcome != "done" {
        return Ok(Outcome::Refused { reason: outcome.trim_start_matches("refused: ").to_string() });
    }
    let lock_released = match method {
        Method::Terminate => wait_lock_gone(client, target, Duration::from_secs(5)).await?,
        Method::Cancel => !holds(client, target).await?,
    };
    Ok(Outcome::Done { lock_released })
}

/// Names the privilege when the server refused for lack of it.
fn refine(err: DbError) -> DbError {
    if err.is_permission_denied() {
        DbError::Refused(format!(
            "{err} — the role needs pg_signal_backend (or to be the holder's role) and INSERT on backfill_console_audit"
        ))
    } else {
        err
    }
}

async fn holds(client: &Client, target: &Target) -> Result<bool, DbError> {
    let row = client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.pid = $1 AND a.backend_start = $2 AND l.locktype = 'advisory' AND l.granted
                 AND l.classid = 0 AND l.objsubid = 1 AND l.objid = $3::bigint::oid)",
            &[p(&target.pid), p(&target.backend_start), p(&target.month.lock_key())],
        )
        .await
        .map_err(|e| DbError::query("check the lock", e))?;
    Ok(row.get(0))
}

async fn wait_lock_gone(client: &Client, target: &Target, timeout: Duration) -> Result<bool, DbError> {
    let deadline = Instant::now() + timeout;
    loop {
        if !holds(client, target).await? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
