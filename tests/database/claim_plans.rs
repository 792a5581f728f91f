//! The claim's statements on their generic plans (the plans a claim runs on: its BEGIN sets
//! `plan_cache_mode = force_generic_plan`, and the pooled claim's functions are declared
//! with it): every row reached by its key, whatever the statistics said when the plan was
//! made.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::{Duration, Instant};

use backfill_console::db::claim::{self, ClaimParams, YearRange};
use backfill_console::db::connect::Pooling;
use backfill_console::pgserver::{BouncerSettings, PoolMode, TempBouncer};

/// The sequential and bitmap scans of `table` in `plan` (EXPLAIN's JSON), and how many of
/// its rows the plan read other than by key (rows returned and rows filtered out, all loops).
fn reads(plan: &serde_json::Value, table: &str) -> (Vec<String>, f64) {
    let mut whole = Vec::new();
    let mut rows = 0.0;
    let kind = plan["Node Type"].as_str().unwrap_or_default().to_string();
    if plan["Relation Name"] == table && kind.ends_with(" Scan") && plan["Index Name"] != "backfill_log_pkey" {
        let n = |k: &str| plan[k].as_f64().unwrap_or(0.0);
        rows += (n("Actual Rows") + n("Rows Removed by Filter")) * n("Actual Loops").max(1.0);
        if matches!(kind.as_str(), "Seq Scan" | "Bitmap Heap Scan") {
            whole.push(kind);
        }
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        let (w, r) = reads(child, table);
        whole.extend(w);
        rows += r;
    }
    (whole, rows)
}

/// Statistics only when the test makes them: no autovacuum on the claim's tables.
async fn without_autovacuum(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "ALTER TABLE backfill_log SET (autovacuum_enabled = false);
             ALTER TABLE backfill_queue SET (autovacuum_enabled = false)",
        )
        .await
        .unwrap();
}

/// The arguments of one claim's statements, as SQL literals (EXECUTE takes no parameter).
struct Arguments {
    ids: String,
    keys: String,
    messages: String,
}

impl Arguments {
    /// A claim of 1950–1974 (300 months, all pending): its first ten months.
    async fn of_a_claim_of_1950_to_1974(client: &tokio_postgres::Client) -> Self {
        let rows = client
            .query(
                "SELECT id, year * 100 + month FROM backfill_log WHERE year BETWEEN 1950 AND 1974
                  ORDER BY year DESC, month DESC LIMIT 10",
                &[],
            )
            .await
            .unwrap();
        let ids: Vec<String> = rows.iter().map(|r| r.get::<_, i32>(0).to_string()).collect();
        let keys: Vec<String> = rows.iter().map(|r| r.get::<_, i32>(1).to_string()).collect();
        let messages: String = client
            .query_one(
                "SELECT quote_literal(array_agg(jsonb_build_object('job_id', md5(random()::text)::uuid, 'year', 2000))::text)
                   FROM generate_series(1, 10)",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        Self { ids: format!("'{{{}}}'", ids.join(",")), keys: format!("'{{{}}}'", keys.join(",")), messages }
    }

    /// The statement's parameter types and its arguments.
    fn of(&self, statement: &str) -> (&'static str, String) {
        let Self { ids, keys, messages } = self;
        match statement {
            "walk_page" => (
                "text[], int8, int, int, int, int, int8, int[]",
                "'{pending,retry}', 10, 1950, 1974, 1975, 1, 100, NULL".into(),
            ),
            "walk_again" => ("text[], int8, int[]", format!("'{{pending,retry}}', 10, {ids}")),
            "not_worth_waiting" => ("int[], text[]", format!("{ids}, '{{pending,retry}}'")),
            "update_and_enqueue" => (
                "int[], text[], int[], jsonb[], int[]",
                format!("{ids}, '{{pending,retry}}', {ids}, {messages}, {keys}"),
            ),
            other => panic!("a claim statement this test does not know: {other}"),
        }
    }
}

/// The claim's statements reach rows by key, whatever the statistics: their generic
/// plans (the ones a claim runs on), on a table never analyzed (a fresh database) and on an
/// analyzed one, under the claim's own settings and under the generic plan alone. Written as `id = ANY($1)`, the update-and-enqueue's
/// generic plan on a fresh database scanned the months table twice and the whole queue
/// once per claim. The page of candidates reads no more than the claim's years (a generic
/// plan does not know them: it reads that range and sorts it).
#[tokio::test]
async fn the_claims_generic_plans_read_no_table_whole() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    // No autovacuum: the "never analyzed" half must stay so while it runs.
    without_autovacuum(&s.client).await;
    common::seed(&mut s, "1900-01", "2066-08").await; // 2,000 months
    // The newest 1,000 claimed, each with its live message (as in the middle of a drain).
    s.client
        .batch_execute(
            "UPDATE backfill_log SET status = 'processing', started_at = now()
              WHERE id IN (SELECT id FROM backfill_log ORDER BY year DESC, month DESC LIMIT 1000);
             INSERT INTO backfill_queue (message)
             SELECT jsonb_build_object('job_id', md5(id::text)::uuid, 'year', year, 'month', month)
               FROM backfill_log WHERE status = 'processing'",
        )
        .await
        .unwrap();
    let arguments = Arguments::of_a_claim_of_1950_to_1974(&s.client).await;
    // Each plan both as the claim runs it (sequential scans off too) and with the generic
    // plan alone: the statements keep to their keys without being made to.
    let settings = [claim::TRANSACTION_SETTINGS, "SET LOCAL plan_cache_mode = force_generic_plan"];
    for (analyzed, settings) in [false, true].into_iter().flat_map(|a| settings.map(|s| (a, s))) {
        if analyzed {
            s.client.batch_execute("ANALYZE backfill_log; ANALYZE backfill_queue").await.unwrap();
        }
        for (name, sql) in claim::statements() {
            let (types, args) = arguments.of(name);
            s.client.batch_execute(&format!("BEGIN; {settings}; PREPARE p ({types}) AS {sql}")).await.unwrap();
            let plan = common::explain_analyze(&s.client, &format!("EXECUTE p({args})")).await;
            s.client.batch_execute("ROLLBACK; DEALLOCATE p").await.unwrap();
            let (whole, rows) = reads(&plan, "backfill_log");
            let (queue_whole, _) = reads(&plan, "backfill_queue");
            let context = format!("{name} (analyzed: {analyzed}, {settings}):\n{plan:#}");
            assert!(queue_whole.is_empty(), "{context}");
            if name == "walk_page" {
                assert!(!whole.iter().any(|w| w == "Seq Scan") && rows <= 300.0, "read {rows} rows: {context}");
            } else {
                assert!(whole.is_empty() && rows == 0.0, "read {rows} rows not by key: {context}");
            }
        }
    }
}

/// A generic plan is made once and kept until the server invalidates it (an ANALYZE of a
/// table it reads, a change of the schema). A session's first claim, made while the queue
/// was empty and analyzed so, must still look each month's message up by key in its next
/// claim once the queue has grown — before autovacuum analyzes it again — or every claim
/// would read the whole queue once per month it looks at. The server's own counters say
/// whether the queue was read whole (`seq_tup_read`: rows read by sequential scans).
/// Returns (messages inserted, queue rows read by sequential scans).
async fn claims_before_and_after_a_backlog(through_a_pooler: bool) -> (i64, i64) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    without_autovacuum(&admin.client).await;
    common::seed(&mut admin, "1900-01", "2066-08").await; // 2,000 months
    admin.client.batch_execute("ANALYZE backfill_log; ANALYZE backfill_queue").await.unwrap();
    let params = ClaimParams { years: YearRange { from: 1950, to: 1974 }, batch_size: 10, ..ClaimParams::default() };
    // Through a pool of one server connection, both claims run on the same backend: the
    // functions' plans made in the first are the second's.
    let pool = through_a_pooler.then(|| {
        let settings = BouncerSettings { pool_size: Some(1), server_reset_query: None };
        TempBouncer::start_with(common::server(), PoolMode::Transaction, &settings).expect("start a PgBouncer")
    });
    let mut s = match &pool {
        Some(pool) => common::connect_url(&pool.url(&db.name)).await,
        None => db.session().await,
    };
    assert_eq!(s.pooling == Pooling::Transaction, through_a_pooler, "{:?}", s.pooling);
    // The first claim makes the session's plans: the queue is empty.
    assert_eq!(claim::claim(&mut s, &params, None).await.unwrap().claimed.len(), 10);
    // A backlog: the queue grows, nobody analyzes it yet.
    admin
        .client
        .batch_execute(
            "INSERT INTO backfill_queue (message)
             SELECT jsonb_build_object('job_id', md5(i::text)::uuid, 'year', 1975 + i % 90, 'month', 1 + i % 12)
               FROM generate_series(1, 20000) i",
        )
        .await
        .unwrap();
    // The second claim runs on the plans the first made.
    assert_eq!(claim::claim(&mut s, &params, None).await.unwrap().claimed.len(), 10);
    // Counted as each backend exits: end the claimer's, then wait until every insert is counted.
    drop(s);
    drop(pool);
    common::end_other_backends(&admin.client, &db.name).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        admin.client.batch_execute("SELECT pg_stat_clear_snapshot()").await.unwrap();
        let row = admin
            .client
            .query_one("SELECT n_tup_ins, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'backfill_queue'", &[])
            .await
            .unwrap();
        let counts: (i64, i64) = (row.get(0), row.get(1));
        if counts.0 >= 20_020 || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_claim_planned_over_an_empty_queue_reads_the_grown_queue_by_key() {
    let (inserted, read_whole) = claims_before_and_after_a_backlog(false).await;
    assert_eq!(inserted, 20_020, "the backlog and two claims' messages, counted");
    assert_eq!(read_whole, 0, "the second claim read the grown queue by sequential scans");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_claim_planned_over_an_empty_queue_reads_the_grown_queue_by_key() {
    let (inserted, read_whole) = claims_before_and_after_a_backlog(true).await;
    assert_eq!(inserted, 20_020, "the backlog and two claims' messages, counted");
    assert_eq!(read_whole, 0, "the second pooled claim read the grown queue by sequential scans");
}
