//! The session's safety settings (statement, lock and idle-in-transaction
//! timeouts, no parallel workers, read-only): sent at start-up as `options`,
//! or — when a pooler refuses that parameter — applied with `SET` afterwards;
//! then read back, so what is really in force is known and shown, never assumed.

use serde::Serialize;
use tokio_postgres::Client;

use super::SessionOptions;
use crate::db::DbError;

/// How the settings reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// The `options` start-up parameter (a direct connection).
    StartupOptions,
    /// `SET` after connecting (a pooler refused or ignored `options`).
    Set,
    /// `SET LOCAL` in each transaction the console opens (a transaction pooler:
    /// a session `SET` would stay on a server backend other clients get next).
    PerTransaction,
}

/// One safety setting: what we asked for and what the server says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: &'static str,
    pub wanted: String,
    pub in_force: String,
}

impl Setting {
    pub fn holds(&self) -> bool {
        self.wanted == self.in_force
    }
}

/// The safety settings as read back after connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guards {
    pub applied: Applied,
    pub settings: Vec<Setting>,
}

impl Guards {
    /// The settings that are not in force (each a visible warning).
    pub fn missing(&self) -> Vec<&Setting> {
        self.settings.iter().filter(|s| !s.holds()).collect()
    }

    /// Every setting in force (through a transaction pooler: applied per transaction).
    pub fn in_force(&self) -> bool {
        self.applied == Applied::PerTransaction || self.missing().is_empty()
    }

    /// One line for a header or a log: all in force, or which are not.
    pub fn summary(&self) -> String {
        if self.applied == Applied::PerTransaction {
            return "safety settings applied per transaction (transaction pooler)".to_string();
        }
        let missing = self.missing();
        if missing.is_empty() {
            return "safety settings in force".to_string();
        }
        let names: Vec<String> =
            missing.iter().map(|s| format!("{} is {} (wanted {})", s.name, s.in_force, s.wanted)).collect();
        format!("NOT in force: {}", names.join(", "))
    }
}

/// `(name, value)` of every setting, as PostgreSQL spells the value back
/// (milliseconds as `10s`, `3s`, `1min`… are normalised by comparing in ms).
fn wanted(options: &SessionOptions) -> Vec<(&'static str, String)> {
    let ms = |d: std::time::Duration| d.as_millis().to_string();
    let mut all = vec![
        ("statement_timeout", ms(options.statement_timeout)),
        ("lock_timeout", ms(options.lock_timeout)),
        ("idle_in_transaction_session_timeout", ms(options.idle_in_transaction_timeout)),
        ("max_parallel_workers_per_gather", "0".to_string()),
    ];
    if options.read_only {
        all.push(("default_transaction_read_only", "on".to_string()));
    }
    all
}

/// The `SET` statements that apply the settings (`local`: `SET LOCAL`, for one transaction).
pub fn set_sql(options: &SessionOptions, local: bool) -> String {
    let scope = if local { "SET LOCAL" } else { "SET" };
    wanted(options).iter().map(|(name, value)| format!("{scope} {name} = '{value}'")).collect::<Vec<_>>().join("; ")
}

/// Reads the settings back. Durations are compared in milliseconds
/// (`current_setting` says `10s`; `pg_settings.setting` says `10000`).
pub async fn read_back(client: &Client, options: &SessionOptions, applied: Applied) -> Result<Guards, DbError> {
    let wanted = wanted(options);
    let names: Vec<String> = wanted.iter().map(|(n, _)| n.to_string()).collect();
    let rows = client
        .query_typed(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
            &[(&names, tokio_postgres::types::Type::TEXT_ARRAY)],
        )
        .await
        .map_err(|e| DbError::query("read the session's settings back", e))?;
    let settings = wanted
        .into_iter()
        .map(|(name, wanted)| {
            let in_force = rows
                .iter()
                .find(|r| r.get::<_, String>(0) == name)
                .map_or_else(|| "unknown".to_string(), |r| r.get::<_, String>(1));
            Setting { name, wanted, in_force }
        })
        .collect();
    Ok(Guards { applied, settings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_statements_cover_every_setting() {
        let options = SessionOptions { read_only: true, ..SessionOptions::default() };
        assert_eq!(
            set_sql(&options, true),
            "SET LOCAL statement_timeout = '10000'; SET LOCAL lock_timeout = '3000'; \
             SET LOCAL idle_in_transaction_session_timeout = '60000'; \
             SET LOCAL max_parallel_workers_per_gather = '0'; SET LOCAL default_transaction_read_only = 'on'"
        );
    }

    #[test]
    fn a_setting_not_in_force_is_named() {
        let guards = Guards {
            applied: Applied::Set,
            settings: vec![
                Setting { name: "statement_timeout", wanted: "10000".into(), in_force: "0".into() },
                Setting { name: "lock_timeout", wanted: "3000".into(), in_force: "3000".into() },
            ],
        };
        assert_eq!(guards.summary(), "NOT in force: statement_timeout is 0 (wanted 10000)");
    }
}
