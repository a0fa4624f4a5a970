//! Items the generated code names. Not public API: they change without notice.

pub use chrono::{DateTime, Utc};
use diesel::internal::table_macro::{Identifier, InfixNode, StaticQueryFragment};
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

/// What a `table!` says of its table's SQL name, as a constant.
///
/// Diesel keeps a table's SQL name (its `#[sql_name]`, or the Rust name
/// without `r#`) in `StaticQueryFragment::STATIC_COMPONENT`: an `Identifier`
/// whose name is public, or for `schema.table` an `InfixNode` whose parts
/// are not. The component's type picks the arm at compile time.
pub trait TableSqlName {
    /// The table's SQL name; `None` for a schema-qualified table, whose
    /// parts Diesel does not expose.
    const NAME: Option<&'static str>;
}

impl<T> TableSqlName for T
where
    T: StaticQueryFragment,
    T::Component: TableComponent,
    <T::Component as TableComponent>::Kind: SqlNameOf<T>,
{
    const NAME: Option<&'static str> =
        <<T::Component as TableComponent>::Kind as SqlNameOf<T>>::NAME;
}

/// The two shapes of a `table!`'s static component.
pub trait TableComponent {
    /// [`Unqualified`] or [`Qualified`].
    type Kind;
}

/// A table named alone (`orders`).
pub struct Unqualified;
/// A table named with its schema (`sales.orders`).
pub struct Qualified;

impl TableComponent for Identifier<'static> {
    type Kind = Unqualified;
}

impl TableComponent for InfixNode<Identifier<'static>, Identifier<'static>, &'static str> {
    type Kind = Qualified;
}

/// The SQL name of table `T`, where its component's shape lets it be read.
pub trait SqlNameOf<T> {
    /// See [`TableSqlName::NAME`].
    const NAME: Option<&'static str>;
}

impl<T: StaticQueryFragment<Component = Identifier<'static>>> SqlNameOf<T> for Unqualified {
    const NAME: Option<&'static str> = Some(T::STATIC_COMPONENT.0);
}

impl<T> SqlNameOf<T> for Qualified {
    const NAME: Option<&'static str> = None;
}

/// Whether a `table!` names its table's schema (`sales.orders`), as a
/// constant the derive checks its `schema` option against.
pub trait TableSchema {
    /// `true` for `schema.table`.
    const QUALIFIED: bool;
}

impl<T> TableSchema for T
where
    T: StaticQueryFragment,
    T::Component: TableComponent,
    <T::Component as TableComponent>::Kind: Qualification,
{
    const QUALIFIED: bool = <<T::Component as TableComponent>::Kind as Qualification>::QUALIFIED;
}

/// [`TableSchema`] by component shape.
pub trait Qualification {
    /// See [`TableSchema::QUALIFIED`].
    const QUALIFIED: bool;
}

impl Qualification for Unqualified {
    const QUALIFIED: bool = false;
}

impl Qualification for Qualified {
    const QUALIFIED: bool = true;
}

/// `name`, or `fallback` when it is `None`.
pub const fn name_or(name: Option<&'static str>, fallback: &'static str) -> &'static str {
    match name {
        Some(name) => name,
        None => fallback,
    }
}

/// String equality in a constant: the derive compares a history column's SQL
/// name with its source column's at compile time.
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
