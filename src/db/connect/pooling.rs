//! Is there a connection pooler between us and PostgreSQL, and which kind?
//!
//! A pooler shows itself by refusing the `options` start-up parameter, or by
//! ignoring it (the settings are then not in force). Only then is the mode probed,
//! with a second client connection: through a *session* pooler each client keeps
//! its own server backend for its whole life, so the second client can never get
//! ours; through a *transaction* pooler our backend goes back to the pool after
//! every transaction, so the second client is handed it (PgBouncer reuses the most
//! recently freed server), or our own next transaction lands on another backend.
//! The config's `pooler` key overrides the detection.

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::db::DbError;

/// What sits between the console and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// A direct connection: one client session is one server backend.
    #[default]
    None,
    /// A session-mode pooler: one server backend for the client's whole life.
    Session,
    /// A transaction-mode pooler: a server backend per transaction — no session
    /// state (settings, prepared statements, LISTEN, session locks) carries over.
    Transaction,
    /// A pooler whose mode the probe could not learn (every server connection was busy):
    /// treated as safely as a transaction pooler, but no lock is judged stranded for it.
    Unknown,
}

impl Pooling {
    /// The console's name for it.
    pub fn via(self) -> crate::model::via::Via {
        use crate::model::via::Via;
        match self {
            Pooling::None => Via::Direct,
            Pooling::Session => Via::SessionPooler,
            Pooling::Transaction => Via::TransactionPooler,
            Pooling::Unknown => Via::Pooler,
        }
    }
}

/// The config's `pooler` key: detect, or take the operator's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PoolerSetting {
    #[default]
    Auto,
    None,
    Session,
    Transaction,
}

impl PoolerSetting {
    /// The operator's word, when given.
    pub fn fixed(self) -> Option<Pooling> {
        match self {
            PoolerSetting::Auto => None,
            PoolerSetting::None => Some(Pooling::None),
            PoolerSetting::Session => Some(Pooling::Session),
            PoolerSetting::Transaction => Some(Pooling::Transaction),
        }
    }
}

pub async fn backend_pid(client: &Client) -> Result<i32, DbError> {
    let row = client
        .query_typed_one("SELECT pg_backend_pid()", &[])
        .await
        .map_err(|e| DbError::query("read the backend pid", e))?;
    Ok(row.get(0))
}

/// How many looks in a row must see our server connection kept for us before the probe
/// believes a session pooler.
const SESSION_LOOKS: usize = 5;

/// The mode, from our backend pid `ours` (read at connect) and a second client's.
///
/// In a session pool our server connection is ours alone: the second client never gets
/// it, and every transaction of ours runs on it. In a transaction pool either can fail —
/// but with other clients busy on the pooler (production's fleet never stops), one look
/// sees both hold about one time in ten: another client had our server connection just
/// while the second client asked, and let it go before we asked again. Read as a session
/// pooler, the header would say so and a lock stranded on a backend behind it would not be
/// judged stranded (only a transaction pooler strands locks). So the probe looks again, and
/// the first sign of a transaction pool decides; it says session only after
/// `SESSION_LOOKS` looks in a row.
pub async fn probe(ours: &Client, our_pid: i32, second: &Client) -> Result<Pooling, DbError> {
    for _ in 0..SESSION_LOOKS {
        let theirs = backend_pid(second).await?;
        let ours_again = backend_pid(ours).await?;
        if theirs == our_pid || ours_again != our_pid {
            return Ok(Pooling::Transaction);
        }
    }
    Ok(Pooling::Session)
}
