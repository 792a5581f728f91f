//! Keeps the demo alive: consumer stalls (chaos) that build a backlog, a poison
//! message now and then (it fails every delivery, is dead-lettered, and leaves its
//! month abandoned), an old-style scheduler that queues a month twice (the defect the
//! console's duplicate check finds), and a re-run of finished months when the work
//! list runs low, so that a demo left running keeps moving.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng;

use super::Shared;

pub async fn run(mut shared: Shared) {
    let mut rng = shared.rng(9999);
    let Some(session) = shared.session("demo-upkeep").await else {
        return;
    };
    // No new stall until two (simulated) minutes after the last one ended.
    let mut next_stall_allowed = shared.scaled(Duration::from_secs(20));
    let chaos = shared.opts.chaos.clamp(0.0, 1.0);
    while shared.nap(Duration::from_secs(10)).await {
        let now = shared.epoch.elapsed();
        if rng.random_bool(chaos * 0.3) {
            // A message no consumer can handle: it fails its deliveries and is dead-lettered.
            let _ = session
                .client
                .execute(
                    "UPDATE backfill_queue SET message = message || '{\"poison\": true}'
                     WHERE msg_id = (SELECT msg_id FROM backfill_queue WHERE read_count = 0 ORDER BY random() LIMIT 1)",
                    &[],
                )
                .await;
        }
        if rng.random_bool(chaos * 0.15) {
            // The old scheduler's defect: a second message for a month already queued.
            let _ = session
                .client
                .execute(
                    "INSERT INTO backfill_queue (message)
                     SELECT message - 'job_id' || jsonb_build_object('job_id', md5(random()::text)::uuid)
                     FROM backfill_queue WHERE read_count = 0 ORDER BY random() LIMIT 1",
                    &[],
                )
                .await;
        }
        if now >= next_stall_allowed && rng.random_bool(shared.opts.chaos.clamp(0.0, 1.0) * 0.6) {
            let stall = shared.scaled(Duration::from_secs(90));
            shared.stall_until_ms.store((now + stall).as_millis() as u64, Ordering::Relaxed);
            next_stall_allowed = now + stall + shared.scaled(Duration::from_secs(120));
            tracing::debug!("demo: consumers stall for {stall:?}");
        }
        // Fewer than 60 months left to do: re-run 30 finished ones.
        let _ = session
            .client
            .execute(
                "UPDATE backfill_log SET status = 'pending', started_at = NULL, completed_at = NULL,
                   retry_count = 0, error_message = NULL
                 WHERE id IN (SELECT id FROM backfill_log WHERE status IN ('completed', 'failed')
                              ORDER BY random() LIMIT 30)
                   AND (SELECT count(*) FROM backfill_log WHERE status IN ('pending', 'retry', 'processing')) < 60",
                &[],
            )
            .await;
    }
}
