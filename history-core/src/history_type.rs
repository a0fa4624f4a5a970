use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::FromSqlRow;
use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

/// What a history record describes: a row was created, changed or deleted.
///
/// Stored as one character, `'+'`, `'~'` or `'-'`, as django-simple-history
/// does, so history tables are readable by eye and by tools built for it.
///
/// Serde (de)serializes it as the same one-character string, `"+"`, `"~"`
/// or `"-"`, so JSON from the history API matches what the table stores and
/// what django-simple-history's API returns.
///
/// ```
/// use history_core::HistoryType;
///
/// assert_eq!(HistoryType::Changed.as_char(), '~');
/// assert_eq!("-".parse::<HistoryType>(), Ok(HistoryType::Deleted));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum HistoryType {
    /// The row was inserted (`'+'`).
    Created,
    /// The row was updated (`'~'`).
    Changed,
    /// The row was deleted (`'-'`).
    Deleted,
}

impl HistoryType {
    /// All kinds, in the order of their stored characters in the CHECK constraint.
    pub const ALL: [HistoryType; 3] = [
        HistoryType::Created,
        HistoryType::Changed,
        HistoryType::Deleted,
    ];

    /// The stored character.
    pub const fn as_char(self) -> char {
        match self {
            HistoryType::Created => '+',
            HistoryType::Changed => '~',
            HistoryType::Deleted => '-',
        }
    }

    /// The stored value as a string slice.
    pub const fn as_str(self) -> &'static str {
        match self {
            HistoryType::Created => "+",
            HistoryType::Changed => "~",
            HistoryType::Deleted => "-",
        }
    }
}

impl fmt::Display for HistoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored `history_type` value that is not `'+'`, `'~'` or `'-'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseHistoryTypeError {
    found: String,
}

impl fmt::Display for ParseHistoryTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid history_type {:?}: expected '+', '~' or '-'",
            self.found
        )
    }
}

impl std::error::Error for ParseHistoryTypeError {}

impl FromStr for HistoryType {
    type Err = ParseHistoryTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // CHAR(1) columns may come back blank-padded on some backends.
        match s.trim_end() {
            "+" => Ok(HistoryType::Created),
            "~" => Ok(HistoryType::Changed),
            "-" => Ok(HistoryType::Deleted),
            _ => Err(ParseHistoryTypeError {
                found: s.to_owned(),
            }),
        }
    }
}

impl serde::Serialize for HistoryType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for HistoryType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl<DB> ToSql<Text, DB> for HistoryType
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

impl<DB> FromSql<Text, DB> for HistoryType
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        Ok(text.parse()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_character() {
        for kind in HistoryType::ALL {
            assert_eq!(kind.as_str().parse::<HistoryType>(), Ok(kind));
            assert_eq!(kind.as_str().chars().next(), Some(kind.as_char()));
        }
    }

    #[test]
    fn rejects_other_values_with_the_value_in_the_message() {
        let err = "x".parse::<HistoryType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid history_type \"x\": expected '+', '~' or '-'"
        );
    }

    #[test]
    fn serializes_as_its_character() {
        assert_eq!(
            serde_json::to_string(&HistoryType::ALL).unwrap(),
            r#"["+","~","-"]"#
        );
        let back: Vec<HistoryType> = serde_json::from_str(r#"["-","+"]"#).unwrap();
        assert_eq!(back, [HistoryType::Deleted, HistoryType::Created]);
        let err = serde_json::from_str::<HistoryType>(r#""created""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid history_type \"created\": expected '+', '~' or '-'"
        );
    }
}
