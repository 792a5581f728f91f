//! The production scale the benches measure at (issues 5 and 21): 2,412 months
//! (1900-01 … 2100-12), 1,000,000 queue messages (10 % in flight) for 300 months,
//! 100,000 dead letters, and 100 idle sessions holding ten month locks each.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use backfill_console::db::connect::{self, Session, SessionOptions};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::{audit::Actor, migrate, seed};

pub async fn session(url: &str) -> Session {
    let settings = connect::resolve(Some(url), &|_| None).unwrap();
    connect::connect(&settings, &SessionOptions::default()).await.unwrap()
}

/// Migrates, seeds the months and fills the queue and the dead table (about a minute).
pub async fn build(url: &str) {
    let mut s = session(url).await;
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
}

/// 100 sessions holding 10 month locks each (1900-01 onwards); drop them to let go.
pub async fn hold_locks(url: &str) -> Vec<Session> {
    let mut holders = Vec::new();
    for h in 0..100 {
        let holder = session(url).await;
        for k in 0..10 {
            let i = h * 10 + k;
            let key = i64::from(1900 + i / 12) * 100 + i64::from(i % 12 + 1);
            holder.client.execute("SELECT pg_advisory_lock($1::bigint)", &[&key]).await.unwrap();
        }
        holders.push(holder);
    }
    holders
}
