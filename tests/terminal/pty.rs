//! The real binary in a pseudo-terminal, read back through a terminal emulator
//! (vt100): what an operator sees, and what the terminal is left in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::{Duration, Instant};

use common::pty::{APP, Console};

async fn console_sessions(admin: &tokio_postgres::Client, db: &str) -> i64 {
    admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2", &[&db, &APP])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_opens_help_claims_one_month_through_the_dialog_and_quits() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let url = db.url.clone();
    let mut console = tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &[]);
        c.wait_for("Months 12/12");
        c.send("?");
        c.wait_for("In dialogs: Enter/y confirm");
        c.send("\x1b");
        // A key right after Esc would read as Alt-key: wait for the overlay to close.
        c.wait_gone("In dialogs: Enter/y confirm");
        c.send("c");
        c.wait_for("Run the claim routine");
        // Batch size down from 10 to 1: nine times ←.
        for _ in 0..9 {
            c.send("\x1b[D");
        }
        c.wait_for("DRY RUN first: the 1 pending");
        // A dry run first: its plan in the same dialog, then Enter claims.
        c.send("\r");
        c.wait_for("A dry run of the routine (nothing changed) found:");
        c.wait_for("Claim up to 1 pending");
        c.send("\r");
        c.wait_for("claimed 1, skipped 0 locked, 0 raced");
        c
    })
    .await
    .unwrap();
    let processing =
        common::count(&admin.client, "SELECT count(*) FROM backfill_log WHERE status = 'processing'").await;
    assert_eq!(processing, 1);
    assert_eq!(common::status_of(&admin.client, 2024, 12).await, "processing");
    assert_eq!(common::count(&admin.client, "SELECT count(*) FROM backfill_queue").await, 1);
    let audited =
        common::count(&admin.client, "SELECT count(*) FROM backfill_console_audit WHERE action = 'claim'").await;
    assert_eq!(audited, 1);
    let code = tokio::task::spawn_blocking(move || {
        console.send("\r");
        console.send("q");
        let code = console.wait_exit();
        console.assert_restored();
        code
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
}

async fn signal_ends_the_console_cleanly(signal: nix::sys::signal::Signal, want_code: u32) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let url = db.url.clone();
    let console = tokio::task::spawn_blocking(move || {
        let c = Console::start(&url, &["watch"]);
        c.wait_for("ALL CLEAR");
        c
    })
    .await
    .unwrap();
    assert!(console_sessions(&admin.client, &db.name).await >= 1, "the console is connected");
    let pid = console.child.process_id().unwrap() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
    let mut console = console;
    let code = tokio::task::spawn_blocking(move || {
        let code = console.wait_exit();
        console.assert_restored();
        code
    })
    .await
    .unwrap();
    assert_eq!(code, want_code, "128 + the signal number");
    let deadline = Instant::now() + Duration::from_secs(5);
    while console_sessions(&admin.client, &db.name).await > 0 {
        assert!(Instant::now() < deadline, "the console's server session outlived it");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_restores_the_terminal_and_ends_the_server_session() {
    signal_ends_the_console_cleanly(nix::sys::signal::Signal::SIGHUP, 129).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_restores_the_terminal_and_ends_the_server_session() {
    signal_ends_the_console_cleanly(nix::sys::signal::Signal::SIGTERM, 143).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_shows_a_leaked_lock_that_the_operator_releases_through_the_dialog() {
    // The demo's TMPDIR is the test's own: its server directory is the only one there.
    let tmp = common::private_tmpdir();
    let tmp_path = tmp.path().to_string_lossy().to_string();
    let (code, mine) = tokio::task::spawn_blocking(move || {
        let args = ["demo", "--speed", "5", "--chaos", "1", "--seed", "3"];
        let mut c = Console::start_with("", &args, &[("TMPDIR", &tmp_path)], 30, 100);
        c.wait_for("Lock holders");
        let mine: Vec<_> = common::server_dirs_in(std::path::Path::new(&tmp_path)).into_iter().collect();
        c.send("3"); // the lock panel; stuck locks sort first
        // The demo's fleet moves on: a leaked holder can let go or end between the dialog
        // and the go-ahead. The release then refuses, rightly (the check at release time),
        // and the operator tries the next leaked lock.
        let mut released = false;
        for _ in 0..5 {
            c.wait_for("LEAKED: month");
            c.send("r");
            c.wait_for("Terminate pid");
            c.wait_for("pg_terminate_backend(");
            c.send("\r");
            let outcome = c.wait_for_any(&["terminated — lock on", "not signalled — that session no longer holds"]);
            c.send("\r");
            c.wait_gone("Enter close"); // the result dialog is closed
            if outcome == 0 {
                released = true;
                break;
            }
        }
        assert!(released, "no leaked lock was released in five tries:\n{}", c.contents());
        c.send("q");
        let code = c.wait_exit();
        c.assert_restored();
        (code, mine)
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(mine.len(), 1, "the demo started one throwaway server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while mine[0].exists() {
        assert!(Instant::now() < deadline, "the demo left {} behind", mine[0].display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_log_is_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let db = common::migrated_db().await;
    let state = tempfile::tempdir().unwrap();
    let state_path = state.path().to_string_lossy().to_string();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &["watch"], &[("XDG_STATE_HOME", &state_path)], 30, 100);
        c.wait_for("● connected");
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
    let dir = state.path().join("backfill-console");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the log folder");
    assert_eq!(mode(&dir.join("console.log")), 0o600, "the log file");
}

/// Issue 23, item 7, through the real binary: on a POSIX locale (`charset = "auto"`) the
/// console draws in ASCII, and `--ascii` does so whatever the locale.
#[tokio::test(flavor = "multi_thread")]
async fn a_posix_locale_gets_an_ascii_console() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        for (args, vars) in [(&[][..], &[("LANG", "C")][..]), (&["--ascii"][..], &[("LANG", "C.UTF-8")][..])] {
            let mut c = Console::start_with(&url, args, vars, 24, 80);
            c.wait_for("+ Months 3/3");
            let screen = c.contents();
            assert!(screen.is_ascii(), "{args:?} {vars:?}:\n{screen}");
            c.send("q");
            assert_eq!(c.wait_exit(), 0);
        }
    })
    .await
    .unwrap();
}
