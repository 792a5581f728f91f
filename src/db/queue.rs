//! The consumer side of the queue (SPEC §3): read with a visibility timeout
//! (`FOR UPDATE SKIP LOCKED`), delete on success, dead-letter after the third
//! failed delivery. Used by the demo fleet, as production consumers do it.

use crate::db::param::p;
use std::time::Duration;

use tokio_postgres::GenericClient;

use super::DbError;
use crate::model::snapshot::Duplicate;

/// A message handed to one consumer until its visibility timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub msg_id: i64,
    /// Including this delivery.
    pub read_count: i32,
    pub message: serde_json::Value,
}

/// After this many failed deliveries a message goes to the dead table.
pub const MAX_FAILED_DELIVERIES: i32 = 3;

const READ: &str = "WITH next AS (
      SELECT msg_id FROM backfill_queue WHERE visible_at <= now()
      ORDER BY msg_id LIMIT 1 FOR UPDATE SKIP LOCKED)
    UPDATE backfill_queue q
    SET visible_at = now() + make_interval(secs => $1), read_count = q.read_count + 1
    FROM next WHERE q.msg_id = next.msg_id
    RETURNING q.msg_id, q.read_count, q.message";

/// Takes the oldest visible message, invisible to others for `visibility`.
pub async fn read<C: GenericClient>(client: &C, visibility: Duration) -> Result<Option<Delivery>, DbError> {
    let row = client
        .query_typed_opt(READ, &[p(&visibility.as_secs_f64())])
        .await
        .map_err(|e| DbError::query("read the queue", e))?;
    Ok(row.map(|r| Delivery { msg_id: r.get(0), read_count: r.get(1), message: r.get(2) }))
}

pub async fn delete<C: GenericClient>(client: &C, msg_id: i64) -> Result<bool, DbError> {
    let n = client
        .execute_typed("DELETE FROM backfill_queue WHERE msg_id = $1", &[p(&msg_id)])
        .await
        .map_err(|e| DbError::query("delete the message", e))?;
    Ok(n == 1)
}

/// Moves a message to `backfill_queue_dead` (one statement: it is never in both or neither).
pub async fn dead_letter<C: GenericClient>(client: &C, msg_id: i64, reason: &str) -> Result<bool, DbError> {
    let n = client
        .execute_typed(
            "WITH m AS (DELETE FROM backfill_queue WHERE msg_id = $1 RETURNING *)
             INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, reason)
             SELECT msg_id, enqueued_at, visible_at, read_count, message, $2 FROM m",
            &[p(&msg_id), p(&reason)],
        )
        .await
        .map_err(|e| DbError::query("dead-letter the message", e))?;
    Ok(n == 1)
}

/// The most months `duplicates` reports.
pub const MAX_DUPLICATES: i64 = 100;
/// The most message ids it lists for one month.
pub const DUPLICATE_IDS: i64 = 20;

/// Months with more than one live message in the queue, newest first, the first
/// [`DUPLICATE_IDS`] ids of each. Walks the queue's month index (`sql/008`) from month to
/// month — two index probes per distinct month queued, never a read of the whole queue.
pub const DUPLICATES: &str = "WITH RECURSIVE m AS (
      (SELECT backfill_message_month(message) AS k FROM backfill_queue
        WHERE backfill_message_month(message) IS NOT NULL ORDER BY 1 DESC LIMIT 1)
      UNION ALL
      SELECT (SELECT backfill_message_month(q.message) FROM backfill_queue q
               WHERE backfill_message_month(q.message) < m.k ORDER BY 1 DESC LIMIT 1)
      FROM m WHERE m.k IS NOT NULL)
    SELECT (m.k / 100)::int, (m.k % 100)::int, d.ids
    FROM m CROSS JOIN LATERAL (
      SELECT array_agg(x.msg_id ORDER BY x.msg_id) AS ids FROM (
        SELECT q.msg_id FROM backfill_queue q WHERE backfill_message_month(q.message) = m.k
        ORDER BY q.msg_id LIMIT $2 + 1) x) d
    WHERE m.k IS NOT NULL AND cardinality(d.ids) > 1
    LIMIT $1";

pub async fn duplicates<C: GenericClient>(client: &C) -> Result<Vec<Duplicate>, DbError> {
    let rows = client
        .query_typed(DUPLICATES, &[p(&MAX_DUPLICATES), p(&DUPLICATE_IDS)])
        .await
        .map_err(|e| DbError::query("look for duplicate queue messages", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut msg_ids: Vec<i64> = r.get(2);
            let more = msg_ids.len() as i64 > DUPLICATE_IDS;
            msg_ids.truncate(DUPLICATE_IDS as usize);
            Duplicate { year: r.get(0), month: r.get(1), msg_ids, more }
        })
        .collect())
}
