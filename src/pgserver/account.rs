//! Which account runs the throwaway server. PostgreSQL refuses to run as root, so
//! when we are root the server runs as `postgres` (Debian's server package creates
//! it) or else `nobody`; as an ordinary user it runs as ourselves.

use std::path::Path;

use nix::unistd::{Gid, Uid, User, geteuid};

use super::PgServerError;

/// The uid/gid to switch to, or `None` when we are not root and run as ourselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: Uid,
    pub gid: Gid,
}

pub fn server_account() -> Result<Option<RunAs>, PgServerError> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Ok(Some(user)) = User::from_name(name)
            && !user.uid.is_root()
        {
            return Ok(Some(RunAs { uid: user.uid, gid: user.gid }));
        }
    }
    Err(PgServerError::NoUnprivilegedAccount)
}

/// Hands a path we created over to the server's account.
pub fn give(path: &Path, run_as: Option<RunAs>) -> Result<(), PgServerError> {
    if let Some(account) = run_as {
        std::os::unix::fs::chown(path, Some(account.uid.as_raw()), Some(account.gid.as_raw()))
            .map_err(|e| PgServerError::io("hand the temporary directory to the server account", e))?;
    }
    Ok(())
}
