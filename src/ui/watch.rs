//! The wall-monitor layout: large counts, stuck alerts that stand out from
//! across a room, the calendar grid and the queue sparkline. Read-only.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme::Theme;
use super::{footer, header, locks, months, queue};
use crate::app::State;
use crate::model::{Level, Status};

pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [top, alert, counts, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::header(frame, top, state, theme);
    banner(frame, alert, state, theme);
    big_counts(frame, counts, state, theme);
    let [left, right] = Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(body);
    months::calendar(frame, left, state, theme);
    let [q, l] = Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(right);
    queue::panel(frame, q, state, theme);
    locks::table(frame, l, state, theme);
    footer::footer(frame, foot, state, theme);
}

fn banner(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let stale = state.is_stale();
    let (level, text) = match (&state.assessment, stale) {
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
    };
    let style = if level == Level::Ok { theme.dim() } else { theme.alert(level) };
    let paragraph = Paragraph::new(vec![Line::raw(""), Line::raw(crate::text::sanitize(&text)), Line::raw("")])
        .alignment(Alignment::Center)
        .style(style)
        .wrap(Wrap { trim: true });
    frame.render_widget(paragraph, area);
}

fn big_counts(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(snap) = &state.snapshot else { return };
    let counts = &state.status_counts;
    let mut items: Vec<(String, i64, Style)> = Status::KNOWN
        .iter()
        .map(|s| (format!("{} {s}", Theme::status_symbol(s)), counts.get(s).copied().unwrap_or(0), theme.status(s)))
        .collect();
    let queue_level = state.assessment.as_ref().map_or(Level::Ok, |a| a.queue);
    items.push(("queue ready".into(), snap.queue.ready, theme.level(queue_level)));
    let cells = Layout::horizontal(vec![Constraint::Ratio(1, items.len() as u32); items.len()]).split(area);
    for ((label, n, style), cell) in items.into_iter().zip(cells.iter()) {
        let block = Block::bordered().title(format!(" {label} "));
        let number = Paragraph::new(Line::styled(format!("{n}"), style.add_modifier(Modifier::BOLD)))
            .alignment(Alignment::Center)
            .block(block);
        frame.render_widget(number, *cell);
    }
}
