//! A JSON value from a table anybody may write to (a dead letter's payload, an audit
//! row's parameters and detail), read in a way that cannot fail: the column is fetched
//! as text and parsed here; a value the parser refuses (nested deeper than its limit,
//! or not JSON at all) is kept as [`Payload::Unreadable`] with a short preview, shown
//! for that one value, and never stops the rest from being read.

use serde::{Serialize, Serializer};

/// How deep serde_json nests before it refuses (its recursion limit).
pub const MAX_DEPTH: usize = 128;
/// How much of an unreadable value is kept to show.
const PREVIEW: usize = 120;

#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Value(serde_json::Value),
    Unreadable {
        /// Why, in words: "nested deeper than 128 levels".
        why: String,
        /// Its first characters.
        preview: String,
    },
}

impl Payload {
    pub fn parse(text: &str) -> Self {
        match serde_json::from_str(text) {
            Ok(value) => Payload::Value(value),
            Err(e) => {
                let why = if e.to_string().contains("recursion limit") {
                    format!("nested deeper than {MAX_DEPTH} levels")
                } else {
                    format!("not JSON ({})", crate::text::clip(&e.to_string(), 60))
                };
                Payload::Unreadable { why, preview: crate::text::clip(text, PREVIEW) }
            }
        }
    }

    pub fn value(&self) -> Option<&serde_json::Value> {
        match self {
            Payload::Value(v) => Some(v),
            Payload::Unreadable { .. } => None,
        }
    }

    /// A field of an object (`None` for anything else, unreadable included).
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.value()?.get(key)
    }

    /// Pretty-printed, or one line saying why it cannot be.
    pub fn pretty(&self) -> String {
        match self {
            Payload::Value(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            Payload::Unreadable { why, .. } => format!("payload unreadable ({why})"),
        }
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Value(serde_json::Value::Null)
    }
}

/// As the value itself; an unreadable one as `{"unreadable": why, "preview": …}`.
impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Payload::Value(v) => v.serialize(s),
            Payload::Unreadable { why, preview } => {
                serde_json::json!({ "unreadable": why, "preview": preview }).serialize(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_too_deep_or_not_json_is_unreadable_and_says_why() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let payload = Payload::parse(&deep);
        assert_eq!(payload.pretty(), "payload unreadable (nested deeper than 128 levels)");
        assert!(payload.get("year").is_none());
        let json = serde_json::to_string(&payload).unwrap();
        assert!(json.contains("\"unreadable\":\"nested deeper than 128 levels\""), "{json}");
        assert!(Payload::parse("{not json").pretty().starts_with("payload unreadable (not JSON"));
        let fine = Payload::parse(r#"{"year": 2024, "month": 3}"#);
        assert_eq!(fine.get("year"), Some(&serde_json::json!(2024)));
        assert_eq!(serde_json::to_string(&fine).unwrap(), r#"{"month":3,"year":2024}"#);
    }
}
