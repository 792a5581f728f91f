//! Finding the machine's own PostgreSQL server binaries (`initdb`, `postgres`).
//!
//! `$BACKFILL_PG_BINDIR` alone when set; else `pg_config --bindir`, `PATH`, then the highest
//! `/usr/lib/postgresql/<version>/bin` (Debian keeps the server off `PATH`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::PgServerError;

/// The folder that holds both `initdb` and `postgres`. `BACKFILL_PG_BINDIR`, when
/// set, is the only place looked at: a wrong one is an error, never a silent
/// fall-back to another server version.
pub fn find_bindir() -> Result<PathBuf, PgServerError> {
    if let Some(dir) = std::env::var_os("BACKFILL_PG_BINDIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_server(&dir) { Ok(dir) } else { Err(PgServerError::BadBindir(dir.display().to_string())) };
    }
    candidates().into_iter().find(|dir| has_server(dir)).ok_or(PgServerError::NoServerBinaries)
}

fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !text.is_empty() {
            dirs.push(PathBuf::from(text));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(debian_versioned_dirs(Path::new("/usr/lib/postgresql")));
    dirs
}

/// `/usr/lib/postgresql/<version>/bin`, highest version first.
fn debian_versioned_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let major = name.split('.').next()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_dirs_are_sorted_highest_version_first() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "13", "not-a-version"] {
            std::fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        let dirs = debian_versioned_dirs(root.path());
        let names: Vec<String> =
            dirs.iter().map(|d| d.parent().unwrap().file_name().unwrap().to_string_lossy().to_string()).collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }
}
