//! Queue depth, rates and a sparkline of depth over the session.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::table::placeholder;
use super::theme::Theme;
use crate::app::{Panel, State};
use crate::duration_text::format as dur;
use crate::model::Level;
use crate::model::time::since;
use crate::text::clip;

pub fn panel(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = state.focus == Panel::Queue;
    let (Some(snap), Some(assessment)) = (&state.snapshot, &state.assessment) else {
        return placeholder(frame, area, "Queue", focused, theme);
    };
    let q = &snap.queue;
    let level = assessment.queue;
    let block = Block::bordered().title(format!(" Queue · {} ", level.word())).border_style(if level == Level::Ok {
        theme.border(focused)
    } else {
        theme.level(level)
    });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let oldest = q.oldest_ready_at.map_or("-".into(), |t| dur(since(t, snap.taken_at)));
    let rates = state
        .history
        .rates()
        .map_or("rates after two reads".into(), |r| format!("in {:.1}/min · out {:.1}/min", r.enqueued, r.dequeued));
    // Beyond the exact-count cap, ready and dead are catalogue estimates: say so.
    let approx = if q.estimated { "≈" } else { "" };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("ready {approx}{}", q.ready), theme.level(level)),
            Span::raw(format!(" · flight {approx}{} · delayed {approx}{}", q.in_flight, q.delayed)),
        ]),
        Line::from(vec![
            Span::styled(
                format!("dead {approx}{}", q.dead),
                if q.dead > 0 { theme.level(Level::Warning) } else { theme.dim() },
            ),
            Span::raw(format!(" · oldest ready {oldest}")),
        ]),
        Line::styled(rates, theme.dim()),
    ];
    if !snap.duplicates.is_empty() {
        // The old scheduler's defect: more than one live message for a month.
        let months: Vec<String> =
            snap.duplicates.iter().map(|d| format!("{:04}-{:02}×{}", d.year, d.month, d.count_text())).collect();
        let text = format!("duplicates: {}", months.join(" "));
        lines.insert(2, Line::styled(clip(&text, usize::from(inner.width)), theme.level(Level::Warning)));
    }
    let text_rows = u16::try_from(lines.len()).unwrap_or(3);
    let [text, spark] = Layout::vertical([Constraint::Length(text_rows), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), text);
    let data = state.history.depths(spark.width as usize);
    // Scaled to the warning threshold (or the peak, if higher): a small queue stays low.
    let peak = data.iter().copied().max().unwrap_or(0).max(u64::from(state.thresholds.backlog_warning));
    frame.render_widget(Sparkline::default().data(&data).max(peak).style(theme.level(level)), spark);
}
