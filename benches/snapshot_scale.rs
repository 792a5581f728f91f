//! The read model at synthetic scale (issue 5, target 1): 2,412 months, 1,000
//! advisory locks held by 100 sessions, 1,000,000 queue messages (10 % in
//! flight) and 100,000 dead. Reports the median time of one whole snapshot and
//! of its queue part alone. `cargo bench --bench snapshot_scale`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::time::{Duration, Instant};

#[path = "common/scale.rs"]
mod scale;

use backfill_console::db::snapshot::Parts;
use backfill_console::db::{progress, snapshot};
use backfill_console::pgserver::TempServer;
use scale::session;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn explain(client: &tokio_postgres::Client, sql: &str, timing: bool) -> Vec<String> {
    let timing = if timing { "ON" } else { "OFF" };
    let plan = client.simple_query(&format!("EXPLAIN (ANALYZE, TIMING {timing}, SUMMARY ON) {sql}")).await.unwrap();
    plan.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect()
}

/// The server's own execution time for a statement (EXPLAIN ANALYZE, timing per node off).
async fn execution_time(client: &tokio_postgres::Client, sql: &str) -> Duration {
    let lines = explain(client, sql, false).await;
    let line = lines.iter().find(|l| l.starts_with("Execution Time:")).unwrap();
    let ms: f64 = line.trim_start_matches("Execution Time:").trim().trim_end_matches(" ms").parse().unwrap();
    Duration::from_secs_f64(ms / 1000.0)
}

fn main() {
    let server = TempServer::start().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        scale::build(&url).await;
        let holders = scale::hold_locks(&url).await;
        let reader = session(&url).await;
        let snap = snapshot::read(&reader.client).await.unwrap();
        assert_eq!((snap.months.len(), snap.locks.len()), (2412, 1000));
        assert!(snap.queue.estimated, "the figures are labelled estimates at this scale");
        let q = &snap.queue;
        println!(
            "estimates: ready ≈{} (exact 900000), in flight ≈{} (exact 100000), delayed {} (exact 0), dead ≈{} (exact 100000)",
            q.ready, q.in_flight, q.delayed, q.dead
        );
        let (_, cache) = snapshot::read_incremental(&reader.client, None, None).await.unwrap();
        let (_, steady_cache) = snapshot::read_incremental(&reader.client, None, Some(&cache)).await.unwrap();
        assert_eq!(steady_cache.reused(), (true, true), "nothing changed: both parts reused");
        // The statement as the console's reader sends it, for each kind of read.
        let sql = snapshot::snapshot_sql(None);
        let text = |known: snapshot::Known<'_>, parts: Parts| snapshot::with_literals(&sql, &snapshot::Params::new(known, parts));
        let tick = Parts { locks: true, months: false, queue: false, sample: false };
        let variants: Vec<(&str, String)> = vec![
            ("first read (everything sent)", text(snapshot::Known::default(), Parts::ALL)),
            ("everything, nothing changed", text(steady_cache.known_fingerprints(), Parts { sample: false, ..Parts::ALL })),
            ("everything, queue sampled", text(steady_cache.known_fingerprints(), Parts::ALL)),
            ("regular refresh with push (locks)", text(steady_cache.known_fingerprints(), tick)),
            ("queue only (a pushed change)", text(steady_cache.known_fingerprints(), Parts { locks: false, months: false, queue: true, sample: false })),
            ("months only, unchanged", text(steady_cache.known_fingerprints(), Parts { locks: false, months: true, queue: false, sample: false })),
            ("nothing (the statement itself)", text(steady_cache.known_fingerprints(), Parts { locks: false, months: false, queue: false, sample: false })),
        ];
        if std::env::var_os("EXPLAIN").is_some() {
            for line in explain(&reader.client, &variants[1].1, true).await {
                println!("{line}");
            }
        }
        let queue_sql = "SELECT count(*) FILTER (WHERE visible_at <= now()), count(*) FILTER (WHERE visible_at > now() AND read_count > 0),
            count(*) FILTER (WHERE visible_at > now() AND read_count = 0), min(enqueued_at) FILTER (WHERE visible_at <= now()),
            (SELECT count(*) FROM backfill_queue_dead) FROM backfill_queue";
        let (mut full, mut steady, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        let mut server: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
        let (mut changed, mut changed_server, mut changed_sent) = (Vec::new(), Vec::new(), Vec::new());
        let mut rolling = steady_cache.clone();
        // A writer beside the reader: one month changes between two reads (the delta path).
        let writer = session(&url).await;
        let change_one = "UPDATE backfill_log SET retry_count = (retry_count + 1) % 5 WHERE year = 2000 AND month = 1";
        // Interleaved, so drift on a shared machine hits every variant alike.
        for _ in 0..15 {
            let t = Instant::now();
            snapshot::read_incremental(&reader.client, None, None).await.unwrap();
            full.push(t.elapsed());
            let t = Instant::now();
            let (snap, _) = snapshot::read_incremental(&reader.client, None, Some(&steady_cache)).await.unwrap();
            steady.push(t.elapsed());
            assert_eq!(snap.months.len(), 2412);
            let t = Instant::now();
            reader.client.simple_query(queue_sql).await.unwrap();
            plain.push(t.elapsed());
            for ((_, sql), times) in variants.iter().zip(server.iter_mut()) {
                times.push(execution_time(&reader.client, sql).await);
            }
            writer.client.batch_execute(change_one).await.unwrap();
            let months_read = Parts { locks: false, months: true, queue: false, sample: false };
            changed_server.push(execution_time(&reader.client, &text(rolling.known_fingerprints(), months_read)).await);
            let t = Instant::now();
            let (_, next) = snapshot::read_incremental(&reader.client, None, Some(&rolling)).await.unwrap();
            changed.push(t.elapsed());
            changed_sent.push(next.months_sent());
            rolling = next;
        }
        println!("snapshot at scale (2,412 months, 1,000 locks / 100 sessions, 1,000,000 queued, 100,000 dead), median of 15:");
        println!("  round trips seen by the client: first read {:>8.2?}, everything again {:>8.2?}", median(full), median(steady));
        println!("  server execution time by the parts a read asks for:");
        for ((name, _), times) in variants.iter().zip(server) {
            println!("    {name:<36} {:>8.2?}", median(times));
        }
        changed_sent.sort_unstable();
        println!(
            "    {:<36} {:>8.2?} ({} month row(s) sent, median)",
            "months only, one changed (delta)",
            median(changed_server),
            changed_sent[changed_sent.len() / 2]
        );
        println!("  a plain exact count of the queue (old way) {:>8.2?} round trip", median(plain));
        println!("  server time per part, median of 15:");
        let params = snapshot::Params::new(steady_cache.known_fingerprints(), Parts::ALL);
        for (name, sql) in snapshot::snapshot_parts_sql(&params) {
            let mut times = Vec::new();
            for _ in 0..15 {
                times.push(execution_time(&reader.client, &sql).await);
            }
            println!("    {name:<18} {:>8.2?}", median(times));
        }
        // The throughput history (read once a minute by the console), with 1,206 of the
        // months completed over the last two days and 200 failed.
        writer
            .client
            .batch_execute(
                "UPDATE backfill_log SET status = 'completed', started_at = now() - (id % 2880) * interval '1 minute' - interval '5 minutes',
                   completed_at = now() - (id % 2880) * interval '1 minute' WHERE id % 2 = 0;
                 UPDATE backfill_log SET status = 'failed', started_at = now() - (id % 1440) * interval '1 minute',
                   last_retry_at = now() - (id % 1440) * interval '1 minute' WHERE id % 12 = 1",
            )
            .await
            .unwrap();
        writer.client.batch_execute("VACUUM ANALYZE backfill_log").await.unwrap();
        let (mut history, mut history_server) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            let t = Instant::now();
            let h = progress::history(&reader.client).await.unwrap();
            history.push(t.elapsed());
            assert!(h.hourly.iter().sum::<i64>() > 0);
            history_server.push(execution_time(&reader.client, progress::HISTORY).await);
        }
        println!(
            "  throughput history (1,206 completed over 48 h), median of 15: {:>8.2?} round trip, {:>8.2?} server \
             (read once a minute: {:.3?} a second)",
            median(history.clone()),
            median(history_server),
            median(history) / 60
        );
        drop(holders);
    });
    drop(server);
}
