//! Keeping a password out of the process title: a password given on the
//! command line (`--database-url postgresql://u:pw@…`) would show in `ps` for
//! as long as the console runs. `main` re-executes itself once with the
//! password moved to `PGPASSWORD` (visible only to the same user, as libpq
//! recommends) and the connection string without it.

/// The connection string without its password, and the password; `None` when it has none.
pub fn split_password(conn: &str) -> Option<(String, String)> {
    let params = super::params::parse(conn).ok()?;
    let password = params.get("password")?.clone();
    let trimmed = conn.trim();
    let stripped = if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        strip_from_url(trimmed)?
    } else {
        strip_from_dsn(trimmed)
    };
    // Must still parse, and to the same thing without the password.
    let mut expected = params;
    expected.remove("password");
    (super::params::parse(&stripped).ok()? == expected).then_some((stripped, password))
}

fn strip_from_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}@{hosts}")
        }
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{authority}");
    if let Some(p) = path {
        out.push('/');
        out.push_str(p);
    }
    if let Some(q) = query {
        // Keys are percent-decoded before deciding (`pass%77ord=` is `password=` too).
        let is_password = |kv: &str| {
            let key = kv.split_once('=').map_or(kv, |(k, _)| k);
            super::params::decode(key, "query key").is_ok_and(|k| k == "password")
        };
        let kept: Vec<&str> = q.split('&').filter(|kv| !is_password(kv)).collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    Some(out)
}

/// Removes `password=value` (quoted or not) from a key=value string.
fn strip_from_dsn(dsn: &str) -> String {
    let mut out = String::new();
    let mut rest = dsn;
    while let Some(start) = find_key(rest, "password") {
        out.push_str(&rest[..start]);
        let after_key = &rest[start + "password".len()..];
        let after_eq = after_key.trim_start().strip_prefix('=').unwrap_or(after_key).trim_start();
        rest = skip_value(after_eq);
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before_ok = at == 0 || text[..at].ends_with(char::is_whitespace);
        let after = text[at + key.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

fn skip_value(text: &str) -> &str {
    let mut chars = text.char_indices();
    if text.starts_with('\'') {
        chars.next();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' => return &text[i + 1..],
                _ => {}
            }
        }
        return "";
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c.is_whitespace() => return &text[i..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_dsns_lose_only_the_password() {
        let (s, p) = split_password("postgresql://alice:s%40cret@db:5433/books?sslmode=require").unwrap();
        assert_eq!((s.as_str(), p.as_str()), ("postgresql://alice@db:5433/books?sslmode=require", "s@cret"));
        let (s, p) = split_password("postgres://h/db?password=pw&application_name=x").unwrap();
        assert_eq!((s.as_str(), p.as_str()), ("postgres://h/db?application_name=x", "pw"));
        let (s, p) = split_password("host=h password='it\\'s secret' user=u").unwrap();
        assert_eq!((s.as_str(), p.as_str()), ("host=h user=u", "it's secret"));
        let (s, _) = split_password("password=x host=h").unwrap();
        assert_eq!(s, "host=h");
        assert!(split_password("host=h user=u").is_none());
        assert!(split_password("postgresql://u@h/db").is_none());
        // A percent-encoded key is still the password.
        let (s, p) = split_password("postgresql://u@h/db?pass%77ord=hunter2&sslmode=disable").unwrap();
        assert_eq!((s.as_str(), p.as_str()), ("postgresql://u@h/db?sslmode=disable", "hunter2"));
    }
}
