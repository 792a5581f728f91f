//! The claim (SPEC §2): the one routine the schedulers, the console and `claim` run. The
//! console's claim is a form (not a confirmation): a dry run of listed months plans it
//! ([`PlanClaim`]), its result goes back into the form ([`ClaimPlanned`]).

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::claim;
use crate::db::connect::Session;
use crate::model::audit::Action;
use crate::model::claim::{ClaimParams, ClaimReport};
use crate::model::job::{ClaimPlanned, Confirmation, JobResult, Plan, PlanClaim};
use crate::model::op::{Report, Request};

pub const KIND: Kind = Kind { name: "Claim", action: Action::Claim, destructive: false };

/// Claims a batch (or, `params.dry_run`, reports what it would claim), audited.
pub async fn run(session: &mut Session, params: &ClaimParams, actor: &Actor) -> Result<ClaimReport, DbError> {
    claim::claim(session, params, Some(actor)).await
}

/// The claim of listed months planned: the same routine as a dry run (nothing changes),
/// for the form.
pub async fn plan(session: &mut Session, params: ClaimParams, actor: &Actor) -> Result<JobResult, DbError> {
    let params = ClaimParams { dry_run: true, ..params };
    let report = run(session, &params, actor).await?;
    Ok(JobResult::done(ClaimPlanned { params, report: Box::new(report) }))
}

impl Request for ClaimParams {
    fn tag(&self) -> &'static str {
        "claim"
    }
    fn kind(&self) -> Kind {
        KIND
    }
    fn is_plan(&self) -> bool {
        self.dry_run
    }
    fn title(&self) -> String {
        if self.dry_run { "Claim (dry run)".into() } else { "Claim".into() }
    }
    fn running(&self) -> &'static str {
        if self.dry_run { "Planning the claim (a dry run)" } else { "Claiming" }
    }
    /// The claim's dialog is its form, never a confirmation.
    fn confirmation(&self, _plan: &Plan) -> Confirmation {
        Confirmation::unplanned(self.running())
    }
}

impl Request for PlanClaim {
    fn tag(&self) -> &'static str {
        "plan_claim"
    }
    fn kind(&self) -> Kind {
        KIND
    }
    fn is_plan(&self) -> bool {
        true
    }
    fn running(&self) -> &'static str {
        "Planning the claim (a dry run)"
    }
    fn confirmation(&self, _plan: &Plan) -> Confirmation {
        Confirmation::unplanned(self.running())
    }
}

impl Report for ClaimReport {
    fn tag(&self) -> &'static str {
        "claim"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        ("Claim".into(), crate::present::claim::result(self), true)
    }
}

/// Absorbed as the claim's form before it is shown as a result.
impl Report for ClaimPlanned {
    fn tag(&self) -> &'static str {
        "claim_plan"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        ("Claim (planned)".into(), crate::present::claim::result(&self.report), true)
    }
}
