//! The release of a month lock's holder: terminate (or cancel) its backend, race-free,
//! audited in the same statement (`db::release`).

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::{ConnSettings, Session};
use crate::db::release;
use crate::model::audit::Action;
use crate::model::release::{Holder, Method, Released};

pub const KIND: Kind = Kind { name: "Release", action: Action::ReleaseTerminate, destructive: true };

/// The audit action of a release by `method`.
pub fn action(method: Method) -> Action {
    match method {
        Method::Terminate => Action::ReleaseTerminate,
        Method::Cancel => Action::ReleaseCancel,
    }
}

/// Where a release runs: over the direct connection when there is one. Through a pooler
/// the holder may be the very backend a pooled statement lands on (it would end itself,
/// or the pooler's server connection of somebody else).
pub fn settings<'a>(pooled: &'a ConnSettings, direct: Option<&'a ConnSettings>) -> &'a ConnSettings {
    direct.unwrap_or(pooled)
}

/// [`settings`] for sessions already open: the direct one when there is one.
pub fn acting<'a>(pooled: &'a Session, direct: Option<&'a Session>) -> &'a Session {
    direct.unwrap_or(pooled)
}

/// Releases each holder's locks by `method`, for `reason`: each checked race-free, one
/// audit row for them all. Each holder's target with what came of it, in order.
pub async fn run(
    session: &Session,
    actor: &Actor,
    holders: &[Holder],
    method: Method,
    reason: &str,
) -> Result<Vec<Released>, DbError> {
    let outcomes = release::release_all(&session.client, actor, holders, method, reason).await?;
    Ok(holders.iter().zip(outcomes).map(|(h, outcome)| Released { target: h.target.clone(), outcome }).collect())
}
