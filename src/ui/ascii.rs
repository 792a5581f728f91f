//! The console in plain ASCII (`--ascii`, `charset = "ascii"`, or a locale that is not
//! UTF-8): once a frame is drawn, every cell that is not ASCII is replaced by an ASCII
//! character of the same meaning — one pass, so no screen, chart or big digit is missed.
//! Borders become `+-|`, blocks `#`, the status and level symbols stay told apart without
//! colour (`. > + x r` for pending, processing, completed, failed, retry; `! ^ .` for the
//! levels), and anything else unknown becomes `?`.

use ratatui::buffer::Buffer;

/// Replaces every non-ASCII cell of `buffer`.
pub fn transliterate(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        let symbol = cell.symbol();
        if symbol.is_ascii() {
            continue;
        }
        let c = symbol.chars().next().unwrap_or(' ');
        let mut utf8 = [0u8; 4];
        let replacement = ascii_for(c).encode_utf8(&mut utf8);
        cell.set_symbol(replacement);
    }
}

/// The ASCII character drawn for `c`.
pub fn ascii_for(c: char) -> char {
    match c {
        // Status symbols (Theme::status_symbol) and levels (verdicts::symbol).
        '·' => '.',
        '▶' | '▸' | '►' | '→' => '>',
        '✓' => '+',
        '✗' | '×' => 'x',
        '↻' => 'r',
        '✖' => '!',
        '▲' | '↑' => '^',
        '↓' | '▼' => 'v',
        '←' | '◄' => '<',
        // Marks, states, dashes and the rest of the words.
        '●' | '•' => '*',
        '…' => '~',
        '⟳' | '⧗' | '≈' => '~',
        '—' | '–' | '━' | '─' | '╌' | '┄' | '┈' => '-',
        '≥' => '>',
        '≤' => '<',
        '❚' | '│' | '┃' | '║' | '╎' | '┆' | '┊' => '|',
        '═' => '=',
        // Box corners and joints.
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╯' | '╰' | '╔' | '╗' | '╚' | '╝' => {
            '+'
        }
        // Bars, sparklines and the wall's big digits: by how much of the cell is filled.
        '░' | '▒' => '.',
        '▁' | '▂' => '_',
        '▃' | '▄' | '▖' | '▗' => '-',
        '▀' | '▔' | '▘' | '▝' => '"',
        '▅' | '▆' => '=',
        '\u{2580}'..='\u{259F}' => '#',
        // Braille chart dots: a dot where any is set.
        '\u{2800}' => ' ',
        '\u{2801}'..='\u{28FF}' => '*',
        // Sextants and other block elements of the big-text font.
        '\u{1FB00}'..='\u{1FBFF}' | '\u{1CC00}'..='\u{1CEBF}' => '#',
        // Latin letters with marks: the letter.
        'à'..='å' => 'a',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ò'..='ö' => 'o',
        'ù'..='ü' => 'u',
        'À'..='Å' => 'A',
        'È'..='Ë' => 'E',
        'Ò'..='Ö' => 'O',
        'Ù'..='Ü' => 'U',
        'ç' => 'c',
        'ñ' => 'n',
        'ß' => 's',
        'µ' => 'u',
        _ => '?',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::widgets::{Block, Widget};

    #[test]
    fn every_cell_becomes_ascii_and_statuses_stay_apart() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 12, 3));
        Block::bordered().title("Zé…").render(buffer.area, &mut buffer);
        buffer.set_string(1, 1, "·▶✓✗↻日", ratatui::style::Style::new());
        transliterate(&mut buffer);
        let text: String = buffer.content.iter().map(|c| c.symbol()).collect();
        assert!(text.is_ascii(), "{text}");
        assert_eq!(&text[..12], "+Ze~-------+");
        assert_eq!(&text[12..20], "|.>+xr? ");
        let statuses: std::collections::BTreeSet<char> = "·▶✓✗↻".chars().map(ascii_for).collect();
        assert_eq!(statuses.len(), 5, "each status its own character");
    }
}
