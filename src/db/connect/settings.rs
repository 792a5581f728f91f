//! Resolving where and how to connect: `--database-url`, else `DATABASE_URL`, each
//! filled in from the libpq environment (`PGHOST` …) like libpq does, then
//! defaults; the password from the string, `PGPASSWORD`, or the password file.

use std::path::PathBuf;
use std::time::Duration;

use super::params::{self, Params};
use super::pgpass;

const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
pub const DEFAULT_APPLICATION_NAME: &str = "backfill-console";

/// libpq environment variables and the keyword each one supplies.
const ENV_KEYS: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGDATABASE", "dbname"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGAPPNAME", "application_name"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
];

/// A password: never printed, whatever formatting is asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("********")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, SettingsError> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(SettingsError::Invalid {
                    key: "sslmode",
                    problem: format!(
                        "`{other}` is not supported; use disable, prefer, require, verify-ca or verify-full"
                    ),
                });
            }
        })
    }
}

/// Where the password came from (shown in diagnostics instead of the password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    ConnectionString,
    Environment,
    PasswordFile,
    None,
}

#[derive(Debug, Clone)]
pub struct ConnSettings {
    /// Host names, IP addresses or socket directories (libpq allows several).
    pub hosts: Vec<String>,
    pub ports: Vec<u16>,
    pub user: String,
    pub password: Option<Secret>,
    pub password_source: PasswordSource,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub application_name: String,
    pub connect_timeout: Option<Duration>,
    pub options: Option<String>,
    pub keepalives_idle: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Params(#[from] params::ParamsError),
    #[error("connection setting `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl ConnSettings {
    /// `user@host:port/dbname` — never the password.
    pub fn target(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .zip(self.ports.iter().cycle())
            .map(|(h, p)| if h.contains(':') { format!("[{h}]:{p}") } else { format!("{h}:{p}") })
            .collect();
        format!("{}@{}/{}", self.user, hosts.join(","), self.dbname)
    }
}

/// Resolves settings from an explicit string (flag), `DATABASE_URL`, the libpq
/// environment and the password file. `env` is the process environment in
/// production and a map in tests.
pub fn resolve(explicit: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<ConnSettings, SettingsError> {
    let mut given = match explicit.map(str::to_string).or_else(|| env("DATABASE_URL")) {
        Some(text) if !text.trim().is_empty() => params::parse(&text)?,
        _ => Params::new(),
    };
    let mut password_source =
        if given.contains_key("password") { PasswordSource::ConnectionString } else { PasswordSource::None };
    for (var, key) in ENV_KEYS {
        if !given.contains_key(*key)
            && let Some(value) = env(var).filter(|v| !v.is_empty())
        {
            if *key == "password" {
                password_source = PasswordSource::Environment;
            }
            given.insert(key.to_string(), value);
        }
    }
    build(given, password_source, env)
}

fn build(
    mut p: Params,
    mut password_source: PasswordSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnSettings, SettingsError> {
    let hosts: Vec<String> = match p.remove("host").or_else(|| p.remove("hostaddr")) {
        Some(list) => list.split(',').map(|h| if h.is_empty() { default_host() } else { h.to_string() }).collect(),
        None => vec![default_host()],
    };
    let ports = parse_ports(p.remove("port"), hosts.len())?;
    let user = match p.remove("user") {
        Some(user) => user,
        None => os_user().ok_or(SettingsError::Invalid {
            key: "user",
            problem: "not given and the operating-system user is unknown; set PGUSER or put it in the URL".into(),
        })?,
    };
    let dbname = p.remove("dbname").unwrap_or_else(|| user.clone());
    let sslmode = SslMode::parse(p.remove("sslmode").as_deref().unwrap_or("prefer"))?;
    let sslrootcert = p.remove("sslrootcert").map(PathBuf::from);
    let mut password = p.remove("password").map(Secret::new);
    if password.is_none()
        && let Some(path) = pgpass::default_path(env)
    {
        let port = ports[0].to_string();
        match pgpass::lookup(&path, &hosts[0], &port, &dbname, &user) {
            pgpass::Lookup::Found(found) => {
                password = Some(Secret::new(found));
                password_source = PasswordSource::PasswordFile;
            }
            pgpass::Lookup::InsecurePermissions(mode) => tracing::warn!(
                "password file {} ignored: its permissions {mode:o} let others read it; chmod 600 it",
                path.display()
            ),
            pgpass::Lookup::NotFound | pgpass::Lookup::Missing => {}
        }
    }
    let connect_timeout = seconds(p.remove("connect_timeout"), "connect_timeout")?;
    let keepalives_idle = seconds(p.remove("keepalives_idle"), "keepalives_idle")?;
    Ok(ConnSettings {
        hosts,
        ports,
        user,
        password,
        password_source,
        dbname,
        sslmode,
        sslrootcert,
        application_name: p.remove("application_name").unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_string()),
        connect_timeout,
        options: p.remove("options"),
        keepalives_idle,
    })
}

fn parse_ports(list: Option<String>, host_count: usize) -> Result<Vec<u16>, SettingsError> {
    let Some(list) = list else {
        return Ok(vec![5432; host_count]);
    };
    let ports = list
        .split(',')
        .map(|p| {
            if p.is_empty() {
                Ok(5432)
            } else {
                p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| SettingsError::Invalid {
                    key: "port",
                    problem: format!("`{}` is not a number from 1 to 65535", crate::text::clip(p, 20)),
                })
            }
        })
        .collect::<Result<Vec<u16>, _>>()?;
    match ports.len() {
        1 => Ok(vec![ports[0]; host_count]),
        n if n == host_count => Ok(ports),
        n => Err(SettingsError::Invalid {
            key: "port",
            problem: format!("{n} ports given for {host_count} hosts; give one port or one per host"),
        }),
    }
}

fn seconds(value: Option<String>, key: &'static str) -> Result<Option<Duration>, SettingsError> {
    match value {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(Duration::from_secs(n))),
            Err(_) => Err(SettingsError::Invalid { key, problem: format!("`{v}` is not a whole number of seconds") }),
        },
    }
}

fn default_host() -> String {
    if std::path::Path::new(DEFAULT_SOCKET_DIR).is_dir() {
        DEFAULT_SOCKET_DIR.to_string()
    } else {
        "localhost".to_string()
    }
}

fn os_user() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::geteuid()).ok().flatten().map(|u| u.name)
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
