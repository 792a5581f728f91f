//! A deployment's own `queue_depth_query` is made harmless: it runs read-only,
//! under the statement timeout, never leaves a lock behind, and a wrong one is
//! named in a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use backfill_console::db::DbError;
use backfill_console::db::snapshot;
use common::pty::Console;

const REST: &str = "0::bigint AS in_flight, 0::bigint AS delayed, 0::bigint AS dead";

/// `snapshot` with `query` as the config's queue depth query: (exit code, stderr).
fn snapshot_cli(url: &str, query: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("queue_depth_query = \"{query}\"\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["--config", &config.to_string_lossy(), "snapshot"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

#[tokio::test]
async fn a_writing_query_is_refused_even_outside_read_only_mode() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    s.client
        .batch_execute(
            "CREATE TABLE touched (at timestamptz);
             CREATE FUNCTION depth_with_a_side_effect() RETURNS bigint LANGUAGE sql
               AS 'INSERT INTO touched VALUES (now()); SELECT 1::bigint';",
        )
        .await
        .unwrap();
    let (code, err) = snapshot_cli(&db.url, &format!("SELECT depth_with_a_side_effect() AS ready, {REST}"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("queue_depth_query") && err.contains("read-only transaction"), "{err}");
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM touched").await, 0, "the function wrote");
}

#[tokio::test]
async fn no_row_and_wrong_types_are_named() {
    let db = common::migrated_db().await;
    let (code, err) = snapshot_cli(&db.url, &format!("SELECT 1::bigint AS ready, {REST} WHERE false"));
    assert_eq!(code, 1);
    assert!(err.starts_with("error: queue_depth_query returned no row: it must return one row"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let (code, err) = snapshot_cli(&db.url, &format!("SELECT 'many'::text AS ready, {REST}"));
    assert_eq!(code, 1);
    assert!(err.starts_with("error: queue_depth_query returned no whole number for ready"), "{err}");
}

#[tokio::test]
async fn a_query_that_takes_a_lock_is_refused_and_its_session_dropped() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    let query = format!("SELECT 0::bigint AS ready, {REST} FROM (SELECT pg_advisory_lock(202412::bigint)) l");
    let err = snapshot::read_with(&s.client, Some(&query)).await.unwrap_err();
    assert!(matches!(err, DbError::Tainted(_)), "{err}");
    assert!(err.to_string().contains("left advisory lock(s) 202412 held"), "{err}");
    assert!(err.is_connection_loss(), "callers drop the session on this error");
    drop(s);
    s = db.session().await;
    wait_until_no_lock(&s.client, 202412).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_with_a_locking_query_never_holds_the_month_lock() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let query = format!("SELECT 0::bigint AS ready, {REST} FROM (SELECT pg_advisory_lock(202412::bigint)) l");
    std::fs::write(&config, format!("queue_depth_query = \"{query}\"\n")).unwrap();
    let (url, cfg) = (db.url.clone(), config.to_string_lossy().to_string());
    let console = tokio::task::spawn_blocking(move || {
        let c = Console::start_with(&url, &["--config", &cfg, "watch"], &[], 40, 160);
        c.wait_for("queue_depth_query refused");
        c
    })
    .await
    .unwrap();
    // While the watch runs and retries, a scheduler can take 2024-12's lock each time it looks.
    for _ in 0..5 {
        wait_until_no_lock(&admin.client, 202412).await;
        let got: bool =
            admin.client.query_one("SELECT pg_try_advisory_lock(202412::bigint)", &[]).await.unwrap().get(0);
        if got {
            admin.client.execute("SELECT pg_advisory_unlock(202412::bigint)", &[]).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::task::spawn_blocking(move || {
        let mut c = console;
        c.send("q");
        c.wait_exit();
    })
    .await
    .unwrap();
}

/// Waits (bounded) until no session holds `key`: a dropped connection's locks go
/// when its backend has ended. With a guard that did not drop it, this fails.
async fn wait_until_no_lock(client: &tokio_postgres::Client, key: i64) {
    let sql = format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
           AND ((classid::bigint << 32) | objid::bigint) = {key}
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::count(client, &sql).await > 0 {
        assert!(Instant::now() < deadline, "lock {key} is still held by the console's session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_slow_query_is_cut_off_by_the_statement_timeout() {
    use backfill_console::db::connect::SessionOptions;
    let db = common::migrated_db().await;
    let options = SessionOptions { statement_timeout: Duration::from_secs(1), ..SessionOptions::default() };
    let s = db.session_with(&options).await;
    let query = format!("SELECT 0::bigint AS ready, {REST} FROM pg_sleep(30)");
    let started = Instant::now();
    let err = snapshot::read_with(&s.client, Some(&query)).await.unwrap_err().to_string();
    assert!(err.contains("queue_depth_query") && err.contains("statement timeout"), "{err}");
    // Well before the 30 s the query asked for (a generous bound: it ends, it does not finish).
    assert!(started.elapsed() < Duration::from_secs(25), "took {:?}", started.elapsed());
}
