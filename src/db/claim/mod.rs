//! The one claim routine (SPEC §2), used by the console, the headless `claim`
//! command and the demo fleet.
//!
//! Everything happens in ONE transaction on ONE session: read candidates, take
//! their advisory locks, flip the rows with a guarded UPDATE, and — only for the
//! rows it really updated — enqueue the messages into the queue table in the same
//! transaction, audit, commit. How the candidates are walked so that concurrent
//! claimers do not wait on each other is in `passes`.
//!
//! The month locks are taken with `pg_try_advisory_xact_lock(key::bigint)`: the
//! same lock space and key as the fleet's session-level
//! `pg_try_advisory_lock(key::bigint)`, so the two exclude each other, but the
//! server itself releases them at COMMIT or ROLLBACK on the session that took
//! them. That makes the release hold on every path — an error (the transaction
//! is rolled back), a panic or a dropped future (the guard's drop queues a
//! ROLLBACK on the same connection: `open`), a dead connection (the server ends
//! the session) — where a session lock needs an `unlock` that a dropped future can
//! never run.

mod dry_run;
pub mod functions;
mod message;
mod open;
mod passes;
mod sql;
pub mod steps;

use crate::model::audit::Action;
use std::time::Instant;

use futures_util::future::join;
use tokio_postgres::Client;

use crate::model::Status;
use crate::model::lock_key::YearMonth;

use open::Open;
use passes::Month;
pub use sql::Checks;

/// The settings the claim's transaction runs its statements under (tests: their query plans).
#[cfg(feature = "test-support")]
pub const TRANSACTION_SETTINGS: &str = open::GENERIC_PLANS;

/// The claim's statements as sent, by name (tests: their query plans).
#[cfg(feature = "test-support")]
pub fn statements() -> [(&'static str, &'static str); 4] {
    let (page, again) = sql::walks(Checks::ALL);
    [
        ("walk_page", page),
        ("walk_again", again),
        ("not_worth_waiting", sql::NOT_WORTH_WAITING),
        ("update_and_enqueue", sql::update_and_enqueue(Checks::ALL)),
    ]
}
use uuid::Uuid;

pub use crate::model::claim::{Candidate, ClaimParams, ClaimReport, Claimed, YearRange, params, report};
pub use steps::{Step, StepObserver};

use super::DbError;
use super::audit::{self, Actor, AuditEntry};
use super::connect::Session;
use super::statements::Statements;

/// Runs the claim routine once. `actor` = `Some` writes the audit row in the
/// claim's own transaction (the demo fleet, standing in for the production
/// schedulers, passes `None`).
pub async fn claim(session: &mut Session, params: &ClaimParams, actor: Option<&Actor>) -> Result<ClaimReport, DbError> {
    run(session, params, actor, None, Checks::ALL).await
}

/// [`claim`], pausing at every [`Step`] for the observer (deterministic interleaving tests).
#[cfg(feature = "test-support")]
pub async fn claim_observed(
    session: &mut Session,
    params: &ClaimParams,
    actor: Option<&Actor>,
    observer: &dyn StepObserver,
) -> Result<ClaimReport, DbError> {
    run(session, params, actor, Some(observer), Checks::ALL).await
}

/// [`claim`] with some of its [`Checks`] switched off — the tests' proof that
/// each one matters. With none, it is the existing scheduler's behaviour.
#[cfg(feature = "test-support")]
pub async fn claim_weakened(
    session: &mut Session,
    params: &ClaimParams,
    observer: Option<&dyn StepObserver>,
    checks: Checks,
) -> Result<ClaimReport, DbError> {
    run(session, params, None, observer, checks).await
}

async fn run(
    session: &mut Session,
    params: &ClaimParams,
    actor: Option<&Actor>,
    observer: Option<&dyn StepObserver>,
    checks: Checks,
) -> Result<ClaimReport, DbError> {
    params.validate().map_err(|e| DbError::Refused(format!("claim refused: {e}")))?;
    if params.dry_run {
        return dry_run::report(&session.client, params).await;
    }
    let local = session.per_transaction.clone();
    let result =
        transact(&mut session.client, &mut session.statements, local.as_deref(), params, actor, observer, checks).await;
    if let (Err(e), Some(actor)) = (&result, actor) {
        // The transaction is gone (rolled back); record the failure on its own.
        if !e.is_connection_loss() {
            let outcome = format!("failed: {e}");
            let entry = claim_audit_entry(params, &outcome, None);
            audit::record_best_effort(&session.client, actor, &entry).await;
        }
    }
    result
}

async fn transact(
    client: &mut Client,
    statements: &mut Statements,
    local_settings: Option<&str>,
    params: &ClaimParams,
    actor: Option<&Actor>,
    observer: Option<&dyn StepObserver>,
    checks: Checks,
) -> Result<ClaimReport, DbError> {
    let wanted = params.claimable_statuses();
    let statuses: Vec<&str> = wanted.iter().map(Status::as_str).collect();
    let batch = usize::try_from(params.batch_size).unwrap_or(0);
    let only = params.month_keys();
    let client: &Client = client;
    let years = (params.years.from, params.years.to);
    let page_of = |after: YearMonth, wanted: usize| passes::Page {
        years,
        after,
        size: i64::try_from(wanted).unwrap_or(1) * passes::PAGE_FACTOR,
        only: only.as_deref(),
    };
    passes::find_functions(client, statements).await?;
    // BEGIN goes out with the first page's walk, in one round trip (see [`open`]).
    let open = Open::new(client);
    let first_page = page_of(passes::before_first(params.years.to), batch);
    let walk = passes::walk_page(client, statements, &statuses, first_page, batch, checks);
    let (begun, first) = join(open.begin(local_settings), walk).await;
    begun?;
    let mut first = Some(first?);
    let mut claim = Batch {
        tx: client,
        statements,
        statuses: &statuses,
        observer,
        checks,
        report: ClaimReport::default(),
        oldest_locked: None,
        // COMMIT may go right behind the update when nothing can follow it: no audit row
        // to write, no observer to pause for, and the update cannot come back short (the
        // walk's second look row-locked every month it took).
        may_commit_with_update: actor.is_none() && observer.is_none() && checks.recheck_after_lock,
        committed: false,
    };
    // Walk the candidates newest first, page by page, passing over months whose
    // lock somebody holds, until the batch is full or none are left.
    let mut busy: Vec<Month> = Vec::new();
    let mut untried: Vec<Month> = Vec::new();
    let mut cursor = first_page.after;
    let mut more_pages = true;
    while claim.wanted(batch) > 0 {
        let page =
            if first.is_some() || untried.is_empty() { Some(page_of(cursor, claim.wanted(batch))) } else { None };
        let pass = if let Some(pass) = first.take() {
            pass
        } else if !untried.is_empty() {
            // A month taken turned out raced: the rest of the page is still to walk.
            passes::walk_again(client, claim.statements, &untried, &statuses, claim.wanted(batch), checks).await?
        } else if let (true, Some(page)) = (more_pages, page) {
            passes::walk_page(client, claim.statements, &statuses, page, claim.wanted(batch), checks).await?
        } else {
            break;
        };
        if let Some(page) = page {
            more_pages = i64::try_from(pass.read).unwrap_or(i64::MAX) >= page.size;
            match pass.last {
                Some(last) => cursor = last,
                None => break,
            }
        }
        pause(observer, Step::Walked).await;
        busy.extend(&pass.busy);
        untried = pass.untried;
        claim.held_back(&pass.queued);
        let last = claim.may_commit_with_update && pass.taken.len() >= claim.wanted(batch);
        claim.take(&pass.taken, &pass.gone, last).await?;
        if claim.committed {
            // A month held back by the update (a live message committed between the walk's
            // snapshot and its lock: rare) leaves the batch short; it ends here.
            break;
        }
    }
    // Still short and some months were busy: retry their locks, pausing 5 ms
    // doubling up to the retry interval, for up to the lock wait (SPEC §2 step 3)
    // — but only months older than every month this claim has locked. Waiting on
    // a month passed over while holding a later one could wait on a claimer that
    // waits on us (a cycle PostgreSQL cannot see, as both only poll); with this
    // rule every waiter waits "down" the walk order — as the existing fleet does,
    // locking newest first — so no cycle can form. Nor is a month waited for
    // whose row another transaction is changing right now (it is being claimed),
    // or that another claimer has claimed since the walk read it.
    let mut passed_over: Vec<Month> = Vec::new();
    let started = Instant::now();
    let mut retries = 0;
    while !claim.committed {
        let (waitable, not): (Vec<Month>, Vec<Month>) = busy.into_iter().partition(|m| claim.may_wait_for(m));
        passed_over.extend(not);
        busy = waitable;
        if claim.wanted(batch) == 0 || busy.is_empty() || started.elapsed() >= params.lock_wait {
            break;
        }
        let (waitable, not_worth) = passes::worth_waiting_for(client, claim.statements, busy, &statuses).await?;
        passed_over.extend(not_worth);
        busy = waitable;
        let waited = started.elapsed();
        if busy.is_empty() || waited >= params.lock_wait {
            break;
        }
        tokio::time::sleep(params.retry_pause(retries).min(params.lock_wait - waited)).await;
        retries += 1;
        pause(observer, Step::Retry).await;
        let pass = passes::walk_again(client, claim.statements, &busy, &statuses, claim.wanted(batch), checks).await?;
        pause(observer, Step::Walked).await;
        busy = pass.busy.into_iter().chain(pass.untried).collect();
        claim.held_back(&pass.queued);
        claim.take(&pass.taken, &pass.gone, false).await?;
    }
    let committed = claim.committed;
    let mut report = claim.report;
    passed_over.extend(busy);
    passed_over.sort_by_key(|m| std::cmp::Reverse(m.month));
    report.skipped_locked = passed_over.iter().map(|m| m.month).collect();
    if committed {
        open.closed();
        return Ok(report);
    }
    pause(observer, Step::BeforeCommit).await;
    // COMMIT releases every month lock taken above, on this same session.
    match actor {
        Some(actor) => {
            let summary = report.summary();
            let detail = serde_json::to_value(&report).ok();
            let entry = claim_audit_entry(params, &summary, detail);
            // The audit row and COMMIT in one round trip: a failed insert makes the
            // COMMIT a rollback, and its error is the claim's.
            let (recorded, committed) = join(audit::record(client, actor, &entry), open.commit()).await;
            report.audit_id = Some(recorded?);
            committed?;
        }
        None => open.commit().await?,
    }
    Ok(report)
}

/// The claim in progress: what it has done so far, and how it takes locked months.
struct Batch<'a> {
    tx: &'a Client,
    statements: &'a mut Statements,
    statuses: &'a [&'a str],
    observer: Option<&'a dyn StepObserver>,
    checks: Checks,
    report: ClaimReport,
    /// The oldest month whose lock this claim holds (taken, raced or gone).
    oldest_locked: Option<YearMonth>,
    /// The last update may carry the COMMIT (see [`transact`]).
    may_commit_with_update: bool,
    /// The transaction was committed with the last update.
    committed: bool,
}

impl Batch<'_> {
    /// How many more months the batch wants. A month found raced leaves room
    /// for another.
    fn wanted(&self, batch: usize) -> usize {
        batch.saturating_sub(self.report.claimed.len())
    }

    fn hold(&mut self, month: YearMonth) {
        self.oldest_locked = Some(self.oldest_locked.map_or(month, |o| o.min(month)));
    }

    /// Months the walk locked and found a live message for: left alone (their locks
    /// are ours until the commit, like a taken month's).
    fn held_back(&mut self, queued: &[Month]) {
        for m in queued {
            self.hold(m.month);
            self.report.skipped_queued.push(m.month);
        }
    }

    /// Whether waiting for this month's lock keeps the wait order (see above).
    fn may_wait_for(&self, m: &Month) -> bool {
        self.oldest_locked.is_none_or(|oldest| m.month < oldest)
    }

    /// Marks the months just locked `processing` and enqueues a message for
    /// each one the guarded UPDATE really changed — never for one it did not.
    /// (`gone` months were claimed by somebody else since they were read.)
    /// `last`: COMMIT goes right behind the update, ending the claim.
    async fn take(&mut self, locked: &[Month], gone: &[Month], last: bool) -> Result<(), DbError> {
        for m in gone {
            // Its lock is ours until the commit, like a taken month's.
            self.hold(m.month);
            self.report.skipped_raced.push(m.month);
        }
        if locked.is_empty() {
            return Ok(());
        }
        for m in locked {
            self.hold(m.month);
            pause(self.observer, Step::Locked(m.month)).await;
        }
        let jobs: Vec<Uuid> = locked.iter().map(|_| Uuid::new_v4()).collect();
        let messages: Vec<serde_json::Value> =
            locked.iter().zip(&jobs).map(|(m, job)| message::message(*job, m.month)).collect();
        let sent =
            passes::update_and_enqueue(self.tx, self.statements, locked, self.statuses, &messages, self.checks, last)
                .await?;
        self.committed = last;
        for m in locked {
            pause(self.observer, Step::Updated(m.month)).await;
        }
        for (m, job_id) in locked.iter().zip(jobs) {
            let job = job_id.to_string();
            if sent.queued.contains(&m.id) {
                // Its message is still live (left over, redriven): a second would run the work twice.
                self.report.skipped_queued.push(m.month);
                continue;
            }
            let Some(&(msg_id, _)) = sent.messages.iter().find(|(_, j)| *j == job) else {
                // The guarded UPDATE changed no row: claimed by somebody else meanwhile.
                self.report.skipped_raced.push(m.month);
                continue;
            };
            let month = m.month;
            self.report.claimed.push(Claimed {
                year: month.year,
                month: month.month,
                job_id,
                prompt_variant: crate::model::claim::prompt_variant(month.year).to_string(),
                msg_id,
            });
        }
        Ok(())
    }
}

async fn pause(observer: Option<&dyn StepObserver>, step: Step) {
    if let Some(observer) = observer {
        observer.at(step).await;
    }
}

fn claim_audit_entry<'a>(params: &ClaimParams, outcome: &'a str, detail: Option<serde_json::Value>) -> AuditEntry<'a> {
    AuditEntry {
        action: Action::Claim,
        target: None,
        target_pid: None,
        parameters: serde_json::to_value(params).unwrap_or_default(),
        outcome,
        detail,
    }
}
