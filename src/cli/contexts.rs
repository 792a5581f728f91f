//! Contexts on the command line: which one a command runs in, what it allows, the
//! typed confirmation a production context asks for, and `contexts` (the list).

use std::io::{BufRead, IsTerminal, Write};

use super::output::outln;
use super::{CommandContext, confirm, render};

impl CommandContext {
    /// The URL to connect to: `--database-url`, else the context's.
    pub fn database_url(&self) -> Option<&str> {
        self.global.database_url.as_deref().or(self.context.as_ref().map(|c| c.url.as_str()))
    }

    /// No action allowed: `--read-only`, or a context that is read-only unless `--write`.
    pub fn read_only(&self) -> bool {
        self.global.read_only || self.context.as_ref().is_some_and(|c| c.read_only && !self.global.write)
    }

    /// Why actions are refused, in words: the flag, or the context's setting.
    pub fn read_only_reason(&self) -> String {
        match &self.context {
            Some(c) if !self.global.read_only => {
                format!("context `{}` is read-only (read_only = true in the config; --write allows actions)", c.name)
            }
            _ => "--read-only is set".into(),
        }
    }

    /// Shows `plan` and asks for the go-ahead: `yes`, else on a terminal. A production
    /// context asks for its name typed instead, and takes `--yes` only with
    /// `--confirm-context NAME`.
    pub fn confirm(&self, plan: &str, yes: bool) -> anyhow::Result<bool> {
        let Some(name) = self.context.as_ref().filter(|c| c.production).map(|c| c.name.as_str()) else {
            return confirm::ask(plan, yes);
        };
        if yes {
            if self.global.confirm_context.as_deref() == Some(name) {
                return Ok(true);
            }
            anyhow::bail!(
                "refusing to act on the production context `{name}` with --yes alone: add --confirm-context {name}"
            );
        }
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "refusing to act on the production context `{name}` without confirmation: no terminal to ask on; add --yes --confirm-context {name}"
            );
        }
        let mut err = std::io::stderr();
        writeln!(err, "{plan}")?;
        write!(err, "This is the PRODUCTION context `{name}`. Type its name to go ahead: ")?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim() == name)
    }
}

/// Every context of `config` as the console's picker shows it.
pub fn infos(config: &crate::config::Config) -> Vec<crate::app::ContextInfo> {
    crate::contexts::list(config)
        .into_iter()
        .map(|l| crate::app::ContextInfo {
            name: l.name,
            production: l.production,
            read_only: l.read_only,
            target: l.target,
        })
        .collect()
}

/// `contexts [--json]`: every context of the config file, no password.
pub fn list(ctx: &CommandContext, json: bool) -> anyhow::Result<i32> {
    let listed = crate::contexts::list(&ctx.config);
    if json {
        render::json(&serde_json::json!({ "contexts": listed }))?;
        return Ok(0);
    }
    if listed.is_empty() {
        outln!("the config file names no context; add [contexts.NAME] tables with a url (see the README)");
        return Ok(0);
    }
    let width = listed.iter().map(|l| l.name.chars().count()).max().unwrap_or(4).max(4);
    outln!("  {:<width$}  {:<9} {:<10} TARGET", "NAME", "READ-ONLY", "PRODUCTION");
    for l in &listed {
        let yes = |b: bool| if b { "yes" } else { "-" };
        let mark = if l.default { "*" } else { " " };
        let name = crate::text::sanitize(&l.name);
        let target = crate::text::sanitize(&l.target);
        outln!("{mark} {name:<width$}  {:<9} {:<10} {target}", yes(l.read_only), yes(l.production));
    }
    Ok(0)
}
