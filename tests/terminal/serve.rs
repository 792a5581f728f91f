//! `serve` (issue 24, part 3): the Prometheus endpoint, checked by the real `promtool`
//! and scraped by a real Prometheus of the test's own on loopback, read back through
//! its HTTP API. No mock of either side.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve` on a port of its own choosing: the process and the address it printed.
fn serve(url: &str, args: &[&str]) -> (Killed, String) {
    serve_with(url, args, true)
}

/// [`serve`]; `drain: false` closes its stderr after the first line (a pipe into `head -1`).
fn serve_with(url: &str, args: &[&str], drain: bool) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["--database-url", url, "serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut line).unwrap();
    if drain {
        // The rest (its warnings) is read and dropped.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    }
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_else(|| panic!("{line}"));
    (Killed(child), addr.to_string())
}

/// A plain HTTP GET: (status line, body); `None` when nothing answers (yet).
fn try_get(addr: &str, path: &str, accept: Option<&str>) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Some((head.lines().next().unwrap_or_default().to_string(), body.to_string()))
}

fn get(addr: &str, path: &str, accept: Option<&str>) -> (String, String) {
    try_get(addr, path, accept).unwrap_or_else(|| panic!("nothing answers on {addr}"))
}

/// The value of the one sample of `body` that starts with `series`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_pass_promtool_and_one_read_serves_every_scrape() {
    // A server of its own: it counts the foreign advisory locks, other databases' too.
    let own = common::OwnServer::start().await;
    let db = own.migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    admin.client.execute("UPDATE backfill_log SET status = 'failed' WHERE month <= 6", &[]).await.unwrap();
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202403::bigint), pg_advisory_lock(7, 1)", &[]).await.unwrap();
    let name = db.name.clone();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let (_serve, addr) = serve(&url, &["--min-interval", "10m"]);
        let (status, body) = get(&addr, "/metrics", None);
        assert!(status.contains("200"), "{status}");
        let c = format!("{{context=\"{name}\"");
        assert_eq!(sample(&body, &format!("backfill_months{c},status=\"pending\"}}")), Some(6.0), "{body}");
        assert_eq!(sample(&body, &format!("backfill_months{c},status=\"failed\"}}")), Some(6.0), "{body}");
        // The month lock was just taken (leaked only after leaked_after); the two-int lock
        // is somebody else's.
        assert_eq!(
            sample(&body, &format!("backfill_month_locks{c},state=\"held\",stuck=\"none\"}}")),
            Some(1.0),
            "{body}"
        );
        assert_eq!(sample(&body, &format!("backfill_foreign_advisory_locks{c}}}")), Some(1.0), "{body}");
        assert_eq!(sample(&body, &format!("backfill_up{c}}}")), Some(1.0), "{body}");
        let verdict = format!("backfill_verdict{c},kind=\"failed_months\",level=\"WARNING\"}}");
        assert_eq!(sample(&body, &verdict), Some(1.0), "six failed months (warn > 5): {body}");
        // The real promtool accepts the page.
        let mut promtool = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool (Debian package prometheus; .ci/run installs it)");
        promtool.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        let checked = promtool.wait_with_output().unwrap();
        assert!(
            checked.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
        // OpenMetrics when the scraper asks for it.
        let (_, open) = get(&addr, "/metrics", Some("application/openmetrics-text; version=1.0.0"));
        assert!(open.trim_end().ends_with("# EOF"), "{open}");
        // Many scrapes, one read (min_interval 10m).
        for _ in 0..5 {
            get(&addr, "/metrics", None);
        }
        let (_, last) = get(&addr, "/metrics", None);
        assert_eq!(sample(&last, &format!("backfill_reads_total{c}}}")), Some(1.0), "{last}");
    })
    .await
    .unwrap();
    drop(holder);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_scrapes_it_and_reads_back_the_months() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2023-01", "2023-09").await;
    let url = db.url.clone();
    let name = db.name.clone();
    tokio::task::spawn_blocking(move || {
        let (_serve, addr) = serve(&url, &["--min-interval", "1s"]);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: backfill\n    static_configs:\n      - targets: ['{addr}']\n"
            ),
        )
        .unwrap();
        // A free port for Prometheus' own API.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let web = format!("127.0.0.1:{port}");
        let _prometheus = Killed(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
                .arg(format!("--web.listen-address={web}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("prometheus (Debian package prometheus; .ci/run installs it)"),
        );
        // Until it has scraped once (a condition, not a pause): at most two minutes.
        let query = format!("/api/v1/query?query=backfill_months%7Bstatus%3D%22pending%22%2Ccontext%3D%22{name}%22%7D");
        let started = Instant::now();
        let answer = loop {
            let answer = try_get(&web, &query, None).map(|(_, body)| body).unwrap_or_default();
            if answer.contains("\"result\":[{") {
                break answer;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "Prometheus never scraped serve: {answer}");
            std::thread::sleep(Duration::from_millis(200));
        };
        let doc: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let value = &doc["data"]["result"][0]["value"][1];
        assert_eq!(value, "9", "the nine pending months the database holds: {answer}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_database_is_up_0_at_once_and_a_busy_port_is_one_line() {
    let url = "postgresql://nobody@127.0.0.1:1/none?sslmode=disable";
    let (serve_proc, addr) = serve(url, &["--timeout", "3s"]);
    let (status, body) = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || get(&addr, "/metrics", None)
    })
    .await
    .unwrap();
    assert!(status.contains("200"), "{status}");
    assert_eq!(sample(&body, "backfill_up{context=\"none\"}"), Some(0.0), "{body}");
    // Its stderr gone (a pipe into `head -1`), serve goes on serving: a warning it cannot
    // write is not a reason to stop.
    let (_deaf, deaf_addr) = serve_with(url, &["--timeout", "3s", "--min-interval", "1s"], false);
    for _ in 0..2 {
        let addr = deaf_addr.clone();
        let (status, body) = tokio::task::spawn_blocking(move || get(&addr, "/metrics", None)).await.unwrap();
        assert!(status.contains("200") && body.contains("backfill_up"), "{status}: {body}");
    }
    // The same address again: refused in one line.
    let out = Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(["--database-url", url, "serve", "--listen", &addr])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on {addr}")) && stderr.trim().lines().count() == 1, "{stderr}");
    drop(serve_proc);
}
