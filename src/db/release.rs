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
pub use crate::model::release::{Holder, Method, Outcome, Target};

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

/// The check, the signals and the one audit row for every holder, as ONE statement.
/// `$1` pids, `$2` their backend starts, `$3` the month key each must still hold, `$13`
/// each holder's months (text, comma-separated) for the audit row. A single holder fills
/// the row's target columns as before; several leave them empty and the row's `detail`
/// says, per month and per holder, what came of it.
fn statement(method: Method) -> String {
    format!(
        "WITH t AS (
           SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::bigint[], $13::text[])
             WITH ORDINALITY AS t(pid, backend_start, key, months, n)),
         target AS (
           SELECT t.n, t.pid FROM t JOIN pg_stat_activity a ON a.pid = t.pid AND a.backend_start = t.backend_start
           WHERE a.pid <> pg_backend_pid()
             AND EXISTS (SELECT 1 FROM pg_locks l
                 WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                   AND l.classid = 0 AND l.objsubid = 1 AND l.objid = t.key::oid
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))),
         acted AS MATERIALIZED (SELECT n, {function}(pid) AS ok FROM target),
         result AS MATERIALIZED (
           SELECT t.n, t.pid, t.key, t.months,
             coalesce(CASE WHEN a.ok THEN 'done' WHEN NOT a.ok THEN 'failed: the server did not signal the backend' END,
                      CASE WHEN t.pid = pg_backend_pid() THEN '{OWN_BACKEND}' ELSE $10 END) AS outcome
           FROM t LEFT JOIN acted a USING (n)),
         audited AS (
           INSERT INTO backfill_console_audit
             (os_user, os_host, action, target_year, target_month, target_pid, parameters, outcome, detail,
              ssh_client, claims)
           SELECT $4, $5, $6,
             CASE WHEN count(*) = 1 THEN min(key) / 100 END, CASE WHEN count(*) = 1 THEN min(key) % 100 END,
             CASE WHEN count(*) = 1 THEN min(pid) END, $9,
             CASE WHEN count(*) = 1 THEN min(outcome)
                  ELSE CASE WHEN bool_or(outcome = 'done') THEN 'done: ' ELSE 'refused: ' END
                       || count(*) FILTER (WHERE outcome = 'done') || ' of ' || count(*) || ' holders signalled' END,
             CASE WHEN count(*) > 1 THEN jsonb_build_object(
               'holders', jsonb_agg(jsonb_build_object('pid', pid, 'months', string_to_array(months, ','),
                                                       'outcome', outcome) ORDER BY n),
               'months', (SELECT jsonb_object_agg(m, 'pid ' || r.pid || ': ' || r.outcome)
                          FROM result r CROSS JOIN unnest(string_to_array(r.months, ',')) AS m)) END,
             $11, $12
           FROM result
           RETURNING 1)
         SELECT outcome FROM result ORDER BY n",
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
    let holder = Holder { target: target.clone(), months: vec![target.month] };
    let outcomes = release_all(client, actor, std::slice::from_ref(&holder), method, reason).await?;
    outcomes.into_iter().next().ok_or_else(|| DbError::Refused("the release returned no outcome".into()))
}

/// Terminates (or cancels) every holder still holding its lock, each checked race-free,
/// with one audit row for them all, in one statement; then waits (up to 5 s in all) for
/// the terminated ones' locks to go. One outcome per holder, in order.
pub async fn release_all(
    client: &Client,
    actor: &Actor,
    holders: &[Holder],
    method: Method,
    reason: &str,
) -> Result<Vec<Outcome>, DbError> {
    if holders.is_empty() {
        return Ok(Vec::new());
    }
    let pids: Vec<i32> = holders.iter().map(|h| h.target.pid).collect();
    let starts: Vec<chrono::DateTime<chrono::Utc>> = holders.iter().map(|h| h.target.backend_start).collect();
    let keys: Vec<i64> = holders.iter().map(|h| h.target.month.lock_key()).collect();
    let months: Vec<String> =
        holders.iter().map(|h| h.months.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")).collect();
    let params = parameters(holders, method, reason);
    let single = (holders.len() == 1).then(|| &holders[0].target);
    let result = client
        .query_typed(
            &statement(method),
            &[
                p(&pids),
                p(&starts),
                p(&keys),
                p(&actor.os_user),
                p(&actor.os_host),
                p(&action(method).as_str()),
                p(&single.map(|t| t.month.year)),
                p(&single.map(|t| t.month.month)),
                p(&params),
                p(&REFUSED),
                p(&actor.claims.ssh_client),
                p(&actor.claims.as_json()),
                p(&months),
            ],
        )
        .await;
    let what = || match single {
        Some(t) => format!("{} pid {}", function(method), t.pid),
        None => format!("{} of {} holders", function(method), holders.len()),
    };
    let texts: Vec<String> = match result {
        Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
        Err(e) => {
            let err = refine(DbError::query(&what(), e));
            if !err.is_connection_loss() {
                let outcome = format!("refused: {err}");
                let entry = AuditEntry {
                    action: action(method),
                    target: single.map(|t| t.month),
                    target_pid: single.map(|t| t.pid),
                    parameters: params,
                    outcome: &outcome,
                    detail: None,
                };
                audit::record_best_effort(client, actor, &entry).await;
            }
            return Err(err);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut outcomes = Vec::with_capacity(holders.len());
    for (holder, text) in holders.iter().zip(texts) {
        if text != "done" {
            outcomes.push(Outcome::Refused { reason: text.trim_start_matches("refused: ").to_string() });
            continue;
        }
        let lock_released = match method {
            Method::Terminate => wait_lock_gone(client, &holder.target, deadline).await?,
            Method::Cancel => !holds(client, &holder.target).await?,
        };
        outcomes.push(Outcome::Done { lock_released });
    }
    Ok(outcomes)
}

/// The audit row's parameters: one holder as before, several as a list.
fn parameters(holders: &[Holder], method: Method, reason: &str) -> serde_json::Value {
    match holders {
        [one] => serde_json::json!({
            "method": method,
            "backend_start": one.target.backend_start,
            "key": one.target.month.lock_key(),
            "reason": reason,
        }),
        many => serde_json::json!({
            "method": method,
            "reason": reason,
            "holders": many.iter().map(|h| serde_json::json!({
                "pid": h.target.pid,
                "backend_start": h.target.backend_start,
                "key": h.target.month.lock_key(),
            })).collect::<Vec<_>>(),
        }),
    }
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

async fn wait_lock_gone(client: &Client, target: &Target, deadline: Instant) -> Result<bool, DbError> {
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
