//! The audit trail as read back: who did what, to which months, with which outcome, when.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lock_key::YearMonth;
use super::payload::Payload;

/// What an audit row says was done — written as these exact words (rows read back keep
/// whatever word a row has: older versions and other tools write the same table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Seed,
    Claim,
    ReleaseTerminate,
    ReleaseCancel,
    ResetStuck,
    Retry,
    /// A retry that also sets the months' retry count back to 0.
    RetryResetCount,
    DeadRedrive,
    DeadPurge,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Seed => "seed",
            Action::Claim => "claim",
            Action::ReleaseTerminate => "release.terminate",
            Action::ReleaseCancel => "release.cancel",
            Action::ResetStuck => "reset-stuck",
            Action::Retry => "retry",
            Action::RetryResetCount => "retry.reset_count",
            Action::DeadRedrive => "dead.redrive",
            Action::DeadPurge => "dead.purge",
        }
    }
}

/// How far back the console's audit view reads, in days.
pub const WINDOW_DAYS: u64 = 7;

/// [`WINDOW_DAYS`] as a duration.
pub const WINDOW: Duration = Duration::from_secs(WINDOW_DAYS * 86_400);

/// What the acting process's environment claimed (none of it verifiable): shown as claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo_user: Option<String>,
    /// `$USER` (or `$LOGNAME`) when it differs from the process's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_user: Option<String>,
    /// The SSH client from `SSH_CONNECTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_client: Option<String>,
}

impl Claims {
    /// Read back; anything else (written by hand, nested too deep) counts as no claim.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn as_json(&self) -> Option<serde_json::Value> {
        let value = serde_json::to_value(self).ok()?;
        value.as_object().is_some_and(|o| !o.is_empty()).then_some(value)
    }

    /// `ssh 203.0.113.7:51234, sudo alice, $USER ops` (empty when none).
    pub fn describe(&self) -> String {
        [
            self.ssh_client.as_ref().map(|s| format!("ssh {s}")),
            self.sudo_user.as_ref().map(|s| format!("sudo {s}")),
            self.env_user.as_ref().map(|s| format!("$USER {s}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub db_user: String,
    pub os_user: Option<String>,
    pub os_host: Option<String>,
    pub ssh_client: Option<String>,
    pub application_name: Option<String>,
    pub action: String,
    pub target_month: Option<YearMonth>,
    pub target_pid: Option<i32>,
    pub parameters: Payload,
    pub outcome: String,
    pub detail: Option<Payload>,
    /// What the actor's environment claimed (rows written before migration 007 have
    /// only `ssh_client`, shown as a claim too).
    #[serde(default)]
    pub claims: Claims,
}

impl AuditRow {
    /// `ops@bastion-1 as backfill (claims: ssh 203.0.113.7:51234, sudo alice)`: what the
    /// database and the process's uid say, then what the environment claimed.
    pub fn who(&self) -> String {
        let mut who = format!(
            "{}@{} as {}",
            self.os_user.as_deref().unwrap_or("?"),
            self.os_host.as_deref().unwrap_or("?"),
            self.db_user
        );
        let mut claims = self.claims.clone();
        if claims.ssh_client.is_none() {
            claims.ssh_client = self.ssh_client.clone();
        }
        let claimed = claims.describe();
        if !claimed.is_empty() {
            who.push_str(&format!(" (claims: {claimed})"));
        }
        who
    }

    /// What it was done to: a month, a pid, or the months of a bulk action.
    pub fn what(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.target_month {
            parts.push(m.to_string());
        }
        if let Some(pid) = self.target_pid {
            parts.push(format!("pid {pid}"));
        }
        if let Some(months) = self.parameters.get("months").and_then(|m| m.as_str()) {
            parts.push(months.to_string());
        }
        if let Some(ids) = self.parameters.get("ids").and_then(|m| m.as_str()) {
            parts.push(format!("messages {ids}"));
        }
        parts.join(" ")
    }
}
