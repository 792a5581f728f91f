//! The audit table: who did what, to which month or pid, with which outcome.

use crate::db::param::p;
use serde::Serialize;
use tokio_postgres::GenericClient;

use super::DbError;
use super::lock_key::YearMonth;

/// Who is acting, as far as the operating system knows (the database user and
/// application name are filled in by the server's column defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub os_user: String,
    pub os_host: String,
}

impl Actor {
    pub fn current() -> Self {
        let os_user = std::env::var("SUDO_USER")
            .ok()
            .map(|sudo| format!("{sudo} (via sudo)"))
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("LOGNAME").ok())
            .or_else(|| nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
            .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()));
        let os_host =
            nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "unknown".into());
        Self { os_user, os_host }
    }
}

/// One audit row to write.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub action: &'a str,
    pub target: Option<YearMonth>,
    pub target_pid: Option<i32>,
    pub parameters: serde_json::Value,
    pub outcome: &'a str,
    pub detail: Option<serde_json::Value>,
}

pub const INSERT: &str = "INSERT INTO backfill_console_audit
    (os_user, os_host, action, target_year, target_month, target_pid, parameters, outcome, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

/// Writes one row (inside whatever transaction `client` is in) and returns its id.
pub async fn record<C: GenericClient>(client: &C, actor: &Actor, entry: &AuditEntry<'_>) -> Result<i64, DbError> {
    let row = client
        .query_typed_one(
            INSERT,
            &[
                p(&actor.os_user),
                p(&actor.os_host),
                p(&entry.action),
                p(&entry.target.map(|m| m.year)),
                p(&entry.target.map(|m| m.month)),
                p(&entry.target_pid),
                p(&entry.parameters),
                p(&entry.outcome),
                p(&entry.detail),
            ],
        )
        .await
        .map_err(|e| DbError::query("write the audit row", e))?;
    Ok(row.get(0))
}

/// Best effort, for failures after a rollback: the error is logged, not returned.
pub async fn record_best_effort<C: GenericClient>(client: &C, actor: &Actor, entry: &AuditEntry<'_>) {
    if let Err(e) = record(client, actor, entry).await {
        tracing::warn!(action = entry.action, outcome = entry.outcome, "could not audit: {e}");
    }
}
