//! The audit trail as read back: who did what, to which months, with which outcome, when.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lock_key::YearMonth;

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
    pub parameters: serde_json::Value,
    pub outcome: String,
    pub detail: Option<serde_json::Value>,
}

impl AuditRow {
    /// `ops@bastion-1 (ssh 203.0.113.7:51234) as backfill`.
    pub fn who(&self) -> String {
        let mut who = format!("{}@{}", self.os_user.as_deref().unwrap_or("?"), self.os_host.as_deref().unwrap_or("?"));
        if let Some(ssh) = &self.ssh_client {
            who.push_str(&format!(" (ssh {ssh})"));
        }
        who.push_str(&format!(" as {}", self.db_user));
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
