//! Output for the headless commands: one JSON document, or aligned text with
//! every database string sanitised.

use super::output::outln;
use serde::Serialize;

use crate::db::lock_key::{LockClass, YearMonth};
use crate::model::time::since;
use crate::model::{Assessment, HoldEstimate, LockProblem, Snapshot};
use crate::present::locks;
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

/// The lock table as text: the console's columns and cells (`present::locks`), each
/// column as wide as the console draws it when there is room (the last one whole),
/// headers in capitals.
pub fn lock_table(snapshot: &Snapshot, assessment: &Assessment) -> String {
    use unicode_width::UnicodeWidthStr;
    let line = |cells: &[String]| {
        let parts: Vec<String> = locks::COLUMNS
            .iter()
            .zip(cells)
            .map(|(column, text)| match usize::from(column.width) {
                0 => clip(text, 500),
                width => {
                    let text = clip(text, width);
                    let pad = width.saturating_sub(text.width());
                    format!("{text}{}", " ".repeat(pad))
                }
            })
            .collect();
        format!("{}\n", parts.join(" ").trim_end())
    };
    let headers: Vec<String> = locks::COLUMNS.iter().map(|c| c.header.to_uppercase()).collect();
    let mut out = line(&headers);
    for (lock, verdict) in snapshot.locks.iter().zip(&assessment.locks) {
        out.push_str(&line(&locks::cells(lock, verdict, snapshot, &assessment.poolers)));
    }
    out
}
