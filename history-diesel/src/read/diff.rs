//! Comparing two records of one object, in memory.

use crate::{HistoryError, HistoryRecord};

/// Which tracked fields a diff looks at (by their Rust names). The default
/// is all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOptions<'a> {
    included: Option<&'a [&'a str]>,
    excluded: &'a [&'a str],
}

impl<'a> DiffOptions<'a> {
    /// All tracked fields.
    pub fn new() -> Self {
        DiffOptions::default()
    }

    /// Only these fields.
    pub fn include(mut self, fields: &'a [&'a str]) -> Self {
        self.included = Some(fields);
        self
    }

    /// All fields but these.
    pub fn exclude(mut self, fields: &'a [&'a str]) -> Self {
        self.excluded = fields;
        self
    }
}

/// One field that differs between two records.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange<V> {
    /// The field's Rust name.
    pub field: &'static str,
    /// Its value in the older record.
    pub old: V,
    /// Its value in the newer record.
    pub new: V,
}

/// What changed between two records of an object: only the fields whose
/// values differ, sorted by field name. `V` is the record's generated
/// `<Record>Value` enum, so each value keeps its field's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff<V> {
    /// The changed fields with their old and new values.
    pub changes: Vec<FieldChange<V>>,
}

impl<V> Diff<V> {
    /// The names of the changed fields, sorted.
    pub fn changed_fields(&self) -> Vec<&'static str> {
        self.changes.iter().map(|change| change.field).collect()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// With the `serde` feature, a diff serializes as a map from each changed
/// field to its old and new values, `{"status": ["new", "paid"]}`, the
/// delta django-auditlog's users know, each value in its field's natural
/// JSON type.
///
/// ```
/// # use diesel::prelude::*;
/// # use history_diesel::prelude::*;
/// # use history_diesel::{HistoryType, chrono::Utc};
/// # diesel::table! { orders (id) { id -> Integer, status -> Text, total -> Double } }
/// # #[derive(Queryable, Selectable, HistoricalRecords)]
/// # #[diesel(table_name = orders)]
/// # pub struct Order { pub id: i32, pub status: String, pub total: f64 }
/// let record = |history_id, status: &str, total| HistoricalOrder {
///     history_id,
///     id: 1,
///     status: status.into(),
///     total,
///     history_date: Utc::now(),
///     history_type: HistoryType::Changed,
///     history_user_id: None,
///     history_change_reason: None,
/// };
/// let diff = record(2, "paid", 12.5).diff_against(&record(1, "new", 12.5))?;
/// assert_eq!(serde_json::to_string(&diff)?, r#"{"status":["new","paid"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "serde")]
impl<V: serde::Serialize> serde::Serialize for Diff<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.changes.len()))?;
        for change in &self.changes {
            map.serialize_entry(change.field, &(&change.old, &change.new))?;
        }
        map.end()
    }
}

/// The diff of `newer` against `older`; see
/// [`DiffRecords::diff_against`](crate::DiffRecords::diff_against).
pub(crate) fn diff<R: HistoryRecord>(
    newer: &R,
    older: &R,
    options: &DiffOptions<'_>,
) -> Result<Diff<R::Value>, HistoryError> {
    let model = <R::Model as crate::HistoricalRecords>::HISTORY_TABLE.model;
    let named = options
        .included
        .unwrap_or(&[])
        .iter()
        .chain(options.excluded);
    if let Some(unknown) = named.into_iter().find(|name| !R::FIELDS.contains(name)) {
        return Err(HistoryError::UnknownField {
            model,
            field: (*unknown).to_owned(),
        });
    }
    let mut changes: Vec<FieldChange<R::Value>> = R::FIELDS
        .iter()
        .enumerate()
        .filter(|(_, name)| options.included.is_none_or(|only| only.contains(name)))
        .filter(|(_, name)| !options.excluded.contains(name))
        .filter_map(|(index, name)| {
            let (old, new) = (older.field_value(index)?, newer.field_value(index)?);
            (old != new).then_some(FieldChange {
                field: name,
                old,
                new,
            })
        })
        .collect();
    changes.sort_by_key(|change| change.field);
    Ok(Diff { changes })
}
