//! The read model at synthetic scale (issue 5, target 1): 2,412 months, 1,000
//! advisory locks held by 100 sessions, 1,000,000 queue messages (10 % in
//! flight) and 100,000 dead. Reports the median time of one whole snapshot and
//! of its queue part alone. `cargo bench --bench snapshot_scale`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::time::{Duration, Instant};

use backfill_console::db::connect::{self, Session, SessionOptions};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{audit::Actor, migrate, seed, snapshot};
use backfill_console::pgserver::TempServer;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn session(url: &str) -> Session {
    let settings = connect::resolve(Some(url), &|_| None).unwrap();
    connect::connect(&settings, &SessionOptions::default()).await.unwrap()
}

fn main() {
    let server = TempServer::start().unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut s = session(&url).await;
        migrate::migrate(&mut s.client).await.unwrap();
        let actor = Actor { os_user: "bench".into(), os_host: "bench".into() };
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
        if std::env::var_os("EXPLAIN").is_some() {
            let plan = reader.client.simple_query(&format!("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {}", snapshot::snapshot_sql())).await.unwrap();
            for m in plan {
                if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                    println!("{}", r.get(0).unwrap_or(""));
                }
            }
        }
        let mut whole = Vec::new();
        let mut queue_only = Vec::new();
        let mut without_queue = Vec::new();
        let queue_sql = "SELECT count(*) FILTER (WHERE visible_at <= now()), count(*) FILTER (WHERE visible_at > now() AND read_count > 0),
            count(*) FILTER (WHERE visible_at > now() AND read_count = 0), min(enqueued_at) FILTER (WHERE visible_at <= now()),
            (SELECT count(*) FROM backfill_queue_dead) FROM backfill_queue";
        let rest_sql = snapshot::snapshot_sql();
        for _ in 0..15 {
            let t = Instant::now();
            snapshot::read(&reader.client).await.unwrap();
            whole.push(t.elapsed());
            let t = Instant::now();
            reader.client.simple_query(queue_sql).await.unwrap();
            queue_only.push(t.elapsed());
            let t = Instant::now();
            reader.client.simple_query(&rest_sql).await.unwrap();
            without_queue.push(t.elapsed());
        }
        println!("snapshot at scale (2,412 months, 1,000 locks / 100 sessions, 1,000,000 queued, 100,000 dead), median of 15:");
        println!("  whole snapshot (one round trip)      {:>8.2?}", median(whole));
        println!("  a plain exact count of the queue (the old way) {:>8.2?}", median(queue_only));
        println!("  the snapshot again (second sample set)         {:>8.2?}", median(without_queue));
        drop(holders);
    });
    drop(server);
}
