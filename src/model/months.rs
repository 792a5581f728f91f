//! Lists of months as operators write and read them: `2024-03,2024-05..2024-08`.

use super::lock_key::{MAX_YEAR, MIN_YEAR, YearMonth};

/// The most months one list may name (every month of 1900..2100 is 2,412).
const MAX_LISTED: usize = 2_412;

/// Parses `2024-03,2024-05..2024-08` (ranges inclusive, oldest first), in the order
/// given, without repeats. An empty list, a bad month or a reversed range is an error
/// naming it.
pub fn parse_list(text: &str) -> Result<Vec<YearMonth>, String> {
    let mut months = Vec::new();
    let bad = |part: &str| {
        format!("`{part}` is not a month: write YYYY-MM between {MIN_YEAR}-01 and {MAX_YEAR}-12, e.g. 2024-03")
    };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once("..") {
            Some((a, b)) => (YearMonth::parse(a).ok_or_else(|| bad(a))?, YearMonth::parse(b).ok_or_else(|| bad(b))?),
            None => {
                let m = YearMonth::parse(part).ok_or_else(|| bad(part))?;
                (m, m)
            }
        };
        if first > last {
            return Err(format!("`{part}`: the range runs backwards; write {last}..{first}"));
        }
        let mut m = first;
        loop {
            if !months.contains(&m) {
                months.push(m);
            }
            if months.len() > MAX_LISTED {
                return Err(format!("`{text}` names more than {MAX_LISTED} months"));
            }
            if m == last {
                break;
            }
            m = next(m);
        }
    }
    if months.is_empty() {
        return Err("no month given: write e.g. 2024-03,2024-05..2024-08".into());
    }
    Ok(months)
}

/// The month after `m` (never past 2100-12: the caller stops at its range's end).
fn next(m: YearMonth) -> YearMonth {
    let (year, month) = if m.month == 12 { (m.year + 1, 1) } else { (m.year, m.month + 1) };
    YearMonth::new(year, month).unwrap_or(m)
}

/// Months as compact ranges, oldest first: `2024-03..2024-05, 2024-07`.
pub fn compact(months: &[YearMonth]) -> String {
    let mut sorted = months.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1].index() == end.index() + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}..{end}") });
        i += 1;
    }
    parts.join(", ")
}

/// Serialises months as `"2024-03"` strings (the JSON the commands promise).
pub mod as_text {
    use super::YearMonth;
    use serde::Serializer;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(months: &[YearMonth], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(months.len()))?;
        for m in months {
            seq.serialize_element(&m.to_string())?;
        }
        seq.end()
    }

    /// One month as `2024-03`.
    pub fn one<S: Serializer>(month: &YearMonth, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&month.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(text: &str) -> YearMonth {
        YearMonth::parse(text).unwrap()
    }

    #[test]
    fn lists_with_ranges_parse_in_order_without_repeats() {
        let months = parse_list("2024-03, 2024-11..2025-02,2024-03").unwrap();
        let names: Vec<String> = months.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["2024-03", "2024-11", "2024-12", "2025-01", "2025-02"]);
        assert_eq!(parse_list("2100-12").unwrap(), [ym("2100-12")]);
    }

    #[test]
    fn bad_lists_name_what_is_wrong() {
        assert!(parse_list("").unwrap_err().contains("no month given"));
        assert!(parse_list(" , ").unwrap_err().contains("no month given"));
        assert!(parse_list("2024-13").unwrap_err().contains("`2024-13` is not a month"));
        assert!(parse_list("1899-12").unwrap_err().contains("1900-01"));
        assert!(parse_list("2101-01").unwrap_err().contains("2100-12"));
        assert!(parse_list("2024-05..2024-01").unwrap_err().contains("write 2024-01..2024-05"));
        assert!(parse_list("2024-01..x").unwrap_err().contains("`x`"));
    }

    #[test]
    fn compact_ranges() {
        let months = parse_list("2024-07,2024-03..2024-05,2023-12,2024-01").unwrap();
        assert_eq!(compact(&months), "2023-12..2024-01, 2024-03..2024-05, 2024-07");
        assert_eq!(compact(&[]), "");
        assert_eq!(parse_list(&compact(&months).replace(' ', "")).unwrap().len(), months.len());
    }
}
