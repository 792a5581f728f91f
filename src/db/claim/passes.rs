//! The statements of the claim routine. Each is prepared once per session (its
//! parameter types given) and kept in the session: later claims on the same
//! session neither parse nor, once PostgreSQL settles on a generic plan, plan it.
//!
//! Under contention every claimer reads the same newest months. The routine
//! therefore reads a page of candidates and tries their locks in one statement,
//! in order, stopping as soon as it has as many as it still needs: a month whose
//! lock another claimer holds is passed over at once for the next one instead of
//! being waited on (issue 5). Only when the batch cannot be filled otherwise does
//! the routine come back to the months passed over and retry their locks for up
//! to the lock wait (SPEC §2 step 3) — see `worth_waiting_for` for which ones.

use std::collections::HashMap;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Statement, Transaction};

use crate::db::DbError;
use crate::db::lock_key::YearMonth;

/// How many candidates one page reads, per month still wanted: enough that a
/// claimer finds free months past several others' in-flight batches.
pub const PAGE_FACTOR: i64 = 10;

/// A walk over the candidates `cand(i, id, year, month)` (1-based `i` in walk
/// order), one month at a time — a recursive CTE, so each step runs only after
/// the one before and the walk stops right after the `$2`-th month taken: no
/// month past it is ever locked. `$decide` says what became of one month.
macro_rules! walk {
    ($candidates:expr, $decide:expr) => {
        concat!(
            "WITH RECURSIVE cand AS MATERIALIZED (",
            $candidates,
            "), arr AS MATERIALIZED (
                SELECT array_agg(id ORDER BY i) AS ids, array_agg(year ORDER BY i) AS years,
                       array_agg(month ORDER BY i) AS months, count(*)::int AS n FROM cand),
            walk (i, taken, outcome) AS (
                SELECT 0, 0, NULL::text
              UNION ALL
                SELECT w.i + 1, w.taken + (o.outcome = 'taken')::int, o.outcome
                FROM walk w CROSS JOIN arr a
                CROSS JOIN LATERAL (SELECT a.ids[w.i + 1] AS id, a.years[w.i + 1] AS year,
                                           a.months[w.i + 1] AS month) c
                CROSS JOIN LATERAL (SELECT ",
            $decide,
            " AS outcome) o
                WHERE w.i < a.n AND w.taken < $2)
            SELECT c.id, c.year, c.month, w.outcome FROM cand c LEFT JOIN walk w USING (i) ORDER BY c.i"
        )
    };
}

/// One month of a walk: its advisory lock first; then, holding it, the row is
/// read again FOR NO KEY UPDATE — which in READ COMMITTED sees the latest
/// committed version, not this statement's snapshot — so a month another
/// scheduler claimed and committed while the walk ran is `gone` instead of
/// taken (it would only come back raced from the UPDATE and cost the batch a
/// month). SKIP LOCKED: a row somebody is changing right now is `gone` too, and
/// the walk never blocks. The row lock is the one our UPDATE takes anyway.
macro_rules! lock_then_recheck {
    () => {
        concat!(
            "CASE WHEN NOT pg_try_advisory_xact_lock((c.year * 100 + c.month)::bigint) THEN 'busy'
              WHEN EXISTS (SELECT 1 FROM backfill_log b WHERE b.id = c.id AND b.status = ANY($1)
                             AND (b.status <> 'failed' OR b.retry_count < ",
            crate::retry_cap!(),
            ") FOR NO KEY UPDATE OF b SKIP LOCKED)
                   THEN 'taken'
              ELSE 'gone' END"
        )
    };
}

/// The weakened step, for the tests only: the lock alone, no second look.
macro_rules! lock_only {
    () => {
        "CASE WHEN pg_try_advisory_xact_lock((c.year * 100 + c.month)::bigint) THEN 'taken' ELSE 'busy' END"
    };
}

/// The candidate query (SPEC §2 step 2) for one page after a cursor: `$1`
/// statuses, `$3..$4` years, `$5..$6` the cursor (exclusive), `$7` page size,
/// `$8` only these month keys (`year * 100 + month`; NULL: all).
macro_rules! page {
    () => {
        concat!(
            "SELECT (row_number() OVER (ORDER BY year DESC, month DESC))::int AS i, id, year, month FROM backfill_log
         WHERE status = ANY($1) AND (status <> 'failed' OR retry_count < ",
            crate::retry_cap!(),
            ") AND year BETWEEN $3 AND $4
           AND (year, month) < ($5, $6) AND ($8::int[] IS NULL OR year * 100 + month = ANY($8))
         ORDER BY year DESC, month DESC LIMIT $7"
        )
    };
}

/// The months found busy before (`$3` ids), newest first.
macro_rules! again {
    () => {
        "SELECT (row_number() OVER (ORDER BY year DESC, month DESC))::int AS i, id, year, month FROM backfill_log
         WHERE id = ANY($3)"
    };
}

const WALK_PAGE: &str = walk!(page!(), lock_then_recheck!());
const WALK_AGAIN: &str = walk!(again!(), lock_then_recheck!());
const WALK_PAGE_LOCK_ONLY: &str = walk!(page!(), lock_only!());
const WALK_AGAIN_LOCK_ONLY: &str = walk!(again!(), lock_only!());

/// The claim's guards against a second live message for a month. All are always on;
/// the tests switch them off one at a time, to prove each one on its own prevents the
/// duplicate the existing scheduler sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// The walk reads a month again after taking its lock (latest committed version).
    pub recheck_after_lock: bool,
    /// A message only for a row the guarded UPDATE really changed.
    pub row_count: bool,
    /// No message for a month that has a live one already (left over, redriven, or the
    /// old scheduler's): that month is held back, not claimed.
    pub live_message: bool,
}

impl Checks {
    pub const ALL: Checks = Checks { recheck_after_lock: true, row_count: true, live_message: true };
}

/// SPEC §2 steps 4 and 5 for the months locked in a pass, in one statement (after the
/// walk's, so it sees whatever committed before the locks were taken): the months with
/// a live message already are held back (`$1` ids); the guarded UPDATE of the others
/// (`$2` statuses); then one message (`$3` ids, `$4` messages) for each row it really
/// changed — a month claimed meanwhile gets none. Returns each message's id with its
/// job id, and (its id in the third column) each month held back.
macro_rules! update_and_enqueue {
    ($live:literal, $only_updated:literal) => {
        concat!(
            "WITH queued AS MATERIALIZED (
        SELECT b.id FROM backfill_log b WHERE b.id = ANY($1) AND ",
            $live,
            "),
      updated AS (
        UPDATE backfill_log SET status = 'processing', started_at = now(), completed_at = NULL,
          error_message = NULL, last_retry_at = CASE WHEN status = 'retry' THEN now() ELSE last_retry_at END
        WHERE id = ANY($1) AND id NOT IN (SELECT id FROM queued) AND status = ANY($2)
          AND (status <> 'failed' OR retry_count < ",
            crate::retry_cap!(),
            ") RETURNING id),
      sent AS (
        INSERT INTO backfill_queue (message)
        SELECT m.message FROM unnest($3::int[], $4::jsonb[]) WITH ORDINALITY AS m(id, message, i)
        WHERE ",
            $only_updated,
            " ORDER BY m.i
        RETURNING msg_id, message->>'job_id' AS job_id)
    SELECT msg_id, job_id, NULL::int FROM sent UNION ALL SELECT NULL, NULL, id FROM queued"
        )
    };
}

const UPDATE_AND_ENQUEUE: &str = update_and_enqueue!(
    "EXISTS (SELECT 1 FROM backfill_queue q WHERE backfill_message_month(q.message) = b.year * 100 + b.month)",
    "m.id IN (SELECT id FROM updated)"
);

/// The same without the row-count guard: every locked month is enqueued, whatever
/// the UPDATE changed (the existing scheduler's defect; tests only).
#[cfg(feature = "test-support")]
const UPDATE_AND_ENQUEUE_UNCHECKED: &str = update_and_enqueue!("false", "true");

/// The same without the live-message guard (tests only).
#[cfg(feature = "test-support")]
const UPDATE_AND_ENQUEUE_NO_LIVE_CHECK: &str = update_and_enqueue!("false", "m.id IN (SELECT id FROM updated)");

/// The live-message guard alone (no row-count guard; tests only).
#[cfg(feature = "test-support")]
const UPDATE_AND_ENQUEUE_LIVE_CHECK_ONLY: &str = update_and_enqueue!(
    "EXISTS (SELECT 1 FROM backfill_queue q WHERE backfill_message_month(q.message) = b.year * 100 + b.month)",
    "m.id NOT IN (SELECT id FROM queued)"
);

/// One candidate month as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub id: i32,
    pub month: YearMonth,
}

fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> DbError {
    move |e| DbError::query(what, e)
}

/// The session's prepared claim statements, by their SQL — or, through a
/// transaction pooler (`unnamed`), none: each statement is sent unnamed.
#[derive(Default)]
pub struct Prepared {
    statements: HashMap<&'static str, Statement>,
    unnamed: bool,
}

impl Prepared {
    /// No statements kept on the server (through a transaction pooler).
    pub fn unnamed(unnamed: bool) -> Self {
        Self { statements: HashMap::new(), unnamed }
    }
}

/// Runs `sql`, preparing it on this session the first time.
async fn query(
    tx: &Transaction<'_>,
    prepared: &mut Prepared,
    sql: &'static str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    if prepared.unnamed {
        return tx.query_typed(sql, params).await;
    }
    let statement = match prepared.statements.get(sql) {
        Some(statement) => statement.clone(),
        None => {
            let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
            let statement = tx.prepare_typed(sql, &types).await?;
            prepared.statements.insert(sql, statement.clone());
            statement
        }
    };
    let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
    tx.query(&statement, &values).await
}

/// The cursor before the first page: just past the newest month of the range.
pub fn before_first(to_year: i32) -> YearMonth {
    YearMonth { year: to_year + 1, month: 1 }
}

/// What one walk did with its candidates, each list in walk order.
#[derive(Debug, Default)]
pub struct Pass {
    /// Locked by this walk.
    pub taken: Vec<Month>,
    /// Still claimable, but somebody else holds the lock.
    pub busy: Vec<Month>,
    /// Claimed by somebody else since it was read (seen in its latest committed version).
    pub gone: Vec<Month>,
    /// Not tried: the walk had taken enough before reaching them.
    pub untried: Vec<Month>,
    /// The last candidate of the page (the next page starts after it).
    pub last: Option<YearMonth>,
    /// How many candidates the page held.
    pub read: usize,
}

/// Which page of candidates to read: the claim's years, after which month
/// (exclusive), and how many.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub years: (i32, i32),
    pub after: YearMonth,
    pub size: i64,
    /// Only these month keys (`None`: every month of the years).
    pub only: Option<&'a [i32]>,
}

/// Reads the next page of candidates and walks it, taking up to `wanted` locks.
pub async fn walk_page(
    tx: &Transaction<'_>,
    prepared: &mut Prepared,
    statuses: &[&str],
    page: Page<'_>,
    wanted: usize,
    checks: Checks,
) -> Result<Pass, DbError> {
    let Page { years, after, size, only } = page;
    let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
    let sql = if checks.recheck_after_lock { WALK_PAGE } else { WALK_PAGE_LOCK_ONLY };
    let rows = query(
        tx,
        prepared,
        sql,
        &[
            (&statuses, Type::TEXT_ARRAY),
            (&wanted, Type::INT8),
            (&years.0, Type::INT4),
            (&years.1, Type::INT4),
            (&after.year, Type::INT4),
            (&after.month, Type::INT4),
            (&size, Type::INT8),
            (&only, Type::INT4_ARRAY),
        ],
    )
    .await
    .map_err(q("lock candidate months"))?;
    Ok(tally(&rows))
}

/// Of the busy months (`$1` ids), those whose row another transaction is
/// changing right now: its xmax is a transaction still running (it holds the
/// lock on its own transaction id). That is another claimer in the middle of
/// claiming the month — when it commits, the month is taken, so waiting for its
/// lock is pointless. Reads the rows without locking them.
const BEING_CLAIMED: &str = "SELECT b.id FROM backfill_log b
    WHERE b.id = ANY($1) AND b.xmax <> '0'::xid
      AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'transactionid' AND l.granted
                    AND l.transactionid = b.xmax)";

/// The busy months worth waiting for: all but those another transaction is
/// claiming right now (returned second).
pub async fn worth_waiting_for(
    tx: &Transaction<'_>,
    prepared: &mut Prepared,
    busy: Vec<Month>,
) -> Result<(Vec<Month>, Vec<Month>), DbError> {
    let ids: Vec<i32> = busy.iter().map(|m| m.id).collect();
    let rows = query(tx, prepared, BEING_CLAIMED, &[(&ids, Type::INT4_ARRAY)])
        .await
        .map_err(q("check which busy months are being claimed"))?;
    let claimed_now: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    Ok(busy.into_iter().partition(|m| !claimed_now.contains(&m.id)))
}

/// Walks the given months again (newest first), taking up to `wanted` locks.
pub async fn walk_again(
    tx: &Transaction<'_>,
    prepared: &mut Prepared,
    months: &[Month],
    statuses: &[&str],
    wanted: usize,
    checks: Checks,
) -> Result<Pass, DbError> {
    let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
    let ids: Vec<i32> = months.iter().map(|m| m.id).collect();
    let sql = if checks.recheck_after_lock { WALK_AGAIN } else { WALK_AGAIN_LOCK_ONLY };
    let rows =
        query(tx, prepared, sql, &[(&statuses, Type::TEXT_ARRAY), (&wanted, Type::INT8), (&ids, Type::INT4_ARRAY)])
            .await
            .map_err(q("lock the busy months again"))?;
    Ok(tally(&rows))
}

/// What a walk did, month by month, in the order it walked them.
fn tally(rows: &[tokio_postgres::Row]) -> Pass {
    let mut pass = Pass { read: rows.len(), ..Pass::default() };
    for row in rows {
        let m = Month { id: row.get(0), month: YearMonth { year: row.get(1), month: row.get(2) } };
        pass.last = Some(m.month);
        let outcome: Option<&str> = row.get(3);
        match outcome {
            Some("taken") => pass.taken.push(m),
            Some("busy") => pass.busy.push(m),
            Some(_) => pass.gone.push(m),
            None => pass.untried.push(m),
        }
    }
    pass
}

/// What one update-and-enqueue did.
#[derive(Debug, Default)]
pub struct Sent {
    /// `(msg_id, job_id)` of each message sent.
    pub messages: Vec<(i64, String)>,
    /// The months held back: each has a live message already.
    pub queued: Vec<i32>,
}

/// Updates the months and enqueues `messages` (one per month, same order) for the
/// rows really changed, holding back every month that has a live message already.
pub async fn update_and_enqueue(
    tx: &Transaction<'_>,
    prepared: &mut Prepared,
    months: &[Month],
    statuses: &[&str],
    messages: &[serde_json::Value],
    checks: Checks,
) -> Result<Sent, DbError> {
    let ids: Vec<i32> = months.iter().map(|m| m.id).collect();
    // The defective variants exist only for the tests that prove each check matters.
    #[cfg(feature = "test-support")]
    let sql = match (checks.row_count, checks.live_message) {
        (true, true) => UPDATE_AND_ENQUEUE,
        (true, false) => UPDATE_AND_ENQUEUE_NO_LIVE_CHECK,
        (false, true) => UPDATE_AND_ENQUEUE_LIVE_CHECK_ONLY,
        (false, false) => UPDATE_AND_ENQUEUE_UNCHECKED,
    };
    #[cfg(not(feature = "test-support"))]
    let (sql, _) = (UPDATE_AND_ENQUEUE, checks);
    let rows = query(
        tx,
        prepared,
        sql,
        &[
            (&ids, Type::INT4_ARRAY),
            (&statuses, Type::TEXT_ARRAY),
            (&ids, Type::INT4_ARRAY),
            (&messages, Type::JSONB_ARRAY),
        ],
    )
    .await
    .map_err(q("mark the months processing and enqueue them"))?;
    let mut sent = Sent::default();
    for r in &rows {
        match (r.get::<_, Option<i64>>(0), r.get::<_, Option<String>>(1), r.get::<_, Option<i32>>(2)) {
            (Some(msg_id), Some(job_id), _) => sent.messages.push((msg_id, job_id)),
            (_, _, Some(id)) => sent.queued.push(id),
            _ => {}
        }
    }
    Ok(sent)
}

/// Each statement of the claim exactly as it is sent, to be read whole in review.
#[cfg(test)]
mod statements {
    #[test]
    fn the_claim_statements_as_sent() {
        insta::assert_snapshot!("walk_page", super::WALK_PAGE);
        insta::assert_snapshot!("walk_again", super::WALK_AGAIN);
        insta::assert_snapshot!("being_claimed", super::BEING_CLAIMED);
        insta::assert_snapshot!("update_and_enqueue", super::UPDATE_AND_ENQUEUE);
    }
}
