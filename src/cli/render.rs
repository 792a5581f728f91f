//! Output for the headless commands: one JSON document, or aligned text with
//! every database string sanitised.

use super::output::outln;
use serde::Serialize;

use crate::db::lock_key::{LockClass, YearMonth};
use crate::duration_text::format as dur;
use crate::model::time::since;
use crate::model::{Assessment, HoldEstimate, LockProblem, Snapshot};
use crate::present;
use crate::text::clip;

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A result: its summary line, then the details indented.
pub fn result_lines(lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        outln!("{}{line}", if i == 0 { "" } else { "  " });
    }
}

/// A report as one JSON document, or its result lines.
pub fn report<T: Serialize>(report: &T, as_json: bool, lines: &[String]) -> anyhow::Result<()> {
    if as_json {
        return json(report);
    }
    result_lines(lines);
    Ok(())
}

/// One advisory lock as the commands report it.
#[derive(Debug, Serialize)]
pub struct LockView {
    pub class: LockClass,
    pub month: Option<YearMonth>,
    pub pid: Option<i32>,
    pub granted: bool,
    pub application: Option<String>,
    pub user: Option<String>,
    pub client: Option<String>,
    pub state: Option<String>,
    pub idle_secs: Option<u64>,
    pub hold: Option<HoldEstimate>,
    pub waiters: usize,
    pub blocking_pids: Vec<i32>,
    pub problems: Vec<LockProblem>,
}

pub fn lock_views(snapshot: &Snapshot, assessment: &Assessment) -> Vec<LockView> {
    snapshot
        .locks
        .iter()
        .zip(&assessment.locks)
        .map(|(lock, verdict)| {
            let holder = lock.holder.as_ref();
            LockView {
                class: lock.class(),
                month: lock.month(),
                pid: lock.pid,
                granted: lock.granted,
                application: holder.and_then(|h| h.application_name.clone()),
                user: holder.and_then(|h| h.usename.clone()),
                client: holder.map(|h| h.client_via(&assessment.poolers)),
                state: holder.and_then(|h| h.state.clone()),
                idle_secs: holder
                    .filter(|h| h.is_idle())
                    .and_then(|h| h.state_change)
                    .map(|c| since(c, snapshot.taken_at).as_secs()),
                hold: verdict.hold,
                waiters: snapshot.waiters_of(lock),
                blocking_pids: lock.blocking_pids.clone(),
                problems: verdict.problems.clone(),
            }
        })
        .collect()
}

pub fn lock_table(views: &[LockView]) -> String {
    let mut out = format!(
        "{:<9} {:>7} {:<18} {:<10} {:<21} {:<13} {:>7} {:>14} {:>4}  {}\n",
        "MONTH", "PID", "APPLICATION", "USER", "CLIENT", "STATE", "IDLE", "HELD ≥", "WAIT", "STUCK"
    );
    for v in views {
        let month = present::lock_month(v.month, v.granted);
        let hold = v.hold.map(|h| {
            let basis = match h.basis {
                crate::model::HoldBasis::Observed => "obs",
                crate::model::HoldBasis::IdleSince => "idle",
            };
            format!("{} ({basis})", dur(h.at_least))
        });
        let stuck = present::lock_why(v.granted, &v.blocking_pids, &v.problems);
        out.push_str(&format!(
            "{:<9} {:>7} {:<18} {:<10} {:<21} {:<13} {:>7} {:>14} {:>4}  {}\n",
            month,
            v.pid.map_or("-".into(), |p| p.to_string()),
            clip(v.application.as_deref().unwrap_or("-"), 18),
            clip(v.user.as_deref().unwrap_or("-"), 10),
            clip(v.client.as_deref().unwrap_or("-"), 21),
            clip(v.state.as_deref().unwrap_or("-"), 13),
            v.idle_secs.map_or("-".into(), |s| dur(std::time::Duration::from_secs(s))),
            hold.unwrap_or_else(|| "-".into()),
            v.waiters,
            stuck
        ));
    }
    out
}
