//! A deployment's own queue depth query (config `queue_depth_query`) runs inside
//! our snapshot statement, so it must be made harmless: the statement runs in a
//! `READ ONLY` transaction (a writing function fails, even outside read-only
//! mode), under the session's statement and lock timeouts, and afterwards the
//! session must hold no advisory lock. One that does (a query calling
//! `pg_advisory_lock(202412)` would hold 2024-12's month lock for the life of a
//! wall monitor, blocking production) is reported as refused with
//! [`DbError::Tainted`]: the caller drops the connection, which releases it.

use tokio_postgres::{Client, SimpleQueryMessage};

use crate::db::DbError;

const WHAT: &str = "read the snapshot with queue_depth_query from the config";

/// The first column of the first row of a simple query's answer.
pub fn first_value(messages: &[SimpleQueryMessage]) -> Option<&str> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    })
}

/// This session's advisory locks (held or awaited) as one row of text, `''` when none.
const HELD_LOCKS: &str = "SELECT coalesce(string_agg(CASE WHEN objsubid = 1
        THEN ((classid::bigint << 32) | objid::bigint)::text ELSE classid::text || '/' || objid::text END, ', '), '')
   FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()";

/// Runs the snapshot statement in a `READ ONLY` transaction (after `local_settings`,
/// through a transaction pooler); with `check_locks` (a deployment's query ran in
/// it) also checks, in the same transaction on the same backend, that the session
/// holds no advisory lock.
pub async fn read_guarded(
    client: &Client,
    local_settings: Option<&str>,
    snapshot_sql: &str,
    check_locks: bool,
) -> Result<String, DbError> {
    let local = local_settings.map(|s| format!("{s}; ")).unwrap_or_default();
    let check = if check_locks { format!("; {HELD_LOCKS}") } else { String::new() };
    let wrapped = format!("BEGIN TRANSACTION READ ONLY; {local}{snapshot_sql}{check}; COMMIT");
    let what = if check_locks { WHAT } else { "read the snapshot" };
    let messages = match client.simple_query(&wrapped).await {
        Ok(messages) => messages,
        Err(e) => {
            // The transaction is left aborted: end it (a failed ROLLBACK means the link is gone).
            client.batch_execute("ROLLBACK").await.map_err(|e| DbError::query(what, e))?;
            if check_locks {
                refuse_if_held(&held_advisory_locks(client).await?)?;
            }
            return Err(if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
                DbError::SchemaMissing { missing: crate::db::error::describe(&e) }
            } else {
                DbError::query(what, e)
            });
        }
    };
    let mut rows = messages.iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    });
    let text = rows.next().ok_or_else(|| DbError::Refused("the snapshot query returned no row".into()))?;
    if check_locks {
        refuse_if_held(rows.next().unwrap_or_default())?;
    }
    Ok(text.to_string())
}

fn refuse_if_held(held: &str) -> Result<(), DbError> {
    if held.is_empty() {
        return Ok(());
    }
    Err(DbError::Tainted(format!(
        "queue_depth_query refused: it left advisory lock(s) {held} held on the console's session; the connection was dropped to release them — make the query a plain read"
    )))
}

/// [`HELD_LOCKS`] on its own.
async fn held_advisory_locks(client: &Client) -> Result<String, DbError> {
    let row = client
        .query_typed_one(HELD_LOCKS, &[])
        .await
        .map_err(|e| DbError::query("check the session for advisory locks after queue_depth_query", e))?;
    Ok(row.get(0))
}

/// A snapshot that does not decode, explained in terms of `queue_depth_query` when
/// its part is what is wrong (no row, or values of the wrong type).
pub fn explain_decode_error(text: &str, e: &serde_json::Error) -> DbError {
    let queue = serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v.get("queue").cloned());
    let problem = match queue {
        Some(serde_json::Value::Null) => "returned no row".to_string(),
        Some(q) => {
            let wrong: Vec<&str> = ["ready", "in_flight", "delayed", "dead"]
                .into_iter()
                .filter(|k| !q.get(*k).is_some_and(|v| v.is_i64() || v.is_u64()))
                .collect();
            if wrong.is_empty() {
                format!("returned a value of the wrong type ({})", crate::db::error::one_line(&e.to_string()))
            } else {
                format!("returned no whole number for {}", wrong.join(", "))
            }
        }
        None => return DbError::Refused(format!("the snapshot could not be decoded: {e}")),
    };
    queue_query_refused(&problem)
}

/// `queue_depth_query {problem}`, and what it must return.
pub fn queue_query_refused(problem: &str) -> DbError {
    DbError::Refused(format!(
        "queue_depth_query {problem}: it must return one row with whole numbers ready, in_flight, delayed and dead (optionally oldest_ready_at, enqueued_total); fix it in the config file"
    ))
}
