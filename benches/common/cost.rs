//! The server_cost bench's parts: a role per client, what the server spent for a role
//! (`pg_stat_statements` and the CPU time of its server processes), the clients in
//! pseudo-terminals, a light fleet, and 20 consoles at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backfill_console::pgserver::TempServer;
use portable_pty::CommandBuilder;

use super::pty::Console;
use super::scale::session;

/// One login role per client, so the server's statistics tell them apart.
pub const ROLES: [&str; 6] =
    ["cost_watch", "cost_console", "cost_pg_activity", "cost_consoles", "cost_serve", "cost_serve_before"];

/// The server's own time for one role, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// `pg_stat_statements`: execution + planning, milliseconds.
    statements_ms: f64,
    calls: i64,
    /// CPU time of each of the role's server processes (`/proc/PID/schedstat`), nanoseconds.
    cpu_ns: HashMap<i32, u64>,
}

impl Counters {
    pub fn minus(&self, before: &Counters) -> Spent {
        let cpu_ns =
            self.cpu_ns.iter().map(|(pid, ns)| ns - before.cpu_ns.get(pid).copied().unwrap_or(0).min(*ns)).sum();
        Spent { statements_ms: self.statements_ms - before.statements_ms, calls: self.calls - before.calls, cpu_ns }
    }
}

/// What one window cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    pub statements_ms: f64,
    pub calls: i64,
    pub cpu_ns: u64,
}

impl Spent {
    pub fn per_second(&self, window: Duration) -> f64 {
        self.statements_ms / window.as_secs_f64()
    }

    pub fn cpu_per_second(&self, window: Duration) -> f64 {
        self.cpu_ns as f64 / 1e6 / window.as_secs_f64()
    }
}

/// A client's windows added up.
pub struct Usage {
    pub role: &'static str,
    pub spent: Spent,
    pub measured: Duration,
}

impl Usage {
    pub fn new(role: &'static str) -> Self {
        Self { role, spent: Spent::default(), measured: Duration::ZERO }
    }

    pub fn add(&mut self, before: &Counters, after: &Counters, window: Duration) {
        let s = after.minus(before);
        self.spent.statements_ms += s.statements_ms;
        self.spent.calls += s.calls;
        self.spent.cpu_ns += s.cpu_ns;
        self.measured += window;
    }
}

/// The bench's own superuser session, reading the statistics (its own reads count for no client).
pub struct Meter {
    admin: backfill_console::db::connect::Session,
}

impl Meter {
    pub async fn new(server: &TempServer, url: &str) -> Self {
        let admin = session(url).await;
        admin.client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await.unwrap();
        for role in ROLES {
            // Superusers all: pg_activity sees everything, as an operator's would.
            let sql = format!("CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{}'", server.password());
            admin.client.batch_execute(&sql).await.unwrap();
        }
        admin.client.batch_execute("SELECT pg_stat_statements_reset()").await.unwrap();
        Self { admin }
    }

    pub async fn read(&self, role: &str) -> Counters {
        let row = self
            .admin
            .client
            .query_one(
                "SELECT coalesce(sum(total_exec_time + total_plan_time), 0)::float8, coalesce(sum(calls), 0)::int8
                 FROM pg_stat_statements WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = $1)",
                &[&role],
            )
            .await
            .unwrap();
        let pids =
            self.admin.client.query("SELECT pid FROM pg_stat_activity WHERE usename = $1", &[&role]).await.unwrap();
        let cpu_ns = pids
            .iter()
            .filter_map(|r| {
                let pid: i32 = r.get(0);
                let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
                Some((pid, text.split_whitespace().next()?.parse().ok()?))
            })
            .collect();
        Counters { statements_ms: row.get(0), calls: row.get(1), cpu_ns }
    }

    /// Each role's five costliest statements over the whole run (start-up reads included).
    /// Forgets the statements' totals (each scene's top statements are its own).
    pub async fn forget(&self) {
        self.admin.client.batch_execute("SELECT pg_stat_statements_reset()").await.unwrap();
    }

    pub async fn top_statements(&self, roles: &[&str]) -> Vec<(String, i64, f64, String)> {
        let rows = self
            .admin
            .client
            .query(
                "SELECT rolname::text, calls, (total_exec_time + total_plan_time)::float8,
                        left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
                 FROM (SELECT r.rolname, s.*, row_number() OVER (PARTITION BY s.userid
                         ORDER BY s.total_exec_time + s.total_plan_time DESC) AS n
                       FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                       WHERE r.rolname = ANY($1)) t
                 WHERE n <= 5 ORDER BY rolname, n",
                &[&roles],
            )
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Client {
    Watch,
    Console,
    PgActivity,
    /// `serve` at its default `--min-interval`, scraped every second.
    Serve,
    /// The same with another build (`BEFORE=path`), for a before/after in one run.
    ServeBefore,
}

impl Client {
    pub fn role(self) -> &'static str {
        match self {
            Client::Watch => ROLES[0],
            Client::Console => ROLES[1],
            Client::PgActivity => ROLES[2],
            Client::Serve => ROLES[4],
            Client::ServeBefore => ROLES[5],
        }
    }

    pub fn start(self, bin: &str, server: &TempServer, venv: &std::path::Path) -> Running {
        let role = self.role();
        let url = role_url(server, role);
        let console = match self {
            Client::Watch | Client::Console => {
                let mut cmd = CommandBuilder::new(bin);
                cmd.args(["--database-url", &url]);
                if matches!(self, Client::Watch) {
                    cmd.arg("watch");
                }
                Console::spawn(cmd, &[], 30, 100)
            }
            Client::PgActivity => {
                let mut cmd = CommandBuilder::new(venv.join("bin/pg_activity"));
                let port = server.port().to_string();
                cmd.args(["-h", "127.0.0.1", "-p", &port, "-U", role, "-d", "postgres", "--refresh", "1"]);
                cmd.env("PGPASSWORD", server.password());
                cmd.env("PGSSLMODE", "disable");
                Console::spawn(cmd, &[], 30, 100)
            }
            Client::Serve | Client::ServeBefore => {
                let before = std::env::var("BEFORE").unwrap_or_default();
                let bin = if matches!(self, Client::Serve) { bin } else { before.as_str() };
                let mut cmd = CommandBuilder::new(bin);
                cmd.args(["--database-url", &url, "serve", "--listen", "127.0.0.1:0"]);
                let console = Console::spawn(cmd, &[], 30, 200);
                console.wait_for_within("/metrics for", Duration::from_secs(60));
                let screen = console.contents();
                let addr = screen.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_string();
                return Running { console, scraper: Some(Scraper::start(addr)) };
            }
        };
        Running { console, scraper: None }
    }
}

pub fn role_url(server: &TempServer, role: &str) -> String {
    format!("postgresql://{role}:{}@127.0.0.1:{}/postgres?sslmode=disable", server.password(), server.port())
}

pub struct Running {
    pub console: Console,
    /// What scrapes a `serve`.
    scraper: Option<Scraper>,
}

impl Running {
    /// Until the screen shows a full first frame (`serve`: until a scrape was answered),
    /// then five seconds (start-up reads left out).
    pub fn settle(&self) {
        let started = Instant::now();
        if let Some(scraper) = &self.scraper {
            while scraper.answered.load(Ordering::Relaxed) == 0 {
                assert!(started.elapsed() < Duration::from_secs(60), "serve never answered a scrape");
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_secs(5));
            return;
        }
        while self.console.contents().chars().filter(|c| !c.is_whitespace()).count() < 200 {
            assert!(started.elapsed() < Duration::from_secs(60), "the client never drew:\n{}", self.console.contents());
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// A scraper asking `GET /metrics` every second, as an eager Prometheus would (`serve`
/// reads at most once per its `--min-interval` however often it is asked).
struct Scraper {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scraper {
    fn start(addr: String) -> Self {
        let (stop, answered) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (s, a) = (stop.clone(), answered.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if scrape(&addr).is_some_and(|body| body.contains("backfill_up")) {
                    a.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        Self { stop, answered, thread: Some(thread) }
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn scrape(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// pg_activity 3.6 in a venv kept under target/ between runs (PyPI on the first).
pub fn pg_activity_venv() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pg_activity-venv");
    if !venv.join("bin/pg_activity").exists() {
        let ok = std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap().success();
        assert!(ok, "python3 -m venv failed");
        let ok = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "pg_activity==3.6.*", "psycopg[binary]"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pip install pg_activity failed");
    }
    venv
}

/// One month changed and one message queued and taken every two seconds.
pub async fn light_fleet(url: String) {
    let s = session(&url).await;
    for i in 0u64.. {
        let id = (i % 2412) as i32 + 1;
        let _ =
            s.client.execute("UPDATE backfill_log SET retry_count = (retry_count + 1) % 5 WHERE id = $1", &[&id]).await;
        let _ = s
            .client
            .batch_execute(
                "INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2101, \"month\": 1}');
                 DELETE FROM backfill_queue WHERE msg_id = (SELECT max(msg_id) FROM backfill_queue)",
            )
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub fn report(results: &[Usage], top: &[(String, i64, f64, String)]) {
    let pga = results.iter().find(|u| u.role == ROLES[2]).map(|u| u.spent.per_second(u.measured)).unwrap_or(f64::NAN);
    println!("server time per second, 1 s refresh, {} s measured each:", results[0].measured.as_secs());
    println!("  {:<18} {:>12} {:>14} {:>10} {:>12}", "client", "statements", "server CPU", "calls/s", "vs pg_activity");
    for u in results {
        let ms = u.spent.per_second(u.measured);
        println!(
            "  {:<18} {:>7.2} ms/s {:>9.2} ms/s {:>10.1} {:>11.2}×",
            u.role,
            ms,
            u.spent.cpu_per_second(u.measured),
            u.spent.calls as f64 / u.measured.as_secs_f64(),
            ms / pga
        );
    }
    println!("top statements by total time (whole run, start-up included):");
    for (role, calls, ms, query) in top {
        println!("  {role:<18} {calls:>6} calls {ms:>9.1} ms  {query}");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// N consoles at once.
pub fn start_consoles(bin: &str, server: &TempServer, n: usize) -> Vec<Console> {
    let consoles: Vec<Console> = (0..n)
        .map(|_| {
            let mut cmd = CommandBuilder::new(bin);
            cmd.args(["--database-url", &role_url(server, ROLES[3])]);
            Console::spawn(cmd, &[], 48, 160)
        })
        .collect();
    for c in &consoles {
        c.wait_for_within("✗ fail 0", Duration::from_secs(120));
    }
    std::thread::sleep(Duration::from_secs(5));
    consoles
}

/// What the consoles cost the server over `window`.
pub fn consoles_cost(rt: &tokio::runtime::Runtime, meter: &Meter, n: usize, window: Duration) {
    let before = rt.block_on(meter.read(ROLES[3]));
    std::thread::sleep(window);
    let spent = rt.block_on(meter.read(ROLES[3])).minus(&before);
    println!("{n} consoles at once (160×48, 1 s refresh), {} s measured:", window.as_secs());
    println!(
        "  server time {:.2} ms/s in statements ({:.2} ms/s per console), server CPU {:.2} ms/s, {:.1} calls/s",
        spent.per_second(window),
        spent.per_second(window) / n as f64,
        spent.cpu_per_second(window),
        spent.calls as f64 / window.as_secs_f64()
    );
}

/// `changes` month flips, and the time until each console's screen shows each.
pub fn change_to_screen(rt: &tokio::runtime::Runtime, consoles: &[Console], url: &str, changes: usize) {
    let n = consoles.len();
    let admin = rt.block_on(session(url));
    let (mut every, mut last) = (Vec::new(), Vec::new());
    for i in 0..changes {
        let (status, shown) = if i % 2 == 0 { ("failed", "✗ fail 1") } else { ("pending", "✗ fail 0") };
        // Changes land at random points of the refresh cycle.
        std::thread::sleep(Duration::from_millis(500 + 137 * (i as u64 % 7)));
        let sql = format!("UPDATE backfill_log SET status = '{status}' WHERE year = 2100 AND month = 12");
        let changed = Instant::now();
        rt.block_on(admin.client.batch_execute(&sql)).unwrap();
        let mut seen: Vec<Option<Duration>> = vec![None; n];
        while seen.iter().any(Option::is_none) {
            assert!(changed.elapsed() < Duration::from_secs(10), "a change never showed on every screen");
            for (c, s) in consoles.iter().zip(seen.iter_mut()) {
                if s.is_none() && c.contents().contains(shown) {
                    *s = Some(changed.elapsed());
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let seen: Vec<Duration> = seen.into_iter().flatten().collect();
        last.push(*seen.iter().max().unwrap());
        every.extend(seen);
    }
    every.sort();
    last.sort();
    println!(
        "  change → screen over {changes} changes: each screen p50 {:.0?} p95 {:.0?}; the last screen p50 {:.0?} p95 {:.0?} max {:.0?}",
        percentile(&every, 0.5),
        percentile(&every, 0.95),
        percentile(&last, 0.5),
        percentile(&last, 0.95),
        last[last.len() - 1]
    );
}
