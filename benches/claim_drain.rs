//! Claim under contention: N concurrent claimers drain M months on a throwaway
//! server, for several lock-wait settings, each repeated; prints medians and the
//! ratio between them, measured side by side in one run.
//!
//! `cargo bench --bench claim_drain` (env: CLAIMERS=8 MONTHS=2000 RUNS=3; ONLY=N runs the N-th setting
//! alone (0-based); CPU=1 prints the CPU time of this process and of the machine per drain; STMTS=1 prints each
//! drain's top statements by server time, from pg_stat_statements)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backfill_console::db::claim::{self, ClaimParams, YearRange};
use backfill_console::db::connect::{self, SessionOptions};
use backfill_console::db::{migrate, seed};
use backfill_console::pgserver::{PoolMode, TempBouncer, TempServer};

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The lower bound (issue 5): one statement per batch, no advisory locks —
/// `FOR UPDATE SKIP LOCKED` candidates, the update and the enqueue together.
const LOWER_BOUND: &str = "WITH c AS (
      SELECT id FROM backfill_log WHERE status IN ('pending', 'retry') AND year BETWEEN 1900 AND 2100
      ORDER BY year DESC, month DESC LIMIT 10 FOR UPDATE SKIP LOCKED),
    u AS (UPDATE backfill_log b SET status = 'processing', started_at = now(), completed_at = NULL,
            error_message = NULL, last_retry_at = CASE WHEN b.status = 'retry' THEN now() ELSE b.last_retry_at END
          FROM c WHERE b.id = c.id RETURNING b.year, b.month)
    INSERT INTO backfill_queue (message)
    SELECT jsonb_build_object('job_id', gen_random_uuid(), 'year', year, 'month', month, 'batch_size', 20,
      'prompt_variant', CASE WHEN year >= 2020 THEN 'contemporary-notable' ELSE 'baseline' END, 'dry_run', false)
    FROM u";

/// Claims run, months found raced, months passed over (lock held), over one drain.
static CLAIMS: AtomicUsize = AtomicUsize::new(0);
static RACED: AtomicUsize = AtomicUsize::new(0);
static PASSED_OVER: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, Copy)]
enum Mode {
    Routine(Duration),
    /// The routine, the claimers connected through PgBouncer in transaction mode.
    Pooled(Duration),
    LowerBound,
}

async fn drain_once(
    server: &TempServer,
    bouncer: &TempBouncer,
    db: &str,
    claimers: usize,
    months: i32,
    mode: Mode,
) -> Duration {
    let admin_settings =
        connect::resolve(Some(&format!("{}?sslmode=disable", server.url("postgres"))), &|_| None).unwrap();
    let admin = connect::connect(&admin_settings, &SessionOptions::default()).await.unwrap();
    admin.client.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await.unwrap();
    admin.client.batch_execute(&format!("CREATE DATABASE {db}")).await.unwrap();
    let settings = connect::resolve(Some(&format!("{}?sslmode=disable", server.url(db))), &|_| None).unwrap();
    let mut setup = connect::connect(&settings, &SessionOptions::default()).await.unwrap();
    migrate::migrate(&mut setup.client).await.unwrap();
    let actor = backfill_console::db::audit::Actor::named("bench", "bench");
    let first = backfill_console::db::lock_key::YearMonth::new(1900, 1).unwrap();
    let last_index = first.index() + months - 1;
    let last = backfill_console::db::lock_key::YearMonth::new(last_index / 12, last_index % 12 + 1).unwrap();
    seed::seed(&mut setup.client, &actor, first, last).await.unwrap();
    // As autovacuum keeps a production table: with statistics. A table never analyzed makes
    // every generic plan guess (the page of candidates was read whole and sorted); the
    // lower bound's text statement is planned afresh each time and never noticed. NOANALYZE=1
    // measures the fresh table as before.
    if std::env::var_os("NOANALYZE").is_none() {
        setup.client.batch_execute("ANALYZE backfill_log").await.unwrap();
    }
    let lock_wait = match mode {
        Mode::Routine(wait) | Mode::Pooled(wait) => wait,
        Mode::LowerBound => Duration::ZERO,
    };
    let params = ClaimParams { years: YearRange { from: 1900, to: 2100 }, lock_wait, ..ClaimParams::default() };
    let claimer_settings = match mode {
        Mode::Pooled(_) => connect::resolve(Some(&bouncer.url(db)), &|_| None).unwrap(),
        _ => settings.clone(),
    };
    let mut sessions = Vec::new();
    for _ in 0..claimers {
        sessions.push(connect::connect(&claimer_settings, &SessionOptions::default()).await.unwrap());
    }
    let cpu_before = cpu_ticks();
    let started = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|mut s| {
            let p = params.clone();
            tokio::spawn(async move {
                loop {
                    if let Mode::LowerBound = mode {
                        if s.client.execute(LOWER_BOUND, &[]).await.unwrap() == 0 {
                            break;
                        }
                        continue;
                    }
                    let r = claim::claim(&mut s, &p, None).await.unwrap();
                    CLAIMS.fetch_add(1, Ordering::Relaxed);
                    RACED.fetch_add(r.skipped_raced.len(), Ordering::Relaxed);
                    PASSED_OVER.fetch_add(r.skipped_locked.len(), Ordering::Relaxed);
                    if r.claimed.is_empty() && r.skipped_locked.is_empty() && r.skipped_raced.is_empty() {
                        break;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu_ticks();
    if std::env::var_os("CPU").is_some() {
        println!(
            "    cpu: this process {} ticks, the whole machine {} ticks (1 tick = 10 ms)",
            cpu_after.0 - cpu_before.0,
            cpu_after.1 - cpu_before.1
        );
    }
    if std::env::var_os("STMTS").is_some() {
        // Server time by statement (execution times include waiting for a core: 8 claimers share 2).
        setup.client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await.unwrap();
        for r in setup.client.query("SELECT calls, (total_exec_time)::float8, (total_plan_time)::float8, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time + total_plan_time DESC LIMIT 8", &[]).await.unwrap() {
            let (c, e, p, q): (i64, f64, f64, String) = (r.get(0), r.get(1), r.get(2), r.get(3));
            println!("    {c:>6} calls exec {e:>8.1} ms plan {p:>6.1} ms  {q}");
        }
        for r in setup.client.query("SELECT relname::text, seq_scan, seq_tup_read, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname IN ('backfill_queue', 'backfill_log') ORDER BY 1", &[]).await.unwrap() {
            let (t, s, read, i): (String, i64, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
            println!("    {t}: {s} sequential scans reading {read} rows, {i} index scans");
        }
        setup.client.batch_execute("SELECT pg_stat_statements_reset()").await.unwrap();
    }
    let n: i64 = setup.client.query_one("SELECT count(*) FROM backfill_queue", &[]).await.unwrap().get(0);
    assert_eq!(n, i64::from(months), "every month enqueued exactly once");
    drop(setup);
    admin.client.batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)")).await.unwrap();
    elapsed
}

/// CPU time in clock ticks: (this process, the whole machine busy), from /proc.
fn cpu_ticks() -> (u64, u64) {
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = own.rsplit(')').next().unwrap_or_default();
    let f: Vec<u64> = after_name.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    let own = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let all = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> =
        all.lines().next().unwrap_or_default().split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
    let busy = cpu.iter().sum::<u64>() - cpu.get(3).copied().unwrap_or(0) - cpu.get(4).copied().unwrap_or(0);
    (own, busy)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let claimers = env_or("CLAIMERS", 8);
    let months = env_or("MONTHS", 2000) as i32;
    let runs = env_or("RUNS", 3);
    // STMTS=1: the server keeps statement statistics, and each drain prints its top statements.
    let settings = if std::env::var_os("STMTS").is_some() {
        vec!["shared_preload_libraries=pg_stat_statements".into(), "pg_stat_statements.track_planning=on".into()]
    } else {
        Vec::new()
    };
    let options = backfill_console::pgserver::ServerOptions { settings, ..Default::default() };
    let server = TempServer::start_with(&options).expect("start a throwaway PostgreSQL");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let settings = [
        ("default lock wait (10s)", Mode::Routine(Duration::from_secs(10))),
        ("--lock-timeout 0", Mode::Routine(Duration::ZERO)),
        ("lower bound (1 statement)", Mode::LowerBound),
        ("pooled (PgBouncer, transaction mode)", Mode::Pooled(Duration::from_secs(10))),
    ];
    let mut results: Vec<Vec<Duration>> = vec![Vec::new(); settings.len()];
    // Interleave the settings run by run, so drift on a shared machine hits both alike.
    for run in 0..runs {
        for (i, (name, mode)) in settings.iter().enumerate() {
            // ONLY=2: just this setting (0-based), e.g. to profile one of them alone.
            if std::env::var("ONLY").is_ok_and(|only| only != i.to_string()) {
                results[i].push(Duration::ZERO);
                continue;
            }
            // A database of its own per drain: PgBouncer pauses `server_login_retry` (15 s) after
            // a login to a database dropped under it fails, so reusing one name stalled the pooled
            // drain's connect now and then.
            let db = format!("drain_{run}_{i}");
            // A PgBouncer of its own per drain too: the sixth pooled drain on one PgBouncer
            // could not connect within 10 s (seen in every run of RUNS ≥ 6).
            let bouncer = TempBouncer::start(&server, PoolMode::Transaction).expect("start a throwaway PgBouncer");
            let t = rt.block_on(drain_once(&server, &bouncer, &db, claimers, months, *mode));
            drop(bouncer);
            let counts = [&CLAIMS, &RACED, &PASSED_OVER].map(|c| c.swap(0, Ordering::Relaxed));
            println!(
                "run {}: {name}: {:.2?} ({} claims, {} months raced, {} passed over)",
                run + 1,
                t,
                counts[0],
                counts[1],
                counts[2]
            );
            results[i].push(t);
        }
    }
    let medians: Vec<Duration> = results.into_iter().map(median).collect();
    println!("{claimers} claimers, {months} months, median of {runs}:");
    for ((name, _), m) in settings.iter().zip(&medians) {
        println!("  {name:<38} {:>8.2?}", m);
    }
    println!("  ratio default / lock-timeout 0: {:.2}", medians[0].as_secs_f64() / medians[1].as_secs_f64());
    println!("  ratio default / lower bound:    {:.2}", medians[0].as_secs_f64() / medians[2].as_secs_f64());
    println!("  ratio pooled / default (direct): {:.2}", medians[3].as_secs_f64() / medians[0].as_secs_f64());
}
