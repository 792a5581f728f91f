//! A dry run: the candidates the claim would take and whether each month lock is
//! free, read from `pg_locks` without taking any lock. It changes nothing (and
//! so works on a read-only session).

use tokio_postgres::Client;

use super::{CANDIDATES, ClaimParams, ClaimReport, report::Candidate};
use crate::db::DbError;

pub async fn report(client: &Client, params: &ClaimParams) -> Result<ClaimReport, DbError> {
    let sql = format!(
        "SELECT c.year, c.month, c.status::text, c.retry_count,
           (SELECT l.pid FROM pg_locks l
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objsubid = 1
               AND l.objid = (c.year * 100 + c.month)::oid
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             LIMIT 1) AS holder
         FROM ({CANDIDATES}) c ORDER BY c.year DESC, c.month DESC"
    );
    let statuses = params.claimable_statuses();
    let rows = client
        .query(&sql, &[&statuses, &params.years.from, &params.years.to, &params.batch_size])
        .await
        .map_err(|e| DbError::query("read candidate months", &e))?;
    let candidates = rows
        .iter()
        .map(|row| {
            let holder: Option<i32> = row.get("holder");
            Candidate {
                year: row.get("year"),
                month: row.get("month"),
                status: row.get("status"),
                retry_count: row.get("retry_count"),
                lock_free: holder.is_none(),
                holder_pid: holder,
            }
        })
        .collect();
    Ok(ClaimReport { dry_run: true, candidates, ..ClaimReport::default() })
}
