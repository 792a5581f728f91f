//! The tests that talk to PostgreSQL about what differs between majors (locks, catalogs,
//! the claim, privileges, the snapshot, the schema): one throwaway server for the whole
//! binary (`common`), a database per test; `.ci/pg-matrix` runs this binary on every major.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "../common/mod.rs"]
mod common;

mod claim;
mod claim_failure;
mod claim_plans;
mod claim_stress;
mod claim_wait;
mod cli;
mod cli_dead;
mod contexts;
mod cures;
mod dead;
mod deadlines;
mod diagnosis;
mod json_documents;
mod notify_guard;
mod pooled_claim;
mod pooler;
mod pooler_probe;
mod pooler_queue;
mod privileges;
mod progress;
mod queue;
mod queue_duplicates;
mod queue_query_guard;
mod relay;
mod release_reset;
mod retry;
mod schema;
mod snapshot;
mod snapshot_plans;
mod snapshot_reader;
