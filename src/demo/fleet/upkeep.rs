//! Keeps the demo alive: consumer stalls (chaos) that build a backlog, and a
//! re-run of finished months when the work list runs low, so that a demo left
//! running keeps moving.

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
    while shared.nap(Duration::from_secs(10)).await {
        let now = shared.epoch.elapsed();
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
