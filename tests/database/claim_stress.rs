//! Randomized stress: 16 concurrent claimers drain 2,000 months, with and without
//! their backends being terminated mid-claim.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backfill_console::db::claim::steps::StepFuture;
use backfill_console::db::claim::{self, ClaimParams, Step, StepObserver, YearRange};
use backfill_console::db::connect::{self, SessionOptions};
use rand::Rng;
use tokio::sync::{mpsc, oneshot};

const CLAIMERS: usize = 16;
const FIRST: &str = "1900-01";
const LAST: &str = "2066-08"; // 2,000 months

fn drain_params() -> ClaimParams {
    ClaimParams { years: YearRange { from: 1900, to: 2100 }, ..ClaimParams::default() }
}

/// Planned kills: a claimer reaching a step of its claim may ask, by chance, for its
/// own backend to be terminated right there; the killer does it and waits until the
/// backend is gone before the claim goes on. `PLANNED_KILLS` of them happen, each at a
/// random step of a random claim, however busy the machine is.
const PLANNED_KILLS: usize = 12;

struct KillPlan {
    remaining: AtomicUsize,
    requests: mpsc::UnboundedSender<(i32, oneshot::Sender<()>)>,
}

/// The observer of one claimer's session (its backend pid).
struct KillAtRandomStep {
    plan: Arc<KillPlan>,
    pid: i32,
}

impl StepObserver for KillAtRandomStep {
    fn at(&self, _step: Step) -> StepFuture<'_> {
        Box::pin(async move {
            if !rand::rng().random_bool(0.03) {
                return;
            }
            let taken = self.plan.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if taken.is_err() {
                return;
            }
            let (done, killed) = oneshot::channel();
            if self.plan.requests.send((self.pid, done)).is_ok() {
                let _ = killed.await;
            }
        })
    }
}

/// One claimer: claims until nothing is left, reconnecting when its backend is killed.
async fn claimer(
    settings: connect::ConnSettings,
    params: ClaimParams,
    errors: Arc<AtomicUsize>,
    plan: Option<Arc<KillPlan>>,
) {
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
        let result = match &plan {
            Some(plan) => {
                let observer = KillAtRandomStep { plan: plan.clone(), pid: s.backend_pid };
                claim::claim_observed(s, &params, None, &observer).await
            }
            None => claim::claim(s, &params, None).await,
        };
        match result {
            Ok(r) if r.claimed.is_empty() && r.skipped_locked.is_empty() && r.skipped_raced.is_empty() => return,
            Ok(_) => {}
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                session = None; // terminated: reconnect
            }
        }
    }
}

struct Chaos {
    planned: usize,
    random: usize,
    errors: usize,
}

async fn drain(chaos: bool) -> (Duration, Chaos) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    assert_eq!(common::seed(&mut admin, FIRST, LAST).await, 2000);
    let mut settings = db.settings();
    settings.application_name = "stress-claimer".into();
    let errors = Arc::new(AtomicUsize::new(0));
    let stop_chaos = Arc::new(AtomicBool::new(false));
    let (requests, planned_rx) = mpsc::unbounded_channel();
    let plan = Arc::new(KillPlan { remaining: AtomicUsize::new(PLANNED_KILLS), requests });
    let killers = chaos.then(|| {
        let (stop, url) = (stop_chaos.clone(), db.url.clone());
        let random = tokio::spawn(async move { kill_claimers_at_random(&url, stop).await });
        let url = db.url.clone();
        let planned = tokio::spawn(async move { kill_on_request(&url, planned_rx).await });
        (random, planned)
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|_| {
            let plan = chaos.then(|| plan.clone());
            tokio::spawn(claimer(settings.clone(), drain_params(), errors.clone(), plan))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    stop_chaos.store(true, Ordering::Relaxed);
    drop(plan); // the last sender: the planned killer ends
    let (random, planned) = match killers {
        Some((random, planned)) => (random.await.unwrap(), planned.await.unwrap()),
        None => (0, 0),
    };
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
    (elapsed, Chaos { planned, random, errors: errors.load(Ordering::Relaxed) })
}

/// Serves the planned kills: terminates the backend, waits until it is gone, then lets the claim go on.
async fn kill_on_request(url: &str, mut requests: mpsc::UnboundedReceiver<(i32, oneshot::Sender<()>)>) -> usize {
    let admin = common::connect_url(url).await;
    let mut served = 0;
    while let Some((pid, done)) = requests.recv().await {
        admin.client.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap();
        let gone_by = Instant::now() + Duration::from_secs(30);
        loop {
            let alive = admin
                .client
                .query_one("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", &[&pid])
                .await
                .unwrap()
                .get::<_, bool>(0);
            if !alive {
                break;
            }
            assert!(Instant::now() < gone_by, "backend {pid} outlived pg_terminate_backend by 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        served += 1;
        let _ = done.send(());
    }
    served
}

/// Terminates a random claimer backend that is mid-claim, every few milliseconds,
/// until the drain is over: asynchronous kills at points no step marks (not counted on).
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
    let (elapsed, chaos) = drain(false).await;
    assert_eq!(chaos.errors, 0);
    eprintln!("16 claimers drained 2,000 months in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_killed_mid_claim_never_duplicate_or_orphan_a_month() {
    let (elapsed, chaos) = drain(true).await;
    // Every planned kill happened (each at a random step of a claim), and each of those
    // claims reported an error: a claim whose backend died never reports success.
    assert_eq!(chaos.planned, PLANNED_KILLS, "planned kills served");
    assert!(chaos.errors >= PLANNED_KILLS, "{} claims failed for {PLANNED_KILLS} killed backends", chaos.errors);
    eprintln!(
        "drained under chaos in {elapsed:?}: {} planned + {} random terminations, {} claims failed",
        chaos.planned, chaos.random, chaos.errors
    );
}
