//! Configuration: the defaults shipped in `assets/default-config.toml` (compiled
//! in) with the operator's file on top. A bad file is refused with its line and
//! what is wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::str::FromStr;

use ratatui::style::Color;
use serde::Deserialize;

use crate::app::keymap::{KeyTables, Keymap};
use crate::model::Thresholds;

pub const DEFAULT_CONFIG: &str = include_str!("../assets/default-config.toml");

/// The whole configuration. Its `Default` is empty (zeros) and only lets a file name
/// a part of it; the defaults are [`Config::builtin`], read from the shipped file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    #[serde(with = "crate::duration_text")]
    pub refresh: Duration,
    /// Redraw as soon as the database says something changed (LISTEN/NOTIFY).
    pub listen: bool,
    /// Share reads with the other consoles on the same database (one reads and
    /// publishes, the others follow: `db::relay`).
    pub relay: bool,
    /// Users besides our own whose console we follow when it reads for the others.
    pub relay_trust: Vec<String>,
    /// A deployment whose queue lives elsewhere: its own depth query (one row with
    /// `ready`, `in_flight`, `delayed`, `dead`; optional `oldest_ready_at`, `enqueued_total`).
    pub queue_depth_query: Option<String>,
    /// A connection pooler between the console and PostgreSQL: detected (`auto`), or
    /// `none`, `session`, `transaction` to override the detection.
    pub pooler: crate::db::connect::PoolerSetting,
    /// Addresses of connection poolers in front of the database (for a console that
    /// connects directly): locks held by their server backends can be stranded.
    pub poolers: Vec<String>,
    /// A direct (not pooled) URL to the same database, used for releases only.
    pub direct_url: Option<String>,
    pub thresholds: Thresholds,
    /// What the console draws with: UTF-8, plain ASCII, or whichever the locale says.
    pub charset: Charset,
    pub colours: Colours,
    /// Every mode's key bindings (the shipped ones with the operator's on top).
    pub keys: KeyTables,
    /// The context used when none is named (`--context`, `BACKFILL_CONTEXT`) and no
    /// `DATABASE_URL` is set.
    pub default_context: Option<String>,
    /// `[contexts.NAME]`: the databases this file knows, each with its own settings.
    pub contexts: crate::contexts::Contexts,
    /// The shipped values with the file on top, as TOML: a context's configuration is
    /// built from it ([`Config::for_context`]).
    #[serde(skip)]
    pub merged: String,
}

/// The characters the console draws with (`charset` in the config file, `--ascii`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Charset {
    /// UTF-8 when the locale's codeset is UTF-8 (`LC_ALL`, else `LC_CTYPE`, else `LANG`, as
    /// the C library reads them), else ASCII — as htop does.
    #[default]
    Auto,
    Utf8,
    Ascii,
}

impl Charset {
    /// Whether to draw in ASCII, `ascii_flag` (`--ascii`) first, then this setting, `auto`
    /// reading the locale through `env`.
    pub fn ascii(self, ascii_flag: bool, env: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            _ if ascii_flag => true,
            Charset::Ascii => true,
            Charset::Utf8 => false,
            Charset::Auto => {
                let locale = ["LC_ALL", "LC_CTYPE", "LANG"].into_iter().find_map(|k| env(k).filter(|v| !v.is_empty()));
                let utf8 = locale.is_some_and(|l| {
                    let l = l.to_ascii_lowercase();
                    l.contains("utf-8") || l.contains("utf8")
                });
                !utf8
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Colours {
    pub pending: String,
    pub processing: String,
    pub completed: String,
    pub retry: String,
    pub failed: String,
    pub warning: String,
    pub critical: String,
    pub accent: String,
}

impl Colours {
    fn entries(&self) -> [(&'static str, &str); 8] {
        [
            ("pending", &self.pending),
            ("processing", &self.processing),
            ("completed", &self.completed),
            ("retry", &self.retry),
            ("failed", &self.failed),
            ("warning", &self.warning),
            ("critical", &self.critical),
            ("accent", &self.accent),
        ]
    }

    /// Every colour by its name, parsed (the values were checked when the file was read).
    pub fn parsed(&self) -> impl Iterator<Item = (&'static str, Color)> + '_ {
        self.entries().into_iter().map(|(name, value)| (name, Color::from_str(value).unwrap_or(Color::Reset)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: cannot read it: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} line {line}: {message}")]
    Invalid { path: String, line: usize, message: String },
}

impl Config {
    /// The compiled-in defaults: `assets/default-config.toml`, the one place they are written.
    pub fn builtin() -> Result<Self, ConfigError> {
        parse("", "(built-in defaults)")
    }

    /// Every mode's keys.
    pub fn keymap(&self) -> Result<Keymap, crate::app::keymap::KeymapError> {
        Keymap::from_tables(&self.keys)
    }
    /// `explicit` (must exist), else the XDG file when present, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => default_path().filter(|p| p.is_file()),
        };
        match path {
            None => Self::builtin(),
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).ok().map(|m| m.permissions().mode());
                parse_file(&text, &path.display().to_string(), mode)
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
    parse_file(text, path, None)
}

/// [`parse`], for a file with permission bits `mode` (a password in a URL needs 0600).
pub fn parse_file(text: &str, path: &str, mode: Option<u32>) -> Result<Config, ConfigError> {
    let invalid = |e: toml::de::Error, text: &str| {
        let message = e.message().trim().to_string();
        // The `[keys]` table is read through a flattened map, which loses the span of
        // an unknown action: find its line by name.
        let named = message
            .strip_prefix("unknown variant `")
            .and_then(|rest| rest.split_once('`'))
            .and_then(|(name, _)| key_line(text, name));
        let line = named.or_else(|| e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1));
        ConfigError::Invalid { path: path.to_string(), line: line.unwrap_or(0), message }
    };
    // The operator's file alone first, so that an error names its line.
    toml::from_str::<Config>(text).map_err(|e| invalid(e, text))?;
    let mut merged: toml::Table = DEFAULT_CONFIG.parse().map_err(|e| invalid(e, DEFAULT_CONFIG))?;
    merge(&mut merged, text.parse().map_err(|e| invalid(e, text))?);
    let merged_text = toml::to_string(&merged).unwrap_or_default();
    let mut config = finish(merged, text, path)?;
    config.merged = merged_text;
    crate::contexts::check(&config, mode).map_err(|(needle, message)| ConfigError::Invalid {
        path: path.to_string(),
        line: needle.and_then(|n| key_line(text, &n)).unwrap_or(0),
        message,
    })?;
    Ok(config)
}

/// The configuration `merged` holds, checked (`text`: the operator's file, to name the
/// line of a value that is wrong).
pub(crate) fn finish(merged: toml::Table, text: &str, path: &str) -> Result<Config, ConfigError> {
    let invalid = |e: toml::de::Error| ConfigError::Invalid {
        path: path.to_string(),
        line: 0,
        message: e.message().trim().to_string(),
    };
    let mut config = Config::deserialize(merged).map_err(invalid)?;
    config.thresholds.poolers = config.poolers.clone();
    let t = &config.thresholds;
    let bad_colour = config.colours.entries().into_iter().find(|(_, v)| Color::from_str(v).is_err());
    let problem: Option<(&str, String)> = if t.backlog_warning > t.backlog_critical {
        Some((
            "backlog_warning",
            "thresholds.backlog_warning is above backlog_critical; warning must come first".into(),
        ))
    } else if config.refresh < Duration::from_millis(100) {
        Some(("refresh", "refresh below 100ms would load the server for nothing; use 100ms or more".into()))
    } else if let Some((name, value)) = bad_colour {
        Some((name, format!("colours.{name}: `{value}` is not a colour (use a name like light-red, or #rrggbb)")))
    } else if config.queue_depth_query.as_deref().is_some_and(|q| q.trim().is_empty() || q.contains(';')) {
        Some(("queue_depth_query", "queue_depth_query must be one SELECT without `;`".into()))
    } else if let Err(e) = config.keymap() {
        Some(("[keys]", format!("keys: {e}")))
    } else {
        None
    };
    match problem {
        None => Ok(config),
        Some((key, message)) => {
            let line = key_line(text, key).unwrap_or(0);
            Err(ConfigError::Invalid { path: path.to_string(), line, message })
        }
    }
}

/// The first line that starts with `key` (1-based).
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|l| l.trim_start().starts_with(key)).map(|i| i + 1)
}

/// The operator's values over the shipped ones: tables merge key by key, anything else replaces.
pub(crate) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::app::Action;
    use crate::app::keymap::{DialogAction, FilterAction, OverlayAction, ReplayAction};

    #[test]
    fn the_shipped_file_is_complete() {
        let c = Config::builtin().unwrap();
        assert_eq!(parse(DEFAULT_CONFIG, "assets/default-config.toml").unwrap(), c);
        // Every value is set there (none falls back to the empty `Default`).
        let t = &c.thresholds;
        let durations = [t.leaked_after, t.overdue_after, t.idle_in_transaction_after, t.stuck_month_after, c.refresh];
        assert!(durations.iter().all(|d| !d.is_zero()), "{c:?}");
        assert!(t.backlog_warning > 0 && t.backlog_critical > 0 && t.failed_warning > 0, "{t:?}");
        assert!(c.colours.entries().iter().all(|(_, v)| !v.is_empty()), "{:?}", c.colours);
        assert!(c.listen);
        let map = c.keymap().unwrap();
        let all = crate::app::action::Action::ALL;
        assert!(all.iter().all(|a| map.normal.first_key(*a).is_some()), "an action without a key");
        assert!(DialogAction::ALL.iter().all(|a| map.dialog.first_key(*a).is_some()));
        assert!(FilterAction::ALL.iter().all(|a| map.filter.first_key(*a).is_some()));
        assert!(OverlayAction::ALL.iter().all(|a| map.overlay.first_key(*a).is_some()));
        assert!(ReplayAction::ALL.iter().all(|a| map.replay.first_key(*a).is_some()));
    }

    #[test]
    fn rebinding_an_action_replaces_only_its_keys() {
        let c = parse("[keys]\nquit = [\"Q\"]\n[keys.dialog]\nconfirm = [\"o\"]\n", "f").unwrap();
        let map = c.keymap().unwrap();
        assert_eq!(map.keys_of(Action::Quit), "Q");
        assert_eq!(map.keys_of(Action::Down), "j/↓");
        assert_eq!(map.dialog.keys_of(DialogAction::Confirm), "o");
        assert_eq!(map.dialog.keys_of(DialogAction::Cancel), "Esc/n");
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
        let err =
            parse("refresh = \"2s\"\n[thresholds]\nleaked_after = \"soon\"\n", "my.toml").unwrap_err().to_string();
        assert!(err.starts_with("config file my.toml line 3:"), "{err}");
        assert!(err.contains("soon"), "{err}");
        let err = parse("\n\nrefrsh = \"2s\"\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("refrsh"), "{err}");
        let err = parse("[thresholds\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let err = parse("[thresholds]\nbacklog_warning = -1\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = parse("[thresholds]\nbacklog_warning = 300\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("backlog_critical"), "{err}");
        let err = parse("[colours]\nfailed = \"blood\"\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("blood"), "{err}");
        let err = parse("[keys]\nquit = [\"j\"]\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("`j` is bound to both"), "{err}");
        let err = parse("[keys]\nlaunch_missiles = [\"m\"]\n", "my.toml").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("launch_missiles"), "{err}");
    }
}
