//! Throughput, the ETA band and a stall, on a real PostgreSQL seeded with `completed_at`
//! spread over hours at a known rate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::progress;
use backfill_console::model::progress::{HOURS, TEN_MINUTES, progress as judge};
use common::cli::{json, run};

/// Completes `per_hour[k]` months in the hour that ended `k` hours ago (k = 0 the newest),
/// each well inside its hour (10 to 50 minutes back into it), so a read a few seconds
/// later still puts every one in the same bucket.
async fn complete_at_rates(client: &tokio_postgres::Client, per_hour: &[i64]) {
    for (k, n) in per_hour.iter().enumerate() {
        for i in 0..*n {
            let back = k as f64 * 3600.0 + 600.0 + i as f64 * 2400.0 / *n as f64;
            client
                .execute(
                    "UPDATE backfill_log SET status = 'completed',
                        completed_at = now() - make_interval(secs => $1),
                        started_at = now() - make_interval(secs => $1 + 300)
                     WHERE id = (SELECT id FROM backfill_log WHERE status = 'pending' ORDER BY id LIMIT 1)",
                    &[&back],
                )
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn the_eta_band_contains_the_true_finishing_time() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    // 220 months: 120 completed over the last six hours at 22, 18, 22, 18, 22, 18 an hour
    // (newest first; 20 on average), 100 left.
    common::seed(&mut s, "2000-01", "2018-04").await;
    complete_at_rates(&s.client, &[22, 18, 22, 18, 22, 18]).await;
    let history = progress::history(&s.client).await.unwrap();
    assert_eq!(history.hourly.len(), HOURS);
    assert_eq!(history.ten_minutes.len(), TEN_MINUTES);
    assert_eq!(history.hourly[HOURS - 6..], [18, 22, 18, 22, 18, 22], "oldest first");
    assert_eq!(history.hourly[..HOURS - 6].iter().sum::<i64>(), 0);
    // The ten-minute buckets reach two hours back: the newest two hours' 22 + 18.
    assert_eq!(history.ten_minutes.iter().sum::<i64>(), 40);
    assert_eq!(history.ten_minutes[TEN_MINUTES - 1], 0, "nothing in the last ten minutes");
    assert!(history.last_completed_at.is_some());

    let snap = backfill_console::db::snapshot::read(&s.client).await.unwrap();
    let p = judge(&snap.months, Some(&history), history.read_at, Duration::from_secs(1800));
    assert_eq!((p.done, p.total, p.remaining), (120, 220, 100));
    // The rate is the current pace: the last half hour saw the newest hour's 22 an hour.
    assert_eq!(p.per_hour, Some(22.0));
    // At the true average rate (20 an hour) the 100 months take 5 h.
    let truth = history.read_at + chrono::Duration::hours(5);
    let (low, high) = (p.eta_low.unwrap(), p.eta_high.unwrap());
    assert!(low <= truth && truth <= high, "{low} .. {truth} .. {high}");
    assert!(!p.stalled);

    // The same figures in `snapshot --json`, and `check` is not warning about a stall.
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    let progress = &doc["progress"];
    assert_eq!((progress["done"].as_i64(), progress["total"].as_i64()), (Some(120), Some(220)), "{progress}");
    assert_eq!(progress["per_hour"].as_f64(), Some(22.0));
    assert_eq!(progress["stalled"], false);
    assert!(progress["eta_low"].is_string() && progress["eta_high"].is_string(), "{progress}");
    let text = run(&db.url, &["snapshot"]);
    assert!(text.stdout.contains("progress: 120/220 done (55%) · 22/h · ETA 4h3"), "{}", text.stdout);
    let check = run(&db.url, &["check"]);
    assert!(!check.stdout.contains("STALLED"), "{}", check.stdout);
}

#[tokio::test]
async fn a_stall_is_a_warning_in_check_and_in_the_snapshot() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    // Six months completed two to three hours ago; six remain; nothing since.
    s.client
        .batch_execute(
            "UPDATE backfill_log SET status = 'completed', completed_at = now() - interval '2 hours' - month * interval '5 minutes',
                started_at = now() - interval '3 hours' WHERE month <= 6",
        )
        .await
        .unwrap();
    let check = run(&db.url, &["check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(check.stdout.contains("STALLED: 6 months remain and none completed for 2h"), "{}", check.stdout);
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    assert_eq!(doc["progress"]["stalled"], true, "{}", doc["progress"]);
    assert_eq!(doc["level"], "WARNING");
    // The last six hours: six completions in one hour, the rest empty; the rate from the
    // first hour with completions on is 6, 0: a band open above.
    let check = json(&run(&db.url, &["check", "--json"]));
    assert_eq!(check["progress"]["stalled"], true);
    assert!(check["progress"]["eta_high"].is_null(), "{}", check["progress"]);
}
