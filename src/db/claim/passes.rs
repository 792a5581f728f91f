//! The statements of the claim routine, run (each prepared once per session:
//! `db::statements`) and read back.
//!
//! Under contention every claimer reads the same newest months. The routine
//! therefore reads a page of candidates and tries their locks in one statement,
//! in order, stopping as soon as it has as many as it still needs: a month whose
//! lock another claimer holds is passed over at once for the next one instead of
//! being waited on (issue 5). Only when the batch cannot be filled otherwise does
//! the routine come back to the months passed over and retry their locks for up
//! to the lock wait (SPEC §2 step 3) — see `worth_waiting_for` for which ones.

use futures_util::future::join;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

use super::functions;
use super::sql::{self, Checks};
use crate::db::DbError;
use crate::db::lock_key::YearMonth;
use crate::db::statements::Statements;

/// How many candidates one page reads, per month still wanted: enough that a
/// claimer finds free months past several others' in-flight batches.
pub const PAGE_FACTOR: i64 = 10;

/// One candidate month as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub id: i32,
    pub month: YearMonth,
}

fn q(what: &'static str) -> impl Fn(tokio_postgres::Error) -> DbError {
    move |e| DbError::query(what, e)
}

/// Runs `sql` as [`query`] does, with COMMIT right behind it in the same round trip.
/// The statement is prepared before (a request is sent when its future is first
/// polled: one still being prepared would let the COMMIT overtake it). If the
/// statement fails, the COMMIT only ends the failed transaction (a rollback) and the
/// statement's error is returned.
async fn query_then_commit(
    tx: &Client,
    statements: &mut Statements,
    sql: &'static str,
    params: &[(&(dyn ToSql + Sync), Type)],
    what: &'static str,
) -> Result<Vec<Row>, DbError> {
    let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
    let (rows, committed) = if statements.unnamed() {
        join(tx.query_typed(sql, params), tx.batch_execute("COMMIT")).await
    } else {
        let statement = statements.statement(tx, sql, params).await.map_err(q(what))?;
        join(tx.query(&statement, &values), tx.batch_execute("COMMIT")).await
    };
    let rows = rows.map_err(q(what))?;
    committed.map_err(q("commit the claim"))?;
    Ok(rows)
}

/// Whether the claim's statements go through the server's functions: through a pooler
/// (nothing stays prepared there), when the server has this build's functions, and never
/// for the tests' weakened variants.
fn through_functions(statements: &Statements, checks: Checks) -> bool {
    statements.unnamed() && statements.claim_functions == Some(true) && checks == Checks::ALL
}

/// Through a pooler, asks once per session whether the server has the claim's functions.
pub async fn find_functions(tx: &Client, statements: &mut Statements) -> Result<(), DbError> {
    if statements.unnamed() && statements.claim_functions.is_none() {
        let found = functions::available(tx).await.map_err(q("look for the claim's functions"))?;
        statements.claim_functions = Some(found);
    }
    Ok(())
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
    /// Has a live message already: locked, but left alone.
    pub queued: Vec<Month>,
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
    tx: &Client,
    statements: &mut Statements,
    statuses: &[&str],
    page: Page<'_>,
    wanted: usize,
    checks: Checks,
) -> Result<Pass, DbError> {
    let Page { years, after, size, only } = page;
    let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
    let sql = if through_functions(statements, checks) { functions::CALL_WALK } else { sql::walks(checks).0 };
    let rows = statements
        .query(
            tx,
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

/// The busy months worth waiting for: all but those another transaction is
/// claiming right now or has claimed since they were read (returned second).
pub async fn worth_waiting_for(
    tx: &Client,
    statements: &mut Statements,
    busy: Vec<Month>,
    statuses: &[&str],
) -> Result<(Vec<Month>, Vec<Month>), DbError> {
    let ids: Vec<i32> = busy.iter().map(|m| m.id).collect();
    let rows = statements
        .query(tx, sql::NOT_WORTH_WAITING, &[(&ids, Type::INT4_ARRAY), (&statuses, Type::TEXT_ARRAY)])
        .await
        .map_err(q("check which busy months are being claimed"))?;
    let not_worth: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    Ok(busy.into_iter().partition(|m| !not_worth.contains(&m.id)))
}

/// Walks the given months again (newest first), taking up to `wanted` locks.
pub async fn walk_again(
    tx: &Client,
    statements: &mut Statements,
    months: &[Month],
    statuses: &[&str],
    wanted: usize,
    checks: Checks,
) -> Result<Pass, DbError> {
    let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
    let ids: Vec<i32> = months.iter().map(|m| m.id).collect();
    let sql = sql::walks(checks).1;
    let rows = statements
        .query(tx, sql, &[(&statuses, Type::TEXT_ARRAY), (&wanted, Type::INT8), (&ids, Type::INT4_ARRAY)])
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
            Some("queued") => pass.queued.push(m),
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
/// rows really changed, holding back every month that has a live message already;
/// `then_commit`: and commits the claim in the same round trip.
pub async fn update_and_enqueue(
    tx: &Client,
    statements: &mut Statements,
    months: &[Month],
    statuses: &[&str],
    messages: &[serde_json::Value],
    checks: Checks,
    then_commit: bool,
) -> Result<Sent, DbError> {
    let ids: Vec<i32> = months.iter().map(|m| m.id).collect();
    let keys: Vec<i32> = months.iter().map(|m| m.month.year * 100 + m.month.month).collect();
    let sql =
        if through_functions(statements, checks) { functions::CALL_UPDATE } else { sql::update_and_enqueue(checks) };
    let params: [(&(dyn ToSql + Sync), Type); 5] = [
        (&ids, Type::INT4_ARRAY),
        (&statuses, Type::TEXT_ARRAY),
        (&ids, Type::INT4_ARRAY),
        (&messages, Type::JSONB_ARRAY),
        (&keys, Type::INT4_ARRAY),
    ];
    let what = "mark the months processing and enqueue them";
    let rows = if then_commit {
        query_then_commit(tx, statements, sql, &params, what).await?
    } else {
        statements.query(tx, sql, &params).await.map_err(q(what))?
    };
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
