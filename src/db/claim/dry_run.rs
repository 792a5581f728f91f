//! A dry run: the months the claim would take now and the ones it would pass
//! over because somebody holds their lock — read from `pg_locks` without taking
//! any lock. It changes nothing (and so works on a read-only session).

use crate::db::param::p;
use tokio_postgres::Client;

use super::{ClaimParams, ClaimReport, report::Candidate};
use crate::db::DbError;
use crate::model::Status;

/// Candidates newest first with the pid holding each month lock. A claim takes
/// the first `batch_size` free ones, so no more rows than that plus the number
/// of held month locks can matter.
const CANDIDATES_WITH_HOLDERS: &str = concat!(
    "WITH held AS MATERIALIZED (
        SELECT DISTINCT ON (l.objid) l.objid::bigint AS key, l.pid FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
    SELECT c.year, c.month, c.status::text, c.retry_count, h.pid AS holder,
           (SELECT q.msg_id FROM backfill_queue q WHERE backfill_message_month(q.message) = c.year * 100 + c.month
            LIMIT 1) AS queued
    FROM backfill_log c LEFT JOIN held h ON h.key = c.year * 100 + c.month
    WHERE c.status = ANY($1) AND (c.status <> 'failed' OR c.retry_count < ",
    crate::retry_cap!(),
    ") AND c.year BETWEEN $2 AND $3 AND ($5::int[] IS NULL OR c.year * 100 + c.month = ANY($5))
    ORDER BY c.year DESC, c.month DESC
    LIMIT $4 + (SELECT count(*) FROM held)"
);

pub async fn report(client: &Client, params: &ClaimParams) -> Result<ClaimReport, DbError> {
    let wanted = params.claimable_statuses();
    let statuses: Vec<&str> = wanted.iter().map(Status::as_str).collect();
    let rows = client
        .query_typed(
            CANDIDATES_WITH_HOLDERS,
            &[p(&statuses), p(&params.years.from), p(&params.years.to), p(&params.batch_size), p(&params.month_keys())],
        )
        .await
        .map_err(|e| DbError::query("read candidate months", e))?;
    let all = rows.iter().map(|row| {
        let holder: Option<i32> = row.get("holder");
        Candidate {
            year: row.get("year"),
            month: row.get("month"),
            status: Status::parse(row.get("status")),
            retry_count: row.get("retry_count"),
            lock_free: holder.is_none(),
            holder_pid: holder,
            queued_msg: row.get("queued"),
        }
    });
    let candidates = until_free(all, usize::try_from(params.batch_size).unwrap_or(0));
    Ok(ClaimReport { dry_run: true, candidates, ..ClaimReport::default() })
}

/// The candidates up to and including the `wanted`-th one a claim would take (a free
/// lock, no live message): what a claim run now would take, and what it would pass over
/// on the way.
fn until_free(all: impl Iterator<Item = Candidate>, wanted: usize) -> Vec<Candidate> {
    let mut free = 0;
    all.take_while(|c| {
        let more = free < wanted;
        free += usize::from(c.lock_free && c.queued_msg.is_none());
        more
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dry run's statement exactly as it is sent, to be read whole in review.
    #[test]
    fn the_dry_run_statement_as_sent() {
        insta::assert_snapshot!("candidates_with_holders", CANDIDATES_WITH_HOLDERS);
    }

    fn c(month: i32, lock_free: bool) -> Candidate {
        Candidate {
            year: 2024,
            month,
            status: Status::Pending,
            retry_count: Some(0),
            lock_free,
            holder_pid: (!lock_free).then_some(7),
            queued_msg: None,
        }
    }

    #[test]
    fn stops_at_the_last_free_month_wanted() {
        let all = vec![c(6, false), c(5, true), c(4, false), c(3, true), c(2, true)];
        let got: Vec<i32> = until_free(all.into_iter(), 2).iter().map(|c| c.month).collect();
        assert_eq!(got, [6, 5, 4, 3]);
    }

    #[test]
    fn keeps_every_busy_month_when_too_few_are_free() {
        let all = vec![c(2, false), c(1, false)];
        assert_eq!(until_free(all.into_iter(), 10).len(), 2);
    }
}
