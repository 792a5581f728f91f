//! The header line and the status line under the panels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::{Link, State};
use crate::duration_text::format as dur;
use crate::model::Level;
use crate::text::clip;

pub fn header(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let wide = area.width >= 110;
    let mut spans = vec![
        Span::styled(" backfill-console ", theme.accent()),
        Span::raw("│ "),
        Span::raw(clip(&state.target, if wide { 48 } else { 22 })),
        Span::raw(" │ "),
    ];
    if let Some(v) = &state.server_version {
        let version = v.split_whitespace().next().unwrap_or(v);
        spans.push(Span::raw(format!("PG{}{} │ ", if wide { " " } else { "" }, clip(version, 8))));
    }
    let (link, link_style) = match &state.link {
        Link::Connecting => ("connecting…".to_string(), theme.level(Level::Warning)),
        Link::Connected => ("● connected".to_string(), Style::new()),
        Link::Reconnecting { attempt, .. } => (format!("⟳ reconnect #{attempt}"), theme.level(Level::Critical)),
    };
    spans.push(Span::styled(link, link_style));
    if let Some(route) = state.route.as_ref().filter(|r| r.pooling != "direct") {
        let at = route.pooler_addr.as_deref().map(|a| format!(" {a}")).unwrap_or_default();
        spans.push(Span::raw(format!(" │ via {}{at}", route.pooling)));
    }
    if state.route.as_ref().is_some_and(|r| !r.safety_ok) {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" SAFETY SETTINGS NOT IN FORCE ", theme.alert(Level::Warning)));
    }
    if state.is_stale() {
        let age = state.data_age().map_or("?".into(), dur);
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" STALE {age} "), theme.alert(Level::Critical)));
    } else if let Some(age) = state.data_age() {
        spans.push(Span::raw(format!(" │ {} ago", dur(age))));
    }
    if state.paused {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" PAUSED ", theme.alert(Level::Warning)));
    } else if state.route.as_ref().is_some_and(|r| r.pooling == "transaction pooler") {
        let every = crate::duration_text::format_fine(state.refresh);
        spans.push(Span::styled(format!(" │ push off (transaction pooler): polling every {every}"), theme.dim()));
    } else if wide {
        spans.push(Span::styled(format!(" │ every {}", crate::duration_text::format_fine(state.refresh)), theme.dim()));
    }
    if state.read_only || state.watch {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" READ-ONLY ", Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The last notice (an action's result, a refusal) or else why things are not OK.
pub fn status_line(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let line = if let Some(notice) = &state.notice {
        Line::styled(format!(" {}", clip(&notice.text, area.width as usize)), theme.level(notice.level))
    } else if let Link::Reconnecting { error, .. } = &state.link {
        Line::styled(
            format!(" database unreachable: {}", clip(error, area.width as usize)),
            theme.level(Level::Critical),
        )
    } else if let Some(a) = &state.assessment {
        if a.reasons.is_empty() {
            Line::styled(" all clear", theme.dim())
        } else {
            let text = format!(" {}: {}", a.overall.word(), a.reasons.join("; "));
            Line::styled(clip(&text, area.width as usize), theme.level(a.overall))
        }
    } else if let Some(error) = &state.refresh_error {
        let text = format!(" no snapshot yet: {error}");
        Line::styled(clip(&text, area.width as usize), theme.level(Level::Critical))
    } else {
        Line::styled(" waiting for the first snapshot…", theme.dim())
    };
    frame.render_widget(Paragraph::new(line), area);
}
