//! Hard deadlines: a server that accepts and never answers, and a link that goes
//! silent mid-command, end the command with a clear one-line error — never a hang.
//! (The bounds waited here are generous: they separate "ended by its deadline"
//! from "hangs for ever", not fast from slow.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use backfill_console::db::claim::{self, ClaimParams};
use backfill_console::db::connect::{self, SessionOptions};

/// A TCP port that accepts connections and never says a word.
fn mute_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// Runs the binary; kills it (and fails) if it is still running after `bound`.
fn run_bounded(args: &[&str], vars: &[(&str, &str)], bound: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backfill-console"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).env_remove("PGCONNECT_TIMEOUT");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(bound) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("`backfill-console {}` still running after {bound:?}: it hangs", args.join(" "));
        }
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn check_against_a_server_that_never_answers_ends_unknown_by_connect_timeout() {
    let (_listener, port) = mute_server();
    let url = format!("postgresql://u:p@127.0.0.1:{port}/db?sslmode=disable&connect_timeout=2");
    let out = run_bounded(&["check", "--database-url", &url], &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let line = stdout(&out);
    assert!(line.starts_with("BACKFILL UNKNOWN - cannot connect to u@127.0.0.1:"), "{line}");
    assert!(line.contains("connect timeout (2 s)"), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
}

#[test]
fn pgconnect_timeout_is_honoured_too() {
    let (_listener, port) = mute_server();
    let url = format!("postgresql://u:p@127.0.0.1:{port}/db?sslmode=disable");
    let out = run_bounded(&["locks", "--database-url", &url], &[("PGCONNECT_TIMEOUT", "2")], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.starts_with("error: cannot connect to") && err.contains("connect timeout (2 s)"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn check_timeout_answers_unknown() {
    let (_listener, port) = mute_server();
    // The default connect timeout (10 s) is longer than --timeout 2s: the check's own deadline ends it.
    let url = format!("postgresql://u:p@127.0.0.1:{port}/db?sslmode=disable");
    let out = run_bounded(&["check", "--timeout", "2s", "--database-url", &url], &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stdout(&out).starts_with("BACKFILL UNKNOWN - no answer within --timeout 2s"), "{}", stdout(&out));
}

#[test]
fn durations_are_range_checked_with_a_reason() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["claim", "--lock-timeout", "99999h"],
            "--lock-timeout 99999h is longer than 10m00s: a claim keeps its transaction",
        ),
        (&["claim", "--lock-timeout", "11m"], "--lock-timeout 11m is longer than 10m00s"),
        (&["reset-stuck", "--older-than", "999999999999h"], "--older-than 999999999999h is longer than"),
        (&["check", "--timeout", "0"], "--timeout 0 is shorter than 1s"),
    ];
    for (args, expected) in cases {
        // Refused before any connection is tried (the URL leads nowhere).
        let mut all = args.to_vec();
        all.extend(["--database-url", "postgresql://u:p@127.0.0.1:1/db?sslmode=disable"]);
        let out = run_bounded(&all, &[], Duration::from_secs(60));
        let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(expected), "{args:?}: {text}");
        assert!(!text.contains("cannot connect"), "{args:?} was checked only after connecting: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_on_a_link_gone_silent_ends_with_an_error_not_a_hang() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let upstream = db.settings();
    let proxy = common::proxy::Proxy::start(upstream.ports[0]).await;
    let mut settings = upstream.clone();
    settings.hosts = vec!["127.0.0.1".into()];
    settings.ports = vec![proxy.port];
    let options = SessionOptions { statement_timeout: Duration::from_secs(2), ..SessionOptions::default() };
    let mut session = connect::connect(&settings, &options).await.unwrap();
    proxy.go_silent();
    let result =
        tokio::time::timeout(Duration::from_secs(60), claim::claim(&mut session, &ClaimParams::default(), None))
            .await
            .expect("the claim hangs on a silent link");
    let err = result.expect_err("a claim on a dead link cannot succeed").to_string();
    assert!(err.contains("the connection to the server was lost"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    proxy.resume();
    // Nothing was claimed: the server rolled the transaction back when the session went.
    let processing = common::count(&admin.client, "SELECT count(*) FROM backfill_log WHERE status = 'processing'");
    assert_eq!(processing.await, 0);
}
