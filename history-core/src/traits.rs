use chrono::{DateTime, Utc};

use crate::dialect::Dialect;
use crate::history_type::HistoryType;
use crate::migration::MigrationSql;
use crate::spec::HistoryTableSpec;

/// A Diesel model whose changes are recorded in a history table.
///
/// Implemented by `#[derive(HistoricalRecords)]`; the write and read helpers of
/// `history-diesel` are built on it. Implementing it by hand is possible but
/// the derive keeps the types, the `table!` and the [`HistoryTableSpec`] in
/// agreement, which a hand-written impl must do itself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not record history",
    note = "add `#[derive(HistoricalRecords)]` to `{Self}`"
)]
pub trait HistoricalRecords: Sized {
    /// The generated `Historical<Model>` record type.
    type Record: HistoryRecord<Model = Self>;
    /// The model's own Diesel table (`orders::table`).
    type Table: diesel::Table + Default;
    /// The history table (`historical_orders::table`).
    type HistoryTable: diesel::Table + Default;
    /// The model's primary-key value, owned (`i32`, `String`, a tuple for a
    /// composite key).
    type Id: Clone;
    /// The Diesel SQL type of `history_user_id`, without `Nullable`.
    type UserIdSqlType;
    /// Hooks around every history write (`#[history(hooks = ...)]`, default `()`).
    type Hooks: crate::hooks::RecordHooks<Self>;

    /// The description of the history table.
    const HISTORY_TABLE: HistoryTableSpec;

    /// This row's primary-key value.
    fn history_key(&self) -> Self::Id;

    /// The migration that creates the history table, for `dialect`.
    fn history_migration(dialect: Dialect) -> MigrationSql {
        Self::HISTORY_TABLE.migration(dialect)
    }
}

/// One history record: a snapshot of the tracked fields plus who, when and why.
///
/// Implemented by the generated `Historical<Model>` struct.
pub trait HistoryRecord: Sized {
    /// The model this is a record of.
    type Model: HistoricalRecords<Record = Self>;
    /// The type of `history_id` (`i64`, or `uuid::Uuid`).
    type Id: PartialEq;
    /// The type of the acting user's id (default `i64`). Compared and cloned
    /// when a bulk write groups its rows by context.
    type UserId: Clone + PartialEq + std::fmt::Display + Send + Sync + 'static;

    /// The record's own primary key.
    fn history_id(&self) -> &Self::Id;
    /// When the change happened, in UTC.
    fn history_date(&self) -> DateTime<Utc>;
    /// Whether the row was created, changed or deleted.
    fn history_type(&self) -> HistoryType;
    /// Who made the change, if known.
    fn history_user_id(&self) -> Option<&Self::UserId>;
    /// Why the change was made, if given.
    fn history_change_reason(&self) -> Option<&str>;

    /// One tracked field's value: the generated `<Record>Value` enum, one
    /// variant per tracked field holding that field's type, so a diff can be
    /// matched on with the field's own type.
    type Value: Clone + PartialEq + core::fmt::Debug;

    /// The tracked fields' names (the Rust field names), in declaration order.
    const FIELDS: &'static [&'static str];

    /// The value of the tracked field `FIELDS[index]`; `None` past the end.
    fn field_value(&self, index: usize) -> Option<Self::Value>;

    /// The primary key of the row this record describes.
    fn object_id(&self) -> <Self::Model as HistoricalRecords>::Id;

    /// The model as this record saw it. Fields the history leaves out
    /// (`#[history(exclude(...))]`) are taken from `live`, the row as it is
    /// now, when given, and are otherwise their type's `Default`.
    fn to_model(&self, live: Option<&Self::Model>) -> Self::Model;
}
