//! Configuration: the defaults shipped in `assets/default-config.toml` (compiled
//! in) with the operator's file on top. A bad file is refused with its line and
//! what is wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::model::Thresholds;

pub const DEFAULT_CONFIG: &str = include_str!("../assets/default-config.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    #[serde(with = "crate::duration_text")]
    pub refresh: Duration,
    pub thresholds: Thresholds,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: cannot read it: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} line {line}: {message}")]
    Invalid { path: String, line: usize, message: String },
}

impl Default for Config {
    /// The same values as `assets/default-config.toml` (a test keeps them equal).
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(1),
            thresholds: Thresholds::default(),
        }
    }
}

impl Config {
    /// `explicit` (must exist), else the XDG file when present, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => default_path().filter(|p| p.is_file()),
        };
        match path {
            None => Ok(Self::default()),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                parse(&text, &path.display().to_string())
            }
        }
    }
}

/// `$XDG_CONFIG_HOME/backfill-console/config.toml`, else `~/.config/...`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("backfill-console").join("config.toml"))
}

/// Parses an operator's file; whatever it leaves out keeps its default.
pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_string(),
        line: e
            .span()
            .map_or(0, |span| text[..span.start.min(text.len())].matches('\n').count() + 1),
        message: e.message().trim().to_string(),
    })?;
    let t = &config.thresholds;
    let problem = if t.backlog_warning > t.backlog_critical {
        Some("thresholds.backlog_warning is above thresholds.backlog_critical; warning must come first")
    } else if config.refresh < Duration::from_millis(100) {
        Some("refresh below 100ms would load the server for nothing; use 100ms or more")
    } else {
        None
    };
    match problem {
        None => Ok(config),
        Some(message) => {
            let key = message.split(' ').next().unwrap_or("").rsplit('.').next().unwrap_or("");
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(key))
                .map_or(0, |i| i + 1);
            Err(ConfigError::Invalid {
                path: path.to_string(),
                line,
                message: message.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_states_the_compiled_defaults() {
        assert_eq!(
            parse(DEFAULT_CONFIG, "assets/default-config.toml").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn a_partial_file_overrides_only_what_it_names() {
        let c = parse("[thresholds]\nleaked_after = \"5s\"\n", "f").unwrap();
        assert_eq!(c.thresholds.leaked_after, Duration::from_secs(5));
        assert_eq!(c.thresholds.backlog_warning, 100);
        assert_eq!(c.refresh, Duration::from_secs(1));
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let err = parse("refresh = \"2s\"\n[thresholds]\nleaked_after = \"soon\"\n", "my.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config file my.toml line 3:"), "{err}");
        assert!(err.contains("soon"), "{err}");
        let err = parse("\n\nrefrsh = \"2s\"\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("refrsh"), "{err}");
        let err = parse("[thresholds\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let err = parse("[thresholds]\nbacklog_warning = -1\n", "my.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = parse("[thresholds]\nbacklog_warning = 300\n", "my.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("backlog_critical"), "{err}");
    }
}
