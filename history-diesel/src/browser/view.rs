//! Records as plain values, and keys as they appear in URLs.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::HistoryType;

/// One tracked field of a record, with its value as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldView {
    pub(crate) name: &'static str,
    pub(crate) value: Value,
}

/// A record as the pages and the JSON endpoints show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    /// The model's key in URLs: its table's name.
    pub(crate) model: &'static str,
    /// The object's key as a URL segment.
    pub(crate) object: String,
    pub(crate) history_id: String,
    pub(crate) date: DateTime<Utc>,
    pub(crate) kind: HistoryType,
    pub(crate) user: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) client_ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) fields: Vec<FieldView>,
    /// The whole record, serialized: what the JSON endpoints return.
    pub(crate) json: Value,
}

impl RecordView {
    pub(crate) fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|field| field.name == name)
            .map(|field| &field.value)
    }
}

/// A key (an object's primary key, a `history_id`, a user id) as one URL
/// segment or query value: a string key as itself, any other as its JSON
/// (`42`, `[1,"a"]` for a composite key).
pub(crate) fn key_to_url<K: Serialize>(key: &K) -> Result<String, serde_json::Error> {
    Ok(match serde_json::to_value(key)? {
        Value::String(text) => text,
        other => other.to_string(),
    })
}

/// The key a URL segment names: the text itself when `K` is a string (or
/// reads from one, as a UUID does), else the text as JSON (`42` is the
/// integer 42 or the string "42", whichever `K` is). `None` when it is no
/// `K`.
pub(crate) fn key_from_url<K: DeserializeOwned>(text: &str) -> Option<K> {
    serde_json::from_value(Value::String(text.to_owned()))
        .ok()
        .or_else(|| serde_json::from_str(text).ok())
}

/// A value as a page shows it: text without quotes, null as empty, the rest
/// as JSON.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_url_text() {
        assert_eq!(key_to_url(&42_i32).unwrap(), "42");
        assert_eq!(key_from_url::<i32>("42"), Some(42));
        assert_eq!(key_to_url(&"42".to_owned()).unwrap(), "42");
        assert_eq!(key_from_url::<String>("42"), Some("42".to_owned()));
        assert_eq!(key_from_url::<String>("a b"), Some("a b".to_owned()));
        assert_eq!(key_from_url::<String>(r#""q""#), Some(r#""q""#.to_owned()));
        assert_eq!(key_to_url(&(1, "a")).unwrap(), r#"[1,"a"]"#);
        assert_eq!(
            key_from_url::<(i32, String)>(r#"[1,"a"]"#),
            Some((1, "a".to_owned()))
        );
        assert_eq!(key_from_url::<i32>("4x"), None);
        assert_eq!(key_from_url::<i64>("99999999999999999999"), None);
    }
}
