//! The flight recorder through the real binary: an operator releases a lock in a console
//! that records; the recording, replayed, shows the screen before the release and after it,
//! refuses every action, and never holds a password.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

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
        // A frame read after the outcome is in the file before we quit (the console refreshes
        // at once after an action; the recorder writes each entry as it comes).
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&rec).unwrap();
            // After the outcome entry's line (its result has "outcome" fields of its own).
            let after = text.lines().skip_while(|l| !l.contains("\"outcome\":{\"title\"")).skip(1).collect::<String>();
            if after.contains("\"delta\"") || after.contains("\"snapshot\"") {
                break;
            }
            assert!(std::time::Instant::now() < until, "no frame recorded after the outcome:\n{text}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
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
    // No other session's statement is recorded unless asked for (--record-queries).
    assert!(!recorded.contains("pg_advisory_lock(202403)"), "a holder's query is in the recording");
    assert!(recorded.contains("query text not recorded"), "the holder's query says why it is missing");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    // The action is recorded as data too: the request the operator confirmed and what came
    // of it, not only the dialog's words.
    let entries: Vec<serde_json::Value> = recorded.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let requested = entries.iter().find_map(|e| e.get("requested")).expect("a requested entry");
    let job = &requested["job"]["release"]["holders"][0];
    assert_eq!(job["target"]["pid"].to_string(), holder_pid, "{requested}");
    assert_eq!(job["target"]["month"], serde_json::json!({ "year": 2024, "month": 3 }), "{requested}");
    let outcome = entries.iter().find_map(|e| e.get("outcome")).expect("an outcome entry");
    let released = &outcome["result"]["release"]["outcomes"][0];
    assert_eq!(
        (released["target"]["pid"].to_string(), &released["outcome"]),
        (holder_pid.clone(), &serde_json::json!("done")),
        "{outcome}"
    );

    let audit_rows = "SELECT count(*) FROM backfill_console_audit";
    let audited = common::count(&admin.client, audit_rows).await;
    let released = "SELECT count(*) FROM backfill_console_audit WHERE action = 'release.terminate'";
    assert_eq!(common::count(&admin.client, released).await, 1);
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &["replay", &path]);
        c.wait_for("REPLAY");
        c.wait_for("│ PG1"); // the server version the console connected to, as recorded
        // The first frame was read before the release: the lock held, the release ahead.
        c.wait_for(&format!("2024-03  {holder_pid}"));
        c.wait_for("next ");
        c.wait_for("confirmed: Terminate");
        // `n` goes to the screen when the next recorded action happened, pressed again to the
        // frame after it; how many frames the console read meanwhile varies, so press until
        // the outcome is behind (a handful of presses at most).
        press_until(&mut c, "n", "last", "Release done", 6);
        c.wait_gone(&format!("2024-03  {holder_pid}"));
        // Back, step by step, to a frame where the lock is still held.
        press_until(&mut c, ",", "2024-03", &holder_pid, 6);
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

/// Sends `key` until a line containing `marker` also contains `want` (at most `times`).
fn press_until(c: &mut Console, key: &str, marker: &str, want: &str, times: usize) {
    for _ in 0..times {
        if c.contents().lines().any(|l| l.contains(marker) && l.contains(want)) {
            return;
        }
        let before = c.contents();
        c.send(key);
        // The frame changes the time line (its frame number): wait for the new screen.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while c.contents() == before && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    assert!(
        c.contents().lines().any(|l| l.contains(marker) && l.contains(want)),
        "no line with {marker} and {want} after {times} presses of {key}:\n{}",
        c.contents()
    );
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
