//! What a claim did: the report returned to every caller (console, `claim`, demo fleet).

use serde::Serialize;
use uuid::Uuid;

use crate::model::lock_key::YearMonth;
use crate::model::status::Status;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claimed {
    pub year: i32,
    pub month: i32,
    pub job_id: Uuid,
    pub prompt_variant: String,
    pub msg_id: i64,
}

/// A dry run's view of one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub year: i32,
    pub month: i32,
    pub status: Status,
    pub retry_count: Option<i32>,
    pub lock_free: bool,
    /// The backend holding the month lock, when it is not free.
    pub holder_pid: Option<i32>,
    /// Its live queue message, when it has one already: a claim holds it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_msg: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClaimReport {
    pub claimed: Vec<Claimed>,
    /// Months passed over because somebody held their advisory lock (waited
    /// for first, up to the lock wait, when the batch would otherwise stay short).
    pub skipped_locked: Vec<YearMonth>,
    /// Months another scheduler claimed after we read them (found again in the
    /// walk, or 0 rows updated).
    pub skipped_raced: Vec<YearMonth>,
    /// Months held back because they have a live queue message already (a second one
    /// would have their work done twice).
    #[serde(default)]
    pub skipped_queued: Vec<YearMonth>,
    pub dry_run: bool,
    /// Only for a dry run: the candidates and whether each lock is free.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    /// The audit row written in the claim's own transaction.
    pub audit_id: Option<i64>,
}

impl ClaimReport {
    /// One line, for logs and the audit outcome.
    pub fn summary(&self) -> String {
        if self.dry_run {
            let free = self.candidates.iter().filter(|c| c.lock_free).count();
            return format!(
                "dry run: {} candidate(s), {free} with a free lock, {} locked; nothing changed",
                self.candidates.len(),
                self.candidates.len() - free
            );
        }
        let mut text = format!(
            "claimed {}, skipped {} locked, {} raced",
            self.claimed.len(),
            self.skipped_locked.len(),
            self.skipped_raced.len()
        );
        if !self.skipped_queued.is_empty() {
            text.push_str(&format!(", {} with a live message already", self.skipped_queued.len()));
        }
        text
    }
}
