//! The throughput history, read server-side in one statement (so a console started a
//! minute ago shows the whole day): completions per hour over 24 h and per ten minutes
//! over 2 h (both on the `completed_at` index), failures per hour, the newest completion.

use tokio_postgres::Client;

use super::DbError;
use crate::model::progress::{HOURS, History, TEN_MINUTES};

/// Buckets are counted back from `now()` (bucket 0 ends now); each list comes oldest first,
/// one count per bucket, so the client only reads it.
pub const HISTORY: &str = "WITH t AS (SELECT now() AS now),
done AS (
  SELECT extract(epoch FROM t.now - l.completed_at) AS ago
  FROM backfill_log l, t
  WHERE l.completed_at > t.now - interval '24 hours' AND l.completed_at <= t.now
),
failed AS (
  SELECT extract(epoch FROM t.now - coalesce(l.last_retry_at, l.started_at)) AS ago
  FROM backfill_log l, t
  WHERE l.status IN ('failed', 'retry')
    AND coalesce(l.last_retry_at, l.started_at) > t.now - interval '24 hours'
    AND coalesce(l.last_retry_at, l.started_at) <= t.now
),
hourly AS (SELECT least(floor(ago / 3600)::int, 23) AS b, count(*) AS n FROM done GROUP BY 1),
ten AS (SELECT floor(ago / 600)::int AS b, count(*) AS n FROM done WHERE ago < 7200 GROUP BY 1),
fails AS (SELECT least(floor(ago / 3600)::int, 23) AS b, count(*) AS n FROM failed GROUP BY 1),
last AS (SELECT max(completed_at) AS at FROM backfill_log)
SELECT t.now,
  ARRAY(SELECT coalesce(hourly.n, 0) FROM generate_series(23, 0, -1) g(b) LEFT JOIN hourly USING (b) ORDER BY g.b DESC),
  ARRAY(SELECT coalesce(ten.n, 0) FROM generate_series(11, 0, -1) g(b) LEFT JOIN ten USING (b) ORDER BY g.b DESC),
  ARRAY(SELECT coalesce(fails.n, 0) FROM generate_series(23, 0, -1) g(b) LEFT JOIN fails USING (b) ORDER BY g.b DESC),
  last.at,
  CASE WHEN last.at IS NULL THEN (SELECT min(started_at) FROM backfill_log) END
FROM t, last";

/// Reads the history.
pub async fn history(client: &Client) -> Result<History, DbError> {
    // One round trip, no named statement (a transaction pooler may switch servers between two).
    let row = client
        .query_typed_opt(HISTORY, &[])
        .await
        .map_err(|e| DbError::query("read the throughput history", e))?
        .ok_or_else(|| DbError::Refused("the throughput history returned no row".into()))?;
    let list = |i: usize, n: usize| -> Vec<i64> {
        let mut counts: Vec<i64> = row.get(i);
        counts.resize(n, 0);
        counts
    };
    Ok(History {
        read_at: row.get(0),
        hourly: list(1, HOURS),
        ten_minutes: list(2, TEN_MINUTES),
        failed_hourly: list(3, HOURS),
        last_completed_at: row.get(4),
        first_started_at: row.get(5),
    })
}

#[cfg(test)]
mod statements {
    #[test]
    fn the_history_statement_as_sent() {
        insta::assert_snapshot!("history", super::HISTORY);
    }
}
