//! Items the generated code names. Not public API: they change without notice.

pub use chrono::{DateTime, Utc};
pub use history_core::sql_types::UtcTimestamp;
#[cfg(feature = "uuid")]
pub use history_core::sql_types::{HistoryUuid, UuidValue};
#[cfg(feature = "uuid")]
pub use uuid::Uuid;
pub use history_core::{
    ChangeReasonColumn, ColumnSpec, ColumnType, HistoricalRecords, HistoryIdKind, HistoryRecord,
    HistoryTableSpec, HistoryType, SqlKind,
};

/// Compiles only when the two columns have the same SQL type; the derive
/// calls it once per tracked column, spanned on the field.
pub fn assert_same_sql_type<History, Source>()
where
    History: diesel::Expression,
    Source: diesel::Expression<SqlType = History::SqlType>,
{
}
