//! Diagnosis on a real server: each verdict from a situation built by hand. The cures that
//! cannot do harm, raced against each other, are in `cures.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::claim::{self, ClaimParams};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::reset;
use common::cli::{json, run};

pub(crate) fn ym(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

/// Live queue messages of a month (ready, in flight or delayed).
pub(crate) async fn live(client: &tokio_postgres::Client, month: &str) -> i64 {
    let m = ym(month);
    common::count(
        client,
        &format!(
            "SELECT count(*) FROM backfill_queue WHERE backfill_message_month(message) = {}",
            m.year * 100 + m.month
        ),
    )
    .await
}

/// Months with more than one live message.
pub(crate) async fn doubled(client: &tokio_postgres::Client) -> i64 {
    common::count(
        client,
        "SELECT count(*) FROM (SELECT 1 FROM backfill_queue WHERE backfill_message_month(message) IS NOT NULL
           GROUP BY backfill_message_month(message) HAVING count(*) > 1) d",
    )
    .await
}

/// What the existing fleet's scheduler does: takes a pending or retry month and queues it,
/// checking the row it changed — but not whether the month has a message already.
pub(crate) async fn fleet_claims(client: &tokio_postgres::Client, month: &str) {
    let m = ym(month);
    client
        .execute(
            "WITH u AS (UPDATE backfill_log SET status = 'processing', started_at = now()
                        WHERE year = $1 AND month = $2 AND status IN ('pending', 'retry') RETURNING year, month)
             INSERT INTO backfill_queue (message) SELECT jsonb_build_object('year', year, 'month', month) FROM u",
            &[&m.year, &m.month],
        )
        .await
        .unwrap();
}

fn config(dir: &tempfile::TempDir, thresholds: &str) -> String {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[thresholds]\n{thresholds}\n")).unwrap();
    path.to_string_lossy().to_string()
}

fn verdict<'a>(doc: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    doc["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} verdict: {}", doc["verdicts"]))
}

/// Consumers stop taking messages: the months they wait for are named a consumer stall, no
/// console cure is offered, and a reset leaves them alone. Without its guard the reset
/// would hand the fleet's scheduler the same months again — each would get a second message.
#[tokio::test]
async fn a_consumer_stall_is_named_and_its_months_are_never_reset() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    let p = ClaimParams { batch_size: 3, ..ClaimParams::default() };
    assert_eq!(claim::claim(&mut s, &p, None).await.unwrap().claimed.len(), 3);
    // Two hours on: nobody took the messages.
    s.client
        .batch_execute(
            "UPDATE backfill_log SET started_at = now() - interval '2 hours' WHERE status = 'processing';
             UPDATE backfill_queue SET enqueued_at = now() - interval '2 hours', visible_at = now() - interval '2 hours'",
        )
        .await
        .unwrap();
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    let stall = verdict(&doc, "consumer_stall");
    assert_eq!(stall["months"], serde_json::json!(["2024-06", "2024-05", "2024-04"]), "{stall}");
    assert_eq!(stall["remedy"]["action"], serde_json::Value::Null);
    assert!(!doc["verdicts"].to_string().contains("stuck_months"), "{}", doc["verdicts"]);
    assert_eq!(doc["stuck_months"], serde_json::json!([]));
    let check = run(&db.url, &["check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(check.stdout.contains("consumer stall: 3 ready"), "{}", check.stdout);
    assert!(check.stdout.contains("no console cure: consumers are not taking messages"), "{}", check.stdout);
    // The reset leaves each alone, and says why.
    let reset = run(&db.url, &["reset-stuck", "--older-than", "1h", "--yes", "--json"]);
    assert_eq!(reset.code, 1, "a month left alone: exit 1");
    let report = json(&reset);
    assert_eq!(report["reset"], serde_json::json!([]));
    assert_eq!(report["skipped_queued"].as_array().unwrap().len(), 3, "{report}");
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue").await, 3);
    assert_eq!(doubled(&s.client).await, 0);
    // The defective variant: reset anyway, and the fleet queues the same months again.
    let unguarded =
        reset::reset_stuck_unguarded(&mut s.client, &common::actor(), Duration::from_secs(3600), None).await.unwrap();
    assert_eq!(unguarded.reset.len(), 3);
    for month in ["2024-04", "2024-05", "2024-06"] {
        fleet_claims(&s.client, month).await;
    }
    assert_eq!(doubled(&s.client).await, 3, "without the guard each month has its work queued twice");
}

/// A consumer takes a message and goes away: its month is named a dead consumer (shown at
/// OK once — the queue hands it out again — a warning the second time); when the message is
/// gone too the month is abandoned, and reset is its cure.
#[tokio::test]
async fn a_dead_consumer_is_named_and_only_an_abandoned_month_is_reset() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-02").await;
    let p = ClaimParams { batch_size: 1, ..ClaimParams::default() };
    claim::claim(&mut s, &p, None).await.unwrap();
    let taken = backfill_console::db::queue::read(&s.client, Duration::from_secs(600)).await.unwrap().unwrap();
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    let dead_consumer = verdict(&doc, "dead_consumer");
    assert_eq!(dead_consumer["level"], "OK", "{dead_consumer}");
    assert_eq!(dead_consumer["msg_ids"], serde_json::json!([taken.msg_id]));
    // Taken and left again.
    s.client.execute("UPDATE backfill_queue SET read_count = 2", &[]).await.unwrap();
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    assert_eq!(verdict(&doc, "dead_consumer")["level"], "WARNING");
    // A reset now would run the work twice: it leaves the month alone.
    let left = json(&run(&db.url, &["reset-stuck", "--older-than", "0s", "--yes", "--json"]));
    assert_eq!(left["skipped_queued"].as_array().unwrap().len(), 1, "{left}");
    // The message is lost (dead-lettered): the month is abandoned, and reset.
    assert!(backfill_console::db::queue::dead_letter(&s.client, taken.msg_id, "lost").await.unwrap());
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    let abandoned = verdict(&doc, "dead_consumer");
    assert_eq!(abandoned["remedy"]["action"], "reset", "{abandoned}");
    assert_eq!(doc["stuck_months"][0]["month"], serde_json::json!({ "year": 2024, "month": 2 }));
    let done = json(&run(&db.url, &["reset-stuck", "--older-than", "0s", "--yes", "--json"]));
    assert_eq!(done["reset"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(common::status_of(&s.client, 2024, 2).await, "retry");
}

/// Leaked month locks are grouped by the holder's application, with release as the cure.
#[tokio::test]
async fn leaked_locks_are_named_by_application() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-03").await;
    s.client
        .batch_execute("UPDATE backfill_log SET status = 'completed', started_at = now(), completed_at = now()")
        .await
        .unwrap();
    let mut holders = Vec::new();
    for (app, keys) in [("scheduler-a", &[202401, 202402][..]), ("scheduler-b", &[202403][..])] {
        let mut settings = db.settings();
        settings.application_name = app.into();
        let options = backfill_console::db::connect::SessionOptions::default();
        let h = backfill_console::db::connect::connect(&settings, &options).await.unwrap();
        for key in keys {
            h.client.execute("SELECT pg_advisory_lock($1::bigint)", &[&(*key as i64)]).await.unwrap();
        }
        holders.push(h);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, "leaked_after = \"1s\"");
    // Idle past the threshold (a second, measured by the server's clock).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let doc = loop {
        let doc = json(&run(&db.url, &["--config", &cfg, "snapshot", "--json"]));
        if doc["verdicts"].to_string().contains("3 leaked month lock(s)") {
            break doc;
        }
        assert!(std::time::Instant::now() < deadline, "never leaked: {}", doc["verdicts"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let leaked = verdict(&doc, "leaked_locks");
    assert_eq!(leaked["evidence"]["by_application"], serde_json::json!({ "scheduler-a": 2, "scheduler-b": 1 }));
    assert_eq!(leaked["remedy"]["action"], "release");
    assert!(leaked["summary"].as_str().unwrap().starts_with("3 leaked month lock(s): scheduler-a ×2, scheduler-b ×1"));
    drop(holders);
}

/// One cause failing far above its usual rate is an error burst, naming the cause.
#[tokio::test]
async fn an_error_burst_is_named_with_its_cause() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    s.client
        .batch_execute(
            "UPDATE backfill_log SET status = 'retry', retry_count = 1, started_at = now() - interval '5 minutes',
                error_message = 'isbndb: HTTP 429 Too Many Requests (request ' || md5(month::text) || ')'
             WHERE month <= 6;
             UPDATE backfill_log SET status = 'failed', retry_count = 1, started_at = now() - interval '10 hours',
                error_message = 'gemini: deadline exceeded after ' || (month * 7) || 's'
             WHERE month > 6",
        )
        .await
        .unwrap();
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    let burst = verdict(&doc, "error_burst");
    assert!(burst["summary"].as_str().unwrap().contains("6 failure(s) in the last hour"), "{burst}");
    assert!(burst["evidence"]["signature"].as_str().unwrap().starts_with("isbndb: HTTP 429"), "{burst}");
    assert_eq!(burst["remedy"]["action"], "retry");
    assert!(!doc["verdicts"].to_string().contains("gemini"), "the steady cause is no burst");
}

/// Dead letters: shown, and a warning from the threshold on, with the dead-letter view as the cure.
#[tokio::test]
async fn dead_letters_are_named_as_poison_messages() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    for month in 1..=10 {
        common::dead_letter(&s, 2024, month, "schema mismatch").await;
    }
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    let poison = verdict(&doc, "poison_messages");
    assert_eq!(
        (poison["level"].as_str(), poison["remedy"]["action"].as_str()),
        (Some("WARNING"), Some("dead_letters"))
    );
}
