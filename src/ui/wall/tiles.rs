//! The headline numbers in big digits, and the progress gauge with the ETA band.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use tui_big_text::{BigText, PixelSize};

use crate::app::State;
use crate::model::progress::Progress;
use crate::model::{Level, Status};
use crate::present::progress as words;
use crate::ui::theme::Theme;

/// The gauge, the ETA line and the status counts.
pub const GAUGE_HEIGHT: u16 = 3;

/// Glyphs eight rows tall on a tall screen, four otherwise; two rows of border.
pub fn height(area: Rect) -> u16 {
    if area.height >= 50 { 10 } else { 6 }
}

pub fn headline(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let (Some(snap), Some(a)) = (&state.snapshot, &state.assessment) else { return };
    let p = &a.progress;
    let rate_style = if p.stalled { theme.alert(Level::Critical) } else { theme.accent() };
    let approx = if snap.queue.estimated { "~" } else { "" };
    let tiles = [
        ("done", format!("{:.0}%", p.ratio() * 100.0), theme.status(&Status::Completed)),
        ("months left", p.remaining.to_string(), theme.status(&Status::Processing)),
        ("done per hour", p.per_hour.map_or("-".into(), |r| format!("{r:.0}")), rate_style),
        ("queue ready", format!("{approx}{}", snap.queue.ready), theme.level(a.queue)),
    ];
    let cells = Layout::horizontal([Constraint::Ratio(1, 4); 4]).split(area);
    // Stale figures are not shown as news: dimmed until fresh data comes.
    let stale = state.is_stale();
    for ((label, value, style), cell) in tiles.into_iter().zip(cells.iter()) {
        let style = if stale { theme.dim() } else { style };
        let block = Block::bordered().title(format!(" {label} "));
        let inner = block.inner(*cell);
        frame.render_widget(block, *cell);
        if theme.ascii {
            ascii_number(frame, inner, &value, style);
        } else {
            big_number(frame, inner, &value, style);
        }
    }
}

/// `text` as large as it fits whole: eight rows, four, or (never cut) plain bold text.
fn big_number(frame: &mut Frame, area: Rect, text: &str, style: Style) {
    let chars = u16::try_from(text.chars().count()).unwrap_or(u16::MAX);
    let size = [(PixelSize::Full, 8, 8), (PixelSize::HalfHeight, 8, 4), (PixelSize::Quadrant, 4, 4)]
        .into_iter()
        .find(|(_, w, h)| chars.saturating_mul(*w) <= area.width && *h <= area.height);
    match size {
        Some((pixel_size, w, h)) => {
            // Centred in the tile.
            let width = chars * w;
            let x = area.x + (area.width - width) / 2;
            let y = area.y + (area.height - h) / 2;
            let big = BigText::builder()
                .pixel_size(pixel_size)
                .style(style.add_modifier(Modifier::BOLD))
                .lines(vec![Line::from(text.to_string())])
                .build();
            frame.render_widget(big, Rect { x, y, width, height: h });
        }
        None => {
            let line = Line::styled(text.to_string(), style.add_modifier(Modifier::BOLD));
            frame.render_widget(Paragraph::new(line).alignment(Alignment::Center).wrap(Wrap { trim: true }), area);
        }
    }
}

/// Seven-segment digits three rows tall in plain ASCII (the block glyphs of the big font
/// read as noise once turned into ASCII), centred; plain text when even that does not fit.
fn ascii_number(frame: &mut Frame, area: Rect, text: &str, style: Style) {
    let glyph = |c: char| -> [&'static str; 3] {
        match c {
            '0' => [" _ ", "| |", "|_|"],
            '1' => ["   ", "  |", "  |"],
            '2' => [" _ ", " _|", "|_ "],
            '3' => [" _ ", " _|", " _|"],
            '4' => ["   ", "|_|", "  |"],
            '5' => [" _ ", "|_ ", " _|"],
            '6' => [" _ ", "|_ ", "|_|"],
            '7' => [" _ ", "  |", "  |"],
            '8' => [" _ ", "|_|", "|_|"],
            '9' => [" _ ", "|_|", " _|"],
            '%' => ["   ", "o/ ", "/o "],
            '-' => ["   ", " _ ", "   "],
            '~' => ["   ", " ~ ", "   "],
            '.' => ["   ", "   ", " . "],
            _ => ["   ", " ? ", "   "],
        }
    };
    let width = u16::try_from(text.chars().count() * 3).unwrap_or(u16::MAX);
    if width > area.width || area.height < 3 {
        let line = Line::styled(text.to_string(), style.add_modifier(Modifier::BOLD));
        frame.render_widget(Paragraph::new(line).alignment(Alignment::Center), area);
        return;
    }
    let rows: Vec<Line> = (0..3)
        .map(|row| {
            Line::styled(text.chars().map(|c| glyph(c)[row]).collect::<String>(), style.add_modifier(Modifier::BOLD))
        })
        .collect();
    let y = area.y + (area.height - 3) / 2;
    frame.render_widget(Paragraph::new(rows).alignment(Alignment::Center), Rect { y, height: 3, ..area });
}

/// `[██████░░░░] 126/300 done (42%)`, the ETA band, and the months by status.
pub fn gauge(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let (Some(snap), Some(a)) = (&state.snapshot, &state.assessment) else { return };
    let p = &a.progress;
    let label = format!(" {} ", words::done(p));
    let bar_width = usize::from(area.width).saturating_sub(label.chars().count() + 3).max(10);
    let lines = vec![
        bar(p, bar_width, &label, theme),
        eta_line(p, state.db_now().unwrap_or(snap.taken_at), area.width, theme),
        Line::from(
            Status::KNOWN
                .iter()
                .flat_map(|s| {
                    let n = state.status_counts.get(s).copied().unwrap_or(0);
                    [Span::styled(format!("{} {s} {n}", Theme::status_symbol(s)), theme.status(s)), Span::raw("  ")]
                })
                .collect::<Vec<_>>(),
        ),
    ];
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), area);
}

fn bar(p: &Progress, width: usize, label: &str, theme: &Theme) -> Line<'static> {
    let filled = ((p.ratio() * width as f64).round() as usize).min(width);
    let style = theme.status(&Status::Completed);
    Line::from(vec![
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(width - filled), theme.dim()),
        Span::styled(label.to_string(), Style::new().add_modifier(Modifier::BOLD)),
    ])
}

/// The ETA band and the rate always; the band's clock times and the last completion when
/// they fit the width too.
fn eta_line(p: &Progress, now: chrono::DateTime<chrono::Utc>, width: u16, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(words::eta(p, now), Style::new().add_modifier(Modifier::BOLD))];
    if p.stalled {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" STALLED ", theme.alert(Level::Critical)));
    }
    spans.push(Span::raw(format!(" · {} recently", words::rate(p))));
    let optional = [
        words::eta_clock(p).map(|clock| (1, Span::raw(format!(" ({clock})")))),
        p.last_completed_at.map(|at| {
            let ago = crate::duration_text::format(crate::model::time::since(at, now));
            (usize::MAX, Span::styled(format!(" · last completion {ago} ago"), theme.dim()))
        }),
    ];
    for (at, span) in optional.into_iter().flatten() {
        let used: usize = spans.iter().map(Span::width).sum();
        if used + span.width() <= usize::from(width) {
            spans.insert(at.min(spans.len()), span);
        }
    }
    Line::from(spans)
}
