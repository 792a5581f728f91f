//! The audit trail and the dead-letter views (read on demand by the worker).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::overlay::popup;
use super::table::{list_lines, scroll};
use super::theme::Theme;
use crate::app::State;
use crate::app::lists::{audit_rows, dead_messages, dead_reasons};
use crate::text::{clip, sanitize};

fn header(text: String) -> Line<'static> {
    Line::styled(text, Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
}

pub fn audit(frame: &mut Frame, area: Rect, selected: usize, state: &State, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(160);
    let text_width = usize::from(width.saturating_sub(2));
    let height = area.height.saturating_sub(2);
    let mut lines = Vec::new();
    match &state.audit {
        None => lines.push(Line::styled("reading…", theme.dim())),
        Some(Err(e)) => lines.push(Line::styled(clip(e, text_width * 2), theme.level(crate::model::Level::Critical))),
        Some(Ok(_)) => {
            let rows = audit_rows(state);
            lines.push(header(format!("{:<19} {:<18} {}", "When", "Action", "Who · what, then the outcome")));
            // Two lines a row: who and what (who first: a long month list must not cut it
            // off), then the outcome (it is what an operator reads).
            let (first, count) = scroll(selected, rows.len(), usize::from(height.saturating_sub(5)) / 2);
            for (i, row) in rows.iter().enumerate().skip(first).take(count) {
                let what = row.what();
                let what_who = if what.is_empty() { row.who() } else { format!("{} · {what}", row.who()) };
                let text = format!("{} {:<18} {what_who}", row.at.format("%Y-%m-%d %H:%M:%S"), clip(&row.action, 18));
                let style = if i == selected { theme.selected() } else { Style::new() };
                lines.push(Line::styled(clip(&text, text_width), style));
                lines.push(Line::styled(clip(&format!("    {}", row.outcome), text_width), theme.dim()));
            }
            if rows.is_empty() {
                lines.push(Line::styled(
                    format!("no audit row in the last {} days matches", crate::model::audit::WINDOW_DAYS),
                    theme.dim(),
                ));
            }
        }
    }
    let count = audit_rows(state).len();
    let title = if state.filter.is_empty() {
        format!("Audit trail · {count} row(s), last {} days, newest first", crate::model::audit::WINDOW_DAYS)
    } else {
        format!("Audit trail · {count} row(s) matching \"{}\"", clip(&state.filter, 20))
    };
    let inner = popup(frame, area, width, height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn dead(
    frame: &mut Frame,
    area: Rect,
    reason: Option<&str>,
    selected: usize,
    open: bool,
    state: &State,
    theme: &Theme,
) {
    let width = area.width.saturating_sub(4).min(160);
    let text_width = usize::from(width.saturating_sub(2));
    let height = area.height.saturating_sub(2);
    let list_rows = usize::from(height.saturating_sub(4));
    let mut lines = Vec::new();
    let mut title = "Dead letters".to_string();
    match (&state.dead, reason) {
        (None, _) => lines.push(Line::styled("reading…", theme.dim())),
        (Some(Err(e)), _) => {
            lines.push(Line::styled(clip(e, text_width * 2), theme.level(crate::model::Level::Warning)))
        }
        (Some(Ok(all)), None) => {
            let reasons = dead_reasons(state);
            title = format!("Dead letters · {} message(s), {} reason(s)", all.total, reasons.len());
            lines.push(header(format!("{:>6}  {}", "Count", "Reason")));
            // Row 0: every reason at once (redrive or purge them all from here).
            let rows: Vec<String> = std::iter::once(format!("{:>6}  (every reason)", all.total))
                .chain(reasons.iter().map(|g| format!("{:>6}  {}", g.count, sanitize(&g.reason))))
                .collect();
            lines.extend(list_lines(rows.len(), selected, list_rows, text_width, theme, |i| {
                (rows[i].clone(), Style::new())
            }));
            if reasons.is_empty() {
                lines.push(Line::styled("the dead-letter table is empty", theme.dim()));
            }
        }
        (Some(Ok(all)), Some(reason)) => {
            let messages = dead_messages(state, reason);
            let of = all.reasons.iter().find(|g| g.reason == reason).map_or(0, |g| g.count);
            let shown = if (messages.len() as i64) < of {
                format!("the newest {} of {of} message(s)", messages.len())
            } else {
                format!("{of} message(s)")
            };
            title = format!("Dead letters · {} · {shown}", clip(reason, 40));
            if open {
                if let Some(m) = messages.get(selected) {
                    let payload = m.message.pretty();
                    lines.push(Line::from(vec![
                        Span::styled(format!("msg {} ", m.msg_id), theme.accent()),
                        Span::raw(format!(
                            "· read {}× · enqueued {} · dead {}",
                            m.read_count,
                            m.enqueued_at.format("%Y-%m-%d %H:%M:%S"),
                            m.dead_at.format("%Y-%m-%d %H:%M:%S")
                        )),
                    ]));
                    lines.push(Line::raw(format!("reason: {}", sanitize(m.reason.as_deref().unwrap_or("-")))));
                    lines.push(Line::raw(""));
                    lines.extend(payload.lines().map(|l| Line::raw(sanitize(l))));
                }
            } else {
                lines.push(header(format!("{:>10} {:<8} {:<12} {:>5} {}", "Msg", "Month", "Now", "Reads", "Dead at")));
                lines.extend(list_lines(messages.len(), selected, list_rows, text_width, theme, |i| {
                    let m = &messages[i];
                    let month = m.month.map_or("-".into(), |m| m.to_string());
                    let status = m.month_status.as_ref().map_or("-".into(), |s| sanitize(s.as_str()));
                    let text = format!(
                        "{:>10} {month:<8} {:<12} {:>5} {}",
                        m.msg_id,
                        clip(&status, 12),
                        m.read_count,
                        m.dead_at.format("%Y-%m-%d %H:%M:%S")
                    );
                    (text, Style::new())
                }));
            }
        }
    }
    let inner = popup(frame, area, width, height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
