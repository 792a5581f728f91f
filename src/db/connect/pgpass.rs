//! `~/.pgpass` / `$PGPASSFILE`, with libpq's matching rules:
//! `hostname:port:database:username:password`, first matching line wins, `*`
//! matches anything, `\:` and `\\` escape, `#` starts a comment, `localhost` also
//! matches Unix-socket connections, and a file readable by group or others is ignored.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where libpq would look: `$PGPASSFILE`, else `~/.pgpass`.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(path) = env("PGPASSFILE") {
        return Some(PathBuf::from(path));
    }
    env("HOME").map(|home| Path::new(&home).join(".pgpass"))
}

/// Outcome of a look-up, so the caller can log why a file was skipped.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(String),
    NotFound,
    Missing,
    /// libpq ignores a password file that group or others can read.
    InsecurePermissions(u32),
}

pub fn lookup(path: &Path, host: &str, port: &str, dbname: &str, user: &str) -> Lookup {
    let Ok(meta) = std::fs::metadata(path) else {
        return Lookup::Missing;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Lookup::InsecurePermissions(mode);
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Lookup::Missing;
    };
    // A socket directory is matched as `localhost`.
    let host = if host.starts_with('/') { "localhost" } else { host };
    match find(&text, host, port, dbname, user) {
        Some(password) => Lookup::Found(password),
        None => Lookup::NotFound,
    }
}

fn find(text: &str, host: &str, port: &str, dbname: &str, user: &str) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .filter_map(split_fields)
        .find(|fields| {
            let wanted = [host, port, dbname, user];
            fields.iter().take(4).zip(wanted).all(|(field, want)| field == "*" || field == want)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// Splits on unescaped `:`; a line needs five fields (the password may hold `:` when escaped).
fn split_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n\
        db1.example:5432:books:alice:first\n\
        *:5432:books:alice:wild\n\
        localhost:*:*:bob:sock\\:et\n\
        broken:line\n\
        *:*:*:*:catch\\\\all\n";

    #[test]
    fn first_matching_line_wins() {
        assert_eq!(find(FILE, "db1.example", "5432", "books", "alice").as_deref(), Some("first"));
        assert_eq!(find(FILE, "db2.example", "5432", "books", "alice").as_deref(), Some("wild"));
        assert_eq!(find(FILE, "db2.example", "5433", "books", "alice").as_deref(), Some("catch\\all"));
    }

    #[test]
    fn escaped_colon_and_localhost() {
        assert_eq!(find(FILE, "localhost", "6000", "x", "bob").as_deref(), Some("sock:et"));
    }

    #[test]
    fn socket_matches_localhost_and_permissions_are_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "localhost:5432:db:u:pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lookup(&path, "/var/run/postgresql", "5432", "db", "u"), Lookup::Found("pw".into()));
        assert_eq!(lookup(&path, "otherhost", "5432", "db", "u"), Lookup::NotFound);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(lookup(&path, "localhost", "5432", "db", "u"), Lookup::InsecurePermissions(0o644));
        assert_eq!(lookup(&dir.path().join("none"), "h", "1", "d", "u"), Lookup::Missing);
    }
}
