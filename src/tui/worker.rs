//! The read side: one session that refreshes the snapshot at the interval,
//! reconnects with capped exponential backoff and jitter, and loads details.
//! One refresh at a time: a slow server delays the next, never stacks them.

use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::mpsc;

use crate::app::{DbEvent, WorkerCmd};
use crate::db::connect::{self, ConnSettings, Session, SessionOptions};
use crate::db::{DbError, audit, dead, detail, progress, queue, snapshot};
use crate::model::progress::History;
use crate::model::snapshot::Duplicate;

const BACKOFF_START: Duration = Duration::from_millis(250);
pub const BACKOFF_CAP: Duration = Duration::from_secs(15);
/// After a pushed change, wait this long for the rest of a burst.
const PUSH_DEBOUNCE: Duration = Duration::from_millis(50);
/// The console: at most five pushed refreshes a second, however busy the fleet.
pub const CONSOLE_PUSH_GAP: Duration = Duration::from_millis(200);
/// Longest a snapshot read may take before the link is presumed dead.
const READ_DEADLINE: Duration = Duration::from_secs(5);
/// The audit view: the last week, at most this many rows.
const AUDIT_WINDOW: Duration = Duration::from_secs(7 * 86_400);
const AUDIT_ROWS: i64 = 500;
/// The dead-letter view of a deployment whose queue is elsewhere.
pub const NOT_OUR_QUEUE: &str =
    "this deployment's queue is not the backfill_queue table (queue_depth_query is set): no dead-letter table to show";
/// The dead-letter view reads every reason's count and the newest this many messages.
const DEAD_LETTERS_READ: i64 = 1000;
/// How often the whole queue is read for duplicate messages (it costs a scan).
const DUPLICATES_EVERY: Duration = Duration::from_secs(30);
/// The throughput history changes by the minute (its buckets are hours and ten minutes).
const HISTORY_EVERY: Duration = Duration::from_secs(60);

/// Reads that cost more than a refresh, kept between snapshots and read every so often.
#[derive(Default)]
struct Occasional {
    duplicates: Slot<Vec<Duplicate>>,
    history: Slot<History>,
}

/// The last value read, and when it was last tried.
struct Slot<T> {
    tried: Option<Instant>,
    value: Option<T>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self { tried: None, value: None }
    }
}

/// Reads into `slot` when it was never tried or `every` has passed since; a failure keeps
/// the old value and is logged (once per period): these are extras, never a reason to
/// drop the session.
async fn when_due<T, F, Fut>(slot: &mut Slot<T>, every: Duration, deadline: Duration, what: &str, read: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    if slot.tried.is_some_and(|at| at.elapsed() < every) {
        return;
    }
    slot.tried = Some(Instant::now());
    match tokio::time::timeout(deadline, read()).await {
        Ok(Ok(found)) => slot.value = Some(found),
        Ok(Err(e)) => tracing::warn!("could not read the {what}: {e}"),
        Err(_) => tracing::warn!("reading the {what} took over {}s", deadline.as_secs()),
    }
}

/// `250 ms · 2^attempt`, capped, ±20 % jitter so many consoles do not stampede.
pub fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_START.saturating_mul(1u32 << attempt.min(10)).min(BACKOFF_CAP);
    let jitter = rand::rng().random_range(0.8..1.2);
    base.mul_f64(jitter).min(BACKOFF_CAP)
}

pub struct Worker {
    pub settings: ConnSettings,
    pub options: SessionOptions,
    pub interval: Duration,
    pub commands: mpsc::Receiver<WorkerCmd>,
    pub events: mpsc::Sender<DbEvent>,
    /// LISTEN for pushed changes (polling stays, for locks and as a fallback).
    pub listen: bool,
    /// Least time between two refreshes a push may cause.
    pub min_push_gap: Duration,
    /// The deployment's own queue depth query, if any.
    pub queue_query: Option<String>,
    /// `--record`: every snapshot is handed to the flight recorder.
    pub recorder: Option<super::recorder::RecordSender>,
}

impl Worker {
    pub async fn run(mut self) {
        // The tests' way to prove a panic in a task ends the whole process (see pty tests).
        #[cfg(feature = "test-support")]
        if std::env::var_os("BACKFILL_TEST_PANIC").is_some_and(|v| v == "worker") {
            tokio::time::sleep(Duration::from_millis(500)).await;
            panic!("a test asked the worker to panic");
        }
        let mut session: Option<Session> = None;
        let mut attempt: u32 = 0;
        let mut paused = false;
        let mut next = Instant::now();
        let mut last_refresh = Instant::now();
        // The months and locks of the last snapshot: the server sends them again only when changed.
        let mut known: Option<snapshot::ReadCache> = None;
        // The last look for duplicate queue messages, carried into the snapshots in between.
        let mut occasional = Occasional::default();
        loop {
            if session.as_ref().is_some_and(Session::is_closed) {
                session = None;
            }
            let Some(s) = session.as_mut() else {
                match connect::connect(&self.settings, &self.options).await {
                    Ok(s) => {
                        attempt = 0;
                        // LISTEN is session state: through any pooler it would stay on a server
                        // backend the next client gets (whatever the pooler's reset settings).
                        if self.listen && s.pooling == connect::Pooling::None {
                            // Push: the triggers of migration 004 tell us when something changed.
                            let sql = format!("LISTEN {}", snapshot::CHANGE_CHANNEL);
                            if let Err(e) = s.client.batch_execute(&sql).await {
                                tracing::warn!("LISTEN failed, polling only: {e}");
                            }
                        }
                        let version = s.server_version.clone();
                        let route = crate::app::Route {
                            via: match s.pooling {
                                connect::Pooling::None => crate::app::Via::Direct,
                                connect::Pooling::Session => crate::app::Via::SessionPooler,
                                connect::Pooling::Transaction => crate::app::Via::TransactionPooler,
                                connect::Pooling::Unknown => crate::app::Via::Pooler,
                            },
                            pooler_addr: s.pooler_addr.clone(),
                            safety: s.guards.summary(),
                            safety_ok: s.guards.in_force(),
                        };
                        session = Some(s);
                        if self.events.send(DbEvent::Connected { server_version: version, route }).await.is_err() {
                            return;
                        }
                        next = Instant::now();
                    }
                    Err(e) => {
                        attempt += 1;
                        let event = DbEvent::RefreshFailed { error: e.to_string(), link_lost: true, attempt };
                        if self.events.send(event).await.is_err() {
                            return;
                        }
                        // Wait out the backoff, still obeying commands (and noticing the end).
                        let until = tokio::time::Instant::now() + backoff(attempt);
                        loop {
                            tokio::select! {
                                _ = tokio::time::sleep_until(until) => break,
                                cmd = self.commands.recv() => match cmd {
                                    None => return,
                                    Some(WorkerCmd::SetInterval(d)) => self.interval = d,
                                    Some(WorkerCmd::SetPaused(p)) => paused = p,
                                    Some(WorkerCmd::RefreshNow) => break,
                                    Some(WorkerCmd::LoadMonthDetail(_) | WorkerCmd::LoadAudit | WorkerCmd::LoadDeadLetters) => {}
                                },
                            }
                        }
                    }
                }
                continue;
            };
            let due = tokio::time::Instant::from_std(next);
            tokio::select! {
                _ = tokio::time::sleep_until(due), if !paused => {
                    last_refresh = Instant::now();
                    if !self.refresh(s, &mut attempt, &mut known, &mut occasional).await { session = None; }
                    next = Instant::now() + self.interval;
                }
                // A change was pushed: refresh soon, but never more than 5 times a second.
                Some(_) = s.notifications.recv() => {
                    let soon = Instant::now() + PUSH_DEBOUNCE;
                    let earliest = last_refresh + self.min_push_gap;
                    next = next.min(soon.max(earliest));
                }
                cmd = self.commands.recv() => match cmd {
                    None => return,
                    Some(WorkerCmd::RefreshNow) => next = Instant::now(),
                    Some(WorkerCmd::SetInterval(d)) => { self.interval = d; next = Instant::now() + d; }
                    Some(WorkerCmd::SetPaused(p)) => { paused = p; next = Instant::now(); }
                    Some(WorkerCmd::LoadMonthDetail(month)) => {
                        let lines = match detail::month_detail(&s.client, month).await {
                            Ok(lines) => lines,
                            Err(e) => vec![format!("could not read the month: {e}")],
                        };
                        let _ = self.events.send(DbEvent::MonthDetail { month, lines }).await;
                    }
                    Some(WorkerCmd::LoadAudit) => {
                        let rows = audit::read(&s.client, AUDIT_WINDOW, None, AUDIT_ROWS).await.map_err(|e| e.to_string());
                        let _ = self.events.send(DbEvent::Audit(rows)).await;
                    }
                    Some(WorkerCmd::LoadDeadLetters) => {
                        let messages = match self.queue_query {
                            Some(_) => Err(NOT_OUR_QUEUE.to_string()),
                            None => dead::list(&s.client, None, DEAD_LETTERS_READ).await.map_err(|e| e.to_string()),
                        };
                        let _ = self.events.send(DbEvent::DeadLetters(messages)).await;
                    }
                },
            }
        }
    }

    /// One snapshot; `false` when the session is lost. A silent network sends
    /// no error at all: a client-side deadline cuts it off (a snapshot takes
    /// milliseconds, so seconds mean the link is gone).
    async fn refresh(
        &self,
        s: &Session,
        attempt: &mut u32,
        known: &mut Option<snapshot::ReadCache>,
        occasional: &mut Occasional,
    ) -> bool {
        let deadline = self.options.statement_timeout.min(READ_DEADLINE);
        let read = snapshot::read_incremental_with(
            &s.client,
            s.per_transaction.as_deref(),
            self.queue_query.as_deref(),
            known.as_ref(),
        );
        let result = match tokio::time::timeout(deadline, read).await {
            Ok(Ok((snap, cache))) => {
                *known = Some(cache);
                Ok(snap)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(DbError::Connect {
                target: self.settings.target(),
                reason: format!("no answer within {}s", deadline.as_secs()),
            }),
        };
        match result {
            Ok(mut snap) => {
                // Only for our own queue table, and only every so often (a scan of the queue).
                if self.queue_query.is_none() {
                    let read = || queue::duplicates(&s.client);
                    when_due(&mut occasional.duplicates, DUPLICATES_EVERY, deadline, "duplicate queue messages", read)
                        .await;
                }
                snap.duplicates = occasional.duplicates.value.clone().unwrap_or_default();
                let read = || progress::history(&s.client);
                when_due(&mut occasional.history, HISTORY_EVERY, deadline, "throughput history", read).await;
                snap.history = occasional.history.value.clone();
                if let Some(recorder) = &self.recorder {
                    recorder.snapshot(&snap);
                }
                let _ = self.events.send(DbEvent::Snapshot(Box::new(snap), Instant::now())).await;
                true
            }
            Err(e) => {
                let lost = s.is_closed() || e.is_connection_loss();
                if lost {
                    *attempt += 1;
                }
                let event = DbEvent::RefreshFailed { error: e.to_string(), link_lost: lost, attempt: *attempt };
                let _ = self.events.send(event).await;
                !lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) >= Duration::from_millis(200) && backoff(0) <= Duration::from_millis(300));
        assert!(backoff(3) >= Duration::from_millis(1600));
        for attempt in [10, 20, 1000] {
            assert!(backoff(attempt) <= BACKOFF_CAP);
            assert!(backoff(attempt) >= BACKOFF_CAP.mul_f64(0.8));
        }
    }
}
