//! The read side: one session that refreshes the snapshot at the interval,
//! reconnects with capped exponential backoff and jitter, and loads details.
//! One refresh at a time: a slow server delays the next, never stacks them.

mod reads;

use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::mpsc;

use crate::app::{DbEvent, WorkerCmd};
use crate::db::connect::{self, ConnSettings, Session, SessionOptions};
use crate::db::{audit, detail, snapshot};
use reads::{Reads, Tick};

const BACKOFF_START: Duration = Duration::from_millis(250);
pub const BACKOFF_CAP: Duration = Duration::from_secs(15);
/// After a pushed change, wait this long for the rest of a burst.
const PUSH_DEBOUNCE: Duration = Duration::from_millis(50);
/// The console: at most five pushed refreshes a second, however busy the fleet.
pub const CONSOLE_PUSH_GAP: Duration = Duration::from_millis(200);
/// Longest a snapshot read may take before the link is presumed dead.
const READ_DEADLINE: Duration = Duration::from_secs(5);
/// The audit view: at most this many rows of its window (`model::audit::WINDOW`).
const AUDIT_ROWS: i64 = 500;
/// The dead-letter view of a deployment whose queue is elsewhere.
pub const NOT_OUR_QUEUE: &str =
    "this deployment's queue is not the backfill_queue table (queue_depth_query is set): no dead-letter table to show";
/// The dead-letter view reads every reason's count and the newest this many messages.
const DEAD_LETTERS_READ: i64 = 1000;

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
    /// Share reads with the other consoles on the database (`db::relay`).
    pub relay: bool,
    /// Users besides our own whose console we follow when it reads for the others.
    pub relay_trust: Vec<String>,
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
        // A read a push brought forward (the months changed), before `next`.
        let mut early: Option<Instant> = None;
        let mut everything = true;
        let mut last_refresh = Instant::now();
        // What was read, what to read next, and the relay (kept across reconnects).
        let mut reads = Reads::new(self.queue_query.clone());
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
                        let mut push = false;
                        if self.listen && s.pooling == connect::Pooling::None {
                            // Push: the triggers of migration 004 tell us when something changed.
                            let sql = format!("LISTEN {}", snapshot::CHANGE_CHANNEL);
                            match s.client.batch_execute(&sql).await {
                                Ok(()) => push = snapshot::triggers_in_force(&s.client).await,
                                Err(e) => tracing::warn!("LISTEN failed, polling only: {e}"),
                            }
                            if !push {
                                tracing::info!(
                                    "no change notifications from this database: every refresh reads everything"
                                );
                            }
                        }
                        reads.connected(&self, &s, push).await;
                        early = None;
                        let version = s.server_version.clone();
                        let route = crate::app::Route {
                            via: s.pooling.via(),
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
            let due = tokio::time::Instant::from_std(early.map_or(next, |e| e.min(next)));
            tokio::select! {
                _ = tokio::time::sleep_until(due), if !paused => {
                    let now = Instant::now();
                    let regular = now >= next;
                    let tick = match (everything, regular) {
                        (true, _) => Tick::Everything,
                        (false, true) => Tick::Regular,
                        (false, false) => Tick::Early,
                    };
                    (early, everything, last_refresh) = (None, false, now);
                    if regular {
                        next = now + self.interval;
                    }
                    if !reads.tick(&self, s, tick, &mut attempt).await { session = None; }
                }
                // A piece of what the console reading for the others published.
                Some(notice) = s.relay.recv(), if !paused => {
                    if !reads.heard(&self, s, notice, &mut attempt).await { session = None; }
                }
                // The months changed: read them soon, but never more than 5 times a second.
                // Other changes wait for the regular refresh.
                Some(payload) = s.notifications.recv() => {
                    if reads.pushed(&payload) {
                        let at = (Instant::now() + PUSH_DEBOUNCE).max(last_refresh + self.min_push_gap);
                        if at < next {
                            early = Some(early.map_or(at, |e| e.min(at)));
                        }
                    }
                }
                cmd = self.commands.recv() => match cmd {
                    None => return,
                    Some(WorkerCmd::RefreshNow) => { next = Instant::now(); everything = true; }
                    Some(WorkerCmd::SetInterval(d)) => { self.interval = d; next = Instant::now() + d; }
                    Some(WorkerCmd::SetPaused(p)) => {
                        paused = p;
                        next = Instant::now();
                        everything = true;
                        if p {
                            reads.paused(&self, s).await;
                        }
                    }
                    Some(WorkerCmd::LoadMonthDetail(month)) => {
                        let lines = match detail::month_detail(&s.client, month).await {
                            Ok(lines) => lines,
                            Err(e) => vec![format!("could not read the month: {e}")],
                        };
                        let _ = self.events.send(DbEvent::MonthDetail { month, lines }).await;
                    }
                    Some(WorkerCmd::LoadAudit) => {
                        let rows = audit::read(&s.client, crate::model::audit::WINDOW, None, AUDIT_ROWS).await.map_err(|e| e.to_string());
                        let _ = self.events.send(DbEvent::Audit(rows)).await;
                    }
                    Some(WorkerCmd::LoadDeadLetters) => {
                        let messages = match self.queue_query {
                            Some(_) => Err(NOT_OUR_QUEUE.to_string()),
                            None => crate::ops::dead::list(s, None, DEAD_LETTERS_READ).await.map_err(|e| e.to_string()),
                        };
                        let _ = self.events.send(DbEvent::DeadLetters(messages)).await;
                    }
                },
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
