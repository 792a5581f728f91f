//! The console's reader (issue 21): a read that asks for some parts keeps the others as
//! they were and agrees, part by part, with a whole read made at the same moment; its
//! statement is prepared once on a direct session and planned once; between samples a
//! big queue's estimates scale the last sample's shares.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use backfill_console::db::snapshot::{self, Parts, Reader};
use backfill_console::model::Snapshot;
use backfill_console::pgserver::TempServer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What this database's lock rows are, without their holders' sessions (whose times
/// move). Other databases' locks are left out: on the shared test server other tests
/// take and let go of theirs between two reads.
fn locks(s: &Snapshot) -> Vec<(Option<i32>, u32, u32, i16, bool)> {
    s.locks.iter().filter(|l| l.in_this_database).map(|l| (l.pid, l.classid, l.objid, l.objsubid, l.granted)).collect()
}

/// The holders' sessions as the reader saw them (state and the times that move with it).
fn sessions(s: &Snapshot) -> Vec<(i32, Option<String>, Option<String>)> {
    let mut v: Vec<_> = s
        .locks
        .iter()
        .filter(|l| l.in_this_database)
        .filter_map(|l| l.holder.as_ref())
        .map(|h| (h.pid, h.state.clone(), h.query_start.map(|t| t.to_rfc3339())))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[tokio::test]
async fn a_read_of_some_parts_keeps_the_rest_and_agrees_with_a_whole_read() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2023-01", "2024-12").await;
    let console = db.session().await;
    let holders = [db.session().await, db.session().await];
    let mut reader = Reader::new(None);
    let mut rng = StdRng::seed_from_u64(21);
    let mut last = reader.read(&console, Parts::ALL).await.unwrap().snapshot;
    for step in 0..60 {
        let month = rng.random_range(1..=12);
        let holder = &holders[rng.random_range(0..2)].client;
        match rng.random_range(0..6) {
            0 => {
                let sql = "UPDATE backfill_log SET retry_count = (retry_count + 1) % 5, status = 'retry' WHERE year = 2024 AND month = $1";
                admin.client.execute(sql, &[&month]).await.unwrap();
            }
            1 => {
                holder.query("SELECT pg_try_advisory_lock(202300 + $1::int8)", &[&i64::from(month)]).await.unwrap();
            }
            2 => {
                holder.query("SELECT pg_advisory_unlock_all()", &[]).await.unwrap();
            }
            3 => {
                let sql =
                    "INSERT INTO backfill_queue (message) VALUES (jsonb_build_object('year', 2024, 'month', $1::int))";
                admin.client.execute(sql, &[&month]).await.unwrap();
            }
            4 => {
                admin
                    .client
                    .execute("DELETE FROM backfill_queue WHERE msg_id = (SELECT min(msg_id) FROM backfill_queue)", &[])
                    .await
                    .unwrap();
            }
            _ => {
                admin
                    .client
                    .execute("DELETE FROM backfill_log WHERE year = 2023 AND month = $1", &[&month])
                    .await
                    .unwrap();
            }
        }
        let parts = Parts {
            locks: rng.random_bool(0.5),
            months: rng.random_bool(0.5),
            queue: rng.random_bool(0.5),
            sample: true,
        };
        let snap = reader.read(&console, parts).await.unwrap().snapshot;
        let whole = snapshot::read(&admin.client).await.unwrap();
        let (expect, unread) = (&whole, &last);
        let pick = |read: bool| if read { expect } else { unread };
        assert_eq!(snap.months, pick(parts.months).months, "step {step} {parts:?}: months");
        assert_eq!(locks(&snap), locks(pick(parts.locks)), "step {step} {parts:?}: locks");
        assert_eq!(sessions(&snap), sessions(pick(parts.locks)), "step {step} {parts:?}: sessions");
        assert_eq!(snap.queue, pick(parts.queue).queue, "step {step} {parts:?}: queue");
        assert_eq!(snap.processing, pick(parts.months || parts.queue).processing, "step {step} {parts:?}: processing");
        last = snap;
    }
}

#[tokio::test]
async fn the_statements_are_prepared_once_and_planned_once() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let console = db.session().await;
    let mut reader = Reader::new(None);
    let tick = Parts { locks: true, months: false, queue: false, sample: false };
    let months = Parts { locks: false, months: true, queue: false, sample: false };
    let queue = Parts { locks: false, months: false, queue: true, sample: false };
    let locks_and_queue = Parts { queue: true, ..tick };
    let locks_and_months = Parts { months: true, ..tick };
    let months_and_queue = Parts { queue: true, ..months };
    for parts in [Parts::ALL, tick, tick, months, queue, locks_and_queue, locks_and_months, months_and_queue, months] {
        reader.read(&console, parts).await.unwrap();
    }
    let ours = "FROM pg_prepared_statements WHERE statement LIKE '%json_build_object(%'
                AND statement NOT LIKE '%pg_prepared_statements%'";
    let prepared: i64 = console.client.query_one(&format!("SELECT count(*) {ours}"), &[]).await.unwrap().get(0);
    assert_eq!(prepared, 7, "one statement per piece used, each prepared once");
    // custom_plans and generic_plans: PostgreSQL 14+.
    if let Ok(row) =
        console.client.query_one(&format!("SELECT sum(custom_plans)::int8, sum(generic_plans)::int8 {ours}"), &[]).await
    {
        let (custom, generic): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(custom, 0, "never planned for the values at hand");
        assert!(generic >= 6, "{generic} executions of the generic plans");
    }
}

/// 20,000 more messages: three in four ready, one in four in flight; the catalogue told.
async fn queue_20000(s: &common::Session) {
    s.client
        .batch_execute(
            "INSERT INTO backfill_queue (message, visible_at, read_count)
               SELECT '{}', now() + CASE WHEN i % 4 = 0 THEN interval '1 h' ELSE interval '-1 h' END, (i % 4 = 0)::int
               FROM generate_series(1, 20000) i;
             ANALYZE backfill_queue",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn between_samples_a_big_queues_estimates_scale_the_last_sample() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    queue_20000(&s).await;
    let console = db.session().await;
    let mut reader = Reader::new(None);
    let first = reader.read(&console, Parts::ALL).await.unwrap().snapshot.queue;
    assert!(first.estimated);
    assert!(reader.cache().queue_sampled());
    // Twice the rows, in the same shares: without a new sample the estimate doubles.
    queue_20000(&s).await;
    let unsampled = Parts { locks: false, months: false, queue: true, sample: false };
    let again = reader.read(&console, unsampled).await.unwrap().snapshot.queue;
    let ratio = again.ready as f64 / first.ready as f64;
    assert!((1.9..2.1).contains(&ratio), "ready {} then {}", first.ready, again.ready);
    assert!((again.ready - 30_000).abs() < 3_000, "ready ≈ {} (30,000)", again.ready);
    assert!((again.in_flight - 10_000).abs() < 1_000, "in flight ≈ {} (10,000)", again.in_flight);
}

/// Whether the read that made `doc` read the lock table (or found it could not have changed).
fn read_the_locks(doc: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(doc).unwrap();
    !v["locks"].is_null()
}

/// How many times `sql` calls `pg_lock_status` (EXPLAIN ANALYZE on `client`).
async fn lock_table_reads(client: &tokio_postgres::Client, sql: &str) -> i64 {
    fn walk(plan: &serde_json::Value) -> i64 {
        let own =
            if plan["Function Name"] == "pg_lock_status" { plan["Actual Loops"].as_i64().unwrap_or(0) } else { 0 };
        own + plan["Plans"].as_array().into_iter().flatten().map(walk).sum::<i64>()
    }
    walk(&common::explain_analyze(client, sql).await)
}

/// Waits until the backend `pid` has left pg_stat_activity (its locks are gone before).
async fn gone(admin: &common::Session, pid: i32) {
    // Bounded only so that a broken server ends the test instead of hanging it.
    for _ in 0..6_000 {
        let n: i64 = admin
            .client
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("backend {pid} never left pg_stat_activity");
}

fn month_keys(s: &Snapshot) -> Vec<(Option<i32>, u32)> {
    let mut v: Vec<_> = s.locks.iter().filter(|l| l.classid == 0).map(|l| (l.pid, l.objid)).collect();
    v.sort();
    v
}

/// The lock table is not read when no session ran anything since the last read — and
/// no way of taking or letting go of a lock slips past that: a statement, a transaction's
/// end, a session's end, one killed, and a statement that takes a lock while it runs
/// across two reads (the rule that a running session means "read"). Every check reads
/// the whole snapshot on the reader's own session, which the activity leaves out.
/// Checked against its defective variant by hand (a running session not counted: the
/// lock taken half-way through a statement is missed).
#[tokio::test]
async fn a_lock_change_is_never_missed_when_the_lock_table_is_not_read() {
    // A server of its own: no other test's sessions run statements on it.
    let server = tokio::task::spawn_blocking(TempServer::start).await.unwrap().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let mut admin = common::connect_url(&url).await;
    backfill_console::db::migrate::migrate(&mut admin.client).await.unwrap();
    let console = common::connect_url(&url).await;
    let a = common::connect_url(&url).await;
    let b = common::connect_url(&url).await;
    let mut reader = Reader::new(None);
    let tick = Parts { locks: true, months: false, queue: false, sample: false };
    // A tick, checked against a whole read; returns whether it read the lock table.
    async fn read(reader: &mut Reader, console: &common::Session, tick: Parts) -> (bool, Vec<(Option<i32>, u32)>) {
        let r = reader.read(console, tick).await.unwrap();
        let whole = snapshot::read(&console.client).await.unwrap();
        assert_eq!(month_keys(&r.snapshot), month_keys(&whole), "the reader agrees with a whole read");
        (read_the_locks(&r.document), month_keys(&r.snapshot))
    }
    // Ticks while nothing runs: they stop reading the lock table — once every session's
    // last statement has reported its end, which a backend may do a moment after its
    // client has the answer — and keep showing the same locks.
    async fn quiet(reader: &mut Reader, console: &common::Session, tick: Parts, what: &str) -> Vec<(Option<i32>, u32)> {
        let (_, locks) = read(reader, console, tick).await;
        for _ in 0..50 {
            let (read_the_table, again) = read(reader, console, tick).await;
            assert_eq!(locks, again, "{what}: nothing ran, the same locks");
            if !read_the_table {
                return locks;
            }
        }
        panic!("{what}: nothing ran, yet every tick read the lock table");
    }
    // After a change: the first tick reads the lock table, and the next ones, once quiet, do not.
    async fn settle(reader: &mut Reader, console: &common::Session, tick: Parts, what: &str) -> usize {
        let (first, locks) = read(reader, console, tick).await;
        assert!(first, "{what}: something ran, the lock table is read");
        assert_eq!(locks, quiet(reader, console, tick, what).await);
        locks.len()
    }
    reader.read(&console, Parts::ALL).await.unwrap();
    quiet(&mut reader, &console, tick, "at the start").await;
    // Quiet: the server does not even walk its lock table.
    let sql = snapshot::with_literals(
        &snapshot::snapshot_sql(None),
        &snapshot::Params::new(reader.cache().known_fingerprints(), tick),
    );
    assert_eq!(lock_table_reads(&console.client, &sql).await, 0, "quiet: pg_lock_status never runs");
    a.client.execute("SELECT 1", &[]).await.unwrap();
    assert_eq!(lock_table_reads(&console.client, &sql).await, 1, "after a statement it does");
    read(&mut reader, &console, tick).await;
    // A statement takes a lock.
    a.client.execute("SELECT pg_advisory_lock(202401::bigint)", &[]).await.unwrap();
    assert_eq!(settle(&mut reader, &console, tick, "a statement").await, 1);
    // A transaction-level lock, held while idle in the transaction, let go at COMMIT.
    b.client.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(202402::bigint)").await.unwrap();
    assert_eq!(settle(&mut reader, &console, tick, "in a transaction").await, 2);
    b.client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(settle(&mut reader, &console, tick, "at commit").await, 1);
    // A statement that takes a lock half-way through, read while it runs and again after
    // it took the lock — still running, so its start and state are what they were.
    let pid_b: i32 = b.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let long = tokio::spawn(async move {
        b.client
            .batch_execute(
                "DO $$ BEGIN PERFORM pg_sleep(0.8); PERFORM pg_advisory_lock(202403); PERFORM pg_sleep(2); END $$",
            )
            .await
            .unwrap();
        b
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(read(&mut reader, &console, tick).await.1.len(), 1, "not taken yet");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (_, locks) = read(&mut reader, &console, tick).await;
    assert!(locks.contains(&(Some(pid_b), 202403)), "taken while the statement runs: {locks:?}");
    let b = long.await.unwrap();
    assert_eq!(settle(&mut reader, &console, tick, "the statement ended").await, 2);
    // A session that ends lets go of its locks. Its backend lets go of them a moment
    // before it leaves pg_stat_activity, and in that moment a quiet tick may still show
    // them: the guarantee is that the first tick after the backend has left shows the truth.
    let pid_a: i32 = a.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    drop(a);
    gone(&admin, pid_a).await;
    assert_eq!(read(&mut reader, &console, tick).await.1.len(), 1, "a closed session's lock is gone");
    // One killed by another session.
    admin.client.execute("SELECT pg_terminate_backend($1)", &[&pid_b]).await.unwrap();
    gone(&admin, pid_b).await;
    assert_eq!(read(&mut reader, &console, tick).await.1.len(), 0, "a killed session's lock is gone");
    drop(b);
}

/// `serve`'s kept read (`ops::read::Kept`): read after read on one session, through random
/// changes, it agrees with the one-shot judged read of `check` made at the same moment —
/// the months, the locks, the queue, the processing months' messages and the judgement of
/// every lock. The duplicate check it makes every 30 s: a duplicate planted before its
/// first read is found by it.
#[tokio::test]
async fn kept_reads_agree_with_a_one_shot_judged_read() {
    use backfill_console::ops::read::{Kept, ReadOptions, judged};
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2023-01", "2024-12").await;
    let dup = "INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 3}'), ('{\"year\": 2024, \"month\": 3}')";
    admin.client.batch_execute(dup).await.unwrap();
    let thresholds = backfill_console::config::Config::builtin().unwrap().thresholds;
    let options = ReadOptions { thresholds: &thresholds, queue_depth_query: None, with_history: true };
    let serve = db.session().await;
    let holders = [db.session().await, db.session().await];
    let mut kept = Kept::new(None);
    let mut rng = StdRng::seed_from_u64(24);
    for step in 0..40 {
        let (snap, assessment) = kept.read(&serve, &options, std::time::Duration::from_secs(30)).await.unwrap();
        let (whole, judgement) = judged(&admin, &options).await.unwrap();
        assert_eq!(snap.months.len(), whole.months.len(), "step {step}: months");
        for m in &whole.months {
            let ym = m.year_month().unwrap();
            assert_eq!(snap.month(ym), Some(m), "step {step}: month {ym}");
        }
        // This database's locks (the shared server's other databases' locks come and go
        // between the two reads), and how each is judged.
        let ours = |s: &Snapshot, a: &backfill_console::model::Assessment| -> Vec<_> {
            let held = s.locks.iter().zip(&a.locks).filter(|(l, _)| l.in_this_database);
            held.map(|(l, v)| (l.pid, l.objid, l.granted, v.problems.clone())).collect()
        };
        assert_eq!(ours(&snap, &assessment), ours(&whole, &judgement), "step {step}: locks");
        assert_eq!(snap.queue, whole.queue, "step {step}: queue");
        assert_eq!(snap.processing, whole.processing, "step {step}: processing");
        assert!(snap.history.is_some(), "step {step}: the throughput history");
        if step == 0 {
            assert_eq!(snap.duplicates, whole.duplicates, "the duplicate check");
            assert_eq!(snap.duplicates.len(), 1, "{:?}", snap.duplicates);
        }
        let month = rng.random_range(1..=12);
        let holder = &holders[rng.random_range(0..2)].client;
        let sql = match rng.random_range(0..5) {
            0 => "UPDATE backfill_log SET status = 'processing', started_at = now() WHERE year = 2024 AND month = $1",
            1 => "SELECT pg_try_advisory_lock((202400 + $1::int)::int8)",
            2 => "SELECT pg_advisory_unlock_all() WHERE $1::int IS NOT NULL",
            3 => "INSERT INTO backfill_queue (message) VALUES (jsonb_build_object('year', 2024, 'month', $1::int))",
            _ => "UPDATE backfill_log SET status = 'completed', completed_at = now() WHERE year = 2023 AND month = $1",
        };
        let client = if sql.contains("advisory") { holder } else { &admin.client };
        client.query(sql, &[&month]).await.unwrap();
    }
}
