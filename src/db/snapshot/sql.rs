//! The snapshot statement, built from its parts (months, lock holders and their
//! sessions, queue, processing months). The server computes everything into ONE JSON
//! document, in ONE statement, so the parts it reads are from one instant.
//!
//! A read asks for the parts it needs ([`Parts`]) and passes what it already holds
//! ([`Known`]); a part not asked for comes back `null` and a part whose fingerprint still
//! matches comes back as its fingerprint alone. The statement's text never changes
//! (everything variable is a parameter), so a direct session prepares it once and never
//! plans it again; through a transaction pooler the same text goes with literals in place
//! of the parameters ([`with_literals`]).

use super::{ERROR_PREVIEW_CHARS, EXACT_COUNT_CAP};
use crate::db::migrate::{LOCK_NAMESPACE, RELAY_LOCK};

/// How many pages of the queue the estimate samples (whatever the table's size:
/// the cost of an estimate stays flat as the queue grows).
const SAMPLE_PAGES: u32 = 50;

/// The parts one read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// The advisory locks and their holders' sessions.
    pub locks: bool,
    pub months: bool,
    /// The queue's figures and the processing months' messages.
    pub queue: bool,
    /// Sample the queue for its estimates (only asked when the queue is beyond the exact
    /// cap; otherwise the fractions of the last sample are used again).
    pub sample: bool,
}

impl Parts {
    pub const ALL: Parts = Parts { locks: true, months: true, queue: true, sample: true };
}

/// The fingerprints of the parts the caller already has, and the queue fractions of its
/// last sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    pub months: Option<&'a str>,
    /// The snapshot xmin (32 bits) of the read that gave those months: when
    /// they changed, only rows written since are sent.
    pub months_horizon: Option<u32>,
    pub sessions: Option<&'a str>,
    /// The sessions' activity fingerprint of the last read that read the locks, when
    /// nothing was running then (see `ACTIVITY`).
    pub quiet_activity: Option<&'a str>,
    /// Ready, in flight, delayed: the shares of the last sample.
    pub fractions: Option<[f64; 3]>,
}

/// The statement's parameters, in order (`$1` … `$9`).
pub struct Params {
    pub months_fp: String,
    pub horizon: Option<i64>,
    pub sessions_fp: String,
    pub locks: bool,
    pub months: bool,
    pub queue: bool,
    pub sample: bool,
    pub fractions: Option<Vec<f64>>,
    pub quiet_activity: String,
}

impl Params {
    pub fn new(known: Known<'_>, parts: Parts) -> Self {
        Params {
            months_fp: fingerprint_literal(known.months).to_string(),
            horizon: known.months_horizon.map(i64::from),
            sessions_fp: fingerprint_literal(known.sessions).to_string(),
            locks: parts.locks,
            months: parts.months,
            queue: parts.queue,
            // Without fractions to use again, the queue is sampled.
            sample: parts.sample || known.fractions.is_none(),
            fractions: known.fractions.map(|f| f.to_vec()),
            quiet_activity: fingerprint_literal(known.quiet_activity).to_string(),
        }
    }
}

/// A fingerprint we gave out is digits, a minus sign and colons; anything else is never sent.
fn fingerprint_literal(known: Option<&str>) -> &str {
    known.filter(|k| k.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-')).unwrap_or("")
}

/// Which parts one statement reads. Prepared, a read sends the statement of its locks
/// (which carries the head: the time, the reader) and one statement of the parts under
/// MVCC (the months, the queue and the processing months' messages, from one snapshot),
/// pipelined in one round trip — a smaller plan to start than one statement of every part,
/// which costs a quiet refresh a third of its time. As text (through a transaction pooler,
/// or guarded), one statement of everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Piece {
    /// `taken_at`, `reader_pid`, `notify_usage`: once per read.
    pub head: bool,
    pub locks: bool,
    pub months: bool,
    pub queue: bool,
}

impl Piece {
    pub const WHOLE: Piece = Piece { head: true, locks: true, months: true, queue: true };

    /// The statements one read of `parts` sends, in order.
    pub fn of(parts: Parts) -> Vec<Piece> {
        let mvcc = parts.months || parts.queue;
        // A read of nothing still says when it was taken: the locks' statement does.
        let parts = Parts { locks: parts.locks || !mvcc, ..parts };
        let locks = Piece { head: true, locks: true, months: false, queue: false };
        let rest = Piece { head: !parts.locks, locks: false, months: parts.months, queue: parts.queue };
        match (parts.locks, mvcc) {
            (true, true) => vec![locks, rest],
            (true, false) => vec![locks],
            (false, _) => vec![rest],
        }
    }
}

/// The whole statement, with `$1` … `$9` (see [`Params`]).
pub fn snapshot_sql(queue_query: Option<&str>) -> String {
    piece_sql(queue_query, Piece::WHOLE)
}

/// One statement of `piece`, with `$1` … `$9` (see [`Params`]; the parts it does not
/// read leave theirs unused).
pub fn piece_sql(queue_query: Option<&str>, piece: Piece) -> String {
    let mut keys: Vec<String> = Vec::new();
    if piece.head {
        keys.push(
            "'taken_at', now(),\n  'reader_pid', pg_backend_pid(),\n  'notify_usage', pg_notification_queue_usage()"
                .into(),
        );
    }
    if piece.locks {
        keys.push("'activity', CASE WHEN $4 THEN (SELECT json_build_object('fingerprint', act.fp, 'busy', act.busy) FROM act) END".into());
    }
    if piece.months {
        keys.push(format!("'months', CASE WHEN $5 THEN {} END", months()));
    }
    if piece.locks {
        keys.push(format!("'locks', CASE WHEN (SELECT act.read_locks FROM act) THEN {LOCK_ROWS} END"));
        keys.push(format!("'sessions', CASE WHEN (SELECT act.read_locks FROM act) THEN {SESSIONS} END"));
    }
    if piece.queue {
        let queue = match queue_query {
            Some(query) => custom_queue_sql(query),
            None => builtin_queue_sql(),
        };
        keys.push(format!("'queue', CASE WHEN $6 THEN {queue} END"));
    }
    if piece.months || piece.queue {
        // A deployment's own queue: where a month's message is, is not known.
        let processing = if queue_query.is_some() { "NULL" } else { PROCESSING };
        keys.push(format!("'processing', CASE WHEN $5 OR $6 THEN json_build_object('rows', {processing}) END"));
    }
    let with = if piece.locks {
        format!("WITH act AS MATERIALIZED ({ACTIVITY}), lk AS ({}) ", locks())
    } else {
        String::new()
    };
    format!("{with}SELECT json_build_object(\n  {}\n)::text", keys.join(",\n  "))
}

/// `sql` with the parameters written in as literals (a statement sent as simple query
/// text: through a transaction pooler, or guarded). The values are ours: fingerprints
/// checked to be digits, colons and minus signs, numbers and booleans.
pub fn with_literals(sql: &str, p: &Params) -> String {
    let fractions = match &p.fractions {
        Some(f) => format!("ARRAY[{}]::float8[]", f.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", ")),
        None => "NULL::float8[]".to_string(),
    };
    let values = [
        format!("'{}'::text", fingerprint_literal(Some(&p.months_fp))),
        p.horizon.map_or("NULL::int8".to_string(), |h| format!("{h}::int8")),
        format!("'{}'::text", fingerprint_literal(Some(&p.sessions_fp))),
        p.locks.to_string(),
        p.months.to_string(),
        p.queue.to_string(),
        p.sample.to_string(),
        fractions,
        format!("'{}'::text", fingerprint_literal(Some(&p.quiet_activity))),
    ];
    // From the last down, so `$1` never eats the start of a longer number.
    values
        .iter()
        .enumerate()
        .rev()
        .fold(sql.to_string(), |text, (i, v)| text.replace(&format!("${}", i + 1), &format!("({v})")))
}

/// Each part as a statement of its own, for the benchmark's breakdown (the sessions
/// part needs the lock scan, so they come together), as simple query text.
pub fn parts(p: &Params) -> Vec<(&'static str, String)> {
    let part = |sql: String| with_literals(&sql, p);
    vec![
        ("months", part(format!("SELECT {}::text", months()))),
        (
            "locks + sessions",
            part(format!("WITH act AS ({ACTIVITY}), lk AS ({}) SELECT {LOCK_ROWS}::text, {SESSIONS}::text", locks())),
        ),
        ("queue", part(format!("SELECT {}::text", builtin_queue_sql()))),
        ("processing", part(format!("SELECT {PROCESSING}::text"))),
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

/// The advisory locks, in ONE pass over `pg_lock_status` (it walks the whole lock
/// table), but for the consoles' own relay lock (`db::relay`): the common shape — a
/// granted exclusive month-key lock in this database — as two arrays (pids, keys);
/// every other lock as a JSON array, fields by position (`super::decode::RawLock`);
/// and the holders' pids. At 1,000 locks: 0.9 ms, of which the lock table 0.5 ms (a
/// fingerprint to skip sending unchanged rows cost more than the arrays it saved).
/// `waitstart` (PostgreSQL 14+) is read through `to_jsonb` so older servers work too
/// — only for waiters: on 1,000 held locks it cost 5.7 ms.
fn locks() -> String {
    format!(
        "SELECT array_agg(l.pid) FILTER (WHERE l.common) AS pids, array_agg(l.objid::int8) FILTER (WHERE l.common) AS keys,
        json_agg(json_build_array(l.pid, l.granted, l.classid::int8, l.objid::int8, l.objsubid, l.in_this_database, l.mode,
            CASE WHEN l.granted THEN NULL ELSE to_jsonb(l)->'waitstart' END,
            CASE WHEN l.granted THEN '{{}}'::int[] ELSE pg_blocking_pids(l.pid) END)) FILTER (WHERE NOT l.common) AS other,
        array_agg(DISTINCT l.pid) AS holders
      FROM (SELECT l.*, l.database IS NOT DISTINCT FROM db.oid AS in_this_database,
                   (l.granted AND l.classid = 0 AND l.objsubid = 1 AND l.mode = 'ExclusiveLock'
                    AND l.pid IS NOT NULL AND l.database IS NOT DISTINCT FROM db.oid) AS common
            FROM pg_locks l, (SELECT oid FROM pg_database WHERE datname = current_database()) db
            WHERE l.locktype = 'advisory'
              AND NOT (l.objsubid = 2 AND l.classid = {LOCK_NAMESPACE} AND l.objid = {RELAY_LOCK})
              -- A one-time filter: decided before the lock table is read, and it is not read at all
              -- when the activity says nothing could have changed it.
              AND (SELECT act.read_locks FROM act)) l"
    )
}

/// What every other session is doing, as a fingerprint — and whether the lock table
/// needs reading. An advisory lock is only taken or let go by a statement (a session's
/// `query_start` and `state_change` move), at a session's end (its pid goes) or by one
/// running at the time. So when no session was running anything at the last read nor
/// is now, and the fingerprint of every session's pid, start, last query and state is
/// the one `$9` the reader saw then, no lock can have changed: the lock table — the
/// biggest cost of a quiet refresh — is not read. A session whose state is not known
/// (`track_activities` off, a background worker that reports none) counts as running.
/// Read before the lock table (see the one-time filter in [`locks`]).
const ACTIVITY: &str = "SELECT f.fp, f.busy, $4 AND NOT (f.fp = $9 AND NOT f.busy) AS read_locks
      FROM (SELECT count(*) || ':' || coalesce(sum(hashtext(concat_ws('|', a.pid, a.backend_start, a.query_start,
                     a.state_change, a.state))), 0) AS fp,
                   coalesce(bool_or(a.backend_type IN ('client backend', 'background worker')
                     AND a.state IS DISTINCT FROM 'idle' AND a.state IS DISTINCT FROM 'idle in transaction'
                     AND a.state IS DISTINCT FROM 'idle in transaction (aborted)'), false) AS busy
            FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid()
              -- The server's own processes take no advisory lock (and autovacuum comes and goes).
              AND a.backend_type NOT IN ('autovacuum launcher', 'autovacuum worker', 'checkpointer',
                'background writer', 'walwriter', 'walsender', 'walreceiver', 'walsummarizer', 'archiver',
                'startup', 'logger', 'io worker', 'slotsync worker', 'stats collector')) f";

/// The lock rows (`super::decode::RawLocks`).
const LOCK_ROWS: &str =
    "(SELECT json_build_object('common', json_build_array(coalesce(lk.pids, '{}'), coalesce(lk.keys, '{}')),
        'other', coalesce(lk.other, '[]')) FROM lk)";

/// The sessions behind those locks, once per session rather than once per lock
/// (1,000 locks are typically held by a few dozen sessions) — or only their
/// fingerprint when it equals `$3`: a hash of what moves (state, its times, the wait,
/// the application's name; a new query moves `query_start`), far cheaper than their JSON.
const SESSIONS: &str = "(SELECT json_build_object('fingerprint', f.fp, 'rows', CASE WHEN f.fp = $3 THEN NULL ELSE
        (SELECT coalesce(json_agg(json_build_object(
          'pid', a.pid, 'usename', a.usename, 'application_name', a.application_name,
          'client_addr', host(a.client_addr), 'client_hostname', a.client_hostname, 'client_port', a.client_port,
          'backend_start', a.backend_start, 'xact_start', a.xact_start, 'query_start', a.query_start,
          'state_change', a.state_change, 'state', a.state, 'wait_event_type', a.wait_event_type,
          'wait_event', a.wait_event, 'query', a.query, 'backend_type', a.backend_type)), '[]')
         FROM pg_stat_activity a WHERE a.pid = ANY (f.pids)) END)
      FROM (SELECT count(*) || ':' || coalesce(sum(hashtext(concat_ws('|', a.pid, a.backend_start, a.xact_start,
                     a.query_start, a.state_change, a.state, a.wait_event_type, a.wait_event, a.application_name))), 0) AS fp,
                   array_agg(a.pid) AS pids
            FROM pg_stat_activity a WHERE a.pid = ANY (coalesce((SELECT lk.holders FROM lk), '{}'))) f)";

/// The months, or only their fingerprint when it equals `$1`. The fingerprint is the
/// row count and the sum of the rows' `xmin`: every INSERT, UPDATE or DELETE that
/// commits changes it (a new row version carries the writer's transaction id), at the
/// cost of a scan with no JSON built.
///
/// When they did change and the reader gives the horizon `$2` of its last read (that
/// snapshot's xmin), only rows whose `xmin` is not older are sent: a transaction that
/// committed after that read was either still running then (its id is at least the
/// horizon) or started later. Deleted rows are not in a delta; the reader sees it by
/// the count and reads everything again. `from` says which horizon a delta starts at
/// (a console following another's reads checks it against its own: `db::relay`).
fn months() -> String {
    let (whole, half) = (ERROR_PREVIEW_CHARS, ERROR_PREVIEW_CHARS / 2);
    format!(
        "(SELECT json_build_object('fingerprint', f.fp, 'delta', $2 IS NOT NULL, 'from', $2,
            'horizon', txid_snapshot_xmin(txid_current_snapshot()) % 4294967296,
            'rows', CASE WHEN f.fp = $1 THEN NULL ELSE
          (SELECT coalesce(json_agg(json_build_object(
              'id', id, 'year', year, 'month', month, 'status', status, 'retry_count', retry_count,
              'started_at', started_at, 'completed_at', completed_at, 'last_retry_at', last_retry_at,
              'error', CASE WHEN length(error_message) <= {whole} THEN error_message
                            ELSE left(error_message, {half}) || ' … ' || right(error_message, {half}) END)
              ORDER BY year DESC, month DESC), '[]')
           FROM backfill_log WHERE $2 IS NULL OR age(xmin) <= age(($2 % 4294967296)::text::xid)) END)
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
      -- A new sample ($7), or the shares of the reader's last one ($8).
      sample AS (SELECT count(*) FILTER (WHERE visible_at <= now())::float8 / greatest(count(*), 1) AS ready,
                        count(*) FILTER (WHERE visible_at > now() AND read_count > 0)::float8 / greatest(count(*), 1) AS in_flight,
                        count(*) FILTER (WHERE visible_at > now() AND read_count = 0)::float8 / greatest(count(*), 1) AS delayed
                 -- Of the table's pages as they are (the catalogue's count is the last ANALYZE's:
                 -- 0 for a queue analyzed empty, and the whole backlog sampled since).
                 FROM backfill_queue TABLESAMPLE SYSTEM (least(100, {SAMPLE_PAGES} * 100.0
                     / greatest(pg_relation_size('backfill_queue'::regclass) / current_setting('block_size')::int, 1))::real)
                 WHERE $7 AND (SELECT big FROM sized) HAVING $7 AND (SELECT big FROM sized)
                 UNION ALL SELECT $8[1], $8[2], $8[3] WHERE NOT ($7 AND (SELECT big FROM sized)))
    SELECT json_build_object(
        'ready', CASE WHEN s.ready <= {cap} THEN s.ready ELSE greatest((s.rows_est * sample.ready)::bigint, {cap1}) END,
        'in_flight', CASE WHEN s.invisible <= {cap} THEN s.in_flight ELSE (s.rows_est * sample.in_flight)::bigint END,
        'delayed', CASE WHEN s.invisible <= {cap} THEN s.delayed ELSE (s.rows_est * sample.delayed)::bigint END,
        'dead', CASE WHEN s.dead <= {cap} THEN s.dead ELSE greatest(s.dead_est, {cap1}) END,
        'estimated', s.big OR s.dead > {cap},
        'fractions', CASE WHEN s.big THEN json_build_array(sample.ready, sample.in_flight, sample.delayed) END,
        -- Ids grow with time: the first ready id is the oldest ready message.
        'oldest_ready_at', (SELECT enqueued_at FROM backfill_queue WHERE visible_at <= now() ORDER BY msg_id LIMIT 1),
        -- When the next invisible message becomes ready again (nothing is written then).
        'next_visible_at', (SELECT min(visible_at) FROM backfill_queue WHERE visible_at > now()),
        'enqueued_total', (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM backfill_queue_msg_id_seq))
    FROM sized s, sample)
"
    )
}

/// The snapshot statement exactly as it is sent, to be read whole in review: prepared
/// (with parameters), and as simple query text with the values of a later read.
#[cfg(test)]
#[path = "sql_tests.rs"]
mod statements;
