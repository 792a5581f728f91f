//! `seed`: inserts the missing months of a range as `pending`.

use crate::db::param::p;
use crate::model::audit::Action;
use tokio_postgres::Client;

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::lock_key::YearMonth;

/// Inserts every month from `from` to `to` (inclusive) that is not there yet.
/// Returns how many rows were inserted. Existing rows are never touched.
pub async fn seed(client: &mut Client, actor: &Actor, from: YearMonth, to: YearMonth) -> Result<u64, DbError> {
    if from > to {
        return Err(DbError::Refused(format!("seed: --from {from} is after --to {to}; swap them")));
    }
    let tx = client.transaction().await.map_err(|e| DbError::query("begin seed", e))?;
    let inserted = tx
        .execute_typed(
            "INSERT INTO backfill_log (year, month, status)
             SELECT i / 12, i % 12 + 1, 'pending' FROM generate_series($1::int, $2::int) AS i
             ON CONFLICT (year, month) DO NOTHING",
            &[p(&from.index()), p(&to.index())],
        )
        .await
        .map_err(|e| DbError::query("insert months", e))?;
    let params = serde_json::json!({ "from": from.to_string(), "to": to.to_string() });
    let outcome = format!("inserted {inserted}");
    let entry = AuditEntry {
        action: Action::Seed,
        target: None,
        target_pid: None,
        parameters: params,
        outcome: &outcome,
        detail: None,
    };
    audit::record(&tx, actor, &entry).await?;
    tx.commit().await.map_err(|e| DbError::query("commit seed", e))?;
    Ok(inserted)
}
