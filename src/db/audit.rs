//! The audit table: who did what, to which month or pid, with which outcome.

use crate::db::param::p;
use crate::model::audit::Action;
use serde::Serialize;
use tokio_postgres::GenericClient;

use super::DbError;
use super::lock_key::YearMonth;
pub use crate::model::audit::{AuditRow, Claims};
use crate::model::payload::Payload;

/// Who is acting: the operating-system user of this process (from its uid: nothing in
/// the environment can change it) and the host; what the environment claims besides
/// (`SUDO_USER`, `$USER`, `SSH_CONNECTION`) is recorded as claims, shown as such. The
/// database user, the time, the backend and the application name are set by the
/// database itself (migration 007), whatever a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub os_user: String,
    pub os_host: String,
    pub claims: Claims,
}

impl Actor {
    pub fn current() -> Self {
        let uid = nix::unistd::getuid();
        let os_user = nix::unistd::User::from_uid(uid).ok().flatten().map_or_else(|| format!("uid {uid}"), |u| u.name);
        let os_host =
            nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "unknown".into());
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty()).map(|v| crate::text::clip(&v, 64));
        let claims = Claims {
            sudo_user: env("SUDO_USER"),
            // Only when it says something the uid does not.
            env_user: env("USER").or_else(|| env("LOGNAME")).filter(|u| *u != os_user),
            ssh_client: std::env::var("SSH_CONNECTION").ok().as_deref().and_then(ssh_client),
        };
        Self { os_user, os_host, claims }
    }

    /// A test's or a benchmark's actor (no claims).
    pub fn named(os_user: &str, os_host: &str) -> Self {
        Self { os_user: os_user.into(), os_host: os_host.into(), claims: Claims::default() }
    }
}

/// `client_address:client_port` from `SSH_CONNECTION` ("client port server port").
fn ssh_client(connection: &str) -> Option<String> {
    let mut fields = connection.split_whitespace();
    let (address, port) = (fields.next()?, fields.next()?);
    let sane =
        |s: &str| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || ".:%".contains(c));
    (sane(address) && port.parse::<u16>().is_ok()).then(|| format!("{address}:{port}"))
}

/// One audit row to write.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub action: Action,
    pub target: Option<YearMonth>,
    pub target_pid: Option<i32>,
    pub parameters: serde_json::Value,
    pub outcome: &'a str,
    pub detail: Option<serde_json::Value>,
}

/// Only the columns a client may fill (who, when, the backend and the application are
/// the database's: migration 007's trigger, and `sql/roles.sql` grants no more).
pub const INSERT: &str = "INSERT INTO backfill_console_audit
    (os_user, os_host, action, target_year, target_month, target_pid, parameters, outcome, detail, ssh_client, claims)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

/// Writes one row (inside whatever transaction `client` is in) and returns its id.
pub async fn record<C: GenericClient>(client: &C, actor: &Actor, entry: &AuditEntry<'_>) -> Result<i64, DbError> {
    let row = client
        .query_typed_one(
            INSERT,
            &[
                p(&actor.os_user),
                p(&actor.os_host),
                p(&entry.action.as_str()),
                p(&entry.target.map(|m| m.year)),
                p(&entry.target.map(|m| m.month)),
                p(&entry.target_pid),
                p(&entry.parameters),
                p(&entry.outcome),
                p(&entry.detail),
                p(&actor.claims.ssh_client),
                p(&actor.claims.as_json()),
            ],
        )
        .await
        .map_err(|e| DbError::query("write the audit row", e))?;
    Ok(row.get(0))
}

/// The audit rows since `since` ago, newest first, at most `limit`; with `month`, only
/// those that touched it (its own row, or a bulk action that lists it).
pub async fn read(
    client: &tokio_postgres::Client,
    since: std::time::Duration,
    month: Option<YearMonth>,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    let key = month.map(|m| m.year * 100 + m.month);
    let text = month.map(|m| m.to_string());
    let claimed = month.map(|m| serde_json::json!([{ "year": m.year, "month": m.month }]));
    let rows = client
        .query_typed(
            "SELECT id, at, db_user, os_user, os_host, ssh_client, application_name, action, target_year,
                    target_month, target_pid, parameters::text, outcome, detail::text, claims::text
             FROM backfill_console_audit
             WHERE at >= now() - make_interval(secs => $1)
               AND ($2::int IS NULL OR target_year * 100 + target_month = $2 OR detail ? $3
                    OR detail -> 'months' ? $3 OR detail -> 'claimed' @> $4)
             ORDER BY at DESC, id DESC LIMIT $5",
            &[p(&since.as_secs_f64()), p(&key), p(&text), p(&claimed), p(&limit)],
        )
        .await
        .map_err(|e| DbError::query("read the audit table", e))?;
    Ok(rows
        .iter()
        .map(|r| AuditRow {
            id: r.get(0),
            at: r.get(1),
            db_user: r.get(2),
            os_user: r.get(3),
            os_host: r.get(4),
            ssh_client: r.get(5),
            application_name: r.get(6),
            action: r.get(7),
            target_month: r
                .get::<_, Option<i32>>(8)
                .zip(r.get::<_, Option<i32>>(9))
                .and_then(|(y, m)| YearMonth::new(y, m)),
            target_pid: r.get(10),
            parameters: Payload::parse(&r.get::<_, String>(11)),
            outcome: r.get(12),
            detail: r.get::<_, Option<String>>(13).map(|t| Payload::parse(&t)),
            claims: r.get::<_, Option<String>>(14).map(|t| Claims::parse(&t)).unwrap_or_default(),
        })
        .collect())
}

/// Best effort, for failures after a rollback: the error is logged, not returned.
pub async fn record_best_effort<C: GenericClient>(client: &C, actor: &Actor, entry: &AuditEntry<'_>) {
    if let Err(e) = record(client, actor, entry).await {
        tracing::warn!(action = entry.action.as_str(), outcome = entry.outcome, "could not audit: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ssh_client_comes_from_ssh_connection() {
        assert_eq!(super::ssh_client("203.0.113.7 51234 10.0.0.2 22").as_deref(), Some("203.0.113.7:51234"));
        assert_eq!(super::ssh_client("fe80::1%eth0 2222 fe80::2 22").as_deref(), Some("fe80::1%eth0:2222"));
        assert_eq!(super::ssh_client(""), None);
        assert_eq!(super::ssh_client("evil'; DROP 1 2 3"), None);
    }
}
