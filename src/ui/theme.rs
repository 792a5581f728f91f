//! Colours and symbols. With `NO_COLOR` every colour is off and statuses still
//! differ: by symbol, bold, underline and reverse video.

use ratatui::style::{Color, Modifier, Style};

use crate::config::Colours;
use crate::model::{Level, Status};

#[derive(Debug, Clone)]
pub struct Theme {
    pub mono: bool,
    /// Draw in plain ASCII: every cell is transliterated after the frame is drawn (`ui::ascii`).
    pub ascii: bool,
    /// A production context: every panel's frame in the critical colour.
    pub production: bool,
    /// Parsed once: a colour name is not parsed again for every cell.
    colours: std::collections::HashMap<&'static str, Color>,
}

impl Theme {
    pub fn new(colours: &Colours, no_color: bool) -> Self {
        Self { mono: no_color, ascii: false, production: false, colours: colours.parsed().collect() }
    }

    /// The same theme, for a production context or not.
    pub fn with_production(self, production: bool) -> Self {
        Self { production, ..self }
    }

    /// The same theme, drawn in ASCII or not.
    pub fn with_ascii(self, ascii: bool) -> Self {
        Self { ascii, ..self }
    }

    fn colour(&self, name: &str) -> Color {
        self.colours.get(name).copied().unwrap_or(Color::Reset)
    }

    /// `NO_COLOR` set to anything non-empty (no-color.org).
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    fn fg(&self, name: &str) -> Style {
        if self.mono { Style::new() } else { Style::new().fg(self.colour(name)) }
    }

    pub fn status_symbol(status: &Status) -> &'static str {
        match status {
            Status::Pending => "·",
            Status::Processing => "▶",
            Status::Completed => "✓",
            Status::Retry => "↻",
            Status::Failed => "✗",
            Status::Other(_) => "?",
        }
    }

    pub fn status(&self, status: &Status) -> Style {
        let base = match status {
            Status::Other(_) => self.fg("warning"),
            known => self.fg(known.as_str()),
        };
        match status {
            Status::Failed if self.mono => base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            Status::Failed => base.add_modifier(Modifier::BOLD),
            Status::Retry => base.add_modifier(Modifier::BOLD),
            Status::Processing if self.mono => base.add_modifier(Modifier::UNDERLINED),
            Status::Completed if self.mono => base.add_modifier(Modifier::DIM),
            _ => base,
        }
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Ok => Style::new(),
            Level::Warning => self.fg("warning").add_modifier(Modifier::BOLD),
            Level::Critical | Level::Unknown => {
                let s = self.fg("critical").add_modifier(Modifier::BOLD);
                if self.mono { s.add_modifier(Modifier::REVERSED) } else { s }
            }
        }
    }

    /// A banner that stands out from across a room.
    pub fn alert(&self, level: Level) -> Style {
        let colour = if level == Level::Warning { "warning" } else { "critical" };
        if self.mono {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().bg(self.colour(colour)).fg(Color::Black).add_modifier(Modifier::BOLD)
        }
    }

    pub fn stuck(&self) -> Style {
        self.level(Level::Critical)
    }

    pub fn accent(&self) -> Style {
        self.fg("accent").add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(&self, focused: bool) -> Style {
        match (self.production, focused) {
            (true, true) => self.level(crate::model::Level::Critical).add_modifier(ratatui::style::Modifier::BOLD),
            (true, false) => self.level(crate::model::Level::Critical),
            (false, true) => self.accent(),
            (false, false) => Style::new(),
        }
    }
}
