//! Text from the database is untrusted: control characters (ESC above all) are
//! shown in caret notation so a row can never drive the operator's terminal, and
//! what terminals draw at widths other than the ones ratatui computes (zero-width
//! joiners, flags, variation selectors, invisible format characters) is
//! neutralised, so a row can never shift the borders around it.

/// `\x1b[31m` → `^[[31m`; newlines, tabs and line/paragraph separators become
/// spaces; other C0/C1 and DEL in caret or `<U+..>` form; invisible format
/// characters (zero-width space and joiners, BOM, bidirectional marks) as `<U+..>`;
/// flag letters (regional indicators) as plain letters; emoji variation selectors
/// and skin-tone modifiers dropped. What is left draws, grapheme by grapheme, at
/// the width ratatui gives it.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push(' '),
            // Regional indicators: a pair draws as one flag, or as two letters, depending on the terminal.
            '\u{1f1e6}'..='\u{1f1ff}' => out.push(char::from(b'A' + (c as u32 - 0x1f1e6) as u8)),
            // Variation selectors and skin-tone modifiers change a glyph's width on some terminals only.
            '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}' | '\u{1f3fb}'..='\u{1f3ff}' => {}
            // Terminals disagree on these two: one column, three, or none.
            '\u{fffd}' => out.push('?'),
            c if is_invisible_format(c) || c == '\u{17d8}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            '\u{7f}' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c if c.is_control() => out.push_str(&format!("<U+{:04X}>", c as u32)),
            // Bidirectional overrides can disguise text: show them too.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Format characters that draw nothing (or differently per terminal): zero-width
/// space/joiners, word joiner, BOM, soft hyphen, directional marks, tags, and the like.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180b}'..='\u{180f}'
        | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{206a}'..='\u{206f}' | '\u{3164}' | '\u{feff}'
        | '\u{ffa0}' | '\u{fff9}'..='\u{fffb}' | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e007f}')
}

/// Sanitised and cut to `max` terminal columns (with an ellipsis): a wide
/// character counts two.
pub fn clip(text: &str, max: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let clean = sanitize(text);
    let width = |c: char| c.width().unwrap_or(0);
    if clean.chars().map(width).sum::<usize>() <= max {
        return clean;
    }
    let budget = max.saturating_sub(1);
    let (mut cut, mut used) = (String::new(), 0);
    for c in clean.chars() {
        if used + width(c) > budget {
            break;
        }
        used += width(c);
        cut.push(c);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_pass() {
        let evil = "boom\x1b]52;c;ZXZpbA==\x07\x1b[2J\u{9b}31m\u{202e}txt";
        let clean = sanitize(evil);
        assert!(!clean.chars().any(|c| c.is_control()), "{clean:?}");
        assert_eq!(clean, "boom^[]52;c;ZXZpbA==^G^[[2J<U+009B>31m<U+202E>txt");
        assert_eq!(sanitize("a\nb\tc"), "a b c");
    }

    #[test]
    fn invisible_and_width_changing_characters_are_neutralised() {
        assert_eq!(sanitize("a\u{2028}b\u{2029}c"), "a b c");
        assert_eq!(sanitize("x\u{200b}y\u{feff}z"), "x<U+200B>y<U+FEFF>z");
        assert_eq!(sanitize("\u{1f1fa}\u{1f1f8} flag"), "US flag");
        // A family (man ZWJ woman ZWJ girl) shows its members, the joiners visible.
        assert_eq!(
            sanitize("\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}"),
            "\u{1f468}<U+200D>\u{1f469}<U+200D>\u{1f467}"
        );
        assert_eq!(sanitize("\u{2764}\u{fe0f} \u{1f44d}\u{1f3fd}"), "\u{2764} \u{1f44d}");
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("héllo wörld", 6), "héllo…");
        assert_eq!(clip("short", 10), "short");
        // Columns, not characters: each of these is two columns wide.
        assert_eq!(clip("日本語のエラー", 7), "日本語…");
    }
}
