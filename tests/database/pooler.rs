//! Through a real PgBouncer (Debian's 1.18, default settings) in session and in
//! transaction mode: the pooler is detected, the safety settings are applied and
//! read back, no named prepared statement poisons the pool, push is off through a
//! transaction pooler, and every command, the console and `watch` work. A small pool and
//! its queue are in `pooler_queue.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use backfill_console::db::connect::{self, Applied, Pooling, SessionOptions};
use backfill_console::pgserver::{PoolMode, TempBouncer};
use common::pty::Console;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_backfill-console");

fn bouncer(mode: PoolMode) -> TempBouncer {
    TempBouncer::start(common::server(), mode).expect("start a throwaway PgBouncer")
}

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn ok_json(url: &str, args: &[&str]) -> serde_json::Value {
    let out = run(url, args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?}: {stderr}{stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pooler_and_its_mode_are_detected_and_the_settings_read_back() {
    for (mode, expected) in [(PoolMode::Session, Pooling::Session), (PoolMode::Transaction, Pooling::Transaction)] {
        let pool = bouncer(mode);
        let db = common::migrated_db().await;
        let settings = common::settings_of(&pool.url(&db.name));
        let s = connect::connect(&settings, &SessionOptions::default()).await.unwrap();
        assert_eq!(s.pooling, expected, "{mode:?}");
        assert_eq!(s.pooler_addr.as_deref(), Some("127.0.0.1"));
        // Through any pooler nothing is set on the session (it would stay on a server backend
        // the next client gets): the settings go with every transaction.
        assert_eq!(s.guards.applied, Applied::PerTransaction, "{mode:?}");
        assert!(s.per_transaction.as_deref().unwrap().contains("SET LOCAL lock_timeout = '3000'"));
        // A direct connection is not mistaken for a pooled one.
        let direct = connect::connect(&db.settings(), &SessionOptions::default()).await.unwrap();
        assert_eq!((direct.pooling, direct.guards.applied), (Pooling::None, Applied::StartupOptions));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_works_through_pgbouncer_in_both_modes() {
    for (mode, word) in [(PoolMode::Session, "session"), (PoolMode::Transaction, "transaction")] {
        let pool = bouncer(mode);
        let db = common::fresh_db().await;
        let url = pool.url(&db.name);
        assert!(run(&url, &["migrate"]).status.success(), "{mode:?} migrate");
        assert_eq!(ok_json(&url, &["seed", "--from", "2024-01", "--to", "2024-12", "--json"])["inserted"], 12);
        let snap = ok_json(&url, &["snapshot", "--json"]);
        assert_eq!(snap["connection"]["pooling"], word, "{snap}");
        assert_eq!(snap["counts"]["pending"], 12);
        // A burst of concurrent claims: named prepared statements would poison the pool here.
        let claims: Vec<_> = (0..6)
            .map(|_| {
                Command::new(BIN)
                    .args(["claim", "--batch", "2", "--years", "2024..2024", "--json"])
                    .env("DATABASE_URL", &url)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut claimed = 0;
        for child in claims {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{mode:?} claim: {}", String::from_utf8_lossy(&out.stderr));
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            claimed += report["claimed"].as_array().unwrap().len();
        }
        assert_eq!(claimed, 12, "{mode:?}: every month claimed once");
        let locks = ok_json(&url, &["locks", "--json"]);
        assert!(locks["locks"].as_array().is_some(), "{locks}");
        let check = run(&url, &["check"]);
        assert!(String::from_utf8_lossy(&check.stdout).starts_with("BACKFILL "), "{check:?}");
        let s = db.session().await;
        s.client
            .batch_execute("UPDATE backfill_log SET started_at = now() - interval '2 hours' WHERE month <= 3")
            .await
            .unwrap();
        // Their messages are still queued: not stuck, and left alone (a reset would queue the work twice).
        let held = run(&url, &["reset-stuck", "--yes", "--json"]);
        let held: serde_json::Value = serde_json::from_slice(&held.stdout).unwrap();
        assert_eq!(held["skipped_queued"].as_array().unwrap().len(), 3, "{mode:?}: {held}");
        // The consumers lost them (gone from the queue): now they are abandoned, and reset.
        s.client
            .batch_execute(
                "DELETE FROM backfill_queue WHERE backfill_message_month(message) IN (202401, 202402, 202403)",
            )
            .await
            .unwrap();
        let reset = ok_json(&url, &["reset-stuck", "--yes", "--json"]);
        assert_eq!(reset["reset"].as_array().unwrap().len(), 3, "{mode:?}: {reset}");
        let release = ok_json(&url, &["release", "--stuck", "--yes", "--json"]);
        assert_eq!(release, serde_json::json!({ "released": [], "refused": [] }));
        // After all of that, the pool is healthy: migrate still works.
        let again = run(&url, &["migrate"]);
        assert!(String::from_utf8_lossy(&again.stdout).contains("schema is current"), "{again:?}");
        assert!(!pool.log().contains("prepared statement"), "{}", pool.log());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_through_a_transaction_pooler_keeps_its_lock_timeout() {
    let pool = bouncer(PoolMode::Transaction);
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    admin
        .client
        .batch_execute("UPDATE backfill_log SET status = 'processing', started_at = now() - interval '2 hours'")
        .await
        .unwrap();
    // Somebody holds the row: a reset must give up after the 3 s lock timeout, not hang.
    let holder = db.session().await;
    holder.client.batch_execute("BEGIN; SELECT * FROM backfill_log FOR UPDATE").await.unwrap();
    let url = pool.url(&db.name);
    let out = tokio::task::spawn_blocking(move || run(&url, &["reset-stuck", "--yes"])).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("lock timeout"), "{err}");
    holder.client.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn console_and_watch_through_both_modes() {
    for (mode, via, push_off) in [
        (PoolMode::Session, "via session pooler", "push off (pooler): polling every"),
        (PoolMode::Transaction, "push off (transaction pooler)", "push off (transaction pooler): polling every"),
    ] {
        let pool = bouncer(mode);
        let db = common::migrated_db().await;
        let mut admin = db.session().await;
        common::seed(&mut admin, "2024-01", "2024-03").await;
        let url = pool.url(&db.name);
        for args in [&[][..], &["watch"][..]] {
            let (url, args) = (url.clone(), args.to_vec());
            tokio::task::spawn_blocking(move || {
                let mut c = Console::start_with(&url, &args, &[], 30, 200);
                c.wait_for("● connected");
                c.wait_for(via);
                c.wait_for(push_off);
                c.wait_for("3"); // data arrived
                assert!(!c.contents().contains("SAFETY OFF"), "{}", c.contents());
                c.send("q");
                assert_eq!(c.wait_exit(), 0);
            })
            .await
            .unwrap();
        }
        drop(pool);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_stranded_on_a_pooled_backend_is_flagged_within_leaked_after_and_released() {
    use backfill_console::db::audit::Actor;
    use backfill_console::db::lock_key::YearMonth;
    use backfill_console::db::release::{self, Method, Outcome, Target};
    use backfill_console::db::snapshot;
    use backfill_console::model::{HoldTracker, LockProblem, assess};

    let pool = bouncer(PoolMode::Transaction);
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-03", "2024-03").await;
    // A consumer is working on 2024-03: processing, so only the stranding can flag its lock early.
    admin.client.batch_execute("UPDATE backfill_log SET status = 'processing', started_at = now()").await.unwrap();
    let pooled = common::settings_of(&pool.url(&db.name));
    // A scheduler takes the session lock through the transaction pooler and goes away:
    // the lock stays on the pooled server backend.
    let fleet = connect::connect(&pooled, &SessionOptions::default()).await.unwrap();
    fleet.client.batch_execute("SELECT pg_advisory_lock(202403::bigint)").await.unwrap();
    drop(fleet);
    // The console, through the same pooler: its reads land on pooled backends, that one included.
    let console = connect::connect(&pooled, &SessionOptions::default()).await.unwrap();
    let th = backfill_console::model::Thresholds {
        leaked_after: Duration::from_secs(1),
        poolers: console.pooler_addr.clone().into_iter().collect(),
        ..backfill_console::config::Config::builtin().unwrap().thresholds
    };
    let mut holds = HoldTracker::default();
    let read = || snapshot::read_incremental_with(&console.client, console.per_transaction.as_deref(), None, None);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let stranded = loop {
        let (snap, _) = read().await.unwrap();
        holds.observe(&snap);
        let a = assess(&snap, &holds, &th);
        let found = snap.locks.iter().zip(&a.locks).find(|(l, v)| {
            l.month() == YearMonth::new(2024, 3) && v.problems.iter().any(|p| matches!(p, LockProblem::Stranded { .. }))
        });
        if let Some((lock, _)) = found {
            break lock.clone();
        }
        assert!(std::time::Instant::now() < deadline, "never flagged stranded: {:?}", a.locks);
        // Other clients' transactions run on the pooled backends meanwhile.
        console.client.batch_execute("SELECT 1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // Released from a direct session, race-free as ever.
    let target = Target {
        pid: stranded.pid.unwrap(),
        backend_start: stranded.holder.as_ref().unwrap().backend_start.unwrap(),
        month: YearMonth::new(2024, 3).unwrap(),
    };
    let actor = Actor::named("tester", "test-host");
    let outcome = release::release(&admin.client, &actor, &target, Method::Terminate, "stranded").await.unwrap();
    assert_eq!(outcome, Outcome::Done { lock_released: true });
    assert_eq!(common::advisory_locks_in_db(&admin.client).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn release_through_the_pooler_never_claims_a_success_it_did_not_have() {
    let pool = bouncer(PoolMode::Transaction);
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-05", "2024-05").await;
    let pooled_url = pool.url(&db.name);
    let fleet = connect::connect(&common::settings_of(&pooled_url), &SessionOptions::default()).await.unwrap();
    fleet.client.batch_execute("SELECT pg_advisory_lock(202405::bigint)").await.unwrap();
    drop(fleet);
    let holder: i32 = admin
        .client
        .query_one(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 202405 AND granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let pid = holder.to_string();
    async fn held(c: &tokio_postgres::Client) -> i64 {
        let sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 202405 AND granted
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
        c.query_one(sql, &[]).await.unwrap().get(0)
    }
    // Through the pooler alone: the release statement may land on the holder itself (the
    // pooler hands out its most recently freed backend). Then it says so and exits 1.
    let (url, p) = (pooled_url.clone(), pid.clone());
    let out = tokio::task::spawn_blocking(move || run(&url, &["release", "--pid", &p, "--yes"])).await.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let still = held(&admin.client).await;
    eprintln!("through the pooler alone: {}", if still > 0 { "refused (own backend)" } else { "released" });
    assert_eq!(out.status.success(), still == 0, "exit status and the lock disagree: {text}");
    if still > 0 {
        assert!(text.contains("the holder is the server backend this statement ran on"), "{text}");
        assert!(text.contains("--direct-url"), "{text}");
        // With a direct URL the release runs there, and the lock goes.
        let direct = db.url.clone();
        let (url, p) = (pooled_url.clone(), pid.clone());
        let out =
            tokio::task::spawn_blocking(move || run(&url, &["--direct-url", &direct, "release", "--pid", &p, "--yes"]))
                .await
                .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(held(&admin.client).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_month_lock_on_the_reading_backend_itself_is_stranded_at_once() {
    use backfill_console::db::snapshot;
    use backfill_console::model::{HoldTracker, LockProblem, assess};
    // What a transaction pooler does (hands the console a backend with a lock left on it),
    // made deterministic: the reading session itself holds the month's session lock.
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-06", "2024-06").await;
    s.client.batch_execute("UPDATE backfill_log SET status = 'processing', started_at = now()").await.unwrap();
    s.client.batch_execute("SELECT pg_advisory_lock(202406::bigint)").await.unwrap();
    let snap = snapshot::read(&s.client).await.unwrap();
    assert_eq!(snap.reader_pid, Some(s.backend_pid));
    let a = assess(&snap, &HoldTracker::default(), &backfill_console::config::Config::builtin().unwrap().thresholds);
    let i = snap.locks.iter().position(|l| l.pid == Some(s.backend_pid) && l.objid == 202406).unwrap();
    assert!(matches!(a.locks[i].problems[..], [LockProblem::Stranded { .. }]), "{:?}", a.locks[i]);
}
