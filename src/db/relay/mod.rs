//! The relay: N consoles on one database cost little more than one. One console, the
//! leader — whichever first takes the project's relay lock (the two-int advisory lock
//! `LOCK_NAMESPACE`/`RELAY_LOCK`, never a month key) — reads as it always does and
//! publishes each document on the channel [`CHANNEL`]; the others LISTEN and apply it
//! instead of reading. Everything travels through PostgreSQL itself, so it works
//! wherever LISTEN does (a direct session), and nothing else sits between the
//! consoles and the database.
//!
//! A follower takes a publication only from the session that holds the relay lock, and
//! only when that session's user is its own or one the config trusts (any login may
//! NOTIFY on any channel); it reads for itself whenever the leader falls silent, a
//! publication is lost or cannot be applied, or the leader is not trusted. The leader
//! stops publishing while the server's NOTIFY queue is over [`MAX_QUEUE_USAGE`] full
//! (a stuck listener elsewhere): the queue is shared with production's notifications.

pub mod wire;

use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

use super::DbError;
use super::migrate::{LOCK_NAMESPACE, RELAY_LOCK};
use super::param::p;

/// The channel publications travel on.
pub const CHANNEL: &str = "backfill_console_relay";
/// The leader publishes only while the server's NOTIFY queue is less full than this.
pub const MAX_QUEUE_USAGE: f64 = 0.01;

/// Takes the relay lock if nobody holds it (this session then leads until it lets go
/// or disconnects).
pub async fn try_lead(client: &Client) -> Result<bool, DbError> {
    let row = client
        .query_typed_one("SELECT pg_try_advisory_lock($1, $2)", &[p(&LOCK_NAMESPACE), p(&RELAY_LOCK)])
        .await
        .map_err(|e| DbError::query("take the relay lock", e))?;
    Ok(row.get(0))
}

/// Lets the relay lock go (a paused leader, so that another console leads).
pub async fn resign(client: &Client) -> Result<(), DbError> {
    client
        .query_typed("SELECT pg_advisory_unlock($1, $2)", &[p(&LOCK_NAMESPACE), p(&RELAY_LOCK)])
        .await
        .map_err(|e| DbError::query("let the relay lock go", e))?;
    Ok(())
}

const PUBLISH: &str =
    "SELECT pg_notify($1, u.payload) FROM unnest($2::text[]) WITH ORDINALITY u(payload, i) ORDER BY u.i";

/// Sends one publication's payloads, in order, in one transaction (one statement).
pub async fn publish(client: &Client, payloads: &[String]) -> Result<(), DbError> {
    client
        .query_typed(PUBLISH, &[p(&CHANNEL), p(&payloads.to_vec())])
        .await
        .map_err(|e| DbError::query("publish the read to the other consoles", e))?;
    Ok(())
}

/// [`publish`], prepared once on a leader's (direct) session.
pub async fn prepare_publish(client: &Client) -> Result<Statement, DbError> {
    client
        .prepare_typed(PUBLISH, &[Type::TEXT, Type::TEXT_ARRAY])
        .await
        .map_err(|e| DbError::query("prepare the relay's publication", e))
}

pub async fn publish_prepared(client: &Client, statement: &Statement, payloads: &[String]) -> Result<(), DbError> {
    client
        .query(statement, &[&CHANNEL, &payloads])
        .await
        .map_err(|e| DbError::query("publish the read to the other consoles", e))?;
    Ok(())
}

/// The session that holds the relay lock in this database, and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    pub pid: i32,
    pub user: Option<String>,
}

pub async fn leader(client: &Client) -> Result<Option<Leader>, DbError> {
    let row = client
        .query_typed_opt(
            "SELECT l.pid, a.usename::text FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
               AND l.classid = $1::int8::oid AND l.objid = $2::int8::oid
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[p(&i64::from(LOCK_NAMESPACE)), p(&i64::from(RELAY_LOCK))],
        )
        .await
        .map_err(|e| DbError::query("look up the relay's leader", e))?;
    Ok(row.map(|r| Leader { pid: r.get(0), user: r.get(1) }))
}

/// This session's user (what a leader must be, unless the config trusts others).
pub async fn session_user(client: &Client) -> Result<String, DbError> {
    let row = client
        .query_typed_one("SELECT session_user::text", &[])
        .await
        .map_err(|e| DbError::query("read the session's user", e))?;
    Ok(row.get(0))
}
