//! The header line and the status line under the panels.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::{Link, RelayRole, State, Via};
use crate::duration_text::format as dur;
use crate::model::Level;
use crate::text::clip;

/// The header: where and how we are connected on the left; the badges an operator
/// must never miss (SAFETY, STALE, FROZEN, READ-ONLY) right-aligned, always whole —
/// the left part is what gets cut on a narrow terminal.
pub fn header(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let wide = area.width >= 110;
    let mut spans = vec![
        Span::styled(" backfill-console ", theme.accent()),
        Span::raw("│ "),
        Span::raw(place(state, if wide { 48 } else { 22 })),
        Span::raw(" │ "),
    ];
    if let Some(v) = &state.server_version {
        let version = v.split_whitespace().next().unwrap_or(v);
        spans.push(Span::raw(format!("PG{}{} │ ", if wide { " " } else { "" }, clip(version, 8))));
    }
    let (link, link_style) = match &state.link {
        Link::Connecting => ("connecting…".to_string(), theme.level(Level::Warning)),
        Link::Queued { waited } => (
            if wide {
                format!("⧗ waiting for a server connection in the pooler's queue for {}", dur(*waited))
            } else {
                format!("⧗ pooler queue {}", dur(*waited))
            },
            theme.level(Level::Warning),
        ),
        Link::Connected => ("● connected".to_string(), Style::new()),
        Link::Reconnecting { attempt, .. } => (format!("⟳ reconnect #{attempt}"), theme.level(Level::Critical)),
    };
    spans.push(Span::styled(link, link_style));
    let link_end = spans.len();
    let via = state.route.as_ref().map_or(Via::Direct, |r| r.via);
    let transaction_pooler = via == Via::TransactionPooler;
    // Through a transaction pooler the push-off note below names it; the address is in the log.
    if let Some(route) = state.route.as_ref().filter(|r| matches!(r.via, Via::SessionPooler | Via::Pooler)) {
        let at = route.pooler_addr.as_deref().filter(|_| wide).map(|a| format!(" {a}")).unwrap_or_default();
        spans.push(Span::raw(format!(" │ via {}{at}", via.describe())));
    }
    if !state.is_stale()
        && let Some(age) = state.data_age()
    {
        spans.push(Span::raw(format!(" │ {} ago", dur(age))));
    }
    let every = crate::duration_text::format_fine(state.refresh);
    if !state.paused && via != Via::Direct {
        // LISTEN is session state: through any pooler the console polls.
        let text = match (wide, transaction_pooler) {
            (true, true) => format!(" │ push off (transaction pooler): polling every {every}"),
            (true, false) => format!(" │ push off (pooler): polling every {every}"),
            (false, _) => format!(" │ push off: poll {every}"),
        };
        spans.push(Span::styled(text, theme.dim()));
    } else if !state.paused && wide {
        spans.push(Span::styled(format!(" │ every {every}"), theme.dim()));
    }
    // Sharing reads with other consoles (a follower's data is the leader's read).
    let shared = match (&state.relay, wide) {
        (Some(RelayRole::Leads), true) => Some(" │ reads for other consoles".to_string()),
        (Some(RelayRole::Follows { pid, .. }), true) => Some(format!(" │ shared read (pid {pid})")),
        (Some(RelayRole::Leads | RelayRole::Follows { .. }), false) => Some(" │ shared".to_string()),
        _ => None,
    };
    if let Some(text) = shared.filter(|_| !state.paused) {
        spans.push(Span::styled(text, theme.dim()));
    }
    let mut badges: Vec<Span> = Vec::new();
    // A production context, unmistakable with or without colour.
    if let Some(c) = state.context.as_ref().filter(|c| c.production) {
        badges.push(Span::styled(format!(" !! PROD {} !! ", clip(&c.name, 16)), theme.alert(Level::Critical)));
    }
    // The overall level, always (its causes are on the verdict strip).
    if let Some(a) = &state.assessment {
        let level = a.overall;
        let style = if level == Level::Ok { theme.dim() } else { theme.alert(level) };
        badges.push(Span::styled(format!(" {} {} ", crate::ui::verdicts::symbol(level), level.word()), style));
    }
    if state.route.as_ref().is_some_and(|r| !r.safety_ok) {
        // Which settings: the log says (and `snapshot --json`).
        badges.push(Span::styled(" SAFETY OFF ", theme.alert(Level::Warning)));
    }
    if state.is_stale() {
        let age = state.data_age().map_or("?".into(), dur);
        badges.push(Span::styled(format!(" STALE {age} "), theme.alert(Level::Critical)));
    }
    if state.paused {
        badges.push(Span::styled(" FROZEN ", theme.alert(Level::Warning)));
    }
    match &state.recording {
        Some(crate::app::Recording::On) => badges.push(Span::styled(" ● REC ", theme.dim())),
        // Why: the status line and the log say it.
        Some(crate::app::Recording::Stopped(_)) => {
            badges.push(Span::styled(" REC STOPPED ", theme.alert(Level::Critical)));
        }
        None => {}
    }
    if state.replay.is_some() {
        badges.push(Span::styled(" REPLAY ", theme.alert(Level::Warning)));
    } else if state.acts_read_only() {
        badges.push(Span::styled(" READ-ONLY ", Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)));
    }
    // Each badge carries its own padding: side by side they read apart.
    let badges = Line::from(badges);
    let badge_width = u16::try_from(badges.width()).unwrap_or(u16::MAX).min(area.width);
    let [left, right] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Min(0),
        ratatui::layout::Constraint::Length(badge_width),
    ])
    .areas(area);
    fit(&mut spans, link_end, usize::from(left.width), state);
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
    frame.render_widget(Paragraph::new(badges), right);
}

/// Where the console is, in at most `width` columns: the target, or the context's name
/// first with as much of its target as fits (the name alone when little room is left).
fn place(state: &State, width: usize) -> String {
    match &state.context {
        None => clip(&state.target, width),
        Some(c) => {
            let name = crate::text::sanitize(&c.name);
            let room = width.saturating_sub(name.chars().count() + 3);
            if room < 6 { clip(&name, width.max(8)) } else { format!("{name} ({})", clip(&state.target, room)) }
        }
    }
}

/// Makes the left part fit `width` without cutting the link's state in half ("⟳ re"): the
/// target narrows first (to 22), then the notes after the link go (from the last), then
/// the server version, then the target narrows to 8.
fn fit(spans: &mut Vec<Span<'_>>, link_end: usize, width: usize, state: &State) {
    let used = |spans: &[Span<'_>]| spans.iter().map(Span::width).sum::<usize>();
    let narrow_target = |spans: &mut Vec<Span<'_>>, least: usize| {
        let over = used(spans).saturating_sub(width);
        if over > 0 && spans[2].width() > least {
            let target_width = spans[2].width().saturating_sub(over).max(least);
            spans[2] = Span::raw(place(state, target_width));
        }
    };
    narrow_target(spans, 22);
    while used(spans) > width && spans.len() > link_end {
        spans.pop();
    }
    // The version span sits right before the link (span 4 of 6 when there is one).
    if used(spans) > width && state.server_version.is_some() && link_end >= 6 {
        spans.remove(4);
    }
    narrow_target(spans, 8);
}

/// The last notice (an action's result, a refusal) while it is fresh, else why the data is
/// not coming (the verdicts have their own strip above; the log pane keeps every notice).
pub fn status_line(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let line = if let Some(notice) = state.fresh_notice() {
        Line::styled(format!(" {}", clip(&notice.text, area.width as usize)), theme.level(notice.level))
    } else if let Link::Reconnecting { error, .. } = &state.link {
        Line::styled(
            format!(" database unreachable: {}", clip(error, area.width as usize)),
            theme.level(Level::Critical),
        )
    } else if state.assessment.is_some() {
        Line::raw("")
    } else if let Some(error) = &state.refresh_error {
        let text = format!(" no snapshot yet: {error}");
        Line::styled(clip(&text, area.width as usize), theme.level(Level::Critical))
    } else {
        Line::styled(" waiting for the first snapshot…", theme.dim())
    };
    frame.render_widget(Paragraph::new(line), area);
}
