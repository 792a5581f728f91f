//! Database events into state: snapshots, failures, action results.

use super::dialog::{ClaimForm, Dialog};
use super::msg::{DbEvent, Effect, JobResult};
use super::select;
use super::state::{Detail, Link, Notice, Overlay, State};
use crate::model::Level;
use crate::model::job::{After, ClaimPlanned};
use crate::model::stuck::assess_with;
use crate::present;

pub fn absorb(state: &mut State, event: DbEvent) -> Vec<Effect> {
    match event {
        DbEvent::Connected { server_version, route } => {
            let was_down = matches!(state.link, Link::Reconnecting { .. });
            state.server_version = Some(server_version);
            state.link = Link::Connected;
            let mut effects = Vec::new();
            if state.route.as_ref() != Some(&route) {
                let via = route.pooler_addr.as_deref().map(|a| format!(" at {a}")).unwrap_or_default();
                let text = format!("connected ({}{via}); {}", route.via.describe(), route.safety);
                effects.push(Effect::Log { error: !route.safety_ok, text });
            }
            // Only a transaction pooler strands locks: its address is one to judge holders by.
            if let Some(addr) = route
                .pooler_addr
                .clone()
                .filter(|a| route.via == super::Via::TransactionPooler && !state.thresholds.poolers.contains(a))
            {
                state.thresholds.poolers.push(addr);
            }
            state.route = Some(route);
            if was_down {
                effects.push(Effect::Log { error: false, text: "reconnected to the database".into() });
            }
            effects
        }
        DbEvent::Snapshot(mut snapshot, at) => {
            snapshot.sort_months();
            state.holds.observe(&snapshot);
            state.history.push(snapshot.taken_at, &snapshot.queue);
            let assessment = assess_with(&snapshot, &state.holds, &state.thresholds, state.history.steady_rates());
            let level = assessment.overall;
            state.status_counts = snapshot.status_counts();
            state.causes = assessment.causes.clone();
            state.snapshot = Some(*snapshot);
            state.assessment = Some(assessment);
            state.received_at = Some(at);
            state.now = state.now.max(at);
            state.link = Link::Connected;
            state.refresh_error = None;
            select::clamp(state);
            let mut effects = Vec::new();
            if level == Level::Critical && state.last_level != Level::Critical && state.bell_on_critical {
                effects.push(Effect::Bell);
            }
            state.last_level = level;
            effects
        }
        DbEvent::RefreshFailed { error, link_lost, attempt } => {
            let text = crate::text::sanitize(&error);
            state.refresh_error = Some(text.clone());
            if link_lost {
                state.link = Link::Reconnecting { attempt, error: text.clone() };
            }
            vec![Effect::Log { error: true, text: format!("refresh failed: {text}") }]
        }
        DbEvent::MonthDetail { month, lines } => {
            if let Overlay::Detail(Detail::Month { month: open, .. }) = &state.overlay
                && *open == month
            {
                state.overlay = Overlay::Detail(Detail::Month { month, lines: Some(lines) });
            }
            Vec::new()
        }
        DbEvent::JobDone(result) => job_done(state, result),
        DbEvent::Audit(rows) => {
            state.audit = Some(rows.map_err(|e| crate::text::sanitize(&e)));
            Vec::new()
        }
        DbEvent::JobProgress(text) => {
            if let Overlay::Dialog(Dialog::Running { progress, .. }) = &mut state.overlay {
                *progress = Some(crate::text::sanitize(&text));
            }
            Vec::new()
        }
        DbEvent::Replay(view) => {
            state.replay = Some(view);
            Vec::new()
        }
        DbEvent::Queued(waited) => {
            // Only while no session is up (a reconnect keeps its data, marked stale).
            if matches!(state.link, Link::Connecting | Link::Queued { .. } | Link::Reconnecting { .. }) {
                state.link = Link::Queued { waited };
            }
            Vec::new()
        }
        DbEvent::Relay(role) => {
            if let Some(role) = &role
                && state.relay.as_ref() != Some(role)
            {
                tracing::info!("{}", super::state::relay_text(role));
            }
            state.relay = role;
            Vec::new()
        }
        DbEvent::RecordingStopped(why) => {
            let why = crate::text::sanitize(&why);
            state.recording = Some(super::state::Recording::Stopped(why.clone()));
            let text = format!("the recording stopped: {why}");
            state.notice = Some(Notice { text: text.clone(), level: Level::Critical });
            vec![Effect::Log { error: true, text }]
        }
        DbEvent::Fleet(rows) => {
            state.fleet = Some(rows);
            Vec::new()
        }
        DbEvent::DeadLetters(messages) => {
            state.dead = Some(messages.map_err(|e| crate::text::sanitize(&e)));
            Vec::new()
        }
    }
}

fn job_done(state: &mut State, result: JobResult) -> Vec<Effect> {
    state.job_running = false;
    // A plan, not an action: the dialog that asks for the go-ahead.
    if let Some((job, plan)) = result.as_plan() {
        state.overlay = Overlay::Dialog(Dialog::Confirm { job, plan });
        return Vec::new();
    }
    // The claim's plan goes back into its form.
    if let Some(ClaimPlanned { params, report }) = result.get() {
        state.overlay = Overlay::Dialog(Dialog::Claim(ClaimForm::for_months(params.clone(), (**report).clone())));
        return Vec::new();
    }
    let after = match &result {
        JobResult::Done(outcome) => outcome.after(),
        JobResult::Failed { .. } => After::default(),
    };
    if after.clear_marked_months {
        state.marked.clear();
    }
    for holder in &after.unmark_holders {
        state.marked_locks.remove(holder);
    }
    let reload_dead = after.reload_dead;
    let (title, lines, ok) = present::confirm::outcome(&result);
    let summary = format!("{title}: {}", lines.first().cloned().unwrap_or_default());
    state.notice = Some(Notice { text: summary.clone(), level: if ok { Level::Ok } else { Level::Warning } });
    state.overlay = Overlay::Dialog(Dialog::Result { title, lines, ok });
    // Refresh at once so the screen shows the effect.
    let mut effects =
        vec![Effect::Log { error: !ok, text: summary }, Effect::Worker(super::msg::WorkerCmd::RefreshNow)];
    if reload_dead {
        effects.push(Effect::Worker(super::msg::WorkerCmd::LoadDeadLetters));
    }
    effects
}
