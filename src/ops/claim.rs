//! The claim (SPEC §2): the one routine the schedulers, the console and `claim` run.

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::claim;
use crate::db::connect::Session;
use crate::model::audit::Action;
use crate::model::claim::{ClaimParams, ClaimReport};
use crate::model::job::JobResult;

pub const KIND: Kind = Kind { name: "Claim", action: Action::Claim, destructive: false };

/// Claims a batch (or, `params.dry_run`, reports what it would claim), audited.
pub async fn run(session: &mut Session, params: &ClaimParams, actor: &Actor) -> Result<ClaimReport, DbError> {
    claim::claim(session, params, Some(actor)).await
}

/// The claim of listed months planned: the same routine as a dry run (nothing changes),
/// for the confirmation.
pub async fn plan(session: &mut Session, params: ClaimParams, actor: &Actor) -> Result<JobResult, DbError> {
    let params = ClaimParams { dry_run: true, ..params };
    let report = run(session, &params, actor).await?;
    Ok(JobResult::ClaimPlan { params, report: Box::new(report) })
}
