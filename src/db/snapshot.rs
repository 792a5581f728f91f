//! Reading the read model: ONE statement, ONE round trip (simple protocol, no
//! prepare), no transaction left open; the server builds the whole snapshot as
//! one JSON document, so months, locks and queue are from one instant.

use tokio_postgres::{Client, SimpleQueryMessage};

use super::DbError;
use crate::model::Snapshot;

/// Longest error text carried in a snapshot; the detail view reads the rest.
pub const ERROR_PREVIEW_CHARS: i32 = 300;

/// Queue figures are counted exactly up to this many; beyond it they are
/// estimates (a page sample scaled to the catalogue row count, never below the cap)
/// and say so.
pub const EXACT_COUNT_CAP: i64 = 10_000;

pub fn snapshot_sql() -> String {
    snapshot_sql_with(None)
}

/// The queue part from a deployment's own depth query (config `queue_depth_query`): it must
/// return one row with `ready`, `in_flight`, `delayed`, `dead`, and may add `oldest_ready_at`
/// and `enqueued_total`.
fn custom_queue_sql(query: &str) -> String {
    format!(
        "(SELECT json_build_object('ready', q.ready, 'in_flight', q.in_flight, 'delayed', q.delayed,
            'dead', q.dead, 'estimated', false, 'oldest_ready_at', to_jsonb(q)->'oldest_ready_at',
            'enqueued_total', coalesce((to_jsonb(q)->>'enqueued_total')::bigint, 0))
          FROM ({query}) q LIMIT 1)"
    )
}

pub fn snapshot_sql_with(queue_query: Option<&str>) -> String {
    let queue = match queue_query {
        Some(query) => custom_queue_sql(query),
        None => builtin_queue_sql(),
    };
    format!(
        "SELECT json_build_object(
  'taken_at', now(),
  'months', (SELECT coalesce(json_agg(json_build_object(
        'id', id, 'year', year, 'month', month, 'status', status, 'retry_count', retry_count,
        'started_at', started_at, 'completed_at', completed_at, 'last_retry_at', last_retry_at,
        'error', left(error_message, {ERROR_PREVIEW_CHARS})) ORDER BY year DESC, month DESC), '[]')
      FROM backfill_log),
  'locks', (SELECT coalesce(json_agg(json_build_object(
        'pid', l.pid, 'granted', l.granted, 'classid', l.classid::bigint, 'objid', l.objid::bigint, 'objsubid', l.objsubid,
        'in_this_database', l.database IS NOT DISTINCT FROM d.oid, 'mode', l.mode,
        'waitstart', to_jsonb(l)->'waitstart',
        'blocking_pids', CASE WHEN l.granted THEN '{{}}'::int[] ELSE pg_blocking_pids(l.pid) END,
        'holder', CASE WHEN a.pid IS NOT NULL THEN json_build_object(
            'pid', a.pid, 'usename', a.usename, 'application_name', a.application_name,
            'client_addr', host(a.client_addr), 'client_hostname', a.client_hostname, 'client_port', a.client_port,
            'backend_start', a.backend_start, 'xact_start', a.xact_start, 'query_start', a.query_start,
            'state_change', a.state_change, 'state', a.state, 'wait_event_type', a.wait_event_type,
            'wait_event', a.wait_event, 'query', a.query, 'backend_type', a.backend_type) END)
        ORDER BY l.classid, l.objid, l.objsubid, l.granted DESC, l.pid), '[]')
      FROM pg_locks l CROSS JOIN (SELECT oid FROM pg_database WHERE datname = current_database()) d
        -- One join, not a sub-select per lock: pg_stat_activity is a function scan.
        LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory'),
  'queue', {queue}
)::text"
    )
}

/// The built-in queue part (the queue table of `sql/002_queue.sql`).
fn builtin_queue_sql() -> String {
    let (cap, cap1) = (EXACT_COUNT_CAP, EXACT_COUNT_CAP + 1);
    format!(
        "(WITH
      -- Each figure is counted exactly up to the cap; beyond it, it is estimated from a
      -- 2 % page sample scaled to the catalogue's row count (and never below the cap).
      capped AS (SELECT
          (SELECT count(*) FROM (SELECT 1 FROM backfill_queue WHERE visible_at <= now() LIMIT {cap1}) r) AS ready,
          invisible.in_flight, invisible.delayed, invisible.n AS invisible,
          (SELECT count(*) FROM (SELECT 1 FROM backfill_queue_dead LIMIT {cap1}) x) AS dead
        -- In flight and delayed from ONE capped scan of the invisible part.
        FROM (SELECT count(*) AS n, count(*) FILTER (WHERE in_flight) AS in_flight,
                     count(*) FILTER (WHERE NOT in_flight) AS delayed
              FROM (SELECT read_count > 0 AS in_flight FROM backfill_queue
                    WHERE visible_at > now() LIMIT {cap1}) i) invisible),
      sized AS (SELECT capped.*,
          capped.ready > {cap} OR capped.invisible > {cap} AS big,
          (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'backfill_queue'::regclass) AS rows_est,
          (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'backfill_queue_dead'::regclass) AS dead_est
        FROM capped),
      sample AS (SELECT count(*) FILTER (WHERE visible_at <= now())::float8 / greatest(count(*), 1) AS ready,
                        count(*) FILTER (WHERE visible_at > now() AND read_count > 0)::float8 / greatest(count(*), 1) AS in_flight,
                        count(*) FILTER (WHERE visible_at > now() AND read_count = 0)::float8 / greatest(count(*), 1) AS delayed
                 FROM backfill_queue TABLESAMPLE SYSTEM (2) WHERE (SELECT big FROM sized))
    SELECT json_build_object(
        'ready', CASE WHEN s.ready <= {cap} THEN s.ready ELSE greatest((s.rows_est * sample.ready)::bigint, {cap1}) END,
        'in_flight', CASE WHEN s.invisible <= {cap} THEN s.in_flight ELSE (s.rows_est * sample.in_flight)::bigint END,
        'delayed', CASE WHEN s.invisible <= {cap} THEN s.delayed ELSE (s.rows_est * sample.delayed)::bigint END,
        'dead', CASE WHEN s.dead <= {cap} THEN s.dead ELSE greatest(s.dead_est, {cap1}) END,
        'estimated', s.big OR s.dead > {cap},
        -- Ids grow with time: the first ready id is the oldest ready message.
        'oldest_ready_at', (SELECT enqueued_at FROM backfill_queue WHERE visible_at <= now() ORDER BY msg_id LIMIT 1),
        'enqueued_total', (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM backfill_queue_msg_id_seq))
    FROM sized s, sample)
"
    )
}

/// One snapshot. A missing table is reported as a missing schema (run `migrate`).
pub async fn read(client: &Client) -> Result<Snapshot, DbError> {
    read_with(client, None).await
}

/// One snapshot, with the deployment's own queue depth query when it has one.
pub async fn read_with(client: &Client, queue_query: Option<&str>) -> Result<Snapshot, DbError> {
    let messages = client.simple_query(&snapshot_sql_with(queue_query)).await.map_err(|e| {
        if queue_query.is_some() {
            let what = "read the snapshot (check queue_depth_query in the config: one row with ready, in_flight, delayed, dead)";
            DbError::query(what, &e)
        } else if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
            DbError::SchemaMissing { missing: super::error::describe(&e) }
        } else {
            DbError::query("read the snapshot", &e)
        }
    })?;
    let text = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0),
            _ => None,
        })
        .ok_or_else(|| DbError::Refused("the snapshot query returned no row".into()))?;
    let mut snapshot: Snapshot =
        serde_json::from_str(text).map_err(|e| DbError::Refused(format!("the snapshot could not be decoded: {e}")))?;
    snapshot.sort_months();
    Ok(snapshot)
}

/// The channel the triggers of `sql/004_notify.sql` notify on.
pub const CHANGE_CHANNEL: &str = "backfill_console";
