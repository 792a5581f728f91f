//! The claim's statements as text (executed by [`super::passes`]), and the
//! defective variants the tests switch to, to prove each guard matters.

/// A walk over the candidates `cand(i, id, year, month)` (1-based `i` in walk
/// order), one month at a time — a recursive CTE, so each step runs only after
/// the one before and the walk stops right after the `$2`-th month taken: no
/// month past it is ever locked. `$decide` says what became of one month.
macro_rules! walk {
    ($candidates:expr, $decide:expr) => {
        concat!(
            "WITH RECURSIVE cand AS MATERIALIZED (",
            $candidates,
            "), arr AS MATERIALIZED (
                SELECT array_agg(id ORDER BY i) AS ids, array_agg(year ORDER BY i) AS years,
                       array_agg(month ORDER BY i) AS months, count(*)::int AS n FROM cand),
            walk (i, taken, outcome) AS (
                SELECT 0, 0, NULL::text
              UNION ALL
                SELECT w.i + 1, w.taken + (o.outcome = 'taken')::int, o.outcome
                FROM walk w CROSS JOIN arr a
                CROSS JOIN LATERAL (SELECT a.ids[w.i + 1] AS id, a.years[w.i + 1] AS year,
                                           a.months[w.i + 1] AS month) c
                CROSS JOIN LATERAL (SELECT ",
            $decide,
            " AS outcome) o
                WHERE w.i < a.n AND w.taken < $2)
            SELECT c.id, c.year, c.month, w.outcome FROM cand c LEFT JOIN walk w USING (i) ORDER BY c.i"
        )
    };
}

/// One month of a walk: its advisory lock first; then, holding it, the row is read
/// again FOR NO KEY UPDATE — which in READ COMMITTED sees the latest committed version,
/// not this statement's snapshot — so a month another scheduler claimed and committed
/// while the walk ran is `gone` instead of taken (it would only come back raced from the
/// UPDATE and cost the batch a month). SKIP LOCKED: a row somebody is changing right now
/// is `gone` too, and the walk never blocks. The row lock is the one our UPDATE takes
/// anyway. Last, a month whose live message this statement can see is `queued`, not
/// taken: [`update_and_enqueue`] makes the same check again in a later statement, which
/// is the guard; this one keeps a month held back for its message from taking a batch's
/// place, so that a batch of one never starves on it.
macro_rules! lock_then_recheck {
    ($live:expr) => {
        concat!(
            "CASE WHEN NOT pg_try_advisory_xact_lock((c.year * 100 + c.month)::bigint) THEN 'busy'
              WHEN NOT EXISTS (SELECT 1 FROM backfill_log b WHERE b.id = c.id AND b.status = ANY($1)
                             AND (b.status <> 'failed' OR b.retry_count < ",
            crate::retry_cap!(),
            ") FOR NO KEY UPDATE OF b SKIP LOCKED)
                   THEN 'gone'
              WHEN ",
            $live,
            " THEN 'queued'
              ELSE 'taken' END"
        )
    };
}

/// A live message of the walked month `c`, in the walk's own snapshot.
macro_rules! live_message {
    () => {
        "EXISTS (SELECT 1 FROM backfill_queue q WHERE backfill_message_month(q.message) = c.year * 100 + c.month)"
    };
}

/// The weakened step, for the tests only: the lock alone, no second look.
macro_rules! lock_only {
    () => {
        "CASE WHEN pg_try_advisory_xact_lock((c.year * 100 + c.month)::bigint) THEN 'taken' ELSE 'busy' END"
    };
}

/// The candidate query (SPEC §2 step 2) for one page after a cursor: `$1`
/// statuses, `$3..$4` years, `$5..$6` the cursor (exclusive), `$7` page size,
/// `$8` only these month keys (`year * 100 + month`; NULL: all).
macro_rules! page {
    () => {
        concat!(
            "SELECT (row_number() OVER (ORDER BY year DESC, month DESC))::int AS i, id, year, month FROM backfill_log
         WHERE status = ANY($1) AND (status <> 'failed' OR retry_count < ",
            crate::retry_cap!(),
            ") AND year BETWEEN $3 AND $4
           AND (year, month) < ($5, $6) AND ($8::int[] IS NULL OR year * 100 + month = ANY($8))
         ORDER BY year DESC, month DESC LIMIT $7"
        )
    };
}

/// The months found busy before (`$3` ids), newest first. Each is read by its key (the
/// `OFFSET 0` keeps the planner from joining the list to a scan of the whole table, which
/// a generic plan over a table without statistics did).
macro_rules! again {
    () => {
        "SELECT (row_number() OVER (ORDER BY b.year DESC, b.month DESC))::int AS i, b.id, b.year, b.month
         FROM unnest($3::int[]) AS t(id)
         CROSS JOIN LATERAL (SELECT id, year, month FROM backfill_log WHERE id = t.id OFFSET 0) b"
    };
}

const WALK_PAGE: &str = walk!(page!(), lock_then_recheck!(live_message!()));
const WALK_AGAIN: &str = walk!(again!(), lock_then_recheck!(live_message!()));
const WALK_PAGE_LOCK_ONLY: &str = walk!(page!(), lock_only!());
const WALK_AGAIN_LOCK_ONLY: &str = walk!(again!(), lock_only!());
/// The second look without the live-message check (tests only: the variant that proves
/// the live-message guard matters).
#[cfg(feature = "test-support")]
const WALK_PAGE_NO_LIVE_CHECK: &str = walk!(page!(), lock_then_recheck!("false"));
#[cfg(feature = "test-support")]
const WALK_AGAIN_NO_LIVE_CHECK: &str = walk!(again!(), lock_then_recheck!("false"));

/// The walk statements for `checks`: (a page, the months again).
pub fn walks(checks: Checks) -> (&'static str, &'static str) {
    #[cfg(feature = "test-support")]
    if checks.recheck_after_lock && !checks.live_message {
        return (WALK_PAGE_NO_LIVE_CHECK, WALK_AGAIN_NO_LIVE_CHECK);
    }
    if checks.recheck_after_lock { (WALK_PAGE, WALK_AGAIN) } else { (WALK_PAGE_LOCK_ONLY, WALK_AGAIN_LOCK_ONLY) }
}

/// The claim's guards against a second live message for a month. All are always on;
/// the tests switch them off one at a time, to prove each one on its own prevents the
/// duplicate the existing scheduler sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// The walk reads a month again after taking its lock (latest committed version).
    pub recheck_after_lock: bool,
    /// A message only for a row the guarded UPDATE really changed.
    pub row_count: bool,
    /// No message for a month that has a live one already (left over, redriven, or the
    /// old scheduler's): that month is held back, not claimed.
    pub live_message: bool,
}

impl Checks {
    pub const ALL: Checks = Checks { recheck_after_lock: true, row_count: true, live_message: true };
}

/// SPEC §2 steps 4 and 5 for the months locked in a pass, in one statement (after the
/// walk's, so it sees whatever committed before the locks were taken): the months with
/// a live message already are held back (`$1` ids, `$5` their month keys); the guarded
/// UPDATE of the others (`$2` statuses); then one message (`$3` ids, `$4` messages) for
/// each row it really changed — a month claimed meanwhile gets none. Returns each
/// message's id with its job id, and (its id in the third column) each month held back.
///
/// Every row is reached by its key, whatever the statistics: the ids are joined from the
/// list (`unnest`), and each month's live message is looked up in the queue's month index
/// (`OFFSET 0` keeps it a lookup per month). Written as `id = ANY($1)`, the generic plan
/// made over a table without statistics (a fresh database) scanned all of `backfill_log`
/// twice and every queued message once per claim.
macro_rules! update_and_enqueue {
    ($live:expr, $only_updated:expr) => {
        concat!(
            "WITH queued AS MATERIALIZED (
        SELECT t.id FROM unnest($1::int[], $5::int[]) AS t(id, key) WHERE ",
            $live,
            "),
      updated AS (
        UPDATE backfill_log SET status = 'processing', started_at = now(), completed_at = NULL,
          error_message = NULL, last_retry_at = CASE WHEN status = 'retry' THEN now() ELSE last_retry_at END
        FROM unnest($1::int[]) AS t(id)
        WHERE backfill_log.id = t.id AND t.id NOT IN (SELECT id FROM queued) AND status = ANY($2)
          AND (status <> 'failed' OR retry_count < ",
            crate::retry_cap!(),
            ") RETURNING backfill_log.id),
      sent AS (
        INSERT INTO backfill_queue (message)
        SELECT m.message FROM unnest($3::int[], $4::jsonb[]) WITH ORDINALITY AS m(id, message, i)
        WHERE ",
            $only_updated,
            " ORDER BY m.i
        RETURNING msg_id, message->>'job_id' AS job_id)
    SELECT msg_id, job_id, NULL::int FROM sent UNION ALL SELECT NULL, NULL, id FROM queued"
        )
    };
}

/// A live message of the month `t.key`, looked up in the queue's month index.
macro_rules! live_message_of_key {
    () => {
        "EXISTS (SELECT 1 FROM backfill_queue q WHERE backfill_message_month(q.message) = t.key OFFSET 0)"
    };
}

const UPDATE_AND_ENQUEUE: &str = update_and_enqueue!(live_message_of_key!(), "m.id IN (SELECT id FROM updated)");

/// The same without the row-count guard: every locked month is enqueued, whatever
/// the UPDATE changed (the existing scheduler's defect; tests only).
#[cfg(feature = "test-support")]
const UPDATE_AND_ENQUEUE_UNCHECKED: &str = update_and_enqueue!("false", "true");

/// The same without the live-message guard (tests only).
#[cfg(feature = "test-support")]
const UPDATE_AND_ENQUEUE_NO_LIVE_CHECK: &str = update_and_enqueue!("false", "m.id IN (SELECT id FROM updated)");

/// The live-message guard alone (no row-count guard; tests only).
#[cfg(feature = "test-support")]
const UPDATE_AND_ENQUEUE_LIVE_CHECK_ONLY: &str =
    update_and_enqueue!(live_message_of_key!(), "m.id NOT IN (SELECT id FROM queued)");

/// The update-and-enqueue statement for `checks` (the defective variants exist only for
/// the tests that prove each check matters).
pub fn update_and_enqueue(checks: Checks) -> &'static str {
    #[cfg(feature = "test-support")]
    return match (checks.row_count, checks.live_message) {
        (true, true) => UPDATE_AND_ENQUEUE,
        (true, false) => UPDATE_AND_ENQUEUE_NO_LIVE_CHECK,
        (false, true) => UPDATE_AND_ENQUEUE_LIVE_CHECK_ONLY,
        (false, false) => UPDATE_AND_ENQUEUE_UNCHECKED,
    };
    #[cfg(not(feature = "test-support"))]
    {
        let _ = checks;
        UPDATE_AND_ENQUEUE
    }
}

/// Of the busy months (`$1` ids), those not worth waiting for (read without locking
/// them, in the latest committed version):
/// - no longer claimable (`$2` statuses): another claimer committed it meanwhile, so
///   its lock would only be ours to find the month gone (at the end of a drain every
///   short claimer used to wait a retry pause or more for exactly that);
/// - or whose row another transaction is changing right now: its xmax is a
///   transaction still running (it holds the lock on its own transaction id). That is
///   another claimer in the middle of claiming the month — when it commits, the month
///   is taken.
pub const NOT_WORTH_WAITING: &str = concat!(
    "SELECT b.id FROM unnest($1::int[]) AS t(id)
    CROSS JOIN LATERAL (SELECT id, xmax, status, retry_count FROM backfill_log WHERE id = t.id OFFSET 0) b
    WHERE NOT (b.status = ANY($2) AND (b.status <> 'failed' OR b.retry_count < ",
    crate::retry_cap!(),
    "))
       OR (b.xmax <> '0'::xid
           AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'transactionid' AND l.granted
                         AND l.transactionid = b.xmax))"
);

/// Each statement of the claim exactly as it is sent, to be read whole in review.
#[cfg(test)]
mod statements {
    #[test]
    fn the_claim_statements_as_sent() {
        insta::assert_snapshot!("walk_page", super::WALK_PAGE);
        insta::assert_snapshot!("walk_again", super::WALK_AGAIN);
        insta::assert_snapshot!("not_worth_waiting", super::NOT_WORTH_WAITING);
        insta::assert_snapshot!("update_and_enqueue", super::UPDATE_AND_ENQUEUE);
    }
}
