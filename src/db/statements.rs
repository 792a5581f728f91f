//! A session's prepared statements, by their SQL: each is prepared (its parameter
//! types given) the first time it runs on the session, and later runs neither parse
//! nor — once PostgreSQL settles on a generic plan — plan it. Through a transaction
//! pooler nothing is kept on the server (a named statement lives on one backend
//! only): every statement is sent unnamed.

use std::collections::HashMap;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};

#[derive(Default)]
pub struct Statements {
    prepared: HashMap<&'static str, Statement>,
    unnamed: bool,
    /// Through a pooler: whether the server has the claim's functions with this build's
    /// bodies (`db::claim::functions`); `None` until asked.
    pub(crate) claim_functions: Option<bool>,
}

impl Statements {
    /// `unnamed`: keep none on the server (through a transaction pooler).
    pub fn new(unnamed: bool) -> Self {
        Self { prepared: HashMap::new(), unnamed, claim_functions: None }
    }

    /// Whether every statement is sent unnamed.
    pub fn unnamed(&self) -> bool {
        self.unnamed
    }

    /// Runs `sql` on `client`, preparing it on this session the first time.
    pub async fn query(
        &mut self,
        client: &Client,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        if self.unnamed {
            return client.query_typed(sql, params).await;
        }
        let statement = self.statement(client, sql, params).await?;
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        client.query(&statement, &values).await
    }

    /// `sql`'s statement on this session, prepared the first time.
    pub async fn statement(
        &mut self,
        client: &Client,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let statement = client.prepare_typed(sql, &types).await?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }
}
