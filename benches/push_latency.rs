//! Change-to-screen latency (issue 5, target 2): the real binary in a pty, a
//! month flipped by SQL, the time until the screen shows it. LISTEN/NOTIFY
//! against polling at the default 1 s interval, in one run.
//! `cargo bench --bench push_latency` (env: SAMPLES=30)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

#[allow(dead_code)] // only part of the helper is used here
#[path = "../tests/common/pty.rs"]
mod pty;

use std::time::{Duration, Instant};

use backfill_console::db::connect::{self, SessionOptions};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{audit::Actor, migrate, seed};
use backfill_console::pgserver::TempServer;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let samples: usize = std::env::var("SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let server = TempServer::start().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let admin = rt.block_on(async {
        let settings = connect::resolve(Some(&url), &|_| None).unwrap();
        let mut s = connect::connect(&settings, &SessionOptions::default()).await.unwrap();
        migrate::migrate(&mut s.client).await.unwrap();
        let actor = Actor::named("bench", "bench");
        let (a, b) = (YearMonth::new(2024, 1).unwrap(), YearMonth::new(2024, 3).unwrap());
        seed::seed(&mut s.client, &actor, a, b).await.unwrap();
        s
    });
    let dir = tempfile::tempdir().unwrap();
    for (name, listen) in [("LISTEN/NOTIFY", true), ("polling every 1s", false)] {
        let config = dir.path().join(format!("{listen}.toml"));
        std::fs::write(&config, format!("refresh = \"1s\"\nlisten = {listen}\n")).unwrap();
        let console = pty::Console::start(&url, &["--config", &config.to_string_lossy()]);
        console.wait_for("✗ fail 0");
        std::thread::sleep(Duration::from_millis(500));
        let mut latencies = Vec::new();
        for i in 0..samples {
            let (status, shown) = if i % 2 == 0 { ("failed", "✗ fail 1") } else { ("pending", "✗ fail 0") };
            // Changes land at random points of the polling cycle.
            std::thread::sleep(Duration::from_millis(137 * (i as u64 % 7)));
            let sql = format!("UPDATE backfill_log SET status = '{status}' WHERE month = 2");
            let changed = Instant::now();
            rt.block_on(admin.client.batch_execute(&sql)).unwrap();
            while !console.contents().contains(shown) {
                assert!(changed.elapsed() < Duration::from_secs(5), "the change never showed");
                std::thread::sleep(Duration::from_millis(2));
            }
            latencies.push(changed.elapsed());
        }
        let mut console = console;
        console.send("q");
        console.wait_exit();
        latencies.sort();
        println!(
            "{name:<18} p50 {:>7.1?}  p95 {:>7.1?}  max {:>7.1?}  ({samples} changes)",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies[latencies.len() - 1]
        );
    }
    drop(admin);
    drop(server);
}
