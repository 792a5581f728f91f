//! The claim through a transaction pooler (PgBouncer 1.18, transaction mode): it runs as
//! the server's functions of migration 010, whose plans the backend keeps, and falls back
//! to its own statements when the server's functions are not exactly this build's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::{Duration, Instant};

use backfill_console::db::claim::{self, ClaimParams, YearRange};
use backfill_console::db::connect::{Pooling, Session};
use backfill_console::pgserver::{PoolMode, TempBouncer};

const MESSAGES: &str = "SELECT count(*) FROM backfill_queue";
/// Months with more than one live message.
const DOUBLED: &str = "SELECT count(*) FROM (SELECT 1 FROM backfill_queue GROUP BY backfill_message_month(message) HAVING count(*) > 1) d";

fn params(batch: i64) -> ClaimParams {
    ClaimParams { batch_size: batch, years: YearRange { from: 2000, to: 2024 }, ..ClaimParams::default() }
}

/// A PgBouncer in transaction mode, a migrated database with the months from `first` to
/// 2024-12, and an admin session on it (direct).
async fn months_behind_a_pooler(first: &str) -> (TempBouncer, common::TestDb, Session) {
    let pool = TempBouncer::start(common::server(), PoolMode::Transaction).expect("start a throwaway PgBouncer");
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, first, "2024-12").await;
    (pool, db, admin)
}

async fn pooled(pool: &TempBouncer, db: &str) -> Session {
    let s = common::connect_url(&pool.url(db)).await;
    assert!(matches!(s.pooling, Pooling::Transaction), "{:?}", s.pooling);
    s
}

/// Calls of the claim's functions as the server counted them: (walk, update).
async fn calls(client: &tokio_postgres::Client) -> (i64, i64) {
    client.batch_execute("SELECT pg_stat_clear_snapshot()").await.unwrap();
    let row = client
        .query_one(
            "SELECT coalesce(sum(calls) FILTER (WHERE funcname = 'backfill_claim_walk'), 0)::int8,
                    coalesce(sum(calls) FILTER (WHERE funcname = 'backfill_claim_update'), 0)::int8
             FROM pg_stat_user_functions",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_claim_runs_the_servers_functions() {
    let (pool, db, admin) = months_behind_a_pooler("2024-01").await;
    // Counted by the server for every backend the pooler opens from now on.
    admin.client.batch_execute(&format!("ALTER DATABASE {} SET track_functions = 'pl'", db.name)).await.unwrap();
    assert!(claim::functions::available(&admin.client).await.unwrap(), "migrate installed this build's functions");
    let mut s = pooled(&pool, &db.name).await;
    let mut claimed = Vec::new();
    for _ in 0..3 {
        let report = claim::claim(&mut s, &params(2), None).await.unwrap();
        claimed.extend(report.claimed.iter().map(|c| (c.year, c.month)));
    }
    assert_eq!(claimed, [(2024, 12), (2024, 11), (2024, 10), (2024, 9), (2024, 8), (2024, 7)]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 6);
    // Counted as each backend exits: end the pooler's backends, then wait.
    drop(s);
    common::end_other_backends(&admin.client, &db.name).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = calls(&admin.client).await;
    while seen != (3, 3) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = calls(&admin.client).await;
    }
    assert_eq!(seen, (3, 3), "each claim walked and updated through the functions, once each");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_claim_keeps_to_its_statements_when_the_servers_functions_are_not_its_own() {
    let (pool, db, admin) = months_behind_a_pooler("2024-01").await;
    // Another console's walk (here one that refuses): not this build's, so never called.
    admin
        .client
        .batch_execute(
            "CREATE OR REPLACE FUNCTION backfill_claim_walk(text[], bigint, integer, integer, integer, integer, bigint, integer[])
             RETURNS TABLE (walk_id integer, walk_year integer, walk_month integer, walk_outcome text)
             LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'another console''s walk'; END $$",
        )
        .await
        .unwrap();
    let mut s = pooled(&pool, &db.name).await;
    let report = claim::claim(&mut s, &params(2), None).await.unwrap();
    assert_eq!(report.claimed.iter().map(|c| c.month).collect::<Vec<_>>(), [12, 11]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 2);
}

/// Randomized: eight claimers drain 300 months at once, four through the pooler (the
/// server's functions) and four directly (the prepared statements), each claim of a random
/// batch size: every month claimed exactly once, never a second live message — the two
/// ways of running the claim exclude each other as two claimers of one way do.
#[tokio::test(flavor = "multi_thread")]
async fn direct_and_pooled_claimers_racing_never_double_a_month() {
    use rand::Rng;
    let (pool, db, admin) = months_behind_a_pooler("2000-01").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut s = if i % 2 == 0 { pooled(&pool, &db.name).await } else { db.session().await };
        tasks.push(tokio::spawn(async move {
            let mut mine = 0;
            loop {
                let batch = rand::rng().random_range(1..=5);
                let r = claim::claim(&mut s, &params(batch), None).await.unwrap();
                mine += r.claimed.len();
                if r.claimed.is_empty() && r.skipped_locked.is_empty() && r.skipped_raced.is_empty() {
                    return mine;
                }
            }
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(common::count(&admin.client, DOUBLED).await, 0, "a month with two live messages");
    assert_eq!(total, 300);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 300);
    assert_eq!(common::count(&admin.client, "SELECT count(*) FROM backfill_log WHERE status <> 'processing'").await, 0);
}

/// The functions count only for a session that may run them: roles.sql grants them to the
/// operators; where a DBA revoked `EXECUTE` from `PUBLIC`, any other role keeps to the
/// statements instead of failing its claim with "permission denied".
#[tokio::test]
async fn the_functions_count_only_for_a_session_that_may_run_them() {
    let db = common::migrated_db().await;
    let (operator, password) = common::login_in_role(&db, "backfill_operator").await;
    let (watcher, watcher_password) = common::login_in_role(&db, "backfill_watcher").await;
    let admin = db.session().await;
    admin
        .client
        .batch_execute(
            "REVOKE EXECUTE ON FUNCTION
               backfill_claim_walk(text[], bigint, integer, integer, integer, integer, bigint, integer[]),
               backfill_claim_update(integer[], text[], integer[], jsonb[], integer[]) FROM PUBLIC",
        )
        .await
        .unwrap();
    let as_operator = common::connect_url(&common::url_as(&db, &operator, &password)).await;
    assert!(claim::functions::available(&as_operator.client).await.unwrap(), "roles.sql grants them to operators");
    let as_watcher = common::connect_url(&common::url_as(&db, &watcher, &watcher_password)).await;
    assert!(!claim::functions::available(&as_watcher.client).await.unwrap(), "not to be run: not available");
}
