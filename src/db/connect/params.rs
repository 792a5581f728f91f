//! Parsing a connection string — a `postgresql://` URL or a libpq `key=value` DSN —
//! into libpq keywords. Errors name the offending part but never echo a password.

use std::collections::BTreeMap;

/// The libpq keywords this console understands.
pub const KNOWN_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "application_name",
    "connect_timeout",
    "options",
    "keepalives",
    "keepalives_idle",
    "target_session_attrs",
];

pub type Params = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    #[error(
        "connection string is neither a postgresql:// URL nor key=value pairs; example: postgresql://user@host:5432/db"
    )]
    Unrecognised,
    #[error("connection string: unknown parameter `{0}`; supported: {known}", known = KNOWN_KEYS.join(", "))]
    UnknownKey(String),
    #[error("connection string: {0}")]
    Malformed(String),
}

/// Parses a URL (`postgres://` or `postgresql://`) or a `key=value` DSN.
pub fn parse(input: &str) -> Result<Params, ParamsError> {
    let trimmed = input.trim();
    let params =
        if let Some(rest) = trimmed.strip_prefix("postgresql://").or_else(|| trimmed.strip_prefix("postgres://")) {
            parse_url(rest)?
        } else if trimmed.contains('=') {
            parse_dsn(trimmed)?
        } else {
            return Err(ParamsError::Unrecognised);
        };
    for key in params.keys() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            return Err(ParamsError::UnknownKey(key.clone()));
        }
    }
    Ok(params)
}

fn parse_url(rest: &str) -> Result<Params, ParamsError> {
    let mut params = Params::new();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, b)) => (a, Some(b)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    // userinfo ends at the LAST '@' (a password may contain an unescaped one).
    let (userinfo, hostlist) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            params.insert("user".into(), decode(user, "user name")?);
        }
        if let Some(password) = password {
            // The error must not echo the password.
            params.insert("password".into(), decode(password, "password")?);
        }
    }
    if !hostlist.is_empty() {
        let (hosts, ports) = split_hosts(hostlist)?;
        if hosts.iter().any(|h| !h.is_empty()) {
            params.insert("host".into(), hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            params.insert("port".into(), ports.join(","));
        }
    }
    if let Some(path) = path
        && !path.is_empty()
    {
        params.insert("dbname".into(), decode(path, "database name")?);
    }
    if let Some(query) = query {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| ParamsError::Malformed(format!("URL parameter `{pair}` has no `=value`")))?;
            let key = decode(key, "parameter name")?;
            let value = decode(value, &key)?;
            params.insert(key, value);
        }
    }
    Ok(params)
}

/// `h1:5432,[::1]:5433,h3` → hosts and ports (ports may be empty strings).
fn split_hosts(list: &str) -> Result<(Vec<String>, Vec<String>), ParamsError> {
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for item in list.split(',') {
        let (host, port) = if let Some(rest) = item.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| ParamsError::Malformed(format!("host `{item}` has `[` without `]`")))?;
            (h.to_string(), after.strip_prefix(':').unwrap_or("").to_string())
        } else {
            match item.rsplit_once(':') {
                Some((h, p)) => (decode(h, "host")?, p.to_string()),
                None => (decode(item, "host")?, String::new()),
            }
        };
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return Err(ParamsError::Malformed(format!(
                "port `{}` is not a number from 1 to 65535",
                crate::text::clip(&port, 20)
            )));
        }
        hosts.push(host);
        ports.push(port);
    }
    Ok((hosts, ports))
}

pub(super) fn decode(text: &str, what: &str) -> Result<String, ParamsError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ParamsError::Malformed(format!("bad percent-escape in the {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ParamsError::Malformed(format!("the {what} is not valid UTF-8")))
}

/// libpq DSN: `key=value` pairs separated by white space; values may be
/// single-quoted, with `\'` and `\\` escapes.
fn parse_dsn(input: &str) -> Result<Params, ParamsError> {
    let mut params = Params::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(ParamsError::Malformed(format!("`{key}` is missing `=value`")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            if !closed {
                return Err(ParamsError::Malformed(format!("the quoted value of `{key}` is not closed")));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        params.insert(key, value);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn full_url() {
        let got =
            parse("postgresql://alice:s%40cret@db.example:5433/books?sslmode=verify-full&application_name=x").unwrap();
        assert_eq!(
            got,
            p(&[
                ("user", "alice"),
                ("password", "s@cret"),
                ("host", "db.example"),
                ("port", "5433"),
                ("dbname", "books"),
                ("sslmode", "verify-full"),
                ("application_name", "x"),
            ])
        );
    }

    #[test]
    fn url_with_multiple_hosts_ipv6_and_socket() {
        let got = parse("postgres://h1:5432,[::1]:5433,h3/db").unwrap();
        assert_eq!(got["host"], "h1,::1,h3");
        assert_eq!(got["port"], "5432,5433,");
        let got = parse("postgresql://%2Fvar%2Frun%2Fpostgresql/db").unwrap();
        assert_eq!(got["host"], "/var/run/postgresql");
        let got = parse("postgresql:///db?host=/tmp").unwrap();
        assert_eq!(got["host"], "/tmp");
        assert_eq!(got["dbname"], "db");
    }

    #[test]
    fn password_with_at_sign_splits_on_last_at() {
        let got = parse("postgresql://u:p@ss@h/db").unwrap();
        assert_eq!(got["password"], "p@ss");
        assert_eq!(got["host"], "h");
    }

    #[test]
    fn dsn_with_quotes_and_escapes() {
        let got = parse(r"host=localhost port = 5432 dbname='my db' password='it\'s' user=bob").unwrap();
        assert_eq!(
            got,
            p(&[("host", "localhost"), ("port", "5432"), ("dbname", "my db"), ("password", "it's"), ("user", "bob")])
        );
    }

    #[test]
    fn errors_name_the_problem_and_never_the_password() {
        assert_eq!(parse("localhost:5432"), Err(ParamsError::Unrecognised));
        assert_eq!(parse("host=x colour=blue"), Err(ParamsError::UnknownKey("colour".into())));
        let err = parse("postgresql://u:hunter2%zz@h/db").unwrap_err().to_string();
        assert!(err.contains("password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse("dbname='open").unwrap_err().to_string();
        assert!(err.contains("not closed"), "{err}");
        assert!(parse("postgresql://h:99999/db").unwrap_err().to_string().contains("99999"));
        assert!(parse("host").is_err());
    }
}
