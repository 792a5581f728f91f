//! Retrying failed months: the routine on a real server, its races stepped by hand,
//! and the command's bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::retry::{self, RetryRequest, RetrySkip};
use backfill_console::model::Status;

fn ym(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

/// 2024-01..2024-06: 01 failed (2 retries), 02 failed at the cap, 03 processing,
/// 04 failed (0 retries), 05 retry, 06 pending.
async fn setup(db: &common::TestDb) -> backfill_console::db::connect::Session {
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    s.client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', retry_count = 2, error_message = 'gemini: 503' WHERE month = 1;
             UPDATE backfill_log SET status = 'failed', retry_count = 5, error_message = 'gemini: 503' WHERE month = 2;
             UPDATE backfill_log SET status = 'processing', started_at = now() WHERE month = 3;
             UPDATE backfill_log SET status = 'failed', retry_count = 0, error_message = 'isbndb: 401' WHERE month = 4;
             UPDATE backfill_log SET status = 'retry', retry_count = 1 WHERE month = 5;",
        )
        .await
        .unwrap();
    s
}

async fn row(client: &tokio_postgres::Client, month: i32) -> (String, i32, Option<String>) {
    let r = client
        .query_one(
            "SELECT status::text, retry_count, error_message FROM backfill_log WHERE year = 2024 AND month = $1",
            &[&month],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

fn request(months: &[YearMonth], reset_count: bool, dry_run: bool) -> RetryRequest<'_> {
    RetryRequest { months, reset_count, dry_run, selection: "test" }
}

#[tokio::test]
async fn failed_months_go_back_to_retry_keeping_their_count_and_the_rest_is_explained() {
    let db = common::migrated_db().await;
    let mut s = setup(&db).await;
    let months: Vec<YearMonth> = (1..=7).map(|m| YearMonth::new(2024, m).unwrap()).collect();
    // A dry run is the same routine rolled back: it reports and changes nothing.
    let dry = retry::retry(&mut s.client, None, &common::actor(), &request(&months, false, true)).await.unwrap();
    assert_eq!(dry.retried, [ym("2024-01"), ym("2024-04")]);
    assert_eq!(row(&s.client, 1).await.0, "failed");
    assert_eq!(
        common::count(&s.client, "SELECT count(*) FROM backfill_console_audit WHERE action LIKE 'retry%'").await,
        0
    );
    let report = retry::retry(&mut s.client, None, &common::actor(), &request(&months, false, false)).await.unwrap();
    assert_eq!(report.retried, dry.retried);
    assert_eq!(report.skipped, dry.skipped);
    let why: Vec<(String, RetrySkip)> = report.skipped.iter().map(|s| (s.month.to_string(), s.why.clone())).collect();
    assert_eq!(
        why,
        [
            ("2024-02".to_string(), RetrySkip::AtRetryCap { retry_count: 5 }),
            ("2024-03".to_string(), RetrySkip::Status { status: Status::Processing }),
            ("2024-05".to_string(), RetrySkip::Status { status: Status::Retry }),
            ("2024-06".to_string(), RetrySkip::Status { status: Status::Pending }),
            ("2024-07".to_string(), RetrySkip::Missing),
        ]
    );
    // retry_count counts failed deliveries: kept; the error stays visible until a claim.
    assert_eq!(row(&s.client, 1).await, ("retry".into(), 2, Some("gemini: 503".into())));
    assert_eq!(row(&s.client, 4).await.0, "retry");
    assert_eq!(row(&s.client, 2).await, ("failed".into(), 5, Some("gemini: 503".into())));
    assert_eq!(row(&s.client, 3).await.0, "processing");
    // One audit row for the whole action, with every month's outcome.
    let audit = s
        .client
        .query_one(
            "SELECT action, parameters, outcome, detail, id FROM backfill_console_audit WHERE action LIKE 'retry%'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "retry");
    let parameters: serde_json::Value = audit.get(1);
    assert_eq!(parameters["months"], "2024-01..2024-07");
    assert_eq!(audit.get::<_, String>(2), "done: retried 2, left alone 5");
    let detail: serde_json::Value = audit.get(3);
    assert_eq!(detail["2024-01"], "retried");
    assert!(detail["2024-02"].as_str().unwrap().contains("retry cap"), "{detail}");
    assert_eq!(Some(audit.get::<_, i64>(4)), report.audit_id);
    // Then the claim routine takes them (retry is claimable).
    let claim = backfill_console::db::claim::ClaimParams {
        years: backfill_console::db::claim::YearRange { from: 2024, to: 2024 },
        ..Default::default()
    };
    let claimed = backfill_console::db::claim::claim(&mut s, &claim, None).await.unwrap();
    let got: Vec<i32> = claimed.claimed.iter().map(|c| c.month).collect();
    assert!(got.contains(&1) && got.contains(&4), "{got:?}");
}

#[tokio::test]
async fn reset_count_retries_months_at_the_cap_and_is_audited_as_such() {
    let db = common::migrated_db().await;
    let mut s = setup(&db).await;
    let months = [ym("2024-02")];
    let report = retry::retry(&mut s.client, None, &common::actor(), &request(&months, true, false)).await.unwrap();
    assert_eq!(report.retried, months);
    assert_eq!(row(&s.client, 2).await.0, "retry");
    assert_eq!(row(&s.client, 2).await.1, 0);
    let action: String = s
        .client
        .query_one("SELECT action FROM backfill_console_audit WHERE id = $1", &[&report.audit_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(action, "retry.reset_count");
}

#[tokio::test]
async fn a_month_whose_lock_a_live_session_holds_is_left_alone() {
    let db = common::migrated_db().await;
    let mut s = setup(&db).await;
    let worker = db.session().await;
    worker.client.execute("SELECT pg_advisory_lock(202401::bigint)", &[]).await.unwrap();
    let months = [ym("2024-01"), ym("2024-04")];
    let report = retry::retry(&mut s.client, None, &common::actor(), &request(&months, false, false)).await.unwrap();
    assert_eq!(report.retried, [ym("2024-04")]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!((report.skipped[0].month, &report.skipped[0].why), (ym("2024-01"), &RetrySkip::Locked));
    assert_eq!(row(&s.client, 1).await.0, "failed", "the worker's month is untouched");
    // The retry's transaction-scoped locks are gone with its commit.
    let pid: i32 = s.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    assert_eq!(common::month_locks_of(&s.client, pid).await, Vec::<i64>::new());
}

/// Stepped by hand: another transaction changes the month's status and has not committed
/// when the retry reaches the row; the retry waits for it, sees the new status and leaves
/// the month alone. Without the status guard in the UPDATE it would flip it to retry.
#[tokio::test]
async fn a_status_changed_meanwhile_by_a_concurrent_transaction_is_left_as_it_is() {
    let db = common::migrated_db().await;
    let mut s = setup(&db).await;
    let retry_pid: i32 = s.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let mut other = db.session().await;
    let tx = other.client.transaction().await.unwrap();
    tx.execute(
        "UPDATE backfill_log SET status = 'processing', started_at = now() WHERE year = 2024 AND month = 1",
        &[],
    )
    .await
    .unwrap();
    let task = tokio::spawn(async move {
        let months = [ym("2024-01")];
        let report = retry::retry(&mut s.client, None, &common::actor(), &request(&months, false, false)).await;
        (report, s)
    });
    // Step: the retry is waiting for the other transaction's row lock.
    let watcher = db.session().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let waiting = common::count(
            &watcher.client,
            &format!("SELECT count(*) FROM pg_locks WHERE pid = {retry_pid} AND NOT granted"),
        )
        .await;
        if waiting > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the retry never reached the row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tx.commit().await.unwrap();
    let (report, s) = task.await.unwrap();
    let report = report.unwrap();
    assert!(report.retried.is_empty(), "{report:?}");
    assert_eq!(report.skipped[0].why, RetrySkip::Status { status: Status::Processing });
    assert_eq!(row(&s.client, 1).await.0, "processing");
}

/// Randomized: workers take month locks and move statuses while retriers retry random
/// months. A trigger records every retry that flipped a month that was not `failed`, or
/// whose lock another session held at that moment. There must be none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_racing_live_workers_never_touch_a_held_or_changed_month() {
    use rand::{Rng, SeedableRng};
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2025-12").await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', retry_count = 1;
             CREATE TABLE retry_violations (key bigint, old_status text, held_by_other boolean);
             CREATE FUNCTION check_retry() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE held boolean;
             BEGIN
               IF current_setting('application_name') = 'retrier' AND NEW.status = 'retry' THEN
                 SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
                                AND objid = (NEW.year * 100 + NEW.month) AND pid <> pg_backend_pid()
                                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) INTO held;
                 IF OLD.status <> 'failed' OR held THEN
                   INSERT INTO retry_violations VALUES (NEW.year * 100 + NEW.month, OLD.status, held);
                 END IF;
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER check_retry BEFORE UPDATE ON backfill_log FOR EACH ROW EXECUTE FUNCTION check_retry();",
        )
        .await
        .unwrap();
    let all: Vec<YearMonth> = (0..24).map(|i| YearMonth::new(2024 + i / 12, i % 12 + 1).unwrap()).collect();
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let (db_url, all) = (db.url.clone(), all.clone());
        tasks.push(tokio::spawn(async move {
            let s = common::connect_url(&db_url).await;
            let mut rng = rand::rngs::StdRng::seed_from_u64(w);
            for _ in 0..150 {
                let m = all[rng.random_range(0..all.len())];
                let got: bool = s
                    .client
                    .query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&m.lock_key()])
                    .await
                    .unwrap()
                    .get(0);
                if !got {
                    continue;
                }
                let set = |status: &'static str| {
                    format!(
                        "UPDATE backfill_log SET status = '{status}' WHERE year = {} AND month = {}",
                        m.year, m.month
                    )
                };
                s.client.batch_execute(&set("processing")).await.unwrap();
                tokio::time::sleep(Duration::from_micros(rng.random_range(0..2000))).await;
                s.client.batch_execute(&set(if rng.random_bool(0.7) { "failed" } else { "completed" })).await.unwrap();
                tokio::time::sleep(Duration::from_micros(rng.random_range(0..2000))).await;
                s.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&m.lock_key()]).await.unwrap();
            }
        }));
    }
    let mut retried = 0;
    let mut retriers = Vec::new();
    for r in 0..2u64 {
        let (db_url, all) = (db.url.clone(), all.clone());
        retriers.push(tokio::spawn(async move {
            let mut s = common::connect_url(&db_url).await;
            s.client.batch_execute("SET application_name = 'retrier'").await.unwrap();
            let mut rng = rand::rngs::StdRng::seed_from_u64(100 + r);
            let mut retried = 0;
            for _ in 0..60 {
                let months: Vec<YearMonth> = all.iter().copied().filter(|_| rng.random_bool(0.3)).collect();
                if months.is_empty() {
                    continue;
                }
                let report =
                    retry::retry(&mut s.client, None, &common::actor(), &request(&months, false, false)).await.unwrap();
                retried += report.retried.len();
            }
            retried
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for r in retriers {
        retried += r.await.unwrap();
    }
    let violations = common::count(&admin.client, "SELECT count(*) FROM retry_violations").await;
    assert_eq!(violations, 0, "retries flipped months that were held or not failed");
    assert!(retried > 0, "the retriers did retry months");
    assert_eq!(common::advisory_locks_in_db(&admin.client).await, 0);
}

/// A month's detail shows its history: the bulk retry that listed it, and its dead letters.
#[tokio::test]
async fn a_months_detail_shows_its_history_and_its_dead_letters() {
    let db = common::migrated_db().await;
    let mut s = setup(&db).await;
    let months = [ym("2024-01"), ym("2024-04")];
    retry::retry(&mut s.client, None, &common::actor(), &request(&months, false, false)).await.unwrap();
    let id: i64 = s
        .client
        .query_one(
            "INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 1}') RETURNING msg_id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    backfill_console::db::queue::dead_letter(&s.client, id, "consumer crashed").await.unwrap();
    let lines = backfill_console::db::detail::month_detail(&s.client, ym("2024-01")).await.unwrap();
    let text = lines.join("\n");
    assert!(text.contains("history (1):"), "{text}");
    assert!(text.contains("retry by tester@test-host as"), "{text}");
    assert!(text.contains(&format!("#{id} DEAD")) && text.contains("consumer crashed"), "{text}");
    let other = backfill_console::db::detail::month_detail(&s.client, ym("2024-02")).await.unwrap().join("\n");
    assert!(other.contains("history (0):"), "{other}");
}
