//! The claim's two main statements as PL/pgSQL functions (migration 010), for sessions
//! through a transaction pooler.
//!
//! There a statement cannot stay prepared on the server: a named statement lives on one
//! backend, and the pooler lends the next transaction another. So every pooled claim
//! planned its walk and its update-and-enqueue afresh (≈ 0.26 and 0.18 ms uncontended),
//! more server time than running them. A PL/pgSQL function's plans are kept by the
//! backend that runs it, whichever client the pooler lends it to: through the functions a
//! pooled claim plans only their calls.
//!
//! Each body is the console's statement itself (`super::sql`), word for word: the
//! migration file is checked against [`migration_sql`], and a session uses the functions
//! only when the server's bodies are exactly the ones this build would create — a
//! database migrated by an older or newer console, or never migrated to 010, gets the
//! statements as before. Direct sessions keep their prepared statements.

use tokio_postgres::Client;

use super::sql::{self, Checks};

/// The walk of a page of candidates (`super::passes::walk_page`'s parameters).
pub const WALK: &str = "backfill_claim_walk";
const WALK_ARGS: &str = "text[], bigint, integer, integer, integer, integer, bigint, integer[]";
const WALK_RETURNS: &str = "TABLE (walk_id integer, walk_year integer, walk_month integer, walk_outcome text)";
/// Its call, sent unnamed.
pub const CALL_WALK: &str = "SELECT * FROM backfill_claim_walk($1, $2, $3, $4, $5, $6, $7, $8)";

/// The update-and-enqueue (`super::passes::update_and_enqueue`'s parameters).
pub const UPDATE: &str = "backfill_claim_update";
const UPDATE_ARGS: &str = "integer[], text[], integer[], jsonb[], integer[]";
const UPDATE_RETURNS: &str = "TABLE (sent_msg_id bigint, sent_job_id text, held_id integer)";
/// Its call, sent unnamed.
pub const CALL_UPDATE: &str = "SELECT * FROM backfill_claim_update($1, $2, $3, $4, $5)";

/// A function's body: the statement, its parameters `$1`… the function's.
fn body(statement: &str) -> String {
    format!("\n#variable_conflict use_column\nBEGIN\n  RETURN QUERY {statement};\nEND\n")
}

fn walk_body() -> String {
    body(sql::walks(Checks::ALL).0)
}

fn update_body() -> String {
    body(sql::update_and_enqueue(Checks::ALL))
}

fn create(name: &str, args: &str, returns: &str, body: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {name}({args})\nRETURNS {returns}\n\
         LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan\nAS $claim${body}$claim$;\n"
    )
}

/// The text of `sql/010_claim_functions.sql`, as this build's statements make it.
pub fn migration_sql() -> String {
    format!(
        "-- The claim's two main statements as functions, for consoles connected through a\n\
         -- transaction pooler (PgBouncer in transaction mode): there a statement cannot stay\n\
         -- prepared, so each claim planned both afresh; a PL/pgSQL function's plans are kept by\n\
         -- the server process that runs it. Each body is the console's statement word for word\n\
         -- (src/db/claim/sql.rs; generated from it and checked by the tests). They run with the\n\
         -- caller's rights. A console uses them only when their bodies are exactly its own.\n\
         -- The generic plan is the one the tests check (no table read whole).\n{}\n{}",
        create(WALK, WALK_ARGS, WALK_RETURNS, &walk_body()),
        create(UPDATE, UPDATE_ARGS, UPDATE_RETURNS, &update_body()),
    )
}

/// Whether this server has both functions with exactly this build's bodies, and this
/// session may run them (a DBA may have revoked `EXECUTE` from `PUBLIC`).
pub async fn available(client: &Client) -> Result<bool, tokio_postgres::Error> {
    let rows = client
        .query_typed(
            "SELECT p.prosrc FROM unnest(ARRAY[to_regprocedure($1), to_regprocedure($2)]) WITH ORDINALITY AS f(oid, i)
             JOIN pg_proc p ON p.oid = f.oid WHERE has_function_privilege(p.oid, 'EXECUTE') ORDER BY f.i",
            &[
                (&format!("{WALK}({WALK_ARGS})"), tokio_postgres::types::Type::TEXT),
                (&format!("{UPDATE}({UPDATE_ARGS})"), tokio_postgres::types::Type::TEXT),
            ],
        )
        .await?;
    let bodies: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    Ok(bodies == [walk_body(), update_body()])
}

#[cfg(test)]
mod tests {
    /// The migration file is exactly what the statements make (regenerate it with
    /// `BACKFILL_WRITE_SQL=1 cargo test --lib claim::functions`).
    #[test]
    fn the_migration_file_is_the_statements() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/010_claim_functions.sql");
        let want = super::migration_sql();
        if std::env::var_os("BACKFILL_WRITE_SQL").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "sql/010_claim_functions.sql differs from the claim's statements: a changed statement needs a new \
             migration that replaces the functions (or, before 010 is released, BACKFILL_WRITE_SQL=1)"
        );
    }
}
