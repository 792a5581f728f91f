//! Push instead of poll: with a 30 s refresh interval a change still reaches the
//! screen at once through LISTEN/NOTIFY — and, with `listen = false`, it does not.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::{Duration, Instant};

use common::pty::Console;

/// Starts a console (refresh interval `refresh_s`, LISTEN on or off) on three seeded
/// months and changes one right after its first screen; `watch` then watches the screen
/// and says what it saw. Returns that and the console (still running).
async fn change_then<T: Send + 'static>(
    listen: bool,
    refresh_s: u64,
    watch: impl FnOnce(&mut Console, Instant) -> T + Send + 'static,
) -> T {
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
        let seen = watch(&mut c, changed);
        c.send("q");
        c.wait_exit();
        seen
    })
    .await
    .unwrap()
}

/// How long after `changed` the screen showed the change, if it did by `deadline`.
fn shown_by(c: &mut Console, changed: Instant, deadline: Instant) -> Option<Duration> {
    while Instant::now() < deadline {
        if c.contents().contains("✗ fail 1") {
            return Some(changed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

// How fast a pushed change shows is measured by `cargo bench --bench push_latency`
// (docs/performance.md); these tests prove which mechanism shows it, with margins
// no busy machine eats: the next poll is ~30 s after the change.

#[tokio::test(flavor = "multi_thread")]
async fn a_change_reaches_the_screen_long_before_the_next_poll() {
    let latency = change_then(true, 30, |c, changed| shown_by(c, changed, changed + Duration::from_secs(10))).await;
    let latency = latency.expect("the change did not show within 10 s: only the 30 s poll would have shown it");
    eprintln!("change to screen with LISTEN/NOTIFY: {latency:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_listen_the_same_change_waits_for_a_read() {
    // Not pushed: 4 s after the change the screen still shows the old counts (the next
    // poll is ~30 s away); a read asked for by hand (Ctrl-R) then shows it — the change
    // was there to be read all along.
    let (early, read) = change_then(false, 30, |c, changed| {
        let early = shown_by(c, changed, changed + Duration::from_secs(4));
        c.send("\x12");
        (early, shown_by(c, changed, Instant::now() + Duration::from_secs(20)))
    })
    .await;
    assert_eq!(early, None, "shown although listen = false and no poll was due: it was pushed");
    assert!(read.is_some(), "a read asked for by hand (Ctrl-R) never showed the change");
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
