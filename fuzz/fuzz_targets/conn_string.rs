#![no_main]
//! Connection strings: never a panic, never the password in an error.
use backfill_console::db::connect::{params, redact, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let _ = params::parse(data);
    let _ = redact::split_password(data);
    if let Err(e) = resolve(Some(data), &|_| None) {
        if let Ok(p) = params::parse(data) {
            // Only a password that is not also (part of) another value: an error may
            // rightly quote a bad port that happens to contain the same characters.
            let elsewhere = |pw: &str| p.iter().any(|(k, v)| k != "password" && v.contains(pw));
            if let Some(pw) = p.get("password").filter(|pw| pw.len() >= 6 && !elsewhere(pw)) {
                assert!(!e.to_string().contains(pw.as_str()), "password in an error");
            }
        }
    }
});
