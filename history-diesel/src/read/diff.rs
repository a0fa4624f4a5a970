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
