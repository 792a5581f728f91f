//! What a console costs production (issue 21): the server's own time spent for each
//! client, at scale (`common/scale.rs`: 2,412 months, 1,000,000 queued, 100 idle lock
//! holders), on a throwaway server that loads `pg_stat_statements`.
//!
//! One `watch`, one console, pg_activity 3.6 (installed into a throwaway venv) and `serve`
//! (scraped every second; `BEFORE=path` adds the `serve` of another build) run in
//! turns — ROUNDS rounds of WINDOW seconds each, so drift on a shared machine hits all
//! alike — each as a login role of its own, every one at a 1 s refresh (`serve` reads at
//! most once per its default `--min-interval` of 5 s). For each the bench
//! prints the server time per second (`pg_stat_statements`: execution + planning, by role)
//! and the CPU time of its server processes (`/proc`), the ratio to pg_activity, and its
//! top statements. Then 20 consoles at once: their total server time and the time from a
//! change to every screen.
//!
//! Two scenes: the (nothing moves but the clocks), then a light fleet (one month
//! changed and one message queued and taken every two seconds); the change-to-screen time
//! is measured in the second.
//!
//! `cargo bench --bench server_cost` (env: ROUNDS=3, WINDOW=20, CONSOLES=20, CHANGES=20;
//! BIN=path runs another build of the console, e.g. an older one, for a before/after;
//! HOLD=1 builds the scale, prints a URL and waits for Enter, for experiments by hand).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

#[path = "common/scale.rs"]
mod scale;

#[allow(dead_code)] // only part of the helper is used here
#[path = "../tests/common/pty.rs"]
mod pty;

#[path = "common/cost.rs"]
mod cost;

use std::time::{Duration, Instant};

use backfill_console::pgserver::{ServerOptions, TempServer};
use cost::{Client, Meter};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let options = ServerOptions {
        settings: vec![
            "shared_preload_libraries=pg_stat_statements".into(),
            "pg_stat_statements.track_planning=on".into(),
            "max_connections=300".into(),
        ],
        ..ServerOptions::default()
    };
    let server = TempServer::start_with(&options).unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let built = Instant::now();
    let holders = rt.block_on(async {
        scale::build(&url).await;
        scale::hold_locks(&url).await
    });
    let meter = rt.block_on(Meter::new(&server, &url));
    println!("scale built in {:.0?}", built.elapsed());
    if std::env::var_os("HOLD").is_some() {
        println!("HOLD: {url}");
        println!("roles: {} (same password); press Enter to end", cost::ROLES.join(", "));
        let _ = std::io::stdin().read_line(&mut String::new());
        return;
    }
    let rounds = env_or("ROUNDS", 3);
    let window = Duration::from_secs(env_or("WINDOW", 20));
    let bin = std::env::var("BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_backfill-console").to_string());
    let venv = cost::pg_activity_venv();
    let mut clients = vec![Client::Watch, Client::Console, Client::PgActivity, Client::Serve];
    if std::env::var_os("BEFORE").is_some() {
        clients.push(Client::ServeBefore);
    }
    let consoles = env_or("CONSOLES", 20) as usize;
    let changes = env_or("CHANGES", 20) as usize;
    // The scene of the issue (nothing moves but the clocks), then a light fleet.
    for (scene, fleet) in [
        ("quiet: 100 idle lock holders, nothing else", false),
        ("a light fleet: one month changed and one message queued and taken every 2 s", true),
    ] {
        println!("== {scene}");
        let fleet = fleet.then(|| rt.spawn(cost::light_fleet(url.clone())));
        rt.block_on(meter.forget());
        let mut results: Vec<cost::Usage> = clients.iter().map(|c| cost::Usage::new(c.role())).collect();
        for round in 0..rounds {
            for (client, usage) in clients.iter().zip(results.iter_mut()) {
                let running = client.start(&bin, &server, &venv);
                running.settle();
                let before = rt.block_on(meter.read(client.role()));
                std::thread::sleep(window);
                let after = rt.block_on(meter.read(client.role()));
                usage.add(&before, &after, window);
                drop(running);
                println!(
                    "  round {}: {:<16} {:>6.2} ms/s",
                    round + 1,
                    client.role(),
                    after.minus(&before).per_second(window)
                );
            }
        }
        cost::report(
            &results,
            &rt.block_on(meter.top_statements(&clients.iter().map(|c| c.role()).collect::<Vec<_>>())),
        );
        let many = cost::start_consoles(&bin, &server, consoles);
        cost::consoles_cost(&rt, &meter, consoles, window * rounds as u32);
        if fleet.is_some() {
            cost::change_to_screen(&rt, &many, &url, changes);
        }
        drop(many);
        if let Some(f) = fleet {
            f.abort();
        }
    }
    drop(holders);
    drop(server);
}
