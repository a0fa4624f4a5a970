//! A static description of a history table, emitted by the derive as data.

use crate::columns::{self, HistoryColumn};

/// The Diesel SQL type family of a column, as far as the migration SQL needs it.
///
/// The derive picks it from the field's Rust type or from
/// `#[history(sql_type = ...)]`; [`crate::Dialect::column_type`] turns it into
/// the column type of each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlKind {
    /// `TinyInt` (`i8`).
    TinyInt,
    /// `SmallInt` (`i16`).
    SmallInt,
    /// `Integer` (`i32`).
    Integer,
    /// `BigInt` (`i64`).
    BigInt,
    /// `Float` (`f32`).
    Float,
    /// `Double` (`f64`).
    Double,
    /// `Bool` (`bool`).
    Bool,
    /// `Text` (`String`).
    Text,
    /// `Binary` (`Vec<u8>`).
    Binary,
    /// `Date` (`chrono::NaiveDate`).
    Date,
    /// `Time` (`chrono::NaiveTime`).
    Time,
    /// `Timestamp` (`chrono::NaiveDateTime`).
    Timestamp,
    /// `Timestamptz` (`chrono::DateTime<Utc>`).
    Timestamptz,
    /// `Uuid` (`uuid::Uuid`).
    Uuid,
    /// `Json` (`serde_json::Value`).
    Json,
    /// `Jsonb` (`serde_json::Value`, PostgreSQL).
    Jsonb,
    /// `Numeric` (`bigdecimal::BigDecimal`).
    Numeric,
}

/// How a column's type is written in the migration SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Mapped per backend from the SQL type family.
    Kind(SqlKind),
    /// Written as given on every backend (`#[history(db_type = "...")]`).
    Raw(&'static str),
}

/// One tracked column: a copy of a column of the source table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColumnSpec {
    /// Column name (the same in the source and the history table).
    pub name: &'static str,
    /// Column type.
    pub ty: ColumnType,
    /// Whether the column accepts NULL (the field is an `Option`).
    pub nullable: bool,
    /// The model's Rust field: how a migration tells a renamed column
    /// (`#[diesel(column_name)]` changed) from a dropped one and a new one.
    pub field: &'static str,
    /// The SQL literal that records written before this column existed get
    /// (`#[history(default = "...")]`); without one, a `NOT NULL` column
    /// gets its type's zero (`0`, `FALSE`, `''`).
    pub default: Option<&'static str>,
}

/// The type of the `history_id` primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HistoryIdKind {
    /// A 64-bit integer assigned by the database, increasing with every record.
    #[default]
    Integer,
    /// A UUID assigned by the database (a column default).
    Uuid,
}

/// The type of the `history_change_reason` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeReasonColumn {
    /// `VARCHAR(n)`: bounded, as django-simple-history's default of 100.
    Varchar(u32),
    /// The backend's widest text (`TEXT`; `LONGTEXT` on MySQL): unbounded.
    Text,
}

impl Default for ChangeReasonColumn {
    fn default() -> Self {
        ChangeReasonColumn::Varchar(100)
    }
}

/// Who writes a model's history records.
///
/// Chosen per model with `#[history(capture = ...)]`; the default is
/// [`Client`](Capture::Client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Capture {
    /// The library's write helpers write each record beside the data write,
    /// in the same transaction. A write that bypasses them (plain Diesel, a
    /// `psql` session) leaves no record.
    #[default]
    Client,
    /// Database triggers on the source table write a record for every row
    /// any client inserts, updates or deletes; the library only hands them
    /// the write's context (user, reason, date, where from).
    Trigger,
}

/// Everything the runtime needs to know about a model's history table.
///
/// The derive emits one as a `const`; it is plain data, so the migration SQL
/// and later the write and read paths are ordinary, testable library code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryTableSpec {
    /// Name of the model type (`Order`).
    pub model: &'static str,
    /// SQL name of the source table (`orders`), without its schema.
    pub source_table: &'static str,
    /// Database schema of the source table, when its `table!` names one
    /// (`sales.orders`).
    pub source_schema: Option<&'static str>,
    /// SQL name of the history table (`historical_orders`), without its schema.
    pub history_table: &'static str,
    /// Database schema of the history table: the source table's unless the
    /// model names another.
    pub history_schema: Option<&'static str>,
    /// Primary-key columns of the source table, in key order.
    pub primary_key: &'static [&'static str],
    /// Tracked columns in field order (the primary key included).
    pub columns: &'static [ColumnSpec],
    /// Type of `history_id`.
    pub history_id: HistoryIdKind,
    /// SQL type family of `history_user_id`.
    pub user_id: SqlKind,
    /// Type of `history_change_reason`.
    pub change_reason: ChangeReasonColumn,
    /// Every column of the model, tracked or not, in field order: what a bulk
    /// update writes.
    pub model_columns: &'static [&'static str],
    /// Whether an update that changes no tracked column writes no record
    /// (`#[history(skip_unchanged)]`).
    pub skip_unchanged: bool,
    /// Whether the table keeps where each change came from: client address,
    /// user agent and request id (`#[history(request_info)]`).
    pub request_info: bool,
    /// Who writes the records (`#[history(capture = trigger)]`).
    pub capture: Capture,
    /// Whether a write without a user is refused (`#[history(require_user)]`):
    /// by the write helpers before any statement, and in trigger capture by
    /// the trigger itself, whoever the client is.
    pub require_user: bool,
}

/// A table as statements name it: its SQL name, in its schema if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableName<'a> {
    /// The database schema (`sales`), or `None` for the connection's default.
    pub schema: Option<&'a str>,
    /// The table's own name (`orders`).
    pub name: &'a str,
}

impl HistoryTableSpec {
    /// The source table, in its schema.
    pub fn source(&self) -> TableName<'static> {
        TableName {
            schema: self.source_schema,
            name: self.source_table,
        }
    }

    /// The history table, in its schema.
    pub fn history(&self) -> TableName<'static> {
        TableName {
            schema: self.history_schema,
            name: self.history_table,
        }
    }

    /// The tracked column with this name.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// Whether `name` is part of the primary key.
    pub fn is_primary_key(&self, name: &str) -> bool {
        self.primary_key.contains(&name)
    }

    /// The history columns this table has besides the tracked ones, in
    /// table order (`history_id` first, before the tracked columns); the
    /// request columns only with [`request_info`](Self::request_info).
    pub fn history_columns(&self) -> impl Iterator<Item = HistoryColumn> {
        let request_info = self.request_info;
        HistoryColumn::ALL
            .into_iter()
            .filter(move |column| request_info || !column.is_request_info())
    }

    /// The history columns after the tracked ones, in table order: what a
    /// record statement writes besides the tracked values.
    pub fn recorded_columns(&self) -> impl Iterator<Item = HistoryColumn> {
        self.history_columns()
            .filter(|column| *column != HistoryColumn::Id)
    }

    /// Names of all history table columns, in table order: `history_id`, the
    /// tracked columns, then the other history columns.
    pub fn column_names(&self) -> Vec<&'static str> {
        let mut names = Vec::with_capacity(self.columns.len() + columns::RESERVED.len());
        names.push(columns::HISTORY_ID);
        names.extend(self.columns.iter().map(|column| column.name));
        names.extend(self.recorded_columns().map(HistoryColumn::name));
        names
    }
}
