//! What every action's transaction starts with, written once.

use tokio_postgres::{Client, Transaction};

use super::DbError;
use crate::db::param::p;
use crate::model::lock_key::YearMonth;

/// Begins a transaction and, through a transaction pooler, applies the session's safety
/// settings to it (`SET LOCAL …`, see [`Session::per_transaction`](crate::db::connect::Session)).
pub async fn begin<'a>(
    client: &'a mut Client,
    local_settings: Option<&str>,
    what: &'static str,
) -> Result<Transaction<'a>, DbError> {
    let tx = client.transaction().await.map_err(|e| DbError::query(what, e))?;
    if let Some(sql) = local_settings {
        tx.batch_execute(sql).await.map_err(|e| DbError::query("apply the safety settings", e))?;
    }
    Ok(tx)
}

/// The month's live queue message (ready, in flight or delayed), if it has one: asked
/// after [`try_month_lock`] in a statement of its own, so it sees whatever a claim or a
/// redrive committed before the lock was taken. An action that would let the claim
/// routine queue the month again (a reset, a retry) leaves such a month alone.
pub async fn live_message(tx: &Transaction<'_>, month: YearMonth) -> Result<Option<i64>, DbError> {
    Ok(tx
        .query_typed_opt(
            "SELECT msg_id FROM backfill_queue WHERE backfill_message_month(message) = $1 ORDER BY msg_id LIMIT 1",
            &[p(&(month.year * 100 + month.month))],
        )
        .await
        .map_err(|e| DbError::query("look for the month's queue message", e))?
        .map(|r| r.get(0)))
}

/// Tries the month's advisory lock for this transaction only (released at its end);
/// `false`: a live session holds it.
pub async fn try_month_lock(tx: &Transaction<'_>, month: YearMonth) -> Result<bool, DbError> {
    Ok(tx
        .query_typed_one("SELECT pg_try_advisory_xact_lock($1::bigint)", &[p(&month.lock_key())])
        .await
        .map_err(|e| DbError::query("try the month's lock", e))?
        .get(0))
}
