//! What sits between a session and PostgreSQL, as the console names it (the
//! database layer learns it: `db::connect::Pooling::via`).

/// What sits between the console's session and PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Via {
    #[default]
    Direct,
    SessionPooler,
    /// No session state carries over: push (LISTEN) is off, the console polls.
    TransactionPooler,
    /// A pooler whose mode is unknown (the probe found every server connection busy).
    Pooler,
}

impl Via {
    pub fn describe(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::SessionPooler => "session pooler",
            Via::TransactionPooler => "transaction pooler",
            Via::Pooler => "pooler (mode unknown)",
        }
    }
}
