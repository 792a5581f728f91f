//! Named contexts: the databases an operator works on (staging, production, regions),
//! each named once in the config file with its URL and its own settings over the
//! top-level ones. `--context NAME` (or `BACKFILL_CONTEXT`, else `default_context`) picks
//! one for every command; a config without contexts works as it always did.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// One `[contexts.NAME]` table as the file gives it. The per-context settings are read
/// here for their shape (a wrong one is refused with its line); they are applied by
/// merging the file's table over the top-level values ([`Config::for_context`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextEntry {
    pub url: String,
    /// Releases only, as the top-level `direct_url`.
    #[serde(default)]
    pub direct_url: Option<String>,
    /// A red frame and a PROD badge; destructive actions ask for the context's name typed.
    #[serde(default)]
    pub production: bool,
    /// The default for this context; `--read-only` / `--write` beat it.
    #[serde(default)]
    pub read_only: Option<bool>,
    #[serde(default)]
    pub thresholds: Option<crate::model::Thresholds>,
    #[serde(default)]
    pub pooler: Option<crate::db::connect::PoolerSetting>,
    #[serde(default)]
    pub poolers: Option<Vec<String>>,
    #[serde(default)]
    pub queue_depth_query: Option<String>,
}

/// The keys of a context that apply over the top-level values of the same name.
const OVER: [&str; 5] = ["direct_url", "thresholds", "pooler", "poolers", "queue_depth_query"];

/// The context a command runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub name: String,
    pub url: String,
    pub production: bool,
    /// The context's default (`read_only = true`), before the command line's flags.
    pub read_only: bool,
}

/// How the command line and the environment choose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice<'a> {
    /// `--context NAME`.
    pub flag: Option<&'a str>,
    /// `--database-url` was given: no context, unless one is named too (refused).
    pub database_url: bool,
}

/// Why no context could be chosen: a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ChoiceError {
    #[error("unknown context `{name}`: {known}")]
    Unknown { name: String, known: String },
    #[error("--database-url and --context `{0}` name two databases: give one of them")]
    Both(String),
}

impl Config {
    /// The context `choice` names: `--context`, else `BACKFILL_CONTEXT`, else — when no
    /// `DATABASE_URL` says otherwise — `default_context`; `None` without any. Returns the
    /// configuration as that context has it.
    pub fn choose(
        self,
        choice: Choice<'_>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Option<Active>), ChoiceError> {
        let named = choice.flag.map(str::to_string).or_else(|| env("BACKFILL_CONTEXT").filter(|v| !v.is_empty()));
        let name = match (named, choice.database_url) {
            (Some(name), true) => return Err(ChoiceError::Both(name)),
            (Some(name), false) => Some(name),
            (None, true) => None,
            (None, false) if env("DATABASE_URL").is_some_and(|v| !v.is_empty()) => None,
            (None, false) => self.default_context.clone(),
        };
        let Some(name) = name else { return Ok((self, None)) };
        let Some(entry) = self.contexts.get(&name) else {
            return Err(ChoiceError::Unknown { name, known: self.known() });
        };
        let active = Active {
            name: name.clone(),
            url: entry.url.clone(),
            production: entry.production,
            read_only: entry.read_only.unwrap_or(false),
        };
        // Checked when the file was read: a context's configuration always builds.
        let config = self.for_context(&name).map_err(|_| ChoiceError::Unknown { name, known: self.known() })?;
        Ok((config, Some(active)))
    }

    /// "the known ones are a, b" (or that there are none, and where they go).
    fn known(&self) -> String {
        if self.contexts.is_empty() {
            "the config file names no context ([contexts.NAME] with a url)".into()
        } else {
            format!("the known ones are {}", self.contexts.keys().cloned().collect::<Vec<_>>().join(", "))
        }
    }

    /// The configuration of context `name`: its settings over the top-level ones.
    pub fn for_context(&self, name: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: format!("context {name}"), line: 0, message };
        let mut table: toml::Table = self.merged.parse().map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        let entry = table
            .remove("contexts")
            .and_then(|c| c.as_table().and_then(|c| c.get(name)).cloned())
            .and_then(|e| e.as_table().cloned())
            .ok_or_else(|| invalid("no such context".into()))?;
        let over: toml::Table = entry.into_iter().filter(|(k, _)| OVER.contains(&k.as_str())).collect();
        crate::config::merge(&mut table, over);
        let mut config = crate::config::finish(table, "", &format!("context {name}"))?;
        config.contexts = self.contexts.clone();
        config.default_context = self.default_context.clone();
        config.merged = self.merged.clone();
        Ok(config)
    }
}

/// Checks the contexts of a file just read: names, URLs, the default, and that a password
/// in a URL sits only in a file nobody else can read (`mode`: the file's permission bits).
/// An error carries the text to find its line by, when there is one.
pub fn check(config: &Config, mode: Option<u32>) -> Result<(), (Option<String>, String)> {
    let line_of = |needle: &str| Some(needle.to_string());
    for (name, entry) in &config.contexts {
        let ok_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok_name {
            return Err((line_of("[contexts"), format!("context name `{name}`: use letters, digits, - _ or . only")));
        }
        if entry.url.trim().is_empty() {
            return Err((line_of(&format!("[contexts.{name}]")), format!("context {name}: url is empty")));
        }
        if let Err(e) = crate::db::connect::params::parse(&entry.url) {
            return Err((line_of(&format!("[contexts.{name}]")), format!("context {name}: url: {e}")));
        }
        if let Err(e) = config.for_context(name) {
            let message = match e {
                ConfigError::Invalid { message, .. } => message,
                other => other.to_string(),
            };
            return Err((line_of(&format!("[contexts.{name}")), format!("context {name}: {message}")));
        }
    }
    if let Some(default) = &config.default_context
        && !config.contexts.contains_key(default)
    {
        return Err((line_of("default_context"), format!("default_context `{default}` is not a context here")));
    }
    let loose = mode.is_some_and(|m| m & 0o077 != 0);
    let urls = config.contexts.iter().flat_map(|(n, e)| {
        [Some((n.as_str(), &e.url)), e.direct_url.as_ref().map(|u| (n.as_str(), u))].into_iter().flatten()
    });
    let top = config.direct_url.as_ref().map(|u| ("direct_url", u));
    for (name, url) in urls.chain(top) {
        let has_password = crate::db::connect::params::parse(url).is_ok_and(|p| p.contains_key("password"));
        if has_password && loose {
            return Err((
                None,
                format!(
                    "{name}: a URL holds a password, and others may read this file (mode {:o}): chmod 600 it, \
                     or keep the password in ~/.pgpass",
                    mode.unwrap_or(0) & 0o777
                ),
            ));
        }
    }
    Ok(())
}

/// Every context of `config`, ready to read (the fleet, `serve`): its URL, then the usual
/// password sources (`PGPASSWORD`, `.pgpass`); never `DATABASE_URL`.
pub fn members(config: &Config) -> anyhow::Result<Vec<crate::ops::fleet::Member>> {
    let mut members = Vec::new();
    for (name, entry) in &config.contexts {
        let own = config.for_context(name)?;
        let settings = crate::db::connect::resolve(Some(&entry.url), &|k: &str| match k {
            "DATABASE_URL" => None,
            _ => std::env::var(k).ok(),
        })?;
        members.push(crate::ops::fleet::Member {
            name: name.clone(),
            settings,
            thresholds: own.thresholds.clone(),
            queue_depth_query: own.queue_depth_query.clone(),
            pooler: own.pooler,
        });
    }
    Ok(members)
}

/// One line of `contexts`: what the operator needs to pick one, no password.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub name: String,
    /// `user@host:port/db` (or why the URL does not read).
    pub target: String,
    pub read_only: bool,
    pub production: bool,
    pub default: bool,
}

/// Every context of `config`, by name.
pub fn list(config: &Config) -> Vec<Listed> {
    let no_env = |_: &str| None;
    config
        .contexts
        .iter()
        .map(|(name, e)| Listed {
            name: name.clone(),
            target: crate::db::connect::resolve(Some(&e.url), &no_env)
                .map_or_else(|err| format!("(unreadable url: {err})"), |s| s.target()),
            read_only: e.read_only.unwrap_or(false),
            production: e.production,
            default: config.default_context.as_deref() == Some(name),
        })
        .collect()
}

/// The contexts as the file names them (for tests and listings).
pub type Contexts = BTreeMap<String, ContextEntry>;
