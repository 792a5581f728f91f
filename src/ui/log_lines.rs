//! The log pane's lines: tui-logger's own formatter wraps a message at the pane's edge
//! wherever it falls ("tgres@127.0.0.1:35371/pos"); this one wraps between words and
//! indents what follows under the message, cutting a word only when it is wider than
//! the pane.

use ratatui::style::Style;
use ratatui::text::Line;
use tui_logger::{ExtLogRecord, LogFormatter};
use unicode_width::UnicodeWidthStr;

/// `HH:MM:SS:L:` before each message, and the indent of its continuation lines.
const INDENT: usize = 11;

/// Log lines wrapped between words, errors and warnings in their styles.
pub struct WordWrap {
    pub error: Style,
    pub warn: Style,
}

impl LogFormatter for WordWrap {
    fn min_width(&self) -> u16 {
        u16::try_from(INDENT + 8).unwrap_or(u16::MAX)
    }

    fn format(&self, width: usize, evt: &ExtLogRecord) -> Vec<Line<'_>> {
        let (style, level) = match evt.level.as_str() {
            "ERROR" => (self.error, "E"),
            "WARN" => (self.warn, "W"),
            other => (Style::new(), other.get(..1).unwrap_or("?")),
        };
        let head = format!("{}:{level}:", evt.timestamp.strftime("%H:%M:%S"));
        let mut lines = Vec::new();
        for (i, part) in evt.msg().lines().enumerate() {
            let first = if i == 0 { format!("{head}{part}") } else { format!("{}{part}", " ".repeat(INDENT)) };
            for (j, text) in wrap(&first, width, width.saturating_sub(INDENT)).into_iter().enumerate() {
                let text = if j == 0 { text } else { format!("{}{text}", " ".repeat(INDENT)) };
                lines.push(Line::styled(text, style));
            }
        }
        lines
    }
}

/// `text` in lines of at most `first` columns, then `rest`: broken at spaces; a word wider
/// than a whole line is cut (never lost).
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut limit = first.max(1);
    for word in text.split(' ') {
        let sep = usize::from(!line.is_empty());
        if line.width() + sep + word.width() <= limit {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            limit = rest.max(1);
        }
        let mut word = word;
        // Wider than a whole line: cut it where the line ends.
        while word.width() > limit {
            let cut = split_at_width(word, limit);
            lines.push(word[..cut].to_string());
            word = &word[cut..];
            limit = rest.max(1);
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The byte index where `text` reaches `width` columns (at least one character).
fn split_at_width(text: &str, width: usize) -> usize {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width && i > 0 {
            return i;
        }
        used += w;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn lines_break_between_words_and_only_an_overlong_word_is_cut() {
        let text = "connected (direct); safety settings in force at postgresql://postgres@127.0.0.1:35371/postgres";
        let lines = wrap(text, 40, 29);
        assert_eq!(lines[0], "connected (direct); safety settings in");
        assert_eq!(lines[1], "force at");
        // The URL is wider than a line: cut, and nothing lost.
        assert!(lines[2].starts_with("postgresql://") && lines[2].chars().count() == 29, "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        for (i, l) in lines.iter().enumerate() {
            assert!(l.chars().count() <= if i == 0 { 40 } else { 29 }, "{lines:?}");
        }
        assert_eq!(wrap("", 10, 5), [""]);
        assert_eq!(wrap("short", 10, 5), ["short"]);
    }
}
