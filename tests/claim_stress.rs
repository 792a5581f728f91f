//! Randomized stress: 16 concurrent claimers drain 2,000 months, with and without
//! their backends being terminated mid-claim.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backfill_console::db::claim::{self, ClaimParams, YearRange};
use backfill_console::db::connect::{self, SessionOptions};
use rand::Rng;

const CLAIMERS: usize = 16;
const FIRST: &str = "1900-01";
const LAST: &str = "2066-08"; // 2,000 months

fn drain_params() -> ClaimParams {
    ClaimParams { years: YearRange { from: 1900, to: 2100 }, ..ClaimParams::default() }
}

/// One claimer: claims until nothing is left, reconnecting when its backend is killed.
async fn claimer(settings: connect::ConnSettings, params: ClaimParams, errors: Arc<AtomicUsize>) {
    let mut session = None;
    loop {
        let s = match session.as_mut() {
            Some(s) => s,
            None => match connect::connect(&settings, &SessionOptions::default()).await {
                Ok(s) => session.insert(s),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        match claim::claim(s, &params, None).await {
            Ok(r) if r.claimed.is_empty() && r.skipped_locked.is_empty() && r.skipped_raced.is_empty() => return,
            Ok(_) => {}
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                session = None; // terminated: reconnect
            }
        }
    }
}

async fn drain(chaos: bool) -> (Duration, usize, usize) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    assert_eq!(common::seed(&mut admin, FIRST, LAST).await, 2000);
    let mut settings = db.settings();
    settings.application_name = "stress-claimer".into();
    let errors = Arc::new(AtomicUsize::new(0));
    let stop_chaos = Arc::new(AtomicBool::new(false));
    let killer = chaos.then(|| {
        let stop = stop_chaos.clone();
        let url = db.url.clone();
        tokio::spawn(async move { kill_claimers_at_random(&url, stop).await })
    });
    let started = Instant::now();
    let tasks: Vec<_> =
        (0..CLAIMERS).map(|_| tokio::spawn(claimer(settings.clone(), drain_params(), errors.clone()))).collect();
    if chaos {
        tokio::time::sleep(Duration::from_secs(4)).await;
        stop_chaos.store(true, Ordering::Relaxed);
    }
    let kills = match killer {
        Some(k) => k.await.unwrap(),
        None => 0,
    };
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    // Every month processing exactly once, with exactly one message; no lock left.
    let c = &admin.client;
    assert_eq!(common::count(c, "SELECT count(*) FROM backfill_log WHERE status = 'processing'").await, 2000);
    assert_eq!(common::count(c, "SELECT count(*) FROM backfill_queue").await, 2000);
    let duplicates = common::count(
        c,
        "SELECT count(*) FROM (SELECT message->>'year', message->>'month' FROM backfill_queue
           GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(duplicates, 0, "a month was enqueued twice");
    let orphans = common::count(
        c,
        "SELECT count(*) FROM backfill_log b WHERE b.status = 'processing' AND NOT EXISTS
           (SELECT 1 FROM backfill_queue q WHERE (q.message->>'year')::int = b.year
              AND (q.message->>'month')::int = b.month)",
    )
    .await;
    assert_eq!(orphans, 0, "a month is processing without its message");
    assert_eq!(common::advisory_locks_in_db(c).await, 0, "an advisory lock was left behind");
    (elapsed, kills, errors.load(Ordering::Relaxed))
}

/// Terminates a random claimer backend that is mid-claim, every few milliseconds.
async fn kill_claimers_at_random(url: &str, stop: Arc<AtomicBool>) -> usize {
    let admin = common::connect_url(url).await;
    let mut kills = 0;
    while !stop.load(Ordering::Relaxed) {
        let pids: Vec<i32> = admin
            .client
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'stress-claimer'
                   AND datname = current_database() AND state <> 'idle'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !pids.is_empty() {
            let pid = pids[rand::rng().random_range(0..pids.len())];
            let killed: bool = admin.client.query_one("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap().get(0);
            kills += usize::from(killed);
        }
        let pause = rand::rng().random_range(5..40);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    kills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_claimers_drain_two_thousand_months_exactly_once() {
    let (elapsed, _, errors) = drain(false).await;
    assert_eq!(errors, 0);
    eprintln!("16 claimers drained 2,000 months in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_killed_mid_claim_never_duplicate_or_orphan_a_month() {
    let (elapsed, kills, errors) = drain(true).await;
    assert!(kills >= 10, "the chaos killed only {kills} claimer backends");
    assert!(errors >= 1, "no claim ever saw its backend die");
    eprintln!("drained under chaos in {elapsed:?}: {kills} backends terminated, {errors} claims failed");
}
