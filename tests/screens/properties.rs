//! Property tests: parsing untrusted input never panics, never leaks a
//! password, and round-trips where it should.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::collections::HashMap;

use backfill_console::config;
use backfill_console::db::connect::{params, redact, resolve};
use backfill_console::db::lock_key::{self, YearMonth};
use backfill_console::text::sanitize;
use proptest::prelude::*;

fn password() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%^&*()_+=:;,.<>~-]{8,24}".prop_map(|p| format!("Pw{p}"))
}

fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_connection_string_parses_or_fails_cleanly(input in ".{0,200}") {
        let _ = params::parse(&input);
        let _ = redact::split_password(&input);
    }

    #[test]
    fn urls_round_trip_their_parts(
        user in "[a-z][a-z0-9_]{0,15}",
        pw in password(),
        host in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,5})?",
        port in 1u16..,
        db in "[a-z][a-z0-9_]{0,15}",
    ) {
        let url = format!("postgresql://{user}:{}@{host}:{port}/{db}", percent_encode(&pw));
        let p = params::parse(&url).unwrap();
        prop_assert_eq!(&p["user"], &user);
        prop_assert_eq!(&p["password"], &pw);
        prop_assert_eq!(&p["host"], &host);
        prop_assert_eq!(p["port"].parse::<u16>().unwrap(), port);
        prop_assert_eq!(&p["dbname"], &db);
        let (stripped, got) = redact::split_password(&url).unwrap();
        prop_assert_eq!(&got, &pw);
        prop_assert!(!stripped.contains(&percent_encode(&pw)));
        let settings = resolve(Some(&url), &|_| None).unwrap();
        let debug = format!("{:?}", settings);
        prop_assert!(!debug.contains(&pw));
        prop_assert!(!settings.target().contains(&pw));
    }

    #[test]
    fn errors_never_echo_a_password(pw in password(), junk in "[ %=?&@:/'\\\\]{1,6}", key in "[a-z]{3,8}") {
        for input in [
            format!("postgresql://u:{}%zz@h/db", percent_encode(&pw)),
            format!("host=h password='{pw} {key}={junk}"),
            format!("host=h password={pw} {key}{junk}"),
            format!("postgresql://u:{}@h:99999/db", percent_encode(&pw)),
        ] {
            if let Err(e) = resolve(Some(&input), &|_| None) {
                prop_assert!(!e.to_string().contains(&pw), "{} leaked in {}", pw, e);
            }
        }
    }

    #[test]
    fn any_environment_resolves_or_fails_cleanly(
        vars in proptest::collection::hash_map(
            prop_oneof!["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE",
                        "PGSSLROOTCERT", "PGAPPNAME", "PGCONNECT_TIMEOUT", "DATABASE_URL", "PGPASSFILE"],
            ".{0,40}", 0..8)
    ) {
        let vars: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        // A password that is also another variable's text (a bad PGPORT the error names) says
        // nothing about a leak: only passwords found nowhere else are looked for.
        let elsewhere = |pw: &str| vars.iter().any(|(k, v)| k != "PGPASSWORD" && v.contains(pw));
        if let (Err(e), Some(pw)) = (
            resolve(None, &|k| vars.get(k).cloned()),
            vars.get("PGPASSWORD").filter(|p| p.len() > 3 && !elsewhere(p)),
        ) {
            prop_assert!(!e.to_string().contains(pw.as_str()));
        }
    }

    #[test]
    fn any_config_text_parses_or_names_a_line(text in "(\\[?[a-z_]{0,12}\\]?( = (\"[0-9a-z#]{0,6}\"|[0-9-]{1,4}|\\[\"[a-z-]{1,6}\"\\]))?\n){0,8}") {
        if let Err(e) = config::parse(&text, "f.toml") {
            prop_assert!(e.to_string().starts_with("config file f.toml line "), "{}", e);
        }
    }

    #[test]
    fn lock_keys_decode_only_to_valid_months(key in any::<i64>()) {
        if let Some(ym) = YearMonth::from_lock_key(key) {
            prop_assert_eq!(ym.lock_key(), key);
            prop_assert!((lock_key::MIN_YEAR..=lock_key::MAX_YEAR).contains(&ym.year));
        }
    }

    #[test]
    fn pg_locks_rows_always_classify(classid in any::<u32>(), objid in any::<u32>(), sub in any::<i16>(), here in any::<bool>()) {
        match lock_key::classify(classid, objid, sub, here) {
            lock_key::LockClass::Month { key, .. } => {
                prop_assert!(sub == 1 && here && classid == 0);
                prop_assert_eq!(key, i64::from(objid));
            }
            lock_key::LockClass::Foreign { why } => {
                // Foreign exactly when it is not our key in our database, and the reason says which.
                let month = YearMonth::from_lock_key((i64::from(classid) << 32) | i64::from(objid));
                let expected = if sub != 1 {
                    lock_key::ForeignWhy::TwoIntForm
                } else if month.is_none() {
                    lock_key::ForeignWhy::NotAMonthKey
                } else {
                    lock_key::ForeignWhy::OtherDatabase
                };
                prop_assert_eq!(why, expected);
                prop_assert!(sub != 1 || month.is_none() || !here);
            }
        }
    }

    #[test]
    fn sanitized_text_has_no_control_characters(text in any::<String>()) {
        prop_assert!(!sanitize(&text).chars().any(char::is_control));
    }

    /// What ratatui lays out (grapheme by grapheme) takes exactly the columns a
    /// terminal emulator (vt100, character by character) draws: nothing shifts a border.
    #[test]
    fn sanitized_text_draws_at_the_width_ratatui_gives_it(text in any::<String>()) {
        prop_assert_eq!(drawn_width(&sanitize(&text)), ratatui_width(&sanitize(&text)), "{:?}", text);
    }

    #[test]
    fn sanitized_emoji_and_scripts_draw_at_the_width_ratatui_gives_it(
        text in "[\\u{1F1E6}-\\u{1F1FF}\\u{1F300}-\\u{1F64F}\\u{200B}-\\u{200F}\\u{2028}\\u{2029}\\u{FE0F}\\u{1F3FB}\\u{FEFF}\\u{0600}-\\u{06FF}\\u{1100}-\\u{11FF}\\u{0300}-\\u{036F}a-z 日本]{0,24}"
    ) {
        prop_assert_eq!(drawn_width(&sanitize(&text)), ratatui_width(&sanitize(&text)), "{:?}", text);
    }
}

/// Columns ratatui gives `text`: the sum of its graphemes' widths (`Buffer::set_stringn`).
fn ratatui_width(text: &str) -> usize {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    text.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// Columns a terminal emulator moves the cursor by when `text` is written.
fn drawn_width(text: &str) -> usize {
    let mut parser = vt100::Parser::new(1, 2000, 0);
    parser.process(text.as_bytes());
    usize::from(parser.screen().cursor_position().1)
}

/// Every code point, alone and after a letter (a combining mark joins it), draws
/// after sanitising at the width ratatui gives it.
#[test]
fn every_character_draws_at_the_width_ratatui_gives_it() {
    let mut parser = vt100::Parser::new(1, 200, 0);
    let mut wrong = Vec::new();
    for c in (0..=0x10_FFFF_u32).filter_map(char::from_u32) {
        for text in [c.to_string(), format!("a{c}")] {
            let clean = sanitize(&text);
            parser.process(b"\x1b[H\x1b[2K");
            parser.process(clean.as_bytes());
            let drawn = usize::from(parser.screen().cursor_position().1);
            if drawn != ratatui_width(&clean) {
                wrong.push(format!("U+{:04X} in {text:?}", u32::from(c)));
            }
        }
    }
    assert!(wrong.is_empty(), "{} mismatches, e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(10)]);
}

// A secret of any characters (but the quote that delimits it and white space in a bare
// value) never survives redaction, in any of the spellings a recording may carry.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_recorded_text_never_keeps_a_secret(secret in "[A-Za-z0-9!#%^&*()+;,.<>~@/?:=-]{6,24}", noise in "[a-z ]{0,20}") {
        let secret = format!("Zq{secret}");
        let sql = secret.replace('\'', "''");
        let json = secret.replace('\\', "\\\\").replace('"', "\\\"");
        let bare = secret.replace([';', ',', ')', '&'], "x");
        let forms = [
            format!("{noise} ALTER ROLE x PASSWORD '{sql}' {noise}"),
            format!("{noise} ALTER ROLE x PASSWORD\n /* c */ '{sql}'"),
            format!("{noise} ALTER ROLE x PASSWORD $$ {secret} $$"),
            format!("{noise} password={bare} {noise}"),
            format!("{noise} pwd: {bare}"),
            format!(r#"{{"password": "{json}", "x": 1}}"#),
            format!("{noise} postgres://ops:{bare}@db:5432/books {noise}"),
            format!("{noise} syntax error at or near \"'{secret}\""),
        ];
        for text in forms {
            let out = backfill_console::redact::secrets(&text);
            prop_assert!(!out.contains(&secret) && !out.contains(&bare), "{text:?} -> {out:?}");
        }
    }
}
