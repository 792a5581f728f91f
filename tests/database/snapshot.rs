//! The read model against a real server: one round trip, decoded locks, queue depth.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use backfill_console::db::lock_key::{ForeignWhy, LockClass};
use backfill_console::db::snapshot;
use backfill_console::model::{HoldTracker, assess};

#[tokio::test]
async fn snapshot_reads_months_locks_and_queue_depth() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', error_message = repeat('x', 5000) WHERE month = 1;
             INSERT INTO backfill_queue (message, enqueued_at, visible_at, read_count) VALUES
               ('{}', now() - interval '5 min', now() - interval '5 min', 0),
               ('{}', now() - interval '2 min', now() - interval '1 min', 1),
               ('{}', now() - interval '1 min', now() + interval '5 min', 2),
               ('{}', now(), now() + interval '5 min', 0),
               ('{}', now(), now() + interval '9 min', 0);
             INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, reason)
               VALUES (999, now(), now(), 3, '{}', 'third failure');",
        )
        .await
        .unwrap();
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
    holder.client.execute("SELECT pg_advisory_lock(7, 8)", &[]).await.unwrap();
    holder.client.execute("SELECT pg_advisory_lock(42::bigint)", &[]).await.unwrap();
    // A waiter on the month lock.
    let waiter = db.session().await;
    let wait = tokio::spawn(async move {
        let _ = waiter.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await;
        waiter
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let reader = db.session().await;
    let snap = snapshot::read(&reader.client).await.unwrap();
    assert_eq!(snap.months.len(), 3);
    assert_eq!(snap.months[0].month, 3, "newest first");
    let failed = snap.months.iter().find(|m| m.month == 1).unwrap();
    // A long error comes as its first and last halves (a traceback's end names its exception).
    let half = snapshot::ERROR_PREVIEW_CHARS as usize / 2;
    let error = failed.error.as_ref().unwrap();
    assert_eq!(error.chars().count(), 2 * half + 3, "error cut in the middle");
    assert!(error.starts_with(&"x".repeat(half)) && error.ends_with(&"x".repeat(half)) && error.contains(" … "));
    assert_eq!(snap.status_counts()[&backfill_console::model::Status::Failed], 1);
    assert_eq!(snap.status_counts()[&backfill_console::model::Status::Pending], 2);

    assert_eq!((snap.queue.ready, snap.queue.in_flight, snap.queue.delayed, snap.queue.dead), (2, 1, 2, 1));
    assert_eq!(snap.queue.enqueued_total, 5);
    let oldest = snap.queue.oldest_ready_at.unwrap();
    assert!((snap.taken_at - oldest).num_seconds() >= 299);

    let classes: Vec<(LockClass, bool)> = snap.locks.iter().map(|l| (l.class(), l.granted)).collect();
    assert!(classes.contains(&(LockClass::Month { year: 2024, month: 2, key: 202402 }, true)));
    assert!(classes.contains(&(LockClass::Month { year: 2024, month: 2, key: 202402 }, false)));
    assert!(classes.contains(&(LockClass::Foreign { why: ForeignWhy::TwoIntForm }, true)));
    assert!(classes.contains(&(LockClass::Foreign { why: ForeignWhy::NotAMonthKey }, true)));
    let held = snap.locks.iter().find(|l| l.granted && l.month().is_some()).unwrap();
    assert_eq!(held.pid, Some(holder.backend_pid));
    let session = held.holder.as_ref().unwrap();
    assert_eq!(session.application_name.as_deref(), Some("backfill-console"));
    assert!(session.backend_start.is_some());
    assert_eq!(snap.waiters_of(held), 1);
    let waiting = snap.locks.iter().find(|l| !l.granted && l.in_this_database).unwrap();
    assert_eq!(waiting.blocking_pids, [holder.backend_pid]);

    // The month is pending, the holder idle: leaked once idle > 30 s — not yet.
    let assessment =
        assess(&snap, &HoldTracker::default(), &backfill_console::config::Config::builtin().unwrap().thresholds);
    assert!(assessment.locks.iter().all(|v| !v.is_stuck()));
    assert_eq!(assessment.failed_months, 1);

    // No transaction is left open by the read.
    let state: String = admin
        .client
        .query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&reader.backend_pid])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "idle");
    drop(holder);
    let _ = wait.await;
}

#[tokio::test]
async fn a_database_without_the_schema_says_to_run_migrate() {
    let db = common::fresh_db().await;
    let s = db.session().await;
    let err = snapshot::read(&s.client).await.unwrap_err();
    assert!(err.to_string().contains("backfill-console migrate"), "{err}");
}

/// The plain counts the snapshot must agree with.
async fn plain_counts(c: &tokio_postgres::Client) -> (i64, i64, i64, i64) {
    let r = c
        .query_one(
            "SELECT count(*) FILTER (WHERE visible_at <= now()),
                    count(*) FILTER (WHERE visible_at > now() AND read_count > 0),
                    count(*) FILTER (WHERE visible_at > now() AND read_count = 0),
                    (SELECT count(*) FROM backfill_queue_dead) FROM backfill_queue",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

#[tokio::test]
async fn queue_depth_is_exact_up_to_the_cap_and_labelled_an_estimate_beyond() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    // A mix below the cap: exact, and equal to a plain count.
    s.client
        .batch_execute(
            "INSERT INTO backfill_queue (message, visible_at, read_count)
               SELECT '{}', now() + (CASE WHEN i % 7 = 0 THEN interval '1 h' ELSE interval '-1 h' END),
                      CASE WHEN i % 14 = 0 THEN 1 ELSE 0 END
               FROM generate_series(1, 900) i;
             INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message)
               SELECT 100000 + i, now(), now(), 3, '{}' FROM generate_series(1, 500) i;",
        )
        .await
        .unwrap();
    let q = snapshot::read(&s.client).await.unwrap().queue;
    assert!(!q.estimated);
    assert_eq!((q.ready, q.in_flight, q.delayed, q.dead), plain_counts(&s.client).await);
    // Past the cap: ready becomes an estimate, never below the cap; the small parts stay exact.
    s.client
        .batch_execute(
            "INSERT INTO backfill_queue (message) SELECT '{}' FROM generate_series(1, 600); ANALYZE backfill_queue",
        )
        .await
        .unwrap();
    let q = snapshot::read(&s.client).await.unwrap().queue;
    let (ready, in_flight, delayed, dead) = plain_counts(&s.client).await;
    assert!(q.estimated, "labelled an estimate");
    assert!(q.ready > snapshot::EXACT_COUNT_CAP, "never below the cap: {}", q.ready);
    assert!((q.ready - ready).abs() * 10 < ready, "within 10 %: {} vs {ready}", q.ready);
    assert_eq!((q.in_flight, q.delayed, q.dead), (in_flight, delayed, dead));
}

#[tokio::test]
async fn a_deployment_can_give_its_own_queue_depth_query() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    s.client
        .batch_execute(
            "CREATE TABLE elsewhere_depth (ready bigint, in_flight bigint, delayed bigint, dead bigint,
                                           oldest_ready_at timestamptz);
             INSERT INTO elsewhere_depth VALUES (7, 3, 2, 1, now() - interval '90 seconds');",
        )
        .await
        .unwrap();
    let query = "SELECT ready, in_flight, delayed, dead, oldest_ready_at FROM elsewhere_depth";
    let q = snapshot::read_with(&s.client, Some(query)).await.unwrap().queue;
    assert_eq!((q.ready, q.in_flight, q.delayed, q.dead, q.estimated), (7, 3, 2, 1, false));
    assert!(q.oldest_ready_at.is_some());
    // The CLI takes it from the config file; a broken one is named in the error.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("queue_depth_query = \"{query}\"\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["--config", &config.to_string_lossy(), "snapshot", "--json"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["queue"]["ready"], 7);
    std::fs::write(&config, "queue_depth_query = \"SELECT 1 AS nothing\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["--config", &config.to_string_lossy(), "snapshot"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("queue_depth_query"), "{err}");
    std::fs::write(&config, "queue_depth_query = \"SELECT 1; DROP TABLE x\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["--config", &config.to_string_lossy(), "snapshot"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: queue_depth_query must be one SELECT"));
}

/// A migrated database on a server of its own (its URL): nothing another test does (its
/// locks, its transactions) shows in what is read there.
async fn own_server() -> (backfill_console::pgserver::TempServer, String) {
    let server = tokio::task::spawn_blocking(backfill_console::pgserver::TempServer::start).await.unwrap().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    backfill_console::db::migrate::migrate(&mut common::connect_url(&url).await.client).await.unwrap();
    (server, url)
}

/// Stops a server of the test's own off the async threads (it waits for the postmaster).
async fn stop(server: backfill_console::pgserver::TempServer) {
    tokio::task::spawn_blocking(move || drop(server)).await.unwrap();
}

/// On a server of its own: the lock rows are the whole server's, and another test's lock
/// would be a change.
#[tokio::test]
async fn months_are_sent_again_exactly_when_the_table_changed() {
    let (server, url) = own_server().await;
    let mut s = common::connect_url(&url).await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    let (first, cache) = snapshot::read_incremental(&s.client, None, None).await.unwrap();
    assert_eq!(cache.reused(), (false, false));
    // Nothing changed: the server sends the fingerprints alone, the months are the same.
    let (same, mut cache) = snapshot::read_incremental(&s.client, None, Some(&cache)).await.unwrap();
    assert_eq!(cache.reused(), (true, true), "unchanged parts were sent again");
    assert_eq!(same.months, first.months);
    // Each kind of change is seen at once, and the result equals a fresh full read.
    for change in [
        "UPDATE backfill_log SET status = 'processing', started_at = now() WHERE month = 2",
        "UPDATE backfill_log SET error_message = 'x' WHERE month = 2",
        "DELETE FROM backfill_log WHERE month = 3",
        "INSERT INTO backfill_log (year, month, status) VALUES (2024, 3, 'pending')",
        "BEGIN; DELETE FROM backfill_log WHERE month = 1;
           INSERT INTO backfill_log (year, month, status) VALUES (2024, 1, 'failed'); COMMIT",
    ] {
        s.client.batch_execute(change).await.unwrap();
        let (incremental, next) = snapshot::read_incremental(&s.client, None, Some(&cache)).await.unwrap();
        assert!(!next.reused().0, "a change was missed: {change}");

        assert_eq!(incremental.months, snapshot::read(&s.client).await.unwrap().months, "{change}");
        let (_, again) = snapshot::read_incremental(&s.client, None, Some(&next)).await.unwrap();
        assert!(again.reused().0);
        cache = again;
    }
    // A row lock alone (no write) is no change.
    s.client.batch_execute("BEGIN; SELECT * FROM backfill_log FOR UPDATE; COMMIT").await.unwrap();
    let (_, after_lock) = snapshot::read_incremental(&s.client, None, Some(&cache)).await.unwrap();
    assert!(after_lock.reused().0);
    drop(s);
    stop(server).await;
}

/// On a server of its own, as above.
#[tokio::test]
async fn lock_rows_are_sent_again_exactly_when_a_lock_changed() {
    let (server, url) = own_server().await;
    let mut s = common::connect_url(&url).await;
    common::seed(&mut s, "2024-01", "2024-01").await;
    let (a, b) = (common::connect_url(&url).await, common::connect_url(&url).await);
    a.client.batch_execute("SELECT pg_advisory_lock(202401)").await.unwrap();
    let (_, mut cache) = snapshot::read_incremental(&s.client, None, None).await.unwrap();
    let steps: [(&backfill_console::db::connect::Session, &str); 5] = [
        (&b, "SELECT pg_try_advisory_lock(202402)"),    // another lock appears
        (&b, "SELECT pg_advisory_unlock(202402)"),      // and goes
        (&b, "SELECT pg_advisory_lock_shared(202403)"), // a shared one
        (&b, "SELECT pg_advisory_unlock_shared(202403); SELECT pg_advisory_lock(202403)"), // same key, now exclusive
        (&a, "SELECT pg_advisory_unlock(202401)"),
    ];
    for (session, sql) in steps {
        session.client.batch_execute(sql).await.unwrap();
        let (incremental, next) = snapshot::read_incremental(&s.client, None, Some(&cache)).await.unwrap();
        assert!(!next.reused().1, "a lock change was missed: {sql}");
        // The lock rows (their sessions' state moves between two reads, so not those).
        let fresh = snapshot::read(&s.client).await.unwrap();
        let rows = |locks: &[backfill_console::model::LockRow]| {
            locks.iter().map(|l| (l.pid, l.granted, l.classid, l.objid, l.objsubid, l.mode.clone())).collect::<Vec<_>>()
        };
        assert_eq!(rows(&incremental.locks), rows(&fresh.locks), "{sql}");
        let (unchanged, again) = snapshot::read_incremental(&s.client, None, Some(&next)).await.unwrap();
        assert!(again.reused().1, "{sql}");
        // Reused rows still carry their sessions, read fresh.
        assert!(unchanged.locks.iter().all(|l| l.holder.is_some()), "{sql}");
        cache = again;
    }
    drop((s, a, b));
    stop(server).await;
}

/// On a server of its own (no other test's transaction holds the horizon back):
/// a change is sent as a delta of the rows written, a delete as a full read.
#[tokio::test]
async fn a_change_is_sent_as_a_delta_of_the_rows_written() {
    let (server, url) = own_server().await;
    let mut s = common::connect_url(&url).await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    let (_, mut cache) = snapshot::read_incremental(&s.client, None, None).await.unwrap();
    assert_eq!(cache.months_sent(), 12);
    for (change, sent) in [
        ("UPDATE backfill_log SET status = 'processing', started_at = now() WHERE month = 2", 1),
        ("UPDATE backfill_log SET retry_count = 1 WHERE month IN (5, 6)", 2),
        ("INSERT INTO backfill_log (year, month, status) VALUES (2025, 1, 'pending')", 1),
        ("DELETE FROM backfill_log WHERE year = 2025", 12),
    ] {
        s.client.batch_execute(change).await.unwrap();
        let (incremental, next) = snapshot::read_incremental(&s.client, None, Some(&cache)).await.unwrap();
        assert_eq!(next.months_sent(), sent, "{change}");
        assert_eq!(incremental.months, snapshot::read(&s.client).await.unwrap().months, "{change}");
        cache = next;
    }
    drop(s);
    stop(server).await;
}
