//! Destructive commands confirm on a terminal; without one they need `--yes`.

use std::io::{BufRead, IsTerminal, Write};

/// Shows `plan` and asks; `Ok(true)` to go ahead.
pub fn ask(plan: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("refusing to act without confirmation: no terminal to ask on; add --yes to confirm");
    }
    let mut err = std::io::stderr();
    writeln!(err, "{plan}")?;
    write!(err, "Type 'yes' to go ahead: ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}
