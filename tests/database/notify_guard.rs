//! Migration 009: a stuck listener can fill PostgreSQL's NOTIFY queue, and a full queue
//! fails every transaction that notifies — every write to the work list, through our
//! triggers. With the guard the triggers go quiet past half full and the write goes
//! through; without it (the trigger of migration 004) the same write fails. Needs
//! PostgreSQL 17+ (`max_notify_queue_pages` makes the queue small enough to fill in a
//! test); on older servers it says so and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use backfill_console::pgserver::{ServerOptions, TempServer};

/// The trigger function as migration 004 made it: no guard.
const UNGUARDED: &str = "CREATE OR REPLACE FUNCTION backfill_console_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('backfill_console', TG_TABLE_NAME);
  RETURN NULL;
END
$$";

async fn usage(client: &tokio_postgres::Client) -> f64 {
    client.query_one("SELECT pg_notification_queue_usage()", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_full_notify_queue_never_fails_a_write_to_the_work_list() {
    let probe = tokio::task::spawn_blocking(TempServer::start).await.unwrap().unwrap();
    let s = common::connect_url(&format!("{}?sslmode=disable", probe.url("postgres"))).await;
    let version: i32 =
        s.client.query_one("SELECT current_setting('server_version_num')::int", &[]).await.unwrap().get(0);
    drop(s);
    drop(probe);
    if version < 170_000 {
        eprintln!("skipped: a NOTIFY queue small enough to fill needs PostgreSQL 17+ (this is {version})");
        return;
    }
    let options = ServerOptions { settings: vec!["max_notify_queue_pages=64".into()], ..ServerOptions::default() };
    let server = tokio::task::spawn_blocking(move || TempServer::start_with(&options)).await.unwrap().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let mut admin = common::connect_url(&url).await;
    backfill_console::db::migrate::migrate(&mut admin.client).await.unwrap();
    common::seed(&mut admin, "2024-01", "2024-03").await;
    // A listener that stopped reading: inside a transaction, it takes no notification,
    // and the queue cannot be emptied past it.
    let stuck = common::connect_url(&url).await;
    stuck.client.batch_execute("LISTEN backfill_console").await.unwrap();
    stuck.client.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let filler = common::connect_url(&url).await;
    let mut full = false;
    for _ in 0..10_000 {
        if filler.client.batch_execute("SELECT pg_notify('filler', repeat('x', 7000))").await.is_err() {
            full = true;
            break;
        }
    }
    assert!(full, "the queue never filled: {} full", usage(&admin.client).await);
    assert!(usage(&admin.client).await > 0.9);
    // Guarded: the write goes through, quietly.
    admin.client.batch_execute("UPDATE backfill_log SET status = 'processing' WHERE month = 1").await.unwrap();
    // The defective variant: the same write fails.
    admin.client.batch_execute(UNGUARDED).await.unwrap();
    let err =
        admin.client.batch_execute("UPDATE backfill_log SET status = 'pending' WHERE month = 1").await.unwrap_err();
    let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
    assert!(message.contains("NOTIFY queue"), "{message}");
    drop(stuck);
}
