//! Reading the read model: ONE statement, ONE round trip (simple protocol, no
//! prepare), no transaction left open; the server builds the whole snapshot as
//! one JSON document, so months, locks and queue are from one instant.

use tokio_postgres::{Client, SimpleQueryMessage};

use super::DbError;
use crate::model::Snapshot;

/// Longest error text carried in a snapshot; the detail view reads the rest.
pub const ERROR_PREVIEW_CHARS: i32 = 300;

pub fn snapshot_sql() -> String {
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
  'queue', (SELECT json_build_object(
        'ready', count(*) FILTER (WHERE visible_at <= now()),
        'in_flight', count(*) FILTER (WHERE visible_at > now() AND read_count > 0),
        'delayed', count(*) FILTER (WHERE visible_at > now() AND read_count = 0),
        'oldest_ready_at', min(enqueued_at) FILTER (WHERE visible_at <= now()),
        'dead', (SELECT count(*) FROM backfill_queue_dead),
        'enqueued_total', (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM backfill_queue_msg_id_seq))
      FROM backfill_queue)
)::text"
    )
}

/// One snapshot. A missing table is reported as a missing schema (run `migrate`).
pub async fn read(client: &Client) -> Result<Snapshot, DbError> {
    let messages = client.simple_query(&snapshot_sql()).await.map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
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
