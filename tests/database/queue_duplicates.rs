//! The duplicate check (issue 21, goal 3): it finds a second live message for a month at
//! any queue size, agrees with a plain scan of the whole queue, and reads the queue's
//! month index month by month — its plan never scans the queue (checked with EXPLAIN at
//! 100,000 messages, against the plain scan it replaced, which that check rejects).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use backfill_console::db::queue::{self, DUPLICATE_IDS, DUPLICATES, MAX_DUPLICATES};
use backfill_console::model::snapshot::Duplicate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// The check as it was: every message read and grouped.
const PLAIN_SCAN: &str =
    "SELECT (message ->> 'year')::int, (message ->> 'month')::int, array_agg(msg_id ORDER BY msg_id)
     FROM backfill_queue
     WHERE message ->> 'year' ~ '^[0-9]{4}$' AND message ->> 'month' ~ '^[0-9]{1,2}$'
     GROUP BY 1, 2 HAVING count(*) > 1
     ORDER BY 1 DESC, 2 DESC LIMIT $1";

async fn plain_scan(client: &tokio_postgres::Client) -> Vec<Duplicate> {
    let rows = client.query(PLAIN_SCAN, &[&MAX_DUPLICATES]).await.unwrap();
    rows.iter()
        .map(|r| {
            let mut msg_ids: Vec<i64> = r.get(2);
            let more = msg_ids.len() > DUPLICATE_IDS as usize;
            msg_ids.truncate(DUPLICATE_IDS as usize);
            Duplicate { year: r.get(0), month: r.get(1), msg_ids, more }
        })
        .collect()
}

/// Queues `n` messages that name no month (other work sharing the queue, or malformed).
async fn other_messages(client: &tokio_postgres::Client, n: i64) {
    client
        .execute(
            "INSERT INTO backfill_queue (message)
             SELECT CASE i % 3 WHEN 0 THEN jsonb_build_object('kind', 'reindex', 'shard', i)
                               WHEN 1 THEN jsonb_build_object('year', 'x', 'month', i)
                               ELSE jsonb_build_object('year', 2024) END
             FROM generate_series(1, $1::int8) i",
            &[&n],
        )
        .await
        .unwrap();
}

async fn enqueue(client: &tokio_postgres::Client, year: i32, month: i32, copies: i64) {
    client
        .execute(
            "INSERT INTO backfill_queue (message, visible_at, read_count)
             SELECT jsonb_build_object('year', $1::int, 'month', $2::int, 'copy', i),
                    now() + (i % 3 - 1) * interval '1 minute', (i % 2)::int
             FROM generate_series(1, $3::int8) i",
            &[&year, &month, &copies],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_check_agrees_with_a_plain_scan_of_the_whole_queue() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    for seed in 0..24u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        s.client.batch_execute("TRUNCATE backfill_queue").await.unwrap();
        other_messages(&s.client, rng.random_range(0..400)).await;
        // Up to 150 months (more than the check reports when most are doubled), each with
        // one message, or two, or many (more ids than listed), interleaved by id.
        let mut months: Vec<(i32, i32, i64)> = (0..rng.random_range(0..150))
            .map(|_| {
                let copies = match rng.random_range(0..10) {
                    0..=5 => 1,
                    6..=8 => 2,
                    _ => rng.random_range(3..30),
                };
                (rng.random_range(1990..2030), rng.random_range(1..=12), copies)
            })
            .collect();
        months.sort_unstable();
        months.dedup_by_key(|m| (m.0, m.1));
        for round in 0..2 {
            for &(year, month, copies) in &months {
                let half = if round == 0 { copies / 2 } else { copies - copies / 2 };
                enqueue(&s.client, year, month, half).await;
            }
            other_messages(&s.client, rng.random_range(0..50)).await;
        }
        let found = queue::duplicates(&s.client).await.unwrap();
        let expected = plain_scan(&s.client).await;
        assert_eq!(found, expected, "seed {seed}");
        let doubled = months.iter().filter(|m| m.2 > 1).count().min(MAX_DUPLICATES as usize);
        assert_eq!(found.len(), doubled, "seed {seed}");
    }
}

/// The rows every node reading `backfill_queue` produced, over all its loops, and whether
/// any of them was a sequential scan.
fn queue_reads(plan: &Value, rows: &mut f64, seq_scan: &mut bool) {
    if plan["Relation Name"] == "backfill_queue" {
        let loops = plan["Actual Loops"].as_f64().unwrap_or(1.0);
        *rows += plan["Actual Rows"].as_f64().unwrap_or(0.0) * loops
            + plan["Rows Removed by Filter"].as_f64().unwrap_or(0.0) * loops;
        *seq_scan |= plan["Node Type"] == "Seq Scan";
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        queue_reads(child, rows, seq_scan);
    }
}

/// EXPLAIN ANALYZE of `sql`: the rows read from the queue and whether it was scanned.
async fn explain(client: &tokio_postgres::Client, sql: &str) -> (f64, bool) {
    let sql = sql.replace("$1", &MAX_DUPLICATES.to_string()).replace("$2", &DUPLICATE_IDS.to_string());
    let plan = common::explain_analyze(client, &sql).await;
    let (mut read, mut seq_scan) = (0.0, false);
    queue_reads(&plan, &mut read, &mut seq_scan);
    (read, seq_scan)
}

#[tokio::test]
async fn a_planted_duplicate_is_found_at_any_queue_size_without_reading_the_queue() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    let mut rng = StdRng::seed_from_u64(21);
    for size in [130i64, 1_000, 100_000] {
        s.client.batch_execute("TRUNCATE backfill_queue").await.unwrap();
        // 120 months with one message each, the rest of the queue other work.
        other_messages(&s.client, size - 120).await;
        for i in 0..120 {
            enqueue(&s.client, 2000 + i / 12, 1 + i % 12, 1).await;
        }
        assert!(queue::duplicates(&s.client).await.unwrap().is_empty(), "size {size}: none yet");
        // A second message for one month, and for the oldest (the walk's last step).
        let planted = (2000 + rng.random_range(0..10), rng.random_range(1..=12));
        enqueue(&s.client, planted.0, planted.1, 1).await;
        enqueue(&s.client, 2000, 1, 1).await;
        s.client.batch_execute("ANALYZE backfill_queue").await.unwrap();
        let found: Vec<(i32, i32)> =
            queue::duplicates(&s.client).await.unwrap().iter().map(|d| (d.year, d.month)).collect();
        let mut expected = vec![planted, (2000, 1)];
        expected.dedup();
        assert_eq!(found, expected, "size {size}");
        if size < 100_000 {
            continue; // a small table is rightly read whole
        }
        let (read, seq_scan) = explain(&s.client, DUPLICATES).await;
        assert!(!seq_scan, "the check scanned the queue");
        // Two probes per distinct month (121), each reading a row or two.
        assert!(read <= 4.0 * 121.0 + 10.0, "the check read {read} queue rows");
        // The same check tells the walk from the plain scan it replaced.
        let (read, seq_scan) = explain(&s.client, PLAIN_SCAN).await;
        assert!(seq_scan && read >= size as f64, "the plain scan read {read} rows");
    }
}
