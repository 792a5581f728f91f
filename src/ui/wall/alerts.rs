//! What needs someone: the banner, the verdicts — each whole or wrapped, never cut, with
//! its cure — and the top error causes.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::State;
use crate::duration_text::format as dur;
use crate::model::Level;
use crate::model::time::since;
use crate::model::verdict::Verdict;
use crate::present;
use crate::text::sanitize;
use crate::ui::overlay::wrapped_height;
use crate::ui::theme::Theme;
use crate::ui::verdicts;

/// The banner's level and text: stale data first, then the assessment.
fn banner_text(state: &State) -> (Level, String) {
    match (&state.assessment, state.is_stale()) {
        (_, true) => match &state.refresh_error {
            Some(error) => (Level::Critical, format!("DATA IS STALE — {error}")),
            None => (Level::Critical, "DATA IS STALE — the database cannot be reached".to_string()),
        },
        (Some(a), false) if a.overall != Level::Ok => {
            (a.overall, format!("{}: {}", a.overall.word(), a.reasons.join(" · ")))
        }
        (Some(_), false) => (Level::Ok, "ALL CLEAR".to_string()),
        (None, false) => match &state.refresh_error {
            Some(error) => (Level::Critical, format!("NO DATA — {error}")),
            None => (Level::Ok, "waiting for the first snapshot…".to_string()),
        },
    }
}

/// As many rows as the banner needs wrapped (at most three).
pub fn banner_height(state: &State, width: u16) -> u16 {
    let (_, text) = banner_text(state);
    wrapped_height(&[Line::raw(sanitize(&text))], width).clamp(1, 3)
}

pub fn banner(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let (level, text) = banner_text(state);
    let style = if level == Level::Ok { theme.dim() } else { theme.alert(level) };
    let paragraph =
        Paragraph::new(Line::raw(sanitize(&text))).alignment(Alignment::Center).style(style).wrap(Wrap { trim: true });
    frame.render_widget(paragraph, area);
}

/// Every verdict, whole or wrapped, with what it is about (each stuck lock with its reason,
/// each month with how long it has been processing) — as many as the panel holds, then how
/// many more there are. (The wall is read-only: the cures are the console's, not shown here.)
pub fn list(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let room = area.height.saturating_sub(2).max(1);
    let width = area.width.saturating_sub(2);
    let verdicts = state.assessment.as_ref().map_or(&[][..], |a| a.verdicts.as_slice());
    let mut lines: Vec<Line> = Vec::new();
    let mut rows = 0;
    let mut shown = 0;
    // Rows count wrapped: a verdict is shown only when its summary fits whole.
    for v in verdicts {
        let style = if v.level == Level::Ok { theme.dim() } else { theme.level(v.level) };
        let summary = Line::from(vec![
            Span::styled(format!("{} ", verdicts::symbol(v.level)), style.add_modifier(Modifier::BOLD)),
            Span::styled(sanitize(&v.summary), style),
        ]);
        let height = wrapped_height(std::slice::from_ref(&summary), width);
        if rows + height > room {
            break;
        }
        rows += height;
        shown += 1;
        lines.push(summary);
        let items = items(v, state, theme);
        let total = items.len();
        for (i, item) in items.into_iter().take(ITEMS_SHOWN).enumerate() {
            let height = wrapped_height(std::slice::from_ref(&item), width);
            if rows + height > room {
                break;
            }
            rows += height;
            lines.push(item);
            if i + 1 == ITEMS_SHOWN && total > ITEMS_SHOWN && rows < room {
                lines.push(Line::styled(format!("  … and {} more", total - ITEMS_SHOWN), theme.dim()));
                rows += 1;
            }
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("no trouble found", theme.dim()));
    }
    let title = if verdicts.len() > shown {
        format!(" Verdicts · {} ({shown} shown) ", verdicts.len())
    } else {
        format!(" Verdicts · {} ", verdicts.len())
    };
    let paragraph = Paragraph::new(lines).block(Block::bordered().title(title)).wrap(Wrap { trim: false });
    frame.render_widget(paragraph, area);
}

/// Items a verdict lists on the wall at most.
const ITEMS_SHOWN: usize = 5;

/// What a verdict is about, a line each: its stuck locks with their reasons, or its months
/// with how long each has been processing.
fn items<'a>(v: &Verdict, state: &State, theme: &Theme) -> Vec<Line<'a>> {
    let (Some(snap), Some(a)) = (&state.snapshot, &state.assessment) else { return Vec::new() };
    if !v.pids.is_empty() {
        return snap
            .locks
            .iter()
            .zip(&a.locks)
            .filter(|(l, verdict)| verdict.is_stuck() && l.pid.is_some_and(|p| v.pids.contains(&p)))
            .map(|(lock, verdict)| {
                let month = present::lock_month(lock.month(), lock.granted);
                let who = lock.holder.as_ref().and_then(|h| h.application_name.clone()).unwrap_or_default();
                let why = present::lock_why(lock.granted, &lock.blocking_pids, &verdict.problems);
                Line::from(vec![
                    Span::styled(format!("  {month}"), Style::new().add_modifier(Modifier::BOLD)),
                    Span::raw(format!(" pid {} {} ", lock.pid.unwrap_or(0), sanitize(&who))),
                    Span::styled(why, theme.stuck()),
                ])
            })
            .collect();
    }
    v.months
        .iter()
        .map(|m| {
            let age = snap.month(*m).and_then(|r| r.started_at).map(|s| dur(since(s, snap.taken_at)));
            let what = age.map_or(String::new(), |age| format!(" processing for {age}"));
            Line::from(vec![
                Span::styled(format!("  {m}"), Style::new().add_modifier(Modifier::BOLD)),
                Span::styled(what, theme.dim()),
            ])
        })
        .collect()
}

/// The top error causes, by count.
pub fn causes(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let mut lines: Vec<Line> = state
        .causes
        .iter()
        .take(rows)
        .map(|c| {
            Line::from(vec![
                Span::styled(format!("{:>4}× ", c.count), theme.level(Level::Warning)),
                Span::raw(sanitize(&c.signature)),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("no failed or retry month", theme.dim()));
    }
    let title = format!(" Top error causes · {} ", state.causes.len());
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)).wrap(Wrap { trim: false }), area);
}
