//! An error message's signature: what stays the same from one instance of an error to the
//! next. Masked, because it names one instance: ids of any shape (`<id>`: decimal, hex,
//! mixed, prefixed like `req_8fKq2LmN` or `KEY-88`, a hash cut short with `…`), UUIDs in
//! any spelling (`<uuid>`), durations in any unit or form (`<duration>`: `55s`, `1m05s`,
//! `61.5s`, `120000ms`, `5 seconds`), times (`<time>`: ISO 8601, RFC 2822, a clock, an
//! epoch in seconds or milliseconds), numbers in free text (`<n>`) and quoted values
//! (`'…'`). Kept, because it names the kind of error: an HTTP status (4xx/5xx anywhere,
//! any status after `HTTP`/`status`/`code`), a SQLSTATE (`ERROR: 23505`, `SQLSTATE 40P01`),
//! an exit status, signal or errno (`exit status 137`, `signal 9`, `errno 111`), and words
//! without digits (exception names among them).
//!
//! A message of several lines (a traceback) is signed by the line that names the
//! exception (the last such, so a Python traceback's final line, a Java root cause) with
//! its first line: the shared stack between them does not count.

/// Words after which a number is a code that names the error: kept.
const CODE_WORDS: &[&str] =
    &["http", "status", "code", "exit", "signal", "sig", "errno", "sqlstate", "error", "state", "returned", "response"];
/// Words after which a number is an id: masked as one, whatever its shape.
const ID_WORDS: &[&str] = &[
    "id",
    "request",
    "req",
    "job",
    "trace",
    "span",
    "session",
    "key",
    "order",
    "user",
    "txn",
    "transaction",
    "msg",
    "message",
    "object",
    "ref",
    "pid",
    "worker",
    "task",
    "run",
    "batch",
    "page",
    "offset",
    "row",
    "isbn",
];
const DURATION_UNITS: &[&str] = &[
    "ns", "us", "µs", "ms", "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes", "h",
    "hr", "hrs", "hour", "hours", "d", "day", "days",
];
/// The first word of an HTTP status's reason phrase (`503 Service Unavailable`).
const REASON_WORDS: &[&str] = &[
    "Continue",
    "OK",
    "Created",
    "Accepted",
    "Moved",
    "Found",
    "See",
    "Not",
    "Temporary",
    "Permanent",
    "Bad",
    "Unauthorized",
    "Payment",
    "Forbidden",
    "Method",
    "Proxy",
    "Request",
    "Conflict",
    "Gone",
    "Length",
    "Precondition",
    "Payload",
    "URI",
    "Unsupported",
    "Range",
    "Expectation",
    "Misdirected",
    "Unprocessable",
    "Locked",
    "Failed",
    "Too",
    "Upgrade",
    "Internal",
    "Service",
    "Gateway",
    "Insufficient",
    "Loop",
    "Network",
];
const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// The signature of a whole message.
pub fn of(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() < 3 {
        return line(message);
    }
    let naming = lines.iter().rposition(|l| names_an_exception(l)).unwrap_or(lines.len() - 1);
    let (first, mut named) = (line(lines[0]), line(lines[naming]));
    // A Rust panic names its place on one line and what happened on the next.
    if lines[naming].contains("panicked at")
        && let Some(next) = lines.get(naming + 1)
    {
        named = format!("{named} {}", line(next));
    }
    if naming == 0 || first == named { named } else { format!("{named} ← {first}") }
}

/// `ValueError: …`, `java.lang.IllegalStateException: …`, `Caused by: …`, a Rust panic.
fn names_an_exception(line: &str) -> bool {
    let head = line.split([':', ' ', '(']).next().unwrap_or("");
    let class = head.rsplit(['.', '$']).next().unwrap_or(head);
    line.starts_with("Caused by:")
        || line.starts_with("panic:")
        || line.contains("panicked at")
        || (["Error", "Exception", "Fault", "Panic", "Interrupt", "Exit"].iter().any(|k| class.ends_with(k))
            && class.chars().next().is_some_and(char::is_uppercase))
}

/// One line signed: tokens masked in their context, white space folded.
fn line(text: &str) -> String {
    let text = rfc2822_dates(text);
    let tokens = tokenize(&text);
    let mut out = String::with_capacity(text.len());
    // A unit word after a number (`30 seconds`) goes with it into one `<duration>`.
    let mut skip_unit = false;
    for (i, token) in tokens.iter().enumerate() {
        if skip_unit && let Token::Word(word) = token {
            skip_unit = false;
            out.push_str(&word[word.trim_end_matches(['.', ':', ',']).len()..]);
            continue;
        }
        match token {
            Token::Space => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            Token::Quoted(q) => {
                out.push(*q);
                out.push('…');
                out.push(*q);
            }
            Token::Other(c) => out.push(*c),
            Token::Word(word) => {
                let prev = previous_word(&tokens, i);
                let next = next_word(&tokens, i);
                // `gemini: 503 …`, `(429)`: where an HTTP status stands on its own.
                let after_colon = matches!(tokens[..i].iter().rev().find(|t| !matches!(t, Token::Space)),
                    Some(Token::Word(w)) if w.ends_with(':'));
                let in_parens = matches!(tokens[..i].last(), Some(Token::Other('(')))
                    && matches!(tokens.get(i + 1), Some(Token::Other(')')));
                let standalone = after_colon || in_parens;
                // Sentence punctuation stays outside the word ("after 30s." / "id 42:").
                let trimmed = word.trim_end_matches(['.', ':', ',', '-', '+']);
                let masked = mask(trimmed, prev, next.clone(), standalone);
                skip_unit = masked == "<duration>" && is_number(trimmed) && trimmed.len() == word.len();
                if skip_unit && let Some(last) = out.pop().filter(|c| *c != ' ') {
                    out.push(last);
                }
                out.push_str(&masked);
                out.push_str(&word[trimmed.len()..]);
            }
        }
    }
    out.trim().to_string()
}

enum Token {
    Word(String),
    Quoted(char),
    Space,
    Other(char),
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '\'' | '"' | '`')
            && let Some(len) = chars[i + 1..].iter().position(|&d| d == c)
        {
            tokens.push(Token::Quoted(c));
            i += len + 2;
        } else if is_word(c) {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else if c.is_whitespace() {
            tokens.push(Token::Space);
            i += 1;
        } else {
            tokens.push(Token::Other(c));
            i += 1;
        }
    }
    tokens
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '+' | '/' | '#' | '…' | '{' | '}' | '$')
}

fn previous_word(tokens: &[Token], i: usize) -> Option<String> {
    tokens[..i].iter().rev().find_map(|t| match t {
        Token::Word(w) => Some(bare(w)),
        Token::Quoted(_) => Some(String::new()),
        _ => None,
    })
}

fn next_word(tokens: &[Token], i: usize) -> Option<String> {
    tokens[i + 1..].iter().find_map(|t| match t {
        Token::Word(w) => Some(w.clone()),
        Token::Quoted(_) => Some(String::new()),
        _ => None,
    })
}

/// A word without its punctuation, lower case: what context is judged by.
fn bare(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '.').to_ascii_lowercase()
}

/// A word as it stands in a signature, given the words before and after it (`standalone`:
/// right after `service:` or alone in parentheses).
fn mask(word: &str, prev: Option<String>, next: Option<String>, standalone: bool) -> String {
    let prev = prev.unwrap_or_default();
    let prev_word = prev.split(['/', '.']).next().unwrap_or("");
    if word.starts_with('<') || !word.chars().any(|c| c.is_ascii_digit()) {
        // A duration spelled with a unit word after a number is handled at the number.
        return word.to_string();
    }
    let lower = word.to_ascii_lowercase();
    if is_uuid(&lower) {
        return "<uuid>".into();
    }
    // After a word that says so it is an id, whatever it looks like (`request 12345d`).
    if ID_WORDS.contains(&prev_word) && !is_time(&lower) {
        return "<id>".into();
    }
    if is_time(&lower) {
        return "<time>".into();
    }
    if is_duration(&lower) || (is_number(&lower) && next.as_deref().is_some_and(|n| is_unit(&bare(n)))) {
        return "<duration>".into();
    }
    if is_number(&lower) {
        let reason_follows =
            next.as_deref().is_some_and(|n| REASON_WORDS.contains(&n.trim_end_matches(['.', ',', ':'])));
        if kept_code(&lower, prev_word, reason_follows || standalone) {
            return word.to_string();
        }
        if is_epoch(&lower) {
            return "<time>".into();
        }
        if ID_WORDS.contains(&prev_word) || prev.ends_with('#') || word.starts_with('#') {
            return "<id>".into();
        }
        return "<n>".into();
    }
    if is_sqlstate(word) && CODE_WORDS.contains(&prev_word) {
        return word.to_string();
    }
    "<id>".into()
}

/// A number that names the kind of error: an HTTP error status with its reason phrase or
/// standing on its own (`http_place`), any status or code after a word that says so.
fn kept_code(number: &str, prev: &str, http_place: bool) -> bool {
    let Ok(n) = number.parse::<u32>() else { return false };
    let http_error = number.len() == 3 && (400..600).contains(&n) && http_place;
    http_error || (CODE_WORDS.contains(&prev) && number.len() <= 5) || prev.starts_with("http")
}

/// A duration's unit word: `ms`, `seconds`…
fn is_unit(word: &str) -> bool {
    DURATION_UNITS.contains(&word)
}

fn is_number(word: &str) -> bool {
    let digits = word.trim_start_matches(['-', '+', '#']);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
}

/// Seconds or milliseconds since 1970 between 2001 and 2286.
fn is_epoch(number: &str) -> bool {
    number.chars().all(|c| c.is_ascii_digit()) && matches!(number.len(), 10 | 13)
}

/// `40P01`, `23505`, `XX000`: five characters, digits and capitals.
fn is_sqlstate(word: &str) -> bool {
    word.len() == 5 && word.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// A UUID with dashes, braces, or neither (32 hex digits).
fn is_uuid(word: &str) -> bool {
    let inner = word.trim_start_matches(['{', 'u', 'r', 'n', ':']).trim_end_matches('}');
    let hex: String = inner.chars().filter(|c| *c != '-').collect();
    let dashes_right = !inner.contains('-')
        || (inner.len() == 36 && inner.char_indices().all(|(i, c)| [8, 13, 18, 23].contains(&i) == (c == '-')));
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) && dashes_right
}

/// `2024-03-05`, `2024-03-05t10:00:00z`, `10:00:00.123`, with offsets.
fn is_time(word: &str) -> bool {
    let b = word.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(7) == Some(&b'-') && digits(8..10);
    let clock = digits(0..2) && b.get(2) == Some(&b':') && digits(3..5);
    date || clock
}

/// `30s`, `1.5ms`, `1m05s`, `2h30m`, `500µs`, `3min`, `4days`: number-unit pairs.
fn is_duration(word: &str) -> bool {
    let mut rest = word;
    let mut pairs = 0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_end == 0 {
            return false;
        }
        let after = &rest[number_end..];
        let unit_end = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        if !is_unit(&after[..unit_end]) {
            return false;
        }
        rest = &after[unit_end..];
        pairs += 1;
    }
    pairs > 0
}

/// `Tue, 05 Mar 2024 10:00:00 +0000` (and without the weekday or the zone) → `<time>`.
fn rfc2822_dates(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    let plain = |w: &str| w.trim_end_matches(',').to_ascii_lowercase();
    while i < words.len() {
        let start = i + usize::from(WEEKDAYS.contains(&plain(words[i]).as_str()));
        let day = words.get(start).is_some_and(|w| (1..=2).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit()));
        let month = words.get(start + 1).is_some_and(|w| MONTHS.contains(&plain(w).as_str()));
        let year = words.get(start + 2).is_some_and(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()));
        if day && month && year {
            let mut end = start + 3;
            if words.get(end).is_some_and(|w| is_time(w)) {
                end += 1;
            }
            if words.get(end).is_some_and(|w| {
                w.eq_ignore_ascii_case("gmt")
                    || w.eq_ignore_ascii_case("utc")
                    || (w.len() == 5 && w.starts_with(['+', '-']))
            }) {
                end += 1;
            }
            out.push("<time>".into());
            i = end;
        } else {
            out.push(words[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}
