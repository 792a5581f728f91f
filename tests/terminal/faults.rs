//! Faults under a running console (in a pseudo-terminal) and under the claim
//! routine: a restarting server, a silent network, a terminated backend, a
//! server that dies mid-claim.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::{Duration, Instant};

use backfill_console::db::claim::{self, ClaimParams, Step, YearRange};
use backfill_console::db::connect::{self, Session, SessionOptions};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{migrate, seed};
use backfill_console::pgserver::{Halt, TempServer};
use common::pty::{APP, Console};

/// A server of this test's own (it will be stopped and started), migrated and seeded.
async fn own_server() -> (TempServer, String) {
    let server = tokio::task::spawn_blocking(TempServer::start).await.unwrap().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let mut s = connect_to(&url).await;
    migrate::migrate(&mut s.client).await.unwrap();
    let (from, to) = (YearMonth::new(2024, 1).unwrap(), YearMonth::new(2024, 6).unwrap());
    seed::seed(&mut s.client, &common::actor(), from, to).await.unwrap();
    (server, url)
}

async fn connect_to(url: &str) -> Session {
    connect::connect(&connect::resolve(Some(url), &|_| None).unwrap(), &SessionOptions::default()).await.unwrap()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_restart_shows_stale_then_recovers_without_a_crash() {
    let (mut server, url) = own_server().await;
    let console = blocking(move || {
        let c = Console::start(&url, &[]);
        c.wait_for("● connected");
        c.wait_for("Months 6/6");
        c
    })
    .await;
    let halted = Instant::now();
    server = blocking(move || {
        server.halt(Halt::Fast);
        server
    })
    .await;
    // Stale within two refresh intervals (1 s each), the data still on screen.
    let console = blocking(move || {
        console.wait_for_within("STALE", Duration::from_secs(3));
        assert!(console.contents().contains("Months 6/6"), "the last data stays on screen");
        console
    })
    .await;
    assert!(halted.elapsed() < Duration::from_secs(4));
    tokio::time::sleep(Duration::from_secs(2)).await;
    blocking(move || {
        server.resume().unwrap();
        let mut console = console;
        // Recovered within the backoff cap (15 s) after the server is back.
        console.wait_for_within("● connected", Duration::from_secs(17));
        console.wait_gone("STALE");
        console.send("q");
        assert_eq!(console.wait_exit(), 0, "no crash");
        console.assert_restored();
        drop(server);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_network_is_detected_and_recovered() {
    let (server, _) = own_server().await;
    let proxy = common::proxy::Proxy::start(server.port()).await;
    let url = format!("postgresql://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable", server.password(), proxy.port);
    let console = blocking(move || {
        let c = Console::start(&url, &["watch"]);
        c.wait_for("● connected");
        c.wait_for("ALL CLEAR");
        c
    })
    .await;
    proxy.go_silent();
    let silent_at = Instant::now();
    let console = blocking(move || {
        console.wait_for_within("STALE", Duration::from_secs(10));
        console
    })
    .await;
    let detected = silent_at.elapsed();
    assert!(detected <= Duration::from_secs(10), "detected after {detected:?}");
    proxy.resume();
    blocking(move || {
        let mut console = console;
        console.wait_for_within("● connected", Duration::from_secs(25));
        console.wait_gone("STALE");
        console.send("q");
        assert_eq!(console.wait_exit(), 0);
    })
    .await;
    drop(server);
}

async fn console_pids(c: &tokio_postgres::Client, db: &str) -> Vec<i32> {
    c.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2", &[&db, &APP])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, i32>(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consoles_own_backend_terminated_by_someone_else_reconnects() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let url = db.url.clone();
    let console = blocking(move || {
        let c = Console::start(&url, &[]);
        c.wait_for("Months 3/3");
        c
    })
    .await;
    let before = console_pids(&admin.client, &db.name).await;
    assert_eq!(before.len(), 1, "one reading session");
    admin.client.execute("SELECT pg_terminate_backend($1)", &[&before[0]]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = console_pids(&admin.client, &db.name).await;
        if now.len() == 1 && now[0] != before[0] {
            break;
        }
        assert!(Instant::now() < deadline, "no new session after the old one was terminated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    blocking(move || {
        let mut console = console;
        console.wait_for("● connected");
        console.send("q");
        assert_eq!(console.wait_exit(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_dying_mid_claim_leaves_no_half_state() {
    let (mut server, url) = own_server().await;
    let mut claimer = connect_to(&url).await;
    let (gate, mut ctl) = common::gate::gate();
    let params = ClaimParams { years: YearRange { from: 2024, to: 2024 }, ..ClaimParams::default() };
    let task =
        tokio::spawn(async move { claim::claim_observed(&mut claimer, &params, Some(&common::actor()), &gate).await });
    ctl.expect(Step::Walked).await;
    ctl.go();
    // One lock pass takes all six months; the steps then come month by month.
    for month in (1..=6).rev() {
        ctl.expect(Step::Locked(YearMonth::new(2024, month).unwrap())).await;
        ctl.go();
    }
    ctl.expect(Step::Updated(YearMonth::new(2024, 6).unwrap())).await;
    // The month is updated in the open transaction: now the server dies.
    server = blocking(move || {
        server.halt(Halt::Immediate);
        server
    })
    .await;
    ctl.release_all();
    let err = task.await.unwrap().unwrap_err();
    assert!(err.is_connection_loss(), "the caller can tell the outcome is unknown: {err}");
    server = blocking(move || {
        server.resume().unwrap();
        server
    })
    .await;
    let s = connect_to(&url).await;
    let processing = common::count(&s.client, "SELECT count(*) FROM backfill_log WHERE status = 'processing'").await;
    assert_eq!(processing, 0, "the uncommitted claim is gone with the server");
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue").await, 0);
    assert_eq!(common::advisory_locks_in_db(&s.client).await, 0);
    drop(s);
    blocking(move || drop(server)).await;
}
