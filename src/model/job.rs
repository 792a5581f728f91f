//! The claim's requests and outcomes as data: the console's claim form (its own dialog,
//! not a confirmation) builds them. Every other operation's types live in its module of
//! `ops/`, which builds them when the console asks (`model::ask`). What each one does and
//! says is declared there too (the [`Request`](super::op::Request) and
//! [`Report`](super::op::Report) implementations); the console handles them all through
//! `model::op`, re-exported here.

use serde::Serialize;

pub use super::op::{After, Confirmation, Job, JobResult, Kind, Knob, Plan, PlanLine, Turned};
use crate::model::claim::{ClaimParams, ClaimReport};

/// A claim of listed months planned: the same routine as a dry run (nothing changed), for
/// the claim's form. (The claim itself is its [`ClaimParams`].)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PlanClaim(pub ClaimParams);

/// The claim of listed months as a dry run found it, for the claim's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimPlanned {
    pub params: ClaimParams,
    pub report: Box<ClaimReport>,
}
