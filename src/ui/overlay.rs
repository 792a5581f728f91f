//! Pop-ups over the main screen: help (from the keymap), dialogs, detail views.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::hints;
use super::theme::Theme;
use crate::app::dialog::Dialog;
use crate::app::keymap::KeyAction;
use crate::app::{Action, Detail, State};
use crate::duration_text::format as dur;
use crate::model::Level;
use crate::model::time::since;
use crate::present::{self, PlanLine};
use crate::text::{clip, sanitize};

pub fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16, title: String, style: Style) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [r] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    frame.render_widget(Clear, r);
    let block = Block::bordered().title(format!(" {title} ")).border_style(style);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    inner
}

pub fn help(frame: &mut Frame, area: Rect, scroll: u16, state: &State, theme: &Theme) {
    let bindings: Vec<(String, String)> = state
        .keymap
        .normal
        .bindings()
        .filter(|(a, _)| state.may(*a))
        .map(|(a, keys)| (keys, a.label().to_string()))
        .collect();
    // As many columns as fit in the 78 cells inside the pop-up, filled top to bottom.
    let key_width = bindings.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(1);
    let label_width = bindings.iter().map(|(_, l)| l.chars().count()).max().unwrap_or(1);
    let cell_width = key_width + label_width + 3;
    let columns = (78 / cell_width).max(1);
    let rows = bindings.len().div_ceil(columns);
    let mut lines: Vec<Line> = (0..rows)
        .map(|i| {
            let spans = (0..columns).filter_map(|c| bindings.get(i + c * rows)).flat_map(|(k, l)| {
                [Span::styled(format!("{k:>key_width$} "), theme.accent()), Span::raw(format!("{l:<label_width$}  "))]
            });
            Line::from(spans.collect::<Vec<_>>())
        })
        .collect();
    lines.push(Line::raw(""));
    let keys = &state.keymap;
    let filter_key = keys.first_key(Action::Filter).unwrap_or_else(|| "filter".into());
    let modes = [
        ("In dialogs", mode_line(keys.dialog.bindings())),
        (&*format!("Filter ({filter_key})"), format!("type words · {}", mode_line(keys.filter.bindings()))),
        ("Views (help, detail, errors, audit, dead letters)", mode_line(keys.overlay.bindings())),
    ];
    for (mode, text) in modes {
        lines
            .push(Line::from(vec![Span::styled(format!("{mode}: "), theme.accent()), Span::styled(text, theme.dim())]));
    }
    lines.push(Line::from(vec![Span::styled("Symbols: ", theme.accent()), Span::styled(LEGEND, theme.dim())]));
    lines.push(Line::styled("Ctrl-C quits from anywhere.", theme.dim()));
    if state.acts_read_only() {
        lines.push(Line::styled("READ-ONLY: action keys are off", theme.level(Level::Warning)));
    }
    let content = wrapped_height(&lines, 78);
    // Taller than the terminal: the title says so and ↑/↓ scroll.
    let shown = area.height.saturating_sub(2);
    let title = if content > shown { "Keys · ↑/↓ scroll" } else { "Keys" };
    let inner = popup(frame, area, 80, content + 2, title.into(), theme.accent());
    let scroll = scroll.min(content.saturating_sub(inner.height));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((scroll, 0)), inner);
}

/// What the symbols that are not self-explaining mean.
const LEGEND: &str = "· pending ▶ processing ✓ completed ↻ retry ✗ failed · R retries used (of 5) · \
    Held ≥1h02m: held at least that long (obs: seen held across refreshes; else idle since) · \
    W sessions waiting for the lock · 2023-05… waiting for that month · ● marked · ≈ an estimate (a large queue)";

/// `keys label · keys label` for one mode's bindings.
fn mode_line<A: KeyAction>(bindings: impl Iterator<Item = (A, String)>) -> String {
    bindings.map(|(a, keys)| format!("{keys} {}", a.label())).collect::<Vec<_>>().join(" · ")
}

pub fn dialog(frame: &mut Frame, area: Rect, dialog: &Dialog, state: &State, theme: &Theme) {
    let hint = match state.typed_confirmation(dialog) {
        Some(name) => Line::styled(hints::typed(name, &state.typed), theme.alert(Level::Critical)),
        None => Line::styled(hints::dialog(&state.keymap, dialog), theme.dim()),
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut style = theme.accent();
    match dialog {
        Dialog::Claim(form) => {
            for &field in form.fields() {
                let focused = field == form.field;
                let value = format!(" {} ", form.value(field));
                lines.push(Line::from(vec![
                    Span::raw(format!("{:>14}  ", field.label())),
                    Span::styled(
                        value,
                        if focused { theme.selected() } else { Style::new().add_modifier(Modifier::BOLD) },
                    ),
                ]));
            }
            lines.push(Line::raw(""));
            lines.extend(plan_lines(&present::claim::plan(&form.params)));
            if let Some(found) = &form.plan {
                lines.push(Line::styled("A dry run of the routine (nothing changed) found:", theme.dim()));
                lines.extend(present::claim::result(found).iter().take(14).map(|l| Line::raw(sanitize(l))));
            }
            lines.push(Line::raw(""));
            lines.push(hint);
        }
        Dialog::Confirm { job, plan } => {
            let confirmation = job.confirmation(plan);
            style = theme.level(confirmation.level);
            lines.extend(plan_lines(&confirmation.lines));
            lines.push(Line::raw(""));
            lines.push(hint);
        }
        Dialog::Running { progress, cancellable, .. } => {
            lines.push(Line::raw("working… (the result will show here; it is never retried by itself)"));
            if let Some(progress) = progress {
                lines.push(Line::raw(progress.clone()));
            }
            if *cancellable {
                lines.push(hint);
            }
        }
        Dialog::Result { lines: result, ok, .. } => {
            style = if *ok { theme.accent() } else { theme.level(Level::Critical) };
            lines.extend(result.iter().take(16).map(|l| Line::raw(sanitize(l))));
            if result.len() > 16 {
                lines.push(Line::raw(format!("… {} more lines in the log", result.len() - 16)));
            }
            lines.push(Line::raw(""));
            lines.push(hint);
        }
    }
    let height = wrapped_height(&lines, 78) + 2;
    let inner = popup(frame, area, 80, height, dialog.title(), style);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// A plan's lines, the one that says what will be done in bold.
fn plan_lines(plan: &[PlanLine]) -> Vec<Line<'static>> {
    plan.iter()
        .map(|l| {
            if l.strong {
                Line::styled(l.text.clone(), Style::new().add_modifier(Modifier::BOLD))
            } else {
                Line::raw(l.text.clone())
            }
        })
        .collect()
}

/// Rows the lines take once word-wrapped at `width`, as the paragraph will draw them.
pub(super) fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let paragraph = Paragraph::new(lines.to_vec()).wrap(Wrap { trim: false });
    u16::try_from(paragraph.line_count(width)).unwrap_or(u16::MAX)
}

pub fn detail(frame: &mut Frame, area: Rect, detail: &Detail, state: &State, theme: &Theme) {
    let (title, lines) = match detail {
        Detail::Month { month, lines } => {
            let mut out: Vec<Line> = match lines {
                Some(lines) => lines.iter().map(|l| Line::raw(sanitize(l))).collect(),
                None => vec![Line::styled("reading…", theme.dim())],
            };
            if let Some(snap) = &state.snapshot {
                for lock in snap.locks.iter().filter(|l| l.month() == Some(*month)) {
                    let who = lock.holder.as_ref().map_or("?".into(), |h| {
                        format!(
                            "{} ({})",
                            clip(h.application_name.as_deref().unwrap_or("-"), 30),
                            clip(h.state.as_deref().unwrap_or("-"), 20)
                        )
                    });
                    let verb = if lock.granted { "lock held by" } else { "waiting:" };
                    out.push(Line::raw(format!("{verb} pid {} {who}", lock.pid.unwrap_or_default())));
                }
            }
            (format!("Month {month}"), out)
        }
        Detail::Session { pid } => (format!("Session {pid}"), session_lines(*pid, state, theme)),
    };
    let height = area.height.saturating_sub(2).min(lines.len() as u16 + 2);
    let inner = popup(frame, area, area.width.saturating_sub(4).min(110), height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn session_lines<'a>(pid: i32, state: &State, theme: &Theme) -> Vec<Line<'a>> {
    let Some(snap) = &state.snapshot else { return vec![] };
    let Some(h) = snap.locks.iter().find_map(|l| l.holder.as_ref().filter(|h| h.pid == pid)) else {
        return vec![Line::styled("that session is gone", theme.dim())];
    };
    let ts = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".into(), |t| format!("{} ({} ago)", t.format("%Y-%m-%d %H:%M:%S"), dur(since(t, snap.taken_at))))
    };
    let s = |v: &Option<String>| sanitize(v.as_deref().unwrap_or("-"));
    let mut lines = vec![
        Line::raw(format!("application   {}", s(&h.application_name))),
        Line::raw(format!("user          {}", s(&h.usename))),
        Line::raw(format!("client        {}", sanitize(&h.client()))),
        Line::raw(format!("backend type  {}", s(&h.backend_type))),
        Line::raw(format!("state         {}  (wait: {} {})", s(&h.state), s(&h.wait_event_type), s(&h.wait_event))),
        Line::raw(format!("started       {}", ts(h.backend_start))),
        Line::raw(format!("transaction   {}", ts(h.xact_start))),
        Line::raw(format!("query since   {}", ts(h.query_start))),
        Line::raw(format!("state since   {}", ts(h.state_change))),
        Line::raw(format!("query         {}", s(&h.query))),
        Line::raw(""),
        Line::styled("holds / waits for:", Style::new().add_modifier(Modifier::BOLD)),
    ];
    for lock in snap.locks.iter().filter(|l| l.pid == Some(pid)) {
        let what = lock
            .month()
            .map_or_else(|| format!("foreign {}/{}/{}", lock.classid, lock.objid, lock.objsubid), |m| m.to_string());
        let verb = if lock.granted { "holds" } else { "waits for" };
        lines.push(Line::raw(format!("  {verb} {what} ({})", sanitize(&lock.mode))));
    }
    lines
}
