//! Secrets out of text that leaves the process (a recording): the password of a URL, and
//! the value that follows a secret's name, in the spellings people and programs use —
//! `PASSWORD 'x'` (across lines and comments, with doubled quotes, E'…', $$…$$),
//! `password=x`, `pwd=x`, `passwd: x`, `"password": "x"`, `api_key=x`, `token: x`,
//! `Authorization: Bearer x`. It errs towards taking out too much.
//!
//! A recording keeps no other session's statements unless asked (`--record-queries`):
//! this is for the text it keeps all the same (months' errors, application names,
//! outcomes) and for queries when asked.

/// Names whose value is a secret, matched inside longer names too (`PGPASSWORD`,
/// `db_password`, `client_secret`, `x-api-key`).
const LONG_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "private_key",
    "authorization",
    "credential",
];
/// Short names, matched only as whole words (`pwd=`, not `cwd`; `pass:`, not `bypass`).
const SHORT_NAMES: &[&str] = &["pwd", "pass", "pw", "auth"];

const MASK: &str = "***";

/// `text` with every secret it shows replaced by `***`.
pub fn secrets(text: &str) -> String {
    named_values(&echoed_literals(&url_passwords(text)))
}

/// PostgreSQL's syntax errors echo the token they stopped at — `at or near "'hunter2"`:
/// a string literal there is taken out (no name before it says what it was).
fn echoed_literals(text: &str) -> String {
    const AT: &str = "at or near \"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find(AT) {
        let value = found + AT.len();
        out.push_str(&rest[..value]);
        let tail = &rest[value..];
        let is_literal = tail.starts_with('\'') || tail.starts_with("E'") || tail.starts_with('$');
        let end = tail.find('"').unwrap_or(tail.len());
        if is_literal {
            out.push_str(MASK);
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:secret@host` → `scheme://user:***@host`. The user part ends at the
/// last `@` before white space or a quote, so an unencoded `/`, `?`, `#` or `@` in the
/// password is taken out with it.
fn url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`')).unwrap_or(tail.len());
        let token = &tail[..end];
        match (token.find(':'), token.rfind('@')) {
            // The first ':' must be in the authority (no '/' before it), before the last '@'.
            (Some(colon), Some(at_sign)) if colon < at_sign && !token[..colon].contains('/') => {
                out.push_str(&token[..=colon]);
                out.push_str(MASK);
                out.push_str(&token[at_sign..]);
            }
            _ => out.push_str(token),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn named_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Names are ASCII: only a character's first byte can start one.
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let Some(name_end) = secret_name_at(&lower, i) else {
            i += 1;
            continue;
        };
        match value_after(text, name_end) {
            Some((start, end)) => {
                out.push_str(&text[copied..start]);
                out.push_str(MASK);
                copied = end;
                i = end.max(i + 1);
            }
            None => i = name_end,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Where a secret's name that starts at `i` ends.
fn secret_name_at(lower: &str, i: usize) -> Option<usize> {
    let rest = &lower[i..];
    let word_start = i == 0 || !is_word(lower.as_bytes()[i - 1]);
    let long = LONG_NAMES.iter().find(|n| rest.starts_with(**n)).map(|n| i + n.len());
    let short = SHORT_NAMES
        .iter()
        .find(|n| word_start && rest.starts_with(**n) && !rest.as_bytes().get(n.len()).is_some_and(|b| is_word(*b)))
        .map(|n| i + n.len());
    // A long name runs on to the end of its word (`passwords`, `secret_key`, `tokens`).
    long.map(|end| end + lower[end..].bytes().take_while(|b| is_word(*b)).count()).or(short)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The byte range of the value that follows a secret's name ending at `from`, if any:
/// after an optional closing quote of the name (JSON), white space, comments and a
/// separator (`=`, `:`, `=>`), a quoted or dollar-quoted value; a bare value only after
/// a separator (`PASSWORD NULL`, `password authentication failed` hold no secret).
fn value_after(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    if matches!(bytes.get(i), Some(b'"' | b'\'')) && matches!(bytes.get(i + 1), Some(b':' | b'=' | b' ')) {
        i += 1; // the closing quote of a quoted name
    }
    let mut separated = false;
    loop {
        i = skip_space_and_comments(text, i);
        match bytes.get(i) {
            Some(b'=') if bytes.get(i + 1) == Some(&b'>') => i += 2,
            Some(b'=' | b':') => i += 1,
            _ => break,
        }
        separated = true;
    }
    let start = i;
    let end = match bytes.get(i)? {
        b'\'' | b'"' => quoted_end(text, i),
        b'E' | b'e' | b'U' | b'u' if matches!(bytes.get(i + 1), Some(b'\'')) => quoted_end(text, i + 1),
        b'U' | b'u' if text[i..].starts_with("U&'") || text[i..].starts_with("u&'") => quoted_end(text, i + 2),
        b'$' => dollar_end(text, i)?,
        _ if separated => {
            let word = text[i..].find(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | ')' | '&' | '"' | '\''));
            let mut end = word.map_or(text.len(), |e| i + e);
            // `Authorization: Bearer abc`: the scheme's word, then the credential.
            let scheme = text[i..end].to_ascii_lowercase();
            if matches!(scheme.as_str(), "bearer" | "basic" | "token" | "digest") {
                let next = skip_space_and_comments(text, end);
                end = text[next..].find(char::is_whitespace).map_or(text.len(), |e| next + e);
            }
            end
        }
        _ => return None,
    };
    (end > start).then_some((start, end))
}

/// Past white space (newlines and carriage returns too), `/* … */` and `-- …` comments.
fn skip_space_and_comments(text: &str, mut i: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        match bytes.get(i) {
            Some(b) if b.is_ascii_whitespace() => i += 1,
            Some(b'/') if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(text.len(), |e| i + 2 + e + 2);
            }
            Some(b'-') if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(text.len(), |e| i + e + 1);
            }
            _ => return i,
        }
    }
}

/// The end (past the closing quote) of a value quoted at `i`: a doubled quote is a quote
/// (SQL), a backslash escapes the next character (JSON, E''); unterminated runs to the end.
fn quoted_end(text: &str, i: usize) -> usize {
    let bytes = text.as_bytes();
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b if b == quote && bytes.get(j + 1) == Some(&quote) => j += 2,
            b if b == quote => return j + 1,
            _ => j += 1,
        }
    }
    text.len()
}

/// `$tag$ … $tag$` (or `$$ … $$`) starting at `i`.
fn dollar_end(text: &str, i: usize) -> Option<usize> {
    let tag_len = text[i + 1..].find('$')?;
    let tag = &text[i..i + 1 + tag_len + 1];
    if !tag[1..tag.len() - 1].bytes().all(is_word) {
        return None;
    }
    let body = i + tag.len();
    Some(text[body..].find(tag).map_or(text.len(), |e| body + e + tag.len()))
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
