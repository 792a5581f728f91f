//! `migrate`: applies `sql/` in order, once each, recorded in a bookkeeping
//! table. Concurrent runs are serialised by the project's own advisory lock in
//! the two-int4 form (never a month key), and everything happens in one
//! transaction: a failed run leaves nothing half-applied.

use crate::db::param::p;
use serde::Serialize;
use tokio_postgres::Client;

use super::DbError;

/// The project's advisory-lock namespace ("BFCO"), first int4 of the two-int form.
pub const LOCK_NAMESPACE: i32 = 0x4246_434F;
/// Second int4: the migration lock.
pub const MIGRATE_LOCK: i32 = 1;
/// Second int4: the lock a console holds while it reads for the others (`db::relay`).
pub const RELAY_LOCK: i32 = 2;

pub const BOOKKEEPING_TABLE: &str = "backfill_console_migrations";

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
    /// Checksums recorded (by the first rule, over the whole text) for earlier versions of
    /// the file that differed from this one in comments only: still accepted.
    pub comment_edits: &'static [&'static str],
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "backfill_log",
        sql: include_str!("../../sql/001_backfill_log.sql"),
        comment_edits: &[],
    },
    Migration { version: 2, name: "queue", sql: include_str!("../../sql/002_queue.sql"), comment_edits: &[] },
    Migration { version: 3, name: "audit", sql: include_str!("../../sql/003_audit.sql"), comment_edits: &[] },
    Migration { version: 4, name: "notify", sql: include_str!("../../sql/004_notify.sql"), comment_edits: &[] },
    Migration {
        version: 5,
        name: "queue_depth",
        sql: include_str!("../../sql/005_queue_depth.sql"),
        // Its first comment named a file that no longer exists.
        comment_edits: &["c02e53a8db9b7821"],
    },
    Migration { version: 6, name: "audit_ssh", sql: include_str!("../../sql/006_audit_ssh.sql"), comment_edits: &[] },
    Migration {
        version: 7,
        name: "audit_integrity",
        sql: include_str!("../../sql/007_audit_integrity.sql"),
        comment_edits: &[],
    },
    Migration {
        version: 8,
        name: "queue_month",
        sql: include_str!("../../sql/008_queue_month.sql"),
        comment_edits: &[],
    },
    Migration {
        version: 9,
        name: "notify_guard",
        sql: include_str!("../../sql/009_notify_guard.sql"),
        comment_edits: &[],
    },
    Migration {
        version: 10,
        name: "claim_functions",
        // Generated from the claim's statements (`db::claim::functions`, which checks it).
        sql: include_str!("../../sql/010_claim_functions.sql"),
        comment_edits: &[],
    },
];

impl Migration {
    /// Whether a recorded checksum is this file's: its statements (comments do not
    /// count), or the whole text (the rule before comments were left out), or an
    /// earlier version that differed in comments only.
    fn matches(&self, recorded: &str) -> bool {
        recorded == checksum(&statements(self.sql))
            || recorded == checksum(self.sql)
            || self.comment_edits.contains(&recorded)
    }
}

pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MigrateReport {
    pub applied: Vec<String>,
    pub already_current: bool,
    /// `Some(rows)` when an existing `backfill_log` was adopted by this run.
    pub adopted_backfill_log_rows: Option<i64>,
    pub version: i32,
}

pub async fn migrate(client: &mut Client) -> Result<MigrateReport, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let tx = client.transaction().await.map_err(q("begin the migration"))?;
    tx.batch_execute("SET LOCAL lock_timeout = '120s'; SET LOCAL statement_timeout = 0")
        .await
        .map_err(q("relax timeouts for the migration"))?;
    tx.execute_typed("SELECT pg_advisory_xact_lock($1, $2)", &[p(&LOCK_NAMESPACE), p(&MIGRATE_LOCK)])
        .await
        .map_err(q("take the migration lock"))?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {BOOKKEEPING_TABLE} (
           version INT PRIMARY KEY,
           name TEXT NOT NULL,
           checksum TEXT NOT NULL,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ))
    .await
    .map_err(q("create the migration bookkeeping table"))?;
    let applied: Vec<(i32, String)> = tx
        .query_typed(&format!("SELECT version, checksum FROM {BOOKKEEPING_TABLE} ORDER BY version"), &[])
        .await
        .map_err(q("read applied migrations"))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let done: Vec<i32> = applied.iter().map(|(v, _)| *v).collect();
    // An applied migration whose file changed since: the database is not what this binary assumes.
    for (version, recorded) in &applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version)
            && !m.matches(recorded)
        {
            return Err(DbError::Refused(format!(
                "migration sql/{:03}_{}.sql was changed after it was applied to this database (checksum {} here, {} in this binary); restore the file and put the change in a new migration",
                m.version,
                m.name,
                recorded,
                checksum(&statements(m.sql))
            )));
        }
    }
    if let Some(&found) = done.iter().max()
        && found > latest_version()
    {
        return Err(DbError::SchemaTooNew { found, known: latest_version() });
    }
    let existing_rows = existing_backfill_log_rows(&tx).await?;
    let mut report = MigrateReport {
        applied: Vec::new(),
        already_current: true,
        adopted_backfill_log_rows: None,
        version: latest_version(),
    };
    for migration in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        if migration.version == 1 {
            report.adopted_backfill_log_rows = existing_rows;
        }
        tx.batch_execute(migration.sql)
            .await
            .map_err(|e| DbError::query(&format!("apply migration {:03}_{}", migration.version, migration.name), e))?;
        tx.execute_typed(
            &format!("INSERT INTO {BOOKKEEPING_TABLE} (version, name, checksum) VALUES ($1, $2, $3)"),
            &[p(&migration.version), p(&migration.name), p(&checksum(&statements(migration.sql)))],
        )
        .await
        .map_err(q("record the migration"))?;
        report.applied.push(format!("{:03}_{}", migration.version, migration.name));
        report.already_current = false;
    }
    tx.commit().await.map_err(q("commit the migration"))?;
    Ok(report)
}

async fn existing_backfill_log_rows(tx: &tokio_postgres::Transaction<'_>) -> Result<Option<i64>, DbError> {
    let exists: bool = tx
        .query_typed_one("SELECT to_regclass('backfill_log') IS NOT NULL", &[])
        .await
        .map_err(|e| DbError::query("look for backfill_log", e))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let rows: i64 = tx
        .query_typed_one("SELECT count(*) FROM backfill_log", &[])
        .await
        .map_err(|e| DbError::query("count backfill_log", e))?
        .get(0);
    Ok(Some(rows))
}

/// Verifies the schema is installed and not newer than this binary.
pub async fn check_schema(client: &Client) -> Result<i32, DbError> {
    let row = client
        .query_typed_one(
            &format!(
                "SELECT to_regclass('backfill_log') IS NOT NULL,
                        to_regclass('backfill_queue') IS NOT NULL,
                        to_regclass('{BOOKKEEPING_TABLE}') IS NOT NULL"
            ),
            &[],
        )
        .await
        .map_err(|e| DbError::query("check the schema", e))?;
    let (log, queue, book): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !log {
        return Err(DbError::SchemaMissing { missing: "backfill_log table".into() });
    }
    if !queue || !book {
        return Err(DbError::SchemaMissing { missing: "backfill_queue / migration bookkeeping".into() });
    }
    let version: Option<i32> = client
        .query_typed_one(&format!("SELECT max(version) FROM {BOOKKEEPING_TABLE}"), &[])
        .await
        .map_err(|e| DbError::query("read the schema version", e))?
        .get(0);
    let version = version.unwrap_or(0);
    if version > latest_version() {
        return Err(DbError::SchemaTooNew { found: version, known: latest_version() });
    }
    if version < latest_version() {
        return Err(DbError::SchemaMissing { missing: format!("migrations after version {version}") });
    }
    Ok(version)
}

/// A migration's statements: its text without `--` comment lines and trailing spaces, so a
/// comment can be corrected without changing what an applied migration is.
pub fn statements(sql: &str) -> String {
    sql.lines().filter(|line| !line.trim_start().starts_with("--")).map(str::trim_end).collect::<Vec<_>>().join("\n")
}

/// FNV-1a, enough to notice an edited migration file.
pub fn checksum(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_does_not_change_a_migration_but_a_statement_does() {
        let m = |sql: &'static str| Migration { version: 9, name: "x", sql, comment_edits: &[] };
        let applied = checksum(&statements("-- old words\nCREATE TABLE t (a int);\n"));
        assert!(m("-- new words\nCREATE TABLE t (a int);\n").matches(&applied));
        assert!(!m("-- old words\nCREATE TABLE t (a bigint);\n").matches(&applied));
        // A database migrated under the first rule (the whole text) still matches an unchanged file.
        let raw = "-- c\nSELECT 1;\n";
        assert!(m(raw).matches(&checksum(raw)));
    }

    #[test]
    fn every_numbered_sql_file_is_a_migration_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.len() > 4 && name[..3].bytes().all(|b| b.is_ascii_digit()) && name.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| format!("{:03}_{}.sql", m.version, m.name)).collect();
        assert_eq!(files, listed);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "versions run 1, 2, 3 … without gaps");
        }
    }
}
