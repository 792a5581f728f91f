//! What needs someone: the banner, the stuck locks and months and a stall — each whole or
//! wrapped, never cut — and the top error causes.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::State;
use crate::duration_text::format as dur;
use crate::model::Level;
use crate::present;
use crate::text::sanitize;
use crate::ui::overlay::wrapped_height;
use crate::ui::theme::Theme;

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

/// Every stuck lock and stuck month, and a stall, one wrapped line each — as many as the
/// panel holds, then how many more there are.
pub fn list(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let room = usize::from(area.height.saturating_sub(2)).max(1);
    let mut total = 0;
    let mut lines: Vec<Line> = Vec::new();
    if let (Some(snap), Some(a)) = (&state.snapshot, &state.assessment) {
        if a.progress.stalled {
            let quiet = a.progress.quiet_for.map_or("a while".into(), dur);
            lines.push(Line::styled(
                format!("STALLED: {} months left, none completed for {quiet}", a.progress.remaining),
                theme.alert(Level::Critical),
            ));
        }
        let stuck_locks = snap.locks.iter().zip(&a.locks).filter(|(_, v)| v.is_stuck());
        total = usize::from(a.progress.stalled) + stuck_locks.clone().count() + a.stuck_months.len();
        for (lock, verdict) in stuck_locks.take(room) {
            let month = present::lock_month(lock.month(), lock.granted);
            let who = lock.holder.as_ref().and_then(|h| h.application_name.clone()).unwrap_or_default();
            let why = present::lock_why(lock.granted, &lock.blocking_pids, &verdict.problems);
            lines.push(Line::from(vec![
                Span::styled(month, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(format!(" pid {} {} ", lock.pid.unwrap_or(0), sanitize(&who))),
                Span::styled(why, theme.stuck()),
            ]));
        }
        for m in a.stuck_months.iter().take(room.saturating_sub(lines.len())) {
            let age = m.processing_for.map_or("no started_at".into(), dur);
            lines.push(Line::from(vec![
                Span::styled(m.month.to_string(), Style::new().add_modifier(Modifier::BOLD)),
                Span::styled(format!(" processing for {age}: stuck"), theme.level(Level::Warning)),
            ]));
        }
        if lines.is_empty() {
            lines.push(Line::styled("no stuck lock, no stuck month", theme.dim()));
        }
    }
    // Wrapped lines take more rows: the count of what is not shown goes in the title.
    let title =
        if total > room { format!(" Alerts · {total} (the first shown) ") } else { format!(" Alerts · {total} ") };
    let paragraph = Paragraph::new(lines).block(Block::bordered().title(title)).wrap(Wrap { trim: false });
    frame.render_widget(paragraph, area);
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
