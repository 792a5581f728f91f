//! Statement parameters with their PostgreSQL types, for the driver's *unnamed*
//! statements (`query_typed`: one round trip, nothing left behind on the server).
//! A named prepared statement lives on one server backend: through a transaction
//! pooler the next use may land on another ("prepared statement does not exist")
//! or a later client may collide with it ("already exists"), so the console uses
//! unnamed statements everywhere but the claim routine's own cache (off when
//! pooled; see `claim::passes`).

use tokio_postgres::types::{ToSql, Type};

/// A Rust value and the PostgreSQL type it is sent as.
pub trait Typed: ToSql + Sync {
    const TYPE: Type;
}

macro_rules! typed {
    ($($t:ty => $pg:ident),* $(,)?) => { $(impl Typed for $t { const TYPE: Type = Type::$pg; })* };
}

typed! {
    bool => BOOL, i16 => INT2, i32 => INT4, i64 => INT8, f64 => FLOAT8, String => TEXT, &str => TEXT,
    Vec<i32> => INT4_ARRAY, Vec<i64> => INT8_ARRAY, Vec<String> => TEXT_ARRAY, Vec<&str> => TEXT_ARRAY,
    chrono::DateTime<chrono::Utc> => TIMESTAMPTZ, Vec<chrono::DateTime<chrono::Utc>> => TIMESTAMPTZ_ARRAY,
    serde_json::Value => JSONB, uuid::Uuid => UUID,
}

impl<T: Typed> Typed for Option<T> {
    const TYPE: Type = T::TYPE;
}

/// `value` with its type, for `query_typed(sql, &[p(&a), p(&b)])`.
pub fn p<T: Typed>(value: &T) -> (&(dyn ToSql + Sync), Type) {
    (value, T::TYPE)
}
