//! The claim's transaction, opened and closed in the same round trips as its
//! statements: BEGIN goes out with the first walk, COMMIT right behind the last
//! statement. tokio-postgres sends a request when its future is first polled, in
//! the order polled, so `join(BEGIN, walk)` is one round trip with BEGIN first —
//! a claim is two round trips where it was four (BEGIN, walk, update, COMMIT).
//!
//! tokio-postgres's own `Transaction` awaits its BEGIN alone, so the claim keeps
//! this guard instead, with the same promise: dropped before it is closed (an
//! error, a panic, a cancelled future), it queues a ROLLBACK on the connection at
//! once, so no transaction — and no month lock — outlives the claim on its session.

use futures_util::FutureExt;
use tokio_postgres::Client;

use crate::db::DbError;

/// The claim's prepared statements run on their generic plans, planned once per session.
/// Left to choose, PostgreSQL planned the walk and the update afresh on every claim (a
/// custom plan: their generic plans' estimates never won), which cost more than it saved
/// (≈ 9 % of a drain's time, `cargo bench --bench claim_drain`). The pooled claim's
/// functions are declared with the same setting.
///
/// A generic plan is kept until the server invalidates it (an ANALYZE, a schema change),
/// so it must not depend on how big a table was when it was made: planned while the queue
/// was empty, the walk read the whole queue for every month it looked at once the queue
/// had grown (a backlog) — until autovacuum analyzed it again. Sequential scans are off in
/// the claim's transaction, so each plan reaches every row by its key whatever the
/// statistics said (`tests/database/claim_plans.rs`). Both settings exist from PostgreSQL
/// 12, any role may set them, and `LOCAL` ends them with the claim.
pub(super) const GENERIC_PLANS: &str = "SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off";

/// An open claim transaction on `client`; ROLLBACK on drop unless [`Open::closed`].
pub struct Open<'a> {
    client: &'a Client,
    closed: bool,
}

impl<'a> Open<'a> {
    /// The guard, before BEGIN is sent (a ROLLBACK with no transaction open is only
    /// a warning).
    pub fn new(client: &'a Client) -> Self {
        Self { client, closed: false }
    }

    /// BEGIN with [`GENERIC_PLANS`], and through a transaction pooler the safety
    /// settings for this transaction only, as one simple query.
    pub async fn begin(&self, local_settings: Option<&str>) -> Result<(), DbError> {
        let sql = match local_settings {
            Some(settings) => format!("BEGIN; {GENERIC_PLANS}; {settings}"),
            None => format!("BEGIN; {GENERIC_PLANS}"),
        };
        self.client.batch_execute(&sql).await.map_err(|e| DbError::query("begin the claim", e))
    }

    /// COMMIT now (nothing else is in flight).
    pub async fn commit(mut self) -> Result<(), DbError> {
        self.closed = true;
        self.client.batch_execute("COMMIT").await.map_err(|e| DbError::query("commit the claim", e))
    }

    /// The transaction was ended by a COMMIT sent behind its last statement.
    pub fn closed(mut self) {
        self.closed = true;
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.closed {
            // Polled once: the request is queued on the connection; its answer is not
            // waited for (as tokio-postgres's `Transaction` does on drop).
            let _ = self.client.batch_execute("ROLLBACK").now_or_never();
        }
    }
}
