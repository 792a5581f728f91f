//! The read model at synthetic scale (issue 5, target 1): 2,412 months, 1,000
//! advisory locks held by 100 sessions, 1,000,000 queue messages (10 % in
//! flight) and 100,000 dead. Reports the median time of one whole snapshot and
//! of its queue part alone. `cargo bench --bench snapshot_scale`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::time::{Duration, Instant};

use backfill_console::db::connect::{self, Session, SessionOptions};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{audit::Actor, migrate, progress, seed, snapshot};
use backfill_console::pgserver::TempServer;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn session(url: &str) -> Session {
    let settings = connect::resolve(Some(url), &|_| None).unwrap();
    connect::connect(&settings, &SessionOptions::default()).await.unwrap()
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
        let mut s = session(&url).await;
        migrate::migrate(&mut s.client).await.unwrap();
        let actor = Actor::named("bench", "bench");
        let (a, b) = (YearMonth::new(1900, 1).unwrap(), YearMonth::new(2100, 12).unwrap());
        seed::seed(&mut s.client, &actor, a, b).await.unwrap();
        s.client
            .batch_execute(
                "SET statement_timeout = 0;
                 INSERT INTO backfill_queue (message, visible_at, read_count)
                   SELECT jsonb_build_object('year', 2000 + i % 25, 'month', 1 + i % 12),
                          CASE WHEN i % 10 = 0 THEN now() + interval '1 hour' ELSE now() - interval '1 minute' END,
                          CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END
                   FROM generate_series(1, 1000000) i;
                 INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, reason)
                   SELECT 2000000 + i, now(), now(), 3, '{}', 'bench' FROM generate_series(1, 100000) i;",
            )
            .await
            .unwrap();
        for table in ["backfill_queue", "backfill_queue_dead", "backfill_log"] {
            s.client.batch_execute(&format!("VACUUM ANALYZE {table}")).await.unwrap();
        }
        // 100 sessions holding 10 month locks each.
        let mut holders = Vec::new();
        for h in 0..100 {
            let holder = session(&url).await;
            for k in 0..10 {
                let i = h * 10 + k;
                let key = i64::from(1900 + i / 12) * 100 + i64::from(i % 12 + 1);
                holder.client.execute("SELECT pg_advisory_lock($1::bigint)", &[&key]).await.unwrap();
            }
            holders.push(holder);
        }
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
        let full_sql = snapshot::snapshot_sql(None, snapshot::Known::default());
        let (_, steady_cache) = snapshot::read_incremental(&reader.client, None, Some(&cache)).await.unwrap();
        assert_eq!(steady_cache.reused(), (true, true), "nothing changed: both parts reused");
        let steady_sql = snapshot::snapshot_sql(None, steady_cache.known_fingerprints());
        if std::env::var_os("EXPLAIN").is_some() {
            for line in explain(&reader.client, &steady_sql, true).await {
                println!("{line}");
            }
        }
        let queue_sql = "SELECT count(*) FILTER (WHERE visible_at <= now()), count(*) FILTER (WHERE visible_at > now() AND read_count > 0),
            count(*) FILTER (WHERE visible_at > now() AND read_count = 0), min(enqueued_at) FILTER (WHERE visible_at <= now()),
            (SELECT count(*) FROM backfill_queue_dead) FROM backfill_queue";
        let (mut full, mut steady, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        let (mut full_server, mut steady_server) = (Vec::new(), Vec::new());
        let (mut changed, mut changed_server, mut changed_sent) = (Vec::new(), Vec::new(), Vec::new());
        let (mut lock_changed, mut lock_changed_server) = (Vec::new(), Vec::new());
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
            full_server.push(execution_time(&reader.client, &full_sql).await);
            steady_server.push(execution_time(&reader.client, &steady_sql).await);
            writer.client.batch_execute(change_one).await.unwrap();
            let mut known = rolling.known_fingerprints();
            known.months = Some("changed"); // a stale fingerprint: what the reader holds now
            changed_server.push(execution_time(&reader.client, &snapshot::snapshot_sql(None, known)).await);
            let t = Instant::now();
            let (_, next) = snapshot::read_incremental(&reader.client, None, Some(&rolling)).await.unwrap();
            changed.push(t.elapsed());
            changed_sent.push(next.months_sent());
            rolling = next;
            // One lock taken or released between two reads: the lock rows are sent again.
            let flip = if lock_changed.len() % 2 == 0 { "pg_advisory_lock" } else { "pg_advisory_unlock" };
            writer.client.batch_execute(&format!("SELECT {flip}(999999)")).await.unwrap();
            let mut known = rolling.known_fingerprints();
            known.locks = Some("changed");
            lock_changed_server.push(execution_time(&reader.client, &snapshot::snapshot_sql(None, known)).await);
            let t = Instant::now();
            let (_, next) = snapshot::read_incremental(&reader.client, None, Some(&rolling)).await.unwrap();
            lock_changed.push(t.elapsed());
            rolling = next;
        }
        println!("snapshot at scale (2,412 months, 1,000 locks / 100 sessions, 1,000,000 queued, 100,000 dead), median of 15:");
        println!("  whole snapshot, months sent (first read)   {:>8.2?} round trip, {:>8.2?} server", median(full), median(full_server));
        println!("  whole snapshot, months unchanged (steady)  {:>8.2?} round trip, {:>8.2?} server", median(steady), median(steady_server));
        changed_sent.sort_unstable();
        println!(
            "  whole snapshot, one month changed (delta)  {:>8.2?} round trip, {:>8.2?} server ({} month row(s) sent, median)",
            median(changed),
            median(changed_server),
            changed_sent[changed_sent.len() / 2]
        );
        println!(
            "  whole snapshot, one lock changed           {:>8.2?} round trip, {:>8.2?} server (1,000 lock rows sent)",
            median(lock_changed),
            median(lock_changed_server)
        );
        println!("  a plain exact count of the queue (old way) {:>8.2?} round trip", median(plain));
        println!("  server time per part (steady state), median of 15:");
        for (name, sql) in snapshot::snapshot_parts_sql(steady_cache.known_fingerprints()) {
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
