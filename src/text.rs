//! Text from the database is untrusted: control characters (ESC above all) are
//! shown in caret notation so a row can never drive the operator's terminal.

/// `\x1b[31m` → `^[[31m`; newlines and tabs become spaces; other C0/C1 and DEL in caret or `<U+..>` form.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
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

/// Sanitised and cut to `max` characters (with an ellipsis).
pub fn clip(text: &str, max: usize) -> String {
    let clean = sanitize(text);
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
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
    fn clip_counts_characters() {
        assert_eq!(clip("héllo wörld", 6), "héllo…");
        assert_eq!(clip("short", 10), "short");
    }
}
