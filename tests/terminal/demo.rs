//! `demo`: the fleet really moves, chaos really happens, and nothing is left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backfill_console::db::connect::{self, SessionOptions};

use crate::common;
use common::{private_tmpdir, server_dirs_in};

fn postmasters_in(dirs: &BTreeSet<PathBuf>) -> usize {
    let out = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| dirs.iter().any(|d| l.contains(&*d.to_string_lossy()))).count()
}

/// `demo --no-tui ARGS` with its own TMPDIR (its server directory is the only one there).
fn headless_demo(args: &[&str]) -> (tempfile::TempDir, std::process::Child) {
    let tmp = private_tmpdir();
    let child = Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["demo", "--no-tui"])
        .args(args)
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (tmp, child)
}

#[derive(Default, Debug)]
struct Seen {
    entered: BTreeSet<String>,
    /// A month was pending in some read (the fleet may drain them all before the end).
    pending: bool,
    max_msg_id: i64,
    deliveries_finished: bool,
    stuck_lock: bool,
    stuck_month: bool,
}

impl Seen {
    /// Everything the test looks for has shown.
    fn all(&self) -> bool {
        ["processing", "completed", "retry", "failed"].iter().all(|s| self.entered.contains(*s))
            && self.pending
            && self.max_msg_id > 20
            && self.deliveries_finished
            && self.stuck_lock
            && self.stuck_month
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_headless_moves_every_panel_and_cleans_up() {
    let (tmp, mut child) = headless_demo(&["--duration", "60s", "--speed", "10", "--seed", "7"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    assert!(url.starts_with("postgresql://postgres@127.0.0.1:"), "no password in the printed URL: {url}");
    let pgpass_line = lines.next().unwrap().unwrap();
    let pgpass = PathBuf::from(pgpass_line.rsplit(": ").next().unwrap());
    // The demo's scaled thresholds, for a second console or `watch` on it.
    let config_line = lines.next().unwrap().unwrap();
    let config = PathBuf::from(config_line.rsplit(": ").next().unwrap());
    let loaded = backfill_console::config::Config::load(Some(&config)).unwrap();
    assert_eq!(loaded.thresholds.leaked_after, Duration::from_secs(1), "10 s at --speed 10");
    assert!(lines.next().unwrap().unwrap().contains(&format!("--config '{}'", config.display())));
    let new_dirs: BTreeSet<PathBuf> = server_dirs_in(tmp.path());
    assert_eq!(new_dirs.len(), 1, "one throwaway server directory");
    assert_eq!(
        pgpass.parent(),
        new_dirs.first().map(PathBuf::as_path),
        "the password file is in the server's directory"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&pgpass).unwrap().permissions().mode() & 0o777, 0o600, "{pgpass_line}");
    assert_eq!(std::fs::metadata(new_dirs.first().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    // Without the password file the printed URL is refused; with it, it connects.
    let refused = connect::connect(&connect::resolve(Some(&url), &|_| None).unwrap(), &SessionOptions::default()).await;
    assert!(refused.is_err(), "the demo server let a password-less login in");
    let pgpass_text = pgpass.to_string_lossy().to_string();
    let env = move |key: &str| (key == "PGPASSFILE").then(|| pgpass_text.clone());
    let settings = connect::resolve(Some(&url), &env).unwrap();
    let db = connect::connect(&settings, &SessionOptions::default()).await.unwrap();
    let mut last: BTreeMap<(i32, i32), String> = BTreeMap::new();
    let mut seen = Seen::default();
    let mut first_count = None;
    let deadline = Instant::now() + Duration::from_secs(45);
    while Instant::now() < deadline {
        let Ok(rows) = db.client.query("SELECT year, month, status::text FROM backfill_log", &[]).await else {
            break;
        };
        for r in rows {
            let key = (r.get::<_, i32>(0), r.get::<_, i32>(1));
            let status: String = r.get(2);
            seen.pending |= status == "pending";
            if last.get(&key).is_some_and(|old| *old != status) {
                seen.entered.insert(status.clone());
            }
            last.insert(key, status);
        }
        let q = db
            .client
            .query_one(
                "SELECT coalesce((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM backfill_queue_msg_id_seq), 0),
                        (SELECT count(*) FROM backfill_queue)",
                &[],
            )
            .await
            .unwrap();
        let (max_id, count): (i64, i64) = (q.get(0), q.get(1));
        seen.max_msg_id = seen.max_msg_id.max(max_id);
        let first = *first_count.get_or_insert(max_id);
        // Messages were consumed: fewer in the queue than were ever enqueued since the start.
        seen.deliveries_finished |= max_id - first > 0 && count < max_id;
        // A leaked lock: a pooled scheduler session, idle, holding a month that is not processing.
        seen.stuck_lock |= db
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                   JOIN backfill_log b ON l.objid::bigint = b.year * 100 + b.month
                  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND a.state = 'idle'
                    AND a.state_change < now() - interval '1 second' AND b.status <> 'processing'
                    AND a.application_name LIKE 'scheduler-%-pool')",
                &[],
            )
            .await
            .unwrap()
            .get::<_, bool>(0);
        // A stuck month: processing, nobody holds its lock, its message is in flight (its consumer died).
        seen.stuck_month |= db
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM backfill_log b JOIN backfill_queue q
                   ON (q.message->>'year')::int = b.year AND (q.message->>'month')::int = b.month
                  WHERE b.status = 'processing' AND b.started_at < now() - interval '2 seconds'
                    AND q.read_count >= 1 AND q.visible_at > now()
                    AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1
                                      AND l.objid::bigint = b.year * 100 + b.month))",
                &[],
            )
            .await
            .unwrap()
            .get::<_, bool>(0);
        if seen.all() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(db);
    for status in ["processing", "completed", "retry", "failed"] {
        assert!(seen.entered.contains(status), "no month entered {status}: {seen:?}");
    }
    assert!(seen.pending, "pending months showed: {seen:?}");
    assert!(seen.max_msg_id > 20 && seen.deliveries_finished, "the queue saw traffic: {seen:?}");
    assert!(seen.stuck_lock, "a stuck (leaked) lock appeared: {seen:?}");
    assert!(seen.stuck_month, "a stuck month appeared: {seen:?}");

    // Everything showed: stop it as an operator would (Ctrl-C); it says so and cleans up.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("demo stopped (Ctrl-C); its server, password file and thresholds file are removed")),
        "{rest:?}"
    );
    // Give the guardian its moment, then: no server process, no directory.
    let deadline = Instant::now() + Duration::from_secs(10);
    while postmasters_in(&new_dirs) > 0 || new_dirs.iter().any(|d| d.exists()) {
        assert!(Instant::now() < deadline, "the demo left its server or directory behind");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn demo_refuses_bad_options_in_one_line() {
    for (args, want) in [
        (&["demo", "--no-tui", "--speed", "0"][..], "--speed"),
        (&["demo", "--no-tui", "--chaos", "2"], "--chaos"),
        (&["demo", "--no-tui", "--duration", "soon"], "--duration"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_backfill-console")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: a wrong flag value is a usage error");
        assert!(stderr.contains(want) && stderr.trim().lines().count() == 1, "{args:?}: {stderr}");
    }
}

#[test]
fn a_bad_backfill_pg_bindir_is_an_error_naming_it() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["demo", "--no-tui", "--duration", "5s"])
        .env("BACKFILL_PG_BINDIR", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: BACKFILL_PG_BINDIR={} holds no PostgreSQL server", empty.path().display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_stops_with_a_clear_message_when_its_server_is_killed() {
    let (tmp, mut child) = headless_demo(&["--duration", "120s", "--speed", "10"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _url = lines.next().unwrap().unwrap();
    let dir = server_dirs_in(tmp.path()).into_iter().next().expect("the demo's server directory");
    let pidfile = std::fs::read_to_string(dir.join("data").join("postmaster.pid")).unwrap();
    let pid: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    let mut stderr = String::new();
    let (status, stderr) = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        (child.wait().unwrap(), stderr)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: the demo's PostgreSQL server exited (signal: 9"), "{stderr}");
    assert!(last.ends_with("the demo stops"), "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while dir.exists() {
        assert!(Instant::now() < deadline, "the demo left {} behind", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
