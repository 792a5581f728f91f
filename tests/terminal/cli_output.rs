//! What the headless commands write: never a panic on a closed pipe (the action is
//! done, audited, and the exit status says the report was lost), colour on stderr
//! only on a terminal and never under NO_COLOR, each error one clean line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::pty::Console;

const BIN: &str = env!("CARGO_BIN_EXE_backfill-console");

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_output_pipe_does_not_panic_and_the_claim_stays_done() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    let url = db.url.clone();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(["claim", "--batch", "2", "--years", "2024..2024"])
            .env("DATABASE_URL", &url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        (child.wait().unwrap().code(), stderr)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(4), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: the output could not be written (Broken pipe"), "{stderr}");
    assert!(stderr.contains("the command ran to its end"), "{stderr}");
    let c = &s.client;
    assert_eq!(common::count(c, "SELECT count(*) FROM backfill_log WHERE status = 'processing'").await, 2);
    assert_eq!(common::count(c, "SELECT count(*) FROM backfill_queue").await, 2);
    let audited = "SELECT count(*) FROM backfill_console_audit WHERE action = 'claim'";
    assert_eq!(common::count(c, audited).await, 1);
}

/// A password file that may not be used (group-readable): the lookup warns.
fn insecure_pgpass(dir: &std::path::Path) -> String {
    let path = dir.join("pgpass");
    std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path.to_string_lossy().to_string()
}

#[test]
fn warnings_on_a_piped_stderr_carry_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["locks", "--database-url", "postgresql://u@127.0.0.1:1/db?sslmode=disable"])
        .env("PGPASSFILE", insecure_pgpass(dir.path()))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARN"), "a warning was logged: {stderr}");
    assert!(!stderr.contains('\x1b'), "escape sequences on a pipe: {stderr:?}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
}

#[test]
fn warnings_on_a_terminal_are_coloured_unless_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let pgpass = insecure_pgpass(dir.path());
    let args = ["locks", "--database-url", "postgresql://u@127.0.0.1:1/db?sslmode=disable"];
    let mut coloured = Console::start_with("", &args, &[("PGPASSFILE", &pgpass)], 24, 200);
    coloured.wait_for("WARN");
    coloured.wait_exit();
    assert!(coloured.any_colour(), "a terminal gets colour: {}", coloured.contents());
    let mut plain = Console::start_with("", &args, &[("PGPASSFILE", &pgpass), ("NO_COLOR", "1")], 24, 200);
    plain.wait_for("WARN");
    plain.wait_exit();
    assert!(!plain.any_colour(), "NO_COLOR: {}", plain.contents());
}

#[test]
fn errors_are_one_line_naming_the_problem_once() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, err) = run(&["--config", "/nonexistent/config.toml", "locks"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: config file /nonexistent/config.toml: cannot read it: No such file or directory (os error 2)\n"
    );
    // A wrong flag value is a usage error (2), as the README says.
    let (code, err) = run(&["claim", "--batch", "-1", "--database-url", "postgresql://u@127.0.0.1:1/db"]);
    assert_eq!(code, Some(2));
    assert_eq!(err, "error: --batch: batch size -1 is outside 1..50\n");
}

/// A wrong flag value is a usage error: exit status 2 (as clap's own), one line naming the
/// flag, before anything is connected to; an error of the run itself stays 1.
#[test]
fn a_bad_flag_value_exits_2_and_names_the_flag() {
    let url = "postgresql://u@127.0.0.1:1/db?sslmode=disable";
    for (args, flag) in [
        (&["reset-stuck", "--older-than", "5x"][..], "--older-than"),
        (&["claim", "--batch", "0"], "--batch"),
        (&["claim", "--years", "2030-2020"], "years"),
        (&["claim", "--lock-timeout", "1h"], "--lock-timeout"),
        (&["audit", "--since", "3q"], "--since"),
        (&["audit", "--month", "2024-13"], "--month"),
        (&["dead", "list", "--limit", "0"], "--limit"),
        (&["dead", "redrive", "--all", "--rate", "fast"], "--rate"),
        (&["check", "--timeout", "0s"], "--timeout"),
    ] {
        let out = Command::new(BIN).args(args).args(["--database-url", url]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if args[0] == "check" {
            // check speaks the monitoring-plugin convention: UNKNOWN (3), on stdout.
            assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
            assert!(String::from_utf8_lossy(&out.stdout).contains(flag), "{args:?}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(flag), "{args:?}: {stderr}");
    }
    // Nothing wrong with the flags, the database unreachable: an error of the run, 1.
    let out = Command::new(BIN).args(["locks", "--database-url", url]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}
