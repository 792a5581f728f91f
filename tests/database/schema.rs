//! `migrate` and `seed` on a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use backfill_console::db::migrate::{self, latest_version};
use backfill_console::db::{DbError, seed};

#[tokio::test]
async fn migrate_creates_the_schema_and_is_idempotent() {
    let db = common::fresh_db().await;
    let mut s = db.session().await;
    let first = migrate::migrate(&mut s.client).await.unwrap();
    assert_eq!(
        first.applied,
        [
            "001_backfill_log",
            "002_queue",
            "003_audit",
            "004_notify",
            "005_queue_depth",
            "006_audit_ssh",
            "007_audit_integrity",
            "008_queue_month",
            "009_notify_guard",
            "010_claim_functions"
        ]
    );
    assert_eq!(first.adopted_backfill_log_rows, None);
    let second = migrate::migrate(&mut s.client).await.unwrap();
    assert!(second.already_current && second.applied.is_empty());
    assert_eq!(migrate::check_schema(&s.client).await.unwrap(), latest_version());
}

#[tokio::test]
async fn backfill_log_matches_the_production_definition() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    let cols: Vec<(String, String, Option<String>)> = s
        .client
        .query(
            "SELECT column_name::text, data_type::text, column_default::text FROM information_schema.columns
             WHERE table_name = 'backfill_log' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
    for col in [
        "id",
        "year",
        "month",
        "status",
        "books_generated",
        "isbns_resolved",
        "isbns_queued",
        "resolution_rate",
        "gemini_calls",
        "xai_calls",
        "isbndb_calls",
        "started_at",
        "completed_at",
        "error_message",
        "retry_count",
        "last_retry_at",
        "prompt_variant",
        "batch_size",
    ] {
        assert!(names.contains(&col), "missing column {col}");
    }
    let ty = |n: &str| cols.iter().find(|c| c.0 == n).map(|c| c.1.clone()).unwrap();
    assert_eq!(ty("status"), "character varying");
    assert_eq!(ty("resolution_rate"), "numeric");
    assert_eq!(ty("started_at"), "timestamp with time zone");
    // The checks really bite.
    for bad in [
        "INSERT INTO backfill_log (year, month, status) VALUES (1899, 1, 'pending')",
        "INSERT INTO backfill_log (year, month, status) VALUES (2024, 13, 'pending')",
        "INSERT INTO backfill_log (year, month, status) VALUES (2024, 1, 'bogus')",
        "INSERT INTO backfill_log (year, month, status, retry_count) VALUES (2024, 1, 'pending', 6)",
        "INSERT INTO backfill_log (year, month, status, batch_size) VALUES (2024, 1, 'pending', 101)",
        "INSERT INTO backfill_log (year, month, status, books_generated, isbns_resolved) VALUES (2024, 1, 'pending', 1, 2)",
        "INSERT INTO backfill_log (year, month, status, started_at, completed_at) VALUES (2024, 1, 'pending', now(), now() - interval '1 h')",
    ] {
        assert!(s.client.batch_execute(bad).await.is_err(), "accepted: {bad}");
    }
    s.client.batch_execute("INSERT INTO backfill_log (year, month, status) VALUES (2024, 1, 'pending')").await.unwrap();
    assert!(
        s.client
            .batch_execute("INSERT INTO backfill_log (year, month, status) VALUES (2024, 1, 'pending')")
            .await
            .is_err(),
        "UNIQUE (year, month)"
    );
    let indexes: i64 = s
        .client
        .query_one("SELECT count(*) FROM pg_indexes WHERE tablename = 'backfill_log'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(indexes, 6, "pkey, unique, and the four indexes of SPEC §2");
}

#[tokio::test]
async fn two_concurrent_migrations_both_succeed() {
    let db = common::fresh_db().await;
    let (mut a, mut b) = (db.session().await, db.session().await);
    let (ra, rb) = tokio::join!(migrate::migrate(&mut a.client), migrate::migrate(&mut b.client));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // Exactly one of them applied the migrations; the other found them done.
    assert_eq!(ra.applied.len() + rb.applied.len(), migrate::MIGRATIONS.len());
    assert!(ra.already_current || rb.already_current);
}

#[tokio::test]
async fn an_existing_production_table_is_adopted_unchanged() {
    let db = common::fresh_db().await;
    let mut s = db.session().await;
    // A production-like table: same columns, but its own index names and rows.
    s.client
        .batch_execute(
            "CREATE TABLE backfill_log (
               id SERIAL PRIMARY KEY, year INT NOT NULL, month INT NOT NULL, status VARCHAR(20) NOT NULL,
               books_generated INT DEFAULT 0, isbns_resolved INT DEFAULT 0, isbns_queued INT DEFAULT 0,
               resolution_rate DECIMAL(5,2), gemini_calls INT DEFAULT 0, xai_calls INT DEFAULT 0,
               isbndb_calls INT DEFAULT 0, started_at TIMESTAMPTZ, completed_at TIMESTAMPTZ, error_message TEXT,
               retry_count INT DEFAULT 0, last_retry_at TIMESTAMPTZ, prompt_variant VARCHAR(50) DEFAULT 'baseline',
               batch_size INT DEFAULT 20, UNIQUE (year, month));
             CREATE INDEX prod_status_idx ON backfill_log (status);
             INSERT INTO backfill_log (year, month, status, books_generated) VALUES
               (2023, 1, 'completed', 40), (2023, 2, 'failed', 0), (2023, 3, 'pending', 0);",
        )
        .await
        .unwrap();
    let before: Vec<String> = index_names(&s).await;
    let report = migrate::migrate(&mut s.client).await.unwrap();
    assert_eq!(report.adopted_backfill_log_rows, Some(3));
    assert_eq!(index_names(&s).await, before, "no index added to an adopted table");
    let rows: i64 = s.client.query_one("SELECT count(*) FROM backfill_log", &[]).await.unwrap().get(0);
    assert_eq!(rows, 3);
    let inserted = common::seed(&mut s, "2023-01", "2023-06").await;
    assert_eq!(inserted, 3, "only the missing months");
    let completed: String =
        s.client.query_one("SELECT status FROM backfill_log WHERE year=2023 AND month=1", &[]).await.unwrap().get(0);
    assert_eq!(completed, "completed");
}

async fn index_names(s: &backfill_console::db::connect::Session) -> Vec<String> {
    s.client
        .query("SELECT indexname::text FROM pg_indexes WHERE tablename = 'backfill_log' ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn schema_checks_name_migrate_and_refuse_newer_versions() {
    let db = common::fresh_db().await;
    let mut s = db.session().await;
    let err = migrate::check_schema(&s.client).await.unwrap_err();
    assert!(matches!(err, DbError::SchemaMissing { .. }));
    assert!(err.to_string().contains("backfill-console migrate"), "{err}");
    migrate::migrate(&mut s.client).await.unwrap();
    s.client
        .batch_execute("INSERT INTO backfill_console_migrations (version, name, checksum) VALUES (999, 'future', 'x')")
        .await
        .unwrap();
    let err = migrate::check_schema(&s.client).await.unwrap_err();
    assert!(matches!(err, DbError::SchemaTooNew { found: 999, .. }), "{err}");
    let err = migrate::migrate(&mut s.client).await.unwrap_err();
    assert!(err.to_string().contains("upgrade backfill-console"), "{err}");
}

#[tokio::test]
async fn seed_inserts_only_missing_months_and_refuses_reversed_ranges() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    assert_eq!(common::seed(&mut s, "2000-01", "2024-12").await, 300);
    assert_eq!(common::seed(&mut s, "2000-01", "2024-12").await, 0);
    assert_eq!(common::seed(&mut s, "1999-11", "2000-02").await, 2);
    let from = backfill_console::db::lock_key::YearMonth::parse("2024-05").unwrap();
    let to = backfill_console::db::lock_key::YearMonth::parse("2024-01").unwrap();
    let err = seed::seed(&mut s.client, &common::actor(), from, to).await.unwrap_err();
    assert!(err.to_string().contains("swap"), "{err}");
    let audited: i64 = s
        .client
        .query_one("SELECT count(*) FROM backfill_console_audit WHERE action = 'seed'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn migrate_leaves_no_lock_behind() {
    let db = common::fresh_db().await;
    let mut s = db.session().await;
    migrate::migrate(&mut s.client).await.unwrap();
    let held: i64 = s
        .client
        .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 0);
}

#[tokio::test]
async fn an_applied_migration_that_changed_is_an_error_naming_its_file() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    // As if sql/003_audit.sql had been edited after this database applied it.
    s.client
        .batch_execute("UPDATE backfill_console_migrations SET checksum = '0000000000000000' WHERE version = 3")
        .await
        .unwrap();
    let err = backfill_console::db::migrate::migrate(&mut s.client).await.unwrap_err().to_string();
    assert!(err.starts_with("migration sql/003_audit.sql was changed after it was applied"), "{err}");
    // Untouched, it is current.
    let sum = backfill_console::db::migrate::checksum(backfill_console::db::migrate::MIGRATIONS[2].sql);
    s.client.execute("UPDATE backfill_console_migrations SET checksum = $1 WHERE version = 3", &[&sum]).await.unwrap();
    assert!(backfill_console::db::migrate::migrate(&mut s.client).await.unwrap().already_current);
    // A database that applied sql/005 before its comment was corrected (recorded over the
    // whole old text) is still current.
    s.client
        .batch_execute("UPDATE backfill_console_migrations SET checksum = 'c02e53a8db9b7821' WHERE version = 5")
        .await
        .unwrap();
    assert!(backfill_console::db::migrate::migrate(&mut s.client).await.unwrap().already_current);
}
