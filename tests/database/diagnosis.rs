//! Diagnosis on a real server: each verdict from a situation built by hand, and the cures
//! that cannot do harm — every guard against a second live queue message proven against
//! its defective variant, with the races stepped by hand and a randomized stress.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::claim::{self, ClaimParams, Step};
use backfill_console::db::dead::{self, RedriveRequest, RedriveSkip};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{reset, retry};
use common::cli::{json, run};
use common::gate::gate;

fn ym(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

/// Live queue messages of a month (ready, in flight or delayed).
async fn live(client: &tokio_postgres::Client, month: &str) -> i64 {
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
async fn doubled(client: &tokio_postgres::Client) -> i64 {
    common::count(
        client,
        "SELECT count(*) FROM (SELECT 1 FROM backfill_queue WHERE backfill_message_month(message) IS NOT NULL
           GROUP BY backfill_message_month(message) HAVING count(*) > 1) d",
    )
    .await
}

/// What the existing fleet's scheduler does: takes a pending or retry month and queues it,
/// checking the row it changed — but not whether the month has a message already.
async fn fleet_claims(client: &tokio_postgres::Client, month: &str) {
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

/// Reset against a redrive of the same month, stepped by hand: while the redrive holds the
/// month's lock the reset leaves it alone; once the redrive committed its message, the reset
/// sees it and leaves it alone again. The defective reset, at that second step, resets it —
/// and the fleet queues the month a second time.
#[tokio::test]
async fn reset_against_a_redrive_of_the_same_month_never_doubles_its_work() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-03", "2024-03").await;
    // Abandoned: processing, its message dead-lettered, no worker.
    s.client.batch_execute("UPDATE backfill_log SET status = 'processing', started_at = now()").await.unwrap();
    let letter = common::dead_letter(&s, 2024, 3, "consumer crashed").await;
    // The redrive's transaction, stepped by hand: the month's lock, the message moved.
    let mut redriving = db.session().await;
    let tx = redriving.client.transaction().await.unwrap();
    tx.execute("SELECT pg_advisory_xact_lock(202403::bigint)", &[]).await.unwrap();
    tx.execute(
        "WITH m AS (DELETE FROM backfill_queue_dead WHERE msg_id = $1 RETURNING msg_id, message)
         INSERT INTO backfill_queue (msg_id, message) SELECT msg_id, message FROM m",
        &[&letter],
    )
    .await
    .unwrap();
    let zero = Duration::ZERO;
    let during = reset::reset_stuck(&mut s.client, &common::actor(), zero, None).await.unwrap();
    assert_eq!(during.skipped_locked, [ym("2024-03")], "{during:?}");
    tx.commit().await.unwrap();
    let after = reset::reset_stuck(&mut s.client, &common::actor(), zero, None).await.unwrap();
    assert_eq!(after.skipped_queued.iter().map(|q| q.msg_id).collect::<Vec<_>>(), [letter], "{after:?}");
    assert_eq!(common::status_of(&s.client, 2024, 3).await, "processing");
    // Without the guard: reset, and the fleet claims the month again.
    let unguarded = reset::reset_stuck_unguarded(&mut s.client, &common::actor(), zero, None).await.unwrap();
    assert_eq!(unguarded.reset.len(), 1);
    fleet_claims(&s.client, "2024-03").await;
    assert_eq!(live(&s.client, "2024-03").await, 2, "the defective reset doubles the month's work");
}

/// A redrive against a claim of the same month, stepped: while the claim holds the month's
/// lock the redrive leaves the dead letter where it is; once the claim committed its message,
/// the redrive sees it and leaves it again. The defective redrive puts a second one on.
#[tokio::test]
async fn a_redrive_against_a_claim_of_the_same_month_never_doubles_its_work() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-05", "2024-05").await;
    let letter = common::dead_letter(&s, 2024, 5, "consumer crashed").await;
    let mut claimer = db.session().await;
    let (gate_c, mut ctl) = gate();
    let p = ClaimParams::for_months(vec![ym("2024-05")]).unwrap();
    let task = tokio::spawn(async move { claim::claim_observed(&mut claimer, &p, None, &gate_c).await });
    ctl.expect(Step::Walked).await;
    ctl.go();
    ctl.expect(Step::Locked(ym("2024-05"))).await;
    let ids = [letter];
    let request =
        RedriveRequest { ids: &ids, force: false, dry_run: false, chunk: 10, pause: Duration::ZERO, selection: "test" };
    let (_stop, mut never) = tokio::sync::watch::channel(false);
    let during = dead::redrive(&mut s.client, None, &common::actor(), &request, &mut never, &mut |_| {}).await.unwrap();
    assert_eq!(during.skipped[0].why, RedriveSkip::MonthLocked, "{during:?}");
    ctl.release_all();
    let claimed = task.await.unwrap().unwrap();
    assert_eq!(claimed.claimed.len(), 1);
    let after = dead::redrive(&mut s.client, None, &common::actor(), &request, &mut never, &mut |_| {}).await.unwrap();
    let msg_id = claimed.claimed[0].msg_id;
    assert_eq!(after.skipped[0].why, RedriveSkip::LiveMessage { msg_id }, "{after:?}");
    assert_eq!(live(&s.client, "2024-05").await, 1);
    let unguarded = dead::redrive_unguarded(&mut s.client, &common::actor(), &request).await.unwrap();
    assert_eq!(unguarded.moved, [letter]);
    assert_eq!(live(&s.client, "2024-05").await, 2, "the defective redrive doubles the month's work");
}

/// A dead letter of a pending month: the redrive claims the month with the message, so the
/// fleet's scheduler does not queue it again. The defective redrive leaves it pending.
#[tokio::test]
async fn a_redriven_message_takes_its_pending_month_with_it() {
    for guarded in [true, false] {
        let db = common::migrated_db().await;
        let mut s = db.session().await;
        common::seed(&mut s, "2024-07", "2024-07").await;
        let letter = common::dead_letter(&s, 2024, 7, "consumer crashed").await;
        let ids = [letter];
        let request = RedriveRequest {
            ids: &ids,
            force: false,
            dry_run: false,
            chunk: 10,
            pause: Duration::ZERO,
            selection: "t",
        };
        let report = if guarded {
            let (_stop, mut never) = tokio::sync::watch::channel(false);
            dead::redrive(&mut s.client, None, &common::actor(), &request, &mut never, &mut |_| {}).await.unwrap()
        } else {
            dead::redrive_unguarded(&mut s.client, &common::actor(), &request).await.unwrap()
        };
        assert_eq!(report.moved, [letter]);
        fleet_claims(&s.client, "2024-07").await;
        let expected = if guarded { 1 } else { 2 };
        assert_eq!(live(&s.client, "2024-07").await, expected, "guarded: {guarded}");
        if guarded {
            assert_eq!(common::status_of(&s.client, 2024, 7).await, "processing");
            assert_eq!(report.claimed[0].month, ym("2024-07"));
        }
    }
}

/// Retry of a failed month whose message is still queued: left alone (the fleet would queue
/// it again); the defective retry lets it.
#[tokio::test]
async fn a_retry_never_hands_the_fleet_a_month_whose_message_is_queued() {
    for guarded in [true, false] {
        let db = common::migrated_db().await;
        let mut s = db.session().await;
        common::seed(&mut s, "2024-08", "2024-08").await;
        s.client
            .batch_execute(
                "UPDATE backfill_log SET status = 'failed', retry_count = 1;
                 INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 8}')",
            )
            .await
            .unwrap();
        let months = [ym("2024-08")];
        let request = retry::RetryRequest { months: &months, reset_count: false, dry_run: false, selection: "t" };
        let report = if guarded {
            retry::retry(&mut s.client, None, &common::actor(), &request).await.unwrap()
        } else {
            retry::retry_unguarded(&mut s.client, &common::actor(), &request).await.unwrap()
        };
        fleet_claims(&s.client, "2024-08").await;
        if guarded {
            assert!(report.retried.is_empty(), "{report:?}");
            assert!(matches!(report.skipped[0].why, retry::RetrySkip::Queued { .. }), "{report:?}");
            assert_eq!(live(&s.client, "2024-08").await, 1);
        } else {
            assert_eq!(live(&s.client, "2024-08").await, 2, "the defective retry doubles the month's work");
        }
    }
}

/// Randomized: claims, consumers (that finish, fail, die mid-work or dead-letter), resets,
/// retries and redrives race over a few months; at every look and at the end no month has
/// more than one live message. (`BACKFILL_STRESS_UNGUARDED=1` runs the defective reset,
/// retry and redrive instead: that must fail — checked by hand.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_cures_never_give_a_month_a_second_live_message() {
    use rand::{Rng, SeedableRng};
    let unguarded = std::env::var_os("BACKFILL_STRESS_UNGUARDED").is_some();
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2023-01", "2024-12").await;
    let rounds = 60;
    let mut tasks = Vec::new();
    for w in 0..7u64 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = common::connect_url(&url).await;
            let mut rng = rand::rngs::StdRng::seed_from_u64(w);
            let actor = common::actor();
            for _ in 0..rounds {
                match w {
                    0 => {
                        let p = ClaimParams { batch_size: 3, lock_wait: Duration::ZERO, ..ClaimParams::default() };
                        claim::claim(&mut s, &p, None).await.unwrap();
                    }
                    // The existing fleet's scheduler: no live-message guard of its own.
                    1 => fleet_claims_one(&mut s, &mut rng).await,
                    2 | 3 => consume(&s, &mut rng).await,
                    4 => {
                        if unguarded {
                            reset::reset_stuck_unguarded(&mut s.client, &actor, Duration::ZERO, None).await.unwrap();
                        } else {
                            reset::reset_stuck(&mut s.client, &actor, Duration::ZERO, None).await.unwrap();
                        }
                    }
                    5 => {
                        let failed: Vec<YearMonth> = s
                            .client
                            .query("SELECT year, month FROM backfill_log WHERE status = 'failed'", &[])
                            .await
                            .unwrap()
                            .iter()
                            .filter_map(|r| YearMonth::new(r.get(0), r.get(1)))
                            .collect();
                        let request =
                            retry::RetryRequest { months: &failed, reset_count: true, dry_run: false, selection: "t" };
                        if !failed.is_empty() {
                            if unguarded {
                                retry::retry_unguarded(&mut s.client, &actor, &request).await.unwrap();
                            } else {
                                retry::retry(&mut s.client, None, &actor, &request).await.unwrap();
                            }
                        }
                    }
                    _ => {
                        let ids = dead::ids(&s.client, &dead::Which::All, None).await.unwrap();
                        let request = RedriveRequest {
                            ids: &ids,
                            force: rng.random_bool(0.5),
                            dry_run: false,
                            chunk: 4,
                            pause: Duration::ZERO,
                            selection: "t",
                        };
                        if !ids.is_empty() {
                            if unguarded {
                                dead::redrive_unguarded(&mut s.client, &actor, &request).await.unwrap();
                            } else {
                                let (_stop, mut never) = tokio::sync::watch::channel(false);
                                dead::redrive(&mut s.client, None, &actor, &request, &mut never, &mut |_| {})
                                    .await
                                    .unwrap();
                            }
                        }
                    }
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut worst = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        worst = worst.max(doubled(&s.client).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    worst = worst.max(doubled(&s.client).await);
    assert_eq!(worst, 0, "a month had a second live message");
    let messages = common::count(&s.client, "SELECT count(*) FROM backfill_queue_dead").await
        + common::count(&s.client, "SELECT count(*) FROM backfill_queue").await;
    assert!(messages > 0, "the fleet did work");
}

/// The fleet's scheduler, once: a random pending or retry month, its lock (for this
/// transaction), the guarded UPDATE, and a message for the row it changed.
async fn fleet_claims_one(s: &mut common::Session, rng: &mut rand::rngs::StdRng) {
    use rand::Rng;
    let candidates: Vec<(i32, i32)> = s
        .client
        .query("SELECT year, month FROM backfill_log WHERE status IN ('pending', 'retry')", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let (year, month) = candidates[rng.random_range(0..candidates.len())];
    let tx = s.client.transaction().await.unwrap();
    let key = i64::from(year * 100 + month);
    let got: bool = tx.query_one("SELECT pg_try_advisory_xact_lock($1::bigint)", &[&key]).await.unwrap().get(0);
    if got {
        tx.execute(
            "WITH u AS (UPDATE backfill_log SET status = 'processing', started_at = now()
                        WHERE year = $1 AND month = $2 AND status IN ('pending', 'retry') RETURNING year, month)
             INSERT INTO backfill_queue (message) SELECT jsonb_build_object('year', year, 'month', month) FROM u",
            &[&year, &month],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// A consumer's turn: take a message (its month's lock held while it works, as the fleet's
/// consumers do), then finish it, fail it, die, or dead-letter it.
async fn consume(s: &common::Session, rng: &mut rand::rngs::StdRng) {
    use rand::Rng;
    let Some(d) = backfill_console::db::queue::read(&s.client, Duration::from_millis(200)).await.unwrap() else {
        return;
    };
    let (Some(year), Some(month)) =
        (d.message.get("year").and_then(|v| v.as_i64()), d.message.get("month").and_then(|v| v.as_i64()))
    else {
        return;
    };
    let key = year * 100 + month;
    let locked: bool = s.client.query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&key]).await.unwrap().get(0);
    if !locked {
        return; // somebody holds it: the message comes back later
    }
    let (y, m) = (year as i32, month as i32);
    match rng.random_range(0..10) {
        0..=4 => {
            s.client
                .execute(
                    "UPDATE backfill_log SET status = 'completed', completed_at = greatest(now(), started_at)
                     WHERE year = $1 AND month = $2 AND status = 'processing'",
                    &[&y, &m],
                )
                .await
                .unwrap();
            backfill_console::db::queue::delete(&s.client, d.msg_id).await.unwrap();
        }
        5 | 6 => {
            s.client
                .execute(
                    "UPDATE backfill_log SET status = 'failed', error_message = 'boom'
                     WHERE year = $1 AND month = $2 AND status = 'processing'",
                    &[&y, &m],
                )
                .await
                .unwrap();
            backfill_console::db::queue::delete(&s.client, d.msg_id).await.unwrap();
        }
        7 => {
            backfill_console::db::queue::dead_letter(&s.client, d.msg_id, "gave up").await.unwrap();
        }
        _ => {} // died mid-work: the message comes back after its visibility timeout
    }
    s.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&key]).await.unwrap();
}
