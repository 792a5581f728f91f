//! A scheduler: the one claim routine every few seconds. Chaos: it "releases"
//! a month lock through the pool — on another session than the one that took
//! it — so the lock leaks on an idle pooled session (the production defect).

use std::time::Duration;

use rand::Rng;

use super::Shared;
use crate::db::claim::{self, ClaimParams, YearRange};
use crate::db::connect::Session;

const MAX_LEAKED: usize = 2;

pub async fn run(mut shared: Shared, index: usize) {
    let mut rng = shared.rng(index as u64);
    let name = format!("scheduler-{}", index + 1);
    let mut leaked: Vec<Session> = Vec::new();
    let mut session: Option<Session> = None;
    while !shared.stopping() {
        leaked.retain(|s| !s.is_closed()); // an operator released it
        let Some(s) = session.as_mut().filter(|s| !s.is_closed()) else {
            session = shared.session(&name).await;
            if !shared.nap(Duration::from_secs(1)).await {
                break;
            }
            continue;
        };
        let params = ClaimParams {
            batch_size: rng.random_range(1..=4),
            years: YearRange { from: 2000, to: 2024 },
            lock_wait: shared.scaled(Duration::from_secs(2)),
            lock_retry_interval: Duration::from_millis(100),
            ..ClaimParams::default()
        };
        if let Err(e) = claim::claim(s, &params, None).await {
            tracing::debug!("{name}: claim failed: {e}");
            session = None;
        }
        if leaked.len() < MAX_LEAKED
            && rng.random_bool(shared.opts.chaos.clamp(0.0, 1.0) * 0.15)
            && let Some(pooled) = leak_a_lock(&shared, &name, &mut rng).await
        {
            leaked.push(pooled);
        }
        let pause = Duration::from_millis(rng.random_range(3000..5000));
        if !shared.nap(pause).await {
            break;
        }
    }
}

/// Locks a finished month on a "pooled" session and unlocks it on another: the
/// unlock fails (not the holder) and the pooled session keeps the lock, idle.
async fn leak_a_lock(shared: &Shared, name: &str, rng: &mut impl Rng) -> Option<Session> {
    let pooled = shared.session(&format!("{name}-pool")).await?;
    let other = shared.session(&format!("{name}-pool")).await?;
    let row = pooled
        .client
        .query_opt(
            "SELECT year * 100 + month FROM backfill_log WHERE status = 'completed'
             ORDER BY year, month OFFSET $1 LIMIT 1",
            &[&rng.random_range(0..40i64)],
        )
        .await
        .ok()??;
    let key: i32 = row.get(0);
    let got: bool =
        pooled.client.query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&i64::from(key)]).await.ok()?.get(0);
    if !got {
        return None;
    }
    // The defect: the release goes through the pool to a different session.
    let _ = other.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&i64::from(key)]).await;
    tracing::debug!("{name}: leaked the lock of {key} on a pooled session");
    Some(pooled)
}
