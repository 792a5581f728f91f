//! The worker's part in the relay (`db::relay`): whether it leads (reads and publishes)
//! or follows (applies what the leader published, and reads for itself only when it must).

use std::time::{Duration, Instant};

use crate::app::RelayRole;
use crate::db::connect::{RelayNotice, Session};
use crate::db::relay::{self, Leader, wire};

/// A leader is looked up again at most this often when pieces come from another session
/// (anyone may NOTIFY on the channel: never a lookup per payload).
const LOOKUP_EVERY: Duration = Duration::from_secs(5);
/// A followed leader is checked again this often (it still holds the lock).
const RECHECK_EVERY: Duration = Duration::from_secs(60);

pub struct Relay {
    role: Role,
    /// Users whose leadership is followed: this session's own, and the config's.
    trusted: Vec<String>,
    assembler: wire::Assembler,
    /// Leader: the last publication's number. Follower: the last one applied.
    seq: Option<u64>,
    /// Follower: when the last publication was applied.
    heard: Option<Instant>,
    /// When a leader was last looked up.
    looked_up: Option<Instant>,
    my_pid: i32,
    queue_full_warned: bool,
    /// The leader's publication statement, prepared on its session.
    publish: Option<tokio_postgres::Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Off,
    Leader,
    /// Following `leader` when it is trusted.
    Follower {
        leader: Option<Leader>,
        trusted: bool,
    },
}

/// What a follower does with a piece of a publication.
pub enum Heard {
    Nothing,
    /// A whole publication from the trusted leader, next in order.
    Publication(Box<wire::Publication>),
    /// One was lost (a piece dropped, one skipped): read for yourself once.
    Lost,
}

impl Relay {
    pub fn off() -> Self {
        Self {
            role: Role::Off,
            trusted: Vec::new(),
            assembler: wire::Assembler::default(),
            seq: None,
            heard: None,
            looked_up: None,
            my_pid: 0,
            queue_full_warned: false,
            publish: None,
        }
    }

    /// Joins the relay on a session that LISTENs on the change channel: listens on the
    /// relay's, then leads if nobody does. Any failure leaves the relay off (the console
    /// reads for itself, as it always could).
    pub async fn join(session: &Session, trust: &[String]) -> Self {
        let mut relay = Self::off();
        let joined = async {
            session
                .client
                .batch_execute(&format!("LISTEN {}", relay::CHANNEL))
                .await
                .map_err(|e| crate::db::DbError::query("listen to the relay", e))?;
            let me = relay::session_user(&session.client).await?;
            let leads = relay::try_lead(&session.client).await?;
            Ok::<_, crate::db::DbError>((me, leads))
        };
        match joined.await {
            Ok((me, leads)) => {
                relay.trusted = std::iter::once(me).chain(trust.iter().cloned()).collect();
                relay.my_pid = session.backend_pid;
                relay.role = if leads { Role::Leader } else { Role::Follower { leader: None, trusted: false } };
            }
            Err(e) => tracing::info!("no shared reads on this session: {e}"),
        }
        relay
    }

    pub fn leads(&self) -> bool {
        self.role == Role::Leader
    }

    /// What the header shows.
    pub fn status(&self) -> Option<RelayRole> {
        match &self.role {
            Role::Off => None,
            Role::Leader => Some(RelayRole::Leads),
            Role::Follower { leader: Some(l), trusted: true } => {
                Some(RelayRole::Follows { pid: l.pid, user: l.user.clone().unwrap_or_default() })
            }
            Role::Follower { .. } => Some(RelayRole::ReadsAlone),
        }
    }

    /// A follower that heard its leader within `within` needs no read of its own.
    pub fn following(&self, within: Duration) -> bool {
        matches!(self.role, Role::Follower { trusted: true, .. }) && self.heard.is_some_and(|at| at.elapsed() <= within)
    }

    /// A follower whose leader fell silent tries to lead (the lock is free once the
    /// leader's session is gone). Returns whether it now leads.
    pub async fn take_over(&mut self, session: &Session) -> bool {
        if !matches!(self.role, Role::Follower { .. }) {
            return self.leads();
        }
        if let Ok(true) = relay::try_lead(&session.client).await {
            tracing::info!("this console now reads for the others (relay lead)");
            self.role = Role::Leader;
            self.seq = None;
        }
        self.leads()
    }

    /// A paused leader lets another console lead.
    pub async fn step_down(&mut self, session: &Session) {
        if self.leads() {
            let _ = relay::resign(&session.client).await;
            self.role = Role::Follower { leader: None, trusted: false };
            self.heard = None;
        }
    }

    /// Leader: publishes a read (and the occasional reads) to the followers, unless the
    /// server's NOTIFY queue is filling (then the followers read for themselves).
    pub async fn publish(&mut self, session: &Session, publication: wire::Publication, queue_usage: Option<f64>) {
        if !self.leads() {
            return;
        }
        if queue_usage.is_some_and(|u| u > relay::MAX_QUEUE_USAGE) {
            if !self.queue_full_warned {
                tracing::warn!(
                    "the server's NOTIFY queue is {:.1} % full (a listener somewhere is not reading): not publishing reads to other consoles",
                    queue_usage.unwrap_or(0.0) * 100.0
                );
                self.queue_full_warned = true;
            }
            return;
        }
        self.queue_full_warned = false;
        let Some(payloads) = wire::cut(&publication) else {
            return; // too big: the followers see the gap and read for themselves
        };
        if self.publish.is_none() {
            self.publish = relay::prepare_publish(&session.client).await.ok();
        }
        let sent = match &self.publish {
            Some(statement) => relay::publish_prepared(&session.client, statement, &payloads).await,
            None => relay::publish(&session.client, &payloads).await,
        };
        match sent {
            Ok(()) => self.seq = Some(publication.seq),
            Err(e) => tracing::debug!("{e}"),
        }
    }

    /// Leader: the number of the next publication.
    pub fn next_seq(&self) -> u64 {
        self.seq.map_or(0, |s| s.wrapping_add(1))
    }

    /// Follower: a piece of a publication. Pieces from any session but the trusted
    /// leader's are dropped (and prompt a look-up of who leads, at most every few seconds).
    pub async fn hear(&mut self, session: &Session, notice: RelayNotice) -> Heard {
        if notice.pid == self.my_pid || matches!(self.role, Role::Off | Role::Leader) {
            return Heard::Nothing;
        }
        let known = matches!(&self.role, Role::Follower { leader: Some(l), .. } if l.pid == notice.pid);
        let stale = self.looked_up.is_none_or(|at| at.elapsed() >= RECHECK_EVERY);
        if (!known || stale) && self.looked_up.is_none_or(|at| at.elapsed() >= LOOKUP_EVERY) {
            self.looked_up = Some(Instant::now());
            let leader = relay::leader(&session.client).await.ok().flatten();
            let trusted = leader.as_ref().is_some_and(|l| l.user.as_ref().is_some_and(|u| self.trusted.contains(u)));
            if let Some(l) = leader.as_ref().filter(|_| !trusted) {
                tracing::warn!(
                    "the console reading for the others (pid {}, user {}) is not one this console trusts: it reads for itself (relay_trust in the config)",
                    l.pid,
                    l.user.as_deref().unwrap_or("?")
                );
            }
            let changed = !matches!(&self.role, Role::Follower { leader: old, .. } if *old == leader);
            if changed {
                self.seq = None;
                self.assembler = wire::Assembler::default();
            }
            self.role = Role::Follower { leader, trusted };
        }
        let from_leader =
            matches!(&self.role, Role::Follower { leader: Some(l), trusted: true } if l.pid == notice.pid);
        if !from_leader {
            return Heard::Nothing;
        }
        match self.assembler.push(&notice.payload) {
            wire::Assembled::Partial => Heard::Nothing,
            wire::Assembled::Broken => Heard::Lost,
            wire::Assembled::Whole(p) => {
                let in_order = self.seq.is_none_or(|s| p.seq == s.wrapping_add(1));
                self.seq = Some(p.seq);
                if in_order { Heard::Publication(p) } else { Heard::Lost }
            }
        }
    }

    /// Follower: the publication was applied (or a read of its own made up for one lost).
    pub fn applied(&mut self) {
        self.heard = Some(Instant::now());
    }
}
