//! The console's reads on their prepared statements' plans (a direct session prepares the
//! snapshot statement once, on generic plans): a plan made while the queue was empty reads
//! it by sequential scans, one per processing month, until the server plans again. The
//! reader plans again when the queue has outgrown its plans, and after a read was cancelled.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::{Duration, Instant};

use backfill_console::db::connect::Session;
use backfill_console::db::snapshot::{Parts, Reader};

/// Months 2060-01 … 2066-08 processing (80), each the console looks up in the queue.
const PROCESSING_MONTHS: i64 = 80;

/// A database whose queue is empty and analyzed so, with [`PROCESSING_MONTHS`] processing
/// months and no autovacuum (statistics only when the test makes them).
async fn empty_analyzed_queue() -> (common::TestDb, Session) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    admin
        .client
        .batch_execute(
            "ALTER TABLE backfill_log SET (autovacuum_enabled = false);
             ALTER TABLE backfill_queue SET (autovacuum_enabled = false)",
        )
        .await
        .unwrap();
    common::seed(&mut admin, "1900-01", "2066-08").await; // 2,000 months
    let sql = "UPDATE backfill_log SET status = 'processing', started_at = now() WHERE year >= 2060";
    assert_eq!(admin.client.execute(sql, &[]).await.unwrap(), PROCESSING_MONTHS as u64);
    admin.client.batch_execute("ANALYZE backfill_log; ANALYZE backfill_queue").await.unwrap();
    (db, admin)
}

/// A backlog of 20,000 messages (none of the processing months'), that nobody analyzes.
async fn backlog(admin: &Session) {
    let sql = "INSERT INTO backfill_queue (message)
               SELECT jsonb_build_object('job_id', md5(i::text)::uuid, 'year', 1975 + i % 80, 'month', 1 + i % 12)
                 FROM generate_series(1, 20000) i";
    admin.client.batch_execute(sql).await.unwrap();
}

/// The sequential scans of the queue so far, once every other backend of the database has
/// ended (a backend reports its counts as it exits) and all `inserted` inserts are counted.
async fn queue_seq_scans(admin: &Session, db: &str, inserted: i64) -> i64 {
    common::end_other_backends(&admin.client, db).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        admin.client.batch_execute("SELECT pg_stat_clear_snapshot()").await.unwrap();
        let sql = "SELECT n_tup_ins, seq_scan FROM pg_stat_user_tables WHERE relname = 'backfill_queue'";
        let row = admin.client.query_one(sql, &[]).await.unwrap();
        let (counted, scans): (i64, i64) = (row.get(0), row.get(1));
        if counted >= inserted || Instant::now() > deadline {
            return scans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The reader's first read plans its statements over the empty queue; a backlog arrives;
/// ten reads follow. On the plans of the empty queue each read scans the queue once per
/// processing month (80 and more scans a read: 900 in the ten). The read that sees the
/// backlog still runs on them; the nine after it are planned again and look each month
/// up by its index (two scans a read before the queue is analyzed: the capped counts of
/// the ready and of the invisible messages, each stopping at the cap).
#[tokio::test]
async fn a_reader_plans_again_when_the_queue_outgrows_its_plans() {
    let (db, admin) = empty_analyzed_queue().await;
    let console = db.session().await;
    let mut reader = Reader::new(None);
    reader.read(&console, Parts::ALL).await.unwrap();
    backlog(&admin).await;
    for _ in 0..10 {
        let read = reader.read(&console, Parts::ALL).await.unwrap();
        assert!(read.snapshot.queue.ready > 1_000, "{:?}", read.snapshot.queue);
    }
    drop(console);
    let scans = queue_seq_scans(&admin, &db.name, 20_000).await;
    // The read that saw the backlog (80 or, with a read of everything again, 160) and a
    // few for the nine after it.
    assert!(scans < 3 * PROCESSING_MONTHS, "{scans} sequential scans of the queue in ten reads");
}

/// The server plans a prepared statement again by itself after an ANALYZE of a table it
/// reads, at whatever size the table has then. A reader whose statements were prepared over a
/// backlog sees the queue drain, analyzed empty (the server's plans are now the empty
/// queue's), and a backlog grow again: it plans again as the queue outgrows the least it saw.
#[tokio::test]
async fn a_reader_plans_again_when_the_queue_grows_back_after_an_analyze_of_it_empty() {
    let (db, admin) = empty_analyzed_queue().await;
    backlog(&admin).await;
    admin.client.batch_execute("ANALYZE backfill_queue").await.unwrap();
    let console = db.session().await;
    let mut reader = Reader::new(None);
    reader.read(&console, Parts::ALL).await.unwrap();
    // Drained and vacuumed down to no page (as TRUNCATE leaves it), then analyzed.
    admin.client.batch_execute("TRUNCATE backfill_queue; ANALYZE backfill_queue").await.unwrap();
    let read = reader.read(&console, Parts::ALL).await.unwrap();
    assert_eq!(read.snapshot.queue.ready, 0);
    backlog(&admin).await;
    for _ in 0..10 {
        reader.read(&console, Parts::ALL).await.unwrap();
    }
    drop(console);
    let scans = queue_seq_scans(&admin, &db.name, 40_000).await;
    assert!(scans < 3 * PROCESSING_MONTHS, "{scans} sequential scans of the queue in ten reads");
}

/// A read on plans that no longer fit may not finish within the statement timeout, and a
/// read that fails never shows the growth: a cancelled read has the next one planned
/// again. The counts of the reads after the cancelled one are taken apart from it
/// (`pg_stat_force_next_flush`, PostgreSQL 15+).
#[tokio::test]
async fn a_reader_plans_again_after_a_cancelled_read() {
    let (db, admin) = empty_analyzed_queue().await;
    let version: i32 =
        admin.client.query_one("SELECT current_setting('server_version_num')::int", &[]).await.unwrap().get(0);
    if version < 150_000 {
        eprintln!("skipped: a backend reports its statistics on demand from PostgreSQL 15");
        return;
    }
    let console = db.session().await;
    let mut reader = Reader::new(None);
    reader.read(&console, Parts::ALL).await.unwrap();
    backlog(&admin).await;
    // Every read is cancelled at once: the one on the empty queue's plans fails.
    console.client.batch_execute("SET statement_timeout = 1").await.unwrap();
    let Err(error) = reader.read(&console, Parts::ALL).await else { panic!("a read within 1 ms") };
    assert!(error.to_string().contains("timeout"), "{error}");
    console.client.batch_execute("RESET statement_timeout; SELECT pg_stat_force_next_flush()").await.unwrap();
    let before = scans_now(&admin, &console).await;
    let read = reader.read(&console, Parts::ALL).await.unwrap();
    assert!(read.snapshot.queue.ready > 1_000, "{:?}", read.snapshot.queue);
    console.client.batch_execute("SELECT pg_stat_force_next_flush()").await.unwrap();
    let after = scans_now(&admin, &console).await;
    assert!(
        after - before <= 4,
        "{} sequential scans of the queue in one read after the cancelled one",
        after - before
    );
}

/// The queue's sequential scans as counted now, once `console`'s flushed counts are in.
async fn scans_now(admin: &Session, console: &Session) -> i64 {
    // Any statement after the flush request lets the console's counts go out as it idles.
    console.client.batch_execute("SELECT 1").await.unwrap();
    let sql = "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'backfill_queue'";
    admin.client.batch_execute("SELECT pg_stat_clear_snapshot()").await.unwrap();
    admin.client.query_one(sql, &[]).await.unwrap().get(0)
}
