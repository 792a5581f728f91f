//! The worker's reads: which parts each refresh reads (`snapshot::ReadPlan`), the
//! occasional reads, and the relay — a leader publishes each read, a follower applies
//! the leader's and reads for itself only when it must.

use std::time::{Duration, Instant};

use super::{READ_DEADLINE, Worker};
use crate::app::{DbEvent, RelayRole};
use crate::db::connect::{RelayNotice, Session};
use crate::db::relay::wire::Publication;
use crate::db::{DbError, snapshot};
use crate::model::Snapshot;
use crate::ops::occasional::Occasional;
use crate::tui::relay::{Heard, Relay};

/// What started a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Read everything (the first read, after a pause, the operator asked).
    Everything,
    /// The interval came round.
    Regular,
    /// A push brought a read of the months forward.
    Early,
}

pub struct Reads {
    reader: snapshot::Reader,
    plan: snapshot::ReadPlan,
    occasional: Occasional,
    relay: Relay,
    /// What the header was last told.
    relay_shown: Option<RelayRole>,
    /// The followed leader's least gap between pushed reads.
    leader_push_gap: Option<Duration>,
}

impl Reads {
    pub fn new(queue_query: Option<String>) -> Self {
        let own_queue = queue_query.is_none();
        Self {
            reader: snapshot::Reader::new(queue_query),
            plan: snapshot::ReadPlan::new(false, own_queue),
            occasional: Occasional::default(),
            relay: Relay::off(),
            relay_shown: None,
            leader_push_gap: None,
        }
    }

    /// A new session: push or not, and the relay joined when push works and the config
    /// allows it.
    pub async fn connected(&mut self, w: &Worker, s: &Session, push: bool) {
        self.plan = snapshot::ReadPlan::new(push, w.queue_query.is_none());
        self.relay = if push && w.relay { Relay::join(s, &w.relay_trust).await } else { Relay::off() };
        self.leader_push_gap = None;
        self.show_relay(w).await;
    }

    /// One refresh; `false` when the session is lost. A follower that heard its leader
    /// lately reads nothing (but the pushed months, when it wants them faster).
    pub async fn tick(&mut self, w: &Worker, s: &Session, tick: Tick, attempt: &mut u32) -> bool {
        let grace = w.interval + w.interval.max(Duration::from_secs(1));
        if tick != Tick::Everything && self.relay.following(grace) {
            let faster = self.leader_push_gap.is_some_and(|gap| gap > w.min_push_gap);
            if !(tick == Tick::Early && faster) {
                return true;
            }
        } else if tick == Tick::Regular && !self.relay.leads() && self.relay.take_over(s).await {
            self.show_relay(w).await;
        }
        let now = Instant::now();
        let parts = match tick {
            Tick::Everything => snapshot::Parts::ALL,
            Tick::Regular => self.plan.regular(now),
            Tick::Early => self.plan.early(now),
        };
        self.read(w, s, parts, attempt).await
    }

    /// A change notification: whether it asks for a read before the next regular one.
    pub fn pushed(&mut self, payload: &str) -> bool {
        self.plan.pushed(payload)
    }

    /// A piece of a publication on the relay's channel.
    pub async fn heard(&mut self, w: &Worker, s: &Session, notice: RelayNotice, attempt: &mut u32) -> bool {
        let heard = self.relay.hear(s, notice).await;
        self.show_relay(w).await;
        match heard {
            Heard::Nothing => true,
            Heard::Publication(p) => {
                let p = *p;
                self.leader_push_gap = Some(Duration::from_millis(p.push_gap_ms));
                self.occasional.store(p.duplicates, p.history);
                match self.reader.apply(&p.document) {
                    Some(mut snap) => {
                        snap.duplicates = self.occasional.duplicates();
                        snap.history = self.occasional.history();
                        self.relay.applied();
                        self.deliver(w, snap).await;
                        true
                    }
                    // Not from what this console holds: read everything once.
                    None => self.make_up(w, s, attempt).await,
                }
            }
            Heard::Lost => self.make_up(w, s, attempt).await,
        }
    }

    /// A publication could not be followed: read everything for ourselves once.
    async fn make_up(&mut self, w: &Worker, s: &Session, attempt: &mut u32) -> bool {
        let alive = self.read(w, s, snapshot::Parts::ALL, attempt).await;
        self.relay.applied();
        alive
    }

    /// A paused console stops reading, and a paused leader lets another lead.
    pub async fn paused(&mut self, w: &Worker, s: &Session) {
        self.relay.step_down(s).await;
        self.show_relay(w).await;
    }

    async fn show_relay(&mut self, w: &Worker) {
        let status = self.relay.status();
        if status != self.relay_shown {
            self.relay_shown = status.clone();
            let _ = w.events.send(DbEvent::Relay(status)).await;
        }
    }

    /// Reads `parts`, and the occasional reads when due; hands the snapshot on, and a
    /// leader publishes it. A silent network sends no error at all: a client-side
    /// deadline cuts it off (a snapshot takes milliseconds, so seconds mean the link is gone).
    async fn read(&mut self, w: &Worker, s: &Session, parts: snapshot::Parts, attempt: &mut u32) -> bool {
        let deadline = w.options.statement_timeout.min(READ_DEADLINE);
        let started = Instant::now();
        let result = match tokio::time::timeout(deadline, self.reader.read(s, parts)).await {
            Ok(Ok(read)) => Ok(read),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(DbError::Connect {
                target: w.settings.target(),
                reason: format!("no answer within {}s", deadline.as_secs()),
            }),
        };
        match result {
            Ok(read) => {
                self.plan.read(parts, started, read.snapshot.taken_at, self.reader.cache());
                let mut snap = read.snapshot;
                let fresh = self.occasional.read_when_due(s, w.queue_query.is_none(), deadline).await;
                snap.duplicates = self.occasional.duplicates();
                snap.history = self.occasional.history();
                if self.relay.leads() {
                    let publication = Publication {
                        seq: self.relay.next_seq(),
                        document: read.document,
                        push_gap_ms: u64::try_from(w.min_push_gap.as_millis()).unwrap_or(u64::MAX),
                        duplicates: fresh.duplicates.then(|| snap.duplicates.clone()),
                        history: if fresh.history { snap.history.clone() } else { None },
                    };
                    self.relay.publish(s, publication, self.reader.cache().notify_usage()).await;
                }
                self.deliver(w, snap).await;
                true
            }
            Err(e) => {
                self.plan.failed();
                let lost = s.is_closed() || e.is_connection_loss();
                if lost {
                    *attempt += 1;
                }
                let event = DbEvent::RefreshFailed { error: e.to_string(), link_lost: lost, attempt: *attempt };
                let _ = w.events.send(event).await;
                !lost
            }
        }
    }

    async fn deliver(&self, w: &Worker, snap: Snapshot) {
        if let Some(recorder) = &w.recorder {
            recorder.snapshot(&snap);
        }
        let _ = w.events.send(DbEvent::Snapshot(Box::new(snap), Instant::now())).await;
    }
}
