//! The flight recorder through the real binary: an operator releases a lock in a console
//! that records; the recording, replayed, shows the screen before the release and after it,
//! refuses every action, and never holds a password.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod common;

use common::pty::Console;

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_release_replays_before_and_after() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-06").await;
    // A session holding 2024-03's lock, its last query carrying a secret.
    let holder = db.session().await;
    holder.client.batch_execute("SELECT pg_advisory_lock(202403) /* password=hunter2 */").await.unwrap();
    let holder_pid = holder.backend_pid.to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incident.rec");
    let path = file.to_string_lossy().to_string();
    let (url, pid, rec) = (db.url.clone(), holder_pid.clone(), path.clone());
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &["console", "--record", &rec]);
        c.wait_for(&format!("2024-03  {pid}"));
        c.send("3"); // the lock holders
        c.send("r");
        c.wait_for(&format!("Terminate pid {pid} (holds 2024-03)"));
        c.send("y");
        c.wait_for(&format!("pid {pid}: terminated"));
        c.send("\r");
        c.wait_gone(&format!("2024-03  {pid}"));
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
    let recorded = std::fs::read_to_string(&file).unwrap();
    let password =
        db.url.split("://").nth(1).unwrap().split('@').next().unwrap().split(':').nth(1).unwrap().to_string();
    assert!(!recorded.contains(&password), "the database password is in the recording");
    assert!(!recorded.contains("hunter2"), "a password in a holder's query is in the recording");
    assert!(recorded.contains("password=***"), "the holder's query is kept, its secret taken out");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    let audit_rows = "SELECT count(*) FROM backfill_console_audit";
    let audited = common::count(&admin.client, audit_rows).await;
    let released = "SELECT count(*) FROM backfill_console_audit WHERE action = 'release.terminate'";
    assert_eq!(common::count(&admin.client, released).await, 1);
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &["replay", &path]);
        c.wait_for("REPLAY");
        c.wait_for("│ PG1"); // the server version the console connected to, as recorded
        c.wait_for("next "); // the time line names the next action
        // To the screen as it was when the release was confirmed: the lock still held.
        c.send("n");
        c.wait_for("next");
        c.wait_for(&format!("2024-03  {holder_pid}"));
        c.wait_for("confirmed: Terminate");
        // And just after it: gone, the outcome on the time line.
        c.send("n");
        c.wait_gone(&format!("2024-03  {holder_pid}"));
        c.wait_for("Release done");
        // Back one step: held again. Actions are refused.
        c.send(",");
        c.wait_for(&format!("2024-03  {holder_pid}"));
        c.send("c");
        c.wait_for("claim refused: read-only mode");
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
    // The replay touched nothing: every month still pending, no audit row more.
    assert_eq!(common::count(&admin.client, "SELECT count(*) FROM backfill_log WHERE status <> 'pending'").await, 0);
    assert_eq!(common::count(&admin.client, audit_rows).await, audited);
}

#[test]
fn a_file_that_is_not_a_recording_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, want) in [
        ("empty", "", "not a usable recording: it does not start with a recording header"),
        ("text", "hello\nworld\n", "line 1 is not a recording line"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_backfill-console"))
            .args(["replay", &path.to_string_lossy()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
    }
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["replay", "/nonexistent/recording"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open it"));
}
