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

/// Tries the month's advisory lock for this transaction only (released at its end);
/// `false`: a live session holds it.
pub async fn try_month_lock(tx: &Transaction<'_>, month: YearMonth) -> Result<bool, DbError> {
    Ok(tx
        .query_typed_one("SELECT pg_try_advisory_xact_lock($1::bigint)", &[p(&month.lock_key())])
        .await
        .map_err(|e| DbError::query("try the month's lock", e))?
        .get(0))
}
