//! The database layer's errors: each renders as one line that names what is
//! wrong and what to do — never a password, never a debug dump.

use std::error::Error as _;

use tokio_postgres::error::SqlState;

use super::connect::settings::{ConnSettings, PasswordSource, SettingsError};
use super::connect::tls::TlsSetupError;
use crate::model::FailureKind;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// A statement failed; `reason` is the server's message made one line (with advice),
    /// the driver's error stays underneath for its SQLSTATE and cause.
    #[error("could not {what}: {reason}")]
    Query {
        what: String,
        reason: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("the backfill schema is not installed in this database (no {missing}); run `backfill-console migrate`")]
    SchemaMissing { missing: String },
    #[error(
        "this database's backfill-console schema is version {found}, newer than this binary knows ({known}); upgrade backfill-console"
    )]
    SchemaTooNew { found: i32, known: i32 },
    #[error("{0}")]
    Refused(String),
    /// The session did something it must not keep (a deployment's query left a lock
    /// held): the caller drops the connection.
    #[error("{0}")]
    Tainted(String),
}

impl DbError {
    pub fn query(what: &str, e: tokio_postgres::Error) -> Self {
        let mut reason = describe(&e);
        if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
            reason.push_str(" — this database role lacks the privilege; sql/roles.sql lists what each role needs");
        } else if e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
            reason.push_str(" — the session is read-only");
        }
        DbError::Query { what: what.to_string(), reason, source: e }
    }

    /// The SQLSTATE, when the server gave one.
    pub fn sqlstate(&self) -> Option<&SqlState> {
        match self {
            DbError::Query { source, .. } => source.code(),
            _ => None,
        }
    }

    /// True when the server said the role lacks a privilege.
    pub fn is_permission_denied(&self) -> bool {
        self.sqlstate() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
    }

    /// True when the failure was the link (not the statement): the outcome of a
    /// write in flight is then unknown. By SQLSTATE (class 08, or the server shutting
    /// the session down: 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
    /// connect now), or a driver error with no server answer: the socket closed or failed.
    pub fn is_connection_loss(&self) -> bool {
        match self {
            DbError::Connect { .. } | DbError::Tainted(_) => true,
            DbError::Query { source, .. } => match source.code() {
                Some(code) => {
                    code.code().starts_with("08")
                        || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW]
                            .contains(code)
                }
                None => source.is_closed() || io_cause(source).is_some(),
            },
            _ => false,
        }
    }

    /// The kind of failure, for the screen and the CLI's exit.
    pub fn kind(&self) -> FailureKind {
        if matches!(self, DbError::Connect { .. } | DbError::Settings(_) | DbError::Tls(_)) {
            FailureKind::CouldNotConnect
        } else if self.is_connection_loss() {
            FailureKind::LinkLost
        } else if self.is_permission_denied() {
            FailureKind::PermissionDenied
        } else {
            FailureKind::Other
        }
    }
}

/// The I/O error underneath a driver error, when there is one (a socket that failed).
fn io_cause(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = cause.source();
    }
    None
}

/// One line from a driver error: the server's message (and hint), or the I/O cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = db.message().to_string();
        if let Some(hint) = db.hint() {
            text.push_str(" (hint: ");
            text.push_str(hint);
            text.push(')');
        }
        return one_line(&text);
    }
    if e.is_closed() {
        return "the connection to the server was lost (the server ended it, or the network link went silent past its deadline)".into();
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    one_line(&text)
}

/// A failure to open the socket itself (before PostgreSQL said anything).
pub fn describe_connect_io(target: &str, e: &std::io::Error) -> DbError {
    let base = e.to_string();
    let advice = match e.kind() {
        std::io::ErrorKind::NotFound => " — no server socket there; check the host (socket directory) and port",
        std::io::ErrorKind::PermissionDenied => " — this OS user may not open that socket",
        // Refused, unresolvable, timed out: the same advice as the driver's errors get.
        _ => connect_advice(None, Some(e.kind()), &base, PasswordSource::None),
    };
    DbError::Connect { target: target.to_string(), reason: one_line(&format!("{base}{advice}")) }
}

pub fn describe_connect_error(target: &str, settings: &ConnSettings, e: &tokio_postgres::Error) -> DbError {
    let base = describe(e);
    let advice = connect_advice(e.code(), io_cause(e).map(std::io::Error::kind), &base, settings.password_source);
    DbError::Connect { target: target.to_string(), reason: format!("{base}{advice}") }
}

/// What to do about a failed connection, from the SQLSTATE or the socket's error kind.
/// Only where neither tells enough is the message read: 28000 covers a missing role,
/// peer/ident failure and a missing pg_hba.conf entry alike; the driver reports a
/// missing password and an unresolvable host name without a code or kind of their own.
fn connect_advice(
    code: Option<&SqlState>,
    io: Option<std::io::ErrorKind>,
    base: &str,
    password: PasswordSource,
) -> &'static str {
    if code == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION) {
        // 28000: the role does not exist, peer/ident authentication failed, or pg_hba.conf has no entry.
        if base.contains("does not exist") {
            " — check the user name (user / PGUSER; without one it is the OS user's name)"
        } else if base.contains("Peer authentication") || base.contains("Ident authentication") {
            " — the server checks the OS user name; connect as that user, or over TCP with a password"
        } else if base.contains("pg_hba.conf") {
            " — the server's pg_hba.conf admits no such connection; ask its administrator"
        } else {
            ""
        }
    } else if code == Some(&SqlState::INVALID_PASSWORD) || base.contains("password missing") {
        match password {
            PasswordSource::None => " — no password was given; set PGPASSWORD, ~/.pgpass, or put it in the URL",
            PasswordSource::PasswordFile => " — the password came from the password file; check its line",
            _ => " — check the user name and password",
        }
    } else if code == Some(&SqlState::INVALID_CATALOG_NAME) {
        " — check the database name (dbname / PGDATABASE)"
    } else if io == Some(std::io::ErrorKind::ConnectionRefused) {
        " — is the server running and listening there?"
    } else if base.contains("failed to lookup address") || base.contains("Name or service not known") {
        " — the host name does not resolve; check host / PGHOST"
    } else if io == Some(std::io::ErrorKind::TimedOut) || base.contains("timed out") {
        " — no answer in time; check the host, port and firewall"
    } else {
        ""
    }
}

/// Multi-line server text folded onto one line, control characters removed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_role_is_not_blamed_on_a_missing_password() {
        let missing_role = connect_advice(
            Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
            None,
            "role \"root\" does not exist",
            PasswordSource::None,
        );
        assert!(missing_role.contains("check the user name") && !missing_role.contains("password"), "{missing_role}");
        let peer = connect_advice(
            Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
            None,
            "Peer authentication failed for user \"x\"",
            PasswordSource::None,
        );
        assert!(peer.contains("OS user"), "{peer}");
        let no_password = connect_advice(None, None, "invalid configuration: password missing", PasswordSource::None);
        assert!(no_password.contains("no password was given"), "{no_password}");
        let wrong = connect_advice(
            Some(&SqlState::INVALID_PASSWORD),
            None,
            "password authentication failed",
            PasswordSource::Environment,
        );
        assert!(wrong.contains("check the user name and password"), "{wrong}");
        let refused =
            connect_advice(None, Some(std::io::ErrorKind::ConnectionRefused), "whatever", PasswordSource::None);
        assert!(refused.contains("listening"), "{refused}");
    }
}
