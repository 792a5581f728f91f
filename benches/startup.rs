//! Start-up (issue 5, target 6): process start to the first full frame (the
//! months table filled) against a local database, in a pty. `cargo bench --bench startup`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

#[allow(dead_code)] // only part of the helper is used here
#[path = "../tests/common/pty.rs"]
mod pty;

use std::time::{Duration, Instant};

use backfill_console::db::connect::{self, SessionOptions};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{audit::Actor, migrate, seed};
use backfill_console::pgserver::TempServer;

fn main() {
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let server = TempServer::start().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let settings = connect::resolve(Some(&url), &|_| None).unwrap();
        let mut s = connect::connect(&settings, &SessionOptions::default()).await.unwrap();
        migrate::migrate(&mut s.client).await.unwrap();
        let actor = Actor::named("bench", "bench");
        let (a, b) = (YearMonth::new(2000, 1).unwrap(), YearMonth::new(2024, 12).unwrap());
        seed::seed(&mut s.client, &actor, a, b).await.unwrap();
    });
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut console = pty::Console::start(&url, &[]);
        while !console.contents().contains("Months 300/300") {
            assert!(started.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(started.elapsed());
        console.send("q");
        console.wait_exit();
    }
    times.sort();
    println!(
        "start to first full frame: median {:.1?}, min {:.1?}, max {:.1?} ({runs} runs)",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
    drop(server);
}
