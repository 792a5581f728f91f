//! Secrets out of text that leaves the process (a recording): the password of a URL
//! (`postgres://user:secret@host` → `postgres://user:***@host`) and the value after the
//! word `password` in any case (`PASSWORD 'x'`, `password=x`, `PGPASSWORD: x`).

/// `text` with every password it shows replaced by `***`.
pub fn secrets(text: &str) -> String {
    keyword_values(&url_passwords(text))
}

fn url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or white space.
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@').and_then(|a| authority[..a].find(':').map(|c| (c, a))) {
            Some((colon, at_sign)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at_sign..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn keyword_values(text: &str) -> String {
    const WORD: &str = "password";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = lower[from..].find(WORD) {
        let after_word = from + found + WORD.len();
        out.push_str(&text[from..after_word]);
        let bytes = text.as_bytes();
        // Separators: spaces, '=' or ':'.
        let mut i = after_word;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'=' | b':') {
            i += 1;
        }
        out.push_str(&text[after_word..i]);
        let value_end = match bytes.get(i) {
            Some(&q @ (b'\'' | b'"')) => text[i + 1..].find(char::from(q)).map_or(text.len(), |e| i + 1 + e + 1),
            Some(_) if i > after_word => text[i..]
                .find(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | ')'))
                .map_or(text.len(), |e| i + e),
            // `password` followed directly by a letter (passwords, password_encryption): no value.
            _ => i,
        };
        if value_end > i {
            out.push_str("***");
        }
        from = value_end;
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::secrets;

    #[test]
    fn url_and_keyword_passwords_are_replaced() {
        assert_eq!(secrets("postgres://ops:hunter2@db:5432/books"), "postgres://ops:***@db:5432/books");
        assert_eq!(secrets("postgres://ops@db/books"), "postgres://ops@db/books");
        assert_eq!(secrets("ALTER ROLE x PASSWORD 'hunter2' VALID UNTIL"), "ALTER ROLE x PASSWORD *** VALID UNTIL");
        assert_eq!(secrets("host=db password=hunter2 user=x"), "host=db password=*** user=x");
        assert_eq!(secrets("PGPASSWORD: \"hunter2\";"), "PGPASSWORD: ***;");
        assert_eq!(secrets("SHOW password_encryption"), "SHOW password_encryption");
        assert_eq!(secrets("no secret here"), "no secret here");
        assert_eq!(secrets("password"), "password");
        // Multi-byte text around it stays whole.
        assert_eq!(secrets("é password=ü x"), "é password=*** x");
    }
}
