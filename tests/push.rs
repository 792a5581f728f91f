//! Push instead of poll: with a 30 s refresh interval a change still reaches the
//! screen at once through LISTEN/NOTIFY — and, with `listen = false`, it does not.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod common;

use std::time::{Duration, Instant};

use common::pty::Console;

/// Starts a console (refresh interval `refresh_s`), changes a month right after its
/// first screen, and returns how long after the change the screen showed it (if within `wait`).
async fn change_to_screen(listen: bool, refresh_s: u64, wait: Duration) -> Option<Duration> {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("refresh = \"{refresh_s}s\"\nlisten = {listen}\n")).unwrap();
    let (url, cfg) = (db.url.clone(), config.to_string_lossy().to_string());
    let console = tokio::task::spawn_blocking(move || {
        let c = Console::start(&url, &["--config", &cfg]);
        c.wait_for("✗ fail 0");
        std::thread::sleep(Duration::from_millis(500)); // LISTEN is in place
        c
    })
    .await
    .unwrap();
    let changed = Instant::now();
    admin.client.batch_execute("UPDATE backfill_log SET status = 'failed' WHERE month = 2").await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut c = console;
        let deadline = Instant::now() + wait;
        let mut seen = None;
        while Instant::now() < deadline {
            if c.contents().contains("✗ fail 1") {
                seen = Some(changed.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        c.send("q");
        c.wait_exit();
        seen
    })
    .await
    .unwrap()
}

// How fast a pushed change shows is measured by `cargo bench --bench push_latency`
// (docs/performance.md); these tests prove which mechanism shows it, with margins
// no busy machine eats: the next poll is ~30 s (or ~20 s) after the change.

#[tokio::test(flavor = "multi_thread")]
async fn a_change_reaches_the_screen_long_before_the_next_poll() {
    let latency = change_to_screen(true, 30, Duration::from_secs(10)).await;
    let latency = latency.expect("the change did not show within 10 s: only the 30 s poll would have shown it");
    eprintln!("change to screen with LISTEN/NOTIFY: {latency:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_listen_the_same_change_waits_for_the_next_poll() {
    // The poll shows it (the first poll after the change, ~20 s later) — and not at once.
    let polled = change_to_screen(false, 20, Duration::from_secs(60)).await;
    let polled = polled.expect("the poll never showed the change");
    assert!(polled >= Duration::from_secs(3), "shown after {polled:?} although listen = false: it was pushed");
}

#[tokio::test]
async fn a_session_receives_the_change_notifications() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let mut listener = db.session().await;
    listener.client.batch_execute("LISTEN backfill_console").await.unwrap();
    admin.client.batch_execute("UPDATE backfill_log SET status = 'failed'").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), listener.notifications.recv()).await;
    assert_eq!(got.unwrap().as_deref(), Some("backfill_log"));
}
