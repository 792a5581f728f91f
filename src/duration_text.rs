//! Durations as operators write them: `250ms`, `10s`, `5m`, `1h`, `2d`, `1h30m`, or `0`.

use std::time::Duration;

/// The longest duration anything accepts: ten years (a typo such as `999999999h` is refused
/// here, not by the server or by an overflow).
pub const MAX: Duration = Duration::from_secs(3650 * 86_400);

/// [`parse`] for a command-line flag, within `min..=max`; `why` says what the upper
/// bound protects. Errors name the flag.
pub fn parse_flag(flag: &str, text: &str, min: Duration, max: Duration, why: &str) -> Result<Duration, String> {
    let longer = || format!("{flag} {text} is longer than {}: {why}", format(max));
    let d = match parse(text) {
        Ok(d) => d,
        Err(e) if e.contains("too long") => return Err(longer()),
        Err(e) => return Err(format!("{flag} {e}")),
    };
    if d < min {
        return Err(format!("{flag} {text} is shorter than {}; give at least {}", format(min), format(min)));
    }
    if d > max {
        return Err(longer());
    }
    Ok(d)
}

pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    if rest.is_empty() {
        return Err("empty duration; write e.g. 10s, 5m or 1h".into());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{text}` is not a duration; write e.g. 10s, 5m, 1h or 1h30m"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| format!("`{text}`: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let (scale, millis) = match &rest[..unit_len] {
            "ms" => (1, true),
            "s" => (1, false),
            "m" | "min" => (60, false),
            "h" => (3600, false),
            "d" => (86_400, false),
            "" => return Err(format!("`{text}`: a unit is missing (ms, s, m, h or d)")),
            other => return Err(format!("`{text}`: unknown unit `{other}` (use ms, s, m, h or d)")),
        };
        let too_long = || format!("`{text}` is too long (at most {}d)", MAX.as_secs() / 86_400);
        let amount = n.checked_mul(scale).ok_or_else(too_long)?;
        let unit = if millis { Duration::from_millis(amount) } else { Duration::from_secs(amount) };
        total = total.checked_add(unit).filter(|t| *t <= MAX).ok_or_else(too_long)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Compact, for tables: `45s`, `3m05s`, `2h14m`, `3d04h`.
pub fn format(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Serde helper: durations in config files as text.
pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// Like [`format()`], but sub-second values in milliseconds (refresh intervals).
pub fn format_fine(d: Duration) -> String {
    if d < Duration::from_secs(1) { format!("{}ms", d.as_millis()) } else { format(d) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operator_durations() {
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 2d "), Ok(Duration::from_secs(172_800)));
        for bad in ["", "s", "10", "10x", "-5s", "1.5h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absurd_durations_are_refused_not_overflowed() {
        for absurd in ["999999999999h", "18446744073709551615d", "3651d", "99999999999999999999s"] {
            let e = parse(absurd).unwrap_err();
            assert!(e.contains("too long") || e.contains("too large"), "{absurd}: {e}");
        }
        assert_eq!(parse("3650d"), Ok(MAX));
        let e = parse_flag("--lock-timeout", "99999h", Duration::ZERO, Duration::from_secs(600), "why").unwrap_err();
        assert_eq!(e, "--lock-timeout 99999h is longer than 10m00s: why");
        assert!(parse_flag("--timeout", "0", Duration::from_secs(1), MAX, "").unwrap_err().contains("at least 1s"));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_secs(45)), "45s");
        assert_eq!(format(Duration::from_secs(185)), "3m05s");
        assert_eq!(format(Duration::from_secs(2 * 3600 + 14 * 60)), "2h14m");
        assert_eq!(format(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d04h");
    }
}
