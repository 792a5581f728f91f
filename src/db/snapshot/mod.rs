//! Reading the read model: ONE statement, ONE round trip, no transaction left open;
//! the server builds the snapshot as one JSON document, so the parts it reads are from
//! one instant. A [`Reader`] (the console's worker) asks only for the parts it needs and
//! keeps the rest; on a direct session its statement is prepared once.

mod cache;
mod decode;
mod guard;
mod plan;
mod sql;

use std::collections::HashMap;

use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

pub use cache::ReadCache;
pub use plan::{FULL_EVERY, ReadPlan, SAMPLE_EVERY};
pub use sql::{Known, Params, Parts, Piece, parts as snapshot_parts_sql, piece_sql, snapshot_sql, with_literals};

use super::DbError;
use super::connect::Session;
use crate::model::Snapshot;

/// Longest error text carried in a snapshot whole; a longer one comes as its first and
/// last halves of this (the causes are grouped on it: a traceback's last lines name its
/// exception). The detail view reads the rest.
pub const ERROR_PREVIEW_CHARS: i32 = 2000;

/// Queue figures are counted exactly up to this many; beyond it they are
/// estimates (a page sample scaled to the catalogue row count, never below the cap)
/// and say so. Five times the critical backlog alert (200): alerts always see
/// exact figures.
pub const EXACT_COUNT_CAP: i64 = 1_000;

/// The channel the triggers of `sql/004_notify.sql` notify on.
pub const CHANGE_CHANNEL: &str = "backfill_console";

/// Whether the notify triggers of `sql/004` are in force on the work list, the queue and
/// the dead table (present, and enabled for ordinary sessions): then a notification
/// tells of every change to them and the console need not read them when none came.
pub async fn triggers_in_force(client: &Client) -> bool {
    let sql = "SELECT count(*) FROM pg_trigger
               WHERE tgname = 'backfill_console_notify' AND tgenabled IN ('O', 'A')
                 AND tgrelid IN (SELECT to_regclass(t) FROM unnest(ARRAY['backfill_log', 'backfill_queue',
                                                                         'backfill_queue_dead']) t)";
    matches!(client.query_one(sql, &[]).await.map(|r| r.get::<_, i64>(0)), Ok(3))
}

/// The parameters' types, in order (see [`Params`]).
const PARAM_TYPES: [Type; 9] = [
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::FLOAT8_ARRAY,
    Type::TEXT,
];

/// One snapshot. A missing table is reported as a missing schema (run `migrate`).
pub async fn read(client: &Client) -> Result<Snapshot, DbError> {
    read_with(client, None).await
}

/// One snapshot, with the deployment's own queue depth query when it has one.
pub async fn read_with(client: &Client, queue_query: Option<&str>) -> Result<Snapshot, DbError> {
    Ok(read_incremental(client, queue_query, None).await?.0)
}

/// One snapshot, reusing the parts of `known` that have not changed since;
/// returns the cache for the next read.
pub async fn read_incremental(
    client: &Client,
    queue_query: Option<&str>,
    known: Option<&ReadCache>,
) -> Result<(Snapshot, ReadCache), DbError> {
    read_incremental_with(client, None, queue_query, known).await
}

/// [`read_incremental`] inside a transaction that runs `local_settings` (`SET LOCAL …`)
/// first — a session through a transaction pooler ([`Session::per_transaction`]).
/// Every part is read (as simple query text).
pub async fn read_incremental_with(
    client: &Client,
    local_settings: Option<&str>,
    queue_query: Option<&str>,
    known: Option<&ReadCache>,
) -> Result<(Snapshot, ReadCache), DbError> {
    let sql = snapshot_sql(queue_query);
    let how = How { client, statements: None, sql: &sql, local_settings, guarded: queue_query.is_some() };
    let empty = ReadCache::default();
    let (snapshot, cache, _) = read_parts(&how, known.unwrap_or(&empty), Parts::ALL).await?;
    Ok((snapshot, cache))
}

/// How one read is sent.
struct How<'a> {
    client: &'a Client,
    /// Prepared on this session, one per [`Piece`] (a direct one, with our own queue table).
    statements: Option<&'a HashMap<Piece, Statement>>,
    sql: &'a str,
    local_settings: Option<&'a str>,
    /// A deployment's own queue depth query runs in it (see [`guard`]).
    guarded: bool,
}

/// Reads `parts` against `known`; a document that cannot be resolved from it (a delta
/// that does not add up, a part not held) is followed by one read of everything.
/// Returns the snapshot, the new cache and the document as the server sent it.
async fn read_parts(how: &How<'_>, known: &ReadCache, parts: Parts) -> Result<(Snapshot, ReadCache, String), DbError> {
    let empty = ReadCache::default();
    let (mut known, mut parts) = if known.is_complete() { (known, parts) } else { (&empty, Parts::ALL) };
    for attempt in 0..2 {
        let params = Params::new(known.known_fingerprints(), parts);
        let text = send(how, &params, parts).await?;
        let raw: decode::Raw = serde_json::from_str(&text).map_err(|e| guard::explain_decode_error(&text, &e))?;
        if parts.queue && raw.queue.is_none() {
            // Our own queue part always has a row; a deployment's query may have none.
            return Err(guard::queue_query_refused("returned no row"));
        }
        if let Some((snapshot, cache)) = known.apply(raw) {
            return Ok((snapshot, cache, text));
        }
        if attempt == 0 {
            (known, parts) = (&empty, Parts::ALL);
        }
    }
    Err(DbError::Refused("the snapshot came without its months or locks; read it again".into()))
}

/// Runs the statement (or the prepared pieces of `parts`, pipelined) and returns the
/// document's text.
async fn send(how: &How<'_>, params: &Params, parts: Parts) -> Result<String, DbError> {
    if how.guarded || how.local_settings.is_some() {
        return guard::read_guarded(how.client, how.local_settings, &with_literals(how.sql, params), how.guarded).await;
    }
    let p = params;
    let values: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
        &p.months_fp,
        &p.horizon,
        &p.sessions_fp,
        &p.locks,
        &p.months,
        &p.queue,
        &p.sample,
        &p.fractions,
        &p.quiet_activity,
    ];
    let result = match how.statements {
        Some(statements) => {
            let pieces = Piece::of(parts);
            let sent =
                pieces.iter().filter_map(|piece| statements.get(piece)).map(|s| how.client.query_one(s, &values));
            futures_util::future::try_join_all(sent).await.map(|rows| {
                let docs: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
                merge(&docs)
            })
        }
        None => how
            .client
            .simple_query(&with_literals(how.sql, params))
            .await
            .map(|m| guard::first_value(&m).map(str::to_string).unwrap_or_default()),
    };
    result.map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
            DbError::SchemaMissing { missing: super::error::describe(&e) }
        } else {
            DbError::query("read the snapshot", e)
        }
    })
}

/// JSON objects with no key in common, as one.
fn merge(docs: &[String]) -> String {
    let inner: Vec<&str> = docs
        .iter()
        .map(|d| d.trim())
        .filter_map(|d| d.strip_prefix('{').and_then(|d| d.strip_suffix('}')))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// The console's reader: the parts it holds, and its statement, prepared on the
/// session it last read on (a direct session with our own queue table).
pub struct Reader {
    queue_query: Option<String>,
    sql: String,
    cache: ReadCache,
    /// The statements, by piece, and the backend they are prepared on.
    prepared: Option<(i32, HashMap<Piece, Statement>)>,
    /// The queue's least size (ready, in flight and delayed) seen since those statements
    /// were prepared: their plans may have been made for a queue that small (the server
    /// plans them again after an ANALYZE, at whatever size the queue has then). See
    /// [`Reader::replan_if_outgrown`].
    least_since_planned: Option<i64>,
}

/// The queue has outgrown the plans made for it when it is this many times larger…
const REPLAN_GROWTH: i64 = 10;
/// …than it was then, or than this, whichever is more.
const REPLAN_FLOOR: i64 = 100;

/// One read: the snapshot and the document it came from, as the server sent it
/// (the relay passes it on to other consoles as it is).
pub struct Read {
    pub snapshot: Snapshot,
    pub document: String,
}

impl Reader {
    pub fn new(queue_query: Option<String>) -> Self {
        let sql = snapshot_sql(queue_query.as_deref());
        Self { queue_query, sql, cache: ReadCache::default(), prepared: None, least_since_planned: None }
    }

    pub fn cache(&self) -> &ReadCache {
        &self.cache
    }

    /// Reads `parts` (everything when the cache is not complete) on `session`.
    pub async fn read(&mut self, session: &Session, parts: Parts) -> Result<Read, DbError> {
        let direct = session.per_transaction.is_none() && self.queue_query.is_none();
        if direct {
            if self.prepared.as_ref().is_none_or(|(pid, _)| *pid != session.backend_pid) {
                // Planned once: left to choose, the server plans every read anew (a custom
                // plan with the unread parts folded away looks cheaper than the generic one
                // — and costs more in planning than it saves).
                session
                    .client
                    .batch_execute("SET plan_cache_mode = force_generic_plan")
                    .await
                    .map_err(|e| DbError::query("prepare the snapshot statement", e))?;
                self.prepared = Some((session.backend_pid, HashMap::new()));
                self.least_since_planned = None;
            }
            // Each piece prepared when first needed (a read that must read everything
            // again needs the pieces of a whole read too).
            if let Some((_, statements)) = self.prepared.as_mut() {
                let needed = Piece::of(parts).into_iter().chain(Piece::of(Parts::ALL));
                for piece in needed {
                    if statements.contains_key(&piece) {
                        continue;
                    }
                    let statement = session
                        .client
                        .prepare_typed(&piece_sql(None, piece), &PARAM_TYPES)
                        .await
                        .map_err(|e| DbError::query("prepare the snapshot statement", e))?;
                    statements.insert(piece, statement);
                }
            }
        }
        let how = How {
            client: &session.client,
            statements: if direct { self.prepared.as_ref().map(|(_, s)| s) } else { None },
            sql: &self.sql,
            local_settings: session.per_transaction.as_deref(),
            guarded: self.queue_query.is_some(),
        };
        let read = read_parts(&how, &self.cache, parts).await;
        if direct {
            self.replan_if_outgrown(read.as_ref().map(|(snapshot, _, _)| snapshot));
        }
        let (snapshot, cache, document) = read?;
        self.cache = cache;
        Ok(Read { snapshot, document })
    }

    /// Lets the statements be planned again at the next read when the plans they run on
    /// no longer fit the queue. A prepared statement keeps its generic plan until the
    /// server invalidates it (an ANALYZE of a table it reads, a change of the schema):
    /// made while the queue was empty, the plan reads the queue by sequential scans, once
    /// per processing month — one read of a 20,000-message queue with 84 processing months
    /// read 1.67 M rows — and goes on doing so after a backlog has grown the queue, until
    /// autovacuum analyzes it (a minute by default; longer when its workers are busy).
    /// Planned again, the plans see the table's present size and look each month's
    /// message up by its index. So: when the queue is [`REPLAN_GROWTH`] times the least it
    /// was since these statements were prepared, and when a read was cancelled (the
    /// statement timeout: a read over a big queue on such plans may never finish in time,
    /// and then never shows the growth).
    fn replan_if_outgrown(&mut self, read: Result<&Snapshot, &DbError>) {
        let outgrown = match read {
            Ok(snapshot) => {
                let q = &snapshot.queue;
                let size = q.ready + q.in_flight + q.delayed;
                let least = self.least_since_planned.map_or(size, |least| least.min(size));
                self.least_since_planned = Some(least);
                size > REPLAN_GROWTH * least.max(REPLAN_FLOOR)
            }
            Err(e) => e.sqlstate() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        };
        if outgrown {
            tracing::debug!("the snapshot's plans no longer fit the queue: planned again at the next read");
            self.prepared = None;
            self.least_since_planned = None;
        }
    }

    /// Applies a document another console read (the relay). `None` when it cannot be
    /// followed from what this reader holds (it then reads for itself).
    pub fn apply(&mut self, document: &str) -> Option<Snapshot> {
        let raw: decode::Raw = serde_json::from_str(document).ok()?;
        let (snapshot, cache) = self.cache.apply(raw)?;
        self.cache = cache;
        Some(snapshot)
    }
}
