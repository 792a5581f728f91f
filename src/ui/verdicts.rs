//! The verdicts: a strip above the status line that nothing covers (a dialog opens over
//! the panels, never over it), a line per verdict — its level, what it is, and the key
//! that cures it or that no console action does — and their view (`v`): each verdict's
//! evidence, its months, locks and messages, and its cure whole.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::overlay::popup;
use super::theme::Theme;
use crate::app::{Action, State};
use crate::model::Level;
use crate::model::verdict::{Cure, Verdict};
use crate::text::{clip, sanitize};

/// `✖`, `▲`, `·`: the level, told apart without colour.
pub fn symbol(level: Level) -> &'static str {
    match level {
        Level::Critical | Level::Unknown => "✖",
        Level::Warning => "▲",
        Level::Ok => "·",
    }
}

/// The console action behind a cure.
pub fn cure_action(cure: Cure) -> Action {
    match cure {
        Cure::Reset => Action::ResetStuck,
        Cure::Release => Action::Release,
        Cure::Retry => Action::Errors,
        Cure::DeadLetters => Action::DeadLetters,
    }
}

/// The cure in a few words, with its key: `R resets`, or `no console cure`.
pub fn cure_hint(v: &Verdict, state: &State) -> String {
    let Some(cure) = v.remedy.action else { return "no console cure".into() };
    let key = state.keymap.first_key(cure_action(cure)).unwrap_or_else(|| "?".into());
    match cure {
        Cure::Reset => format!("{key} resets"),
        Cure::Release => format!("{key} on the lock holders releases"),
        Cure::Retry => format!("{key}: causes, then retry"),
        Cure::DeadLetters => format!("{key}: redrive or purge"),
    }
}

/// How many rows the strip takes: one per verdict, at most 2 on 24 rows (one more per
/// 8 rows beyond), and one saying all is clear.
pub fn strip_height(state: &State, height: u16) -> u16 {
    let most = 2 + height.saturating_sub(24) / 8;
    let count = state.assessment.as_ref().map_or(0, |a| a.verdicts.len());
    u16::try_from(count).unwrap_or(u16::MAX).clamp(1, most)
}

pub fn strip(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let width = usize::from(area.width);
    let Some(a) = &state.assessment else {
        frame.render_widget(Paragraph::new(Line::styled(" no verdict yet (no snapshot)", theme.dim())), area);
        return;
    };
    if a.verdicts.is_empty() {
        let line = Line::styled(" ✓ no trouble found", theme.dim());
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let rows = usize::from(area.height);
    let more = a.verdicts.len().saturating_sub(rows);
    let key = state.keymap.first_key(Action::Verdicts).unwrap_or_else(|| "?".into());
    let mut lines = Vec::new();
    for (i, v) in a.verdicts.iter().take(rows).enumerate() {
        let last = i + 1 == rows && more > 0;
        let tail =
            if last { format!(" · +{more} more: {key} lists them") } else { format!(" · {}", cure_hint(v, state)) };
        let head = format!(" {} ", symbol(v.level));
        let room = width.saturating_sub(head.chars().count() + tail.chars().count());
        let style = if v.level == Level::Ok { theme.dim() } else { theme.level(v.level) };
        lines.push(Line::from(vec![
            Span::styled(head, style.add_modifier(Modifier::BOLD)),
            Span::styled(clip(&sanitize(&v.summary), room), style),
            Span::styled(tail, theme.dim()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The verdicts' view: the list, and (`open`) the selected one whole.
pub fn view(frame: &mut Frame, area: Rect, selected: usize, open: bool, state: &State, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(140);
    let height = area.height.saturating_sub(2);
    let text_width = usize::from(width.saturating_sub(2));
    let verdicts: &[Verdict] = state.assessment.as_ref().map_or(&[], |a| &a.verdicts);
    let mut lines = Vec::new();
    match verdicts.get(selected) {
        Some(v) if open => lines.extend(detail(v, state, theme, text_width)),
        _ if verdicts.is_empty() => lines.push(Line::styled("no trouble found", theme.dim())),
        _ => {
            for (i, v) in verdicts.iter().enumerate() {
                let style = if i == selected { theme.selected() } else { theme.level(v.level) };
                let text = format!("{} {:<8} {}", symbol(v.level), v.level.word(), sanitize(&v.summary));
                lines.push(Line::styled(clip(&text, text_width), style));
                lines.push(Line::styled(clip(&format!("    {}", cure_hint(v, state)), text_width), theme.dim()));
            }
        }
    }
    let title = match verdicts.get(selected) {
        Some(v) if open => format!("Verdict · {}", v.kind.name()),
        _ => format!("Verdicts · {}", verdicts.len()),
    };
    let inner = popup(frame, area, width, height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn detail<'a>(v: &Verdict, state: &State, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::styled(format!("{} {}", symbol(v.level), sanitize(&v.summary)), theme.level(v.level))];
    lines.push(Line::raw(""));
    lines.push(Line::styled("Cure", bold));
    let how = match v.remedy.action {
        Some(_) => format!("{}: {}", cure_hint(v, state), sanitize(&v.remedy.text)),
        None => format!("no console action helps: {}", sanitize(&v.remedy.text)),
    };
    lines.push(Line::raw(how));
    if v.remedy.action == Some(Cure::Release) && !v.pids.is_empty() {
        let key = state.keymap.first_key(Action::Release).unwrap_or_else(|| "r".into());
        lines.push(Line::raw(format!(
            "Enter marks its {} lock holder(s) on the lock panel; then {key} releases them all (one confirmation)",
            v.pids.len()
        )));
    }
    if let Some(command) = &v.remedy.command {
        lines.push(Line::styled(format!("command: {}", sanitize(command)), theme.dim()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Evidence", bold));
    if let Some(fields) = v.evidence.as_object() {
        for (name, value) in fields.iter().filter(|(_, value)| !value.is_null()) {
            let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            lines.push(Line::raw(clip(&format!("  {}: {}", name.replace('_', " "), sanitize(&value)), width)));
        }
    }
    if !v.months.is_empty() {
        lines.push(Line::raw(format!("  months: {}", crate::model::months::compact(&v.months))));
    }
    if !v.pids.is_empty() {
        let pids: Vec<String> = v.pids.iter().map(i32::to_string).collect();
        lines.push(Line::raw(format!("  lock holders (pid): {}", pids.join(", "))));
    }
    if !v.msg_ids.is_empty() {
        lines.push(Line::raw(format!("  messages: {}", crate::model::dead::compact_ids(&v.msg_ids))));
    }
    lines
}
