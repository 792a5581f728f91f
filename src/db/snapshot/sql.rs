//! The snapshot statement, built from its parts (months, lock holders, queue).
//! Everything is computed by the server into ONE JSON document, in ONE
//! statement, so the parts are from one instant.

use super::{ERROR_PREVIEW_CHARS, EXACT_COUNT_CAP};

/// How many pages of the queue the estimate samples (whatever the table's size:
/// the cost of an estimate stays flat as the queue grows).
const SAMPLE_PAGES: u32 = 50;

/// The fingerprints of the parts the caller already has; a part whose
/// fingerprint still matches comes back as its fingerprint alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    pub months: Option<&'a str>,
    /// The snapshot xmin (32 bits) of the read that gave those months: when
    /// they changed, only rows written since are sent.
    pub months_horizon: Option<u32>,
    pub locks: Option<&'a str>,
}

/// The whole statement.
pub fn snapshot_sql(queue_query: Option<&str>, known: Known<'_>) -> String {
    let queue = match queue_query {
        Some(query) => custom_queue_sql(query),
        None => builtin_queue_sql(),
    };
    let months = months_sql(known.months, known.months_horizon);
    let locks = locks_sql(known.locks);
    // A deployment's own queue: where a month's message is, is not known.
    let processing = if queue_query.is_some() { "NULL" } else { PROCESSING };
    format!(
        "WITH l AS MATERIALIZED ({LOCKS}) SELECT json_build_object(
  'taken_at', now(),
  'reader_pid', pg_backend_pid(),
  'months', {months},
  'locks', {locks},
  'sessions', {SESSIONS},
  'queue', {queue},
  'processing', {processing}
)::text"
    )
}

/// Each part as a statement of its own, for the benchmark's breakdown (the
/// lock and session parts need the lock CTE, so they come together).
pub fn parts(known: Known<'_>) -> Vec<(&'static str, String)> {
    let locks = locks_sql(known.locks);
    let locks_and_sessions = format!("WITH l AS MATERIALIZED ({LOCKS}) SELECT {locks}::text, {SESSIONS}::text");
    vec![
        ("months", format!("SELECT {}::text", months_sql(known.months, known.months_horizon))),
        ("locks + sessions", locks_and_sessions),
        ("queue", format!("SELECT {}::text", builtin_queue_sql())),
        ("processing", format!("SELECT {PROCESSING}::text")),
    ]
}

/// Each `processing` month's live message, if it has one (one probe of the queue's month
/// index per such month: what tells a consumer stall from a dead consumer or an abandoned
/// month). Fields by position (`model::snapshot::QueuedFor`).
const PROCESSING: &str = "(SELECT coalesce(json_agg(json_build_array(b.year, b.month, q.msg_id, q.read_count,
          q.enqueued_at, q.visible_at)), '[]')
      FROM backfill_log b
      LEFT JOIN LATERAL (SELECT q.msg_id, q.read_count, q.enqueued_at, q.visible_at FROM backfill_queue q
                         WHERE backfill_message_month(q.message) = b.year * 100 + b.month
                         ORDER BY q.msg_id LIMIT 1) q ON true
      WHERE b.status = 'processing')";

/// The advisory locks, read once (`pg_lock_status` walks the whole lock table).
/// `waitstart` (PostgreSQL 14+) is read through `to_jsonb` so older servers
/// work too — only for waiters: on 1,000 held locks it cost 5.7 ms.
const LOCKS: &str = "SELECT l.pid, l.granted, l.classid::bigint AS classid, l.objid::bigint AS objid, l.objsubid,
        l.database IS NOT DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())
          AS in_this_database,
        l.mode, CASE WHEN l.granted THEN NULL ELSE to_jsonb(l)->'waitstart' END AS waitstart
      FROM pg_locks l WHERE l.locktype = 'advisory'";

/// The lock rows (`super::RawLocks`): the common shape — a granted exclusive
/// month-key lock in this database — as two columns (pids, keys); every other
/// lock as one JSON array, fields by position (`super::RawLock`). At 1,000
/// locks an object per row cost 1.2 ms of JSON, an array per row 0.5 ms more
/// than the columns.
const LOCK_ROWS: &str = "(SELECT json_build_object(
        'common', json_build_array(coalesce(array_agg(l.pid) FILTER (WHERE l.common), '{}'),
                                   coalesce(array_agg(l.objid) FILTER (WHERE l.common), '{}')),
        'other', coalesce(json_agg(json_build_array(
            l.pid, l.granted, l.classid, l.objid, l.objsubid, l.in_this_database, l.mode, l.waitstart,
            CASE WHEN l.granted THEN '{}'::int[] ELSE pg_blocking_pids(l.pid) END)) FILTER (WHERE NOT l.common), '[]'))
      FROM (SELECT l.*, (l.granted AND l.in_this_database AND l.classid = 0 AND l.objsubid = 1
                         AND l.mode = 'ExclusiveLock' AND l.pid IS NOT NULL) AS common FROM l) l)";

/// The sessions behind those locks, once per session rather than once per
/// lock (1,000 locks are typically held by a few dozen sessions).
const SESSIONS: &str = "(SELECT coalesce(json_agg(json_build_object(
        'pid', a.pid, 'usename', a.usename, 'application_name', a.application_name,
        'client_addr', host(a.client_addr), 'client_hostname', a.client_hostname, 'client_port', a.client_port,
        'backend_start', a.backend_start, 'xact_start', a.xact_start, 'query_start', a.query_start,
        'state_change', a.state_change, 'state', a.state, 'wait_event_type', a.wait_event_type,
        'wait_event', a.wait_event, 'query', a.query, 'backend_type', a.backend_type)), '[]')
      FROM pg_stat_activity a WHERE a.pid IN (SELECT pid FROM l))";

/// The lock rows, or only their fingerprint when it equals `known`: the count
/// and a sum of per-row hashes of key, holder, mode and granted — cheap next to
/// building 1,000 rows of JSON (the sessions, whose state and times move, are
/// always sent).
fn locks_sql(known: Option<&str>) -> String {
    let known = fingerprint_literal(known);
    format!(
        "(SELECT json_build_object('fingerprint', f.fp, 'rows', CASE WHEN f.fp = '{known}' THEN NULL ELSE {LOCK_ROWS} END)
          FROM (SELECT count(*) || ':' || coalesce(sum(hashint8((l.classid << 32) | l.objid) # hashint4(coalesce(l.pid, 0))
                  # (l.objsubid * 2 + l.granted::int + length(l.mode) * 4)), 0) AS fp FROM l) f)"
    )
}

/// A fingerprint we gave out is digits, a minus sign and a colon; anything else is never sent.
fn fingerprint_literal(known: Option<&str>) -> &str {
    known.filter(|k| k.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-')).unwrap_or("")
}

/// The months, or only their fingerprint when it equals `known`. The
/// fingerprint is the row count and the sum of the rows' `xmin`: every INSERT,
/// UPDATE or DELETE that commits changes it (a new row version carries the
/// writer's transaction id), at the cost of a scan with no JSON built.
///
/// When they did change and the reader gives the `horizon` of its last read
/// (that snapshot's xmin), only rows whose `xmin` is not older are sent: a
/// transaction that committed after that read was either still running then
/// (its id is at least the horizon) or started later. Deleted rows are not in
/// a delta; the reader sees it by the count and reads everything again.
fn months_sql(known: Option<&str>, horizon: Option<u32>) -> String {
    let known = fingerprint_literal(known);
    let half = ERROR_PREVIEW_CHARS / 2;
    let (delta, filter) = match horizon {
        Some(h) => ("true", format!("age(xmin) <= age('{h}'::xid)")),
        None => ("false", "true".to_string()),
    };
    format!(
        "(SELECT json_build_object('fingerprint', f.fp, 'delta', {delta},
            'horizon', txid_snapshot_xmin(txid_current_snapshot()) % 4294967296,
            'rows', CASE WHEN f.fp = '{known}' THEN NULL ELSE
          (SELECT coalesce(json_agg(json_build_object(
              'id', id, 'year', year, 'month', month, 'status', status, 'retry_count', retry_count,
              'started_at', started_at, 'completed_at', completed_at, 'last_retry_at', last_retry_at,
              'error', CASE WHEN length(error_message) <= {ERROR_PREVIEW_CHARS} THEN error_message
                            ELSE left(error_message, {half}) || ' … ' || right(error_message, {half}) END)
              ORDER BY year DESC, month DESC), '[]')
           FROM backfill_log WHERE {filter}) END)
        FROM (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) AS fp FROM backfill_log) f)"
    )
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

/// The built-in queue part (the queue table of `sql/002_queue.sql`).
fn builtin_queue_sql() -> String {
    let (cap, cap1) = (EXACT_COUNT_CAP, EXACT_COUNT_CAP + 1);
    format!(
        "(WITH
      -- Each figure is counted exactly up to the cap; beyond it, it is estimated from a
      -- sample of about {SAMPLE_PAGES} pages scaled to the catalogue's row count (and never below the cap).
      capped AS MATERIALIZED (SELECT
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
                 FROM backfill_queue TABLESAMPLE SYSTEM ((SELECT least(100, {SAMPLE_PAGES} * 100.0 / greatest(relpages, 1))::real
                                                          FROM pg_class WHERE oid = 'backfill_queue'::regclass))
                 WHERE (SELECT big FROM sized))
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

/// The snapshot statement exactly as it is sent, to be read whole in review: the
/// first read (nothing known), and a later one that knows the months and locks.
#[cfg(test)]
mod statements {
    use super::*;

    #[test]
    fn the_snapshot_statement_as_sent() {
        let first = Known { months: None, months_horizon: None, locks: None };
        insta::assert_snapshot!("snapshot_first_read", snapshot_sql(None, first));
        let later = Known { months: Some("300:-1234"), months_horizon: Some(9876), locks: Some("12:5678") };
        insta::assert_snapshot!("snapshot_later_read", snapshot_sql(None, later));
        let custom = Known { months: None, months_horizon: None, locks: None };
        insta::assert_snapshot!(
            "snapshot_custom_queue",
            snapshot_sql(Some("SELECT ready, in_flight, delayed, dead FROM my_queue_depth"), custom)
        );
    }
}
