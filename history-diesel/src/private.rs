//! Items the generated code names. Not public API: they change without notice.

pub use chrono::{DateTime, Utc};
pub use history_core::sql_types::UtcTimestamp;
#[cfg(feature = "uuid")]
pub use history_core::sql_types::{HistoryUuid, UuidValue};
pub use history_core::{
    ChangeReasonColumn, ColumnSpec, ColumnType, HistoricalRecords, HistoryIdKind, HistoryRecord,
    HistoryTableSpec, HistoryType, SqlKind,
};
#[cfg(feature = "uuid")]
pub use uuid::Uuid;

/// Compiles only when the two columns have the same SQL type; the derive
/// calls it once per tracked column, spanned on the field.
pub fn assert_same_sql_type<History, Source>()
where
    History: diesel::Expression,
    Source: diesel::Expression,
    History::SqlType: SameSqlType<Source::SqlType>,
{
}

/// Implemented only for a SQL type and itself.
#[diagnostic::on_unimplemented(
    message = "the history column has SQL type `{Self}`, but the model's table has `{Source}`",
    label = "the field's type gives `{Self}`; its `table!` column is `{Source}`",
    note = "change the field's Rust type, or name the table's SQL type with `#[history(sql_type = ...)]`"
)]
pub trait SameSqlType<Source> {}

impl<T> SameSqlType<T> for T {}

/// Binds one row's values of every model column, in field order; generated
/// by the derive for bulk updates.
pub trait RowValues<DB: diesel::backend::Backend> {
    /// Pushes the binds, separated by commas.
    fn push_row_values<'b>(
        &'b self,
        out: &mut diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()>;
}
